import DockerProvider
import Testing

private func decode(_ chunks: [[UInt8]]) -> String {
    var decoder = UTF8ChunkDecoder()
    return chunks.map { decoder.decode($0) }.joined() + decoder.finish()
}

@Suite("UTF8ChunkDecoder")
struct UTF8ChunkDecoderTests {
    // 1-, 2-, 3- and 4-byte characters, twice, in different orders.
    private let text = "a\u{E9}\u{20AC}\u{1F600}b\u{1F680}\u{4E2D}\u{E7}z"
    private var bytes: [UInt8] { Array(text.utf8) }

    @Test func everySplitPointDecodesTheSameText() {
        for cut in 0...bytes.count {
            #expect(decode([Array(bytes[..<cut]), Array(bytes[cut...])]) == text, "cut at \(cut)")
        }
    }

    @Test func everyPairOfSplitPointsDecodesTheSameText() {
        for first in 0...bytes.count {
            for second in first...bytes.count {
                let chunks = [Array(bytes[..<first]), Array(bytes[first..<second]), Array(bytes[second...])]
                #expect(decode(chunks) == text, "cuts at \(first), \(second)")
            }
        }
    }

    @Test func oneByteAtATime() {
        #expect(decode(bytes.map { [$0] }) == text)
    }

    @Test func partialCharacterIsHeldBack() {
        var decoder = UTF8ChunkDecoder()
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        #expect(decoder.decode([0x61] + euro.prefix(2)) == "a")
        #expect(decoder.decode(euro.suffix(1)) == "\u{20AC}")
        #expect(decoder.finish() == "")
    }

    @Test(
        arguments: [
            ([0x61, 0xFF, 0x62], "a\u{FFFD}b"),
            ([0x80], "\u{FFFD}"),
            ([0xC0, 0xAF], "\u{FFFD}\u{FFFD}"),
            ([0xED, 0xA0, 0x80, 0x61], "\u{FFFD}\u{FFFD}\u{FFFD}a"),
            ([0xE2, 0x82, 0x61], "\u{FFFD}a"),
        ] as [([UInt8], String)])
    func invalidBytesBecomeReplacementCharacters(input: [UInt8], expected: String) {
        #expect(decode([input]) == expected)
        #expect(decode(input.map { [$0] }) == expected)
    }

    @Test(arguments: [[0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98]] as [[UInt8]])
    func danglingPartialCharacterBecomesOneReplacementAtFinish(partial: [UInt8]) {
        var decoder = UTF8ChunkDecoder()
        #expect(decoder.decode([0x6F, 0x6B] + partial) == "ok")
        #expect(decoder.finish() == "\u{FFFD}")
        #expect(decoder.finish() == "")
    }

    @Test func partsGatherIntoTheSameWholeCharactersAsOneChunk() {
        // Two chunks, each split in two parts at every point: the same bytes and carry as whole chunks.
        let input = bytes + [0xFF] + bytes
        for cut in 0...input.count {
            var whole = UTF8ChunkDecoder()
            var parted = UTF8ChunkDecoder()
            let first = Array(input[..<cut])
            let second = Array(input[cut...])
            for chunk in [first, second] {
                for split in 0...chunk.count {
                    var a = whole
                    var b = parted
                    let expected = a.wholeCharacters(chunk)
                    let got = b.wholeCharacters(of: [chunk[..<split], chunk[split...]], count: chunk.count)
                    #expect(got == expected, "cut \(cut), split \(split)")
                    #expect(a.finish() == b.finish())
                }
                _ = whole.wholeCharacters(chunk)
                _ = parted.wholeCharacters(of: [chunk[...]], count: chunk.count)
            }
            #expect(whole.finish() == parted.finish())
        }
    }

    @Test func decoderIsReusableAfterFinish() {
        var decoder = UTF8ChunkDecoder()
        _ = decoder.decode([0xE2])
        _ = decoder.finish()
        #expect(decoder.decode(Array("\u{E9}".utf8)) == "\u{E9}")
    }
}

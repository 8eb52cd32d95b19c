import JSONCoding
import JSONRPC
import TestSupport
import Testing

private func written(_ bytes: [UInt8], quoted: Bool = true) -> [UInt8] {
    var out: [UInt8] = [0x7B]  // something before, kept
    bytes.withUnsafeBufferPointer { JSONWriter.appendString(utf8: $0, to: &out, quoted: quoted) }
    return Array(out.dropFirst())
}

@Suite("JSONWriter strings")
struct JSONWriterStringTests {
    /// Lengths around the 8-byte steps and the 4096-byte blocks.
    static let lengths = Array(0...33) + [4087, 4088, 4095, 4096, 4097, 4103, 4104, 8191, 8192, 8193, 12_300]

    @Test func everyASCIIByteAtEveryOffsetInEveryLength() {
        for byte in UInt8(0)..<0x80 {
            for length in [1, 7, 8, 9, 17, 4097] {
                for position in Set([0, length / 2, length - 1, max(0, length - 8), min(7, length - 1)]) {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = byte
                    let quoted = length < 4096
                    let expected = referenceEscaped(bytes, quoted: quoted)
                    #expect(written(bytes, quoted: quoted) == expected, "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    @Test(arguments: lengths)
    func onlyEscapesAcrossBlocks(length: Int) {
        // Every byte escaped (six bytes of output per byte: the block's worst case), and two-byte escapes.
        for filler in [UInt8(0x01), 0x1F, 0x22, 0x5C, 0x0A] {
            let bytes = [UInt8](repeating: filler, count: length)
            #expect(written(bytes) == referenceEscaped(bytes), "filler \(filler)")
        }
    }

    @Test func validUTF8PassesThrough() {
        let text = "é€😀\"\\\n\t\r\u{0}\u{1F}\u{7F}中 z"
        for repeats in [1, 3, 600] {
            let bytes = Array(String(repeating: text, count: repeats).utf8)
            #expect(written(bytes) == referenceEscaped(bytes))
        }
    }

    @Test func randomTextMatchesTheReference() {
        var random = SplitMix64(state: 18)
        let alphabet: [UInt8] = Array("abcxyz 019{}:,\"\\\n\r\t/".utf8) + [0x00, 0x01, 0x08, 0x0B, 0x0C, 0x1B, 0x1F, 0x20, 0x7E, 0x7F]
        for round in 0..<400 {
            let length = random.below(round < 300 ? 64 : 9000)
            let density = 1 + random.below(64)  // one special byte per `density` on average
            let bytes = (0..<length).map { _ in
                random.below(density) == 0 ? alphabet[random.below(alphabet.count)] : UInt8(ascii: "a") + UInt8(random.below(26))
            }
            #expect(written(bytes) == referenceEscaped(bytes), "round \(round)")
        }
    }

    @Test(arguments: lengths.filter { $0 > 0 })
    func asciiPrefixStopsAtTheFirstNonASCIIByte(length: Int) {
        for stop in Set([0, 1, 7, 8, 9, length / 2, length - 1, max(0, length - 9)]) where stop < length {
            var bytes = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
            for index in stride(from: 3, to: stop, by: 5) { bytes[index] = 0x22 }  // escapes before the stop
            bytes[stop] = 0xC3
            var out: [UInt8] = [0x7B]
            let ascii = bytes.withUnsafeBufferPointer { JSONWriter.appendEscapedASCIIPrefix($0, to: &out) }
            #expect(ascii == stop)
            #expect(Array(out.dropFirst()) == referenceEscaped(Array(bytes[..<stop]), quoted: false), "stop \(stop) of \(length)")
        }
    }

    @Test(arguments: lengths)
    func asciiPrefixOfASCIIIsAll(length: Int) {
        let bytes = (0..<length).map { UInt8($0 % 0x80) }
        var out: [UInt8] = []
        let ascii = bytes.withUnsafeBufferPointer { JSONWriter.appendEscapedASCIIPrefix($0, to: &out) }
        #expect(ascii == length)
        #expect(out == referenceEscaped(bytes, quoted: false))
    }
}

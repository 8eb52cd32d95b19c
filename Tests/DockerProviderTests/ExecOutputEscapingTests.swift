import JSONCoding
import JSONRPC
import TestSupport
import Testing

@testable import DockerProvider

/// Streamed and buffered `utf8` output is byte for byte what it was before the fused ASCII check
/// and escaping: valid text, controls, quotes, backslashes, invalid bytes (U+FFFD), characters
/// split across chunks.
@Suite("exec output escaping")
struct ExecOutputEscapingTests {
    static let samples: [[UInt8]] = [
        Array("plain ascii text\n".utf8),
        Array("quote \" backslash \\ tab \t cr \r nul \u{0} esc \u{1B} del \u{7F}".utf8),
        Array("ascii first, then é € 😀 中, then ascii again\n".utf8),
        [0x61, 0x62, 0xFF, 0x63],  // an invalid byte after ASCII
        [0x80, 0x61],  // a stray continuation byte first
        [0x61, 0xC0, 0xAF, 0x22],  // an overlong sequence
        [0x61, 0xED, 0xA0, 0x80, 0x0A],  // a surrogate
        [0x61, 0xE2, 0x82, 0x61],  // a truncated sequence followed by ASCII
        Array(String(repeating: "abcdefghijklmnopqrstuvwxyz\n", count: 400).utf8) + Array("é".utf8) + [0x01, 0xF0, 0x9F],
        [],
    ]

    @Test(arguments: samples)
    func wholeTextMatchesTheReference(bytes: [UInt8]) {
        var frame: [UInt8] = []
        ExecOutputText(bytes: bytes, encoding: .utf8).appendJSONString(to: &frame)
        #expect(frame == referenceEscaped(String(decoding: bytes, as: UTF8.self).utf8))
    }

    /// Each chunk appends what escaping `decode(_:)`'s text gave (nothing, and false, when that is empty).
    private func check(chunks: [ArraySlice<UInt8>], quoted: Bool) -> Bool {
        var fast = UTF8ChunkDecoder()
        var reference = UTF8ChunkDecoder()
        for chunk in chunks {
            var frame: [UInt8] = [0x2C]
            let appended = fast.decode(chunk, appendingJSONStringTo: &frame, quoted: quoted)
            let text = reference.decode(chunk)
            let expected = text.isEmpty ? [] : referenceEscaped(text.utf8, quoted: quoted)
            guard appended == !text.isEmpty, Array(frame.dropFirst()) == expected else { return false }
        }
        return fast.finish() == reference.finish()
    }

    @Test(arguments: samples)
    func chunksMatchTheReferenceAtEverySplit(bytes: [UInt8]) {
        let cuts = bytes.count < 200 ? Array(0...bytes.count) : Array(0...40) + Array(bytes.count - 40...bytes.count)
        for cut in cuts {
            for quoted in [true, false] {
                #expect(check(chunks: [bytes[..<cut], bytes[cut...]], quoted: quoted), "cut at \(cut), quoted \(quoted)")
            }
        }
        if bytes.count < 200 {
            #expect(check(chunks: bytes.indices.map { bytes[$0...$0] }, quoted: true), "one byte at a time")
        }
    }

    @Test func multiByteCharactersSplitAtBlockAndWordBoundaries() {
        // A 4-byte character across every offset around the 8-byte steps and the 4096-byte block.
        for length in [7, 8, 9, 4093, 4094, 4095, 4096, 4097] {
            let bytes = [UInt8](repeating: 0x61, count: length) + Array("😀\u{1}é".utf8) + [UInt8](repeating: 0x5C, count: 9)
            for cut in length - 1...length + 5 {
                #expect(check(chunks: [bytes[..<cut], bytes[cut...]], quoted: true), "length \(length), cut \(cut)")
            }
            var frame: [UInt8] = []
            ExecOutputText(bytes: bytes, encoding: .utf8).appendJSONString(to: &frame)
            #expect(frame == referenceEscaped(String(decoding: bytes, as: UTF8.self).utf8))
        }
    }
}

import JSONCoding
import JSONRPC
import Testing

@testable import DockerProvider

/// The answer's output strings written a slice at a time equal the string written whole.
struct ExecOutputTextTests {
    private func produced(_ bytes: [UInt8], _ encoding: OutputEncoding) -> [UInt8] {
        FramePart.joined([.produced(ExecOutputText(bytes: bytes, encoding: encoding).producer())])
    }

    private func whole(_ bytes: [UInt8], _ encoding: OutputEncoding) -> [UInt8] {
        var json: [UInt8] = []
        JSONWriter.appendString(ExecOutputText(bytes: bytes, encoding: encoding).string, to: &json)
        return json
    }

    @Test(arguments: [OutputEncoding.utf8, .base64])
    func slicesJoinIntoTheWholeString(encoding: OutputEncoding) {
        let slice = JSONStringProducer.sliceBytes
        // A 4-byte character split across the slice boundary, at every offset; NULs, quotes, an
        // invalid byte, a dangling lead byte at the end.
        for shift in 0..<4 {
            var bytes = [UInt8](repeating: 0x61, count: slice - 2 + shift)
            bytes += Array("😀\"\\\n".utf8) + [0, 0xFF, 0x00] + [UInt8](repeating: 0, count: slice) + [0xF0, 0x9F]
            #expect(produced(bytes, encoding) == whole(bytes, encoding), "shift \(shift)")
        }
        #expect(produced([], encoding) == Array("\"\"".utf8))
        #expect(produced(Array("é".utf8), encoding) == whole(Array("é".utf8), encoding))
    }

    @Test func nulBytesAreEscapedInUTF8() {
        #expect(produced([0, 0x41], .utf8) == Array(#""\u0000A""#.utf8))
    }

    @Test func anExecResultInPartsIsTheResultWhole() {
        let result = ExecResult(
            exitCode: 3, stdout: ExecOutputText(bytes: Array("out".utf8), encoding: .utf8),
            stderr: ExecOutputText(bytes: [0], encoding: .utf8), durationMs: 12, timedOut: false,
            truncated: OutputTruncation(stdout: 5, stderr: 0))
        #expect(
            String(decoding: result.encodedJSON(), as: UTF8.self)
                == #"{"durationMs":12,"exitCode":3,"stderr":"\u0000","stdout":"out","timedOut":false,"truncated":{"stderr":0,"stdout":5}}"#)
    }
}

struct LogsResultEncodingTests {
    @Test func partsWriteWhatTheGeneralEncoderWrites() throws {
        let full = LogsResult(
            stdout: ExecOutputText(bytes: Array("a\"b".utf8), encoding: .utf8), stderr: ExecOutputText(bytes: [0xFF], encoding: .utf8),
            reason: "stopped", truncated: OutputTruncation(stdout: 1, stderr: 2))
        let onlyReason = LogsResult(stdout: nil, stderr: nil, reason: "followed", truncated: nil)
        let onlyOutput = LogsResult(stdout: ExecOutputText(bytes: [], encoding: .utf8), stderr: nil, reason: nil, truncated: nil)
        for result in [full, onlyReason, onlyOutput] {
            #expect(result.encodedJSON() == (try MethodTable.encodeResult(result)))
        }
    }
}

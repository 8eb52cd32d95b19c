import DockerEngine
import JSONCoding
import Logging
import TestSupport
import Testing

// `JSONLines` (NDJSON bodies) read from a FAKE engine (TestSupport's `FakeEngine`, in this process):
// lines cut across chunks and reads, blank, undecodable and over-long lines, on demand.

@Suite("JSONLines: NDJSON events across chunks, bounded (fake engine)")
struct JSONLinesTests {
    /// The `Action` of every event `GET /events` yields when the fake engine sends `chunks` (a
    /// chunked body, each chunk its own write), with lines up to `max` bytes.
    private func actions(_ chunks: [String], max: Int = 64) async throws -> [String] {
        try await actions(bytes: chunks.map { Array($0.utf8) }, max: max)
    }

    private func actions(bytes chunks: [[UInt8]], max: Int = 64) async throws -> [String] {
        let body = FakeEngine.Step.chunkedBody(chunks)
        let cuts = chunks.indices.dropFirst().map { index in
            // a chunk on the wire is its size in hex, CRLF, the bytes, CRLF: cut right after the previous one
            chunks[..<index].reduce(0) { $0 + $1.count + String($1.count, radix: 16).count + 4 }
        }
        let engine = try FakeEngine { _ in
            [.head(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), ("Api-Version", "1.41")])]
                + FakeEngine.Step.pieces(body, cutAt: cuts, pause: .milliseconds(5))
        }
        defer { engine.stop() }
        let client = try EngineClient(
            host: EngineHost(parsing: engine.address), apiVersion: APIVersion(major: 1, minor: 41),
            requestTimeout: .seconds(10), streamStall: .seconds(10), logger: Logger(label: "json-lines-tests"))
        let events = try await client.events(filters: "{}", since: "0")
        var seen: [String] = []
        for try await event in JSONLines<EventMessage>(events.stream, maxLineBytes: max) { seen.append(event.action ?? "-") }
        return seen
    }

    @Test func linesSpanChunkBoundaries() async throws {
        #expect(
            try await actions([#"{"Action""#, #":"a"}"# + "\n" + #"{"Action":"#, #""b"}"# + "\n", #"{"Action":"c"}"#]) == ["a", "b", "c"])
        // byte by byte, with a multi-byte character cut in two
        #expect(try await actions(bytes: (#"{"Action":"é"}"# + "\n").utf8.map { [$0] }) == ["é"])
        #expect(try await actions([#"{"Action":"x"}"# + "\n" + #"{"Action":"y"}"# + "\n"]) == ["x", "y"])
    }

    @Test func blankAndUndecodableLinesAreSkipped() async throws {
        #expect(
            try await actions(["\n \r\n" + #"{"Action":"a"}"# + "\r\n\n", "not json\n[1]\n", #"{"Action":"b"}"# + "\n"]) == ["a", "b"])
    }

    @Test func overLongLinesAreDroppedWithoutHoldingThem() async throws {
        let long = String(repeating: "x", count: 100)
        #expect(try await actions([#"{"Action":"a"}"# + "\n", long, long, "\n" + #"{"Action":"after"}"# + "\n"]) == ["a", "after"])
        #expect(try await actions([long + "\n", #"{"Action":"b"}"# + "\n"]) == ["b"])
        let exactly64 = #"{"Action":""# + String(repeating: "y", count: 64 - 13) + #""}"#
        #expect(exactly64.utf8.count == 64)
        #expect(try await actions([exactly64 + "\n"], max: 64).count == 1)
        #expect(try await actions([exactly64 + " \n"], max: 64).isEmpty)
    }
}

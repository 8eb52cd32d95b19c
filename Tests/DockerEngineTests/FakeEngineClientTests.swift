import DockerEngine
import Foundation
import JSONCoding
import Logging
import TestSupport
import Testing

// `EngineClient` against a FAKE engine (TestSupport's `FakeEngine`, an HTTP/1.1 server inside the
// test process): the faults and edges the real engine cannot show on demand. What the real engine
// does is tested in IntegrationTests.

/// A client for `engine`, API version pinned to 1.41 unless `negotiate` (then `/_ping` asks).
private func client(
    _ engine: FakeEngine, timeout: Duration = .seconds(10), stall: Duration = .seconds(10), negotiate: Bool = false
) throws -> EngineClient {
    try EngineClient(
        host: EngineHost(parsing: engine.address), apiVersion: negotiate ? nil : APIVersion(major: 1, minor: 41),
        requestTimeout: timeout, streamStall: stall, logger: Logger(label: "fake-engine-tests"))
}

/// What `body` threw, as an ``EngineError`` (failing the test when it threw nothing or something else).
private func engineError(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> EngineError? {
    do {
        try await body()
        Issue.record("expected an EngineError, got none", sourceLocation: sourceLocation)
    } catch let error as EngineError {
        return error
    } catch {
        Issue.record("expected an EngineError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// 300 bytes and 17 bytes: a three-digit and a two-digit chunk size.
private let chunks: [[UInt8]] = [Array(repeating: UInt8(ascii: "a"), count: 300), Array("{\"status\":\"done\"}".utf8)]
private let chunkedHead = FakeEngine.Step.head(200, [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])

@Suite("EngineClient against a fake engine")
struct FakeEngineClientTests {
    /// Cuts inside the first size line ("12c"), between its CR and LF, inside the data, inside the
    /// trailing CRLF, and inside the last chunk.
    @Test(arguments: [[1], [2, 4], [3, 4, 5], [100, 305, 306], [307, 308, 309, 310, 330], Array(stride(from: 1, to: 335, by: 7))])
    func chunkedBodySplitAtOddPlaces(cuts: [Int]) async throws {
        let body = FakeEngine.Step.chunkedBody(chunks)
        let engine = try FakeEngine { _ in [chunkedHead] + FakeEngine.Step.pieces(body, cutAt: cuts, pause: .milliseconds(5)) }
        let response = try await client(engine).send(HTTPRequest(.get, "/containers/abc/logs"))
        #expect(response.head.status == 200)
        #expect(response.body == chunks.flatMap { $0 })
        // the same bytes through a stream
        var streamed: [UInt8] = []
        for try await chunk in try await client(engine).stream(HTTPRequest(.get, "/containers/abc/logs")) { streamed += chunk }
        #expect(streamed == chunks.flatMap { $0 })
    }

    @Test func notModifiedIsAnAnswerNotAnError() async throws {
        let engine = try FakeEngine { _ in [.response(304)] }
        let response = try await client(engine).send(HTTPRequest(.post, "/containers/abc/stop"))
        #expect(response.head.status == 304)
        #expect(response.body.isEmpty)
    }

    @Test(arguments: [409, 500])
    func errorWithAMessage(status: Int) async throws {
        let engine = try FakeEngine { _ in [.error(status, message: "container abc is not running")] }
        let error = await engineError { try await client(engine).send(HTTPRequest(.post, "/containers/abc/kill")) }
        #expect(error?.code == .http)
        #expect(error?.status == status)
        #expect(error?.engineMessage == "container abc is not running")
        #expect(error?.reason == "container abc is not running")
    }

    @Test(arguments: [409, 500])
    func errorWithoutABody(status: Int) async throws {
        let engine = try FakeEngine { _ in [.response(status)] }
        let error = await engineError { try await client(engine).send(HTTPRequest(.delete, "/containers/abc")) }
        #expect(error?.code == .http)
        #expect(error?.status == status)
        #expect(error?.engineMessage == nil)
        #expect(error?.reason == "the engine answered HTTP \(status)")
    }

    @Test func errorWithAPlainTextBodyKeepsTheText() async throws {
        let engine = try FakeEngine { _ in [.response(500, "runtime exploded\n", headers: [("Content-Type", "text/plain")])] }
        let error = await engineError { try await client(engine).send(HTTPRequest(.post, "/containers/create")) }
        #expect(error?.status == 500)
        #expect(error?.engineMessage == "runtime exploded")
    }

    @Test func streamErrorIsThrownBeforeAnyChunk() async throws {
        let engine = try FakeEngine { _ in [.error(404, message: "No such container: abc")] }
        let error = await engineError { _ = try await client(engine).stream(HTTPRequest(.get, "/containers/abc/logs?follow=1")) }
        #expect(error?.code == .notFound)
        #expect(error?.status == 404)
        #expect(error?.isNotFound == true)
        #expect(error?.engineMessage == "No such container: abc")
    }

    @Test func undecodableAnswerIsInvalidResponse() async throws {
        struct Summary: Decodable { var id: String }
        let engine = try FakeEngine { _ in [.response(200, "{\"Id\":")] }
        let error = await engineError { _ = try await client(engine).send(HTTPRequest(.get, "/containers/abc/json"), as: Summary.self) }
        #expect(error?.code == .invalidResponse)
        #expect(error?.status == 200)
    }

    @Test func slowHeadTimesOut() async throws {
        let engine = try FakeEngine { _ in [.pause(.seconds(10)), .response(200, "{}")] }
        let started = ContinuousClock.now
        let error = await engineError { try await client(engine, timeout: .milliseconds(300)).send(HTTPRequest(.get, "/info")) }
        #expect(error?.code == .timedOut)
        #expect(error?.reason.contains("GET /info") == true)
        // well before the engine answers (10 s), with room for a loaded machine
        #expect(ContinuousClock.now - started < .seconds(6))
    }

    @Test func streamWithASlowHeadTimesOut() async throws {
        let engine = try FakeEngine { _ in [.pause(.seconds(10)), chunkedHead] }
        let started = ContinuousClock.now
        let error = await engineError { _ = try await client(engine, timeout: .milliseconds(300)).stream(HTTPRequest(.get, "/events")) }
        #expect(error?.code == .timedOut)
        // well before the engine answers (10 s), with room for a loaded machine
        #expect(ContinuousClock.now - started < .seconds(6))
    }

    @Test func stalledStreamEnds() async throws {
        let engine = try FakeEngine { _ in [chunkedHead, .write(Array("5\r\nhello\r\n".utf8)), .pause(.seconds(3))] }
        let stream = try await client(engine, stall: .milliseconds(300)).stream(HTTPRequest(.get, "/containers/abc/logs"))
        var received: [UInt8] = []
        let error = await engineError { for try await chunk in stream { received += chunk } }
        #expect(received == Array("hello".utf8))
        #expect(error?.code == .timedOut)
    }

    @Test func bodyCutShortIsAnError() async throws {
        let engine = try FakeEngine { _ in
            [.head(200, [("Content-Type", "application/json"), ("Content-Length", "100")]), .write(Array("{\"Id\":\"ab".utf8)), .close]
        }
        let error = await engineError { try await client(engine).send(HTTPRequest(.get, "/containers/abc/json")) }
        #expect(error?.code == .unreachable)
        #expect(error?.status == nil)
    }

    @Test func chunkedStreamCutShortIsAnError() async throws {
        let engine = try FakeEngine { _ in [chunkedHead, .write(Array("a\r\n01234".utf8)), .close] }
        let stream = try await client(engine).stream(HTTPRequest(.get, "/containers/abc/logs"))
        let error = await engineError { for try await _ in stream {} }
        #expect(error?.code == .unreachable)
    }

    @Test func cancelledStreamClosesTheConnection() async throws {
        let tick = FakeEngine.Step.chunkedBody([Array("tick\n".utf8)]).dropLast(5)
        let engine = try FakeEngine { _ in
            [chunkedHead] + Array(repeating: [FakeEngine.Step.write(Array(tick)), .pause(.milliseconds(20))], count: 500).flatMap { $0 }
        }
        let stream = try await client(engine).stream(HTTPRequest(.get, "/containers/abc/logs?follow=1"), bound: .none)
        var iterator = stream.makeAsyncIterator()
        // the first read may hold several ticks (the fake engine writes one every 20 ms)
        let first = try #require(try await iterator.next())
        #expect(!first.isEmpty && first.count % 5 == 0 && first.starts(with: Array("tick\n".utf8)), "\(first)")
        stream.cancel()
        #expect(await engine.wait { $0.closedByClient == 1 }, "the fake engine never saw the connection close")
        await #expect(throws: CancellationError.self) { while try await iterator.next() != nil {} }
    }

    @Test func hijackUpgradeRefused() async throws {
        let engine = try FakeEngine { _ in [.error(409, message: "container abc is paused")] }
        let error = await engineError {
            _ = try await client(engine).hijack(HTTPRequest(.post, "/exec/e1/start", body: Array("{\"Detach\":false}".utf8)))
        }
        #expect(error?.code == .http)
        #expect(error?.status == 409)
        #expect(error?.engineMessage == "container abc is paused")
        let request = try #require(engine.record.requests.first)
        #expect(request.target == "/v1.41/exec/e1/start")
        #expect(request.header("upgrade") == "tcp")
        #expect(request.body == Array("{\"Detach\":false}".utf8))
    }

    @Test func hijackUpgradedYieldsTheOutput() async throws {
        let engine = try FakeEngine { _ in
            [
                .head(101, [("Content-Type", "application/vnd.docker.raw-stream"), ("Connection", "Upgrade"), ("Upgrade", "tcp")]),
                .write(Array("ready\n".utf8)), .pause(.milliseconds(50)), .close,
            ]
        }
        let stream = try await client(engine).hijack(HTTPRequest(.post, "/exec/e1/start", body: Array("{}".utf8)))
        #expect(stream.head.status == 101)
        var received: [UInt8] = []
        for try await chunk in stream { received += chunk }
        #expect(received == Array("ready\n".utf8))
    }

    @Test func negotiatesTheVersionFromPing() async throws {
        let engine = try FakeEngine { request in
            request.target == "/_ping" ? [.response(200, "OK", headers: [("Api-Version", "1.41")])] : [.response(200, "[]")]
        }
        let engineClient = try client(engine, negotiate: true)
        #expect(try await engineClient.apiVersion() == APIVersion(major: 1, minor: 41))
        try await engineClient.send(HTTPRequest(.get, "/containers/json"))
        #expect(engine.record.requests.map(\.target) == ["/_ping", "/v1.41/containers/json"])
    }
}

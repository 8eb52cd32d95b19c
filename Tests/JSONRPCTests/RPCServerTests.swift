import Foundation
import JSONCoding
import JSONRPC
import Logging
import Synchronization
import TestSupport
import Testing

// MARK: Toy methods

private struct Initialize: RPCMethod {
    static let name = "initialize"
    typealias Result = InitializeResult
    var protocolVersion: String
}

private struct InitializeResult: Encodable, Sendable {
    var protocolVersion: String
    var ready: Bool
}

private struct Echo: RPCMethod {
    static let name = "echo"
    typealias Result = EchoResult
    var text: String
}

private struct EchoResult: Encodable, Sendable {
    var text: String
}

private struct Sleep: RPCMethod {
    static let name = "sleep"
    typealias Result = NullResult
    var ms: Int
}

/// Makes something that cancellation cannot stop half-way (`ms` of uninterruptible work), as a
/// container create is; `undone` records what was undone because the host never got the result.
private struct Create: RPCMethod {
    static let name = "create"
    typealias Result = EchoResult
    var name: String
    var ms: Int
}

private let undone = Mutex<[String]>([])

/// Appends `n` to the list of `key`, after `ms` of work: requests of one key are ordered by arrival.
private struct Append: RPCMethod {
    static let name = "append"
    typealias Result = NullResult
    var key: String
    var n: Int
    var ms: Int
}

private let appended = Mutex<[String: [Int]]>([:])

private func registerAppend(_ table: inout MethodTable) {
    let byKey: MethodTable.OrderKey = { params in
        guard case .string(let key)? = params?["key"] else { return nil }
        return key
    }
    table.register(Append.self, orderedBy: byKey) { (request: Append, _: RequestContext) async throws -> NullResult in
        try await Task.sleep(for: .milliseconds(request.ms))
        appended.withLock { $0[request.key, default: []].append(request.n) }
        return NullResult()
    }
}

private let toyTable: MethodTable = {
    var table = MethodTable()
    table.register(Initialize.self) { request, _ in InitializeResult(protocolVersion: request.protocolVersion, ready: true) }
    table.register(Echo.self) { request, _ in EchoResult(text: request.text) }
    table.register(Sleep.self) { request, _ in
        try await Task.sleep(for: .milliseconds(request.ms))
        return NullResult()
    }
    registerAppend(&table)
    table.register(Create.self) { request, context in
        let deadline = ContinuousClock.now + .milliseconds(request.ms)
        while ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
        // A real undo talks to the engine, which a cancelled task cannot: record whether it could.
        context.onResultDropped { undone.withLock { $0.append(Task.isCancelled ? "\(request.name) (in a cancelled task)" : request.name) } }
        return EchoResult(text: request.name)
    }
    return table
}()

// MARK: Harness

/// Collects the frames written to a pipe, on its own thread (so no cooperative thread blocks).
private final class FrameCollector: Sendable {
    private struct State {
        var frames: [JSONValue] = []
        var ended = false
        var waiter: (count: Int, continuation: CheckedContinuation<Void, Never>)?
    }
    private let state = Mutex(State())

    init(fd: Int32) {
        let thread = Thread { [self] in readLoop(fd) }
        thread.start()
    }

    var frames: [JSONValue] { state.withLock { $0.frames } }

    /// Waits until `count` frames have arrived, the pipe has ended, or `timeout` has passed.
    func wait(for count: Int, timeout: Duration = .seconds(10)) async {
        let timer = Task { [self] in
            try? await Task.sleep(for: timeout)
            resumeWaiter(force: true)
        }
        defer { timer.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.frames.count >= count || state.ended { return true }
                state.waiter = (count, continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Waits for the end of the pipe.
    func waitForEnd() async { await wait(for: .max) }

    private func resumeWaiter(force: Bool) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, force || state.ended || state.frames.count >= waiter.count else { return nil }
            state.waiter = nil
            return waiter.continuation
        }
        continuation?.resume()
    }

    private func readLoop(_ fd: Int32) {
        readFrames(from: fd, maxLineBytes: 1 << 20, bufferBytes: 4096) { event in
            let frame: JSONValue
            if case .line(let line) = event, let parsed = try? JSONParser.parse(line) {
                frame = parsed
            } else {
                frame = .string("unparsable frame")
            }
            state.withLock { $0.frames.append(frame) }
        } afterRead: {
            resumeWaiter(force: false)
        }
        state.withLock { $0.ended = true }
        resumeWaiter(force: false)
    }
}

/// Runs one server session over two pipes: writes `lines`, waits for `answersBeforeEOF` frames,
/// closes the input (which cancels whatever is still in flight), waits for `run` to return and
/// gives back every frame the server wrote.
private func session(_ lines: [String], answersBeforeEOF: Int) async throws -> [JSONValue] {
    var input: [Int32] = [0, 0]
    var output: [Int32] = [0, 0]
    try #require(pipe(&input) == 0)
    try #require(pipe(&output) == 0)
    let server = RPCServer(
        table: toyTable, output: OutputChannel(fd: output[1]),
        configuration: .init(shutdownGrace: .milliseconds(500)), logger: Logger(label: "rpc-server-tests"))
    let collector = FrameCollector(fd: output[0])
    let readEnd = input[0]
    let running = Task { await server.run(input: readEnd) }

    var bytes: [UInt8] = []
    for line in lines { bytes.append(contentsOf: Array(line.utf8) + [0x0A]) }
    let written = bytes.withUnsafeBytes { write(input[1], $0.baseAddress, $0.count) }
    try #require(written == bytes.count)

    await collector.wait(for: answersBeforeEOF)
    close(input[1])
    await running.value
    close(input[0])
    close(output[1])
    await collector.waitForEnd()
    close(output[0])
    return collector.frames
}

private func request(_ id: Int, _ method: String, _ params: String? = nil) -> String {
    let paramsPart = params.map { #","params":\#($0)"# } ?? ""
    return #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)"\#(paramsPart)}"#
}

private let initialize = request(0, "initialize", #"{"protocolVersion":"1"}"#)

private func cancel(_ id: Int) -> String {
    #"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":\#(id)}}"#
}

private func responses(_ frames: [JSONValue], id: Int) -> [JSONValue] {
    frames.filter { $0["id"] == .integer(Int64(id)) }
}

private func errorCode(_ frame: JSONValue?) -> Int64? {
    guard case .integer(let code)? = frame?["error"]?["code"] else { return nil }
    return code
}

private func errorMessage(_ frame: JSONValue?) -> String? {
    guard case .string(let message)? = frame?["error"]?["message"] else { return nil }
    return message
}

// MARK: Tests

@Suite("RPCServer end to end", .timeLimit(.minutes(1)))
struct RPCServerTests {
    @Test func initializeAnswersTheHandlersResult() async throws {
        let frames = try await session([initialize], answersBeforeEOF: 1)
        #expect(frames.count == 1)
        let response = try #require(frames.first)
        #expect(response["jsonrpc"] == .string("2.0"))
        #expect(response["id"] == .integer(0))
        #expect(response["result"] == .object(JSONObject(["protocolVersion": .string("1"), "ready": .bool(true)])))
        #expect(response["error"] == nil)
    }

    @Test func requestsBeforeInitializeAreRejected() async throws {
        let frames = try await session(
            [request(1, "echo", #"{"text":"early"}"#), initialize, request(2, "echo", #"{"text":"ok"}"#)], answersBeforeEOF: 3)
        #expect(errorCode(responses(frames, id: 1).first) == -32002)
        #expect(responses(frames, id: 2).first?["result"] == .object(JSONObject(["text": .string("ok")])))
    }

    @Test func secondInitializeIsAnInvalidRequest() async throws {
        let frames = try await session([initialize, request(5, "initialize", #"{"protocolVersion":"1"}"#)], answersBeforeEOF: 2)
        #expect(responses(frames, id: 0).first?["result"] != nil)
        #expect(errorCode(responses(frames, id: 5).first) == -32600)
    }

    @Test func failedInitializeCanBeRetried() async throws {
        let frames = try await session([request(1, "initialize", "{}"), initialize], answersBeforeEOF: 2)
        #expect(errorCode(responses(frames, id: 1).first) == -32602)
        #expect(responses(frames, id: 0).first?["result"] != nil)
    }

    @Test func parseErrorIsAnsweredWithNullID() async throws {
        let frames = try await session(
            [initialize, "{not json", "   ", request(1, "echo", #"{"text":"after"}"#)], answersBeforeEOF: 3)
        let parseErrors = frames.filter { errorCode($0) == -32700 }
        #expect(parseErrors.count == 1)
        #expect(parseErrors.first?["id"] == .null)
        #expect(responses(frames, id: 1).first?["result"] != nil)
        #expect(frames.count == 3)  // the blank line is not answered
    }

    @Test func invalidMessagesAreInvalidRequests() async throws {
        let frames = try await session(
            [
                initialize,
                #"{"jsonrpc":"1.0","id":1,"method":"echo"}"#,
                #"{"jsonrpc":"2.0","id":2,"method":7}"#,
                #"{"jsonrpc":"2.0","id":{},"method":"echo"}"#,
                "42",
            ], answersBeforeEOF: 5)
        #expect(errorCode(responses(frames, id: 1).first) == -32600)
        #expect(errorCode(responses(frames, id: 2).first) == -32600)
        #expect(frames.filter { $0["id"] == .null && errorCode($0) == -32600 }.count == 2)
    }

    @Test func unknownMethodIsMethodNotFound() async throws {
        let frames = try await session([initialize, request(3, "nope")], answersBeforeEOF: 2)
        #expect(errorCode(responses(frames, id: 3).first) == -32601)
    }

    @Test func positionalParamsAreInvalidParams() async throws {
        let frames = try await session([initialize, request(4, "echo", #"["hi"]"#)], answersBeforeEOF: 2)
        let response = try #require(responses(frames, id: 4).first)
        #expect(errorCode(response) == -32602)
        #expect(response["error"]?["data"]?["field"] == .string("params"))
    }

    @Test func missingParamNamesTheField() async throws {
        let frames = try await session([initialize, request(4, "echo", "{}")], answersBeforeEOF: 2)
        let response = try #require(responses(frames, id: 4).first)
        #expect(errorCode(response) == -32602)
        #expect(response["error"]?["data"]?["field"] == .string("text"))
        #expect(errorMessage(response) == "echo failed: invalid params: text is required")
    }

    @Test func batchIsAnsweredAsOneArrayWithoutNotifications() async throws {
        let batch =
            "["
            + [
                request(10, "echo", #"{"text":"a"}"#),
                #"{"jsonrpc":"2.0","method":"echo","params":{"text":"note"}}"#,
                request(11, "nope"),
                request(12, "echo", #"{"text":"b"}"#),
            ].joined(separator: ",") + "]"
        let frames = try await session([initialize, batch], answersBeforeEOF: 2)
        #expect(frames.count == 2)
        guard case .array(let answers)? = frames.last else {
            Issue.record("expected the batch answer to be an array, got \(String(describing: frames.last))")
            return
        }
        #expect(answers.map { $0["id"] } == [.integer(10), .integer(11), .integer(12)])
        #expect(answers[0]["result"] == .object(JSONObject(["text": .string("a")])))
        #expect(errorCode(answers[1]) == -32601)
        #expect(answers[2]["result"] == .object(JSONObject(["text": .string("b")])))
    }

    @Test func emptyBatchIsAnInvalidRequest() async throws {
        let frames = try await session([initialize, "[]"], answersBeforeEOF: 2)
        #expect(frames.count == 2)
        #expect(frames.last?["id"] == .null)
        #expect(errorCode(frames.last) == -32600)
    }

    @Test func cancellingAnInFlightRequestAnswersItOnce() async throws {
        let frames = try await session(
            [
                initialize, request(5, "sleep", #"{"ms":10000}"#), cancel(5), request(6, "echo", #"{"text":"still here"}"#),
            ], answersBeforeEOF: 3)
        let answers = responses(frames, id: 5)
        #expect(answers.count == 1)
        #expect(errorCode(answers.first) == -32800)
        #expect(errorMessage(answers.first) == "request cancelled")
        #expect(responses(frames, id: 6).first?["result"] != nil)
    }

    @Test func workWhoseResultTheHostNeverGetsIsUndone() async throws {
        // Cancelled while the work cannot stop: the host hears -32800, so what was made is undone.
        let frames = try await session(
            [initialize, request(8, "create", #"{"name":"dropped-1","ms":300}"#), cancel(8)], answersBeforeEOF: 2)
        #expect(errorCode(responses(frames, id: 8).first) == -32800)
        try await Task.sleep(for: .milliseconds(500))
        #expect(undone.withLock { $0.contains("dropped-1") })
        // Answered normally: nothing is undone.
        let kept = try await session([initialize, request(9, "create", #"{"name":"kept-1","ms":10}"#)], answersBeforeEOF: 2)
        #expect(responses(kept, id: 9).first?["result"]?["text"] == .string("kept-1"))
        #expect(!undone.withLock { $0.contains("kept-1") })
    }

    @Test func requestsOfOneOrderKeyAreHandledInArrivalOrder() async throws {
        // Every third one works longer: unordered, the quicker ones behind it would overtake it.
        let lines = (0..<40).map { n in request(100 + n, "append", #"{"key":"k1","n":\#(n),"ms":\#(n % 3 == 0 ? 30 : 0)}"#) }
        let frames = try await session([initialize] + lines, answersBeforeEOF: 41)
        #expect((0..<40).allSatisfy { responses(frames, id: 100 + $0).first?["result"] == .null })
        #expect(appended.withLock { $0["k1"] } == Array(0..<40))
    }

    @Test func cancelBeforeTheRequestIsRemembered() async throws {
        let frames = try await session([initialize, cancel(7), request(7, "sleep", #"{"ms":10000}"#)], answersBeforeEOF: 2)
        let answers = responses(frames, id: 7)
        #expect(answers.count == 1)
        #expect(errorCode(answers.first) == -32800)
        #expect(errorMessage(answers.first) == "request cancelled")
    }

    @Test func duplicateInFlightIDIsRejected() async throws {
        let frames = try await session(
            [initialize, request(8, "sleep", #"{"ms":10000}"#), request(8, "echo", #"{"text":"dup"}"#)], answersBeforeEOF: 2)
        let answers = responses(frames, id: 8)
        #expect(answers.count == 2)
        #expect(answers.map(errorCode).sorted { ($0 ?? 0) < ($1 ?? 0) } == [-32800, -32600])
        #expect(answers.contains { errorMessage($0)?.contains("duplicate request id 8") == true })
    }

    @Test func closingTheInputCancelsWhatIsInFlight() async throws {
        let start = ContinuousClock.now
        let frames = try await session(
            [initialize, request(9, "sleep", #"{"ms":10000}"#), request(10, "sleep", #"{"ms":10000}"#)], answersBeforeEOF: 1)
        #expect(ContinuousClock.now - start < .seconds(5))
        for id in [9, 10] {
            let answers = responses(frames, id: id)
            #expect(answers.count == 1)
            #expect(errorCode(answers.first) == -32800)
            #expect(errorMessage(answers.first) == "request cancelled: the worker is shutting down")
        }
    }

    @Test func shortRequestsCompleteNormally() async throws {
        let frames = try await session([initialize, request(11, "sleep", #"{"ms":1}"#)], answersBeforeEOF: 2)
        #expect(responses(frames, id: 11).first?["result"] == .null)
    }

    @Test func shutdownAnswersNullAndStopsReading() async throws {
        let frames = try await session(
            [initialize, request(12, "shutdown"), request(13, "echo", #"{"text":"late"}"#)], answersBeforeEOF: 2)
        #expect(responses(frames, id: 12).first?["result"] == .null)
        #expect(responses(frames, id: 13).allSatisfy { errorCode($0) == -32800 })
    }

    @Test func stringIDsAreEchoedBack() async throws {
        let frames = try await session(
            [initialize, #"{"jsonrpc":"2.0","id":"abc","method":"echo","params":{"text":"s"}}"#], answersBeforeEOF: 2)
        #expect(frames.contains { $0["id"] == .string("abc") && $0["result"] != nil })
    }
}

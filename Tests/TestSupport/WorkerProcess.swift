import Foundation
import JSONCoding
import JSONRPC
import Synchronization
import Testing

/// The built worker binary: `OPENLATTICE_DOCKER_WORKER`, else `.build/debug` of this package.
package let workerBinary: String = {
    if let path = ProcessInfo.processInfo.environment["OPENLATTICE_DOCKER_WORKER"] { return path }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/openlattice-docker-worker").path
}()

/// One line the worker wrote, parsed.
package struct Received: Sendable {
    package var value: JSONValue
    package var id: RequestID? { value["id"].flatMap(requestID) }
    package var method: String? { if case .string(let m)? = value["method"] { m } else { nil } }
}

private func requestID(_ value: JSONValue) -> RequestID? {
    switch value {
    case .integer(let i): .integer(i)
    case .string(let s): .string(s)
    case .null: .null
    default: nil
    }
}

/// A response: the result, or the error object.
package struct Response: Sendable {
    package var raw: JSONValue
    package var result: JSONValue? { raw["result"] }
    package var error: JSONValue? { raw["error"] }
    package var errorCode: Int64? { if case .integer(let c)? = raw["error"]?["code"] { c } else { nil } }
    package var errorMessage: String { if case .string(let m)? = raw["error"]?["message"] { m } else { "" } }

    /// The result, failing the test with the error if there is none.
    package func value(sourceLocation: SourceLocation = #_sourceLocation) throws -> JSONValue {
        guard let result else {
            Issue.record("expected a result, got \(raw)", sourceLocation: sourceLocation)
            throw HarnessError.unexpected("\(raw)")
        }
        return result
    }
}

package enum HarnessError: Error { case unexpected(String), timeout(String), exited }

/// The worker as a subprocess, spoken to over real pipes. Every stdout line must be a JSON-RPC
/// message that Foundation's own parser accepts too; anything else fails the test.
package final class WorkerProcess: @unchecked Sendable {
    private struct State {
        var lines: [Received] = []
        var waiters: [RequestID: CheckedContinuation<Response, any Error>] = [:]
        var responses: [RequestID: Response] = [:]
        var nextID: Int64 = 1000
        var stderr = Data()
        var closed = false
        /// The methods of the requests sent with `start` under each id, to check responses against openrpc.json.
        var methods: [RequestID: [String]] = [:]
    }

    package let process = Process()
    /// The test that started the worker, named in openrpc.json mismatches (found on the reader thread).
    private let testName = Test.current?.name
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let state = Mutex(State())
    private let stderrBuffer = StderrBuffer()

    /// A worker started with `arguments`; with a `launcher` (such as `["/usr/bin/prlimit", "--nofile=256:8192", "--"]`)
    /// the worker binary runs under it (it must exec the binary, so the pid stays the worker's).
    package init(arguments: [String] = [], environment: [String: String] = [:], launcher: [String] = []) throws {
        if let tool = launcher.first {
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = Array(launcher.dropFirst()) + [workerBinary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: workerBinary)
            process.arguments = arguments
        }
        process.environment = Docker.workerEnvironment(environment)
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
        // The reader threads hold the worker weakly: when a test lets go of it, deinit ends the process.
        let out = stdoutPipe.fileHandleForReading
        Thread.detachNewThread { [weak self] in Self.readLoop(out, owner: self) }
        let err = stderrPipe.fileHandleForReading
        let stderrBuffer = self.stderrBuffer
        Thread.detachNewThread {
            while true {
                let data = err.availableData
                if data.isEmpty { break }
                stderrBuffer.withLock { $0.append(data) }
            }
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    private static func readLoop(_ handle: FileHandle, owner: WorkerProcess?) {
        weak let owner = owner
        readFrames(from: handle.fileDescriptor, maxLineBytes: 1 << 30) { event in
            guard case .line(let line) = event else { return }
            owner?.accept(line)
        }
        owner?.finishReading()
    }

    private func finishReading() {
        let waiters = state.withLock { state in
            state.closed = true
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume(throwing: HarnessError.exited) }
    }

    private func accept(_ bytes: [UInt8]) {
        // Foundation must agree that this is JSON, independently of our own parser.
        let foundationOK = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
        guard foundationOK, let value = try? JSONParser.parse(bytes),
            case .string("2.0")? = value["jsonrpc"]
                ?? ({ if case .array(let a) = value { return a.first?["jsonrpc"] } else { return nil } }())
        else {
            Issue.record("non-protocol bytes on stdout: \(String(decoding: bytes.prefix(300), as: UTF8.self))")
            return
        }
        var toResume: [(CheckedContinuation<Response, any Error>, Response)] = []
        var toValidate: [(message: JSONValue, methods: [String])] = []
        state.withLock { state in
            state.lines.append(Received(value: value))
            let messages: [JSONValue] = if case .array(let items) = value { items } else { [value] }
            toValidate = messages.map { message in (message, message["id"].flatMap(requestID).flatMap { state.methods[$0] } ?? []) }
            for message in messages where message["method"] == nil {
                guard let id = message["id"].flatMap(requestID) else { continue }
                let response = Response(raw: message)
                if let waiter = state.waiters.removeValue(forKey: id) {
                    toResume.append((waiter, response))
                } else {
                    state.responses[id] = response
                }
            }
        }
        for (message, methods) in toValidate { OpenRPCValidator.recordMismatches(in: message, methods: methods, test: testName) }
        for (waiter, response) in toResume { waiter.resume(returning: response) }
    }

    /// Writes raw bytes to the worker's stdin.
    package func write(_ bytes: [UInt8]) {
        stdinPipe.fileHandleForWriting.write(Data(bytes))
    }

    /// Writes one line.
    package func send(line: String) { write(Array((line + "\n").utf8)) }

    /// Sends a notification.
    package func notify(_ method: String, _ params: JSONValue) {
        var object = JSONObject()
        object["jsonrpc"] = .string("2.0")
        object["method"] = .string(method)
        object["params"] = params
        write(JSONWriter.encode(.object(object)) + [0x0A])
    }

    /// A fresh request id.
    package func newID() -> Int64 {
        state.withLock {
            $0.nextID += 1
            return $0.nextID
        }
    }

    /// Sends a request without waiting.
    @discardableResult
    package func start(_ method: String, _ params: JSONValue? = nil, id: Int64? = nil) -> Int64 {
        let id = id ?? newID()
        var object = JSONObject()
        object["jsonrpc"] = .string("2.0")
        object["id"] = .integer(id)
        object["method"] = .string(method)
        if let params { object["params"] = params }
        state.withLock { $0.methods[.integer(id), default: []].append(method) }
        write(JSONWriter.encode(.object(object)) + [0x0A])
        return id
    }

    /// Waits for the response to `id`.
    package func response(_ id: RequestID, timeout: Duration = .seconds(60)) async throws -> Response {
        try await awaitDelivery(of: id, timeout: timeout) { continuation in
            state.withLock { state -> Result<Response, any Error>? in
                if let response = state.responses.removeValue(forKey: id) { return .success(response) }
                if state.closed { return .failure(HarnessError.exited) }
                state.waiters[id] = continuation
                return nil
            }
        } unregister: { [self] in
            state.withLock { $0.waiters.removeValue(forKey: id) }
        }
    }

    /// Sends a request and waits for its response.
    package func call(_ method: String, _ params: JSONValue? = nil, timeout: Duration = .seconds(60)) async throws -> Response {
        let id = start(method, params)
        return try await response(.integer(id), timeout: timeout)
    }

    /// Calls and returns the result, failing on an error response.
    package func result(_ method: String, _ params: JSONValue? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> JSONValue
    {
        try await call(method, params).value(sourceLocation: sourceLocation)
    }

    /// `initialize` with the given config.
    @discardableResult
    package func initialize(_ config: JSONValue = .object(JSONObject())) async throws -> JSONValue {
        try await result("initialize", ["protocolVersion": "1.0", "config": config])
    }

    /// Every line received so far.
    package var lines: [Received] { state.withLock { $0.lines } }

    /// Notifications whose params.requestId is `id`, in arrival order.
    package func notifications(for id: Int64) -> [JSONValue] {
        lines.compactMap { line in
            guard line.method != nil, line.value["params"]?["requestId"] == .integer(id) else { return nil }
            return line.value["params"]
        }
    }

    /// Everything the worker wrote to stderr so far.
    package var stderrText: String { stderrBuffer.withLock { String(decoding: $0, as: UTF8.self) } }

    /// Closes stdin and waits for the process to exit; returns its status and how long it took.
    package func closeInput(timeout: Duration = .seconds(5)) async throws -> (status: Int32, elapsed: Duration) {
        let start = ContinuousClock.now
        try stdinPipe.fileHandleForWriting.close()
        let status = try await process.waitForExit(timeout: timeout)
        let elapsed = ContinuousClock.now - start
        await drained()
        return (status, elapsed)
    }

    /// Closes our end of the worker's stdout and stdin, as a host that dies does.
    package func closePipes() throws {
        try stdoutPipe.fileHandleForReading.close()
        try stdinPipe.fileHandleForWriting.close()
    }

    /// The capacity of the pipe the worker writes its frames into (F_GETPIPE_SZ, 1032, on our end).
    package var stdoutPipeCapacity: Int32 { fcntl(stdoutPipe.fileHandleForReading.fileDescriptor, 1032) }

    /// Closes stdin so the worker winds down (cancelling what is in flight), killing it if it lingers.
    package func stop() async {
        if (try? await closeInput()) == nil, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            _ = try? await waitForExit()
        }
    }

    /// Waits for exit, and for the reader to have taken in everything the worker wrote (its end of
    /// output), so that ``lines`` is complete when this returns.
    package func waitForExit(timeout: Duration = .seconds(5)) async throws -> Int32 {
        let status = try await process.waitForExit(timeout: timeout)
        await drained()
        return status
    }

    /// Waits (up to 5 s) until the reader has seen the end of the worker's output.
    private func drained() async {
        let deadline = ContinuousClock.now + .seconds(5)
        while !state.withLock({ $0.closed }), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(2)) }
    }
}

/// Runs `body` with an initialized worker, then shuts it down and removes what the test labelled.
package func withWorker<T>(
    config: JSONValue = .object(JSONObject()), arguments: [String] = [], environment: [String: String] = [:],
    _ body: (WorkerProcess, TestScope) async throws -> T
) async throws -> T {
    let scope = TestScope()
    let worker = try WorkerProcess(arguments: arguments, environment: environment)
    defer { scope.cleanUp() }
    // The worker is gone before the clean-up looks, also when the body throws with a provision in
    // flight: nothing it creates can appear after the clean-up's listing.
    do {
        try await worker.initialize(config)
        let value = try await body(worker, scope)
        await worker.stop()
        return value
    } catch {
        await worker.stop()
        throw error
    }
}

/// A test's own label value and names, and the cleanup of what carries them.
package final class TestScope: Sendable {
    /// Unique per test.
    package let id = "t" + UUID().uuidString.prefix(8).lowercased()
    /// The labels every container of this test carries: `openlattice.test=<id>`, and
    /// `openlattice.test-run=$OLW_TEST_RUN` when scripts/test.sh set it (its clean-up removes only
    /// what carries its own run's value, snapshot images included: a commit keeps the labels).
    package var labels: JSONValue {
        var labels = JSONObject()
        labels["openlattice.test"] = .string(id)
        if let run = ProcessInfo.processInfo.environment["OLW_TEST_RUN"], !run.isEmpty { labels["openlattice.test-run"] = .string(run) }
        return .object(labels)
    }
    private let extraCleanups = Mutex<[@Sendable () -> Void]>([])

    /// A scope with a fresh id.
    package init() {}

    /// A unique container name.
    package func name(_ base: String) -> String { "olw-\(base)-\(id)" }

    /// Also run this at the end.
    package func onCleanUp(_ action: @escaping @Sendable () -> Void) { extraCleanups.withLock { $0.append(action) } }

    package func cleanUp() {
        let ids = Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(id)"])
        if !ids.isEmpty { _ = Docker.run(["rm", "-f", "-v"] + ids) }
        for action in extraCleanups.withLock({ $0 }) { action() }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        var object = JSONObject()
        for (key, value) in elements { object[key] = value }
        self = .object(object)
    }
}

extension JSONValue {
    package var string: String? { if case .string(let s) = self { s } else { nil } }
    package var int: Int64? {
        switch self {
        case .integer(let i): i
        case .double(let d): Int64(exactly: d)
        default: nil
        }
    }
    package var double: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
    package var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    package var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    package var object: JSONObject? { if case .object(let o) = self { o } else { nil } }
    package subscript(index: Int) -> JSONValue? { array.flatMap { index < $0.count ? $0[index] : nil } }
}

/// What a worker wrote to stderr, shared with the thread that reads it.
package final class StderrBuffer: Sendable {
    private let data = Mutex(Data())
    package func withLock<T>(_ body: (inout Data) -> T) -> T { data.withLock { body(&$0) } }
}

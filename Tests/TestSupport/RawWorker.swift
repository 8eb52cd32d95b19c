import Foundation
import Glibc
import JSONCoding
import JSONRPC
import Synchronization
import Testing

// A second, lower-level host for the hardening tests (issue 5): unlike `WorkerProcess` it can stop
// reading the worker's stdout on demand, keeps every response per id (so duplicates show), counts
// stdout bytes, reads memory figures from /proc, and has a fast path for huge exec streams.

/// The key a response id is matched by: strings, and numbers by value (so `1.0` and `1` meet).
package func idKey(_ value: JSONValue) -> String? {
    switch value {
    case .string(let string): return "s:" + string
    case .integer(let integer): return "n:\(integer)"
    case .double(let double):
        if let integer = Int64(exactly: double) { return "n:\(integer)" }
        return "d:\(double)"
    case .null: return "null"
    default: return nil
    }
}

/// One protocol message as the raw host saw it.
package struct RawMessage: Sendable {
    /// Its position among the top-level stdout lines.
    package var index: Int
    package var value: JSONValue
    package var isBatch: Bool { value.array != nil }
}

/// Figures from /proc/PID/status, in bytes.
package struct MemoryFigures: Sendable, CustomStringConvertible {
    package var rss: Int
    package var hwm: Int
    package var description: String { String(format: "VmRSS %.1f MB, VmHWM %.1f MB", Double(rss) / 1e6, Double(hwm) / 1e6) }
}

/// Reads VmRSS and VmHWM of a process; nil once it is gone.
package func memoryFigures(pid: Int32) -> MemoryFigures? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    func kilobytes(_ key: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }.map { $0 * 1024 }
    }
    guard let rss = kilobytes("VmRSS"), let hwm = kilobytes("VmHWM") else { return nil }
    return MemoryFigures(rss: rss, hwm: hwm)
}

/// Pids whose parent is `pid`, from /proc.
package func childProcesses(of pid: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let child = Int32(entry),
            let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("PPid:") }),
            let parent = line.split(separator: "\t").last.flatMap({ Int32($0.trimmingCharacters(in: .whitespaces)) })
        else { return nil }
        return parent == pid ? child : nil
    }
}

/// Whether a process (not a zombie) exists.
package func processExists(_ pid: Int32) -> Bool {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
    return !status.contains("State:\tZ")
}

/// A growable byte buffer on malloc'd memory: memchr/memcpy speed even in a debug build.
private final class LineBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1 << 20) {
        self.capacity = capacity
        base = malloc(capacity)!
    }
    deinit { free(base) }

    func append(_ bytes: UnsafeRawPointer, _ length: Int) {
        if count + length > capacity {
            while count + length > capacity { capacity *= 2 }
            base = realloc(base, capacity)!
        }
        memcpy(base + count, bytes, length)
        count += length
    }

    func reset() { count = 0 }
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}

/// The worker as a subprocess behind raw pipes, with a stdout reader that can be paused.
package final class RawWorker: @unchecked Sendable {
    /// Handles a whole stdout line before the generic path; returns true when it took the line.
    /// Runs on the reader thread.
    package typealias FastPath = @Sendable (UnsafeRawBufferPointer) -> Bool

    private struct State {
        var messages: [RawMessage] = []
        var responses: [String: [JSONValue]] = [:]
        var waiters: [String: CheckedContinuation<JSONValue, any Error>] = [:]
        var violations: [String] = []
        var topLevelLines = 0
        var stdoutBytes = 0
        var closed = false
        var paused = false
        var keepMessages = true
    }

    package let process = Process()
    package let stderrPath: String
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let state = Mutex(State())
    private let gate = NSCondition()  // guards `paused` for the reader thread
    private var gatePaused = false
    private let writeLock = NSLock()
    private let fastPath: FastPath?
    private let onResponse: (@Sendable (String, JSONValue) -> Void)?

    /// Spawns the worker; stderr goes to a file (so a chatty worker never blocks on it).
    package init(
        arguments: [String] = [], environment: [String: String] = [:], fastPath: FastPath? = nil,
        onResponse: (@Sendable (String, JSONValue) -> Void)? = nil
    ) throws {
        signal(SIGPIPE, SIG_IGN)
        self.fastPath = fastPath
        self.onResponse = onResponse
        stderrPath = NSTemporaryDirectory() + "olw-raw-\(UUID().uuidString.prefix(8)).stderr"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: workerBinary)
        process.arguments = arguments
        process.environment = Docker.workerEnvironment(environment)
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let fd = stdoutPipe.fileHandleForReading.fileDescriptor
        let thread = Thread { [self] in readLoop(fd: fd) }
        thread.name = "raw-worker-stdout"
        thread.start()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    package var pid: Int32 { process.processIdentifier }

    // MARK: Reading

    /// Stops reading stdout (the pipe fills up and the worker's writes block).
    package func pauseReading() {
        gate.lock()
        gatePaused = true
        gate.unlock()
    }

    /// Reads stdout again.
    package func resumeReading() {
        gate.lock()
        gatePaused = false
        gate.broadcast()
        gate.unlock()
    }

    /// Whether messages are kept for ``messages`` (off for long soaks; responses are still tracked).
    package func keepMessages(_ keep: Bool) { state.withLock { $0.keepMessages = keep } }

    private func readLoop(fd: Int32) {
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { chunk.deallocate() }
        let line = LineBuffer()
        while true {
            gate.lock()
            while gatePaused { gate.wait() }
            gate.unlock()
            let count = read(fd, chunk, 1 << 16)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            state.withLock { $0.stdoutBytes += count }
            var start = 0
            while start < count {
                let remaining = count - start
                if let hit = memchr(chunk + start, 0x0A, remaining) {
                    let length = chunk.distance(to: hit) - start
                    if line.count == 0 {
                        handleLine(UnsafeRawBufferPointer(start: chunk + start, count: length))
                    } else {
                        line.append(chunk + start, length)
                        handleLine(line.bytes)
                        line.reset()
                    }
                    start += length + 1
                } else {
                    line.append(chunk + start, remaining)
                    start = count
                }
            }
        }
        let waiters = state.withLock { state in
            if line.count > 0 {
                state.violations.append("stdout ended inside a line: \(String(decoding: line.bytes.prefix(200), as: UTF8.self))")
            }
            state.closed = true
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume(throwing: HarnessError.exited) }
    }

    private func handleLine(_ bytes: UnsafeRawBufferPointer) {
        let index = state.withLock { state in
            defer { state.topLevelLines += 1 }
            return state.topLevelLines
        }
        if let fastPath, fastPath(bytes) { return }
        let text = { String(decoding: bytes.prefix(300), as: UTF8.self) }
        // Our parser and Foundation's must both accept the line.
        guard let value = try? JSONParser.parse(bytes),
            (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
        else {
            state.withLock { $0.violations.append("non-JSON bytes on stdout: \(text())") }
            return
        }
        if let problem = Self.protocolProblem(value) {
            state.withLock { $0.violations.append("\(problem): \(text())") }
            return
        }
        accept(value, index: index)
    }

    /// Why `value` is not a JSON-RPC 2.0 message a server may send, or nil when it is one.
    package static func protocolProblem(_ value: JSONValue) -> String? {
        func responseProblem(_ message: JSONValue) -> String? {
            guard let object = message.object else { return "not an object" }
            guard object["jsonrpc"] == .string("2.0") else { return "jsonrpc is not \"2.0\"" }
            guard let id = object["id"], idKey(id) != nil else { return "a response without a valid id" }
            let hasResult = object["result"] != nil
            let hasError = object["error"] != nil
            guard hasResult != hasError else { return "a response must have exactly one of result and error" }
            if let error = object["error"] {
                guard error["code"]?.int != nil, error["message"]?.string != nil else { return "an error without code or message" }
            }
            return nil
        }
        switch value {
        case .array(let items):
            guard !items.isEmpty else { return "an empty batch response" }
            for item in items { if let problem = responseProblem(item) { return "in a batch: \(problem)" } }
            return nil
        case .object(let object):
            if object["method"] != nil {
                guard object["jsonrpc"] == .string("2.0"), object["method"]?.string != nil, object["id"] == nil else {
                    return "a malformed notification"
                }
                return nil
            }
            return responseProblem(value)
        default:
            return "not an object or array"
        }
    }

    private func accept(_ value: JSONValue, index: Int) {
        var resumes: [(CheckedContinuation<JSONValue, any Error>, JSONValue)] = []
        var observed: [(String, JSONValue)] = []
        state.withLock { state in
            if state.keepMessages { state.messages.append(RawMessage(index: index, value: value)) }
            let responses: [JSONValue] = if case .array(let items) = value { items } else if value["method"] == nil { [value] } else { [] }
            for response in responses {
                guard let key = response["id"].flatMap(idKey) else { continue }
                state.responses[key, default: []].append(response)
                observed.append((key, response))
                if key != "null", let waiter = state.waiters.removeValue(forKey: key) { resumes.append((waiter, response)) }
            }
        }
        for (key, response) in observed { onResponse?(key, response) }
        for (waiter, response) in resumes { waiter.resume(returning: response) }
    }

    // MARK: Writing

    /// Writes bytes to the worker's stdin (blocking; safe from any thread). False once the pipe is closed.
    @discardableResult
    package func writeBlocking(_ bytes: UnsafeRawBufferPointer) -> Bool {
        writeLock.lock()
        defer { writeLock.unlock() }
        let fd = stdinPipe.fileHandleForWriting.fileDescriptor
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// Writes bytes from a helper thread, so the caller's task does not block a cooperative thread.
    @discardableResult
    package func write(_ bytes: [UInt8]) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            Thread.detachNewThread { [self] in
                let ok = bytes.withUnsafeBytes { writeBlocking($0) }
                continuation.resume(returning: ok)
            }
        }
    }

    /// Writes a JSON value as one line.
    @discardableResult
    package func send(_ value: JSONValue) async -> Bool { await write(JSONWriter.encode(value) + [0x0A]) }

    /// Sends a request with the given id (any JSON) and params.
    package func request(_ method: String, _ params: JSONValue? = nil, id: JSONValue) async {
        var object = JSONObject()
        object["jsonrpc"] = "2.0"
        object["id"] = id
        object["method"] = .string(method)
        if let params { object["params"] = params }
        await send(.object(object))
    }

    /// Sends a request and waits for its response.
    package func call(
        _ method: String, _ params: JSONValue? = nil, id: String = "raw-\(UUID().uuidString)", timeout: Duration = .seconds(60)
    )
        async throws -> JSONValue
    {
        await request(method, params, id: .string(id))
        return try await response("s:" + id, timeout: timeout)
    }

    /// Waits for the (first) response whose id key is `key`.
    package func response(_ key: String, timeout: Duration = .seconds(60)) async throws -> JSONValue {
        try await awaitDelivery(of: key, timeout: timeout) { continuation in
            state.withLock { state -> Result<JSONValue, any Error>? in
                if let response = state.responses[key]?.first { return .success(response) }
                if state.closed { return .failure(HarnessError.exited) }
                state.waiters[key] = continuation
                return nil
            }
        } unregister: { [self] in
            state.withLock { $0.waiters.removeValue(forKey: key) }
        }
    }

    /// `initialize` with a config.
    @discardableResult
    package func initialize(_ config: JSONValue = .object(JSONObject())) async throws -> JSONValue {
        let response = try await call("initialize", ["protocolVersion": "1.0", "config": config])
        guard let result = response["result"] else { throw HarnessError.unexpected("initialize failed: \(response)") }
        return result
    }

    // MARK: Inspection

    /// Every top-level message kept so far, in stdout order.
    package var messages: [RawMessage] { state.withLock { $0.messages } }
    /// All responses, by id key.
    package var responses: [String: [JSONValue]] { state.withLock { $0.responses } }
    /// Lines that were not JSON-RPC messages.
    package var violations: [String] { state.withLock { $0.violations } }
    /// Bytes read from stdout so far.
    package var stdoutBytes: Int { state.withLock { $0.stdoutBytes } }
    /// Whether stdout reached end of file.
    package var stdoutClosed: Bool { state.withLock { $0.closed } }
    /// The worker's stderr so far.
    package var stderrText: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
    /// The worker's memory now.
    package var memory: MemoryFigures? { memoryFigures(pid: pid) }

    /// Closes stdin.
    package func closeInput() {
        writeLock.lock()
        defer { writeLock.unlock() }
        try? stdinPipe.fileHandleForWriting.close()
    }

    /// Waits for the process to exit; returns its status.
    package func waitForExit(timeout: Duration = .seconds(5)) async throws -> Int32 {
        try await process.waitForExit(timeout: timeout)
    }
}

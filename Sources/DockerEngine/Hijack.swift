import CCurl
import FoundationEssentials
import Glibc
import Synchronization

/// A connection the engine hijacks (`POST /exec/{id}/start` with `Connection: Upgrade`, `Upgrade: tcp`):
/// after the response head, raw bytes flow both ways, so a process's stdin can be written.
///
/// libcurl only connects (CURLOPT_CONNECT_ONLY: unix socket, TCP or TLS, without blocking, on the
/// loop's multi handle); the curl loop thread then polls the socket together with its transfers and
/// moves bytes with `curl_easy_send` / `curl_easy_recv`, so an exec with stdin costs a socket, not a
/// thread. Closing the write side is `shutdown(SHUT_WR)` on a plain socket and TLS close_notify on a
/// TLS one (the engine reads end of input, and its output keeps coming).
final class Hijack: @unchecked Sendable {
    private struct State {
        var outgoing: [UInt8] = []
        var closeWriteRequested = false
        var pending: [UInt8] = []
        var bodyWaiter: CheckedContinuation<[UInt8]?, any Error>?
        var head: ResponseHead?
        var headWaiter: CheckedContinuation<ResponseHead, any Error>?
        var completion: Result<Void, EngineError>?
        var cancelled = false
    }

    let easy: UnsafeMutableRawPointer
    private let loop: CurlLoop
    private let highWater: Int
    private let state = Mutex(State())
    private let errorBuffer = CurlErrorBuffer()
    private var isTLS = false
    private var hostDescription = ""

    // Touched only by the loop thread.
    private(set) var socket: Int32 = -1
    private var connected = false
    private var sending: [UInt8] = []
    private var sendOffset = 0
    private var writeClosed = false
    private var headBytes: [UInt8] = []
    private var headDone = false
    /// For an error answer: the body bytes still to come (Content-Length), after which it is complete.
    private var bodyRemaining: Int?

    init(loop: CurlLoop, easy: UnsafeMutableRawPointer, highWater: Int) {
        self.loop = loop
        self.easy = easy
        self.highWater = highWater
    }

    deinit { curl_easy_cleanup(easy) }

    /// Connect-only options for `host`; `head` (request line, headers and body) is sent once connected.
    /// `socketPath` is where an `ssh://` engine's forwarder listens.
    func configure(host: EngineHost, head: [UInt8], connectTimeout: Duration, socketPath: String? = nil) throws(EngineError) {
        hostDescription = host.description
        isTLS = host.tls != nil
        try checked(olw_easy_setopt_string(easy, CURLOPT_URL, host.baseURL + "/"), "URL")
        try checked(olw_easy_setopt_long(easy, CURLOPT_CONNECT_ONLY, 1), "CONNECT_ONLY")
        try setConnectionOptions(easy, errorBuffer: errorBuffer, host: host, socketPath: socketPath, connectTimeout: connectTimeout)
        state.withLock { $0.outgoing = head }
    }

    // MARK: Consumer side

    /// Queues bytes for the process's stdin.
    func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let wake = state.withLock { state -> Bool in
            guard state.completion == nil, !state.closeWriteRequested else { return false }
            state.outgoing.append(contentsOf: bytes)
            return true
        }
        if wake { loop.wake() }
    }

    /// Closes stdin once the queued bytes are sent.
    func closeWrite() {
        let wake = state.withLock { state -> Bool in
            guard !state.closeWriteRequested else { return false }
            state.closeWriteRequested = true
            return true
        }
        if wake { loop.wake() }
    }

    /// The response head (status 101 when the engine hijacked the connection).
    func head() async throws -> ResponseHead {
        try await suspend(onCancel: cancel) { continuation in
            state.withLock { state in
                if let head = state.head { return .success(head) }
                if case .failure(let error) = state.completion { return .failure(error) }
                if case .success = state.completion {
                    return .failure(EngineError(code: .invalidResponse, reason: "The engine closed the connection without an answer."))
                }
                state.headWaiter = continuation
                return nil
            }
        }
    }

    /// The next chunk of output, or nil at the end.
    func nextChunk() async throws -> [UInt8]? {
        try await suspend(onCancel: cancel) { continuation in
            let ready = state.withLock { state -> Result<[UInt8]?, EngineError>? in
                if !state.pending.isEmpty {
                    defer { state.pending = [] }
                    return .success(state.pending)
                }
                switch state.completion {
                case .success: return .success(nil)
                case .failure(let error): return .failure(error)
                case nil:
                    state.bodyWaiter = continuation
                    return nil
                }
            }
            if ready != nil { loop.wake() }  // reading may have stopped at the high-water mark
            return ready
        }
    }

    /// Closes the connection; waiters fail with ``EngineError/Code/cancelled``.
    func cancel() {
        let send = state.withLock { state -> Bool in
            guard !state.cancelled, state.completion == nil else { return false }
            state.cancelled = true
            return true
        }
        if send { loop.removeHijack(self) }
    }

    // MARK: Loop thread side

    var isComplete: Bool { state.withLock { $0.completion != nil } }

    /// libcurl finished connecting (or failed to).
    func connectFinished(_ result: CURLcode) {
        guard result == CURLE_OK else {
            var error =
                EngineError.curl(result, detail: errorBuffer.text)
                ?? EngineError(code: .transport, reason: "libcurl could not connect.")
            var osErrno = 0
            olw_easy_getinfo_long(easy, CURLINFO_OS_ERRNO, &osErrno)
            if error.code == .unreachable, osErrno != 0 {
                error.reason = "cannot connect to \(hostDescription): \(String(cString: strerror(Int32(osErrno))).lowercased())"
            }
            complete(.failure(error))
            return
        }
        var fd: curl_socket_t = -1
        olw_easy_getinfo_socket(easy, CURLINFO_ACTIVESOCKET, &fd)
        socket = fd
        connected = true
    }

    /// Moves what can move now; returns the poll events wanted on the socket (0: none).
    func service() -> Int16 {
        guard connected, !isComplete else { return 0 }
        var events: Int16 = 0
        // Send: the request head first, then stdin.
        while true {
            if sendOffset >= sending.count {
                let (next, closeWrite) = state.withLock { state -> ([UInt8], Bool) in
                    defer { state.outgoing = [] }
                    return (state.outgoing, state.closeWriteRequested)
                }
                sending = next
                sendOffset = 0
                if sending.isEmpty {
                    if closeWrite && !writeClosed && headDone { closeWriteSide() }
                    break
                }
            }
            var sent = 0
            let result = sending.withUnsafeBytes { bytes in
                // Never nil: `sending` is not empty here (a send error if it were).
                bytes.baseAddress.map { curl_easy_send(easy, $0 + sendOffset, bytes.count - sendOffset, &sent) } ?? CURLE_SEND_ERROR
            }
            if result == CURLE_AGAIN {
                events |= Int16(CURL_WAIT_POLLOUT)
                break
            }
            guard result == CURLE_OK else {
                complete(
                    .failure(
                        EngineError(
                            code: .transport, reason: "Writing to the engine failed: \(String(cString: curl_easy_strerror(result))).")))
                return 0
            }
            sendOffset += sent
        }
        // Receive, up to the high-water mark of unread bytes.
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while state.withLock({ $0.pending.count < highWater }) {
            var received = 0
            let result = buffer.withUnsafeMutableBytes { curl_easy_recv(easy, $0.baseAddress, $0.count, &received) }
            if result == CURLE_AGAIN {
                events |= Int16(CURL_WAIT_POLLIN)
                break
            }
            guard result == CURLE_OK else {
                complete(
                    .failure(
                        EngineError(
                            code: .transport, reason: "Reading from the engine failed: \(String(cString: curl_easy_strerror(result))).")))
                return 0
            }
            if received == 0 {
                complete(
                    headDone
                        ? .success(())
                        : .failure(EngineError(code: .invalidResponse, reason: "The engine closed the connection without an answer.")))
                return 0
            }
            accept(buffer[0..<received])
            if isComplete { return 0 }
        }
        return events
    }

    private func closeWriteSide() {
        writeClosed = true
        if isTLS {
            _ = olw_tls_close_notify(easy)
        } else {
            Glibc.shutdown(socket, Int32(SHUT_WR))
        }
    }

    private func accept(_ bytes: ArraySlice<UInt8>) {
        var body = bytes
        if !headDone {
            headBytes.append(contentsOf: bytes)
            guard let end = headBytes.firstRange(of: [13, 10, 13, 10]) else {
                if headBytes.count > 64 << 10 {
                    complete(.failure(EngineError(code: .invalidResponse, reason: "The engine's answer head is too long.")))
                }
                return
            }
            let head = Self.parseHead(headBytes[..<end.lowerBound])
            body = headBytes[end.upperBound...]
            headBytes = []
            headDone = true
            if head.status >= 400 { bodyRemaining = head.header("content-length").flatMap { Int($0) } }
            let waiter = state.withLock { state in
                state.head = head
                defer { state.headWaiter = nil }
                return state.headWaiter
            }
            waiter?.resume(returning: head)
        }
        if var remaining = bodyRemaining {
            body = body.prefix(remaining)
            remaining -= body.count
            bodyRemaining = remaining
            deliver(body)
            if remaining == 0 { complete(.success(())) }
            return
        }
        deliver(body)
    }

    private func deliver(_ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty else { return }
        let waiter = state.withLock { state -> CheckedContinuation<[UInt8]?, any Error>? in
            if let waiter = state.bodyWaiter {
                state.bodyWaiter = nil
                return waiter
            }
            state.pending.append(contentsOf: bytes)
            return nil
        }
        waiter?.resume(returning: Array(bytes))
    }

    static func parseHead(_ bytes: ArraySlice<UInt8>) -> ResponseHead {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let parts = lines.first?.split(separator: " ") ?? []
        let status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingLeadingSpaces()))
        }
        return ResponseHead(status: status, headers: headers)
    }

    /// The connection ended (normally, in error, or cancelled).
    func complete(_ result: Result<Void, EngineError>) {
        var headWaiter: CheckedContinuation<ResponseHead, any Error>?
        var bodyWaiter: CheckedContinuation<[UInt8]?, any Error>?
        state.withLock { state in
            guard state.completion == nil else { return }
            state.completion = result
            headWaiter = state.headWaiter
            bodyWaiter = state.bodyWaiter
            state.headWaiter = nil
            state.bodyWaiter = nil
        }
        switch result {
        case .success:
            headWaiter?.resume(
                throwing: EngineError(code: .invalidResponse, reason: "The engine closed the connection without an answer."))
            bodyWaiter?.resume(returning: nil)
        case .failure(let error):
            headWaiter?.resume(throwing: error)
            bodyWaiter?.resume(throwing: error)
        }
    }
}

/// A hijacked exec stream: its output as an `AsyncSequence` of chunks (multiplexed frames without a
/// TTY, raw bytes with one), and its input. Dropping it closes the connection.
public struct HijackedStream: AsyncSequence, Sendable {
    /// One chunk of output: multiplexed frames without a TTY, raw bytes with one.
    public typealias Element = [UInt8]

    final class Owner: Sendable {
        let hijack: Hijack
        init(_ hijack: Hijack) { self.hijack = hijack }
        deinit { hijack.cancel() }
    }

    /// The status (101) and headers.
    public let head: ResponseHead
    let owner: Owner

    /// Queues bytes for the process's stdin (unbounded: the host paces its writes).
    public func write(_ bytes: [UInt8]) { owner.hijack.write(bytes) }
    /// Closes the process's stdin after the queued bytes.
    public func closeWrite() { owner.hijack.closeWrite() }
    /// Closes the connection now.
    public func cancel() { owner.hijack.cancel() }

    /// An iterator over the output chunks.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let owner: Owner
        /// The next chunk; nil when the connection ends.
        /// - Throws: ``EngineError`` when the connection fails; `CancellationError` when it was cancelled.
        public mutating func next() async throws -> [UInt8]? {
            do {
                return try await owner.hijack.nextChunk()
            } catch let error as EngineError where error.code == .cancelled {
                throw CancellationError()
            }
        }
    }

    /// An iterator over the output chunks.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: owner) }
}

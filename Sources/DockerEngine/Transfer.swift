import CCurl
import FoundationEssentials
import Glibc
import Synchronization

/// One HTTP exchange on a libcurl easy handle: the state shared between the I/O thread, which
/// feeds it from libcurl's callbacks, and the task that awaits its head and body.
///
/// In collecting mode the body is gathered and handed over whole on completion; in streaming
/// mode bytes are handed over as they come (coalesced while the reader is busy), and the transfer
/// pauses libcurl (not the thread) once `highWater` bytes wait unread, resuming when the reader takes them.
final class Transfer: @unchecked Sendable {
    enum Mode {
        case collect
        case stream
    }

    /// What collecting mode keeps: the body, whole, until the transfer completes.
    private struct Collecting {
        var body: [UInt8] = []
        var waiter: CheckedContinuation<HTTPResponse, any Error>?
        /// The finished response when it completed before anyone awaited it.
        var response: HTTPResponse?
    }

    /// What streaming mode keeps: bytes between libcurl and the reader.
    private struct Streaming {
        /// Body bytes not yet taken by the reader, coalesced: a reader that falls behind takes them in one piece.
        var pending: [UInt8] = []
        /// The size of the reader's last take: `pending` starts with that much room, so a stream
        /// whose reader falls behind does not regrow it (and copy it) from 16 bytes up on every take.
        var lastTake = 0
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        /// libcurl was told to pause receiving (`highWater` bytes wait unread).
        var paused = false
    }

    /// A request body written while the request runs (``streamsBody``).
    private struct Upload {
        /// Bytes written and not yet sent (from `offset` on).
        var outgoing: [UInt8] = []
        var offset = 0
        var finished = false
        /// libcurl was told to pause sending (nothing to send yet).
        var paused = false
        var spaceWaiter: CheckedContinuation<Void, any Error>?
    }

    private struct State {
        var headers: [(name: String, value: String)] = []
        var head: ResponseHead?
        var headWaiter: CheckedContinuation<ResponseHead, any Error>?
        var completion: Result<Void, EngineError>?
        var cancelled = false
        /// Used in ``Mode/collect``.
        var collect = Collecting()
        /// Used in ``Mode/stream``.
        var stream = Streaming()
        /// Used when the request body is streamed.
        var upload = Upload()
    }

    let easy: UnsafeMutableRawPointer
    let mode: Mode
    private let highWater: Int
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var bodyStorage: UnsafeMutableRawBufferPointer?
    /// libcurl's own words about a failure (CURLOPT_ERRORBUFFER).
    private let errorBuffer = CurlErrorBuffer()
    private let state = Mutex(State())
    /// The loop that runs this transfer; it takes resume and cancel commands.
    private let loop: CurlLoop
    /// When the response head must have arrived by (set before the transfer starts).
    var headDeadline: ContinuousClock.Instant?
    /// The bound that set ``headDeadline``, for the error message.
    var headTimeout: Duration = .zero
    var headTimeoutText: String { "\(headTimeout.milliseconds) ms" }
    /// The longest a stream may go without a byte while its reader keeps up (nil: no bound).
    var stallLimit: Duration?
    /// The last time bytes arrived or the transfer was resumed. Touched only by the loop thread.
    var lastActivity = ContinuousClock.now
    /// "METHOD /target", for error messages.
    private(set) var requestLine = ""

    /// Whether the request body is written while the request runs (``write(_:)``, ``finishBody()``).
    var streamsBody = false

    init(loop: CurlLoop, easy: UnsafeMutableRawPointer, mode: Mode, highWater: Int = 1 << 20) {
        self.loop = loop
        self.easy = easy
        self.mode = mode
        self.highWater = highWater
    }

    deinit {
        curl_easy_cleanup(easy)
        if let headerList { curl_slist_free_all(headerList) }
        bodyStorage?.deallocate()
    }

    /// A stream allowed this many unread bytes (exec output, logs, archives, pulls) is bulk data:
    /// libcurl reads it ``bulkReceiveBuffer`` bytes at a time, not 16 KiB. Smaller, long-lived
    /// streams (stats) keep libcurl's default buffer, which each transfer holds while it runs.
    static let bulkStreamHighWater = 1 << 20
    /// libcurl's receive buffer for a bulk stream (`CURLOPT_BUFFERSIZE`), in bytes.
    static let bulkReceiveBuffer = 256 << 10

    /// Sets the options of `request` on the easy handle. Called once, before the handle is added.
    /// `socketPath` is where an `ssh://` engine's forwarder listens.
    func configure(
        _ request: HTTPRequest, url: String, host: EngineHost, socketPath: String? = nil, connectTimeout: Duration
    ) throws(EngineError) {
        let userdata = Unmanaged.passUnretained(self).toOpaque()
        hostDescription = host.description
        requestLine = "\(request.method.rawValue) \(request.target)"
        try checked(olw_easy_setopt_string(easy, CURLOPT_URL, url), "URL")
        try setConnectionOptions(easy, errorBuffer: errorBuffer, host: host, socketPath: socketPath, connectTimeout: connectTimeout)
        try checked(olw_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)), "HTTP/1.1")
        if let timeout = request.timeout {
            try checked(olw_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, timeout.milliseconds), "timeout")
        }
        try checked(olw_easy_setopt_callback(easy, CURLOPT_WRITEFUNCTION, transferWriteCallback), "write callback")
        try checked(olw_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, userdata), "write data")
        try checked(olw_easy_setopt_callback(easy, CURLOPT_HEADERFUNCTION, transferHeaderCallback), "header callback")
        if mode == .stream, highWater >= Self.bulkStreamHighWater {
            try checked(olw_easy_setopt_long(easy, CURLOPT_BUFFERSIZE, Self.bulkReceiveBuffer), "receive buffer")
        }
        try checked(olw_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, userdata), "header data")
        switch request.method {
        case .get: break
        case .head: try checked(olw_easy_setopt_long(easy, CURLOPT_NOBODY, 1), "HEAD")
        case .post where streamsBody, .put where streamsBody:
            // The body comes through the read callback as it is written, in chunks.
            try checked(olw_easy_setopt_long(easy, CURLOPT_UPLOAD, 1), "upload")
            try checked(olw_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method.rawValue), "method")
            try checked(olw_easy_setopt_callback(easy, CURLOPT_READFUNCTION, transferReadCallback), "read callback")
            try checked(olw_easy_setopt_pointer(easy, CURLOPT_READDATA, userdata), "read data")
        case .post, .put, .delete:
            if request.method != .post {
                try checked(olw_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method.rawValue), "method")
            }
            if request.body != nil || request.method == .post {
                let body = request.body ?? []
                let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(body.count, 1), alignment: 1)
                body.withUnsafeBytes { source in storage.copyMemory(from: source) }
                bodyStorage = storage
                try checked(olw_easy_setopt_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "body size")
                try checked(olw_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, storage.baseAddress), "body")
            }
        }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        var headers = request.headers
        headers.append(("Expect", ""))  // no 100-continue round trip
        if streamsBody { headers.append(("Transfer-Encoding", "chunked")) }
        if request.body != nil, !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
            headers.append(("Content-Type", "application/json"))
        }
        for header in headers {
            let line = header.value.isEmpty ? "\(header.name):" : "\(header.name): \(header.value)"
            guard let appended = curl_slist_append(list, line) else {
                if let list { curl_slist_free_all(list) }
                throw EngineError(code: .transport, reason: "libcurl could not allocate a header list.")
            }
            list = appended
        }
        headerList = list
        try checked(olw_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list), "headers")
    }

    // MARK: I/O thread side

    /// What libcurl said about a failure, if anything (read on the I/O thread after completion).
    var errorDetail: String { errorBuffer.text }

    /// The engine address, for error messages.
    private(set) var hostDescription = ""

    /// The failure of a finished transfer as an ``EngineError``, naming the engine and the OS error.
    func failure(_ result: CURLcode) -> EngineError? {
        guard var error = EngineError.curl(result, detail: errorDetail) else { return nil }
        var osErrno = 0
        olw_easy_getinfo_long(easy, CURLINFO_OS_ERRNO, &osErrno)
        if error.code == .unreachable || error.code == .transport,
            osErrno == Int(EMFILE) || osErrno == Int(ENFILE) || errorDetail.contains("Too many open files")
                || EngineError.descriptorsExhausted()
        {
            // The worker ran out of descriptors: the engine is not the one at fault.
            return EngineError(
                code: .transport,
                reason: "too many open files: the worker has no descriptor left for a connection to \(hostDescription)",
                curlCode: error.curlCode)
        }
        if error.code == .unreachable, osErrno != 0 {
            error.reason = "cannot connect to \(hostDescription): \(String(cString: strerror(Int32(osErrno))).lowercased())"
        }
        return error
    }

    /// One header line from libcurl (including the status line and the blank line that ends the block),
    /// read as bytes: only a header's name (ASCII-lowercased) and value become Strings. A line with a
    /// byte at or above 0x80 takes ``receiveHeader(decoding:)``, which reads it as Unicode text.
    func receiveHeader(_ bytes: UnsafeRawBufferPointer) {
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var colon: Int?
        for index in 0..<end {
            let byte = bytes[index]
            if byte >= 0x80 { return receiveHeader(decoding: bytes) }
            if byte == UInt8(ascii: ":"), colon == nil { colon = index }
        }
        if end == 0 { return receiveHeadEnd() }
        if end >= 5, bytes[0] == UInt8(ascii: "H"), bytes[1] == UInt8(ascii: "T"), bytes[2] == UInt8(ascii: "T"),
            bytes[3] == UInt8(ascii: "P"), bytes[4] == UInt8(ascii: "/")
        {
            state.withLock { $0.headers = [] }
            return
        }
        guard let colon else { return }
        var start = colon + 1
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        let name = String(unsafeUninitializedCapacity: colon) { target in
            for index in 0..<colon {
                let byte = bytes[index]
                target[index] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
            return colon
        }
        let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        state.withLock { $0.headers.append((name, value)) }
    }

    /// A header line that is not ASCII, read as Unicode text (names lowercased by Unicode rules).
    private func receiveHeader(decoding bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self).trimmingTrailingNewline()
        if line.hasPrefix("HTTP/") {
            state.withLock { $0.headers = [] }
            return
        }
        if line.isEmpty { return receiveHeadEnd() }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].lowercased()
        let value = line[line.index(after: colon)...].trimmingLeadingSpaces()
        state.withLock { $0.headers.append((name, value)) }
    }

    /// The blank line that ends a header block: the head is complete, unless it was an interim (1xx) one.
    private func receiveHeadEnd() {
        lastActivity = .now
        var status = 0
        olw_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        if status >= 100 && status < 200 { return }
        let waiter = state.withLock { state -> CheckedContinuation<ResponseHead, any Error>? in
            let head = ResponseHead(status: status, headers: state.headers)
            state.head = head
            defer { state.headWaiter = nil }
            return state.headWaiter
        }
        if let waiter, let head = state.withLock({ $0.head }) { waiter.resume(returning: head) }
    }

    /// Body bytes from libcurl. Returns the count consumed, or the pause marker.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        lastActivity = .now
        if mode == .collect {
            state.withLock { $0.collect.body.append(contentsOf: bytes) }
            return bytes.count
        }
        enum Action {
            case consumed
            case deliver(CheckedContinuation<[UInt8]?, any Error>, [UInt8])
            case pause
        }
        let action = state.withLock { state -> Action in
            if let waiter = state.stream.waiter {
                state.stream.waiter = nil
                return .deliver(waiter, Array(bytes))
            }
            if state.stream.pending.count >= highWater {
                state.stream.paused = true
                return .pause
            }
            if state.stream.pending.isEmpty { state.stream.pending.reserveCapacity(max(state.stream.lastTake, bytes.count)) }
            state.stream.pending.append(contentsOf: bytes)
            return .consumed
        }
        switch action {
        case .consumed: return bytes.count
        case .deliver(let waiter, let chunk):
            waiter.resume(returning: chunk)
            return bytes.count
        case .pause: return Int(olw_curl_writefunc_pause)
        }
    }

    /// Room for request body bytes from libcurl (streamed body). Returns the count copied, 0 at
    /// the end of the body, or the pause marker when nothing is waiting to be sent yet.
    func sendBody(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        lastActivity = .now
        enum Action {
            case copied(Int, CheckedContinuation<Void, any Error>?)
            case end
            case pause
        }
        let action = state.withLock { state -> Action in
            let available = state.upload.outgoing.count - state.upload.offset
            guard available > 0 else {
                if state.upload.finished { return .end }
                state.upload.paused = true
                return .pause
            }
            let count = min(available, buffer.count)
            let offset = state.upload.offset
            state.upload.outgoing.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: source[offset..<offset + count]))
            }
            state.upload.offset += count
            if state.upload.offset == state.upload.outgoing.count {
                state.upload.outgoing.removeAll(keepingCapacity: true)
                state.upload.offset = 0
            }
            var waiter: CheckedContinuation<Void, any Error>?
            if state.upload.outgoing.count - state.upload.offset < highWater {
                waiter = state.upload.spaceWaiter
                state.upload.spaceWaiter = nil
            }
            return .copied(count, waiter)
        }
        switch action {
        case .copied(let count, let waiter):
            waiter?.resume()
            return count
        case .end: return 0
        case .pause: return Int(olw_curl_readfunc_pause)
        }
    }

    /// The transfer ended (normally, in error, or removed by cancellation).
    func complete(_ result: Result<Void, EngineError>) {
        var headWaiter: CheckedContinuation<ResponseHead, any Error>?
        var bodyWaiter: CheckedContinuation<[UInt8]?, any Error>?
        var completionWaiter: CheckedContinuation<HTTPResponse, any Error>?
        var response: HTTPResponse?
        var spaceWaiter: CheckedContinuation<Void, any Error>?
        state.withLock { state in
            guard state.completion == nil else { return }
            state.completion = result
            spaceWaiter = state.upload.spaceWaiter
            state.upload.spaceWaiter = nil
            headWaiter = state.headWaiter
            bodyWaiter = state.stream.waiter
            completionWaiter = state.collect.waiter
            state.headWaiter = nil
            state.stream.waiter = nil
            state.collect.waiter = nil
            if case .success = result {
                var status = 0
                olw_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
                let head = state.head ?? ResponseHead(status: status, headers: state.headers)
                state.head = head
                response = HTTPResponse(head: head, body: state.collect.body)
                state.collect.body = []
                if completionWaiter == nil { state.collect.response = response }
            }
        }
        switch result {
        case .success:
            spaceWaiter?.resume(
                throwing: EngineError(code: .invalidResponse, reason: "The engine answered \(requestLine) before its body was sent."))
        case .failure(let error): spaceWaiter?.resume(throwing: error)
        }
        switch result {
        case .success:
            if let head = response?.head { headWaiter?.resume(returning: head) }
            bodyWaiter?.resume(returning: nil)
            if let response { completionWaiter?.resume(returning: response) }
        case .failure(let error):
            headWaiter?.resume(throwing: error)
            bodyWaiter?.resume(throwing: error)
            completionWaiter?.resume(throwing: error)
        }
    }

    // MARK: Consumer side

    /// Waits for the whole response (collecting mode).
    func response() async throws -> HTTPResponse {
        try await suspend(onCancel: cancel) { continuation in
            state.withLock { state in
                switch state.completion {
                case .success:
                    defer { state.collect.response = nil }
                    return .success(state.collect.response ?? HTTPResponse(head: ResponseHead(status: 0, headers: []), body: []))
                case .failure(let error): return .failure(error)
                case nil:
                    state.collect.waiter = continuation
                    return nil
                }
            }
        }
    }

    /// Waits for the status line and headers (streaming mode).
    func head() async throws -> ResponseHead {
        try await suspend(onCancel: cancel) { continuation in
            state.withLock { state in
                if let head = state.head { return .success(head) }
                if case .failure(let error) = state.completion { return .failure(error) }
                state.headWaiter = continuation
                return nil
            }
        }
    }

    /// The next body chunk, or nil at the end (streaming mode).
    func nextChunk() async throws -> [UInt8]? {
        try await suspend(onCancel: cancel) { continuation in
            // A paused transfer (its reader fell behind) is resumed once the lock is released.
            let (ready, unpause) = state.withLock { state -> (Result<[UInt8]?, EngineError>?, Bool) in
                if !state.stream.pending.isEmpty {
                    let chunk = state.stream.pending
                    state.stream.pending = []
                    state.stream.lastTake = chunk.count
                    defer { state.stream.paused = false }
                    return (.success(chunk), state.stream.paused)
                }
                switch state.completion {
                case .success: return (.success(nil), false)
                case .failure(let error): return (.failure(error), false)
                case nil:
                    defer { state.stream.paused = false }
                    state.stream.waiter = continuation
                    return (nil, state.stream.paused)
                }
            }
            if unpause { loop.resume(self) }
            return ready
        }
    }

    /// Queues request body bytes (streamed body), first waiting while more than the high-water
    /// mark of them wait unsent, so a writer faster than the engine is slowed down.
    /// - Throws: ``EngineError`` when the transfer ended (failed, cancelled, or answered early).
    func write(_ bytes: some Collection<UInt8>) async throws {
        try await suspend(onCancel: cancel) { (continuation: CheckedContinuation<Void, any Error>) in
            state.withLock { state -> Result<Void, EngineError>? in
                switch state.completion {
                case .failure(let error): return .failure(error)
                case .success:
                    return .failure(
                        EngineError(code: .invalidResponse, reason: "The engine answered \(requestLine) before its body was sent."))
                case nil: break
                }
                if state.upload.outgoing.count - state.upload.offset < highWater { return .success(()) }
                state.upload.spaceWaiter = continuation
                return nil
            }
        }
        let unpause = state.withLock { state -> Bool in
            state.upload.outgoing.append(contentsOf: bytes)
            defer { state.upload.paused = false }
            return state.upload.paused
        }
        if unpause { loop.resume(self) }
    }

    /// Ends the streamed request body: libcurl sends its last chunk once the queued bytes are out.
    func finishBody() {
        let unpause = state.withLock { state -> Bool in
            state.upload.finished = true
            defer { state.upload.paused = false }
            return state.upload.paused
        }
        if unpause { loop.resume(self) }
    }

    /// Whether the response head has arrived, and whether the transfer waits for its reader (loop thread).
    var progress: (headArrived: Bool, paused: Bool) {
        state.withLock { ($0.head != nil, $0.stream.paused) }
    }

    /// Stops the transfer; its waiters fail with ``EngineError/Code/cancelled``.
    func cancel() {
        let shouldSend = state.withLock { state -> Bool in
            guard !state.cancelled, state.completion == nil else { return false }
            state.cancelled = true
            return true
        }
        if shouldSend { loop.remove(self) }
    }
}

// C callbacks: no captures; the transfer rides in `userdata`.
private let transferWriteCallback: olw_curl_data_callback = { buffer, size, count, userdata in
    guard let userdata, let buffer else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.receiveBody(UnsafeRawBufferPointer(start: buffer, count: size * count))
}

private let transferReadCallback: olw_curl_data_callback = { buffer, size, count, userdata in
    guard let userdata, let buffer else { return Int(olw_curl_readfunc_abort) }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.sendBody(UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

private let transferHeaderCallback: olw_curl_data_callback = { buffer, size, count, userdata in
    guard let userdata, let buffer else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.receiveHeader(UnsafeRawBufferPointer(start: buffer, count: size * count))
    return size * count
}

extension Duration {
    /// Whole milliseconds, for libcurl's `_MS` options.
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}

extension String {
    func trimmingTrailingNewline() -> String {
        var result = Substring(self)
        while let last = result.last, last == "\r\n" || last == "\n" || last == "\r" { result = result.dropLast() }
        return String(result)
    }
}

extension Substring {
    func trimmingLeadingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" })
    }
}

import CCurl
import FoundationEssentials
import JSONCoding
import Logging
import Synchronization

/// A client for the Docker Engine API over libcurl: negotiates the API version once, prefixes
/// every path with it, and turns HTTP errors into ``EngineError``s carrying the engine's message.
public final class EngineClient: Sendable {
    /// The newest API version this client was written against (the bundled specification).
    public static let newestKnownAPIVersion = APIVersion(major: 1, minor: 56)

    /// Where the engine is.
    public let host: EngineHost
    /// Default timeout of non-streaming requests, and how long a stream's response head may take.
    public let requestTimeout: Duration
    /// How long a bounded stream may go without a byte while its reader keeps up.
    public let streamStall: Duration
    private let loop: CurlLoop
    private let pinnedVersion: APIVersion?
    private let negotiated = Mutex<APIVersion?>(nil)
    private let logger: Logger
    /// For an `ssh://` engine: the local socket whose connections `ssh` carries.
    private let forwarder: SSHForwarder?

    /// A client for `host`. With `apiVersion` set, no negotiation happens. An `ssh://` host
    /// starts its forwarder here (no connection is made until the first request).
    /// - Throws: ``EngineError`` when libcurl or the ssh forwarder cannot start.
    public init(
        host: EngineHost, apiVersion: APIVersion? = nil, requestTimeout: Duration = .seconds(60),
        streamStall: Duration = .seconds(30), logger: Logger
    ) throws(EngineError) {
        self.host = host
        self.pinnedVersion = apiVersion
        self.requestTimeout = requestTimeout
        self.streamStall = streamStall
        self.logger = logger
        self.loop = try CurlLoop(logger: logger)
        if case .ssh = host.transport {
            self.forwarder = try SSHForwarder(host: host)
        } else {
            self.forwarder = nil
        }
    }

    // MARK: Version

    /// The API version in use, negotiating it on first use (`GET /_ping`, header `Api-Version`).
    public func apiVersion() async throws -> APIVersion {
        if let pinnedVersion { return pinnedVersion }
        if let known = negotiated.withLock({ $0 }) { return known }
        let head = try await ping().head
        let engineVersion = head.header("api-version").flatMap(APIVersion.init(parsing:)) ?? APIVersion(major: 1, minor: 24)
        let chosen = min(engineVersion, Self.newestKnownAPIVersion)
        negotiated.withLock { $0 = chosen }
        logger.debug("negotiated API version", metadata: ["version": "\(chosen)"])
        return chosen
    }

    /// `GET /_ping`, unversioned; throws when the engine cannot be reached or is unhealthy.
    public func ping(timeout: Duration? = nil) async throws -> HTTPResponse {
        let response = try await perform(HTTPRequest(.get, "/_ping", timeout: timeout ?? requestTimeout), versioned: false)
        if let version = response.head.header("api-version").flatMap(APIVersion.init(parsing:)), pinnedVersion == nil {
            negotiated.withLock { $0 = min(version, Self.newestKnownAPIVersion) }
        }
        return response
    }

    // MARK: Requests

    /// Sends a request and reads the whole response; HTTP errors (status ≥ 400) are thrown.
    @discardableResult
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await perform(request, versioned: true)
    }

    /// Sends a request and returns the engine's answer whatever its HTTP status, for the few
    /// answers whose error carries headers worth reading (Podman's archive path stat of a dangling
    /// link comes with a 404). Use ``httpError(head:body:request:)`` to throw one.
    /// - Throws: ``EngineError`` only when no answer came (unreachable, timed out).
    public func sendAnyStatus(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await collect(request, versioned: true)
    }

    /// Sends a request and decodes the JSON response as `type`.
    public func send<T: Decodable>(_ request: HTTPRequest, as type: T.Type) async throws -> T {
        let response = try await send(request)
        do {
            return try JSONBytesDecoder().decode(type, from: response.body)
        } catch {
            throw EngineError(
                code: .invalidResponse,
                reason: "The engine's answer to \(request.method.rawValue) \(request.target) could not be read: \(error).",
                status: response.head.status)
        }
    }

    /// How a stream's body is bounded once its head has arrived.
    public enum StreamBound: Sendable {
        /// No bytes for ``EngineClient/streamStall`` while the reader keeps up ends it (the default).
        case stall
        /// Unbounded: a follow, a subscription, or a process's own output that may rightly be quiet.
        case none
    }

    /// Sends a request whose body streams; the returned stream yields chunks as they arrive.
    /// HTTP errors are thrown before any chunk. The response head must arrive within
    /// ``requestTimeout``; the body is bounded by `bound`.
    /// - Throws: ``EngineError`` with code `timedOut` when the head is late or the stream stalls
    ///   (the message names the request), `http` for a status ≥ 400.
    public func stream(_ request: HTTPRequest, highWater: Int = 1 << 20, bound: StreamBound = .stall) async throws -> ResponseStream {
        var request = request
        request.timeout = nil
        let transfer = try await start(request, versioned: true, mode: .stream, highWater: highWater) { transfer in
            transfer.headTimeout = self.requestTimeout
            transfer.headDeadline = .now + self.requestTimeout
            if case .stall = bound { transfer.stallLimit = self.streamStall }
        }
        let owner = ResponseStream.Owner(transfer)
        let head: ResponseHead
        do {
            head = try await transfer.head()
        } catch let error as EngineError {
            throw forwarder?.explain(error) ?? error
        }
        if head.status >= 400 {
            throw Self.httpError(head: head, body: try await Self.errorBody(transfer.nextChunk), request: request)
        }
        return ResponseStream(head: head, owner: owner)
    }

    /// Starts a request whose body is written while it runs (chunked transfer encoding): the
    /// returned stream takes the body and then gives the answer. libcurl pauses sending while no
    /// bytes wait, and ``UploadStream/write(_:)`` waits while `highWater` bytes wait unsent, so
    /// memory stays bounded whatever the body's size. No deadline: the writer sets the pace.
    /// - Throws: ``EngineError`` when libcurl cannot start the request.
    public func upload(_ request: HTTPRequest, highWater: Int = 1 << 20) async throws -> UploadStream {
        var request = request
        request.timeout = nil
        request.body = nil
        let transfer = try await start(request, versioned: true, mode: .collect, highWater: highWater, streamingBody: true)
        return UploadStream(owner: ResponseStream.Owner(transfer), request: request)
    }

    /// An error answer's body, read up to a MiB (what follows is not needed to say what went wrong).
    private static func errorBody(_ next: () async throws -> [UInt8]?) async throws -> [UInt8] {
        var body: [UInt8] = []
        while body.count <= 1 << 20, let chunk = try await next() { body.append(contentsOf: chunk) }
        return body
    }

    /// Sends a request the engine answers by hijacking the connection (`Connection: Upgrade`,
    /// `Upgrade: tcp`; e.g. `POST /exec/{id}/start` of an exec with stdin): the returned stream yields
    /// the output and takes the input. HTTP errors are thrown.
    /// - Throws: ``EngineError`` (`.http` with the engine's message for a status ≥ 400).
    public func hijack(_ request: HTTPRequest, highWater: Int = 1 << 20) async throws -> HijackedStream {
        try Task.checkCancellation()
        let target = "/v\(try await apiVersion())" + request.target
        let body = request.body ?? []
        var head = "\(request.method.rawValue) \(target) HTTP/1.1\r\nHost: \(host.authority)\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        head += "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        let hijack = try loop.makeHijack(highWater: highWater)
        try hijack.configure(
            host: host, head: Array(head.utf8) + body, connectTimeout: .seconds(5), socketPath: forwarder?.socketPath)
        let owner = HijackedStream.Owner(hijack)
        loop.startHijack(hijack)
        let responseHead = try await hijack.head()
        if responseHead.status >= 300 && responseHead.status != 101 {
            throw Self.httpError(head: responseHead, body: try await Self.errorBody(hijack.nextChunk), request: request)
        }
        return HijackedStream(head: responseHead, owner: owner)
    }

    private func perform(_ request: HTTPRequest, versioned: Bool) async throws -> HTTPResponse {
        let response = try await collect(request, versioned: versioned)
        if response.head.status >= 400 { throw Self.httpError(head: response.head, body: response.body, request: request) }
        return response
    }

    /// The whole answer to `request`, whatever its status; a late answer is thrown naming the request.
    private func collect(_ request: HTTPRequest, versioned: Bool) async throws -> HTTPResponse {
        var request = request
        if request.timeout == nil { request.timeout = requestTimeout }
        let transfer = try await start(request, versioned: versioned, mode: .collect, highWater: 0)
        do {
            return try await transfer.response()
        } catch let error as EngineError where error.code == .timedOut {
            throw EngineError(
                code: .timedOut,
                reason:
                    "The engine did not answer \(request.method.rawValue) \(request.target) within \(request.timeout ?? requestTimeout).",
                curlCode: error.curlCode)
        } catch let error as EngineError {
            throw forwarder?.explain(error) ?? error
        }
    }

    private func start(
        _ request: HTTPRequest, versioned: Bool, mode: Transfer.Mode, highWater: Int, streamingBody: Bool = false,
        prepare: (Transfer) -> Void = { _ in }
    ) async throws -> Transfer {
        try Task.checkCancellation()
        let prefix = versioned ? "/v\(try await apiVersion())" : ""
        let transfer = try loop.makeTransfer(mode: mode, highWater: highWater)
        transfer.streamsBody = streamingBody
        try transfer.configure(
            request, url: host.baseURL + prefix + request.target, host: host, socketPath: forwarder?.socketPath,
            connectTimeout: .seconds(5))
        prepare(transfer)
        loop.start(transfer)
        return transfer
    }

    /// The error for an engine answer with an HTTP error status: code ``EngineError/Code/notFound``
    /// for 404 (the one place a 404 is recognised), ``EngineError/Code/http`` otherwise, with the
    /// engine's `message` (or the start of its body) as the reason.
    public static func httpError(head: ResponseHead, body: [UInt8], request: HTTPRequest) -> EngineError {
        struct Message: Decodable { var message: String }
        let engineMessage =
            (try? JSONBytesDecoder().decode(Message.self, from: body))?.message
            ?? String(decoding: body.prefix(512), as: UTF8.self).trimmedOfWhitespace()
        let reason = engineMessage.isEmpty ? "the engine answered HTTP \(head.status)" : engineMessage
        return EngineError(
            code: head.status == 404 ? .notFound : .http, reason: reason, status: head.status,
            engineMessage: engineMessage.isEmpty ? nil : engineMessage)
    }
}

/// An engine API version such as 1.41.
public struct APIVersion: Comparable, Sendable, CustomStringConvertible, Hashable {
    /// The major part (always 1 so far).
    public var major: Int
    /// The minor part.
    public var minor: Int

    /// A version.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses "1.41" (a leading "v" is allowed).
    public init?(parsing text: String) {
        let parts = text.trimmedOfWhitespace().drop { $0 == "v" }.split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    /// Orders by major, then minor.
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
    /// `"<major>.<minor>"`, e.g. `"1.41"`.
    public var description: String { "\(major).\(minor)" }
}

/// A streaming response body: an `AsyncSequence` of byte chunks. Dropping it before the end
/// closes the connection.
public struct ResponseStream: AsyncSequence, Sendable {
    /// One chunk of the body, as libcurl received it.
    public typealias Element = [UInt8]

    /// Cancels the transfer when the last reference to the stream goes away.
    final class Owner: Sendable {
        let transfer: Transfer
        init(_ transfer: Transfer) { self.transfer = transfer }
        deinit { transfer.cancel() }
    }

    /// The status and headers.
    public let head: ResponseHead
    let owner: Owner

    /// Closes the stream now.
    public func cancel() { owner.transfer.cancel() }

    /// An iterator over the chunks.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let owner: Owner
        /// The next chunk; nil at the end of the body.
        /// - Throws: ``EngineError`` when the transfer fails; `CancellationError` when it was cancelled.
        public mutating func next() async throws -> [UInt8]? {
            do {
                return try await owner.transfer.nextChunk()
            } catch let error as EngineError where error.code == .cancelled {
                throw CancellationError()
            }
        }
    }

    /// An iterator over the body's chunks.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(owner: owner) }
}

/// The body of a request being written (``EngineClient/upload(_:highWater:)``). Dropping it
/// before ``finish()`` ends the request.
public struct UploadStream: Sendable {
    let owner: ResponseStream.Owner
    let request: HTTPRequest

    /// Sends `bytes` next, waiting while the engine is behind.
    /// - Throws: ``EngineError``: the engine's own error when it answered before the body ended
    ///   (read from its answer), the transfer's failure otherwise.
    public func write(_ bytes: some Collection<UInt8> & Sendable) async throws {
        do {
            try await owner.transfer.write(bytes)
        } catch let error as EngineError where error.code == .invalidResponse {
            // Answered early: its answer says why.
            _ = try await finish()
            throw error
        }
    }

    /// Ends the body and waits for the engine's answer.
    /// - Throws: ``EngineError`` `.http` with the engine's message for a status ≥ 400.
    public func finish() async throws -> HTTPResponse {
        owner.transfer.finishBody()
        let response = try await owner.transfer.response()
        if response.head.status >= 400 { throw EngineClient.httpError(head: response.head, body: response.body, request: request) }
        return response
    }

    /// Ends the request now: the engine sees the body cut short.
    public func cancel() { owner.transfer.cancel() }
}

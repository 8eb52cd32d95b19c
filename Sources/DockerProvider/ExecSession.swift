import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import OrderedCollections
import Synchronization

/// The live side of an exec started with `stdin: true` or `tty`: where `exec.input` bytes and
/// `exec.resize` sizes go. Input that arrives before the engine hijacked the connection waits here,
/// in order, and is sent when it has.
final class ExecSession: Sendable {
    private struct State {
        var stream: HijackedStream?
        var execID: String?
        var client: EngineClient?
        var buffered: [UInt8] = []
        var eof = false
        var size: TerminalSize?
    }

    private let state: Mutex<State>
    private let logger: Logger

    init(logger: Logger) {
        self.state = Mutex(State())
        self.logger = logger
    }

    /// The size the exec asked for, unless an `exec.resize` already came.
    func setInitialSize(_ size: TerminalSize?) {
        state.withLock { state in
            if state.size == nil { state.size = size }
        }
    }

    /// The exec started: send what waited, and give the terminal its size.
    func attach(_ stream: HijackedStream?, execID: String, client: EngineClient) {
        let (buffered, eof, size) = state.withLock { state in
            state.stream = stream
            state.execID = execID
            state.client = client
            defer { state.buffered = [] }
            return (state.buffered, state.eof, state.size)
        }
        if let stream {
            stream.write(buffered)
            if eof { stream.closeWrite() }
        }
        if let size { resize(size) }
    }

    /// Bytes for stdin; `eof` closes it after them.
    func input(_ bytes: [UInt8], eof: Bool) {
        let stream = state.withLock { state -> HijackedStream? in
            guard !state.eof else { return nil }
            if state.stream == nil {
                state.buffered.append(contentsOf: bytes)
            }
            if eof { state.eof = true }
            return state.stream
        }
        guard let stream else { return }
        stream.write(bytes)
        if eof { stream.closeWrite() }
    }

    /// Hands input that arrived here before the command's session was known to `session`.
    func forward(to session: ExecSession) {
        let (buffered, eof) = state.withLock { state in
            defer { state.buffered = [] }
            return (state.buffered, state.eof)
        }
        if !buffered.isEmpty || eof { session.input(buffered, eof: eof) }
    }

    /// A new terminal size: sent now if the exec runs, else when it starts.
    func resize(_ size: TerminalSize) {
        let running = state.withLock { state -> (String, EngineClient)? in
            state.size = size
            guard let execID = state.execID, let client = state.client else { return nil }
            return (execID, client)
        }
        guard let (execID, client) = running else { return }
        let logger = self.logger
        Task {
            do {
                try await client.resizeExec(execID, rows: size.rows, columns: size.cols)
            } catch {
                logger.debug("could not resize an exec's terminal", metadata: ["exec": "\(execID)", "error": "\(error)"])
            }
        }
    }
}

/// The sessions by request id. A notification can arrive before its exec's task has registered
/// (the input thread reads on while the request starts), so it makes the session and the exec claims
/// it; at most 64 such unclaimed sessions are kept, the oldest dropped first.
struct ExecSessions {
    var byID: [RequestID: ExecSession] = [:]
    /// The ids of unclaimed sessions, oldest first.
    var unclaimed: OrderedSet<RequestID> = []

    /// The exec's session, with any input that arrived before it.
    mutating func claim(_ id: RequestID, logger: Logger) -> ExecSession {
        if unclaimed.remove(id) != nil {
            if let session = byID[id] { return session }
        }
        let session = ExecSession(logger: logger)
        byID[id] = session
        return session
    }

    /// Routes notifications by `id` to an existing session (`exec.attach` with `stdin: true`),
    /// with any input that arrived for `id` before.
    mutating func adopt(_ id: RequestID, _ session: ExecSession) {
        if unclaimed.remove(id) != nil {
            byID[id]?.forward(to: session)
        }
        byID[id] = session
    }

    /// The session a notification goes to.
    mutating func forNotification(_ id: RequestID, logger: Logger) -> ExecSession {
        if let session = byID[id] { return session }
        let session = ExecSession(logger: logger)
        byID[id] = session
        unclaimed.append(id)
        if unclaimed.count > 64 { byID[unclaimed.removeFirst()] = nil }
        return session
    }
}

extension DockerProvider {
    /// `exec.input {requestId, data, encoding?, eof?}`: bytes for the stdin of a running exec. A
    /// notification has no answer: bad params or an unknown request id are logged and dropped.
    func execInput(_ params: JSONValue?) {
        let notification: ExecInputNotification
        do {
            notification = try MethodTable.decodeParams(ExecInputNotification.self, params)
        } catch {
            logger.warning("dropped an exec.input notification with bad params", metadata: ["error": "\(error)"])
            return
        }
        guard let id = RequestID(notification.requestId) else {
            logger.warning("dropped an exec.input notification: requestId must be a string or an integer")
            return
        }
        var bytes: [UInt8] = []
        if let data = notification.data {
            switch notification.encoding ?? .utf8 {
            case .utf8: bytes = Array(data.utf8)
            case .base64:
                guard let decoded = Base64.decode(data) else {
                    logger.warning("dropped an exec.input notification: data is not base64", metadata: ["requestId": "\(id)"])
                    return
                }
                bytes = decoded
            }
        }
        execSessions.withLock { $0.forNotification(id, logger: logger) }.input(bytes, eof: notification.eof == true)
    }

    /// `exec.resize {requestId, rows, cols}`: the new size of a running exec's terminal.
    func execResize(_ params: JSONValue?) {
        let notification: ExecResizeNotification
        do {
            notification = try MethodTable.decodeParams(ExecResizeNotification.self, params)
        } catch {
            logger.warning("dropped an exec.resize notification with bad params", metadata: ["error": "\(error)"])
            return
        }
        guard (1...65535).contains(notification.rows), (1...65535).contains(notification.cols) else {
            logger.warning("dropped an exec.resize notification: rows and cols must be between 1 and 65535")
            return
        }
        guard let id = RequestID(notification.requestId) else { return }
        execSessions.withLock { $0.forNotification(id, logger: logger) }.resize(
            TerminalSize(rows: notification.rows, cols: notification.cols))
    }
}

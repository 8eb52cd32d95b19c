import FoundationEssentials
import JSONCoding
import Logging
import Synchronization

/// What a handler knows of the request it serves: its id, and the way to send notifications
/// tied to it. Once the request is answered (or cancelled) its notifications are dropped, so
/// nothing for a request ever follows its response.
public final class RequestContext: Sendable {
    /// The request's id.
    public let id: RequestID
    /// The method name.
    public let method: String
    /// A logger carrying the request id and method as metadata (`request`, `method`), made when
    /// asked for: most requests never log, and their metadata is not built.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "request"] = "\(id)"
        logger[metadataKey: "method"] = "\(method)"
        return logger
    }
    /// The server's logger, without this request's metadata.
    private let baseLogger: Logger
    /// The id as JSON bytes, spliced into the response and every notification.
    let idJSON: [UInt8]
    /// When the request's line was read (wall clock): the moment a subscription counts from.
    public let receivedAt = Date()

    private let output: OutputChannel
    private let sink: ResponseSink
    private let finished = Mutex(false)
    private let undoHandler = Mutex<(@Sendable () async -> Void)?>(nil)

    init(id: RequestID, method: String, output: OutputChannel, sink: ResponseSink, logger: Logger) {
        self.id = id
        self.method = method
        self.output = output
        self.sink = sink
        self.baseLogger = logger
        self.idJSON = JSONWriter.encode(id.json)
    }

    /// Whether the request has been answered or cancelled.
    public var isFinished: Bool { finished.withLock { $0 } }

    /// Registers what undoes this request's work if its result never reaches the host: the request
    /// was cancelled (answered -32800) or the session ended after the work was done, so the host
    /// does not know what was made. Runs once, after the handler returned successfully, in a task
    /// of its own that is not cancelled.
    public func onResultDropped(_ undo: @escaping @Sendable () async -> Void) {
        undoHandler.withLock { $0 = undo }
    }

    /// The registered undo, taken (it runs at most once).
    func takeUndo() -> (@Sendable () async -> Void)? {
        undoHandler.withLock { handler in
            defer { handler = nil }
            return handler
        }
    }

    /// Sends `notification` with this request's id as its `requestId`; waits while the host is
    /// behind on reading. Returns false when the request has already ended (the caller should stop
    /// producing). A notification that cannot be encoded (a bug) is logged and not sent.
    @discardableResult
    public func notify<Notification: RPCNotification>(_ notification: Notification) async -> Bool {
        let frame: [UInt8]
        do {
            frame = try notification.encodedFrame(requestID: idJSON)
        } catch {
            logger.error("a notification could not be encoded", metadata: ["notification": "\(Notification.method)", "error": "\(error)"])
            return !isFinished
        }
        await output.waitForCapacity()
        return finished.withLock { done in
            guard !done else { return false }
            output.send(frame)
            return true
        }
    }

    /// Answers the request, unless it was answered already. Returns whether this call answered.
    @discardableResult
    func respond(_ outcome: Result<[UInt8], RPCError>) -> Bool {
        respond(parts: outcome.map { [FramePart.bytes($0)] })
    }

    /// Answers with a result given as frame parts: bytes are spliced into one frame (copied once);
    /// a result with producers goes out as parts, its large text written as it is made.
    @discardableResult
    func respond(parts outcome: Result<[FramePart], RPCError>) -> Bool {
        finished.withLock { done in
            guard !done else { return false }
            done = true
            var head: [UInt8] = []
            head.append(contentsOf: #"{"jsonrpc":"2.0","id":"#.utf8)
            head.append(contentsOf: idJSON)
            switch outcome {
            case .success(let parts):
                head.append(contentsOf: #","result":"#.utf8)
                let produced = parts.contains { if case .produced = $0 { true } else { false } }
                if produced, case .direct = sink {
                    output.send(parts: [.bytes(head)] + parts + [.bytes(Array("}".utf8))])
                    return true
                }
                // Reserved whole (room for the newline too): the result is copied once, never doubled.
                let size = parts.reduce(0) { if case .bytes(let bytes) = $1 { $0 + bytes.count } else { $0 } }
                head.reserveCapacity(head.count + size + 2)
                for part in parts {
                    if case .bytes(let bytes) = part {
                        head.append(contentsOf: bytes)
                    } else {
                        head.append(contentsOf: FramePart.joined([part]))
                    }
                }
            case .failure(let error):
                head.append(contentsOf: #","error":"#.utf8)
                JSONWriter.append(error.json, to: &head)
            }
            head.append(UInt8(ascii: "}"))
            sink.deliver(consume head, output: output)
            return true
        }
    }
}

import Dispatch
import FoundationEssentials
import Glibc
import Logging
import OSThread
import Synchronization

/// A JSON-RPC 2.0 server over a line-framed byte stream.
///
/// Requests run concurrently and are answered in any order; each gets exactly one response.
/// `initialize` must come first and only once; `shutdown`, end of input or ``terminate()`` cancel
/// what is in flight (answering it -32800) and end ``run(input:)``.
public final class RPCServer: Sendable {
    /// Settings that shape the protocol's edges.
    public struct Configuration: Sendable {
        /// The longest line accepted, in bytes.
        public var maxLineBytes: Int
        /// How long in-flight work may take to wind down after cancellation before the server returns.
        public var shutdownGrace: Duration
        /// Builds the message of a failed method from its name and the reason.
        public var describeFailure: @Sendable (_ method: String, _ reason: String) -> String
        /// Members added to the `data` of every error a method returns (e.g. `provider`).
        public var errorData: JSONObject

        /// Default settings: 64 MiB lines, 1.5 s grace.
        public init(
            maxLineBytes: Int = 64 << 20,
            shutdownGrace: Duration = .milliseconds(1500),
            describeFailure: @escaping @Sendable (String, String) -> String = { "\($0) failed: \($1)" },
            errorData: JSONObject = JSONObject()
        ) {
            self.maxLineBytes = maxLineBytes
            self.shutdownGrace = shutdownGrace
            self.describeFailure = describeFailure
            self.errorData = errorData
        }
    }

    private enum Lifecycle {
        case uninitialized
        case initializing
        case running
        case stopping
    }

    private struct InFlight {
        var context: RequestContext
        var task: Task<Void, Never>?
    }

    private struct State {
        var lifecycle = Lifecycle.uninitialized
        var inFlight: [RequestID: InFlight] = [:]
        /// Requests with a null id: they cannot be cancelled or told apart by id, but shutdown and
        /// end of input still answer them, so they are kept by the identity of their context.
        var nullIDInFlight: [ObjectIdentifier: InFlight] = [:]
        var earlyCancels: Set<RequestID> = []
        var earlyCancelOrder: [RequestID] = []
        /// Ids answered recently: a cancel for one of them is late, not early, and is ignored.
        var answered: Set<RequestID> = []
        var answeredOrder: [RequestID] = []
        var stopContinuation: CheckedContinuation<Void, Never>?
        var stopRequested = false
        /// Why the session ends: the first reason given wins.
        var stopReason: StopReason?
        /// Whether the reader thread is handing out a chunk of input (a batch may be half dispatched).
        var dispatching = false
        /// The last request dispatched for each order key (see ``MethodTable/OrderKey``), until it ends.
        var orderChains: [String: (token: ObjectIdentifier, task: Task<Void, Never>)] = [:]
    }

    /// Why a session ended.
    public enum StopReason: Sendable, Equatable {
        /// The host sent `shutdown`.
        case shutdown
        /// Input ended without `shutdown`: the host closed its end, or died.
        case endOfInput
        /// ``terminate()`` (SIGTERM).
        case terminated
    }

    /// The method that must come first.
    public static let initializeMethod = "initialize"
    /// The method that ends the session.
    public static let shutdownMethod = "shutdown"
    /// The cancellation notification.
    public static let cancelMethod = "$/cancelRequest"
    private static let earlyCancelLimit = 1024

    private let table: MethodTable
    private let output: OutputChannel
    private let configuration: Configuration
    private let logger: Logger
    private let state = Mutex(State())

    /// A server answering `table`'s methods on `output`.
    public init(table: MethodTable, output: OutputChannel, configuration: Configuration = .init(), logger: Logger) {
        self.table = table
        self.output = output
        self.configuration = configuration
        self.logger = logger
    }

    /// Reads lines from `input` until end of file, `shutdown` or ``terminate()``, then cancels what is
    /// in flight, waits up to the grace period for it to wind down, and flushes the output.
    /// - Returns: why the session ended.
    @discardableResult
    public func run(input: Int32) async -> StopReason {
        do {
            try OSThread.detach(name: "olw-stdin") { [self] in readLoop(fd: input) }
        } catch {
            preconditionFailure("\(error)")
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state in
                if state.stopRequested { return true }
                state.stopContinuation = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        // A `shutdown` inside a batch stops the session while the reader still hands out the batch's
        // other requests: let it finish, so each of them is answered and the batch's reply completes.
        await waitWhileDispatching(limit: configuration.shutdownGrace)
        let tasks = cancelAll()
        await waitForTasks(tasks, grace: configuration.shutdownGrace)
        output.close()
        return state.withLock { $0.stopReason } ?? .endOfInput
    }

    /// Ends the session as end of input would (used for SIGTERM).
    public func terminate() {
        requestStop(.terminated)
    }

    /// Ends the session because the host went away without `shutdown` (stdout closed, SIGINT,
    /// SIGHUP): ``run(input:)`` then returns ``StopReason/endOfInput``.
    public func hostGone() {
        requestStop(.endOfInput)
    }

    // MARK: Input

    private func readLoop(fd: Int32) {
        var framer = LineFramer(maxLineBytes: configuration.maxLineBytes)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { buffer.deallocate() }
        var stop = state.withLock { $0.stopRequested }
        while !stop {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            state.withLock { $0.dispatching = true }
            framer.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) { handle($0) }
            stop = state.withLock { state in
                state.dispatching = false
                return state.stopRequested
            }
        }
        framer.finish { handle($0) }
        requestStop(.endOfInput)
    }

    private func requestStop(_ reason: StopReason) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopRequested = true
            if state.stopReason == nil { state.stopReason = reason }
            if state.lifecycle != .uninitialized { state.lifecycle = .stopping }
            defer { state.stopContinuation = nil }
            return state.stopContinuation
        }
        continuation?.resume()
    }

    /// Handles one framed line. Internal so tests can drive it without a pipe.
    func handle(_ event: LineFramer.Event) {
        switch event {
        case .tooLong:
            sendError(id: .null, .invalidRequest("line longer than \(configuration.maxLineBytes) bytes"))
        case .line(let bytes):
            guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }  // blank line
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes)
            } catch {
                sendError(id: .null, .parseError(error.description))
                return
            }
            if case .array(let elements) = value {
                handleBatch(elements)
            } else {
                dispatch(IncomingMessage(value), sink: .direct)
            }
        }
    }

    private func handleBatch(_ elements: [JSONValue]) {
        guard !elements.isEmpty else {
            sendError(id: .null, .invalidRequest("empty batch"))
            return
        }
        let messages = elements.map(IncomingMessage.init)
        let answered = messages.filter { if case .notification = $0 { false } else { true } }.count
        let collector = BatchCollector(expected: answered)
        var index = 0
        for message in messages {
            if case .notification = message {
                dispatch(message, sink: .direct)
            } else {
                dispatch(message, sink: .batch(collector, index: index))
                index += 1
            }
        }
    }

    private func sendError(id: RequestID, _ error: RPCError, sink: ResponseSink = .direct) {
        let context = RequestContext(id: id, method: "", output: output, sink: sink, logger: logger)
        context.respond(.failure(error))
    }

    // MARK: Dispatch

    private func dispatch(_ message: IncomingMessage, sink: ResponseSink) {
        switch message {
        case .invalid(let id, let error):
            sendError(id: id, error, sink: sink)
        case .notification(let method, let params):
            if method == Self.cancelMethod, let id = params?["id"].flatMap(RequestID.init), id != .null {
                cancel(id)
            } else if let handler = table.notificationHandlers[method], state.withLock({ $0.lifecycle == .running }) {
                handler(params)
            } else {
                logger.debug("ignored notification", metadata: ["method": "\(method)"])
            }
        case .request(let id, let method, let params):
            let task = startRequest(id: id, method: method, params: params, sink: sink)
            // `initialize` completes before the next line is read, so a host may pipeline requests after it.
            if method == Self.initializeMethod, let task { waitBlocking(for: task) }
        }
    }

    private enum Admission {
        case run(RequestContext)
        case reject(RequestContext, RPCError)
    }

    private func waitBlocking(for task: Task<Void, Never>) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await task.value
            done.signal()
        }
        done.wait()
    }

    @discardableResult
    private func startRequest(id: RequestID, method: String, params: JSONValue?, sink: ResponseSink) -> Task<Void, Never>? {
        let context = RequestContext(id: id, method: method, output: output, sink: sink, logger: logger)
        guard let handler = table.handlers[method] else {
            if method == Self.shutdownMethod {
                // shutdown takes no params: a member it was given is refused like any method's.
                struct NoParams: Decodable {}
                do {
                    _ = try MethodTable.decodeParams(NoParams.self, params)
                    shutdown(context)
                } catch {
                    context.respond(.failure(rpcError(error, method: method)))
                }
            } else {
                context.respond(.failure(RPCError(code: .methodNotFound, message: "method not found: \(method)")))
            }
            return nil
        }
        let isInitialize = method == Self.initializeMethod
        return state.withLock { state -> Task<Void, Never>? in
            let rejection: RPCError?
            switch state.lifecycle {
            case .uninitialized:
                rejection = isInitialize ? nil : RPCError(code: .notInitialized, message: "not initialized: send initialize first")
            case .initializing:
                rejection =
                    isInitialize
                    ? .invalidRequest("initialize is already in progress")
                    : RPCError(code: .notInitialized, message: "not initialized: initialize is in progress")
            case .running:
                rejection = isInitialize ? .invalidRequest("already initialized") : nil
            case .stopping:
                rejection = RPCError(code: .requestCancelled, message: "request cancelled: the worker is shutting down")
            }
            if let rejection {
                context.respond(.failure(rejection))
                return nil
            }
            if state.earlyCancels.remove(id) != nil {
                state.earlyCancelOrder.removeAll { $0 == id }
                context.respond(.failure(cancelledError()))
                return nil
            }
            if id != .null, state.inFlight[id] != nil {
                context.respond(.failure(.invalidRequest("duplicate request id \(id): a request with this id is in flight")))
                return nil
            }
            if isInitialize { state.lifecycle = .initializing }
            if state.answered.remove(id) != nil { state.answeredOrder.removeAll { $0 == id } }
            let key = id
            // Ordered requests of one key run one after another: each waits for the one that
            // arrived before it (dispatch is in arrival order, on the reader thread).
            let orderKey = table.orderKeys[method]?(params)
            let previous = orderKey.flatMap { state.orderChains[$0]?.task }
            let token = ObjectIdentifier(context)
            let task = Task { [self] in
                await previous?.value
                await execute(handler, params: params, context: context, isInitialize: isInitialize)
                self.state.withLock { state in
                    if let orderKey, state.orderChains[orderKey]?.token == token { state.orderChains[orderKey] = nil }
                    if state.inFlight[key]?.context === context { state.inFlight[key] = nil }
                    state.nullIDInFlight[ObjectIdentifier(context)] = nil
                    if state.answered.insert(key).inserted {
                        state.answeredOrder.append(key)
                        if state.answeredOrder.count > Self.earlyCancelLimit {
                            state.answered.remove(state.answeredOrder.removeFirst())
                        }
                    }
                }
            }
            if let orderKey { state.orderChains[orderKey] = (token, task) }
            if id != .null {
                state.inFlight[id] = InFlight(context: context, task: task)
            } else {
                state.nullIDInFlight[ObjectIdentifier(context)] = InFlight(context: context, task: task)
            }
            return task
        }
    }

    private func execute(
        _ handler: MethodTable.Handler, params: JSONValue?, context: RequestContext, isInitialize: Bool
    ) async {
        let outcome: Result<[FramePart], RPCError>
        do {
            outcome = .success(try await handler(params, context))
        } catch {
            var failure = rpcError(error, method: context.method)
            if configuration.errorData.count > 0 {
                var data = configuration.errorData
                if case .object(let own)? = failure.data {
                    for member in own.members { data[member.key] = member.value }
                }
                failure.data = .object(data)
            }
            outcome = .failure(failure)
        }
        if isInitialize {
            state.withLock { state in
                if state.lifecycle == .initializing {
                    if case .success = outcome { state.lifecycle = .running } else { state.lifecycle = .uninitialized }
                }
            }
        }
        if case .failure(let error) = outcome {
            context.logger.debug("request failed", metadata: ["code": "\(error.code.rawValue)"])
        }
        // Cancelled (or the session ended) after the work was done: the host was told -32800 and
        // will never learn what was made, so it is undone. The undo runs outside this task, which
        // the cancel has cancelled: in it, the undo's own engine calls would fail at once.
        if !context.respond(parts: outcome), case .success = outcome, let undo = context.takeUndo() {
            context.logger.info("undoing the work of a request whose result the host never got")
            await Task.detached { await undo() }.value
        }
    }

    private func shutdown(_ context: RequestContext) {
        context.respond(.success(Array("null".utf8)))
        requestStop(.shutdown)
    }

    private func cancelledError() -> RPCError {
        RPCError(code: .requestCancelled, message: "request cancelled")
    }

    private func cancel(_ id: RequestID) {
        let entry = state.withLock { state -> InFlight? in
            if let entry = state.inFlight[id] { return entry }
            if state.answered.contains(id) { return nil }  // late: the request was already answered
            if state.earlyCancels.insert(id).inserted {
                state.earlyCancelOrder.append(id)
                if state.earlyCancelOrder.count > Self.earlyCancelLimit {
                    state.earlyCancels.remove(state.earlyCancelOrder.removeFirst())
                }
            }
            return nil
        }
        guard let entry else { return }
        entry.context.respond(.failure(cancelledError()))
        entry.task?.cancel()
    }

    private func cancelAll() -> [Task<Void, Never>] {
        let entries = state.withLock { state in
            state.lifecycle = .stopping
            return Array(state.inFlight.values) + Array(state.nullIDInFlight.values)
        }
        for entry in entries {
            entry.context.respond(.failure(RPCError(code: .requestCancelled, message: "request cancelled: the worker is shutting down")))
            entry.task?.cancel()
        }
        return entries.compactMap(\.task)
    }

    private func waitWhileDispatching(limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while state.withLock({ $0.dispatching }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    private func waitForTasks(_ tasks: [Task<Void, Never>], grace: Duration) async {
        guard !tasks.isEmpty else { return }
        let resumed = Mutex(false)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeOnce: @Sendable () -> Void = {
                if resumed.withLock({ done in
                    defer { done = true }
                    return !done
                }) {
                    continuation.resume()
                }
            }
            Task {
                for task in tasks { await task.value }
                resumeOnce()
            }
            Task {
                try? await Task.sleep(for: grace)
                resumeOnce()
            }
        }
    }

    /// Maps any error a handler throws to the error the host sees.
    private func rpcError(_ error: any Error, method: String) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as any RPCErrorConvertible:
            return error.rpcError(method: method, describe: configuration.describeFailure)
        case let error as InvalidParams:
            return RPCError(
                code: .invalidParams,
                message: configuration.describeFailure(method, "invalid params: \(error.field) \(error.reason)"),
                data: .object(JSONObject(["field": .string(error.field)])))
        case let error as DecodingError:
            return rpcError(InvalidParams(error), method: method)
        case is CancellationError:
            return cancelledError()
        default:
            return RPCError(code: .internalError, message: configuration.describeFailure(method, "\(error)"))
        }
    }
}

/// An error that knows how to present itself to the host.
public protocol RPCErrorConvertible: Error {
    /// The error as the host sees it; `describe` builds the conventional message from a reason.
    func rpcError(method: String, describe: (String, String) -> String) -> RPCError
}

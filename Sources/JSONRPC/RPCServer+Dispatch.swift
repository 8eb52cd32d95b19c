import Dispatch
import JSONCoding
import Logging
import OrderedCollections
import Synchronization

// Dispatch: notifications handed on, requests admitted (lifecycle, early cancels, duplicate ids),
// ordered (order keys) and run, each answered exactly once.
extension RPCServer {
    /// Hands one message on: a cancel or notification to its handler, a request to
    /// ``startRequest(id:method:params:sink:)``.
    func dispatch(_ message: IncomingMessage, sink: ResponseSink) {
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

    /// Blocks the input thread until `task` ends (`initialize` completes before the next line is read).
    func waitBlocking(for task: Task<Void, Never>) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await task.value
            done.signal()
        }
        done.wait()
    }

    /// Admits a request (lifecycle, early cancel, duplicate id) and starts its task, behind the request
    /// before it with the same order key; nil when it was answered at once.
    @discardableResult
    func startRequest(id: RequestID, method: String, params: JSONValue?, sink: ResponseSink) -> Task<Void, Never>? {
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
                context.respond(.failure(cancelledError()))
                return nil
            }
            if id != .null, state.inFlight[id] != nil {
                context.respond(.failure(.invalidRequest("duplicate request id \(id): a request with this id is in flight")))
                return nil
            }
            if isInitialize { state.lifecycle = .initializing }
            state.answered.remove(id)
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
                    state.answered.appendRecent(key, limit: Self.recentIDLimit)
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

    /// Runs the handler and answers with its outcome; undoes the work of a result the host never got.
    func execute(
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
}

import OrderedCollections
import Synchronization

// Cancellation and shutdown: `$/cancelRequest`, `shutdown`, and winding down what is in flight.
extension RPCServer {
    /// Answers `shutdown` and stops the session.
    func shutdown(_ context: RequestContext) {
        context.respond(.success(Array("null".utf8)))
        requestStop(.shutdown)
    }

    /// The error of a request the host cancelled.
    func cancelledError() -> RPCError {
        RPCError(code: .requestCancelled, message: "request cancelled")
    }

    /// `$/cancelRequest`: answers the request -32800 and cancels its task; a cancel that comes before
    /// its request is remembered (a bounded number of them), one after its answer is ignored.
    func cancel(_ id: RequestID) {
        let entry = state.withLock { state -> InFlight? in
            if let entry = state.inFlight[id] { return entry }
            if state.answered.contains(id) { return nil }  // late: the request was already answered
            state.earlyCancels.appendRecent(id, limit: Self.recentIDLimit)
            return nil
        }
        guard let entry else { return }
        entry.context.respond(.failure(cancelledError()))
        entry.task?.cancel()
    }

    /// Answers everything in flight -32800 and cancels it; returns the tasks to wait for.
    func cancelAll() -> [Task<Void, Never>] {
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

    /// Waits, at most `limit`, while the input thread is handing out a chunk of input.
    func waitWhileDispatching(limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while state.withLock({ $0.dispatching }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Waits for `tasks` to end, at most `grace`.
    func waitForTasks(_ tasks: [Task<Void, Never>], grace: Duration) async {
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
}

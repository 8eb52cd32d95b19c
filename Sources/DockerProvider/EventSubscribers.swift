import DockerEngine
import FoundationEssentials
import JSONRPC
import Logging
import Synchronization

/// The `events.subscribe` requests in flight, for notifications the engine does not send (`expired`).
final class EventSubscribers: Sendable {
    private let contexts = Mutex<[ObjectIdentifier: RequestContext]>([:])

    func add(_ context: RequestContext) { contexts.withLock { $0[ObjectIdentifier(context)] = context } }
    func remove(_ context: RequestContext) { contexts.withLock { $0[ObjectIdentifier(context)] = nil } }

    /// Sends `method` with `params` plus each subscription's `requestId` to every subscription.
    func broadcast(_ method: String, params: JSONObject) async {
        for context in contexts.withLock({ Array($0.values) }) {
            var params = params
            params["requestId"] = context.id.json
            await context.notify(method, params: .object(params))
        }
    }
}

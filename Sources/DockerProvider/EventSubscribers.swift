import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

/// The `events.subscribe` requests in flight, for notifications the engine does not send (`expired`).
final class EventSubscribers: Sendable {
    private let contexts = Mutex<[ObjectIdentifier: RequestContext]>([:])

    func add(_ context: RequestContext) { contexts.withLock { $0[ObjectIdentifier(context)] = context } }
    func remove(_ context: RequestContext) { contexts.withLock { $0[ObjectIdentifier(context)] = nil } }

    /// Sends `notification` to every subscription, each with its own `requestId`.
    func broadcast(_ notification: some RPCNotification) async {
        for context in contexts.withLock({ Array($0.values) }) {
            await context.notify(notification)
        }
    }
}

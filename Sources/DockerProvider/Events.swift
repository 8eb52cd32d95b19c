import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

/// `events.subscribe`.
public struct EventsSubscribeRequest: RPCMethod {
    /// The method name, `"events.subscribe"`.
    public static let name = "events.subscribe"
    /// Typed ``StreamEnd``, but it answers only -32800: the request lives until cancelled, `shutdown` or end of input.
    public typealias Result = StreamEnd
}

extension DockerProvider {
    /// The actions reported, as the engine names them.
    static let reportedActions: Set<String> = ["start", "die", "oom", "stop", "pause", "unpause", "destroy", "restart"]

    /// How many reported events the worker holds for a host that reads slowly; past it, events are
    /// dropped and a `resync` follows once there is room again.
    static let eventBufferLimit = 10_000

    /// An event read later than this after the engine stamped it means the worker could not read for
    /// a while (stopped, starved): the engine may have dropped events meanwhile, so a `resync` follows.
    static let eventLagLimit: Int64 = 5_000_000_000
    /// How long a resync waits for one node's inspect before describing it from the container list:
    /// events queued behind the resync must not wait for a container the engine holds locked.
    static let resyncInspectBudget = Duration.seconds(2)

    /// Sends `node.event` notifications for managed containers until cancelled. Events count from
    /// the moment the request was read, not from when the engine's stream opened: the first request
    /// asks for them `since` then. The engine is asked only for the reported actions, and its stream
    /// is read promptly whatever the host does: events wait in a bounded buffer in the worker. When
    /// a gap is possible (a reconnect, a buffer overflow, a reader that fell behind the engine), a
    /// `node.event` with action `resync` carries the current state of every managed node.
    public func subscribeEvents(context: RequestContext) async throws -> StreamEnd {
        subscribers.add(context)
        defer { subscribers.remove(context) }
        let queue = EventQueue(limit: Self.eventBufferLimit)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.readEngineEvents(into: queue, context: context) }
            group.addTask {
                while true {
                    let item = try await queue.next()
                    let notification: NodeEventNotification
                    switch item {
                    case .event(let event): notification = event
                    case .resync(let reason, let dropped):
                        let nodes = try await self.list(labels: nil, inspectBudget: Self.resyncInspectBudget)
                        notification = NodeEventNotification(
                            action: "resync", time: Timestamp.now(), nodes: nodes, reason: reason, dropped: dropped > 0 ? dropped : nil)
                        context.logger.info("events: resync", metadata: ["reason": "\(reason)", "dropped": "\(dropped)"])
                    }
                    guard await context.notify(notification) else { throw CancellationError() }
                }
            }
            try await group.next()
            group.cancelAll()
            throw CancellationError()
        }
    }

    /// Reads the engine's event stream into `queue`, reconnecting with `since` when it drops.
    private func readEngineEvents(into queue: EventQueue, context: RequestContext) async throws {
        let actions = Self.reportedActions.sorted().map { "\"\($0)\"" }.joined(separator: ",")
        let labels = String(decoding: try encodeJSON(ownershipFilters), as: UTF8.self)
        // Podman 4.3's `event` filter matches nothing: there the actions are filtered here only.
        let isPodman = (try? await client.version())?.isPodman == true
        let filters =
            isPodman
            ? #"{"type":["container"],"label":\#(labels)}"#
            : #"{"type":["container"],"label":\#(labels),"event":[\#(actions)]}"#
        // Whole seconds and the fraction apart: seconds times 1e9 in a Double would round to 256 ns.
        let arrival = context.receivedAt.timeIntervalSince1970
        let arrivalSeconds = arrival.rounded(.down)
        let subscribedAt = Int64(arrivalSeconds) * 1_000_000_000 + Int64(((arrival - arrivalSeconds) * 1e9).rounded(.down))
        var since: Int64? = nil  // nanoseconds of the last event delivered
        var seen = Set<String>()  // events at exactly `since`, against duplicates after a reconnect
        var delay = Duration.milliseconds(100)
        var connections = 0
        var lagged = false
        while true {
            try Task.checkCancellation()
            // The engine's clock stamps the events. Docker filters only its replay by `since`, never
            // live events; Podman filters both, so a remote Podman host whose clock runs behind ours
            // by d would hold back the first d of events: engines here are local (one clock).
            do {
                let events = try await client.events(filters: filters, since: unixSecondsText(nanoseconds: since ?? subscribedAt))
                delay = .milliseconds(100)
                connections += 1
                // The engine keeps only a short history to replay: after a reconnect events may be missing.
                if connections > 1 { queue.resync(reason: "reconnected") }
                for try await event in events {
                    guard let rawAction = event.action, let id = event.actor?.id else { continue }
                    let action = String(rawAction.prefix { $0 != ":" })
                    let nanos = event.timeNano ?? (event.time ?? 0) * 1_000_000_000
                    let key = "\(nanos)|\(id)|\(rawAction)"
                    if let since, nanos < since || (nanos == since && seen.contains(key)) { continue }
                    if nanos != since { seen = [] }
                    seen.insert(key)
                    since = nanos
                    // Live events read long after they happened: the engine may have dropped some
                    // for this subscriber meanwhile (dockerd keeps about a thousand).
                    let lag = Int64(Date().timeIntervalSince1970 * 1e9) - nanos
                    if lag > Self.eventLagLimit, nanos > subscribedAt {
                        if !lagged { queue.resync(reason: "the worker fell behind the engine's events") }
                        lagged = true
                    } else if lag < Self.eventLagLimit / 5 {
                        lagged = false
                    }
                    guard Self.reportedActions.contains(action) else { continue }
                    // Podman ORs label filters where Docker ANDs them: the owner is checked here too.
                    if let ownerID = config.ownerId, event.actor?.attributes?[Self.ownerLabel] != ownerID { continue }
                    queue.push(
                        NodeEventNotification(
                            externalId: id, nodeId: event.actor?.attributes?[Labels.nodeID] ?? id, action: action,
                            exitCode: action == "die" ? event.actor?.attributes?["exitCode"].flatMap(Int64.init) : nil,
                            time: Timestamp.format(Date(timeIntervalSince1970: Double(nanos) / 1e9))))
                }
            } catch let error as EngineError where error.code != .cancelled && !error.isHTTPError {
                context.logger.info("event stream dropped; reconnecting", metadata: ["error": "\(error.reason)"])
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }
}

/// Reported events waiting for the host, bounded. Past the bound, events are dropped and counted,
/// and a resync marker takes their place once there is room again.
final class EventQueue: Sendable {
    enum Item: Sendable {
        case event(NodeEventNotification)
        case resync(reason: String, dropped: Int)
    }

    private struct State {
        var items: [Item] = []
        var head = 0
        var events = 0
        var dropped = 0
        var waiter: CheckedContinuation<Item, any Error>?
        var cancelled = false
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = limit }

    /// Queues an event, or drops it (counted) when the buffer is full.
    func push(_ event: NodeEventNotification) {
        let handoff = state.withLock { state -> (CheckedContinuation<Item, any Error>, Item)? in
            if state.events >= limit {
                state.dropped += 1
                return nil
            }
            if state.dropped > 0 {
                Self.append(.resync(reason: "the worker's event buffer overflowed", dropped: state.dropped), to: &state)
                state.dropped = 0
            }
            Self.append(.event(event), to: &state)
            return Self.handoff(&state)
        }
        if let (waiter, item) = handoff { waiter.resume(returning: item) }
    }

    /// Queues a resync marker (one is enough when the last item waiting is one already).
    func resync(reason: String) {
        let handoff = state.withLock { state -> (CheckedContinuation<Item, any Error>, Item)? in
            if state.head < state.items.count, case .resync = state.items[state.items.count - 1] { return nil }
            Self.append(.resync(reason: reason, dropped: 0), to: &state)
            return Self.handoff(&state)
        }
        if let (waiter, item) = handoff { waiter.resume(returning: item) }
    }

    private static func append(_ item: Item, to state: inout State) {
        state.items.append(item)
        if case .event = item { state.events += 1 }
    }

    /// When the reader waits, the first item, taken out for it.
    private static func handoff(_ state: inout State) -> (CheckedContinuation<Item, any Error>, Item)? {
        guard let waiter = state.waiter, let item = pop(&state) else { return nil }
        state.waiter = nil
        return (waiter, item)
    }

    private static func pop(_ state: inout State) -> Item? {
        guard state.head < state.items.count else { return nil }
        let item = state.items[state.head]
        state.head += 1
        if case .event = item { state.events -= 1 }
        if state.head > 1024, state.head * 2 > state.items.count {
            state.items.removeFirst(state.head)
            state.head = 0
        }
        return item
    }

    /// The next item, waiting for one.
    func next() async throws -> Item {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Item, any Error>) in
                let ready = state.withLock { state -> Result<Item, any Error>? in
                    if state.cancelled { return .failure(CancellationError()) }
                    if let item = Self.pop(&state) { return .success(item) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Item, any Error>? in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

import DockerEngine
import FoundationEssentials
import JSONRPC
import Logging

/// `events.subscribe`.
public struct EventsSubscribeRequest: RPCMethod {
    public static let name = "events.subscribe"
    public typealias Result = StreamEnd
}

/// One line of `GET /events`.
struct EngineEvent: Decodable {
    var type: String?
    var action: String?
    var actor: Actor?
    var time: Int64?
    var timeNano: Int64?
    struct Actor: Decodable {
        var id: String?
        var attributes: [String: String]?
        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
    }
    enum CodingKeys: String, CodingKey { case type = "Type", action = "Action", actor = "Actor", time, timeNano }
}

extension DockerProvider {
    /// The actions reported, as the engine names them.
    static let reportedActions: Set<String> = ["start", "die", "oom", "stop", "pause", "unpause", "destroy", "restart"]

    /// Sends `node.event` notifications for managed containers until cancelled. Events count from
    /// the moment the request was read, not from when the engine's stream opened: the first request
    /// asks for them `since` then. When the stream drops (engine restart), it reconnects with `since`
    /// the last event delivered, so no event in between is lost and none is sent twice.
    public func subscribeEvents(context: RequestContext) async throws -> StreamEnd {
        subscribers.add(context)
        defer { subscribers.remove(context) }
        let filters = String(decoding: try encodeJSON(["type": ["container"], "label": ownershipFilters]), as: UTF8.self)
        // Whole seconds and the fraction apart: seconds times 1e9 in a Double would round to 256 ns.
        let arrival = context.receivedAt.timeIntervalSince1970
        let arrivalSeconds = arrival.rounded(.down)
        let subscribedAt = Int64(arrivalSeconds) * 1_000_000_000 + Int64(((arrival - arrivalSeconds) * 1e9).rounded(.down))
        var since: Int64? = nil  // nanoseconds of the last event delivered
        var seen = Set<String>()  // events at exactly `since`, against duplicates after a reconnect
        var delay = Duration.milliseconds(100)
        var sent = 0
        while true {
            try Task.checkCancellation()
            // The engine's clock stamps the events. Docker filters only its replay by `since`, never
            // live events; Podman filters both, so a remote Podman host whose clock runs behind ours
            // by d would hold back the first d of events: engines here are local (one clock).
            let query = [("filters", filters), ("since", unixSecondsText(nanoseconds: since ?? subscribedAt))]
            do {
                let stream = try await client.stream(HTTPRequest(.get, target("/events", query)), highWater: 256 << 10)
                delay = .milliseconds(100)
                var lines = JSONLineSplitter()
                for try await chunk in stream {
                    for line in lines.feed(chunk) {
                        guard let event = try? JSONDecoder().decode(EngineEvent.self, from: Data(line)),
                            let rawAction = event.action, let id = event.actor?.id
                        else { continue }
                        let action = String(rawAction.prefix { $0 != ":" })
                        let nanos = event.timeNano ?? (event.time ?? 0) * 1_000_000_000
                        let key = "\(nanos)|\(id)|\(rawAction)"
                        if let since, nanos < since || (nanos == since && seen.contains(key)) { continue }
                        if nanos != since { seen = [] }
                        seen.insert(key)
                        since = nanos
                        guard Self.reportedActions.contains(action) else { continue }
                        // Podman ORs label filters where Docker ANDs them: the owner is checked here too.
                        if let ownerID = config.ownerId, event.actor?.attributes?[Self.ownerLabel] != ownerID { continue }
                        var params = JSONObject()
                        params["externalId"] = .string(id)
                        params["nodeId"] = .string(event.actor?.attributes?[Labels.nodeID] ?? id)
                        params["action"] = .string(action)
                        if action == "die", let code = event.actor?.attributes?["exitCode"].flatMap(Int64.init) {
                            params["exitCode"] = .integer(code)
                        }
                        params["time"] = .string(Timestamp.format(Date(timeIntervalSince1970: Double(nanos) / 1e9)))
                        params["requestId"] = context.id.json
                        guard await context.notify("node.event", params: .object(params)) else { throw CancellationError() }
                        sent += 1
                    }
                }
            } catch let error as EngineError where error.code != .cancelled && error.code != .http {
                context.logger.info("event stream dropped; reconnecting", metadata: ["error": "\(error.reason)"])
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }
}

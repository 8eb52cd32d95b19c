/// The engine's event stream, `GET /events`.
extension EngineClient {
    /// `GET /events?filters=&since=`: events matching `filters` from `since` (seconds since the
    /// epoch, e.g. `"1700000000.000000001"`) on, a line of JSON each, unbounded in time and read
    /// with a 256 KiB buffer; lines that are not events are skipped. `filters` is the engine's JSON
    /// map of lists as text (its order kept: see ``EngineQuery/filters(_:)`` to build one).
    /// - Throws: ``EngineError``.
    public func events(filters: String, since: String) async throws -> JSONLines<EventMessage> {
        let stream = try await stream(
            HTTPRequest(.get, EngineQuery.target("/events", [("filters", filters), ("since", since)])), highWater: 256 << 10,
            bound: .none)
        return JSONLines(stream)
    }
}

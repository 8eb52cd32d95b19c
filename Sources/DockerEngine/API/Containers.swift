import FoundationEssentials
import JSONCoding

/// Containers: `/containers/…` and `/commit`. Ids and names are percent-encoded as path segments;
/// an engine 404 is thrown as ``EngineError`` with code ``EngineError/Code/notFound``.
extension EngineClient {
    /// `POST /containers/create[?name=]`: creates a container.
    /// - Returns: the new container's full id.
    /// - Throws: ``EngineError`` (`.notFound` for a missing image, `.http` 409 for a name in use).
    public func createContainer(_ body: ContainerCreateBody, name: String? = nil) async throws -> String {
        let query = name.map { [("name", $0)] } ?? []
        return try await call(.post, "/containers/create", query, body: try EngineQuery.encodeBody(body), as: IDResponse.self).id
    }

    /// `GET /containers/{id}/json`: the engine's record of a container.
    /// - Throws: ``EngineError`` `.notFound` for no such container.
    public func inspectContainer(_ id: String) async throws -> ContainerInspect {
        try await call(.get, "/containers/\(EngineQuery.escapePath(id))/json", as: ContainerInspect.self)
    }

    /// `GET /containers/json?all=…&filters=…`: the containers matching `filters` (e.g.
    /// `["label": ["k=v"]]`, `["ancestor": [imageID]]`), stopped ones too when `all`.
    /// - Throws: ``EngineError``.
    public func listContainers(all: Bool = true, filters: [String: [String]]) async throws -> [ContainerSummary] {
        try await call(
            .get, "/containers/json", [("all", all ? "true" : "false"), ("filters", try EngineQuery.filters(filters))],
            as: [ContainerSummary].self)
    }

    /// `POST /containers/{id}/start`; an already running container (304) is success.
    /// - Throws: ``EngineError`` `.notFound` for no such container.
    public func startContainer(_ id: String) async throws {
        try await call(.post, "/containers/\(EngineQuery.escapePath(id))/start")
    }

    /// `POST /containers/{id}/stop?t=`: stops a container, killing it after `timeoutSeconds`; the
    /// request may take that long plus 30 s. An already stopped container (304) is success.
    /// - Throws: ``EngineError`` `.notFound` for no such container.
    public func stopContainer(_ id: String, timeoutSeconds: Int) async throws {
        try await call(
            .post, "/containers/\(EngineQuery.escapePath(id))/stop", [("t", String(timeoutSeconds))],
            timeout: .seconds(timeoutSeconds + 30))
    }

    /// `POST /containers/{id}/restart?t=`, bounded like ``stopContainer(_:timeoutSeconds:)``.
    /// - Throws: ``EngineError`` `.notFound` for no such container.
    public func restartContainer(_ id: String, timeoutSeconds: Int) async throws {
        try await call(
            .post, "/containers/\(EngineQuery.escapePath(id))/restart", [("t", String(timeoutSeconds))],
            timeout: .seconds(timeoutSeconds + 30))
    }

    /// `POST /containers/{id}/pause`.
    /// - Throws: ``EngineError`` `.notFound` for no such container, `.http` 409 when it does not run.
    public func pauseContainer(_ id: String) async throws {
        try await call(.post, "/containers/\(EngineQuery.escapePath(id))/pause")
    }

    /// `POST /containers/{id}/unpause`.
    /// - Throws: ``EngineError`` `.notFound` for no such container, `.http` 409 when it is not paused.
    public func unpauseContainer(_ id: String) async throws {
        try await call(.post, "/containers/\(EngineQuery.escapePath(id))/unpause")
    }

    /// `DELETE /containers/{id}?force=&v=`: removes a container (`force`: even running; `volumes`:
    /// with its anonymous volumes).
    /// - Throws: ``EngineError`` `.notFound` for no such container.
    public func removeContainer(_ id: String, force: Bool = true, volumes: Bool = true) async throws {
        try await call(
            .delete, "/containers/\(EngineQuery.escapePath(id))", [("force", force ? "true" : "false"), ("v", volumes ? "true" : "false")])
    }

    /// `POST /commit?container=&repo=&tag=&pause=true`: commits a container's filesystem as image
    /// `repo:tag` carrying `labels` (bounded by 600 s).
    /// - Returns: the new image's id (Docker: `sha256:<hex>`; Podman: the bare hex).
    /// - Throws: ``EngineError``.
    public func commitContainer(_ id: String, repo: String, tag: String, labels: [String: String]) async throws -> String {
        let query = [("container", id), ("repo", repo), ("tag", tag), ("pause", "true")]
        return try await call(
            .post, "/commit", query, body: try EngineQuery.encodeBody(CommitBody(labels: labels)), timeout: .seconds(600),
            as: IDResponse.self
        ).id
    }

    /// `GET /containers/{id}/stats?stream=false&one-shot=true`: one sample; nil when its body is not
    /// a stats object (a stopped container's read may be empty).
    /// - Throws: ``EngineError`` `.notFound` for no such container, `.http` 409 for one going away.
    public func containerStats(_ id: String) async throws -> ContainerStats? {
        let response = try await send(HTTPRequest(.get, "/containers/\(EngineQuery.escapePath(id))/stats?stream=false&one-shot=true"))
        return try? JSONBytesDecoder().decode(ContainerStats.self, from: response.body)
    }

    /// `GET /containers/{id}/stats?stream=true`: a sample about every second, unbounded in time,
    /// read with a 256 KiB buffer; lines that are not samples are skipped.
    /// - Throws: ``EngineError`` `.notFound` for no such container.
    public func containerStatsStream(_ id: String) async throws -> JSONLines<ContainerStats> {
        let stream = try await stream(
            HTTPRequest(.get, "/containers/\(EngineQuery.escapePath(id))/stats?stream=true"), highWater: 256 << 10, bound: .none)
        return JSONLines(stream)
    }

    /// `GET /containers/{id}/logs?…`: the container's output, multiplexed (see ``StreamDemuxer``)
    /// unless it has a TTY. A followed log is unbounded in time; a collected one is bounded by
    /// ``streamStall``.
    /// - Throws: ``EngineError`` `.notFound` for no such container.
    public func containerLogs(_ id: String, _ options: LogsOptions) async throws -> ResponseStream {
        try await stream(
            HTTPRequest(.get, EngineQuery.target("/containers/\(EngineQuery.escapePath(id))/logs", options.query)),
            bound: options.follow ? .none : .stall)
    }
}

/// The parameters of `GET /containers/{id}/logs`.
public struct LogsOptions: Sendable, Equatable {
    /// `tail`: a number of lines, or `all`; nil leaves it out.
    public var tail: String?
    /// `since`: seconds since the epoch (`"1700000000"` or with a fraction, `"1700000000.000000001"`).
    public var since: String?
    /// `timestamps`: prefix each line with its RFC 3339 time.
    public var timestamps = false
    /// `follow`: keep the stream open for new output.
    public var follow = false

    /// Both streams, no other parameter.
    public init(tail: String? = nil, since: String? = nil) {
        self.tail = tail
        self.since = since
    }

    /// The query, in the order `stdout, stderr, tail, since, timestamps, follow`.
    public var query: [(String, String)] {
        var query = [("stdout", "true"), ("stderr", "true")]
        if let tail { query.append(("tail", tail)) }
        if let since { query.append(("since", since)) }
        if timestamps { query.append(("timestamps", "true")) }
        if follow { query.append(("follow", "true")) }
        return query
    }
}

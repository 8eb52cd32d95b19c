/// Execs: `/containers/{id}/exec` and `/exec/{id}/…`.
extension EngineClient {
    /// `POST /containers/{id}/exec`: creates an exec (not started).
    /// - Returns: the exec's id.
    /// - Throws: ``EngineError`` `.notFound` for no such container, `.http` 409 (Docker) or 500
    ///   (Podman) for one that does not run.
    public func createExec(in containerID: String, _ body: ExecCreateBody) async throws -> String {
        try await call(
            .post, "/containers/\(EngineQuery.escapePath(containerID))/exec", body: try EngineQuery.encodeBody(body),
            as: IDResponse.self
        ).id
    }

    /// `POST /exec/{id}/start` with `{"Detach":true}`: starts an exec and returns at once.
    /// - Throws: ``EngineError`` `.notFound` for no such exec.
    public func startExecDetached(_ id: String) async throws {
        try await send(HTTPRequest(.post, Self.execStartPath(id), body: Self.startBody(detach: true, tty: false)))
    }

    /// `POST /exec/{id}/start`: starts an exec and streams its output (multiplexed, see
    /// ``StreamDemuxer``, unless `tty`), unbounded in time: a quiet process is no stall.
    /// - Throws: ``EngineError`` `.notFound` for no such exec, `.http` 500 when Podman cannot start it.
    public func startExec(_ id: String, tty: Bool = false) async throws -> ResponseStream {
        try await stream(HTTPRequest(.post, Self.execStartPath(id), body: Self.startBody(detach: false, tty: tty)), bound: .none)
    }

    /// `POST /exec/{id}/start` hijacking the connection: the stream yields the output and takes stdin.
    /// - Throws: ``EngineError`` `.notFound` for no such exec, `.http` for another refusal.
    public func startExecAttached(_ id: String, tty: Bool = false) async throws -> HijackedStream {
        try await hijack(HTTPRequest(.post, Self.execStartPath(id), body: Self.startBody(detach: false, tty: tty)))
    }

    /// `GET /exec/{id}/json`: the engine's record of an exec (dropped when its container exits).
    /// - Throws: ``EngineError`` `.notFound` for no such exec.
    public func inspectExec(_ id: String) async throws -> ExecInspect {
        try await call(.get, "/exec/\(EngineQuery.escapePath(id))/json", as: ExecInspect.self)
    }

    /// `POST /exec/{id}/resize?h=&w=`: a TTY exec's terminal size, in character cells.
    /// - Throws: ``EngineError`` `.notFound` for no such exec.
    public func resizeExec(_ id: String, rows: Int, columns: Int) async throws {
        try await call(.post, "/exec/\(EngineQuery.escapePath(id))/resize", [("h", "\(rows)"), ("w", "\(columns)")])
    }

    private static func execStartPath(_ id: String) -> String { "/exec/\(EngineQuery.escapePath(id))/start" }

    /// `{"Detach":…,"Tty":…}`, byte for byte as the worker has always sent it.
    static func startBody(detach: Bool, tty: Bool) -> [UInt8] {
        Array(#"{"Detach":\#(detach),"Tty":\#(tty)}"#.utf8)
    }
}

/// The engine itself (`/version`, `/info`) and its volumes (`/volumes/…`). `GET /_ping` is
/// ``ping(timeout:)``, used by version negotiation.
extension EngineClient {
    /// `GET /version`: the engine's version, API version, OS and architecture.
    /// - Throws: ``EngineError``.
    public func version() async throws -> SystemVersion {
        try await call(.get, "/version", as: SystemVersion.self)
    }

    /// `GET /info`: the engine's configuration (the parts in ``SystemInfo``).
    /// - Throws: ``EngineError``.
    public func info() async throws -> SystemInfo {
        try await call(.get, "/info", as: SystemInfo.self)
    }

    /// `GET /volumes/{name}`: whether the volume exists (its record is not read).
    /// - Throws: ``EngineError`` `.notFound` for no such volume.
    public func inspectVolume(_ name: String) async throws {
        try await call(.get, "/volumes/\(EngineQuery.escapePath(name))")
    }

    /// `POST /volumes/create`: creates a named local volume with `labels`.
    /// - Throws: ``EngineError``.
    public func createVolume(name: String, labels: [String: String]) async throws {
        try await send(
            HTTPRequest(.post, "/volumes/create", body: try EngineQuery.encodeBody(VolumeCreateBody(name: name, labels: labels))))
    }

    /// `GET /volumes?filters=`: the volumes matching `filters` (e.g. `["dangling": ["true"]]`).
    /// - Throws: ``EngineError``.
    public func listVolumes(filters: [String: [String]]) async throws -> [Volume] {
        try await call(.get, "/volumes", [("filters", try EngineQuery.filters(filters))], as: VolumeListResponse.self).volumes ?? []
    }

    /// `DELETE /volumes/{name}`.
    /// - Throws: ``EngineError`` `.notFound` for no such volume, `.http` 409 while a container uses it.
    public func removeVolume(_ name: String) async throws {
        try await call(.delete, "/volumes/\(EngineQuery.escapePath(name))")
    }
}

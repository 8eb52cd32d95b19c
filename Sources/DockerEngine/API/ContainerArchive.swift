/// A container's filesystem through `/containers/{id}/archive` (tar archives).
extension EngineClient {
    /// `HEAD /containers/{id}/archive?path=`: the engine's answer whatever its status, for the
    /// path-stat header (`X-Docker-Container-Path-Stat`), which Podman sends even with a 404.
    /// Use ``EngineClient/httpError(head:body:request:)`` with ``archiveStatRequest(_:path:)`` to throw one.
    /// - Throws: ``EngineError`` only when no answer came.
    public func statArchivePath(_ id: String, path: String) async throws -> HTTPResponse {
        try await sendAnyStatus(archiveStatRequest(id, path: path))
    }

    /// The request ``statArchivePath(_:path:)`` sends.
    public func archiveStatRequest(_ id: String, path: String) -> HTTPRequest {
        HTTPRequest(.head, Self.archiveTarget(id, [("path", path)]))
    }

    /// `GET /containers/{id}/archive?path=`: a tar archive of `path` (a file, or a folder with its
    /// contents), streamed with a `highWater`-byte buffer and bounded by ``streamStall``.
    /// - Throws: ``EngineError`` `.notFound` for no such container or path, `.http` 500 with the
    ///   engine's message when it cannot resolve the path (a link loop).
    public func getArchive(_ id: String, path: String, highWater: Int = 1 << 20) async throws -> ResponseStream {
        try await stream(HTTPRequest(.get, Self.archiveTarget(id, [("path", path)])), highWater: highWater)
    }

    /// `PUT /containers/{id}/archive?path=[&noOverwriteDirNonDir=true]`: extracts the tar `archive`
    /// into the folder `path`.
    /// - Throws: ``EngineError`` `.notFound` for no such container or folder, `.http` for a refusal
    ///   (a read-only root filesystem, a file where a folder would go).
    public func putArchive(_ id: String, path: String, _ archive: [UInt8], noOverwriteDirNonDir: Bool = false) async throws {
        try await send(
            HTTPRequest(
                .put, Self.archiveTarget(id, Self.putQuery(path, noOverwriteDirNonDir)), body: archive,
                headers: [("Content-Type", "application/x-tar")]))
    }

    /// `PUT /containers/{id}/archive?path=[&noOverwriteDirNonDir=true]` with the tar written while the
    /// request runs (see ``upload(_:highWater:)``).
    /// - Throws: ``EngineError`` when libcurl cannot start the request; the engine's answer comes from
    ///   ``UploadStream/finish()`` (`.notFound` for no such folder).
    public func uploadArchive(_ id: String, path: String, noOverwriteDirNonDir: Bool = false) async throws -> UploadStream {
        try await upload(
            HTTPRequest(
                .put, Self.archiveTarget(id, Self.putQuery(path, noOverwriteDirNonDir)), headers: [("Content-Type", "application/x-tar")]))
    }

    private static func archiveTarget(_ id: String, _ query: [(String, String)]) -> String {
        EngineQuery.target("/containers/\(EngineQuery.escapePath(id))/archive", query)
    }

    private static func putQuery(_ path: String, _ noOverwriteDirNonDir: Bool) -> [(String, String)] {
        noOverwriteDirNonDir ? [("path", path), ("noOverwriteDirNonDir", "true")] : [("path", path)]
    }
}

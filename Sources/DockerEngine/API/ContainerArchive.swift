import FoundationEssentials
import JSONCoding

/// A container's filesystem through `/containers/{id}/archive` (tar archives).
extension EngineClient {
    /// `HEAD /containers/{id}/archive?path=`: the engine's stat of `path` (of a link itself, not
    /// its target), read from the `X-Docker-Container-Path-Stat` header, and its error, whatever the
    /// status: Podman sends a dangling link's stat with its 404.
    /// - Throws: ``EngineError`` only when no answer came.
    public func statArchivePath(_ id: String, path: String) async throws -> ArchivePathStat {
        let request = HTTPRequest(.head, Self.archiveTarget(id, [("path", path)]))
        let response = try await sendAnyStatus(request)
        return ArchivePathStat(
            stat: ContainerPathStat(header: response.head.header("x-docker-container-path-stat")),
            error: (200..<300).contains(response.head.status)
                ? nil : Self.httpError(head: response.head, body: response.body, request: request))
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

/// The answer to `HEAD /containers/{id}/archive`.
public struct ArchivePathStat: Sendable {
    /// The path's stat, when the engine sent one.
    public var stat: ContainerPathStat?
    /// The engine's refusal: `.notFound` for no such container or path (a dangling link on Podman,
    /// with its ``stat``), `.http` 500 when it cannot resolve the path (a HEAD answer has no body to
    /// say why); nil for success.
    public var error: EngineError?
}

/// A path's stat, as the engine sends it in `X-Docker-Container-Path-Stat` (base64 of JSON).
public struct ContainerPathStat: Decodable, Sendable {
    /// The last component of the path.
    public var name: String
    /// Bytes.
    public var size: Int
    /// Go's `os.FileMode`: permission bits, and type bits high up (`1 << 31` directory, `1 << 27` symlink).
    public var mode: UInt32
    /// RFC 3339.
    public var mtime: String?
    /// A link's target, as written in the link.
    public var linkTarget: String?

    /// Whether the path is a directory.
    public var isDirectory: Bool { mode & (1 << 31) != 0 }
    /// Whether the path is a symbolic link.
    public var isSymlink: Bool { mode & (1 << 27) != 0 }
    /// The permission bits (with setuid, setgid and sticky).
    public var permissions: Int { Int(mode & 0o7777) }

    /// A stat with the given parts.
    public init(name: String, size: Int, mode: UInt32, mtime: String? = nil, linkTarget: String? = nil) {
        self.name = name
        self.size = size
        self.mode = mode
        self.mtime = mtime
        self.linkTarget = linkTarget
    }

    /// Decodes the header's value; nil when there is none or it is not a stat.
    public init?(header: String?) {
        guard let header, let data = Data(base64Encoded: header),
            let stat = try? JSONBytesDecoder().decode(Self.self, from: Array(data))
        else { return nil }
        self = stat
    }
}

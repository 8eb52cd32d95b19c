import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

// The `files` extension: read, write and mkdir go through the engine's archive endpoint (so they
// work on images without a shell, and on stopped containers); list and remove run the image's
// own `stat`/`rm`, since the archive endpoint cannot list a directory without sending its contents.
//
// Symbolic links follow one rule, docker cp's: links in the folders of a path are followed (by the
// engine); a link as the last component is followed by read, write, list and mkdir (a write or
// mkdir through a dangling link creates its target), and remove removes the link itself, as rm
// does. A chain of more than ``DockerProvider/maxLinkHops`` links (a loop) is -32009 saying so.

/// `files.read`.
public struct FilesReadRequest: RPCMethod {
    /// The method name, `"files.read"`.
    public static let name = "files.read"
    /// Answers ``FileContent``.
    public typealias Result = FileContent
    /// The node: its container id or name.
    public var externalId: String
    /// The file's absolute path in the node; a final link is followed.
    public var path: String
    /// How `content` should travel; nil: `.utf8` (bytes that are not UTF-8 then come as base64).
    public var encoding: OutputEncoding?
    /// The first byte to return; nil: 0.
    public var offset: Int?
    /// How many bytes to return, at most 48 MiB for a file over 48 MiB (then required); nil: to the end.
    public var length: Int?
}

/// What `files.read` answers.
public struct FileContent: Encodable, Sendable {
    /// The bytes, as text or base64 per `encoding`.
    public var content: String
    /// How `content` is encoded: `.base64` also when `.utf8` was asked for bytes that are not UTF-8.
    public var encoding: OutputEncoding
    /// The file's size in bytes (the whole file, also for a range).
    public var size: Int
    /// The file's permission bits as a number (e.g. 420 for 0o644).
    public var mode: Int
    /// When the file was last modified (RFC 3339, UTC); nil when the engine did not say.
    public var modifiedAt: String?
    /// The SHA-256 of the bytes returned, 64 lowercase hex digits.
    public var sha256: String
}

/// `files.write`.
public struct FilesWriteRequest: RPCMethod {
    /// The method name, `"files.write"`.
    public static let name = "files.write"
    /// Answers ``WriteResult``.
    public typealias Result = WriteResult
    /// The node: its container id or name.
    public var externalId: String
    /// The file's absolute path in the node; a final link is followed.
    public var path: String
    /// The bytes, as text or base64 per `encoding`.
    public var content: String
    /// How `content` is encoded; nil: `.utf8`.
    public var encoding: OutputEncoding?
    /// The file's permission bits, 0…0o7777 (beyond 0o777 only with `policy.allowSpecialModes`); nil: 0o644.
    public var mode: Int?
    /// Create missing parent folders (owned by the node's user); nil: true.
    public var createParents: Bool?
}

/// What `files.write` answers.
public struct WriteResult: Encodable, Sendable {
    /// Bytes written, as the engine reports the file's size.
    public var size: Int
    /// The SHA-256 of the bytes written, 64 lowercase hex digits.
    public var sha256: String
}

/// `files.list`.
public struct FilesListRequest: RPCMethod {
    /// The method name, `"files.list"`.
    public static let name = "files.list"
    /// Answers ``ListResult``.
    public typealias Result = ListResult
    /// The node: its container id or name.
    public var externalId: String
    /// The folder's absolute path in the node; a final link is followed.
    public var path: String
}

/// What `files.list` answers.
public struct ListResult: Encodable, Sendable {
    /// The folder's entries, one level deep, sorted by name.
    public var entries: [FileEntry]
}

/// One directory entry.
public struct FileEntry: Encodable, Sendable {
    /// The entry's name, exact (bytes that are not UTF-8 become U+FFFD).
    public var name: String
    /// The entry's absolute path.
    public var path: String
    /// `"file"`, `"directory"`, `"symlink"` or `"other"`.
    public var type: String
    /// Size in bytes (a link's: the length of its target).
    public var size: Int
    /// Permission bits as a number (e.g. 493 for 0o755).
    public var mode: Int
    /// When it was last modified (RFC 3339, UTC); nil when unknown.
    public var modifiedAt: String?
    /// A link's target as stored; nil for anything but a link.
    public var linkTarget: String?
}

/// `files.remove`.
public struct FilesRemoveRequest: RPCMethod {
    /// The method name, `"files.remove"`.
    public static let name = "files.remove"
    /// Answers `null`.
    public typealias Result = NullResult
    /// The node: its container id or name.
    public var externalId: String
    /// The absolute path to remove; a final link is removed itself, not its target.
    public var path: String
    /// Remove a non-empty folder with its contents; nil: false.
    public var recursive: Bool?
}

/// `files.mkdir`.
public struct FilesMkdirRequest: RPCMethod {
    /// The method name, `"files.mkdir"`.
    public static let name = "files.mkdir"
    /// Answers `null`.
    public typealias Result = NullResult
    /// The node: its container id or name.
    public var externalId: String
    /// The folder's absolute path in the node.
    public var path: String
    /// Create missing parent folders too (false: a missing parent is -32004); nil: true.
    public var recursive: Bool?
}

/// The engine's `X-Docker-Container-Path-Stat`.
typealias PathStat = ContainerPathStat

extension DockerProvider {
    /// The largest file `files.read` returns in one answer.
    static let maxReadBytes = 48 << 20

    /// Checks and normalizes an absolute in-container path ("." and ".." resolved lexically).
    static func containerPath(_ path: String, field: String = "path") throws -> String {
        guard path.hasPrefix("/") else { throw InvalidParams(field: field, reason: "must be an absolute path") }
        guard !path.contains("\0") else { throw InvalidParams(field: field, reason: "must not contain NUL") }
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part.utf8.count > 255 {
            // NAME_MAX: the engine would answer 500 ("file name too long") after a round trip.
            throw InvalidParams(field: field, reason: "has a name longer than 255 bytes (\(part.utf8.count))")
        }
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func base(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? ""
    }

    /// How many links in a row a path may go through before it counts as a loop (Linux's limit).
    static let maxLinkHops = 40

    /// The engine's stat of a path (a link itself, not its target), or nil when it does not exist.
    /// - Throws: ``ProviderError`` -32009 for a link loop in the path, -32004 for no such container.
    /// `containerKnown`: the container was just found, so a 404 means no such path (no inspect to tell).
    func stat(_ id: String, _ path: String, containerKnown: Bool = false) async throws -> PathStat? {
        let answer = try await client.statArchivePath(id, path: path)
        guard let error = answer.error else { return answer.stat }
        if error.isNotFound {
            // Podman answers a dangling link 404, with the link's stat.
            if let stat = answer.stat, stat.isSymlink { return stat }
            // 404 means either no container or no path: tell them apart.
            if !containerKnown { _ = try await inspectContainer(id) }
            return nil
        }
        if error.status == 500 {
            // A HEAD answer has no body: a 500 here is the engine failing to resolve the path,
            // which for an existing container is a link loop ("too many links"). A GET says
            // why (its error comes before any byte of an archive, which is never read).
            do {
                let stream = try await client.getArchive(id, path: path)
                stream.cancel()
            } catch let detail as EngineError {
                let message = "\(detail.engineMessage ?? "") \(detail.reason)".lowercased()
                if message.contains("too many links") || message.contains("too many levels of symbolic links") {
                    throw ProviderError(code: .conflict, reason: "\(path): too many levels of symbolic links (a link loop)")
                }
            }
        }
        throw error
    }

    /// Follows a link at the end of `path`, link after link, as docker cp does: the path of the
    /// file it ends at and that file's stat, or nil when it does not exist (no such path, or a
    /// dangling link, whose target is then the path to create).
    /// - Throws: ``ProviderError`` -32009 for a link loop.
    func resolveLinks(_ id: String, _ path: String) async throws -> (path: String, stat: PathStat?) {
        var current = path
        for _ in 0...Self.maxLinkHops {
            guard let stat = try await stat(id, current) else { return (current, nil) }
            guard stat.isSymlink, let link = stat.linkTarget, !link.isEmpty else { return (current, stat) }
            let next = try Self.containerPath(link.hasPrefix("/") ? link : Self.parent(current) + "/" + link)
            if next == current { break }
            current = next
        }
        throw ProviderError(code: .conflict, reason: "\(path): too many levels of symbolic links (a link loop)")
    }

    /// The numeric user and group of the node's user (`Config.User`: the spec's, the policy's or the
    /// image's), which own what `files.write` and `files.mkdir` create. Root for a node without one;
    /// a name is resolved in the node (`id`, run as that user).
    /// - Throws: ``ProviderError`` when the node's user cannot be resolved.
    func nodeUserIDs(_ id: String) async throws -> (uid: Int, gid: Int) {
        let user = try await inspectContainer(id).config?.user ?? ""
        if user.isEmpty { return (0, 0) }
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        if let uid = Int(parts[0]), parts.count == 2, let gid = Int(parts[1]) { return (uid, gid) }
        // A name, or a uid without its group: the node's own passwd and group files decide.
        let run = try await Self.runQuietly(client: client, containerID: id, command: ["id"], user: user)
        let text = String(decoding: run.output, as: UTF8.self)
        // `uid=65534(nobody) gid=65534(nogroup) …`
        func number(after key: String) -> Int? {
            for word in text.split(separator: " ") where word.hasPrefix(key) {
                return Int(word.dropFirst(key.count).prefix { $0.isNumber })
            }
            return nil
        }
        guard run.exitCode == 0, let uid = number(after: "uid="), let gid = number(after: "gid=") else {
            throw ProviderError(code: .engineError, reason: "could not resolve the node's user \(user) to ids (id exited \(run.exitCode))")
        }
        return (uid, gid)
    }

    /// The deepest existing folder at or above `path`, and the components below it that are missing.
    func existingAncestor(_ id: String, _ path: String) async throws -> (anchor: String, missing: [String]) {
        var current = path
        var missing: [String] = []
        while true {
            if let stat = try await stat(id, current) {
                guard stat.isDirectory || stat.isSymlink else {
                    throw ProviderError(code: .conflict, reason: "\(current) exists and is not a directory")
                }
                return (current, missing.reversed())
            }
            guard current != "/" else { return ("/", missing.reversed()) }
            missing.append(Self.base(current))
            current = Self.parent(current)
        }
    }

    func putArchive(_ id: String, at path: String, _ archive: [UInt8]) async throws {
        do {
            try await client.putArchive(id, path: path, archive, noOverwriteDirNonDir: true)
        } catch let error as EngineError where error.isNotFound {
            _ = try await inspectContainer(id)
            throw ProviderError(code: .notFound, reason: "the folder \(path) does not exist", status: 404)
        }
    }
}

// What the requests above say on their own; the method table checks it once, before the handler.

extension FilesReadRequest {
    /// Checks the path's form and that `offset` and `length` are not negative.
    /// - Throws: ``InvalidParams`` naming `path`, `offset` or `length`.
    public func validate() throws {
        _ = try DockerProvider.containerPath(path)
        if let offset, offset < 0 { throw InvalidParams(field: "offset", reason: "must not be negative") }
        if let length, length < 0 { throw InvalidParams(field: "length", reason: "must not be negative") }
    }
}
extension FilesWriteRequest {
    /// Checks that the path names a file (absolute, not `/`, not ending in `/`, `/.` or `/..`) and that `mode` is within 0…0o7777.
    /// - Throws: ``InvalidParams`` naming `path` or `mode`.
    public func validate() throws {
        guard try DockerProvider.containerPath(path) != "/" else { throw InvalidParams(field: "path", reason: "must name a file") }
        // "/srv/x/" (or "/srv/x/.") names a folder: a file cannot be written there.
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        if last.isEmpty || last == "." || last == ".." {
            throw InvalidParams(field: "path", reason: "must name a file, not end in /, /. or /..")
        }
        if let mode, !(0...0o7777).contains(mode) { throw InvalidParams(field: "mode", reason: "must be between 0 and 0o7777") }
    }
}
extension FilesListRequest {
    /// Checks the path's form: absolute, no NUL, no name over 255 bytes.
    /// - Throws: ``InvalidParams`` naming `path`.
    public func validate() throws { _ = try DockerProvider.containerPath(path) }
}
extension FilesRemoveRequest {
    /// Checks the path's form: absolute, no NUL, no name over 255 bytes.
    /// - Throws: ``InvalidParams`` naming `path`.
    public func validate() throws { _ = try DockerProvider.containerPath(path) }
}
extension FilesMkdirRequest {
    /// Checks the path's form: absolute, no NUL, no name over 255 bytes.
    /// - Throws: ``InvalidParams`` naming `path`.
    public func validate() throws { _ = try DockerProvider.containerPath(path) }
}

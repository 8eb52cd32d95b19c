import DockerEngine
import FoundationEssentials
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
    public static let name = "files.read"
    public typealias Result = FileContent
    public var externalId: String
    public var path: String
    public var encoding: OutputEncoding?
    public var offset: Int?
    public var length: Int?
}

/// What `files.read` answers.
public struct FileContent: Encodable, Sendable {
    public var content: String
    public var encoding: OutputEncoding
    public var size: Int
    public var mode: Int
    public var modifiedAt: String?
    public var sha256: String
}

/// `files.write`.
public struct FilesWriteRequest: RPCMethod {
    public static let name = "files.write"
    public typealias Result = WriteResult
    public var externalId: String
    public var path: String
    public var content: String
    public var encoding: OutputEncoding?
    public var mode: Int?
    public var createParents: Bool?
}

/// What `files.write` answers.
public struct WriteResult: Encodable, Sendable {
    public var size: Int
    public var sha256: String
}

/// `files.list`.
public struct FilesListRequest: RPCMethod {
    public static let name = "files.list"
    public typealias Result = ListResult
    public var externalId: String
    public var path: String
}

/// What `files.list` answers.
public struct ListResult: Encodable, Sendable {
    public var entries: [FileEntry]
}

/// One directory entry.
public struct FileEntry: Encodable, Sendable {
    public var name: String
    public var path: String
    public var type: String
    public var size: Int
    public var mode: Int
    public var modifiedAt: String?
    public var linkTarget: String?
}

/// `files.remove`.
public struct FilesRemoveRequest: RPCMethod {
    public static let name = "files.remove"
    public typealias Result = NullResult
    public var externalId: String
    public var path: String
    public var recursive: Bool?
}

/// `files.mkdir`.
public struct FilesMkdirRequest: RPCMethod {
    public static let name = "files.mkdir"
    public typealias Result = NullResult
    public var externalId: String
    public var path: String
    public var recursive: Bool?
}

/// The engine's `X-Docker-Container-Path-Stat`.
struct PathStat: Decodable, Sendable {
    var name: String
    var size: Int
    var mode: UInt32
    var mtime: String?
    var linkTarget: String?

    var isDirectory: Bool { mode & (1 << 31) != 0 }
    var isSymlink: Bool { mode & (1 << 27) != 0 }
    var permissions: Int { Int(mode & 0o7777) }
}

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
        let request = HTTPRequest(.head, target("/containers/\(id)/archive", [("path", path)]))
        let response = try await client.sendAnyStatus(request)
        let stat = Self.decodeStat(response.head.header("x-docker-container-path-stat"))
        switch response.head.status {
        case 200..<300:
            return stat
        case 404:
            // Podman answers a dangling link 404, with the link's stat.
            if let stat, stat.isSymlink { return stat }
            // 404 means either no container or no path: tell them apart.
            if !containerKnown { _ = try await inspectContainer(id) }
            return nil
        default:
            let error = EngineClient.httpError(head: response.head, body: response.body, request: request)
            if response.head.status == 500 {
                // A HEAD answer has no body: a 500 here is the engine failing to resolve the path,
                // which for an existing container is a link loop ("too many links"). A GET says
                // why (its error comes before any byte of an archive, which is never read).
                do {
                    let stream = try await client.stream(HTTPRequest(.get, request.target))
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

    static func decodeStat(_ header: String?) -> PathStat? {
        guard let header, let data = Data(base64Encoded: header) else { return nil }
        return try? JSONDecoder().decode(PathStat.self, from: data)
    }

    /// `files.read`: the bytes of one file (symlinks followed), by the archive endpoint.
    public func readFile(_ request: FilesReadRequest) async throws -> FileContent {
        try Validation.checkExternalID(request.externalId)
        try request.validate()
        let (path, found) = try await resolveLinks(request.externalId, try Self.containerPath(request.path))
        do {
            guard let stat = found else {
                throw ProviderError(code: .notFound, reason: "no such file: \(request.path)", status: 404)
            }
            if stat.isDirectory { throw ProviderError(code: .conflict, reason: "\(request.path) is a directory") }
            if stat.size > Self.maxReadBytes {
                // Too big to take whole through the archive endpoint: a part of it, read in the container.
                return try await readRange(request, path: path, stat: stat)
            }
            let stream = try await client.stream(HTTPRequest(.get, target("/containers/\(request.externalId)/archive", [("path", path)])))
            var reader = TarReader()
            var file: TarReader.Entry?
            var received = 0
            for try await chunk in stream {
                received += chunk.count
                if received > Self.maxReadBytes + 1 << 20 {
                    stream.cancel()
                    throw ProviderError(
                        code: .conflict,
                        reason:
                            "\(request.path) grew past \(Self.maxReadBytes) bytes while it was read; read it in parts with offset and length"
                    )
                }
                for entry in try reader.feed(chunk) where file == nil { file = entry }
            }
            guard let file else { throw ProviderError(code: .engineError, reason: "the engine sent an empty archive for \(request.path)") }
            var bytes = file.contents[...]
            let start = min(request.offset ?? 0, bytes.count)
            bytes = bytes.dropFirst(start)
            if let length = request.length { bytes = bytes.prefix(length) }
            return Self.fileContent(Array(bytes), request: request, size: file.header.size, stat: stat)
        }
    }

    private static func fileContent(_ slice: [UInt8], request: FilesReadRequest, size: Int, stat: PathStat) -> FileContent {
        var encoding = request.encoding ?? .utf8
        var content: String
        if encoding == .utf8, let text = String(validating: slice, as: UTF8.self) {
            content = text
        } else {
            encoding = .base64
            content = Data(slice).base64EncodedString()
        }
        return FileContent(
            content: content, encoding: encoding, size: size, mode: stat.permissions, modifiedAt: Timestamp.normalize(stat.mtime),
            sha256: SHA256.hex(slice))
    }

    /// `offset`/`length` of a file over ``maxReadBytes``, cut out in the container by the worker's
    /// busybox `dd` (as root; the image's `tail` and `head` without it), so only the part travels;
    /// the byte count is checked against the file's size.
    private func readRange(_ request: FilesReadRequest, path: String, stat: PathStat) async throws -> FileContent {
        let offset = min(request.offset ?? 0, stat.size)
        guard let length = request.length, length <= Self.maxReadBytes else {
            throw InvalidParams(
                field: "length",
                reason:
                    "\(request.path) has \(stat.size) bytes, more than \(Self.maxReadBytes) can be read at once: read parts of at most that many bytes with offset and length"
            )
        }
        let expected = min(length, stat.size - offset)
        let tools = await fileTools(request.externalId)
        // The worker's busybox `dd` seeks to any 64-bit offset in any image; busybox `tail -c +N`
        // (the fallback, with the image's own tools) stops at 2^31.
        let command =
            tools.isEmpty
            ? ["sh", "-c", #"tail -c "+$2" -- "$1" 2>/dev/null | head -c "$3" 2>/dev/null"#, "sh", path, "\(offset + 1)", "\(length)"]
            : tools + ["dd", "if=\(path)", "bs=65536", "iflag=skip_bytes,count_bytes", "skip=\(offset)", "count=\(length)", "status=none"]
        let run = try await Self.runQuietly(client: client, containerID: request.externalId, command: command)
        guard run.output.count == expected else {
            throw ProviderError(
                code: .engineError,
                reason:
                    "reading \(expected) bytes of \(request.path) at \(offset) gave \(run.output.count)\(tools.isEmpty ? " (the image needs tail and head)" : "")"
            )
        }
        return Self.fileContent(run.output, request: request, size: stat.size, stat: stat)
    }

    /// `files.write`: one file, whole or not at all; parents made on request; size checked back.
    public func writeFile(_ request: FilesWriteRequest) async throws -> WriteResult {
        try Validation.checkExternalID(request.externalId)
        try request.validate()
        // A link's target is written, the link stays (docker cp); a dangling link gets its target.
        let (path, existing) = try await resolveLinks(request.externalId, try Self.containerPath(request.path))
        if existing?.isDirectory == true { throw ProviderError(code: .conflict, reason: "\(request.path) is a directory") }
        let bytes: [UInt8]
        switch request.encoding ?? .utf8 {
        case .utf8: bytes = Array(request.content.utf8)
        case .base64:
            guard let data = Data(base64Encoded: request.content) else {
                throw InvalidParams(field: "content", reason: "is not valid base64")
            }
            bytes = Array(data)
        }
        let mode = request.mode ?? 0o644
        let (anchor, missing) = try await existingAncestor(request.externalId, Self.parent(path))
        if !missing.isEmpty && request.createParents == false {
            throw ProviderError(code: .notFound, reason: "the folder \(Self.parent(path)) does not exist", status: 404)
        }
        let owner = try await nodeUserIDs(request.externalId)
        if existing != nil, let temporary = try await temporaryForReplacing(request.externalId, folder: Self.parent(path)) {
            try await replaceFile(
                request.externalId, path: path, temporary: temporary, bytes: bytes, mode: mode, owner: owner, shownPath: request.path)
            return WriteResult(size: bytes.count, sha256: SHA256.hex(bytes))
        }
        var tar = TarWriter()
        let now = Int(Date().timeIntervalSince1970)
        var prefix = ""
        for component in missing {
            prefix += component + "/"
            tar.addDirectory(name: prefix, modifiedAt: now, uid: owner.uid, gid: owner.gid)
        }
        try tar.addFile(name: prefix + Self.base(path), contents: bytes, mode: mode, modifiedAt: now, uid: owner.uid, gid: owner.gid)
        let archive = tar.finished()
        try await fileWrites.withLock("\(request.externalId)\u{0}\(path)") {
            try await putArchive(request.externalId, at: anchor, archive)
            guard let written = try await stat(request.externalId, path), !written.isDirectory, written.size == bytes.count else {
                throw ProviderError(code: .engineError, reason: "the write to \(request.path) did not land in full")
            }
        }
        return WriteResult(size: bytes.count, sha256: SHA256.hex(bytes))
    }

    /// `files.mkdir`: by the archive endpoint, so no shell is needed.
    public func makeDirectory(_ request: FilesMkdirRequest) async throws {
        try Validation.checkExternalID(request.externalId)
        let (path, found) = try await resolveLinks(request.externalId, try Self.containerPath(request.path))
        if let existing = found {
            if existing.isDirectory { return }
            throw ProviderError(code: .conflict, reason: "\(request.path) exists and is not a directory")
        }
        let (anchor, missing) = try await existingAncestor(request.externalId, path)
        if missing.count > 1 && request.recursive == false {
            throw ProviderError(code: .notFound, reason: "the folder \(Self.parent(path)) does not exist", status: 404)
        }
        let owner = try await nodeUserIDs(request.externalId)
        var tar = TarWriter()
        var prefix = ""
        let now = Int(Date().timeIntervalSince1970)
        for component in missing {
            prefix += component + "/"
            tar.addDirectory(name: prefix, modifiedAt: now, uid: owner.uid, gid: owner.gid)
        }
        try await putArchive(request.externalId, at: anchor, tar.finished())
    }

    /// `files.list`: one level, sorted by name, without reading any file's contents.
    public func listDirectory(_ request: FilesListRequest) async throws -> ListResult {
        try Validation.checkExternalID(request.externalId)
        let path = try Self.containerPath(request.path)
        guard let stat = try await resolveLinks(request.externalId, path).stat else {
            throw ProviderError(code: .notFound, reason: "no such folder: \(request.path)", status: 404)
        }
        guard stat.isDirectory else { throw ProviderError(code: .conflict, reason: "\(request.path) is not a directory") }
        // Names cannot contain "/" or NUL (they may contain newlines): "/" separates the fields, the
        // name comes last, and NUL ends each record.
        let script = #"""
            cd -- "$1" 2>/dev/null || exit 20
            for f in * .*; do
              [ "$f" = . ] || [ "$f" = .. ] && continue
              [ -e "$f" ] || [ -L "$f" ] || continue
              printf '%s/%s\0' "$(stat -c '%f/%s/%Y' -- "$f")" "$f"
              # The target as it is, trailing newlines included ($(…) would strip them): a dot guards the
              # end, and then the one newline readlink adds is cut.
              if [ -L "$f" ]; then t=$(readlink -- "$f"; echo .); t=${t%.}; printf '>%s\0' "${t%?}"; fi
            done
            exit 0
            """#
        let run = try await Self.runQuietly(client: client, containerID: request.externalId, command: ["sh", "-c", script, "sh", path])
        guard run.exitCode == 0 else {
            if run.exitCode == 20 { throw ProviderError(code: .conflict, reason: "\(request.path) is not a directory") }
            throw ProviderError(
                code: .engineError, reason: "listing \(request.path) failed: \(String(decoding: run.output.prefix(300), as: UTF8.self))")
        }
        var entries: [FileEntry] = []
        for record in run.output.split(separator: 0, omittingEmptySubsequences: true) {
            let line = Substring(String(decoding: record, as: UTF8.self))
            if line.hasPrefix(">"), !entries.isEmpty {
                entries[entries.count - 1].linkTarget = String(line.dropFirst())
                continue
            }
            let fields = line.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, let rawMode = Int(fields[0], radix: 16), let size = Int(fields[1]), let mtime = Int(fields[2]) else {
                continue
            }
            let name = String(fields[3])
            let type: String
            switch rawMode & 0o170000 {
            case 0o100000: type = "file"
            case 0o040000: type = "directory"
            case 0o120000: type = "symlink"
            default: type = "other"
            }
            entries.append(
                FileEntry(
                    name: name, path: path == "/" ? "/\(name)" : "\(path)/\(name)", type: type, size: size, mode: rawMode & 0o7777,
                    modifiedAt: Timestamp.format(Date(timeIntervalSince1970: TimeInterval(mtime))), linkTarget: nil))
        }
        return ListResult(entries: entries.sorted { $0.name < $1.name })
    }

    /// `files.remove`: a file, an empty folder, or (recursive) a tree.
    public func removePath(_ request: FilesRemoveRequest) async throws {
        try Validation.checkExternalID(request.externalId)
        let path = try Self.containerPath(request.path)
        guard path != "/" else { throw InvalidParams(field: "path", reason: "must not be /") }
        guard let stat = try await stat(request.externalId, path) else {
            throw ProviderError(code: .notFound, reason: "no such file or folder: \(request.path)", status: 404)
        }
        let command: [String]
        if stat.isDirectory && !stat.isSymlink {
            command = request.recursive == true ? ["rm", "-rf", "--", path] : ["rmdir", "--", path]
        } else {
            command = ["rm", "-f", "--", path]
        }
        let run = try await Self.runQuietly(client: client, containerID: request.externalId, command: command)
        guard run.exitCode == 0 else {
            let output = String(decoding: run.output.prefix(300), as: UTF8.self).trimmedOfWhitespace()
            let code: ErrorCode = stat.isDirectory && request.recursive != true ? .conflict : .engineError
            throw ProviderError(code: code, reason: "removing \(request.path) failed: \(output)")
        }
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
            try await client.send(
                HTTPRequest(
                    .put, target("/containers/\(id)/archive", [("path", path), ("noOverwriteDirNonDir", "true")]), body: archive,
                    headers: [("Content-Type", "application/x-tar")]))
        } catch let error as EngineError where error.status == 404 {
            _ = try await inspectContainer(id)
            throw ProviderError(code: .notFound, reason: "the folder \(path) does not exist", status: 404)
        }
    }
}

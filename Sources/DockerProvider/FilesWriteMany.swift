import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

// `files.writeMany`: many files in one archive upload. The engine extracts one tar per request,
// so the cost of a write (a chrooted extraction in the engine) is paid once, not once per file.

/// `files.writeMany` (protocol 1.1).
public struct FilesWriteManyRequest: RPCMethod {
    /// The method name, `"files.writeMany"`.
    public static let name = "files.writeMany"
    /// Answers ``WriteManyResult``.
    public typealias Result = WriteManyResult
    /// The node: its container id or name.
    public var externalId: String
    /// The files, 1 to 10000, each a different path.
    public var files: [FileToWrite]
    /// Create missing parent folders (owned by the node's user); nil: true.
    public var createParents: Bool?
}

/// One file of `files.writeMany`: as `files.write` takes it.
public struct FileToWrite: Decodable, Sendable {
    /// The file's absolute path; a final link is replaced by the file.
    public var path: String
    /// The bytes, as text or base64 per `encoding`.
    public var content: String
    /// How `content` is encoded; nil: `.utf8`.
    public var encoding: OutputEncoding?
    /// Permission bits, 0…0o7777 (beyond 0o777 only with `policy.allowSpecialModes`); nil: 0o644.
    public var mode: Int?
}

/// What `files.writeMany` answers: per file, in the order asked, what landed.
public struct WriteManyResult: Encodable, Sendable {
    /// Per file, in the order asked.
    public var files: [WrittenFile]
}

/// One file written: its path as given, its size in bytes, the hex SHA-256 of its bytes.
public struct WrittenFile: Encodable, Sendable {
    /// The path as given.
    public var path: String
    /// Bytes written.
    public var size: Int
    /// The SHA-256 of the bytes, 64 lowercase hex digits.
    public var sha256: String
}

extension FilesWriteManyRequest: NodeRequest {
    /// The most files one `files.writeMany` takes.
    static let maxFiles = 10_000

    /// Checks the count (1…10000), each path (a file path, no two naming the same file) and each `mode` (0…0o7777).
    /// - Throws: ``InvalidParams`` naming `files`, `files[i].path` or `files[i].mode`.
    public func validate() throws {
        guard !files.isEmpty else { throw InvalidParams(field: "files", reason: "must not be empty") }
        guard files.count <= Self.maxFiles else { throw InvalidParams(field: "files", reason: "must hold at most \(Self.maxFiles) files") }
        var seen: [String: Int] = [:]
        for (index, file) in files.enumerated() {
            let field = "files[\(index)].path"
            let path = try DockerProvider.checkFilePath(file.path, field: field)
            if let earlier = seen[path] {
                throw InvalidParams(field: field, reason: "names the same file as files[\(earlier)].path (\(path))")
            }
            seen[path] = index
            if let mode = file.mode, !(0...0o7777).contains(mode) {
                throw InvalidParams(field: "files[\(index)].mode", reason: "must be between 0 and 0o7777")
            }
        }
    }
}

extension DockerProvider {
    /// Checks a path that must name a file: absolute, not "/", not ending in `/`, `/.` or `/..`.
    /// Returns it normalized.
    /// - Throws: ``InvalidParams`` naming `field`.
    static func checkFilePath(_ path: String, field: String) throws -> String {
        let normalized = try containerPath(path, field: field)
        guard normalized != "/" else { throw InvalidParams(field: field, reason: "must name a file") }
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        if last.isEmpty || last == "." || last == ".." {
            throw InvalidParams(field: field, reason: "must name a file, not end in /, /. or /..")
        }
        return normalized
    }

    /// The bytes of `content` in `encoding` (utf8 when nil).
    /// - Throws: ``InvalidParams`` naming `field` for bad base64.
    static func decodeContent(_ content: String, _ encoding: OutputEncoding?, field: String) throws -> [UInt8] {
        switch encoding ?? .utf8 {
        case .utf8: return Array(content.utf8)
        case .base64:
            guard let bytes = Base64.decode(content) else { throw InvalidParams(field: field, reason: "is not valid base64") }
            return bytes
        }
    }

    /// `files.writeMany`: every file in one archive upload, rooted at the deepest existing folder
    /// common to them all, with the missing parents (owned by the node's user) before the files.
    /// The engine extracts the archive in order and stops at the first failure, so a failure that
    /// the checks before the upload cannot foresee may leave the files before it written. A final
    /// link is replaced by the file, as tar does (`files.write` follows it instead). Every size
    /// is checked back after the upload.
    /// - Returns: per file, in the order given, its size in bytes and SHA-256.
    /// - Throws: ``InvalidParams`` for a bad path, duplicate path, mode or base64 (naming
    ///   `files[i].…`); ``ProviderError`` -32004 for a missing folder with `createParents: false`,
    ///   -32009 for a parent that is not a directory or a path that is one.
    public func writeMany(_ request: FilesWriteManyRequest) async throws -> WriteManyResult {
        try Validation.checkExternalID(request.externalId)
        let id = request.externalId
        var paths: [String] = []
        var contents: [[UInt8]] = []
        for (index, file) in request.files.enumerated() {
            paths.append(try Self.containerPath(file.path))
            contents.append(try Self.decodeContent(file.content, file.encoding, field: "files[\(index)].content"))
        }
        // Which folders exist: every folder above every file, stat'ed at once (16 at a time); the
        // node's user is looked up meanwhile.
        async let ownerIDs = nodeUserIDs(id)
        var folders: Set<String> = []
        for parent in Set(paths.map(Self.parent)) {
            var folder = parent
            while folders.insert(folder).inserted && folder != "/" { folder = Self.parent(folder) }
        }
        let found = try await statAll(id, Array(folders))
        var existing: Set<String> = []
        var toCreate: Set<String> = []
        for folder in folders {
            if let stat = found[folder] ?? nil {
                guard stat.isDirectory || stat.isSymlink else {
                    throw ProviderError(code: .conflict, reason: "\(folder) exists and is not a directory")
                }
                existing.insert(folder)
            } else {
                toCreate.insert(folder)
            }
        }
        if request.createParents == false, let missing = toCreate.min() {
            throw ProviderError(code: .notFound, reason: "the folder \(missing) does not exist", status: 404)
        }
        for path in paths where existing.contains(path) || toCreate.contains(path) {
            throw ProviderError(code: .conflict, reason: "\(path) is a directory")
        }
        // The upload's root: the deepest existing folder above every file.
        var root = Self.commonFolder(paths.map(Self.parent))
        while !existing.contains(root) && root != "/" && toCreate.contains(root) { root = Self.parent(root) }
        if !existing.contains(root) && !toCreate.contains(root) { root = try await existingAncestor(id, root).anchor }
        let owner = try await ownerIDs
        let now = Int(Date().timeIntervalSince1970)
        var tar = TarWriter()
        func relative(_ path: String) -> String { root == "/" ? String(path.dropFirst()) : String(path.dropFirst(root.count + 1)) }
        // Sorted, so every folder comes after its parent.
        for folder in toCreate.sorted() where folder.hasPrefix(root == "/" ? "/" : root + "/") {
            tar.addDirectory(name: relative(folder), modifiedAt: now, uid: owner.uid, gid: owner.gid)
        }
        for (index, path) in paths.enumerated() {
            try tar.addFile(
                name: relative(path), contents: contents[index], mode: request.files[index].mode ?? 0o644, modifiedAt: now,
                uid: owner.uid, gid: owner.gid)
        }
        try await putArchive(id, at: root, tar.finished())
        try await checkSizes(id, paths: paths, sizes: contents.map(\.count))
        return WriteManyResult(
            files: request.files.indices.map {
                WrittenFile(path: request.files[$0].path, size: contents[$0].count, sha256: SHA256.hex(contents[$0]))
            })
    }

    /// The engine's stat of each of `paths` (nil: no such path), 16 requests at a time.
    func statAll(_ id: String, _ paths: [String]) async throws -> [String: PathStat?] {
        try await withThrowingTaskGroup(of: (String, PathStat?).self) { group in
            var next = 0
            var results: [String: PathStat?] = [:]
            func add() {
                let path = paths[next]
                next += 1
                group.addTask { (path, try await self.stat(id, path, containerKnown: true)) }
            }
            while next < min(16, paths.count) { add() }
            while let (path, stat) = try await group.next() {
                results[path] = stat
                if next < paths.count { add() }
            }
            return results
        }
    }

    /// The deepest folder that holds every one of `folders` (lexically).
    static func commonFolder(_ folders: [String]) -> String {
        guard var common = folders.first?.split(separator: "/", omittingEmptySubsequences: true) else { return "/" }
        for folder in folders.dropFirst() {
            let parts = folder.split(separator: "/", omittingEmptySubsequences: true)
            var shared = 0
            while shared < min(common.count, parts.count) && common[shared] == parts[shared] { shared += 1 }
            common = Array(common.prefix(shared))
        }
        return "/" + common.joined(separator: "/")
    }

    /// Checks that each of `paths` is a regular file of the size in `sizes`: with one `stat` run in
    /// the node, or, where that cannot run (no `stat` in the image, a stopped node), with the
    /// engine's archive stat, a few at a time.
    /// - Throws: ``ProviderError`` -32000 naming the first path that did not land in full.
    func checkSizes(_ id: String, paths: [String], sizes: [Int]) async throws {
        let marker = "olw-size:"
        if let run = try? await Self.runQuietly(
            client: client, containerID: id, command: ["stat", "-L", "-c", marker + "%s", "--"] + paths),
            run.exitCode == 0
        {
            let found = String(decoding: run.output, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix(marker) }
                .map { Int($0.dropFirst(marker.count)) }
            if found.count == paths.count {
                for (index, size) in found.enumerated() where size != sizes[index] {
                    throw ProviderError(code: .engineError, reason: "the write to \(paths[index]) did not land in full")
                }
                return
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let index = next
                next += 1
                group.addTask {
                    guard let written = try await self.stat(id, paths[index]), !written.isDirectory, written.size == sizes[index] else {
                        throw ProviderError(code: .engineError, reason: "the write to \(paths[index]) did not land in full")
                    }
                }
            }
            while next < min(16, paths.count) { add() }
            while try await group.next() != nil { if next < paths.count { add() } }
        }
    }
}

import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

// `files.write`.

extension DockerProvider {
    /// `files.write`: one file, whole or not at all; parents made on request; size checked back.
    public func writeFile(_ request: FilesWriteRequest) async throws -> WriteResult {
        try Validation.checkExternalID(request.externalId)
        // A link's target is written, the link stays (docker cp); a dangling link gets its target.
        let (path, existing) = try await resolveLinks(request.externalId, try Self.containerPath(request.path))
        if existing?.isDirectory == true { throw ProviderError(code: .conflict, reason: "\(request.path) is a directory") }
        let bytes = try Self.decodeContent(request.content, request.encoding, field: "content")
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
}

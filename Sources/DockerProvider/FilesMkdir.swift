import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

// `files.mkdir`.

extension DockerProvider {
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
}

import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

// `files.remove`.

extension DockerProvider {
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
}

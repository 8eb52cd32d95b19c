import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `runtime.secretEnv`: the secrets file on the node's secrets volume.

extension DockerProvider {
    /// The anonymous volume `runtime.secretEnv` is written to, and the file in it (0400, or 0444 when the
    /// node's user, `runtime.user` or else the image's USER, is not root; read by the entrypoint).
    static let secretEnvDirectory = "/.openlattice-secrets"
    static let secretEnvFile = "env"

    func writeSecretEnv(_ secrets: [(key: String, value: String)], containerID: String, readableByAll: Bool) async throws {
        let script = secrets.map { "\($0.key)='\($0.value.replacing("'", with: "'\\''"))'\n" }.joined()
        var tar = TarWriter()
        try tar.addFile(
            name: Self.secretEnvFile, contents: Array(script.utf8), mode: readableByAll ? 0o444 : 0o400,
            modifiedAt: Int(Date().timeIntervalSince1970))
        try await client.putArchive(containerID, path: Self.secretEnvDirectory, tar.finished())
    }
}

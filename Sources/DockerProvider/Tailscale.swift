import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `network.tailscaleAuthKey`: joining a node to a tailnet at provision.

extension DockerProvider {
    /// The file the tailscale auth key is written to, on the secrets volume (never the container's
    /// own layer, which commit, export and diff show), removed before provision answers.
    static let tailscaleKeyFile = "tailscale-authkey"

    func tailscaleUp(containerID: String, authKey: String) async throws {
        // The key travels in a file written through the archive API, never in an argv or env.
        let keyPath = "\(Self.secretEnvDirectory)/\(Self.tailscaleKeyFile)"
        var tar = TarWriter()
        try tar.addFile(
            name: Self.tailscaleKeyFile, contents: Array(authKey.utf8), mode: 0o600, modifiedAt: Int(Date().timeIntervalSince1970))
        try await client.putArchive(containerID, path: Self.secretEnvDirectory, tar.finished())
        // On failure the container is removed with its volumes, the key with them.
        try await tailscaleUp(containerID: containerID, authKey: authKey, keyPath: keyPath)
        // Gone before provision answers: a snapshot taken right after cannot hold it (nor could it:
        // the volume is not part of a commit).
        let removed = try await Self.runQuietly(client: client, containerID: containerID, command: ["rm", "-f", keyPath])
        guard removed.exitCode == 0 else {
            throw ProviderError(code: .engineError, reason: "could not remove the tailscale auth key file (rm exited \(removed.exitCode))")
        }
    }

    private func tailscaleUp(containerID: String, authKey: String, keyPath: String) async throws {
        let running = try await Self.runQuietly(client: client, containerID: containerID, command: ["pidof", "tailscaled"])
        if running.exitCode != 0 {
            var body = ExecCreateBody(cmd: ["tailscaled", "--state=mem:"])
            body.attachStdout = false
            body.attachStderr = false
            let execID = try await client.createExec(in: containerID, body)
            try await client.startExecDetached(execID)
        }
        let up = try await Self.runQuietly(
            client: client, containerID: containerID, command: ["tailscale", "up", "--auth-key=file:\(keyPath)"])
        guard up.exitCode == 0 else {
            // Redacted before it is cut short, so no part of the key survives at the cut.
            let output = String(String(decoding: up.output, as: UTF8.self).replacing(authKey, with: "[redacted]").prefix(300))
            throw ProviderError(code: .engineError, reason: "tailscale up exited with code \(up.exitCode): \(output)")
        }
    }
}

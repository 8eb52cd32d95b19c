import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// The provider's own short commands in a node, and waiting for an exec to finish.

extension DockerProvider {
    /// Runs a short command in a container and collects its combined output (for the provider's own use).
    /// By default as root, whatever the container's user: listing or removing what the archive API
    /// wrote (as root) and `tailscale up` need it; `user: nil` runs as the container's own user.
    /// Bounded by `deadline` (default: the client's request timeout) from the call, engine round trips
    /// included; at the deadline the command's processes are killed in the container.
    /// - Throws: ``EngineError`` `timedOut` naming the command when the deadline passes; engine errors.
    static func runQuietly(
        client: EngineClient, containerID: String, command: [String], user: String? = "0", deadline: Duration? = nil,
        killOnDeadline: Bool = true
    ) async throws -> (exitCode: Int, output: [UInt8]) {
        let limit = deadline ?? client.requestTimeout
        let marker = UUID().uuidString.lowercased()
        let outcome = try await within(limit) { () async throws -> (exitCode: Int, output: [UInt8]) in
            var body = ExecCreateBody(cmd: command)
            body.user = user
            body.env = ["\(execMarkerVariable)=\(marker)"]
            let execID = try await client.createExec(in: containerID, body)
            try await checkExecTarget(client: client, execID: execID, containerID: containerID)
            // The helper's own output may rightly pause (rm -rf of a big tree): the deadline bounds it.
            let stream = try await client.startExec(execID)
            var demuxer = StreamDemuxer()
            var output: [UInt8] = []
            for try await chunk in stream {
                demuxer.feed(chunk) { _, bytes in output.append(contentsOf: bytes) }
            }
            return (try await exitCode(client: client, execID: execID), output)
        }
        guard let outcome else {
            if killOnDeadline {
                Task.detached {
                    let script =
                        "for p in /proc/[0-9]*; do if tr '\\000' '\\n' < $p/environ 2>/dev/null | grep -qx '\(execMarkerVariable)=\(marker)'; then kill -9 ${p#/proc/} 2>/dev/null; fi; done; true"
                    _ = try? await runQuietly(
                        client: client, containerID: containerID, command: ["sh", "-c", script], user: user, killOnDeadline: false)
                }
            }
            throw EngineError(
                code: .timedOut,
                reason:
                    "`\(command.first ?? "")` in the node did not finish within \(limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000) ms"
            )
        }
        return outcome
    }

    /// Checks, before an exec starts, that the engine made it in the container `containerID` (a full
    /// id whose ownership was checked): if that container went away in between, the engine resolves
    /// the same string as a *name*, and another container could carry it. The exec is then left
    /// unstarted and the node is -32004.
    /// - Throws: ``ProviderError`` -32004 when the exec is in another container.
    static func checkExecTarget(client: EngineClient, execID: String, containerID: String) async throws {
        guard containerID.utf8.count == 64 else { return }
        let info = try await client.inspectExec(execID)
        if let actual = info.containerID, actual != containerID {
            throw ProviderError(code: .notFound, reason: "no such node: \(containerID)")
        }
    }

    /// Waits for an exec to be reported finished and returns its exit code.
    static func exitCode(client: EngineClient, execID: String) async throws -> Int {
        try await finishedExec(client: client, execID: execID).exitCode ?? -1
    }

    /// Waits for an exec to be reported finished and returns the engine's record of it.
    static func finishedExec(client: EngineClient, execID: String) async throws -> ExecInspect {
        var delay = Duration.milliseconds(2)
        while true {
            let info = try await client.inspectExec(execID)
            if !info.running { return info }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(100))
        }
    }
}

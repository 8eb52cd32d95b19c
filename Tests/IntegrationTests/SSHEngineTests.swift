import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// `ssh://` engines: what goes wrong is named (the ssh step, its exit status and what it said), and
/// bad `sshOptions` are refused before anything runs. (The whole core suite runs over ssh:// too:
/// scripts/test.sh, with scripts/sshd.sh's loopback sshd.)
@Suite("ssh:// engines")
struct SSHEngineTests {
    /// Nothing listens on port 1 of loopback: ssh itself fails, and the error says so.
    @Test func anSSHThatCannotConnectIsNamedWithItsExitStatusAndMessage() async throws {
        let worker = try WorkerProcess(environment: ["DOCKER_HOST": "ssh://nobody@127.0.0.1:1"])
        _ = try await worker.initialize()
        let health = try await worker.result("healthCheck", [:])
        #expect(health["healthy"] == false)
        let message = health["message"]?.string ?? ""
        #expect(message.contains("ssh://nobody@127.0.0.1:1: ssh exited with status 255"), "\(message)")
        #expect(message.contains("Connection refused"), "\(message)")
        let list = try await worker.call("list", [:])
        #expect(list.errorCode == -32001, "\(list.raw)")
        #expect(list.raw["error"]?["message"]?.string?.contains("ssh exited with status 255") == true)
        // Many at once, each with its own ssh: every error names the ssh step, whichever ssh failed last.
        let requests = (0..<12).map { _ in worker.start("list", [:]) }
        for request in requests {
            let answer = try await worker.response(.integer(request))
            #expect(answer.errorCode == -32001, "\(answer.raw)")
            #expect(answer.errorMessage.contains("ssh exited with status 255"), "\(answer.errorMessage)")
        }
        _ = try await worker.closeInput()
    }

    @Test func sshOptionsThatAreNotFlagsAreRefused() async throws {
        let worker = try WorkerProcess()
        let refused = try await worker.call(
            "initialize", ["protocolVersion": "1.0", "config": ["host": "ssh://h", "sshOptions": ["-o", "A=b", "rm -rf /"]]])
        #expect(refused.errorCode == -32602, "\(refused.raw)")
        #expect(refused.raw["error"]?["message"]?.string?.contains("sshOptions[2]") == true, "\(refused.raw)")
        _ = try await worker.closeInput()
    }

    /// Against scripts/sshd.sh's sshd (OPENLATTICE_TEST_DOCKER_HOST=ssh://…): a user without the key
    /// is refused by sshd, and the error carries sshd's answer; the right user works.
    @Test(.enabled(if: Docker.sshCommand != nil, "needs OPENLATTICE_TEST_DOCKER_HOST=ssh://… (scripts/sshd.sh)"))
    func aRefusedKeyIsNamed() async throws {
        let wrongUser = Docker.host.replacingOccurrences(of: "ssh://root@", with: "ssh://nobody@")
        let worker = try WorkerProcess(environment: ["DOCKER_HOST": wrongUser])
        _ = try await worker.initialize()
        let health = try await worker.result("healthCheck", [:])
        #expect(health["healthy"] == false)
        #expect(health["message"]?.string?.contains("Permission denied (publickey)") == true, "\(health)")
        _ = try await worker.closeInput()

        let right = try WorkerProcess()
        _ = try await right.initialize()
        #expect(try await right.result("healthCheck", [:])["healthy"] == true)
        _ = try await right.closeInput()
    }
}

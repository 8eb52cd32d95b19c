import Foundation
import JSONCoding
import JSONRPC

/// The engine's own view, through the docker CLI (independent of the worker's client).
///
/// The tests' engine is the local dockerd unless `OPENLATTICE_TEST_DOCKER_HOST` names another one
/// (`unix://…` or `tcp://…`); with `OPENLATTICE_TEST_DOCKER_CERT_PATH` (a `DOCKER_CERT_PATH`-style
/// folder) it is reached with mutual TLS. Workers the tests start get the same engine through
/// `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`, as an operator would give it.
///
/// An `ssh://[user@]host[:port]` engine (scripts/sshd.sh) takes its ssh arguments from
/// `OPENLATTICE_TEST_SSH_OPTIONS` (split at spaces): workers get them as `OPENLATTICE_SSH_OPTIONS`,
/// and the tests' own view runs on the far side, `ssh … docker …` and `ssh … curl --unix-socket
/// /var/run/docker.sock …` (the docker CLI takes no ssh arguments of its own).
package enum Docker {
    private static let environment = ProcessInfo.processInfo.environment
    /// The engine the tests use.
    package static let host = environment["OPENLATTICE_TEST_DOCKER_HOST"] ?? "unix:///var/run/docker.sock"
    /// The client certificate folder (ca.pem, cert.pem, key.pem) for a TLS engine.
    package static let certPath = environment["OPENLATTICE_TEST_DOCKER_CERT_PATH"].flatMap { $0.isEmpty ? nil : $0 }
    /// The ssh arguments for an `ssh://` engine.
    package static let sshOptions = environment["OPENLATTICE_TEST_SSH_OPTIONS"] ?? ""
    /// `ssh` and its arguments up to the destination, for an `ssh://` engine; nil for others.
    package static let sshCommand: [String]? = {
        guard host.hasPrefix("ssh://") else { return nil }
        var rest = host.dropFirst("ssh://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        var command = ["ssh"] + sshOptions.split(separator: " ").map(String.init) + ["-o", "BatchMode=yes", "-T"]
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            command += ["-p", String(rest[rest.index(after: colon)...])]
            rest = rest[..<colon]
        }
        return command + ["--", String(rest)]
    }()
    /// `words` as one remote shell command line (each word single-quoted).
    package static func remoteCommand(_ words: [String]) -> String {
        words.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    }
    /// Whether the tests' engine is Podman's compatibility service (from its `/version`).
    package static let isPodman = api("/version").contains("Podman Engine")

    /// The whole environment of a worker the tests start: this process's, without any engine
    /// selection of its own, plus what reaches the tests' engine (nothing for the local engine, the
    /// worker's default), plus the test's `overrides`.
    package static func workerEnvironment(_ overrides: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in ["DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"] { env.removeValue(forKey: key) }
        if environment["OPENLATTICE_TEST_DOCKER_HOST"] != nil {
            env["DOCKER_HOST"] = host
            if let certPath {
                env["DOCKER_TLS_VERIFY"] = "1"
                env["DOCKER_CERT_PATH"] = certPath
            }
            if sshCommand != nil { env["OPENLATTICE_SSH_OPTIONS"] = sshOptions }
        }
        return env.merging(overrides) { $1 }
    }

    /// The docker CLI's flags for the tests' engine.
    private static var cliFlags: [String] {
        var flags = ["-H", host]
        if let certPath {
            flags += [
                "--tlsverify", "--tlscacert", certPath + "/ca.pem", "--tlscert", certPath + "/cert.pem", "--tlskey", certPath + "/key.pem",
            ]
        }
        return flags
    }

    /// The busybox test image built by scripts/setup.sh.
    package static let image = "openlattice-test/busybox:latest"
    /// The image with stand-in tailscale binaries.
    package static let tailscaleImage = "openlattice-test/tailscale:latest"

    /// Runs the docker CLI; returns exit status and output.
    @discardableResult
    package static func run(_ arguments: [String], input: Data? = nil) -> (status: Int32, stdout: Data, stderr: String) {
        let command = sshCommand.map { $0 + [remoteCommand(["docker"] + arguments)] } ?? ["docker"] + cliFlags + arguments
        let output = runProcess(command, input: input)
        return (output.status, output.stdout, output.stderr)
    }

    /// Output lines of a docker command.
    package static func lines(_ arguments: [String]) -> [String] {
        String(decoding: run(arguments).stdout, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// `docker inspect` of one object, or nil when it does not exist.
    package static func inspect(_ id: String, type: String = "container") -> JSONValue? {
        let result = run(["inspect", "--type", type, id])
        guard result.status == 0, let value = try? JSONParser.parse(Array(result.stdout)) else { return nil }
        return value[0]
    }

    /// A raw request to the engine API through curl (for what the CLI does not show or set, like
    /// exec inspect or a commit with a healthcheck); `body` is sent as JSON.
    package static func api(_ path: String, method: String = "GET", body: String? = nil) -> String {
        var request = ["-X", method]
        if let body { request += ["-H", "Content-Type: application/json", "--data", body] }
        let command: [String]
        if let sshCommand {
            let curl = ["curl", "-s"] + request + ["--unix-socket", "/var/run/docker.sock", "http://localhost\(path)"]
            command = sshCommand + [remoteCommand(curl)]
        } else if host.hasPrefix("unix://") {
            command = ["curl", "-s"] + request + ["--unix-socket", String(host.dropFirst("unix://".count)), "http://localhost\(path)"]
        } else {
            let address = host.hasPrefix("tcp://") ? String(host.dropFirst("tcp://".count)) : host
            var arguments = ["curl", "-s"] + request
            if let certPath {
                arguments += ["--cacert", certPath + "/ca.pem", "--cert", certPath + "/cert.pem", "--key", certPath + "/key.pem"]
            }
            command = arguments + ["\(certPath == nil ? "http" : "https")://\(address)\(path)"]
        }
        return String(decoding: runProcess(command).stdout, as: UTF8.self)
    }

    /// Whether two image references name the same image, allowing for Podman's qualified names
    /// (`localhost/x` for a local image, `docker.io/library/x` for a short one).
    package static func sameImage(_ reference: String?, _ expected: String) -> Bool {
        guard var name = reference else { return false }
        for prefix in ["localhost/", "docker.io/library/"] where name.hasPrefix(prefix) { name.removeFirst(prefix.count) }
        return name == expected
    }

    /// Whether two image ids are the same, with or without the `sha256:` prefix.
    package static func sameImageID(_ id: String?, _ expected: String) -> Bool {
        func bare(_ id: String) -> Substring { id.hasPrefix("sha256:") ? id.dropFirst(7) : id[...] }
        return id.map { bare($0) == bare(expected) } ?? false
    }

    /// Whether a container exists.
    package static func exists(_ id: String) -> Bool { inspect(id) != nil }
}

import Foundation
import JSONRPC

/// The engine's own view, through the docker CLI (independent of the worker's client).
enum Docker {
    /// The engine the tests use.
    static let host = ProcessInfo.processInfo.environment["OPENLATTICE_TEST_DOCKER_HOST"] ?? "unix:///var/run/docker.sock"
    /// The busybox test image built by scripts/setup.sh.
    static let image = "openlattice-test/busybox:latest"
    /// The image with stand-in tailscale binaries.
    static let tailscaleImage = "openlattice-test/tailscale:latest"

    /// Runs the docker CLI; returns exit status and output.
    @discardableResult
    static func run(_ arguments: [String], input: Data? = nil) -> (status: Int32, stdout: Data, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker", "-H", host] + arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let inPipe = Pipe()
        process.standardInput = inPipe
        do { try process.run() } catch { return (-1, Data(), "\(error)") }
        if let input { inPipe.fileHandleForWriting.write(input) }
        try? inPipe.fileHandleForWriting.close()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, output, String(decoding: errors, as: UTF8.self))
    }

    /// Output lines of a docker command.
    static func lines(_ arguments: [String]) -> [String] {
        String(decoding: run(arguments).stdout, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// `docker inspect` of one object, or nil when it does not exist.
    static func inspect(_ id: String, type: String = "container") -> JSONValue? {
        let result = run(["inspect", "--type", type, id])
        guard result.status == 0, let value = try? JSONParser.parse(Array(result.stdout)) else { return nil }
        return value[0]
    }

    /// A raw `GET` of the engine API through curl (for what the CLI does not show, like exec inspect).
    static func api(_ path: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let socket = host.hasPrefix("unix://") ? String(host.dropFirst("unix://".count)) : "/var/run/docker.sock"
        process.arguments = ["curl", "-s", "--unix-socket", socket, "http://localhost\(path)"]
        let out = Pipe()
        process.standardOutput = out
        do { try process.run() } catch { return "" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Whether a container exists.
    static func exists(_ id: String) -> Bool { inspect(id) != nil }
}

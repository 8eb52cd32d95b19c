import Foundation
import JSONCoding
import JSONRPC
import Synchronization
import TestSupport
import Testing

// Remote and compatible engines and registries (issue 7), against real processes that the test
// set-up starts. Each suite runs only when its service is up, as the set-up says through the
// environment; otherwise it is skipped with the reason:
//   OLW_SECOND_ENGINE=1  scripts/second-engine.sh start   (dockerd on tcp://127.0.0.1:23760, mutual TLS)
//   OLW_PODMAN=1         scripts/podman-service.sh start  (podman system service on /var/run/olw-podman.sock)
//   OLW_REGISTRY=1       scripts/registry.sh start        (docker-registry on 127.0.0.1:5000, htpasswd)

private let testEnvironment = ProcessInfo.processInfo.environment
private let secondEngineUp = testEnvironment["OLW_SECOND_ENGINE"] == "1"
private let podmanUp = testEnvironment["OLW_PODMAN"] == "1"
private let registryUp = testEnvironment["OLW_REGISTRY"] == "1"

/// Where scripts/second-engine.sh put its certificates.
private enum TLSFiles {
    static let root = testEnvironment["OLW_TLS_DIR"] ?? "/tmp/olw-tls"
    static let ca = "\(root)/ca.pem"
    /// A DOCKER_CERT_PATH folder with the good client.
    static let clientDir = "\(root)/client"
    /// A client certificate signed by a CA the engine does not trust (its ca.pem is the real CA).
    static let wrongDir = "\(root)/wrong"
}

/// The second engine's TCP address.
private let secondEngineTCP = "tcp://127.0.0.1:23760"

/// An engine's own command line (the docker CLI on some socket, or podman), independent of the worker.
struct EngineCLI: Sendable {
    var tool: String
    var baseArguments: [String]

    static let secondEngine = EngineCLI(tool: "docker", baseArguments: ["-H", "unix:///var/run/olw-docker2.sock"])
    static let podman = EngineCLI(tool: "podman", baseArguments: [])
    static let firstEngine = EngineCLI(tool: "docker", baseArguments: ["-H", Docker.host])

    @discardableResult
    func run(_ arguments: [String]) -> (status: Int32, stdout: String, stderr: String) {
        let output = runProcess([tool] + baseArguments + arguments)
        return (output.status, String(decoding: output.stdout, as: UTF8.self), output.stderr)
    }

    /// `inspect` of a container, or nil when it does not exist.
    func inspect(_ id: String) -> JSONValue? {
        let result = run(["inspect", "--type", "container", id])
        guard result.status == 0, let value = try? JSONParser.parse(Array(result.stdout.utf8)) else { return nil }
        return value[0]
    }

    func exists(_ id: String) -> Bool { inspect(id) != nil }

    /// Removes every container labelled for test `scopeID`.
    func removeContainers(scopeID: String) {
        let ids = run(["ps", "-aq", "--filter", "label=openlattice.test=\(scopeID)"]).stdout
            .split(separator: "\n").map(String.init)
        if !ids.isEmpty { run(["rm", "-f", "-v"] + ids) }
    }
}

/// Runs `body` with a worker initialized with `config` and `environment`; afterwards removes what
/// the test labelled on every engine in `engines`.
private func withEngineWorker<T>(
    config: JSONValue, environment: [String: String] = [:], engines: [EngineCLI],
    _ body: (WorkerProcess, TestScope) async throws -> T
) async throws -> T {
    let scope = TestScope()
    defer { for engine in engines { engine.removeContainers(scopeID: scope.id) } }
    let worker = try WorkerProcess(environment: environment)
    try await worker.initialize(config)
    let value = try await body(worker, scope)
    _ = try? await worker.closeInput()
    return value
}

/// Provisions a labelled busybox node and returns its id.
private func provisionNode(
    _ worker: WorkerProcess, _ scope: TestScope, image: String = Docker.image, name: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> String {
    var spec: JSONValue = ["runtime": ["image": .string(image)], "labels": scope.labels]
    if let name, case .object(var object) = spec {
        object["name"] = .string(name)
        spec = .object(object)
    }
    let node = try await worker.result("provision", ["spec": spec], sourceLocation: sourceLocation)
    return try #require(node["externalId"]?.string, sourceLocation: sourceLocation)
}

private func waitUntil(
    timeout: Duration = .seconds(15), sourceLocation: SourceLocation = #_sourceLocation, _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
}

/// Prints why one assertion is skipped on an engine that lacks what it checks.
private func skipAssertion(_ what: String, because reason: String) {
    FileHandle.standardError.write(Data("[skip] \(what): \(reason)\n".utf8))
}

/// The worker's TLS config for the second engine with the client material in `dir`.
private func tlsConfig(_ dir: String) -> JSONValue {
    [
        "host": .string(secondEngineTCP),
        "tls": ["ca": .string(TLSFiles.ca), "cert": .string("\(dir)/cert.pem"), "key": .string("\(dir)/key.pem")],
    ]
}

// MARK: - (a) a second dockerd over TCP with mutual TLS

@Suite(
    "remote engine over TCP + TLS",
    .enabled(if: secondEngineUp, "needs OLW_SECOND_ENGINE=1 after scripts/second-engine.sh start"))
struct RemoteEngineTLSTests {
    @Test func lifecycleOnTheSecondEngineThroughConfigTLS() async throws {
        try await withEngineWorker(config: tlsConfig(TLSFiles.clientDir), engines: [.secondEngine, .firstEngine]) { worker, scope in
            let health = try await worker.result("healthCheck", [:])
            #expect(health["healthy"] == true)
            #expect(health["engine"]?["apiVersion"]?.string != nil)

            let id = try await provisionNode(worker, scope, name: scope.name("tls"))
            // It is the second engine's container, not the first's.
            let inspected = try #require(EngineCLI.secondEngine.inspect(id))
            #expect(inspected["State"]?["Running"] == true)
            #expect(inspected["Config"]?["Labels"]?["openlattice.managed"] == "true")
            #expect(!Docker.exists(id))

            let exec = try await worker.result("exec", ["externalId": .string(id), "command": ["echo", "hi"]])
            #expect(exec["exitCode"] == 0)
            #expect(exec["stdout"] == "hi\n")

            let state = try await worker.result("inspect", ["externalId": .string(id)])
            #expect(state["status"] == "running")

            #expect(try await worker.call("stop", ["externalId": .string(id), "timeoutSeconds": 1]).result == .null)
            #expect(EngineCLI.secondEngine.inspect(id)?["State"]?["Running"] == false)
            #expect(try await worker.result("inspect", ["externalId": .string(id)])["status"] == "stopped")

            #expect(try await worker.call("destroy", ["externalId": .string(id)]).result == .null)
            #expect(!EngineCLI.secondEngine.exists(id))
        }
    }

    @Test func wrongClientCertificateIsATLSFailure() async throws {
        try await withEngineWorker(config: tlsConfig(TLSFiles.wrongDir), engines: [.secondEngine]) { worker, scope in
            let health = try await worker.result("healthCheck", [:])
            #expect(health["healthy"] == false)
            #expect(health["message"]?.string?.contains("TLS") == true, "healthCheck message: \(health["message"] ?? .null)")

            let listed = try await worker.call("list", [:])
            #expect(listed.errorCode == -32001)
            #expect(listed.errorMessage.contains("TLS"), "message: \(listed.errorMessage)")

            let provisioned = try await worker.call(
                "provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
            #expect(provisioned.errorCode == -32001)
            #expect(provisioned.errorMessage.contains("TLS"), "message: \(provisioned.errorMessage)")
            #expect(EngineCLI.secondEngine.run(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).stdout.isEmpty)
        }
    }

    @Test func aServerTheCADoesNotVouchForIsATLSFailure() async throws {
        // The client trusts only the other CA, so the engine's certificate fails verification.
        let config: JSONValue = [
            "host": .string(secondEngineTCP),
            "tls": [
                "ca": .string("\(TLSFiles.root)/other-ca/ca.pem"), "cert": .string("\(TLSFiles.clientDir)/cert.pem"),
                "key": .string("\(TLSFiles.clientDir)/key.pem"),
            ],
        ]
        try await withEngineWorker(config: config, engines: [.secondEngine]) { worker, _ in
            let health = try await worker.result("healthCheck", [:])
            #expect(health["healthy"] == false)
            let listed = try await worker.call("list", [:])
            #expect(listed.errorCode == -32001)
            #expect(listed.errorMessage.contains("TLS"), "message: \(listed.errorMessage)")
        }
    }

    @Test func plainTCPToATLSEngineFails() async throws {
        try await withEngineWorker(config: ["host": .string(secondEngineTCP)], engines: [.secondEngine]) { worker, _ in
            let health = try await worker.result("healthCheck", [:])
            #expect(health["healthy"] == false)
        }
    }

    @Test func dockerHostTLSVerifyAndCertPathFromTheEnvironment() async throws {
        let env = ["DOCKER_HOST": secondEngineTCP, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": TLSFiles.clientDir]
        try await withEngineWorker(config: [:], environment: env, engines: [.secondEngine, .firstEngine]) { worker, scope in
            #expect(try await worker.result("healthCheck", [:])["healthy"] == true)
            let id = try await provisionNode(worker, scope)
            #expect(EngineCLI.secondEngine.inspect(id)?["State"]?["Running"] == true)
            #expect(!Docker.exists(id))
            let exec = try await worker.result("exec", ["externalId": .string(id), "command": ["echo", "hi"]])
            #expect(exec["stdout"] == "hi\n")
            #expect(try await worker.call("destroy", ["externalId": .string(id)]).result == .null)
            #expect(!EngineCLI.secondEngine.exists(id))
        }
    }

    @Test func commandLineFlagsHostTLSVerifyAndCertPath() async throws {
        let scope = TestScope()
        defer { EngineCLI.secondEngine.removeContainers(scopeID: scope.id) }
        let worker = try WorkerProcess(arguments: ["--host", secondEngineTCP, "--tls-verify", "--cert-path", TLSFiles.clientDir])
        try await worker.initialize([:])
        #expect(try await worker.result("healthCheck", [:])["healthy"] == true)
        let id = try await provisionNode(worker, scope)
        #expect(EngineCLI.secondEngine.exists(id))
        _ = try await worker.call("destroy", ["externalId": .string(id)])
        _ = try? await worker.closeInput()
    }

    /// A Docker CLI context store in a throwaway DOCKER_CONFIG, laid out as `docker context create` does.
    private static func makeContextStore(name: String, currentContext: String?) throws -> String {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("olw-ctx-\(UUID().uuidString.prefix(8))")
        let id = sha256Hex(Data(name.utf8))
        let meta = "\(dir)/contexts/meta/\(id)"
        let tls = "\(dir)/contexts/tls/\(id)/docker"
        try FileManager.default.createDirectory(atPath: meta, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: tls, withIntermediateDirectories: true)
        let metaJSON = #"{"Name":"\#(name)","Metadata":{},"Endpoints":{"docker":{"Host":"\#(secondEngineTCP)","SkipTLSVerify":false}}}"#
        try Data(metaJSON.utf8).write(to: URL(fileURLWithPath: "\(meta)/meta.json"))
        for file in ["ca.pem", "cert.pem", "key.pem"] {
            try FileManager.default.copyItem(atPath: "\(TLSFiles.clientDir)/\(file)", toPath: "\(tls)/\(file)")
        }
        let config = currentContext.map { #"{"auths":{},"currentContext":"\#($0)"}"# } ?? #"{"auths":{}}"#
        try Data(config.utf8).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
        return dir
    }

    @Test(arguments: ["DOCKER_CONTEXT", "currentContext"])
    func dockerCLIContextSelectsTheEngine(selectedBy: String) async throws {
        let name = "olw-remote"
        let dir = try Self.makeContextStore(name: name, currentContext: selectedBy == "currentContext" ? name : nil)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The docker CLI itself reads this store the same way.
        let cli = EngineCLI(tool: "env", baseArguments: ["DOCKER_CONFIG=\(dir)", "docker", "--context", name])
        #expect(cli.run(["version", "--format", "{{.Server.Version}}"]).status == 0, "the context store is not what the CLI expects")

        // DOCKER_HOST would win over any context, as in the CLI: make sure the worker has none.
        var env = ["DOCKER_CONFIG": dir, "DOCKER_HOST": ""]
        if selectedBy == "DOCKER_CONTEXT" { env["DOCKER_CONTEXT"] = name }
        try await withEngineWorker(config: [:], environment: env, engines: [.secondEngine, .firstEngine]) { worker, scope in
            let id = try await provisionNode(worker, scope)
            #expect(EngineCLI.secondEngine.exists(id), "the node should be on the context's engine")
            #expect(!Docker.exists(id))
            _ = try await worker.call("destroy", ["externalId": .string(id)])
        }
    }
}

// MARK: - (b) Podman's Docker-compatible service

@Suite(
    "podman",
    .enabled(if: podmanUp, "needs OLW_PODMAN=1 after scripts/podman-service.sh start"))
struct PodmanTests {
    static let config: JSONValue = ["host": "unix:///var/run/olw-podman.sock"]

    @Test func healthCheckNamesPodman() async throws {
        try await withEngineWorker(config: Self.config, engines: [.podman]) { worker, _ in
            let health = try await worker.result("healthCheck", [:])
            #expect(health["healthy"] == true)
            #expect(health["engine"]?["version"]?.string?.isEmpty == false)
        }
    }

    @Test func provisionExecInspectStopStartDestroy() async throws {
        try await withEngineWorker(config: Self.config, engines: [.podman]) { worker, scope in
            let name = scope.name("podman")
            let id = try await provisionNode(worker, scope, name: name)
            let inspected = try #require(EngineCLI.podman.inspect(id), "podman does not know \(id)")
            #expect(inspected["State"]?["Running"] == true)
            #expect(inspected["Config"]?["Labels"]?["openlattice.managed"] == "true")
            #expect(inspected["Config"]?["Labels"]?["openlattice.test"] == .string(scope.id))

            let exec = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "echo out; echo err >&2; exit 42"]])
            #expect(exec["exitCode"] == 42)
            #expect(exec["stdout"] == "out\n")
            #expect(exec["stderr"] == "err\n")
            #expect(exec["timedOut"] == false)

            let envAndCwd = try await worker.result(
                "exec",
                [
                    "externalId": .string(id), "command": ["sh", "-c", "pwd; echo $OLW_VAR"],
                    "options": ["cwd": "/tmp", "env": ["OLW_VAR": "podman"]],
                ])
            #expect(envAndCwd["stdout"] == "/tmp\npodman\n")

            let streamed = worker.start(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "echo one; echo two"], "options": ["stream": true]])
            let streamedResult = try await worker.response(.integer(streamed)).value()
            #expect(streamedResult["exitCode"] == 0)
            let chunks = worker.notifications(for: streamed).compactMap { $0["data"]?.string }.joined()
            #expect(chunks == "one\ntwo\n")

            let running = try await worker.result("inspect", ["externalId": .string(id)])
            #expect(running["status"] == "running")
            #expect(running["startedAt"]?.string != nil)
            if running["resources"]?["cpuPercent"]?.double == nil {
                skipAssertion("inspect resources on podman", because: "no stats sample came back: \(running["resources"] ?? .null)")
            }

            #expect(try await worker.call("stop", ["externalId": .string(id), "timeoutSeconds": 1]).result == .null)
            #expect(EngineCLI.podman.inspect(id)?["State"]?["Running"] == false)
            let stopped = try await worker.result("inspect", ["externalId": .string(id)])
            #expect(stopped["status"] == "stopped")
            #expect(try await worker.call("stop", ["externalId": .string(id)]).result == .null)  // already stopped

            #expect(try await worker.call("start", ["externalId": .string(id)]).result == .null)
            #expect(EngineCLI.podman.inspect(id)?["State"]?["Running"] == true)
            #expect(try await worker.call("start", ["externalId": .string(id)]).result == .null)  // already running
            #expect(try await worker.result("inspect", ["externalId": .string(id)])["status"] == "running")

            let listed = try await worker.result("list", ["labels": scope.labels])
            #expect(listed.array?.compactMap { $0["externalId"]?.string } == [id])

            #expect(try await worker.call("destroy", ["externalId": .string(id)]).result == .null)
            #expect(!EngineCLI.podman.exists(id))
            #expect(try await worker.call("destroy", ["externalId": .string(id)]).result == .null)  // already gone
            #expect(try await worker.result("inspect", ["externalId": .string(id)])["status"] == "terminated")
        }
    }

    @Test func pauseResumeAndRestart() async throws {
        try await withEngineWorker(config: Self.config, engines: [.podman]) { worker, scope in
            let id = try await provisionNode(worker, scope)
            let paused = try await worker.call("pause", ["externalId": .string(id)])
            guard paused.error == nil else {
                skipAssertion("pause on podman", because: paused.errorMessage)
                return
            }
            #expect(EngineCLI.podman.inspect(id)?["State"]?["Paused"] == true)
            #expect(try await worker.result("inspect", ["externalId": .string(id)])["status"] == "paused")
            #expect(try await worker.call("pause", ["externalId": .string(id)]).result == .null)  // already paused
            #expect(try await worker.call("resume", ["externalId": .string(id)]).result == .null)
            #expect(try await worker.call("resume", ["externalId": .string(id)]).result == .null)  // already running
            #expect(EngineCLI.podman.inspect(id)?["State"]?["Paused"] == false)

            let before = EngineCLI.podman.inspect(id)?["State"]?["StartedAt"]?.string
            #expect(try await worker.call("restart", ["externalId": .string(id), "timeoutSeconds": 1]).result == .null)
            #expect(EngineCLI.podman.inspect(id)?["State"]?["StartedAt"]?.string != before)
        }
    }

    @Test func stoppedNodeSaysHowItEnded() async throws {
        try await withEngineWorker(config: Self.config, engines: [.podman]) { worker, scope in
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": .string(Docker.image), "command": ["sh", "-c", "exit 3"]],
                        "labels": scope.labels,
                    ]
                ])
            let id = try #require(node["externalId"]?.string)
            try await waitUntil { EngineCLI.podman.inspect(id)?["State"]?["Running"] == false }
            let stopped = try await worker.result("inspect", ["externalId": .string(id)])
            #expect(stopped["status"] == "stopped")
            #expect(stopped["exitCode"] == 3)
        }
    }

    @Test func missingImageFailsAndLeavesNothing() async throws {
        try await withEngineWorker(config: Self.config, engines: [.podman]) { worker, scope in
            let response = try await worker.call(
                "provision",
                ["spec": ["runtime": ["image": "openlattice-test/does-not-exist:latest", "pullPolicy": "never"], "labels": scope.labels]])
            #expect(response.error != nil)
            #expect(EngineCLI.podman.run(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).stdout.isEmpty)
        }
    }

    @Test func snapshotAndRestore() async throws {
        try await withEngineWorker(config: Self.config, engines: [.podman]) { worker, scope in
            let id = try await provisionNode(worker, scope)
            _ = try await worker.result("exec", ["externalId": .string(id), "command": ["sh", "-c", "echo kept > /root/note"]])
            let snapshot = try await worker.call("snapshot", ["externalId": .string(id), "tag": .string(scope.id)])
            guard let ref = snapshot.result else {
                skipAssertion("snapshot on podman", because: snapshot.errorMessage)
                return
            }
            let imageID = try #require(ref["externalId"]?.string)
            defer { EngineCLI.podman.run(["rmi", "-f", imageID]) }
            let restored = try await worker.call("restore", ["ref": ref, "spec": ["labels": scope.labels]])
            guard let node = restored.result else {
                skipAssertion("restore on podman", because: restored.errorMessage)
                return
            }
            let newID = try #require(node["externalId"]?.string)
            let cat = try await worker.result("exec", ["externalId": .string(newID), "command": ["cat", "/root/note"]])
            #expect(cat["stdout"] == "kept\n")
        }
    }
}

// MARK: - (c) a private registry behind basic auth

@Suite(
    "registry pulls",
    .enabled(if: registryUp, "needs OLW_REGISTRY=1 after scripts/registry.sh start"),
    .serialized)
struct RegistryPullTests {
    static let image = "127.0.0.1:5000/olw/busybox:latest"
    static let password = "olw-secret"
    static let credentials: JSONValue = ["127.0.0.1:5000": ["username": "olw", "password": .string(password)]]
    /// What the password looks like in `X-Registry-Auth` and in config.json's `auth`: none may leak either.
    static let secretForms = [
        password, Data("olw:olw-secret".utf8).base64EncodedString(),
        Data(#"{"username":"olw","password":"olw-secret","serveraddress":"127.0.0.1:5000"}"#.utf8).base64EncodedString(),
    ]

    static func assertNoSecret(in worker: WorkerProcess, sourceLocation: SourceLocation = #_sourceLocation) {
        let stderr = worker.stderrText
        let stdout = worker.lines.map { String(decoding: JSONWriter.encode($0.value), as: UTF8.self) }
        for secret in secretForms {
            #expect(!stderr.contains(secret), "the password leaked to stderr", sourceLocation: sourceLocation)
            #expect(!stdout.contains { $0.contains(secret) }, "the password leaked to stdout", sourceLocation: sourceLocation)
        }
    }

    /// Provisions `image` with pullPolicy "always" and returns the response and the request's pull.progress notifications.
    static func provision(_ worker: WorkerProcess, _ scope: TestScope, image: String = image) async throws
        -> (response: Response, progress: [JSONValue])
    {
        let id = worker.start(
            "provision", ["spec": ["runtime": ["image": .string(image), "pullPolicy": "always"], "labels": scope.labels]])
        let response = try await worker.response(.integer(id), timeout: .seconds(120))
        let progress = worker.lines.compactMap { line -> JSONValue? in
            guard line.method == "pull.progress", line.value["params"]?["requestId"] == .integer(id) else { return nil }
            return line.value["params"]
        }
        return (response, progress)
    }

    static func config(host: String, withCredentials: Bool) -> JSONValue {
        var object = JSONObject()
        object["host"] = .string(host)
        if withCredentials { object["registryAuth"] = credentials }
        return .object(object)
    }

    static let verboseLogs = ["OPENLATTICE_LOG_LEVEL": "trace"]

    @Test func pullWithoutCredentialsFails() async throws {
        EngineCLI.firstEngine.run(["rmi", "-f", Self.image])
        try await withEngineWorker(
            config: Self.config(host: Docker.host, withCredentials: false), environment: Self.verboseLogs, engines: [.firstEngine]
        ) { worker, scope in
            let (response, _) = try await Self.provision(worker, scope)
            #expect(response.errorCode == -32000)
            #expect(response.errorMessage.lowercased().contains("pull"), "message: \(response.errorMessage)")
            #expect(EngineCLI.firstEngine.run(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).stdout.isEmpty)
            #expect(EngineCLI.firstEngine.run(["image", "inspect", Self.image]).status != 0)
        }
    }

    @Test func pullWithConfigRegistryAuth() async throws {
        EngineCLI.firstEngine.run(["rmi", "-f", Self.image])
        defer { EngineCLI.firstEngine.run(["rmi", "-f", Self.image]) }
        try await withEngineWorker(
            config: Self.config(host: Docker.host, withCredentials: true), environment: Self.verboseLogs, engines: [.firstEngine]
        ) { worker, scope in
            let (response, progress) = try await Self.provision(worker, scope)
            let node = try response.value()
            let id = try #require(node["externalId"]?.string)
            #expect(EngineCLI.firstEngine.inspect(id)?["Config"]?["Image"] == .string(Self.image))
            #expect(!progress.isEmpty, "pull.progress notifications for the request")
            #expect(progress.allSatisfy { $0["image"] == .string(Self.image) && $0["status"]?.string != nil })
            let exec = try await worker.result("exec", ["externalId": .string(id), "command": ["echo", "pulled"]])
            #expect(exec["stdout"] == "pulled\n")
            Self.assertNoSecret(in: worker)
        }
    }

    @Test func pullWithDockerConfigJSONAuths() async throws {
        EngineCLI.firstEngine.run(["rmi", "-f", Self.image])
        defer { EngineCLI.firstEngine.run(["rmi", "-f", Self.image]) }
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("olw-dockercfg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let auth = Data("olw:\(Self.password)".utf8).base64EncodedString()
        try Data(#"{"auths":{"127.0.0.1:5000":{"auth":"\#(auth)"}}}"#.utf8).write(to: URL(fileURLWithPath: "\(dir)/config.json"))
        var env = Self.verboseLogs
        env["DOCKER_CONFIG"] = dir
        try await withEngineWorker(
            config: Self.config(host: Docker.host, withCredentials: false), environment: env, engines: [.firstEngine]
        ) { worker, scope in
            let (response, progress) = try await Self.provision(worker, scope)
            #expect(response.error == nil, "\(response.raw)")
            #expect(!progress.isEmpty)
            Self.assertNoSecret(in: worker)
        }
    }

    @Test(.enabled(if: podmanUp, "needs OLW_PODMAN=1 too"))
    func podmanReportsAFailedPullMidStreamAndPullsWithCredentials() async throws {
        EngineCLI.podman.run(["rmi", "-f", Self.image])
        defer { EngineCLI.podman.run(["rmi", "-f", Self.image]) }
        let podman = "unix:///var/run/olw-podman.sock"
        // Podman answers 200 and reports the failure inside the progress stream (errorDetail).
        try await withEngineWorker(
            config: Self.config(host: podman, withCredentials: false), environment: Self.verboseLogs, engines: [.podman]
        ) { worker, scope in
            let (response, _) = try await Self.provision(worker, scope)
            #expect(response.errorCode == -32000)
            #expect(response.errorMessage.lowercased().contains("pull"), "message: \(response.errorMessage)")
            #expect(EngineCLI.podman.run(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).stdout.isEmpty)
        }
        try await withEngineWorker(
            config: Self.config(host: podman, withCredentials: true), environment: Self.verboseLogs, engines: [.podman]
        ) { worker, scope in
            let (response, progress) = try await Self.provision(worker, scope)
            let id = try #require(try response.value()["externalId"]?.string)
            #expect(EngineCLI.podman.exists(id))
            #expect(!progress.isEmpty)
            Self.assertNoSecret(in: worker)
        }
    }
}

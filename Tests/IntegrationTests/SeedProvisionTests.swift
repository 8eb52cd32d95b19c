import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// The seed suite's `describe("constructor")` and `describe("provision")`, against the real engine.
@Suite("provision (seed)")
struct SeedProvisionTests {
    func spec(_ scope: TestScope, name: String? = nil, extra: [String: JSONValue] = [:], runtime: [String: JSONValue] = [:]) -> JSONValue {
        var runtimeObject = JSONObject()
        runtimeObject["image"] = .string(Docker.image)
        for (key, value) in runtime { runtimeObject[key] = value }
        var object = JSONObject()
        if let name { object["name"] = .string(name) }
        object["runtime"] = .object(runtimeObject)
        object["labels"] = scope.labels
        for (key, value) in extra {
            if key == "labels", case .object(let more) = value {
                var labels = scope.labels.object ?? JSONObject()
                for member in more.members { labels[member.key] = member.value }
                object["labels"] = .object(labels)
            } else {
                object[key] = value
            }
        }
        return .object(object)
    }

    @Test func nameAndCapabilities() async throws {
        let worker = try WorkerProcess()
        let result = try await worker.initialize()
        #expect(result["provider"]?["name"] == "docker")
        let capabilities = try #require(result["capabilities"])
        for key in ["restart", "pause", "snapshot", "logs", "tailscale", "persistentStorage"] {
            #expect(capabilities[key] == .bool(true), "\(key)")
        }
        #expect(capabilities["architectures"]?.array?.contains("x86_64") == true)
        #expect(capabilities["architectures"]?.array?.contains("arm64") == true)
        #expect(capabilities["gpu"] == false)
        _ = try await worker.closeInput()
    }

    @Test func gpuAvailableConfig() async throws {
        let worker = try WorkerProcess()
        let result = try await worker.initialize(["gpuAvailable": true])
        #expect(result["capabilities"]?["gpu"] == true)
        _ = try await worker.closeInput()
    }

    @Test func createsAndStartsAContainer() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result("provision", ["spec": spec(scope)])
            let id = try #require(node["externalId"]?.string)
            let engine = try #require(Docker.inspect(id))
            #expect(engine["Id"]?.string == id)
            #expect(engine["State"]?["Running"] == true)
            #expect(node["status"] == "running")
            #expect(node["startedAt"]?.string?.hasSuffix("Z") == true)
            #expect(Docker.sameImage(engine["Config"]?["Image"]?.string, Docker.image))
            // the seed's default command
            #expect(engine["Config"]?["Cmd"] == ["sh", "-c", "sleep infinity"])
        }
    }

    @Test func mapsCommandEnvUserAndWorkdir() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision",
                [
                    "spec": spec(
                        scope,
                        runtime: [
                            "command": ["sh", "-c", "echo hello; sleep 300"], "env": ["FOO": "bar", "BAZ": "qux"],
                            "workdir": "/tmp", "user": "nobody",
                        ])
                ])
            let nodeID = try #require(node["externalId"]?.string)
            let engine = try #require(Docker.inspect(nodeID))
            #expect(engine["Config"]?["Cmd"] == ["sh", "-c", "echo hello; sleep 300"])
            let env = engine["Config"]?["Env"]?.array?.compactMap(\.string) ?? []
            let ours = env.filter { $0.hasPrefix("FOO=") || $0.hasPrefix("BAZ=") }
            // The seed's order; Podman keeps the environment in a map, so its inspect does not.
            #expect((Docker.isPodman ? ours.sorted() : ours) == (Docker.isPodman ? ["BAZ=qux", "FOO=bar"] : ["FOO=bar", "BAZ=qux"]))
            #expect(engine["Config"]?["WorkingDir"] == "/tmp")
            #expect(engine["Config"]?["User"] == "nobody")
        }
    }

    @Test func mapsCPUAndMemory() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision", ["spec": spec(scope, extra: ["cpu": ["cores": 1.5], "memory": ["sizeGiB": 2]])])
            let nodeID = try #require(node["externalId"]?.string)
            let engine = try #require(Docker.inspect(nodeID))
            #expect(engine["HostConfig"]?["NanoCpus"]?.int == 1_500_000_000)
            #expect(engine["HostConfig"]?["Memory"]?.int == Int64(2) << 30)
        }
    }

    @Test func gpuWithoutRuntimeIsRefusedAndLeavesNothing() async throws {
        try await withWorker { worker, scope in
            let refused = try await worker.call("provision", ["spec": spec(scope, extra: ["gpu": ["count": 2]])])
            #expect(refused.errorCode == -32602)
            #expect(refused.raw["error"]?["data"]?["field"] == "spec.gpu")
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
        }
    }

    /// With gpuAvailable the request reaches the engine as DeviceRequests; this engine has no
    /// nvidia driver, so start fails and the created container must be gone.
    @Test(.disabled(if: Docker.isPodman, "Podman 4.3's Docker API starts a container with an nvidia DeviceRequest on a host without a GPU"))
    func gpuTheEngineCannotProvideLeavesNothing() async throws {
        try await withWorker(config: ["gpuAvailable": true]) { worker, scope in
            let failed = try await worker.call("provision", ["spec": spec(scope, extra: ["gpu": ["count": 2]])])
            #expect(failed.error != nil)
            #expect(failed.errorMessage.hasPrefix("[docker] provision failed:"))
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
        }
    }

    @Test func mapsPortBindings() async throws {
        let port = freePort()
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision", ["spec": spec(scope, extra: ["network": ["ports": [["port": .integer(Int64(port)), "protocol": "tcp"]]]])])
            let nodeID = try #require(node["externalId"]?.string)
            let engine = try #require(Docker.inspect(nodeID))
            let key = "\(port)/tcp"
            #expect(engine["HostConfig"]?["PortBindings"]?[key]?[0]?["HostPort"]?.string == "\(port)")
            #expect(engine["Config"]?["ExposedPorts"]?[key] != nil)
            #expect(node["endpoints"]?[0]?["port"]?.int == Int64(port))
            #expect(node["endpoints"]?[0]?["type"] == "tcp")
            // localhost where IPv4 and IPv6 share the port (Docker); Podman binds IPv4 only: 127.0.0.1.
            let bindings = Docker.inspect(nodeID)?["NetworkSettings"]?["Ports"]?[key]
            #expect(node["endpoints"]?[0]?["host"]?.string == EngineTruthInputTests.expectedHost(bindings, hostPort: "\(port)"))
        }
    }

    @Test func extractsEndpointsOfEngineChosenPorts() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision",
                [
                    "spec": spec(
                        scope,
                        extra: ["network": ["ports": [["port": 8080, "hostPort": 0], ["port": 53, "protocol": "udp", "hostPort": 0]]]])
                ])
            let nodeID = try #require(node["externalId"]?.string)
            let engine = try #require(Docker.inspect(nodeID))
            let bound = engine["NetworkSettings"]?["Ports"]?["8080/tcp"]?[0]?["HostPort"]?.string
            let endpoints = node["endpoints"]?.array ?? []
            let tcp = try #require(endpoints.first { $0["type"] == "tcp" })
            #expect(tcp["port"]?.int.map(String.init) == bound)
            #expect(tcp["containerPort"] == 8080)
            #expect(endpoints.contains { $0["type"] == "udp" && $0["containerPort"] == 53 })
            #expect(!endpoints.contains { $0["type"] == "docker-internal" })
        }
    }

    @Test func labels() async throws {
        try await withWorker(config: ["defaultLabels": ["env": "test"]]) { worker, scope in
            let node = try await worker.result("provision", ["spec": spec(scope, extra: ["labels": ["team": "ml"]])])
            let nodeID0 = try #require(node["externalId"]?.string)
            let labels = try #require(Docker.inspect(nodeID0)?["Config"]?["Labels"])
            #expect(labels["openlattice.managed"] == "true")
            let nodeID = try #require(labels["openlattice.node-id"]?.string)
            #expect(UUID(uuidString: nodeID) != nil)
            #expect(node["nodeId"]?.string == nodeID)
            #expect(labels["team"] == "ml")
            #expect(labels["env"] == "test")
        }
    }

    @Test func nameAndHostname() async throws {
        try await withWorker { worker, scope in
            let name = scope.name("my-service")
            let node = try await worker.result("provision", ["spec": spec(scope, name: name)])
            let engine = try #require(Docker.inspect(name))
            #expect(engine["Name"]?.string == "/\(name)")
            #expect(engine["Config"]?["Hostname"]?.string == name)
            #expect(node["name"]?.string == name)
            // a name in use is a conflict
            let again = try await worker.call("provision", ["spec": spec(scope, name: name)])
            #expect(again.errorCode == -32009)
        }
    }

    @Test func internalEndpointsOnNamedNetwork() async throws {
        let network = "olw-net-\(UUID().uuidString.prefix(8).lowercased())"
        #expect(Docker.run(["network", "create", "--label", "openlattice.test=net", network]).status == 0)
        defer { Docker.run(["network", "rm", network]) }
        try await withWorker(config: ["network": .string(network)]) { worker, scope in
            let name = scope.name("svc")
            let node = try await worker.result(
                "provision", ["spec": spec(scope, name: name, extra: ["network": ["ports": [["port": 8080, "hostPort": 0]]]])])
            let engine = try #require(Docker.inspect(name))
            #expect(engine["NetworkSettings"]?["Networks"]?[network] != nil)
            let endpoints = node["endpoints"]?.array ?? []
            // localhost when the engine gave IPv4 and IPv6 one host port (EngineTruthTests covers the split)
            let bindings = engine["NetworkSettings"]?["Ports"]?["8080/tcp"]
            let hostPort = bindings?[0]?["HostPort"]?.string ?? "?"
            let expectedHost = EngineTruthInputTests.expectedHost(bindings, hostPort: hostPort)
            #expect(endpoints.contains { $0["type"] == "tcp" && $0["host"]?.string == expectedHost && $0["port"]?.int == Int64(hostPort) })
            let inner = try #require(endpoints.first { $0["type"] == "docker-internal" })
            #expect(inner["host"]?.string == name)
            #expect(inner["port"] == 8080)
            #expect(inner["url"]?.string == "http://\(name):8080")
        }
    }

    @Test func noInternalEndpointsOnBridge() async throws {
        try await withWorker(config: ["network": "bridge"]) { worker, scope in
            let node = try await worker.result(
                "provision", ["spec": spec(scope, extra: ["network": ["ports": [["port": 8080, "hostPort": 0]]]])])
            #expect(!(node["endpoints"]?.array ?? []).contains { $0["type"] == "docker-internal" })
        }
    }

    @Test func tailscaleCapabilities() async throws {
        try await withWorker { worker, scope in
            let port = freePort()
            let node = try await worker.result(
                "provision", ["spec": spec(scope, extra: ["network": ["tailscale": true, "ports": [["port": .integer(Int64(port))]]]])])
            let nodeID = try #require(node["externalId"]?.string)
            let engine = try #require(Docker.inspect(nodeID))
            #expect(engine["HostConfig"]?["CapAdd"] == ["NET_ADMIN"])
            // Podman shows the device's default permissions as "" where Docker writes "rwm"
            #expect(
                engine["HostConfig"]?["Devices"]
                    == [
                        [
                            "PathOnHost": "/dev/net/tun", "PathInContainer": "/dev/net/tun",
                            "CgroupPermissions": Docker.isPodman ? "" : "rwm",
                        ]
                    ])
            #expect(engine["HostConfig"]?["PortBindings"]?["\(port)/tcp"]?[0]?["HostPort"]?.string == "\(port)")

            let plain = try await worker.result(
                "provision", ["spec": spec(scope, extra: ["network": ["ports": [["port": 8080, "hostPort": 0]]]])])
            let plainID = try #require(plain["externalId"]?.string)
            let plainEngine = try #require(Docker.inspect(plainID))
            #expect((plainEngine["HostConfig"]?["CapAdd"]?.array ?? []).isEmpty)  // null on Docker, [] on Podman
            #expect((plainEngine["HostConfig"]?["Devices"]?.array ?? []).isEmpty)
        }
    }

    @Test func tailscaleAuthKeyRunsTailscaleUpWithoutExposingTheKey() async throws {
        let key = "tskey-auth-\(UUID().uuidString)"
        try await withWorker { worker, scope in
            var spec = spec(scope, extra: ["network": ["tailscaleAuthKey": .string(key)]])
            if case .object(var object) = spec, case .object(var runtime)? = object["runtime"] {
                runtime["image"] = .string(Docker.tailscaleImage)
                object["runtime"] = .object(runtime)
                spec = .object(object)
            }
            let node = try await worker.result("provision", ["spec": spec])
            let id = try #require(node["externalId"]?.string)
            let engine = try #require(Docker.inspect(id))
            #expect(engine["HostConfig"]?["CapAdd"] == ["NET_ADMIN"])
            #expect(engine["HostConfig"]?["Devices"]?.array?.count == 1)
            // tailscale up ran and read the key from the file it was given
            let argv = try await worker.result("exec", ["externalId": .string(id), "command": ["cat", "/tmp/tailscale.argv"]])
            let args = argv["stdout"]?.string?.split(separator: "\n").map(String.init) ?? []
            #expect(args.first == "up")
            #expect(args.contains { $0.hasPrefix("--auth-key=file:") })
            let seenID = worker.start("exec", ["externalId": .string(id), "command": ["cat", "/tmp/tailscale.key-seen"]])
            let seen = try await worker.response(.integer(seenID)).value()
            #expect(seen["stdout"]?.string == key)
            let daemon = try await worker.result("exec", ["externalId": .string(id), "command": ["pidof", "tailscaled"]])
            #expect(daemon["exitCode"] == 0)
            // ... and the key is nowhere an engine user or log reader could see it
            let execIDs = Docker.inspect(id)?["ExecIDs"]?.array?.compactMap(\.string) ?? []
            #expect(!execIDs.isEmpty)
            for execID in execIDs {
                let exec = Docker.api("/exec/\(execID)/json")
                #expect(exec.contains("ProcessConfig"))
                #expect(!exec.contains(key), "exec \(execID) shows the key")
            }
            #expect(!String(decoding: Docker.run(["inspect", id]).stdout, as: UTF8.self).contains(key))
            #expect(!worker.stderrText.contains(key))
            // nothing the worker said carries the key, except the test's own read of the stand-in's record
            #expect(
                !worker.lines.filter { $0.id != .integer(seenID) }.contains {
                    String(decoding: JSONWriter.encode($0.value), as: UTF8.self).contains(key)
                })
            // the key file is removed before provision answered
            #expect(Docker.run(["exec", id, "test", "-e", "/.openlattice-secrets/tailscale-authkey"]).status != 0)
        }
    }

    @Test func failedTailscaleUpLeavesNothing() async throws {
        try await withWorker { worker, scope in
            var spec = spec(scope, extra: ["network": ["tailscaleAuthKey": "tskey-auth-fail"]], runtime: ["env": ["TAILSCALE_FAIL": "1"]])
            if case .object(var object) = spec, case .object(var runtime)? = object["runtime"] {
                runtime["image"] = .string(Docker.tailscaleImage)
                object["runtime"] = .object(runtime)
                spec = .object(object)
            }
            // Execs inherit the container's env, so the stand-in `tailscale up` exits 1.
            let response = try await worker.call("provision", ["spec": spec])
            #expect(response.errorCode == -32000)
            #expect(response.errorMessage.contains("tailscale up exited with code 1"))
            #expect(!response.errorMessage.contains("tskey-auth-fail"))
            #expect(!worker.stderrText.contains("tskey-auth-fail"))
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
        }
    }
}

/// A TCP port nobody holds on any address right now, below the kernel's ephemeral range
/// (32768–60999) so that no outgoing connection is handed it between this check and its use.
func freePort() -> Int {
    while true {
        let port = Int.random(in: 20_000..<30_000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = 0  // INADDR_ANY, as the engine binds a published port
        address.sin_port = UInt16(port).bigEndian
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 { return port }
    }
}

/// Retries `condition` for up to `timeout`.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool, sourceLocation: SourceLocation = #_sourceLocation)
    async throws
{
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
}

extension SeedProvisionTests {
    /// A host port another node holds (Docker: "port is already allocated") or a process outside
    /// the engine holds ("address already in use") is a -32009 conflict, not an engine error, and
    /// the failed provision leaves no container behind.
    @Test func takenHostPortIsAConflict() async throws {
        try await withWorker { worker, scope in
            let port = freePort()
            let ports: JSONValue = ["ports": [["port": 80, "hostPort": .integer(Int64(port))]]]
            let first = try await worker.result("provision", ["spec": spec(scope, extra: ["network": ports])])
            #expect(Docker.inspect(first["externalId"]?.string ?? "")?["State"]?["Running"] == true)
            let name = scope.name("second")
            let second = try await worker.call("provision", ["spec": spec(scope, name: name, extra: ["network": ports])])
            #expect(second.errorCode == -32009, "\(second.raw)")
            let message = second.raw["error"]?["message"]?.string ?? ""
            #expect(message.contains("already allocated") || message.contains("already in use"), "\(message)")
            #expect(second.raw["error"]?["data"]?["status"] == 500)  // the engine's own status
            #expect(!Docker.exists(name))

            // A port held by a process that is not a container.
            let held = freePort()
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = 0
            address.sin_port = UInt16(held).bigEndian
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            try #require(bound == 0 && listen(fd, 1) == 0)
            let third = scope.name("third")
            let taken = try await worker.call(
                "provision",
                ["spec": spec(scope, name: third, extra: ["network": ["ports": [["port": 80, "hostPort": .integer(Int64(held))]]]])])
            #expect(taken.errorCode == -32009, "\(taken.raw)")
            #expect(!Docker.exists(third))
        }
    }
}

import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// The seed suite's inspect, destroy, stop/start, pause/resume, snapshot/restore, healthCheck,
/// getExtension and detectGpu, against the real engine (two cases against a labelled mock).
@Suite("lifecycle (seed)")
struct SeedLifecycleTests {
    @Test func inspectRunningPausedStoppedAndMissing() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let running = try await worker.result("inspect", ["externalId": .string(id)])
            #expect(running["status"] == "running")
            let startedAt = try #require(running["startedAt"]?.string)
            #expect(Timestamp.parse(startedAt) != nil)
            let resources = try #require(running["resources"])
            #expect(resources["cpuPercent"]?.double != nil)
            #expect((resources["memoryUsedMiB"]?.double ?? -1) >= 0)
            #expect(resources["sampledAt"]?.string != nil)

            #expect(try await worker.call("pause", ["externalId": .string(id)]).result == .null)
            #expect(Docker.inspect(id)?["State"]?["Paused"] == true)
            #expect(try await worker.result("inspect", ["externalId": .string(id)])["status"] == "paused")
            #expect(try await worker.call("resume", ["externalId": .string(id)]).result == .null)

            let exiting = try await SeedExecTests.node(worker, scope, command: ["sh", "-c", "exit 3"])
            try await eventually { Docker.inspect(exiting)?["State"]?["Status"] == "exited" }
            let stopped = try await worker.result("inspect", ["externalId": .string(exiting)])
            #expect(stopped["status"] == "stopped")
            #expect(stopped["exitCode"] == 3)
            #expect(stopped["oomKilled"] == false)
            #expect(stopped["finishedAt"]?.string != nil)
            #expect(stopped["resources"] == nil)

            let missing = try await worker.result("inspect", ["externalId": "no-such-node-xyz"])
            #expect(missing == ["status": "terminated", "endpoints": []])
        }
    }

    @Test func secondInspectIsServedFromTheWarmStatsStream() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            _ = try await worker.result("inspect", ["externalId": .string(id)])
            try await Task.sleep(for: .milliseconds(200))
            // A one-shot read would sample after the request; the warm stream already has a sample.
            let asked = Date()
            let second = try await worker.result("inspect", ["externalId": .string(id)])
            let sampledAt = try #require(second["resources"]?["sampledAt"]?.string.flatMap(Timestamp.parse))
            // The engine samples every second; one may land while this request is on its way (0.5 s of
            // slack). Over ssh:// a request that needs a new connection first waits for ssh and the
            // far side's `docker system dial-stdio` to start (1.0 s measured on this machine): 2.5 s.
            #expect(sampledAt <= asked.addingTimeInterval(Docker.sshCommand == nil ? 0.5 : 2.5))
            #expect(asked.timeIntervalSince(sampledAt) < 5)
            #expect(second["resources"]?["cpuPercent"]?.double != nil)
        }
    }

    @Test func destroyRemovesContainerAndAnonymousVolumesButKeepsNamedOnes() async throws {
        let volume = "olw-vol-\(UUID().uuidString.prefix(8).lowercased())"
        defer { Docker.run(["volume", "rm", "-f", volume]) }
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": .string(Docker.image)], "labels": scope.labels,
                        "volumes": [["target": "/anon"], ["source": .string(volume), "target": "/named"]],
                    ]
                ])
            let id = try #require(node["externalId"]?.string)
            let mounts = Docker.inspect(id)?["Mounts"]?.array ?? []
            let anonymous = try #require(mounts.first { $0["Destination"] == "/anon" }?["Name"]?.string)
            #expect(Docker.inspect(volume, type: "volume")?["Labels"]?["openlattice.managed"] == "true")
            #expect(try await worker.call("destroy", ["externalId": .string(id)]).result == .null)
            #expect(!Docker.exists(id))
            #expect(Docker.inspect(anonymous, type: "volume") == nil)
            #expect(Docker.inspect(volume, type: "volume") != nil)
            // already gone is success
            #expect(try await worker.call("destroy", ["externalId": .string(id)]).result == .null)
        }
    }

    /// MOCK-backed: a real engine cannot be made to refuse a removal on demand.
    @Test func destroyFailureOtherThanNotFoundIsAnError() async throws {
        try await withFakeEngine { socket in
            let worker = try WorkerProcess()
            try await worker.initialize(["host": .string("unix://\(socket)")])
            let response = try await worker.call("destroy", ["externalId": "abc123"])
            #expect(response.errorCode == -32000)
            #expect(response.errorMessage.hasPrefix("[docker] destroy failed"))
            #expect(response.errorMessage.contains("permission denied"))
            #expect(response.raw["error"]?["data"]?["status"] == 500)
            #expect(response.raw["error"]?["data"]?["engineMessage"] == "permission denied")
            _ = try await worker.closeInput()
        }
    }

    @Test func stopStartAreIdempotent() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            #expect(try await worker.call("stop", ["externalId": .string(id), "timeoutSeconds": 1]).result == .null)
            #expect(Docker.inspect(id)?["State"]?["Running"] == false)
            #expect(try await worker.call("stop", ["externalId": .string(id)]).result == .null)  // 304
            #expect(try await worker.call("start", ["externalId": .string(id)]).result == .null)
            #expect(Docker.inspect(id)?["State"]?["Running"] == true)
            #expect(try await worker.call("start", ["externalId": .string(id)]).result == .null)  // 304
            let before = Docker.inspect(id)?["State"]?["StartedAt"]?.string
            #expect(try await worker.call("restart", ["externalId": .string(id), "timeoutSeconds": 1]).result == .null)
            #expect(Docker.inspect(id)?["State"]?["StartedAt"]?.string != before)
            let missing = try await worker.call("stop", ["externalId": "no-such-node-xyz"])
            #expect(missing.errorCode == -32004)
        }
    }

    @Test func stopWaitsTheDefaultTenSecondGrace() async throws {
        try await withWorker { worker, scope in
            // PID 1 ignores SIGTERM, so only the grace period's SIGKILL ends it.
            let id = try await SeedExecTests.node(worker, scope, command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.2; done"])
            let start = ContinuousClock.now
            #expect(try await worker.call("stop", ["externalId": .string(id)]).result == .null)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .seconds(9))
            #expect(elapsed < .seconds(20))
            #expect(Docker.inspect(id)?["State"]?["ExitCode"] == 137)
        }
    }

    @Test func pauseResumeAreIdempotent() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            #expect(try await worker.call("pause", ["externalId": .string(id)]).result == .null)
            #expect(try await worker.call("pause", ["externalId": .string(id)]).result == .null)  // engine: 409
            #expect(Docker.inspect(id)?["State"]?["Paused"] == true)
            #expect(try await worker.call("resume", ["externalId": .string(id)]).result == .null)
            #expect(try await worker.call("resume", ["externalId": .string(id)]).result == .null)  // engine: 500
            #expect(Docker.inspect(id)?["State"]?["Paused"] == false)
            #expect(try await worker.call("stop", ["externalId": .string(id), "timeoutSeconds": 0]).result == .null)
            let pauseStopped = try await worker.call("pause", ["externalId": .string(id)])
            #expect(pauseStopped.errorCode == -32009)
            let missing = try await worker.call("resume", ["externalId": "no-such-node-xyz"])
            #expect(missing.errorCode == -32004)
        }
    }

    @Test func snapshotAndRestoreKeepTheFilesystem() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision",
                ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels, "volumes": [["target": "/data"]]]])
            let id = try #require(node["externalId"]?.string)
            _ = try await worker.result("exec", ["externalId": .string(id), "command": ["sh", "-c", "echo kept > /root/note"]])
            let ref = try await worker.result("snapshot", ["externalId": .string(id), "tag": .string(scope.id)])
            let imageID = try #require(ref["externalId"]?.string)
            scope.onCleanUp { Docker.run(["rmi", "-f", imageID]) }
            #expect(ref["provider"] == "docker")
            #expect(imageID.hasPrefix("sha256:"))
            #expect(ref["type"] == "filesystem")
            #expect(ref["image"]?.string == "openlattice-snapshot:\(scope.id)")
            #expect(ref["createdAt"]?.string.flatMap(Timestamp.parse) != nil)
            #expect(ref["excludedVolumes"] == ["/data"])
            let image = try #require(Docker.inspect(imageID, type: "image"))
            #expect(image["RepoTags"]?.array?.contains { Docker.sameImage($0.string, "openlattice-snapshot:\(scope.id)") } == true)
            #expect(image["Config"]?["Labels"]?["openlattice.managed"] == "true")

            let restored = try await worker.result(
                "restore", ["ref": ref, "spec": ["labels": scope.labels]])
            let newID = try #require(restored["externalId"]?.string)
            #expect(newID != id)
            // the restored container runs the snapshot's image (Podman names it where Docker shows the id)
            #expect(Docker.sameImageID(Docker.inspect(newID)?["Image"]?.string, imageID))
            let note = try await worker.result("exec", ["externalId": .string(newID), "command": ["cat", "/root/note"]])
            #expect(note["stdout"] == "kept\n")
        }
    }

    @Test func healthCheck() async throws {
        try await withWorker { worker, _ in
            let health = try await worker.result("healthCheck")
            #expect(health["healthy"] == true)
            #expect(health["latencyMs"]?.double != nil)
            #expect(health["engine"]?["apiVersion"]?.string?.hasPrefix("1.") == true)
        }
        // A socket that exists but refuses connections.
        let path = "/tmp/olw-refuse-\(UUID().uuidString.prefix(8)).sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        defer {
            close(fd)
            unlink(path)
        }
        let worker = try WorkerProcess()
        try await worker.initialize(["host": .string("unix://\(path)")])
        let health = try await worker.result("healthCheck")
        #expect(health["healthy"] == false)
        #expect(health["message"]?.string?.contains("connection refused") == true)
        let inspect = try await worker.call("inspect", ["externalId": "abc"])
        #expect(inspect.errorCode == -32001)
        #expect(try await worker.result("detectGpu")["gpu"] == false)
        _ = try await worker.closeInput()
    }

    @Test func getExtension() async throws {
        try await withWorker { worker, _ in
            for (name, expected) in [
                ("network", ["network.getUrl"]),
                // The seed's five (it checks those are there), and the 1.1 transfer methods.
                (
                    "files",
                    [
                        "files.read", "files.write", "files.list", "files.remove", "files.mkdir", "files.writeMany", "files.download",
                        "files.upload", "files.uploadChunk", "files.finishUpload", "files.cancelUpload",
                    ]
                ),
                ("metrics", ["metrics.getResourceUsage", "metrics.streamMetrics"]),
            ] {
                let ext = try await worker.result("getExtension", ["externalId": "abc123", "name": .string(name)])
                #expect(ext["name"]?.string == name)
                let listed = Set(ext["methods"]?.array?.compactMap(\.string) ?? [])
                #expect(listed == Set(expected), "\(name)")
            }
            #expect(try await worker.result("getExtension", ["externalId": "abc123", "name": "gpu-magic"]) == .null)
        }
    }

    @Test func detectGpuIsFalseWithoutTheNvidiaRuntime() async throws {
        try await withWorker { worker, _ in
            let result = try await worker.result("detectGpu")
            #expect(result["gpu"] == false)
            #expect(result["capabilities"]?["gpu"] == false)
        }
    }

    /// MOCK-backed: no engine here has the nvidia runtime.
    @Test func detectGpuFindsTheNvidiaRuntime() async throws {
        try await withFakeEngine { socket in
            let worker = try WorkerProcess()
            let initial = try await worker.initialize(["host": .string("unix://\(socket)")])
            #expect(initial["capabilities"]?["gpu"] == false)
            let result = try await worker.result("detectGpu")
            #expect(result["gpu"] == true)
            #expect(result["capabilities"]?["gpu"] == true)
            _ = try await worker.closeInput()
        }
    }

    @Test func listAdoptsManagedNodesOnly() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let stopped = try await SeedExecTests.node(worker, scope, command: ["true"])
            let foreign = Docker.lines(["create", "--label", "openlattice.test=\(scope.id)", Docker.image, "true"]).first ?? ""
            let nodes = try await worker.result("list", ["labels": scope.labels])
            let ids = Set(nodes.array?.compactMap { $0["externalId"]?.string } ?? [])
            #expect(ids == [id, stopped])
            #expect(!ids.contains(foreign))
            #expect(nodes.array?.allSatisfy { $0["labels"]?["openlattice.managed"] == "true" } == true)
        }
    }
}

/// Runs `body` with the MOCK engine of scripts/fake-engine.py listening on a temporary socket.
func withFakeEngine(_ body: (String) async throws -> Void) async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let socket = "/tmp/olw-fake-\(UUID().uuidString.prefix(8)).sock"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", root.appendingPathComponent("scripts/fake-engine.py").path, socket]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice  // never hold the test runner's own pipes open
    try process.run()
    defer {
        // SIGKILL: the test runner's children may inherit SIGTERM blocked.
        kill(process.processIdentifier, SIGKILL)
        unlink(socket)
    }
    _ = out.fileHandleForReading.availableData  // "ready"
    try await body(socket)
}

/// ISO 8601 parsing for assertions.
enum Timestamp {
    static func parse(_ text: String) -> Date? {
        try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Issue 16: owners, reserved labels, image references, namespaced snapshots, secrets that never
/// persist, and the security policy. Each test checks the engine's own view.
@Suite("tenancy")
struct TenancyTests {
    /// A provision spec on the busybox image, labelled with the test's scope, plus `extra` members.
    func spec(_ scope: TestScope, runtime: [String: JSONValue] = [:], extra: [String: JSONValue] = [:]) -> JSONValue {
        var runtimeObject = JSONObject()
        runtimeObject["image"] = .string(Docker.image)
        for (key, value) in runtime { runtimeObject[key] = value }
        var object = JSONObject()
        object["runtime"] = .object(runtimeObject)
        object["labels"] = scope.labels
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    /// The error's `data.field`.
    func field(_ response: Response) -> String? { response.raw["error"]?["data"]?["field"]?.string }

    /// Removes snapshot images the test made, at the end.
    func removeImages(_ scope: TestScope, _ references: @escaping @Sendable () -> [String]) {
        scope.onCleanUp { for reference in references() { Docker.run(["rmi", "-f", reference]) } }
    }

    @Test func ownersCannotSeeOrTouchEachOthersNodesOrSnapshots() async throws {
        let scope = TestScope()
        defer { scope.cleanUp() }
        let tag = "own-\(scope.id)"
        removeImages(scope) { ["openlattice-snapshot:\(tag)"] }
        let ownerA = try WorkerProcess()
        try await ownerA.initialize(["ownerId": .string("a-\(scope.id)")])
        let ownerB = try WorkerProcess()
        try await ownerB.initialize(["ownerId": .string("b-\(scope.id)")])
        let node = try await ownerA.result("provision", ["spec": spec(scope)])
        let id = try #require(node["externalId"]?.string)
        let snapshot = try await ownerA.result("snapshot", ["externalId": .string(id), "tag": .string(tag)])
        let snapshotID = try #require(snapshot["externalId"]?.string)
        #expect(Docker.inspect(snapshotID, type: "image")?["Config"]?["Labels"]?["openlattice.owner"]?.string == "a-\(scope.id)")
        #expect(Docker.inspect(snapshotID, type: "image")?["Config"]?["Labels"]?["openlattice.node-id"] != nil)

        // B sees nothing of A's
        #expect(try await ownerB.result("list", ["labels": scope.labels]) == [])
        #expect(try await ownerA.result("list", ["labels": scope.labels]).array?.count == 1)
        #expect(try await ownerB.result("inspect", ["externalId": .string(id)])["status"] == "terminated")
        for (method, params) in [
            ("exec", ["externalId": JSONValue.string(id), "command": ["touch", "/tmp/touched-by-b"]]),
            ("files.write", ["externalId": .string(id), "path": "/tmp/written-by-b", "content": "x"]),
            ("files.read", ["externalId": .string(id), "path": "/etc/hostname"]),
            ("files.list", ["externalId": .string(id), "path": "/"]),
            ("stop", ["externalId": .string(id), "timeoutSeconds": 0]),
            ("pause", ["externalId": .string(id)]),
            ("snapshot", ["externalId": .string(id)]),
            ("logs", ["externalId": .string(id)]),
            ("metrics.getResourceUsage", ["externalId": .string(id)]),
            ("destroy", ["externalId": .string(id)]),
            ("restore", ["ref": ["externalId": .string(snapshotID)], "spec": ["labels": scope.labels]]),
            ("restore", ["ref": ["externalId": .string("openlattice-snapshot:\(tag)")], "spec": ["labels": scope.labels]]),
        ] as [(String, [String: JSONValue])] {
            var object = JSONObject()
            for (key, value) in params { object[key] = value }
            let response = try await ownerB.call(method, .object(object))
            #expect(response.errorCode == -32004, "\(method): \(response.raw)")
        }
        // the engine's view: A's node untouched, running, nothing written
        let engine = try #require(Docker.inspect(id))
        #expect(engine["State"]?["Running"] == true)
        #expect(Docker.run(["exec", id, "test", "-e", "/tmp/touched-by-b"]).status != 0)
        #expect(Docker.run(["exec", id, "test", "-e", "/tmp/written-by-b"]).status != 0)
        #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).count == 1)
        // A itself can restore its snapshot and still reach its node
        let restored = try await ownerA.result("restore", ["ref": ["externalId": .string(snapshotID)], "spec": ["labels": scope.labels]])
        let restoredID = try #require(restored["externalId"]?.string)
        #expect(Docker.inspect(restoredID)?["Config"]?["Labels"]?["openlattice.owner"]?.string == "a-\(scope.id)")
        #expect(try await ownerA.result("exec", ["externalId": .string(id), "command": ["true"]])["exitCode"] == 0)
        // events: A hears its node stop, B hears nothing of it
        let eventsA = ownerA.start("events.subscribe", [:])
        let eventsB = ownerB.start("events.subscribe", [:])
        try await Task.sleep(for: .milliseconds(300))
        _ = try await ownerA.result("stop", ["externalId": .string(id), "timeoutSeconds": 0])
        try await eventually {
            ownerA.notifications(for: eventsA).contains { $0["externalId"]?.string == id && $0["action"] == "die" }
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(!ownerB.notifications(for: eventsB).contains { $0["externalId"]?.string == id })
        for (worker, request) in [(ownerA, eventsA), (ownerB, eventsB)] {
            worker.notify("$/cancelRequest", ["id": .integer(request)])
            _ = try await worker.response(.integer(request))
        }
        // a worker without an owner keeps today's behaviour: it reaches every managed node
        let unowned = try WorkerProcess()
        try await unowned.initialize()
        #expect(try await unowned.result("list", ["labels": scope.labels]).array?.count == 2)
        // ... and what it restores from A's snapshot is not A's: the image's owner label is blanked
        let copy = try await unowned.result("restore", ["ref": ["externalId": .string(snapshotID)], "spec": ["labels": scope.labels]])
        let copyID = try #require(copy["externalId"]?.string)
        #expect(Docker.inspect(copyID)?["Config"]?["Labels"]?["openlattice.owner"]?.string == "")
        #expect(try await ownerA.result("list", ["labels": scope.labels]).array?.count == 2)
        for worker in [ownerA, ownerB, unowned] { _ = try await worker.closeInput() }
    }

    @Test func openlatticeLabelsAreTheWorkersAlone() async throws {
        try await withWorker { worker, scope in
            for key in ["openlattice.owner", "openlattice.managed", "openlattice.node-id", "openlattice.anything"] {
                var labels = scope.labels.object ?? JSONObject()
                labels[key] = "victim"
                let response = try await worker.call("provision", ["spec": spec(scope, extra: ["labels": .object(labels)])])
                #expect(response.errorCode == -32602)
                #expect(field(response) == "spec.labels.\(key)", "\(response.raw)")
            }
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
        }
        let worker = try WorkerProcess()
        let response = try await worker.call(
            "initialize", ["protocolVersion": "1.1", "config": ["defaultLabels": ["openlattice.owner": "victim"]]])
        #expect(response.errorCode == -32602)
        #expect(field(response) == "config.defaultLabels.openlattice.owner")
        _ = try await worker.closeInput()

        // an image's own openlattice.* labels do not reach the node either
        try await withWorker { worker, scope in
            let image = "olw-forged-\(scope.id):latest"
            scope.onCleanUp { Docker.run(["rmi", "-f", image]) }
            // (built, not committed: Podman's compatibility layer fails a commit with --change)
            setenv("DOCKER_BUILDKIT", "0", 1)
            let dockerfile = "FROM \(Docker.image)\nLABEL openlattice.owner=victim openlattice.secret-env=true\n"
            let built = Docker.run(["build", "-q", "-t", image, "-"], input: Data(dockerfile.utf8))
            #expect(built.status == 0, "\(built.stderr)")
            let node = try await worker.result(
                "provision", ["spec": spec(scope, runtime: ["image": .string(image), "pullPolicy": "never"])])
            let id = try #require(node["externalId"]?.string)
            let labels = try #require(Docker.inspect(id)?["Config"]?["Labels"])
            #expect(labels["openlattice.owner"]?.string == "")
            #expect(labels["openlattice.secret-env"]?.string == "")
            #expect(labels["openlattice.managed"]?.string == "true")
        }
    }

    @Test func aDestroyedIdReusedAsANameIsUnreachable() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result("provision", ["spec": spec(scope)])
            let id = try #require(node["externalId"]?.string)
            #expect(try await worker.result("exec", ["externalId": .string(id), "command": ["true"]])["exitCode"] == 0)
            _ = try await worker.result("files.read", ["externalId": .string(id), "path": "/etc/hostname"])
            _ = try await worker.result("destroy", ["externalId": .string(id)])
            #expect(!Docker.exists(id))
            // someone else's container, named with the destroyed node's full id
            let impostor = try #require(
                Docker.lines(["run", "-d", "--name", id, "--label", "openlattice.test=\(scope.id)", Docker.image, "sleep", "300"]).first)
            #expect(impostor != id)
            for (method, params) in [
                ("exec", ["externalId": JSONValue.string(id), "command": ["touch", "/tmp/reached"]]),
                ("files.read", ["externalId": .string(id), "path": "/etc/hostname"]),
                ("files.write", ["externalId": .string(id), "path": "/tmp/reached-by-write", "content": "x"]),
                ("stop", ["externalId": .string(id), "timeoutSeconds": 0]),
                ("destroy", ["externalId": .string(id)]),
            ] as [(String, [String: JSONValue])] {
                var object = JSONObject()
                for (key, value) in params { object[key] = value }
                let response = try await worker.call(method, .object(object))
                #expect(response.errorCode == -32004, "\(method): \(response.raw)")
            }
            #expect(Docker.inspect(impostor)?["State"]?["Running"] == true)
            #expect(Docker.run(["exec", impostor, "test", "-e", "/tmp/reached"]).status != 0)
            #expect(Docker.run(["exec", impostor, "test", "-e", "/tmp/reached-by-write"]).status != 0)
        }
    }

    @Test func aSnapshotRightAfterATailscaleProvisionHoldsNoKey() async throws {
        // The key used to be removed by a task provision did not wait for: a snapshot right after
        // caught it about one time in three, so each run tries several times.
        for attempt in 0..<5 { try await snapshotRightAfterTailscaleProvision(attempt: attempt) }
    }

    func snapshotRightAfterTailscaleProvision(attempt: Int) async throws {
        let key = "tskey-auth-\(UUID().uuidString)"
        try await withWorker { worker, scope in
            let tag = "ts-\(scope.id)"
            removeImages(scope) { ["openlattice-snapshot:\(tag)"] }
            let name = scope.name("ts\(attempt)")
            var provisionSpec = spec(
                scope, runtime: ["image": .string(Docker.tailscaleImage)], extra: ["network": ["tailscaleAuthKey": .string(key)]])
            provisionSpec = .object(
                provisionSpec.object.map { object in
                    var object = object
                    object["name"] = .string(name)
                    return object
                } ?? JSONObject())
            let provision = worker.start("provision", ["spec": provisionSpec])
            // While the provision runs, the engine's record of the container's own layer
            // (GET /containers/{name}/changes, what a commit captures) never holds a key file.
            let watcher = Task {
                var seen = Set<String>()
                while !Task.isCancelled {
                    for path in Docker.api("/containers/\(name)/changes").split(separator: "\"") where path.hasPrefix("/") {
                        seen.insert(String(path))
                    }
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return seen
            }
            let node = try await worker.response(.integer(provision)).value()
            watcher.cancel()
            let layerPaths = await watcher.value
            #expect(!layerPaths.contains { $0.contains("authkey") }, "attempt \(attempt): \(layerPaths.sorted())")
            let id = try #require(node["externalId"]?.string)
            let snapshot = try await worker.result("snapshot", ["externalId": .string(id), "tag": .string(tag)])
            let image = try #require(snapshot["image"]?.string)
            // the key file is gone before provision answered
            #expect(Docker.run(["exec", id, "sh", "-c", "ls -A /.openlattice-secrets"]).stdout.isEmpty)
            #expect(Docker.run(["exec", id, "test", "-e", "/.openlattice-tailscale-authkey"]).status != 0)
            // the engine's diff and an export of the snapshot hold no key (the stand-in tailscale's
            // own record of the key it read, /tmp/tailscale.key-seen, is left out of the search)
            let diff = String(decoding: Docker.run(["diff", id]).stdout, as: UTF8.self)
            #expect(!diff.contains("authkey"), "\(diff)")
            let copy = try #require(Docker.lines(["create", "--label", "openlattice.test=\(scope.id)", image]).first)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("olw-export-\(scope.id)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let exported = Docker.run(["export", copy])
            #expect(exported.status == 0)
            #expect(!exported.stdout.isEmpty)
            runProcess(["tar", "-x", "-C", folder.path], input: exported.stdout)
            try? FileManager.default.removeItem(at: folder.appendingPathComponent("tmp/tailscale.key-seen"))
            let grep = runProcess(["grep", "-rl", key, folder.path])
            let files = String(decoding: grep.stdout, as: UTF8.self)
            #expect(grep.status == 1, "attempt \(attempt): the key is in \(files)")
        }
    }

    @Test func snapshotTagsOfAnotherOwnerOrForeignImagesAreRefused() async throws {
        let scope = TestScope()
        defer { scope.cleanUp() }
        let shared = "shared-\(scope.id)"
        let foreign = "foreign-\(scope.id)"
        removeImages(scope) { ["openlattice-snapshot:\(shared)", "openlattice-snapshot:\(foreign)"] }
        let ownerA = try WorkerProcess()
        try await ownerA.initialize(["ownerId": .string("a-\(scope.id)")])
        let ownerB = try WorkerProcess()
        try await ownerB.initialize(["ownerId": .string("b-\(scope.id)")])
        let nodeA = try #require(try await ownerA.result("provision", ["spec": spec(scope)])["externalId"]?.string)
        let nodeB = try #require(try await ownerB.result("provision", ["spec": spec(scope)])["externalId"]?.string)
        let snapshotA = try await ownerA.result("snapshot", ["externalId": .string(nodeA), "tag": .string(shared)])
        let response = try await ownerB.call("snapshot", ["externalId": .string(nodeB), "tag": .string(shared)])
        #expect(response.errorCode == -32009, "\(response.raw)")
        // the tag still names A's image
        #expect(
            Docker.sameImageID(
                Docker.inspect("openlattice-snapshot:\(shared)", type: "image")?["Id"]?.string, snapshotA["externalId"]?.string ?? "-"))
        // A may move its own tag
        let again = try await ownerA.result("snapshot", ["externalId": .string(nodeA), "tag": .string(shared)])
        #expect(
            Docker.sameImageID(
                Docker.inspect("openlattice-snapshot:\(shared)", type: "image")?["Id"]?.string, again["externalId"]?.string ?? "-"))
        // an image the worker did not make
        #expect(Docker.run(["tag", Docker.image, "openlattice-snapshot:\(foreign)"]).status == 0)
        let busyboxID = Docker.inspect(Docker.image, type: "image")?["Id"]?.string ?? ""
        let onForeign = try await ownerA.call("snapshot", ["externalId": .string(nodeA), "tag": .string(foreign)])
        #expect(onForeign.errorCode == -32009, "\(onForeign.raw)")
        #expect(Docker.inspect("openlattice-snapshot:\(foreign)", type: "image")?["Id"]?.string == busyboxID)
        for worker in [ownerA, ownerB] { _ = try await worker.closeInput() }
    }

    @Test func badImageReferencesNeverReachTheEngine() async throws {
        try await withWorker { worker, scope in
            for image in ["../../_ping", "busybox/../../x", "Upper/Case", "a b", "busybox:bad/tag", "busybox@sha256:zz", "-x", "a//b"] {
                let response = try await worker.call("provision", ["spec": spec(scope, runtime: ["image": .string(image)])])
                #expect(response.errorCode == -32602, "\(image): \(response.raw)")
                #expect(field(response) == "spec.runtime.image", "\(image)")
            }
            for ref in ["../../_ping", "x/../../../info"] {
                let response = try await worker.call("restore", ["ref": ["externalId": .string(ref)]])
                #expect(response.errorCode == -32602, "\(ref): \(response.raw)")
                #expect(field(response) == "ref.externalId")
            }
            for externalId in ["..", ".", "-x"] {
                let response = try await worker.call("exec", ["externalId": .string(externalId), "command": ["true"]])
                #expect(response.errorCode == -32602, "\(externalId): \(response.raw)")
            }
            let volume = try await worker.call(
                "provision", ["spec": spec(scope, extra: ["volumes": [["source": "a/../../_ping", "target": "/data"]]])])
            #expect(field(volume) == "spec.volumes[0].source")
            // good ones pass
            for image in [Docker.image, "localhost:5000/a/b:1.0", "docker.io/library/busybox@sha256:" + String(repeating: "a", count: 64)] {
                let response = try await worker.call(
                    "provision", ["spec": spec(scope, runtime: ["image": .string(image), "pullPolicy": "never"])])
                #expect(field(response) != "spec.runtime.image", "\(image): \(response.raw)")
            }
        }
    }

    @Test func secretEnvReachesExecButNotTheEnginesViewAndNulIsRefused() async throws {
        let secret = "s3cr3t-\(UUID().uuidString)"
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision", ["spec": spec(scope, runtime: ["secretEnv": ["API_TOKEN": .string(secret)], "env": ["PLAIN": "p"]])])
            let id = try #require(node["externalId"]?.string)
            let result = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "echo \"$API_TOKEN|$PLAIN\""]])
            #expect(result["stdout"]?.string == "\(secret)|p\n")
            // the main process sees the same value
            let main = Docker.run(["exec", id, "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ"])
            #expect(String(decoding: main.stdout, as: UTF8.self).contains("API_TOKEN=\(secret)"))
            // ... and the engine's record of a running exec does not show it
            let running = worker.start(
                "exec",
                ["externalId": .string(id), "command": ["sh", "-c", "echo \"$API_TOKEN\"; sleep 30"], "options": ["timeoutMs": 5000]])
            var execIDs: [String] = []
            try await eventually {
                execIDs = Docker.inspect(id)?["ExecIDs"]?.array?.compactMap(\.string) ?? []
                return !execIDs.isEmpty
            }
            for execID in execIDs {
                let record = Docker.api("/exec/\(execID)/json")
                #expect(record.contains("ProcessConfig"))
                #expect(!record.contains(secret))
            }
            let ended = try await worker.response(.integer(running)).value()
            #expect(ended["stdout"]?.string == "\(secret)\n")
            #expect(!String(decoding: Docker.run(["inspect", id]).stdout, as: UTF8.self).contains(secret))
            // a value the environment cannot carry
            let nul = try await worker.call(
                "provision", ["spec": spec(scope, runtime: ["secretEnv": ["TOKEN": .string("a\u{0}b")]])])
            #expect(nul.errorCode == -32602)
            #expect(field(nul) == "spec.runtime.secretEnv.TOKEN")
        }
    }

    @Test func filesAreOwnedByTheNodesUserAndSpecialModesNeedThePolicy() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result("provision", ["spec": spec(scope, runtime: ["user": "nobody"])])
            let id = try #require(node["externalId"]?.string)
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/tmp/new/dir/f", "content": "x"])
            _ = try await worker.result("files.mkdir", ["externalId": .string(id), "path": "/tmp/made/deep", "recursive": true])
            let owners = Docker.run([
                "exec", id, "stat", "-c", "%u:%g", "/tmp/new", "/tmp/new/dir", "/tmp/new/dir/f", "/tmp/made", "/tmp/made/deep",
            ])
            #expect(String(decoding: owners.stdout, as: UTF8.self) == String(repeating: "65534:65534\n", count: 5))
            // the node's user can change what it was given
            #expect(Docker.run(["exec", id, "sh", "-c", "echo more >> /tmp/new/dir/f"]).status == 0)
            // setuid refused by default, named
            let setuid = try await worker.call(
                "files.write", ["externalId": .string(id), "path": "/tmp/suid", "content": "x", "mode": .integer(0o4755)])
            #expect(setuid.errorCode == -32602)
            #expect(field(setuid) == "mode")
            #expect(Docker.run(["exec", id, "test", "-e", "/tmp/suid"]).status != 0)
        }
        try await withWorker(config: ["policy": ["allowSpecialModes": true]]) { worker, scope in
            let id = try #require(try await worker.result("provision", ["spec": spec(scope)])["externalId"]?.string)
            _ = try await worker.result(
                "files.write", ["externalId": .string(id), "path": "/tmp/suid", "content": "x", "mode": .integer(0o4755)])
            #expect(String(decoding: Docker.run(["exec", id, "stat", "-c", "%a", "/tmp/suid"]).stdout, as: UTF8.self) == "4755\n")
        }
    }

    @Test func bindMountRules() async throws {
        let allowed = FileManager.default.temporaryDirectory.appendingPathComponent("olw-allowed-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: allowed.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: allowed) }
        try await withWorker(config: ["policy": ["bindMounts": "none"]]) { worker, scope in
            for source in ["/", "/var/run/docker.sock", allowed.path] {
                let response = try await worker.call(
                    "provision", ["spec": spec(scope, extra: ["volumes": [["source": .string(source), "target": "/host"]]])])
                #expect(response.errorCode == -32602)
                #expect(field(response) == "spec.volumes[0].source")
                #expect(response.errorMessage.contains("policy.bindMounts"))
            }
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
        }
        try await withWorker(config: ["policy": ["bindMounts": [.string(allowed.path)]]]) { worker, scope in
            for source in ["/", "/var/run/docker.sock", allowed.path + "/../..", allowed.path + "-other"] {
                let response = try await worker.call(
                    "provision", ["spec": spec(scope, extra: ["volumes": [["source": .string(source), "target": "/host"]]])])
                #expect(field(response) == "spec.volumes[0].source", "\(source): \(response.raw)")
            }
            let node = try await worker.result(
                "provision",
                [
                    "spec": spec(
                        scope, extra: ["volumes": [["source": .string(allowed.path + "/sub"), "target": "/host", "readOnly": true]]])
                ])
            let id = try #require(node["externalId"]?.string)
            #expect(Docker.inspect(id)?["Mounts"]?[0]?["Source"]?.string == allowed.path + "/sub")
        }
    }

    @Test func policyHardensEveryNodeAndIsReported() async throws {
        let policy: JSONValue = [
            "publishAddress": "127.0.0.1", "pidsLimit": 32, "capDrop": ["ALL"], "capAdd": ["NET_BIND_SERVICE"],
            "noNewPrivileges": true, "readOnlyRootfs": true, "runtime": "runc", "user": "65534:65534",
            "networkModes": ["none", "default"], "maxCpuCores": 1, "maxMemoryGiB": 0.5,
        ]
        try await withWorker(config: ["policy": policy]) { worker, scope in
            let node = try await worker.result(
                "provision", ["spec": spec(scope, extra: ["network": ["ports": [["port": 8080, "hostPort": 0]]]])])
            let id = try #require(node["externalId"]?.string)
            let engine = try #require(Docker.inspect(id))
            let host = try #require(engine["HostConfig"])
            #expect(host["PortBindings"]?["8080/tcp"]?[0]?["HostIp"] == "127.0.0.1")
            #expect(engine["NetworkSettings"]?["Ports"]?["8080/tcp"]?.array?.allSatisfy { $0["HostIp"] == "127.0.0.1" } == true)
            #expect(host["PidsLimit"] == 32)
            // Docker keeps ["ALL"], Podman lists every capability; the node's own view: none effective
            #expect(host["CapDrop"] == ["ALL"] || (Docker.isPodman && (host["CapDrop"]?.array?.count ?? 0) > 10))
            let status = String(decoding: Docker.run(["exec", id, "cat", "/proc/1/status"]).stdout, as: UTF8.self)
            #expect(status.contains("CapEff:\t0000000000000000"), "\(status)")
            #expect(host["SecurityOpt"]?.array?.contains { $0.string?.hasPrefix("no-new-privileges") == true } == true)
            #expect(host["ReadonlyRootfs"] == true)
            // Podman's compatibility layer reports its OCI runtime as "oci" whatever it is
            #expect(host["Runtime"] == (Docker.isPodman ? "oci" : "runc"))
            #expect(host["NanoCpus"] == 1_000_000_000)
            #expect(host["Memory"] == 536_870_912)
            #expect(engine["Config"]?["User"] == "65534:65534")
            // the root filesystem is read-only, /tmp is not
            #expect(Docker.run(["exec", id, "touch", "/etc/x"]).status != 0)
            #expect(Docker.run(["exec", id, "touch", "/tmp/x"]).status == 0)
            // a fork bomb stops at the limit
            let bomb = try await worker.result(
                "exec",
                [
                    "externalId": .string(id),
                    "command": ["sh", "-c", "i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done; echo started"],
                    "options": ["timeoutMs": 20000],
                ])
            #expect(bomb["stderr"]?.string?.contains("fork") == true || bomb["exitCode"] != 0, "\(bomb)")
            let stats = try JSONParser.parse(Array(Docker.api("/containers/\(id)/stats?stream=false").utf8))
            let processes = stats["pids_stats"]?["current"]?.int ?? -1
            #expect(processes <= 32, "\(processes) processes")
            #expect(processes > 1)

            // asking more than the policy allows is refused, naming the field and the rule
            for (extra, expected) in [
                (["cpu": ["cores": 2]], "spec.cpu.cores"),
                (["memory": ["sizeGiB": 1]], "spec.memory.sizeGiB"),
                (["security": ["pidsLimit": 1000]], "spec.security.pidsLimit"),
                (["security": ["capAdd": ["SYS_ADMIN"]]], "spec.security.capAdd[0]"),
                (["security": ["noNewPrivileges": false]], "spec.security.noNewPrivileges"),
                (["security": ["readOnlyRootfs": false]], "spec.security.readOnlyRootfs"),
                (["network": ["mode": "host"]], "spec.network.mode"),
                (["network": ["tailscale": true]], "spec.network.tailscale"),
            ] as [([String: JSONValue], String)] {
                let response = try await worker.call("provision", ["spec": spec(scope, extra: extra)])
                #expect(response.errorCode == -32602, "\(expected): \(response.raw)")
                #expect(field(response) == expected, "\(response.raw)")
                #expect(response.errorMessage.contains("policy."), "\(response.errorMessage)")
            }
            // a node may tighten: its own pids limit and no network at all
            let tight = try await worker.result(
                "provision",
                ["spec": spec(scope, extra: ["security": ["pidsLimit": 8, "capDrop": ["CHOWN"]], "network": ["mode": "none"]])])
            let tightID = try #require(tight["externalId"]?.string)
            #expect(Docker.inspect(tightID)?["HostConfig"]?["PidsLimit"] == 8)
            #expect(Docker.inspect(tightID)?["HostConfig"]?["NetworkMode"] == "none")
            let interfaces = Docker.run(["exec", tightID, "ls", "/sys/class/net"])
            #expect(String(decoding: interfaces.stdout, as: UTF8.self) == "lo\n")
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).count == 2)
        }
        // initialize reports the policy in force; --policy FILE sets it, config.policy overrides
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("olw-policy-\(UUID().uuidString.prefix(8)).json")
        try Data(#"{"pidsLimit":64,"bindMounts":"none"}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let flagged = try WorkerProcess(arguments: ["--policy", file.path])
        let result = try await flagged.result("initialize", ["protocolVersion": "1.1", "config": ["ownerId": "reported"]])
        #expect(result["protocolVersion"] == "1.1")
        #expect(result["policy"]?["pidsLimit"] == 64)
        #expect(result["policy"]?["bindMounts"] == "none")
        #expect(result["policy"]?.object?.members.count == 2)
        #expect(result["ownerId"] == "reported")
        _ = try await flagged.closeInput()
        let bad = try await WorkerProcess().call("initialize", ["protocolVersion": "1.1", "config": ["policy": ["pidsLimit": 0]]])
        #expect(field(bad) == "config.policy.pidsLimit")
    }
}

import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Issue 5: ownership, reaping after a crash, secrets, and no orphans from failed provisions.
@Suite("hardening")
struct HardeningTests {
    @Test func unlabelledContainersCannotBeTouched() async throws {
        try await withWorker { worker, scope in
            let foreign = try #require(
                Docker.lines([
                    "run", "-d", "--label", "openlattice.test=\(scope.id)", "--name", scope.name("foreign"), Docker.image, "sleep", "300",
                ]).first)
            for (method, params) in [
                ("destroy", ["externalId": JSONValue.string(foreign)]),
                ("exec", ["externalId": .string(foreign), "command": ["touch", "/tmp/touched"]]),
                ("stop", ["externalId": .string(foreign)]),
                ("pause", ["externalId": .string(foreign)]),
                ("snapshot", ["externalId": .string(foreign)]),
                ("files.write", ["externalId": .string(foreign), "path": "/tmp/touched", "content": "x"]),
                ("files.read", ["externalId": .string(foreign), "path": "/etc/passwd"]),
                ("logs", ["externalId": .string(scope.name("foreign"))]),
            ] as [(String, [String: JSONValue])] {
                var object = JSONObject()
                for (key, value) in params { object[key] = value }
                let response = try await worker.call(method, .object(object))
                #expect(response.errorCode == -32004, "\(method)")
            }
            #expect(try await worker.result("inspect", ["externalId": .string(foreign)])["status"] == "terminated")
            let engine = try #require(Docker.inspect(foreign))
            #expect(engine["State"]?["Running"] == true)
            #expect(Docker.run(["exec", foreign, "test", "-e", "/tmp/touched"]).status != 0)
            #expect(try await worker.result("list", ["labels": scope.labels]) == [])
        }
        // unless the operator says otherwise
        try await withWorker(config: ["manageUnlabeled": true]) { worker, scope in
            let foreign = try #require(
                Docker.lines(["run", "-d", "--label", "openlattice.test=\(scope.id)", Docker.image, "sleep", "300"]).first)
            let result = try await worker.result("exec", ["externalId": .string(foreign), "command": ["echo", "ok"]])
            #expect(result["stdout"] == "ok\n")
        }
    }

    @Test func reapRemovesOnlyThisOwnersForgottenNodes() async throws {
        let ownerA = "owner-a-\(UUID().uuidString.prefix(6))"
        let ownerB = "owner-b-\(UUID().uuidString.prefix(6))"
        let scope = TestScope()
        defer { scope.cleanUp() }
        let workerA = try WorkerProcess()
        try await workerA.initialize(["ownerId": .string(ownerA)])
        let workerB = try WorkerProcess()
        try await workerB.initialize(["ownerId": .string(ownerB)])
        func provision(_ worker: WorkerProcess, volumes: Bool = false) async throws -> String {
            var spec: JSONObject = JSONObject()
            spec["runtime"] = ["image": .string(Docker.image)]
            spec["labels"] = scope.labels
            if volumes { spec["volumes"] = [["target": "/scratch"]] }
            let node = try await worker.result("provision", ["spec": .object(spec)])
            return try #require(node["externalId"]?.string)
        }
        let keptA = try await provision(workerA)
        let lostA = try await provision(workerA, volumes: true)
        let nodeB = try await provision(workerB)
        let unlabelled = Docker.lines(["run", "-d", "--label", "openlattice.test=\(scope.id)", Docker.image, "sleep", "300"]).first ?? ""
        #expect(Docker.inspect(keptA)?["Config"]?["Labels"]?["openlattice.owner"]?.string == ownerA)
        let anonymous = Docker.inspect(lostA)?["Mounts"]?[0]?["Name"]?.string ?? ""

        // worker A "crashes" and a new one with the same owner starts
        _ = try await workerA.closeInput()
        let restarted = try WorkerProcess()
        try await restarted.initialize(["ownerId": .string(ownerA)])
        let reaped = try await restarted.result("reap", ["keep": [.string(String(keptA.prefix(12)))]])
        #expect(reaped["removed"] == [.string(lostA)])
        #expect(Docker.exists(keptA))
        #expect(!Docker.exists(lostA))
        #expect(Docker.inspect(anonymous, type: "volume") == nil)
        #expect(Docker.exists(nodeB))
        #expect(Docker.exists(unlabelled))
        let withoutOwner = try WorkerProcess()
        try await withoutOwner.initialize()
        #expect(try await withoutOwner.call("reap", ["keep": []]).errorCode == -32602)
        for worker in [restarted, workerB, withoutOwner] { _ = try await worker.closeInput() }
    }

    @Test func secretEnvNeverReachesTheEnginesViewOrTheLogs() async throws {
        let secret = "s3cr3t-\(UUID().uuidString)"
        try await withWorker(arguments: ["--log-level", "trace"]) { worker, scope in
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": [
                            "image": .string(Docker.image), "env": ["PLAIN": "visible"],
                            "secretEnv": ["API_TOKEN": .string(secret), "QUOTED": "it's \"fine\" $HOME"],
                            "command": ["sh", "-c", "echo \"$API_TOKEN|$QUOTED\" > /tmp/seen; sleep 300"],
                        ],
                        "labels": scope.labels,
                    ]
                ])
            let id = try #require(node["externalId"]?.string)
            try await eventually {
                // -32004 until the container's shell has written the file: retry, do not fail.
                let seen = try await worker.call("files.read", ["externalId": .string(id), "path": "/tmp/seen"])
                return seen.result?["content"]?.string == "\(secret)|it's \"fine\" $HOME\n"
            }
            let engineView = String(decoding: Docker.run(["inspect", id]).stdout, as: UTF8.self)
            #expect(engineView.contains("PLAIN=visible"))
            #expect(!engineView.contains(secret))
            for execID in Docker.inspect(id)?["ExecIDs"]?.array?.compactMap(\.string) ?? [] {
                #expect(!Docker.api("/exec/\(execID)/json").contains(secret))
            }
            #expect(!worker.stderrText.contains(secret))
            // a bad secret key is named without its value
            let bad = try await worker.call(
                "provision",
                ["spec": ["runtime": ["image": .string(Docker.image), "secretEnv": ["BAD-KEY": .string(secret)]], "labels": scope.labels]])
            #expect(bad.errorCode == -32602)
            #expect(!bad.errorMessage.contains(secret))
            #expect(!String(decoding: JSONWriter.encode(bad.raw), as: UTF8.self).contains(secret))
        }
    }

    /// The secrets file lives on an anonymous volume: a restart keeps it, a snapshot does not carry it,
    /// and an image whose USER is not root can read it.
    @Test func secretEnvSurvivesARestartButNotASnapshot() async throws {
        let secret = "s3cr3t-\(UUID().uuidString)"
        let second = "other-\(UUID().uuidString)"
        try await withWorker { worker, scope in
            func seen(_ id: String) async throws -> String {
                try await worker.call("files.read", ["externalId": .string(id), "path": "/tmp/seen"]).result?["content"]?.string ?? ""
            }
            let command: JSONValue = ["sh", "-c", "echo \"$API_TOKEN\" >> /tmp/seen; sleep 300"]
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": [
                            "image": .string(Docker.image), "user": "nobody", "secretEnv": ["API_TOKEN": .string(secret)],
                            "command": command,
                        ],
                        "labels": scope.labels,
                    ]
                ])
            let id = try #require(node["externalId"]?.string)
            try await eventually { try await seen(id) == "\(secret)\n" }
            #expect(try await worker.call("restart", ["externalId": .string(id), "timeoutSeconds": 0]).result == .null)
            try await eventually(timeout: .seconds(20)) { try await seen(id) == "\(secret)\n\(secret)\n" }

            let snapshot = try await worker.result("snapshot", ["externalId": .string(id)])
            let image = try #require(snapshot["externalId"]?.string)
            scope.onCleanUp { Docker.run(["rmi", "-f", image]) }
            #expect(snapshot["excludedVolumes"] == [], "the secrets volume is the worker's own: \(snapshot)")
            let inside = Docker.run([
                "run", "--rm", "--label", "openlattice.test=\(scope.id)", "--entrypoint", "sh", image, "-c",
                "cat /.openlattice-secrets/* /.openlattice-secret-env 2>&1; ls -la / /.openlattice-secrets 2>&1",
            ])
            let listing = String(decoding: inside.stdout, as: UTF8.self)
            #expect(listing.contains("openlattice-secrets"), "the image was run: \(listing)")
            #expect(!listing.contains(secret), "the snapshot carries the secret: \(listing)")

            // Restored with other secrets and no runtime.user: the image's USER (nobody) reads them.
            let restored = try await worker.result(
                "restore",
                [
                    "ref": ["externalId": .string(image)],
                    "spec": ["runtime": ["secretEnv": ["API_TOKEN": .string(second)], "command": command], "labels": scope.labels],
                ])
            let restoredID = try #require(restored["externalId"]?.string)
            try await eventually(timeout: .seconds(20)) { try await seen(restoredID).hasSuffix("\(second)\n") }
            // Restored without secrets: the entrypoint finds no file and runs the command all the same.
            let plain = try await worker.result(
                "restore", ["ref": ["externalId": .string(image)], "spec": ["runtime": ["command": command], "labels": scope.labels]])
            let plainID = try #require(plain["externalId"]?.string)
            try await eventually(timeout: .seconds(20)) { try await seen(plainID).hasSuffix("\(secret)\n\n") }
        }
    }

    /// The worker's helper commands run as the user they need, not the node's: a timed-out exec that
    /// ran as another user than the node's is still killed (the search runs as the exec's user, the
    /// only one the kernel shows its environment to), and a file the archive API wrote as root in
    /// sticky /tmp of a node running as nobody can be removed (the helper runs as root).
    @Test func helpersWorkWhateverUserTheNodeRunsAs() async throws {
        try await withWorker { worker, scope in
            let rootNode = try await SeedExecTests.node(worker, scope)
            let timedOut = try await worker.result(
                "exec", ["externalId": .string(rootNode), "command": ["sleep", "919"], "options": ["user": "nobody", "timeoutMs": 1000]])
            #expect(timedOut["timedOut"] == true)
            try await eventually {
                let ps = try await worker.call("exec", ["externalId": .string(rootNode), "command": ["ps", "-o", "args"]])
                return ps.result?["stdout"]?.string.map { !$0.contains("sleep 919") } ?? false
            }

            let node = try await worker.result(
                "provision", ["spec": ["runtime": ["image": .string(Docker.image), "user": "nobody"], "labels": scope.labels]])
            let id = try #require(node["externalId"]?.string)
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/tmp/by-root", "content": "x"])
            #expect(try await worker.call("files.remove", ["externalId": .string(id), "path": "/tmp/by-root"]).result == .null)
            let listed = try await worker.result("files.list", ["externalId": .string(id), "path": "/tmp"])
            #expect(!(listed["entries"]?.array ?? []).contains { $0["name"] == "by-root" })
        }
    }

    /// A configured network that does not exist is named in the error, not taken for a missing image.
    @Test func aMissingConfiguredNetworkIsNamed() async throws {
        try await withWorker(config: ["network": "olw-no-such-network"]) { worker, scope in
            let response = try await worker.call(
                "provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
            // Docker answers 404 (-32004), Podman 500 (-32000); both name the network.
            #expect(response.errorCode == (Docker.isPodman ? -32000 : -32004))
            #expect(
                response.errorMessage.contains("olw-no-such-network") && response.errorMessage.contains("not found"),
                "\(response.errorMessage)")
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
        }
    }

    @Test func failedStartLeavesNoContainerOrVolume() async throws {
        try await withWorker { worker, scope in
            let response = try await worker.call(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": .string(Docker.image), "command": ["/no/such/binary"]], "labels": scope.labels,
                        "volumes": [["target": "/scratch"]],
                    ]
                ])
            #expect(response.error != nil)
            #expect(response.errorMessage.hasPrefix("[docker] provision failed:"))
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
            let left = Docker.lines(["volume", "ls", "-q", "--filter", "label=openlattice.test=\(scope.id)"])
            #expect(left.isEmpty, "anonymous volumes left: \(left)")
            let missingImage = try await worker.call(
                "provision",
                ["spec": ["runtime": ["image": "openlattice-test/does-not-exist:1", "pullPolicy": "never"], "labels": scope.labels]])
            #expect(missingImage.errorCode == -32004)
        }
    }

    @Test func cancelledProvisionLeavesNothing() async throws {
        try await withWorker { worker, scope in
            // Cancel at several points of the provision's progress.
            for delay in [0, 20, 60, 120, 250] {
                let request = worker.start(
                    "provision",
                    ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels, "volumes": [["target": "/v"]]]])
                try await Task.sleep(for: .milliseconds(delay))
                worker.notify("$/cancelRequest", ["id": .integer(request)])
                let response = try await worker.response(.integer(request))
                if response.errorCode == -32800 {
                    // The -32800 comes first; the clean-up (a create already sent finishes, then is removed) follows.
                    try await eventually(timeout: .seconds(30)) {
                        Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty
                            && Docker.lines(["volume", "ls", "-q", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty
                    }
                    let containers = Docker.lines([
                        "ps", "-a", "--filter", "label=openlattice.test=\(scope.id)", "--format", "{{.ID}} {{.Status}}",
                    ])
                    let volumes = Docker.lines(["volume", "ls", "-q", "--filter", "label=openlattice.test=\(scope.id)"])
                    #expect(containers.isEmpty && volumes.isEmpty, "cancelled after \(delay) ms, left: \(containers) \(volumes)")
                } else {
                    // finished before the cancel arrived: it is a normal node
                    let id = try #require(response.result?["externalId"]?.string)
                    _ = try await worker.call("destroy", ["externalId": .string(id)])
                }
            }
        }
    }
}

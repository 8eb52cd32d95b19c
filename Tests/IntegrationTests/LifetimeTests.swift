import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Lifetimes (TTL, idle, `lifetime.set`, re-arming by a later worker), `onHostExit`, readiness,
/// snapshots you can manage, restores that come back as they were, and `runtime.init`; each
/// checked against the engine's own view.
@Suite("lifetimes, readiness and snapshots")
struct LifetimeTests {
    static func provision(_ worker: WorkerProcess, _ scope: TestScope, _ extra: JSONValue = [:]) async throws -> String {
        var spec = JSONObject(["runtime": ["image": .string(Docker.image)], "labels": scope.labels])
        for (key, value) in extra.object?.members ?? [] { spec[key] = value }
        let node = try await worker.result("provision", ["spec": .object(spec)])
        return try #require(node["externalId"]?.string)
    }

    static func state(_ id: String) -> String? { Docker.inspect(id)?["State"]?["Status"]?.string }

    @Test func ttlDestroysAndReportsExpired() async throws {
        try await withWorker { worker, scope in
            let subscription = worker.start("events.subscribe")
            let asked = Date()
            let id = try await Self.provision(worker, scope, ["lifetime": ["ttlSeconds": 4]])
            let inspected = try await worker.result("inspect", ["externalId": .string(id)])
            let expiresAt = try #require(inspected["expiresAt"]?.string.flatMap(Timestamp.parse))
            #expect(expiresAt.timeIntervalSince(asked) >= 3.99 && expiresAt.timeIntervalSince(asked) < 6)
            #expect(Docker.exists(id))
            try await eventually(timeout: .seconds(10)) { !Docker.exists(id) }
            try await eventually(timeout: .seconds(5)) {
                worker.notifications(for: subscription).contains { $0["externalId"]?.string == id && $0["action"] == "expired" }
            }
        }
    }

    @Test func ttlStopsWhenAskedTo() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.provision(worker, scope, ["lifetime": ["ttlSeconds": 2, "onExpire": "stop"]])
            try await eventually(timeout: .seconds(20)) { Self.state(id) == "exited" }
            #expect(Docker.exists(id))
        }
    }

    @Test func idleIsKeptAliveByExecsAndThenEnds() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.provision(worker, scope, ["lifetime": ["idleSeconds": 2]])
            // A long exec keeps the node busy past its idle time.
            let long = try await worker.result("exec", ["externalId": .string(id), "command": ["sleep", "3"]])
            #expect(long["exitCode"] == 0)
            for _ in 0..<3 {
                try await Task.sleep(for: .seconds(1))
                _ = try await worker.result("exec", ["externalId": .string(id), "command": ["true"]])
            }
            #expect(Self.state(id) == "running")
            let idleSince = Date()
            try await eventually(timeout: .seconds(10)) { !Docker.exists(id) }
            #expect(Date().timeIntervalSince(idleSince) >= 1.5)
        }
    }

    @Test func lifetimeSetExtendsAndRemoves() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.provision(worker, scope, ["lifetime": ["ttlSeconds": 2]])
            let changed = try await worker.result("lifetime.set", ["externalId": .string(id), "ttlSeconds": 60])
            let expiresAt = try #require(changed["expiresAt"]?.string.flatMap(Timestamp.parse))
            #expect(abs(expiresAt.timeIntervalSinceNow - 60) < 5)
            try await Task.sleep(for: .seconds(4))
            #expect(Self.state(id) == "running")
            let removed = try await worker.result("lifetime.set", ["externalId": .string(id), "ttlSeconds": .null])
            #expect(removed["expiresAt"] == nil)
            #expect(try await worker.result("inspect", ["externalId": .string(id)])["expiresAt"] == nil)
            let bad = try await worker.call("lifetime.set", ["externalId": .string(id), "ttlSeconds": 0])
            #expect(bad.errorCode == -32602)
            #expect(bad.errorMessage.contains("ttlSeconds"))
        }
    }

    @Test func aLifetimeAnotherWorkerChangedIsHeeded() async throws {
        try await withWorker { first, scope in
            let id = try await Self.provision(first, scope, ["lifetime": ["ttlSeconds": 3]])
            // A second worker of the same (no) owner arms the node's lifetime from its label.
            let second = try WorkerProcess()
            defer { Task { await second.stop() } }
            _ = try await second.result("initialize", ["protocolVersion": "1.1"])
            _ = try await first.result("lifetime.set", ["externalId": .string(id), "ttlSeconds": 60])
            try await Task.sleep(for: .seconds(5))
            #expect(Self.state(id) == "running")
            await second.stop()
        }
    }

    @Test func aLaterWorkerOfTheSameOwnerEndsTheNodeOnTime() async throws {
        let owner = "olw-owner-\(UUID().uuidString.prefix(8).lowercased())"
        let config: JSONValue = ["ownerId": .string(owner)]
        try await withWorker(config: config) { first, scope in
            let onTime = try await Self.provision(first, scope, ["lifetime": ["ttlSeconds": 15]])
            let extended = try await Self.provision(first, scope, ["lifetime": ["ttlSeconds": 4]])
            _ = try await first.result("lifetime.set", ["externalId": .string(extended), "ttlSeconds": 120])
            // Provisioned without a lifetime, given one later: a later worker still ends it.
            let given = try await Self.provision(first, scope)
            _ = try await first.result("lifetime.set", ["externalId": .string(given), "ttlSeconds": 8])
            let expired = try await Self.provision(first, scope, ["lifetime": ["ttlSeconds": 2]])
            kill(first.process.processIdentifier, SIGKILL)
            _ = try await first.waitForExit()
            // Nothing ends a node while no worker runs.
            try await Task.sleep(for: .seconds(3))
            #expect(Self.state(expired) == "running")
            let second = try WorkerProcess()
            defer { Task { await second.stop() } }
            try await second.initialize(config)
            // What expired meanwhile ends at once, the rest on time.
            try await eventually(timeout: .seconds(5)) { !Docker.exists(expired) }
            #expect(Docker.exists(given))
            try await eventually(timeout: .seconds(10)) { !Docker.exists(given) }
            #expect(Docker.exists(onTime))
            try await eventually(timeout: .seconds(15)) { !Docker.exists(onTime) }
            #expect(Self.state(extended) == "running")
            await second.stop()
        }
    }

    @Test func onHostExitDestroyRemovesTheSessionsNodesOnlyWhenTheHostDies() async throws {
        let scope = TestScope()
        defer { scope.cleanUp() }
        let config: JSONValue = ["onHostExit": "destroy"]
        // A `shutdown`: the nodes stay.
        let polite = try WorkerProcess()
        try await polite.initialize(config)
        let kept = try await Self.provision(polite, scope)
        #expect(try await polite.call("shutdown").result == .null)
        _ = try await polite.waitForExit()
        #expect(Self.state(kept) == "running")
        // Input ends without `shutdown`: this session's nodes go, the other session's stay.
        let dying = try WorkerProcess()
        try await dying.initialize(config)
        let gone = try await Self.provision(dying, scope)
        let (status, _) = try await dying.closeInput(timeout: .seconds(10))
        #expect(status == 0)
        #expect(!Docker.exists(gone))
        #expect(Self.state(kept) == "running")
    }

    @Test(arguments: ["pipes", "SIGINT", "SIGHUP"])
    func onHostExitDestroyAlsoWhenTheHostDiesMidRequest(how: String) async throws {
        let scope = TestScope()
        defer { scope.cleanUp() }
        let worker = try WorkerProcess()
        try await worker.initialize(["onHostExit": "destroy"])
        let id = try await Self.provision(worker, scope)
        // A host normally dies with requests open: a subscription and a running command.
        _ = worker.start("events.subscribe")
        _ = worker.start("exec", ["externalId": .string(id), "command": ["sleep", "30"]])
        try await Task.sleep(for: .milliseconds(300))
        switch how {
        case "pipes": try worker.closePipes()
        case "SIGINT": kill(worker.process.processIdentifier, SIGINT)
        default: kill(worker.process.processIdentifier, SIGHUP)
        }
        #expect(try await worker.waitForExit(timeout: .seconds(10)) == 0)
        #expect(!Docker.exists(id))
    }

    @Test func readinessChecksUntilItsDeadline() async throws {
        try await withWorker { worker, scope in
            // One check at the start, the next at the deadline itself: ready by then.
            _ = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": .string(Docker.image), "command": ["sh", "-c", "sleep 1; touch /tmp/ready; sleep 600"]],
                        "labels": scope.labels,
                        "readiness": ["exec": ["test", "-f", "/tmp/ready"], "timeoutMs": 4000, "intervalMs": 4000],
                    ]
                ])
            // An early line is found however much output follows it.
            _ = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": [
                            "image": .string(Docker.image),
                            "command": ["sh", "-c", "echo READY-X; head -c 6000000 /dev/zero | tr '\\000' x; sleep 600"],
                        ],
                        "labels": scope.labels, "readiness": ["logLine": "READY-X", "timeoutMs": 20000],
                    ]
                ])
        }
    }

    @Test func readinessWaitsForAPortThatOpensLater() async throws {
        try await withWorker { worker, scope in
            let started = ContinuousClock.now
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": [
                            "image": .string(Docker.image), "command": ["sh", "-c", "sleep 1.5; exec nc -ll -p 8080 -e echo hello"],
                        ],
                        "labels": scope.labels, "network": ["ports": [["port": 8080, "hostPort": 0]]], "readiness": ["tcpPort": 8080],
                    ]
                ])
            #expect(ContinuousClock.now - started >= .milliseconds(1400))
            let port = try #require(node["endpoints"]?[0]?["port"]?.int)
            #expect(try Self.readLine(host: "127.0.0.1", port: Int(port)) == "hello")
        }
    }

    @Test func readinessWaitsForAPortALogLineAndAnExecProbe() async throws {
        try await withWorker { worker, scope in
            let started = ContinuousClock.now
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": [
                            "image": .string(Docker.image),
                            "command": [
                                "sh", "-c",
                                "sleep 1.5; touch /tmp/ready; echo server is up; exec nc -ll -p 8080 -e echo hello",
                            ],
                        ],
                        "labels": scope.labels, "network": ["ports": [["port": 8080, "hostPort": 0]]],
                        "readiness": ["tcpPort": 8080, "logLine": "server is up", "exec": ["test", "-f", "/tmp/ready"]],
                    ]
                ])
            #expect(ContinuousClock.now - started >= .milliseconds(1400))
            let endpoint = try #require(node["endpoints"]?[0])
            let port = try #require(endpoint["port"]?.int)
            // Ready means reachable at once.
            let answer = try Self.readLine(host: "127.0.0.1", port: Int(port))
            #expect(answer == "hello")
        }
    }

    @Test func readinessWaitsForTheImagesHealthcheck() async throws {
        let image = "openlattice-test/healthy:\(UUID().uuidString.prefix(8).lowercased())"
        let scope = TestScope()
        // An image whose HEALTHCHECK passes once /tmp/healthy exists (the commit API sets it).
        let base = Docker.lines(["create", "--label", "openlattice.test=\(scope.id)", Docker.image]).first ?? ""
        let (repo, tag) = (String(image.prefix { $0 != ":" }), String(image.drop { $0 != ":" }.dropFirst()))
        let committed = Docker.api(
            "/commit?container=\(base)&repo=\(repo)&tag=\(tag)", method: "POST",
            body: #"{"Healthcheck":{"Test":["CMD-SHELL","test -f /tmp/healthy"],"Interval":200000000,"Retries":100}}"#)
        #expect(committed.contains("Id"))
        defer { Docker.run(["rmi", "-f", image]) }
        try await withWorker { worker, scope in
            let started = ContinuousClock.now
            _ = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": .string(image), "command": ["sh", "-c", "sleep 1; touch /tmp/healthy; sleep 600"]],
                        "labels": scope.labels, "readiness": ["healthcheck": true],
                    ]
                ])
            #expect(ContinuousClock.now - started >= .milliseconds(900))
        }
        scope.cleanUp()
    }

    @Test func readinessTimeoutLeavesNothingBehind() async throws {
        try await withWorker { worker, scope in
            let response = try await worker.call(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": .string(Docker.image)], "labels": scope.labels,
                        "network": ["ports": [["port": 8080, "hostPort": 0]]],
                        "readiness": ["tcpPort": 8080, "timeoutMs": 1500],
                    ]
                ])
            #expect(response.errorCode == -32008)
            #expect(response.errorMessage.contains("readiness.tcpPort"))
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
            // keepOnTimeout leaves it running
            let kept = try await worker.call(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": .string(Docker.image)], "labels": scope.labels,
                        "readiness": ["logLine": "never printed", "timeoutMs": 500, "keepOnTimeout": true],
                    ]
                ])
            #expect(kept.errorCode == -32008)
            #expect(Docker.lines(["ps", "-q", "--filter", "label=openlattice.test=\(scope.id)"]).count == 1)
        }
    }

    @Test func snapshotsAreListedDeletedAndNotDeletedWhileInUse() async throws {
        let owner = "olw-owner-\(UUID().uuidString.prefix(8).lowercased())"
        try await withWorker(config: ["ownerId": .string(owner)]) { worker, scope in
            let id = try await Self.provision(worker, scope)
            let ref = try await worker.result("snapshot", ["externalId": .string(id), "tag": .string("list-\(scope.id)")])
            let image = try #require(ref["image"]?.string)
            scope.onCleanUp { Docker.run(["rmi", "-f", image]) }
            let listed = try await worker.result("snapshots.list")
            let entry = try #require(listed.array?.first { $0["externalId"] == ref["externalId"] })
            #expect(entry["image"]?.string == image)
            #expect((entry["size"]?.int ?? 0) > 0)
            #expect(entry["nodeId"]?.string != nil)
            #expect(listed.array?.count == 1)  // only this owner's
            let restored = try await worker.result(
                "restore", ["ref": ["externalId": ref["externalId"] ?? .null], "spec": ["labels": scope.labels]])
            let inUse = try await worker.call("snapshots.delete", ["ref": ["externalId": ref["externalId"] ?? .null]])
            #expect(inUse.errorCode == -32009)
            _ = try await worker.call("destroy", ["externalId": restored["externalId"] ?? .null])
            #expect(try await worker.call("snapshots.delete", ["ref": ["externalId": ref["externalId"] ?? .null]]).result == .null)
            #expect(Docker.inspect(image, type: "image") == nil)
            #expect(try await worker.result("snapshots.list").array?.isEmpty == true)
        }
    }

    @Test func reapRemovesThisOwnersOldSnapshotsUnlessInUse() async throws {
        let owner = "olw-owner-\(UUID().uuidString.prefix(8).lowercased())"
        try await withWorker(config: ["ownerId": .string(owner), "snapshotRetentionSeconds": 1]) { worker, scope in
            let id = try await Self.provision(worker, scope)
            let old = try await worker.result("snapshot", ["externalId": .string(id), "tag": .string("old-\(scope.id)")])
            let used = try await worker.result("snapshot", ["externalId": .string(id), "tag": .string("used-\(scope.id)")])
            for ref in [old, used] {
                let image = try #require(ref["image"]?.string)
                scope.onCleanUp { Docker.run(["rmi", "-f", image]) }
            }
            _ = try await worker.result("restore", ["ref": ["externalId": used["externalId"] ?? .null], "spec": ["labels": scope.labels]])
            try await Task.sleep(for: .seconds(2))
            let reaped = try await worker.result(
                "reap", ["keep": .array(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).map { .string($0) })])
            #expect(reaped["snapshots"] == [old["externalId"] ?? .null])
            #expect(Docker.inspect(old["image"]?.string ?? "", type: "image") == nil)
            #expect(Docker.inspect(used["image"]?.string ?? "", type: "image") != nil)
        }
    }

    @Test func restoreBringsBackCommandEnvLimitsAndPortsAndTakesOverrides() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.provision(
                worker, scope,
                [
                    "runtime": [
                        "image": .string(Docker.image), "command": ["sh", "-c", "while true; do echo hb; sleep 1; done"],
                        "env": ["GREETING": "hi"],
                    ],
                    "cpu": ["cores": 0.5], "memory": ["sizeGiB": 0.25], "network": ["ports": [["port": 8080, "hostPort": 0]]],
                ])
            let ref = try await worker.result("snapshot", ["externalId": .string(id), "tag": .string("restore-\(scope.id)")])
            let image = try #require(ref["image"]?.string)
            scope.onCleanUp { Docker.run(["rmi", "-f", image]) }
            let same = try await worker.result(
                "restore", ["ref": ["externalId": ref["externalId"] ?? .null], "spec": ["labels": scope.labels]])
            let sameID = try #require(same["externalId"]?.string)
            let inspected = try #require(Docker.inspect(sameID))
            #expect(inspected["Config"]?["Cmd"] == ["sh", "-c", "while true; do echo hb; sleep 1; done"])
            #expect(inspected["Config"]?["Env"]?.array?.contains("GREETING=hi") == true)
            #expect(inspected["HostConfig"]?["NanoCpus"] == 500_000_000)
            #expect(inspected["HostConfig"]?["Memory"] == 268_435_456)
            #expect(same["endpoints"]?.array?.contains { $0["containerPort"] == 8080 } == true)
            try await eventually { String(decoding: Docker.run(["logs", sameID]).stdout, as: UTF8.self).contains("hb") }
            let smaller = try await worker.result(
                "restore",
                ["ref": ["externalId": ref["externalId"] ?? .null], "spec": ["labels": scope.labels, "memory": ["sizeGiB": 0.125]]])
            let smallerID = try #require(smaller["externalId"]?.string)
            #expect(Docker.inspect(smallerID)?["HostConfig"]?["Memory"] == 134_217_728)
            #expect(Docker.inspect(smallerID)?["Config"]?["Cmd"] == ["sh", "-c", "while true; do echo hb; sleep 1; done"])
        }
    }

    @Test func runtimeInitRunsTheEnginesInitAsPID1() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.provision(worker, scope, ["runtime": ["image": .string(Docker.image), "init": true]])
            #expect(Docker.inspect(id)?["HostConfig"]?["Init"] == true)
            // An orphan's zombie is reaped by the init, not left behind.
            _ = try await worker.result("exec", ["externalId": .string(id), "command": ["sh", "-c", "(sleep 0.2 &) ; true"]])
            try await Task.sleep(for: .seconds(1))
            let ps = try await worker.result("exec", ["externalId": .string(id), "command": ["ps", "-o", "stat,comm"]])
            #expect(ps["stdout"]?.string?.split(separator: "\n").contains { $0.hasPrefix("Z") } == false)
            let plain = try await Self.provision(worker, scope)
            #expect(Docker.inspect(plain)?["HostConfig"]?["Init"] != true)
        }
    }

    /// Connects to `host:port` and reads one line.
    static func readLine(host: String, port: Int) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw HarnessError.unexpected("connect failed: \(errno)") }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = recv(fd, &buffer, buffer.count, 0)
        return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

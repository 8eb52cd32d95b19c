import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Issue 11: faults the worker must survive. Every engine request has a bound, buffered output has
/// a limit, running out of descriptors is not "engine unreachable", a failed provision leaves no
/// volume, and events are not lost without a word.
///
/// Stalls are injected by `scripts/engine-proxy.py` (a proxy in front of the real engine that can
/// swallow one kind of request, or cut an answer after its headers); the real engine is never disturbed.
@Suite("worker limits", .serialized)
struct WorkerLimitTests {
    /// A node made on the engine directly, labelled as the worker's own (a provision through a
    /// faulty proxy would itself be the thing under test).
    static func managedNode(_ scope: TestScope) throws -> String {
        // The scope's labels (the run's too, so that a test killed midway is still cleaned up by its run).
        let labels = (scope.labels.object?.members ?? []).flatMap { ["--label", "\($0.key)=\($0.value.string ?? "")"] }
        return try #require(
            Docker.lines(["run", "-d", "--label", "openlattice.managed=true"] + labels + [Docker.image, "sleep", "600"]).first)
    }

    /// Runs `call` and returns its response and how long it took.
    static func timed(_ call: () async throws -> Response) async rethrows -> (Response, Duration) {
        let start = ContinuousClock.now
        let response = try await call()
        return (response, ContinuousClock.now - start)
    }

    /// An engine that never answers `POST /exec/{id}/start`, and one that sends a logs answer's
    /// headers and then nothing: each call is answered within its bound (-32008 naming what
    /// stalled; an exec's own `timeoutMs` fires too), and the worker still serves afterwards.
    @Test func stalledStreamsAreAnsweredWithinTheirBound() async throws {
        let proxy = try EngineFaultTests.EngineProxy()
        try await withWorker(config: ["host": .string(proxy.host), "requestTimeoutMs": 3000, "streamStallMs": 2000]) { worker, scope in
            let id = try Self.managedNode(scope)
            #expect(Docker.run(["exec", id, "sh", "-c", "echo a > /tmp/victim; echo logged"]).status == 0)
            #expect(try await worker.result("inspect", ["externalId": .string(id)])["status"] == "running")

            try proxy.set("swallow:POST./v[0-9.]+/exec/[0-9a-f]+/start")
            let (own, ownElapsed) = try await Self.timed {
                try await worker.call(
                    "exec", ["externalId": .string(id), "command": ["true"], "options": ["timeoutMs": 1000]], timeout: .seconds(30))
            }
            print("[limits] exec start swallowed, timeoutMs 1000: \(own.raw) in \(ownElapsed)")
            #expect(own.result?["timedOut"] == true, "\(own.raw)")
            #expect(ownElapsed < .milliseconds(2500), "the exec's own deadline fired late: \(ownElapsed)")

            let calls: [(String, JSONValue)] = [
                ("exec", ["externalId": .string(id), "command": ["true"]]),
                ("exec", ["externalId": .string(id), "command": ["true"], "options": ["stream": true]]),
                ("files.list", ["externalId": .string(id), "path": "/tmp"]),
                ("files.remove", ["externalId": .string(id), "path": "/tmp/victim"]),
            ]
            for (method, params) in calls {
                let (response, elapsed) = try await Self.timed { try await worker.call(method, params, timeout: .seconds(30)) }
                print(
                    "[limits] exec start swallowed: \(method) → \(response.errorCode.map { "\($0)" } ?? "result") in \(elapsed): \(response.errorMessage)"
                )
                #expect(response.errorCode == -32008, "\(method): \(response.raw)")
                // The exec's start, or the helper command (`ls`'s script, `rm`) whose start never came back.
                #expect(
                    response.errorMessage.contains("/start") || response.errorMessage.contains("in the node did not finish within 3000 ms"),
                    "names what stalled: \(response.errorMessage)")
                #expect(elapsed >= .milliseconds(2900), "\(method) gave up early: \(elapsed)")
                #expect(elapsed < .seconds(7), "\(method) took \(elapsed) for a 3000 ms bound")
            }

            try proxy.set("headers:GET./v[0-9.]+/containers/[0-9a-f]+/logs")
            let (logs, logsElapsed) = try await Self.timed {
                try await worker.call("logs", ["externalId": .string(id)], timeout: .seconds(30))
            }
            print(
                "[limits] logs answer cut after its headers: \(logs.errorCode.map { "\($0)" } ?? "result") in \(logsElapsed): \(logs.errorMessage)"
            )
            #expect(logs.errorCode == -32008, "\(logs.raw)")
            #expect(logs.errorMessage.contains("stalled") && logs.errorMessage.contains("/logs"), "\(logs.errorMessage)")
            #expect(logsElapsed >= .milliseconds(1900) && logsElapsed < .seconds(6), "\(logsElapsed)")

            try proxy.set("forward")
            let back = try await worker.call("exec", ["externalId": .string(id), "command": ["cat", "/tmp/victim"]])
            #expect(back.result?["stdout"] == "a\n", "still serving: \(back.raw)")
            #expect(try await worker.result("healthCheck")["healthy"] == true)
        }
    }

    /// A buffered exec of 200 MiB: the worker keeps `maxOutputBytes` (16 MiB by default) of it,
    /// counts the rest in `truncated`, and its peak resident set stays under 64 MiB whatever the
    /// answer's size: text (a 16 MiB line), NUL bytes in utf8 (each `\u0000`: a 96 MiB line) and in
    /// base64 (22 MiB). The answer's strings are written a slice at a time, never held whole.
    @Test func bufferedExecOutputIsBoundedAndFlagged() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
            let id = try #require(node["externalId"]?.string)
            let pid = worker.process.processIdentifier
            // A first exec installs the worker's helpers in the node (tini): idle is measured after it.
            _ = try await worker.result("exec", ["externalId": .string(id), "command": ["true"]])
            let before = try #require(memoryFigures(pid: pid))
            let cases: [(name: String, command: [JSONValue], encoding: String, kept: (JSONValue?) -> Int)] = [
                ("text", ["sh", "-c", "head -c 209715200 /dev/zero | tr '\\0' a"], "utf8", { $0?.string?.utf8.count ?? -1 }),
                ("NUL bytes, utf8", ["head", "-c", "209715200", "/dev/zero"], "utf8", { $0?.string?.unicodeScalars.count ?? -1 }),
                (
                    "NUL bytes, base64", ["head", "-c", "209715200", "/dev/zero"], "base64",
                    { Data(base64Encoded: $0?.string ?? "")?.count ?? -1 }
                ),
            ]
            for (name, command, encoding, kept) in cases {
                let response = try await worker.call(
                    "exec", ["externalId": .string(id), "command": .array(command), "options": ["encoding": .string(encoding)]],
                    timeout: .seconds(120))
                let after = try #require(memoryFigures(pid: pid))
                let stdout = response.result?["stdout"]
                print(
                    "[limits] buffered 200 MiB, \(name): kept \(kept(stdout)), truncated \(response.result?["truncated"].map { "\($0)" } ?? "none"); worker before \(before), after \(after)"
                )
                #expect(response.result?["exitCode"] == 0, "\(name): \(String(describing: response.raw).prefix(300))")
                #expect(kept(stdout) == 16 << 20, "\(name)")
                if encoding == "utf8", let text = stdout?.string {
                    #expect(Set(text.unicodeScalars).count == 1, "\(name): one repeated character")
                }
                #expect(response.result?["truncated"]?["stdout"]?.int == (200 << 20) - (16 << 20), "\(name)")
                #expect(response.result?["truncated"]?["stderr"]?.int == 0, "\(name)")
                #expect(after.hwm < 64 << 20, "\(name): peak resident \(after.hwm), idle \(before.hwm)")
            }

            // A smaller bound per call, utf8, and stderr counted on its own.
            let small = try await worker.call(
                "exec",
                [
                    "externalId": .string(id),
                    "command": ["sh", "-c", "head -c 5000 /dev/zero | tr '\\0' a; head -c 3000 /dev/zero | tr '\\0' b >&2"],
                    "options": ["maxOutputBytes": 1000],
                ])
            #expect(small.result?["stdout"]?.string == String(repeating: "a", count: 1000), "\(String(describing: small.raw).prefix(300))")
            #expect(small.result?["stderr"]?.string == String(repeating: "b", count: 1000))
            #expect(
                small.result?["truncated"]?["stdout"] == 4000 && small.result?["truncated"]?["stderr"] == 2000,
                "\(String(describing: small.raw).prefix(300))")
            // Within the bound nothing is flagged.
            let plain = try await worker.call("exec", ["externalId": .string(id), "command": ["echo", "hi"]])
            #expect(plain.result?["stdout"] == "hi\n")
            #expect(plain.result?["truncated"] == nil, "\(plain.raw)")
            let bad = try await worker.call("exec", ["externalId": .string(id), "command": ["true"], "options": ["maxOutputBytes": -1]])
            #expect(bad.errorCode == -32602 && bad.errorMessage.contains("options.maxOutputBytes"), "\(bad.raw)")
        }
    }

    /// `logs` without follow, default tail "all", of a node that wrote 40 MiB: the answer holds the
    /// bound (config.maxOutputBytes here 4 MiB) and counts the rest; a smaller per-call bound wins.
    @Test func logsAreBoundedAndFlagged() async throws {
        try await withWorker(config: ["maxOutputBytes": .integer(4 << 20)]) { worker, scope in
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": [
                            "image": .string(Docker.image),
                            "command": [
                                "sh", "-c", "head -c 41943040 /dev/zero | tr '\\0' x; echo; echo oops >&2; touch /tmp/written; sleep 600",
                            ],
                        ], "labels": scope.labels,
                    ]
                ])
            let id = try #require(node["externalId"]?.string)
            // The node has written everything once the marker exists; the engine's log copier then
            // needs a moment to catch up (a `docker logs --tail` poll was seen missing the last line).
            try await eventually(timeout: .seconds(120)) { Docker.run(["exec", id, "test", "-f", "/tmp/written"]).status == 0 }
            try await Task.sleep(for: .seconds(2))
            let pid = worker.process.processIdentifier
            let response = try await worker.call("logs", ["externalId": .string(id)], timeout: .seconds(120))
            let after = try #require(memoryFigures(pid: pid))
            let stdout = response.result?["stdout"]?.string ?? ""
            print(
                "[limits] logs of 40 MiB: kept \(stdout.utf8.count), truncated \(response.result?["truncated"].map { "\($0)" } ?? "none"), worker \(after)"
            )
            #expect(stdout.utf8.count == 4 << 20)
            #expect(response.result?["stderr"] == "oops\n")
            let dropped: Int64 = 40 * 1024 * 1024 + 1 - 4 * 1024 * 1024  // the 40 MiB and the newline, past the 4 MiB bound
            #expect(response.result?["truncated"]?["stdout"]?.int == dropped)
            #expect(after.hwm < 64 << 20, "peak resident \(after.hwm)")
            let tiny = try await worker.call("logs", ["externalId": .string(id), "maxOutputBytes": 10])
            #expect(tiny.result?["stdout"] == "xxxxxxxxxx", "\(String(describing: tiny.raw).prefix(200))")
        }
    }

    /// Started under a soft descriptor limit of 256 (hard 8192), the worker raises its own soft
    /// limit and 300 concurrent streamed execs all run: none is -32001.
    @Test(.timeLimit(.minutes(5))) func softDescriptorLimitIsRaised() async throws {
        let worker = try WorkerProcess(launcher: ["/usr/bin/prlimit", "--nofile=256:8192", "--"])
        let scope = TestScope()
        defer { scope.cleanUp() }
        _ = try await worker.initialize()
        let limits = (try? String(contentsOfFile: "/proc/\(worker.process.processIdentifier)/limits", encoding: .utf8)) ?? ""
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }.map(String.init) ?? ""
        print("[limits] worker under prlimit 256:8192: \(line)")
        #expect(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first == "8192", "\(line)")
        let node = try await worker.result("provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
        let id = try #require(node["externalId"]?.string)
        let ids = (0..<300).map { _ in
            worker.start("exec", ["externalId": .string(id), "command": ["sh", "-c", "echo x; sleep 2"], "options": ["stream": true]])
        }
        var codes: [Int: Int] = [:]
        for request in ids {
            let response = try await worker.response(.integer(request), timeout: .seconds(240))
            let code = response.errorCode.map(Int.init) ?? (response.result?["exitCode"]?.int == 0 ? 0 : -1)
            codes[code, default: 0] += 1
        }
        print("[limits] 300 streamed execs: \(codes)")
        #expect(codes[-32001] == nil, "\(codes)")
        #expect(codes[0] == 300, "\(codes)")
        #expect(try await worker.result("healthCheck")["healthy"] == true)
        await worker.stop()
    }

    /// With no room to raise (soft = hard = 48), running out of descriptors is -32000 "too many open
    /// files", never -32001, and healthCheck says it is the worker, not the engine.
    @Test(.timeLimit(.minutes(5))) func runningOutOfDescriptorsIsNotEngineUnreachable() async throws {
        let worker = try WorkerProcess(launcher: ["/usr/bin/prlimit", "--nofile=48:48", "--"])
        let scope = TestScope()
        defer { scope.cleanUp() }
        _ = try await worker.initialize()
        let id = try Self.managedNode(scope)
        let ids = (0..<80).map { _ in
            worker.start("exec", ["externalId": .string(id), "command": ["sleep", "3"], "options": ["stream": true]])
        }
        try await Task.sleep(for: .milliseconds(1500))
        let health = try await worker.call("healthCheck")
        var codes: [Int: Int] = [:]
        var messages = Set<String>()
        for request in ids {
            let response = try await worker.response(.integer(request), timeout: .seconds(120))
            let code = Int(response.errorCode ?? 0)
            codes[code, default: 0] += 1
            if code != 0 { messages.insert(response.errorMessage) }
        }
        print("[limits] 80 execs under 48 descriptors: \(codes) \(messages.prefix(3)); healthCheck: \(health.raw)")
        #expect(codes[-32001] == nil, "\(codes): \(messages)")
        #expect((codes[-32000] ?? 0) > 0, "the limit was reached: \(codes)")
        #expect(messages.allSatisfy { $0.contains("too many open files") }, "\(messages)")
        let message = health.result?["message"]?.string ?? ""
        if health.result?["healthy"] == false {
            #expect(!message.contains("engine is unreachable") && message.contains("too many open files"), "\(message)")
        }
        // Once the execs are done, the worker serves again.
        #expect(try await worker.result("healthCheck")["healthy"] == true)
        await worker.stop()
    }

    /// A provision whose command cannot start removes the named volume it created, and leaves alone
    /// one that existed before; `reap` removes this owner's orphaned volumes.
    @Test func failedProvisionRemovesTheVolumesItCreated() async throws {
        let owner = "owner-\(UUID().uuidString.prefix(8))"
        try await withWorker(config: ["ownerId": .string(owner)]) { worker, scope in
            let fresh = "olw-vol-fresh-\(scope.id)"
            let existing = "olw-vol-existing-\(scope.id)"
            let kept = "olw-vol-kept-\(scope.id)"
            scope.onCleanUp { _ = Docker.run(["volume", "rm", "-f", fresh, existing, kept]) }
            #expect(Docker.run(["volume", "create", "--label", "openlattice.test=\(scope.id)", existing]).status == 0)
            let response = try await worker.call(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": .string(Docker.image), "command": ["/no/such/binary"]], "labels": scope.labels,
                        "volumes": [["source": .string(fresh), "target": "/data"], ["source": .string(existing), "target": "/old"]],
                    ]
                ])
            print("[limits] failed provision: \(response.errorCode.map { "\($0)" } ?? "result"): \(response.errorMessage)")
            #expect(response.errorCode == -32000, "\(response.raw)")
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty, "no container left")
            #expect(Docker.inspect(fresh, type: "volume") == nil, "the volume the provision created is gone")
            #expect(Docker.inspect(existing, type: "volume") != nil, "the volume that existed before is kept")

            // A node with a volume of its own, destroyed: reap removes the orphaned volume.
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": .string(Docker.image)], "labels": scope.labels,
                        "volumes": [["source": .string(kept), "target": "/data"]],
                    ]
                ])
            let id = try #require(node["externalId"]?.string)
            #expect(Docker.inspect(kept, type: "volume")?["Labels"]?["openlattice.owner"]?.string == owner)
            let whileUsed = try await worker.result("reap", ["keep": [.string(id)]])
            #expect(whileUsed["removedVolumes"] == [], "a volume in use stays: \(whileUsed)")
            #expect(try await worker.call("destroy", ["externalId": .string(id)]).result == .null)
            let reaped = try await worker.result("reap", ["keep": []])
            print("[limits] reap after destroy: \(reaped)")
            #expect(reaped["removedVolumes"] == [.string(kept)], "\(reaped)")
            #expect(Docker.inspect(kept, type: "volume") == nil)
            #expect(Docker.inspect(existing, type: "volume") != nil, "not the worker's: never reaped")
        }
    }

    /// On the engine directly: `kills` signals (USR1, which PID 1 ignores) and `pairs` pause/unpause
    /// pairs for `id`, fast (curl on the socket, the kills 8 at a time).
    static func eventLoad(_ id: String, kills: Int, pairs: Int) -> Int32 {
        let socket = "/var/run/docker.sock"
        // The pairs first: their events are then read long after they happened whatever the kills take.
        let script = """
            for i in $(seq \(pairs)); do
              curl -s -o /dev/null --unix-socket \(socket) -X POST http://localhost/containers/\(id)/pause
              curl -s -o /dev/null --unix-socket \(socket) -X POST http://localhost/containers/\(id)/unpause
            done
            seq \(kills) | xargs -P 16 -I{} curl -s -o /dev/null --unix-socket \(socket) -X POST 'http://localhost/containers/\(id)/kill?signal=USR1'
            """
        return Docker.run(["--version"]).status == 0 ? shell(script) : -1
    }

    static func shell(_ script: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// dockerd holds a container's lock while an archive upload to it is in progress, and its
    /// inspect waits for that lock (so does `docker inspect`). A resync must not wait for such a
    /// node: the locked node is described from the engine's container list, and the events queued
    /// behind the resync still arrive promptly.
    @Test(.timeLimit(.minutes(3))) func aResyncDoesNotWaitForALockedNode() async throws {
        guard Docker.host == "unix:///var/run/docker.sock" else {
            print("[limits] resync with a locked node: the upload goes through the local socket; skipped on \(Docker.host)")
            return
        }
        try await withWorker { worker, scope in
            let subscription = worker.start("events.subscribe")
            let locked = try Self.managedNode(scope)
            let other = try Self.managedNode(scope)
            let forOther = { worker.notifications(for: subscription).filter { $0["externalId"]?.string == other } }
            try await eventually(timeout: .seconds(30)) { forOther().contains { $0["action"] == "start" } }
            // An upload that never finishes: curl sends a chunked body from a pipe this test keeps open.
            let upload = Process()
            upload.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            upload.arguments = [
                "-s", "-o", "/dev/null", "--unix-socket", "/var/run/docker.sock", "-X", "PUT", "-H", "Content-Type: application/x-tar",
                "-T", "-", "http://localhost/containers/\(locked)/archive?path=/tmp",
            ]
            let body = Pipe()
            upload.standardInput = body
            try upload.run()
            // Ending its body ends the upload (the engine refuses the partial archive) and the lock.
            defer {
                try? body.fileHandleForWriting.close()
                upload.terminate()
            }
            body.fileHandleForWriting.write(Data(count: 512))
            try await eventually(timeout: .seconds(10)) {
                Docker.run(["ps", "-q"]).status == 0 && Self.shellStatus("timeout 1 docker inspect \(locked) >/dev/null") == 124
            }
            // Stopped for 7 s: the events read afterwards are over 5 s old, so a resync comes first.
            let pid = worker.process.processIdentifier
            kill(pid, SIGSTOP)
            _ = Docker.run(["pause", other])
            _ = Docker.run(["unpause", other])
            try await Task.sleep(for: .seconds(7))
            kill(pid, SIGCONT)
            let resumed = ContinuousClock.now
            try await eventually(timeout: .seconds(20)) { forOther().contains { $0["action"] == "unpause" } }
            let took = ContinuousClock.now - resumed
            let resync = worker.notifications(for: subscription).first { $0["action"] == "resync" }
            print(
                "[limits] resync with a locked node: unpause reported \(took) after the worker resumed; resync \(resync.map { "\($0)" }?.prefix(400) ?? "none")"
            )
            #expect(took < .seconds(8), "events waited behind the resync for \(took)")
            let nodes = resync?["nodes"]?.array ?? []
            #expect(nodes.contains { $0["externalId"]?.string == locked && $0["status"] == "running" }, "\(nodes)")
            #expect(nodes.contains { $0["externalId"]?.string == other && $0["status"] == "running" }, "\(nodes)")
            worker.notify("$/cancelRequest", ["id": .integer(subscription)])
            #expect(try await worker.response(.integer(subscription)).errorCode == -32800)
        }
    }

    static func shellStatus(_ script: String) -> Int32 { shell(script) }

    /// The worker is stopped (SIGSTOP) for 20 s while a managed node receives 1,244 kill signals and
    /// 20 pause/unpause pairs: once it runs again every pair is reported (the engine is asked only
    /// for the reported actions, so its per-subscriber buffer holds them all), and a resync follows
    /// the events read long after they happened, as a gap was possible.
    @Test(.timeLimit(.minutes(5))) func eventsAcrossAStoppedWorker() async throws {
        guard Docker.host == "unix:///var/run/docker.sock" else {
            print("[limits] events across a stopped worker: the load goes through the local socket; skipped on \(Docker.host)")
            return
        }
        try await withWorker { worker, scope in
            let subscription = worker.start("events.subscribe")
            let id = try Self.managedNode(scope)
            let forNode = { worker.notifications(for: subscription).filter { $0["externalId"]?.string == id } }
            try await eventually(timeout: .seconds(30)) { forNode().contains { $0["action"] == "start" } }
            let pid = worker.process.processIdentifier
            kill(pid, SIGSTOP)
            let stoppedAt = ContinuousClock.now
            let status = Self.eventLoad(id, kills: 1244, pairs: 20)
            let loadTook = ContinuousClock.now - stoppedAt
            try await Task.sleep(until: stoppedAt + .seconds(20), clock: .continuous)
            kill(pid, SIGCONT)
            #expect(status == 0)
            let count = { (action: String) in forNode().filter { $0["action"]?.string == action }.count }
            try? await eventually(timeout: .seconds(30)) { count("pause") == 20 && count("unpause") == 20 }
            try await Task.sleep(for: .seconds(1))
            let resyncs = worker.notifications(for: subscription).filter { $0["action"] == "resync" }
            print(
                "[limits] worker stopped 20 s (load took \(loadTook)): pause \(count("pause")), unpause \(count("unpause")), resyncs \(resyncs.map { "\($0["reason"]?.string ?? "") nodes \($0["nodes"]?.array?.count ?? -1)" })"
            )
            let actions = Set(forNode().compactMap { $0["action"]?.string })
            print("[limits] actions reported: \(actions.sorted())")
            #expect(!actions.contains("kill"), "kill is not a reported action")
            if count("pause") != 20 || count("unpause") != 20 {
                #expect(!resyncs.isEmpty, "events were lost without a resync")
            }
            #expect(resyncs.count >= 1, "the events were read more than 5 s late: a gap was possible")
            if let resync = resyncs.first {
                let nodes = resync["nodes"]?.array ?? []
                #expect(nodes.contains { $0["externalId"]?.string == id && $0["status"] == "running" }, "\(resync)")
                #expect(resync["externalId"] == nil)
            }
            worker.notify("$/cancelRequest", ["id": .integer(subscription)])
            #expect(try await worker.response(.integer(subscription)).errorCode == -32800)
        }
    }

    /// The host stops reading stdout (its pipe and the worker's output queue fill up behind a big
    /// streamed exec) while a managed node receives 600 kill signals and 20 pause/unpause pairs:
    /// the worker keeps reading the engine's events, so when the host reads again all 40 arrive.
    @Test(.timeLimit(.minutes(5))) func eventsSurviveAHostThatReadsSlowly() async throws {
        guard Docker.host == "unix:///var/run/docker.sock" else {
            print("[limits] events with a slow host: the load goes through the local socket; skipped on \(Docker.host)")
            return
        }
        let worker = try RawWorker()
        let scope = TestScope()
        defer { scope.cleanUp() }
        _ = try await worker.initialize()
        let id = try Self.managedNode(scope)
        await worker.request("events.subscribe", [:], id: "events")
        try await Task.sleep(for: .milliseconds(500))
        worker.pauseReading()
        // 16 MiB of output: far more than the pipe (1 MiB) and the worker's output queue (4 MiB) hold.
        await worker.request(
            "exec",
            [
                "externalId": .string(id), "command": ["head", "-c", "16777216", "/dev/zero"],
                "options": ["stream": true, "encoding": "base64"],
            ],
            id: "flood")
        try await Task.sleep(for: .seconds(2))
        let status = Self.eventLoad(id, kills: 600, pairs: 20)
        #expect(status == 0)
        try await Task.sleep(for: .seconds(2))
        worker.resumeReading()
        let flood = try await worker.response("s:flood", timeout: .seconds(120))
        #expect(flood["result"]?["exitCode"] == 0)
        let events = { worker.messages.map(\.value).filter { $0["method"] == "node.event" }.compactMap { $0["params"] } }
        let count = { (action: String) in events().filter { $0["action"]?.string == action && $0["externalId"]?.string == id }.count }
        try? await eventuallyTrue(timeout: .seconds(30)) { count("pause") == 20 && count("unpause") == 20 }
        let resyncs = events().filter { $0["action"] == "resync" }
        print("[limits] slow host: pause \(count("pause")), unpause \(count("unpause")), resyncs \(resyncs.count)")
        #expect(count("pause") == 20 && count("unpause") == 20, "none lost")
        #expect(resyncs.isEmpty, "nothing was dropped: \(resyncs)")
        worker.closeInput()
        _ = try? await worker.waitForExit()
    }

    /// Small faults with clear errors: a name longer than 255 bytes is -32602 naming `path`; a
    /// symbolic link loop says so; a name clash does not reveal the full id of a container the
    /// worker does not manage; `files.list` keeps trailing newlines of link targets.
    @Test func smallFaultsHaveClearErrors() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
            let id = try #require(node["externalId"]?.string)
            let long = "/tmp/" + String(repeating: "a", count: 256)
            for (method, params) in [
                ("files.read", ["externalId": .string(id), "path": .string(long)]),
                ("files.write", ["externalId": .string(id), "path": .string(long), "content": "x"]),
                ("files.list", ["externalId": .string(id), "path": .string(long)]),
                ("files.remove", ["externalId": .string(id), "path": .string(long)]),
                ("files.mkdir", ["externalId": .string(id), "path": .string(long)]),
            ] as [(String, JSONValue)] {
                let response = try await worker.call(method, params)
                #expect(response.errorCode == -32602, "\(method): \(response.raw)")
                #expect(response.error?["data"]?["field"] == "path", "\(method): \(response.raw)")
                #expect(response.errorMessage.contains("255"), "\(method): \(response.errorMessage)")
            }

            #expect(Docker.run(["exec", id, "sh", "-c", "ln -s /tmp/l1 /tmp/l2; ln -s /tmp/l2 /tmp/l1"]).status == 0)
            for method in ["files.read", "files.list"] {
                let loop = try await worker.call(method, ["externalId": .string(id), "path": "/tmp/l1"])
                print("[limits] link loop, \(method): \(loop.errorCode.map { "\($0)" } ?? "result"): \(loop.errorMessage)")
                // A link loop is the path's own conflict (-32009), as files.write's link rule says.
                #expect(loop.errorCode == -32009, "\(loop.raw)")
                #expect(loop.errorMessage.contains("symbolic links"), "says why: \(loop.errorMessage)")
                #expect(!loop.errorMessage.contains("/var/lib/docker"), "no host path: \(loop.errorMessage)")
            }

            let makeLink = "mkdir /tmp/d; t=$(printf 'target\\n\\n.'); ln -s \"${t%.}\" /tmp/d/nl"
            #expect(Docker.run(["exec", id, "sh", "-c", makeLink]).status == 0)
            let listed = try await worker.result("files.list", ["externalId": .string(id), "path": "/tmp/d"])
            let target = listed["entries"]?.array?.first?["linkTarget"]?.string
            #expect(target == "target\n\n", "\(listed)")

            let name = scope.name("clash")
            let unmanaged = try #require(
                Docker.lines(["run", "-d", "--name", name, "--label", "openlattice.test=\(scope.id)", Docker.image, "sleep", "600"]).first)
            let clash = try await worker.call(
                "provision", ["spec": ["name": .string(name), "runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
            print("[limits] name clash: \(clash.errorCode.map { "\($0)" } ?? "result"): \(clash.errorMessage)")
            #expect(clash.errorCode == -32009, "\(clash.raw)")
            #expect(clash.errorMessage.contains(name))
            #expect(!"\(clash.raw)".contains(unmanaged) && !"\(clash.raw)".contains(unmanaged.prefix(12)), "\(clash.raw)")
        }
    }

    /// A `tailscale up` that never returns: the provision ends -32008 at the helper deadline
    /// (`requestTimeoutMs`, here 3 s) and, as any failed provision, leaves no container.
    @Test func tailscaleUpThatNeverReturnsHasADeadline() async throws {
        try await withWorker(config: ["requestTimeoutMs": 3000]) { worker, scope in
            // The node's command swaps the stand-in tailscale for one that hangs before the worker runs it.
            let hang = "printf '#!/bin/sh\\nsleep 600\\n' > /usr/local/bin/tailscale; chmod 755 /usr/local/bin/tailscale; exec sleep 600"
            let (response, elapsed) = try await Self.timed {
                try await worker.call(
                    "provision",
                    [
                        "spec": [
                            "runtime": ["image": "openlattice-test/tailscale:latest", "command": ["sh", "-c", .string(hang)]],
                            "network": ["tailscaleAuthKey": "tskey-hang-0123456789"], "labels": scope.labels,
                        ]
                    ], timeout: .seconds(60))
            }
            print("[limits] tailscale up hangs: \(response.errorCode.map { "\($0)" } ?? "result") in \(elapsed): \(response.errorMessage)")
            #expect(response.errorCode == -32008, "\(response.raw)")
            #expect(response.errorMessage.contains("tailscale"), "\(response.errorMessage)")
            #expect(!response.errorMessage.contains("tskey-hang"), "the key never appears")
            #expect(elapsed < .seconds(15), "\(elapsed)")
            try await eventually(timeout: .seconds(10)) {
                Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty
            }
            #expect(try await worker.result("healthCheck")["healthy"] == true)
        }
    }
}

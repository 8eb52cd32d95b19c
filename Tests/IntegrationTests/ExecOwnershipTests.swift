import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Issue 13: every process an exec starts is ended on each kill path (deadline, cancel, shutdown,
/// end of input, SIGTERM), also children that clear their environment, switch user, start their
/// own session or double-fork, on images without a shell, and on a node paused at that moment.
/// Each test looks with `ps` inside the node (through the docker CLI), not at the worker's answer.
@Suite("exec process ownership", .serialized)
struct ExecOwnershipTests {
    /// A command whose children escape every way the old marker search missed, each a `sleep` with a
    /// unique duration; the shell itself sleeps too.
    static func escapingCommand(_ base: Int) -> JSONValue {
        let script = [
            "env -i /bin/sleep \(base) &",  // environment cleared
            "setsid sleep \(base + 1) &",  // own session and process group
            "su -s /bin/sh nobody -c 'sleep \(base + 2)' &",  // another user
            "(setsid sh -c 'sleep \(base + 3) &' &);",  // double-forked daemon: re-parented away from the shell
            "sleep \(base + 4)",
        ].joined(separator: " ")
        return ["sh", "-c", .string(script)]
    }

    /// The live (not zombie) processes in the node whose command line mentions one of the exec's sleeps.
    static func survivors(_ id: String, base: Int, ps: [String] = ["ps", "-o", "stat,user,args"]) -> [String] {
        let result = Docker.run(["exec", id] + ps)
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(result.status == 0, "ps in the node failed: \(result.stderr)")
        return lines.filter { line in
            guard !line.trimmingCharacters(in: .whitespaces).hasPrefix("Z") else { return false }
            return (base..<(base + 5)).contains { line.contains("sleep \($0)") }
        }
    }

    /// Waits until all five sleeps of the exec run in the node (so a kill has something to find).
    static func waitForAllSleeps(_ id: String, base: Int) async throws {
        try await eventually { survivors(id, base: base).count >= 5 }
    }

    @Test func deadlineKillsEveryProcessTheExecStarted() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let result = try await worker.result(
                "exec", ["externalId": .string(id), "command": Self.escapingCommand(301), "options": ["timeoutMs": 2500]])
            #expect(result["timedOut"] == true)
            try await eventually(timeout: .seconds(4)) { Self.survivors(id, base: 301).isEmpty }
            #expect(Self.survivors(id, base: 301) == [])
        }
    }

    @Test func cancelKillsEveryProcessTheExecStarted() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let request = worker.start(
                "exec", ["externalId": .string(id), "command": Self.escapingCommand(311), "options": ["stream": true]])
            try await Self.waitForAllSleeps(id, base: 311)
            worker.notify("$/cancelRequest", ["id": .integer(request)])
            #expect(try await worker.response(.integer(request), timeout: .seconds(5)).errorCode == -32800)
            try await eventually(timeout: .seconds(4)) { Self.survivors(id, base: 311).isEmpty }
            #expect(Self.survivors(id, base: 311) == [])
        }
    }

    /// End of input (also the host's death), `shutdown` and SIGTERM: the worker kills before it exits,
    /// so `ps` right after the exit finds nothing, buffered or streamed, with or without a deadline,
    /// and for an exec running as another user than the node's.
    @Test(arguments: ["endOfInput", "shutdown", "sigterm"])
    func theWorkerKillsBeforeItExits(how: String) async throws {
        let scope = TestScope()
        defer { scope.cleanUp() }
        let worker = try WorkerProcess()
        try await worker.initialize()
        let id = try await SeedExecTests.node(worker, scope)
        worker.start("exec", ["externalId": .string(id), "command": Self.escapingCommand(321)])
        worker.start(
            "exec", ["externalId": .string(id), "command": Self.escapingCommand(331), "options": ["stream": true, "timeoutMs": 60000]])
        worker.start(
            "exec", ["externalId": .string(id), "command": ["sh", "-c", "sleep 341 & sleep 342"], "options": ["user": "nobody"]])
        try await Self.waitForAllSleeps(id, base: 321)
        try await Self.waitForAllSleeps(id, base: 331)
        try await eventually { Self.survivors(id, base: 341).count >= 2 }
        let start = ContinuousClock.now
        switch how {
        case "shutdown":
            _ = try await worker.call("shutdown")
            #expect(try await worker.waitForExit() == 0)
        case "sigterm":
            kill(worker.process.processIdentifier, SIGTERM)
            #expect(try await worker.waitForExit() == 0)
        default:
            #expect(try await worker.closeInput().status == 0)
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(Self.survivors(id, base: 321) == [])
        #expect(Self.survivors(id, base: 331) == [])
        #expect(Self.survivors(id, base: 341) == [])
    }

    @Test func anImageWithoutAShell() async throws {
        try await withWorker { worker, scope in
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": ["image": "openlattice-test/noshell:latest", "command": ["/busybox", "sleep", "600"]],
                        "labels": scope.labels,
                    ]
                ])
            let id = try #require(node["externalId"]?.string)
            #expect(Docker.run(["exec", id, "sh", "-c", "true"]).status != 0, "the image must have no sh")
            let result = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["/busybox", "sleep", "351"], "options": ["timeoutMs": 1500]])
            #expect(result["timedOut"] == true)
            try await eventually(timeout: .seconds(4)) { Self.survivors(id, base: 351, ps: ["/busybox", "ps", "-o", "stat,args"]).isEmpty }
            let exit = try await worker.result("exec", ["externalId": .string(id), "command": ["/busybox", "sh", "-c", "exit 3"]])
            #expect(exit["exitCode"] == 3)
        }
    }

    /// The deadline passes while the node is paused: the kill still lands (the worker unpauses, kills,
    /// and pauses the node again) rather than being refused by the engine and only logged.
    @Test func aNodePausedAtTheDeadline() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let request = worker.start(
                "exec", ["externalId": .string(id), "command": Self.escapingCommand(361), "options": ["timeoutMs": 3000]])
            try await Self.waitForAllSleeps(id, base: 361)
            _ = try await worker.result("pause", ["externalId": .string(id)])
            let response = try await worker.response(.integer(request), timeout: .seconds(10))
            #expect(response.result?["timedOut"] == true)
            try await Task.sleep(for: .seconds(2))
            #expect(Docker.inspect(id)?["State"]?["Status"] == "paused", "the node is paused again after the kill")
            _ = try await worker.result("resume", ["externalId": .string(id)])
            #expect(Self.survivors(id, base: 361) == [])
        }
    }

    /// Where tini cannot be copied in (a read-only root filesystem), commands run unwrapped and a kill
    /// falls back to the image's `sh` killing what still carries the exec's marker.
    @Test func aReadOnlyRootFilesystemFallsBack() async throws {
        try await withWorker { worker, scope in
            let run = Docker.run([
                "run", "-d", "--read-only", "--label", "openlattice.managed=true", "--label", "openlattice.test=\(scope.id)",
                Docker.image, "sleep", "600",
            ])
            let id = String(decoding: run.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(run.status == 0, "\(run.stderr)")
            let result = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "sleep 401 & sleep 402"], "options": ["timeoutMs": 1500]])
            #expect(result["timedOut"] == true)
            try await eventually(timeout: .seconds(4)) { Self.survivors(id, base: 401).isEmpty }
            let plain = try await worker.result("exec", ["externalId": .string(id), "command": ["sh", "-c", "exit 5"]])
            #expect(plain["exitCode"] == 5)
            #expect(Docker.run(["exec", id, "ls", "/.openlattice"]).status != 0, "nothing was copied in")
        }
    }

    /// What a normal exec leaves running is the caller's: a background process outlives a finished exec.
    @Test func aFinishedExecLeavesItsBackgroundProcessesAlone() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let result = try await worker.result(
                "exec",
                ["externalId": .string(id), "command": ["sh", "-c", "setsid sleep 371 >/dev/null 2>&1 < /dev/null & echo started"]])
            #expect(result["exitCode"] == 0)
            try await Task.sleep(for: .milliseconds(500))
            #expect(Self.survivors(id, base: 371).count == 1)
        }
    }
}

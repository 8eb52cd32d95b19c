import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Issue 13, items 4 and 5: `exec` with `background: true` answers at once with `{execId}` and the
/// command runs on; `exec.attach` replays and follows its output from a byte offset, `exec.kill`
/// signals its process tree, `exec.list` shows a node's commands (also those an earlier worker
/// started), and a background command outlives the worker. Checked against the engine's own view:
/// `ps` in the node through the docker CLI.
@Suite("background exec", .serialized)
struct BackgroundExecTests {
    /// The command lines of the live (not zombie) processes in the node that begin with `prefix`
    /// (`sleep 401` finds the sleep, not the shell or tini that started it), or contain it.
    static func processes(_ id: String, _ prefix: String, anywhere: Bool = false) -> [String] {
        let result = Docker.run(["exec", id, "ps", "-o", "stat,args"])
        #expect(result.status == 0, "ps in the node failed: \(result.stderr)")
        return String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").dropFirst().compactMap { line in
            let words = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard words.count == 2, !words[0].hasPrefix("Z") else { return nil }
            let args = words[1].trimmingCharacters(in: .whitespaces)
            guard !args.hasPrefix("ps -o") else { return nil }
            return (anywhere ? args.contains(prefix) : args.hasPrefix(prefix)) ? args : nil
        }
    }

    /// Starts a background command and returns its execId.
    static func startBackground(_ worker: WorkerProcess, _ id: String, _ command: JSONValue, options: JSONValue = [:]) async throws
        -> String
    {
        var merged = options.object ?? JSONObject()
        merged["background"] = true
        let result = try await worker.result("exec", ["externalId": .string(id), "command": command, "options": .object(merged)])
        #expect(result.object?.keys.sorted() == ["execId"])
        return try #require(result["execId"]?.string)
    }

    /// The entry of `execId` in `exec.list`.
    static func entry(_ worker: WorkerProcess, _ id: String, _ execId: String) async throws -> JSONValue? {
        let list = try await worker.result("exec.list", ["externalId": .string(id)])
        return list.array?.first { $0["execId"]?.string == execId }
    }

    /// Waits until the command is reported ended and returns its entry.
    static func ended(_ worker: WorkerProcess, _ id: String, _ execId: String) async throws -> JSONValue {
        try await eventually(timeout: .seconds(15)) { try await entry(worker, id, execId)?["running"] == false }
        return try #require(try await entry(worker, id, execId))
    }

    /// The output an attach streamed: (stream, data, offset) per notification.
    static func chunks(_ worker: WorkerProcess, _ request: Int64) -> [(stream: String, data: String, offset: Int64)] {
        worker.notifications(for: request).compactMap { params in
            guard let stream = params["stream"]?.string, let data = params["data"]?.string else { return nil }
            return (stream, data, params["offset"]?.int ?? -1)
        }
    }

    @Test func startAnswersAtOnceAndTheListShowsItRunning() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let started = ContinuousClock.now
            let execId = try await Self.startBackground(worker, id, ["sh", "-c", "echo one; sleep 401"])
            #expect(ContinuousClock.now - started < .seconds(10))
            try await eventually { Self.processes(id, "sleep 401").count == 1 }
            let entry = try #require(try await Self.entry(worker, id, execId))
            #expect(entry["command"] == ["sh", "-c", "echo one; sleep 401"])
            #expect(entry["running"] == true)
            #expect(entry["background"] == true)
            #expect(entry["replayable"] == true)
            #expect(entry["exitCode"] == nil)
            #expect(entry["startedAt"]?.string?.hasSuffix("Z") == true)
            // The engine keeps it as an exec of the node.
            let execIDs = Docker.inspect(id)?["ExecIDs"]?.array ?? []
            #expect(execIDs.contains(.string(execId)))
        }
    }

    @Test func attachFromAnOffsetGivesTheExactBytesAndTheResult() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let execId = try await Self.startBackground(
                worker, id, ["sh", "-c", "printf out1; sleep 0.5; printf err1 >&2; sleep 0.5; printf out2; sleep 1; exit 7"])
            // Two attaches at once, while it runs: both see everything, in order.
            let first = worker.start("exec.attach", ["execId": .string(execId), "offset": 0])
            let second = worker.start("exec.attach", ["execId": .string(execId)])
            for request in [first, second] {
                let result = try await worker.response(.integer(request), timeout: .seconds(20)).value()
                #expect(result["exitCode"] == 7)
                #expect(result["stdout"] == "")
                #expect(result["stderr"] == "")
                #expect(result["timedOut"] == false)
                #expect(result["truncated"] == nil)
                let got = Self.chunks(worker, request)
                #expect(got.map(\.stream) == ["stdout", "stderr", "stdout"])
                #expect(got.map(\.data) == ["out1", "err1", "out2"])
                #expect(got.map(\.offset) == [0, 4, 8])
            }
            // After the end, from a later offset (inside stderr's bytes): only what follows it.
            let later = worker.start("exec.attach", ["execId": .string(execId), "offset": 6])
            let result = try await worker.response(.integer(later), timeout: .seconds(20)).value()
            #expect(result["exitCode"] == 7)
            let got = Self.chunks(worker, later)
            #expect(got.map(\.stream) == ["stderr", "stdout"])
            #expect(got.map(\.data) == ["r1", "out2"])
            #expect(got.map(\.offset) == [6, 8])
            let entry = try await Self.ended(worker, id, execId)
            #expect(entry["exitCode"] == 7)
        }
    }

    @Test func cancellingAnAttachLeavesTheCommandRunning() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let execId = try await Self.startBackground(worker, id, ["sh", "-c", "while true; do echo tick; sleep 0.2; done & sleep 402"])
            let attach = worker.start("exec.attach", ["execId": .string(execId)])
            try await eventually { Self.chunks(worker, attach).contains { $0.data.contains("tick") } }
            worker.notify("$/cancelRequest", ["id": .integer(attach)])
            #expect(try await worker.response(.integer(attach), timeout: .seconds(5)).errorCode == -32800)
            try await Task.sleep(for: .seconds(1))
            #expect(Self.processes(id, "sleep 402").count == 1)
            #expect(try await Self.entry(worker, id, execId)?["running"] == true)
            // A new attach still follows it.
            let again = worker.start("exec.attach", ["execId": .string(execId)])
            try await eventually { Self.chunks(worker, again).contains { $0.data.contains("tick") } }
            _ = try await worker.result("exec.kill", ["execId": .string(execId)])
            let result = try await worker.response(.integer(again), timeout: .seconds(10)).value()
            #expect(result["exitCode"] == 137)
        }
    }

    @Test func sigtermLetsATrapRun() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let script = "trap 'echo trapped > /tmp/trap-ran; exit 0' TERM; sleep 403 & wait"
            let execId = try await Self.startBackground(worker, id, ["sh", "-c", .string(script)])
            try await eventually { Self.processes(id, "sleep 403").count == 1 }
            let answer = try await worker.result("exec.kill", ["execId": .string(execId), "signal": "SIGTERM"])
            #expect(answer == .null)
            try await eventually { Docker.run(["exec", id, "cat", "/tmp/trap-ran"]).stdout == Data("trapped\n".utf8) }
            let entry = try await Self.ended(worker, id, execId)
            #expect(entry["exitCode"] == 0)
            #expect(Self.processes(id, "sleep 403") == [])
        }
    }

    @Test func sigkillLeavesNoProcess() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let execId = try await Self.startBackground(
                worker, id, ["sh", "-c", "sleep 404 & setsid sleep 405 & (setsid sh -c 'sleep 406 &' &); sleep 407"])
            try await eventually { Self.processes(id, "sleep 40").count >= 4 }
            _ = try await worker.result("exec.kill", ["execId": .string(execId), "signal": "SIGKILL"])
            try await eventually(timeout: .seconds(5)) { Self.processes(id, "sleep 40").isEmpty }
            let entry = try await Self.ended(worker, id, execId)
            #expect(entry["exitCode"] == 137)
            // A number works too, and an unknown execId is an error that names it.
            let unknown = try await worker.call("exec.kill", ["execId": "0123456789abcdef", "signal": 9])
            #expect(unknown.errorCode != nil)
            #expect(unknown.errorMessage.contains("execId"))
            let badSignal = try await worker.call("exec.kill", ["execId": .string(execId), "signal": "SIGFOO"])
            #expect(badSignal.errorCode == -32602)
        }
    }

    @Test func attachWithStdinFeedsTheCommand() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let execId = try await Self.startBackground(worker, id, ["cat"], options: ["stdin": true])
            let attach = worker.start("exec.attach", ["execId": .string(execId), "stdin": true])
            worker.notify("exec.input", ["requestId": .integer(attach), "data": "hello\n", "eof": true])
            let result = try await worker.response(.integer(attach), timeout: .seconds(20)).value()
            #expect(result["exitCode"] == 0)
            #expect(Self.chunks(worker, attach).map(\.data).joined() == "hello\n")
        }
    }

    @Test func aSecondWorkerListsAndKillsTheCommand() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let execId = try await Self.startBackground(worker, id, ["sleep", "408"])
            try await eventually { Self.processes(id, "sleep 408").count == 1 }
            let other = try WorkerProcess()
            defer { Task { await other.stop() } }
            try await other.initialize()
            let entry = try #require(try await Self.entry(other, id, execId))
            #expect(entry["command"] == ["sleep", "408"])
            #expect(entry["running"] == true)
            #expect(entry["background"] == true)
            #expect(entry["replayable"] == false)
            #expect(entry["startedAt"]?.string?.hasSuffix("Z") == true)
            let attach = try await other.call("exec.attach", ["execId": .string(execId)])
            #expect(attach.errorCode == -32602)
            _ = try await other.result("exec.kill", ["execId": .string(execId)])
            try await eventually(timeout: .seconds(5)) { Self.processes(id, "sleep 408").isEmpty }
            await other.stop()
        }
    }

    /// A command that goes on writing after its worker is gone (its output has nowhere to go): a
    /// later worker lists it running and its SIGTERM lands (the trap runs, nothing is left).
    @Test func aCommandThatOutlivesItsWorkerIsListedAndSignalledByWhatRuns() async throws {
        let scope = TestScope()
        defer { scope.cleanUp() }
        let first = try WorkerProcess()
        try await first.initialize()
        let id = try await SeedExecTests.node(first, scope)
        let script = "trap 'echo bye > /tmp/trap-411; exit 0' TERM; while true; do echo tick; sleep 0.2; done & sleep 411; wait"
        let execId = try await Self.startBackground(first, id, ["sh", "-c", .string(script)])
        try await eventually { Self.processes(id, "sleep 411").count == 1 }
        _ = try await first.call("shutdown")
        #expect(try await first.waitForExit() == 0)
        try await Task.sleep(for: .seconds(1))
        #expect(Self.processes(id, "sleep 411").count == 1)
        let second = try WorkerProcess()
        defer { Task { await second.stop() } }
        try await second.initialize()
        let entry = try #require(try await Self.entry(second, id, execId))
        #expect(entry["running"] == true, "\(entry)")
        #expect(entry["replayable"] == false, "\(entry)")
        _ = try await second.result("exec.kill", ["execId": .string(execId), "signal": "SIGTERM"])
        try await eventually(timeout: .seconds(10)) { Docker.run(["exec", id, "cat", "/tmp/trap-411"]).stdout == Data("bye\n".utf8) }
        try await eventually(timeout: .seconds(10)) { Self.processes(id, "sleep 411").isEmpty }
        await second.stop()
    }

    /// Shutdown and end of input kill the foreground exec as before, and leave the background one running.
    @Test(arguments: ["shutdown", "endOfInput"])
    func backgroundCommandsOutliveTheWorker(how: String) async throws {
        let scope = TestScope()
        defer { scope.cleanUp() }
        let worker = try WorkerProcess()
        try await worker.initialize()
        let id = try await SeedExecTests.node(worker, scope)
        _ = try await Self.startBackground(worker, id, ["sh", "-c", "while true; do echo tick; sleep 0.1; done & sleep 409"])
        worker.start("exec", ["externalId": .string(id), "command": ["sleep", "410"]])
        try await eventually { Self.processes(id, "sleep 409").count == 1 && Self.processes(id, "sleep 410").count == 1 }
        if how == "shutdown" {
            _ = try await worker.call("shutdown")
            #expect(try await worker.waitForExit() == 0)
        } else {
            #expect(try await worker.closeInput().status == 0)
        }
        #expect(Self.processes(id, "sleep 410") == [])
        try await Task.sleep(for: .seconds(1))
        #expect(Self.processes(id, "sleep 409").count == 1)
        // Its output keeps flowing nowhere without stopping it.
        #expect(!Self.processes(id, "while true", anywhere: true).isEmpty)
    }

    @Test func theBufferKeepsTheNewest4MiBAndCountsWhatItDropped() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let total = 5 * 1_048_576 + 4
            let execId = try await Self.startBackground(
                worker, id, ["sh", "-c", "head -c 5242880 /dev/zero | tr '\\000' a; echo end; echo e >&2"])
            _ = try await Self.ended(worker, id, execId)
            let attach = worker.start("exec.attach", ["execId": .string(execId), "offset": 0])
            let result = try await worker.response(.integer(attach), timeout: .seconds(30)).value()
            #expect(result["exitCode"] == 0)
            let dropped = total - 4 * 1_048_576
            #expect(result["truncated"] == ["stdout": .integer(Int64(dropped)), "stderr": 0])
            let got = Self.chunks(worker, attach)
            let stdout = got.filter { $0.stream == "stdout" }
            #expect(stdout.first?.offset == Int64(dropped))
            #expect(stdout.map(\.data.utf8.count).reduce(0, +) == 4 * 1_048_576)
            #expect(stdout.map(\.data).joined().hasSuffix("aaend\n"))
            #expect(got.filter { $0.stream == "stderr" }.map(\.data) == ["e\n"])
        }
    }

    /// A field of the worker's /proc status (`Threads`, `VmRSS` in kB).
    static func status(_ pid: Int32, _ field: String) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") ?? -1
    }

    /// 200 background commands, each still writing, cost no thread (their streams ride the one libcurl
    /// loop, read by tasks) and little memory beyond their buffers.
    @Test(.timeLimit(.minutes(5))) func twoHundredCommandsCostNoThreads() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let pid = worker.process.processIdentifier
            // Warm up: the helpers are installed and the task pool is busy once.
            _ = try await Self.startBackground(worker, id, ["sh", "-c", "echo warm"])
            let warm = (0..<8).map { _ in worker.start("exec", ["externalId": .string(id), "command": ["echo", "hi"]]) }
            for request in warm { _ = try await worker.response(.integer(request)).value() }
            let threadsBefore = Self.status(pid, "Threads")
            let rssBefore = Self.status(pid, "VmRSS")
            let script = "i=0; while [ $i -lt 30 ]; do echo line $i; i=$((i+1)); sleep 0.2; done; sleep 600"
            let requests = (0..<200).map { _ in
                worker.start(
                    "exec", ["externalId": .string(id), "command": ["sh", "-c", .string(script)], "options": ["background": true]])
            }
            var execIds: [String] = []
            for request in requests {
                let result = try await worker.response(.integer(request), timeout: .seconds(120)).value()
                execIds.append(try #require(result["execId"]?.string))
            }
            try await Task.sleep(for: .seconds(3))
            let threadsAfter = Self.status(pid, "Threads")
            let rssAfter = Self.status(pid, "VmRSS")
            print("[background] 200 commands: threads \(threadsBefore) -> \(threadsAfter), VmRSS \(rssBefore) kB -> \(rssAfter) kB")
            #expect(threadsAfter <= threadsBefore + 1)
            #expect(rssAfter - rssBefore < 96 * 1024)
            let list = try await worker.result("exec.list", ["externalId": .string(id)])
            #expect((list.array ?? []).filter { $0["running"] == true && $0["background"] == true }.count >= 200)
            // The node goes with the scope's clean-up: its commands with it.
        }
    }
}

import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Issue 5, item 3: the engine goes away, hangs, or kills what an exec runs in.
///
/// The faults are injected by `scripts/engine-proxy.py`, a unix-socket proxy in front of the real
/// engine that can refuse connections (an engine that stopped), accept them and never answer, or
/// forward; the real engine, which other tests share, is never disturbed.
@Suite("engine faults", .serialized)
struct EngineFaultTests {
    /// `scripts/engine-proxy.py`, run for one test.
    final class EngineProxy: @unchecked Sendable {
        let directory: String
        let socket: String
        private let control: String
        private let state: String
        private let process = Process()
        private var sequence = 0

        init() throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            // Short path: unix socket paths are limited to 108 bytes.
            directory = "/tmp/olw-proxy-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            socket = directory + "/engine.sock"
            control = directory + "/control"
            state = directory + "/state"
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", root.appendingPathComponent("scripts/engine-proxy.py").path, "--listen", socket, "--control", control,
                "--state", state,
            ]
            _ = FileManager.default.createFile(atPath: directory + "/proxy.log", contents: nil)
            process.standardError = FileHandle(forWritingAtPath: directory + "/proxy.log")
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            try waitForState("0 forward")
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// `DOCKER_HOST` syntax for the proxy.
        var host: String { "unix://" + socket }

        private func waitForState(_ expected: String) throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let current = (try? String(contentsOfFile: state, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                if current == expected { return }
                guard process.isRunning else { throw HarnessError.unexpected("engine-proxy.py exited") }
                usleep(10_000)
            }
            throw HarnessError.timeout("engine-proxy.py did not reach \(expected)")
        }

        /// Switches the proxy to `mode` ("forward", "refuse" or "hang") and waits until it is in force.
        func set(_ mode: String) throws {
            sequence += 1
            let line = "\(sequence) \(mode)"
            try (line + "\n").write(toFile: control + ".tmp", atomically: false, encoding: .utf8)
            _ = rename(control + ".tmp", control)
            kill(process.processIdentifier, SIGHUP)
            try waitForState(line)
        }
    }

    /// Runs `call` and returns its response and how long it took.
    static func timed(_ call: () async throws -> Response) async rethrows -> (Response, Duration) {
        let start = ContinuousClock.now
        let response = try await call()
        return (response, ContinuousClock.now - start)
    }

    static func provision(_ worker: WorkerProcess, _ scope: TestScope) async throws -> String {
        let node = try await worker.result("provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
        return try #require(node["externalId"]?.string)
    }

    /// (a) The engine stops mid-session: calls fail fast with -32001, healthCheck says why; the engine
    /// comes back: the same worker serves again.
    @Test func engineStoppedMidSessionFailsFastAndRecovers() async throws {
        let proxy = try EngineProxy()
        try await withWorker(config: ["host": .string(proxy.host)]) { worker, scope in
            let pid = worker.process.processIdentifier
            let id = try await Self.provision(worker, scope)
            #expect(try await worker.result("exec", ["externalId": .string(id), "command": ["echo", "up"]])["stdout"] == "up\n")
            #expect(try await worker.result("healthCheck")["healthy"] == true)

            try proxy.set("refuse")
            let calls: [(String, JSONValue)] = [
                ("exec", ["externalId": .string(id), "command": ["echo", "down"]]),
                ("inspect", ["externalId": .string(id)]),
                ("list", ["labels": scope.labels]),
                ("files.read", ["externalId": .string(id), "path": "/etc/passwd"]),
                ("metrics.getResourceUsage", ["externalId": .string(id)]),
                ("stop", ["externalId": .string(id)]),
                ("provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]]),
            ]
            for (method, params) in calls {
                let (response, elapsed) = try await Self.timed { try await worker.call(method, params, timeout: .seconds(30)) }
                print("[engine faults] engine stopped: \(method) → \(response.errorCode.map { "\($0)" } ?? "result") in \(elapsed)")
                #expect(response.errorCode == -32001, "\(method): \(response.raw)")
                #expect(response.errorMessage.contains("unreachable"), "\(method): \(response.errorMessage)")
                #expect(elapsed < .seconds(2), "\(method) took \(elapsed)")
            }
            let (health, healthElapsed) = try await Self.timed { try await worker.call("healthCheck") }
            let message = health.result?["message"]?.string ?? ""
            print("[engine faults] engine stopped: healthCheck in \(healthElapsed): \(message)")
            #expect(health.result?["healthy"] == false)
            #expect(message.contains("unreachable") && message.contains(proxy.socket), "the reason names the engine: \(message)")
            #expect(message.lowercased().contains("refused"), "the reason says why: \(message)")
            #expect(healthElapsed < .seconds(2))
            #expect(Docker.inspect(id)?["State"]?["Running"] == true, "the container itself is untouched")

            try proxy.set("forward")
            let (back, backElapsed) = try await Self.timed {
                try await worker.call("exec", ["externalId": .string(id), "command": ["echo", "back"]])
            }
            print("[engine faults] engine back: exec in \(backElapsed)")
            #expect(back.result?["stdout"] == "back\n", "\(back.raw)")
            #expect(try await worker.result("healthCheck")["healthy"] == true)
            #expect(try await worker.result("inspect", ["externalId": .string(id)])["status"] == "running")
            #expect(worker.process.processIdentifier == pid && worker.process.isRunning, "the same worker, not restarted")
            #expect(try await worker.call("destroy", ["externalId": .string(id)]).result == .null)
        }
    }

    /// (b) The engine accepts connections and never answers: a call fails with -32008 after the
    /// configured request timeout, and healthCheck says unhealthy.
    @Test func engineThatNeverAnswersTimesOut() async throws {
        let proxy = try EngineProxy()
        try await withWorker(config: ["host": .string(proxy.host), "requestTimeoutMs": 1500]) { worker, scope in
            // The node comes from the engine directly (labelled as the worker's own): a provision is
            // several engine calls, any of which may exceed 1.5 s on a busy machine before the fault.
            let id = try #require(
                Docker.lines([
                    "run", "-d", "--label", "openlattice.managed=true", "--label", "openlattice.test=\(scope.id)", Docker.image, "sleep",
                    "600",
                ]).first)
            try proxy.set("hang")
            for (method, params) in [
                ("inspect", ["externalId": JSONValue.string(id)]),
                ("list", ["labels": scope.labels]),
                ("exec", ["externalId": .string(id), "command": ["true"]]),
            ] as [(String, JSONValue)] {
                let (response, elapsed) = try await Self.timed { try await worker.call(method, params, timeout: .seconds(30)) }
                print(
                    "[engine faults] engine hangs: \(method) → \(response.errorCode.map { "\($0)" } ?? "result") in \(elapsed): \(response.errorMessage)"
                )
                #expect(response.errorCode == -32008, "\(method): \(response.raw)")
                #expect(elapsed >= .milliseconds(1400), "\(method) gave up before the timeout: \(elapsed)")
                #expect(elapsed < .milliseconds(4500), "\(method) took \(elapsed) for a 1500 ms timeout")
            }
            let (health, healthElapsed) = try await Self.timed { try await worker.call("healthCheck", timeout: .seconds(30)) }
            print("[engine faults] engine hangs: healthCheck in \(healthElapsed): \(health.result?["message"]?.string ?? "")")
            #expect(health.result?["healthy"] == false, "\(health.raw)")
            #expect(health.result?["message"]?.string?.isEmpty == false)
            #expect(healthElapsed < .seconds(8))

            try proxy.set("forward")
            // Serving again (retried: on a busy machine a single call may itself exceed 1.5 s).
            try await eventually(timeout: .seconds(30)) {
                try await worker.call("inspect", ["externalId": .string(id)]).result?["status"] == "running"
            }
            try await eventually(timeout: .seconds(30)) { try await worker.call("healthCheck").result?["healthy"] == true }
        }
    }

    /// (b2) The engine goes away while `events.subscribe` streams, and an event happens meanwhile:
    /// once the engine is back the worker reconnects with `since`, so that event still arrives, and
    /// the ones delivered before the drop do not come twice.
    @Test func eventsMissedWhileTheEngineIsAwayArriveAfterIt() async throws {
        let proxy = try EngineProxy()
        try await withWorker(config: ["host": .string(proxy.host)]) { worker, scope in
            let subscription = worker.start("events.subscribe")
            let id = try await Self.provision(worker, scope)
            let forNode = { worker.notifications(for: subscription).filter { $0["externalId"]?.string == id } }
            try await eventually(timeout: .seconds(30)) { forNode().contains { $0["action"] == "start" } }

            try proxy.set("refuse")  // the worker's event stream drops
            #expect(Docker.run(["stop", "-t", "0", id]).status == 0)  // on the real engine, unseen by the worker
            try await Task.sleep(for: .milliseconds(500))
            #expect(!forNode().contains { $0["action"] == "die" }, "the stream was down")
            try proxy.set("forward")

            try await eventually(timeout: .seconds(30)) { forNode().contains { $0["action"] == "die" } }
            let actions = forNode().compactMap { $0["action"]?.string }
            print("[engine faults] events across the outage: \(actions)")
            #expect(actions.filter { $0 == "start" }.count == 1, "no event twice: \(actions)")
            #expect(actions.filter { $0 == "die" }.count == 1, "no event twice: \(actions)")
            worker.notify("$/cancelRequest", ["id": .integer(subscription)])
            #expect(try await worker.response(.integer(subscription)).errorCode == -32800)
        }
    }

    /// (c) The container is killed while an exec streams: the exec ends promptly with the exit code
    /// the engine reports for it (137 for SIGKILL), not a hang.
    @Test func containerKilledDuringStreamingExecEndsWithTheRealExitCode() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.provision(worker, scope)
            let request = worker.start(
                "exec",
                [
                    "externalId": .string(id), "command": ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.05; done"],
                    "options": ["stream": true],
                ])
            try await eventually { !worker.notifications(for: request).isEmpty }
            let execIDs = Docker.inspect(id)?["ExecIDs"]?.array?.compactMap(\.string) ?? []
            let execID = execIDs.first { Docker.api("/exec/\($0)/json").contains("tick") }
            #expect(execID != nil, "the exec is visible to the engine: \(execIDs)")

            let killedAt = ContinuousClock.now
            #expect(Docker.run(["kill", id]).status == 0)
            let response = try await worker.response(.integer(request), timeout: .seconds(30))
            let elapsed = ContinuousClock.now - killedAt
            let exitCode = response.result?["exitCode"]?.int
            let engineView = execID.flatMap { try? JSONParser.parse(Array(Docker.api("/exec/\($0)/json").utf8)) }
            let engineExitCode = engineView?["ExitCode"]?.int
            print(
                "[engine faults] container killed: exec answered in \(elapsed) with exit code \(exitCode.map { "\($0)" } ?? "none"); the engine says \(engineExitCode.map { "\($0)" } ?? "nothing")"
            )
            #expect(elapsed < .seconds(5), "the exec did not end promptly: \(elapsed)")
            #expect(response.result?["timedOut"] == false, "\(response.raw)")
            if let engineExitCode {
                #expect(exitCode == engineExitCode, "\(response.raw)")
            } else {
                #expect(exitCode != nil && exitCode != 0, "\(response.raw)")
            }
            #expect(worker.notifications(for: request).count > 0)
            _ = try await worker.call("destroy", ["externalId": .string(id)])
        }
    }
}

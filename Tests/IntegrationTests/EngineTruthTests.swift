import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Answers that must agree with the engine's own view: where an exec's start failure lands, `since`
/// at an exact line stamp, memory as `docker stats` counts it, and how fresh and how frequent
/// resource samples are.
@Suite("engine truth")
struct EngineTruthTests {
    /// A way an exec fails to start, the text the engine gives for it, and whether Podman 4.3 exits
    /// it with its own code 125 (it refuses these at `exec/start` with HTTP 500).
    struct StartFailure: Sendable, CustomTestStringConvertible {
        var name: String
        var command: [String]
        var user: String?
        var cwd: String?
        var text: String
        var testDescription: String { name }
    }

    static let startFailures: [StartFailure] = [
        .init(name: "unknown user", command: ["id"], user: "nosuchuser", text: "unable to find user nosuchuser"),
        .init(name: "unknown group", command: ["id"], user: "12345:nosuchgroup", text: "unable to find group nosuchgroup"),
        .init(name: "missing binary", command: ["no-such-binary"], text: "no-such-binary"),
        .init(name: "missing cwd", command: ["id"], cwd: "/no/such/dir", text: "/no/such/dir"),
        .init(name: "permission denied", command: ["/etc/passwd"], text: "permission denied"),
    ]

    /// How an exec's output reaches the host: in its answer, as `exec.output` of the exec, or of an
    /// `exec.attach` to a background command.
    enum OutputMode: String, CaseIterable, Sendable {
        case buffered, streamed, background
    }

    /// Starts `command` in `mode`; returns the request whose answer is the exec result and whose
    /// notifications carry the output.
    static func run(
        _ worker: WorkerProcess, _ id: String, _ command: [String], _ mode: OutputMode, options: JSONObject = JSONObject()
    ) async throws -> Int64 {
        var options = options
        let commandValue = JSONValue.array(command.map { .string($0) })
        switch mode {
        case .buffered, .streamed:
            options["stream"] = .bool(mode == .streamed)
            return worker.start("exec", ["externalId": .string(id), "command": commandValue, "options": .object(options)])
        case .background:
            let execId = try await BackgroundExecTests.startBackground(worker, id, commandValue, options: .object(options))
            return worker.start("exec.attach", ["execId": .string(execId), "offset": 0])
        }
    }

    /// The engine's complaint about starting the exec is on stderr (buffered, streamed, and in a
    /// background command's output), never on stdout, and the exit code is the engine's (126/127;
    /// Podman's own 125 for a user or group it cannot find). The docker CLI, asked the same, exits
    /// with the same code.
    @Test(arguments: startFailures, OutputMode.allCases)
    func startFailureIsOnStderr(failure: StartFailure, mode: OutputMode) async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(worker, scope)
            var options = JSONObject()
            if let user = failure.user { options["user"] = .string(user) }
            if let cwd = failure.cwd { options["cwd"] = .string(cwd) }
            let request = try await Self.run(worker, id, failure.command, mode, options: options)
            let stream = mode != .buffered
            let result = try await worker.response(.integer(request)).value()
            let notes = worker.notifications(for: request)
            let stdout =
                stream ? notes.filter { $0["stream"] == "stdout" }.compactMap { $0["data"]?.string }.joined() : result["stdout"]?.string
            let stderr =
                stream ? notes.filter { $0["stream"] == "stderr" }.compactMap { $0["data"]?.string }.joined() : result["stderr"]?.string
            #expect(stdout == "", "\(result) \(notes)")
            // Under the worker's tini a binary that cannot be executed is reported by tini itself
            // ("exec … failed: Permission denied"), so the text is compared without case.
            #expect(stderr?.lowercased().contains(failure.text.lowercased()) == true, "\(result) \(notes)")
            #expect(stderr?.hasSuffix("\n") == true && stderr?.hasSuffix("\r\n") == false, "\(String(describing: stderr))")
            let exitCode = try #require(result["exitCode"]?.int)
            #expect([125, 126, 127].contains(exitCode))
            // The engine's own view of the same exec (the CLI's exit code is the exec's ExitCode).
            var cli = ["exec"]
            if let user = failure.user { cli += ["-u", user] }
            if let cwd = failure.cwd { cli += ["-w", cwd] }
            let engine = Docker.run(cli + [id] + failure.command)
            if Docker.isPodman && failure.user != nil {
                // Podman refuses these at exec/start with HTTP 500, so the CLI reports its own error
                // (exit 1); the exec's record says 125, which the worker answers.
                print(
                    "[engine truth] Podman: \(failure.name) is HTTP 500 at exec/start; the docker CLI exits \(engine.status), the exec's record 125"
                )
                #expect(exitCode == 125)
                #expect(engine.status != 0)
            } else if failure.name == "missing binary" {
                // Docker's exec answers 126 for a command not found; under the worker's tini the
                // command is not found by tini's execvp, which exits with the POSIX shell's 127.
                #expect([Int64(engine.status), 127].contains(exitCode), "docker \(cli): \(engine)")
            } else {
                #expect(Int64(engine.status) == exitCode, "docker \(cli): \(engine)")
            }
        }
    }

    /// A program's own output that looks like an engine complaint stays its stdout: the program did
    /// start (the engine's exec record has its pid).
    @Test(
        .disabled(
            if: Docker.isPodman,
            "Podman 4.3's exec record reports Pid 0 once an exec ends, so a program that prints an engine-shaped line and exits 126 cannot be told apart (Podman's own complaints come on stderr or as HTTP 500)"
        ))
    func programOutputShapedLikeAComplaintStaysOnStdout() async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(worker, scope)
            for mode in OutputMode.allCases {
                let stream = mode != .buffered
                let request = try await Self.run(worker, id, ["sh", "-c", #"printf 'OCI runtime exec failed: fake\r\n'; exit 126"#], mode)
                let result = try await worker.response(.integer(request)).value()
                let notes = worker.notifications(for: request)
                let stdout =
                    stream ? notes.filter { $0["stream"] == "stdout" }.compactMap { $0["data"]?.string }.joined() : result["stdout"]?.string
                #expect(stdout == "OCI runtime exec failed: fake\r\n", "\(result) \(notes)")
                #expect(result["exitCode"] == 126)
            }
        }
    }

    /// A running program whose first line looks like an engine complaint is not held back until it
    /// ends: its output arrives while it runs (streamed, and to an attach of a background command).
    @Test(arguments: [OutputMode.streamed, .background])
    func aRunningProgramsComplaintShapedLineArrivesAtOnce(mode: OutputMode) async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(worker, scope)
            let started = ContinuousClock.now
            let request = try await Self.run(worker, id, ["sh", "-c", #"printf 'failed to bind, retrying\r\n'; sleep 4"#], mode)
            try await eventually(timeout: .seconds(10)) { !worker.notifications(for: request).isEmpty }
            let arrived = ContinuousClock.now - started
            #expect(arrived < .seconds(3), "the line arrived after \(arrived)")
            let result = try await worker.response(.integer(request), timeout: .seconds(20)).value()
            #expect(result["exitCode"] == 0)
            let notes = worker.notifications(for: request)
            #expect(notes.map { $0["stream"] } == ["stdout"], "\(notes)")
            #expect(notes.first?["data"] == "failed to bind, retrying\r\n")
        }
    }

    /// `logs {since: <a line's own stamp>}` starts at that line, exactly as `docker logs --since`
    /// with the same stamp does, for every stamp (nanoseconds are kept, never passed through a Double).
    @Test func logsSinceAnExactStampKeepsThatLine() async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(
                worker, scope,
                extra: [
                    "runtime": [
                        "image": .string(Docker.image), "command": ["sh", "-c", "for i in $(seq 1 60); do echo line$i; done; sleep 600"],
                    ]
                ])
            var stamped: [Substring] = []
            try await eventually {
                let all = try await worker.result("logs", ["externalId": .string(id), "timestamps": true])
                stamped = (all["stdout"]?.string ?? "").split(separator: "\n")
                return stamped.count == 60
            }
            var mismatches: [String] = []
            for line in stamped {
                let stamp = Self.stampOf(line)
                // The first line with this stamp (Podman stamps whole seconds, so many lines share one).
                let first = stamped.first { Self.stampOf($0) == stamp } ?? line
                let ours = try await worker.result("logs", ["externalId": .string(id), "since": .string(stamp)])
                let engine = String(decoding: Docker.run(["logs", "--since", stamp, id]).stdout, as: UTF8.self)
                if ours["stdout"]?.string != engine || !engine.hasPrefix(String(first.dropFirst(stamp.count + 1)) + "\n") {
                    mismatches.append("\(stamp): ours starts \(ours["stdout"]?.string?.prefix(8) ?? "?"), docker's \(engine.prefix(8))")
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) of 60: \(mismatches.prefix(5))")
        }
    }

    /// A `timestamps: true` line's stamp.
    static func stampOf(_ line: Substring) -> String { String(line.prefix { $0 != " " }) }

    /// The memory a node uses is what `docker stats` says: shared memory and active page cache count.
    @Test func memoryUsedIsWhatDockerStatsSays() async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(worker, scope)
            let fills = [
                // 60 MiB of tmpfs (shared memory), then 200 MiB of file cache made active by a second read
                "head -c 62914560 /dev/zero > /dev/shm/fill",
                "head -c 209715200 /dev/zero > /tmp/cache && cat /tmp/cache > /dev/null && cat /tmp/cache > /dev/null",
            ]
            for fill in fills {
                let done = try await worker.result("exec", ["externalId": .string(id), "command": ["sh", "-c", .string(fill)]])
                #expect(done["exitCode"] == 0, "\(done)")
                // inspect answers from the warm stream's latest sample: Docker's is at most a second
                // old, Podman's compatibility stream samples every 5 s.
                try await Task.sleep(for: .seconds(Docker.isPodman ? 6 : 2))
                let engine = try #require(Self.dockerStatsMiB(id))
                let usage = try await worker.result("metrics.getResourceUsage", ["externalId": .string(id)])
                let inspected = try await worker.result("inspect", ["externalId": .string(id)])
                let sampleRequest = worker.start("metrics.streamMetrics", ["externalId": .string(id), "maxSamples": 1])
                _ = try await worker.response(.integer(sampleRequest)).value()
                let sampled = worker.notifications(for: sampleRequest).first?["sample"]?["memoryUsedMiB"]?.double
                for (name, figure) in [
                    ("getResourceUsage", usage["memoryUsedMiB"]?.double), ("inspect", inspected["resources"]?["memoryUsedMiB"]?.double),
                    ("metrics.sample", sampled),
                ] {
                    let ours = try #require(figure, "\(name)")
                    #expect(abs(ours - engine) < 4, "\(fill): \(name) says \(ours) MiB, docker stats \(engine) MiB")
                }
            }
        }
    }

    /// `docker stats --no-stream`'s used memory in MiB.
    static func dockerStatsMiB(_ id: String) -> Double? {
        let text = String(decoding: Docker.run(["stats", "--no-stream", "--format", "{{.MemUsage}}", id]).stdout, as: UTF8.self)
        let used = text.split(separator: "/").first?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let units: [(String, Double)] = [("GiB", 1024), ("MiB", 1), ("KiB", 1.0 / 1024), ("B", 1.0 / 1_048_576)]
        for (unit, scale) in units where used.hasSuffix(unit) {
            return Double(used.dropLast(unit.count)).map { $0 * scale }
        }
        return nil
    }

    /// getResourceUsage reflects the node as of after the request arrived: memory allocated just
    /// before the call is in it, and its timestamp is not earlier than the call.
    @Test func resourceUsageIsNotOlderThanTheRequest() async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(
                worker, scope,
                extra: [
                    "runtime": [
                        "image": .string(Docker.image),
                        "command": [
                            "sh", "-c",
                            "until [ -e /tmp/go ]; do sleep 0.05; done; x=$(head -c 62914560 /dev/zero | tr '\\000' a); touch /tmp/held; sleep 600 & wait",
                        ],
                    ]
                ])
            let before = try await worker.result("metrics.getResourceUsage", ["externalId": .string(id)])
            try await Task.sleep(for: .seconds(2))  // the warm stream has samples from before the allocation
            let held = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "touch /tmp/go; until [ -e /tmp/held ]; do sleep 0.01; done"]])
            #expect(held["exitCode"] == 0)
            let asked = Date()
            let after = try await worker.result("metrics.getResourceUsage", ["externalId": .string(id)])
            let stamp = try #require(after["timestamp"]?.string.flatMap(Timestamp.parse))
            // The stamp has milliseconds; the moment asked is cut to them too.
            #expect(stamp.timeIntervalSince1970 >= (asked.timeIntervalSince1970 * 1000).rounded(.down) / 1000, "\(after) asked \(asked)")
            #expect((after["memoryUsedMiB"]?.double ?? 0) > (before["memoryUsedMiB"]?.double ?? 0) + 40, "before \(before), after \(after)")
            // inspect may answer from a recent sample, but its stamp is the sample's, never later than now
            let inspected = try await worker.result("inspect", ["externalId": .string(id)])
            let sampledAt = try #require(inspected["resources"]?["sampledAt"]?.string.flatMap(Timestamp.parse))
            #expect(sampledAt <= Date())
        }
    }

    /// streamMetrics samples at the asked interval on average (the engine samples once a second, so
    /// 1500 ms alternates 1 s and 2 s gaps); a shorter interval than the engine's is refused, naming it.
    @Test func streamMetricsKeepsTheAskedInterval() async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(worker, scope)
            let short = try await worker.call("metrics.streamMetrics", ["externalId": .string(id), "intervalMs": 250])
            #expect(short.errorCode == -32602)
            #expect(short.raw["error"]?["data"]?["field"] == "intervalMs")
            let request = worker.start("metrics.streamMetrics", ["externalId": .string(id), "intervalMs": 1500, "maxSamples": 5])
            let done = try await worker.response(.integer(request))
            #expect(done.result == ["reason": "maxSamples", "samples": 5])
            let stamps = worker.notifications(for: request).compactMap { $0["sample"]?["timestamp"]?.string.flatMap(Timestamp.parse) }
            #expect(stamps.count == 5)
            if let first = stamps.first, let last = stamps.last {
                let span = last.timeIntervalSince(first)
                #expect(
                    span > 5.0 && span < 7.0,
                    "4 gaps of 1.5 s span \(span) s (skipping Docker's 1 s samples until 1.4 s passed gives 8 s; Podman's stream gave 20 s)"
                )
            }
        }
    }

    /// A paused node is treated alike by getResourceUsage and streamMetrics: both report its usage
    /// (the engine keeps sampling a frozen cgroup; its CPU is idle).
    @Test func pausedNodeReportsUsageInBothMethods() async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(worker, scope)
            #expect(Docker.run(["pause", id]).status == 0)
            defer { Docker.run(["unpause", id]) }
            let usage = try await worker.call("metrics.getResourceUsage", ["externalId": .string(id)])
            #expect(usage.result?["memoryUsedMiB"]?.double != nil, "\(usage.raw)")
            #expect((usage.result?["cpuPercent"]?.double ?? 100) < 1)
            let request = worker.start("metrics.streamMetrics", ["externalId": .string(id), "maxSamples": 2])
            let done = try await worker.response(.integer(request), timeout: .seconds(20))
            #expect(done.result == ["reason": "maxSamples", "samples": 2], "\(done.raw)")
        }
    }
}

import Foundation
import JSONCoding
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// Issue 5, item 4: a host that reads slowly, or goes away.
@Suite("slow or absent host", .serialized)
struct SlowHostTests {
    /// What the fast path of the stdout reader counted of one streaming exec.
    final class StreamTally: Sendable {
        struct Counts {
            var decoded = 0
            var frames = 0
            var nonZero = 0
            var malformed: [String] = []
        }
        let counts = Mutex(Counts())
        static let zeros = [UInt8](repeating: 0, count: 1 << 16)
        static let prefix = Array(#"{"jsonrpc":"2.0","method":"exec.output","params":{"requestId":"#.utf8)
        static let dataKey = Array(#","stream":"stdout","data":""#.utf8)

        /// Takes the `exec.output` lines of request `idJSON`: checks their shape, decodes and counts them.
        func fastPath(idJSON: [UInt8]) -> RawWorker.FastPath {
            let head = Self.prefix + idJSON + Self.dataKey
            return { [self] line in
                guard line.count > head.count + 3, memcmp(line.baseAddress!, head, head.count) == 0 else { return false }
                let end = line.count - 3
                let tail = Array(line[end...])
                let payload = Data(bytes: line.baseAddress! + head.count, count: end - head.count)
                guard tail == Array(#""}}"#.utf8), let decoded = Data(base64Encoded: payload) else {
                    counts.withLock { $0.malformed.append(String(decoding: line.prefix(200), as: UTF8.self)) }
                    return true
                }
                // Every 1024th frame also goes through the full parser and protocol check.
                let frames = counts.withLock { $0.frames }
                if frames % 1024 == 0 {
                    let valid = (try? JSONParser.parse(line)).map { RawWorker.protocolProblem($0) == nil } ?? false
                    if !valid {
                        counts.withLock {
                            $0.malformed.append("not a protocol message: \(String(decoding: line.prefix(200), as: UTF8.self))")
                        }
                    }
                }
                var nonZero = 0
                decoded.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let count = min(Self.zeros.count, bytes.count - offset)
                        if memcmp(bytes.baseAddress! + offset, Self.zeros, count) != 0 { nonZero += 1 }
                        offset += count
                    }
                }
                counts.withLock {
                    $0.decoded += decoded.count
                    $0.frames += 1
                    $0.nonZero += nonZero
                }
                return true
            }
        }
    }

    /// The host stops reading stdout while an exec streams 1 GB: the worker stops reading from the
    /// engine (libcurl pause) until stdout drains, so its resident set stays under 100 MB; when the host
    /// reads again nothing is lost.
    ///
    /// Size: 1 GiB when the worker streams fast enough to finish in about 90 s (it needs ≈ 15 MB/s of
    /// base64 frames; the debug build did ≈ 50 MB/s on 2 cores), else 256 MiB, else 64 MiB: a short
    /// calibration exec measures the rate first and the test prints which size it used and why.
    /// `OLW_SLOW_HOST_BYTES` forces a size. Whatever the size, the pause starts after 16 MiB, with far
    /// more than every buffer on the way (pipe, 4 MiB output queue, 1 MiB transfer buffer) still to come.
    @Test(.timeLimit(.minutes(10)))
    func hostThatStopsReadingWhileOneGigabyteStreams() async throws {
        let requestID = "stream-big"
        let tally = StreamTally()
        let calibrationTally = StreamTally()
        let calibrationPath = calibrationTally.fastPath(idJSON: Array(#""calibration""#.utf8))
        let streamPath = tally.fastPath(idJSON: Array(#""\#(requestID)""#.utf8))
        let worker = try RawWorker(fastPath: { calibrationPath($0) || streamPath($0) })
        let scope = TestScope()
        defer { scope.cleanUp() }
        try await worker.initialize()
        let node = try await worker.call("provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
        let id = try #require(node["result"]?["externalId"]?.string, "\(node)")
        let idle = try #require(worker.memory)
        print("[slow host] worker idle: \(idle)")

        // Calibration: how fast does this worker build stream base64 frames here?
        let calibrationBytes = 8 << 20
        let calibrationStart = ContinuousClock.now
        let calibration = try await worker.call(
            "exec",
            [
                "externalId": .string(id), "command": ["head", "-c", .string(String(calibrationBytes)), "/dev/zero"],
                "options": ["stream": true, "encoding": "base64"],
            ],
            id: "calibration", timeout: .seconds(120))
        #expect(calibration["result"]?["exitCode"] == 0)
        #expect(calibrationTally.counts.withLock { $0.decoded } == calibrationBytes)
        let rate = Double(calibrationBytes) / max(Self.seconds(ContinuousClock.now - calibrationStart), 0.001)
        let size: Int
        if let forced = ProcessInfo.processInfo.environment["OLW_SLOW_HOST_BYTES"].flatMap(Int.init) {
            size = forced
        } else {
            size = [1 << 30, 256 << 20].first { Double($0) / rate <= 90 } ?? 64 << 20
        }
        print(
            "[slow host] calibration: \(String(format: "%.1f", rate / 1e6)) MB/s → streaming \(size >> 20) MiB"
                + (size < 1 << 30 ? " (1 GiB would take \(Int(Double(1 << 30) / rate)) s at this rate)" : ""))

        let start = ContinuousClock.now
        await worker.request(
            "exec",
            [
                "externalId": .string(id), "command": ["head", "-c", .string(String(size)), "/dev/zero"],
                "options": ["stream": true, "encoding": "base64"],
            ],
            id: .string(requestID))
        // Let it flow, then stop reading.
        try await eventuallyTrue(timeout: .seconds(60)) { tally.counts.withLock { $0.decoded } >= 16 << 20 }
        worker.pauseReading()
        let atPause = tally.counts.withLock { $0.decoded }
        var samples: [Int] = []
        for _ in 0..<25 {  // every 200 ms for 5 s
            try await Task.sleep(for: .milliseconds(200))
            if let memory = worker.memory { samples.append(memory.rss) }
        }
        let stdoutAtEnd = worker.stdoutBytes
        print("[slow host] paused after \(atPause >> 20) MiB; VmRSS while not reading (MB): \(samples.map { $0 / 1_000_000 })")
        #expect(samples.count >= 20)
        #expect((samples.max() ?? .max) < 100_000_000, "resident set while the host does not read: \(samples)")
        // The worker really is held back: no response yet, and the stream is far from done.
        #expect(worker.responses["s:\(requestID)"] == nil)

        worker.resumeReading()
        var peak = samples.max() ?? 0
        let sampler = Task {
            var highest = 0
            while !Task.isCancelled {
                if let memory = worker.memory { highest = max(highest, memory.rss) }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return highest
        }
        let response = try await worker.response("s:\(requestID)", timeout: .seconds(540))
        sampler.cancel()
        peak = max(peak, await sampler.value)
        let elapsed = ContinuousClock.now - start
        let counts = tally.counts.withLock { $0 }
        let seconds = Self.seconds(elapsed)
        print(
            "[slow host] \(counts.decoded) bytes in \(counts.frames) frames, \(elapsed) (incl. 5 s paused; \(String(format: "%.0f", Double(size) / 1e6 / (seconds - 5))) MB/s), peak VmRSS \(peak / 1_000_000) MB, stdout \(worker.stdoutBytes >> 20) MiB (\(stdoutAtEnd >> 20) MiB read when paused)"
        )
        #expect(response["result"]?["exitCode"] == 0, "\(FuzzGenerator.text(response).prefix(600))")
        #expect(response["result"]?["stdout"] == "")
        #expect(counts.decoded == size)
        #expect(counts.nonZero == 0)
        #expect(counts.malformed.isEmpty, "\(counts.malformed.prefix(3))")
        #expect(peak < 100_000_000)
        #expect(worker.violations.isEmpty, "\(worker.violations.prefix(3))")
        _ = try await worker.call("destroy", ["externalId": .string(id)])
        worker.closeInput()
        #expect(try await worker.waitForExit() == 0)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// The host closes stdin with work in flight: the worker answers it -32800, exits 0 within 2 s,
    /// and leaves no process behind (it starts none: everything runs in threads of its own process).
    @Test func hostThatClosesStdinGetsAPromptCleanExit() async throws {
        let worker = try RawWorker()
        let scope = TestScope()
        defer { scope.cleanUp() }
        try await worker.initialize()
        let node = try await worker.call("provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
        let id = try #require(node["result"]?["externalId"]?.string, "\(node)")
        await worker.request("exec", ["externalId": .string(id), "command": ["sleep", "60"], "options": ["stream": true]], id: "sleeping")
        await worker.request("events.subscribe", [:], id: "events")
        await worker.request("metrics.streamMetrics", ["externalId": .string(id), "intervalMs": 1000], id: "metrics")
        try await Task.sleep(for: .milliseconds(800))
        let pid = worker.pid
        let children = childProcesses(of: pid)
        #expect(children.isEmpty, "the worker has child processes: \(children)")
        let threads =
            (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
        print("[slow host] before closing stdin: \(worker.memory?.description ?? "?"), \(threads), children \(children)")

        let start = ContinuousClock.now
        worker.closeInput()
        let status = try await worker.waitForExit(timeout: .seconds(5))
        let elapsed = ContinuousClock.now - start
        print("[slow host] exited with \(status) \(elapsed) after stdin closed")
        #expect(status == 0)
        #expect(worker.process.terminationReason == .exit)
        #expect(elapsed < .seconds(2))
        #expect(!processExists(pid), "pid \(pid) still there")
        #expect(childProcesses(of: pid).isEmpty)
        for key in ["sleeping", "events", "metrics"] {
            let answer = try await worker.response("s:\(key)", timeout: .seconds(2))
            #expect(answer["error"]?["code"] == -32800, "\(key): \(answer)")
        }
        try await eventuallyTrue(timeout: .seconds(2)) { worker.stdoutClosed }
        #expect(worker.violations.isEmpty, "\(worker.violations.prefix(3))")
    }
}

/// Polls `condition` until it holds, failing the test after `timeout`.
func eventuallyTrue(timeout: Duration, _ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
            throw HarnessError.timeout("condition not met within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

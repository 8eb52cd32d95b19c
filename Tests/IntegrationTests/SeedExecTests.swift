import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// The seed suite's `describe("exec")`, and the exec behaviours the protocol adds.
@Suite("exec")
struct SeedExecTests {
    /// Provisions a busybox node for the test and returns its id.
    static func node(_ worker: WorkerProcess, _ scope: TestScope, command: JSONValue? = nil) async throws -> String {
        var runtime: JSONValue = ["image": .string(Docker.image)]
        if let command, case .object(var object) = runtime {
            object["command"] = command
            runtime = .object(object)
        }
        let node = try await worker.result("provision", ["spec": ["runtime": runtime, "labels": scope.labels]])
        return try #require(node["externalId"]?.string)
    }

    @Test func echoHello() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let result = try await worker.result("exec", ["externalId": .string(id), "command": ["echo", "hello"]])
            #expect(result["exitCode"] == 0)
            #expect(result["stdout"] == "hello\n")
            #expect(result["stderr"] == "")
            #expect(result["timedOut"] == false)
            #expect((result["durationMs"]?.int ?? -1) >= 0)
            let ls = try await worker.result("exec", ["externalId": .string(id), "command": ["ls", "-la", "/"]])
            #expect(ls["stdout"]?.string?.contains("bin") == true)
        }
    }

    @Test(arguments: [0, 1, 42])
    func exitCodesPassThrough(code: Int) async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let result = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", .string("sleep 0.3; exit \(code)")]])
            #expect(result["exitCode"]?.int == Int64(code))
        }
    }

    @Test func stdoutAndStderrAreSeparate() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let result = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "echo out; echo err >&2; echo out2"]])
            #expect(result["stdout"] == "out\nout2\n")
            #expect(result["stderr"] == "err\n")
        }
    }

    @Test func cwdAndEnv() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let result = try await worker.result(
                "exec",
                [
                    "externalId": .string(id), "command": ["sh", "-c", "pwd; echo $NODE_ENV; id -un"],
                    "options": ["cwd": "/tmp", "env": ["NODE_ENV": "test"], "user": "nobody"],
                ])
            #expect(result["stdout"] == "/tmp\ntest\nnobody\n")
        }
    }

    @Test func tenMegabytesIntact() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            _ = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "head -c 10485760 /dev/urandom > /tmp/blob"]])
            let sum = try await worker.result("exec", ["externalId": .string(id), "command": ["sha256sum", "/tmp/blob"]])
            let expected = String(sum["stdout"]?.string?.prefix(64) ?? "")
            let result = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["cat", "/tmp/blob"], "options": ["encoding": "base64"]])
            let encoded = try #require(result["stdout"]?.string)
            let bytes = try #require(Data(base64Encoded: encoded))
            #expect(bytes.count == 10_485_760)
            #expect(sha256Hex(bytes) == expected)
            // and as text: 10 MB of lines, streamed, reassembled exactly
            let text = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "base64 /tmp/blob"]])
            let decoded = Data(base64Encoded: (text["stdout"]?.string ?? "").replacingOccurrences(of: "\n", with: ""))
            #expect(decoded.map(sha256Hex) == expected)
        }
    }

    @Test func streamsOutputAsNotifications() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let request = worker.start(
                "exec",
                [
                    "externalId": .string(id), "command": ["sh", "-c", "echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three"],
                    "options": ["stream": true],
                ])
            let response = try await worker.response(.integer(request))
            #expect(response.result?["stdout"] == "")
            #expect(response.result?["exitCode"] == 0)
            let notes = worker.notifications(for: request)
            let stdout = notes.filter { $0["stream"] == "stdout" }.compactMap { $0["data"]?.string }.joined()
            let stderr = notes.filter { $0["stream"] == "stderr" }.compactMap { $0["data"]?.string }.joined()
            #expect(stdout == "one\nthree\n")
            #expect(stderr == "two\n")
            // nothing for the request after its response
            let lines = worker.lines
            let responseIndex = try #require(lines.firstIndex { $0.id == .integer(request) })
            #expect(!lines[responseIndex...].contains { $0.value["params"]?["requestId"] == .integer(request) })
        }
    }

    @Test func multibyteCharacterSplitAcrossChunksIsNotBroken() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let request = worker.start(
                "exec",
                [
                    "externalId": .string(id),
                    "command": ["sh", "-c", #"printf 'caf\303'; sleep 0.6; printf '\251 \360\237'; sleep 0.6; printf '\230\200 \377end'"#],
                    "options": ["stream": true],
                ])
            _ = try await worker.response(.integer(request))
            let chunks = worker.notifications(for: request).compactMap { $0["data"]?.string }
            #expect(chunks.count >= 2)
            #expect(chunks.joined() == "café 😀 \u{FFFD}end")
            #expect(!chunks.contains { $0.contains("\u{FFFD}\u{FFFD}") })
        }
    }

    @Test func base64StreamRoundTripsBinary() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let request = worker.start(
                "exec",
                [
                    "externalId": .string(id), "command": ["sh", "-c", #"printf '\000\001\377\376'"#],
                    "options": ["stream": true, "encoding": "base64"],
                ])
            _ = try await worker.response(.integer(request))
            let bytes = worker.notifications(for: request).compactMap { $0["data"]?.string }.compactMap { Data(base64Encoded: $0) }
                .reduce(Data(), +)
            #expect(Array(bytes) == [0, 1, 255, 254])
        }
    }

    @Test func commandThatCannotStartIsAnExitCode() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let result = try await worker.result("exec", ["externalId": .string(id), "command": ["no-such-command"]])
            #expect([126, 127].contains(result["exitCode"]?.int ?? 0))
            #expect(result["stderr"]?.string?.contains("no-such-command") == true)
            #expect(result["stdout"] == "")
        }
    }

    @Test func timeoutTerminatesTheProcess() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let started = ContinuousClock.now
            let result = try await worker.result(
                "exec",
                ["externalId": .string(id), "command": ["sh", "-c", "echo before; sleep 77; echo after"], "options": ["timeoutMs": 4000]])
            // The deadline counts from before exec create: room for a slow create and start under load.
            #expect(ContinuousClock.now - started < .seconds(8))
            #expect(result["timedOut"] == true)
            #expect(result["exitCode"] == -1)
            #expect(result["stdout"] == "before\n")
            try await eventually {
                let ps = try await worker.result("exec", ["externalId": .string(id), "command": ["ps", "-o", "args"]])
                return !(ps["stdout"]?.string ?? "sleep 77").contains("sleep 77")
            }
        }
    }

    @Test func cancelEndsTheExecAndItsProcess() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let request = worker.start(
                "exec",
                [
                    "externalId": .string(id), "command": ["sh", "-c", "while true; do echo tick; sleep 0.1; done"],
                    "options": ["stream": true],
                ])
            try await eventually { !worker.notifications(for: request).isEmpty }
            worker.notify("$/cancelRequest", ["id": .integer(request)])
            let response = try await worker.response(.integer(request), timeout: .seconds(5))
            #expect(response.errorCode == -32800)
            try await Task.sleep(for: .milliseconds(500))
            let lines = worker.lines
            let responseIndex = try #require(lines.firstIndex { $0.id == .integer(request) })
            #expect(!lines[responseIndex...].contains { $0.value["params"]?["requestId"] == .integer(request) })
            #expect(lines.filter { $0.id == .integer(request) }.count == 1)
            try await eventually {
                let ps = try await worker.result("exec", ["externalId": .string(id), "command": ["ps", "-o", "args"]])
                return !(ps["stdout"]?.string ?? "while").contains("while true")
            }
        }
    }

    @Test func execInMissingOrStoppedNode() async throws {
        try await withWorker { worker, scope in
            let missing = try await worker.call("exec", ["externalId": "no-such-node-xyz", "command": ["true"]])
            #expect(missing.errorCode == -32004)
            #expect(missing.errorMessage.hasPrefix("[docker] exec failed:"))
            let id = try await Self.node(worker, scope, command: ["true"])
            try await eventually { Docker.inspect(id)?["State"]?["Running"] == false }
            let stopped = try await worker.call("exec", ["externalId": .string(id), "command": ["true"]])
            #expect(stopped.errorCode == -32009)
            #expect(stopped.raw["error"]?["data"]?["status"] == (Docker.isPodman ? 500 : 409))  // the engine's own status
        }
    }

    @Test func concurrentRequestsAnswerOutOfOrder() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let slow = worker.start("exec", ["externalId": .string(id), "command": ["sleep", "1.5"]])
            let fast = worker.start("healthCheck")
            let fastResponse = try await worker.response(.integer(fast))
            #expect(fastResponse.result?["healthy"] == true)
            let slowResponse = try await worker.response(.integer(slow))
            #expect(slowResponse.result?["exitCode"] == 0)
            let order = worker.lines.compactMap(\.id)
            let fastIndex = try #require(order.firstIndex(of: .integer(fast)))
            let slowIndex = try #require(order.firstIndex(of: .integer(slow)))
            #expect(fastIndex < slowIndex)
            // fifty at once on one worker
            let ids = (0..<50).map { index in
                worker.start("exec", ["externalId": .string(id), "command": ["sh", "-c", .string("sleep 0.2; exit \(index % 7)")]])
            }
            for (index, request) in ids.enumerated() {
                let response = try await worker.response(.integer(request))
                #expect(response.result?["exitCode"]?.int == Int64(index % 7))
            }
        }
    }
}

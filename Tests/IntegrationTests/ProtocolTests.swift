import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// The line protocol through the real binary: framing, lifecycle, errors, batches, cancellation.
@Suite("protocol")
struct ProtocolTests {
    @Test func lifecycleErrors() async throws {
        let worker = try WorkerProcess()
        let early = try await worker.call("healthCheck")
        #expect(early.errorCode == -32002)
        let badVersion = try await worker.call("initialize", ["protocolVersion": "9.9"])
        #expect(badVersion.errorCode == -32602)
        #expect(badVersion.raw["error"]?["data"]?["supported"] == ["1.0", "1.1"])
        #expect(badVersion.raw["error"]?["data"]?["requested"] == "9.9")
        let result = try await worker.initialize()
        #expect(result["protocolVersion"] == "1.0")
        #expect(result["limits"]?["maxLineBytes"]?.int == 64 << 20)
        let methods = Set(result["methods"]?.array?.compactMap(\.string) ?? [])
        #expect(methods.isSuperset(of: ["provision", "exec", "inspect", "destroy", "files.read", "logs", "events.subscribe", "shutdown"]))
        let again = try await worker.call("initialize", ["protocolVersion": "1.0"])
        #expect(again.errorCode == -32600)
        let unknown = try await worker.call("no.such.method")
        #expect(unknown.errorCode == -32601)
        let shutdown = try await worker.call("shutdown")
        // A 1.1 host gets 1.1: the worker answers with the version asked for.
        let newer = try WorkerProcess()
        #expect(try await newer.call("initialize", ["protocolVersion": "1.1"]).result?["protocolVersion"] == "1.1")
        await newer.stop()
        #expect(shutdown.result == .null)
        #expect(try await worker.waitForExit() == 0)
    }

    @Test func parseErrorsAndInvalidRequests() async throws {
        try await withWorker { worker, _ in
            for line in ["{not json", "[1,2", "\"just a string", #"{"jsonrpc":"2.0","id":1,"method":"x"} trailing"#] {
                worker.send(line: line)
            }
            worker.send(line: #"{"jsonrpc":"2.0","id":{"a":1},"method":"healthCheck"}"#)
            worker.send(line: #"{"jsonrpc":"1.0","id":7001,"method":"healthCheck"}"#)
            worker.send(line: #"{"jsonrpc":"2.0","id":7002,"method":42}"#)
            worker.send(line: "")  // blank lines are ignored
            let healthy = try await worker.result("healthCheck")
            #expect(healthy["healthy"] == true)
            let nullIDs = worker.lines.filter { $0.id == .null }.compactMap { $0.value["error"]?["code"]?.int }
            #expect(nullIDs.filter { $0 == -32700 }.count == 4)
            #expect(nullIDs.filter { $0 == -32600 }.count == 1)
            #expect(try await worker.response(.integer(7001)).errorCode == -32600)
            #expect(try await worker.response(.integer(7002)).errorCode == -32600)
        }
    }

    @Test func initializeRejectsBadConfigNamingTheField() async throws {
        let worker = try WorkerProcess()
        let password = "pw-\(UUID().uuidString)"
        let cases: [(JSONValue, String)] = [
            (["requestTimeoutMs": 0], "config.requestTimeoutMs"),
            (["requestTimeoutMs": -5], "config.requestTimeoutMs"),
            (["network": ""], "config.network"),
            (["snapshotRepository": ""], "config.snapshotRepository"),
            (["ownerId": ""], "config.ownerId"),
            (["registryAuth": ["127.0.0.1:5000": ["password": .string(password)]]], "config.registryAuth.127.0.0.1:5000"),
        ]
        for (config, field) in cases {
            let response = try await worker.call("initialize", ["protocolVersion": "1.0", "config": config])
            #expect(response.errorCode == -32602, "\(config): \(response.raw)")
            #expect(response.raw["error"]?["data"]?["field"]?.string == field, "\(config): \(response.raw)")
            #expect(!String(decoding: JSONWriter.encode(response.raw), as: UTF8.self).contains(password))
        }
        // A refused initialize leaves the worker ready for a good one.
        #expect(try await worker.initialize(["requestTimeoutMs": 5000])["protocolVersion"] == "1.0")
        #expect(!worker.stderrText.contains(password))
        await worker.stop()
    }

    @Test func invalidParamsNameTheField() async throws {
        try await withWorker { worker, scope in
            let cases: [(String, JSONValue, String)] = [
                ("provision", ["spec": ["runtime": ["image": 42]]], "spec.runtime.image"),
                ("provision", ["spec": ["runtime": [:]]], "spec.runtime.image"),
                ("provision", ["spec": ["runtime": ["image": "x", "env": ["A=B": "1"]], "labels": scope.labels]], "spec.runtime.env.A=B"),
                ("provision", ["spec": ["name": "-bad", "runtime": ["image": "x"]]], "spec.name"),
                (
                    "provision", ["spec": ["runtime": ["image": "x"], "network": ["ports": [["port": 70000]]]]],
                    "spec.network.ports[0].port"
                ),
                ("provision", ["spec": ["runtime": ["image": "x"], "cpu": ["cores": 0]]], "spec.cpu.cores"),
                ("provision", ["spec": ["runtime": ["image": "x", "command": []]]], "spec.runtime.command"),
                ("exec", ["externalId": "abc", "command": []], "command"),
                ("exec", ["externalId": "abc"], "command"),
                ("exec", ["externalId": "a/../b", "command": ["true"]], "externalId"),
                ("inspect", [:], "externalId"),
                ("stop", ["externalId": "abc", "timeoutSeconds": "ten"], "timeoutSeconds"),
                // checked before the node is looked up: a bad param on a missing node is -32602, not -32004
                ("files.read", ["externalId": "abc", "path": "/x", "offset": -1], "offset"),
                ("files.write", ["externalId": "abc", "path": "/x", "content": "", "mode": 70000], "mode"),
                ("files.write", ["externalId": "abc", "path": "/", "content": ""], "path"),
                ("network.getUrl", ["externalId": "abc", "port": 0], "port"),
                ("network.getUrl", ["externalId": "abc", "port": 80, "protocol": "ftp"], "protocol"),
                ("metrics.streamMetrics", ["externalId": "abc", "intervalMs": 0], "intervalMs"),
                ("logs", ["externalId": "abc", "since": "yesterday"], "since"),
                ("restore", ["ref": ["externalId": "sha256:abc", "provider": "aws"]], "ref.provider"),
            ]
            for (method, params, field) in cases {
                let response = try await worker.call(method, params)
                #expect(response.errorCode == -32602, "\(method) \(params)")
                #expect(response.raw["error"]?["data"]?["field"]?.string == field, "\(method) \(params)")
                #expect(response.raw["error"]?["data"]?["provider"] == "docker")
                #expect(response.errorMessage.hasPrefix("[docker] \(method) failed: invalid params: \(field)"))
            }
            let arrayParams = try await worker.call("inspect", ["abc"])
            #expect(arrayParams.raw["error"]?["data"]?["field"] == "params")
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
        }
    }

    @Test func batches() async throws {
        try await withWorker { worker, _ in
            worker.send(
                line:
                    #"[{"jsonrpc":"2.0","id":"b1","method":"healthCheck"},{"jsonrpc":"2.0","method":"nothing"},{"jsonrpc":"2.0","id":"b2","method":"nope"},5]"#
            )
            worker.send(line: "[]")
            try await eventually { worker.lines.contains { $0.value.array != nil } }
            let batch = try #require(worker.lines.first { $0.value.array != nil }?.value.array)
            #expect(batch.count == 3)
            #expect(batch.contains { $0["id"] == "b1" && $0["result"]?["healthy"] == true })
            #expect(batch.contains { $0["id"] == "b2" && $0["error"]?["code"] == -32601 })
            #expect(batch.contains { $0["id"] == .null && $0["error"]?["code"] == -32600 })
            try await eventually {
                worker.lines.contains { $0.id == .null && $0.value["error"]?["message"]?.string?.contains("empty batch") == true }
            }
        }
    }

    @Test func oneByteAtATime() async throws {
        let worker = try WorkerProcess()
        let line = Array(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1.0"}}"#.utf8) + [0x0A]
        for byte in line {
            worker.write([byte])
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(try await worker.response(.integer(1)).result?["protocolVersion"] == "1.0")
        _ = try await worker.closeInput()
    }

    @Test func overlongLinesAreDiscardedAndAnswered() async throws {
        let worker = try WorkerProcess(arguments: ["--max-line-bytes", "4096"])
        try await worker.initialize()
        worker.send(
            line: #"{"jsonrpc":"2.0","id":5,"method":"healthCheck","params":{"pad":""# + String(repeating: "x", count: 100_000) + "\"}}")
        let healthy = try await worker.result("healthCheck")
        #expect(healthy["healthy"] == true)
        #expect(worker.lines.contains { $0.id == .null && $0.value["error"]?["code"] == -32600 })
        #expect(!worker.lines.contains { $0.id == .integer(5) })
        _ = try await worker.closeInput()
    }

    @Test func cancelBeforeStartIsRememberedAndDuplicateIDsRejected() async throws {
        try await withWorker { worker, scope in
            worker.notify("$/cancelRequest", ["id": 4242])
            let early = try await worker.response(.integer(worker.start("healthCheck", id: 4242)))
            #expect(early.errorCode == -32800)
            let id = try await SeedExecTests.node(worker, scope)
            let slow = worker.start("exec", ["externalId": .string(id), "command": ["sleep", "2"]], id: 777)
            let duplicate = worker.start("healthCheck", id: slow)
            _ = duplicate
            try await eventually { worker.lines.filter { $0.id == .integer(777) }.count == 2 }
            let answers = worker.lines.filter { $0.id == .integer(777) }
            #expect(answers.first?.value["error"]?["code"] == -32600)
            #expect(answers.last?.value["result"]?["exitCode"] == 0)
        }
    }

    @Test func endOfInputCancelsInFlightAndExitsPromptly() async throws {
        let worker = try WorkerProcess()
        try await worker.initialize()
        let scope = TestScope()
        defer { scope.cleanUp() }
        let id = try await SeedExecTests.node(worker, scope)
        let request = worker.start("exec", ["externalId": .string(id), "command": ["sleep", "60"]])
        try await Task.sleep(for: .milliseconds(300))
        let (status, elapsed) = try await worker.closeInput()
        #expect(status == 0)
        #expect(elapsed < .seconds(2))
        #expect(try await worker.response(.integer(request)).errorCode == -32800)
        // no worker left behind
        #expect(!worker.process.isRunning)
    }

    @Test func shutdownInsideABatchStillAnswersTheWholeBatch() async throws {
        let worker = try WorkerProcess()
        try await worker.initialize()
        let rest = (2...40).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"healthCheck"}"# }
        worker.send(line: "[" + ([#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#] + rest).joined(separator: ",") + "]")
        #expect(try await worker.waitForExit(timeout: .seconds(10)) == 0)
        let batch = worker.lines.compactMap(\.value.array).first ?? []
        #expect(batch.count == 40, "\(worker.lines.map(\.value))")
        #expect(batch.first { $0["id"] == 1 }?["result"] == .null)
        #expect(batch.filter { $0["id"] != 1 }.allSatisfy { $0["error"]?["code"] == -32800 || $0["result"] != nil })
    }

    @Test func nullIDRequestsInFlightAreAnsweredAtEndOfInput() async throws {
        let worker = try WorkerProcess()
        try await worker.initialize()
        // A subscription runs until cancelled; one with a null id cannot be cancelled by id, but end of
        // input still answers it, in a batch too (where its answer completes the batch's reply).
        worker.send(line: #"{"jsonrpc":"2.0","id":null,"method":"events.subscribe"}"#)
        worker.send(
            line: #"[{"jsonrpc":"2.0","id":"b1","method":"events.subscribe"},{"jsonrpc":"2.0","id":null,"method":"events.subscribe"}]"#)
        try await Task.sleep(for: .milliseconds(300))
        let (status, _) = try await worker.closeInput()
        #expect(status == 0)
        let single = worker.lines.filter { $0.id == .null && $0.value["error"]?["code"] == -32800 }
        #expect(single.count == 1, "\(worker.lines.map(\.value))")
        let batch = worker.lines.compactMap(\.value.array).first
        #expect(batch?.count == 2 && batch?.allSatisfy { $0["error"]?["code"] == -32800 } == true, "\(worker.lines.map(\.value))")
    }

    @Test func stdoutPipeIsEnlargedForStreams() async throws {
        let worker = try WorkerProcess()
        try await worker.initialize()
        // 1 MiB instead of the kernel's 64 KiB: fewer, larger writes and reads for streamed output.
        #expect(worker.stdoutPipeCapacity == 1 << 20)
        await worker.stop()
    }

    @Test func sigtermExitsCleanly() async throws {
        let worker = try WorkerProcess()
        try await worker.initialize()
        let request = worker.start("events.subscribe")
        try await Task.sleep(for: .milliseconds(200))
        let start = ContinuousClock.now
        kill(worker.process.processIdentifier, SIGTERM)
        #expect(try await worker.waitForExit() == 0)
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(try await worker.response(.integer(request)).errorCode == -32800)
    }

    @Test func closedStdoutEndsTheWorkerWithoutACrash() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: workerBinary)
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        try output.fileHandleForReading.close()  // the host stops listening
        let line = Data(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1.0"}}"#.utf8 + [0x0A])
        input.fileHandleForWriting.write(line)
        let deadline = ContinuousClock.now + .seconds(5)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }
}

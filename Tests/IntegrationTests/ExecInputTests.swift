import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Issue 13: `exec` with `stdin: true` takes `exec.input` notifications (through the engine's
/// hijacked connection), and `tty: {rows, cols}` runs the command on a terminal that `exec.resize`
/// resizes. Driven over the worker's pipes against the real engine (Docker, the TLS engine, Podman).
@Suite("exec stdin and terminals")
struct ExecInputTests {
    @Test func catEchoesItsInputAndEndsAtEOF() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let request = worker.start("exec", ["externalId": .string(id), "command": ["cat"], "options": ["stdin": true]])
            worker.notify("exec.input", ["requestId": .integer(request), "data": "hello "])
            worker.notify("exec.input", ["requestId": .integer(request), "data": "wörld\n", "encoding": "utf8", "eof": true])
            let result = try await worker.response(.integer(request), timeout: .seconds(20)).value()
            #expect(result["exitCode"] == 0)
            #expect(result["stdout"] == "hello wörld\n")
        }
    }

    @Test func aShellScriptOnStdinGivesItsExitCode() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let request = worker.start(
                "exec", ["externalId": .string(id), "command": ["sh"], "options": ["stdin": true, "stream": true]])
            worker.notify("exec.input", ["requestId": .integer(request), "data": "echo from-stdin\n"])
            try await eventually { worker.notifications(for: request).contains { $0["data"] == "from-stdin\n" } }
            // The process is running and reading: input written now goes straight up the open stream.
            worker.notify("exec.input", ["requestId": .integer(request), "data": "echo err >&2; exit 3\n"])
            let result = try await worker.response(.integer(request), timeout: .seconds(20)).value()
            #expect(result["exitCode"] == 3)
            #expect(worker.notifications(for: request).contains { $0["stream"] == "stderr" && $0["data"] == "err\n" })
        }
    }

    @Test func everyByteValueArrivesIntact() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let bytes = Data((0..<4).flatMap { _ in (0...255).map { UInt8($0) } })
            let request = worker.start(
                "exec", ["externalId": .string(id), "command": ["cat"], "options": ["stdin": true, "encoding": "base64"]])
            // In pieces that split the data at odd places, the last one closing stdin.
            var offset = 0
            for size in [1, 255, 300, 7, 461] {
                let piece = bytes.subdata(in: offset..<(offset + size))
                offset += size
                worker.notify(
                    "exec.input",
                    [
                        "requestId": .integer(request), "data": .string(piece.base64EncodedString()), "encoding": "base64",
                        "eof": .bool(offset == bytes.count),
                    ])
            }
            #expect(offset == bytes.count)
            let result = try await worker.response(.integer(request), timeout: .seconds(20)).value()
            #expect(result["exitCode"] == 0)
            #expect(Data(base64Encoded: result["stdout"]?.string ?? "") == bytes)
        }
    }

    @Test func aTerminalThatResizes() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let request = worker.start(
                "exec",
                [
                    "externalId": .string(id), "command": ["sh"],
                    "options": ["stdin": true, "stream": true, "tty": ["rows": 20, "cols": 70]],
                ])
            func output() -> String {
                worker.notifications(for: request).compactMap { $0["stream"] == "stdout" ? $0["data"]?.string : nil }.joined()
            }
            worker.notify("exec.input", ["requestId": .integer(request), "data": "tty; echo size=$(stty size)\n"])
            try await eventually { output().contains("size=20 70") }
            #expect(output().contains("/dev/pts/"))
            worker.notify("exec.resize", ["requestId": .integer(request), "rows": 33, "cols": 99])
            try await Task.sleep(for: .milliseconds(300))
            worker.notify("exec.input", ["requestId": .integer(request), "data": "echo size=$(stty size); exit 4\n"])
            let result = try await worker.response(.integer(request), timeout: .seconds(20)).value()
            #expect(result["exitCode"] == 4)
            if Docker.isPodman {
                // Podman 4.3 answers POST /exec/{id}/resize 201, yet the exec's terminal keeps its size.
                print("aTerminalThatResizes: Podman does not apply an exec resize; only the initial size is checked")
            } else {
                #expect(output().contains("size=33 99"))
            }
            // On a terminal, everything arrives as stdout.
            #expect(!worker.notifications(for: request).contains { $0["stream"] == "stderr" })
        }
    }

    @Test func aTerminalWithoutStdin() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let result = try await worker.result(
                "exec",
                [
                    "externalId": .string(id), "command": ["sh", "-c", "stty size; echo err >&2"],
                    "options": ["tty": ["rows": 12, "cols": 34]],
                ])
            #expect(result["exitCode"] == 0)
            #expect(result["stdout"]?.string?.contains("12 34") == true)
            #expect(result["stdout"]?.string?.contains("err") == true)
        }
    }

    @Test func stdinExecsAreKilledToo() async throws {
        try await withWorker { worker, scope in
            let id = try await SeedExecTests.node(worker, scope)
            let result = try await worker.result(
                "exec",
                [
                    "externalId": .string(id), "command": ["sh", "-c", "sleep 381 & cat"],
                    "options": ["stdin": true, "timeoutMs": 1500],
                ])
            #expect(result["timedOut"] == true)
            try await eventually(timeout: .seconds(4)) { ExecOwnershipTests.survivors(id, base: 381).isEmpty }
        }
    }

    @Test func badTerminalSizesAreRefused() async throws {
        try await withWorker { worker, _ in
            let response = try await worker.call(
                "exec", ["externalId": "x", "command": ["sh"], "options": ["tty": ["rows": 0, "cols": 80]]])
            #expect(response.errorCode == -32602)
            #expect(response.error?["data"]?["field"] == "options.tty.rows")
        }
    }
}

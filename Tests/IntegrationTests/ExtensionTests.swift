import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Issue 3's extension methods, against the real engine.
@Suite("extensions")
struct ExtensionTests {
    static func node(_ worker: WorkerProcess, _ scope: TestScope, image: String = Docker.image, extra: [String: JSONValue] = [:])
        async throws -> String
    {
        var spec = JSONObject()
        spec["runtime"] = ["image": .string(image)]
        spec["labels"] = scope.labels
        for (key, value) in extra { spec[key] = value }
        let node = try await worker.result("provision", ["spec": .object(spec)])
        return try #require(node["externalId"]?.string)
    }

    @Test func binaryRoundTripEveryByteAndFiveMegabytes() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let allBytes = Data((0..<256).map { UInt8($0) } + (0..<256).map { UInt8(255 - $0) })
            var random = Data(count: 5 << 20)
            random.withUnsafeMutableBytes { buffer in
                var generator = SystemRandomNumberGenerator()
                for index in 0..<buffer.count { buffer[index] = UInt8.random(in: 0...255, using: &generator) }
            }
            for (path, data) in [("/tmp/all.bin", allBytes), ("/root/deep/er/random.bin", random)] {
                let written = try await worker.result(
                    "files.write",
                    [
                        "externalId": .string(id), "path": .string(path), "content": .string(data.base64EncodedString()),
                        "encoding": "base64", "mode": 0o600,
                    ])
                #expect(written["size"]?.int == Int64(data.count))
                #expect(written["sha256"]?.string == sha256Hex(data))
                let read = try await worker.result("files.read", ["externalId": .string(id), "path": .string(path), "encoding": "base64"])
                #expect(read["encoding"] == "base64")
                #expect(Data(base64Encoded: read["content"]?.string ?? "") == data)
                #expect(read["size"]?.int == Int64(data.count))
                #expect(read["mode"] == 0o600)
                #expect(read["sha256"]?.string == sha256Hex(data))
                // the engine's own view: the bytes in the container hash the same
                let sum = try await worker.result("exec", ["externalId": .string(id), "command": ["sha256sum", .string(path)]])
                #expect(sum["stdout"]?.string?.hasPrefix(sha256Hex(data)) == true)
                let mode = try await worker.result("exec", ["externalId": .string(id), "command": ["stat", "-c", "%a", .string(path)]])
                #expect(mode["stdout"] == "600\n")
            }
            // utf8 asked for, but the bytes are not UTF-8: base64 comes back
            let mixed = try await worker.result("files.read", ["externalId": .string(id), "path": "/tmp/all.bin"])
            #expect(mixed["encoding"] == "base64")
        }
    }

    @Test func textOffsetAndLength() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/tmp/t.txt", "content": "héllo wörld\n"])
            let whole = try await worker.result("files.read", ["externalId": .string(id), "path": "/tmp/t.txt"])
            #expect(whole["content"] == "héllo wörld\n")
            #expect(whole["encoding"] == "utf8")
            #expect(whole["mode"] == 0o644)
            #expect(whole["modifiedAt"]?.string.flatMap(Timestamp.parse) != nil)
            let part = try await worker.result("files.read", ["externalId": .string(id), "path": "/tmp/t.txt", "offset": 7, "length": 6])
            #expect(part["content"] == "wörld")
            let cat = try await worker.result("exec", ["externalId": .string(id), "command": ["cat", "/tmp/t.txt"]])
            #expect(cat["stdout"] == "héllo wörld\n")
        }
    }

    @Test func partsOfAFileTooBigToReadWhole() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let size = 60 << 20
            _ = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", .string("head -c \(size) /dev/urandom > /tmp/big")]])
            let whole = try await worker.call("files.read", ["externalId": .string(id), "path": "/tmp/big"])
            #expect(whole.errorCode == -32602)
            #expect(whole.raw["error"]?["data"]?["field"] == "length", "\(whole.raw)")
            let part = try await worker.result(
                "files.read", ["externalId": .string(id), "path": "/tmp/big", "offset": 50_000_000, "length": 1000, "encoding": "base64"])
            #expect(part["size"]?.int == Int64(size))
            #expect(part["encoding"] == "base64")
            #expect(Data(base64Encoded: part["content"]?.string ?? "")?.count == 1000)
            let theirs = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "tail -c +50000001 /tmp/big | head -c 1000 | sha256sum"]])
            #expect(theirs["stdout"]?.string?.hasPrefix(part["sha256"]?.string ?? "-") == true, "\(theirs) \(part["sha256"] ?? nil)")
            let tail = try await worker.result(
                "files.read",
                ["externalId": .string(id), "path": "/tmp/big", "offset": .integer(Int64(size - 10)), "length": 100, "encoding": "base64"])
            #expect(Data(base64Encoded: tail["content"]?.string ?? "")?.count == 10)
            #expect(tail["sha256"]?.string?.count == 64)
        }
    }

    @Test func mkdirListAndRemove() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            #expect(try await worker.call("files.mkdir", ["externalId": .string(id), "path": "/srv/a/b/c"]).result == .null)
            #expect(try await worker.call("files.mkdir", ["externalId": .string(id), "path": "/srv/a/b/c"]).result == .null)
            let test = try await worker.result("exec", ["externalId": .string(id), "command": ["test", "-d", "/srv/a/b/c"]])
            #expect(test["exitCode"] == 0)
            let notRecursive = try await worker.call("files.mkdir", ["externalId": .string(id), "path": "/srv/x/y", "recursive": false])
            #expect(notRecursive.errorCode == -32004)

            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/srv/a/file.txt", "content": "12345"])
            _ = try await worker.result("exec", ["externalId": .string(id), "command": ["ln", "-s", "/srv/a/file.txt", "/srv/a/link"]])
            let listing = try await worker.result("files.list", ["externalId": .string(id), "path": "/srv/a"])
            let entries = listing["entries"]?.array ?? []
            #expect(entries.compactMap { $0["name"]?.string } == ["b", "file.txt", "link"])
            try #require(entries.count == 3)
            #expect(entries[0]["type"] == "directory")
            #expect(entries[1]["type"] == "file")
            #expect(entries[1]["size"] == 5)
            #expect(entries[1]["path"] == "/srv/a/file.txt")
            #expect(entries[2]["type"] == "symlink")
            #expect(entries[2]["linkTarget"] == "/srv/a/file.txt")
            let viaLink = try await worker.result("files.read", ["externalId": .string(id), "path": "/srv/a/link"])
            #expect(viaLink["content"] == "12345")
            // Listing a link to a file is a conflict, as listing the file is.
            #expect(try await worker.call("files.list", ["externalId": .string(id), "path": "/srv/a/link"]).errorCode == -32009)
            // A name may hold a newline, even one that looks like the listing's own syntax.
            _ = try await worker.result(
                "exec", ["externalId": .string(id), "command": ["sh", "-c", "mkdir /srv/n && cd /srv/n && touch 'two\nlines' 'x\n>evil'"]])
            let odd = try await worker.result("files.list", ["externalId": .string(id), "path": "/srv/n"])
            #expect(odd["entries"]?.array?.compactMap { $0["name"]?.string } == ["two\nlines", "x\n>evil"], "\(odd)")
            #expect(odd["entries"]?.array?.allSatisfy { $0["type"] == "file" && $0["linkTarget"] == nil } == true, "\(odd)")

            let notEmpty = try await worker.call("files.remove", ["externalId": .string(id), "path": "/srv/a"])
            #expect(notEmpty.errorCode == -32009)
            #expect(try await worker.call("files.remove", ["externalId": .string(id), "path": "/srv/a/file.txt"]).result == .null)
            #expect(
                try await worker.call("files.remove", ["externalId": .string(id), "path": "/srv/a", "recursive": true]).result == .null)
            let gone = try await worker.result("exec", ["externalId": .string(id), "command": ["test", "-e", "/srv/a"]])
            #expect(gone["exitCode"] == 1)
        }
    }

    @Test func missingAndRelativePaths() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            for method in ["files.read", "files.list", "files.remove"] {
                let missing = try await worker.call(method, ["externalId": .string(id), "path": "/no/such/thing"])
                #expect(missing.errorCode == -32004, "\(method)")
                let relative = try await worker.call(method, ["externalId": .string(id), "path": "relative/path"])
                #expect(relative.errorCode == -32602, "\(method)")
                #expect(relative.raw["error"]?["data"]?["field"] == "path")
            }
            let noParent = try await worker.call(
                "files.write", ["externalId": .string(id), "path": "/no/such/dir/f", "content": "x", "createParents": false])
            #expect(noParent.errorCode == -32004)
            let noNode = try await worker.call("files.read", ["externalId": "no-such-node-xyz", "path": "/etc/passwd"])
            #expect(noNode.errorCode == -32004)
        }
    }

    @Test func shellLessImageAndStoppedContainer() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(
                worker, scope, image: "openlattice-test/noshell:latest",
                extra: ["runtime": ["image": "openlattice-test/noshell:latest", "command": ["/busybox", "sleep", "600"]]])
            let noShell = try await worker.result("exec", ["externalId": .string(id), "command": ["sh", "-c", "true"]])
            #expect([126, 127].contains(noShell["exitCode"]?.int ?? 0))
            #expect(try await worker.call("files.mkdir", ["externalId": .string(id), "path": "/data/in/here"]).result == .null)
            _ = try await worker.result(
                "files.write", ["externalId": .string(id), "path": "/data/in/here/f.txt", "content": "no shell needed"])
            let read = try await worker.result("files.read", ["externalId": .string(id), "path": "/data/in/here/f.txt"])
            #expect(read["content"] == "no shell needed")
            // stopped: the archive endpoint still serves
            #expect(try await worker.call("stop", ["externalId": .string(id), "timeoutSeconds": 0]).result == .null)
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/data/after-stop.txt", "content": "still"])
            let after = try await worker.result("files.read", ["externalId": .string(id), "path": "/data/after-stop.txt"])
            #expect(after["content"] == "still")
        }
    }

    @Test func resourceUsageIsInRangeAndMemoryGrows() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(
                worker, scope,
                extra: [
                    "runtime": [
                        "image": .string(Docker.image),
                        "command": [
                            "sh", "-c",
                            "until [ -e /tmp/go ]; do sleep 0.1; done; x=$(head -c 60000000 /dev/zero | tr '\\000' a); sleep 600 & wait",
                        ],
                    ]
                ])
            let first = try await worker.result("metrics.getResourceUsage", ["externalId": .string(id)])
            for key in [
                "cpuPercent", "memoryUsedMiB", "memoryLimitMiB", "networkRxBytes", "networkTxBytes", "blockReadBytes", "blockWriteBytes",
                "pids",
            ] {
                #expect((first[key]?.double ?? -1) >= 0, "\(key)")
            }
            #expect((first["cpuPercent"]?.double ?? 1000) <= 200)
            #expect((first["pids"]?.int ?? 0) >= 1)
            #expect(first["timestamp"]?.string.flatMap(Timestamp.parse) != nil)
            let before = first["memoryUsedMiB"]?.double ?? 0
            // The shell allocates 60 MB only once told to, so the baseline is taken before it; it then
            // waits rather than exec-ing its last command, which would free the 60 MB again.
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/tmp/go", "content": ""])
            try await eventually(timeout: .seconds(20)) {
                let now = try await worker.call("metrics.getResourceUsage", ["externalId": .string(id)])
                return (now.result?["memoryUsedMiB"]?.double ?? 0) > before + 40
            }
        }
    }

    @Test func streamMetricsMaxSamplesCancelAndStop() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(worker, scope)
            let started = ContinuousClock.now
            let request = worker.start("metrics.streamMetrics", ["externalId": .string(id), "intervalMs": 1000, "maxSamples": 3])
            let done = try await worker.response(.integer(request))
            #expect(done.result == ["reason": "maxSamples", "samples": 3])
            let samples = worker.notifications(for: request)
            #expect(samples.count == 3)
            #expect(samples.allSatisfy { $0["sample"]?["memoryUsedMiB"]?.double != nil && $0["externalId"]?.string == id })
            #expect(ContinuousClock.now - started >= .seconds(1.5))

            let cancelled = worker.start("metrics.streamMetrics", ["externalId": .string(id), "intervalMs": 1000])
            try await eventually { !worker.notifications(for: cancelled).isEmpty }
            worker.notify("$/cancelRequest", ["id": .integer(cancelled)])
            #expect(try await worker.response(.integer(cancelled)).errorCode == -32800)

            let stopped = worker.start("metrics.streamMetrics", ["externalId": .string(id)])
            try await eventually { !worker.notifications(for: stopped).isEmpty }
            _ = Docker.run(["stop", "-t", "0", id])
            let end = try await worker.response(.integer(stopped), timeout: .seconds(15))
            #expect(end.result?["reason"] == "stopped")
        }
    }

    @Test func logsTailSinceAndFollow() async throws {
        try await withWorker { worker, scope in
            let id = try await Self.node(
                worker, scope,
                extra: [
                    "runtime": [
                        "image": .string(Docker.image),
                        "command": [
                            "sh", "-c",
                            "echo one; echo two; echo err >&2; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo three; sleep 600",
                        ],
                    ]
                ])
            try await eventually {
                (try await worker.result("logs", ["externalId": .string(id)]))["stdout"]?.string?.contains("two") == true
            }
            let all = try await worker.result("logs", ["externalId": .string(id), "tail": "all"])
            #expect(all["stdout"]?.string?.hasPrefix("one\ntwo\n") == true)
            #expect(all["stderr"] == "err\n")
            let tail = try await worker.result("logs", ["externalId": .string(id), "tail": 1])
            #expect(tail["stdout"]?.string?.split(separator: "\n").count ?? 0 <= 1)
            let stamped = try await worker.result("logs", ["externalId": .string(id), "timestamps": true])
            #expect(stamped["stdout"]?.string?.hasPrefix("20") == true)
            let future = Date().addingTimeInterval(3600).formatted(.iso8601)
            let since = try await worker.result("logs", ["externalId": .string(id), "since": .string(future)])
            #expect(since["stdout"] == "")
            // any date the parser takes is a valid since: before the epoch means everything
            let early = try await worker.result("logs", ["externalId": .string(id), "since": "1969-12-31T23:59:59.5Z"])
            #expect(early["stdout"]?.string?.hasPrefix("one\ntwo\n") == true)
            let last = try await worker.result("logs", ["externalId": .string(id), "since": "9999-12-31T23:59:59Z"])
            #expect(last["stdout"] == "")

            // Follow from a moment after "one" and "two": however late the engine's stream opens,
            // "three" (written once /tmp/go exists) comes, and the earlier lines do not.
            let now = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
            let follow = worker.start("logs", ["externalId": .string(id), "follow": true, "since": .string(now)])
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/tmp/go", "content": ""])
            try await eventually(timeout: .seconds(10)) {
                worker.notifications(for: follow).compactMap { $0["data"]?.string }.joined().contains("three")
            }
            let followed = worker.notifications(for: follow).compactMap { $0["data"]?.string }.joined()
            #expect(!followed.contains("two"), "lines from before since: \(followed)")
            _ = Docker.run(["stop", "-t", "0", id])
            let end = try await worker.response(.integer(follow), timeout: .seconds(15))
            #expect(end.result?["reason"] == "stopped")
        }
    }

    @Test func eventsReportStartAndDieWithExitCode() async throws {
        try await withWorker { worker, scope in
            // No pause after subscribing: events count from when the worker read the request.
            let subscription = worker.start("events.subscribe")
            let dying = try await Self.node(
                worker, scope, extra: ["runtime": ["image": .string(Docker.image), "command": ["sh", "-c", "sleep 1; exit 3"]]])
            try await eventually(timeout: .seconds(30)) {
                worker.notifications(for: subscription).contains {
                    $0["externalId"]?.string == dying && $0["action"] == "die" && $0["exitCode"] == 3
                }
            }
            let events = worker.notifications(for: subscription)
            #expect(events.contains { $0["externalId"]?.string == dying && $0["action"] == "start" })
            #expect(events.allSatisfy { $0["nodeId"]?.string != nil && $0["time"]?.string.flatMap(Timestamp.parse) != nil })
            // unmanaged containers are not reported
            let foreign = Docker.lines(["run", "-d", "--label", "openlattice.test=\(scope.id)", Docker.image, "true"]).first ?? ""
            try await Task.sleep(for: .seconds(1))
            #expect(!worker.notifications(for: subscription).contains { $0["externalId"]?.string == foreign })
            worker.notify("$/cancelRequest", ["id": .integer(subscription)])
            #expect(try await worker.response(.integer(subscription)).errorCode == -32800)
        }
    }

    @Test(
        .disabled(
            if: Docker.isPodman,
            "Podman 4.3's Docker API reports neither an oom event nor State.OOMKilled for a container its memory limit killed (seen on cgroup v1)"
        ))
    func eventsReportOOM() async throws {
        try await withWorker { worker, scope in
            let subscription = worker.start("events.subscribe")
            let hog = try await Self.node(
                worker, scope,
                extra: [
                    "memory": ["sizeGiB": 0.02],
                    "runtime": [
                        "image": .string(Docker.image),
                        "command": ["sh", "-c", "sleep 1; x=$(head -c 200000000 /dev/zero | tr '\\000' a); sleep 60"],
                    ],
                ])
            try await eventually(timeout: .seconds(30)) {
                worker.notifications(for: subscription).contains { $0["externalId"]?.string == hog && $0["action"] == "oom" }
            }
            let hogState = try await worker.result("inspect", ["externalId": .string(hog)])
            if hogState["status"] == "stopped" { #expect(hogState["oomKilled"] == true) }
            worker.notify("$/cancelRequest", ["id": .integer(subscription)])
            #expect(try await worker.response(.integer(subscription)).errorCode == -32800)
        }
    }

    @Test func urlsOfPublishedAndInternalPorts() async throws {
        let network = "olw-net-\(UUID().uuidString.prefix(8).lowercased())"
        #expect(Docker.run(["network", "create", "--label", "openlattice.test=net", network]).status == 0)
        defer { Docker.run(["network", "rm", network]) }
        try await withWorker(config: ["network": .string(network)]) { worker, scope in
            let name = scope.name("web")
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "name": .string(name), "runtime": ["image": .string(Docker.image)], "labels": scope.labels,
                        "network": ["ports": [["port": 8080, "hostPort": 0], ["port": 9090, "hostPort": 0]]],
                    ]
                ])
            let id = try #require(node["externalId"]?.string)
            let bindings = Docker.inspect(id)?["NetworkSettings"]?["Ports"]?["8080/tcp"]
            let hostPort = bindings?[0]?["HostPort"]?.string ?? "?"
            // localhost when IPv4 and IPv6 got one host port, else the first binding's loopback
            let address = EngineTruthInputTests.expectedHost(bindings, hostPort: hostPort)
            let host = try await worker.result("network.getUrl", ["externalId": .string(id), "port": 8080])
            #expect(host["url"]?.string == "http://\(address == "::1" ? "[::1]" : address):\(hostPort)")
            let tcp = try await worker.result("network.getUrl", ["externalId": .string(id), "port": 8080, "protocol": "tcp"])
            #expect(tcp["url"]?.string == "tcp://\(address == "::1" ? "[::1]" : address):\(hostPort)")
            let inner = try await worker.result("network.getUrl", ["externalId": .string(id), "port": 8080, "scope": "internal"])
            #expect(inner["url"]?.string == "http://\(name):8080")
            let unpublished = try await worker.call("network.getUrl", ["externalId": .string(id), "port": 7777])
            #expect(unpublished.errorCode == -32004)
            #expect(unpublished.errorMessage.contains("not published"))
        }
    }
}

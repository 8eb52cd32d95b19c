import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// Issue 10 ("Engine truth"): answers checked against the engine's own view.
@Suite("engine truth: input and endpoints")
struct EngineTruthInputTests {
    /// What a TCP connection to `host:port` reads, for every address `host` resolves to
    /// (nil for an address that refused or closed without a byte).
    static func answers(host: String, port: Int) -> [(address: String, reply: String?)] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0 else { return [(host, nil)] }
        defer { freeaddrinfo(list) }
        var result: [(String, String?)] = []
        var entry = list
        while let info = entry {
            entry = info.pointee.ai_next
            var name = [CChar](repeating: 0, count: 64)
            getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &name, 64, nil, 0, NI_NUMERICHOST)
            let address = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var timeout = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
                result.append((address, nil))
                continue
            }
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = read(fd, &buffer, buffer.count)
            result.append((address, count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil))
        }
        return result
    }

    /// The endpoint host the engine's bindings of one port call for (docker inspect's
    /// `NetworkSettings.Ports[key]`): `localhost` when IPv4 and IPv6 share `hostPort`, else the
    /// loopback of the family that has it.
    static func expectedHost(_ bindings: JSONValue?, hostPort: String) -> String {
        guard case .array(let list)? = bindings else { return "?" }
        let ips = list.filter { $0["HostPort"]?.string == hostPort }.map { $0["HostIp"]?.string ?? "" }
        if ips.contains("::") { return ips.contains { $0 != "::" } ? "localhost" : "::1" }
        return "127.0.0.1"
    }

    // MARK: 2. endpoints

    /// The engine gives the IPv4 and IPv6 bindings of one port different host ports when another
    /// container holds the next IPv4 port: every endpoint of every answer must still reach this node.
    @Test func everyEndpointReachesThisNode() async throws {
        try await withWorker { worker, scope in
            // Another node holding an IPv4-only ephemeral port puts the IPv4 allocator ahead of the IPv6 one.
            let holder = Docker.run([
                "run", "-d", "--label", "openlattice.test=\(scope.id)", "-p", "0.0.0.0::8080", Docker.image, "nc", "-ll", "-p", "8080",
                "-e", "echo", "HOLDER",
            ])
            #expect(holder.status == 0, "\(holder.stderr)")
            let marker = "NODE-\(scope.id)"
            let node = try await worker.result(
                "provision",
                [
                    "spec": [
                        "runtime": [
                            "image": .string(Docker.image), "command": ["nc", "-ll", "-p", "8080", "-e", "echo", .string(marker)],
                        ],
                        "labels": scope.labels, "network": ["ports": [["port": 8080, "hostPort": 0]]],
                    ]
                ])
            let id = try #require(node["externalId"]?.string)
            // The engine's view: which host ports each family got.
            let bindings = Docker.inspect(id)?["NetworkSettings"]?["Ports"]?["8080/tcp"]
            var ports: [String: String] = [:]
            if case .array(let list)? = bindings {
                for binding in list { ports[binding["HostIp"]?.string ?? ""] = binding["HostPort"]?.string }
            }
            let split = ports["0.0.0.0"] != nil && ports["::"] != nil && ports["0.0.0.0"] != ports["::"]
            let inspected = try await worker.result("inspect", ["externalId": .string(id)])
            let listed = try await worker.result("list", ["labels": scope.labels])
            var endpointSets: [(String, JSONValue?)] = [("provision", node["endpoints"]), ("inspect", inspected["endpoints"])]
            if case .array(let nodes) = listed { endpointSets += nodes.map { ("list", $0["endpoints"]) } }
            try await Task.sleep(for: .milliseconds(500))
            for (source, endpoints) in endpointSets {
                guard case .array(let list)? = endpoints, !list.isEmpty else {
                    Issue.record("\(source): no endpoints")
                    continue
                }
                for endpoint in list where endpoint["type"] == "tcp" {
                    let host = endpoint["host"]?.string ?? "?"
                    let port = Int(endpoint["port"]?.int ?? 0)
                    if split { #expect(host != "localhost", "\(source): localhost for ports \(ports)") }
                    for (address, reply) in Self.answers(host: host, port: port) {
                        #expect(reply?.hasPrefix(marker) == true, "\(source) \(host):\(port) via \(address) answered \(reply ?? "nothing")")
                    }
                }
            }
            // network.getUrl: a URL whose host reaches this node (IPv6 in brackets)
            let url = try #require(
                try await worker.result("network.getUrl", ["externalId": .string(id), "port": 8080, "protocol": "tcp"])["url"]?.string)
            let authority = url.dropFirst("tcp://".count)
            let colon = try #require(authority.lastIndex(of: ":"))
            var host = String(authority[..<colon])
            if host.hasPrefix("[") { host = String(host.dropFirst().dropLast()) }
            for (address, reply) in Self.answers(host: host, port: Int(authority[authority.index(after: colon)...]) ?? 0) {
                #expect(reply?.hasPrefix(marker) == true, "getUrl \(url) via \(address) answered \(reply ?? "nothing")")
            }
            if !Docker.isPodman { #expect(split, "the engine gave both families one port \(ports): the fault's condition did not arise") }
        }
    }

    // MARK: 7. labels

    @Test func everyLabelProvisionAcceptsListFinds() async throws {
        try await withWorker { worker, scope in
            for key in ["k=1", "", "=", "a=b=c"] {
                var labels = JSONObject()
                labels["openlattice.test"] = .string(scope.id)
                labels[key] = "v"
                let refused = try await worker.call(
                    "provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": .object(labels)]])
                #expect(refused.errorCode == -32602, "label key \(key): \(refused.raw)")
                #expect(refused.raw["error"]?["data"]?["field"] == "spec.labels")
                let listed = try await worker.call("list", ["labels": .object(labels)])
                #expect(listed.errorCode == -32602, "list label key \(key): \(listed.raw)")
                #expect(listed.raw["error"]?["data"]?["field"] == "labels")
            }
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
            // Keys the engines' label filters do match: accepted, and found by exactly themselves.
            let keys = [" sp ", "a,b", "t\tab", "ué", "k.v-1"]
            var labels = JSONObject()
            labels["openlattice.test"] = .string(scope.id)
            for key in keys { labels[key] = .string("v=\(key)") }
            let node = try await worker.result(
                "provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": .object(labels)]])
            let id = try #require(node["externalId"]?.string)
            for key in keys {
                #expect(Docker.inspect(id)?["Config"]?["Labels"]?[key]?.string == "v=\(key)")
                let found = try await worker.result("list", ["labels": ["openlattice.test": .string(scope.id), key: .string("v=\(key)")]])
                #expect(found.arrayCount == 1, "list by \(key) found \(found)")
                let other = try await worker.result("list", ["labels": ["openlattice.test": .string(scope.id), key: "other"]])
                #expect(other.arrayCount == 0)
            }
        }
        // defaultLabels at initialize
        let worker = try WorkerProcess()
        let refused = try await worker.call("initialize", ["protocolVersion": "1.0", "config": ["defaultLabels": ["team=a": "x"]]])
        #expect(refused.errorCode == -32602)
        #expect(refused.raw["error"]?["data"]?["field"] == "config.defaultLabels")
        await worker.stop()
    }

    // MARK: 8. symbolic links

    static func sh(_ worker: WorkerProcess, _ id: String, _ command: [String]) async throws -> String {
        try await worker.result("exec", ["externalId": .string(id), "command": .array(command.map { .string($0) })])["stdout"]?.string ?? ""
    }

    @Test func filesFollowLinksAsDockerCpDoes() async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(worker, scope)
            let setup =
                "mkdir -p /srv/real && echo old > /srv/real/f.txt && ln -s real/f.txt /srv/link && ln -s real/new.txt /srv/dangling"
                + " && ln -s loop2 /srv/loop1 && ln -s loop1 /srv/loop2 && ln -s real /srv/dirlink"
            _ = try await Self.sh(worker, id, ["sh", "-c", setup])
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/srv/link", "content": "through the link"])
            #expect(try await Self.sh(worker, id, ["readlink", "/srv/link"]) == "real/f.txt\n")
            #expect(try await Self.sh(worker, id, ["cat", "/srv/real/f.txt"]) == "through the link")
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/srv/dangling", "content": "created"])
            #expect(try await Self.sh(worker, id, ["readlink", "/srv/dangling"]) == "real/new.txt\n")
            #expect(try await Self.sh(worker, id, ["cat", "/srv/real/new.txt"]) == "created")
            // read, list and mkdir follow; remove removes the link itself
            #expect(
                try await worker.result("files.read", ["externalId": .string(id), "path": "/srv/link"])["content"] == "through the link")
            let listed = try await worker.result("files.list", ["externalId": .string(id), "path": "/srv/dirlink"])
            #expect(listed["entries"]?.arrayCount == 2)
            #expect(try await worker.call("files.mkdir", ["externalId": .string(id), "path": "/srv/dirlink"]).result == .null)
            #expect(try await worker.call("files.mkdir", ["externalId": .string(id), "path": "/srv/link"]).errorCode == -32009)
            #expect(try await worker.call("files.remove", ["externalId": .string(id), "path": "/srv/dirlink"]).result == .null)
            #expect(
                try await Self.sh(worker, id, ["sh", "-c", "[ -L /srv/dirlink ] || echo gone; cat /srv/real/f.txt"])
                    == "gone\nthrough the link")
            // a trailing slash names a folder; a loop says so
            let slash = try await worker.call("files.write", ["externalId": .string(id), "path": "/srv/x/", "content": "x"])
            #expect(slash.errorCode == -32602)
            #expect(slash.raw["error"]?["data"]?["field"] == "path")
            for path in ["/srv/loop1", "/srv/loop1/x"] {
                for method in ["files.write", "files.read", "files.list", "files.mkdir"] {
                    var params = JSONObject()
                    params["externalId"] = .string(id)
                    params["path"] = .string(path)
                    if method == "files.write" { params["content"] = "x" }
                    let loop = try await worker.call(method, .object(params))
                    #expect(loop.errorMessage.contains("link loop") || loop.errorCode == -32004, "\(method) \(path): \(loop.raw)")
                    #expect(!loop.errorMessage.contains("HTTP 500"), "\(method) \(path): \(loop.raw)")
                }
            }
            #expect(try await Self.sh(worker, id, ["readlink", "/srv/loop1"]) == "loop2\n")
        }
    }

    @Test func linksWithoutAShellAndOnAStoppedNode() async throws {
        try await withWorker { worker, scope in
            let image = "openlattice-test/noshell:latest"
            let id = try await ExtensionTests.node(
                worker, scope, image: image, extra: ["runtime": ["image": .string(image), "command": ["/busybox", "sleep", "600"]]])
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/srv/real/f.txt", "content": "old"])
            _ = try await Self.sh(worker, id, ["/busybox", "ln", "-s", "real/f.txt", "/srv/link"])
            _ = try await Self.sh(worker, id, ["/busybox", "ln", "-s", "real/g.txt", "/srv/dangling"])
            #expect(try await worker.call("stop", ["externalId": .string(id), "timeoutSeconds": 0]).result == .null)
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/srv/link", "content": "stopped"])
            _ = try await worker.result("files.write", ["externalId": .string(id), "path": "/srv/dangling", "content": "made"])
            #expect(try await worker.result("files.read", ["externalId": .string(id), "path": "/srv/link"])["content"] == "stopped")
            #expect(try await worker.call("start", ["externalId": .string(id)]).result == .null)
            #expect(try await Self.sh(worker, id, ["/busybox", "readlink", "/srv/link"]) == "real/f.txt\n")
            #expect(try await Self.sh(worker, id, ["/busybox", "readlink", "/srv/dangling"]) == "real/g.txt\n")
            #expect(try await Self.sh(worker, id, ["/busybox", "cat", "/srv/real/f.txt", "/srv/real/g.txt"]) == "stoppedmade")
        }
    }

    // MARK: 9. unpaired surrogates

    @Test func validJSONWithUnpairedSurrogatesIsAnsweredWithItsID() async throws {
        try await withWorker { worker, scope in
            let id = try await ExtensionTests.node(worker, scope)
            worker.send(line: #"{"jsonrpc":"2.0","id":7,"method":"exec","params":{"externalId":"\#(id)","command":["echo","\ud83d"]}}"#)
            let echoed = try await worker.response(.integer(7))
            #expect(echoed.result?["stdout"] == "\u{FFFD}\n", "\(echoed.raw)")
            // a lone low surrogate, a high one before a non-low escape, in a key, nested, in a batch
            worker.send(
                line:
                    #"{"jsonrpc":"2.0","id":8,"method":"exec","params":{"externalId":"\#(id)","command":["echo","a\ude00b\ud83d\u0041"]}}"#)
            #expect(try await worker.response(.integer(8)).result?["stdout"] == "a\u{FFFD}b\u{FFFD}A\n")
            worker.send(line: #"{"jsonrpc":"2.0","id":9,"method":"list","params":{"labels":{"k\udc00":"v\ud800"}}}"#)
            #expect(try await worker.response(.integer(9)).result == [])
            worker.send(
                line:
                    #"[{"jsonrpc":"2.0","id":10,"method":"healthCheck","params":{}},{"jsonrpc":"2.0","id":11,"method":"exec","params":{"externalId":"\#(id)","command":["echo","\ud83d\ud83d\ude00"]}}]"#
            )
            #expect(try await worker.response(.integer(10)).result?["healthy"] == true)
            #expect(try await worker.response(.integer(11)).result?["stdout"] == "\u{FFFD}😀\n")
            // invalid raw UTF-8 is still not JSON: -32700 with id null
            worker.write(Array(#"{"jsonrpc":"2.0","id":12,"method":"healthCheck","params":{"x":""#.utf8) + [0xFF] + Array("\"}}\n".utf8))
            let invalid = try await worker.response(.null)
            #expect(invalid.errorCode == -32700)
        }
    }

    // MARK: 10. restore keeps the command

    @Test func restoreRunsTheSnapshotsCommand() async throws {
        try await withWorker { worker, scope in
            let loop: JSONValue = ["sh", "-c", "while true; do echo hb; sleep 1; done"]
            let node = try await worker.result(
                "provision", ["spec": ["runtime": ["image": .string(Docker.image), "command": loop], "labels": scope.labels]])
            let id = try #require(node["externalId"]?.string)
            let snapshot = try await worker.result("snapshot", ["externalId": .string(id)])
            let image = try #require(snapshot["image"]?.string)
            scope.onCleanUp { Docker.run(["rmi", "-f", image]) }
            #expect(Docker.inspect(image, type: "image")?["Config"]?["Cmd"] == loop)
            let restored = try await worker.result(
                "restore", ["ref": ["externalId": snapshot["externalId"] ?? .null], "spec": ["labels": scope.labels]])
            let restoredID = try #require(restored["externalId"]?.string)
            #expect(Docker.inspect(restoredID)?["Config"]?["Cmd"] == loop)
            #expect(Docker.inspect(restoredID)?["Path"] == "sh")
            try await Task.sleep(for: .milliseconds(2500))
            let logs = String(decoding: Docker.run(["logs", restoredID]).stdout, as: UTF8.self)
            #expect(logs.contains("hb"), "restored node's logs: \(logs)")
            // with its own command, the restored node runs that
            let own = try await worker.result(
                "restore",
                [
                    "ref": ["externalId": snapshot["externalId"] ?? .null],
                    "spec": ["labels": scope.labels, "runtime": ["command": ["sleep", "300"]]],
                ])
            #expect(Docker.inspect(own["externalId"]?.string ?? "")?["Config"]?["Cmd"] == ["sleep", "300"])
            // provision without a command keeps the original's `sleep infinity`
            let plain = try await worker.result(
                "provision", ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]])
            #expect(Docker.inspect(plain["externalId"]?.string ?? "")?["Config"]?["Cmd"] == ["sh", "-c", "sleep infinity"])
        }
    }

    // MARK: 11. unknown members

    @Test func unknownMembersAreRefusedByPath() async throws {
        try await withWorker { worker, scope in
            let image: JSONValue = .string(Docker.image)
            let cases: [(String, JSONValue, String)] = [
                ("provision", ["spec": ["runtime": ["image": image], "labels": scope.labels], "memoryGiB": 1], "memoryGiB"),
                ("provision", ["spec": ["runtime": ["image": image], "labels": scope.labels, "memoryGiB": 1]], "spec.memoryGiB"),
                ("provision", ["spec": ["runtime": ["image": image, "cmd": ["x"]], "labels": scope.labels]], "spec.runtime.cmd"),
                (
                    "provision", ["spec": ["runtime": ["image": image], "labels": scope.labels, "memory": ["sizeGiB": 1, "sizeGb": 1]]],
                    "spec.memory.sizeGb"
                ),
                (
                    "provision",
                    ["spec": ["runtime": ["image": image], "labels": scope.labels, "network": ["ports": [["port": 80, "hostport": 0]]]]],
                    "spec.network.ports[0].hostport"
                ),
                (
                    "provision",
                    ["spec": ["runtime": ["image": image], "labels": scope.labels, "volumes": [["target": "/d", "readonly": true]]]],
                    "spec.volumes[0].readonly"
                ),
                ("exec", ["externalId": "x", "command": ["true"], "options": ["timeOutMs": 5]], "options.timeOutMs"),
                ("inspect", ["externalId": "x", "verbose": true], "verbose"),
                ("healthCheck", ["deep": true], "deep"),
                ("restore", ["ref": ["externalId": "sha256:x"], "spec": ["nmae": "x"]], "spec.nmae"),
                ("network.getUrl", ["externalId": "x", "port": 80, "schema": "https"], "schema"),
                ("logs", ["externalId": "x", "tial": 3], "tial"),
                ("files.write", ["externalId": "x", "path": "/f", "content": "", "createParent": true], "createParent"),
                ("list", ["label": ["a": "b"]], "label"),
                ("shutdown", ["force": true], "force"),
            ]
            for (method, params, field) in cases {
                let answer = try await worker.call(method, params)
                #expect(answer.errorCode == -32602, "\(method) \(field): \(answer.raw)")
                #expect(answer.raw["error"]?["data"]?["field"]?.string == field, "\(method): \(answer.raw)")
            }
            #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
            #expect(try await worker.result("healthCheck")["healthy"] == true, "the refused shutdown left the worker serving")
            // free-form maps keep every key
            let node = try await worker.result(
                "provision", ["spec": ["runtime": ["image": image, "env": ["ANY_NAME": "1"]], "labels": scope.labels]])
            #expect(node["labels"]?["openlattice.test"]?.string == scope.id)
        }
        let worker = try WorkerProcess()
        let refused = try await worker.call("initialize", ["protocolVersion": "1.0", "config": ["defaultLabel": ["a": "b"]]])
        #expect(refused.errorCode == -32602)
        #expect(refused.raw["error"]?["data"]?["field"] == "config.defaultLabel")
        await worker.stop()
    }
}

extension JSONValue {
    fileprivate var arrayCount: Int? { if case .array(let a) = self { a.count } else { nil } }
}

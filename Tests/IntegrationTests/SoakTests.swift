import Foundation
import JSONCoding
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// Issue 5, item 9: 200 mixed requests in flight at once, kept at 200 for a minute
/// (`OLW_SOAK_SECONDS`, default 60): every request gets exactly one response, and the worker's
/// memory does not grow after the first round.
@Suite("concurrency soak", .serialized)
struct SoakTests {
    /// The operations of the mix, with their weights.
    enum Operation: String, CaseIterable {
        case exec, inspect, filesWrite = "files.write", filesRead = "files.read", metrics = "metrics.getResourceUsage", list
        case provision, destroy

        static let mix: [(Operation, Int)] = [(.exec, 30), (.inspect, 20), (.filesWrite, 15), (.filesRead, 15), (.metrics, 15), (.list, 5)]
    }

    struct Sent {
        var operation: Operation
        var node: String?
    }

    @Test(.timeLimit(.minutes(8)))
    func twoHundredMixedRequestsInFlightForAMinute() async throws {
        let duration = Double(ProcessInfo.processInfo.environment["OLW_SOAK_SECONDS"] ?? "") ?? 60
        let window = 200
        let poolSize = 10
        let (completions, sink) = AsyncStream<(String, JSONValue)>.makeStream()
        let worker = try RawWorker(onResponse: { key, response in sink.yield((key, response)) })
        worker.keepMessages(false)
        let scope = TestScope()
        defer { scope.cleanUp() }
        try await worker.initialize()

        let start = ContinuousClock.now
        func elapsed() -> Double { SlowHostTests.seconds(ContinuousClock.now - start) }
        var rng = SplitMix64(state: 0x50A6)
        var counter = 0
        var sent: [String: Sent] = [:]  // every request sent, by id key
        var inFlight: [String: Sent] = [:]
        var perNode: [String: Int] = [:]
        var nodes: [String] = []  // nodes that take new requests
        var retiring: Set<String> = []  // to be destroyed once their requests are answered
        var allNodes: Set<String> = []
        var provisionsInFlight = 0
        var received: [String: Int] = [:]
        var errors: [String: Int] = [:]
        var wrong: [String] = []
        var completedOps = 0
        var firstRound: MemoryFigures?
        var samples: [(Double, Int)] = []
        var countsByMethod: [Operation: Int] = [:]

        func send(_ operation: Operation, node: String?) async {
            counter += 1
            let id = "soak-\(counter)"
            let params: JSONValue
            switch operation {
            case .provision:
                params = ["spec": ["runtime": ["image": .string(Docker.image)], "labels": scope.labels]]
                provisionsInFlight += 1
            case .exec: params = ["externalId": .string(node!), "command": ["echo", .string(id)]]
            case .inspect, .metrics, .destroy: params = ["externalId": .string(node!)]
            case .filesWrite:
                // One path per write: concurrent writes of different lengths to one path would fail each
                // other's size check (the worker reads the size back), which is not what this test is about.
                params = ["externalId": .string(node!), "path": .string("/tmp/\(id)"), "content": .string(id)]
            case .filesRead: params = ["externalId": .string(node!), "path": "/etc/passwd"]
            case .list: params = ["labels": scope.labels]
            }
            let entry = Sent(operation: operation, node: node)
            sent["s:" + id] = entry
            inFlight["s:" + id] = entry
            if let node { perNode[node, default: 0] += 1 }
            countsByMethod[operation, default: 0] += 1
            await worker.request(operation.rawValue, params, id: .string(id))
        }

        func pickOperation() -> Operation {
            var roll = Int(rng.next() % 100)
            for (operation, weight) in Operation.mix {
                if roll < weight { return operation }
                roll -= weight
            }
            return .inspect
        }

        /// Checks one answer; returns the node a provision made.
        func check(_ key: String, _ response: JSONValue, _ entry: Sent) -> String? {
            if let code = response["error"]?["code"]?.int {
                let kind = "\(entry.operation.rawValue) \(code)"
                if errors[kind] == nil || ProcessInfo.processInfo.environment["OLW_SOAK_VERBOSE"] != nil {
                    print(
                        "[soak] \(String(format: "%.1f", elapsed())) s, node \(entry.node?.prefix(12) ?? "-"): \(FuzzGenerator.text(response).prefix(300))"
                    )
                }
                errors[kind, default: 0] += 1
                return nil
            }
            let result = response["result"] ?? .null
            let id = String(key.dropFirst(2))
            switch entry.operation {
            case .exec:
                if result["stdout"]?.string != id + "\n" || result["exitCode"] != 0 {
                    wrong.append("\(key): \(FuzzGenerator.text(result).prefix(200))")
                }
            case .inspect:
                if result["status"] != "running" { wrong.append("\(key): \(FuzzGenerator.text(result).prefix(200))") }
            case .filesRead:
                if result["content"]?.string?.hasPrefix("root:x:0:0:") != true {
                    wrong.append("\(key): \(FuzzGenerator.text(result).prefix(200))")
                }
            case .filesWrite:
                if result["size"]?.int != Int64(id.utf8.count) { wrong.append("\(key): \(FuzzGenerator.text(result).prefix(200))") }
            case .metrics:
                if result["memoryUsedMiB"]?.double == nil { wrong.append("\(key): \(FuzzGenerator.text(result).prefix(200))") }
            case .list:
                if result.array == nil { wrong.append("\(key): \(FuzzGenerator.text(result).prefix(200))") }
            case .provision:
                return result["externalId"]?.string
            case .destroy:
                if result != .null { wrong.append("\(key): \(FuzzGenerator.text(result).prefix(200))") }
            }
            return nil
        }

        for _ in 0..<poolSize { await send(.provision, node: nil) }
        var lastChurn = 0.0
        var lastSample = 0.0
        var iterator = completions.makeAsyncIterator()
        // A tick every second, so a silent worker is noticed.
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                sink.yield(("tick", .null))
            }
        }
        defer { ticker.cancel() }
        var lastAnswer = ContinuousClock.now
        var draining = false
        while true {
            // Refill the window.
            if !draining {
                while inFlight.count < window && !nodes.isEmpty {
                    let node = nodes[Int(rng.next() % UInt64(nodes.count))]
                    await send(pickOperation(), node: node)
                }
                // Churn: every 3 s one node is retired (destroyed once idle) and a new one provisioned.
                if elapsed() - lastChurn > 3, nodes.count >= poolSize, provisionsInFlight == 0, retiring.isEmpty {
                    lastChurn = elapsed()
                    let old = nodes.remove(at: Int(rng.next() % UInt64(nodes.count)))
                    retiring.insert(old)
                    await send(.provision, node: nil)
                }
            }
            for node in retiring where perNode[node, default: 0] == 0 {
                retiring.remove(node)
                await send(.destroy, node: node)
            }
            if draining && inFlight.isEmpty { break }
            guard let (key, response) = await iterator.next() else { break }
            if !key.hasPrefix("s:soak-") && key != "tick" { continue }  // initialize's own answer
            if key == "tick" {
                if ContinuousClock.now - lastAnswer > .seconds(120) {
                    Issue.record("no response for 120 s with \(inFlight.count) in flight: \(inFlight.keys.prefix(10))")
                    break
                }
                continue
            }
            lastAnswer = ContinuousClock.now
            received[key, default: 0] += 1
            guard let entry = inFlight.removeValue(forKey: key) else {
                if sent[key] == nil {
                    Issue.record("a response to an id never sent: \(key)")
                } else {
                    Issue.record("a second response to \(key)")
                }
                continue
            }
            if let node = entry.node { perNode[node, default: 1] -= 1 }
            if let made = check(key, response, entry) {
                provisionsInFlight -= 1
                nodes.append(made)
                allNodes.insert(made)
            } else if entry.operation == .provision {
                provisionsInFlight -= 1
            }
            if entry.operation != .provision && entry.operation != .destroy {
                completedOps += 1
                if completedOps == window {
                    firstRound = worker.memory
                    print(
                        "[soak] first round (\(window) answers) after \(String(format: "%.1f", elapsed())) s: \(firstRound?.description ?? "?")"
                    )
                }
            }
            if elapsed() - lastSample >= 5, let memory = worker.memory {
                lastSample = elapsed()
                samples.append((elapsed(), memory.rss))
            }
            if !draining && elapsed() >= duration {
                draining = true
                print("[soak] \(String(format: "%.0f", duration)) s done; draining \(inFlight.count) in flight")
            }
        }
        let end = worker.memory
        let total = sent.count
        print(
            "[soak] \(total) requests in \(String(format: "%.1f", elapsed())) s (\(String(format: "%.0f", Double(total) / elapsed())) /s), mix \(countsByMethod.map { "\($0.key.rawValue): \($0.value)" }.sorted())"
        )
        print("[soak] VmRSS every 5 s (MB): \(samples.map { "\(Int($0.0))s=\($0.1 / 1_000_000)" })")
        print("[soak] first round \(firstRound?.description ?? "?"); end \(end?.description ?? "?"); errors \(errors)")

        // Exactly one response per request: none lost, none duplicated, none unasked.
        let lost = sent.keys.filter { received[$0] == nil }
        let duplicated = received.filter { $0.value > 1 }
        #expect(lost.isEmpty, "\(lost.count) requests never answered: \(lost.prefix(10))")
        #expect(duplicated.isEmpty, "duplicated responses: \(duplicated.prefix(10))")
        #expect(Set(received.keys).isSubset(of: Set(sent.keys)))
        #expect(worker.responses.values.allSatisfy { $0.count == 1 })
        // Every call succeeds, except that under this load the engine itself can send a node's stats many
        // seconds late (its stats collector waits on the container lock that archive and exec calls
        // hold; `curl …/stats?stream=true` beside the test saw gaps of 8–40 s), which the worker
        // answers -32008 after waiting 15 s for the first sample: a correct answer, counted and shown.
        let unexpected = errors.filter { $0.key != "metrics.getResourceUsage -32008" }
        #expect(unexpected.isEmpty, "errors by method and code: \(errors)")
        #expect(wrong.isEmpty, "wrong answers: \(wrong.prefix(5))")
        #expect(worker.violations.isEmpty, "\(worker.violations.prefix(3))")
        #expect(total > window * 2)
        if let firstRound, let end {
            let growth = end.rss - firstRound.rss
            print("[soak] VmRSS growth after the first round: \(growth / 1_000_000) MB")
            #expect(growth < 20_000_000, "VmRSS grew \(growth) bytes after the first round")
        } else {
            Issue.record("no memory figures")
        }

        // Clean up every node: the engine confirms none is left.
        for node in nodes + Array(retiring) { await send(.destroy, node: node) }
        let cleanupDeadline = ContinuousClock.now + .seconds(60)
        while !inFlight.isEmpty, ContinuousClock.now < cleanupDeadline, let (key, _) = await iterator.next() {
            inFlight[key] = nil
        }
        #expect(Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(scope.id)"]).isEmpty)
        print("[soak] \(allNodes.count) nodes provisioned and destroyed")
        worker.closeInput()
        #expect(try await worker.waitForExit() == 0)
    }
}

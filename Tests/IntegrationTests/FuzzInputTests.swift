import Foundation
import JSONCoding
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// Issue 5, item 1: whatever arrives on stdin, the worker answers what JSON-RPC 2.0 says to answer,
/// writes nothing but protocol messages, and keeps serving.
///
/// One worker is fed more than 10,000 generated lines (seeded: `OLW_FUZZ_SEED` replays a run).
/// Every line carries its own expectation, computed from JSON-RPC 2.0 itself (which lines are
/// requests, notifications or invalid) and from `protocol/openrpc.json` (which fields each method has
/// and what type they take), so the checks are exact: every request-shaped line gets exactly one
/// response with its id; every line that is not JSON gets -32700 with id null, in input order; every
/// field given a wrong type gets -32602 naming the field.
@Suite("fuzz input")
struct FuzzInputTests {
    /// Containers a fuzz case could create by accident carry this label (via `defaultLabels`).
    static let fuzzLabel = "fuzz-\(UUID().uuidString.prefix(8).lowercased())"

    @Test(.timeLimit(.minutes(8)))
    func tenThousandGeneratedLinesToOneWorker() async throws {
        let seed = ProcessInfo.processInfo.environment["OLW_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_0115
        print("[fuzz] seed \(seed) (set OLW_FUZZ_SEED to replay)")
        #expect(!Docker.exists(FuzzGenerator.absentNode), "the fuzz node name must not exist")
        defer {
            let leftovers = Docker.lines(["ps", "-aq", "--filter", "label=openlattice.test=\(Self.fuzzLabel)"])
            if !leftovers.isEmpty { _ = Docker.run(["rm", "-f", "-v"] + leftovers) }
            print("[fuzz] containers created by accident and removed: \(leftovers.count)")
        }

        let worker = try RawWorker()
        let initialized = try await worker.initialize(["defaultLabels": ["openlattice.test": .string(Self.fuzzLabel)]])
        let methods = (initialized["methods"]?.array ?? []).compactMap(\.string)
        #expect(initialized["limits"]?["maxLineBytes"]?.int == 64 << 20)
        #expect(methods.count > 10)

        var generator = FuzzGenerator(seed: seed, methods: methods, openRPC: try FuzzGenerator.loadOpenRPC())
        // A subscription that stays open the whole run: it must end with -32800 when cancelled.
        let subscription = "fuzz-subscription"
        await worker.request("events.subscribe", [:], id: .string(subscription))

        // OLW_FUZZ_EXCLUDE=a,b drops the lines whose label contains a or b (to look past a known crash).
        let excluded = (ProcessInfo.processInfo.environment["OLW_FUZZ_EXCLUDE"] ?? "").split(separator: ",").map(String.init)
        func keep(_ line: FuzzLine) -> Bool { !excluded.contains { line.label.contains($0) } }
        var lines = generator.schemaCases().filter(keep)
        print("[fuzz] \(lines.count) wrong-type cases from \(methods.count) methods")
        while lines.count < 10_400 {
            let line = generator.randomLine()
            if keep(line) { lines.append(line) }
        }

        // Feed in blocks, waiting for each block's tracked answers, with the 100 MB line in the middle.
        let blockSize = 400
        let hugeAt = (lines.count / blockSize / 2) * blockSize
        var sent: [FuzzLine] = []
        var peakDuringHuge = 0
        let start = ContinuousClock.now
        for blockStart in stride(from: 0, to: lines.count, by: blockSize) {
            if blockStart == hugeAt {
                sent.append(FuzzLine.huge)
                let before = worker.memory?.rss ?? 0
                peakDuringHuge = await Self.writeHugeLine(to: worker, megabytes: 100)
                let after = worker.memory?.rss ?? 0
                print(
                    "[fuzz] 100 MB line: VmRSS \(before / 1_000_000) MB before, peak \(peakDuringHuge / 1_000_000) MB while discarding, \(after / 1_000_000) MB after"
                )
                // The worker may hold up to --max-line-bytes (64 MiB) of a line before it knows the line is
                // too long, never the whole 100 MB, and gives that memory back.
                #expect(peakDuringHuge - before < (64 << 20) + 20_000_000, "the 100 MB line was buffered beyond the limit")
                #expect(after - before < 16_000_000, "memory held after discarding the line")
            }
            let block = Array(lines[blockStart..<min(blockStart + blockSize, lines.count)])
            var bytes: [UInt8] = []
            for line in block { bytes += line.bytes + [0x0A] }
            guard await worker.write(bytes) else {
                Issue.record("the worker stopped reading stdin in block \(blockStart): \(Self.crashSummary(worker.stderrText))")
                return
            }
            sent += block
            // A fence: answered synchronously, so every synchronous answer before it is in.
            guard let fence = try? await worker.call("fuzz.fence", id: "fence-\(blockStart)", timeout: .seconds(60)) else {
                let where_ = worker.process.isRunning ? "stopped answering" : "died"
                Issue.record("the worker \(where_) in the block starting at line \(blockStart): \(Self.crashSummary(worker.stderrText))")
                return
            }
            #expect(fence["error"]?["code"] == -32601)
            for line in block {
                for key in line.awaitedKeys {
                    do {
                        _ = try await worker.response(key, timeout: .seconds(60))
                    } catch {
                        guard worker.process.isRunning else {
                            Issue.record(
                                "the worker died in the block starting at line \(blockStart): \(Self.crashSummary(worker.stderrText))")
                            return
                        }
                        Issue.record("no answer to \(key) (\(line.label)): \(line.preview)")
                    }
                }
            }
            guard worker.process.isRunning else {
                Issue.record("the worker died in the block starting at line \(blockStart): \(Self.crashSummary(worker.stderrText))")
                return
            }
        }
        let elapsed = ContinuousClock.now - start
        print("[fuzz] \(sent.count) lines (\(sent.reduce(0) { $0 + $1.bytes.count }) bytes + the 100 MB line) answered in \(elapsed)")
        #expect(sent.count >= 10_000)

        // Still serving: a correct healthCheck, and the open subscription ends with -32800 on cancel.
        let health = try await worker.call("healthCheck", id: "final-health")
        #expect(health["result"]?["healthy"] == true, "\(health)")
        #expect(health["result"]?["engine"]?["version"]?.string?.isEmpty == false)
        await worker.send(["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": .string(subscription)]])
        let cancelled = try await worker.response("s:" + subscription, timeout: .seconds(10))
        #expect(cancelled["error"]?["code"] == -32800)

        // Late asynchronous answers (null ids, out-of-range numbers) settle.
        let expectedAsyncNull = sent.filter { if case .asyncNull = $0.expectation { true } else { false } }.count
        let deadline = ContinuousClock.now + .seconds(20)
        while Self.asyncNullCount(worker.messages) < expectedAsyncNull && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(500))

        let memory = worker.memory
        print("[fuzz] worker memory at the end: \(memory?.description ?? "?")")

        let report = FuzzChecker.check(sent: sent, worker: worker)
        if let path = ProcessInfo.processInfo.environment["OLW_FUZZ_REPORT"] {
            try? report.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        }
        for problem in report.prefix(40) { Issue.record(Comment(rawValue: problem)) }
        if report.count > 40 { Issue.record("… and \(report.count - 40) more problems") }
        print("[fuzz] \(report.count) problems; \(worker.messages.count) messages read, \(worker.stdoutBytes) stdout bytes")

        worker.closeInput()
        #expect(try await worker.waitForExit(timeout: .seconds(5)) == 0)
        #expect(worker.violations.isEmpty, "non-protocol output: \(worker.violations.prefix(5))")
    }

    /// A request id too large for any number type must not be answered under another id: the host
    /// could never match it (and a provision sent that way would leave a container nobody knows).
    @Test func outOfRangeRequestIDsAreNotAnsweredUnderAnotherID() async throws {
        let worker = try RawWorker()
        try await worker.initialize()
        for line in [#"{"jsonrpc":"2.0","id":1e400,"method":"healthCheck"}"#, #"{"jsonrpc":"2.0","id":-1e400,"method":"detectGpu"}"#] {
            await worker.write(Array(line.utf8) + [0x0A])
            _ = try await worker.call("fuzz.fence")
            try await Task.sleep(for: .milliseconds(300))  // let an asynchronous answer arrive
        }
        // Acceptable: -32700 (number out of range) or -32600 (id unreadable), with id null, and the
        // method not run. Not acceptable: a result under id null.
        let answers = worker.messages.map(\.value).filter { $0["id"] == .null }
        #expect(answers.count == 2, "\(answers.map { FuzzGenerator.text($0).prefix(200) })")
        for answer in answers {
            let code = answer["error"]?["code"]?.int
            #expect(
                code == -32700 || code == -32600, "request with an out-of-range id was answered \(FuzzGenerator.text(answer).prefix(300))")
        }
        worker.closeInput()
        _ = try await worker.waitForExit()
    }

    /// With a small limit the worker keeps no more than the limit of an over-long line: a 100 MB line
    /// leaves its resident set well under 100 MB, and it is answered -32600 with id null.
    @Test func hundredMegabyteLineUnderASmallLimitStaysSmall() async throws {
        let worker = try RawWorker(arguments: ["--max-line-bytes", "1048576"])
        try await worker.initialize()
        let before = try #require(worker.memory)
        let peak = await Self.writeHugeLine(to: worker, megabytes: 100)
        let after = try #require(worker.memory)
        print("[fuzz] 100 MB line, 1 MiB limit: before \(before), peak VmRSS \(peak / 1_000_000) MB, after \(after)")
        #expect(after.hwm < 60_000_000, "VmHWM \(after.hwm)")
        #expect(after.hwm - before.hwm < 8_000_000)
        let answers = worker.messages.map(\.value).filter { $0["id"] == .null }
        #expect(answers.count == 1 && answers.first?["error"]?["code"] == -32600, "\(answers.map { FuzzGenerator.text($0).prefix(200) })")
        #expect(worker.responses["s:huge-line"] == nil)
        #expect(try await worker.call("healthCheck")["result"]?["healthy"] == true)
        worker.closeInput()
        #expect(try await worker.waitForExit() == 0)
    }

    /// An over-long line costs about the limit, whatever the sizes its bytes arrive in. The worker's
    /// line buffer is an array that grows by doubling: depending on the size of the line's first read,
    /// its capacity can land just below the limit, and outgrowing that copies the whole buffer into a
    /// new one while the old is still held, about twice the limit (with the default 64 MiB limit, ~130 MB
    /// for one over-long line; the main fuzz test saw 175 MB VmRSS once). So 32 over-long lines are
    /// sent with first reads of 2 KiB, 4 KiB, … 64 KiB and a 32 MiB limit, and the high-water mark
    /// must stay within the limit plus slack.
    @Test func overlongLineCostsNoMoreThanTheLimit() async throws {
        let limit = 32 << 20
        let worker = try RawWorker(arguments: ["--max-line-bytes", String(limit)])
        try await worker.initialize()
        let before = try #require(worker.memory)
        let head = Array(#"{"jsonrpc":"2.0","id":"long","method":"healthCheck","params":{"pad":""#.utf8)
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
        var worst = (first: 0, hwm: before.hwm)
        for first in stride(from: 2048, through: 65536, by: 2048) {
            await worker.write(head + [UInt8](repeating: UInt8(ascii: "x"), count: first - head.count))
            try await Task.sleep(for: .milliseconds(30))  // read on its own: the buffer starts at `first` bytes
            for _ in 0..<33 { await worker.write(chunk) }
            await worker.write(Array(#""}}"#.utf8) + [0x0A])
            _ = try await worker.call("fuzz.fence")
            let now = try #require(worker.memory)
            if now.hwm > worst.hwm { worst = (first, now.hwm) }
        }
        let growth = worst.hwm - before.rss
        print(
            "[fuzz] 32 lines of 33 MB, 32 MiB limit: VmRSS before \(before.rss / 1_000_000) MB, VmHWM after \(worst.hwm / 1_000_000) MB (\(growth / 1_000_000) MB for a line; worst first read \(worst.first) bytes)"
        )
        #expect(
            growth < limit + 12_000_000,
            "an over-long line cost \(growth / 1_000_000) MB with a \(limit >> 20) MiB limit (first read \(worst.first) bytes)")
        #expect(worker.messages.filter { $0.value["id"] == .null && $0.value["error"]?["code"] == -32600 }.count == 32)
        worker.closeInput()
        _ = try await worker.waitForExit()
    }

    /// Writes one 100 MB line and returns the peak VmRSS seen while the worker discarded it.
    static func writeHugeLine(to worker: RawWorker, megabytes: Int) async -> Int {
        let peak = Mutex(0)
        let sampling = Task {
            while !Task.isCancelled {
                if let memory = worker.memory { peak.withLock { $0 = max($0, memory.rss) } }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                let head = Array(#"{"jsonrpc":"2.0","id":"huge-line","method":"healthCheck","params":{"pad":""#.utf8)
                head.withUnsafeBytes { _ = worker.writeBlocking($0) }
                let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
                for _ in 0..<megabytes { chunk.withUnsafeBytes { _ = worker.writeBlocking($0) } }
                Array(#""}}"#.utf8 + [0x0A]).withUnsafeBytes { _ = worker.writeBlocking($0) }
                continuation.resume()
            }
        }
        _ = try? await worker.call("fuzz.fence", id: "fence-huge")
        sampling.cancel()
        if let memory = worker.memory { peak.withLock { $0 = max($0, memory.rss) } }
        return peak.withLock { $0 }
    }

    /// The lines of a crash report that say what and where.
    static func crashSummary(_ stderr: String) -> String {
        let lines = stderr.split(separator: "\n")
        let interesting = lines.filter {
            $0.contains("Fatal error") || $0.contains("Crash") || $0.contains(" in openlattice") || $0.contains("at /work")
        }
        return (interesting.isEmpty ? Array(lines.suffix(20)) : Array(interesting.prefix(14))).joined(separator: "\n")
    }

    static func asyncNullCount(_ messages: [RawMessage]) -> Int {
        messages.filter { message in
            guard !message.isBatch, message.value["id"] == .null, message.value["method"] == nil else { return false }
            return !FuzzChecker.synchronousCodes.contains(message.value["error"]?["code"]?.int ?? 0)
        }.count
    }
}

// MARK: - Expectations

/// What a response must be.
enum FuzzOutcome: Sendable {
    /// An error with this code (and, for -32602, naming this field).
    case error(Int64, field: String? = nil)
    /// Some error.
    case anyError
    /// A result.
    case result
    /// Either (the request may be valid).
    case any
    /// An error with one of these codes.
    case oneOf([Int64])
}

/// What a line must cause.
enum FuzzExpectation: Sendable {
    /// Nothing at all (a blank line, a notification).
    case nothing
    /// One error with id null, sent as soon as the line is read (so in input order).
    case syncNull(Int64)
    /// One response with id null, sent whenever the method finishes (a request whose id is null).
    case asyncNull
    /// One response with this id key.
    case tracked(String, FuzzOutcome)
    /// A number out of every range in the line: -32700 with id null, or one response with this id.
    case trackedOrParseError(String, FuzzOutcome)
    /// One batch response holding these slots in order (nothing when there are none).
    case batch([FuzzSlot])
}

/// One expected member of a batch response.
enum FuzzSlot: Sendable {
    case tracked(String, FuzzOutcome)
    /// A response with id null; with a code when it is known.
    case null(Int64?)
}

/// One generated line.
struct FuzzLine: Sendable {
    var bytes: [UInt8]
    var expectation: FuzzExpectation
    var label: String

    var preview: String {
        let text = String(decoding: bytes.prefix(160), as: UTF8.self)
        return bytes.count > 160 ? text + "… (\(bytes.count) bytes)" : text
    }

    /// The ids whose answers the feeder waits for after each block.
    var awaitedKeys: [String] {
        switch expectation {
        case .tracked(let key, _): [key]
        case .batch(let slots):
            slots.compactMap { if case .tracked(let key, _) = $0 { key } else { nil } }
        default: []
        }
    }

    /// The 100 MB line (written separately): too long, so -32600 with id null, and never run.
    static let huge = FuzzLine(bytes: [], expectation: .syncNull(-32600), label: "100 MB line")
}

// MARK: - Generator

/// One field of a method's params, as `protocol/openrpc.json` describes it.
struct FuzzField {
    enum Step: Equatable {
        case key(String)
        case index
    }
    var path: [Step]
    var schema: JSONValue
    var required: Bool
    /// Inside an open object (`additionalProperties: true`, like restore's `ref`): members other than
    /// the required ones are passed through and may be ignored, so a wrong type need not be refused.
    var informational = false

    var name: String {
        path.reduce(into: "") { text, step in
            switch step {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index: text += "[0]"
            }
        }
    }
}

struct FuzzGenerator {
    static let absentNode = "olw-fuzz-absent-node"
    static let absentImage = "openlattice-test/fuzz-absent:none"

    var rng: SplitMix64
    let methods: [String]
    let openRPC: JSONValue
    private var counter: Int64 = 0
    /// The params schema of each method: an object schema built from the OpenRPC params list.
    private var paramSchemas: [String: JSONValue] = [:]
    /// Every field of every method, with its method.
    private var fields: [(method: String, field: FuzzField)] = []

    /// Methods the generator never sends: `shutdown` ends the session.
    static let excluded: Set<String> = ["shutdown"]
    /// Methods known to the worker but (possibly) missing from the document: their params, by hand.
    static let fallbackParams: [String: JSONValue] = [
        "reap": ["type": "object", "properties": ["keep": ["type": "array", "items": ["type": "string"]]], "required": ["keep"]]
    ]

    static func loadOpenRPC() throws -> JSONValue {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("protocol/openrpc.json"))
        return try JSONParser.parse(Array(data))
    }

    init(seed: UInt64, methods: [String], openRPC: JSONValue) {
        rng = SplitMix64(state: seed)
        self.methods = methods.filter { !Self.excluded.contains($0) }
        self.openRPC = openRPC
        for method in openRPC["methods"]?.array ?? [] {
            guard let name = method["name"]?.string else { continue }
            var properties = JSONObject()
            var required: [JSONValue] = []
            for param in method["params"]?.array ?? [] {
                guard let paramName = param["name"]?.string, let schema = param["schema"] else { continue }
                properties[paramName] = schema
                if param["required"] == true { required.append(.string(paramName)) }
            }
            paramSchemas[name] = ["type": "object", "properties": .object(properties), "required": .array(required)]
        }
        for (name, schema) in Self.fallbackParams where paramSchemas[name] == nil { paramSchemas[name] = schema }
        for method in self.methods {
            guard let schema = paramSchemas[method] else { continue }
            for field in walk(schema, path: [], required: true, depth: 0) { fields.append((method, field)) }
        }
    }

    // MARK: Schemas

    /// The schema with `$ref` and single `allOf` folded in.
    func resolve(_ schema: JSONValue) -> JSONObject {
        guard var object = schema.object else { return JSONObject() }
        var parts: [JSONValue] = []
        if let ref = object["$ref"]?.string, ref.hasPrefix("#/components/schemas/") {
            let name = String(ref.dropFirst("#/components/schemas/".count))
            if let target = openRPC["components"]?["schemas"]?[name] { parts.append(target) }
            object["$ref"] = nil
        }
        if let all = object["allOf"]?.array {
            parts += all
            object["allOf"] = nil
        }
        for part in parts {
            for member in resolve(part).members where object[member.key] == nil { object[member.key] = member.value }
        }
        return object
    }

    /// The JSON types a schema accepts ("integer" is also a "number"); empty when it says nothing.
    func acceptedTypes(_ schema: JSONValue) -> Set<String> {
        let object = resolve(schema)
        var types: Set<String> = []
        if let type = object["type"]?.string { types.insert(type) }
        for type in object["type"]?.array ?? [] { if let type = type.string { types.insert(type) } }
        for value in object["enum"]?.array ?? [] { types.insert(Self.typeName(value)) }
        if let value = object["const"] { types.insert(Self.typeName(value)) }
        for branch in (object["anyOf"]?.array ?? []) + (object["oneOf"]?.array ?? []) { types.formUnion(acceptedTypes(branch)) }
        if types.contains("number") { types.insert("integer") }
        return types
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .double(let double): double == double.rounded() ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Every field below `schema`: properties, the first element of arrays, a value of maps.
    func walk(_ schema: JSONValue, path: [FuzzField.Step], required: Bool, depth: Int, informational: Bool = false) -> [FuzzField] {
        guard depth < 8 else { return [] }
        var found: [FuzzField] = []
        if !path.isEmpty { found.append(FuzzField(path: path, schema: schema, required: required, informational: informational)) }
        let object = resolve(schema)
        let requiredNames = Set((object["required"]?.array ?? []).compactMap(\.string))
        let open = object["additionalProperties"] == .bool(true)
        if let properties = object["properties"]?.object {
            for member in properties.members {
                let isRequired = requiredNames.contains(member.key)
                found += walk(
                    member.value, path: path + [.key(member.key)], required: isRequired, depth: depth + 1,
                    informational: informational || (open && !isRequired))
            }
        }
        if let items = object["items"], items.object != nil {
            found += walk(items, path: path + [.index], required: true, depth: depth + 1, informational: informational)
        }
        if let values = object["additionalProperties"], values.object != nil {
            found += walk(values, path: path + [.key("K")], required: true, depth: depth + 1, informational: informational)
        }
        return found
    }

    /// A valid value for a schema (`name` is the property's name, for the few that matter).
    func sample(_ schema: JSONValue, name: String) -> JSONValue {
        let object = resolve(schema)
        switch name {
        case "image": return .string(Self.absentImage)
        case "pullPolicy": return "never"
        case "externalId": return .string(Self.absentNode)
        case "protocolVersion": return "1.0"
        default: break
        }
        if let value = object["const"] { return value }
        if let first = object["enum"]?.array?.first { return first }
        if let first = object["anyOf"]?.array?.first ?? object["oneOf"]?.array?.first { return sample(first, name: name) }
        switch object["type"]?.string ?? object["type"]?.array?.first?.string ?? "" {
        case "string":
            switch object["title"]?.string {
            case "AbsolutePath": return "/tmp/olw-fuzz"
            case "IsoDate": return "2024-01-01T00:00:00Z"
            default: break
            }
            if let pattern = object["pattern"]?.string, pattern.contains("[0-9]+\\.[0-9]+") { return "1.41" }
            return "fuzz"
        case "integer":
            let minimum = object["minimum"]?.int ?? 1
            return .integer(max(minimum, 1))
        case "number": return 1
        case "boolean": return false
        case "array":
            if (object["minItems"]?.int ?? 0) > 0, let items = object["items"] { return [sample(items, name: name)] }
            return []
        case "object": return build(schema, path: [], leaf: nil)
        default: return "fuzz"
        }
    }

    /// An object for `schema` holding its required members, with `leaf` placed at `path` (nil: nothing placed).
    func build(_ schema: JSONValue, path: [FuzzField.Step], leaf: JSONValue?) -> JSONValue {
        let object = resolve(schema)
        if let step = path.first, step == .index {
            guard let items = object["items"] else { return [] }
            return [path.count == 1 ? (leaf ?? .null) : build(items, path: Array(path.dropFirst()), leaf: leaf)]
        }
        var result = JSONObject()
        let properties = object["properties"]?.object ?? JSONObject()
        for name in (object["required"]?.array ?? []).compactMap(\.string) {
            if let property = properties[name] { result[name] = sample(property, name: name) }
        }
        // Never pull: a provision that turns out valid fails on the absent image, creating nothing.
        if properties["pullPolicy"] != nil, path.first != .key("pullPolicy") { result["pullPolicy"] = "never" }
        if case .key(let key)? = path.first {
            let child = properties[key] ?? object["additionalProperties"] ?? .object(JSONObject())
            result[key] = path.count == 1 ? (leaf ?? .null) : build(child, path: Array(path.dropFirst()), leaf: leaf)
        }
        return .object(result)
    }

    // MARK: Values

    /// One value of each JSON type, for "wrong type" cases.
    static let valuesByType: [(type: String, value: JSONValue)] = [
        ("string", "fuzz-wrong"), ("integer", 7), ("number", 1.5), ("object", ["k": "v"]), ("array", ["x", 1]),
        ("boolean", true), ("null", .null),
    ]

    /// Raw number texts at the edges: out of every range, beyond Int64, beyond 2^53.
    static let hugeNumbers = [
        "1e400", "-1e400", "99999999999999999999999", "9223372036854775808", "-9223372036854775809", "1e23",
        "9223372036854775807", "18446744073709551616", "1e-400", "123456789012345678901234567890.5",
    ]

    /// Whether a number text is an integer the worker can hold (as Int64, or a Double that is one exactly).
    static func fitsInt64(_ text: String) -> Bool { Int64(text) != nil || Double(text).flatMap { Int64(exactly: $0) } != nil }

    /// Whether the worker's number type holds a text (finite as a Double).
    static func isFinite(_ text: String) -> Bool { Double(text)?.isFinite ?? false }

    // MARK: Ids

    /// A fresh id of a trackable type (an integer within 64 bits or a string) and its key. (Fractional
    /// and out-of-range numbers cannot be echoed exactly: the worker refuses them as ids, see `idTypeLine`.)
    mutating func freshID() -> (json: String, key: String) {
        counter += 1
        let n = counter
        switch rng.next() % 6 {
        case 0, 1: return ("\(1_000_000 + n)", "n:\(1_000_000 + n)")
        case 2: return ("-\(n)", "n:-\(n)")
        case 3: return ("\(Int64.max - n)", "n:\(Int64.max - n)")
        default:
            let text = "f\(n)" + ["", "-é", " \"q\" ", "\\", "\u{1F600}", "\t", "\u{2028}", "\\u0000"][Int(rng.next() % 8)]
            var bytes: [UInt8] = []
            JSONWriter.appendString(text, to: &bytes)
            return (String(decoding: bytes, as: UTF8.self), "s:" + text)
        }
    }

    // MARK: Lines

    /// The request line text for `method` with raw id and params texts.
    static func requestText(id: String?, method: String, params: String?) -> String {
        var text = #"{"jsonrpc":"2.0""#
        if let id { text += #","id":\#(id)"# }
        var methodBytes: [UInt8] = []
        JSONWriter.appendString(method, to: &methodBytes)
        text += #","method":"# + String(decoding: methodBytes, as: UTF8.self)
        if let params { text += #","params":\#(params)"# }
        return text + "}"
    }

    static func text(_ value: JSONValue) -> String { String(decoding: JSONWriter.encode(value), as: UTF8.self) }

    /// What a request to `method` must get when its params are as described by `outcome`.
    func outcome(for method: String, _ paramsOutcome: FuzzOutcome) -> FuzzOutcome {
        if method == "initialize" { return .error(-32600) }  // already initialized
        if !methods.contains(method) { return .error(-32601) }
        return paramsOutcome
    }

    /// Every field of every method, given a value of every wrong type (and, for numbers, the edge values).
    mutating func schemaCases() -> [FuzzLine] {
        var lines: [FuzzLine] = []
        for method in methods {
            // params themselves of every non-object type
            for (type, value) in Self.valuesByType where type != "object" {
                let id = freshID()
                let text = Self.requestText(id: id.json, method: method, params: Self.text(value))
                lines.append(
                    line(text, .tracked(id.key, outcome(for: method, .error(-32602, field: "params"))), "params as \(type) for \(method)"))
            }
        }
        for (method, field) in fields {
            lines += wrongTypeLines(method: method, field: field)
        }
        return lines
    }

    /// The wrong-type (and edge-number) lines of one field.
    mutating func wrongTypeLines(method: String, field: FuzzField) -> [FuzzLine] {
        guard let schema = paramSchemas[method] else { return [] }
        let accepted = acceptedTypes(field.schema)
        guard !accepted.isEmpty else { return [] }
        var lines: [FuzzLine] = []
        for (type, value) in Self.valuesByType where !accepted.contains(type) {
            let params = build(schema, path: field.path, leaf: value)
            var expected: FuzzOutcome = type == "null" && !field.required ? .any : .error(-32602, field: field.name)
            if field.informational { expected = .any }
            let id = freshID()
            let text = Self.requestText(id: id.json, method: method, params: Self.text(params))
            lines.append(line(text, .tracked(id.key, outcome(for: method, expected)), "\(method) \(field.name) as \(type)"))
        }
        let object = resolve(field.schema)
        if accepted.contains("string"), let options = object["enum"]?.array, !options.isEmpty {
            let params = build(schema, path: field.path, leaf: "not-one-of-the-enum")
            let id = freshID()
            let text = Self.requestText(id: id.json, method: method, params: Self.text(params))
            // A value outside the enum is refused; checking that the node exists may come first.
            lines.append(
                line(text, .tracked(id.key, outcome(for: method, .oneOf([-32602, -32004]))), "\(method) \(field.name) outside its enum"))
        }
        if accepted.contains("integer") || accepted.contains("number") {
            let placeholder = "\"@@NUMBER@@\""
            let template = Self.text(build(schema, path: field.path, leaf: "@@NUMBER@@"))
            for number in Self.hugeNumbers {
                let params = template.replacingOccurrences(of: placeholder, with: number)
                let id = freshID()
                let text = Self.requestText(id: id.json, method: method, params: params)
                // An integer field cannot take what is not an integer in range; anything may be refused, nothing may crash.
                let integral = Self.fitsInt64(number)
                var expected: FuzzOutcome = accepted.contains("number") || integral ? .any : .error(-32602, field: field.name)
                if !Self.isFinite(number) { expected = .anyError }
                if field.informational { expected = .any }
                let expectation: FuzzExpectation =
                    Self.isFinite(number)
                    ? .tracked(id.key, outcome(for: method, expected)) : .trackedOrParseError(id.key, outcome(for: method, expected))
                lines.append(line(text, expectation, "\(method) \(field.name) = \(number)"))
            }
        }
        return lines
    }

    func line(_ text: String, _ expectation: FuzzExpectation, _ label: String) -> FuzzLine {
        FuzzLine(bytes: Array(text.utf8), expectation: expectation, label: label)
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }

    /// A request line that is valid JSON, with a known expectation: wrong-typed params, an unknown
    /// method, a notification, or a plain healthCheck.
    mutating func requestLine(id: (json: String, key: String)?) -> (text: String, outcome: FuzzOutcome, method: String, label: String) {
        switch rng.next() % 8 {
        case 0:
            // A member healthCheck does not know is refused, naming it.
            if chance(50) {
                return (Self.requestText(id: id?.json, method: "healthCheck", params: nil), .result, "healthCheck", "healthCheck")
            }
            return (
                Self.requestText(id: id?.json, method: "healthCheck", params: #"{"unknown":[1,{"x":null}]}"#),
                .error(-32602, field: "unknown"), "healthCheck", "healthCheck with an unknown member"
            )
        case 1:
            let method = pick([
                "no.such.method", "", "Provision", "exec ", "files.read\u{0}", "\u{1F600}", "$/cancelRequest2", "rpc.discover",
            ])
            return (Self.requestText(id: id?.json, method: method, params: "{}"), .error(-32601), method, "unknown method")
        default:
            guard !fields.isEmpty else {
                return (Self.requestText(id: id?.json, method: "healthCheck", params: nil), .result, "healthCheck", "healthCheck")
            }
            let (method, field) = pick(fields)
            let wrong = wrongTypeLines(method: method, field: field).filter {
                if case .tracked = $0.expectation { true } else { false }
            }
            guard let chosen = wrong.isEmpty ? nil : pick(wrong), case .tracked(_, let outcome) = chosen.expectation,
                let value = try? JSONParser.parse(chosen.bytes)
            else { return (Self.requestText(id: id?.json, method: "list", params: "{}"), .result, "list", "list") }
            return (Self.requestText(id: id?.json, method: method, params: value["params"].map(Self.text)), outcome, method, chosen.label)
        }
    }

    /// One line of a random category.
    mutating func randomLine() -> FuzzLine {
        let roll = rng.next() % 100
        switch roll {
        case 0..<22:  // a request-shaped line with a wrong-typed field, or similar
            let id = freshID()
            let request = requestLine(id: id)
            var text = request.text
            if chance(5) { text += "\r" }  // CRLF endings are JSON whitespace
            return line(text, .tracked(id.key, request.outcome), "request: \(request.label)")
        case 22..<36:  // truncated JSON
            let id = freshID()
            let request = requestLine(id: id)
            let full = Array(request.text.utf8)
            let cut = 1 + Int(rng.next() % UInt64(full.count - 1))
            return FuzzLine(bytes: Array(full[..<cut]), expectation: .syncNull(-32700), label: "truncated at \(cut): \(request.label)")
        case 36..<42:  // junk bytes (never valid JSON: '#' cannot start a value)
            var bytes: [UInt8] = [UInt8(ascii: "#")]
            for _ in 0..<Int(rng.next() % 200) {
                var byte = UInt8(truncatingIfNeeded: rng.next())
                if byte == 0x0A { byte = 0x0B }
                bytes.append(byte)
            }
            return FuzzLine(bytes: bytes, expectation: .syncNull(-32700), label: "junk bytes")
        case 42..<49:  // invalid UTF-8, in a string or outside
            let bad: [[UInt8]] = [
                [0xFF], [0xFE, 0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80],
                [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC3], [0xEF, 0xBF],
            ]
            let id = freshID()
            var bytes = Array(Self.requestText(id: id.json, method: "healthCheck", params: #"{"x":"ab"}"#).utf8)
            let sequence = pick(bad)
            let position: Int
            switch rng.next() % 3 {
            case 0: position = bytes.count - 4  // inside the "ab" string
            case 1: position = bytes.firstIndex(of: UInt8(ascii: "h")) ?? 1  // inside the method name
            default: position = 1  // between tokens
            }
            bytes.insert(contentsOf: sequence, at: position)
            return FuzzLine(bytes: bytes, expectation: .syncNull(-32700), label: "invalid UTF-8 \(sequence)")
        case 49..<53:  // NUL bytes
            let id = freshID()
            switch rng.next() % 4 {
            case 0: return FuzzLine(bytes: [0], expectation: .syncNull(-32700), label: "a NUL")
            case 1:
                var bytes = Array(Self.requestText(id: id.json, method: "healthCheck", params: #"{"x":"a"}"#).utf8)
                bytes.insert(0, at: bytes.count - 4)
                return FuzzLine(bytes: bytes, expectation: .syncNull(-32700), label: "raw NUL in a string")
            case 2:
                var bytes = Array(Self.requestText(id: id.json, method: "healthCheck", params: nil).utf8)
                bytes.append(0)
                return FuzzLine(bytes: bytes, expectation: .syncNull(-32700), label: "NUL after the object")
            default:  // escaped NUL is valid JSON: it reaches validation
                let text = Self.requestText(id: id.json, method: "inspect", params: #"{"externalId":"abc\u0000def"}"#)
                return line(text, .tracked(id.key, .error(-32602, field: "externalId")), "escaped NUL in externalId")
            }
        case 53..<57:  // blank lines
            return FuzzLine(bytes: Array(pick(["", " ", "\t", "\r", "  \t \r", "   "]).utf8), expectation: .nothing, label: "blank")
        case 57..<70:  // ids of every JSON type
            return idTypeLine()
        case 70..<78:  // batches of junk
            return batchLine()
        case 78..<81:  // deep nesting
            return deepLine()
        case 81..<89:  // valid JSON that is not a request
            return notARequestLine()
        case 89..<93:  // notifications (never answered)
            let params = pick([#"{"id":"cancel-never-\#(rng.next() % 100000)"}"#, #"{"id":{"x":1}}"#, "[1]", #""str""#, "null", "{}"])
            let method = pick(["$/cancelRequest", "$/cancelRequest", "exec.output", "healthCheck", "initialize", "provision"])
            return line(Self.requestText(id: nil, method: method, params: params), .nothing, "notification \(method)")
        case 93..<97:  // malformed numbers: parse errors
            let id = freshID()
            let number = pick(["01", "1.", ".5", "+1", "0x10", "NaN", "Infinity", "-", "1e", "1e+", "--1", "1.2.3", "١"])
            let text = Self.requestText(id: id.json, method: "stop", params: #"{"externalId":"x","timeoutSeconds":\#(number)}"#)
            return line(text, .syncNull(-32700), "malformed number \(number)")
        default:  // huge numbers as ids (finite ones: answered under the same value) and as values
            return hugeNumberLine()
        }
    }

    mutating func idTypeLine() -> FuzzLine {
        let request = requestLine(id: nil)
        func withID(_ id: String) -> String {
            var text = request.text
            text.removeFirst(#"{"jsonrpc":"2.0""#.count)
            return #"{"jsonrpc":"2.0","id":\#(id)"# + text
        }
        switch rng.next() % 8 {
        case 0:  // null: answered with id null
            if request.outcome.isUnknownMethod { return line(withID("null"), .syncNull(-32601), "id null, unknown method") }
            // only methods whose answers are not synchronous codes, so the null-id sequence stays exact
            let method = pick(["healthCheck", "list", "detectGpu"])
            return line(Self.requestText(id: "null", method: method, params: "{}"), .asyncNull, "id null \(method)")
        case 1: return line(withID(pick(["true", "false"])), .syncNull(-32600), "id bool")
        case 2: return line(withID(pick(["{}", #"{"id":1}"#, #"{"a":[null]}"#])), .syncNull(-32600), "id object")
        case 3: return line(withID(pick(["[]", "[1]", #"["a",{"b":2}]"#])), .syncNull(-32600), "id array")
        case 4 where chance(50):
            // a number that is not an integer within 64 bits cannot be echoed exactly: -32600, id null;
            // one beyond Double's range is not JSON the worker can read back: -32700, id null
            let number = pick([
                "2.5", "1.0", "-0.5", "1e3", "1E-7", "99999999999999999999999", "9223372036854775808", "-9223372036854775809", "1e400",
            ])
            return line(withID(number), .syncNull(Self.isFinite(number) ? -32600 : -32700), "id \(number)")
        default:
            let id = freshID()
            return line(withID(id.json), .tracked(id.key, request.outcome), "id \(id.key.prefix(1)) \(request.label)")
        }
    }

    mutating func hugeNumberLine() -> FuzzLine {
        if chance(50) {
            // a number beyond Int64 as an id: refused (-32600, id null), never answered under another id
            var digits = "9"
            for _ in 0..<(19 + Int(rng.next() % 6)) { digits += String(rng.next() % 10) }
            return line(Self.requestText(id: digits, method: "healthCheck", params: nil), .syncNull(-32600), "id \(digits)")
        }
        let id = freshID()
        let number = pick(Self.hugeNumbers)
        let method = pick(["inspect", "healthCheck", "files.read"])
        let params: String
        let outcome: FuzzOutcome
        switch method {
        case "inspect":
            params = #"{"externalId":\#(number)}"#
            outcome = .error(-32602, field: "externalId")
        case "healthCheck":
            // read whole, then refused as a member healthCheck does not know
            params = #"{"extra":[\#(number),{"n":\#(number)}]}"#
            outcome = .error(-32602, field: "extra")
        default:
            params = #"{"externalId":"\#(Self.absentNode)","path":"/x","offset":\#(number)}"#
            let integral = Self.fitsInt64(number)
            outcome = integral ? .anyError : .error(-32602, field: "offset")
        }
        let text = Self.requestText(id: id.json, method: method, params: params)
        let expectation: FuzzExpectation = Self.isFinite(number) ? .tracked(id.key, outcome) : .trackedOrParseError(id.key, outcome)
        return line(text, expectation, "huge \(number) in \(method)")
    }

    mutating func deepLine() -> FuzzLine {
        let depth = pick([10_000, 10_000, 513, 600, 2_000])
        switch rng.next() % 4 {
        case 0:
            return FuzzLine(
                bytes: Array(String(repeating: "[", count: depth).utf8) + Array(String(repeating: "]", count: depth).utf8),
                expectation: .syncNull(-32700), label: "\(depth) levels of ["
            )
        case 1:
            return FuzzLine(
                bytes: Array(String(repeating: "[", count: depth).utf8), expectation: .syncNull(-32700), label: "\(depth) unclosed [")
        case 2:
            let id = freshID()
            let deep = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
            let text = Self.requestText(id: id.json, method: "healthCheck", params: #"{"deep":\#(deep)}"#)
            return line(text, .syncNull(-32700), "request with \(depth) nested objects")
        default:
            // within the parser's limit (512 levels in all): valid JSON, so the request is answered
            let id = freshID()
            let inner = 500
            let deep = String(repeating: "[", count: inner) + String(repeating: "]", count: inner)
            let method = pick(["healthCheck", "inspect"])
            let text = Self.requestText(id: id.json, method: method, params: #"{"deep":\#(deep)}"#)
            return line(
                text, .tracked(id.key, .error(-32602, field: method == "healthCheck" ? "deep" : "externalId")),
                "request with \(inner) nested arrays")
        }
    }

    mutating func notARequestLine() -> FuzzLine {
        switch rng.next() % 10 {
        case 0: return line(pick(["1", "-0", "1e5", "\"text\"", "true", "null", "\"\""]), .syncNull(-32600), "a bare value")
        case 1: return line("{}", .syncNull(-32600), "empty object")
        case 2:
            let id = freshID()
            return line(#"{"jsonrpc":"1.0","id":\#(id.json),"method":"healthCheck"}"#, .tracked(id.key, .error(-32600)), "jsonrpc 1.0")
        case 3:
            let id = freshID()
            return line(#"{"id":\#(id.json),"method":"healthCheck"}"#, .tracked(id.key, .error(-32600)), "no jsonrpc")
        case 4:
            let id = freshID()
            let method = pick(["42", "null", "[\"exec\"]", "{\"m\":1}", "true"])
            return line(#"{"jsonrpc":"2.0","id":\#(id.json),"method":\#(method)}"#, .tracked(id.key, .error(-32600)), "method \(method)")
        case 5:
            let id = freshID()
            return line(#"{"jsonrpc":"2.0","id":\#(id.json)}"#, .tracked(id.key, .error(-32600)), "no method")
        case 6: return line(#"{"jsonrpc":"2.0","method":7}"#, .syncNull(-32600), "invalid notification")
        case 7: return line(#"{"jsonrpc":2.0,"method":"healthCheck"}"#, .syncNull(-32600), "jsonrpc as a number, no id")
        case 8:
            let id = freshID()
            return line(
                #"{"jsonrpc":"2.0","id":\#(id.json),"result":{"healthy":true}}"#, .tracked(id.key, .error(-32600)),
                "a response sent to the worker")
        default: return line("[]", .syncNull(-32600), "empty batch")
        }
    }

    /// A batch of 1–8 members mixing requests, notifications and junk; always with one tracked request
    /// when anything is answered, so its response can be told apart.
    mutating func batchLine() -> FuzzLine {
        var members: [String] = []
        var slots: [FuzzSlot] = []
        var labels: [String] = []
        for _ in 0..<(1 + Int(rng.next() % 8)) {
            switch rng.next() % 9 {
            case 0, 1:
                let id = freshID()
                let request = requestLine(id: id)
                members.append(request.text)
                slots.append(.tracked(id.key, request.outcome))
                labels.append(request.label)
            case 2:
                members.append(
                    Self.requestText(id: nil, method: pick(["$/cancelRequest", "healthCheck", "x"]), params: #"{"id":"cancel-never-b"}"#))
            case 3:
                members.append(pick(["1", "\"s\"", "null", "true", "[]", "[1,2]", "{}", #"{"jsonrpc":"2.0"}"#]))
                slots.append(.null(-32600))
            case 4:
                members.append(Self.requestText(id: pick(["true", "{}", "[1]"]), method: "healthCheck", params: nil))
                slots.append(.null(-32600))
            case 5:
                members.append(Self.requestText(id: "null", method: "no.such", params: nil))
                slots.append(.null(-32601))
            case 6:
                members.append(Self.requestText(id: "null", method: "healthCheck", params: nil))
                slots.append(.null(nil))
            case 7:
                let id = freshID()
                members.append(#"{"jsonrpc":"2.0","id":\#(id.json),"method":"initialize","params":{"protocolVersion":"1.0"}}"#)
                slots.append(.tracked(id.key, .error(-32600)))
            default:
                let id = freshID()
                members.append(#"{"jsonrpc":"1.0","id":\#(id.json),"method":"list"}"#)
                slots.append(.tracked(id.key, .error(-32600)))
            }
        }
        if !slots.isEmpty && !slots.contains(where: { if case .tracked = $0 { true } else { false } }) {
            let id = freshID()
            members.append(Self.requestText(id: id.json, method: "fuzz.batch-tag", params: nil))
            slots.append(.tracked(id.key, .error(-32601)))
        }
        return line("[" + members.joined(separator: pick([",", " , ", ",\t"])) + "]", .batch(slots), "batch of \(members.count) \(labels)")
    }
}

extension FuzzOutcome {
    var isUnknownMethod: Bool { if case .error(-32601, _) = self { true } else { false } }
}

// MARK: - Checking

enum FuzzChecker {
    /// Codes the worker sends from its reading thread, at once, in input order.
    static let synchronousCodes: Set<Int64> = [-32700, -32600, -32601]

    static func check(sent: [FuzzLine], worker: RawWorker) -> [String] {
        var problems: [String] = []
        let responses = worker.responses
        let messages = worker.messages

        // 1. Every tracked id: exactly one response, of the expected kind.
        var expectedKeys: Set<String> = ["s:fuzz-subscription", "s:final-health", "s:fence-huge"]
        for message in messages {
            if let key = message.value["id"].flatMap(idKey), key.hasPrefix("s:fence-") || key.hasPrefix("s:raw-") {
                expectedKeys.insert(key)
            }
        }
        var optionalParseErrors: [String: Bool] = [:]  // key → answered by id
        func verify(_ key: String, _ outcome: FuzzOutcome, _ line: FuzzLine, optional: Bool = false) {
            expectedKeys.insert(key)
            let got = responses[key] ?? []
            if optional && got.isEmpty { return }
            guard got.count == 1 else {
                problems.append("\(got.count) responses to \(key) (\(line.label)): \(line.preview)")
                return
            }
            if let problem = mismatch(got[0], outcome) {
                problems.append("\(line.label): \(problem); line \(line.preview); got \(FuzzGenerator.text(got[0]).prefix(300))")
            }
        }
        var expectedSequence: [(code: Int64, line: FuzzLine)] = []
        var expectedBatches: [(slots: [FuzzSlot], line: FuzzLine)] = []
        for line in sent {
            switch line.expectation {
            case .nothing, .asyncNull: break
            case .syncNull(let code): expectedSequence.append((code, line))
            case .tracked(let key, let outcome): verify(key, outcome, line)
            case .trackedOrParseError(let key, let outcome):
                let answered = !(responses[key] ?? []).isEmpty
                optionalParseErrors[key] = answered
                if answered { verify(key, outcome, line, optional: true) } else { expectedSequence.append((-32700, line)) }
            case .batch(let slots):
                for slot in slots { if case .tracked(let key, let outcome) = slot { verify(key, outcome, line) } }
                if !slots.isEmpty { expectedBatches.append((slots, line)) }
            }
        }
        // 2. Nothing answered that was not asked.
        for (key, got) in responses where key != "null" && !expectedKeys.contains(key) {
            problems.append("unexpected response(s) to \(key): \(got.prefix(2).map { FuzzGenerator.text($0).prefix(200) })")
        }
        // 3. The synchronous null-id answers, in input order, exactly.
        let actualSequence = messages.compactMap { message -> Int64? in
            guard !message.isBatch, message.value["id"] == .null, message.value["method"] == nil,
                let code = message.value["error"]?["code"]?.int, synchronousCodes.contains(code)
            else { return nil }
            return code
        }
        if actualSequence.count != expectedSequence.count {
            problems.append("\(actualSequence.count) synchronous null-id errors, expected \(expectedSequence.count)")
        }
        for (index, (expected, actual)) in zip(expectedSequence, actualSequence).enumerated() where expected.code != actual {
            problems.append(
                "null-id answer #\(index): got \(actual), expected \(expected.code) for \(expected.line.label): \(expected.line.preview)")
            break  // after the first divergence the rest is shifted
        }
        // 4. Asynchronous null-id answers: one per null-id request.
        let expectedAsync = sent.filter { if case .asyncNull = $0.expectation { true } else { false } }.count
        let actualAsync = FuzzInputTests.asyncNullCount(messages)
        if expectedAsync != actualAsync { problems.append("\(actualAsync) asynchronous null-id answers, expected \(expectedAsync)") }
        // 5. Batches: one array per batch that has anything to answer, its members in order.
        let arrays = messages.filter(\.isBatch).compactMap { $0.value.array }
        if arrays.count != expectedBatches.count { problems.append("\(arrays.count) batch responses, expected \(expectedBatches.count)") }
        var arraysByKey: [String: [JSONValue]] = [:]
        for array in arrays {
            for member in array { if let key = member["id"].flatMap(idKey), key != "null" { arraysByKey[key] = array } }
        }
        for (slots, line) in expectedBatches {
            guard case .tracked(let tag, _)? = slots.first(where: { if case .tracked = $0 { true } else { false } }),
                let array = arraysByKey[tag]
            else {
                problems.append("no batch response for \(line.label): \(line.preview)")
                continue
            }
            guard array.count == slots.count else {
                problems.append("batch response of \(array.count) members, expected \(slots.count): \(line.preview)")
                continue
            }
            for (member, slot) in zip(array, slots) {
                switch slot {
                case .tracked(let key, _):
                    if member["id"].flatMap(idKey) != key { problems.append("batch member out of order: \(key) in \(line.preview)") }
                case .null(let code):
                    if member["id"] != .null { problems.append("batch member should have id null: \(FuzzGenerator.text(member))") }
                    if let code, member["error"]?["code"]?.int != code {
                        problems.append("batch member: expected \(code), got \(FuzzGenerator.text(member)) in \(line.preview)")
                    }
                }
            }
        }
        return problems
    }

    /// Why `response` does not match `outcome`, or nil.
    static func mismatch(_ response: JSONValue, _ outcome: FuzzOutcome) -> String? {
        let code = response["error"]?["code"]?.int
        switch outcome {
        case .any: return nil
        case .result: return response["result"] == nil ? "expected a result" : nil
        case .anyError: return code == nil ? "expected an error" : nil
        case .oneOf(let codes): return code.map(codes.contains) == true ? nil : "expected one of \(codes)"
        case .error(let expected, let field):
            guard code == expected else { return "expected error \(expected)" }
            if let field, expected == -32602 {
                let named = response["error"]?["data"]?["field"]?.string ?? ""
                if named != field && !named.hasPrefix(field + ".") && !named.hasPrefix(field + "[") {
                    return "expected data.field \(field), got \(named.isEmpty ? "none" : named)"
                }
            }
            return nil
        }
    }
}

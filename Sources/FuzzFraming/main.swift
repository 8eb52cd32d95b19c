// A libFuzzer target for the worker's input path: LineFramer (with a small limit, fed in random
// splits derived from the input) and JSONParser, with every parsed value round-tripped through
// JSONWriter and JSONParser and decoded through MethodTable's params decoder.
//
// Fuzzing build (scripts/fuzz.sh does this):
//   swift build -c debug --product FuzzFraming --scratch-path .build-fuzz \
//     -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING
//   SWIFT_BACKTRACE=enable=no .build-fuzz/debug/FuzzFraming -max_total_time=20 corpus-dir
// No -parse-as-library: SwiftPM renames an executable's entry point (and links `main` to it), so
// libFuzzer's own `main` would never run; instead the top-level code below calls the libFuzzer
// driver (LLVMFuzzerRunDriver) when FUZZING is defined. In a plain `swift build` the same file is
// an ordinary executable that replays the files (or folders of files) given as arguments, or a
// built-in seed set, through the same checks.

import JSONCoding
import JSONRPC

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// libFuzzer's entry point (`LLVMFuzzerTestOneInput`): runs the `size` bytes at `data` through LineFramer and JSONParser
/// and traps when an invariant fails; returns 0 (the input is always kept).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFramingOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FramingFuzz.check(bytes)
    return 0
}

enum FramingFuzz {
    static func fail(_ message: String, _ input: [UInt8]) -> Never {
        let preview = input.prefix(200).map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
        fatalError("\(message); input (\(input.count) bytes): \(preview)")
    }

    /// A deterministic stream of numbers from the input itself (FNV-1a, then SplitMix64).
    struct Splits {
        var state: UInt64
        init(_ input: [UInt8]) {
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in input { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            state = hash
        }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// What the framer must report: a plain split at newlines, each line judged against the limit.
    static func expectedEvents(_ input: [UInt8], maxLineBytes: Int) -> [LineFramer.Event] {
        var segments = input.split(separator: 0x0A, omittingEmptySubsequences: false)
        let last = segments.removeLast()
        var events = segments.map { $0.count > maxLineBytes ? LineFramer.Event.tooLong : .line(Array($0)) }
        if !last.isEmpty { events.append(last.count > maxLineBytes ? .tooLong : .line(Array(last))) }
        return events
    }

    /// Feeds `input` to a framer in pieces whose sizes come from `splits`.
    static func frame(_ input: [UInt8], maxLineBytes: Int, splits: inout Splits) -> [LineFramer.Event] {
        var framer = LineFramer(maxLineBytes: maxLineBytes)
        var events: [LineFramer.Event] = []
        input.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let roll = splits.next()
                let largest = roll % 8 == 0 ? raw.count - offset : min(raw.count - offset, 1 + Int(roll >> 8) % 32)
                let count = 1 + Int((roll >> 16) % UInt64(largest))
                framer.feed(UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])) { events.append($0) }
                offset += count
            }
        }
        framer.finish { events.append($0) }
        return events
    }

    /// OLW_FUZZ_ALLOW_INFINITY=1 tolerates a number beyond Double's range (parsed as ±infinity) coming
    /// back as null, to look past that known finding.
    static let allowInfinity = getenv("OLW_FUZZ_ALLOW_INFINITY") != nil

    /// Equality as JSON means it: numbers by value (the writer prints 1.0 as 1), objects by members.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.double(let x), .null) where allowInfinity && !x.isFinite: return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.integer(let x), .integer(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.integer(let x), .double(let y)), (.double(let y), .integer(let x)): return Double(exactly: x) == y || Int64(exactly: y) == x
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.keys == y.keys && x.keys.allSatisfy { key in x[key].flatMap { left in y[key].map { same(left, $0) } } ?? false }
        default: return false
        }
    }

    /// Params of the kinds the worker's methods take, to push parsed values through the decoder.
    struct Probe: Decodable {
        struct Inner: Decodable {
            var cores: Double?
            var count: Int?
            var flag: Bool?
        }
        var externalId: String?
        var command: [String]?
        var env: [String: String]?
        var timeoutMs: Int?
        var offset: UInt64?
        var mode: Int32?
        var ratio: Double?
        var inner: Inner?
        var list: [Inner]?
        var any: JSONValue?
    }

    static func checkJSON(_ line: [UInt8]) {
        guard let value = try? JSONParser.parse(line) else { return }
        let written = JSONWriter.encode(value)
        let again: JSONValue
        do {
            again = try JSONParser.parse(written)
        } catch {
            fail("JSONWriter wrote what JSONParser rejects (\(error)): \(String(decoding: written.prefix(200), as: UTF8.self))", line)
        }
        guard same(value, again) else {
            fail("a value changed through JSONWriter + JSONParser: \(String(decoding: written.prefix(200), as: UTF8.self))", line)
        }
        guard JSONWriter.encode(again) == written else { fail("JSONWriter is not stable on its own output", line) }
        _ = try? MethodTable.decodeParams(Probe.self, value)
        if case .object(let object) = value, let params = object["params"] { _ = try? MethodTable.decodeParams(Probe.self, params) }
    }

    static func check(_ input: [UInt8]) {
        var splits = Splits(input)
        // A small limit (1–96 bytes), so over-long lines are common.
        let limit = 1 + Int(input.first ?? 0) % 96
        let expected = expectedEvents(input, maxLineBytes: limit)
        let framed = frame(input, maxLineBytes: limit, splits: &splits)
        guard framed == expected else {
            fail("LineFramer (limit \(limit)) disagrees with a plain split: \(framed.count) vs \(expected.count) events", input)
        }
        // And without a limit: every line comes through whole, whatever the splits.
        let whole = frame(input, maxLineBytes: Int.max, splits: &splits)
        let lines = expectedEvents(input, maxLineBytes: Int.max)
        guard whole == lines else { fail("LineFramer (no limit) disagrees with a plain split", input) }
        for event in lines { if case .line(let line) = event { checkJSON(line) } }
        checkJSON(input)
    }

    /// Inputs worth keeping in mind (also the seed corpus of scripts/fuzz.sh).
    static let seeds: [String] = [
        #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1.0"}}"#,
        #"[{"jsonrpc":"2.0","id":"a","method":"healthCheck"},{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"a"}}]"#,
        #"{"jsonrpc":"2.0","id":2.5,"method":"exec","params":{"externalId":"x","command":["sh","-c","echo \"hi\" \\ \u00e9 \ud83d\ude00"],"options":{"timeoutMs":100}}}"#,
        "{\"a\":[1,-0,0.5,1e5,1E-5,-12.75e+3,9223372036854775807,-9223372036854775808,99999999999999999999999]}",
        "\n\n  \r\n{\"x\":null}\n{\"y\":tru\n[[[[[[[[[[]]]]]]]]]]",
        "\"\\u0000\\u001f\\ud800\"",
        "{\"k\":\"\u{7f}\",\"k\":2}",
    ]
}

extension FramingFuzz {
    /// Replay mode: the files (or folders of files) named on the command line, else the seeds.
    static func replay(_ arguments: [String]) {
        var inputs: [(String, [UInt8])] = []
        for path in arguments {
            if let dir = opendir(path) {
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if name == "." || name == ".." { continue }
                    inputs.append(("\(path)/\(name)", readFile("\(path)/\(name)")))
                }
                closedir(dir)
            } else {
                inputs.append((path, readFile(path)))
            }
        }
        if arguments.isEmpty { inputs = seeds.enumerated().map { ("seed \($0.offset)", Array($0.element.utf8)) } }
        for (name, bytes) in inputs {
            check(bytes)
            print("ok \(name) (\(bytes.count) bytes)")
        }
    }

    static func readFile(_ path: String) -> [UInt8] {
        guard let file = fopen(path, "rb") else { return [] }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }
}

#if FUZZING
    // libFuzzer's driver, from the runtime that -sanitize=fuzzer links in. SwiftPM gives an executable's
    // entry point its own name (and points `main` at it), so libFuzzer's `main` is not the one used:
    // the top-level code below hands control to the driver instead.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

    var fuzzArgc = CommandLine.argc
    var fuzzArgv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&fuzzArgc, &fuzzArgv, { data, size in fuzzFramingOneInput(data, size) }))
#else
    FramingFuzz.replay(Array(CommandLine.arguments.dropFirst()))
#endif

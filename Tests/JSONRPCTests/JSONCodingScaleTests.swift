import JSONCoding
import Testing

// Costs that must stay linear in the size of what is written or read (found in review: a reservation
// of exactly what one string needs made every string of a long result copy the whole buffer, and a
// member lookup by scanning made a dictionary of N keys cost N² key comparisons).

@Suite("JSONCoding at scale: linear, not quadratic")
struct JSONCodingScaleTests {
    @Test func aGrowingBufferIsReallocatedGeometrically() {
        var buffer: [UInt8] = []
        var capacities: Set<Int> = []
        let string = String(repeating: "x", count: 60)
        for _ in 0..<2_000 {
            JSONWriter.appendString(string, to: &buffer)
            capacities.insert(buffer.capacity)
        }
        #expect(buffer.count == 2_000 * 62)
        // Doubling from a few bytes to ~140 KB takes under 20 steps; one reservation per string, 2,000.
        #expect(capacities.count < 40, "\(capacities.count) reallocations for 2,000 strings")
    }

    @Test func encodingManyStringsIsByteForByteAndWhole() throws {
        let strings = (0..<5_000).map { "line \($0)\u{8}\u{C}\t\"end\"" }
        let written = try JSONBytesEncoder.encode(strings)
        guard case .array(let items) = try JSONParser.parse(written) else {
            Issue.record("not an array")
            return
        }
        #expect(items.count == 5_000)
        #expect(items.last == .string("line 4999\u{8}\u{C}\t\"end\""))
    }

    @Test(.timeLimit(.minutes(1)))
    func aLargeObjectDecodesInLinearTime() throws {
        // An image with `EXPOSE 10000-65535/tcp` gives a container inspect ~55,000 keys in
        // `Config.ExposedPorts` and in `NetworkSettings.Ports`.
        let count = 60_000
        var text: [UInt8] = Array("{".utf8)
        for port in 0..<count {
            if port > 0 { text.append(UInt8(ascii: ",")) }
            text += Array("\"\(port)/tcp\":\(port)".utf8)
        }
        text.append(UInt8(ascii: "}"))
        let ports = try JSONBytesDecoder().decode([String: Int].self, from: text)
        #expect(ports.count == count)
        #expect(ports["59999/tcp"] == 59_999)
        #expect(ports["0/tcp"] == 0)
    }

    @Test func theFirstOfARepeatedKeyWinsInALargeObjectToo() throws {
        var text = "{\"k\":1"
        for index in 0..<100 { text += ",\"m\(index)\":\(index)" }
        text += ",\"k\":2}"
        struct Model: Decodable { var k: Int }
        #expect(try JSONBytesDecoder().decode(Model.self, from: Array(text.utf8)).k == 1)
        #expect(try JSONBytesDecoder().decode([String: Int].self, from: Array(text.utf8))["k"] == 1)
    }

    @Test func anIntegerBeyondDoublePrecisionIsNotRounded() throws {
        struct Model: Decodable { var value: Int64 }
        for text in ["12345678901234567.0", "9007199254740993.0", "1.2345678901234567e16"] {
            #expect(throws: DecodingError.self, "\(text)") {
                _ = try JSONBytesDecoder().decode(Model.self, from: Array("{\"value\":\(text)}".utf8))
            }
        }
        #expect(try JSONBytesDecoder().decode(Model.self, from: Array("{\"value\":1e3}".utf8)).value == 1000)
        #expect(
            try JSONBytesDecoder().decode(Model.self, from: Array("{\"value\":12345678901234567}".utf8)).value == 12_345_678_901_234_567)
    }
}

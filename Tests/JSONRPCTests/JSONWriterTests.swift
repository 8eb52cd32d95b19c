import Foundation
import JSONCoding
import JSONRPC
import Testing

private func text(_ value: JSONValue) -> String {
    String(decoding: JSONWriter.encode(value), as: UTF8.self)
}

@Suite("JSONWriter")
struct JSONWriterTests {
    @Test(arguments: [
        JSONValue.null,
        .bool(true),
        .bool(false),
        .integer(0),
        .integer(.max),
        .integer(.min),
        .double(1.5),
        .double(-0.1),
        .double(1e300),
        .double(2.5e-8),
        .double(1e20),
        .string(""),
        .string("quote \" backslash \\ slash / tab \t nl \n cr \r bell \u{07} nul \u{0} us \u{1F} del \u{7F}"),
        .string("é日😀 \u{2028}"),
        .array([]),
        .array([.null, .integer(1), .string("x"), .array([.object(JSONObject())])]),
        .object(JSONObject(["z": .integer(1), "a": .array([.bool(false)]), "m": .object(JSONObject(["k": .string("v")]))])),
    ])
    func roundTrips(value: JSONValue) throws {
        #expect(try JSONParser.parse(JSONWriter.encode(value)) == value)
    }

    @Test func writesCompactJSONInKeyOrder() {
        let value = JSONValue.object(JSONObject(["b": .integer(1), "a": .array([.null, .bool(true)]), "c": .double(0.5)]))
        #expect(text(value) == #"{"b":1,"a":[null,true],"c":0.5}"#)
    }

    @Test func escapesQuotesAndBackslash() {
        #expect(text(.string(#"say "hi" \ bye"#)) == #""say \"hi\" \\ bye""#)
    }

    @Test func escapesControlCharacters() {
        #expect(text(.string("\n\r\t")) == #""\n\r\t""#)
        #expect(text(.string("\u{0}\u{01}\u{08}\u{0C}\u{1F}")) == #""\u0000\u0001\u0008\u000c\u001f""#)
    }

    @Test func passesNonASCIIAndSlashThrough() {
        let value = "é日😀/\u{7F}"
        #expect(JSONWriter.encode(.string(value)) == Array("\"\(value)\"".utf8))
    }

    @Test func integralDoublesWriteAsIntegers() {
        #expect(text(.double(3)) == "3")
        #expect(text(.double(-42)) == "-42")
    }

    @Test(arguments: [Double.infinity, -.infinity, .nan])
    func nonFiniteDoublesWriteNull(double: Double) {
        #expect(text(.double(double)) == "null")
    }

    @Test func appendStringAppendsToExistingBuffer() {
        var buffer = Array("x:".utf8)
        JSONWriter.appendString("a\"b", to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == #"x:"a\"b""#)
    }
}

@Suite("LineFramer")
struct LineFramerTests {
    private func events(_ chunks: [[UInt8]], max: Int = 1 << 20, finish: Bool = true) -> [LineFramer.Event] {
        var framer = LineFramer(maxLineBytes: max)
        var events: [LineFramer.Event] = []
        for chunk in chunks {
            chunk.withUnsafeBytes { framer.feed($0) { events.append($0) } }
        }
        if finish { framer.finish { events.append($0) } }
        return events
    }

    private func line(_ text: String) -> LineFramer.Event { .line(Array(text.utf8)) }

    @Test func splitsLinesInOneFeed() {
        #expect(events([Array("one\ntwo\n\nthree\n".utf8)]) == [line("one"), line("two"), line(""), line("three")])
    }

    @Test func joinsLinesAcrossFeeds() {
        let chunks = ["{\"a\":", "1}\n{\"b\"", ":2}\n", "x"].map { Array($0.utf8) }
        #expect(events(chunks) == [line(#"{"a":1}"#), line(#"{"b":2}"#), line("x")])
    }

    @Test func deliversOneByteAtATime() {
        let input = Array("first line\nsecond é😀\nthird\n".utf8)
        #expect(events(input.map { [$0] }) == [line("first line"), line("second é😀"), line("third")])
    }

    @Test func everySplitPointGivesTheSameLines() {
        let input = Array("alpha\nbeta\r\ngamma\n".utf8)
        let expected = [line("alpha"), line("beta\r"), line("gamma")]
        for cut in 0...input.count {
            #expect(events([Array(input[..<cut]), Array(input[cut...])]) == expected, "cut at \(cut)")
        }
    }

    @Test func keepsCarriageReturnInTheLine() throws {
        #expect(events([Array("{}\r\n".utf8)]) == [line("{}\r")])
        #expect(try JSONParser.parse(Array("{}\r".utf8)) == .object(JSONObject()))
    }

    @Test func finishDeliversAFinalLineWithoutNewline() {
        #expect(events([Array("a\nlast".utf8)]) == [line("a"), line("last")])
        #expect(events([Array("a\nlast".utf8)], finish: false) == [line("a")])
    }

    @Test func finishWithNothingPendingDeliversNothing() {
        #expect(events([Array("a\n".utf8)]) == [line("a")])
        #expect(events([]).isEmpty)
    }

    @Test func lineAtTheLimitIsKept() {
        #expect(events([Array("12345\n".utf8)], max: 5) == [line("12345")])
    }

    @Test func overLongLineIsReportedAndTheNextLineDelivered() {
        #expect(events([Array("123456\nok\n".utf8)], max: 5) == [.tooLong, line("ok")])
    }

    @Test(arguments: [1, 7, 64, 1000])
    func lineAtAnOddLimitSurvivesEveryGrowthStep(chunkSize: Int) {
        let limit = 10_007
        let text = (0..<limit).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        var chunks = stride(from: 0, to: text.count, by: chunkSize).map { Array(text[$0..<min($0 + chunkSize, text.count)]) }
        chunks.append(Array("\n".utf8))
        #expect(events(chunks, max: limit) == [.line(text)])
        #expect(events([[0x78]] + chunks, max: limit) == [.tooLong])
    }

    @Test func overLongLineAcrossFeedsIsReportedOnce() {
        let chunks = ["123", "456", "789", "\nok", "\n"].map { Array($0.utf8) }
        #expect(events(chunks, max: 5) == [.tooLong, line("ok")])
    }

    @Test func overLongLineOneByteAtATime() {
        let input = Array("abcdefgh\nxy\n".utf8)
        #expect(events(input.map { [$0] }, max: 4) == [.tooLong, line("xy")])
    }

    @Test func overLongFinalLineIsReportedByFinish() {
        #expect(events([Array("ok\n123456".utf8)], max: 5) == [line("ok"), .tooLong])
    }
}

@Suite("Base64")
struct Base64Tests {
    @Test func matchesFoundationForEveryTailLength() {
        for count in 0..<300 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString(), "\(count) bytes")
            #expect(Base64.encode(bytes[...]) == Data(bytes).base64EncodedString(), "\(count) bytes as a slice")
        }
    }

    @Test(arguments: [3071, 3072, 3073, 6144, 10_000])
    func matchesFoundationAcrossBlocks(count: Int) {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        #expect(Base64.encode(bytes) == Data(bytes).base64EncodedString())
    }

    @Test func appendsAfterWhatTheBufferHolds() {
        var buffer = Array("prefix:".utf8)
        Base64.append([0xFF, 0x00, 0x80], to: &buffer)
        Base64.append(Array("hi".utf8), to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == "prefix:/wCAaGk=")
    }

    @Test func urlAlphabetSwapsOnlyPlusAndSlash() {
        for count in 0..<300 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let standard = Data(bytes).base64EncodedString()
            #expect(Base64.encode(bytes, alphabet: .url) == standard.replacing("+", with: "-").replacing("/", with: "_"), "\(count) bytes")
        }
    }

    @Test func decodesWhatItEncodesAndRefusesWhatFoundationRefuses() {
        for count in 0..<300 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 53 &+ 3) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes, "\(count) bytes")
        }
        for text in ["QQ", "QQ= =", " QQ==", "QQ==\n", "QQ-_", "é123"] {
            #expect(Base64.decode(text) == Data(base64Encoded: text).map { [UInt8]($0) }, "\(text.debugDescription)")
            #expect(Base64.decode(text) == nil, "\(text.debugDescription)")
        }
    }
}

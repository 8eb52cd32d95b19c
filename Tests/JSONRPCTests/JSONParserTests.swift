import JSONCoding
import JSONRPC
import Testing

private func parse(_ text: String) throws(JSONParser.ParseError) -> JSONValue {
    try JSONParser.parse(Array(text.utf8))
}

private func nested(depth: Int) -> String {
    String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
}

@Suite("JSONParser")
struct JSONParserTests {
    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("0", .integer(0)),
        ("42", .integer(42)),
        ("-17", .integer(-17)),
        ("9223372036854775807", .integer(.max)),
        ("-9223372036854775808", .integer(.min)),
        ("1.5", .double(1.5)),
        ("-0.25", .double(-0.25)),
        ("1e3", .double(1000)),
        ("1E+2", .double(100)),
        ("2.5e-3", .double(0.0025)),
        (#""hi""#, .string("hi")),
        (#""""#, .string("")),
        ("[]", .array([])),
        ("{}", .object(JSONObject())),
        (#"[1,"a",null,[true]]"#, .array([.integer(1), .string("a"), .null, .array([.bool(true)])])),
        (#"{"a":{"b":[]}}"#, .object(JSONObject(["a": .object(JSONObject(["b": .array([])]))]))),
    ])
    func parsesValidValues(text: String, expected: JSONValue) throws {
        #expect(try parse(text) == expected)
    }

    @Test func integersBeyondInt64BecomeDoubles() throws {
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try parse("-9223372036854775809") == .double(-9.223372036854775808e18))
        #expect(try parse("123456789012345678901234567890") == .double(1.2345678901234568e29))
    }

    @Test func negativeZero() throws {
        #expect(try parse("-0") == .integer(0))
        let value = try parse("-0.0")
        guard case .double(let double) = value else {
            Issue.record("expected a double, got \(value)")
            return
        }
        #expect(double == 0 && double.sign == .minus)
    }

    @Test(arguments: [
        (#""a\"b""#, "a\"b"),
        (#""back\\slash""#, "back\\slash"),
        (#""\/""#, "/"),
        (#""\b\f\n\r\t""#, "\u{08}\u{0C}\n\r\t"),
        (#""\u0041\u00e9\u20AC""#, "Aé€"),
        (#""\ud83d\ude00""#, "😀"),
        (#""x\uD83D\uDE00y""#, "x😀y"),
        (#""\u0000""#, "\u{0}"),
        ("\"é日😀\"", "é日😀"),
        (#""plain then \n escape""#, "plain then \n escape"),
    ])
    func unescapesStrings(text: String, expected: String) throws {
        #expect(try parse(text) == .string(expected))
    }

    /// RFC 8259 § 8.2: an unpaired surrogate escape is valid JSON; it reads as U+FFFD.
    @Test(
        arguments: [
            (#""\ud800""#, "\u{FFFD}"),
            (#""\udc00""#, "\u{FFFD}"),
            (#""\ud800\u0041""#, "\u{FFFD}A"),
            (#""\ud800x""#, "\u{FFFD}x"),
            (#""\ud800\n""#, "\u{FFFD}\n"),
            (#""\udfff\ud800""#, "\u{FFFD}\u{FFFD}"),
            (#""\ud83d\ud83d\ude00""#, "\u{FFFD}😀"),
            (#""a\ud83d""#, "a\u{FFFD}"),
            (#""\ud83d\u12""#, nil),
            (#""\ude00\ud83d\ude00\ud83d""#, "\u{FFFD}😀\u{FFFD}"),
        ] as [(String, String?)])
    func unpairedSurrogatesReadAsReplacementCharacter(text: String, expected: String?) throws {
        if let expected {
            #expect(try parse(text) == .string(expected))
        } else {
            #expect(throws: JSONParser.ParseError.self) { try parse(text) }
        }
    }

    @Test(
        arguments: [
            [0x22, 0xFF, 0x22],
            [0x22, 0xC0, 0x80, 0x22],  // overlong NUL
            [0x22, 0xE2, 0x82, 0x22],  // truncated sequence
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // encoded surrogate
            [0x22, 0x5C, 0x6E, 0xFF, 0x22],  // after an escape (slow path)
        ] as [[UInt8]])
    func rejectsInvalidUTF8(bytes: [UInt8]) {
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse(bytes) }
    }

    @Test(arguments: [0x00, 0x01, 0x0A, 0x0D, 0x1F] as [UInt8])
    func rejectsUnescapedControlCharacters(byte: UInt8) {
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse([0x22, 0x61, byte, 0x22]) }
        #expect(throws: JSONParser.ParseError.self) { try JSONParser.parse([0x22, 0x5C, 0x74, byte, 0x22]) }
    }

    @Test(arguments: [
        "", " ", "\n", "nul", "tru", "True", "[1,]", "[1 2]", "{\"a\"}", "{\"a\":1,}", "{a:1}", "[", "{", "\"open",
        "01", "-", "+1", ".5", "1.", "1e", "1e+", "--1", "0x10", "'a'", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "NaN",
        "1e400", "-1e400", "[1E+999]",
    ])
    func rejectsMalformedText(text: String) {
        #expect(throws: JSONParser.ParseError.self) { try parse(text) }
    }

    @Test(arguments: ["{} x", "1 2", "[]]", "null,", "\"a\"\"b\"", "{}\u{0}"])
    func rejectsTrailingGarbage(text: String) {
        #expect(throws: JSONParser.ParseError.self) { try parse(text) }
    }

    @Test func errorReportsOffset() {
        do {
            _ = try parse("[1, x]")
            Issue.record("expected a parse error")
        } catch {
            #expect(error.offset == 4)
            #expect(error.description.hasSuffix("at byte 4"))
        }
    }

    @Test func acceptsSurroundingWhitespace() throws {
        #expect(try parse(" \t\r\n{ \"a\" : [ 1 , 2 ] }\r\n ") == .object(JSONObject(["a": .array([.integer(1), .integer(2)])])))
        #expect(try parse("{}\r") == .object(JSONObject()))
    }

    @Test func nestingAtTheLimitIsAccepted() throws {
        #expect(throws: Never.self) { try parse(nested(depth: JSONParser.maximumDepth)) }
        let objects =
            String(repeating: "{\"a\":", count: JSONParser.maximumDepth - 1) + "[]"
            + String(repeating: "}", count: JSONParser.maximumDepth - 1)
        #expect(throws: Never.self) { try parse(objects) }
    }

    @Test func nestingBeyondTheLimitIsRejected() {
        #expect(throws: JSONParser.ParseError.self) { try parse(nested(depth: JSONParser.maximumDepth + 1)) }
        let objects =
            String(repeating: "{\"a\":", count: JSONParser.maximumDepth) + "[]"
            + String(repeating: "}", count: JSONParser.maximumDepth)
        #expect(throws: JSONParser.ParseError.self) { try parse(objects) }
    }

    @Test func objectKeysKeepSourceOrder() throws {
        let value = try parse(#"{"zeta":1,"alpha":2,"mid":3}"#)
        guard case .object(let object) = value else {
            Issue.record("expected an object")
            return
        }
        #expect(object.keys == ["zeta", "alpha", "mid"])
        #expect(object.members.map(\.key) == ["zeta", "alpha", "mid"])
    }

    @Test func duplicateKeysLastWinsAtFirstPosition() throws {
        let value = try parse(#"{"a":1,"b":2,"a":3}"#)
        guard case .object(let object) = value else {
            Issue.record("expected an object")
            return
        }
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == .integer(3))
        #expect(object.count == 2)
    }

    @Test func subscriptReadsObjectMembers() throws {
        let value = try parse(#"{"id":7}"#)
        #expect(value["id"] == .integer(7))
        #expect(value["missing"] == nil)
        #expect(JSONValue.array([])["id"] == nil)
    }
}

import FoundationEssentials

/// A `Decoder` straight over UTF-8 JSON text that builds only what the type reads and skips the
/// rest: for the engine's answers, where a model reads 25 of a container inspect's ~300 members.
/// Foundation's `JSONDecoder` maps the whole text first and hashes every key of every object it
/// opens (`HostConfig`'s ~90 to read `NetworkMode`); this one notes where each member of an object
/// it opens starts, compares keys as bytes, and parses a value only when it is decoded: a Docker
/// `ContainerInspect` (4.9 KB) costs 274 k instructions against `JSONDecoder`'s ~510 k (callgrind, release).
///
/// Decodes what `JSONDecoder` with its default strategies decodes: a missing key or `null` is nil
/// for `decodeIfPresent`; integers must be exact (`1.0` reads as 1, `1.5` or 300 for a `UInt8` is
/// an error); `Date` as seconds since 2001, `Data` from base64, `URL` from a string; the first of
/// a repeated key wins. The text is checked as far as it is read: an object or array opened is
/// checked for its structure (a truncated text is refused), a string read for its UTF-8 and
/// escapes; `JSONDecoder` refuses a fault anywhere (a bad escape in a skipped string, trailing
/// bytes after the value).
public struct JSONBytesDecoder: Sendable {
    /// A decoder.
    public init() {}

    /// Decodes `type` from one JSON text that fills `bytes` (surrounding whitespace allowed).
    /// - Throws: `DecodingError` (`dataCorrupted` for text that is not JSON, naming the byte offset;
    ///   `keyNotFound`, `typeMismatch`, `valueNotFound` as `JSONDecoder` throws them).
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBufferPointer { buffer in
            var cursor = JSONParser.Cursor(bytes: buffer)
            cursor.skipWhitespace()
            let start = cursor.index
            guard start < buffer.count else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "The given data was not valid JSON: no value."))
            }
            let decoder = ValueDecoder(text: buffer, start: start, parent: nil, key: nil)
            return try decoder.unwrap(type)
        }
    }

    /// The decoder of the value that starts at `start` (its first byte, whitespace skipped). Lives
    /// only during ``JSONBytesDecoder/decode(_:from:)``: it points into the text.
    final class ValueDecoder: Decoder, SingleValueDecodingContainer {
        let text: UnsafeBufferPointer<UInt8>
        let start: Int
        let parent: ValueDecoder?
        let key: (any CodingKey)?

        init(text: UnsafeBufferPointer<UInt8>, start: Int, parent: ValueDecoder?, key: (any CodingKey)?) {
            self.text = text
            self.start = start
            self.parent = parent
            self.key = key
        }

        var codingPath: [any CodingKey] {
            var path: [any CodingKey] = []
            var decoder: ValueDecoder? = self
            while let current = decoder {
                if let key = current.key { path.append(key) }
                decoder = current.parent
            }
            return path.reversed()
        }

        var userInfo: [CodingUserInfoKey: Any] { [:] }

        var first: UInt8 { text[start] }

        func typeName() -> String {
            switch first {
            case UInt8(ascii: "{"): "a dictionary"
            case UInt8(ascii: "["): "an array"
            case UInt8(ascii: "\""): "a string"
            case UInt8(ascii: "t"), UInt8(ascii: "f"): "bool"
            case UInt8(ascii: "n"): "null"
            default: "a number"
            }
        }

        func mismatch(_ type: Any.Type) -> DecodingError {
            if first == UInt8(ascii: "n") {
                return .valueNotFound(
                    type, .init(codingPath: codingPath, debugDescription: "Cannot get \(type) -- found null value instead"))
            }
            return .typeMismatch(
                type, .init(codingPath: codingPath, debugDescription: "Expected to decode \(type) but found \(typeName()) instead."))
        }

        func corrupted(_ error: JSONParser.ParseError) -> DecodingError {
            .dataCorrupted(.init(codingPath: codingPath, debugDescription: "\(error)", underlyingError: error))
        }

        /// Decodes `type` from this value, with the types `JSONDecoder` treats apart.
        func unwrap<T: Decodable>(_ type: T.Type) throws -> T {
            if T.self == String.self, let string = try decode(String.self) as? T { return string }
            if T.self == URL.self {
                guard let url = URL(string: try decode(String.self)), let value = url as? T else {
                    throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "Invalid URL string."))
                }
                return value
            }
            if T.self == Data.self {
                guard let bytes = Base64.decode(try decode(String.self)), let value = Data(bytes) as? T else {
                    throw DecodingError.dataCorrupted(
                        .init(codingPath: codingPath, debugDescription: "Encountered Data is not valid Base64."))
                }
                return value
            }
            return try T(from: self)
        }

        /// The decoder of a member or element that starts at `start`.
        func child(at start: Int, key: any CodingKey) -> ValueDecoder {
            ValueDecoder(text: text, start: start, parent: self, key: key)
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            guard first == UInt8(ascii: "{") else { throw mismatch([String: Any].self) }
            return KeyedDecodingContainer(try KeyedContainer<Key>(decoder: self))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            guard first == UInt8(ascii: "[") else { throw mismatch([Any].self) }
            return try UnkeyedContainer(decoder: self)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

        // SingleValueDecodingContainer

        func decodeNil() -> Bool { first == UInt8(ascii: "n") }

        func decode(_ type: Bool.Type) throws -> Bool {
            switch first {
            case UInt8(ascii: "t"): return true
            case UInt8(ascii: "f"): return false
            default: throw mismatch(type)
            }
        }

        func decode(_ type: String.Type) throws -> String {
            guard first == UInt8(ascii: "\"") else { throw mismatch(type) }
            var cursor = JSONParser.Cursor(bytes: text)
            cursor.index = start
            do {
                return try cursor.parseString()
            } catch {
                throw corrupted(error)
            }
        }

        /// The number's text and whether it is an integer.
        func numberText<T>(_ type: T.Type) throws -> (text: UnsafeBufferPointer<UInt8>, isInteger: Bool) {
            guard first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { throw mismatch(type) }
            var cursor = JSONParser.Cursor(bytes: text)
            cursor.index = start
            do {
                let isInteger = try cursor.numberEnd()
                return (UnsafeBufferPointer(rebasing: text[start..<cursor.index]), isInteger)
            } catch {
                throw corrupted(error)
            }
        }

        func decodeFloat<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type) throws -> T {
            let (digits, _) = try numberText(type)
            guard let value = T(String(decoding: digits, as: UTF8.self)), value.isFinite else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: codingPath,
                        debugDescription: "Number \(String(decoding: digits, as: UTF8.self)) does not fit in \(T.self)."))
            }
            return value
        }

        func decodeInteger<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
            let (digits, isInteger) = try numberText(type)
            if isInteger {
                // Digits only (and a leading minus): accumulate with overflow checks.
                var value: T = 0
                let negative = digits[0] == UInt8(ascii: "-")
                for byte in digits[(negative ? 1 : 0)...] {
                    let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                    let digit = T(byte &- UInt8(ascii: "0"))
                    let (next, overflow2) =
                        negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
                    guard !overflow1, !overflow2 else { throw tooLarge(digits, type) }
                    value = next
                }
                return value
            }
            // `1.0`, `1e3`: exact integers only. From 2^53 on a Double no longer holds every integer
            // (`9007199254740993.0` reads as …992), so such text is refused rather than rounded.
            guard let double = Double(String(decoding: digits, as: UTF8.self)), double.magnitude < 0x1p53,
                let value = T(exactly: double)
            else {
                throw tooLarge(digits, type)
            }
            return value
        }

        func tooLarge<T>(_ digits: UnsafeBufferPointer<UInt8>, _ type: T.Type) -> DecodingError {
            .dataCorrupted(
                .init(
                    codingPath: codingPath,
                    debugDescription: "Parsed JSON number <\(String(decoding: digits, as: UTF8.self))> does not fit in \(T.self)."))
        }

        func decode(_ type: Double.Type) throws -> Double { try decodeFloat(type) }
        func decode(_ type: Float.Type) throws -> Float { try decodeFloat(type) }
        func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try unwrap(type) }
    }

    /// One member of an object: where its key's text (inside the quotes) and its value start.
    struct Member {
        var keyStart: Int
        var keyEnd: Int
        /// Whether the key has escapes (then it is compared as a decoded string).
        var keyEscaped: Bool
        var valueStart: Int
    }

    /// Lookups by name for a large object read key by key (`Dictionary.init(from:)` asks for every
    /// key): after a few scans, one table of where each name's first value starts, so decoding N
    /// members costs O(N), not N² key comparisons (an image with `EXPOSE 10000-65535` gives an
    /// inspect 55,000 `ExposedPorts` keys).
    final class MemberIndex {
        /// Scans made so far.
        var scans = 0
        /// Name → where its first value starts, once built.
        var positions: [String: Int]?
        /// Objects with more members than this get a table after ``scansBeforeTable`` scans.
        static let largeObject = 32
        static let scansBeforeTable = 8
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: ValueDecoder
        let members: [Member]
        let index = MemberIndex()

        init(decoder: ValueDecoder) throws {
            self.decoder = decoder
            var members: [Member] = []
            var cursor = JSONParser.Cursor(bytes: decoder.text)
            cursor.index = decoder.start + 1
            do throws(JSONParser.ParseError) {
                cursor.skipWhitespace()
                guard cursor.index < cursor.bytes.count else { throw cursor.error("unexpected end of input") }
                if cursor.bytes[cursor.index] == UInt8(ascii: "}") {
                    cursor.index += 1
                } else {
                    while true {
                        cursor.skipWhitespace()
                        guard cursor.index < cursor.bytes.count, cursor.bytes[cursor.index] == UInt8(ascii: "\"") else {
                            throw cursor.error("expected a string key")
                        }
                        let keyStart = cursor.index + 1
                        let escaped = try cursor.skipString()
                        let keyEnd = cursor.index - 1
                        cursor.skipWhitespace()
                        guard cursor.index < cursor.bytes.count, cursor.bytes[cursor.index] == UInt8(ascii: ":") else {
                            throw cursor.error("expected ':'")
                        }
                        cursor.index += 1
                        cursor.skipWhitespace()
                        members.append(Member(keyStart: keyStart, keyEnd: keyEnd, keyEscaped: escaped, valueStart: cursor.index))
                        try cursor.skipValue(depth: 0)
                        cursor.skipWhitespace()
                        guard cursor.index < cursor.bytes.count else { throw cursor.error("unexpected end of input") }
                        let separator = cursor.bytes[cursor.index]
                        cursor.index += 1
                        if separator == UInt8(ascii: "}") { break }
                        guard separator == UInt8(ascii: ",") else { throw cursor.error("expected ',' or '}'") }
                    }
                }
            } catch {
                throw decoder.corrupted(error)
            }
            self.members = members
        }

        var codingPath: [any CodingKey] { decoder.codingPath }

        func keyString(_ member: Member) -> String {
            if member.keyEscaped {
                var cursor = JSONParser.Cursor(bytes: decoder.text)
                cursor.index = member.keyStart - 1
                if let string = try? cursor.parseString() { return string }
            }
            return String(decoding: UnsafeBufferPointer(rebasing: decoder.text[member.keyStart..<member.keyEnd]), as: UTF8.self)
        }

        var allKeys: [Key] { members.compactMap { Key(stringValue: keyString($0)) } }

        /// Where the value of `key` starts (the first member of that name, as `JSONDecoder` reads), or nil.
        func valueStart(_ key: Key) -> Int? {
            if members.count > MemberIndex.largeObject {
                if let positions = index.positions { return positions[key.stringValue] }
                index.scans += 1
                if index.scans > MemberIndex.scansBeforeTable {
                    var positions: [String: Int] = [:]
                    positions.reserveCapacity(members.count)
                    for member in members {
                        let name = keyString(member)
                        if positions[name] == nil { positions[name] = member.valueStart }
                    }
                    index.positions = positions
                    return positions[key.stringValue]
                }
            }
            var name = key.stringValue
            let text = decoder.text
            return name.withUTF8 { wanted -> Int? in
                var index = 0
                while index < members.count {
                    let member = members[index]
                    index += 1
                    if member.keyEscaped {
                        if keyString(member) == key.stringValue { return member.valueStart }
                        continue
                    }
                    guard member.keyEnd - member.keyStart == wanted.count else { continue }
                    var offset = 0
                    while offset < wanted.count, wanted[offset] == text[member.keyStart + offset] { offset += 1 }
                    if offset == wanted.count { return member.valueStart }
                }
                return nil
            }
        }

        func contains(_ key: Key) -> Bool { valueStart(key) != nil }

        func value(_ key: Key) throws -> ValueDecoder {
            guard let start = valueStart(key) else {
                throw DecodingError.keyNotFound(
                    key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
            }
            return decoder.child(at: start, key: key)
        }

        func decodeNil(forKey key: Key) throws -> Bool { try value(key).decodeNil() }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try value(key).decode(type) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try value(key).decode(type) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try value(key).decode(type) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try value(key).decode(type) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try value(key).decode(type) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try value(key).decode(type) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try value(key).decode(type) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try value(key).decode(type) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try value(key).decode(type) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try value(key).decode(type) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try value(key).decode(type) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try value(key).decode(type) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try value(key).decode(type) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try value(key).decode(type) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try value(key).unwrap(type) }

        /// nil for a missing key or `null`, as `JSONDecoder` decodes.
        /// The value of `key` unless it is missing or `null`.
        func present(_ key: Key) -> ValueDecoder? {
            guard let start = valueStart(key), decoder.text[start] != UInt8(ascii: "n") else { return nil }
            return decoder.child(at: start, key: key)
        }

        func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try present(key)?.decode(type) }
        func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try present(key)?.decode(type) }
        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try present(key)?.unwrap(type) }

        func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type, forKey key: Key
        ) throws -> KeyedDecodingContainer<NestedKey> {
            try value(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try value(key).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            guard let superKey = Key(stringValue: "super"), let start = valueStart(superKey) else {
                return ValueDecoder(text: Self.null, start: 0, parent: decoder, key: nil)
            }
            return decoder.child(at: start, key: superKey)
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            guard let start = valueStart(key) else { return ValueDecoder(text: Self.null, start: 0, parent: decoder, key: key) }
            return decoder.child(at: start, key: key)
        }

        /// `null`, for a super decoder of a missing key.
        static var null: UnsafeBufferPointer<UInt8> {
            let text: StaticString = "null"
            return UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
        }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let decoder: ValueDecoder
        let starts: [Int]
        var currentIndex = 0

        init(decoder: ValueDecoder) throws {
            self.decoder = decoder
            var starts: [Int] = []
            var cursor = JSONParser.Cursor(bytes: decoder.text)
            cursor.index = decoder.start + 1
            do throws(JSONParser.ParseError) {
                cursor.skipWhitespace()
                guard cursor.index < cursor.bytes.count else { throw cursor.error("unexpected end of input") }
                if cursor.bytes[cursor.index] == UInt8(ascii: "]") {
                    cursor.index += 1
                } else {
                    while true {
                        cursor.skipWhitespace()
                        starts.append(cursor.index)
                        try cursor.skipValue(depth: 0)
                        cursor.skipWhitespace()
                        guard cursor.index < cursor.bytes.count else { throw cursor.error("unexpected end of input") }
                        let separator = cursor.bytes[cursor.index]
                        cursor.index += 1
                        if separator == UInt8(ascii: "]") { break }
                        guard separator == UInt8(ascii: ",") else { throw cursor.error("expected ',' or ']'") }
                    }
                }
            } catch {
                throw decoder.corrupted(error)
            }
            self.starts = starts
        }

        var codingPath: [any CodingKey] { decoder.codingPath }
        var count: Int? { starts.count }
        var isAtEnd: Bool { currentIndex >= starts.count }

        mutating func next<T>(_ type: T.Type) throws -> ValueDecoder {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(
                    type,
                    .init(codingPath: codingPath + [IndexKey(intValue: currentIndex)], debugDescription: "Unkeyed container is at end."))
            }
            defer { currentIndex += 1 }
            return decoder.child(at: starts[currentIndex], key: IndexKey(intValue: currentIndex))
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(
                    Any?.self, .init(codingPath: codingPath, debugDescription: "Unkeyed container is at end."))
            }
            if decoder.text[starts[currentIndex]] == UInt8(ascii: "n") {
                currentIndex += 1
                return true
            }
            return false
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type).decode(type) }
        mutating func decode(_ type: String.Type) throws -> String { try next(type).decode(type) }
        mutating func decode(_ type: Double.Type) throws -> Double { try next(type).decode(type) }
        mutating func decode(_ type: Float.Type) throws -> Float { try next(type).decode(type) }
        mutating func decode(_ type: Int.Type) throws -> Int { try next(type).decode(type) }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type).decode(type) }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type).decode(type) }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type).decode(type) }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type).decode(type) }
        mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type).decode(type) }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type).decode(type) }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type).decode(type) }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type).decode(type) }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type).decode(type) }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).unwrap(type) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next(type).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try next([Any].self).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder { try next(Any.self) }
    }

    /// An array element's place in a coding path.
    struct IndexKey: CodingKey {
        var intValue: Int?
        var stringValue: String { "Index \(intValue ?? 0)" }
        init(intValue: Int) { self.intValue = intValue }
        init?(stringValue: String) { nil }
    }
}

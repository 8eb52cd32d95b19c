/// Decodes `Decodable` types from a ``JSONValue`` tree, keeping object key order in `allKeys`,
/// so request parameters are parsed once and decoded without a second pass over the bytes.
public struct JSONValueDecoder {
    /// Whether a member of an object that the decoded type never asks for is an error
    /// (`DecodingError.dataCorrupted` at that member's path, "is not a known member"). Maps read
    /// whole (`[String: String]`, ``OrderedStringMap``) and ``JSONValue`` members know every key.
    public var refusesUnknownMembers: Bool

    /// A decoder; `refusesUnknownMembers` as above (off: unknown members are ignored).
    public init(refusesUnknownMembers: Bool = false) { self.refusesUnknownMembers = refusesUnknownMembers }

    /// Decodes `type` from `value`.
    /// - Throws: `DecodingError` naming the path of the first wrong, missing or (with
    ///   ``refusesUnknownMembers``) unknown member.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        let tracker = refusesUnknownMembers ? MemberTracker() : nil
        let result = try decodeScalar(type, value, [], tracker)
        try tracker?.checkAllRead()
        return result
    }
}

/// A `Decodable` whose object may carry members it does not read, even when the decoder
/// ``JSONValueDecoder/refusesUnknownMembers``: a value the host passes back as the worker gave it
/// (a `SnapshotRef`), whose shape a later minor version may extend.
public protocol AllowsUnknownMembers {}

/// Which members of each object a decode asked for, by the object's path.
final class MemberTracker {
    private struct Entry {
        var path: [any CodingKey]
        var keys: [String]
        var read: Set<String> = []
        var readAll = false
    }
    private var entries: [String: Entry] = [:]
    private var order: [String] = []

    private static func text(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
    }

    func saw(_ object: JSONObject, at path: [any CodingKey]) -> String {
        let key = Self.text(path)
        if entries[key] == nil {
            entries[key] = Entry(path: path, keys: object.keys)
            order.append(key)
        }
        return key
    }

    func read(_ member: String, in object: String) { entries[object]?.read.insert(member) }
    func readAll(in object: String) { entries[object]?.readAll = true }

    /// - Throws: `DecodingError.dataCorrupted` at the first member no container asked for.
    func checkAllRead() throws {
        for key in order {
            guard let entry = entries[key], !entry.readAll else { continue }
            if let unknown = entry.keys.first(where: { !entry.read.contains($0) }) {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: entry.path + [AnyCodingKey(stringValue: unknown)], debugDescription: "is not a known member"))
            }
        }
    }
}

/// A coding key for array positions and dynamic object keys.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = "[\(intValue)]"
        self.intValue = intValue
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let tracker: MemberTracker?
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw DecodingError.typeMismatch(
                [String: Any].self, .init(codingPath: codingPath, debugDescription: "expected an object, found \(value.typeName)"))
        }
        let objectKey = tracker?.saw(object, at: codingPath)
        return KeyedDecodingContainer(KeyedContainer<Key>(object: object, codingPath: codingPath, tracker: tracker, objectKey: objectKey))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw DecodingError.typeMismatch(
                [Any].self, .init(codingPath: codingPath, debugDescription: "expected an array, found \(value.typeName)"))
        }
        return UnkeyedContainer(elements: elements, codingPath: codingPath, tracker: tracker)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(value: value, codingPath: codingPath, tracker: tracker)
    }
}

private func mismatch(_ type: Any.Type, _ expected: String, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
    .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(expected), found \(value.typeName)"))
}

private func decodeScalar<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey], _ tracker: MemberTracker?)
    throws -> T
{
    switch type {
    case is String.Type:
        guard case .string(let string) = value else { throw mismatch(type, "a string", value, path) }
        return try cast(string, path)
    case is Bool.Type:
        guard case .bool(let bool) = value else { throw mismatch(type, "a boolean", value, path) }
        return try cast(bool, path)
    case is Double.Type:
        return try cast(double(value, path), path)
    case is Float.Type:
        return try cast(Float(try double(value, path)), path)
    case is Int.Type: return try cast(integer(Int.self, value, path), path)
    case is Int64.Type: return try cast(integer(Int64.self, value, path), path)
    case is Int32.Type: return try cast(integer(Int32.self, value, path), path)
    case is UInt16.Type: return try cast(integer(UInt16.self, value, path), path)
    case is UInt32.Type: return try cast(integer(UInt32.self, value, path), path)
    case is UInt64.Type: return try cast(integer(UInt64.self, value, path), path)
    case is UInt.Type: return try cast(integer(UInt.self, value, path), path)
    case is JSONValue.Type: return try cast(value, path)
    case is any AllowsUnknownMembers.Type:
        return try T(from: ValueDecoder(value: value, codingPath: path, tracker: nil))
    default:
        // Seen before decoding: a type that asks for no member at all (a method without params)
        // still has every member it was given counted as unknown.
        if let tracker, case .object(let object) = value { _ = tracker.saw(object, at: path) }
        return try T(from: ValueDecoder(value: value, codingPath: path, tracker: tracker))
    }
}

/// `value` as `T`. The `switch` on `T` in ``decodeScalar(_:_:_:_:)`` has made sure it is one, so
/// this never throws; it stands in for a force cast.
/// - Throws: `DecodingError.typeMismatch` if `value` is not a `T` after all.
@inline(__always)
private func cast<Value, T>(_ value: Value, _ path: [any CodingKey]) throws -> T {
    guard let typed = value as? T else {
        throw DecodingError.typeMismatch(
            T.self, .init(codingPath: path, debugDescription: "found \(Value.self) where \(T.self) was decoded"))
    }
    return typed
}

private func double(_ value: JSONValue, _ path: [any CodingKey]) throws -> Double {
    switch value {
    case .integer(let integer): return Double(integer)
    case .double(let double) where double.isFinite: return double
    case .double: throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "number out of range"))
    default: throw mismatch(Double.self, "a number", value, path)
    }
}

private func integer<T: FixedWidthInteger>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
    switch value {
    case .integer(let integer):
        guard let result = T(exactly: integer) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "number out of range"))
        }
        return result
    case .double(let double):
        guard double.isFinite, double == double.rounded(), let result = T(exactly: double) else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "expected an integer in range"))
        }
        return result
    default:
        throw mismatch(type, "an integer", value, path)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let codingPath: [any CodingKey]
    let tracker: MemberTracker?
    /// This object's entry in `tracker`.
    let objectKey: String?

    var allKeys: [Key] {
        if let objectKey { tracker?.readAll(in: objectKey) }
        return object.keys.compactMap { Key(stringValue: $0) }
    }

    private func note(_ key: Key) {
        if let objectKey { tracker?.read(key.stringValue, in: objectKey) }
    }

    func contains(_ key: Key) -> Bool {
        note(key)
        return object[key.stringValue] != nil
    }

    private func value(for key: Key) throws -> JSONValue {
        note(key)
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "is required"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        note(key)
        guard let value = object[key.stringValue] else { return true }
        return value == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let value = try value(for: key)
        if value == .null, !(type is JSONValue.Type) {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [key], debugDescription: "must not be null"))
        }
        return try decodeScalar(type, value, codingPath + [key], tracker)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        note(key)
        guard let value = object[key.stringValue], value != .null else { return nil }
        return try decodeScalar(type, value, codingPath + [key], tracker)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try ValueDecoder(value: try value(for: key), codingPath: codingPath + [key], tracker: tracker).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try value(for: key), codingPath: codingPath + [key], tracker: tracker).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { ValueDecoder(value: .object(object), codingPath: codingPath, tracker: tracker) }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        note(key)
        return ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: codingPath + [key], tracker: tracker)
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let tracker: MemberTracker?
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey], tracker: MemberTracker?) {
        self.elements = elements
        self.codingPath = codingPath
        self.tracker = tracker
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(JSONValue.self, .init(codingPath: codingPath, debugDescription: "array too short"))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], codingPath + [AnyCodingKey(intValue: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next()
        if value == .null, !(type is JSONValue.Type) {
            throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "must not be null"))
        }
        return try decodeScalar(type, value, path, tracker)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next()
        return try ValueDecoder(value: value, codingPath: path, tracker: tracker).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next()
        return try ValueDecoder(value: value, codingPath: path, tracker: tracker).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next()
        return ValueDecoder(value: value, codingPath: path, tracker: tracker)
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let tracker: MemberTracker?

    func decodeNil() -> Bool { value == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if value == .null, !(type is JSONValue.Type) {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "must not be null"))
        }
        return try decodeScalar(type, value, codingPath, tracker)
    }
}

extension JSONValue: Decodable {
    /// Decodes any JSON value (used for free-form members such as `config`).
    public init(from decoder: any Decoder) throws {
        if let decoder = decoder as? ValueDecoder {
            self = decoder.value
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else if let double = try? container.decode(Double.self) {
            self = .double(double)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([JSONValue].self) {
            self = .array(array)
        } else {
            let keyed = try decoder.container(keyedBy: AnyCodingKey.self)
            var object = JSONObject()
            for key in keyed.allKeys { object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(object)
        }
    }
}

extension JSONValue: Encodable {
    /// Encodes the value as itself.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let bool):
            var container = encoder.singleValueContainer()
            try container.encode(bool)
        case .integer(let integer):
            var container = encoder.singleValueContainer()
            try container.encode(integer)
        case .double(let double):
            var container = encoder.singleValueContainer()
            try container.encode(double)
        case .string(let string):
            var container = encoder.singleValueContainer()
            try container.encode(string)
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements { try container.encode(element) }
        case .object(let object):
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            for member in object.members { try container.encode(member.value, forKey: AnyCodingKey(stringValue: member.key)) }
        }
    }
}

/// A string-to-string map that keeps the order its keys were written in (for `env`).
public struct OrderedStringMap: Decodable, Sendable, Equatable {
    /// The entries in order.
    public var entries: [(key: String, value: String)]

    /// A map with the given entries.
    public init(_ entries: [(key: String, value: String)]) { self.entries = entries }

    /// Reads a JSON object of strings, keeping its members' order.
    /// - Throws: `DecodingError` when it is not an object or a value is not a string.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        entries = try container.allKeys.map { ($0.stringValue, try container.decode(String.self, forKey: $0)) }
    }

    /// Equal when the entries, in order, are.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }
}

extension OrderedStringMap: Encodable {
    /// Writes the entries as one JSON object, in order.
    /// - Throws: Whatever `encoder` throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        for entry in entries { try container.encode(entry.value, forKey: AnyCodingKey(stringValue: entry.key)) }
    }
}

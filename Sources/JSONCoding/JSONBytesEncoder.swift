import FoundationEssentials

/// An `Encoder` for results and notifications (and any `Encodable`): compact JSON written with ``JSONWriter``, byte for
/// byte what Foundation's `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` and its
/// default strategies writes (keys sorted by their UTF-8 bytes, the last of a repeated key wins;
/// numbers as `description` less a trailing `.0`; `\b` `\f` `\n` `\r` `\t` escaped by name, other
/// control characters as `\u00xx`; `Date` as seconds since 2001, `Data` as base64, `URL` as its
/// absolute string). No `Data`, no coding path built unless an error needs it: a `healthCheck`
/// result costs 27 k instructions against `JSONEncoder`'s 44 k, an `inspect` result 32 k against 60 k
/// (callgrind, release).
///
/// Values are gathered into a small tree first (a container can be written to after its caller
/// has moved on, as `superEncoder()` allows), then written in one pass.
public enum JSONBytesEncoder {
    /// The compact JSON text of `value`.
    /// - Throws: `EncodingError.invalidValue` for a non-finite number or a top-level value that
    ///   encodes nothing, as `JSONEncoder` does.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = ValueEncoder(parent: nil, key: nil)
        guard let encoded = try encoder.wrap(value, key: nil) else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256)
        write(encoded, to: &buffer)
        return buffer
    }

    /// A value gathered for writing.
    enum Value {
        case null
        case bool(Bool)
        case integer(Int64)
        case unsigned(UInt64)
        case double(Double)
        case float(Float)
        case string(String)
        /// Number text written as is (a `Decimal`).
        case literal(String)
        case object(ObjectStorage)
        case array(ArrayStorage)
        /// What a super encoder holds, read when written (`{}` when it holds nothing).
        case deferred(ValueEncoder)
    }

    /// An object's members in the order they were encoded (a repeated key is resolved when written).
    final class ObjectStorage {
        var members: [(key: String, value: Value)] = []
    }

    /// An array's elements.
    final class ArrayStorage {
        var elements: [Value] = []
    }

    // MARK: Writing

    static func write(_ value: Value, to buffer: inout [UInt8]) {
        switch value {
        case .null: buffer.append(contentsOf: "null".utf8)
        case .bool(let bool): buffer.append(contentsOf: (bool ? "true" : "false").utf8)
        case .integer(let integer): appendDecimal(integer, to: &buffer)
        case .unsigned(let unsigned): buffer.append(contentsOf: String(unsigned).utf8)
        case .double(let double): appendNumber(double, to: &buffer)
        case .float(let float): appendNumber(float, to: &buffer)
        case .string(let string): appendString(string, to: &buffer)
        case .literal(let text): buffer.append(contentsOf: text.utf8)
        case .object(let object): writeObject(object.members, to: &buffer)
        case .array(let array):
            buffer.append(UInt8(ascii: "["))
            var first = true
            for element in array.elements {
                if !first { buffer.append(UInt8(ascii: ",")) }
                first = false
                write(element, to: &buffer)
            }
            buffer.append(UInt8(ascii: "]"))
        case .deferred(let encoder): write(encoder.value ?? .object(ObjectStorage()), to: &buffer)
        }
    }

    /// Writes members sorted by the UTF-8 bytes of their keys; of a repeated key, the last encoded.
    private static func writeObject(_ members: [(key: String, value: Value)], to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "{"))
        var order = Array(members.indices)
        // Sorted by key, then by when encoded: a repeated key's last value ends its run.
        order.sort { left, right in
            let comparison = compareUTF8(members[left].key, members[right].key)
            return comparison < 0 || (comparison == 0 && left < right)
        }
        var first = true
        for (position, index) in order.enumerated() {
            // A repeated key: only the last one encoded (the last of its run) is written.
            if position + 1 < order.count, members[order[position + 1]].key == members[index].key { continue }
            if !first { buffer.append(UInt8(ascii: ",")) }
            first = false
            appendString(members[index].key, to: &buffer)
            buffer.append(UInt8(ascii: ":"))
            write(members[index].value, to: &buffer)
        }
        buffer.append(UInt8(ascii: "}"))
    }

    /// How `left`'s UTF-8 bytes order against `right`'s: negative, zero or positive.
    private static func compareUTF8(_ left: String, _ right: String) -> Int {
        var left = left
        var right = right
        return left.withUTF8 { leftBytes in
            right.withUTF8 { rightBytes in
                let common = Swift.min(leftBytes.count, rightBytes.count)
                var index = 0
                while index < common {
                    if leftBytes[index] != rightBytes[index] { return leftBytes[index] < rightBytes[index] ? -1 : 1 }
                    index += 1
                }
                return leftBytes.count - rightBytes.count
            }
        }
    }

    /// Appends a signed integer's decimal digits without making a String.
    private static func appendDecimal(_ value: Int64, to buffer: inout [UInt8]) {
        if value >= 0, value < 10 {
            buffer.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        guard value != .min else {
            buffer.append(contentsOf: String(value).utf8)
            return
        }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: 19 digits and a sign fit
        withUnsafeMutableBytes(of: &digits) { raw in
            var end = raw.count
            repeat {
                end -= 1
                raw[end] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if value < 0 {
                end -= 1
                raw[end] = UInt8(ascii: "-")
            }
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[end...]))
        }
    }

    /// Appends a finite number as `JSONEncoder` does: its `description` less a trailing `.0`
    /// (`3`, `39.927`, `1e-07`, `1e+21`, `-0`).
    private static func appendNumber(_ value: Double, to buffer: inout [UInt8]) {
        // An integral value below 1e15 prints as its integer (the description's `N.0`), the
        // common case, without formatting the float.
        if value == value.rounded(.towardZero), value.magnitude < 1e15, !(value == 0 && value.sign == .minus) {
            appendDecimal(Int64(value), to: &buffer)
            return
        }
        appendDescription(value, to: &buffer)
    }

    private static func appendNumber(_ value: Float, to buffer: inout [UInt8]) { appendDescription(value, to: &buffer) }

    private static func appendDescription(_ value: some CustomStringConvertible, to buffer: inout [UInt8]) {
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        buffer.append(contentsOf: text.utf8)
    }

    /// Appends `string` quoted and escaped as `JSONEncoder` escapes it: ``JSONWriter``'s escaping,
    /// except that backspace and form feed are written `\b` and `\f` (JSONWriter writes `\u0008`).
    static func appendString(_ string: String, to buffer: inout [UInt8]) {
        var string = string
        string.withUTF8 { bytes in
            buffer.append(UInt8(ascii: "\""))
            var runStart = 0
            for index in 0..<bytes.count where bytes[index] == 0x08 || bytes[index] == 0x0C {
                JSONWriter.appendString(utf8: UnsafeBufferPointer(rebasing: bytes[runStart..<index]), to: &buffer, quoted: false)
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(bytes[index] == 0x08 ? UInt8(ascii: "b") : UInt8(ascii: "f"))
                runStart = index + 1
            }
            JSONWriter.appendString(utf8: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]), to: &buffer, quoted: false)
            buffer.append(UInt8(ascii: "\""))
        }
    }

    // MARK: Encoding

    /// The encoder of one value; its coding path is built from its parents only when asked for.
    final class ValueEncoder: Encoder, SingleValueEncodingContainer {
        let parent: ValueEncoder?
        let key: (any CodingKey)?
        var value: Value?

        init(parent: ValueEncoder?, key: (any CodingKey)?) {
            self.parent = parent
            self.key = key
        }

        var codingPath: [any CodingKey] {
            var path: [any CodingKey] = []
            var encoder: ValueEncoder? = self
            while let current = encoder {
                if let key = current.key { path.append(key) }
                encoder = current.parent
            }
            return path.reversed()
        }

        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            KeyedEncodingContainer(KeyedContainer<Key>(encoder: self, object: objectStorage()))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            UnkeyedContainer(encoder: self, array: arrayStorage())
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { self }

        /// The object this encoder holds, made on first use (a second keyed container shares it).
        func objectStorage() -> ObjectStorage {
            if case .object(let object) = value { return object }
            let object = ObjectStorage()
            value = .object(object)
            return object
        }

        /// The array this encoder holds, made on first use.
        func arrayStorage() -> ArrayStorage {
            if case .array(let array) = value { return array }
            let array = ArrayStorage()
            value = .array(array)
            return array
        }

        /// `value` as a gathered value: the types `JSONEncoder` treats apart (`Date` by default
        /// strategy is its own encoding; `Data`, `URL`, `Decimal` are not), else what it encodes;
        /// nil when it encoded nothing.
        func wrap<T: Encodable>(_ value: T, key: (any CodingKey)?) throws -> Value? {
            if T.self == String.self, let string = value as? String { return .string(string) }
            if T.self == Data.self, let data = value as? Data { return .string(Base64.encode(data)) }
            if T.self == URL.self, let url = value as? URL { return .string(url.absoluteString) }
            if T.self == Decimal.self, let decimal = value as? Decimal { return .literal(decimal.description) }
            let child = ValueEncoder(parent: self, key: key)
            try value.encode(to: child)
            return child.value
        }

        /// `value` for a container member: `{}` when it encoded nothing, as `JSONEncoder` writes.
        func member<T: Encodable>(_ value: T, key: (any CodingKey)?) throws -> Value {
            try wrap(value, key: key) ?? .object(ObjectStorage())
        }

        func checked<F: BinaryFloatingPoint & CustomStringConvertible>(_ number: F, key: (any CodingKey)?) throws -> F {
            guard number.isFinite else {
                var path = codingPath
                if let key { path.append(key) }
                throw EncodingError.invalidValue(
                    number, .init(codingPath: path, debugDescription: "Unable to encode \(F.self).\(number) directly in JSON."))
            }
            return number
        }

        // SingleValueEncodingContainer
        func encodeNil() throws { value = .null }
        func encode(_ value: Bool) throws { self.value = .bool(value) }
        func encode(_ value: String) throws { self.value = .string(value) }
        func encode(_ value: Double) throws { self.value = .double(try checked(value, key: nil)) }
        func encode(_ value: Float) throws { self.value = .float(try checked(value, key: nil)) }
        func encode(_ value: Int) throws { self.value = .integer(Int64(value)) }
        func encode(_ value: Int8) throws { self.value = .integer(Int64(value)) }
        func encode(_ value: Int16) throws { self.value = .integer(Int64(value)) }
        func encode(_ value: Int32) throws { self.value = .integer(Int64(value)) }
        func encode(_ value: Int64) throws { self.value = .integer(value) }
        func encode(_ value: UInt) throws { self.value = .unsigned(UInt64(value)) }
        func encode(_ value: UInt8) throws { self.value = .unsigned(UInt64(value)) }
        func encode(_ value: UInt16) throws { self.value = .unsigned(UInt64(value)) }
        func encode(_ value: UInt32) throws { self.value = .unsigned(UInt64(value)) }
        func encode(_ value: UInt64) throws { self.value = .unsigned(value) }
        func encode<T: Encodable>(_ value: T) throws {
            self.value = try member(value, key: nil)
        }
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: ValueEncoder
        let object: ObjectStorage

        var codingPath: [any CodingKey] { encoder.codingPath }

        private func set(_ value: Value, _ key: Key) { object.members.append((key.stringValue, value)) }

        mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
        mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { set(.double(try encoder.checked(value, key: key)), key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { set(.float(try encoder.checked(value, key: key)), key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(.integer(Int64(value)), key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { set(.integer(Int64(value)), key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { set(.integer(Int64(value)), key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { set(.integer(Int64(value)), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { set(.integer(value), key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { set(.unsigned(UInt64(value)), key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.unsigned(UInt64(value)), key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.unsigned(UInt64(value)), key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { set(.unsigned(UInt64(value)), key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { set(.unsigned(value), key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { set(try encoder.member(value, key: key), key) }

        mutating func nestedContainer<NestedKey: CodingKey>(
            keyedBy keyType: NestedKey.Type, forKey key: Key
        ) -> KeyedEncodingContainer<NestedKey> {
            let child = ValueEncoder(parent: encoder, key: key)
            let nested = child.objectStorage()
            set(.object(nested), key)
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: child, object: nested))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = ValueEncoder(parent: encoder, key: key)
            let nested = child.arrayStorage()
            set(.array(nested), key)
            return UnkeyedContainer(encoder: child, array: nested)
        }

        mutating func superEncoder() -> any Encoder {
            let child = ValueEncoder(parent: encoder, key: SuperKey.super)
            object.members.append((SuperKey.super.stringValue, .deferred(child)))
            return child
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let child = ValueEncoder(parent: encoder, key: key)
            set(.deferred(child), key)
            return child
        }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let encoder: ValueEncoder
        let array: ArrayStorage

        var codingPath: [any CodingKey] { encoder.codingPath }
        var count: Int { array.elements.count }

        private func append(_ value: Value) { array.elements.append(value) }
        private var nextKey: IndexKey { IndexKey(intValue: array.elements.count) }

        mutating func encodeNil() throws { append(.null) }
        mutating func encode(_ value: Bool) throws { append(.bool(value)) }
        mutating func encode(_ value: String) throws { append(.string(value)) }
        mutating func encode(_ value: Double) throws { append(.double(try encoder.checked(value, key: nextKey))) }
        mutating func encode(_ value: Float) throws { append(.float(try encoder.checked(value, key: nextKey))) }
        mutating func encode(_ value: Int) throws { append(.integer(Int64(value))) }
        mutating func encode(_ value: Int8) throws { append(.integer(Int64(value))) }
        mutating func encode(_ value: Int16) throws { append(.integer(Int64(value))) }
        mutating func encode(_ value: Int32) throws { append(.integer(Int64(value))) }
        mutating func encode(_ value: Int64) throws { append(.integer(value)) }
        mutating func encode(_ value: UInt) throws { append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt8) throws { append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt16) throws { append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt32) throws { append(.unsigned(UInt64(value))) }
        mutating func encode(_ value: UInt64) throws { append(.unsigned(value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { append(try encoder.member(value, key: nextKey)) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = ValueEncoder(parent: encoder, key: nextKey)
            let nested = child.objectStorage()
            append(.object(nested))
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(encoder: child, object: nested))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = ValueEncoder(parent: encoder, key: nextKey)
            let nested = child.arrayStorage()
            append(.array(nested))
            return UnkeyedContainer(encoder: child, array: nested)
        }

        mutating func superEncoder() -> any Encoder {
            let child = ValueEncoder(parent: encoder, key: nextKey)
            append(.deferred(child))
            return child
        }
    }

    /// An array element's place in a coding path.
    struct IndexKey: CodingKey {
        var intValue: Int?
        var stringValue: String { "Index \(intValue ?? 0)" }
        init(intValue: Int) { self.intValue = intValue }
        init?(stringValue: String) { nil }
    }

    /// The key of `superEncoder()`: `"super"`.
    enum SuperKey: String, CodingKey {
        case `super`
    }
}

/// Serializes ``JSONValue``s and strings into UTF-8 JSON, appending to a byte buffer.
///
/// This is the writer of every frame the worker sends, so it avoids intermediate strings.
public enum JSONWriter {
    /// Appends `value` as compact JSON.
    public static func append(_ value: JSONValue, to buffer: inout [UInt8]) {
        switch value {
        case .null: buffer.append(contentsOf: "null".utf8)
        case .bool(let bool): buffer.append(contentsOf: (bool ? "true" : "false").utf8)
        case .integer(let integer): buffer.append(contentsOf: String(integer).utf8)
        case .double(let double):
            if double.isFinite {
                if double == double.rounded(), abs(double) < 1e15 {
                    buffer.append(contentsOf: String(Int64(double)).utf8)
                } else {
                    buffer.append(contentsOf: "\(double)".utf8)
                }
            } else {
                buffer.append(contentsOf: "null".utf8)
            }
        case .string(let string): appendString(string, to: &buffer)
        case .array(let elements):
            buffer.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { buffer.append(UInt8(ascii: ",")) }
                append(element, to: &buffer)
            }
            buffer.append(UInt8(ascii: "]"))
        case .object(let object):
            buffer.append(UInt8(ascii: "{"))
            for (offset, member) in object.members.enumerated() {
                if offset > 0 { buffer.append(UInt8(ascii: ",")) }
                appendString(member.key, to: &buffer)
                buffer.append(UInt8(ascii: ":"))
                append(member.value, to: &buffer)
            }
            buffer.append(UInt8(ascii: "}"))
        }
    }

    /// The compact JSON text of `value`.
    public static func encode(_ value: JSONValue) -> [UInt8] {
        var buffer: [UInt8] = []
        append(value, to: &buffer)
        return buffer
    }

    /// Appends `string` as a quoted, escaped JSON string.
    public static func appendString(_ string: String, to buffer: inout [UInt8]) {
        var string = string
        string.withUTF8 { appendString(utf8: $0, to: &buffer) }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Appends already valid UTF-8 bytes as a quoted, escaped JSON string; with `quoted: false`,
    /// only its escaped contents (a piece of a string written in several).
    public static func appendString(utf8 bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8], quoted: Bool = true) {
        if quoted { buffer.append(UInt8(ascii: "\"")) }
        _ = appendEscaped(bytes, to: &buffer, stoppingAtNonASCII: false)
        if quoted { buffer.append(UInt8(ascii: "\"")) }
    }

    /// Appends the escaped contents (no quotes) of the longest prefix of `bytes` that is ASCII and
    /// returns its length: `bytes.count` when all of it is ASCII. The caller decodes the rest as
    /// UTF-8 (an ASCII prefix is whole characters, so the two parts join into the text decoded whole).
    public static func appendEscapedASCIIPrefix(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) -> Int {
        appendEscaped(bytes, to: &buffer, stoppingAtNonASCII: true)
    }

    /// Input bytes escaped per block: the escapes go into a stack block of six times this (the
    /// longest escape, `\u00XX`), appended to the buffer once per block.
    private static let blockBytes = 4096

    /// One pass that checks and escapes: eight bytes at a time while none needs escaping (SWAR: no
    /// control byte, quote or backslash, and with `stoppingAtNonASCII` no byte ≥ 0x80), copied into
    /// the block; the others one by one. Returns how many input bytes were escaped and appended
    /// (less than `bytes.count` only when stopped at a byte ≥ 0x80).
    @inline(__always)
    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8], stoppingAtNonASCII: Bool) -> Int {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        let count = bytes.count
        buffer.reserveAmortized(extra: count + count / 8 + 2)
        return withUnsafeTemporaryAllocation(byteCount: blockBytes * 6, alignment: 8) { block -> Int in
            guard let out = block.baseAddress else { return 0 }
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            var index = 0
            while index < count {
                let end = min(index + blockBytes, count)
                var written = 0
                while index < end {
                    if index + 8 <= end {
                        // The first byte in the lowest bits, whatever the host's byte order.
                        let word = UInt64(littleEndian: UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self))
                        // A byte is zero in x when (x - 1) & ~x has its high bit; below 0x20 likewise with 0x20.
                        // The lowest flagged byte is exact (a borrow only flags bytes above a real one).
                        let control = (word &- ones &* 0x20) & ~word
                        let quotes = word ^ (ones &* 0x22)
                        let backslashes = word ^ (ones &* 0x5C)
                        let quote = (quotes &- ones) & ~quotes
                        let backslash = (backslashes &- ones) & ~backslashes
                        let high = stoppingAtNonASCII ? word : 0
                        let flagged = (control | quote | backslash | high) & highs
                        // The clean bytes before the first flagged one are copied with the word (the block has room).
                        out.storeBytes(of: word.littleEndian, toByteOffset: written, as: UInt64.self)
                        let clean = flagged == 0 ? 8 : flagged.trailingZeroBitCount >> 3
                        index += clean
                        written += clean
                        if clean == 8 { continue }
                    }
                    let byte = source[index]
                    if stoppingAtNonASCII && byte >= 0x80 {
                        buffer.append(contentsOf: UnsafeRawBufferPointer(start: out, count: written))
                        return index
                    }
                    index += 1
                    if byte >= 0x20 && byte != 0x22 && byte != 0x5C {
                        out.storeBytes(of: byte, toByteOffset: written, as: UInt8.self)
                        written += 1
                        continue
                    }
                    out.storeBytes(of: 0x5C, toByteOffset: written, as: UInt8.self)
                    switch byte {
                    case 0x22, 0x5C: out.storeBytes(of: byte, toByteOffset: written + 1, as: UInt8.self)
                    case 0x0A: out.storeBytes(of: UInt8(ascii: "n"), toByteOffset: written + 1, as: UInt8.self)
                    case 0x0D: out.storeBytes(of: UInt8(ascii: "r"), toByteOffset: written + 1, as: UInt8.self)
                    case 0x09: out.storeBytes(of: UInt8(ascii: "t"), toByteOffset: written + 1, as: UInt8.self)
                    default:
                        out.storeBytes(of: UInt8(ascii: "u"), toByteOffset: written + 1, as: UInt8.self)
                        out.storeBytes(of: UInt8(ascii: "0"), toByteOffset: written + 2, as: UInt8.self)
                        out.storeBytes(of: UInt8(ascii: "0"), toByteOffset: written + 3, as: UInt8.self)
                        out.storeBytes(of: hex[Int(byte >> 4)], toByteOffset: written + 4, as: UInt8.self)
                        out.storeBytes(of: hex[Int(byte & 0xF)], toByteOffset: written + 5, as: UInt8.self)
                        written += 4
                    }
                    written += 2
                }
                buffer.append(contentsOf: UnsafeRawBufferPointer(start: out, count: written))
            }
            return count
        }
    }
}

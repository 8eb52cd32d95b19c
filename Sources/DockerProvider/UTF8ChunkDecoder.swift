import JSONCoding
import JSONRPC

/// Decodes UTF-8 that arrives in chunks without breaking a character split across two of them;
/// invalid bytes become U+FFFD.
public struct UTF8ChunkDecoder: Sendable {
    private var carry: [UInt8] = []

    /// A decoder at the start of a stream.
    public init() {}

    /// Decodes what can be decoded of `bytes`, keeping an incomplete trailing character for later.
    public mutating func decode(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: wholeCharacters(bytes), as: UTF8.self)
    }

    /// The bytes of `bytes` (after what was kept from before) that end on a character boundary,
    /// keeping an incomplete trailing character for later; not yet checked (see ``ExecOutputText``).
    public mutating func wholeCharacters(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var input = carry
        input.append(contentsOf: bytes)
        let cut = Self.completePrefixLength(input)
        carry = Array(input[cut...])
        input.removeSubrange(cut...)
        return input
    }

    /// Like ``wholeCharacters(_:)`` for the bytes of `parts` (`count` in all) one after the other,
    /// gathered in one copy.
    public mutating func wholeCharacters(of parts: [ArraySlice<UInt8>], count: Int) -> [UInt8] {
        var input = carry
        input.reserveCapacity(carry.count + count)
        for part in parts { input.append(contentsOf: part) }
        let cut = Self.completePrefixLength(input)
        carry = Array(input[cut...])
        input.removeSubrange(cut...)
        return input
    }

    /// Decodes like ``decode(_:)`` but appends the text as a quoted JSON string to `frame`, skipping
    /// the `String` while the bytes are plain ASCII (checked and escaped in one pass; the rest, from
    /// the first byte ≥ 0x80, is decoded). Returns false (appending nothing) when there is no text yet.
    /// With `quoted: false` only the string's escaped contents are appended.
    public mutating func decode(_ bytes: ArraySlice<UInt8>, appendingJSONStringTo frame: inout [UInt8], quoted: Bool = true) -> Bool {
        let mark = frame.count
        if quoted { frame.append(UInt8(ascii: "\"")) }
        var rest = bytes
        if carry.isEmpty {
            let ascii = bytes.withUnsafeBufferPointer { JSONWriter.appendEscapedASCIIPrefix($0, to: &frame) }
            rest = bytes[(bytes.startIndex + ascii)...]
        }
        if !rest.isEmpty || !carry.isEmpty {
            var text = decode(rest)
            text.withUTF8 { JSONWriter.appendString(utf8: $0, to: &frame, quoted: false) }
        }
        if frame.count == mark + (quoted ? 1 : 0) {
            frame.removeSubrange(mark...)
            return false
        }
        if quoted { frame.append(UInt8(ascii: "\"")) }
        return true
    }

    /// Ends the stream: a dangling partial character becomes U+FFFD.
    public mutating func finish() -> String {
        defer { carry = [] }
        return carry.isEmpty ? "" : String(decoding: carry, as: UTF8.self)
    }

    /// The length of the longest prefix that does not end inside a (possibly valid) multi-byte sequence.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let count = bytes.count
        var back = 1
        while back <= min(3, count) {
            let byte = bytes[count - back]
            if byte & 0xC0 != 0x80 {  // a lead byte or ASCII
                let needed: Int
                switch byte {
                case 0xC2...0xDF: needed = 2
                case 0xE0...0xEF: needed = 3
                case 0xF0...0xF4: needed = 4
                default: needed = 1
                }
                return needed > back ? count - back : count
            }
            back += 1
        }
        return count
    }
}

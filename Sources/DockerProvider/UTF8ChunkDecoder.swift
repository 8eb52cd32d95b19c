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

    /// Decodes like ``decode(_:)`` but appends the text as a quoted JSON string to `frame`, skipping
    /// the `String` when the bytes are plain ASCII. Returns false (appending nothing) when there is no text yet.
    /// With `quoted: false` only the string's escaped contents are appended.
    public mutating func decode(_ bytes: ArraySlice<UInt8>, appendingJSONStringTo frame: inout [UInt8], quoted: Bool = true) -> Bool {
        if carry.isEmpty, bytes.allSatisfy({ $0 < 0x80 }) {
            guard !bytes.isEmpty else { return false }
            bytes.withUnsafeBufferPointer { JSONWriter.appendString(utf8: $0, to: &frame, quoted: quoted) }
            return true
        }
        var text = decode(bytes)
        guard !text.isEmpty else { return false }
        text.withUTF8 { JSONWriter.appendString(utf8: $0, to: &frame, quoted: quoted) }
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

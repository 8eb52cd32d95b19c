/// Base64 (RFC 4648, with padding) encoded straight into a byte buffer: no intermediate `Data`,
/// no zero-filled scratch space. The hot path of binary exec output.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Appends the encoding of `bytes` to `buffer`.
    public static func append(_ bytes: some Collection<UInt8>, to buffer: inout [UInt8]) {
        let encoded =
            bytes.withContiguousStorageIfAvailable { encode($0) }
            ?? ContiguousArray(bytes).withUnsafeBufferPointer { encode($0) }
        if buffer.isEmpty { buffer = encoded } else { buffer.append(contentsOf: encoded) }
    }

    /// The encoding of `source`, written into uninitialized storage.
    private static func encode(_ source: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let outputCount = (source.count + 2) / 3 * 4
        return [UInt8](unsafeUninitializedCapacity: outputCount) { target, initialized in
            alphabet.withUnsafeBufferPointer { table in
                var i = 0
                var o = 0
                let whole = source.count - source.count % 3
                while i < whole {
                    let value = UInt32(source[i]) << 16 | UInt32(source[i + 1]) << 8 | UInt32(source[i + 2])
                    target[o] = table[Int(value >> 18)]
                    target[o + 1] = table[Int(value >> 12 & 0x3F)]
                    target[o + 2] = table[Int(value >> 6 & 0x3F)]
                    target[o + 3] = table[Int(value & 0x3F)]
                    i += 3
                    o += 4
                }
                let rest = source.count - whole
                if rest > 0 {
                    let value = UInt32(source[i]) << 16 | (rest == 2 ? UInt32(source[i + 1]) << 8 : 0)
                    target[o] = table[Int(value >> 18)]
                    target[o + 1] = table[Int(value >> 12 & 0x3F)]
                    target[o + 2] = rest == 2 ? table[Int(value >> 6 & 0x3F)] : UInt8(ascii: "=")
                    target[o + 3] = UInt8(ascii: "=")
                }
            }
            initialized = outputCount
        }
    }

    /// The encoding of `bytes` as a string.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var buffer: [UInt8] = []
        append(bytes, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

/// Base64 (RFC 4648, with padding) encoded straight onto a byte buffer: no intermediate `Data`,
/// no zero-filled or payload-sized scratch space. The hot path of binary exec output.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    /// Input bytes encoded per block: 3 KiB in, 4 KiB out, through a stack buffer.
    private static let blockBytes = 3072

    /// Appends the encoding of `bytes` to `buffer`.
    public static func append(_ bytes: some Collection<UInt8>, to buffer: inout [UInt8]) {
        buffer.reserveCapacity(buffer.count + (bytes.count + 2) / 3 * 4)
        let done: Void? = bytes.withContiguousStorageIfAvailable { append($0, to: &buffer) }
        if done == nil { ContiguousArray(bytes).withUnsafeBufferPointer { append($0, to: &buffer) } }
    }

    /// Encodes `source` block by block into a stack buffer and appends each block to `buffer`.
    private static func append(_ source: UnsafeBufferPointer<UInt8>, to buffer: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: blockBytes / 3 * 4) { scratch in
            var start = 0
            while start < source.count {
                let end = min(start + blockBytes, source.count)
                let count = encode(UnsafeBufferPointer(rebasing: source[start..<end]), into: scratch)
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[0..<count]))
                start = end
            }
        }
    }

    /// Writes the encoding of `source` to the start of `target` (room for it assumed); returns its length.
    private static func encode(_ source: UnsafeBufferPointer<UInt8>, into target: UnsafeMutableBufferPointer<UInt8>) -> Int {
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
                o += 4
            }
            return o
        }
    }

    /// The encoding of `bytes` as a string.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        var buffer: [UInt8] = []
        append(bytes, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

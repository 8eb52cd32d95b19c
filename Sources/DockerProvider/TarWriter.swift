/// Writes a ustar archive of regular files, for the engine's archive endpoint.
/// Names longer than 100 bytes are refused rather than silently truncated.
struct TarWriter {
    private(set) var bytes: [UInt8] = []

    enum Failure: Error { case nameTooLong(String) }

    /// Appends one regular file.
    mutating func addFile(name: String, contents: [UInt8], mode: Int = 0o644, modifiedAt: Int = 0) throws {
        let nameBytes = Array(name.utf8)
        guard nameBytes.count <= 100 else { throw Failure.nameTooLong(name) }
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int) {
            for (index, byte) in value.enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(nameBytes, at: 0)
        put(octal(mode, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(contents.count, width: 12), at: 124)
        put(octal(modifiedAt, width: 12), at: 136)
        put(Array("        ".utf8), at: 148)
        header[156] = UInt8(ascii: "0")
        put(Array("ustar\0".utf8), at: 257)
        put(Array("00".utf8), at: 263)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(Array((String(repeating: "0", count: max(0, 6 - String(checksum, radix: 8).count)) + String(checksum, radix: 8)).utf8) + [0, 0x20], at: 148)
        bytes.append(contentsOf: header)
        bytes.append(contentsOf: contents)
        let padding = (512 - contents.count % 512) % 512
        bytes.append(contentsOf: [UInt8](repeating: 0, count: padding))
    }

    /// The archive with its two closing zero blocks.
    func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}

/// Reads the one regular file of a tar stream (what the engine's archive endpoint sends for a file)
/// without holding it: feed chunks as they come, get the file's bytes out of each. Only the
/// headers (and PAX or GNU long-name records before the file) are buffered.
struct TarFileStream {
    /// The file's header, once read.
    private(set) var header: Tar.Header?
    /// The file's bytes not yet passed on.
    private(set) var remaining = 0
    /// Whether the archive ended (its closing zero block) before any file.
    private(set) var endedEmpty = false
    private var buffer: [UInt8] = []
    private var paxName: String?

    /// Whether every byte of the file has been passed on.
    var isComplete: Bool { header != nil && remaining == 0 }

    /// Feeds bytes; returns the file's bytes among them (empty while headers are read, and after the file).
    /// - Throws: ``Tar/FormatError`` for a malformed header.
    mutating func feed(_ chunk: [UInt8]) throws -> ArraySlice<UInt8> {
        if header != nil {
            let take = min(remaining, chunk.count)
            remaining -= take
            return chunk[0..<take]
        }
        if endedEmpty { return [] }
        buffer.append(contentsOf: chunk)
        var offset = 0
        while buffer.count - offset >= 512 {
            let block = Array(buffer[offset..<offset + 512])
            if block.allSatisfy({ $0 == 0 }) {
                endedEmpty = true
                buffer = []
                return []
            }
            var parsed = try TarReader.parseHeader(block)
            switch parsed.type {
            case .paxHeader, .paxGlobal, .gnuLongName, .gnuLongLink:
                // A record before the entry it describes: wait until it is whole, then take its name.
                let length = 512 + (parsed.size + 511) / 512 * 512
                guard buffer.count - offset >= length else {
                    buffer.removeFirst(offset)
                    return []
                }
                let data = Array(buffer[(offset + 512)..<(offset + 512 + parsed.size)])
                if parsed.type == .paxHeader, let name = TarReader.parsePax(data)["path"] { paxName = name }
                if parsed.type == .gnuLongName { paxName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self) }
                offset += length
            default:
                if let name = paxName { parsed.name = name }
                header = parsed
                remaining = parsed.type == .file ? parsed.size : 0
                let rest = Array(buffer[(offset + 512)...])
                buffer = []
                let take = min(remaining, rest.count)
                remaining -= take
                return rest[0..<take]
            }
        }
        buffer.removeFirst(offset)
        return []
    }
}

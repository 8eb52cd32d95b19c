/// A small tar writer and reader for the engine's archive endpoint: ustar headers, with PAX
/// extended headers for names longer than ustar can hold. Fuzzed in the unit tests.
enum Tar {
    /// What an entry is.
    enum EntryType: UInt8, Sendable {
        case file = 0x30  // '0'
        case hardLink = 0x31
        case symlink = 0x32
        case directory = 0x35
        case paxHeader = 0x78  // 'x'
        case paxGlobal = 0x67  // 'g'
        case gnuLongName = 0x4C  // 'L'
        case gnuLongLink = 0x4B  // 'K'
        case other = 0
    }

    /// One entry's header.
    struct Header: Sendable, Equatable {
        var name: String
        var type: EntryType
        var size: Int
        var mode: Int
        var modifiedAt: Int
        var linkTarget: String
    }

    /// Why an archive could not be read.
    struct FormatError: Error, CustomStringConvertible {
        var reason: String
        var description: String { "invalid tar archive: \(reason)" }
    }
}

/// Writes ustar archives (with PAX headers for long names).
struct TarWriter {
    private(set) var bytes: [UInt8] = []

    /// Appends a regular file.
    /// `uid` and `gid` own the entry where the engine extracts it (0: root).
    mutating func addFile(name: String, contents: [UInt8], mode: Int = 0o644, modifiedAt: Int = 0, uid: Int = 0, gid: Int = 0) throws {
        appendHeader(name: name, type: .file, size: contents.count, mode: mode, modifiedAt: modifiedAt, uid: uid, gid: gid)
        bytes.append(contentsOf: contents)
        pad()
    }

    /// Appends the header of a regular file whose `size` bytes (then padding to 512) are sent after it.
    mutating func addFileHeader(name: String, size: Int, mode: Int = 0o644, modifiedAt: Int = 0, uid: Int = 0, gid: Int = 0) {
        appendHeader(name: name, type: .file, size: size, mode: mode, modifiedAt: modifiedAt, uid: uid, gid: gid)
    }

    /// Appends a directory.
    mutating func addDirectory(name: String, mode: Int = 0o755, modifiedAt: Int = 0, uid: Int = 0, gid: Int = 0) {
        appendHeader(
            name: name.hasSuffix("/") ? name : name + "/", type: .directory, size: 0, mode: mode, modifiedAt: modifiedAt, uid: uid,
            gid: gid)
    }

    /// The archive with its two closing zero blocks.
    func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }

    private mutating func pad() {
        let padding = (512 - bytes.count % 512) % 512
        bytes.append(contentsOf: [UInt8](repeating: 0, count: padding))
    }

    private mutating func appendHeader(name: String, type: Tar.EntryType, size: Int, mode: Int, modifiedAt: Int, uid: Int, gid: Int) {
        let nameBytes = Array(name.utf8)
        if nameBytes.count > 100 {
            // PAX: a record "<len> path=<name>\n", where <len> counts the whole record.
            let body = " path=\(name)\n"
            var length = body.utf8.count + 1
            while String(length).utf8.count + body.utf8.count != length { length = String(length).utf8.count + body.utf8.count }
            let record = Array((String(length) + body).utf8)
            bytes.append(
                contentsOf: Self.header(
                    name: Array("PaxHeaders/entry".utf8), type: .paxHeader, size: record.count, mode: 0o644, modifiedAt: modifiedAt))
            bytes.append(contentsOf: record)
            pad()
            bytes.append(
                contentsOf: Self.header(
                    name: Array(nameBytes.suffix(99)), type: type, size: size, mode: mode, modifiedAt: modifiedAt, uid: uid, gid: gid))
        } else {
            bytes.append(
                contentsOf: Self.header(name: nameBytes, type: type, size: size, mode: mode, modifiedAt: modifiedAt, uid: uid, gid: gid))
        }
    }

    private static func header(name: [UInt8], type: Tar.EntryType, size: Int, mode: Int, modifiedAt: Int, uid: Int = 0, gid: Int = 0)
        -> [UInt8]
    {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int) {
            for (index, byte) in value.enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(Array(name.prefix(100)), at: 0)
        put(octal(mode & 0o7777, width: 8), at: 100)
        put(octal(min(max(0, uid), 0o7777777), width: 8), at: 108)
        put(octal(min(max(0, gid), 0o7777777), width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(max(0, modifiedAt), width: 12), at: 136)
        put(Array("        ".utf8), at: 148)
        header[156] = type.rawValue
        put(Array("ustar\0".utf8), at: 257)
        put(Array("00".utf8), at: 263)
        let checksum = header.reduce(0) { $0 + Int($1) }
        put(octal(checksum, width: 7) + [0x20], at: 148)
        return header
    }
}

/// Reads a tar stream incrementally: feed chunks, get entries and their data as they complete.
struct TarReader {
    /// An entry with its contents (only contents up to `keepLimit` are kept).
    struct Entry {
        var header: Tar.Header
        var contents: [UInt8]
    }

    private var buffer: [UInt8] = []
    private var current: Tar.Header?
    private var remaining = 0
    private var padding = 0
    private var contents: [UInt8] = []
    private var paxName: String?
    private var paxLink: String?
    private var pendingLongName: Tar.EntryType?
    private(set) var ended = false

    /// Feeds bytes; returns the entries completed by them.
    mutating func feed(_ chunk: some Collection<UInt8>) throws -> [Entry] {
        buffer.append(contentsOf: chunk)
        var entries: [Entry] = []
        var offset = 0
        defer { buffer.removeFirst(offset) }
        while !ended {
            if current != nil {
                let take = min(remaining, buffer.count - offset)
                contents.append(contentsOf: buffer[offset..<offset + take])
                offset += take
                remaining -= take
                guard remaining == 0 else { return entries }
                let skip = min(padding, buffer.count - offset)
                offset += skip
                padding -= skip
                guard padding == 0 else { return entries }
                if let entry = try finishEntry() { entries.append(entry) }
                continue
            }
            guard buffer.count - offset >= 512 else { return entries }
            let block = Array(buffer[offset..<offset + 512])
            offset += 512
            if block.allSatisfy({ $0 == 0 }) {
                ended = true
                return entries
            }
            var header = try Self.parseHeader(block)
            if let name = paxName { header.name = name }
            if let link = paxLink { header.linkTarget = link }
            current = header
            remaining = header.size
            padding = (512 - header.size % 512) % 512
            contents = []
            if remaining == 0 && padding == 0, let entry = try finishEntry() { entries.append(entry) }
        }
        return entries
    }

    private mutating func finishEntry() throws -> Entry? {
        guard let header = current else { return nil }
        current = nil
        let data = contents
        contents = []
        switch header.type {
        case .paxHeader:
            let records = Self.parsePax(data)
            paxName = records["path"]
            paxLink = records["linkpath"]
            return nil
        case .paxGlobal:
            return nil
        case .gnuLongName:
            paxName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            return nil
        case .gnuLongLink:
            paxLink = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            return nil
        default:
            paxName = nil
            paxLink = nil
            return Entry(header: header, contents: data)
        }
    }

    static func parseHeader(_ block: [UInt8]) throws -> Tar.Header {
        func string(_ range: Range<Int>) -> String {
            String(decoding: block[range].prefix { $0 != 0 }, as: UTF8.self)
        }
        func number(_ range: Range<Int>) throws -> Int {
            let field = block[range]
            if let first = field.first, first & 0x80 != 0 {  // base-256
                return field.dropFirst().reduce(Int(first & 0x7F)) { $0 << 8 | Int($1) }
            }
            let text = String(decoding: field.prefix { $0 != 0 && $0 != 0x20 }.drop { $0 == 0x20 }, as: UTF8.self)
            if text.isEmpty { return 0 }
            guard let value = Int(text, radix: 8) else { throw Tar.FormatError(reason: "bad number field") }
            return value
        }
        let stored = try number(148..<156)
        var sum = 0
        for (index, byte) in block.enumerated() { sum += (148..<156).contains(index) ? 0x20 : Int(byte) }
        guard stored == sum else { throw Tar.FormatError(reason: "checksum mismatch") }
        var name = string(0..<100)
        if block[257..<262].elementsEqual("ustar".utf8) {
            let prefix = string(345..<500)
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        let size = try number(124..<136)
        guard size >= 0, size < 1 << 40 else { throw Tar.FormatError(reason: "bad size") }
        return Tar.Header(
            name: name, type: Tar.EntryType(rawValue: block[156] == 0 ? 0x30 : block[156]) ?? .other, size: size,
            mode: try number(100..<108), modifiedAt: try number(136..<148), linkTarget: string(157..<257))
    }

    static func parsePax(_ data: [UInt8]) -> [String: String] {
        var records: [String: String] = [:]
        var index = 0
        while index < data.count {
            guard let space = data[index...].firstIndex(of: 0x20),
                let length = Int(String(decoding: data[index..<space], as: UTF8.self)),
                // A record holds at least its length, a space and its closing newline.
                length >= space - index + 2, index + length <= data.count
            else { break }
            let record = data[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[record.startIndex..<equals], as: UTF8.self)] =
                    String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        return records
    }
}

/// Splits Docker's multiplexed stream (8-byte headers: stream type, three zero bytes, a big-endian
/// length) into frames, across chunk boundaries.
public struct StreamDemuxer: Sendable {
    /// Which stream a frame belongs to.
    public enum Stream: UInt8, Sendable {
        case stdin = 0
        case stdout = 1
        case stderr = 2
    }

    private var header: [UInt8] = []
    private var remaining = 0
    private var current = Stream.stdout

    /// A demuxer at the start of a stream.
    public init() {}

    /// Feeds one chunk, calling `emit` for each run of payload bytes (a frame may arrive in pieces).
    public mutating func feed(_ chunk: some Collection<UInt8>, _ emit: (Stream, ArraySlice<UInt8>) throws -> Void) rethrows {
        let bytes = ArraySlice(chunk)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if remaining == 0 {
                let needed = 8 - header.count
                let take = min(needed, bytes.endIndex - index)
                header.append(contentsOf: bytes[index..<index + take])
                index += take
                guard header.count == 8 else { return }
                current = Stream(rawValue: header[0]) ?? .stdout
                remaining = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
                header.removeAll(keepingCapacity: true)
                continue
            }
            let take = min(remaining, bytes.endIndex - index)
            try emit(current, bytes[index..<index + take])
            index += take
            remaining -= take
        }
    }

    /// Whether the stream ended between frames (false means it was cut mid-frame).
    public var isAtFrameBoundary: Bool { remaining == 0 && header.isEmpty }
}

import DockerEngine

/// The output a background command gave, kept for `exec.attach`: one sequence of chunks in the
/// order the worker received them, whose offsets count stdout and stderr bytes together. At most
/// ``perStream`` bytes of each stream are kept; past that the oldest bytes of that stream are
/// dropped (their offsets stay taken) and counted in ``dropped``.
struct OutputBuffer {
    /// Bytes kept per stream (4 MiB).
    static let perStream = 4 << 20
    /// Consecutive output of one stream is merged into chunks up to this size (64 KiB).
    static let chunkBytes = 64 << 10

    struct Chunk {
        var stream: StreamDemuxer.Stream
        /// The offset of the chunk's first byte, dropped or not.
        var offset: Int
        /// All the bytes the chunk ever had.
        var length: Int
        /// The bytes still kept: the chunk's last `bytes.count` bytes.
        var bytes: [UInt8]
        var end: Int { offset + length }
        var liveStart: Int { offset + length - bytes.count }
    }

    /// A piece of output read from the buffer.
    struct Piece {
        var stream: StreamDemuxer.Stream
        var offset: Int
        var bytes: [UInt8]
    }

    private var chunks: [Chunk] = []
    /// Chunks before this index are wholly dropped.
    private var head = 0
    /// Per stream (stdout, stderr): where to look for its oldest kept byte.
    private var firstLive = [0, 0]
    private var kept = [0, 0]
    /// Bytes dropped so far, per stream (stdout, stderr).
    private(set) var dropped = [0, 0]
    /// Bytes received so far: the offset the next byte gets.
    private(set) var total = 0
    private let limit: Int

    init(limit: Int = OutputBuffer.perStream) {
        self.limit = limit
    }

    private static func slot(_ stream: StreamDemuxer.Stream) -> Int { stream == .stderr ? 1 : 0 }

    /// Appends output of `stream`, dropping the stream's oldest bytes beyond the limit.
    mutating func append(_ stream: StreamDemuxer.Stream, _ bytes: ArraySlice<UInt8>) {
        guard !bytes.isEmpty, stream != .stdin else { return }
        let slot = Self.slot(stream)
        if let last = chunks.indices.last, last >= head, chunks[last].stream == stream,
            chunks[last].bytes.count + bytes.count <= Self.chunkBytes, chunks[last].bytes.count == chunks[last].length
        {
            chunks[last].bytes.append(contentsOf: bytes)
            chunks[last].length += bytes.count
        } else {
            chunks.append(Chunk(stream: stream, offset: total, length: bytes.count, bytes: Array(bytes)))
        }
        total += bytes.count
        kept[slot] += bytes.count
        var excess = kept[slot] - limit
        var index = max(firstLive[slot], head)
        while excess > 0, index < chunks.count {
            if chunks[index].stream == stream, !chunks[index].bytes.isEmpty {
                let cut = min(excess, chunks[index].bytes.count)
                chunks[index].bytes.removeFirst(cut)
                excess -= cut
                kept[slot] -= cut
                dropped[slot] += cut
                if !chunks[index].bytes.isEmpty { break }
            }
            index += 1
        }
        firstLive[slot] = index
        while head < chunks.count, chunks[head].bytes.isEmpty { head += 1 }
        if head > 256, head * 2 > chunks.count {
            chunks.removeFirst(head)
            firstLive = firstLive.map { max(0, $0 - head) }
            head = 0
        }
    }

    /// The kept output from `offset` on, at most about `maxBytes` of it (whole chunks, at least
    /// one), and the offset that follows it. Dropped output is skipped.
    func read(from offset: Int, maxBytes: Int) -> (pieces: [Piece], next: Int) {
        // The first chunk that ends after `offset`.
        var low = head
        var high = chunks.count
        while low < high {
            let middle = (low + high) / 2
            if chunks[middle].end <= offset { low = middle + 1 } else { high = middle }
        }
        var pieces: [Piece] = []
        var next = offset
        var size = 0
        for chunk in chunks[low...] {
            if size >= maxBytes { break }
            let from = max(next, chunk.liveStart)
            next = chunk.end
            guard from < chunk.end else { continue }
            let bytes = Array(chunk.bytes[(chunk.bytes.count - (chunk.end - from))...])
            size += bytes.count
            pieces.append(Piece(stream: chunk.stream, offset: from, bytes: bytes))
        }
        return (pieces, max(next, offset))
    }
}

// The one line framer, for JSON-RPC requests on stdin and NDJSON bodies from the engine. Ours: it bounds a
// line's memory (a 100 MB line costs no more than the limit), which no package in reach does.

/// Splits a byte stream into lines, holding at most `maxLineBytes` of any one line.
///
/// A line longer than the limit is discarded up to its newline and reported as ``Event/tooLong``,
/// so a 100 MB line costs no more memory than the limit.
public struct LineFramer: Sendable {
    /// What the framer found.
    public enum Event: Equatable, Sendable {
        /// A complete line, without its `\n`.
        case line([UInt8])
        /// A line that exceeded the limit and was discarded.
        case tooLong
    }

    /// The largest line kept, in bytes (not counting the newline).
    public let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var discarding = false

    /// A framer with the given limit.
    public init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    /// Feeds `bytes`, calling `emit` for each line or over-long line completed by them.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Event) -> Void) {
        var start = 0
        let count = bytes.count
        while start < count {
            var newline = start
            while newline < count, bytes[newline] != 0x0A { newline += 1 }
            let segment = UnsafeRawBufferPointer(rebasing: bytes[start..<newline])
            let complete = newline < count
            if discarding {
                // nothing kept
            } else if pending.count + segment.count > maxLineBytes {
                discarding = true
                pending = []
            } else if complete && pending.isEmpty {
                // The whole line is in this read: no staging copy.
                emit(.line(Array(segment)))
                start = newline + 1
                continue
            } else {
                keep(segment)
            }
            guard complete else { return }
            emit(discarding ? .tooLong : .line(pending))
            discarding = false
            pending = []
            start = newline + 1
        }
    }

    /// Appends part of a line that spans reads. Growth doubles, but once the buffer would pass half
    /// the limit it jumps straight to the limit: each copy then moves at most half the limit, so a
    /// line never costs more than about the limit in resident memory (untouched capacity is not resident).
    private mutating func keep(_ segment: UnsafeRawBufferPointer) {
        let needed = pending.count + segment.count
        if needed > pending.capacity {
            var capacity = max(needed, pending.capacity * 2)
            if capacity > maxLineBytes / 2 { capacity = max(maxLineBytes, needed) }
            pending.reserveCapacity(capacity)
        }
        pending.append(contentsOf: segment)
    }

    /// Ends the stream: a last line without a newline is still delivered.
    public mutating func finish(_ emit: (Event) -> Void) {
        if discarding {
            emit(.tooLong)
        } else if !pending.isEmpty {
            emit(.line(pending))
        }
        pending = []
        discarding = false
    }
}

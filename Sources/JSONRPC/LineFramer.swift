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
            if !discarding {
                if pending.count + segment.count > maxLineBytes {
                    discarding = true
                    pending = []
                } else {
                    pending.append(contentsOf: segment)
                }
            }
            guard newline < count else { return }
            if discarding {
                emit(.tooLong)
                discarding = false
            } else {
                emit(.line(pending))
            }
            pending = []
            start = newline + 1
        }
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

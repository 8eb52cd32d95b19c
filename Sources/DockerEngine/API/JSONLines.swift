import FoundationEssentials
import JSONCoding

/// Newline-delimited JSON read off a streaming body: each line decoded as `Element`, as the chunks
/// arrive (a line may span any number of chunks). Blank lines and lines that do not decode as
/// `Element` are skipped, and so is a line longer than ``maxLineBytes`` (its bytes are dropped as
/// they come, never held), so memory stays bounded whatever the engine sends.
public struct JSONLines<Element: Decodable & Sendable>: AsyncSequence, Sendable {
    /// The longest line kept: 16 MiB (an event carries its container's labels, which hold the node's spec).
    public static var defaultMaxLineBytes: Int { 16 << 20 }

    /// The body being read.
    public let stream: ResponseStream
    /// The longest line decoded, in bytes without its newline; longer ones are skipped.
    public let maxLineBytes: Int

    /// Lines of `stream`, each at most `maxLineBytes` long.
    public init(_ stream: ResponseStream, maxLineBytes: Int = Self.defaultMaxLineBytes) {
        self.stream = stream
        self.maxLineBytes = maxLineBytes
    }

    /// Closes the stream now.
    public func cancel() { stream.cancel() }

    /// An iterator decoding one line at a time.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: ResponseStream.AsyncIterator
        var framer: LineFramer
        /// Lines framed from the last chunk and not yet decoded, oldest first from `nextLine`.
        var lines: [[UInt8]] = []
        var nextLine = 0
        var ended = false

        /// The next line that decodes, or nil at the end of the stream (a last line without a
        /// newline counts).
        /// - Throws: the stream's error (``EngineError``, `CancellationError`).
        public mutating func next() async throws -> Element? {
            while true {
                while nextLine < lines.count {
                    let line = lines[nextLine]
                    nextLine += 1
                    if let element = Self.decode(line) { return element }
                }
                lines.removeAll(keepingCapacity: true)
                nextLine = 0
                if ended { return nil }
                if let chunk = try await chunks.next() {
                    chunk.withUnsafeBytes { framer.feed($0) { if case .line(let line) = $0 { lines.append(line) } } }
                } else {
                    ended = true
                    framer.finish { if case .line(let line) = $0 { lines.append(line) } }
                }
            }
        }

        /// `line` as an `Element`; nil for a blank line (spaces and `\r` only) or one that does not decode.
        static func decode(_ line: [UInt8]) -> Element? {
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D }) else { return nil }
            return try? JSONBytesDecoder().decode(Element.self, from: line)
        }
    }

    /// An iterator from the stream's next chunk on (one iterator per stream).
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: stream.makeAsyncIterator(), framer: LineFramer(maxLineBytes: maxLineBytes))
    }
}

import FoundationEssentials

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
        var splitter: LineSplitter

        /// The next line that decodes, or nil at the end of the stream.
        /// - Throws: the stream's error (``EngineError``, `CancellationError`).
        public mutating func next() async throws -> Element? {
            while true {
                if let line = splitter.nextLine() {
                    if let element = try? JSONDecoder().decode(Element.self, from: Data(line)) { return element }
                    continue
                }
                guard let chunk = try await chunks.next() else { return nil }
                splitter.feed(chunk)
            }
        }
    }

    /// An iterator from the stream's next chunk on (one iterator per stream).
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(chunks: stream.makeAsyncIterator(), splitter: LineSplitter(maxLineBytes: maxLineBytes))
    }
}

/// Splits bytes into lines at `\n`, the pure part of ``JSONLines``: lines of only spaces and `\r`
/// are dropped, and a line longer than `maxLineBytes` is dropped whole (its bytes not kept while
/// it lasts).
public struct LineSplitter: Sendable {
    /// The longest line kept, in bytes without its newline.
    public let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var start = 0
    /// Where the search for the next newline resumes (bytes before it have none).
    private var searched = 0
    /// Inside a line already too long: its bytes are dropped up to its newline.
    private var skipping = false

    /// A splitter keeping lines up to `maxLineBytes`.
    public init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    /// Adds the next bytes of the stream.
    public mutating func feed(_ chunk: [UInt8]) {
        if start > 0 {
            pending.removeFirst(start)
            searched -= start
            start = 0
        }
        pending.append(contentsOf: chunk)
    }

    /// The next whole line fed so far, without its newline; nil until more is fed.
    public mutating func nextLine() -> [UInt8]? {
        while let newline = pending[max(start, searched)...].firstIndex(of: 0x0A) {
            let line = pending[start..<newline]
            start = newline + 1
            searched = start
            if skipping {
                skipping = false
                continue
            }
            if line.count > maxLineBytes || line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { continue }
            return Array(line)
        }
        searched = pending.count
        // No newline in what is left: drop a partial line that is already too long.
        if pending.count - start > maxLineBytes {
            pending.removeAll(keepingCapacity: false)
            start = 0
            searched = 0
            skipping = true
        }
        return nil
    }
}

import Glibc
import JSONCoding
import Synchronization

// Reading: lines from the input, framed, parsed, and handed out (a batch message by message).
extension RPCServer {
    /// Reads `fd` on the input thread until end of file or a stop, handing each framed line to ``handle(_:)``.
    func readLoop(fd: Int32) {
        var framer = LineFramer(maxLineBytes: configuration.maxLineBytes)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { buffer.deallocate() }
        var stop = state.withLock { $0.stopRequested }
        while !stop {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            state.withLock { $0.dispatching = true }
            framer.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) { handle($0) }
            stop = state.withLock { state in
                state.dispatching = false
                return state.stopRequested
            }
        }
        framer.finish { handle($0) }
        requestStop(.endOfInput)
    }

    /// Handles one framed line. Internal so tests can drive it without a pipe.
    func handle(_ event: LineFramer.Event) {
        switch event {
        case .tooLong:
            sendError(id: .null, .invalidRequest("line longer than \(configuration.maxLineBytes) bytes"))
        case .line(let bytes):
            guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { return }  // blank line
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes)
            } catch {
                sendError(id: .null, .parseError(error.description))
                return
            }
            if case .array(let elements) = value {
                handleBatch(elements)
            } else {
                dispatch(IncomingMessage(value), sink: .direct)
            }
        }
    }

    /// Dispatches a batch's messages in order; their responses go out together, as one array.
    func handleBatch(_ elements: [JSONValue]) {
        guard !elements.isEmpty else {
            sendError(id: .null, .invalidRequest("empty batch"))
            return
        }
        let messages = elements.map(IncomingMessage.init)
        let answered = messages.filter { if case .notification = $0 { false } else { true } }.count
        let collector = BatchCollector(expected: answered)
        var index = 0
        for message in messages {
            if case .notification = message {
                dispatch(message, sink: .direct)
            } else {
                dispatch(message, sink: .batch(collector, index: index))
                index += 1
            }
        }
    }

    /// Answers `id` with `error` (a message that could not be dispatched).
    func sendError(id: RequestID, _ error: RPCError, sink: ResponseSink = .direct) {
        let context = RequestContext(id: id, method: "", output: output, sink: sink, logger: logger)
        context.respond(.failure(error))
    }
}

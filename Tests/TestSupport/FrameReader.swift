import Glibc
import JSONCoding
import JSONRPC

/// Reads `fd` until end of file or a read error, framing its bytes into lines as the worker's own
/// reader does (JSONRPC's `LineFramer`, lines up to `maxLineBytes`): `onEvent` gets each framing
/// event (a line without its newline, or a too-long marker), and `afterRead` runs after each read's
/// events, on the calling thread.
package func readFrames(
    from fd: Int32, maxLineBytes: Int, bufferBytes: Int = 1 << 16, onEvent: (LineFramer.Event) -> Void,
    afterRead: () -> Void = {}
) {
    var framer = LineFramer(maxLineBytes: maxLineBytes)
    var buffer = [UInt8](repeating: 0, count: bufferBytes)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { return }
        buffer.withUnsafeBytes { bytes in framer.feed(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), onEvent) }
        afterRead()
    }
}

/// Waits for the response to `id` that a reader thread delivers: `register` either gives it at
/// once (already read, or the worker gone) or keeps the continuation for the reader to resume;
/// after `timeout`, `unregister` takes the continuation back and it throws `HarnessError.timeout`.
package func awaitDelivery<ID: Sendable, Value: Sendable>(
    of id: ID, timeout: Duration, register: (CheckedContinuation<Value, any Error>) -> Result<Value, any Error>?,
    unregister: @escaping @Sendable () -> CheckedContinuation<Value, any Error>?
) async throws -> Value {
    let timer = Task {
        try await Task.sleep(for: timeout)
        unregister()?.resume(throwing: HarnessError.timeout("no response to \(id) within \(timeout)"))
    }
    defer { timer.cancel() }
    return try await withCheckedThrowingContinuation { continuation in
        if let ready = register(continuation) { continuation.resume(with: ready) }
    }
}

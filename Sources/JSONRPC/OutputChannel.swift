import FoundationEssentials
import Glibc
import OSThread

/// The one writer of protocol frames: a dedicated thread that writes whole frames to a file
/// descriptor, batching what has queued up into one `write`.
///
/// Producers that stream (exec output) call ``waitForCapacity()`` first, so a host that stops
/// reading slows the producer down instead of growing the queue without bound.
public final class OutputChannel: @unchecked Sendable {
    private let fd: Int32
    private let highWater: Int
    private let condition = ThreadCondition()
    // Guarded by `condition`.
    private var queue: [Frame] = []
    private var queuedBytes = 0
    private var writing = false
    private var closed = false
    private var broken = false
    private var capacityWaiters: [CheckedContinuation<Void, Never>] = []
    private let onBrokenPipe: @Sendable () -> Void

    /// A channel writing to `fd`, pausing producers while more than `highWater` bytes are queued.
    /// `onBrokenPipe` runs once, on the writer thread, if the reader goes away.
    public init(fd: Int32, highWater: Int = 4 << 20, onBrokenPipe: @escaping @Sendable () -> Void = {}) {
        self.fd = fd
        self.highWater = highWater
        self.onBrokenPipe = onBrokenPipe
        do {
            try OSThread.detach(name: "olw-stdout") { [self] in writerLoop() }
        } catch {
            preconditionFailure("\(error)")
        }
    }

    /// A queued frame: whole, or in parts some of which are produced as they are written.
    private enum Frame {
        case whole([UInt8])
        case parts([FramePart])

        /// The bytes it holds now (a producer's output is not counted: it exists only as it is written).
        var heldBytes: Int {
            switch self {
            case .whole(let bytes): bytes.count
            case .parts(let parts): parts.reduce(0) { if case .bytes(let bytes) = $1 { $0 + bytes.count } else { $0 } }
            }
        }
    }

    /// Queues one frame; a newline is appended. Never blocks.
    public func send(_ frame: consuming [UInt8]) {
        frame.append(0x0A)  // in place when the caller left room and let go of the frame
        enqueue(.whole(frame))
    }

    /// Queues one frame made of `parts`, written in order with nothing between them; a newline is
    /// appended. Producers run on the output thread as the frame is written. Never blocks.
    public func send(parts: [FramePart]) {
        enqueue(.parts(parts + [.bytes([0x0A])]))
    }

    private func enqueue(_ frame: Frame) {
        condition.lock()
        if !closed && !broken {
            queuedBytes += frame.heldBytes
            queue.append(frame)
            condition.signal()
        }
        condition.unlock()
    }

    /// Suspends while the queue holds more than the high-water mark.
    public func waitForCapacity() async {
        if hasCapacity() { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if !parkUnlessCapacity(continuation) { continuation.resume() }
        }
    }

    private func hasCapacity() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return queuedBytes < highWater || broken || closed
    }

    /// Parks `continuation` until the queue drains; returns false (not parked) when there is room now.
    private func parkUnlessCapacity(_ continuation: CheckedContinuation<Void, Never>) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if queuedBytes < highWater || broken || closed { return false }
        capacityWaiters.append(continuation)
        return true
    }

    /// Blocks until everything queued has been written (or the reader is gone), then stops the writer.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        while (!queue.isEmpty || writing) && !broken { condition.wait() }
        let waiters = capacityWaiters
        capacityWaiters = []
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }

    private func writerLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !closed { condition.wait() }
            if queue.isEmpty && closed {
                condition.unlock()
                return
            }
            let batch = queue
            queue = []
            writing = true
            condition.unlock()

            var ok = true
            // Coalesce small frames into one write; large frames go out as they are.
            var pendingBuffer: [UInt8] = []
            func flush() {
                if ok, !pendingBuffer.isEmpty { ok = writeAll(pendingBuffer) }
                pendingBuffer.removeAll(keepingCapacity: true)
            }
            for frame in batch where ok {
                switch frame {
                case .whole(let bytes) where bytes.count >= 64 << 10:
                    flush()
                    if ok { ok = writeAll(bytes) }
                case .whole(let bytes):
                    pendingBuffer.append(contentsOf: bytes)
                case .parts(let parts):
                    for part in parts where ok {
                        switch part {
                        case .bytes(let bytes): pendingBuffer.append(contentsOf: bytes)
                        case .produced(let producer):
                            flush()
                            while ok, let piece = producer.nextPiece() { ok = writeAll(piece) }
                        }
                    }
                }
            }
            flush()

            condition.lock()
            writing = false
            queuedBytes -= batch.reduce(0) { $0 + $1.heldBytes }
            var waiters: [CheckedContinuation<Void, Never>] = []
            if !ok {
                broken = true
                queue = []
                queuedBytes = 0
            }
            if queuedBytes < highWater / 2 || broken {
                waiters = capacityWaiters
                capacityWaiters = []
            }
            condition.broadcast()
            condition.unlock()
            for waiter in waiters { waiter.resume() }
            if !ok {
                onBrokenPipe()
                return
            }
        }
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }
}

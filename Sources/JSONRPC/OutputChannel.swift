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
    private var queue: [[UInt8]] = []
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

    /// Queues one frame; a newline is appended. Never blocks.
    public func send(_ frame: consuming [UInt8]) {
        frame.append(0x0A)  // in place when the caller left room and let go of the frame
        condition.lock()
        if !closed && !broken {
            queuedBytes += frame.count
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
            for frame in batch where ok {
                if frame.count >= 64 << 10 {
                    if !pendingBuffer.isEmpty {
                        ok = writeAll(pendingBuffer)
                        pendingBuffer.removeAll(keepingCapacity: true)
                    }
                    if ok { ok = writeAll(frame) }
                } else {
                    pendingBuffer.append(contentsOf: frame)
                }
            }
            if ok, !pendingBuffer.isEmpty { ok = writeAll(pendingBuffer) }

            condition.lock()
            writing = false
            queuedBytes -= batch.reduce(0) { $0 + $1.count }
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

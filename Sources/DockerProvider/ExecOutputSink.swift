import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

/// Where an exec's output goes: into buffers for the result, or out as `exec.output` notifications.
final class ExecOutputSink: Sendable {
    private struct State {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var decoders: [StreamDemuxer.Stream: UTF8ChunkDecoder] = [.stdout: .init(), .stderr: .init()]
        /// The exec's first stdout bytes, held while they may still be the engine's complaint.
        var hold = EngineComplaintHold()
        /// The call is over (answered or being stopped): output is read and dropped.
        var closed = false
        /// Bytes dropped past ``maxOutputBytes``, by stream (buffered mode).
        var droppedStdout = 0
        var droppedStderr = 0
        /// When the last chunk was taken in, and how many small chunks in a row came close behind
        /// the one before (a busy stream delivered in small pieces).
        var lastChunk: ContinuousClock.Instant?
        var busySmallChunks = 0
    }

    private let streaming: Bool
    private let encoding: OutputEncoding
    private let context: RequestContext
    private let state = Mutex(State())

    /// The most bytes of each stream kept in buffered mode.
    private let maxOutputBytes: Int

    init(streaming: Bool, encoding: OutputEncoding, context: RequestContext, maxOutputBytes: Int = 16 << 20) {
        self.streaming = streaming
        self.encoding = encoding
        self.context = context
        self.maxOutputBytes = maxOutputBytes
    }

    /// The most output bytes one `exec.output` notification carries when frames are merged.
    static let notificationBytes = 256 << 10

    /// How long a busy stream waits after a small chunk before taking the next one, so that what
    /// arrives meanwhile travels in one notification. Measured from a Node host (64 MiB, three
    /// trials, interleaved): notifications per 128 MiB 17,700 → 3,200 (utf8) and 16,900 → 2,900
    /// (base64); host CPU 8.8 → 4.4 and 8.9 → 5.1 ms/MiB, worker CPU 13.2 → 8.0 and 11.1 → 7.0
    /// ms/MiB; futex per MiB 79 → 35 (strace, base64). 0.5 ms measured between the two.
    static let lingerAfterSmallChunk: Duration = .milliseconds(1)
    /// A chunk smaller than this counts as small.
    static let smallChunkBytes = 64 << 10

    /// Whether to wait a moment before taking the next chunk: the stream is busy (this small
    /// chunk came within a millisecond of the one before, twice in a row), so the wait lets the
    /// next notification carry more. A quiet stream (a prompt, a line now and then) never waits.
    private func shouldLinger(after chunk: [UInt8]) -> Bool {
        guard streaming else { return false }
        let now = ContinuousClock.now
        return state.withLock { state in
            defer { state.lastChunk = now }
            guard chunk.count < Self.smallChunkBytes, let last = state.lastChunk, now - last < .milliseconds(1) else {
                state.busySmallChunks = 0
                return false
            }
            state.busySmallChunks += 1
            return state.busySmallChunks >= 2
        }
    }

    /// Takes a chunk of the engine's stream: multiplexed frames, or with `raw` (a TTY) plain stdout bytes.
    func consume(_ chunk: [UInt8], demuxer: inout StreamDemuxer, raw: Bool = false) async throws {
        if state.withLock({ $0.closed }) { return }
        // Consecutive frames of one stream in a chunk travel as one notification of up to 256 KiB:
        // fewer, larger notifications cost the host and the writer thread less per byte, and staying
        // well under the 1 MiB mmap threshold keeps the buffers in the heap (no page faults per chunk).
        var runs: [(target: StreamDemuxer.Stream, parts: [ArraySlice<UInt8>], size: Int)] = []
        func add(_ target: StreamDemuxer.Stream, _ bytes: ArraySlice<UInt8>) {
            if let last = runs.indices.last, runs[last].target == target, runs[last].size + bytes.count <= Self.notificationBytes {
                runs[last].parts.append(bytes)
                runs[last].size += bytes.count
            } else {
                runs.append((target, [bytes], bytes.count))
            }
        }
        func emit(_ stream: StreamDemuxer.Stream, _ bytes: ArraySlice<UInt8>) {
            guard stream != .stdin else { return }
            switch state.withLock({ $0.hold.step(stream, bytes) }) {
            case .hold: return
            case .release(let held): if !held.isEmpty { add(.stdout, held[...]) }
            case .pass: break
            }
            add(stream, bytes)
        }
        if raw {
            var start = 0
            while start < chunk.count {
                let end = min(start + Self.notificationBytes, chunk.count)
                emit(.stdout, chunk[start..<end])
                start = end
            }
        } else {
            demuxer.feed(chunk, emit)
        }
        for (target, parts, size) in runs {
            if streaming {
                try await send(target, parts, size: size)
            } else {
                // Past the bound, bytes are counted and dropped, never held.
                let limit = maxOutputBytes
                state.withLock { state in
                    for bytes in parts {
                        if target == .stdout {
                            let room = max(0, limit - state.stdout.count)
                            state.stdout.append(contentsOf: bytes.prefix(room))
                            state.droppedStdout += max(0, bytes.count - room)
                        } else {
                            let room = max(0, limit - state.stderr.count)
                            state.stderr.append(contentsOf: bytes.prefix(room))
                            state.droppedStderr += max(0, bytes.count - room)
                        }
                    }
                }
            }
        }
        if shouldLinger(after: chunk) {
            try? await Task.sleep(for: Self.lingerAfterSmallChunk)
            state.withLock { $0.lastChunk = ContinuousClock.now }
        }
    }

    /// The engine refused to start the exec with `message` (Podman's HTTP 500): it is the stderr.
    func failedToStart(message: String) async {
        let text = Array((message.hasSuffix("\n") ? message : message + "\n").utf8)
        _ = state.withLock { $0.hold.stop() }
        if streaming {
            try? await send(.stderr, [text[...]], size: text.count)
        } else {
            state.withLock { $0.stderr.append(contentsOf: text) }
        }
    }

    /// The program started (the engine's record of the exec shows it running): what was held is its stdout.
    func programStarted() async {
        let held = state.withLock { $0.hold.stop() }
        await put(.stdout, held)
    }

    /// Releases what was held once the exec ended (see ``EngineComplaintHold/end(exitCode:neverStarted:)``).
    private func releaseHeld(exitCode: Int, neverStarted: Bool) async {
        guard let (target, bytes) = state.withLock({ $0.hold.end(exitCode: exitCode, neverStarted: neverStarted) }) else { return }
        await put(target, bytes)
    }

    /// Output that was held: sent, or buffered behind what came before it.
    private func put(_ target: StreamDemuxer.Stream, _ bytes: [UInt8]) async {
        guard !bytes.isEmpty else { return }
        if streaming {
            try? await send(target, [bytes[...]], size: bytes.count)
        } else {
            state.withLock { state in
                if target == .stdout { state.stdout.append(contentsOf: bytes) } else { state.stderr.append(contentsOf: bytes) }
            }
        }
    }

    /// Whether output is being held back as a possible engine complaint.
    var isHolding: Bool { state.withLock { $0.hold.holding && !$0.hold.held.isEmpty } }

    /// Sends `parts` (`size` bytes in all) as one notification, gathered in one copy.
    private func send(_ stream: StreamDemuxer.Stream, _ parts: [ArraySlice<UInt8>], size: Int) async throws {
        let data: [UInt8]
        switch encoding {
        case .base64:
            var gathered: [UInt8] = []
            gathered.reserveCapacity(size)
            for part in parts { gathered.append(contentsOf: part) }
            data = gathered
        case .utf8:
            data = state.withLock { $0.decoders[stream, default: .init()].wholeCharacters(of: parts, count: size) }
            if data.isEmpty { return }
        }
        let notification = ExecOutputNotification(stream: StreamName(stream), data: ExecOutputText(bytes: data, encoding: encoding))
        guard await context.notify(notification) else {
            if state.withLock({ $0.closed }) { return }  // stopping: keep reading, so the stream stays open until the kill
            throw CancellationError()
        }
    }

    /// Stops taking output: later chunks are read and dropped.
    func close() {
        state.withLock { $0.closed = true }
    }

    /// Releases held output, flushes partial characters and returns the buffered text (empty when
    /// streaming). `neverStarted`: the engine's record of the exec has no pid (see `releaseHeld`).
    func finish(exitCode: Int, neverStarted: Bool = false) async -> (
        stdout: ExecOutputText, stderr: ExecOutputText, truncated: OutputTruncation?
    ) {
        await releaseHeld(exitCode: exitCode, neverStarted: neverStarted)
        if streaming {
            if encoding == .utf8 {
                for stream in [StreamDemuxer.Stream.stdout, .stderr] {
                    let rest = state.withLock { $0.decoders[stream, default: .init()].finish() }
                    if !rest.isEmpty {
                        await context.notify(
                            ExecOutputNotification(
                                stream: StreamName(stream), data: ExecOutputText(bytes: Array(rest.utf8), encoding: .utf8)))
                    }
                }
            }
            return (ExecOutputText(bytes: [], encoding: encoding), ExecOutputText(bytes: [], encoding: encoding), nil)
        }
        // The buffers leave the sink as they are taken; they become text only as the answer is written.
        let (stdout, stderr, dropped) = state.withLock { state in
            defer {
                state.stdout = []
                state.stderr = []
            }
            return (state.stdout, state.stderr, (state.droppedStdout, state.droppedStderr))
        }
        let truncated = OutputTruncation(stdout: dropped.0, stderr: dropped.1)
        return (ExecOutputText(bytes: stdout, encoding: encoding), ExecOutputText(bytes: stderr, encoding: encoding), truncated)
    }
}

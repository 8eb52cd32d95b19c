import DockerEngine
import FoundationEssentials
import JSONRPC
import Logging
import Synchronization

extension DockerProvider {
    /// The environment variable that marks an exec's processes so they can be found and killed.
    static let execMarkerVariable = "OPENLATTICE_EXEC_ID"

    /// Runs a command in a node, buffering or streaming its output, with an optional deadline.
    public func exec(_ request: ExecRequest, context: RequestContext) async throws -> ExecResult {
        try Validation.checkExternalID(request.externalId)
        try request.validate()
        let options = request.options ?? ExecOptions()
        let started = ContinuousClock.now
        let marker = UUID().uuidString.lowercased()
        var body = ExecCreateBody(cmd: request.command)
        body.env = (options.env?.entries ?? []).map { "\($0.key)=\($0.value)" } + ["\(Self.execMarkerVariable)=\(marker)"]
        body.workingDir = options.cwd
        body.user = options.user

        let created: IDResponse
        do {
            created = try await client.send(
                HTTPRequest(.post, "/containers/\(request.externalId)/exec", body: try encodeJSON(body)), as: IDResponse.self)
        } catch let error as EngineError where error.status == 404 {
            throw ProviderError.notFound(request.externalId)
        } catch let error as EngineError where error.status == 500 {
            // Podman answers an exec in a stopped container with 500 where Docker says 409.
            if let state = try? await inspectContainer(request.externalId).state, state.running != true {
                throw ProviderError(code: .conflict, reason: error.reason, status: error.status, engineMessage: error.engineMessage)
            }
            throw error
        }
        let sink = ExecOutputSink(
            streaming: options.stream == true, encoding: options.encoding ?? .utf8, context: context,
            maxOutputBytes: options.maxOutputBytes ?? config.maxOutputBytes)
        // Opened inside the timed group: the exec's own deadline also fires while the engine has not
        // yet answered the start (whose head is bounded by the request timeout in any case). A quiet
        // process is no stall, so the body is bounded only by timeoutMs.
        let opened = OpenedStream()
        let client = self.client

        let finished: Bool
        do {
            finished = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    let stream = try await client.stream(
                        HTTPRequest(.post, "/exec/\(created.id)/start", body: Array(#"{"Detach":false,"Tty":false}"#.utf8)),
                        bound: .none)
                    opened.stream.withLock { $0 = stream }
                    var demuxer = StreamDemuxer()
                    for try await chunk in stream {
                        try await sink.consume(chunk, demuxer: &demuxer)
                    }
                    return true
                }
                if let timeout = options.timeoutMs {
                    // The deadline counts from the call's start, engine round trips included.
                    group.addTask {
                        try await Task.sleep(until: started + .milliseconds(timeout), clock: .continuous)
                        return false
                    }
                }
                let first = try await group.next() ?? true
                group.cancelAll()
                return first
            }
        } catch {
            // Cancelled by the host (or the stream failed): the process must not outlive the request.
            opened.stream.withLock { $0 }?.cancel()
            terminateInBackground(containerID: request.externalId, marker: marker, user: options.user)
            throw error
        }
        let stream = opened.stream.withLock { $0 }
        if !finished {
            // Answer at the deadline; the processes are killed right after, without holding the answer.
            stream?.cancel()
            terminateInBackground(containerID: request.externalId, marker: marker, user: options.user)
            let output = await sink.finish(exitCode: -1)
            return ExecResult(
                exitCode: -1, stdout: output.stdout, stderr: output.stderr, durationMs: Self.milliseconds(since: started),
                timedOut: true, truncated: output.truncated)
        }
        let exitCode: Int
        do {
            exitCode = try await Self.exitCode(client: client, execID: created.id)
        } catch let error as EngineError where error.status == 404 {
            // The engine drops an exec's record when its container exits. The exec's processes then
            // died with the container's PID namespace, killed by SIGKILL: 128 + 9.
            guard let state = try? await inspectContainer(request.externalId).state, state.running != true else { throw error }
            exitCode = 137
        }
        let output = await sink.finish(exitCode: exitCode)
        return ExecResult(
            exitCode: exitCode, stdout: output.stdout, stderr: output.stderr, durationMs: Self.milliseconds(since: started),
            timedOut: false, truncated: output.truncated)
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds) * 1000 + Int(elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    private func terminateInBackground(containerID: String, marker: String, user: String?) {
        Task.detached { [self] in await terminate(containerID: containerID, marker: marker, user: user) }
    }

    /// Kills every process in the container that carries the exec's marker (its whole process tree).
    /// The search runs as the exec's own user: the kernel shows a process's environment to its own
    /// user, while even root may not read it across users without CAP_SYS_PTRACE, which containers lack.
    func terminate(containerID: String, marker: String, user: String?) async {
        let script =
            "for p in /proc/[0-9]*; do if tr '\\000' '\\n' < $p/environ 2>/dev/null | grep -qx '\(Self.execMarkerVariable)=\(marker)'; then kill -9 ${p#/proc/} 2>/dev/null; fi; done; true"
        let client = self.client
        let logger = self.logger
        await Task.detached {
            do {
                _ = try await DockerProvider.runQuietly(
                    client: client, containerID: containerID, command: ["sh", "-c", script], user: user)
            } catch {
                logger.warning("could not terminate an exec's processes", metadata: ["container": "\(containerID)", "error": "\(error)"])
            }
        }.value
    }
}

extension ExecRequest {
    /// Checks the params before any engine call.
    func validate() throws {
        guard !command.isEmpty else { throw InvalidParams(field: "command", reason: "must not be empty") }
        if command.contains(where: { $0.contains("\0") }) { throw InvalidParams(field: "command", reason: "must not contain NUL") }
        let options = self.options ?? ExecOptions()
        if let timeout = options.timeoutMs, timeout <= 0 { throw InvalidParams(field: "options.timeoutMs", reason: "must be positive") }
        if let limit = options.maxOutputBytes, limit < 0 {
            throw InvalidParams(field: "options.maxOutputBytes", reason: "must be a non-negative number of bytes")
        }
        if let cwd = options.cwd, !cwd.hasPrefix("/") { throw InvalidParams(field: "options.cwd", reason: "must be an absolute path") }
        for (key, value) in options.env?.entries ?? [] {
            if let problem = Validation.envKeyProblem(key) { throw InvalidParams(field: "options.env.\(key)", reason: problem) }
            if value.contains("\0") { throw InvalidParams(field: "options.env.\(key)", reason: "must not contain NUL") }
        }
    }
}

/// The engine stream of an exec once its start was answered (shared with the task that opens it).
final class OpenedStream: Sendable {
    let stream = Mutex<ResponseStream?>(nil)
}

/// Where an exec's output goes: into buffers for the result, or out as `exec.output` notifications.
final class ExecOutputSink: Sendable {
    private struct State {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var decoders: [StreamDemuxer.Stream: UTF8ChunkDecoder] = [.stdout: .init(), .stderr: .init()]
        var sawFirstFrame = false
        var firstFrameWasEngineError = false
        /// Bytes dropped past ``maxOutputBytes``, by stream (buffered mode).
        var droppedStdout = 0
        var droppedStderr = 0
    }

    private let streaming: Bool
    private let encoding: OutputEncoding
    private let context: RequestContext
    private let state = Mutex(State())
    /// The engine's text when the process could not start (it arrives on stdout; we move it to stderr).
    private static let engineFailurePrefix = Array("OCI runtime exec failed".utf8)

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

    func consume(_ chunk: [UInt8], demuxer: inout StreamDemuxer) async throws {
        // Consecutive frames of one stream in a chunk travel as one notification of up to 256 KiB:
        // fewer, larger notifications cost the host and the writer thread less per byte, and staying
        // well under the 1 MiB mmap threshold keeps the buffers in the heap (no page faults per chunk).
        var runs: [(target: StreamDemuxer.Stream, parts: [ArraySlice<UInt8>], size: Int)] = []
        demuxer.feed(chunk) { stream, bytes in
            guard stream != .stdin else { return }
            let target = redirect(stream, bytes)
            if let last = runs.indices.last, runs[last].target == target, runs[last].size + bytes.count <= Self.notificationBytes {
                runs[last].parts.append(bytes)
                runs[last].size += bytes.count
            } else {
                runs.append((target, [bytes], bytes.count))
            }
        }
        for (target, parts, size) in runs {
            if streaming {
                if parts.count == 1 {
                    try await send(target, parts[0])
                } else {
                    var merged: [UInt8] = []
                    merged.reserveCapacity(size)
                    for part in parts { merged.append(contentsOf: part) }
                    try await send(target, merged[...])
                }
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
    }

    private func redirect(_ stream: StreamDemuxer.Stream, _ bytes: ArraySlice<UInt8>) -> StreamDemuxer.Stream {
        state.withLock { state in
            if !state.sawFirstFrame {
                state.sawFirstFrame = true
                state.firstFrameWasEngineError = stream == .stdout && bytes.starts(with: Self.engineFailurePrefix)
                if state.firstFrameWasEngineError { return .stderr }
            }
            return stream
        }
    }

    private func send(_ stream: StreamDemuxer.Stream, _ bytes: ArraySlice<UInt8>) async throws {
        var frame: [UInt8] = []
        frame.reserveCapacity(bytes.count * 4 / 3 + 160)  // room for base64 or light escaping, and the newline
        frame.append(contentsOf: #"{"jsonrpc":"2.0","method":"exec.output","params":{"requestId":"#.utf8)
        frame.append(contentsOf: context.idJSON)
        frame.append(contentsOf: stream == .stdout ? #","stream":"stdout","data":"#.utf8 : #","stream":"stderr","data":"#.utf8)
        switch encoding {
        case .base64:
            frame.append(UInt8(ascii: "\""))
            Base64.append(bytes, to: &frame)
            frame.append(UInt8(ascii: "\""))
        case .utf8:
            let empty = state.withLock { state -> Bool in
                var decoder = state.decoders[stream, default: .init()]
                defer { state.decoders[stream] = decoder }
                return !decoder.decode(bytes, appendingJSONStringTo: &frame)
            }
            if empty { return }
        }
        frame.append(contentsOf: "}}".utf8)
        guard await context.notify(frame: frame) else { throw CancellationError() }
    }

    /// Flushes partial characters and returns the buffered text (empty when streaming), with the
    /// bytes dropped past the bound when any were.
    func finish(exitCode: Int) async -> (stdout: String, stderr: String, truncated: OutputTruncation?) {
        if streaming {
            if encoding == .utf8 {
                for stream in [StreamDemuxer.Stream.stdout, .stderr] {
                    let rest = state.withLock { $0.decoders[stream, default: .init()].finish() }
                    if !rest.isEmpty {
                        var frame: [UInt8] = Array(#"{"jsonrpc":"2.0","method":"exec.output","params":{"requestId":"#.utf8)
                        frame.append(contentsOf: context.idJSON)
                        frame.append(
                            contentsOf: stream == .stdout ? #","stream":"stdout","data":"#.utf8 : #","stream":"stderr","data":"#.utf8)
                        JSONWriter.appendString(rest, to: &frame)
                        frame.append(contentsOf: "}}".utf8)
                        await context.notify(frame: frame)
                    }
                }
            }
            return ("", "", nil)
        }
        // The buffers leave the sink as they are taken, so they are not held twice while encoded.
        var (stdout, stderr, dropped) = state.withLock { state in
            defer {
                state.stdout = []
                state.stderr = []
            }
            return (state.stdout, state.stderr, (state.droppedStdout, state.droppedStderr))
        }
        let truncated = OutputTruncation(stdout: dropped.0, stderr: dropped.1)
        // Each buffer is let go of as soon as its text exists: at most two copies of one stream live at once.
        func text(_ bytes: inout [UInt8]) -> String {
            switch encoding {
            case .utf8:
                defer { bytes = [] }
                return String(decoding: bytes, as: UTF8.self)
            case .base64:
                var encoded: [UInt8] = []
                Base64.append(bytes, to: &encoded)
                bytes = []
                return String(decoding: encoded, as: UTF8.self)
            }
        }
        let stdoutText = text(&stdout)
        let stderrText = text(&stderr)
        return (stdoutText, stderrText, truncated)
    }
}

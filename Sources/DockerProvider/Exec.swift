import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

extension DockerProvider {
    /// The environment variable that marks an exec's processes so they can be found and killed.
    static let execMarkerVariable = "OPENLATTICE_EXEC_ID"

    /// Runs a command in a node, buffering or streaming its output, with an optional deadline.
    ///
    /// The deadline (`timeoutMs`) counts from the call's arrival, engine round trips included; at the
    /// deadline, on cancellation and at shutdown every process the command started is killed (see
    /// ``ExecSupervisor``). With `sourcingSecrets` (a node with `runtime.secretEnv`) the command runs
    /// under `sh`, which first reads the node's secrets file as the entrypoint does: the values reach
    /// the process but never the exec's `Cmd` or `Env` in the engine's view.
    public func exec(_ request: ExecRequest, context: RequestContext, sourcingSecrets: Bool = false) async throws -> ExecResult {
        try Validation.checkExternalID(request.externalId)
        let options = request.options ?? ExecOptions()
        let started = ContinuousClock.now
        let startedAt = Timestamp.now()
        let marker = UUID().uuidString.lowercased()
        let sink = ExecOutputSink(
            streaming: options.stream == true, encoding: options.encoding ?? .utf8, context: context,
            maxOutputBytes: options.maxOutputBytes ?? config.maxOutputBytes)
        let progress = ExecProgress()
        defer {
            if let execID = progress.state.withLock({ $0.execID }) { backgroundExecs.finished(execID) }
        }
        // An exec with stdin or a terminal takes `exec.input` / `exec.resize` notifications by its request id.
        let session = (options.stdin == true || options.tty != nil) ? execSessions.withLock { $0.claim(context.id, logger: logger) } : nil
        session?.setInitialSize(options.tty)
        defer {
            if session != nil { _ = execSessions.withLock { $0.byID.removeValue(forKey: context.id) } }
        }

        // The work runs in its own task, so an answer at the deadline waits for nothing the engine does.
        let work = Task { [self] in
            try await run(
                request, options: options, marker: marker, startedAt: startedAt, sink: sink, progress: progress, session: session,
                sourcingSecrets: sourcingSecrets)
        }
        // Stopping (deadline, cancel, shutdown, a failed stream) kills the processes first and only then
        // closes the engine stream: closing it first would end stdin or break the output pipe, and the
        // command could exit and leave orphans that no longer hang under tini.
        let stop: @Sendable () -> Void = { [self] in
            stopAndKill(work, request, options: options, marker: marker, progress: progress, sink: sink)
        }
        let outcome: Int?
        do {
            outcome = try await withTaskCancellationHandler {
                try await Self.value(of: work, until: options.timeoutMs.map { started + .milliseconds($0) })
            } onCancel: {
                stop()
            }
        } catch {
            stop()
            throw error
        }
        guard let exitCode = outcome else {
            // Answer at the deadline; the processes are killed right after, without holding the answer.
            stop()
            let output = await sink.finish(exitCode: -1, neverStarted: false)
            return ExecResult(
                exitCode: -1, stdout: output.stdout, stderr: output.stderr, durationMs: Self.milliseconds(since: started),
                timedOut: true, truncated: output.truncated)
        }
        // Docker records the pid of a process that started; 0 means the runtime never started it.
        let neverStarted = progress.state.withLock { $0.neverStarted }
        let output = await sink.finish(exitCode: exitCode, neverStarted: neverStarted)
        return ExecResult(
            exitCode: exitCode, stdout: output.stdout, stderr: output.stderr, durationMs: Self.milliseconds(since: started),
            timedOut: false, truncated: output.truncated)
    }

    /// How far an exec got: what a kill needs to know.
    final class ExecProgress: Sendable {
        struct State {
            var execID: String?
            var wrapped = false
            /// The start request was sent: the process may be running.
            var startSent = false
            /// The exec was stopped: it must not start any more.
            var stopped = false
            /// The engine recorded no process for it (pid 0): its output is the engine's complaint.
            var neverStarted = false
        }
        let state = Mutex(State())
    }

    /// Stops an exec once (later calls do nothing): its output is dropped from now on, its processes
    /// are killed if it may have started, and then its engine stream is closed.
    private func stopAndKill(
        _ work: Task<Int, any Error>, _ request: ExecRequest, options: ExecOptions, marker: String, progress: ExecProgress,
        sink: ExecOutputSink
    ) {
        let target = progress.state.withLock { state -> (execID: String?, wrapped: Bool)?? in
            guard !state.stopped else { return .none }
            state.stopped = true
            return .some(state.startSent ? (state.execID, state.wrapped) : nil)
        }
        guard case .some(let started) = target else { return }
        sink.close()
        guard let started else {
            work.cancel()
            return
        }
        supervisor.kill(
            containerID: request.externalId, marker: marker, user: options.user, execID: started.execID, wrapped: started.wrapped
        ) {
            work.cancel()
        }
    }

    /// The work's value, or nil once `deadline` passes first. Cancelling the caller does not wait for the work.
    static func value(of work: Task<Int, any Error>, until deadline: ContinuousClock.Instant?) async throws -> Int? {
        let waiter = Mutex<CheckedContinuation<Int?, any Error>?>(nil)
        let take: @Sendable () -> CheckedContinuation<Int?, any Error>? = {
            waiter.withLock { w in
                defer { w = nil }
                return w
            }
        }
        return try await withCheckedThrowingContinuation { continuation in
            waiter.withLock { $0 = continuation }
            let timer = deadline.map { deadline in
                Task {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                    take()?.resume(returning: nil)
                }
            }
            Task {
                let result = await work.result
                timer?.cancel()
                take()?.resume(with: result.map { Optional($0) })
            }
        }
    }

    /// Creates and starts the exec under tini, feeds its output to `sink` and returns its exit code.
    private func run(
        _ request: ExecRequest, options: ExecOptions, marker: String, startedAt: String, sink: ExecOutputSink,
        progress: ExecProgress, session: ExecSession?, sourcingSecrets: Bool
    ) async throws -> Int {
        let wrapped = await supervisor.ensure(ExecSupervisor.tiniPath, in: request.externalId)
        try Task.checkCancellation()
        let userCommand = sourcingSecrets ? Self.secretEnvWrapper + request.command : request.command
        var command = wrapped ? [ExecSupervisor.tiniPath, "-s", "--"] + userCommand : userCommand
        if wrapped, let tty = options.tty, await supervisor.ensure(ExecSupervisor.busyboxPath, in: request.externalId) {
            // The terminal gets its size before the command runs (an engine before API 1.42 takes a
            // size only by a resize after the start, which the command can outrun); `exec` keeps tini
            // the exec's top process, with the same pid and environment.
            let busybox = ExecSupervisor.busyboxPath
            command =
                [
                    busybox, "sh", "-c", "\(busybox) stty rows \"$1\" cols \"$2\" 2>/dev/null; shift 2; exec \"$@\"", "sh", "\(tty.rows)",
                    "\(tty.cols)",
                ]
                + command
        }
        try Task.checkCancellation()
        var body = ExecCreateBody(cmd: command)
        body.env = (options.env?.entries ?? []).map { "\($0.key)=\($0.value)" } + ["\(Self.execMarkerVariable)=\(marker)"]
        body.workingDir = options.cwd
        body.user = options.user
        if options.stdin == true { body.attachStdin = true }
        if options.tty != nil { body.tty = true }

        let execID = try await createExec(in: request.externalId, body)
        let mayStart = progress.state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.execID = execID
            state.wrapped = wrapped
            state.startSent = true
            return true
        }
        guard mayStart else { throw CancellationError() }
        backgroundExecs.began(
            ForegroundExec(
                execID: execID, containerID: request.externalId, command: request.command, startedAt: startedAt, marker: marker,
                user: options.user, wrapped: wrapped))
        let raw = options.tty != nil
        if options.stdin == true {
            // The engine hijacks the connection: stdin goes up it as `exec.input` notifications arrive.
            let stream = try await client.startExecAttached(execID, tty: raw)
            session?.attach(stream, execID: execID, client: client)
            try await read(stream, execID: execID, into: sink, raw: raw)
        } else {
            let stream: ResponseStream
            do {
                // A quiet process is no stall: the body is bounded only by timeoutMs.
                stream = try await client.startExec(execID, tty: raw)
            } catch let error as EngineError where error.status == 500 {
                // Podman refuses to start an exec whose user or group it cannot find with 500, having
                // recorded the exec as exited (its own code 125): the complaint is the exec's stderr.
                guard let record = try? await client.inspectExec(execID),
                    !record.running, let exitCode = record.exitCode, exitCode != 0
                else { throw error }
                await sink.failedToStart(message: error.engineMessage ?? error.reason)
                return exitCode
            }
            session?.attach(nil, execID: execID, client: client)
            try await read(stream, execID: execID, into: sink, raw: raw)
        }
        do {
            let record = try await Self.finishedExec(client: client, execID: execID)
            progress.state.withLock { $0.neverStarted = record.pid == 0 }
            return record.exitCode ?? -1
        } catch let error as EngineError where error.isNotFound {
            // The engine drops an exec's record when its container exits. The exec's processes then
            // died with the container's PID namespace, killed by SIGKILL: 128 + 9.
            guard let state = try? await inspectContainer(request.externalId).state, state.running != true else { throw error }
            return 137
        }
    }

    /// Creates an exec in the container and checks the engine made it there; returns its id.
    /// - Throws: ``ProviderError`` -32004 no such node, -32009 node not running; engine errors.
    func createExec(in containerID: String, _ body: ExecCreateBody) async throws -> String {
        let created: String
        do {
            created = try await client.createExec(in: containerID, body)
        } catch let error as EngineError where error.isNotFound {
            supervisor.forget(containerID)
            throw ProviderError.notFound(containerID)
        } catch let error as EngineError where error.status == 500 {
            // Podman answers an exec in a stopped container with 500 where Docker says 409.
            if let state = try? await inspectContainer(containerID).state, state.running != true {
                throw ProviderError(code: .conflict, reason: error.reason, status: error.status, engineMessage: error.engineMessage)
            }
            throw error
        }
        try await Self.checkExecTarget(client: client, execID: created, containerID: containerID)
        return created
    }

    /// What runs an exec's command with the node's secrets in its environment (read when readable by the exec's user).
    static var secretEnvWrapper: [String] {
        let file = "\(secretEnvDirectory)/\(secretEnvFile)"
        return ["sh", "-c", "if [ -r \(file) ]; then set -a; . \(file); set +a; fi; exec \"$@\"", "openlattice-env"]
    }

    /// Whether `container` was provisioned with `runtime.secretEnv` (its label and its secrets volume).
    static func hasSecretEnv(_ container: ContainerInspect) -> Bool {
        container.config?.labels?[Labels.secretEnv] == "true"
            && (container.mounts ?? []).contains { $0.destination == secretEnvDirectory }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds) * 1000 + Int(elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}

extension DockerProvider {
    /// Reads an exec's engine stream (multiplexed frames, or with `raw` a TTY's bytes) into `sink`.
    /// Output held as a possible engine complaint is released as soon as the engine's record shows
    /// the program running: Docker marks an exec running before its program starts and writes a
    /// complaint only after marking it ended, so one look suffices.
    /// - Throws: the stream's errors; cancellation.
    func read<S: AsyncSequence>(_ stream: S, execID: String, into sink: ExecOutputSink, raw: Bool) async throws
    where S.Element == [UInt8] {
        var demuxer = StreamDemuxer()
        var checked = false
        for try await chunk in stream {
            try await sink.consume(chunk, demuxer: &demuxer, raw: raw)
            if !checked, sink.isHolding {
                checked = true
                if (try? await engineExec(execID))?.running == true { await sink.programStarted() }
            }
        }
    }
}

/// The engine stream of an exec once its start was answered (shared with the task that opens it).
final class OpenedStream: Sendable {
    let stream = Mutex<ResponseStream?>(nil)
}

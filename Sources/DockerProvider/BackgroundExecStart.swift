import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `exec` with `background: true`: starting a command and reading its output into its buffer.

extension DockerProvider {
    /// `exec` with `background: true`: starts the command and returns its exec id (the engine's) once
    /// the engine started it; its output is kept for `exec.attach` while it runs on. It is not killed
    /// when the request ends nor when the worker exits.
    /// - Throws: ``ProviderError`` -32004 no such node, -32009 node not running; engine errors.
    func startBackground(_ request: ExecRequest, sourcingSecrets: Bool) async throws -> String {
        let options = request.options ?? ExecOptions()
        let containerID = request.externalId
        let marker = UUID().uuidString.lowercased()
        let startedAt = Timestamp.now()
        let started = ContinuousClock.now
        let wrapped = await supervisor.ensure(ExecSupervisor.tiniPath, in: containerID)
        let marked = wrapped ? await supervisor.ensure(ExecSupervisor.busyboxPath, in: containerID) : false
        try Task.checkCancellation()
        var command = sourcingSecrets ? Self.secretEnvWrapper + request.command : request.command
        if wrapped { command = [ExecSupervisor.tiniPath, "-s", "--"] + command }
        if marked { command = BackgroundMarker.prefix(marker: marker, startedAt: startedAt) + command }
        var body = ExecCreateBody(cmd: command)
        body.env = (options.env?.entries ?? []).map { "\($0.key)=\($0.value)" } + ["\(Self.execMarkerVariable)=\(marker)"]
        body.workingDir = options.cwd
        body.user = options.user
        if options.stdin == true { body.attachStdin = true }
        let execID = try await createExec(in: containerID, body)
        try Task.checkCancellation()
        let session = options.stdin == true ? ExecSession(logger: logger) : nil
        let exec = BackgroundExec(
            execID: execID, containerID: containerID, command: request.command, startedAt: startedAt, started: started,
            encoding: options.encoding ?? .utf8, marker: marker, user: options.user, wrapped: wrapped, session: session)

        do {
            if let session {
                let stream = try await client.startExecAttached(execID)
                session.attach(stream, execID: execID, client: client)
                pump(stream, into: exec)
            } else {
                let stream = try await client.startExec(execID)
                pump(stream, into: exec)
            }
        } catch let error as EngineError where error.status == 500 {
            // Podman refuses a start whose user it cannot find, having recorded the exec as exited.
            guard let record = try? await client.inspectExec(execID),
                !record.running, let exitCode = record.exitCode, exitCode != 0
            else { throw error }
            let message = error.engineMessage ?? error.reason
            exec.take(.stderr, Array((message.hasSuffix("\n") ? message : message + "\n").utf8)[...])
            exec.finish(exitCode: exitCode)
            backgroundExecs.add(exec)
            backgroundExecs.ended(execID)
            return execID
        } catch {
            // The start may have reached the engine: nothing of it may run on unknown to the host.
            supervisor.kill(containerID: containerID, marker: marker, user: options.user, execID: execID, wrapped: wrapped) {}
            throw error
        }
        return execID
    }

    /// Reads the command's engine stream into its buffer until it ends, then records its exit code.
    private func pump<S: AsyncSequence & Sendable>(_ stream: S, into exec: BackgroundExec) where S.Element == [UInt8] {
        backgroundExecs.add(exec)
        // A node running a command is not idle, however long it runs.
        lifetimes.begin(exec.containerID)
        Task.detached { [self] in
            var demuxer = StreamDemuxer()
            var checked = false
            do {
                for try await chunk in stream {
                    demuxer.feed(chunk) { stream, bytes in exec.take(stream, bytes) }
                    // As for a foreground exec (see `read(_:execID:into:raw:)`): one look at the record.
                    if !checked, exec.isHolding {
                        checked = true
                        if (try? await engineExec(exec.execID))?.running == true { exec.programStarted() }
                    }
                }
            } catch {
                logger.debug("a background command's stream ended early", metadata: ["exec": "\(exec.execID)", "error": "\(error)"])
            }
            let exitCode: Int
            var neverStarted = false
            do {
                let record = try await Self.finishedExec(client: client, execID: exec.execID)
                exitCode = record.exitCode ?? -1
                neverStarted = record.pid == 0
            } catch {
                // The engine drops an exec's record when its container exits: its processes died with it (SIGKILL).
                exitCode = 137
            }
            exec.finish(exitCode: exitCode, neverStarted: neverStarted)
            backgroundExecs.ended(exec.execID)
            lifetimes.end(exec.containerID)
        }
    }
}

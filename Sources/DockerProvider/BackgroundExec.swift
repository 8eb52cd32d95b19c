import DockerEngine
import FoundationEssentials
import JSONRPC
import Logging
import Synchronization

/// A command started with `exec` `background: true`: its output as the worker received it (see
/// ``OutputBuffer``), and how it ended. The engine stream that feeds it is read by a task, not a
/// thread: its bytes move on the worker's one libcurl loop.
final class BackgroundExec: Sendable {
    let execID: String
    let containerID: String
    /// The command as the host gave it.
    let command: [String]
    /// When the worker started it (RFC 3339).
    let startedAt: String
    let started: ContinuousClock.Instant
    let encoding: OutputEncoding
    /// What a kill needs: the marker in its top process's environment, its user, whether it runs under tini.
    let marker: String
    let user: String?
    let wrapped: Bool
    /// Where `exec.input` goes (started with `stdin: true`), else nil.
    let session: ExecSession?

    struct Outcome {
        var exitCode: Int
        var durationMs: Int
    }

    private struct State {
        var buffer = OutputBuffer()
        /// The command's first stdout bytes, held while they may still be the engine's complaint.
        var hold = EngineComplaintHold()
        var outcome: Outcome?
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    init(
        execID: String, containerID: String, command: [String], startedAt: String, started: ContinuousClock.Instant,
        encoding: OutputEncoding, marker: String, user: String?, wrapped: Bool, session: ExecSession?
    ) {
        self.execID = execID
        self.containerID = containerID
        self.command = command
        self.startedAt = startedAt
        self.started = started
        self.encoding = encoding
        self.marker = marker
        self.user = user
        self.wrapped = wrapped
        self.session = session
    }

    /// Output from the engine.
    func take(_ stream: StreamDemuxer.Stream, _ bytes: ArraySlice<UInt8>) {
        let waiters = state.withLock { state -> [UUID: CheckedContinuation<Void, Never>] in
            switch state.hold.step(stream, bytes) {
            case .hold: return [:]
            case .release(let held): if !held.isEmpty { state.buffer.append(.stdout, held[...]) }
            case .pass: break
            }
            state.buffer.append(stream, bytes)
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// Whether output is being held back as a possible engine complaint.
    var isHolding: Bool { state.withLock { $0.hold.holding && !$0.hold.held.isEmpty } }

    /// The program started (the engine's record of the exec shows it running): what was held is its stdout.
    func programStarted() {
        let waiters = state.withLock { state -> [UUID: CheckedContinuation<Void, Never>] in
            let held = state.hold.stop()
            guard !held.isEmpty else { return [:] }
            state.buffer.append(.stdout, held[...])
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// The command ended with `exitCode`; `neverStarted`: the engine's record of it has no pid, so
    /// held output that is the engine's complaint goes to stderr.
    func finish(exitCode: Int, neverStarted: Bool = false) {
        let durationMs = DockerProvider.milliseconds(since: started)
        let waiters = state.withLock { state in
            if let (stream, bytes) = state.hold.end(exitCode: exitCode, neverStarted: neverStarted) {
                state.buffer.append(stream, bytes[...])
            }
            state.outcome = Outcome(exitCode: exitCode, durationMs: durationMs)
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    var outcome: Outcome? { state.withLock { $0.outcome } }

    /// Output from `offset` (at most about 256 KiB), the offset after it, the bytes received so far,
    /// the dropped counts and the outcome.
    func read(from offset: Int) -> (pieces: [OutputBuffer.Piece], next: Int, total: Int, dropped: [Int], outcome: Outcome?) {
        state.withLock { state in
            let (pieces, next) = state.buffer.read(from: offset, maxBytes: 256 << 10)
            return (pieces, next, state.buffer.total, state.buffer.dropped, state.outcome)
        }
    }

    /// Returns once more than `total` bytes arrived, the command ended, or the task is cancelled.
    func waitForChange(after total: Int) async {
        let key = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.buffer.total != total || state.outcome != nil || Task.isCancelled { return true }
                    state.waiters[key] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: key) }?.resume()
        }
    }
}

/// A foreground exec while it runs, for `exec.list`.
struct ForegroundExec: Sendable {
    var execID: String
    var containerID: String
    var command: [String]
    var startedAt: String
    var marker: String
    var user: String?
    var wrapped: Bool
}

/// The worker's background commands by exec id, and its running foreground execs. An ended
/// background command stays (for `exec.attach` and `exec.list`) until ``keptEnded`` newer ones ended.
final class BackgroundExecs: Sendable {
    static let keptEnded = 128

    private struct State {
        var background: [String: BackgroundExec] = [:]
        var ended: [String] = []
        var foreground: [String: ForegroundExec] = [:]
    }
    private let state = Mutex(State())

    func add(_ exec: BackgroundExec) { state.withLock { $0.background[exec.execID] = exec } }

    subscript(_ execID: String) -> BackgroundExec? { state.withLock { $0.background[execID] } }

    func foreground(_ execID: String) -> ForegroundExec? { state.withLock { $0.foreground[execID] } }

    /// A background command ended: the oldest ended ones beyond ``keptEnded`` are forgotten.
    func ended(_ execID: String) {
        state.withLock { state in
            state.ended.append(execID)
            while state.ended.count > Self.keptEnded { state.background[state.ended.removeFirst()] = nil }
        }
    }

    func began(_ exec: ForegroundExec) { state.withLock { $0.foreground[exec.execID] = exec } }
    func finished(_ execID: String) { _ = state.withLock { $0.foreground.removeValue(forKey: execID) } }

    /// What this worker knows of a container's commands.
    func entries(containerID: String) -> [ExecListEntry] {
        let (background, foreground) = state.withLock { state in
            (
                state.background.values.filter { $0.containerID == containerID },
                state.foreground.values.filter { $0.containerID == containerID }
            )
        }
        return background.map { exec in
            let outcome = exec.outcome
            return ExecListEntry(
                execId: exec.execID, command: exec.command, running: outcome == nil, exitCode: outcome?.exitCode, startedAt: exec.startedAt,
                background: true, replayable: true)
        }
            + foreground.map {
                ExecListEntry(
                    execId: $0.execID, command: $0.command, running: true, exitCode: nil, startedAt: $0.startedAt, background: false,
                    replayable: false)
            }
    }
}

/// How a background command is marked in the engine's record of its exec, so that a later worker
/// recognises it: its `Cmd` is `/.openlattice/bin/busybox env OPENLATTICE_BACKGROUND=1
/// OPENLATTICE_EXEC_ID=<uuid> OPENLATTICE_STARTED_AT=<RFC 3339> /.openlattice/bin/tini -s -- <command>`
/// (busybox's `env` execs tini: the process is tini, with the variables in its environment). Only
/// these three values are added; nothing secret is.
struct BackgroundMarker: Equatable {
    static let flag = "OPENLATTICE_BACKGROUND=1"
    static let startedAtVariable = "OPENLATTICE_STARTED_AT"

    var marker: String
    var startedAt: String
    var command: [String]

    /// The words that go before tini.
    static func prefix(marker: String, startedAt: String) -> [String] {
        [
            ExecSupervisor.busyboxPath, "env", flag, "\(DockerProvider.execMarkerVariable)=\(marker)",
            "\(startedAtVariable)=\(startedAt)",
        ]
    }

    /// The marker in an exec's argv, or nil when it is not a worker's background command.
    init?(argv: [String]) {
        guard argv.count > 2, argv[0] == ExecSupervisor.busyboxPath, argv[1] == "env",
            let tini = argv.firstIndex(of: ExecSupervisor.tiniPath), argv[..<tini].contains(Self.flag),
            argv.count > tini + 2, argv[tini + 2] == "--"
        else { return nil }
        func value(_ name: String) -> String? {
            argv[..<tini].first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }
        guard let marker = value(DockerProvider.execMarkerVariable) else { return nil }
        self.marker = marker
        self.startedAt = value(Self.startedAtVariable) ?? ""
        var command = Array(argv[(tini + 3)...])
        if command.starts(with: DockerProvider.secretEnvWrapper) { command.removeFirst(DockerProvider.secretEnvWrapper.count) }
        self.command = command
    }

    init?(_ record: ExecInspect) {
        guard let config = record.processConfig, let entrypoint = config.entrypoint else { return nil }
        self.init(argv: [entrypoint] + (config.arguments ?? []))
    }
}

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
        let startRequest = HTTPRequest(.post, "/exec/\(execID)/start", body: Array(#"{"Detach":false,"Tty":false}"#.utf8))
        do {
            if let session {
                let stream = try await client.hijack(startRequest)
                session.attach(stream, execID: execID, client: client)
                pump(stream, into: exec)
            } else {
                let stream = try await client.stream(startRequest, bound: .none)
                pump(stream, into: exec)
            }
        } catch let error as EngineError where error.status == 500 {
            // Podman refuses a start whose user it cannot find, having recorded the exec as exited.
            guard let record = try? await client.send(HTTPRequest(.get, "/exec/\(execID)/json"), as: ExecInspect.self),
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

    /// `exec.attach`: streams a background command's output from `offset` as `exec.output`
    /// notifications (`{requestId, stream, data, offset}`) and answers with its result when it ends.
    /// - Throws: ``InvalidParams`` (`execId`) for a command this worker did not start or forgot,
    ///   (`offset`) for a negative offset, (`stdin`) when the command has no stdin; cancellation.
    func attach(_ request: ExecAttachRequest, context: RequestContext) async throws -> ExecResult {
        if let offset = request.offset, offset < 0 { throw InvalidParams(field: "offset", reason: "must not be negative") }
        guard let exec = backgroundExecs[request.execId] else {
            if let record = try? await engineExec(request.execId), BackgroundMarker(record) != nil, let containerID = record.containerID,
                (try? await owned(containerID)) != nil
            {
                throw InvalidParams(
                    field: "execId",
                    reason:
                        "\(request.execId) is not held by this worker (an earlier worker started it, or it ended long ago): its output cannot be replayed (exec.list says replayable: false)"
                )
            }
            throw Self.unknownExec(request.execId)
        }
        if request.stdin == true {
            guard let session = exec.session else {
                throw InvalidParams(field: "stdin", reason: "the command was not started with stdin: true")
            }
            execSessions.withLock { $0.adopt(context.id, session) }
        }
        defer {
            if request.stdin == true { _ = execSessions.withLock { $0.byID.removeValue(forKey: context.id) } }
        }
        var cursor = request.offset ?? 0
        var decoders: [StreamDemuxer.Stream: UTF8ChunkDecoder] = [:]
        while true {
            try Task.checkCancellation()
            let read = exec.read(from: cursor)
            for piece in read.pieces {
                var frame: [UInt8] = []
                frame.reserveCapacity(piece.bytes.count * 4 / 3 + 200)
                frame.append(contentsOf: #"{"jsonrpc":"2.0","method":"exec.output","params":{"requestId":"#.utf8)
                frame.append(contentsOf: context.idJSON)
                frame.append(
                    contentsOf: piece.stream == .stdout ? #","stream":"stdout","data":"#.utf8 : #","stream":"stderr","data":"#.utf8)
                switch exec.encoding {
                case .base64:
                    frame.append(UInt8(ascii: "\""))
                    Base64.append(piece.bytes[...], to: &frame)
                    frame.append(UInt8(ascii: "\""))
                case .utf8:
                    guard decoders[piece.stream, default: .init()].decode(piece.bytes[...], appendingJSONStringTo: &frame) else { continue }
                }
                frame.append(contentsOf: #","offset":\#(piece.offset)}}"#.utf8)
                guard await context.notify(frame: frame) else { throw CancellationError() }
            }
            cursor = read.next
            if read.pieces.isEmpty {
                if let outcome = read.outcome {
                    for (stream, decoder) in decoders {
                        var decoder = decoder
                        let rest = decoder.finish()
                        guard !rest.isEmpty else { continue }
                        var frame = Array(#"{"jsonrpc":"2.0","method":"exec.output","params":{"requestId":"#.utf8)
                        frame.append(contentsOf: context.idJSON)
                        frame.append(
                            contentsOf: stream == .stdout ? #","stream":"stdout","data":"#.utf8 : #","stream":"stderr","data":"#.utf8)
                        JSONWriter.appendString(rest, to: &frame)
                        frame.append(contentsOf: #","offset":\#(read.total)}}"#.utf8)
                        await context.notify(frame: frame)
                    }
                    return ExecResult(
                        exitCode: outcome.exitCode, stdout: .init(bytes: [], encoding: .utf8), stderr: .init(bytes: [], encoding: .utf8),
                        durationMs: outcome.durationMs, timedOut: false,
                        truncated: OutputTruncation(stdout: read.dropped[0], stderr: read.dropped[1]))
                }
                await exec.waitForChange(after: read.total)
            }
        }
    }

    /// `exec.kill`: sends `signal` (default SIGKILL) to every process of the command `execId`, one
    /// this worker started (background or foreground) or a background command of an earlier worker.
    /// SIGKILL ends the whole tree (see ``ExecSupervisor``) and returns once it is over; another
    /// signal goes once to every process under the command's tini (a trap can run).
    /// - Throws: ``InvalidParams`` (`signal`); ``ProviderError`` -32004 naming `execId` when it is
    ///   no command of this worker's nodes; engine errors.
    func killExec(_ request: ExecKillRequest) async throws {
        let signal = try Self.signalNumber(request.signal)
        let target: (containerID: String, marker: String, user: String?, wrapped: Bool)
        if let exec = backgroundExecs[request.execId] {
            guard exec.outcome == nil else { return }
            target = (exec.containerID, exec.marker, exec.user, exec.wrapped)
        } else if let exec = backgroundExecs.foreground(request.execId) {
            target = (exec.containerID, exec.marker, exec.user, exec.wrapped)
        } else {
            guard let record = try await engineExec(request.execId), let marked = BackgroundMarker(record),
                let containerID = record.containerID
            else { throw Self.unknownExec(request.execId) }
            do {
                _ = try await owned(containerID)
            } catch let error as ProviderError where error.code == .notFound {
                throw Self.unknownExec(request.execId)
            }
            guard record.running else { return }
            target = (containerID, marked.marker, record.processConfig?.user.flatMap { $0.isEmpty ? nil : $0 }, true)
        }
        if signal == 9 {
            await supervisor.killNow(
                containerID: target.containerID, marker: target.marker, user: target.user, execID: request.execId, wrapped: target.wrapped)
        } else {
            try await supervisor.signal(
                signal, containerID: target.containerID, marker: target.marker, user: target.user, wrapped: target.wrapped)
        }
    }

    /// `exec.list`: the node's commands this worker runs or ran in the background, its running
    /// foreground execs, and the background commands of earlier workers the engine still keeps
    /// (`replayable: false`), oldest first.
    /// - Throws: ``ProviderError`` -32004 no such node; engine errors.
    func listExecs(_ externalId: String) async throws -> [ExecListEntry] {
        let container = try await ownedContainer(externalId)
        var entries = backgroundExecs.entries(containerID: container.id)
        let known = Set(entries.map(\.execId))
        let others = (container.execIDs ?? []).filter { !known.contains($0) }
        let found = await withTaskGroup(of: ExecListEntry?.self) { group in
            for execID in others {
                group.addTask { [self] in
                    guard let record = try? await engineExec(execID), let marked = BackgroundMarker(record) else { return nil }
                    return ExecListEntry(
                        execId: execID, command: marked.command, running: record.running,
                        exitCode: record.running ? nil : record.exitCode, startedAt: marked.startedAt, background: true,
                        replayable: false)
                }
            }
            var found: [ExecListEntry] = []
            for await entry in group { if let entry { found.append(entry) } }
            return found
        }
        entries += found
        return entries.sorted { ($0.startedAt, $0.execId) < ($1.startedAt, $1.execId) }
    }

    /// The engine's record of an exec; nil when the engine has none.
    func engineExec(_ execID: String) async throws -> ExecInspect? {
        guard !execID.isEmpty, execID.count <= 128, execID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return nil
        }
        do {
            return try await client.send(HTTPRequest(.get, "/exec/\(execID)/json"), as: ExecInspect.self)
        } catch let error as EngineError where error.status == 404 {
            return nil
        }
    }

    static func unknownExec(_ execID: String) -> ProviderError {
        ProviderError(code: .notFound, reason: "no such command: execId \(execID) (not a command of this worker's nodes)", status: 404)
    }

    /// The signal's number: a name (`SIGTERM`, `SIGKILL`, `SIGINT`, `SIGHUP`) or 1–64; absent is SIGKILL.
    /// - Throws: ``InvalidParams`` (`signal`).
    static func signalNumber(_ value: JSONValue?) throws -> Int {
        switch value {
        case nil, .null?: return 9
        case .string(let name)?:
            let names = ["SIGHUP": 1, "SIGINT": 2, "SIGKILL": 9, "SIGTERM": 15]
            guard let number = names[name] else {
                throw InvalidParams(field: "signal", reason: "must be SIGTERM, SIGKILL, SIGINT, SIGHUP or a number from 1 to 64")
            }
            return number
        case .integer(let number)?:
            guard (1...64).contains(number) else { throw InvalidParams(field: "signal", reason: "must be a number from 1 to 64") }
            return Int(number)
        default:
            throw InvalidParams(field: "signal", reason: "must be a signal name or number")
        }
    }
}

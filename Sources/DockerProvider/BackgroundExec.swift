import DequeModule
import DockerEngine
import FoundationEssentials
import JSONCoding
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
        /// Ended background commands' exec ids, oldest first.
        var ended: Deque<String> = []
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

import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `exec.kill` and `exec.list`: the commands running in a node.

extension DockerProvider {
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
            return try await client.inspectExec(execID)
        } catch let error as EngineError where error.isNotFound {
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

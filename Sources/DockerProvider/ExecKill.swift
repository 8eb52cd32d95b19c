import DockerEngine
import FoundationEssentials
import Glibc
import JSONCoding
import JSONRPC
import Logging
import Synchronization

/// Owns the processes execs start: installs the helpers every exec runs under, and kills an exec's
/// whole process tree on timeout, cancellation, shutdown and end of input.
///
/// Every exec runs as `/.openlattice/bin/tini -s -- <command>`: tini (Debian's static build, copied
/// from the host into the node once through the archive endpoint) registers as a child subreaper,
/// so every process the command starts stays its descendant, even one that double-forks, calls
/// `setsid`, clears its environment or switches user: orphans re-parent to tini instead of the
/// node's PID 1. tini itself keeps the exec's marker variable in its environment and never execs
/// away, so it can be found. A kill runs a static busybox (copied in the same way, only when a kill
/// is needed) as `/.openlattice/bin/busybox sh`: it finds tini by the marker (as the exec's user, the
/// only one allowed to read its environment), then, as root, sends SIGKILL to every descendant of it,
/// round after round until none is left, and to tini last. It needs nothing from the image.
///
/// On a paused node the kill unpauses it, kills and pauses it again. When the helpers cannot be
/// installed (a read-only root filesystem, an engine of another architecture, no static tini or
/// busybox on the host), execs run unwrapped and a kill falls back to the image's `sh` looking for
/// processes that still carry the marker variable.
final class ExecSupervisor: Sendable {
    /// Where the helpers live inside a node.
    static let directory = "/.openlattice/bin"
    static let tiniPath = "\(directory)/tini"
    static let busyboxPath = "\(directory)/busybox"

    /// The static binaries on the worker's host: `OPENLATTICE_TINI_STATIC` / `OPENLATTICE_BUSYBOX_STATIC`,
    /// else Debian's `tini` and `busybox-static` packages.
    static let hostTini = ProcessInfo.processInfo.environment["OPENLATTICE_TINI_STATIC"] ?? "/usr/bin/tini-static"
    static let hostBusybox = ProcessInfo.processInfo.environment["OPENLATTICE_BUSYBOX_STATIC"] ?? "/bin/busybox"

    private enum Install {
        case installing(Task<Bool?, Never>)
        case done(Bool)
    }

    /// The helpers' bytes, read from the host once (nil: missing or not a static executable).
    private static let tiniBinary = readStaticBinary(hostTini)
    private static let busyboxBinary = readStaticBinary(hostBusybox)

    private let client: EngineClient
    private let logger: Logger
    /// Per container and helper: whether it is installed (or being installed).
    private let installs = Mutex<[String: Install]>([:])
    /// Kills under way, awaited at shutdown.
    private let kills = Mutex<[UUID: Task<Void, Never>]>([:])
    /// The engine's `Arch` (`amd64`, `arm64`), read once.
    private let engineArch = Mutex<String?>(nil)

    init(client: EngineClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    // MARK: Helpers

    /// Makes sure `helper` is in the node; false when it cannot be (then execs run unwrapped).
    func ensure(_ helper: String, in containerID: String) async -> Bool {
        let key = "\(containerID)\u{0}\(helper)"
        let task = installs.withLock { installs -> Task<Bool?, Never>? in
            switch installs[key] {
            case .done(let ok): return ok ? nil : Task { false }
            case .installing(let task): return task
            case nil:
                let task = Task { [self] in await install(helper, in: containerID) }
                installs[key] = .installing(task)
                return task
            }
        }
        guard let task else { return true }
        let outcome = await task.value
        installs.withLock { installs in
            // A failure from a transient cause (engine away, node paused: nil) is retried next time;
            // the engine's refusal (read-only root filesystem) or a host without the helper is kept.
            installs[key] = outcome.map { .done($0) }
        }
        return outcome ?? false
    }

    /// Forgets what was installed in a node (it was removed or may have been replaced).
    func forget(_ containerID: String) {
        installs.withLock { installs in
            for key in installs.keys where key.hasPrefix("\(containerID)\u{0}") { installs[key] = nil }
        }
    }

    /// Copies `helper` into the node: true when done, false when it cannot be, nil on a transient failure.
    private func install(_ helper: String, in containerID: String) async -> Bool? {
        let source = helper == Self.tiniPath ? Self.hostTini : Self.hostBusybox
        guard let binary = helper == Self.tiniPath ? Self.tiniBinary : Self.busyboxBinary else {
            logger.debug("no static helper on the host", metadata: ["path": "\(source)"])
            return false
        }
        guard let matches = await architectureMatches(binary) else { return nil }
        guard matches else { return false }
        var tar = TarWriter()
        tar.addDirectory(name: ".openlattice/", mode: 0o755)
        tar.addDirectory(name: ".openlattice/bin/", mode: 0o755)
        do {
            try tar.addFile(name: String(helper.dropFirst()), contents: binary, mode: 0o755)
            try await client.putArchive(containerID, path: "/", tar.finished())
            return true
        } catch {
            logger.debug("could not install an exec helper", metadata: ["container": "\(containerID)", "error": "\(error)"])
            if let error = error as? EngineError, let status = error.status, status != 409 { return false }
            return nil
        }
    }

    /// The file's bytes when it is a static ELF executable (no program interpreter).
    static func readStaticBinary(_ path: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let bytes = [UInt8](data)
        guard bytes.count > 64, bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46, bytes[4] == 2 else {
            return nil
        }
        func integer(_ offset: Int, _ size: Int) -> Int {
            var value = 0
            for index in (0..<size).reversed() { value = value << 8 | Int(bytes[offset + index]) }
            return value
        }
        let programHeaders = integer(32, 8)
        let entrySize = integer(54, 2)
        let count = integer(56, 2)
        guard entrySize >= 4, programHeaders + entrySize * count <= bytes.count else { return nil }
        for index in 0..<count where integer(programHeaders + index * entrySize, 4) == 3 { return nil }  // PT_INTERP
        return bytes
    }

    /// Whether the binary runs on the engine's architecture; nil when the engine could not be asked.
    private func architectureMatches(_ binary: [UInt8]) async -> Bool? {
        let machine = Int(binary[18]) | Int(binary[19]) << 8
        let arch: String
        if let known = engineArch.withLock({ $0 }) {
            arch = known
        } else {
            guard let version = try? await client.version() else { return nil }
            arch = version.arch ?? ""
            engineArch.withLock { $0 = arch }
        }
        switch machine {
        case 62: return arch == "amd64"
        case 183: return arch == "arm64"
        default: return false
        }
    }

    // MARK: Kills

    /// Starts killing an exec's processes, then runs `afterwards`; shutdown waits for it (``drain(within:)``).
    func kill(
        containerID: String, marker: String, user: String?, execID: String?, wrapped: Bool,
        afterwards: @escaping @Sendable () -> Void
    ) {
        let key = UUID()
        // Registered under the lock before the task can finish and unregister itself.
        kills.withLock { kills in
            kills[key] = Task.detached { [self] in
                await killNow(containerID: containerID, marker: marker, user: user, execID: execID, wrapped: wrapped)
                afterwards()
                _ = self.kills.withLock { $0.removeValue(forKey: key) }
            }
        }
    }

    /// Waits for the kills under way, at most `limit`.
    func drain(within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let pending = kills.withLock { Array($0.values) }
            if pending.isEmpty { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        logger.warning("shutdown did not wait for every exec kill", metadata: ["pending": "\(kills.withLock { $0.count })"])
    }

    /// Kills until the exec is over: an exec whose start was still on its way may begin after the first round.
    func killNow(containerID: String, marker: String, user: String?, execID: String?, wrapped: Bool) async {
        let started = ContinuousClock.now
        var round = 0
        while true {
            round += 1
            do {
                try await killRound(containerID: containerID, marker: marker, user: user, wrapped: wrapped)
            } catch let error as ProviderError where error.code == .notFound {
                return  // the node is gone, and its processes with it
            } catch {
                logger.warning(
                    "could not kill an exec's processes yet", metadata: ["container": "\(containerID)", "error": "\(error)"])
            }
            guard let execID else { return }
            let info = try? await client.inspectExec(execID)
            guard let info else { return }  // the exec (or the node) is gone
            if !info.running && (info.exitCode != nil || (info.pid ?? 0) != 0) { return }
            // Not started yet, or still running: try again, for up to 3 s in all.
            if ContinuousClock.now - started > .seconds(3) {
                logger.error(
                    "an exec's processes outlived their kill", metadata: ["container": "\(containerID)", "rounds": "\(round)"])
                return
            }
            try? await Task.sleep(for: .milliseconds(round < 3 ? 50 : 200))
        }
    }

    /// One round: find the exec's tini by its marker and kill its tree (or, unwrapped, every process with
    /// the marker). On a paused node: unpause, kill, pause again.
    private func killRound(containerID: String, marker: String, user: String?, wrapped: Bool) async throws {
        do {
            try await killInRunningNode(containerID: containerID, marker: marker, user: user, wrapped: wrapped)
        } catch let error as EngineError where error.isNotFound {
            throw ProviderError.notFound(containerID)
        } catch let error as EngineError where error.status == 409 || error.status == 500 {
            // Docker refuses an exec in a paused node with 409, Podman with 500.
            let state = try? await client.inspectContainer(containerID).state
            guard state?.paused == true else { throw error }
            try await client.unpauseContainer(containerID)
            do {
                try await killInRunningNode(containerID: containerID, marker: marker, user: user, wrapped: wrapped)
            } catch {
                // Paused again even when the kill was cancelled (a cancelled task's request would not go).
                let client = client
                await Task.detached { try? await client.pauseContainer(containerID) }.value
                throw error
            }
            try await client.pauseContainer(containerID)
        }
    }

    private func killInRunningNode(containerID: String, marker: String, user: String?, wrapped: Bool) async throws {
        guard wrapped, await ensure(Self.busyboxPath, in: containerID) else {
            let script =
                "for p in /proc/[0-9]*; do if tr '\\000' '\\n' < $p/environ 2>/dev/null | grep -qx '\(DockerProvider.execMarkerVariable)=\(marker)'; then kill -9 ${p#/proc/} 2>/dev/null; fi; done; true"
            _ = try await DockerProvider.runQuietly(client: client, containerID: containerID, command: ["sh", "-c", script], user: user)
            return
        }
        // As the exec's user: find tini; when that user is root, kill its tree at once.
        let found = try await DockerProvider.runQuietly(
            client: client, containerID: containerID, command: [Self.busyboxPath, "sh", "-c", Self.killScript, "sh", "find", marker],
            user: user)
        let pids = String(decoding: found.output, as: UTF8.self).split(whereSeparator: \.isWhitespace).filter { $0.allSatisfy(\.isNumber) }
        guard !pids.isEmpty else { return }
        _ = try await DockerProvider.runQuietly(
            client: client, containerID: containerID,
            command: [Self.busyboxPath, "sh", "-c", Self.killScript, "sh", "tree"] + pids.map(String.init), user: "0")
    }

    /// Sends signal `number` once to every process under the exec's tini (not tini itself, which
    /// would pass it on to its child a second time); unwrapped, to every process with the marker.
    /// - Throws: engine errors; ``ProviderError`` -32004 when the node is gone.
    func signal(_ number: Int, containerID: String, marker: String, user: String?, wrapped: Bool) async throws {
        do {
            guard wrapped, await ensure(Self.busyboxPath, in: containerID) else {
                let script =
                    "for p in /proc/[0-9]*; do if tr '\\000' '\\n' < $p/environ 2>/dev/null | grep -qx '\(DockerProvider.execMarkerVariable)=\(marker)'; then kill -\(number) ${p#/proc/} 2>/dev/null; fi; done; true"
                _ = try await DockerProvider.runQuietly(
                    client: client, containerID: containerID, command: ["sh", "-c", script], user: user)
                return
            }
            let found = try await DockerProvider.runQuietly(
                client: client, containerID: containerID, command: [Self.busyboxPath, "sh", "-c", Self.killScript, "sh", "list", marker],
                user: user)
            let pids = String(decoding: found.output, as: UTF8.self).split(whereSeparator: \.isWhitespace).filter {
                $0.allSatisfy(\.isNumber)
            }
            guard !pids.isEmpty else { return }
            _ = try await DockerProvider.runQuietly(
                client: client, containerID: containerID,
                command: [Self.busyboxPath, "sh", "-c", Self.killScript, "sh", "signal", "\(number)"] + pids.map(String.init), user: "0")
        } catch let error as EngineError where error.isNotFound {
            throw ProviderError.notFound(containerID)
        }
    }
}

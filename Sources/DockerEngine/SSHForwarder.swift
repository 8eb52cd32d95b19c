import Glibc
import OSThread
import Synchronization

/// Reaches an `ssh://` engine the way the Docker CLI does: each connection libcurl opens to a
/// private unix socket (in a 0700 folder of its own under `$TMPDIR` or /tmp) is carried by a fresh
/// `ssh … -- host docker system dial-stdio` process, whose stdin and stdout are the far engine's
/// socket. The system `ssh` runs in batch mode with the user's keys, agent and `~/.ssh/config`,
/// plus ``EngineHost/sshOptions``.
///
/// One thread accepts; each connection has two relay threads (one per direction), which end when
/// the connection does. An `ssh` that exits non-zero before sending a byte leaves its exit status
/// and the end of its stderr in ``lastFailure``, so the error libcurl then reports can name the
/// step that failed.
final class SSHForwarder: Sendable {
    /// The socket libcurl connects to (`CURLOPT_UNIX_SOCKET_PATH`).
    let socketPath: String
    private let folder: String
    private let listener: Int32
    private let shared: Shared

    /// What the accept and relay threads share with the forwarder.
    final class Shared: Sendable {
        let argv: [String]
        let target: String
        let failure = Mutex<String?>(nil)
        init(argv: [String], target: String) {
            self.argv = argv
            self.target = target
        }
    }

    /// Listens on a new private socket for the `ssh` transport of `host`.
    /// - Throws: ``EngineError`` (`.unreachable`) naming the step (folder, socket, thread) that failed.
    init(host: EngineHost) throws(EngineError) {
        guard case .ssh(let user, let name, let port) = host.transport else {
            throw EngineError(code: .transport, reason: "An SSH forwarder needs an ssh:// engine.")
        }
        var argv = ["ssh"] + host.sshOptions + ["-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-T"]
        if let user { argv += ["-l", user] }
        if let port { argv += ["-p", String(port)] }
        argv += ["--", name, "docker", "system", "dial-stdio"]
        shared = Shared(argv: argv, target: host.description)

        func failed(_ step: String, _ code: Int32 = errno) -> EngineError {
            EngineError(code: .unreachable, reason: "\(host.description): \(step) failed: \(String(cString: strerror(code)))")
        }
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/olw-ssh-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard let made else {
            throw failed("making a private folder for the ssh socket under \(base)")
        }
        folder = String(cString: made)
        socketPath = folder + "/engine.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            let code = errno
            rmdir(folder)
            throw failed("creating the ssh socket", code)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            rmdir(folder)
            throw EngineError(code: .unreachable, reason: "\(host.description): the socket path \(socketPath) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            rmdir(folder)
            throw failed("listening on \(socketPath)", code)
        }
        listener = fd
        SSHFolders.add(folder)
        let shared = shared
        do {
            try OSThread.detach(name: "olw-ssh-accept") { Self.acceptLoop(listener: fd, shared: shared) }
        } catch {
            close(fd)
            unlink(socketPath)
            rmdir(folder)
            throw EngineError(code: .unreachable, reason: "\(host.description): \(error.description)")
        }
    }

    deinit {
        // Wakes the accept thread (accept fails once the socket is shut down), which closes it.
        shutdown(listener, Int32(SHUT_RDWR))
        unlink(socketPath)
        rmdir(folder)
        SSHFolders.remove(folder)
    }

    /// The last `ssh` failure (a connection that ended before any byte came back), kept until a
    /// connection gets bytes back: every request whose connection failed meanwhile is explained by
    /// it, also when several failed at once (one slot taken by the first would leave the rest bare).
    var lastFailure: String? { shared.failure.withLock { $0 } }

    /// `error` with the step that failed, when an `ssh` failed since the last call.
    func explain(_ error: EngineError) -> EngineError {
        guard error.code == .unreachable || error.code == .transport, let failure = lastFailure else { return error }
        var explained = error
        explained.code = .unreachable
        explained.reason = failure
        return explained
    }

    private static func acceptLoop(listener: Int32, shared: Shared) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    usleep(100_000)
                    continue
                }
                break
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            relay(client: client, shared: shared)
        }
        close(listener)
    }

    /// Starts an `ssh` for `client` and relays both ways until either side ends.
    private static func relay(client: Int32, shared: Shared) {
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        func pipe2(_ fds: inout [Int32], _ flags: Int32) -> Int32 {
            guard pipe(&fds) == 0 else { return -1 }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return 0
        }
        guard pipe2(&input, O_CLOEXEC) == 0 else { return refuse(client, shared, "making a pipe for ssh", errno) }
        guard pipe2(&output, O_CLOEXEC) == 0 else {
            let code = errno
            for fd in input { close(fd) }
            return refuse(client, shared, "making a pipe for ssh", code)
        }
        guard pipe2(&errors, O_CLOEXEC) == 0 else {
            let code = errno
            for fd in input + output { close(fd) }
            return refuse(client, shared, "making a pipe for ssh", code)
        }
        var pid: pid_t = 0
        var cStrings = shared.argv.map { strdup($0) }
        cStrings.append(nil)
        let spawned = cStrings.withUnsafeMutableBufferPointer { argv in
            spawn(argv.baseAddress, stdin: input[0], stdout: output[1], stderr: errors[1], pid: &pid)
        }
        for string in cStrings { free(string) }
        let child = pid
        close(input[0])
        close(output[1])
        close(errors[1])
        guard spawned == 0 else {
            close(input[1])
            close(output[0])
            close(errors[0])
            return refuse(client, shared, "starting ssh (\(shared.argv[0]))", spawned)
        }
        let connection = Connection(client: client)
        let toSSH = input[1]
        let fromSSH = output[0]
        let sshErrors = errors[0]
        let up: @Sendable () -> Void = {
            _ = copy(from: connection.client, to: toSSH, socketTarget: false)
            close(toSSH)
        }
        let down: @Sendable () -> Void = {
            let forwarded = copy(from: fromSSH, to: connection.client, socketTarget: true)
            close(fromSSH)
            let stderr = readAll(sshErrors, limit: 16 << 10)
            close(sshErrors)
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            let exited = status & 0x7f == 0
            let code = exited ? (status >> 8) & 0xff : status & 0x7f
            if forwarded == 0 && (!exited || code != 0) {
                let how = exited ? "exited with status \(code)" : "was killed by signal \(code)"
                let said = redacted(stderr)
                shared.failure.withLock {
                    $0 = "\(shared.target): ssh \(how)\(said.isEmpty ? " and said nothing" : ": \(said)")"
                }
            } else if forwarded > 0 {
                shared.failure.withLock { $0 = nil }
            }
            // The far side is done: libcurl sees the end of the connection (and the up thread ends).
            shutdown(connection.client, Int32(SHUT_RDWR))
        }
        do {
            try OSThread.detach(name: "olw-ssh-up", up)
        } catch {
            close(toSSH)
        }
        do {
            try OSThread.detach(name: "olw-ssh-down", down)
        } catch {
            // No reader for ssh's output: end it; its exit is collected here.
            close(fromSSH)
            close(sshErrors)
            kill(pid, SIGTERM)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            shutdown(client, Int32(SHUT_RDWR))
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+, declared only under _GNU_SOURCE).
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private static let closeFrom: CloseFrom? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: CloseFrom.self)
    }()

    /// Starts `argv[0]` (searched in PATH) with these fds as its 0, 1 and 2 and every other
    /// descriptor closed (the worker's protocol pipe and engine sockets must not outlive it in a
    /// child), SIGPIPE and SIGTERM at their defaults and no signal blocked. Returns 0 or an errno value.
    private static func spawn(
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, stdin: Int32, stdout: Int32, stderr: Int32,
        pid: inout pid_t
    ) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        var result = posix_spawn_file_actions_init(&actions)
        guard result == 0 else { return result }
        defer { posix_spawn_file_actions_destroy(&actions) }
        result = posix_spawnattr_init(&attributes)
        guard result == 0 else { return result }
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        var none = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGTERM)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        for (fd, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            result = posix_spawn_file_actions_adddup2(&actions, fd, target)
            guard result == 0 else { return result }
        }
        // Without closefrom (glibc before 2.34) the pipes and sockets the worker opens carry
        // O_CLOEXEC here; libcurl's sockets do too (it opens them with SOCK_CLOEXEC).
        if let closeFrom {
            result = closeFrom(&actions, 3)
            guard result == 0 else { return result }
        }
        guard let argv, let file = argv[0] else { return EINVAL }
        return posix_spawnp(&pid, file, &actions, &attributes, argv, environ)
    }

    /// Closes `client` at once, leaving why in the failure slot.
    private static func refuse(_ client: Int32, _ shared: Shared, _ step: String, _ code: Int32) {
        shared.failure.withLock { $0 = "\(shared.target): \(step) failed: \(String(cString: strerror(code)))" }
        close(client)
    }

    /// Copies until end of input or a failed write; returns the bytes copied.
    private static func copy(from source: Int32, to target: Int32, socketTarget: Bool) -> Int {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var total = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return total }
            var sent = 0
            while sent < count {
                let wrote = buffer.withUnsafeBytes { raw -> Int in
                    guard let base = raw.baseAddress else { return -1 }
                    return socketTarget
                        ? send(target, base + sent, count - sent, Int32(MSG_NOSIGNAL))
                        : write(target, base + sent, count - sent)
                }
                if wrote < 0 && errno == EINTR { continue }
                if wrote <= 0 { return total }
                sent += wrote
            }
            total += count
        }
    }

    /// Reads `fd` to its end, keeping at most the last `limit` bytes.
    private static func readAll(_ fd: Int32, limit: Int) -> [UInt8] {
        var kept: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return kept }
            kept.append(contentsOf: buffer[..<count])
            if kept.count > limit { kept.removeFirst(kept.count - limit) }
        }
    }

    /// The last lines of ssh's stderr as one line of at most 400 characters, without control
    /// characters, and with anything that looks like a secret (`password=…`, `token …`) masked.
    static func redacted(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline)
            .map { $0.filter { !$0.isASCII || ($0.asciiValue.map { $0 >= 0x20 && $0 != 0x7f } ?? false) } }
            .map { String($0).trimmedOfWhitespace() }
            .filter { !$0.isEmpty }
        var words = lines.suffix(3).joined(separator: " / ").split(separator: " ").map(String.init)
        let secrets = ["password", "passphrase", "token", "secret"]
        var maskNext = false
        for index in words.indices {
            let lower = words[index].lowercased()
            if maskNext {
                words[index] = "…"
                maskNext = false
                continue
            }
            guard secrets.contains(where: { lower.contains($0) }) else { continue }
            if let separator = words[index].firstIndex(where: { $0 == "=" || $0 == ":" }),
                words[index].index(after: separator) < words[index].endIndex
            {
                words[index] = String(words[index][...separator]) + "…"
            } else if lower.hasSuffix("=") || lower.hasSuffix(":") {
                maskNext = true
            }
        }
        var joined = words.joined(separator: " ")
        if joined.count > 400 { joined = "…" + joined.suffix(399) }
        return joined
    }

    /// A relayed connection: its socket closes when both directions are done.
    private final class Connection: Sendable {
        let client: Int32
        init(client: Int32) { self.client = client }
        deinit { close(client) }
    }
}

/// The forwarders' private folders, removed at exit (the worker ends with `exit`, so no deinit runs).
enum SSHFolders {
    private static let folders = Mutex<Set<String>>([])
    private static let registered = Mutex(false)

    static func add(_ folder: String) {
        folders.withLock { _ = $0.insert(folder) }
        let first = registered.withLock { done in
            defer { done = true }
            return !done
        }
        if first {
            atexit {
                for folder in SSHFolders.folders.withLock({ $0 }) {
                    unlink(folder + "/engine.sock")
                    rmdir(folder)
                }
            }
        }
    }

    static func remove(_ folder: String) {
        folders.withLock { _ = $0.remove(folder) }
    }
}

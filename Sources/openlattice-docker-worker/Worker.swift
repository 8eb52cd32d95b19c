import ArgumentParser
import CSystem
import Dispatch
import DockerProvider
import FoundationEssentials
import Glibc
import JSONCoding
import JSONRPC
import Logging
import Synchronization

/// The worker's command line: flags override the environment; `initialize`'s config overrides flags.
@main
struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openlattice-docker-worker",
        abstract: "Makes a Docker engine an OpenLattice compute provider, speaking JSON-RPC 2.0 on stdin and stdout.",
        discussion: "Protocol messages go to stdout, one per line; logs go to stderr. See protocol/README.md.",
        version: WorkerService.version)

    @Option(
        help:
            "Engine address (unix:///path, tcp://host:port, ssh://[user@]host[:port]). Default: $DOCKER_HOST, the Docker context, or unix:///var/run/docker.sock."
    )
    var host: String?

    @Option(
        name: .customLong("ssh-option"), parsing: .unconditionalSingleValue,
        help: """
            An extra ssh argument for an ssh:// engine, repeated for each word (--ssh-option=-i --ssh-option=/path/key). \
            Default: $OPENLATTICE_SSH_OPTIONS split at spaces.
            """
    )
    var sshOptions: [String] = []

    @Flag(help: "Use TLS and verify the engine (as DOCKER_TLS_VERIFY).")
    var tlsVerify = false

    @Option(help: "Folder holding ca.pem, cert.pem and key.pem (as DOCKER_CERT_PATH).")
    var certPath: String?

    @Option(help: "Engine API version to use instead of negotiating (as DOCKER_API_VERSION).")
    var apiVersion: String?

    @Option(help: "Docker network new containers join.")
    var network: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical. Default: $OPENLATTICE_LOG_LEVEL or info.")
    var logLevel: String?

    @Option(help: "Longest accepted request line, in bytes.")
    var maxLineBytes: Int = 64 << 20

    @Option(help: "Timeout of non-streaming engine requests, in milliseconds.")
    var requestTimeout: Int?

    @Option(help: "JSON file with the security policy nodes are held to (as initialize's config.policy, which overrides it).")
    var policy: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical.")
        }
        guard maxLineBytes >= 1024 else { throw ValidationError("--max-line-bytes must be at least 1024.") }
        if let requestTimeout, requestTimeout <= 0 { throw ValidationError("--request-timeout must be positive.") }
        if let problem = WorkerConfig.sshOptionsProblem(sshOptions) { throw ValidationError("--ssh-option: \(problem).") }
    }

    func run() async throws {
        // Keep stdout for protocol frames only: frames go to a duplicate of fd 1, and fd 1 itself
        // points at stderr, so a stray print cannot corrupt the stream.
        let protocolFD = dup(STDOUT_FILENO)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        signal(SIGPIPE, SIG_IGN)
        // A stdout pipe of 1 MiB instead of 64 KiB: a stream crosses in fewer, larger writes and
        // reads, with fewer wake-ups on both sides. Not a pipe, or over the system's limit: left as is.
        _ = olw_system_set_pipe_size(protocolFD, 1 << 20)
        // Buffers of a MiB or more (long lines, archives) come from mmap and go back to the system
        // when freed. glibc otherwise raises this threshold as big blocks are freed, up to 32 MiB, and
        // keeps the freed blocks resident in its heap: a discarded 64 MiB line then cost half as much
        // again after it was gone. Pinning it also pins the heap's trim threshold at its 128 KiB
        // default, and a stream's buffers then grow and shrink the heap top on every chunk (page
        // faults, zeroed pages: a third of the worker's CPU per streamed MiB), so up to 8 MiB of free
        // heap top is kept. MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ or the same settings in
        // GLIBC_TUNABLES still win.
        let environment = ProcessInfo.processInfo.environment
        let tunables = environment["GLIBC_TUNABLES"] ?? ""
        if environment["MALLOC_MMAP_THRESHOLD_"] == nil && !tunables.contains("glibc.malloc.mmap_threshold") {
            _ = olw_system_set_mmap_threshold(1 << 20)
        }
        if environment["MALLOC_TRIM_THRESHOLD_"] == nil && !tunables.contains("glibc.malloc.trim_threshold") {
            _ = olw_system_set_trim_threshold(8 << 20)
        }

        // Every engine call, stream and helper holds a socket: a soft limit below the hard one (often
        // 1024, or less where a host lowers it) would make the worker fail long before the system would.
        let descriptorLimit = Self.raiseDescriptorLimit()

        let level =
            logLevel.flatMap(Logger.Level.init(rawValue:))
            ?? environment["OPENLATTICE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "openlattice-docker-worker")

        var config = WorkerConfig(environment: environment)
        if let host { config.host = host }
        if tlsVerify || certPath != nil {
            let folder = certPath ?? environment["DOCKER_CERT_PATH"] ?? "\(environment["HOME"] ?? "/root")/.docker"
            config.tls = .init(ca: "\(folder)/ca.pem", cert: "\(folder)/cert.pem", key: "\(folder)/key.pem", verify: true)
        }
        if let apiVersion { config.apiVersion = apiVersion }
        if let network { config.network = network }
        if let requestTimeout { config.requestTimeoutMs = requestTimeout }
        if let policy { config.policy = try Self.loadPolicy(policy) }
        if !sshOptions.isEmpty { config.sshOptions = sshOptions }

        let service = WorkerService(baseConfig: config, maxLineBytes: maxLineBytes, logger: logger)
        // The host closed our stdout: nobody can hear us any more. The session ends as if its input
        // had ended (so `onHostExit` still runs); the server is made below.
        let serverBox = ServerBox()
        let output = OutputChannel(fd: protocolFD) { serverBox.server?.hostGone() }
        let server = RPCServer(
            table: service.methodTable(), output: output,
            configuration: .init(
                maxLineBytes: maxLineBytes, describeFailure: { "[docker] \($0) failed: \($1)" },
                errorData: JSONObject(["provider": .string("docker")])),
            logger: logger)
        serverBox.server = server

        // A host may spawn us with these signals blocked (the mask is inherited): unblock them, then
        // take them through dispatch sources rather than handlers. SIGTERM is a deliberate stop (an
        // operator, an upgrade); SIGINT and SIGHUP mean the host's terminal or session went away.
        var mask = sigset_t()
        sigemptyset(&mask)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&mask, signal) }
        let unblocked = pthread_sigmask(SIG_UNBLOCK, &mask, nil)
        if unblocked != 0 {
            logger.error("could not unblock SIGTERM, SIGINT and SIGHUP: they may not reach the worker", metadata: ["errno": "\(unblocked)"])
        }
        var sources: [any DispatchSourceSignal] = []
        for (number, action) in [(SIGTERM, { server.terminate() }), (SIGINT, { server.hostGone() }), (SIGHUP, { server.hostGone() })] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler(handler: action)
            source.resume()
            sources.append(source)
        }

        logger.debug("worker started", metadata: ["engine": "\(config.host)", "descriptorLimit": "\(descriptorLimit)"])
        let reason = await server.run(input: STDIN_FILENO)
        // Shutdown, end of input and SIGTERM cancelled the execs in flight: their kills finish first.
        await service.drainExecKills(within: .seconds(3))
        await service.sessionEnded(hostDied: reason == .endOfInput)
        withExtendedLifetime(sources) {}
        logger.debug("worker stopped")
        Glibc.exit(0)
    }

    /// Reads and checks the policy file of `--policy`.
    /// - Throws: `ValidationError` naming the file and what is wrong with it.
    static func loadPolicy(_ path: String) throws -> SecurityPolicy {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--policy: cannot read \(path)")
        }
        do {
            let policy = try JSONValueDecoder().decode(SecurityPolicy.self, from: try JSONParser.parse(Array(data)))
            try policy.validate(prefix: "policy")
            return policy
        } catch let error as InvalidParams {
            throw ValidationError("--policy \(path): \(error.field): \(error.reason)")
        } catch {
            throw ValidationError("--policy \(path): not a policy object: \(error)")
        }
    }
}

/// The server, for the output channel's callback that is made before it.
private final class ServerBox: Sendable {
    private let value = Mutex<RPCServer?>(nil)
    var server: RPCServer? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

extension Worker {
    /// Raises the soft limit of open descriptors to the hard limit (a worker holds one per engine
    /// connection); returns the soft limit now in force, or -1. In Swift rather than the C shim:
    /// `<sys/resource.h>` under `_GNU_SOURCE` conflicts with Glibc's own module of it.
    static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0 else { return -1 }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            guard setrlimit(resource, &limit) == 0 else { return -1 }
        }
        return Int(limit.rlim_cur)
    }
}

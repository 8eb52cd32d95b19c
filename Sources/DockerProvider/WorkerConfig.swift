import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

/// The worker's settings: defaults, then the environment, then command-line flags, then
/// `initialize`'s `config`, each overriding the one before.
public struct WorkerConfig: Sendable {
    /// The engine address in `DOCKER_HOST` syntax.
    public var host = EngineHost.defaultSocket
    /// A fixed API version (skips negotiation).
    public var apiVersion: String?
    /// The Docker network new containers join.
    public var network: String?
    /// Labels added to every container.
    public var defaultLabels: [String: String] = [:]
    /// Whether GPUs may be requested.
    public var gpuAvailable = false
    /// The repository snapshots are committed to.
    public var snapshotRepository = "openlattice-snapshot"
    /// Timeout of non-streaming engine requests, in milliseconds.
    public var requestTimeoutMs = 60_000
    /// How long a stream from the engine may send nothing (while the worker keeps up) before the
    /// call fails with -32008, in milliseconds. Following logs, events and metrics streams are exempt.
    public var streamStallMs = 30_000
    /// The most bytes of each output stream a buffered exec or a `logs` without follow keeps;
    /// the rest is dropped and counted (`truncated`). A call's own `maxOutputBytes` overrides it.
    public var maxOutputBytes = 16 << 20
    /// TLS client material for a TCP engine.
    public var tls: TLSPaths?
    /// Registry credentials by registry host (`config.registryAuth`).
    public var registryAuth: [String: RegistryAuthEntry]?
    /// Whether containers without `openlattice.managed=true` may be acted on.
    public var manageUnlabeled = false
    /// Names this worker instance: every container, volume and snapshot it makes carries
    /// `openlattice.owner=<ownerId>`, and `reap` removes only those.
    public var ownerId: String?
    /// What happens to the nodes this session provisioned when input ends without `shutdown`
    /// (the host died): `keep` them (default) or `destroy` them.
    public var onHostExit: HostExitAction = .keep
    /// `reap` also removes this owner's snapshots older than this many seconds, when set.
    public var snapshotRetentionSeconds: Int?

    /// What `config.onHostExit` asks for.
    public enum HostExitAction: String, Codable, Sendable { case keep, destroy }
    /// The security policy nodes are held to (`config.policy`, `--policy FILE`).
    public var policy = SecurityPolicy()
    /// Extra `ssh` arguments for an `ssh://` engine (`config.sshOptions`, `--ssh-option`,
    /// `OPENLATTICE_SSH_OPTIONS` split at whitespace), e.g. `["-i", "/path/key"]`.
    public var sshOptions: [String] = []

    /// Paths of TLS material.
    public struct TLSPaths: Decodable, Sendable {
        /// Path of the CA certificate (PEM) the engine's certificate must chain to; nil: the system's.
        public var ca: String?
        /// Path of the client certificate (PEM); nil: none.
        public var cert: String?
        /// Path of the client certificate's private key (PEM); nil: none.
        public var key: String?
        /// Verify the engine's certificate and host name; nil: true.
        public var verify: Bool?

        /// TLS material at these paths.
        public init(ca: String?, cert: String?, key: String?, verify: Bool?) {
            self.ca = ca
            self.cert = cert
            self.key = key
            self.verify = verify
        }
    }

    /// Defaults.
    public init() {}

    /// Defaults overridden by `DOCKER_HOST`, `DOCKER_API_VERSION`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH`.
    public init(environment: [String: String]) {
        if let host = environment["DOCKER_HOST"], !host.isEmpty {
            self.host = host
        } else if let context = try? DockerContext.resolve(environment: environment) {
            self.host = context.host
            if context.usesTLS {
                tls = TLSPaths(ca: context.caPath, cert: context.certPath, key: context.keyPath, verify: !context.skipTLSVerify)
            }
        }
        if let options = environment["OPENLATTICE_SSH_OPTIONS"] {
            sshOptions = options.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
        }
        if let version = environment["DOCKER_API_VERSION"], !version.isEmpty { apiVersion = version }
        if let verify = environment["DOCKER_TLS_VERIFY"], !verify.isEmpty, verify != "0" {
            let home = environment["HOME"] ?? "/root"
            let certPath = environment["DOCKER_CERT_PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(home)/.docker"
            tls = TLSPaths(ca: "\(certPath)/ca.pem", cert: "\(certPath)/cert.pem", key: "\(certPath)/key.pem", verify: true)
        }
    }

    /// The fields `initialize` may set.
    public struct Overrides: Decodable, Sendable {
        /// `config.host`: the engine address in `DOCKER_HOST` syntax (`unix://…`, `tcp://host:port`, `ssh://[user@]host[:port]`).
        public var host: String?
        /// `config.apiVersion`: e.g. `"1.41"`; nil: negotiated from `GET /_ping`.
        public var apiVersion: String?
        /// `config.network`: the Docker network new containers join; not empty.
        public var network: String?
        /// `config.defaultLabels`: labels added to every container; no `openlattice.*` key.
        public var defaultLabels: [String: String]?
        /// `config.gpuAvailable`: whether GPUs may be requested.
        public var gpuAvailable: Bool?
        /// `config.snapshotRepository`: the image repository snapshots are committed to; not empty.
        public var snapshotRepository: String?
        /// `config.requestTimeoutMs`: timeout of non-streaming engine requests in milliseconds, at least 1.
        public var requestTimeoutMs: Int?
        /// `config.streamStallMs`: how long an engine stream may send nothing, in milliseconds.
        public var streamStallMs: Int?
        /// `config.maxOutputBytes`: the most bytes of each output stream a buffered exec or `logs` keeps.
        public var maxOutputBytes: Int?
        /// `config.tls`: TLS client material for a TCP engine.
        public var tls: TLSPaths?
        /// `config.registryAuth`: credentials by registry host, each with a password (or `auth`).
        public var registryAuth: [String: RegistryAuthEntry]?
        /// `config.manageUnlabeled`: act on containers without `openlattice.managed=true` too.
        public var manageUnlabeled: Bool?
        /// `config.ownerId`: the owner every container, volume and snapshot carries; not empty.
        public var ownerId: String?
        /// `config.onHostExit`: `keep` or `destroy` this session's nodes when input ends without `shutdown`.
        public var onHostExit: HostExitAction?
        /// `config.snapshotRetentionSeconds`: `reap` also removes this owner's snapshots older than this, in seconds.
        public var snapshotRetentionSeconds: Int?
        /// `config.policy`: the security policy nodes are held to.
        public var policy: SecurityPolicy?
        /// `config.sshOptions`: extra `ssh` arguments for an `ssh://` engine, one word each, flags and their values.
        public var sshOptions: [String]?
    }

    /// Applies what `overrides` sets; ``Overrides/validate()`` first.
    public mutating func apply(_ overrides: Overrides) {
        if let value = overrides.host { host = value }
        if let value = overrides.apiVersion { apiVersion = value }
        if let value = overrides.network { network = value }
        if let value = overrides.defaultLabels { defaultLabels = value }
        if let value = overrides.gpuAvailable { gpuAvailable = value }
        if let value = overrides.snapshotRepository { snapshotRepository = value }
        if let value = overrides.requestTimeoutMs { requestTimeoutMs = value }
        if let value = overrides.streamStallMs { streamStallMs = value }
        if let value = overrides.maxOutputBytes { maxOutputBytes = value }
        if let value = overrides.tls { tls = value }
        if let value = overrides.registryAuth { registryAuth = value }
        if let value = overrides.manageUnlabeled { manageUnlabeled = value }
        if let value = overrides.ownerId { ownerId = value }
        if let value = overrides.onHostExit { onHostExit = value }
        if let value = overrides.snapshotRetentionSeconds { snapshotRetentionSeconds = value }
        if let value = overrides.policy { policy = value }
        if let value = overrides.sshOptions { sshOptions = value }
    }

    /// Why `options` cannot be `ssh` arguments, or nil (see ``EngineHost/sshOptionsProblem(_:)``).
    public static func sshOptionsProblem(_ options: [String]) -> String? { EngineHost.sshOptionsProblem(options) }

    /// The engine address and TLS settings, parsed.
    public func engineHost() throws -> EngineHost {
        let tls = self.tls.map { EngineHost.TLS(caPath: $0.ca, certPath: $0.cert, keyPath: $0.key, verify: $0.verify ?? true) }
        return try EngineHost(parsing: host, tls: tls, sshOptions: sshOptions)
    }
}

extension WorkerConfig.Overrides {
    /// Checks what `initialize` sets before anything uses it: -32602 naming the field. A zero timeout
    /// would mean none at all to libcurl, and an empty name would reach the engine as "no network".
    public func validate() throws {
        if let value = requestTimeoutMs, value < 1 {
            throw InvalidParams(field: "config.requestTimeoutMs", reason: "must be a positive number of milliseconds")
        }
        if let value = streamStallMs, value < 1 {
            throw InvalidParams(field: "config.streamStallMs", reason: "must be a positive number of milliseconds")
        }
        if let value = maxOutputBytes, value < 0 {
            throw InvalidParams(field: "config.maxOutputBytes", reason: "must be a non-negative number of bytes")
        }
        for (field, value) in [("network", network), ("snapshotRepository", snapshotRepository), ("ownerId", ownerId)] {
            if let value, value.isEmpty { throw InvalidParams(field: "config.\(field)", reason: "must not be empty") }
        }
        if let value = snapshotRetentionSeconds, value < 1 {
            throw InvalidParams(field: "config.snapshotRetentionSeconds", reason: "must be a positive number of seconds")
        }
        for key in (defaultLabels ?? [:]).keys.sorted() where Labels.isReserved(key) {
            throw InvalidParams(
                field: "config.defaultLabels.\(key)", reason: "is reserved: openlattice.* labels are set by the worker alone")
        }
        if let snapshotRepository, let problem = ImageReference.nameProblem(snapshotRepository) {
            throw InvalidParams(field: "config.snapshotRepository", reason: problem)
        }
        try policy?.validate()
        try Validation.checkLabelKeys(defaultLabels, field: "config.defaultLabels")
        if let sshOptions, let problem = EngineHost.sshOptionsProblem(sshOptions) {
            throw InvalidParams(field: "config.sshOptions", reason: problem)
        }
        if let registryAuth, let problem = RegistryAuth.problem(in: registryAuth) {
            throw InvalidParams(field: "config.registryAuth.\(problem.key)", reason: problem.reason)
        }
    }
}

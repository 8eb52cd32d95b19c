import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

/// The Docker provider: each method turns one protocol call into Engine API requests.
public final class DockerProvider: Sendable {
    /// The settings in force.
    public let config: WorkerConfig
    let client: EngineClient
    let logger: Logger
    let gpuDetected = Mutex(false)
    let stats: StatsMonitor
    /// The engine's version details, read once per connection to it (cleared when it is unreachable).
    let engineInfo = Mutex<HealthResult.EngineInfo?>(nil)
    /// Named volumes that provisions in flight use, with how many (`reap` leaves them alone).
    let provisioningVolumes = Mutex<[String: Int]>([:])
    /// Writes to one path of one node take turns (see ``KeyedLock``).
    let fileWrites = KeyedLock<String>()
    /// Armed node lifetimes (see ``LifetimeManager``).
    let lifetimes = LifetimeManager()
    /// The `events.subscribe` requests in flight.
    let subscribers = EventSubscribers()
    /// Containers this session provisioned and has not destroyed (for `config.onHostExit`).
    let sessionNodes = Mutex<Set<String>>([])
    /// The helpers execs run under, and the kills of their processes.
    let supervisor: ExecSupervisor
    /// Execs with stdin or a terminal, by request id, for `exec.input` and `exec.resize`.
    let execSessions = Mutex(ExecSessions())
    /// Background commands (and running foreground execs), by exec id.
    let backgroundExecs = BackgroundExecs()
    /// `files.upload`s in progress, by upload id.
    let uploads = UploadRegistry()
    /// Per node, whether its image can remove and rename files (`rm`, `mv`), for atomic writes.
    let renameSupport = Mutex<[String: Bool]>([:])

    /// A provider for the engine `config` names.
    public init(config: WorkerConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        var apiVersion: APIVersion? = nil
        if let text = config.apiVersion {
            guard let version = APIVersion(parsing: text) else {
                throw InvalidParams(field: "config.apiVersion", reason: "must look like 1.41")
            }
            apiVersion = version
        }
        self.client = try EngineClient(
            host: try config.engineHost(), apiVersion: apiVersion,
            requestTimeout: .milliseconds(config.requestTimeoutMs), streamStall: .milliseconds(config.streamStallMs), logger: logger)
        self.stats = StatsMonitor(client: client, logger: logger)
        self.supervisor = ExecSupervisor(client: client, logger: logger)
        lifetimes.onExpire { [weak self] id, record in await self?.expireNode(id, record) }
    }

    /// What the provider can do now.
    public var capabilities: Capabilities {
        Capabilities(gpu: config.gpuAvailable || gpuDetected.withLock { $0 })
    }

    var builder: CreateBodyBuilder {
        CreateBodyBuilder(
            network: config.network, defaultLabels: config.defaultLabels, gpuAvailable: capabilities.gpu,
            ownerLabels: ownerLabels, policy: config.policy)
    }

    /// `openlattice.owner=<ownerId>` when an owner is configured.
    var ownerLabels: [String: String] {
        config.ownerId.map { [Self.ownerLabel: $0] } ?? [:]
    }
}

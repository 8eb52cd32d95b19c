import DockerEngine
import JSONCoding
import JSONRPC
import Logging
import Synchronization

/// Binds the protocol's methods to a provider that `initialize` creates from its config.
public final class WorkerService: Sendable {
    /// The newest protocol version this worker speaks.
    public static let protocolVersion = "1.1"
    /// Every protocol version this worker speaks: `initialize` answers with the one the host asked for
    /// (the highest both sides support, since a host asks for the highest it speaks).
    public static let supportedProtocolVersions = ["1.0", "1.1"]
    /// The worker's version.
    public static let version = "0.1.0"

    private let baseConfig: WorkerConfig
    private let maxLineBytes: Int
    private let logger: Logger
    /// The provider `initialize` made (nil before it).
    let provider = Mutex<DockerProvider?>(nil)

    /// A service whose provider starts from `baseConfig` (environment and flags).
    public init(baseConfig: WorkerConfig, maxLineBytes: Int, logger: Logger) {
        self.baseConfig = baseConfig
        self.maxLineBytes = maxLineBytes
        self.logger = logger
    }

    /// The method table: every method the worker answers, registered once. `initialize`'s
    /// `methods` and `getExtension` derive from it; params are decoded and checked
    /// (``RPCMethod/validate()``) by the table before a handler runs.
    public func methodTable() -> MethodTable {
        var table = MethodTable()
        registerNodeMethods(&table)
        registerExecMethods(&table)
        registerFileMethods(&table)
        registerObservationMethods(&table)
        // Last, for they answer from the table itself (themselves included).
        let extensions = table.extensions
        let methods = (table.methodNames + [GetExtensionRequest.name, InitializeRequest.name]).sorted()
        table.register(GetExtensionRequest.self) { request, _ in
            guard let members = extensions[request.name] else { return nil }
            return ExtensionInfo(name: request.name, methods: members)
        }
        table.register(InitializeRequest.self) { [self] request, _ in try initialize(request, methods: methods) }
        return table
    }

    /// Waits, at most `limit`, for the kills of execs that were cancelled, timed out or cut short by
    /// shutdown, so their processes do not outlive the worker.
    public func drainExecKills(within limit: Duration) async {
        guard let provider = provider.withLock({ $0 }) else { return }
        await provider.supervisor.drain(within: limit)
    }

    /// `node`, destroyed again should the host never get it (a cancel that arrived as the provision
    /// finished): a node the host does not know of would never be destroyed.
    static func undoneIfDropped(_ node: Node, _ provider: DockerProvider, _ context: RequestContext) -> Node {
        context.onResultDropped { try? await provider.destroy(node.externalId) }
        return node
    }

    /// The provider, and the request with its `externalId` resolved to a managed container's full id.
    func ownedRequest<R: NodeRequest>(_ request: R) async throws -> (DockerProvider, R) {
        let provider = try current()
        var request = request
        request.externalId = try await provider.owned(request.externalId)
        // Activity through the worker keeps an idle lifetime from ending.
        provider.lifetimes.begin(request.externalId)
        provider.lifetimes.end(request.externalId)
        return (provider, request)
    }

    /// Called once when the session ends: `hostDied` when input ended without `shutdown`. With
    /// `config.onHostExit: "destroy"` the nodes this session provisioned are destroyed (≤ 5 s).
    public func sessionEnded(hostDied: Bool) async {
        // Uploads left open end without a trace at their paths, however the session ended.
        await provider.withLock({ $0 })?.abandonUploads()
        guard hostDied, let provider = provider.withLock({ $0 }), provider.config.onHostExit == .destroy else { return }
        await provider.destroySessionNodes(limit: .seconds(5))
    }

    func current() throws -> DockerProvider {
        guard let provider = provider.withLock({ $0 }) else {
            throw RPCError(code: .notInitialized, message: "not initialized: send initialize first")
        }
        return provider
    }

    private func initialize(_ request: InitializeRequest, methods: [String]) throws -> InitializeResult {
        guard Self.supportedProtocolVersions.contains(request.protocolVersion) else {
            throw RPCError(
                code: .invalidParams,
                message:
                    "[docker] initialize failed: unsupported protocol version \(request.protocolVersion); this worker speaks \(Self.supportedProtocolVersions.joined(separator: " and "))",
                data: .object(
                    JSONObject([
                        "field": .string("protocolVersion"), "supported": .array(Self.supportedProtocolVersions.map { .string($0) }),
                        "requested": .string(request.protocolVersion),
                    ])))
        }
        var config = baseConfig
        if let overrides = request.config {
            try overrides.validate()
            config.apply(overrides)
        }
        let made: DockerProvider
        do {
            made = try DockerProvider(config: config, logger: logger)
        } catch let error as EngineError {
            throw InvalidParams(field: "config.host", reason: error.reason)
        }
        provider.withLock { $0 = made }
        logger.info("initialized", metadata: ["engine": "\(config.host)"])
        // Deadlines recorded on this owner's nodes hold again; what expired meanwhile ends now.
        Task { await made.rearmLifetimes() }
        return InitializeResult(
            protocolVersion: request.protocolVersion,
            provider: .init(name: "docker", version: Self.version),
            capabilities: made.capabilities,
            methods: methods,
            limits: .init(maxLineBytes: maxLineBytes),
            policy: config.policy,
            ownerId: config.ownerId)
    }
}

/// A request that names a node: ``WorkerService`` resolves its `externalId` to a managed container's full id.
protocol NodeRequest: RPCMethod {
    var externalId: String { get set }
}

extension ExecRequest: NodeRequest {}
extension ExecListRequest: NodeRequest {}
extension GetURLRequest: NodeRequest {}
extension FilesReadRequest: NodeRequest {}
extension FilesWriteRequest: NodeRequest {}
extension FilesListRequest: NodeRequest {}
extension FilesRemoveRequest: NodeRequest {}
extension FilesMkdirRequest: NodeRequest {}
extension GetResourceUsageRequest: NodeRequest {}
extension StreamMetricsRequest: NodeRequest {}
extension LogsRequest: NodeRequest {}
extension LifetimeSetRequest: NodeRequest {}

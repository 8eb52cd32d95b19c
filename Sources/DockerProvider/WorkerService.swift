import DockerEngine
import JSONRPC
import Logging
import Synchronization

/// Binds the protocol's methods to a provider that `initialize` creates from its config.
public final class WorkerService: Sendable {
    /// The protocol version this worker speaks.
    public static let protocolVersion = "1.0"
    /// The worker's version.
    public static let version = "0.1.0"

    private let baseConfig: WorkerConfig
    private let maxLineBytes: Int
    private let logger: Logger
    private let provider = Mutex<DockerProvider?>(nil)

    /// A service whose provider starts from `baseConfig` (environment and flags).
    public init(baseConfig: WorkerConfig, maxLineBytes: Int, logger: Logger) {
        self.baseConfig = baseConfig
        self.maxLineBytes = maxLineBytes
        self.logger = logger
    }

    /// Extension names and the methods each brings.
    static let extensions: [String: [String]] = [
        "network": ["network.getUrl"],
        "files": ["files.read", "files.write", "files.list", "files.remove", "files.mkdir"],
        "metrics": ["metrics.getResourceUsage", "metrics.streamMetrics"],
        "logs": ["logs"],
    ]

    /// The method table.
    public func methodTable() -> MethodTable {
        var table = MethodTable()
        table.register(InitializeRequest.self) { [self] request, _ in try initialize(request, table: methodNames()) }
        table.register(ProvisionRequest.self) { [self] request, context in
            try await current().provision(request.spec, context: context)
        }
        table.register(ExecRequest.self) { [self] request, context in try await current().exec(request, context: context) }
        table.register(InspectRequest.self) { [self] request, _ in
            try Validation.checkExternalID(request.externalId)
            return try await current().inspect(request.externalId)
        }
        table.register(DestroyRequest.self) { [self] request, _ in
            try Validation.checkExternalID(request.externalId)
            try await current().destroy(request.externalId)
            return NullResult()
        }
        table.register(StopRequest.self) { [self] request, _ in
            try Validation.checkExternalID(request.externalId)
            try await current().stop(request.externalId, timeoutSeconds: request.timeoutSeconds)
            return NullResult()
        }
        table.register(StartRequest.self) { [self] request, _ in
            try Validation.checkExternalID(request.externalId)
            try await current().start(request.externalId)
            return NullResult()
        }
        table.register(RestartRequest.self) { [self] request, _ in
            try Validation.checkExternalID(request.externalId)
            try await current().restart(request.externalId, timeoutSeconds: request.timeoutSeconds)
            return NullResult()
        }
        table.register(PauseRequest.self) { [self] request, _ in
            try Validation.checkExternalID(request.externalId)
            try await current().pause(request.externalId)
            return NullResult()
        }
        table.register(ResumeRequest.self) { [self] request, _ in
            try Validation.checkExternalID(request.externalId)
            try await current().resume(request.externalId)
            return NullResult()
        }
        table.register(SnapshotRequest.self) { [self] request, _ in
            try Validation.checkExternalID(request.externalId)
            return try await current().snapshot(request.externalId, tag: request.tag)
        }
        table.register(RestoreRequest.self) { [self] request, context in try await current().restore(request, context: context) }
        table.register(HealthCheckRequest.self) { [self] _, _ in try await current().healthCheck() }
        table.register(DetectGpuRequest.self) { [self] _, _ in
            let provider = try current()
            let found = await provider.detectGpu()
            return DetectGpuResult(gpu: found, capabilities: provider.capabilities)
        }
        table.register(ListRequest.self) { [self] request, _ in try await current().list(labels: request.labels) }
        table.register(GetURLRequest.self) { [self] request, _ in try await current().url(request) }
        table.register(FilesReadRequest.self) { [self] request, _ in try await current().readFile(request) }
        table.register(FilesWriteRequest.self) { [self] request, _ in try await current().writeFile(request) }
        table.register(FilesListRequest.self) { [self] request, _ in try await current().listDirectory(request) }
        table.register(FilesRemoveRequest.self) { [self] request, _ in
            try await current().removePath(request)
            return NullResult()
        }
        table.register(FilesMkdirRequest.self) { [self] request, _ in
            try await current().makeDirectory(request)
            return NullResult()
        }
        table.register(GetResourceUsageRequest.self) { [self] request, _ in try await current().resourceUsage(request.externalId) }
        table.register(StreamMetricsRequest.self) { [self] request, context in
            try await current().streamMetrics(request, context: context)
        }
        table.register(LogsRequest.self) { [self] request, context in try await current().logs(request, context: context) }
        table.register(EventsSubscribeRequest.self) { [self] _, context in try await current().subscribeEvents(context: context) }
        table.register(GetExtensionRequest.self) { request, _ in
            try Validation.checkExternalID(request.externalId)
            guard let methods = Self.extensions[request.name] else { return nil }
            let available = methods.filter(Self.registered.contains)
            return available.isEmpty ? nil : ExtensionInfo(name: request.name, methods: available)
        }
        return table
    }

    /// Every method name the table answers, plus `shutdown`.
    private func methodNames() -> [String] {
        (Self.registered + [RPCServer.shutdownMethod]).sorted()
    }

    private static let registered: [String] = [
        InitializeRequest.name, ProvisionRequest.name, ExecRequest.name, InspectRequest.name, DestroyRequest.name,
        StopRequest.name, StartRequest.name, RestartRequest.name, PauseRequest.name, ResumeRequest.name,
        SnapshotRequest.name, RestoreRequest.name, HealthCheckRequest.name, DetectGpuRequest.name, ListRequest.name,
        GetExtensionRequest.name, GetURLRequest.name, FilesReadRequest.name, FilesWriteRequest.name, FilesListRequest.name,
        FilesRemoveRequest.name, FilesMkdirRequest.name, GetResourceUsageRequest.name, StreamMetricsRequest.name,
        LogsRequest.name, EventsSubscribeRequest.name,
    ]

    private func current() throws -> DockerProvider {
        guard let provider = provider.withLock({ $0 }) else {
            throw RPCError(code: .notInitialized, message: "not initialized: send initialize first")
        }
        return provider
    }

    private func initialize(_ request: InitializeRequest, table: [String]) throws -> InitializeResult {
        guard request.protocolVersion == Self.protocolVersion else {
            throw RPCError(
                code: .invalidParams,
                message:
                    "[docker] initialize failed: unsupported protocol version \(request.protocolVersion); this worker speaks \(Self.protocolVersion)",
                data: .object(
                    JSONObject([
                        "field": .string("protocolVersion"), "supported": .array([.string(Self.protocolVersion)]),
                        "requested": .string(request.protocolVersion),
                    ])))
        }
        var config = baseConfig
        if let overrides = request.config { config.apply(overrides) }
        let made: DockerProvider
        do {
            made = try DockerProvider(config: config, logger: logger)
        } catch let error as EngineError {
            throw InvalidParams(field: "config.host", reason: error.reason)
        }
        provider.withLock { $0 = made }
        logger.info("initialized", metadata: ["engine": "\(config.host)"])
        return InitializeResult(
            protocolVersion: Self.protocolVersion,
            provider: .init(name: "docker", version: Self.version),
            capabilities: made.capabilities,
            methods: table,
            limits: .init(maxLineBytes: maxLineBytes))
    }
}

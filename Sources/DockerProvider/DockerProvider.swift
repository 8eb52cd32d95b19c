import DockerEngine
import FoundationEssentials
import JSONRPC
import Logging
import Synchronization

/// The Docker provider: each method turns one protocol call into Engine API requests.
public final class DockerProvider: Sendable {
    /// The settings in force.
    public let config: WorkerConfig
    let client: EngineClient
    let logger: Logger
    private let gpuDetected = Mutex(false)
    let stats: StatsMonitor
    /// The engine's version details, read once per connection to it (cleared when it is unreachable).
    private let engineInfo = Mutex<HealthResult.EngineInfo?>(nil)
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

    // MARK: provision / restore

    /// Creates, starts and describes a node; on any failure after create the container is removed.
    public func provision(_ spec: NodeSpec, context: RequestContext) async throws -> Node {
        guard let image = spec.runtime?.image, !image.isEmpty else {
            throw InvalidParams(field: "spec.runtime.image", reason: "is required")
        }
        return try await provision(spec, image: image, pullPolicy: spec.runtime?.pullPolicy ?? .missing, context: context)
    }

    /// Provisions a new node from a snapshot image.
    public func restore(_ request: RestoreRequest, context: RequestContext) async throws -> Node {
        guard !request.ref.externalId.isEmpty else { throw InvalidParams(field: "ref.externalId", reason: "is required") }
        if let provider = request.ref.provider, provider != "docker" {
            throw InvalidParams(field: "ref.provider", reason: "must be docker: this worker restores only its own snapshots")
        }
        if let problem = ImageReference.problem(request.ref.externalId) {
            throw InvalidParams(field: "ref.externalId", reason: problem)
        }
        if config.ownerId != nil {
            // Only a snapshot this owner made: anything else is as good as missing.
            let image = try? await inspectImage(request.ref.externalId)
            guard let image, mayTouch(labels: image.config?.labels) else {
                throw ProviderError(
                    code: .notFound, reason: "no such snapshot: \(request.ref.externalId) (not one of this owner's)", status: 404)
            }
        }
        // The node comes back as it was: the spec recorded on the snapshot, the restore's own fields winning.
        var spec = request.spec ?? NodeSpec()
        if let recorded = try await recordedSpec(ofImage: request.ref.externalId) {
            spec = CreateBodyBuilder.merged(recorded: recorded, over: spec)
        }
        // Without a command of its own (recorded or given) the restored node runs the snapshot image's
        // Cmd (the committed node's command), not provision's `sleep infinity`.
        return try await provision(spec, image: request.ref.externalId, pullPolicy: .never, context: context, isRestore: true)
    }

    /// `GET /images/{name}/json` of a checked reference.
    func inspectImage(_ reference: String) async throws -> ImageInspect {
        try await client.send(HTTPRequest(.get, "/images/\(pathEscape(reference))/json"), as: ImageInspect.self)
    }

    private func provision(
        _ spec: NodeSpec, image: String, pullPolicy: NodeSpec.PullPolicy, context: RequestContext, isRestore: Bool = false
    ) async throws -> Node {
        let nodeID = UUID().uuidString.lowercased()
        var body = try builder.body(for: spec, image: image, nodeID: nodeID)
        // A container inherits its image's labels: a snapshot's owner must not become the restored
        // node's owner when this worker has none (an empty value matches no owner's filter).
        if isRestore, body.labels[Self.ownerLabel] == nil { body.labels[Self.ownerLabel] = "" }
        try await ensureImage(image, policy: pullPolicy, context: context)
        if isRestore, spec.runtime?.command == nil {
            // Set explicitly rather than left out: an Entrypoint set below (secretEnv) would make
            // the engine drop the image's Cmd.
            let imageConfig = try await client.send(HTTPRequest(.get, "/images/\(pathEscape(image))/json"), as: ImageInspect.self)
            body.cmd = imageConfig.config?.cmd
        }
        // Named volumes this provision creates itself; a failure or cancellation removes them again
        // (after the container), while volumes that existed before are left alone.
        let createdVolumes = CreatedVolumes()
        let volumeNames = (spec.volumes ?? []).compactMap(\.source).filter { !$0.hasPrefix("/") }
        provisioningVolumes.withLock { counts in for name in volumeNames { counts[name, default: 0] += 1 } }
        defer {
            provisioningVolumes.withLock { counts in
                for name in volumeNames {
                    counts[name, default: 1] -= 1
                    if counts[name] == 0 { counts[name] = nil }
                }
            }
        }
        do {
            return try await provision(
                spec, image: image, nodeID: nodeID, body: body, createdVolumes: createdVolumes, context: context)
        } catch {
            await removeVolumes(createdVolumes.names.withLock { $0 })
            throw error
        }
    }

    private func provision(
        _ spec: NodeSpec, image: String, nodeID: String, body: ContainerCreateBody, createdVolumes: CreatedVolumes,
        context: RequestContext
    ) async throws -> Node {
        var body = body
        try await ensureVolumes(spec.volumes ?? [], created: createdVolumes)
        let secrets = spec.runtime?.secretEnv?.entries ?? []
        let tailscaleKey = spec.network?.tailscaleAuthKey
        let imageDetails = try? await inspectImage(image)
        // The image's own openlattice.* labels (a snapshot's owner, a crafted image's) would reach the
        // container: the worker's labels win, and those it does not set are blanked.
        for (key, _) in imageDetails?.config?.labels ?? [:] where Labels.isReserved(key) && body.labels[key] == nil {
            body.labels[key] = ""
        }
        var secretsReadableByAll = false
        if !secrets.isEmpty || tailscaleKey != nil {
            // The secrets volume: an anonymous volume, never part of a commit, export or diff.
            body.hostConfig.mounts =
                (body.hostConfig.mounts ?? []) + [
                    .init(
                        type: "volume", source: nil, target: Self.secretEnvDirectory, readOnly: nil,
                        volumeOptions: .init(labels: body.labels))
                ]
        }
        if !secrets.isEmpty {
            // The entrypoint reads the secrets from a file and then runs the image's own entrypoint.
            // The file lives on an anonymous volume of the container: restarts keep it, a commit
            // (snapshot) does not capture it, and destroy removes it with the container. A restored
            // snapshot without secretEnv finds no file and runs as the image would.
            let imageConfig: ImageInspect
            if let known = imageDetails { imageConfig = known } else { imageConfig = try await inspectImage(image) }
            body.labels[Labels.secretEnv] = "true"
            let file = "\(Self.secretEnvDirectory)/\(Self.secretEnvFile)"
            body.entrypoint =
                ["sh", "-c", "set -a; if [ -e \(file) ]; then . \(file); fi; set +a; exec \"$@\"", "openlattice-env"]
                + (imageConfig.config?.entrypoint ?? [])
            // The node's user (its own or the policy's, else the image's USER) must be able to read it.
            let user = body.user ?? imageConfig.config?.user ?? ""
            secretsReadableByAll = !["", "root", "0"].contains(user.prefix { $0 != ":" })
        }

        var query: [(String, String)] = []
        if let name = spec.name { query.append(("name", name)) }
        // The create runs to completion even if the request is cancelled meanwhile: the engine would
        // finish it anyway, and only with its id can the container be removed again.
        let client = self.client
        let createRequest = HTTPRequest(.post, target("/containers/create", query), body: try encodeJSON(body))
        let created: IDResponse
        do {
            created = try await Task.detached { try await client.send(createRequest, as: IDResponse.self) }.value
        } catch let engineError as EngineError where engineError.status == 404 {
            throw ProviderError(
                code: .notFound, reason: "no such image: \(image) (\(engineError.reason))", status: 404,
                engineMessage: engineError.engineMessage)
        } catch let engineError as EngineError
            where engineError.rpcCode == .conflict && (engineError.engineMessage ?? "").contains("already in use")
        {
            // The engine names the container holding the name by its full id, which may be one the
            // worker does not manage: say only that the name is taken.
            throw ProviderError(
                code: .conflict, reason: "the name \(spec.name ?? "") is already in use by another container",
                status: engineError.status)
        }
        do {
            try Task.checkCancellation()
            if !secrets.isEmpty {
                try await writeSecretEnv(secrets, containerID: created.id, readableByAll: secretsReadableByAll)
            }
            try await startFreshContainer(created.id)
            if let key = spec.network?.tailscaleAuthKey {
                try await tailscaleUp(containerID: created.id, authKey: key)
            }
            sessionNodes.withLock { _ = $0.insert(created.id) }
            if let readiness = spec.readiness { try await waitUntilReady(created.id, readiness) }
            if let record = LifetimeRecord.parse(body.labels[Labels.lifetime]) { lifetimes.arm(created.id, record) }
            return try await node(created.id)
        } catch let timeout as ReadinessTimeout where timeout.keepNode {
            if let record = LifetimeRecord.parse(body.labels[Labels.lifetime]) { lifetimes.arm(created.id, record) }
            throw timeout.error
        } catch {
            sessionNodes.withLock { _ = $0.remove(created.id) }
            await remove(created.id)
            throw (error as? ReadinessTimeout)?.error ?? error
        }
    }

    /// Starts a container just created. Podman can answer 500 (reading the cgroup of a process that
    /// already exited) when the command ends at once; the container did run, so that start counts.
    private func startFreshContainer(_ id: String) async throws {
        do {
            try await client.send(HTTPRequest(.post, "/containers/\(id)/start"))
        } catch let error as EngineError where error.status == 500 {
            guard let state = try? await inspectContainer(id).state, let started = state.startedAt,
                !started.isEmpty, !started.hasPrefix("0001-")
            else { throw error }
            logger.debug("start answered 500 but the container ran", metadata: ["container": "\(id)", "engine": "\(error.reason)"])
        }
    }

    /// Removes a container whatever the state of the calling task.
    private func remove(_ id: String) async {
        let client = self.client
        let logger = self.logger
        await Task.detached {
            do {
                try await client.send(HTTPRequest(.delete, target("/containers/\(id)", [("force", "true"), ("v", "true")])))
            } catch {
                logger.warning("could not remove container after a failed provision", metadata: ["container": "\(id)"])
            }
        }.value
    }

    private func ensureImage(_ image: String, policy: NodeSpec.PullPolicy, context: RequestContext) async throws {
        switch policy {
        case .never: return
        case .missing:
            do {
                try await client.send(HTTPRequest(.get, "/images/\(pathEscape(image))/json"))
                return
            } catch let error as EngineError where error.status == 404 {
                try await pull(image, context: context)
            }
        case .always:
            try await pull(image, context: context)
        }
    }

    /// Pulls `image`, reporting progress as `pull.progress` notifications; an error in the stream fails the pull.
    func pull(_ image: String, context: RequestContext) async throws {
        var query: [(String, String)] = []
        if image.contains("@") {
            query.append(("fromImage", image))
        } else {
            let slash = image.lastIndex(of: "/") ?? image.startIndex
            if let colon = image[slash...].lastIndex(of: ":") {
                query.append(("fromImage", String(image[..<colon])))
                query.append(("tag", String(image[image.index(after: colon)...])))
            } else {
                query.append(("fromImage", image))
                query.append(("tag", "latest"))
            }
        }
        var headers: [(name: String, value: String)] = []
        if let auth = RegistryAuth.headerValue(
            for: image, configured: config.registryAuth, environment: ProcessInfo.processInfo.environment)
        {
            headers.append(("X-Registry-Auth", auth))
        }
        let stream: ResponseStream
        do {
            stream = try await client.stream(HTTPRequest(.post, target("/images/create", query), headers: headers))
        } catch let error as EngineError where error.code == .http {
            throw ProviderError(
                code: error.status == 404 ? .notFound : .engineError,
                reason: "pulling \(image) failed: \(error.engineMessage ?? error.reason)",
                status: error.status, engineMessage: error.engineMessage)
        }
        var lines = JSONLineSplitter()
        for try await chunk in stream {
            for line in lines.feed(chunk) {
                guard let progress = try? JSONDecoder().decode(PullProgress.self, from: Data(line)) else { continue }
                if let message = progress.errorDetail?.message ?? progress.error {
                    throw ProviderError(code: .engineError, reason: "pulling \(image) failed: \(message)", engineMessage: message)
                }
                var params = JSONObject()
                params["requestId"] = context.id.json
                params["image"] = .string(image)
                params["status"] = .string(progress.status ?? "")
                if let id = progress.id { params["id"] = .string(id) }
                if let current = progress.progressDetail?.current { params["current"] = .integer(current) }
                if let total = progress.progressDetail?.total { params["total"] = .integer(total) }
                await context.notify("pull.progress", params: .object(params))
            }
        }
    }

    /// Removes named volumes a failed provision created, whatever the state of the calling task.
    private func removeVolumes(_ names: [String]) async {
        guard !names.isEmpty else { return }
        let client = self.client
        let logger = self.logger
        await Task.detached {
            for name in names {
                do {
                    try await client.send(HTTPRequest(.delete, "/volumes/\(pathEscape(name))"))
                } catch let error as EngineError where error.status == 404 {
                    continue
                } catch {
                    logger.warning(
                        "could not remove a volume after a failed provision", metadata: ["volume": "\(name)", "error": "\(error)"])
                }
            }
        }.value
    }

    private func ensureVolumes(_ volumes: [NodeSpec.Volume], created: CreatedVolumes) async throws {
        for volume in volumes {
            guard let name = volume.source, !name.hasPrefix("/") else { continue }
            do {
                try await client.send(HTTPRequest(.get, "/volumes/\(pathEscape(name))"))
            } catch let error as EngineError where error.status == 404 {
                struct VolumeCreate: Encodable {
                    var Name: String
                    var Labels: [String: String]
                }
                let body = VolumeCreate(Name: name, Labels: [Labels.managed: "true"].merging(ownerLabels) { $1 })
                try await client.send(HTTPRequest(.post, "/volumes/create", body: try encodeJSON(body)))
                created.names.withLock { $0.append(name) }
            }
        }
    }

    /// The anonymous volume `runtime.secretEnv` is written to, and the file in it (0400, or 0444 when the
    /// node's user, `runtime.user` or else the image's USER, is not root; read by the entrypoint).
    static let secretEnvDirectory = "/.openlattice-secrets"
    static let secretEnvFile = "env"

    private func writeSecretEnv(_ secrets: [(key: String, value: String)], containerID: String, readableByAll: Bool) async throws {
        let script = secrets.map { "\($0.key)='\($0.value.replacing("'", with: "'\\''"))'\n" }.joined()
        var tar = TarWriter()
        try tar.addFile(
            name: Self.secretEnvFile, contents: Array(script.utf8), mode: readableByAll ? 0o444 : 0o400,
            modifiedAt: Int(Date().timeIntervalSince1970))
        try await client.send(
            HTTPRequest(
                .put, target("/containers/\(containerID)/archive", [("path", Self.secretEnvDirectory)]), body: tar.finished(),
                headers: [("Content-Type", "application/x-tar")]))
    }

    /// The file the tailscale auth key is written to, on the secrets volume (never the container's
    /// own layer, which commit, export and diff show), removed before provision answers.
    static let tailscaleKeyFile = "tailscale-authkey"

    private func tailscaleUp(containerID: String, authKey: String) async throws {
        // The key travels in a file written through the archive API, never in an argv or env.
        let keyPath = "\(Self.secretEnvDirectory)/\(Self.tailscaleKeyFile)"
        var tar = TarWriter()
        try tar.addFile(
            name: Self.tailscaleKeyFile, contents: Array(authKey.utf8), mode: 0o600, modifiedAt: Int(Date().timeIntervalSince1970))
        try await client.send(
            HTTPRequest(
                .put, target("/containers/\(containerID)/archive", [("path", Self.secretEnvDirectory)]), body: tar.finished(),
                headers: [("Content-Type", "application/x-tar")]))
        // On failure the container is removed with its volumes, the key with them.
        try await tailscaleUp(containerID: containerID, authKey: authKey, keyPath: keyPath)
        // Gone before provision answers: a snapshot taken right after cannot hold it (nor could it:
        // the volume is not part of a commit).
        let removed = try await Self.runQuietly(client: client, containerID: containerID, command: ["rm", "-f", keyPath])
        guard removed.exitCode == 0 else {
            throw ProviderError(code: .engineError, reason: "could not remove the tailscale auth key file (rm exited \(removed.exitCode))")
        }
    }

    private func tailscaleUp(containerID: String, authKey: String, keyPath: String) async throws {
        let running = try await Self.runQuietly(client: client, containerID: containerID, command: ["pidof", "tailscaled"])
        if running.exitCode != 0 {
            var body = ExecCreateBody(cmd: ["tailscaled", "--state=mem:"])
            body.attachStdout = false
            body.attachStderr = false
            let exec = try await client.send(
                HTTPRequest(.post, "/containers/\(containerID)/exec", body: try encodeJSON(body)), as: IDResponse.self)
            try await client.send(HTTPRequest(.post, "/exec/\(exec.id)/start", body: Array(#"{"Detach":true,"Tty":false}"#.utf8)))
        }
        let up = try await Self.runQuietly(
            client: client, containerID: containerID, command: ["tailscale", "up", "--auth-key=file:\(keyPath)"])
        guard up.exitCode == 0 else {
            // Redacted before it is cut short, so no part of the key survives at the cut.
            let output = String(String(decoding: up.output, as: UTF8.self).replacing(authKey, with: "[redacted]").prefix(300))
            throw ProviderError(code: .engineError, reason: "tailscale up exited with code \(up.exitCode): \(output)")
        }
    }

    // MARK: inspect / list

    /// Reads a container, mapping 404 to ``ProviderError/notFound(_:)``.
    func inspectContainer(_ id: String) async throws -> ContainerInspect {
        do {
            return try await client.send(HTTPRequest(.get, "/containers/\(id)/json"), as: ContainerInspect.self)
        } catch let error as EngineError where error.status == 404 {
            throw ProviderError.notFound(id)
        }
    }

    func node(_ id: String) async throws -> Node {
        node(from: try await inspectContainer(id))
    }

    func node(from container: ContainerInspect) -> Node {
        // The worker's records (spec, lifetime, excluded volumes) stay on the container, not in the answer.
        let labels = (container.config?.labels ?? [:]).filter {
            !Labels.records.contains($0.key) && !($0.key == Self.ownerLabel && $0.value.isEmpty)
        }
        return Node(
            externalId: container.id,
            name: EndpointExtractor.containerName(container),
            nodeId: labels[Labels.nodeID] ?? container.id,
            image: container.config?.image ?? container.image ?? "",
            status: StatusMapper.status(container.state?.status),
            startedAt: Timestamp.normalize(container.state?.startedAt),
            endpoints: EndpointExtractor.endpoints(of: container),
            labels: labels)
    }

    /// A node's state; a missing container is `terminated`.
    public func inspect(_ id: String) async throws -> InspectResult {
        let container: ContainerInspect
        do {
            container = try await inspectContainer(id)
        } catch let error as ProviderError where error.code == .notFound {
            return InspectResult(status: .terminated, endpoints: [])
        }
        guard isManaged(container) else { return InspectResult(status: .terminated, endpoints: []) }
        let status = StatusMapper.status(container.state?.status)
        var result = InspectResult(
            status: status, startedAt: Timestamp.normalize(container.state?.startedAt),
            endpoints: EndpointExtractor.endpoints(of: container))
        if status == .stopped {
            result.finishedAt = Timestamp.normalize(container.state?.finishedAt)
            result.exitCode = container.state?.exitCode
            result.oomKilled = container.state?.oomKilled
            if let error = container.state?.error, !error.isEmpty { result.error = error }
        }
        if status == .running {
            result.resources = await stats.usage(for: container.id)?.resources
        }
        result.expiresAt = lifetimes.info(container.id)?.expiresAt
        return result
    }

    /// The managed containers (this owner's, when `config.ownerId` is set) matching `labels`, running
    /// or not, sorted by name.
    ///
    /// With `inspectBudget`, a node whose inspect the engine does not answer in time (dockerd holds
    /// a container's lock through long operations such as an archive upload, and its inspect waits
    /// for it) is described from the engine's container list instead: status, image, name and
    /// labels, without `startedAt` or endpoints. Without it, such a node holds the answer until the
    /// request's deadline (-32008).
    /// - Throws: `ProviderError` when the engine fails or does not answer.
    public func list(labels: [String: String]?, inspectBudget: Duration? = nil) async throws -> [Node] {
        var filters = ownershipFilters
        for (key, value) in (labels ?? [:]).sorted(by: { $0.key < $1.key }) { filters.append("\(key)=\(value)") }
        let filterJSON = String(decoding: try encodeJSON(["label": filters]), as: UTF8.self)
        let summaries = try await client.send(
            HTTPRequest(.get, target("/containers/json", [("all", "true"), ("filters", filterJSON)])), as: [ContainerSummary].self)
        return try await withThrowingTaskGroup(of: Node?.self) { group in
            for summary in summaries {
                group.addTask {
                    do {
                        // The engine's filter is not the only check: each node's own labels are read again.
                        guard let budget = inspectBudget else {
                            let container = try await self.inspectContainer(summary.id)
                            return self.isManaged(container) ? self.node(from: container) : nil
                        }
                        guard let container = try await Self.within(budget, { try await self.inspectContainer(summary.id) }) else {
                            return self.mayTouch(labels: summary.labels) ? self.node(from: summary) : nil
                        }
                        return self.isManaged(container) ? self.node(from: container) : nil
                    } catch let error as ProviderError where error.code == .notFound {
                        return nil
                    }
                }
            }
            var nodes: [Node] = []
            for try await node in group { if let node { nodes.append(node) } }
            return nodes.sorted { ($0.name, $0.externalId) < ($1.name, $1.externalId) }
        }
    }

    /// `work`'s value, or nil when it takes longer than `budget` (it is then cancelled).
    static func within<T: Sendable>(_ budget: Duration, _ work: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                try await Task.sleep(for: budget)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// A node as the engine's container list describes it (no `startedAt`, no endpoints).
    func node(from summary: ContainerSummary) -> Node {
        let labels = (summary.labels ?? [:]).filter {
            !Labels.records.contains($0.key) && !($0.key == Self.ownerLabel && $0.value.isEmpty)
        }
        let name = summary.names?.first.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? summary.id
        return Node(
            externalId: summary.id, name: name, nodeId: labels[Labels.nodeID] ?? summary.id, image: summary.image ?? "",
            status: StatusMapper.status(summary.state), startedAt: nil, endpoints: [], labels: labels)
    }

    // MARK: lifecycle

    /// Force-removes a node with its anonymous volumes; a missing node is success.
    public func destroy(_ id: String) async throws {
        stats.forget(id)
        lifetimes.disarm(id)
        sessionNodes.withLock { _ = $0.remove(id) }
        do {
            try await client.send(HTTPRequest(.delete, target("/containers/\(id)", [("force", "true"), ("v", "true")])))
        } catch let error as EngineError where error.status == 404 {
            return
        } catch let error as EngineError where error.code == .http {
            throw ProviderError(code: .engineError, reason: error.reason, status: error.status, engineMessage: error.engineMessage)
        }
    }

    /// Stops a node (304, already stopped, is success).
    public func stop(_ id: String, timeoutSeconds: Int?) async throws {
        let seconds = try Self.checkTimeout(timeoutSeconds)
        try await lifecycle(
            HTTPRequest(.post, target("/containers/\(id)/stop", [("t", String(seconds))]), timeout: .seconds(seconds + 30)), id)
    }

    /// Starts a node (304, already running, is success).
    public func start(_ id: String) async throws {
        try await lifecycle(HTTPRequest(.post, "/containers/\(id)/start"), id)
    }

    /// Restarts a node.
    public func restart(_ id: String, timeoutSeconds: Int?) async throws {
        let seconds = try Self.checkTimeout(timeoutSeconds)
        try await lifecycle(
            HTTPRequest(.post, target("/containers/\(id)/restart", [("t", String(seconds))]), timeout: .seconds(seconds + 30)), id)
    }

    /// Pauses a node; already paused is success.
    public func pause(_ id: String) async throws {
        do {
            try await lifecycle(HTTPRequest(.post, "/containers/\(id)/pause"), id)
        } catch let error as EngineError where error.code == .http {
            let container = try await inspectContainer(id)
            if container.state?.paused == true { return }
            throw ProviderError(code: .conflict, reason: error.reason, status: error.status, engineMessage: error.engineMessage)
        }
    }

    /// Resumes a paused node; a node that is not paused is success when it runs.
    public func resume(_ id: String) async throws {
        do {
            try await lifecycle(HTTPRequest(.post, "/containers/\(id)/unpause"), id)
        } catch let error as EngineError where error.code == .http {
            let container = try await inspectContainer(id)
            if container.state?.paused == false, container.state?.running == true { return }
            throw ProviderError(code: .conflict, reason: error.reason, status: error.status, engineMessage: error.engineMessage)
        }
    }

    private func lifecycle(_ request: HTTPRequest, _ id: String) async throws {
        do {
            try await client.send(request)
        } catch let error as EngineError where error.status == 404 {
            throw ProviderError.notFound(id)
        }
    }

    private static func checkTimeout(_ seconds: Int?) throws -> Int {
        let seconds = seconds ?? 10
        guard (0...3600).contains(seconds) else { throw InvalidParams(field: "timeoutSeconds", reason: "must be between 0 and 3600") }
        return seconds
    }

    // MARK: snapshot

    /// Commits a node's filesystem to `snapshotRepository:<tag>`, labelled as managed.
    public func snapshot(_ id: String, tag: String?) async throws -> SnapshotRef {
        let container = try await inspectContainer(id)
        let nodeID = container.config?.labels?[Labels.nodeID] ?? String(container.id.prefix(12))
        let stamp = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).dateTimeSeparator(.standard))
            .filter(\.isNumber)
        let tag = tag ?? "\(nodeID)-\(stamp)"
        guard Self.isValidTag(tag) else { throw InvalidParams(field: "tag", reason: "must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}") }
        // A tag names one image: re-pointing one this owner did not make would hand its users our
        // filesystem (and another owner's ref would run ours). Only this owner's own snapshot may move.
        do {
            let existing = try await inspectImage("\(config.snapshotRepository):\(tag)")
            let labels = existing.config?.labels ?? [:]
            let owner = labels[Self.ownerLabel].flatMap { $0.isEmpty ? nil : $0 }
            guard labels[Labels.managed] == "true", owner == config.ownerId else {
                throw ProviderError(
                    code: .conflict,
                    reason:
                        "the tag \(config.snapshotRepository):\(tag) already names an image this owner did not make; choose another tag",
                    status: 409)
            }
        } catch let error as EngineError where error.status == 404 {
            // free
        }
        struct CommitConfig: Encodable { var Labels: [String: String] }
        let excluded = (container.mounts ?? []).map(\.destination).filter { $0 != Self.secretEnvDirectory }.sorted()
        var labels = [DockerProvider.managedLabel: "true", DockerProvider.nodeIDLabel: nodeID].merging(ownerLabels) { $1 }
        labels[Labels.excludedVolumes] = excluded.joined(separator: ",")
        if let record = container.config?.labels?[Labels.spec] { labels[Labels.spec] = record }
        let body = CommitConfig(Labels: labels)
        let committed = try await client.send(
            HTTPRequest(
                .post,
                target("/commit", [("container", container.id), ("repo", config.snapshotRepository), ("tag", tag), ("pause", "true")]),
                body: try encodeJSON(body), timeout: .seconds(600)),
            as: IDResponse.self)
        return SnapshotRef(
            externalId: Self.imageDigestID(committed.id), createdAt: Timestamp.now(), image: "\(config.snapshotRepository):\(tag)",
            excludedVolumes: (container.mounts ?? []).map(\.destination).filter { $0 != Self.secretEnvDirectory }.sorted())
    }

    /// An image ID as Docker writes it, `sha256:<hex>`; Podman's commit answers the bare hex.
    static func imageDigestID(_ id: String) -> String {
        let isBareHex = id.utf8.count == 64 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        return isBareHex ? "sha256:" + id : id
    }

    static let managedLabel = Labels.managed
    static let nodeIDLabel = Labels.nodeID

    private static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...128).contains(bytes.count), bytes[0] != UInt8(ascii: "."), bytes[0] != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F || $0 == 0x2E
                || $0 == 0x2D
        }
    }

    // MARK: engine

    /// Whether the engine answers, how fast, and what it is; never throws.
    public func healthCheck() async -> HealthResult {
        let start = ContinuousClock.now
        do {
            // A probe answers quickly: at most 5 s, sooner when the request timeout is shorter.
            _ = try await client.ping(timeout: min(.seconds(5), .milliseconds(config.requestTimeoutMs)))
            let elapsed = ContinuousClock.now - start
            let latency = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            var result = HealthResult(healthy: true, latencyMs: (latency * 1000).rounded() / 1000)
            result.engine = engineInfo.withLock { $0 }
            if result.engine == nil, let version = try? await client.send(HTTPRequest(.get, "/version"), as: SystemVersion.self) {
                let info = HealthResult.EngineInfo(
                    version: version.version ?? "", apiVersion: "\(try await client.apiVersion())", os: version.os ?? "",
                    arch: version.arch ?? "")
                engineInfo.withLock { $0 = info }
                result.engine = info
            }
            return result
        } catch {
            let elapsed = ContinuousClock.now - start
            let latency = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            let reason = (error as? EngineError)?.reason ?? "\(error)"
            if let engineError = error as? EngineError, engineError.isDescriptorExhaustion {
                // The engine may be fine: the worker itself cannot open a connection.
                return HealthResult(healthy: false, latencyMs: latency, message: "the worker is out of descriptors: \(reason)")
            }
            engineInfo.withLock { $0 = nil }
            return HealthResult(healthy: false, latencyMs: latency, message: "the Docker engine is unreachable: \(reason)")
        }
    }

    /// Looks for the nvidia runtime; updates ``capabilities``; false on any error.
    public func detectGpu() async -> Bool {
        guard let info = try? await client.send(HTTPRequest(.get, "/info"), as: SystemInfo.self) else { return false }
        let found = info.runtimes?["nvidia"] != nil
        gpuDetected.withLock { $0 = found }
        return found
    }

    // MARK: helpers

    /// Runs a short command in a container and collects its combined output (for the provider's own use).
    /// By default as root, whatever the container's user: listing or removing what the archive API
    /// wrote (as root) and `tailscale up` need it; `user: nil` runs as the container's own user.
    /// Bounded by `deadline` (default: the client's request timeout) from the call, engine round trips
    /// included; at the deadline the command's processes are killed in the container.
    /// - Throws: ``EngineError`` `timedOut` naming the command when the deadline passes; engine errors.
    static func runQuietly(
        client: EngineClient, containerID: String, command: [String], user: String? = "0", deadline: Duration? = nil,
        killOnDeadline: Bool = true
    ) async throws -> (exitCode: Int, output: [UInt8]) {
        let limit = deadline ?? client.requestTimeout
        let marker = UUID().uuidString.lowercased()
        let outcome = try await within(limit) { () async throws -> (exitCode: Int, output: [UInt8]) in
            var body = ExecCreateBody(cmd: command)
            body.user = user
            body.env = ["\(execMarkerVariable)=\(marker)"]
            let exec = try await client.send(
                HTTPRequest(.post, "/containers/\(containerID)/exec", body: try encodeJSON(body)), as: IDResponse.self)
            try await checkExecTarget(client: client, execID: exec.id, containerID: containerID)
            // The helper's own output may rightly pause (rm -rf of a big tree): the deadline bounds it.
            let stream = try await client.stream(
                HTTPRequest(.post, "/exec/\(exec.id)/start", body: Array(#"{"Detach":false,"Tty":false}"#.utf8)), bound: .none)
            var demuxer = StreamDemuxer()
            var output: [UInt8] = []
            for try await chunk in stream {
                demuxer.feed(chunk) { _, bytes in output.append(contentsOf: bytes) }
            }
            return (try await exitCode(client: client, execID: exec.id), output)
        }
        guard let outcome else {
            if killOnDeadline {
                Task.detached {
                    let script =
                        "for p in /proc/[0-9]*; do if tr '\\000' '\\n' < $p/environ 2>/dev/null | grep -qx '\(execMarkerVariable)=\(marker)'; then kill -9 ${p#/proc/} 2>/dev/null; fi; done; true"
                    _ = try? await runQuietly(
                        client: client, containerID: containerID, command: ["sh", "-c", script], user: user, killOnDeadline: false)
                }
            }
            throw EngineError(
                code: .timedOut,
                reason:
                    "`\(command.first ?? "")` in the node did not finish within \(limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000) ms"
            )
        }
        return outcome
    }

    /// Checks, before an exec starts, that the engine made it in the container `containerID` (a full
    /// id whose ownership was checked): if that container went away in between, the engine resolves
    /// the same string as a *name*, and another container could carry it. The exec is then left
    /// unstarted and the node is -32004.
    /// - Throws: ``ProviderError`` -32004 when the exec is in another container.
    static func checkExecTarget(client: EngineClient, execID: String, containerID: String) async throws {
        guard containerID.utf8.count == 64 else { return }
        let info = try await client.send(HTTPRequest(.get, "/exec/\(execID)/json"), as: ExecInspect.self)
        if let actual = info.containerID, actual != containerID {
            throw ProviderError(code: .notFound, reason: "no such node: \(containerID)")
        }
    }

    /// Waits for an exec to be reported finished and returns its exit code.
    static func exitCode(client: EngineClient, execID: String) async throws -> Int {
        try await finishedExec(client: client, execID: execID).exitCode ?? -1
    }

    /// Waits for an exec to be reported finished and returns the engine's record of it.
    static func finishedExec(client: EngineClient, execID: String) async throws -> ExecInspect {
        var delay = Duration.milliseconds(2)
        while true {
            let info = try await client.send(HTTPRequest(.get, "/exec/\(execID)/json"), as: ExecInspect.self)
            if !info.running { return info }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .milliseconds(100))
        }
    }
}

/// The named volumes one provision created (shared with its cleanup).
final class CreatedVolumes: Sendable {
    let names = Mutex<[String]>([])
}

/// Encodes an engine request body.
func encodeJSON<T: Encodable>(_ value: T) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    return Array(try encoder.encode(value))
}

/// Splits a byte stream of newline-delimited JSON into lines.
struct JSONLineSplitter {
    private var pending: [UInt8] = []

    mutating func feed(_ chunk: [UInt8]) -> [[UInt8]] {
        pending.append(contentsOf: chunk)
        var lines: [[UInt8]] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: 0x0A) {
            let line = Array(pending[start..<newline])
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) { lines.append(line) }
            start = newline + 1
        }
        pending.removeFirst(start)
        return lines
    }
}

import DockerEngine
import JSONCoding
import JSONRPC
import Synchronization

// The method table's entries by area: each maps a request to the provider.
extension WorkerService {
    /// A node's lifecycle: provision, inspect, stop/start, snapshots, listing and adoption.
    func registerNodeMethods(_ table: inout MethodTable) {
        table.register(ProvisionRequest.self) { [self] request, context in
            let provider = try current()
            return Self.undoneIfDropped(try await provider.provision(request.spec, context: context), provider, context)
        }
        table.register(InspectRequest.self) { [self] request, _ in try await current().inspect(request.externalId) }
        table.register(DestroyRequest.self) { [self] request, _ in
            let provider = try current()
            do {
                try await provider.destroy(try await provider.owned(request.externalId))
            } catch let error as ProviderError where error.code == .notFound && error.status == 404 {
                // already gone
            }
            return NullResult()
        }
        table.register(StopRequest.self) { [self] request, _ in
            let provider = try current()
            try await provider.stop(try await provider.owned(request.externalId), timeoutSeconds: request.timeoutSeconds)
            return NullResult()
        }
        table.register(StartRequest.self) { [self] request, _ in
            let provider = try current()
            try await provider.start(try await provider.owned(request.externalId))
            return NullResult()
        }
        table.register(RestartRequest.self) { [self] request, _ in
            let provider = try current()
            try await provider.restart(try await provider.owned(request.externalId), timeoutSeconds: request.timeoutSeconds)
            return NullResult()
        }
        table.register(PauseRequest.self) { [self] request, _ in
            let provider = try current()
            try await provider.pause(try await provider.owned(request.externalId))
            return NullResult()
        }
        table.register(ResumeRequest.self) { [self] request, _ in
            let provider = try current()
            try await provider.resume(try await provider.owned(request.externalId))
            return NullResult()
        }
        table.register(SnapshotRequest.self) { [self] request, _ in
            let provider = try current()
            return try await provider.snapshot(try await provider.owned(request.externalId), tag: request.tag)
        }
        table.register(RestoreRequest.self) { [self] request, context in
            let provider = try current()
            return Self.undoneIfDropped(try await provider.restore(request, context: context), provider, context)
        }
        table.register(HealthCheckRequest.self) { [self] _, _ in try await current().healthCheck() }
        table.register(DetectGpuRequest.self) { [self] _, _ in
            let provider = try current()
            let found = await provider.detectGpu()
            return DetectGpuResult(gpu: found, capabilities: provider.capabilities)
        }
        table.register(ListRequest.self) { [self] request, _ in try await current().list(labels: request.labels) }
        table.register(GetURLRequest.self, extension: "network") { [self] request, _ in
            let (provider, request) = try await ownedRequest(request)
            return try await provider.url(request)
        }
        table.register(LifetimeSetRequest.self) { [self] request, _ in
            let (provider, request) = try await ownedRequest(request)
            return try await provider.setLifetime(request, id: request.externalId)
        }
        table.register(SnapshotsListRequest.self) { [self] request, _ in try await current().listSnapshots(labels: request.labels) }
        table.register(SnapshotsDeleteRequest.self) { [self] request, _ in
            try await current().deleteSnapshot(request.ref)
            return NullResult()
        }
        table.register(ReapRequest.self) { [self] request, _ in try await current().reap(keep: request.keep ?? []) }
    }

    /// Commands: `exec` (buffered, streamed or in the background), attaching, killing, listing, and
    /// the host's `exec.input` / `exec.resize` notifications.
    func registerExecMethods(_ table: inout MethodTable) {
        table.register(ExecRequest.self) { [self] request, context in
            let provider = try current()
            var request = request
            let container = try await provider.ownedContainer(request.externalId)
            request.externalId = container.id
            // A node running a command is not idle, however long it runs.
            provider.lifetimes.begin(request.externalId)
            defer { provider.lifetimes.end(request.externalId) }
            if request.options?.background == true {
                return .started(
                    execId: try await provider.startBackground(request, sourcingSecrets: DockerProvider.hasSecretEnv(container)))
            }
            return .finished(try await provider.exec(request, context: context, sourcingSecrets: DockerProvider.hasSecretEnv(container)))
        }
        table.register(ExecAttachRequest.self) { [self] request, context in try await current().attach(request, context: context) }
        table.register(ExecKillRequest.self) { [self] request, _ in
            try await current().killExec(request)
            return NullResult()
        }
        table.register(ExecListRequest.self) { [self] request, _ in
            let (provider, request) = try await ownedRequest(request)
            return try await provider.listExecs(request.externalId)
        }
        table.registerNotification(ExecInputNotification.name) { [self] params in
            provider.withLock { $0 }?.execInput(params)
        }
        table.registerNotification(ExecResizeNotification.name) { [self] params in
            provider.withLock { $0 }?.execResize(params)
        }
    }

    /// The `files` extension, its methods in the order `getExtension` lists them.
    func registerFileMethods(_ table: inout MethodTable) {
        table.register(FilesReadRequest.self, extension: "files") { [self] request, _ in
            let (provider, request) = try await ownedRequest(request)
            return try await provider.readFile(request)
        }
        table.register(FilesWriteRequest.self, extension: "files") { [self] request, _ in
            let provider = try current()
            if let mode = request.mode { try Self.checkSpecialBits(mode, field: "mode", provider) }
            let (_, request) = try await ownedRequest(request)
            return try await provider.writeFile(request)
        }
        table.register(FilesListRequest.self, extension: "files") { [self] request, _ in
            let (provider, request) = try await ownedRequest(request)
            return try await provider.listDirectory(request)
        }
        table.register(FilesRemoveRequest.self, extension: "files") { [self] request, _ in
            let (provider, request) = try await ownedRequest(request)
            try await provider.removePath(request)
            return NullResult()
        }
        table.register(FilesMkdirRequest.self, extension: "files") { [self] request, _ in
            let (provider, request) = try await ownedRequest(request)
            try await provider.makeDirectory(request)
            return NullResult()
        }
        table.register(FilesWriteManyRequest.self, extension: "files") { [self] request, _ in
            let provider = try current()
            for (index, file) in request.files.enumerated() {
                if let mode = file.mode { try Self.checkSpecialBits(mode, field: "files[\(index)].mode", provider) }
            }
            let (_, request) = try await ownedRequest(request)
            return try await provider.writeMany(request)
        }
        table.register(FilesDownloadRequest.self, extension: "files") { [self] request, context in
            let (provider, request) = try await ownedRequest(request)
            provider.lifetimes.begin(request.externalId)
            defer { provider.lifetimes.end(request.externalId) }
            return try await provider.download(request, context: context)
        }
        table.register(FilesUploadRequest.self, extension: "files") { [self] request, _ in
            let provider = try current()
            if let mode = request.mode { try Self.checkSpecialBits(mode, field: "mode", provider) }
            let (_, request) = try await ownedRequest(request)
            return try await provider.startUpload(request)
        }
        // An upload's chunks (and its finish) are handled in the order they arrived, however many
        // the host keeps in flight; `files.cancelUpload` is not ordered, so it cuts in at once.
        let byUpload: MethodTable.OrderKey = { params in
            guard case .string(let id)? = params?["uploadId"] else { return nil }
            return "files.upload:" + id
        }
        table.register(FilesUploadChunkRequest.self, extension: "files", orderedBy: byUpload) { [self] request, context in
            try await current().uploadChunk(request, context: context)
        }
        table.register(FilesFinishUploadRequest.self, extension: "files", orderedBy: byUpload) { [self] request, _ in
            try await current().finishUpload(request)
        }
        table.register(FilesCancelUploadRequest.self, extension: "files") { [self] request, _ in
            try await current().cancelUpload(request)
            return NullResult()
        }
    }

    /// Watching nodes: resource use and metrics (`metrics`), logs (`logs`) and engine events.
    func registerObservationMethods(_ table: inout MethodTable) {
        table.register(GetResourceUsageRequest.self, extension: "metrics") { [self] request, context in
            let (provider, request) = try await ownedRequest(request)
            return try await provider.resourceUsage(request.externalId, notBefore: context.receivedAt)
        }
        table.register(StreamMetricsRequest.self, extension: "metrics") { [self] request, context in
            let (provider, request) = try await ownedRequest(request)
            return try await provider.streamMetrics(request, context: context)
        }
        table.register(LogsRequest.self, extension: "logs") { [self] request, context in
            let (provider, request) = try await ownedRequest(request)
            provider.lifetimes.begin(request.externalId)
            defer { provider.lifetimes.end(request.externalId) }
            return try await provider.logs(request, context: context)
        }
        table.register(EventsSubscribeRequest.self) { [self] _, context in try await current().subscribeEvents(context: context) }
    }

    /// Refuses setuid, setgid and sticky bits (beyond 0o777) in `mode` unless `policy.allowSpecialModes`.
    /// - Throws: ``InvalidParams`` naming `field`.
    private static func checkSpecialBits(_ mode: Int, field: String, _ provider: DockerProvider) throws {
        guard mode & ~0o777 != 0, provider.config.policy.allowSpecialModes != true else { return }
        throw InvalidParams(field: field, reason: "setuid, setgid and sticky bits (beyond 0o777) are refused (policy.allowSpecialModes)")
    }
}

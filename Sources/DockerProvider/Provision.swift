import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `provision` and `restore`: create, start and describe a node.

extension DockerProvider {
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
        try await client.inspectImage(reference)
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
            let imageConfig = try await client.inspectImage(image)
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

        // The create runs to completion even if the request is cancelled meanwhile: the engine would
        // finish it anyway, and only with its id can the container be removed again.
        let client = self.client
        let name = spec.name
        let created: String
        do {
            created = try await Task.detached { [body] in try await client.createContainer(body, name: name) }.value
        } catch let engineError as EngineError where engineError.isNotFound {
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
                try await writeSecretEnv(secrets, containerID: created, readableByAll: secretsReadableByAll)
            }
            try await startFreshContainer(created)
            if let key = spec.network?.tailscaleAuthKey {
                try await tailscaleUp(containerID: created, authKey: key)
            }
            sessionNodes.withLock { _ = $0.insert(created) }
            if let readiness = spec.readiness { try await waitUntilReady(created, readiness) }
            if let record = LifetimeRecord.parse(body.labels[Labels.lifetime]) { lifetimes.arm(created, record) }
            return try await node(created)
        } catch let timeout as ReadinessTimeout where timeout.keepNode {
            if let record = LifetimeRecord.parse(body.labels[Labels.lifetime]) { lifetimes.arm(created, record) }
            throw timeout.error
        } catch {
            sessionNodes.withLock { _ = $0.remove(created) }
            await remove(created)
            throw (error as? ReadinessTimeout)?.error ?? error
        }
    }

    /// Starts a container just created. Podman can answer 500 (reading the cgroup of a process that
    /// already exited) when the command ends at once; the container did run, so that start counts.
    private func startFreshContainer(_ id: String) async throws {
        do {
            try await client.startContainer(id)
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
                try await client.removeContainer(id, force: true, volumes: true)
            } catch {
                logger.warning("could not remove container after a failed provision", metadata: ["container": "\(id)"])
            }
        }.value
    }
}

/// The named volumes one provision created (shared with its cleanup).
final class CreatedVolumes: Sendable {
    let names = Mutex<[String]>([])
}

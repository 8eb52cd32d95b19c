import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// Snapshots you can manage (`snapshots.list`, `snapshots.delete`, retention in `reap`), and the
// node's spec recorded on each snapshot so `restore` brings the node back as it was.

/// `snapshots.list`: this owner's snapshot images (all managed ones when no `ownerId` is set).
public struct SnapshotsListRequest: RPCMethod {
    /// The method name, `"snapshots.list"`.
    public static let name = "snapshots.list"
    /// Answers this owner's snapshots, newest first, each with `size` and `nodeId`.
    public typealias Result = [SnapshotRef]
    /// Only snapshots whose image carries all of these labels.
    public var labels: [String: String]?
}

/// `snapshots.delete`: removes a snapshot image; -32009 while a node runs from it.
public struct SnapshotsDeleteRequest: RPCMethod {
    /// The method name, `"snapshots.delete"`.
    public static let name = "snapshots.delete"
    /// Answers `null`.
    public typealias Result = NullResult
    /// The snapshot: `externalId` is the image id or a tag such as ``SnapshotRef/image``.
    public var ref: SnapshotRefInput
}

extension Labels {
    /// On a snapshot image: the mount points whose contents the snapshot does not hold (comma-separated).
    static let excludedVolumes = "openlattice.excluded-volumes"
    /// The labels that hold the worker's records, left out of a ``Node``'s labels.
    static let records: Set<String> = [spec, lifetime, excludedVolumes]
}

extension CreateBodyBuilder {
    /// The spec as recorded on the node and its snapshots: no name, no secrets, volumes by target only.
    /// - Throws: an encoding error (not expected).
    static func record(of spec: NodeSpec) throws -> String {
        var recorded = spec
        recorded.name = nil
        recorded.runtime?.secretEnv = nil
        recorded.runtime?.pullPolicy = nil
        recorded.network?.tailscaleAuthKey = nil
        recorded.volumes = spec.volumes?.map { NodeSpec.Volume(source: nil, target: $0.target, readOnly: $0.readOnly) }
        return String(decoding: try encodeJSON(recorded), as: UTF8.self)
    }

    /// `over`'s fields replacing `recorded`'s: runtime member by member, labels key by key, the rest whole.
    static func merged(recorded: NodeSpec, over: NodeSpec) -> NodeSpec {
        var spec = recorded
        spec.name = over.name
        if let runtime = over.runtime {
            var merged = recorded.runtime ?? NodeSpec.Runtime()
            if let value = runtime.image { merged.image = value }
            if let value = runtime.command { merged.command = value }
            if let value = runtime.env { merged.env = value }
            merged.secretEnv = runtime.secretEnv
            if let value = runtime.user { merged.user = value }
            if let value = runtime.workdir { merged.workdir = value }
            if let value = runtime.pullPolicy { merged.pullPolicy = value }
            if let value = runtime.`init` { merged.`init` = value }
            spec.runtime = merged
        } else {
            spec.runtime?.secretEnv = nil
        }
        if let value = over.cpu { spec.cpu = value }
        if let value = over.memory { spec.memory = value }
        if let value = over.gpu { spec.gpu = value }
        if let value = over.network { spec.network = value }
        if let value = over.volumes { spec.volumes = value }
        if let value = over.lifetime { spec.lifetime = value }
        if let value = over.readiness { spec.readiness = value }
        if let labels = over.labels { spec.labels = (recorded.labels ?? [:]).merging(labels) { $1 } }
        return spec
    }
}

extension DockerProvider {
    /// The spec recorded on snapshot image `image`, if it has one.
    func recordedSpec(ofImage image: String) async throws -> NodeSpec? {
        let inspected: ImageInspect
        do {
            inspected = try await client.inspectImage(image)
        } catch let error as EngineError where error.isNotFound {
            throw ProviderError(code: .notFound, reason: "no such snapshot: \(image)", status: 404)
        }
        guard let text = inspected.config?.labels?[Labels.spec] else { return nil }
        return try? JSONDecoder().decode(NodeSpec.self, from: Data(text.utf8))
    }

    /// `snapshots.list`: this owner's snapshots, newest first.
    /// - Throws: ``EngineError`` when the engine cannot list images.
    public func listSnapshots(labels: [String: String]?) async throws -> [SnapshotRef] {
        try await snapshotImages(labels: labels).map(snapshotRef).sorted { $0.createdAt > $1.createdAt }
    }

    private func snapshotImages(labels: [String: String]?) async throws -> [ImageSummary] {
        var filters = ["\(Labels.managed)=true"]
        if let owner = config.ownerId { filters.append("\(Self.ownerLabel)=\(owner)") }
        for (key, value) in (labels ?? [:]).sorted(by: { $0.key < $1.key }) { filters.append("\(key)=\(value)") }
        let images = try await client.listImages(filters: ["label": filters])
        // Managed images that are snapshots: in the snapshot repository, or carrying a recorded spec.
        return images.filter { image in
            (image.repoTags ?? []).contains { $0.hasPrefix("\(config.snapshotRepository):") } || image.labels?[Labels.spec] != nil
        }
    }

    private func snapshotRef(_ image: ImageSummary) -> SnapshotRef {
        let tag = (image.repoTags ?? []).first { $0.hasPrefix("\(config.snapshotRepository):") } ?? image.repoTags?.first ?? image.id
        let excluded = image.labels?[Labels.excludedVolumes].map { $0.split(separator: ",").map(String.init) } ?? []
        var ref = SnapshotRef(
            externalId: Self.imageDigestID(image.id),
            createdAt: Timestamp.format(Date(timeIntervalSince1970: Double(image.created ?? 0))), image: tag,
            excludedVolumes: excluded)
        ref.size = image.size
        ref.nodeId = image.labels?[Labels.nodeID]
        return ref
    }

    /// `snapshots.delete`: removes the image `ref` names, with all its tags.
    /// - Throws: ``ProviderError`` -32004 for an image this owner cannot see, -32009 while a
    ///   container (running or not) was created from it.
    public func deleteSnapshot(_ ref: SnapshotRefInput) async throws {
        let images = try await snapshotImages(labels: nil)
        // By image id, or by a tag as `restore` accepts it.
        let wanted = ref.externalId
        guard
            let image = images.first(where: {
                Self.imageDigestID($0.id) == Self.imageDigestID(wanted) || ($0.repoTags ?? []).contains(wanted)
            })
        else {
            throw ProviderError(code: .notFound, reason: "no such snapshot: \(ref.externalId)", status: 404)
        }
        let users = try await client.listContainers(filters: ["ancestor": [image.id]])
        if let user = users.first {
            throw ProviderError(
                code: .conflict,
                reason: "snapshot \(ref.externalId) is in use by container \(user.id.prefix(12)); destroy the nodes restored from it first")
        }
        do {
            try await client.removeImage(image.id, force: true, noprune: false)
        } catch let error as EngineError where error.isNotFound {
            return
        } catch let error as EngineError where error.status == 409 {
            // Another image was built on it (a snapshot of a node restored from it).
            throw ProviderError(
                code: .conflict, reason: "snapshot \(ref.externalId) cannot be removed: \(error.engineMessage ?? error.reason)",
                status: 409, engineMessage: error.engineMessage)
        }
    }

    /// Removes this owner's snapshots older than `config.snapshotRetentionSeconds` that no container uses.
    func reapSnapshots() async throws -> [String] {
        guard let retention = config.snapshotRetentionSeconds else { return [] }
        let cutoff = Int64(Date().timeIntervalSince1970) - Int64(retention)
        var removed: [String] = []
        for image in try await snapshotImages(labels: nil) where (image.created ?? 0) < cutoff {
            do {
                try await deleteSnapshot(SnapshotRefInput(externalId: image.id, provider: nil))
                removed.append(Self.imageDigestID(image.id))
            } catch let error as ProviderError where error.code == .conflict {
                continue
            }
        }
        return removed
    }

    /// Destroys the nodes this session provisioned (`config.onHostExit: "destroy"` after the host
    /// went away), within `limit`; what is left is logged.
    public func destroySessionNodes(limit: Duration) async {
        let ids = sessionNodes.withLock { Array($0) }
        guard !ids.isEmpty else { return }
        logger.notice("the host went away: destroying this session's nodes", metadata: ["count": "\(ids.count)"])
        await withTaskGroup(of: Void.self) { outer in
            outer.addTask {
                await withTaskGroup(of: Void.self) { group in
                    for id in ids {
                        group.addTask {
                            do { try await self.destroy(id) } catch {
                                self.logger.warning("could not destroy a node at host exit", metadata: ["container": "\(id)"])
                            }
                        }
                    }
                }
            }
            outer.addTask { try? await Task.sleep(for: limit) }
            _ = await outer.next()  // all destroys answered, or the time is up
            outer.cancelAll()
        }
    }
}

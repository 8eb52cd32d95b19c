import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Synchronization

/// `reap`: removes this owner's nodes that the orchestrator no longer knows.
public struct ReapRequest: RPCMethod {
    /// The method name, `"reap"`.
    public static let name = "reap"
    /// Answers ``ReapResult``.
    public typealias Result = ReapResult
    /// Container ids, id prefixes or names, and volume names, to keep; nil: none.
    public var keep: [String]?
}

/// What `reap` answers.
public struct ReapResult: Encodable, Sendable {
    /// Full ids of the containers removed, sorted.
    public var removed: [String]
    /// Snapshot image ids removed by `config.snapshotRetentionSeconds`, when it is set.
    public var snapshots: [String]?
    /// Named volumes this owner's provisions created that no container uses any more, removed.
    public var removedVolumes: [String]
}

extension DockerProvider {
    /// The label naming the worker instance (`config.ownerId`) that made a container, volume or image.
    static let ownerLabel = "openlattice.owner"

    /// Whether the worker may act on an object with these labels: it carries
    /// `openlattice.managed=true` (or the config allows unlabelled containers), and, when
    /// `config.ownerId` is set, `openlattice.owner=<ownerId>` (unlabelled ones are then never acted on).
    func mayTouch(labels: [String: String]?) -> Bool {
        if let ownerID = config.ownerId {
            return labels?[Labels.managed] == "true" && labels?[Self.ownerLabel] == ownerID
        }
        return config.manageUnlabeled || labels?[Labels.managed] == "true"
    }

    /// Whether the worker may act on `container` (see ``mayTouch(labels:)``).
    func isManaged(_ container: ContainerInspect) -> Bool {
        mayTouch(labels: container.config?.labels)
    }

    /// The full id of a container the worker may act on; anything else is "no such node" (-32004).
    /// Checked against the engine's current view on every call: an id checked once is no proof
    /// later (after a destroy the engine resolves a 64-hex string as a *name*, which anyone may give
    /// a container). Callers address the container by the full id returned.
    /// - Throws: ``InvalidParams`` for a malformed id, ``ProviderError`` -32004 for a missing,
    ///   unmanaged or other owner's container.
    func owned(_ externalId: String) async throws -> String {
        try await ownedContainer(externalId).id
    }

    /// The engine's view of a container the worker may act on (see ``owned(_:)``).
    func ownedContainer(_ externalId: String) async throws -> ContainerInspect {
        try Validation.checkExternalID(externalId)
        let container = try await inspectContainer(externalId)
        guard isManaged(container) else {
            throw ProviderError(
                code: .notFound, reason: "no such node: \(externalId) (the container is not managed by this worker)")
        }
        return container
    }

    /// Label filters (`key=value`) selecting what this worker may see: managed, and this owner's.
    var ownershipFilters: [String] {
        ["\(Labels.managed)=true"] + (config.ownerId.map { ["\(Self.ownerLabel)=\($0)"] } ?? [])
    }

    /// Removes this owner's managed containers (with their anonymous volumes) that are not in `keep`.
    public func reap(keep: [String]) async throws -> ReapResult {
        guard let ownerID = config.ownerId else {
            throw InvalidParams(field: "config.ownerId", reason: "must be set in initialize for reap")
        }
        let containers = try await client.listContainers(filters: ["label": ["\(Labels.managed)=true", "\(Self.ownerLabel)=\(ownerID)"]])
        var removed: [String] = []
        for container in containers {
            let names = (container.names ?? []).map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 }
            let kept = keep.contains { key in
                !key.isEmpty && (container.id == key || container.id.hasPrefix(key) || names.contains(key))
            }
            guard !kept else { continue }
            try await destroy(container.id)
            removed.append(container.id)
        }
        let snapshots = config.snapshotRetentionSeconds == nil ? nil : try await reapSnapshots()
        return ReapResult(
            removed: removed.sorted(), snapshots: snapshots, removedVolumes: try await reapVolumes(owner: ownerID, keep: keep))
    }

    /// Removes this owner's volumes (labelled managed and owned at creation by a provision) that no
    /// container uses, except those named in `keep` and those a provision running now has created
    /// but not yet attached to its container.
    private func reapVolumes(owner: String, keep: [String]) async throws -> [String] {
        let volumes = try await client.listVolumes(filters: [
            "label": ["\(Labels.managed)=true", "\(Self.ownerLabel)=\(owner)"], "dangling": ["true"],
        ])
        var removed: [String] = []
        // Checked here too: Podman ORs label filters where Docker ANDs them.
        let owned = volumes.filter { $0.labels?[Labels.managed] == "true" && $0.labels?[Self.ownerLabel] == owner }
        for volume in owned where !keep.contains(volume.name) {
            if provisioningVolumes.withLock({ $0[volume.name, default: 0] > 0 }) { continue }
            do {
                try await client.removeVolume(volume.name)
                removed.append(volume.name)
            } catch let error as EngineError where error.isNotFound || error.status == 409 {
                continue  // gone already, or taken by a container meanwhile
            }
        }
        return removed.sorted()
    }
}

import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `list`: the managed nodes.

extension DockerProvider {
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
        let summaries = try await client.listContainers(filters: ["label": filters])
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
}

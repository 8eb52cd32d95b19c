import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `inspect`, and a node as the protocol describes it.

extension DockerProvider {
    /// Reads a container, mapping 404 to ``ProviderError/notFound(_:)``.
    func inspectContainer(_ id: String) async throws -> ContainerInspect {
        do {
            return try await client.inspectContainer(id)
        } catch let error as EngineError where error.isNotFound {
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
}

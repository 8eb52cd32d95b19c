import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `snapshot`: commits a node's filesystem to an image.

extension DockerProvider {
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
        } catch let error as EngineError where error.isNotFound {
            // free
        }
        let excluded = (container.mounts ?? []).map(\.destination).filter { $0 != Self.secretEnvDirectory }.sorted()
        var labels = [DockerProvider.managedLabel: "true", DockerProvider.nodeIDLabel: nodeID].merging(ownerLabels) { $1 }
        labels[Labels.excludedVolumes] = excluded.joined(separator: ",")
        if let record = container.config?.labels?[Labels.spec] { labels[Labels.spec] = record }
        let committed = try await client.commitContainer(
            container.id, repo: config.snapshotRepository, tag: tag, labels: labels)
        return SnapshotRef(
            externalId: Self.imageDigestID(committed), createdAt: Timestamp.now(), image: "\(config.snapshotRepository):\(tag)",
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
}

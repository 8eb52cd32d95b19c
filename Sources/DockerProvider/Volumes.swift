import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// The named volumes a provision creates, and their removal when it fails.

extension DockerProvider {
    /// Removes named volumes a failed provision created, whatever the state of the calling task.
    func removeVolumes(_ names: [String]) async {
        guard !names.isEmpty else { return }
        let client = self.client
        let logger = self.logger
        await Task.detached {
            for name in names {
                do {
                    try await client.removeVolume(name)
                } catch let error as EngineError where error.isNotFound {
                    continue
                } catch {
                    logger.warning(
                        "could not remove a volume after a failed provision", metadata: ["volume": "\(name)", "error": "\(error)"])
                }
            }
        }.value
    }

    func ensureVolumes(_ volumes: [NodeSpec.Volume], created: CreatedVolumes) async throws {
        for volume in volumes {
            guard let name = volume.source, !name.hasPrefix("/") else { continue }
            do {
                try await client.inspectVolume(name)
            } catch let error as EngineError where error.isNotFound {
                try await client.createVolume(name: name, labels: [Labels.managed: "true"].merging(ownerLabels) { $1 })
                created.names.withLock { $0.append(name) }
            }
        }
    }
}

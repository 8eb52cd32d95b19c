import DockerEngine
import FoundationEssentials
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

    func ensureVolumes(_ volumes: [NodeSpec.Volume], created: CreatedVolumes) async throws {
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
}

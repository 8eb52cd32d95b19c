import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// Image pulls for provision, with `pull.progress` notifications.

extension DockerProvider {
    func ensureImage(_ image: String, policy: NodeSpec.PullPolicy, context: RequestContext) async throws {
        switch policy {
        case .never: return
        case .missing:
            do {
                _ = try await client.inspectImage(image)
                return
            } catch let error as EngineError where error.isNotFound {
                try await pull(image, context: context)
            }
        case .always:
            try await pull(image, context: context)
        }
    }

    /// Pulls `image`, reporting progress as `pull.progress` notifications; an error in the stream fails the pull.
    func pull(_ image: String, context: RequestContext) async throws {
        let auth = RegistryAuth.headerValue(
            for: image, configured: config.registryAuth, environment: ProcessInfo.processInfo.environment)
        let progressLines: JSONLines<PullProgress>
        do {
            progressLines = try await client.pullImage(image, registryAuth: auth)
        } catch let error as EngineError where error.isHTTPError {
            throw ProviderError(
                code: error.isNotFound ? .notFound : .engineError,
                reason: "pulling \(image) failed: \(error.engineMessage ?? error.reason)",
                status: error.status, engineMessage: error.engineMessage)
        }
        for try await progress in progressLines {
            if let message = progress.errorDetail?.message ?? progress.error {
                throw ProviderError(code: .engineError, reason: "pulling \(image) failed: \(message)", engineMessage: message)
            }
            await context.notify(
                PullProgressNotification(
                    image: image, status: progress.status ?? "", id: progress.id, current: progress.progressDetail?.current,
                    total: progress.progressDetail?.total))
        }
    }
}

import DockerEngine
import FoundationEssentials
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
                try await client.send(HTTPRequest(.get, "/images/\(pathEscape(image))/json"))
                return
            } catch let error as EngineError where error.status == 404 {
                try await pull(image, context: context)
            }
        case .always:
            try await pull(image, context: context)
        }
    }

    /// Pulls `image`, reporting progress as `pull.progress` notifications; an error in the stream fails the pull.
    func pull(_ image: String, context: RequestContext) async throws {
        var query: [(String, String)] = []
        if image.contains("@") {
            query.append(("fromImage", image))
        } else {
            let slash = image.lastIndex(of: "/") ?? image.startIndex
            if let colon = image[slash...].lastIndex(of: ":") {
                query.append(("fromImage", String(image[..<colon])))
                query.append(("tag", String(image[image.index(after: colon)...])))
            } else {
                query.append(("fromImage", image))
                query.append(("tag", "latest"))
            }
        }
        var headers: [(name: String, value: String)] = []
        if let auth = RegistryAuth.headerValue(
            for: image, configured: config.registryAuth, environment: ProcessInfo.processInfo.environment)
        {
            headers.append(("X-Registry-Auth", auth))
        }
        let stream: ResponseStream
        do {
            stream = try await client.stream(HTTPRequest(.post, target("/images/create", query), headers: headers))
        } catch let error as EngineError where error.isHTTPError {
            throw ProviderError(
                code: error.status == 404 ? .notFound : .engineError,
                reason: "pulling \(image) failed: \(error.engineMessage ?? error.reason)",
                status: error.status, engineMessage: error.engineMessage)
        }
        var lines = JSONLineSplitter()
        for try await chunk in stream {
            for line in lines.feed(chunk) {
                guard let progress = try? JSONDecoder().decode(PullProgress.self, from: Data(line)) else { continue }
                if let message = progress.errorDetail?.message ?? progress.error {
                    throw ProviderError(code: .engineError, reason: "pulling \(image) failed: \(message)", engineMessage: message)
                }
                var params = JSONObject()
                params["requestId"] = context.id.json
                params["image"] = .string(image)
                params["status"] = .string(progress.status ?? "")
                if let id = progress.id { params["id"] = .string(id) }
                if let current = progress.progressDetail?.current { params["current"] = .integer(current) }
                if let total = progress.progressDetail?.total { params["total"] = .integer(total) }
                await context.notify("pull.progress", params: .object(params))
            }
        }
    }
}

import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `destroy`, `stop`, `start`, `restart`, `pause`, `resume`.

extension DockerProvider {
    /// Force-removes a node with its anonymous volumes; a missing node is success.
    public func destroy(_ id: String) async throws {
        stats.forget(id)
        lifetimes.disarm(id)
        sessionNodes.withLock { _ = $0.remove(id) }
        do {
            try await client.removeContainer(id, force: true, volumes: true)
        } catch let error as EngineError where error.isNotFound {
            return
        } catch let error as EngineError where error.isHTTPError {
            throw ProviderError(code: .engineError, reason: error.reason, status: error.status, engineMessage: error.engineMessage)
        }
    }

    /// Stops a node (304, already stopped, is success).
    public func stop(_ id: String, timeoutSeconds: Int?) async throws {
        let seconds = try Self.checkTimeout(timeoutSeconds)
        try await lifecycle(id) { try await $0.stopContainer(id, timeoutSeconds: seconds) }
    }

    /// Starts a node (304, already running, is success).
    public func start(_ id: String) async throws {
        try await lifecycle(id) { try await $0.startContainer(id) }
    }

    /// Restarts a node.
    public func restart(_ id: String, timeoutSeconds: Int?) async throws {
        let seconds = try Self.checkTimeout(timeoutSeconds)
        try await lifecycle(id) { try await $0.restartContainer(id, timeoutSeconds: seconds) }
    }

    /// Pauses a node; already paused is success.
    public func pause(_ id: String) async throws {
        do {
            try await lifecycle(id) { try await $0.pauseContainer(id) }
        } catch let error as EngineError where error.isHTTPError {
            let container = try await inspectContainer(id)
            if container.state?.paused == true { return }
            throw ProviderError(code: .conflict, reason: error.reason, status: error.status, engineMessage: error.engineMessage)
        }
    }

    /// Resumes a paused node; a node that is not paused is success when it runs.
    public func resume(_ id: String) async throws {
        do {
            try await lifecycle(id) { try await $0.unpauseContainer(id) }
        } catch let error as EngineError where error.isHTTPError {
            let container = try await inspectContainer(id)
            if container.state?.paused == false, container.state?.running == true { return }
            throw ProviderError(code: .conflict, reason: error.reason, status: error.status, engineMessage: error.engineMessage)
        }
    }

    /// Runs one lifecycle request for node `id`, its 404 as ``ProviderError/notFound(_:)``.
    private func lifecycle(_ id: String, _ request: (EngineClient) async throws -> Void) async throws {
        do {
            try await request(client)
        } catch let error as EngineError where error.isNotFound {
            throw ProviderError.notFound(id)
        }
    }

    private static func checkTimeout(_ seconds: Int?) throws -> Int {
        let seconds = seconds ?? 10
        guard (0...3600).contains(seconds) else { throw InvalidParams(field: "timeoutSeconds", reason: "must be between 0 and 3600") }
        return seconds
    }
}

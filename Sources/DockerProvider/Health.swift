import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `health` and GPU detection.

extension DockerProvider {
    /// Whether the engine answers, how fast, and what it is; never throws.
    public func healthCheck() async -> HealthResult {
        let start = ContinuousClock.now
        do {
            // A probe answers quickly: at most 5 s, sooner when the request timeout is shorter.
            _ = try await client.ping(timeout: min(.seconds(5), .milliseconds(config.requestTimeoutMs)))
            let elapsed = ContinuousClock.now - start
            let latency = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            var result = HealthResult(healthy: true, latencyMs: (latency * 1000).rounded() / 1000)
            result.engine = engineInfo.withLock { $0 }
            if result.engine == nil, let version = try? await client.version() {
                let info = HealthResult.EngineInfo(
                    version: version.version ?? "", apiVersion: "\(try await client.apiVersion())", os: version.os ?? "",
                    arch: version.arch ?? "")
                engineInfo.withLock { $0 = info }
                result.engine = info
            }
            return result
        } catch {
            let elapsed = ContinuousClock.now - start
            let latency = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            let reason = (error as? EngineError)?.reason ?? "\(error)"
            if let engineError = error as? EngineError, engineError.isDescriptorExhaustion {
                // The engine may be fine: the worker itself cannot open a connection.
                return HealthResult(healthy: false, latencyMs: latency, message: "the worker is out of descriptors: \(reason)")
            }
            engineInfo.withLock { $0 = nil }
            return HealthResult(healthy: false, latencyMs: latency, message: "the Docker engine is unreachable: \(reason)")
        }
    }

    /// Looks for the nvidia runtime; updates ``capabilities``; false on any error.
    public func detectGpu() async -> Bool {
        guard let info = try? await client.info() else { return false }
        let found = info.runtimes?["nvidia"] != nil
        gpuDetected.withLock { $0 = found }
        return found
    }
}

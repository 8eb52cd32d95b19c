import DockerEngine
import FoundationEssentials
import JSONRPC

/// `metrics.getResourceUsage`.
public struct GetResourceUsageRequest: RPCMethod {
    public static let name = "metrics.getResourceUsage"
    public typealias Result = ResourceUsage
    public var externalId: String
}

/// `metrics.streamMetrics`.
public struct StreamMetricsRequest: RPCMethod {
    public static let name = "metrics.streamMetrics"
    public typealias Result = StreamEnd
    public var externalId: String
    public var intervalMs: Int?
    public var maxSamples: Int?
}

/// How a stream ended.
public struct StreamEnd: Encodable, Sendable {
    public var samples: Int?
    public var reason: String
}

/// `network.getUrl`.
public struct GetURLRequest: RPCMethod {
    public static let name = "network.getUrl"
    public typealias Result = URLResult
    public var externalId: String
    public var port: Int
    public var `protocol`: String?
    public var scope: String?
}

/// What `network.getUrl` answers.
public struct URLResult: Encodable, Sendable {
    public var url: String
}

extension DockerProvider {
    /// The longest `metrics.getResourceUsage` waits for a node's first stats sample (at most the request timeout).
    static let usageWait = Duration.seconds(15)

    /// A running node's current resource use (from its warm stats stream).
    public func resourceUsage(_ id: String) async throws -> ResourceUsage {
        try Validation.checkExternalID(id)
        let container = try await inspectContainer(id)
        guard container.state?.running == true, container.state?.paused != true else {
            throw ProviderError(code: .conflict, reason: "node \(id) is not running")
        }
        // Usage is all this call is for, so it waits longer than an inspect for a first sample: a
        // loaded engine's stats collector can lag many seconds (it waits on container locks).
        let wait = min(Self.usageWait, .milliseconds(config.requestTimeoutMs))
        guard let usage = await stats.usage(for: container.id, wait: wait) else {
            throw ProviderError(code: .timedOut, reason: "the engine sent no stats for \(id) in time")
        }
        return usage
    }

    /// Streams `metrics.sample` notifications from one stats connection until `maxSamples`,
    /// the container stopping, or cancellation.
    public func streamMetrics(_ request: StreamMetricsRequest, context: RequestContext) async throws -> StreamEnd {
        try Validation.checkExternalID(request.externalId)
        try request.validate()
        let interval = request.intervalMs ?? 1000
        let container = try await inspectContainer(request.externalId)
        guard container.state?.running == true else { return StreamEnd(samples: 0, reason: "stopped") }
        let stream = try await client.stream(
            HTTPRequest(.get, "/containers/\(container.id)/stats?stream=true"), highWater: 256 << 10, bound: .none)
        var lines = JSONLineSplitter()
        var sent = 0
        var lastSent: ContinuousClock.Instant?
        for try await chunk in stream {
            for line in lines.feed(chunk) {
                guard let sample = try? JSONDecoder().decode(ContainerStats.self, from: Data(line)) else { continue }
                // A stopped container's last sample carries no CPU figures.
                if sample.cpuStats?.systemCPUUsage == nil || sample.pidsStats?.current == 0 && sample.memoryStats?.usage == nil {
                    stream.cancel()
                    return StreamEnd(samples: sent, reason: "stopped")
                }
                guard let usage = StatsMonitor.usage(from: sample) else { continue }
                let now = ContinuousClock.now
                if let lastSent, now - lastSent < .milliseconds(interval) - .milliseconds(100) { continue }
                lastSent = now
                var params = JSONObject()
                params["requestId"] = context.id.json
                params["externalId"] = .string(request.externalId)
                params["sample"] = try JSONParser.parse(MethodTable.encodeResult(usage))
                guard await context.notify("metrics.sample", params: .object(params)) else { throw CancellationError() }
                sent += 1
                if let max = request.maxSamples, sent >= max {
                    stream.cancel()
                    return StreamEnd(samples: sent, reason: "maxSamples")
                }
            }
        }
        return StreamEnd(samples: sent, reason: "stopped")
    }

    /// The URL of a node's port: host-published, or by name on its Docker network.
    public func url(_ request: GetURLRequest) async throws -> URLResult {
        try Validation.checkExternalID(request.externalId)
        try request.validate()
        let scheme = request.protocol ?? "http"
        let scope = request.scope ?? "host"
        let endpoints = EndpointExtractor.endpoints(of: try await inspectContainer(request.externalId))
        switch scope {
        case "host":
            guard let endpoint = endpoints.first(where: { $0.type == "tcp" && $0.containerPort == request.port }) else {
                throw ProviderError(code: .notFound, reason: "port \(request.port) is not published on the host")
            }
            return URLResult(url: "\(scheme)://localhost:\(endpoint.port)")
        case "internal":
            guard let endpoint = endpoints.first(where: { $0.type == "docker-internal" && $0.port == request.port }) else {
                throw ProviderError(
                    code: .notFound, reason: "port \(request.port) is not exposed on a named Docker network for this node")
            }
            return URLResult(url: "\(scheme)://\(endpoint.host):\(endpoint.port)")
        default:
            throw InvalidParams(field: "scope", reason: "must be host or internal")
        }
    }
}

extension StreamMetricsRequest {
    /// Checks the params before any engine call.
    func validate() throws {
        if let interval = intervalMs, interval <= 0 { throw InvalidParams(field: "intervalMs", reason: "must be positive") }
        if let max = maxSamples, max < 1 { throw InvalidParams(field: "maxSamples", reason: "must be at least 1") }
    }
}

extension GetURLRequest {
    /// Checks the params before any engine call.
    func validate() throws {
        guard ["http", "https", "tcp"].contains(self.protocol ?? "http") else {
            throw InvalidParams(field: "protocol", reason: "must be http, https or tcp")
        }
        guard (1...65535).contains(port) else { throw InvalidParams(field: "port", reason: "must be between 1 and 65535") }
        guard ["host", "internal"].contains(scope ?? "host") else {
            throw InvalidParams(field: "scope", reason: "must be host or internal")
        }
    }
}

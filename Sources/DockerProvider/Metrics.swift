import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

/// `metrics.getResourceUsage`.
public struct GetResourceUsageRequest: RPCMethod {
    /// The method name, `"metrics.getResourceUsage"`.
    public static let name = "metrics.getResourceUsage"
    /// Answers the node's ``ResourceUsage`` as of after the request arrived.
    public typealias Result = ResourceUsage
    /// The node: its container id or name.
    public var externalId: String
}

/// `metrics.streamMetrics`.
public struct StreamMetricsRequest: RPCMethod {
    /// The method name, `"metrics.streamMetrics"`.
    public static let name = "metrics.streamMetrics"
    /// Answers ``StreamEnd`` when `maxSamples` is reached or the node stops.
    public typealias Result = StreamEnd
    /// The node: its container id or name.
    public var externalId: String
    /// Milliseconds between samples, at least 1000; nil: 1000.
    public var intervalMs: Int?
    /// Stop after this many samples; nil: no limit.
    public var maxSamples: Int?
}

/// How a stream ended.
public struct StreamEnd: Encodable, Sendable {
    /// Samples sent (`metrics.streamMetrics`); nil for `logs` and `events.subscribe`.
    public var samples: Int?
    /// `"maxSamples"` or `"stopped"`.
    public var reason: String
}

/// `network.getUrl`.
public struct GetURLRequest: RPCMethod {
    /// The method name, `"network.getUrl"`.
    public static let name = "network.getUrl"
    /// Answers ``URLResult``.
    public typealias Result = URLResult
    /// The node: its container id or name.
    public var externalId: String
    /// The port in the container.
    public var port: Int
    /// The URL's scheme: `"http"`, `"https"` or `"tcp"`; nil: `"http"`.
    public var `protocol`: String?
    /// `"host"` (a published port) or `"internal"` (the node's name on a named network); nil: `"host"`.
    public var scope: String?
}

/// What `network.getUrl` answers.
public struct URLResult: Encodable, Sendable {
    /// `"<protocol>://<host>:<port>"`; an IPv6 host in brackets.
    public var url: String
}

extension DockerProvider {
    /// The longest `metrics.getResourceUsage` waits for a node's first stats sample (at most the request timeout).
    static let usageWait = Duration.seconds(15)

    /// A running node's resource use as of `notBefore` or later (the request's arrival): the warm
    /// stats stream's latest sample when the engine read it at or after then, else a one-shot read
    /// (see `freshUsage`), else the stream's next sample; so the answer is never older than the
    /// question. A paused node is running, frozen: its usage is reported (CPU idle), as
    /// `streamMetrics` reports it.
    ///
    /// - Throws: `ProviderError` `.conflict` (-32009) when the node is not running, `.timedOut`
    ///   when the engine sends no sample in time, `.notFound` for an unknown node.
    public func resourceUsage(_ id: String, notBefore: Date? = nil) async throws -> ResourceUsage {
        try Validation.checkExternalID(id)
        let container = try await inspectContainer(id)
        guard container.state?.running == true else {
            throw ProviderError(code: .conflict, reason: "node \(id) is not running")
        }
        // Usage is all this call is for, so it waits longer than an inspect for a first sample: a
        // loaded engine's stats collector can lag many seconds (it waits on container locks).
        let wait = min(Self.usageWait, .milliseconds(config.requestTimeoutMs))
        // The warm stream's latest sample: the answer when read after the request arrived (a first
        // call's stream opens after it), else the CPU baseline for a one-shot read.
        guard await stats.usage(for: container.id, wait: wait) != nil else {
            throw ProviderError(code: .timedOut, reason: "the engine sent no stats for \(id) in time")
        }
        if let notBefore {
            if let latest = stats.latest(for: container.id), let read = latest.sample.read.flatMap(Timestamp.parse), read >= notBefore {
                return latest.usage
            }
            if let fresh = try? await freshUsage(containerID: container.id, notBefore: notBefore) { return fresh }
        }
        guard let usage = await stats.usage(for: container.id, notBefore: notBefore, wait: wait) else {
            throw ProviderError(code: .timedOut, reason: "the engine sent no stats for \(id) in time")
        }
        return usage
    }

    /// A one-shot stats read (Podman answers at once, Docker with its collector's next tick), its
    /// CPU measured against the warm stream's latest sample (over less than half a second that is
    /// mostly noise: the stream's own figure is kept then); nil when the read is not after
    /// `notBefore` or there is no earlier sample to measure against.
    private func freshUsage(containerID: String, notBefore: Date) async throws -> ResourceUsage? {
        guard let current = try await client.containerStats(containerID), let read = current.read.flatMap(Timestamp.parse),
            read >= notBefore, let previous = stats.latest(for: containerID),
            let previousRead = previous.sample.read.flatMap(Timestamp.parse)
        else { return nil }
        if current.read == previous.sample.read { return previous.usage }
        guard previousRead < read else { return nil }
        var measured = current
        measured.precpuStats = previous.sample.cpuStats
        guard var usage = StatsMonitor.usage(from: measured) else { return nil }
        if read.timeIntervalSince(previousRead) < 0.5 { usage.cpuPercent = previous.usage.cpuPercent }
        return usage
    }

    /// The shortest `intervalMs`: the engine samples a node once a second (Docker's stats collector
    /// ticks every second for every reader, one-shot reads included), so a shorter interval could
    /// only repeat samples.
    static let minimumIntervalMs = 1000

    /// Streams `metrics.sample` notifications until `maxSamples`, the container stopping, or
    /// cancellation. Samples are due every `intervalMs`, the first a second after the call (CPU is
    /// measured over at least that second); each is a one-shot stats read made at its due time, with
    /// CPU measured against the read before it. The engines' streams would not do: Docker's ticks
    /// once a second, whatever the interval, and Podman's compatibility stream every 5 s. On Docker
    /// a one-shot read waits for the collector's next tick, so a sample may come up to a second
    /// after its due time; due times count from the first, so the mean interval is the one asked.
    /// A paused node keeps streaming (CPU idle).
    ///
    /// - Throws: -32602 for bad params, -32004 for an unknown node, `CancellationError` when the
    ///   host stops it; engine errors other than the container going away.
    public func streamMetrics(_ request: StreamMetricsRequest, context: RequestContext) async throws -> StreamEnd {
        try Validation.checkExternalID(request.externalId)
        let interval = Duration.milliseconds(request.intervalMs ?? 1000)
        let container = try await inspectContainer(request.externalId)
        guard container.state?.running == true else { return StreamEnd(samples: 0, reason: "stopped") }
        /// One read; nil once the container has stopped or gone.
        func sample() async throws -> ContainerStats? {
            let read: ContainerStats?
            do {
                read = try await client.containerStats(container.id)
            } catch let error as EngineError where error.isNotFound || error.status == 409 {
                return nil
            }
            // A stopped container's read is empty (Podman) or carries no CPU figures (Docker).
            guard let sample = read, sample.cpuStats?.systemCPUUsage != nil,
                !(sample.pidsStats?.current == 0 && sample.memoryStats?.usage == nil)
            else { return nil }
            return sample
        }
        guard var previous = try await sample() else { return StreamEnd(samples: 0, reason: "stopped") }
        var due = ContinuousClock.now + .milliseconds(Self.minimumIntervalMs)
        var sent = 0
        while true {
            try await Task.sleep(until: due, clock: .continuous)
            guard var current = try await sample() else { return StreamEnd(samples: sent, reason: "stopped") }
            // Docker answers a read with its collector's latest tick: never measure a tick against itself.
            if current.read == previous.read {
                guard let next = try await sample() else { return StreamEnd(samples: sent, reason: "stopped") }
                current = next
            }
            var measured = current
            measured.precpuStats = previous.cpuStats
            previous = current
            let now = ContinuousClock.now
            // The next due time follows this one, not this sample, so late reads do not stretch the
            // mean; after a stall it restarts from now rather than sending a burst.
            due = max(due + interval, now + interval / 2)
            guard let usage = StatsMonitor.usage(from: measured) else { continue }
            guard await context.notify(MetricsSampleNotification(externalId: request.externalId, sample: usage)) else {
                throw CancellationError()
            }
            sent += 1
            if let max = request.maxSamples, sent >= max { return StreamEnd(samples: sent, reason: "maxSamples") }
        }
    }

    /// The URL of a node's port: host-published, or by name on its Docker network.
    public func url(_ request: GetURLRequest) async throws -> URLResult {
        try Validation.checkExternalID(request.externalId)
        let scheme = request.protocol ?? "http"
        let scope = request.scope ?? "host"
        let endpoints = EndpointExtractor.endpoints(of: try await inspectContainer(request.externalId))
        switch scope {
        case "host":
            guard let endpoint = endpoints.first(where: { $0.type == "tcp" && $0.containerPort == request.port }) else {
                throw ProviderError(code: .notFound, reason: "port \(request.port) is not published on the host")
            }
            return URLResult(url: "\(scheme)://\(EndpointExtractor.authority(host: endpoint.host, port: endpoint.port))")
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
    public func validate() throws {
        if let interval = intervalMs, interval < DockerProvider.minimumIntervalMs {
            throw InvalidParams(
                field: "intervalMs", reason: "must be at least \(DockerProvider.minimumIntervalMs) (the engine samples once a second)")
        }
        if let max = maxSamples, max < 1 { throw InvalidParams(field: "maxSamples", reason: "must be at least 1") }
    }
}

extension GetURLRequest {
    /// Checks the params before any engine call.
    public func validate() throws {
        guard ["http", "https", "tcp"].contains(self.protocol ?? "http") else {
            throw InvalidParams(field: "protocol", reason: "must be http, https or tcp")
        }
        guard (1...65535).contains(port) else { throw InvalidParams(field: "port", reason: "must be between 1 and 65535") }
        guard ["host", "internal"].contains(scope ?? "host") else {
            throw InvalidParams(field: "scope", reason: "must be host or internal")
        }
    }
}

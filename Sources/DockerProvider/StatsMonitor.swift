import DockerEngine
import FoundationEssentials
import Logging
import Synchronization

/// Keeps a streaming stats connection open for each recently inspected node, so an inspect after
/// the first answers from the latest sample instead of waiting a second for the engine. A stream
/// closes after 10 s without an inspect, or when its container stops.
final class StatsMonitor: Sendable {
    /// How long a stream stays open without being asked for.
    static let idleLimit = Duration.seconds(10)
    /// How long the first inspect of a node waits for a sample (it answers without resources after).
    static let firstSampleWait = Duration.seconds(5)

    private struct Entry {
        var latest: ResourceUsage?
        var lastAccess: ContinuousClock.Instant
        var waiters: [UUID: CheckedContinuation<ResourceUsage?, Never>] = [:]
        var task: Task<Void, Never>?
    }

    private let client: EngineClient
    private let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])

    init(client: EngineClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The latest usage of a running container, waiting up to `wait` for the first sample if need be.
    func usage(for id: String, wait: Duration = firstSampleWait) async -> ResourceUsage? {
        let now = ContinuousClock.now
        let (latest, needsStart) = entries.withLock { entries -> (ResourceUsage?, Bool) in
            if var entry = entries[id] {
                entry.lastAccess = now
                entries[id] = entry
                return (entry.latest, false)
            }
            entries[id] = Entry(lastAccess: now)
            return (nil, true)
        }
        if let latest { return latest }
        if needsStart {
            let task = Task.detached { [self] in await follow(id) }
            entries.withLock { $0[id]?.task = task }
        }
        let token = UUID()
        let timer = Task {
            try? await Task.sleep(for: wait)
            resolve(id, token: token, with: nil)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = entries.withLock { entries -> (Bool, ResourceUsage?) in
                guard var entry = entries[id] else { return (true, nil) }
                if let latest = entry.latest { return (true, latest) }
                entry.waiters[token] = continuation
                entries[id] = entry
                return (false, nil)
            }
            if ready.0 { continuation.resume(returning: ready.1) }
        }
    }

    /// Closes a node's stream (on destroy).
    func forget(_ id: String) {
        let entry = entries.withLock { $0.removeValue(forKey: id) }
        entry?.task?.cancel()
        for waiter in entry?.waiters.values ?? [:].values { waiter.resume(returning: nil) }
    }

    private func resolve(_ id: String, token: UUID, with value: ResourceUsage?) {
        let waiter = entries.withLock { $0[id]?.waiters.removeValue(forKey: token) }
        waiter?.resume(returning: value)
    }

    private func follow(_ id: String) async {
        defer { forget(id) }
        do {
            let stream = try await client.stream(
                HTTPRequest(.get, "/containers/\(id)/stats?stream=true"), highWater: 256 << 10, bound: .none)
            var lines = JSONLineSplitter()
            for try await chunk in stream {
                for line in lines.feed(chunk) {
                    guard let sample = try? JSONDecoder().decode(ContainerStats.self, from: Data(line)),
                        let usage = Self.usage(from: sample)
                    else { continue }
                    guard publish(id, usage) else {
                        stream.cancel()
                        return
                    }
                }
            }
        } catch {
            logger.debug("stats stream ended", metadata: ["container": "\(id)", "error": "\(error)"])
        }
    }

    /// Stores a sample and wakes waiters; false when the stream has been idle too long.
    private func publish(_ id: String, _ resources: ResourceUsage) -> Bool {
        let (keep, waiters) = entries.withLock { entries -> (Bool, [CheckedContinuation<ResourceUsage?, Never>]) in
            guard var entry = entries[id] else { return (false, []) }
            entry.latest = resources
            let waiters = Array(entry.waiters.values)
            entry.waiters = [:]
            entries[id] = entry
            return (ContinuousClock.now - entry.lastAccess < Self.idleLimit, waiters)
        }
        for waiter in waiters { waiter.resume(returning: resources) }
        return keep
    }

    /// CPU percent by the engine's documented formula and memory less page cache (`cache` on
    /// cgroup v1, `inactive_file` on v2); nil for a sample without a previous one to compare with.
    static func usage(from sample: ContainerStats) -> ResourceUsage? {
        guard let cpu = sample.cpuStats, let precpu = sample.precpuStats,
            let system = cpu.systemCPUUsage, let preSystem = precpu.systemCPUUsage, preSystem > 0
        else { return nil }
        let cpuDelta = Double(cpu.cpuUsage?.totalUsage ?? 0) - Double(precpu.cpuUsage?.totalUsage ?? 0)
        let systemDelta = Double(system) - Double(preSystem)
        let online = Double(cpu.onlineCPUs ?? cpu.cpuUsage?.percpuUsage?.count ?? 1)
        let cpuPercent = systemDelta > 0 && cpuDelta > 0 ? cpuDelta / systemDelta * online * 100 : 0
        let memory = sample.memoryStats
        let usage = Double(memory?.usage ?? 0)
        let cache: Double
        if let v1Cache = memory?.stats?["cache"] {
            cache = Double(v1Cache)
        } else {
            cache = Double(memory?.stats?["inactive_file"] ?? 0)
        }
        let mib = 1_048_576.0
        let networks = sample.networks?.values
        let blkio = sample.blkioStats?.ioServiceBytesRecursive ?? []
        func blk(_ op: String) -> UInt64 { blkio.filter { $0.op?.lowercased() == op }.reduce(0) { $0 + ($1.value ?? 0) } }
        return ResourceUsage(
            cpuPercent: (cpuPercent * 100).rounded() / 100,
            memoryUsedMiB: (max(0, usage - cache) / mib * 100).rounded() / 100,
            memoryLimitMiB: memory?.limit.map { (Double($0) / mib * 100).rounded() / 100 },
            networkRxBytes: networks?.reduce(0) { $0 + ($1.rxBytes ?? 0) } ?? 0,
            networkTxBytes: networks?.reduce(0) { $0 + ($1.txBytes ?? 0) } ?? 0,
            blockReadBytes: blk("read"), blockWriteBytes: blk("write"),
            pids: sample.pidsStats?.current ?? 0,
            timestamp: Timestamp.normalize(sample.read) ?? Timestamp.now())
    }
}

/// One reading of a node's resource use (`metrics.getResourceUsage`, `metrics.sample`).
public struct ResourceUsage: Encodable, Sendable {
    public var cpuPercent: Double
    public var memoryUsedMiB: Double
    public var memoryLimitMiB: Double?
    public var networkRxBytes: UInt64
    public var networkTxBytes: UInt64
    public var blockReadBytes: UInt64
    public var blockWriteBytes: UInt64
    public var pids: Int
    public var timestamp: String

    /// The subset `inspect` reports.
    var resources: Resources {
        Resources(cpuPercent: cpuPercent, memoryUsedMiB: memoryUsedMiB, memoryLimitMiB: memoryLimitMiB, sampledAt: timestamp)
    }
}

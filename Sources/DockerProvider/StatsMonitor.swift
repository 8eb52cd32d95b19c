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
        /// When the engine read `latest` (its `read` stamp).
        var latestRead: Date?
        /// The sample `latest` was made of, as the engine sent it.
        var latestSample: ContainerStats?
        var lastAccess: ContinuousClock.Instant
        var waiters: [UUID: Waiter] = [:]
        var task: Task<Void, Never>?
    }

    /// A caller waiting for a sample read at or after `notBefore` (any sample when nil).
    private struct Waiter {
        var notBefore: Date?
        /// Samples still to come before one is taken whatever its stamp: the second sample published
        /// after the wait began was read after it, even if the engine's clock disagrees with ours.
        var samplesLeft = 2
        var continuation: CheckedContinuation<ResourceUsage?, Never>
    }

    private let client: EngineClient
    private let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])

    init(client: EngineClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The latest usage of a running container, waiting up to `wait` for the first sample if need
    /// be. With `notBefore`, only a sample the engine read at or after that moment will do (a
    /// caller that must reflect the node as of its request waits for the next one, at most the
    /// engine's sampling period, a second).
    func usage(for id: String, notBefore: Date? = nil, wait: Duration = firstSampleWait) async -> ResourceUsage? {
        let now = ContinuousClock.now
        let (latest, needsStart) = entries.withLock { entries -> (ResourceUsage?, Bool) in
            if var entry = entries[id] {
                entry.lastAccess = now
                entries[id] = entry
                return (Self.fresh(entry, notBefore) ? entry.latest : nil, false)
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
                if Self.fresh(entry, notBefore), let latest = entry.latest { return (true, latest) }
                entry.waiters[token] = Waiter(notBefore: notBefore, continuation: continuation)
                entries[id] = entry
                return (false, nil)
            }
            if ready.0 { continuation.resume(returning: ready.1) }
        }
    }

    /// Whether an entry's latest sample will do for a caller that needs one read at or after `notBefore`.
    private static func fresh(_ entry: Entry, _ notBefore: Date?) -> Bool {
        guard entry.latest != nil else { return false }
        guard let notBefore else { return true }
        return entry.latestRead.map { $0 >= notBefore } ?? false
    }

    /// The latest sample of a node's stream as the engine sent it, and the usage made of it; nil
    /// before the first (or with no stream open).
    func latest(for id: String) -> (sample: ContainerStats, usage: ResourceUsage)? {
        entries.withLock { entries in
            guard let entry = entries[id], let sample = entry.latestSample, let usage = entry.latest else { return nil }
            return (sample, usage)
        }
    }

    /// Closes a node's stream (on destroy).
    func forget(_ id: String) {
        let entry = entries.withLock { $0.removeValue(forKey: id) }
        entry?.task?.cancel()
        for waiter in entry?.waiters.values ?? [:].values { waiter.continuation.resume(returning: nil) }
    }

    private func resolve(_ id: String, token: UUID, with value: ResourceUsage?) {
        let waiter = entries.withLock { $0[id]?.waiters.removeValue(forKey: token) }
        waiter?.continuation.resume(returning: value)
    }

    private func follow(_ id: String) async {
        defer { forget(id) }
        do {
            let samples = try await client.containerStatsStream(id)
            for try await sample in samples {
                guard let usage = Self.usage(from: sample) else { continue }
                guard publish(id, usage, sample: sample) else {
                    samples.cancel()
                    return
                }
            }
        } catch {
            logger.debug("stats stream ended", metadata: ["container": "\(id)", "error": "\(error)"])
        }
    }

    /// Stores a sample (read by the engine at `read`) and wakes the waiters it will do for; false
    /// when the stream has been idle too long.
    private func publish(_ id: String, _ resources: ResourceUsage, sample: ContainerStats) -> Bool {
        let read = sample.read.flatMap(Timestamp.parse)
        let (keep, waiters) = entries.withLock { entries -> (Bool, [CheckedContinuation<ResourceUsage?, Never>]) in
            guard var entry = entries[id] else { return (false, []) }
            entry.latest = resources
            entry.latestRead = read
            entry.latestSample = sample
            var ready: [CheckedContinuation<ResourceUsage?, Never>] = []
            for (token, var waiter) in entry.waiters {
                waiter.samplesLeft -= 1
                // Too early: read before the moment the waiter needs (or with no read stamp).
                let early = waiter.notBefore.map { notBefore in read.map { $0 < notBefore } ?? true } ?? false
                if early, waiter.samplesLeft > 0 {
                    entry.waiters[token] = waiter
                } else {
                    entry.waiters.removeValue(forKey: token)
                    ready.append(waiter.continuation)
                }
            }
            entries[id] = entry
            return (ContinuousClock.now - entry.lastAccess < Self.idleLimit, ready)
        }
        for waiter in waiters { waiter.resume(returning: resources) }
        return keep
    }

    /// Memory in use as the Docker CLI counts it (`docker stats`): usage less the inactive file
    /// cache, the pages the kernel reclaims first. cgroup v1 has `total_inactive_file` (the
    /// hierarchy's); v2 has `inactive_file`. Like the CLI, a figure not below usage is not
    /// subtracted, and without either figure (Podman) usage is the answer. Shared memory (tmpfs,
    /// /dev/shm) and active file cache count: the kernel cannot simply drop them.
    static func memoryUsedBytes(_ memory: ContainerStats.MemoryStats?) -> UInt64 {
        let usage = memory?.usage ?? 0
        if let inactive = memory?.stats?["total_inactive_file"], inactive < usage { return usage - inactive }
        if let inactive = memory?.stats?["inactive_file"], inactive < usage { return usage - inactive }
        return usage
    }

    /// CPU percent by the engine's documented formula and memory as `docker stats` counts it (see
    /// `memoryUsedBytes`); nil for a sample without a previous one to compare with.
    static func usage(from sample: ContainerStats) -> ResourceUsage? {
        guard let cpu = sample.cpuStats, let precpu = sample.precpuStats,
            let system = cpu.systemCPUUsage, let preSystem = precpu.systemCPUUsage, preSystem > 0
        else { return nil }
        let cpuDelta = Double(cpu.cpuUsage?.totalUsage ?? 0) - Double(precpu.cpuUsage?.totalUsage ?? 0)
        let systemDelta = Double(system) - Double(preSystem)
        let online = Double(cpu.onlineCPUs ?? cpu.cpuUsage?.percpuUsage?.count ?? 1)
        let cpuPercent = systemDelta > 0 && cpuDelta > 0 ? cpuDelta / systemDelta * online * 100 : 0
        let memory = sample.memoryStats
        let mib = 1_048_576.0
        let networks = sample.networks?.values
        let blkio = sample.blkioStats?.ioServiceBytesRecursive ?? []
        func blk(_ op: String) -> UInt64 { blkio.filter { $0.op?.lowercased() == op }.reduce(0) { $0 + ($1.value ?? 0) } }
        return ResourceUsage(
            cpuPercent: (cpuPercent * 100).rounded() / 100,
            memoryUsedMiB: (Double(memoryUsedBytes(memory)) / mib * 100).rounded() / 100,
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
    /// CPU use in percent of one core (cpu delta / system delta × online CPUs × 100).
    public var cpuPercent: Double
    /// Memory in use in MiB as `docker stats` counts it (usage less inactive file cache).
    public var memoryUsedMiB: Double
    /// The memory limit in MiB; nil when the engine reports none.
    public var memoryLimitMiB: Double?
    /// Bytes received on every interface since the node started.
    public var networkRxBytes: UInt64
    /// Bytes sent on every interface since the node started.
    public var networkTxBytes: UInt64
    /// Bytes read from block devices since the node started.
    public var blockReadBytes: UInt64
    /// Bytes written to block devices since the node started.
    public var blockWriteBytes: UInt64
    /// Processes in the node now.
    public var pids: Int
    /// When the engine took the figures (its `read` time, RFC 3339, UTC).
    public var timestamp: String

    /// The subset `inspect` reports.
    var resources: Resources {
        Resources(cpuPercent: cpuPercent, memoryUsedMiB: memoryUsedMiB, memoryLimitMiB: memoryLimitMiB, sampledAt: timestamp)
    }
}

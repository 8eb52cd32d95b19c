// One sample of `GET /containers/{id}/stats`: the parts the worker reads (cgroup v1 and v2).
// Property names follow Swift; coding keys follow the engine (see swagger.yaml).

/// `GET /containers/{id}/stats`.
public struct ContainerStats: Decodable, Sendable {
    /// `read`: when the engine read the figures (RFC 3339 with nanoseconds).
    public var read: String?
    /// `cpu_stats`: CPU use at `read`.
    public var cpuStats: CPUStats?
    /// `precpu_stats`: CPU use at the previous read (zero in a one-shot read's first sample).
    public var precpuStats: CPUStats?
    /// `memory_stats`: memory use.
    public var memoryStats: MemoryStats?
    /// `networks`: interface name to its counters.
    public var networks: [String: NetworkStats]?
    /// `blkio_stats`: block I/O counters.
    public var blkioStats: BlkioStats?
    /// `pids_stats`: process counts.
    public var pidsStats: PidsStats?
    enum CodingKeys: String, CodingKey {
        case read, cpuStats = "cpu_stats", precpuStats = "precpu_stats", memoryStats = "memory_stats", networks
        case blkioStats = "blkio_stats", pidsStats = "pids_stats"
    }

    /// CPU figures of one read.
    public struct CPUStats: Decodable, Sendable {
        /// `cpu_usage`: the container's CPU time.
        public var cpuUsage: CPUUsage?
        /// `system_cpu_usage`: the host's cumulative CPU time in nanoseconds.
        public var systemCPUUsage: UInt64?
        /// `online_cpus`: the CPUs the container can use.
        public var onlineCPUs: Int?
        enum CodingKeys: String, CodingKey {
            case cpuUsage = "cpu_usage", systemCPUUsage = "system_cpu_usage", onlineCPUs = "online_cpus"
        }
    }
    /// The container's cumulative CPU time.
    public struct CPUUsage: Decodable, Sendable {
        /// `total_usage`: total CPU time in nanoseconds.
        public var totalUsage: UInt64?
        /// `percpu_usage`: CPU time per core in nanoseconds (cgroup v1 only).
        public var percpuUsage: [UInt64]?
        enum CodingKeys: String, CodingKey { case totalUsage = "total_usage", percpuUsage = "percpu_usage" }
    }
    /// Memory figures of one read.
    public struct MemoryStats: Decodable, Sendable {
        /// `usage`: memory in use in bytes, page cache included.
        public var usage: UInt64?
        /// `limit`: the memory limit in bytes (the host's memory when unlimited).
        public var limit: UInt64?
        /// `stats`: the cgroup's `memory.stat` counters in bytes, e.g. `total_inactive_file` (v1), `inactive_file` (v2).
        public var stats: [String: UInt64]?
    }
    /// One network interface's counters.
    public struct NetworkStats: Decodable, Sendable {
        /// `rx_bytes`: bytes received.
        public var rxBytes: UInt64?
        /// `tx_bytes`: bytes sent.
        public var txBytes: UInt64?
        enum CodingKeys: String, CodingKey { case rxBytes = "rx_bytes", txBytes = "tx_bytes" }
    }
    /// Block I/O figures.
    public struct BlkioStats: Decodable, Sendable {
        /// `io_service_bytes_recursive`: bytes per device and operation; nil on some cgroup v2 engines.
        public var ioServiceBytesRecursive: [BlkioEntry]?
        enum CodingKeys: String, CodingKey { case ioServiceBytesRecursive = "io_service_bytes_recursive" }
    }
    /// One block I/O counter.
    public struct BlkioEntry: Decodable, Sendable {
        /// `op`: the operation, `read`/`Read` or `write`/`Write` (case differs by cgroup version).
        public var op: String?
        /// `value`: bytes.
        public var value: UInt64?
    }
    /// Process counts.
    public struct PidsStats: Decodable, Sendable {
        /// `current`: processes in the container now.
        public var current: Int?
    }
}

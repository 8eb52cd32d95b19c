import DockerEngine
import Foundation
import Testing

@testable import DockerProvider

/// Memory in use as `docker stats` counts it, from whole stats bodies.
@Suite("memoryUsedMiB as docker stats counts it")
struct MemoryUsedTests {
    /// Recorded from Docker 20.10 on cgroup v1 (API 1.41): a busybox node holding 60 MiB in
    /// /dev/shm and 200 MiB of file cache read twice (active). `docker stats` said 267.1MiB.
    static let recordedV1 =
        #"""
        {"read":"2026-11-30T09:26:31.927696466Z","preread":"2026-11-30T09:26:30.924091051Z","pids_stats":{"current":1},"blkio_stats":{"io_service_bytes_recursive":[],"io_serviced_recursive":[],"io_queue_recursive":[],"io_service_time_recursive":[],"io_wait_time_recursive":[],"io_merged_recursive":[],"io_time_recursive":[],"sectors_recursive":[]},"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":2346911151,"percpu_usage":[2199584336,147326815],"usage_in_kernelmode":800000000,"usage_in_usermode":1530000000},"system_cpu_usage":1156210000000,"online_cpus":2,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":2346911151,"percpu_usage":[2199584336,147326815],"usage_in_kernelmode":800000000,"usage_in_usermode":1530000000},"system_cpu_usage":1154220000000,"online_cpus":2,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{"usage":280150016,"max_usage":280641536,"stats":{"active_anon":4096,"active_file":210485248,"cache":273457152,"dirty":209723392,"hierarchical_memory_limit":9223372036854771712,"hierarchical_memsw_limit":9223372036854771712,"inactive_anon":62963712,"inactive_file":57344,"mapped_file":585728,"pgfault":4647,"pgmajfault":2,"pgpgin":70522,"pgpgout":3747,"rss":53248,"rss_huge":0,"total_active_anon":4096,"total_active_file":210485248,"total_cache":273457152,"total_dirty":209723392,"total_inactive_anon":62963712,"total_inactive_file":57344,"total_mapped_file":585728,"total_pgfault":4647,"total_pgmajfault":2,"total_pgpgin":70522,"total_pgpgout":3747,"total_rss":53248,"total_rss_huge":0,"total_unevictable":0,"total_writeback":0,"unevictable":0,"writeback":0},"limit":25276063744},"name":"/recorded","id":"0000000000000000000000000000000000000000000000000000000000000000","networks":{"eth0":{"rx_bytes":1546,"rx_packets":19,"rx_errors":0,"rx_dropped":0,"tx_bytes":0,"tx_packets":0,"tx_errors":0,"tx_dropped":0}}}
        """#

    /// A cgroup v2 body in the shape of the Engine API spec (its `memory_stats.stats` example, with
    /// usage 10 MiB): `docker stats` counts usage less `inactive_file`.
    static let specV2 =
        #"""
        {"read":"2026-11-30T09:26:31.927696466Z","preread":"2026-11-30T09:26:30.924091051Z","pids_stats":{"current":3},
         "cpu_stats":{"cpu_usage":{"total_usage":2000},"system_cpu_usage":20000,"online_cpus":2},
         "precpu_stats":{"cpu_usage":{"total_usage":1000},"system_cpu_usage":10000,"online_cpus":2},
         "memory_stats":{"usage":10485760,"limit":8217579520,"stats":{"active_anon":1572864,"active_file":5115904,"anon":1572864,
         "anon_thp":0,"file":7626752,"file_dirty":0,"file_mapped":2723840,"file_writeback":0,"inactive_anon":0,"inactive_file":2510848,
         "kernel_stack":16384,"pgactivate":0,"pgdeactivate":0,"pgfault":2042,"pglazyfree":0,"pglazyfreed":0,"pgmajfault":45,"pgrefill":0,
         "pgscan":0,"pgsteal":0,"shmem":0,"slab":1180928,"slab_reclaimable":725576,"slab_unreclaimable":455352,"sock":0,
         "thp_collapse_alloc":0,"thp_fault_alloc":1,"unevictable":0,"workingset_activate":0,"workingset_nodereclaim":0,
         "workingset_refault":0}}}
        """#

    static func usage(_ json: String) throws -> ResourceUsage {
        try #require(StatsMonitor.usage(from: try JSONDecoder().decode(ContainerStats.self, from: Data(json.utf8))))
    }

    @Test func cgroupV1CountsSharedMemoryAndActiveFileCache() throws {
        let usage = try Self.usage(Self.recordedV1)
        // (280150016 - total_inactive_file 57344) / 2^20; the old usage - cache said 6.38
        #expect(usage.memoryUsedMiB == 267.12)
        #expect(usage.timestamp == "2026-11-30T09:26:31.927Z")
    }

    @Test func cgroupV2SubtractsInactiveFile() throws {
        // (10485760 - 2510848) / 2^20
        #expect(try Self.usage(Self.specV2).memoryUsedMiB == 7.61)
    }

    @Test func fallbacksFollowTheCLI() throws {
        func used(_ usage: UInt64?, _ stats: [String: UInt64]?) throws -> UInt64 {
            var body: [String: Any] = [:]
            if let usage { body["usage"] = usage }
            if let stats { body["stats"] = stats }
            let json = try JSONSerialization.data(withJSONObject: body)
            return StatsMonitor.memoryUsedBytes(try JSONDecoder().decode(ContainerStats.MemoryStats.self, from: json))
        }
        #expect(try used(1000, ["total_inactive_file": 300, "inactive_file": 100]) == 700)  // v1: the hierarchy's figure
        #expect(try used(1000, ["total_inactive_file": 1000, "inactive_file": 100]) == 900)  // not below usage: the CLI tries v2's
        #expect(try used(1000, ["inactive_file": 2000]) == 1000)  // not below usage: usage
        #expect(try used(1000, ["cache": 900]) == 1000)  // cache is not subtracted
        #expect(try used(1000, nil) == 1000)  // Podman sends no stats map
        #expect(try used(nil, nil) == 0)
    }
}

import DockerEngine
import Foundation
import Testing

@testable import DockerProvider

private func sample(_ json: String) throws -> ContainerStats {
    try JSONDecoder().decode(ContainerStats.self, from: Data(json.utf8))
}

private let mib: UInt64 = 1_048_576

private func inspectResources(_ stats: ContainerStats) -> Resources? { StatsMonitor.usage(from: stats)?.resources }

@Suite("StatsMonitor.usage(from:)")
struct StatsResourcesTests {
    @Test func seedSampleGivesTenPercent() throws {
        // The seed's stats mock.
        let stats = try sample(
            """
            {"cpu_stats":{"cpu_usage":{"total_usage":100000,"percpu_usage":[100000]},"system_cpu_usage":1000000,"online_cpus":1},
             "precpu_stats":{"cpu_usage":{"total_usage":50000},"system_cpu_usage":500000},
             "memory_stats":{"usage":\(256 * mib)}}
            """)
        let resources = try #require(inspectResources(stats))
        #expect(resources.cpuPercent == 10.0)
        #expect(resources.memoryUsedMiB == 256.0)
        #expect(resources.memoryLimitMiB == nil)
        #expect(Timestamp.parse(resources.sampledAt) != nil)
    }

    @Test func cgroupV1SubtractsTotalInactiveFile() throws {
        let stats = try sample(
            """
            {"read":"2026-01-15T10:00:00.123456789Z",
             "cpu_stats":{"cpu_usage":{"total_usage":300},"system_cpu_usage":2000,"online_cpus":4},
             "precpu_stats":{"cpu_usage":{"total_usage":100},"system_cpu_usage":1000},
             "memory_stats":{"usage":\(300 * mib),"limit":\(1024 * mib),"stats":{"cache":\(80 * mib),"total_inactive_file":\(44 * mib),"inactive_file":\(10 * mib)}}}
            """)
        let resources = try #require(inspectResources(stats))
        #expect(resources.cpuPercent == 80.0)  // 200 / 1000 * 4 cpus * 100
        #expect(resources.memoryUsedMiB == 256.0)
        #expect(resources.memoryLimitMiB == 1024.0)
        #expect(resources.sampledAt == "2026-01-15T10:00:00.123Z")
    }

    @Test func cgroupV2SubtractsInactiveFile() throws {
        let stats = try sample(
            """
            {"cpu_stats":{"cpu_usage":{"total_usage":150},"system_cpu_usage":2000,"online_cpus":2},
             "precpu_stats":{"cpu_usage":{"total_usage":100},"system_cpu_usage":1000},
             "memory_stats":{"usage":\(300 * mib),"limit":\(512 * mib),"stats":{"inactive_file":\(44 * mib),"anon":\(200 * mib)}}}
            """)
        let resources = try #require(inspectResources(stats))
        #expect(resources.cpuPercent == 10.0)
        #expect(resources.memoryUsedMiB == 256.0)
        #expect(resources.memoryLimitMiB == 512.0)
    }

    @Test func sumsNetworksBlockIOAndPids() throws {
        let stats = try sample(
            """
            {"cpu_stats":{"system_cpu_usage":2},"precpu_stats":{"system_cpu_usage":1},
             "networks":{"eth0":{"rx_bytes":100,"tx_bytes":10},"eth1":{"rx_bytes":5,"tx_bytes":1}},
             "blkio_stats":{"io_service_bytes_recursive":[{"op":"Read","value":7},{"op":"read","value":3},{"op":"Write","value":4},
                                                          {"op":"Total","value":14}]},
             "pids_stats":{"current":12}}
            """)
        let usage = try #require(StatsMonitor.usage(from: stats))
        #expect(usage.networkRxBytes == 105)
        #expect(usage.networkTxBytes == 11)
        #expect(usage.blockReadBytes == 10)
        #expect(usage.blockWriteBytes == 4)
        #expect(usage.pids == 12)
    }

    @Test func onlineCPUsFallBackToPerCPUCount() throws {
        let stats = try sample(
            """
            {"cpu_stats":{"cpu_usage":{"total_usage":100000,"percpu_usage":[60000,40000]},"system_cpu_usage":1000000},
             "precpu_stats":{"cpu_usage":{"total_usage":50000},"system_cpu_usage":500000}}
            """)
        #expect(try #require(inspectResources(stats)).cpuPercent == 20.0)
    }

    @Test func memoryIsRoundedToHundredthsOfAMiB() throws {
        let stats = try sample(
            """
            {"cpu_stats":{"system_cpu_usage":2},"precpu_stats":{"system_cpu_usage":1},
             "memory_stats":{"usage":1234567,"limit":3000000}}
            """)
        let resources = try #require(inspectResources(stats))
        #expect(resources.cpuPercent == 0)
        #expect(resources.memoryUsedMiB == 1.18)
        #expect(resources.memoryLimitMiB == 2.86)
    }

    @Test func cacheLargerThanUsageClampsToZero() throws {
        let stats = try sample(
            """
            {"cpu_stats":{"system_cpu_usage":2},"precpu_stats":{"system_cpu_usage":1},
             "memory_stats":{"usage":100,"stats":{"cache":200}}}
            """)
        #expect(try #require(inspectResources(stats)).memoryUsedMiB == 0)
    }

    @Test(arguments: [
        #"{"cpu_stats":{"cpu_usage":{"total_usage":100},"system_cpu_usage":1000},"precpu_stats":{"cpu_usage":{"total_usage":0}}}"#,
        #"{"cpu_stats":{"cpu_usage":{"total_usage":100},"system_cpu_usage":1000},"precpu_stats":{"cpu_usage":{},"system_cpu_usage":0}}"#,
        #"{"cpu_stats":{"cpu_usage":{"total_usage":100},"system_cpu_usage":1000}}"#,
        #"{"precpu_stats":{"system_cpu_usage":1000}}"#,
        #"{}"#,
    ])
    func sampleWithoutPreviousSystemUsageIsNil(json: String) throws {
        #expect(inspectResources(try sample(json)) == nil)
    }
}

@Suite("Timestamp")
struct TimestampTests {
    @Test(arguments: [
        ("2026-01-15T10:00:00.123456789Z", "2026-01-15T10:00:00.123Z"),
        ("2026-01-15T10:00:00.000Z", "2026-01-15T10:00:00.000Z"),
        ("2026-01-15T10:00:00Z", "2026-01-15T10:00:00.000Z"),
        ("2026-01-15T10:00:00.5Z", "2026-01-15T10:00:00.500Z"),
        ("2026-01-15T12:00:00.25+02:00", "2026-01-15T10:00:00.250Z"),
        ("2026-01-15T12:30:00+02:00", "2026-01-15T10:30:00.000Z"),
        ("2026-01-15T05:00:00.987654321-05:00", "2026-01-15T10:00:00.987Z"),
        ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000Z"),
    ])
    func normalizesToUTCMilliseconds(engine: String, expected: String) {
        #expect(Timestamp.normalize(engine) == expected)
    }

    @Test(
        arguments: [nil, "", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000000Z", "not a date", "2026-13-45T99:00:00Z"] as [String?])
    func zeroOrGarbageIsNil(engine: String?) {
        #expect(Timestamp.normalize(engine) == nil)
    }

    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.format(Date(timeIntervalSince1970: 1.5)) == "1970-01-01T00:00:01.500Z")
        #expect(Timestamp.now().hasSuffix("Z"))
        #expect(Timestamp.parse(Timestamp.now()) != nil)
    }
}

import Foundation
import JSONCoding
import JSONRPC
import Testing

@testable import DockerProvider

/// What the worker wrote before ``MethodTable/encodeResult(_:)`` used its own encoder.
private func foundationJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

private func workerJSON<T: Encodable>(_ value: T) throws -> String {
    String(decoding: try MethodTable.encodeResult(value), as: UTF8.self)
}

/// Both encoders' bytes, for `#expect(a == b)` to show side by side.
private func both<T: Encodable>(_ value: T) throws -> (worker: String, foundation: String) {
    (try workerJSON(value), try foundationJSON(value))
}

private let endpoints = [
    Endpoint(type: "tcp", host: "127.0.0.1", port: 32768, containerPort: 80, url: nil),
    Endpoint(type: "docker-internal", host: "olw-a/b", port: 8080, containerPort: nil, url: "http://olw-a:8080/x"),
]

private let node = Node(
    externalId: String(repeating: "ab", count: 32), name: "olw-node", nodeId: "5f0c1d6e-0000-4000-8000-000000000001",
    image: "openlattice-test/busybox:latest", status: .running, startedAt: "2026-11-30T21:00:00.123456789Z",
    endpoints: endpoints,
    labels: ["openlattice.managed": "true", "z": "last", "A": "upper", "é": "accent", "a/b": "slash", "": "empty"])

private let usage = ResourceUsage(
    cpuPercent: 39.927, memoryUsedMiB: 0, memoryLimitMiB: 1e-7, networkRxBytes: .max, networkTxBytes: 0,
    blockReadBytes: 1 << 40, blockWriteBytes: 7, pids: 3, timestamp: "2026-11-30T21:00:00Z")

/// Doubles whose text is easy to get wrong.
private let awkwardDoubles: [Double] = [
    0, -0.0, 1, -1, 39.927, 0.1, 1e-7, 1e-5, 0.001, 123.456, 1e14, 999_999_999_999_999, 1e15, 1e16, 1e21, 1e22,
    -1e21, 9_007_199_254_740_992, 1.5e300, 5e-324, .pi, 2.5, 100, 1024.0 * 1024 * 1024 * 8, 12_345_678.9,
    Double(Int64.max), -Double(Int64.max),
]

/// Strings that need escaping, or must not be escaped.
private let awkwardStrings = [
    "", "plain", "quote \" backslash \\ slash /", "\u{08}\u{0C}\n\r\t", "\u{00}\u{01}\u{1F}\u{7F}", "é 日本 🎉 \u{2028}\u{2029}",
    "\u{0C}", "a\u{08}b\u{0C}c\u{08}", "twelve bytes+\"", String(repeating: "long text ", count: 50) + "\u{08}end",
]

@Suite("MethodTable.encodeResult: JSONEncoder's bytes")
struct ResultEncodingTests {
    @Test func nodeMethodResults() throws {
        var check = try both(node)
        #expect(check.worker == check.foundation)
        check = try both([node, node])
        #expect(check.worker == check.foundation)
        let inspect = InspectResult(
            status: .stopped, startedAt: "2026-11-30T21:00:00Z", finishedAt: nil, exitCode: 137, oomKilled: false,
            error: "OOM \"killed\"", resources: usage.resources, endpoints: endpoints, expiresAt: nil)
        check = try both(inspect)
        #expect(check.worker == check.foundation)
        check = try both(InspectResult(status: .terminated, endpoints: []))
        #expect(check.worker == check.foundation)
        let health = HealthResult(
            healthy: true, latencyMs: 0.927,
            engine: .init(version: "20.10.24+dfsg1", apiVersion: "1.41", os: "linux", arch: "amd64"))
        check = try both(health)
        #expect(check.worker == check.foundation)
        check = try both(HealthResult(healthy: false, latencyMs: 1500, message: "engine: connection refused\n"))
        #expect(check.worker == check.foundation)
        let snapshot = SnapshotRef(
            externalId: "sha256:" + String(repeating: "0f", count: 32), createdAt: "2026-11-30T21:00:00Z",
            image: "olw/snap:1", excludedVolumes: ["/data"], size: Int64.max, nodeId: nil)
        check = try both([snapshot, snapshot])
        #expect(check.worker == check.foundation)
        check = try both(DetectGpuResult(gpu: true, capabilities: Capabilities(gpu: true)))
        #expect(check.worker == check.foundation)
        check = try both(LifetimeInfo(expiresAt: "2026-12-01T00:00:00Z", ttlExpiresAt: nil, idleSeconds: 600, onExpire: "stop"))
        #expect(check.worker == check.foundation)
        check = try both(ReapResult(removed: ["a", "b"], snapshots: nil, removedVolumes: []))
        #expect(check.worker == check.foundation)
        check = try both(usage)
        #expect(check.worker == check.foundation)
        check = try both(NullResult())
        #expect(check.worker == check.foundation)
    }

    @Test func initializeAndExtensionResults() throws {
        var policy = SecurityPolicy()
        policy.bindMounts = .prefixes(["/srv/data", "/tmp"])
        policy.maxCpuCores = 1.5
        policy.maxMemoryGiB = 0.25
        policy.capDrop = ["ALL"]
        policy.pidsLimit = 512
        let initialize = InitializeResult(
            protocolVersion: "1.1", provider: .init(name: "docker", version: "0.1.0"), capabilities: Capabilities(gpu: false),
            methods: ["healthCheck", "inspect", "nodes.create"], limits: .init(maxLineBytes: 67_108_864), policy: policy,
            ownerId: "owner/1")
        var check = try both(initialize)
        #expect(check.worker == check.foundation)
        check = try both(
            InitializeResult(
                protocolVersion: "1.0", provider: .init(name: "docker", version: "0.1.0"), capabilities: Capabilities(gpu: false),
                methods: [], limits: .init(maxLineBytes: 1), policy: SecurityPolicy(), ownerId: nil))
        #expect(check.worker == check.foundation)
        check = try both(Optional(ExtensionInfo(name: "files", methods: ["files.read", "files.write"])))
        #expect(check.worker == check.foundation)
        check = try both(ExtensionInfo?.none)
        #expect(check.worker == check.foundation)
    }

    @Test func filesAndExecResults() throws {
        var check = try both(FileContent(content: "aGk=", encoding: .base64, size: 2, mode: 0o644, modifiedAt: nil, sha256: "00"))
        #expect(check.worker == check.foundation)
        check = try both(WriteResult(size: 0, sha256: "e3b0"))
        #expect(check.worker == check.foundation)
        let entries = [
            FileEntry(
                name: "a b", path: "/tmp/a b", type: "file", size: 10, mode: 0o755, modifiedAt: "2026-11-30T21:00:00Z", linkTarget: nil),
            FileEntry(name: "l", path: "/l", type: "symlink", size: 0, mode: 0o777, modifiedAt: nil, linkTarget: "../x\t"),
        ]
        check = try both(ListResult(entries: entries))
        #expect(check.worker == check.foundation)
        check = try both(WriteManyResult(files: [WrittenFile(path: "/a", size: 1, sha256: "ff")]))
        #expect(check.worker == check.foundation)
        check = try both(UploadStarted(uploadId: "u-1"))
        #expect(check.worker == check.foundation)
        check = try both(UploadReceived(received: 1 << 33))
        #expect(check.worker == check.foundation)
        check = try both(URLResult(url: "http://127.0.0.1:32768/"))
        #expect(check.worker == check.foundation)
        check = try both(StreamEnd(samples: 3, reason: "maxSamples"))
        #expect(check.worker == check.foundation)
        check = try both(DownloadResult(size: 5, sha256: "aa", mode: 0o600, type: "directory", format: "tar"))
        #expect(check.worker == check.foundation)
        let execs = [
            ExecListEntry(
                execId: "e1", command: ["sh", "-c", "echo \"hi\" > /tmp/x"], running: false, exitCode: -1,
                startedAt: "2026-11-30T21:00:00Z", background: true, replayable: false)
        ]
        check = try both(execs)
        #expect(check.worker == check.foundation)
    }

    @Test func notifications() throws {
        var check = try both(MetricsSampleNotification(externalId: "c1", sample: usage))
        #expect(check.worker == check.foundation)
        check = try both(PullProgressNotification(image: "busybox", status: "Downloading", id: "abc", current: 1, total: nil))
        #expect(check.worker == check.foundation)
        check = try both(FilesProgressNotification(uploadId: nil, bytes: 10, totalBytes: 100))
        #expect(check.worker == check.foundation)
        check = try both(
            NodeEventNotification(
                externalId: "c1", nodeId: nil, action: "die", exitCode: Int64.min, time: "2026-11-30T21:00:00.5Z",
                onExpire: .destroy, nodes: [node], reason: nil, dropped: 0))
        #expect(check.worker == check.foundation)
    }

    @Test func numbersAndStrings() throws {
        for double in awkwardDoubles {
            let check = try both(["value": double, "negated": -double])
            #expect(check.worker == check.foundation, "\(double)")
        }
        let floats: [Float] = [0, 1.5, 0.1, 1e10, 16_777_216, 3.4e38, 1e-7]
        var check = try both(floats)
        #expect(check.worker == check.foundation)
        let integers: [Int64] = [0, 9, 10, -1, -9, -10, 123_456_789, .max, .min, .max - 1, .min + 1]
        check = try both(integers)
        #expect(check.worker == check.foundation)
        check = try both([UInt64.max, 0, 1] as [UInt64])
        #expect(check.worker == check.foundation)
        check = try both([-128: Int16.max, 3: 4] as [Int: Int16])
        #expect(check.worker == check.foundation)
        for string in awkwardStrings {
            check = try both([string: string])
            #expect(check.worker == check.foundation, "\(Array(string.utf8))")
        }
        check = try both(awkwardStrings)
        #expect(check.worker == check.foundation)
    }

    @Test func nestingOptionalsAndFoundationTypes() throws {
        let nested: [String: [[String: [Int?]]]] = ["b": [["x": [1, nil, 3]], [:]], "a": [], "c": [["": []]]]
        var check = try both(nested)
        #expect(check.worker == check.foundation)
        check = try both([String: String]())
        #expect(check.worker == check.foundation)
        check = try both([[String]]([[], ["a"]]))
        #expect(check.worker == check.foundation)
        check = try both(
            Sample(
                date: Date(timeIntervalSinceReferenceDate: 123.25), data: Data([0, 1, 2, 250]),
                url: URL(string: "https://example.com/a/b?c=d"), optional: nil, kind: .second, inner: .init()))
        #expect(check.worker == check.foundation)
        check = try both(
            Sample(date: Date(timeIntervalSinceReferenceDate: 0), data: Data(), url: nil, optional: 1, kind: .first, inner: .init()))
        #expect(check.worker == check.foundation)
        check = try both("top-level / string")
        #expect(check.worker == check.foundation)
        check = try both(42)
        #expect(check.worker == check.foundation)
    }

    @Test func refusesWhatJSONEncoderRefuses() {
        #expect(throws: EncodingError.self) { try MethodTable.encodeResult(["x": Double.nan]) }
        #expect(throws: EncodingError.self) { try MethodTable.encodeResult([Double.infinity]) }
        #expect(throws: EncodingError.self) { try foundationJSON([Double.infinity]) }
    }

    private struct Sample: Encodable {
        enum Kind: String, Encodable { case first, second }
        struct Inner: Encodable {
            var values: [Double] = [1, 2.5]
            /// Writes through a nested container and a super encoder, as hand-written `encode(to:)` may.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                var nested = container.nestedUnkeyedContainer(forKey: .list)
                for value in values { try nested.encode(value) }
                var object = container.nestedContainer(keyedBy: Key.self, forKey: .object)
                try object.encodeNil(forKey: .list)
                try object.encode(true, forKey: .flag)
                try container.encode("again", forKey: .flag)
                try container.encode("last wins", forKey: .flag)
                var superContainer = container.superEncoder().singleValueContainer()
                try superContainer.encode(UInt8(7))
            }
            enum Key: String, CodingKey { case list, object, flag }
        }
        var date: Date
        var data: Data
        var url: URL?
        var optional: Int?
        var kind: Kind
        var inner: Inner
    }
}

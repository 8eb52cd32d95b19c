import Synchronization
import Testing

@testable import DockerProvider

@Suite("snapshot ids and per-path write turns")
struct SnapshotAndLockTests {
    @Test func podmansBareCommitIDGetsTheDigestPrefix() {
        let hex = String(repeating: "0123456789abcdef", count: 4)
        #expect(DockerProvider.imageDigestID(hex) == "sha256:" + hex)
        #expect(DockerProvider.imageDigestID("sha256:" + hex) == "sha256:" + hex)
        // anything else is passed on as the engine wrote it
        #expect(DockerProvider.imageDigestID(String(hex.dropLast())) == String(hex.dropLast()))
        #expect(DockerProvider.imageDigestID(hex.uppercased()) == hex.uppercased())
    }

    @Test func holdersOfOneKeyTakeTurnsAndOtherKeysDoNotWait() async throws {
        let lock = KeyedLock<String>()
        final class Occupancy: Sendable { let state = Mutex((now: 0, most: 0)) }
        let inside = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await lock.withLock("a") {
                        inside.state.withLock {
                            $0.now += 1
                            $0.most = max($0.most, $0.now)
                        }
                        try await Task.sleep(for: .milliseconds(2))
                        inside.state.withLock { $0.now -= 1 }
                    }
                }
            }
            // a different key is not queued behind "a"
            group.addTask { try await lock.withLock("b") {} }
            try await group.waitForAll()
        }
        #expect(inside.state.withLock { $0.most } == 1)
        // the lock is free again, and a throwing body releases it too
        await #expect(throws: CancellationError.self) { try await lock.withLock("a") { throw CancellationError() } }
        try await lock.withLock("a") {}
    }
}

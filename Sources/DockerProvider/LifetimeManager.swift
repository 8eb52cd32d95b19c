import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

/// The armed lifetimes of one worker: deadlines, activity, and the loop that ends expired nodes.
final class LifetimeManager: Sendable {
    struct Entry: Sendable {
        var record: LifetimeRecord
        var ttlDeadline: Date?
        var lastActivity: Date
        var busy: Int = 0
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let loop = Mutex<Task<Void, Never>?>(nil)
    private let expire = Mutex<(@Sendable (String, LifetimeRecord) async -> Void)?>(nil)

    /// Sets what ends a node (stop or destroy, then report it); called once per expiry.
    func onExpire(_ handler: @escaping @Sendable (String, LifetimeRecord) async -> Void) {
        expire.withLock { $0 = handler }
    }

    deinit { loop.withLock { $0?.cancel() } }

    /// Arms (or re-arms) `record` for container `id`; activity counts from now.
    func arm(_ id: String, _ record: LifetimeRecord) {
        let deadline = record.expiresAt.flatMap(Timestamp.parse)
        entries.withLock { entries in
            if record.expiresAt == nil && record.idleSeconds == nil {
                entries[id] = nil
            } else {
                let busy = entries[id]?.busy ?? 0
                entries[id] = Entry(record: record, ttlDeadline: deadline, lastActivity: Date(), busy: busy)
            }
        }
        startLoop()
    }

    /// Forgets container `id` (destroyed, or expired).
    func disarm(_ id: String) { entries.withLock { $0[id] = nil } }

    /// The lifetime in force for container `id`, if armed.
    func info(_ id: String) -> LifetimeInfo? {
        entries.withLock { entries in
            guard let entry = entries[id] else { return nil }
            return Self.info(entry)
        }
    }

    /// The armed record of container `id`.
    func record(_ id: String) -> LifetimeRecord? { entries.withLock { $0[id]?.record } }

    /// Marks the start of a request on container `id`: a node with a request in flight is not idle.
    func begin(_ id: String) {
        entries.withLock { entries in
            entries[id]?.busy += 1
            entries[id]?.lastActivity = Date()
        }
    }

    /// Marks the end of a request on container `id`; idleness counts from now.
    func end(_ id: String) {
        entries.withLock { entries in
            guard var entry = entries[id] else { return }
            entry.busy = max(0, entry.busy - 1)
            entry.lastActivity = Date()
            entries[id] = entry
        }
    }

    static func info(_ entry: Entry) -> LifetimeInfo {
        // A node with a request in flight has no idle deadline until that request ends.
        let idleDeadline = entry.busy > 0 ? nil : entry.record.idleSeconds.map { entry.lastActivity.addingTimeInterval(Double($0)) }
        let soonest = [entry.ttlDeadline, idleDeadline].compactMap { $0 }.min()
        return LifetimeInfo(
            expiresAt: soonest.map(Timestamp.format), ttlExpiresAt: entry.record.expiresAt, idleSeconds: entry.record.idleSeconds,
            onExpire: entry.record.onExpire.rawValue)
    }

    /// The containers whose deadline has passed at `now`, removed from the armed set.
    func takeExpired(now: Date) -> [(String, LifetimeRecord)] {
        entries.withLock { entries in
            var expired: [(String, LifetimeRecord)] = []
            for (id, entry) in entries {
                let ttlOver = entry.ttlDeadline.map { $0 <= now } ?? false
                let idleOver =
                    entry.busy == 0 && (entry.record.idleSeconds.map { entry.lastActivity.addingTimeInterval(Double($0)) <= now } ?? false)
                if ttlOver || idleOver { expired.append((id, entry.record)) }
            }
            for (id, _) in expired { entries[id] = nil }
            return expired
        }
    }

    private func startLoop() {
        loop.withLock { loop in
            guard loop == nil else { return }
            loop = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    guard let self else { return }
                    guard let handler = self.expire.withLock({ $0 }) else { continue }
                    // Each ends on its own: a node slow to stop holds back no other.
                    for (id, record) in self.takeExpired(now: Date()) {
                        Task { await handler(id, record) }
                    }
                }
            }
        }
    }
}

import DequeModule
import Synchronization

/// An async lock per key: holders of one key take turns, in arrival order; other keys run freely.
/// Used so that two `files.write`s to one path cannot see each other's bytes when they check the
/// size they wrote.
final class KeyedLock<Key: Hashable & Sendable>: Sendable {
    /// Per held key, the tasks waiting for it.
    private let waiters = Mutex<[Key: Deque<CheckedContinuation<Void, Never>>]>([:])

    /// Runs `body` while holding `key`.
    func withLock<T: Sendable>(_ key: Key, _ body: () async throws -> T) async throws -> T {
        await acquire(key)
        defer { release(key) }
        return try await body()
    }

    private func acquire(_ key: Key) async {
        await withCheckedContinuation { continuation in
            let isFree = waiters.withLock { waiters in
                guard waiters[key] != nil else {
                    waiters[key] = []
                    return true
                }
                waiters[key]?.append(continuation)  // in place: the queue is not copied
                return false
            }
            if isFree { continuation.resume() }
        }
    }

    private func release(_ key: Key) {
        let next = waiters.withLock { waiters -> CheckedContinuation<Void, Never>? in
            guard let next = waiters[key]?.popFirst() else {
                waiters[key] = nil
                return nil
            }
            return next
        }
        next?.resume()
    }
}

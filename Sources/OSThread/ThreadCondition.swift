#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A pthread mutex with one condition variable, for a thread that sleeps until others hand it work
/// (the stdout writer). Lock, then `wait()` in a loop on the state it guards; `signal`/`broadcast`
/// with the lock held.
///
/// Every pthread result is checked with a precondition: with default attributes, glibc's calls here
/// fail only when misused (a lock not held, a destroyed or corrupted object), a programming error.
public final class ThreadCondition: @unchecked Sendable {
    // Both live at fixed heap addresses for the object's lifetime, as pthreads requires.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// A new, unlocked condition.
    public init() {
        Self.check(pthread_mutex_init(mutex, nil), "pthread_mutex_init")
        Self.check(pthread_cond_init(condition, nil), "pthread_cond_init")
    }

    deinit {
        Self.check(pthread_cond_destroy(condition), "pthread_cond_destroy")
        Self.check(pthread_mutex_destroy(mutex), "pthread_mutex_destroy")
        condition.deallocate()
        mutex.deallocate()
    }

    /// Takes the lock.
    public func lock() { Self.check(pthread_mutex_lock(mutex), "pthread_mutex_lock") }
    /// Releases the lock.
    public func unlock() { Self.check(pthread_mutex_unlock(mutex), "pthread_mutex_unlock") }
    /// Releases the lock until signalled, then takes it again.
    public func wait() { Self.check(pthread_cond_wait(condition, mutex), "pthread_cond_wait") }
    /// Wakes one waiter.
    public func signal() { Self.check(pthread_cond_signal(condition), "pthread_cond_signal") }
    /// Wakes every waiter.
    public func broadcast() { Self.check(pthread_cond_broadcast(condition), "pthread_cond_broadcast") }

    /// Stops the process when a pthread call failed (see the type's note: only misuse fails).
    @inline(__always)
    private static func check(_ result: Int32, _ call: StaticString) {
        precondition(result == 0, "\(call) returned \(result)")
    }
}

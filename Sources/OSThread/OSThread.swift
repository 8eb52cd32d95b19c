import CSystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The worker's long-lived OS threads (the stdin reader, the stdout writer, the libcurl loop),
/// started with pthreads directly so that no target needs Foundation's `Thread`.
public enum OSThread {
    /// Why a thread could not be started.
    public struct Failure: Error, CustomStringConvertible {
        /// The `pthread_create` result (an errno value).
        public var code: Int32
        public var description: String { "The system could not start a thread (pthread_create returned \(code))." }
    }

    /// Runs `body` on a new detached thread named `name` (the first 15 bytes, as `top -H` shows it).
    public static func detach(name: String, _ body: @escaping @Sendable () -> Void) throws(Failure) {
        let context = Unmanaged.passRetained(Body(name: String(decoding: name.utf8.prefix(15), as: UTF8.self), run: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                let body = Unmanaged<Body>.fromOpaque(raw).takeRetainedValue()
                _ = olw_system_name_this_thread(body.name)
                body.run()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw Failure(code: result)
        }
        pthread_detach(thread)
    }

    private final class Body: Sendable {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }
}

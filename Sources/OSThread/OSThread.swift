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
        /// `The system could not start a thread (pthread_create returned <code>).`
        public var description: String { "The system could not start a thread (pthread_create returned \(code))." }
    }

    /// Runs `body` on a new detached thread named `name` (its first 15 bytes, whole characters
    /// only, as `top -H` shows it).
    /// - Throws: ``Failure`` when the system cannot start a thread (`pthread_create`'s errno value).
    public static func detach(name: String, _ body: @escaping @Sendable () -> Void) throws(Failure) {
        let context = Unmanaged.passRetained(Body(name: threadName(name), run: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { raw in
                guard let raw else { return nil }
                let body = Unmanaged<Body>.fromOpaque(raw).takeRetainedValue()
                // Fails only for a name over 15 bytes, which threadName rules out: a programming error.
                let named = olw_system_name_this_thread(body.name)
                precondition(named == 0, "pthread_setname_np(\(body.name)) returned \(named)")
                body.run()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw Failure(code: result)
        }
        // Fails only for a thread that is not joinable or does not exist; this one was just
        // created joinable, so a failure is a programming error.
        let detached = pthread_detach(thread)
        precondition(detached == 0, "pthread_detach returned \(detached)")
    }

    /// The longest prefix of `name`, in whole Unicode scalars, that fits a thread name (15 bytes).
    static func threadName(_ name: String) -> String {
        var kept = String.UnicodeScalarView()
        var bytes = 0
        for scalar in name.unicodeScalars {
            bytes += UTF8.width(scalar)
            if bytes > 15 { break }
            kept.append(scalar)
        }
        return String(kept)
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

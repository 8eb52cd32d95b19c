// The one way a caller of the engine waits for the curl loop's thread: a checked continuation,
// answered at once or kept under the caller's lock, and cancellation that ends the wait.

/// Suspends the calling task until a value is ready: `register` runs once with the continuation and
/// either answers at once (a result) or keeps the continuation, under its own lock, for the loop
/// thread to resume later (nil). Cancelling the task calls `onCancel`, which must end the wait (it
/// fails kept continuations).
/// - Throws: the ``EngineError`` `register` or the loop thread gives, or whatever the loop resumes with.
func suspend<T>(
    onCancel: @Sendable () -> Void, _ register: (CheckedContinuation<T, any Error>) -> Result<T, EngineError>?
) async throws -> T {
    try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            if let ready = register(continuation) { continuation.resume(with: ready) }
        }
    } onCancel: {
        onCancel()
    }
}

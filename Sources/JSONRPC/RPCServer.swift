import Dispatch
import FoundationEssentials
import Glibc
import JSONCoding
import Logging
import OSThread
import OrderedCollections
import Synchronization

/// A JSON-RPC 2.0 server over a line-framed byte stream.
///
/// Requests run concurrently and are answered in any order; each gets exactly one response.
/// `initialize` must come first and only once; `shutdown`, end of input or ``terminate()`` cancel
/// what is in flight (answering it -32800) and end ``run(input:)``.
public final class RPCServer: Sendable {
    /// Settings that shape the protocol's edges.
    public struct Configuration: Sendable {
        /// The longest line accepted, in bytes.
        public var maxLineBytes: Int
        /// How long in-flight work may take to wind down after cancellation before the server returns.
        public var shutdownGrace: Duration
        /// Builds the message of a failed method from its name and the reason.
        public var describeFailure: @Sendable (_ method: String, _ reason: String) -> String
        /// Members added to the `data` of every error a method returns (e.g. `provider`).
        public var errorData: JSONObject

        /// Default settings: 64 MiB lines, 1.5 s grace.
        public init(
            maxLineBytes: Int = 64 << 20,
            shutdownGrace: Duration = .milliseconds(1500),
            describeFailure: @escaping @Sendable (String, String) -> String = { "\($0) failed: \($1)" },
            errorData: JSONObject = JSONObject()
        ) {
            self.maxLineBytes = maxLineBytes
            self.shutdownGrace = shutdownGrace
            self.describeFailure = describeFailure
            self.errorData = errorData
        }
    }

    enum Lifecycle {
        case uninitialized
        case initializing
        case running
        case stopping
    }

    struct InFlight {
        var context: RequestContext
        var task: Task<Void, Never>?
    }

    struct State {
        var lifecycle = Lifecycle.uninitialized
        var inFlight: [RequestID: InFlight] = [:]
        /// Requests with a null id: they cannot be cancelled or told apart by id, but shutdown and
        /// end of input still answer them, so they are kept by the identity of their context.
        var nullIDInFlight: [ObjectIdentifier: InFlight] = [:]
        /// Ids cancelled before their request arrived, oldest first (at most ``recentIDLimit``).
        var earlyCancels: OrderedSet<RequestID> = []
        /// Ids answered recently, oldest first (at most ``recentIDLimit``): a cancel for one of them
        /// is late, not early, and is ignored.
        var answered: OrderedSet<RequestID> = []
        var stopContinuation: CheckedContinuation<Void, Never>?
        var stopRequested = false
        /// Why the session ends: the first reason given wins.
        var stopReason: StopReason?
        /// Whether the reader thread is handing out a chunk of input (a batch may be half dispatched).
        var dispatching = false
        /// The last request dispatched for each order key (see ``MethodTable/OrderKey``), until it ends.
        var orderChains: [String: (token: ObjectIdentifier, task: Task<Void, Never>)] = [:]
    }

    /// Why a session ended.
    public enum StopReason: Sendable, Equatable {
        /// The host sent `shutdown`.
        case shutdown
        /// Input ended without `shutdown`: the host closed its end, or died.
        case endOfInput
        /// ``terminate()`` (SIGTERM).
        case terminated
    }

    /// The method that must come first.
    public static let initializeMethod = "initialize"
    /// The method that ends the session.
    public static let shutdownMethod = "shutdown"
    /// The cancellation notification.
    public static let cancelMethod = "$/cancelRequest"
    /// How many ids the early-cancel and recently-answered sets each remember.
    static let recentIDLimit = 1024

    let table: MethodTable
    let output: OutputChannel
    let configuration: Configuration
    let logger: Logger
    let state = Mutex(State())

    /// A server answering `table`'s methods on `output`.
    public init(table: MethodTable, output: OutputChannel, configuration: Configuration = .init(), logger: Logger) {
        self.table = table
        self.output = output
        self.configuration = configuration
        self.logger = logger
    }

    /// Reads lines from `input` until end of file, `shutdown` or ``terminate()``, then cancels what is
    /// in flight, waits up to the grace period for it to wind down, and flushes the output.
    /// - Returns: why the session ended.
    @discardableResult
    public func run(input: Int32) async -> StopReason {
        do {
            try OSThread.detach(name: "olw-stdin") { [self] in readLoop(fd: input) }
        } catch {
            preconditionFailure("\(error)")
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state in
                if state.stopRequested { return true }
                state.stopContinuation = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        // A `shutdown` inside a batch stops the session while the reader still hands out the batch's
        // other requests: let it finish, so each of them is answered and the batch's reply completes.
        await waitWhileDispatching(limit: configuration.shutdownGrace)
        let tasks = cancelAll()
        await waitForTasks(tasks, grace: configuration.shutdownGrace)
        output.close()
        return state.withLock { $0.stopReason } ?? .endOfInput
    }

    /// Ends the session as end of input would (used for SIGTERM).
    public func terminate() {
        requestStop(.terminated)
    }

    /// Ends the session because the host went away without `shutdown` (stdout closed, SIGINT,
    /// SIGHUP): ``run(input:)`` then returns ``StopReason/endOfInput``.
    public func hostGone() {
        requestStop(.endOfInput)
    }

    /// Ends the session (the first reason given wins) and wakes ``run(input:)``.
    func requestStop(_ reason: StopReason) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.stopRequested = true
            if state.stopReason == nil { state.stopReason = reason }
            if state.lifecycle != .uninitialized { state.lifecycle = .stopping }
            defer { state.stopContinuation = nil }
            return state.stopContinuation
        }
        continuation?.resume()
    }
}

import CCurl
import FoundationEssentials
import Logging
import OSThread
import Synchronization

/// One libcurl multi handle driven by one thread. Every transfer of the process runs here, so
/// fifty concurrent execs cost fifty sockets and no extra threads, and idle keep-alive
/// connections are reused across requests.
///
/// Other threads never touch the multi handle: they queue commands and wake the loop with
/// `curl_multi_wakeup`.
///
/// Every `curl_multi_*` result is checked: a failure to start a transfer fails that transfer; any
/// other failure is logged as a fault (each call and code once, so a persisting one does not flood).
final class CurlLoop: @unchecked Sendable {
    private enum Command {
        case add(Transfer)
        case remove(Transfer)
        case resume(Transfer)
        case addHijack(Hijack)
        case removeHijack(Hijack)
        case wake
    }

    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    private let multi: UnsafeMutableRawPointer
    private let logger: Logger
    /// The `curl_multi_*` failures logged so far, as call and code, so a persisting one is logged once.
    private let faults = Mutex<Set<String>>([])
    private let commands = Mutex<[Command]>([])
    /// Transfers on the multi handle, by easy handle. Touched only by the loop thread.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    /// Hijacked connections (exec stdin), by easy handle: on the multi handle while connecting and
    /// after (libcurl keeps a CONNECT_ONLY connection with its handle there). Loop thread only.
    private var hijacks: [UnsafeMutableRawPointer: Hijack] = [:]

    /// Starts the loop thread; `logger` gets libcurl's faults.
    /// - Throws: ``EngineError`` (`transport`) when libcurl or the thread cannot start.
    init(logger: Logger) throws(EngineError) {
        guard Self.globalInit, let multi = curl_multi_init() else {
            throw EngineError(code: .transport, reason: "libcurl could not be initialised.")
        }
        self.multi = multi
        self.logger = logger
        check(olw_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 128), "curl_multi_setopt(MAXCONNECTS)")
        do {
            try OSThread.detach(name: "olw-curl") { [self] in run() }
        } catch {
            check(curl_multi_cleanup(multi), "curl_multi_cleanup")
            throw EngineError(code: .transport, reason: "\(error)")
        }
    }

    /// A new transfer on a fresh easy handle, not yet started.
    func makeTransfer(mode: Transfer.Mode, highWater: Int = 1 << 20) throws(EngineError) -> Transfer {
        guard let easy = curl_easy_init() else {
            throw EngineError(code: .transport, reason: "libcurl could not create a handle.")
        }
        return Transfer(loop: self, easy: easy, mode: mode, highWater: highWater)
    }

    /// Starts a configured transfer.
    func start(_ transfer: Transfer) { enqueue(.add(transfer)) }
    /// Stops a transfer; it completes with a cancellation error.
    func remove(_ transfer: Transfer) { enqueue(.remove(transfer)) }
    /// Resumes a transfer that paused because its reader fell behind.
    func resume(_ transfer: Transfer) { enqueue(.resume(transfer)) }

    /// A connect-only handle for a hijacked connection, not yet started.
    func makeHijack(highWater: Int = 1 << 20) throws(EngineError) -> Hijack {
        guard let easy = curl_easy_init() else {
            throw EngineError(code: .transport, reason: "libcurl could not create a handle.")
        }
        return Hijack(loop: self, easy: easy, highWater: highWater)
    }

    /// Connects a configured hijack and starts moving its bytes.
    func startHijack(_ hijack: Hijack) { enqueue(.addHijack(hijack)) }
    /// Closes a hijacked connection; it completes with a cancellation error.
    func removeHijack(_ hijack: Hijack) { enqueue(.removeHijack(hijack)) }
    /// Wakes the loop to service hijacked connections (bytes to send, room to read).
    func wake() { enqueue(.wake) }

    private func enqueue(_ command: Command) {
        commands.withLock { $0.append(command) }
        // On failure the loop still sees the command at its next poll timeout (at most 1 s).
        check(curl_multi_wakeup(multi), "curl_multi_wakeup")
    }

    /// Logs a failed `curl_multi_*` result as a fault, the first time `call` fails with it.
    private func check(_ result: CURLMcode, _ call: StaticString) {
        guard result != CURLM_OK else { return }
        guard faults.withLock({ $0.insert("\(call) \(result.rawValue)").inserted }) else { return }
        let text = String(cString: curl_multi_strerror(result))
        logger.error("libcurl fault (logged once)", metadata: ["call": "\(call)", "code": "\(result.rawValue)", "error": "\(text)"])
    }

    /// Takes `easy` off the multi handle (a failure is logged: the handle is left to its owner).
    private func removeHandle(_ easy: UnsafeMutableRawPointer) {
        check(curl_multi_remove_handle(multi, easy), "curl_multi_remove_handle")
    }

    private func run() {
        while true {
            let pending = commands.withLock { commands in
                defer { commands.removeAll(keepingCapacity: true) }
                return commands
            }
            for command in pending { apply(command) }
            var running: Int32 = 0
            check(curl_multi_perform(multi, &running), "curl_multi_perform")
            drainCompletions()
            let bounded = enforceDeadlines()
            var waits: [curl_waitfd] = []
            if !hijacks.isEmpty {
                for (easy, hijack) in hijacks {
                    let events = hijack.service()
                    if hijack.isComplete {
                        hijacks[easy] = nil
                        removeHandle(easy)
                    } else if events != 0 {
                        waits.append(curl_waitfd(fd: hijack.socket, events: events, revents: 0))
                    }
                }
            }
            // Deadlines are checked at least every 100 ms while any transfer has one.
            waits.withUnsafeMutableBufferPointer { waits in
                check(curl_multi_poll(multi, waits.baseAddress, UInt32(waits.count), bounded ? 100 : 1000, nil), "curl_multi_poll")
            }
        }
    }

    private func apply(_ command: Command) {
        switch command {
        case .add(let transfer):
            let result = curl_multi_add_handle(multi, transfer.easy)
            if result == CURLM_OK {
                active[transfer.easy] = transfer
            } else {
                let text = String(cString: curl_multi_strerror(result))
                transfer.complete(.failure(EngineError(code: .transport, reason: "libcurl could not start a request: \(text).")))
            }
        case .remove(let transfer):
            if active.removeValue(forKey: transfer.easy) != nil { removeHandle(transfer.easy) }
            transfer.complete(.failure(EngineError(code: .cancelled, reason: "The request was cancelled.")))
        case .resume(let transfer):
            if active[transfer.easy] != nil {
                transfer.lastActivity = .now
                let resumed = curl_easy_pause(transfer.easy, olw_curl_pause_cont)
                if resumed != CURLE_OK {
                    logger.error(
                        "libcurl fault", metadata: ["call": "curl_easy_pause", "error": "\(String(cString: curl_easy_strerror(resumed)))"])
                }
            }
        case .addHijack(let hijack):
            let result = curl_multi_add_handle(multi, hijack.easy)
            if result == CURLM_OK {
                hijacks[hijack.easy] = hijack
            } else {
                let text = String(cString: curl_multi_strerror(result))
                hijack.complete(.failure(EngineError(code: .transport, reason: "libcurl could not start a request: \(text).")))
            }
        case .removeHijack(let hijack):
            if hijacks.removeValue(forKey: hijack.easy) != nil { removeHandle(hijack.easy) }
            hijack.complete(.failure(EngineError(code: .cancelled, reason: "The request was cancelled.")))
        case .wake:
            break
        }
    }

    /// Ends transfers whose head is overdue, or whose stream sent nothing for longer than its stall
    /// limit while its reader kept up (a paused transfer waits for its reader, not the engine).
    /// Returns whether any active transfer has a deadline.
    private func enforceDeadlines() -> Bool {
        var bounded = false
        let now = ContinuousClock.now
        var expired: [(Transfer, EngineError)] = []
        for transfer in active.values where transfer.headDeadline != nil || transfer.stallLimit != nil {
            let progress = transfer.progress
            // A stream past its head with no stall limit (a follow) needs no checks: the loop may sleep long.
            guard !progress.headArrived || transfer.stallLimit != nil else { continue }
            bounded = true
            if !progress.headArrived, let deadline = transfer.headDeadline {
                if now >= deadline {
                    expired.append(
                        (
                            transfer,
                            EngineError(
                                code: .timedOut,
                                reason:
                                    "The engine did not answer \(transfer.requestLine) within \(transfer.headTimeoutText) (no response headers)."
                            )
                        ))
                }
                continue
            }
            guard let limit = transfer.stallLimit else { continue }
            if progress.paused {
                transfer.lastActivity = now
            } else if now - transfer.lastActivity >= limit {
                expired.append(
                    (
                        transfer,
                        EngineError(
                            code: .timedOut,
                            reason: "The engine's stream for \(transfer.requestLine) stalled: no bytes for \(limit.milliseconds) ms.")
                    ))
            }
        }
        for (transfer, error) in expired {
            active.removeValue(forKey: transfer.easy)
            removeHandle(transfer.easy)
            transfer.complete(.failure(error))
        }
        return bounded
    }

    private func drainCompletions() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let result = message.pointee.data.result
            if let hijack = hijacks[easy] {
                // Connected (the handle stays on the multi handle, which keeps its connection) or failed.
                hijack.connectFinished(result)
                if hijack.isComplete {
                    hijacks[easy] = nil
                    removeHandle(easy)
                }
                continue
            }
            guard let transfer = active.removeValue(forKey: easy) else { continue }
            removeHandle(easy)
            if let error = transfer.failure(result) {
                transfer.complete(.failure(error))
            } else {
                transfer.complete(.success(()))
            }
        }
    }
}

import DockerEngine
import FoundationEssentials
import Glibc
import JSONCoding
import JSONRPC

// Readiness: `provision` and `restore` answer only once every condition of `spec.readiness` holds.
// Probes from the worker's side (tcpPort, http) connect to the node's published endpoint; the
// others ask the engine (logLine, healthcheck) or run in the node (exec).

extension NodeSpec {
    /// `spec.readiness`: conditions that must all hold before `provision` answers (times in ms).
    public struct Readiness: Codable, Sendable {
        /// A container port that accepts a TCP connection (through its published host port).
        public var tcpPort: Int?
        /// An HTTP GET that answers `status` (default: any 2xx).
        public var http: HTTPProbe?
        /// A substring of the node's output (stdout or stderr).
        public var logLine: String?
        /// A command run in the node that exits 0.
        public var exec: [String]?
        /// The image's `HEALTHCHECK` reports healthy.
        public var healthcheck: Bool?
        /// How long to wait for every condition, in milliseconds; nil: 60000. Then -32008.
        public var timeoutMs: Int?
        /// How often the conditions are checked, in milliseconds; nil: 200.
        public var intervalMs: Int?
        /// Leave the node running when the conditions do not hold in time (default: remove it).
        public var keepOnTimeout: Bool?

        /// An HTTP readiness probe: `GET path` (HTTP/1.0) to a container port.
        public struct HTTPProbe: Codable, Sendable {
            /// The container port.
            public var port: Int
            /// The request path; nil: `/`.
            public var path: String?
            /// The HTTP status that counts as ready; nil: any 2xx.
            public var status: Int?
        }

        /// Checks the bounds; field paths start at `prefix`.
        /// - Throws: ``InvalidParams`` naming the field.
        func validate(prefix: String) throws {
            func fail(_ field: String, _ reason: String) -> InvalidParams { InvalidParams(field: "\(prefix).\(field)", reason: reason) }
            if let port = tcpPort, !(1...65535).contains(port) { throw fail("tcpPort", "must be between 1 and 65535") }
            if let http {
                if !(1...65535).contains(http.port) { throw fail("http.port", "must be between 1 and 65535") }
                if let path = http.path, !path.hasPrefix("/") || path.contains(where: { $0.isWhitespace || $0.isNewline }) {
                    throw fail("http.path", "must start with / and contain no whitespace")
                }
                if let status = http.status, !(100...599).contains(status) { throw fail("http.status", "must be between 100 and 599") }
            }
            if let line = logLine, line.isEmpty || line.contains("\n") { throw fail("logLine", "must be non-empty, one line") }
            if let exec, exec.isEmpty || exec.contains(where: { $0.contains("\0") }) {
                throw fail("exec", "must be a non-empty command without NUL")
            }
            if let timeout = timeoutMs, !(1...3_600_000).contains(timeout) { throw fail("timeoutMs", "must be between 1 and 3600000") }
            if let interval = intervalMs, !(10...60_000).contains(interval) { throw fail("intervalMs", "must be between 10 and 60000") }
        }
    }
}

/// Readiness did not hold in time: -32008 naming the unmet conditions.
struct ReadinessTimeout: Error {
    var error: ProviderError
    var keepNode: Bool
}

extension DockerProvider {
    /// Waits until every condition of `readiness` holds for container `id`.
    /// - Throws: ``ReadinessTimeout`` after `timeoutMs` (default 60 s), or the engine's error.
    func waitUntilReady(_ id: String, _ readiness: NodeSpec.Readiness) async throws {
        let deadline = ContinuousClock.now + .milliseconds(readiness.timeoutMs ?? 60_000)
        let interval = Duration.milliseconds(readiness.intervalMs ?? 200)
        var unmet = Set(
            ["tcpPort", "http", "logLine", "exec", "healthcheck"].filter { name in
                switch name {
                case "tcpPort": readiness.tcpPort != nil
                case "http": readiness.http != nil
                case "logLine": readiness.logLine != nil
                case "exec": readiness.exec != nil
                default: readiness.healthcheck == true
                }
            })
        var lastProblem: [String: String] = [:]
        var logs = LogSearch(needle: Array((readiness.logLine ?? "").utf8))
        while !unmet.isEmpty {
            try Task.checkCancellation()
            let container = try await inspectContainer(id)
            if container.state?.running != true {
                throw ProviderError(
                    code: .engineError,
                    reason: "the node stopped before it was ready (exit code \(container.state?.exitCode ?? -1))")
            }
            for condition in unmet.sorted() {
                let problem: String?
                switch condition {
                case "tcpPort": problem = await probeTCP(container, port: readiness.tcpPort ?? 0, http: nil)
                case "http": problem = await probeTCP(container, port: readiness.http?.port ?? 0, http: readiness.http)
                case "logLine": problem = await probeLogs(id, search: &logs)
                case "exec": problem = await probeExec(id, readiness.exec ?? [])
                default:
                    let status = container.state?.health?.status
                    problem =
                        status == "healthy" ? nil : status.map { "the healthcheck says \($0)" } ?? "the image has no HEALTHCHECK"
                }
                if let problem { lastProblem[condition] = problem } else { unmet.remove(condition) }
            }
            if unmet.isEmpty { return }
            // Checks run until the deadline itself (the last one at it), then give up.
            let now = ContinuousClock.now
            if now >= deadline {
                let described = unmet.sorted().map { "\($0) (\(lastProblem[$0] ?? "not yet"))" }.joined(separator: ", ")
                throw ReadinessTimeout(
                    error: ProviderError(
                        code: .timedOut,
                        reason: "the node was not ready within \(readiness.timeoutMs ?? 60_000) ms: unmet readiness.\(described)"),
                    keepNode: readiness.keepOnTimeout == true)
            }
            try await Task.sleep(for: min(interval, deadline - now))
        }
    }

    /// Connects to container port `port`: first at the container's own address (what a local
    /// engine's host reaches directly), then at its published endpoints. Docker's userland proxy
    /// accepts on a published port before anything listens behind it and then closes at once, so a
    /// connection closed within 100 ms with nothing sent does not count. With `http`, sends a GET
    /// and checks the status. nil: ready.
    private func probeTCP(_ container: ContainerInspect, port: Int, http: NodeSpec.Readiness.HTTPProbe?) async -> String? {
        var addresses: [(host: String, port: Int, connectMs: Int)] = []
        // On the host's network the port is the host's own.
        if container.hostConfig?.networkMode == "host" { addresses.append(("127.0.0.1", port, 1000)) }
        for network in container.networkSettings?.networks?.values.map({ $0 }) ?? [] {
            if let ip = network.ipAddress, !ip.isEmpty { addresses.append((ip, port, 200)) }
        }
        let endpoints = EndpointExtractor.endpoints(of: container).filter { $0.containerPort == port && $0.type != "udp" }
        addresses += endpoints.map { (Self.probeHost($0.host), $0.port, 1000) }
        guard !addresses.isEmpty else { return "port \(port) is neither published nor reachable on a container address" }
        var problem = "no connection"
        for address in addresses {
            switch await ReadinessProbe.connect(host: address.host, port: address.port, connectMs: address.connectMs, http: http) {
            case .success: return nil
            case .failure(let reason): problem = "\(address.host):\(address.port): \(reason)"
            }
        }
        return problem
    }

    /// An endpoint host as a numeric address to connect to.
    private static func probeHost(_ host: String) -> String {
        host == "localhost" ? "127.0.0.1" : host
    }

    /// Looks for the log line in what the node wrote since the last look (a second of overlap),
    /// scanning the stream as it comes, so an early line is found however much output follows it.
    private func probeLogs(_ id: String, search: inout LogSearch) async -> String? {
        let asked = Date()
        let options = LogsOptions(since: search.since.map { String(Int64($0.timeIntervalSince1970) - 1) })
        guard let stream = try? await client.containerLogs(id, options) else {
            return "the engine did not send the logs"
        }
        var demuxer = StreamDemuxer()
        var found = false
        do {
            for try await chunk in stream {
                demuxer.feed(chunk) { _, bytes in if search.feed(bytes) { found = true } }
                if found { break }
            }
        } catch {
            return "the engine did not send the logs"
        }
        if found { stream.cancel() }
        search.since = asked
        return found ? nil : "not in the output yet"
    }

    private func probeExec(_ id: String, _ command: [String]) async -> String? {
        do {
            let result = try await Self.runQuietly(client: client, containerID: id, command: command, user: nil)
            return result.exitCode == 0 ? nil : "exited with code \(result.exitCode)"
        } catch {
            return "could not run: \(error)"
        }
    }
}

/// A substring search over a stream of chunks, keeping only the bytes a match could span.
struct LogSearch {
    let needle: [UInt8]
    private var carry: [UInt8] = []
    /// When the output was last read (the next read starts a second before it).
    var since: Date?

    init(needle: [UInt8]) { self.needle = needle }

    /// Feeds output; true once the needle has been seen.
    mutating func feed(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard !needle.isEmpty else { return false }
        let window = carry + Array(bytes)
        if window.count >= needle.count {
            for start in 0...(window.count - needle.count) where window[start] == needle[0] {
                if window[start..<(start + needle.count)].elementsEqual(needle) { return true }
            }
        }
        carry = Array(window.suffix(needle.count - 1))
        return false
    }
}

/// A TCP (and HTTP/1.0) probe that never blocks a thread: non-blocking socket, polled with sleeps.
enum ReadinessProbe {
    enum Outcome { case success, failure(String) }

    static func connect(host: String, port: Int, connectMs: Int, http: NodeSpec.Readiness.HTTPProbe?) async -> Outcome {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var info: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &info) == 0, let address = info else { return .failure("bad address") }
        defer { freeaddrinfo(info) }
        let fd = socket(
            address.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return .failure("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) != 0 && errno != EINPROGRESS {
            return .failure(String(cString: strerror(errno)))
        }
        guard await wait(fd, for: Int16(POLLOUT), milliseconds: connectMs) else { return .failure("connect timed out") }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        guard error == 0 else { return .failure(String(cString: strerror(error))) }
        guard let http else {
            // Closed at once with nothing sent: a proxy with nothing listening behind it.
            if await wait(fd, for: Int16(POLLIN), milliseconds: 100) {
                var byte: UInt8 = 0
                if recv(fd, &byte, 1, Int32(MSG_PEEK)) <= 0 { return .failure("closed at once (nothing listening behind the port)") }
            }
            return .success
        }
        let request = Array("GET \(http.path ?? "/") HTTP/1.0\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            return .failure("could not send the request")
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while !response.contains(UInt8(ascii: "\n")) && response.count < 4096 {
            guard await wait(fd, for: Int16(POLLIN), milliseconds: 2000) else { return .failure("no HTTP answer") }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            response.append(contentsOf: buffer[0..<count])
        }
        let statusLine = String(decoding: response.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else { return .failure("not an HTTP answer") }
        let wanted = http.status.map { status == $0 } ?? (200..<300).contains(status)
        return wanted ? .success : .failure("HTTP status \(status)")
    }

    /// Polls `fd` for `events` without blocking a thread: 0-timeout polls between 5 ms sleeps.
    private static func wait(_ fd: Int32, for events: Int16, milliseconds: Int) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(milliseconds)
        while ContinuousClock.now < deadline {
            var entry = pollfd(fd: fd, events: events, revents: 0)
            if poll(&entry, 1, 0) > 0 { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }
}

import Foundation
import Glibc
import Synchronization

/// A FAKE Docker engine, for tests only: an HTTP/1.1 server on a temporary unix socket inside the
/// test process (plain POSIX sockets, one thread per connection), scripted per test. It exists for
/// the faults and edges the real engine cannot show on demand (a chunked body split at odd places,
/// a late response head, a body cut short, an error without a `message`); everything else is
/// tested against the real engine.
///
/// Each request is read whole (head, then a `Content-Length` or chunked body) and handed to the
/// test's script, which answers with ``Step``s: bytes to write, pauses, a close. Without a close
/// the connection stays open for the next request (keep-alive), as dockerd's does.
package final class FakeEngine: Sendable {
    /// One request as the fake engine read it.
    package struct Request: Sendable {
        /// `GET`, `POST`, …
        package var method: String
        /// The path and query, e.g. `/v1.41/containers/abc/json`.
        package var target: String
        /// The headers in arrival order, names lowercased.
        package var headers: [(name: String, value: String)]
        /// The body (a chunked body decoded).
        package var body: [UInt8]

        /// The first header named `name` (case-insensitive).
        package func header(_ name: String) -> String? {
            let lowered = name.lowercased()
            return headers.first { $0.name == lowered }?.value
        }
    }

    /// One thing the script does on the connection, in order.
    package enum Step: Sendable {
        /// Writes these bytes as they are.
        case write([UInt8])
        /// Waits this long.
        case pause(Duration)
        /// Closes the connection (a response without a close leaves it open for the next request).
        case close
    }

    /// The script: the steps that answer a request.
    package typealias Script = @Sendable (Request) -> [Step]

    /// What the fake engine saw, for the test to check.
    package struct Record: Sendable {
        /// Every request read, in arrival order.
        package var requests: [Request] = []
        /// Connections accepted.
        package var connections = 0
        /// Connections the client closed: seen as end of file between requests, or a write that failed.
        package var closedByClient = 0
    }

    /// The socket's path (under the temporary directory).
    package let socketPath: String
    /// The socket as an engine address: `unix:///tmp/…`.
    package var address: String { "unix://" + socketPath }

    private let script: Script
    private let listener: Int32
    private let state = Mutex(Record())
    /// Connection sockets still open, shut down by ``stop()`` so that no reader thread outlives the test.
    private let open = Mutex<Set<Int32>>([])
    private let stopped = Atomic(false)

    /// Starts listening at a fresh socket path; `script` answers every request.
    /// - Throws: `POSIXError` when the socket cannot be made, bound or listened on.
    package init(_ script: @escaping Script) throws {
        signal(SIGPIPE, SIG_IGN)
        self.script = script
        let path = NSTemporaryDirectory() + "olw-fake-engine-\(UUID().uuidString.prefix(8)).sock"
        socketPath = path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let error = POSIXError(.init(rawValue: errno) ?? .EIO)
            close(fd)
            throw error
        }
        listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "fake-engine-accept"
        thread.start()
    }

    deinit { stop() }

    /// Stops accepting, shuts every open connection down and removes the socket file.
    package func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open.withLock({ $0 }) { shutdown(fd, Int32(SHUT_RDWR)) }
        unlink(socketPath)
    }

    /// What was seen so far.
    package var record: Record { state.withLock { $0 } }

    /// Waits until `condition` holds for the record, polling every 10 ms; false when `timeout` passed first.
    package func wait(timeout: Duration = .seconds(5), until condition: (Record) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition(record) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    // MARK: Serving

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR { continue }
                return
            }
            open.withLock { _ = $0.insert(fd) }
            state.withLock { $0.connections += 1 }
            let thread = Thread { [self] in serve(fd) }
            thread.name = "fake-engine-connection"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            open.withLock { _ = $0.remove(fd) }
            close(fd)
        }
        var reader = RequestReader(fd: fd)
        while true {
            guard let request = reader.next() else {
                if reader.atCleanEnd { state.withLock { $0.closedByClient += 1 } }
                return
            }
            state.withLock { $0.requests.append(request) }
            for step in script(request) {
                switch step {
                case .write(let bytes):
                    guard Self.writeAll(fd, bytes) else {
                        state.withLock { $0.closedByClient += 1 }
                        return
                    }
                case .pause(let duration):
                    Thread.sleep(forTimeInterval: Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
                case .close:
                    return
                }
            }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { send(fd, $0.baseAddress.map { $0 + offset }, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }
}

/// Reads requests off one connection: the head up to the blank line, then the body.
private struct RequestReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    /// Whether the last `next()` found the client gone between requests (not mid-request, not an error).
    private(set) var atCleanEnd = false

    init(fd: Int32) { self.fd = fd }

    /// The next request, or nil at end of file or on an error.
    mutating func next() -> FakeEngine.Request? {
        guard let headEnd = readUntil([0x0D, 0x0A, 0x0D, 0x0A]) else {
            atCleanEnd = buffer.isEmpty
            return nil
        }
        let head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        buffer.removeSubrange(..<(headEnd + 4))
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var request = FakeEngine.Request(method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: [])
        if request.header("transfer-encoding")?.lowercased() == "chunked" {
            while true {
                guard let lineEnd = readUntil([0x0D, 0x0A]),
                    let size = Int(String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16)
                else { return nil }
                buffer.removeSubrange(..<(lineEnd + 2))
                guard fill(size + 2) else { return nil }
                request.body += buffer[..<size]
                buffer.removeSubrange(..<(size + 2))
                if size == 0 { break }
            }
        } else if let length = request.header("content-length").flatMap({ Int($0) }), length > 0 {
            guard fill(length) else { return nil }
            request.body = Array(buffer[..<length])
            buffer.removeSubrange(..<length)
        }
        return request
    }

    /// Reads until `marker` is buffered; its offset, or nil at end of file.
    private mutating func readUntil(_ marker: [UInt8]) -> Int? {
        var searchFrom = 0
        while true {
            if buffer.count >= marker.count {
                for start in searchFrom...(buffer.count - marker.count) where buffer[start..<(start + marker.count)].elementsEqual(marker) {
                    return start
                }
                searchFrom = buffer.count - marker.count + 1
            }
            guard readMore() else { return nil }
        }
    }

    /// Reads until at least `count` bytes are buffered; false at end of file.
    private mutating func fill(_ count: Int) -> Bool {
        while buffer.count < count { guard readMore() else { return false } }
        return true
    }

    private mutating func readMore() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            buffer += chunk[..<count]
            return true
        }
    }
}

// MARK: Building answers

extension FakeEngine.Step {
    /// A status line and headers, ending with the blank line (no `Content-Length` is added).
    package static func head(_ status: Int, _ headers: [(String, String)] = []) -> Self {
        var text = "HTTP/1.1 \(status) \(reasonPhrase(status))\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        return .write(Array((text + "\r\n").utf8))
    }

    /// A whole response with a `Content-Length` body (`Api-Version: 1.41` and a JSON content type
    /// unless `headers` say otherwise), as one write.
    package static func response(_ status: Int, _ body: String = "", headers: [(String, String)] = []) -> Self {
        var all = headers
        if !all.contains(where: { $0.0.lowercased() == "content-type" }) { all.append(("Content-Type", "application/json")) }
        if !all.contains(where: { $0.0.lowercased() == "api-version" }) { all.append(("Api-Version", "1.41")) }
        all.append(("Content-Length", "\(body.utf8.count)"))
        guard case .write(let head) = head(status, all) else { return .write([]) }
        return .write(head + Array(body.utf8))
    }

    /// The engine's error shape: `{"message":"…"}` with `status`.
    package static func error(_ status: Int, message: String) -> Self {
        response(status, "{\"message\":\"\(message)\"}")
    }

    /// `chunks` in chunked transfer encoding, ending with the last (empty) chunk.
    package static func chunkedBody(_ chunks: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        for chunk in chunks where !chunk.isEmpty { bytes += Array("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + [0x0D, 0x0A] }
        return bytes + Array("0\r\n\r\n".utf8)
    }

    /// `bytes` written in pieces cut at `cuts` (offsets into `bytes`), with `pause` between pieces,
    /// so that the client reads them apart.
    package static func pieces(_ bytes: [UInt8], cutAt cuts: [Int], pause: Duration = .milliseconds(20)) -> [Self] {
        var steps: [Self] = []
        var start = 0
        for cut in cuts.sorted() + [bytes.count] where cut > start && cut <= bytes.count {
            if !steps.isEmpty { steps.append(.pause(pause)) }
            steps.append(.write(Array(bytes[start..<cut])))
            start = cut
        }
        return steps
    }

    private static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 101: "UPGRADED"
        case 200: "OK"
        case 201: "Created"
        case 204: "No Content"
        case 304: "Not Modified"
        case 404: "Not Found"
        case 409: "Conflict"
        case 500: "Internal Server Error"
        default: "Status"
        }
    }
}

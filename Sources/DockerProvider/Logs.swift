import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

/// `logs`.
public struct LogsRequest: RPCMethod {
    /// The method name, `"logs"`.
    public static let name = "logs"
    /// Answers ``LogsResult``.
    public typealias Result = LogsResult
    /// The node: its container id or name.
    public var externalId: String
    /// How many of the last lines to return; nil: all.
    public var tail: Tail?
    /// Only output from this time on (RFC 3339, to the nanosecond); nil: from the start.
    public var since: String?
    /// Prefix each line with the engine's RFC 3339 time; nil: false.
    public var timestamps: Bool?
    /// Stream output as `logs.output` notifications until the node stops; nil: false.
    public var follow: Bool?
    /// The most bytes of each stream a `logs` without follow returns (default `config.maxOutputBytes`).
    public var maxOutputBytes: Int?

    /// A line count or "all".
    public enum Tail: Decodable, Sendable {
        case all
        case lines(Int)
        /// Reads a number ≥ 0 or `"all"`.
        /// - Throws: `DecodingError.dataCorrupted` for anything else.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let count = try? container.decode(Int.self), count >= 0 {
                self = .lines(count)
            } else if let text = try? container.decode(String.self), text == "all" {
                self = .all
            } else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "must be a non-negative number or \"all\""))
            }
        }
    }
}

/// What `logs` answers: the text, or (when following) why the stream ended.
public struct LogsResult: Encodable, Sendable {
    /// Stdout as UTF-8 text (invalid bytes become U+FFFD), at most `maxOutputBytes`; nil when following.
    public var stdout: ExecOutputText?
    /// Stderr as UTF-8 text (invalid bytes become U+FFFD), at most `maxOutputBytes`; nil when following.
    public var stderr: ExecOutputText?
    /// Why a followed stream ended: `"stopped"`; nil without `follow`.
    public var reason: String?
    /// Bytes dropped past `maxOutputBytes`, by stream, when any were.
    public var truncated: OutputTruncation?
}

extension LogsResult: JSONEncodedResult {
    /// The result written once, keys sorted as the general encoder writes them.
    public func encodedJSON() -> [UInt8] { FramePart.joined(encodedParts()) }

    /// Keys sorted as the general encoder writes them; the output strings are written a slice at a
    /// time as the answer goes out (see ``ExecOutputText``).
    public func encodedParts() -> [FramePart] {
        var parts: [FramePart] = []
        var pending: [UInt8] = [UInt8(ascii: "{")]
        func key(_ name: String) {
            if pending.count > 1 || !parts.isEmpty { pending.append(UInt8(ascii: ",")) }
            JSONWriter.appendString(name, to: &pending)
            pending.append(UInt8(ascii: ":"))
        }
        if let reason {
            key("reason")
            JSONWriter.appendString(reason, to: &pending)
        }
        for (name, text) in [("stderr", stderr), ("stdout", stdout)] {
            guard let text else { continue }
            key(name)
            parts.append(.bytes(pending))
            parts.append(.produced(text.producer()))
            pending = []
        }
        if let truncated {
            key("truncated")
            pending.append(contentsOf: #"{"stderr":\#(truncated.stderr),"stdout":\#(truncated.stdout)}"#.utf8)
        }
        pending.append(UInt8(ascii: "}"))
        parts.append(.bytes(pending))
        return parts
    }
}

extension DockerProvider {
    /// A node's output: collected, or followed as `logs.output` notifications until it stops.
    public func logs(_ request: LogsRequest, context: RequestContext) async throws -> LogsResult {
        try Validation.checkExternalID(request.externalId)
        var options = LogsOptions()
        switch request.tail {
        case .lines(let count): options.tail = String(count)
        case .all, nil: options.tail = "all"
        }
        if let since = request.since, let instant = Timestamp.parseExact(since) {
            // Passed on to the nanosecond, from integers (a line stamped exactly `since` is included,
            // as with `docker logs --since`). Before the epoch means everything; the year 9999 fits
            // (Int64 nanoseconds end in 2262, so seconds are kept apart).
            let text = instant.seconds < 0 ? "0.000000000" : unixSecondsText(seconds: instant.seconds, nanoseconds: instant.nanoseconds)
            options.since = text
        }
        options.timestamps = request.timestamps == true
        let follow = request.follow == true
        options.follow = follow
        let container = try await inspectContainer(request.externalId)
        let tty = container.config?.tty == true
        // Following waits for output as long as the node runs: only a collected read is bounded by the stall limit.
        let stream = try await client.containerLogs(container.id, options)
        var demuxer = StreamDemuxer()
        if follow {
            var decoders: [StreamDemuxer.Stream: UTF8ChunkDecoder] = [.stdout: .init(), .stderr: .init()]
            for try await chunk in stream {
                var frames: [(StreamDemuxer.Stream, ArraySlice<UInt8>)] = []
                if tty { frames = [(.stdout, chunk[...])] } else { demuxer.feed(chunk) { frames.append(($0, $1)) } }
                for (which, bytes) in frames where which != .stdin {
                    let text = decoders[which, default: .init()].decode(bytes)
                    guard !text.isEmpty else { continue }
                    guard await context.notify(LogsOutputNotification(stream: StreamName(which), data: text)) else {
                        throw CancellationError()
                    }
                }
            }
            return LogsResult(reason: "stopped")
        }
        // Past the bound, bytes are counted and dropped, never held; "tail all" stays the default within it.
        let limit = request.maxOutputBytes ?? config.maxOutputBytes
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var dropped = (stdout: 0, stderr: 0)
        func keep(_ bytes: ArraySlice<UInt8>, stderrStream: Bool) {
            if stderrStream {
                let room = max(0, limit - stderr.count)
                stderr.append(contentsOf: bytes.prefix(room))
                dropped.stderr += max(0, bytes.count - room)
            } else {
                let room = max(0, limit - stdout.count)
                stdout.append(contentsOf: bytes.prefix(room))
                dropped.stdout += max(0, bytes.count - room)
            }
        }
        for try await chunk in stream {
            if tty {
                keep(chunk[...], stderrStream: false)
            } else {
                demuxer.feed(chunk) { which, bytes in keep(bytes, stderrStream: which == .stderr) }
            }
        }
        var result = LogsResult(
            stdout: ExecOutputText(bytes: stdout, encoding: .utf8), stderr: ExecOutputText(bytes: stderr, encoding: .utf8))
        result.truncated = OutputTruncation(stdout: dropped.stdout, stderr: dropped.stderr)
        return result
    }
}

extension LogsRequest {
    /// Checks the params before any engine call.
    public func validate() throws {
        if let since, Timestamp.parseExact(since) == nil { throw InvalidParams(field: "since", reason: "must be an ISO 8601 date") }
        if let limit = maxOutputBytes, limit < 0 {
            throw InvalidParams(field: "maxOutputBytes", reason: "must be a non-negative number of bytes")
        }
    }
}

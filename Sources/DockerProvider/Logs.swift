import DockerEngine
import FoundationEssentials
import JSONRPC

/// `logs`.
public struct LogsRequest: RPCMethod {
    public static let name = "logs"
    public typealias Result = LogsResult
    public var externalId: String
    public var tail: Tail?
    public var since: String?
    public var timestamps: Bool?
    public var follow: Bool?

    /// A line count or "all".
    public enum Tail: Decodable, Sendable {
        case all
        case lines(Int)
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
    public var stdout: String?
    public var stderr: String?
    public var reason: String?
}

extension DockerProvider {
    /// A node's output: collected, or followed as `logs.output` notifications until it stops.
    public func logs(_ request: LogsRequest, context: RequestContext) async throws -> LogsResult {
        try Validation.checkExternalID(request.externalId)
        var query: [(String, String)] = [("stdout", "true"), ("stderr", "true")]
        switch request.tail {
        case .lines(let count): query.append(("tail", String(count)))
        case .all, nil: query.append(("tail", "all"))
        }
        try request.validate()
        if let since = request.since, let instant = Timestamp.parseExact(since) {
            // Passed on to the nanosecond, from integers (a line stamped exactly `since` is included,
            // as with `docker logs --since`). Before the epoch means everything; the year 9999 fits
            // (Int64 nanoseconds end in 2262, so seconds are kept apart).
            let text = instant.seconds < 0 ? "0.000000000" : unixSecondsText(seconds: instant.seconds, nanoseconds: instant.nanoseconds)
            query.append(("since", text))
        }
        if request.timestamps == true { query.append(("timestamps", "true")) }
        let follow = request.follow == true
        if follow { query.append(("follow", "true")) }
        let container = try await inspectContainer(request.externalId)
        let tty = container.config?.tty == true
        let stream = try await client.stream(HTTPRequest(.get, target("/containers/\(container.id)/logs", query)))
        var demuxer = StreamDemuxer()
        if follow {
            var decoders: [StreamDemuxer.Stream: UTF8ChunkDecoder] = [.stdout: .init(), .stderr: .init()]
            for try await chunk in stream {
                var frames: [(StreamDemuxer.Stream, ArraySlice<UInt8>)] = []
                if tty { frames = [(.stdout, chunk[...])] } else { demuxer.feed(chunk) { frames.append(($0, $1)) } }
                for (which, bytes) in frames where which != .stdin {
                    let text = decoders[which, default: .init()].decode(bytes)
                    guard !text.isEmpty else { continue }
                    let params: JSONValue = .object(
                        JSONObject([
                            "requestId": context.id.json, "stream": .string(which == .stdout ? "stdout" : "stderr"), "data": .string(text),
                        ]))
                    guard await context.notify("logs.output", params: params) else { throw CancellationError() }
                }
            }
            return LogsResult(reason: "stopped")
        }
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        for try await chunk in stream {
            if tty {
                stdout.append(contentsOf: chunk)
            } else {
                demuxer.feed(chunk) { which, bytes in
                    if which == .stderr { stderr.append(contentsOf: bytes) } else { stdout.append(contentsOf: bytes) }
                }
            }
        }
        return LogsResult(stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

extension LogsRequest {
    /// Checks the params before any engine call.
    func validate() throws {
        if let since, Timestamp.parseExact(since) == nil { throw InvalidParams(field: "since", reason: "must be an ISO 8601 date") }
    }
}

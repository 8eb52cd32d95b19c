import JSONCoding
import JSONRPC

// The exec methods (`exec`, `exec.attach`, `exec.kill`, `exec.list`), their notifications from the host and what they answer.

/// `exec`: run a command in a node.
public struct ExecRequest: RPCMethod {
    /// The method name, `"exec"`.
    public static let name = "exec"
    /// Answers ``ExecAnswer``: the result, or `{execId}` for a background command.
    public typealias Result = ExecAnswer
    /// The node: its container id or name (`[A-Za-z0-9_.-]`).
    public var externalId: String
    /// The command as argv (run without a shell); not empty.
    public var command: [String]
    /// How to run it; nil: the defaults of ``ExecOptions``.
    public var options: ExecOptions?
}

/// Options of `exec`.
public struct ExecOptions: Decodable, Sendable {
    /// Working directory in the node (the engine's `WorkingDir`); nil: the node's.
    public var cwd: String?
    /// Extra environment, in order, sent as `K=V` (the engine's `Env`); nil: none.
    public var env: OrderedStringMap?
    /// User (and group) to run as, `user[:group]` by name or id (the engine's `User`); nil: the node's.
    public var user: String?
    /// Deadline in milliseconds from the call's arrival; then the result has `timedOut: true` and `exitCode: -1`. Nil: none.
    public var timeoutMs: Int?
    /// Send output as `exec.output` notifications as it comes (the result's `stdout`/`stderr` are then `""`); nil: false.
    public var stream: Bool?
    /// How output travels in JSON strings; nil: `.utf8`.
    public var encoding: OutputEncoding?
    /// Keep the command's stdin open for `exec.input` notifications (protocol 1.1).
    public var stdin: Bool?
    /// Run the command on a pseudo-terminal of this size; `exec.resize` changes it (protocol 1.1).
    public var tty: TerminalSize?
    /// The most bytes of each output stream a buffered exec keeps (default `config.maxOutputBytes`).
    public var maxOutputBytes: Int?
    /// Answer at once with `{execId}` and let the command run on (protocol 1.1; see `exec.attach`).
    public var background: Bool?
}

/// What `exec` answers: the command's result, or `{execId}` for a background command.
public enum ExecAnswer: Encodable, Sendable, JSONEncodedResult {
    case finished(ExecResult)
    case started(execId: String)

    /// Writes the ``ExecResult``, or `{"execId": …}`.
    /// - Throws: Whatever `encoder` throws.
    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .finished(let result): try result.encode(to: encoder)
        case .started(let execId):
            var container = encoder.container(keyedBy: StartedKeys.self)
            try container.encode(execId, forKey: .execId)
        }
    }
    private enum StartedKeys: String, CodingKey { case execId }

    /// A finished command's output is written a slice at a time (``ExecResult/encodedParts()``).
    public func encodedParts() -> [FramePart] {
        switch self {
        case .finished(let result): result.encodedParts()
        case .started: [.bytes(encodedJSON())]
        }
    }

    /// The answer as one JSON object's UTF-8 bytes.
    public func encodedJSON() -> [UInt8] {
        switch self {
        case .finished(let result): return result.encodedJSON()
        case .started(let execId):
            var json = Array(#"{"execId":"#.utf8)
            JSONWriter.appendString(execId, to: &json)
            json.append(UInt8(ascii: "}"))
            return json
        }
    }
}

/// `exec.attach`: the output of a background command from byte `offset` (stdout and stderr counted
/// together; default: the oldest byte still buffered), as `exec.output` notifications, then its result.
public struct ExecAttachRequest: RPCMethod {
    /// The method name, `"exec.attach"`.
    public static let name = "exec.attach"
    /// Answers the command's ``ExecResult`` once it ends (`stdout` and `stderr` `""`).
    public typealias Result = ExecResult
    /// The engine's exec id, as `exec` with `background: true` answered it.
    public var execId: String
    /// Offset in bytes (stdout and stderr counted together) to stream from; nil: the oldest byte still buffered.
    public var offset: Int?
    /// Route `exec.input` notifications whose `requestId` is this call's id to the command's stdin.
    public var stdin: Bool?
}

/// `exec.kill`: a signal to every process of a command (default SIGKILL).
public struct ExecKillRequest: RPCMethod {
    /// The method name, `"exec.kill"`.
    public static let name = "exec.kill"
    /// Answers `null`.
    public typealias Result = NullResult
    /// The engine's exec id of the background command.
    public var execId: String
    /// `"SIGTERM"`, `"SIGKILL"`, `"SIGINT"`, `"SIGHUP"` or a number from 1 to 64.
    public var signal: JSONValue?
}

/// `exec.list`: the commands of a node.
public struct ExecListRequest: RPCMethod {
    /// The method name, `"exec.list"`.
    public static let name = "exec.list"
    /// Answers one ``ExecListEntry`` per command.
    public typealias Result = [ExecListEntry]
    /// The node: its container id or name.
    public var externalId: String
}

/// One command in `exec.list`.
public struct ExecListEntry: Encodable, Sendable {
    /// The engine's exec id.
    public var execId: String
    /// The command as argv.
    public var command: [String]
    /// Whether the engine reports it still running.
    public var running: Bool
    /// The exit code once it ended; nil while it runs.
    public var exitCode: Int?
    /// When the worker started it (RFC 3339).
    public var startedAt: String
    /// Whether it was started with `background: true`.
    public var background: Bool
    /// Whether this worker holds its output for `exec.attach` (false: an earlier worker started it).
    public var replayable: Bool
}

/// A terminal's size in character cells.
public struct TerminalSize: Codable, Sendable {
    /// Rows, 1–65535.
    public var rows: Int
    /// Columns, 1–65535.
    public var cols: Int
}

/// The notification `exec.input` (host to worker): bytes for the stdin of the exec `requestId`
/// started with `stdin: true`; `eof: true` closes its stdin after them.
public struct ExecInputNotification: Decodable, Sendable {
    /// The notification name, `"exec.input"`.
    public static let name = "exec.input"
    /// The id of the `exec` (or `exec.attach`) request whose command gets the bytes.
    public var requestId: JSONValue
    /// The bytes, as text or base64 per `encoding`; nil: none (e.g. with `eof` alone).
    public var data: String?
    /// How `data` is encoded; nil: `.utf8`.
    public var encoding: OutputEncoding?
    /// Close the command's stdin after `data`; nil: false.
    public var eof: Bool?
}

/// The notification `exec.resize` (host to worker): the new size of the exec `requestId`'s terminal.
public struct ExecResizeNotification: Decodable, Sendable {
    /// The notification name, `"exec.resize"`.
    public static let name = "exec.resize"
    /// The id of the `exec` request whose terminal is resized.
    public var requestId: JSONValue
    /// Rows, 1–65535.
    public var rows: Int
    /// Columns, 1–65535.
    public var cols: Int
}

/// Bytes of output dropped past `maxOutputBytes`, by stream; present in a result only when some were.
public struct OutputTruncation: Encodable, Sendable {
    /// Bytes of stdout dropped.
    public var stdout: Int
    /// Bytes of stderr dropped.
    public var stderr: Int

    /// Nil when nothing was dropped.
    init?(stdout: Int, stderr: Int) {
        guard stdout > 0 || stderr > 0 else { return nil }
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// How bytes travel in JSON strings.
public enum OutputEncoding: String, Codable, Sendable {
    case utf8, base64
}

/// What `exec` answers.
public struct ExecResult: Encodable, Sendable {
    /// The process's exit code as it gave it; -1 when `timedOut`.
    public var exitCode: Int
    /// The stdout bytes as text or base64 per `encoding`; `""` with `stream: true`.
    public var stdout: ExecOutputText
    /// The stderr bytes as text or base64 per `encoding`; `""` with `stream: true`.
    public var stderr: ExecOutputText
    /// Milliseconds from the call's arrival (or, for `exec.attach`, the command's start) to its end.
    public var durationMs: Int
    /// Whether the `timeoutMs` deadline ended it.
    public var timedOut: Bool
    /// Bytes dropped past `maxOutputBytes`, per stream; nil when none were.
    public var truncated: OutputTruncation?
}

extension ExecResult: JSONEncodedResult {
    /// The result written once, keys sorted as the general encoder writes them.
    public func encodedJSON() -> [UInt8] { FramePart.joined(encodedParts()) }

    /// The result in parts: the output streams are written a slice at a time as the answer goes
    /// out (``JSONStringProducer``), so a 16 MiB buffer never becomes a 16–96 MiB line in memory.
    public func encodedParts() -> [FramePart] {
        var tail = Array(#","timedOut":\#(timedOut)"#.utf8)
        if let truncated {
            tail.append(contentsOf: #","truncated":{"stderr":\#(truncated.stderr),"stdout":\#(truncated.stdout)}"#.utf8)
        }
        tail.append(UInt8(ascii: "}"))
        return [
            .bytes(Array(#"{"durationMs":\#(durationMs),"exitCode":\#(exitCode),"stderr":"#.utf8)),
            .produced(stderr.producer()),
            .bytes(Array(#","stdout":"#.utf8)),
            .produced(stdout.producer()),
            .bytes(tail),
        ]
    }
}

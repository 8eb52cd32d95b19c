import JSONRPC

// One struct per request: its params are the fields, its name and result ride on the type.

/// `initialize`: the first request of a session.
public struct InitializeRequest: RPCMethod {
    public static let name = "initialize"
    public typealias Result = InitializeResult
    public var protocolVersion: String
    public var config: WorkerConfig.Overrides?
}

/// `provision`: create, start and describe a node.
public struct ProvisionRequest: RPCMethod {
    public static let name = "provision"
    public typealias Result = Node
    public var spec: NodeSpec
}

/// `exec`: run a command in a node.
public struct ExecRequest: RPCMethod {
    public static let name = "exec"
    public typealias Result = ExecAnswer
    public var externalId: String
    public var command: [String]
    public var options: ExecOptions?
}

/// Options of `exec`.
public struct ExecOptions: Decodable, Sendable {
    public var cwd: String?
    public var env: OrderedStringMap?
    public var user: String?
    public var timeoutMs: Int?
    public var stream: Bool?
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
    public static let name = "exec.attach"
    public typealias Result = ExecResult
    public var execId: String
    public var offset: Int?
    /// Route `exec.input` notifications whose `requestId` is this call's id to the command's stdin.
    public var stdin: Bool?
}

/// `exec.kill`: a signal to every process of a command (default SIGKILL).
public struct ExecKillRequest: RPCMethod {
    public static let name = "exec.kill"
    public typealias Result = NullResult
    public var execId: String
    /// `"SIGTERM"`, `"SIGKILL"`, `"SIGINT"`, `"SIGHUP"` or a number from 1 to 64.
    public var signal: JSONValue?
}

/// `exec.list`: the commands of a node.
public struct ExecListRequest: RPCMethod {
    public static let name = "exec.list"
    public typealias Result = [ExecListEntry]
    public var externalId: String
}

/// One command in `exec.list`.
public struct ExecListEntry: Encodable, Sendable {
    public var execId: String
    public var command: [String]
    public var running: Bool
    public var exitCode: Int?
    /// When the worker started it (RFC 3339).
    public var startedAt: String
    public var background: Bool
    /// Whether this worker holds its output for `exec.attach` (false: an earlier worker started it).
    public var replayable: Bool
}

/// A terminal's size in character cells.
public struct TerminalSize: Codable, Sendable {
    public var rows: Int
    public var cols: Int
}

/// The notification `exec.input` (host to worker): bytes for the stdin of the exec `requestId`
/// started with `stdin: true`; `eof: true` closes its stdin after them.
public struct ExecInputNotification: Decodable, Sendable {
    public static let name = "exec.input"
    public var requestId: JSONValue
    public var data: String?
    public var encoding: OutputEncoding?
    public var eof: Bool?
}

/// The notification `exec.resize` (host to worker): the new size of the exec `requestId`'s terminal.
public struct ExecResizeNotification: Decodable, Sendable {
    public static let name = "exec.resize"
    public var requestId: JSONValue
    public var rows: Int
    public var cols: Int
}

/// Bytes of output dropped past `maxOutputBytes`, by stream; present in a result only when some were.
public struct OutputTruncation: Encodable, Sendable {
    public var stdout: Int
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

/// `inspect`: a node's state.
public struct InspectRequest: RPCMethod {
    public static let name = "inspect"
    public typealias Result = InspectResult
    public var externalId: String

    /// Checks the id's form. - Throws: ``InvalidParams`` naming `externalId`.
    public func validate() throws { try Validation.checkExternalID(externalId) }
}

/// `destroy`: remove a node and its anonymous volumes.
public struct DestroyRequest: RPCMethod {
    public static let name = "destroy"
    public typealias Result = NullResult
    public var externalId: String
}

/// `stop`.
public struct StopRequest: RPCMethod {
    public static let name = "stop"
    public typealias Result = NullResult
    public var externalId: String
    public var timeoutSeconds: Int?
}

/// `start`.
public struct StartRequest: RPCMethod {
    public static let name = "start"
    public typealias Result = NullResult
    public var externalId: String
}

/// `restart`.
public struct RestartRequest: RPCMethod {
    public static let name = "restart"
    public typealias Result = NullResult
    public var externalId: String
    public var timeoutSeconds: Int?
}

/// `pause`.
public struct PauseRequest: RPCMethod {
    public static let name = "pause"
    public typealias Result = NullResult
    public var externalId: String
}

/// `resume`.
public struct ResumeRequest: RPCMethod {
    public static let name = "resume"
    public typealias Result = NullResult
    public var externalId: String
}

/// `snapshot`: commit a node's filesystem to an image.
public struct SnapshotRequest: RPCMethod {
    public static let name = "snapshot"
    public typealias Result = SnapshotRef
    public var externalId: String
    public var tag: String?
}

/// `restore`: a new node from a snapshot.
public struct RestoreRequest: RPCMethod {
    public static let name = "restore"
    public typealias Result = Node
    public var ref: SnapshotRefInput
    public var spec: NodeSpec?
}

/// The part of a snapshot ref that `restore` needs; the rest of what `snapshot` answered may come
/// along and is not read.
public struct SnapshotRefInput: Decodable, Sendable, AllowsUnknownMembers {
    public var externalId: String
    public var provider: String?
}

/// `healthCheck`.
public struct HealthCheckRequest: RPCMethod {
    public static let name = "healthCheck"
    public typealias Result = HealthResult
}

/// `detectGpu`.
public struct DetectGpuRequest: RPCMethod {
    public static let name = "detectGpu"
    public typealias Result = DetectGpuResult
}

/// `list`: the worker's nodes, for adoption after a restart.
public struct ListRequest: RPCMethod {
    public static let name = "list"
    public typealias Result = [Node]
    public var labels: [String: String]?

    /// Checks the label keys. - Throws: ``InvalidParams`` naming `labels`.
    public func validate() throws { try Validation.checkLabelKeys(labels, field: "labels") }
}

/// `getExtension`.
public struct GetExtensionRequest: RPCMethod {
    public static let name = "getExtension"
    public typealias Result = ExtensionInfo?
    public var externalId: String
    public var name: String

    /// Checks the id's form. - Throws: ``InvalidParams`` naming `externalId`.
    public func validate() throws { try Validation.checkExternalID(externalId) }
}

// MARK: Results

/// What `initialize` answers.
public struct InitializeResult: Encodable, Sendable {
    public var protocolVersion: String
    public var provider: ProviderInfo
    public var capabilities: Capabilities
    public var methods: [String]
    public var limits: Limits
    /// The security policy in force (`{}` when none is set; protocol 1.1).
    public var policy: SecurityPolicy?
    /// The owner this worker acts for (`config.ownerId`), when set (protocol 1.1).
    public var ownerId: String?

    public struct ProviderInfo: Encodable, Sendable {
        public var name: String
        public var version: String
    }
    public struct Limits: Encodable, Sendable {
        public var maxLineBytes: Int
    }
}

/// What the provider can do.
public struct Capabilities: Encodable, Sendable, Equatable {
    public var restart = true
    public var pause = true
    public var snapshot = true
    public var logs = true
    public var tailscale = true
    public var persistentStorage = true
    public var architectures = ["x86_64", "arm64"]
    public var gpu: Bool
}

/// A node as the orchestrator sees it.
public struct Node: Encodable, Sendable {
    public var externalId: String
    public var name: String
    public var nodeId: String
    public var image: String
    public var status: NodeStatus
    public var startedAt: String?
    public var endpoints: [Endpoint]
    public var labels: [String: String]
}

/// A node's state.
public enum NodeStatus: String, Encodable, Sendable {
    case running, paused, starting, stopped, stopping, terminated
}

/// A way to reach a node.
public struct Endpoint: Encodable, Sendable, Equatable {
    public var type: String
    public var host: String
    public var port: Int
    public var containerPort: Int?
    public var url: String?
}

/// What `exec` answers.
public struct ExecResult: Encodable, Sendable {
    public var exitCode: Int
    public var stdout: ExecOutputText
    public var stderr: ExecOutputText
    public var durationMs: Int
    public var timedOut: Bool
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

/// What `inspect` answers.
public struct InspectResult: Encodable, Sendable {
    public var status: NodeStatus
    public var startedAt: String?
    public var finishedAt: String?
    public var exitCode: Int?
    public var oomKilled: Bool?
    public var error: String?
    public var resources: Resources?
    public var endpoints: [Endpoint]
    /// When the node's lifetime ends (RFC 3339), if it has one armed in this worker.
    public var expiresAt: String?
}

/// Resource use of a running node.
public struct Resources: Encodable, Sendable {
    public var cpuPercent: Double
    public var memoryUsedMiB: Double
    public var memoryLimitMiB: Double?
    public var sampledAt: String
}

/// A snapshot of a node's filesystem.
public struct SnapshotRef: Encodable, Sendable {
    public var provider = "docker"
    public var externalId: String
    public var createdAt: String
    public var type = "filesystem"
    public var image: String
    public var excludedVolumes: [String]
    /// The image's size in bytes (`snapshots.list`).
    public var size: Int64?
    /// The node the snapshot was taken of (`snapshots.list`).
    public var nodeId: String?
}

/// What `healthCheck` answers.
public struct HealthResult: Encodable, Sendable {
    public var healthy: Bool
    public var latencyMs: Double
    public var message: String?
    public var engine: EngineInfo?

    public struct EngineInfo: Encodable, Sendable {
        public var version: String
        public var apiVersion: String
        public var os: String
        public var arch: String
    }
}

/// What `detectGpu` answers.
public struct DetectGpuResult: Encodable, Sendable {
    public var gpu: Bool
    /// The capabilities after detection (`gpu` updated).
    public var capabilities: Capabilities
}

/// What `getExtension` answers.
public struct ExtensionInfo: Encodable, Sendable {
    public var name: String
    public var methods: [String]
}

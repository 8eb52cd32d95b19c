import JSONRPC

// One struct per request: its params are the fields, its name and result ride on the type.

/// `initialize`: the first request of a session.
public struct InitializeRequest: RPCMethod {
    /// The method name, `"initialize"`.
    public static let name = "initialize"
    /// Answers ``InitializeResult``.
    public typealias Result = InitializeResult
    /// The protocol version the host speaks, `"MAJOR.MINOR"` (`"1.0"` or `"1.1"`); the worker answers with it.
    public var protocolVersion: String
    /// Settings that override flags, environment and defaults, member by member; nil: none.
    public var config: WorkerConfig.Overrides?
}

/// `provision`: create, start and describe a node.
public struct ProvisionRequest: RPCMethod {
    /// The method name, `"provision"`.
    public static let name = "provision"
    /// Answers the new ``Node``.
    public typealias Result = Node
    /// What to create: image, command, resources, network, labels, security, volumes.
    public var spec: NodeSpec
}

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

/// `inspect`: a node's state.
public struct InspectRequest: RPCMethod {
    /// The method name, `"inspect"`.
    public static let name = "inspect"
    /// Answers ``InspectResult``; a node that does not exist is `terminated`, not an error.
    public typealias Result = InspectResult
    /// The node: its container id or name.
    public var externalId: String

    /// Checks the id's form. - Throws: ``InvalidParams`` naming `externalId`.
    public func validate() throws { try Validation.checkExternalID(externalId) }
}

/// `destroy`: remove a node and its anonymous volumes.
public struct DestroyRequest: RPCMethod {
    /// The method name, `"destroy"`.
    public static let name = "destroy"
    /// Answers `null`, also when the node is already gone.
    public typealias Result = NullResult
    /// The node: its container id or name.
    public var externalId: String
}

/// `stop`.
public struct StopRequest: RPCMethod {
    /// The method name, `"stop"`.
    public static let name = "stop"
    /// Answers `null`; a stopped node is success.
    public typealias Result = NullResult
    /// The node: its container id or name.
    public var externalId: String
    /// Grace period in seconds between SIGTERM and SIGKILL; nil: 10.
    public var timeoutSeconds: Int?
}

/// `start`.
public struct StartRequest: RPCMethod {
    /// The method name, `"start"`.
    public static let name = "start"
    /// Answers `null`; a running node is success.
    public typealias Result = NullResult
    /// The node: its container id or name.
    public var externalId: String
}

/// `restart`.
public struct RestartRequest: RPCMethod {
    /// The method name, `"restart"`.
    public static let name = "restart"
    /// Answers `null`.
    public typealias Result = NullResult
    /// The node: its container id or name.
    public var externalId: String
    /// Grace period in seconds between SIGTERM and SIGKILL; nil: 10.
    public var timeoutSeconds: Int?
}

/// `pause`.
public struct PauseRequest: RPCMethod {
    /// The method name, `"pause"`.
    public static let name = "pause"
    /// Answers `null`; a paused node is success.
    public typealias Result = NullResult
    /// The node: its container id or name.
    public var externalId: String
}

/// `resume`.
public struct ResumeRequest: RPCMethod {
    /// The method name, `"resume"`.
    public static let name = "resume"
    /// Answers `null`; a running node is success.
    public typealias Result = NullResult
    /// The node: its container id or name.
    public var externalId: String
}

/// `snapshot`: commit a node's filesystem to an image.
public struct SnapshotRequest: RPCMethod {
    /// The method name, `"snapshot"`.
    public static let name = "snapshot"
    /// Answers the new ``SnapshotRef``.
    public typealias Result = SnapshotRef
    /// The node: its container id or name.
    public var externalId: String
    /// The image tag, `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; nil: the node id and a timestamp.
    public var tag: String?
}

/// `restore`: a new node from a snapshot.
public struct RestoreRequest: RPCMethod {
    /// The method name, `"restore"`.
    public static let name = "restore"
    /// Answers the new ``Node``.
    public typealias Result = Node
    /// The snapshot to start from; only `externalId` is read.
    public var ref: SnapshotRefInput
    /// Members that replace the spec recorded on the snapshot (`runtime` optional, `runtime.image` ignored); nil: the recorded spec as is.
    public var spec: NodeSpec?
}

/// The part of a snapshot ref that `restore` needs; the rest of what `snapshot` answered may come
/// along and is not read.
public struct SnapshotRefInput: Decodable, Sendable, AllowsUnknownMembers {
    /// The snapshot image: its id `sha256:<64 hex>` or a reference.
    public var externalId: String
    /// Must be `"docker"` when given.
    public var provider: String?
}

/// `healthCheck`.
public struct HealthCheckRequest: RPCMethod {
    /// The method name, `"healthCheck"`.
    public static let name = "healthCheck"
    /// Answers ``HealthResult``; never an error.
    public typealias Result = HealthResult
}

/// `detectGpu`.
public struct DetectGpuRequest: RPCMethod {
    /// The method name, `"detectGpu"`.
    public static let name = "detectGpu"
    /// Answers ``DetectGpuResult``; never an error.
    public typealias Result = DetectGpuResult
}

/// `list`: the worker's nodes, for adoption after a restart.
public struct ListRequest: RPCMethod {
    /// The method name, `"list"`.
    public static let name = "list"
    /// Answers every managed node, running or not.
    public typealias Result = [Node]
    /// Labels every listed node must carry (key to value); nil: no filter.
    public var labels: [String: String]?

    /// Checks the label keys. - Throws: ``InvalidParams`` naming `labels`.
    public func validate() throws { try Validation.checkLabelKeys(labels, field: "labels") }
}

/// `getExtension`.
public struct GetExtensionRequest: RPCMethod {
    /// The method name, `"getExtension"`.
    public static let name = "getExtension"
    /// Answers ``ExtensionInfo``, or `null` for a name this worker does not serve.
    public typealias Result = ExtensionInfo?
    /// The node: its container id or name (checked for form only; the engine is not asked).
    public var externalId: String
    /// The extension: `"network"`, `"files"`, `"metrics"` or `"logs"`.
    public var name: String

    /// Checks the id's form. - Throws: ``InvalidParams`` naming `externalId`.
    public func validate() throws { try Validation.checkExternalID(externalId) }
}

// MARK: Results

/// What `initialize` answers.
public struct InitializeResult: Encodable, Sendable {
    /// The session's protocol version, as the host asked for it.
    public var protocolVersion: String
    /// The provider's name and version.
    public var provider: ProviderInfo
    /// What the provider can do.
    public var capabilities: Capabilities
    /// Every method this worker serves, sorted by name.
    public var methods: [String]
    /// The worker's limits.
    public var limits: Limits
    /// The security policy in force (`{}` when none is set; protocol 1.1).
    public var policy: SecurityPolicy?
    /// The owner this worker acts for (`config.ownerId`), when set (protocol 1.1).
    public var ownerId: String?

    /// The provider's name (`"docker"`) and the worker's version.
    public struct ProviderInfo: Encodable, Sendable {
        /// `"docker"`.
        public var name: String
        /// The worker's version, e.g. `"0.1.0"`.
        public var version: String
    }
    /// The worker's limits.
    public struct Limits: Encodable, Sendable {
        /// The longest request line read, in bytes (default 67108864, `--max-line-bytes`).
        public var maxLineBytes: Int
    }
}

/// What the provider can do.
public struct Capabilities: Encodable, Sendable, Equatable {
    /// Nodes can be restarted; always true.
    public var restart = true
    /// Nodes can be paused; always true.
    public var pause = true
    /// Nodes can be snapshotted; always true.
    public var snapshot = true
    /// Node logs can be read; always true.
    public var logs = true
    /// Nodes can join a tailnet; always true.
    public var tailscale = true
    /// Named volumes outlive nodes; always true.
    public var persistentStorage = true
    /// CPU architectures nodes can run: `["x86_64", "arm64"]`.
    public var architectures = ["x86_64", "arm64"]
    /// GPUs can be requested: `config.gpuAvailable`, or true once `detectGpu` found the nvidia runtime.
    public var gpu: Bool
}

/// A node as the orchestrator sees it.
public struct Node: Encodable, Sendable {
    /// The container's full id.
    public var externalId: String
    /// The container's name, without the leading `/`.
    public var name: String
    /// The node id the worker gave it (label `openlattice.node-id`, a UUID).
    public var nodeId: String
    /// The image reference the container was created from.
    public var image: String
    /// The node's state.
    public var status: NodeStatus
    /// When it last started (RFC 3339, UTC); nil when the engine has no start time.
    public var startedAt: String?
    /// The ways to reach it, one per published port (and per exposed port on a named network).
    public var endpoints: [Endpoint]
    /// The container's labels.
    public var labels: [String: String]
}

/// A node's state.
public enum NodeStatus: String, Encodable, Sendable {
    case running, paused, starting, stopped, stopping, terminated
}

/// A way to reach a node.
public struct Endpoint: Encodable, Sendable, Equatable {
    /// `"tcp"`, `"udp"` or `"docker-internal"`.
    public var type: String
    /// An address that reaches this node: `"localhost"`, `"127.0.0.1"`, `"::1"`, the bound address, or (docker-internal) the container name.
    public var host: String
    /// The port to connect to: the host port, or the container port for docker-internal.
    public var port: Int
    /// The port inside the container.
    public var containerPort: Int?
    /// `"http://<name>:<port>"` for docker-internal; nil otherwise.
    public var url: String?
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

/// What `inspect` answers.
public struct InspectResult: Encodable, Sendable {
    /// The node's state; `terminated` when the container does not exist.
    public var status: NodeStatus
    /// When it last started (RFC 3339, UTC); nil when unknown.
    public var startedAt: String?
    /// When it ended (RFC 3339, UTC); nil unless stopped.
    public var finishedAt: String?
    /// The main process's exit code; nil unless stopped.
    public var exitCode: Int?
    /// Whether the kernel's OOM killer ended it; nil unless stopped.
    public var oomKilled: Bool?
    /// The engine's error text about the node's end; nil unless stopped with one.
    public var error: String?
    /// Resource use (status `running` only; nil otherwise or when no sample is at hand).
    public var resources: Resources?
    /// The ways to reach it; empty when it is not running.
    public var endpoints: [Endpoint]
    /// When the node's lifetime ends (RFC 3339), if it has one armed in this worker.
    public var expiresAt: String?
}

/// Resource use of a running node.
public struct Resources: Encodable, Sendable {
    /// CPU use in percent of one core (cpu delta / system delta × online CPUs × 100).
    public var cpuPercent: Double
    /// Memory in use in MiB as `docker stats` counts it (usage less inactive file cache).
    public var memoryUsedMiB: Double
    /// The memory limit in MiB; nil when the engine reports none.
    public var memoryLimitMiB: Double?
    /// When the engine took the figures (its `read` time, RFC 3339).
    public var sampledAt: String
}

/// A snapshot of a node's filesystem.
public struct SnapshotRef: Encodable, Sendable {
    /// Always `"docker"`.
    public var provider = "docker"
    /// The image id, `sha256:<64 hex>`.
    public var externalId: String
    /// When the image was committed (RFC 3339, UTC).
    public var createdAt: String
    /// Always `"filesystem"`.
    public var type = "filesystem"
    /// The image reference, `<snapshotRepository>:<tag>`.
    public var image: String
    /// Mount targets whose data the snapshot does not hold (volumes are not committed).
    public var excludedVolumes: [String]
    /// The image's size in bytes (`snapshots.list`).
    public var size: Int64?
    /// The node the snapshot was taken of (`snapshots.list`).
    public var nodeId: String?
}

/// What `healthCheck` answers.
public struct HealthResult: Encodable, Sendable {
    /// Whether the engine answered `GET /_ping`.
    public var healthy: Bool
    /// The ping's round trip in milliseconds (fractional).
    public var latencyMs: Double
    /// Why the engine is not healthy; nil when it is.
    public var message: String?
    /// The engine's version; nil when it could not be read.
    public var engine: EngineInfo?

    /// The engine's version, as `GET /version` reports it.
    public struct EngineInfo: Encodable, Sendable {
        /// The engine's version, e.g. `"20.10.24+dfsg1"`.
        public var version: String
        /// The engine's API version, e.g. `"1.41"`.
        public var apiVersion: String
        /// The engine's operating system, e.g. `"linux"`.
        public var os: String
        /// The engine's CPU architecture, e.g. `"amd64"`.
        public var arch: String
    }
}

/// What `detectGpu` answers.
public struct DetectGpuResult: Encodable, Sendable {
    /// Whether the engine's info lists an `nvidia` runtime.
    public var gpu: Bool
    /// The capabilities after detection (`gpu` updated).
    public var capabilities: Capabilities
}

/// What `getExtension` answers.
public struct ExtensionInfo: Encodable, Sendable {
    /// The extension's name.
    public var name: String
    /// The methods that make it up.
    public var methods: [String]
}

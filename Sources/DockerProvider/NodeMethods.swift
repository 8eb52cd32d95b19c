import JSONCoding
import JSONRPC

// The node methods (provision, inspect, lifecycle, snapshots, health, list) and what they answer.

/// `provision`: create, start and describe a node.
public struct ProvisionRequest: RPCMethod {
    /// The method name, `"provision"`.
    public static let name = "provision"
    /// Answers the new ``Node``.
    public typealias Result = Node
    /// What to create: image, command, resources, network, labels, security, volumes.
    public var spec: NodeSpec
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

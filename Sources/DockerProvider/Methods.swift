import JSONCoding
import JSONRPC

// The session methods (`initialize`, `getExtension`) and what they answer. One struct per request
// (here and in ExecMethods.swift, NodeMethods.swift and each feature's file): its params are the
// fields, its name and result ride on the type.

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

/// What `getExtension` answers.
public struct ExtensionInfo: Encodable, Sendable {
    /// The extension's name.
    public var name: String
    /// The methods that make it up.
    public var methods: [String]
}

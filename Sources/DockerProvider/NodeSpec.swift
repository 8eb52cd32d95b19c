import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

/// What the orchestrator asks for: a node to run.
public struct NodeSpec: Codable, Sendable {
    /// Container name and `Hostname`, `[a-zA-Z0-9][a-zA-Z0-9_.-]+`; nil: the engine picks a name.
    public var name: String?
    /// The image and process; required by `provision`, optional for `restore`.
    public var runtime: Runtime?
    /// CPU limit; nil: none (or `policy.maxCpuCores`).
    public var cpu: CPU?
    /// Memory limit; nil: none (or `policy.maxMemoryGiB`).
    public var memory: Memory?
    /// GPUs to request; needs a GPU-capable engine. Nil: none.
    public var gpu: GPU?
    /// Published ports, tailscale and network mode; nil: no ports, the configured network.
    public var network: Network?
    /// Labels for the container (key to value); no `openlattice.*` key but `openlattice.test[.*]`.
    public var labels: [String: String]?
    /// Volumes and bind mounts; nil: none.
    public var volumes: [Volume]?
    /// When the node ends by itself (see ``Lifetime``).
    public var lifetime: Lifetime?
    /// What must hold before `provision` answers (see ``Readiness``).
    public var readiness: Readiness?
    /// The node's own security settings: they may tighten the worker's policy, never loosen it.
    public var security: Security?

    /// `spec.security`.
    public struct Security: Codable, Sendable {
        /// Capabilities to add (within `policy.capAdd` when it is set).
        public var capAdd: [String]?
        /// Capabilities to drop, on top of `policy.capDrop`.
        public var capDrop: [String]?
        /// The most processes the node may hold (at most `policy.pidsLimit`).
        public var pidsLimit: Int?
        /// `no-new-privileges` (cannot be false when the policy sets it).
        public var noNewPrivileges: Bool?
        /// A read-only root filesystem with a writable `/tmp` (cannot be false when the policy sets it).
        public var readOnlyRootfs: Bool?
    }

    /// The image and process.
    public struct Runtime: Codable, Sendable {
        /// `Image`: a Docker reference, `[domain/]name[:tag][@digest]`; ignored by `restore`.
        public var image: String?
        /// `Cmd` as argv, not empty; nil: `["sh", "-c", "sleep infinity"]` (for `restore`: the snapshot's own `Cmd`).
        public var command: [String]?
        /// `Env`, sent as `K=V` in the given order; nil: none.
        public var env: OrderedStringMap?
        /// Variables whose values must not be visible in the engine's view of the container:
        /// delivered through a file the entrypoint reads, never through `Env`.
        public var secretEnv: OrderedStringMap?
        /// `User`: `user[:group]` by name or id; nil: the policy's, else the image's.
        public var user: String?
        /// `WorkingDir`: an absolute path; nil: the image's.
        public var workdir: String?
        /// When to pull `image`; nil: `.missing`.
        public var pullPolicy: PullPolicy?
        /// Runs the engine's init process as PID 1 (`HostConfig.Init`), which reaps orphaned children.
        public var `init`: Bool?
    }
    /// When to pull the image.
    public enum PullPolicy: String, Codable, Sendable {
        case missing, always, never
    }
    /// `spec.cpu`: sent as `HostConfig.NanoCpus` = cores × 1e9.
    public struct CPU: Codable, Sendable {
        /// CPU cores, fractional, > 0 (at most `policy.maxCpuCores`).
        public var cores: Double
    }
    /// `spec.memory`: sent as `HostConfig.Memory` = sizeGiB × 2^30 bytes.
    public struct Memory: Codable, Sendable {
        /// Memory limit in GiB, fractional, > 0 (at most `policy.maxMemoryGiB`).
        public var sizeGiB: Double
    }
    /// `spec.gpu`: sent as a `HostConfig.DeviceRequests` entry of driver `nvidia` with capability `gpu`.
    public struct GPU: Codable, Sendable {
        /// How many GPUs.
        public var count: Int
    }
    /// `spec.network`.
    public struct Network: Codable, Sendable {
        /// Ports to publish (`ExposedPorts` and `PortBindings`); nil: none.
        public var ports: [Port]?
        /// Give the node tailscale's needs: `CapAdd` `NET_ADMIN` and the device `/dev/net/tun`; nil: false.
        public var tailscale: Bool?
        /// As `tailscale`, then `tailscale up` with this key (passed through a file, removed before `provision` answers); nil: none.
        public var tailscaleAuthKey: String?
        /// The network mode (`HostConfig.NetworkMode`): `none`, `bridge`, `host` or a network name;
        /// default `config.network`, else the engine's default. Within `policy.networkModes`.
        public var mode: String?
    }
    /// One port to publish.
    public struct Port: Codable, Sendable {
        /// The port in the container.
        public var port: Int
        /// `tcp` or `udp`; nil: `tcp`.
        public var `protocol`: PortProtocol?
        /// The host port; nil: the same as `port`; 0: the engine chooses.
        public var hostPort: Int?
    }
    /// A port's transport protocol: `"tcp"` or `"udp"`.
    public enum PortProtocol: String, Codable, Sendable { case tcp, udp }
    /// A volume or bind mount (a `HostConfig.Mounts` entry).
    public struct Volume: Codable, Sendable {
        /// A named volume (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, created when missing and kept by `destroy`), a host path starting with `/` for a
        /// bind mount (within `policy.bindMounts`), or nil for an anonymous volume.
        public var source: String?
        /// The absolute path in the container.
        public var target: String
        /// Mount read-only; nil: read-write.
        public var readOnly: Bool?
    }

    /// Whether the node needs tailscale's device and capability.
    var wantsTailscale: Bool { network?.tailscale == true || network?.tailscaleAuthKey != nil }
}

/// Builds the engine's create body from a spec: the mapping of the original provider.
public struct CreateBodyBuilder: Sendable {
    /// The configured network (`HostConfig.NetworkMode`), if any.
    public var network: String?
    /// Labels added to every node.
    public var defaultLabels: [String: String]
    /// Whether GPUs may be requested.
    public var gpuAvailable: Bool
    /// Labels that identify the worker's own containers.
    public var ownerLabels: [String: String]
    /// The operator's security policy.
    public var policy: SecurityPolicy

    /// A builder from the worker's configuration: `network` (nil: the engine's default), labels added to every node,
    /// whether GPUs exist, the owner's labels and the security policy.
    public init(
        network: String?, defaultLabels: [String: String], gpuAvailable: Bool, ownerLabels: [String: String] = [:],
        policy: SecurityPolicy = SecurityPolicy()
    ) {
        self.network = network
        self.defaultLabels = defaultLabels
        self.gpuAvailable = gpuAvailable
        self.ownerLabels = ownerLabels
        self.policy = policy
    }

    /// The default process: keep the container alive for execs.
    public static let defaultCommand = ["sh", "-c", "sleep infinity"]

    /// Checks `spec` (field paths start at `prefix`) and returns the create body; throws
    /// ``InvalidParams`` naming the field before anything reaches the engine.
    public func body(for spec: NodeSpec, image: String, nodeID: String, prefix: String = "spec") throws -> ContainerCreateBody {
        try validate(spec, prefix: prefix)
        try checkPolicy(spec, prefix: prefix)
        var labels = spec.labels ?? [:]
        labels.merge(defaultLabels) { _, new in new }
        labels.merge(ownerLabels) { _, new in new }
        labels[Labels.managed] = "true"
        labels[Labels.nodeID] = nodeID

        var hostConfig = ContainerCreateBody.HostConfig()
        if let cores = spec.cpu?.cores { hostConfig.nanoCpus = Int64((cores * 1e9).rounded()) }
        if let size = spec.memory?.sizeGiB { hostConfig.memory = Int64((size * 1_073_741_824).rounded()) }
        if let gpu = spec.gpu {
            hostConfig.deviceRequests = [.init(driver: "nvidia", count: gpu.count, capabilities: [["gpu"]])]
        }
        var body = ContainerCreateBody(image: image, labels: labels, hostConfig: hostConfig)
        body.cmd = spec.runtime?.command ?? Self.defaultCommand
        if let env = spec.runtime?.env { body.env = env.entries.map { "\($0.key)=\($0.value)" } }
        body.user = spec.runtime?.user
        body.workingDir = spec.runtime?.workdir
        body.hostname = spec.name
        if spec.runtime?.`init` == true { body.hostConfig.`init` = true }
        if let record = try? Self.record(of: spec) { body.labels[Labels.spec] = record }
        if let lifetime = spec.lifetime { body.labels[Labels.lifetime] = lifetime.label(nodeID: nodeID, from: Date()) }
        if let ports = spec.network?.ports, !ports.isEmpty {
            var exposed: [String: EmptyObject] = [:]
            var bindings: [String: [PortBinding]] = [:]
            for port in ports {
                let key = "\(port.port)/\((port.protocol ?? .tcp).rawValue)"
                exposed[key] = EmptyObject()
                let hostPort = port.hostPort ?? port.port
                bindings[key, default: []].append(PortBinding(hostPort: hostPort == 0 ? "" : String(hostPort)))
            }
            body.exposedPorts = exposed
            body.hostConfig.portBindings = bindings
        }
        if spec.wantsTailscale {
            body.hostConfig.capAdd = ["NET_ADMIN"]
            body.hostConfig.devices = [.init(pathOnHost: "/dev/net/tun", pathInContainer: "/dev/net/tun", cgroupPermissions: "rwm")]
        }
        body.hostConfig.networkMode = network
        if let volumes = spec.volumes, !volumes.isEmpty {
            body.hostConfig.mounts = volumes.map { volume in
                let isBind = volume.source?.hasPrefix("/") == true
                // Volumes the engine creates for the node carry its labels, so they can be found later.
                return .init(
                    type: isBind ? "bind" : "volume", source: volume.source, target: volume.target, readOnly: volume.readOnly,
                    volumeOptions: isBind ? nil : .init(labels: labels))
            }
        }
        applyPolicy(spec, to: &body)
        return body
    }

    private func validate(_ spec: NodeSpec, prefix: String) throws {
        func fail(_ field: String, _ reason: String) -> InvalidParams { InvalidParams(field: "\(prefix).\(field)", reason: reason) }
        if let name = spec.name, !Validation.isContainerName(name) {
            throw fail("name", "must match [a-zA-Z0-9][a-zA-Z0-9_.-]+")
        }
        if let image = spec.runtime?.image, !image.isEmpty, let problem = ImageReference.problem(image) {
            throw fail("runtime.image", problem)
        }
        if let command = spec.runtime?.command {
            if command.isEmpty { throw fail("runtime.command", "must not be empty") }
            if command.contains(where: { $0.contains("\0") }) { throw fail("runtime.command", "must not contain NUL") }
        }
        if let env = spec.runtime?.env {
            for (key, value) in env.entries {
                if let reason = Validation.envKeyProblem(key) { throw fail("runtime.env.\(key)", reason) }
                if value.contains("\0") { throw fail("runtime.env.\(key)", "must not contain NUL") }
            }
        }
        for (key, value) in spec.runtime?.secretEnv?.entries ?? [] {
            if !Validation.isShellName(key) {
                throw fail("runtime.secretEnv.\(key)", "must be a shell variable name ([A-Za-z_][A-Za-z0-9_]*)")
            }
            // An environment entry is a C string: a NUL would end the value early, silently.
            if value.contains("\0") { throw fail("runtime.secretEnv.\(key)", "must not contain NUL") }
        }
        // Bounds in whole engine units: a value that rounds to 0 would mean "unlimited" to the engine.
        if let cores = spec.cpu?.cores, !((cores * 1e9).rounded() >= 1 && cores <= 1_000_000) {
            throw fail("cpu.cores", "must be between 0.000000001 and 1000000")
        }
        if let size = spec.memory?.sizeGiB, !((size * 1_073_741_824).rounded() >= 1 && size <= 1_000_000) {
            throw fail("memory.sizeGiB", "must be a positive number of bytes' worth, no larger than 1000000")
        }
        if let gpu = spec.gpu {
            guard gpuAvailable else {
                throw fail("gpu", "requested, but this engine has no GPU (no nvidia runtime; set gpuAvailable or call detectGpu)")
            }
            if !(1...1024).contains(gpu.count) { throw fail("gpu.count", "must be between 1 and 1024") }
        }
        for (index, port) in (spec.network?.ports ?? []).enumerated() {
            if !(1...65535).contains(port.port) { throw fail("network.ports[\(index)].port", "must be between 1 and 65535") }
            if let hostPort = port.hostPort, !(0...65535).contains(hostPort) {
                throw fail("network.ports[\(index)].hostPort", "must be between 0 and 65535")
            }
        }
        try Validation.checkLabelKeys(spec.labels, field: "\(prefix).labels")
        try spec.lifetime?.validate(prefix: "\(prefix).lifetime")
        try spec.readiness?.validate(prefix: "\(prefix).readiness")
        for key in (spec.labels ?? [:]).keys.sorted() where Labels.isReserved(key) {
            throw fail("labels.\(key)", "is reserved: openlattice.* labels are set by the worker alone")
        }
        for (index, volume) in (spec.volumes ?? []).enumerated() {
            if !volume.target.hasPrefix("/") { throw fail("volumes[\(index)].target", "must be an absolute path") }
            if let source = volume.source, source.isEmpty { throw fail("volumes[\(index)].source", "must not be empty") }
            // A volume name reaches an Engine API path: only the engine's own name grammar.
            if let source = volume.source, !source.hasPrefix("/"), !Validation.isContainerName(source) {
                throw fail("volumes[\(index)].source", "must be an absolute host path or a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]+)")
            }
        }
    }
}

// The parts of the Engine API's bodies the worker reads and writes (see swagger.yaml).
// Property names follow Swift; coding keys follow the engine.

/// `GET /containers/{id}/json`.
public struct ContainerInspect: Decodable, Sendable {
    public var id: String
    public var name: String
    public var created: String?
    public var image: String?
    public var config: Config?
    public var state: State?
    public var hostConfig: HostConfig?
    public var networkSettings: NetworkSettings?
    public var mounts: [Mount]?
    /// The execs the engine keeps for the container (running ones, and recently ended ones).
    public var execIDs: [String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", created = "Created", image = "Image", config = "Config", state = "State"
        case hostConfig = "HostConfig", networkSettings = "NetworkSettings", mounts = "Mounts", execIDs = "ExecIDs"
    }

    /// `Config`.
    public struct Config: Decodable, Sendable {
        public var image: String?
        public var hostname: String?
        public var labels: [String: String]?
        public var exposedPorts: [String: EmptyObject]?
        public var tty: Bool?
        /// The user the container runs as; empty for root.
        public var user: String?
        enum CodingKeys: String, CodingKey {
            case image = "Image", hostname = "Hostname", labels = "Labels", exposedPorts = "ExposedPorts", tty = "Tty", user = "User"
        }
    }

    /// `State`.
    public struct State: Decodable, Sendable {
        public var status: String?
        public var running: Bool?
        public var paused: Bool?
        public var oomKilled: Bool?
        public var pid: Int?
        public var exitCode: Int?
        public var error: String?
        public var startedAt: String?
        public var finishedAt: String?
        /// The image's `HEALTHCHECK` state, when it has one.
        public var health: Health?
        enum CodingKeys: String, CodingKey {
            case status = "Status", running = "Running", paused = "Paused", oomKilled = "OOMKilled", pid = "Pid"
            case exitCode = "ExitCode", error = "Error", startedAt = "StartedAt", finishedAt = "FinishedAt"
            case health = "Health"
        }
        /// `State.Health`: `Status` is `starting`, `healthy` or `unhealthy`.
        public struct Health: Decodable, Sendable {
            public var status: String?
            enum CodingKeys: String, CodingKey { case status = "Status" }
        }
    }

    /// `HostConfig` (the parts read back).
    public struct HostConfig: Decodable, Sendable {
        public var networkMode: String?
        enum CodingKeys: String, CodingKey { case networkMode = "NetworkMode" }
    }

    /// `NetworkSettings`.
    public struct NetworkSettings: Decodable, Sendable {
        public var ports: [String: [PortBinding]?]?
        public var networks: [String: EndpointSettings]?
        enum CodingKeys: String, CodingKey { case ports = "Ports", networks = "Networks" }
    }

    /// One network the container is attached to.
    public struct EndpointSettings: Decodable, Sendable {
        public var ipAddress: String?
        enum CodingKeys: String, CodingKey { case ipAddress = "IPAddress" }
    }

    /// One mount.
    public struct Mount: Decodable, Sendable {
        public var type: String?
        public var name: String?
        public var source: String?
        public var destination: String
        enum CodingKeys: String, CodingKey {
            case type = "Type", name = "Name", source = "Source", destination = "Destination"
        }
    }
}

/// A host binding of a container port.
public struct PortBinding: Codable, Sendable, Equatable {
    public var hostIp: String?
    public var hostPort: String?
    public init(hostIp: String? = nil, hostPort: String?) {
        self.hostIp = hostIp
        self.hostPort = hostPort
    }
    enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
}

/// `{}` on the wire.
public struct EmptyObject: Codable, Sendable, Equatable {
    public init() {}
}

/// One entry of `GET /containers/json`.
public struct ContainerSummary: Decodable, Sendable {
    public var id: String
    public var names: [String]?
    public var labels: [String: String]?
    public var state: String?
    public var image: String?
    enum CodingKeys: String, CodingKey { case id = "Id", names = "Names", labels = "Labels", state = "State", image = "Image" }
}

/// `POST /containers/create`.
public struct ContainerCreateBody: Encodable, Sendable {
    public var image: String
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var env: [String]?
    public var user: String?
    public var workingDir: String?
    public var hostname: String?
    public var labels: [String: String]
    public var exposedPorts: [String: EmptyObject]?
    public var hostConfig: HostConfig

    public init(image: String, labels: [String: String], hostConfig: HostConfig) {
        self.image = image
        self.labels = labels
        self.hostConfig = hostConfig
    }

    enum CodingKeys: String, CodingKey {
        case image = "Image", cmd = "Cmd", entrypoint = "Entrypoint", env = "Env", user = "User", workingDir = "WorkingDir"
        case hostname = "Hostname", labels = "Labels", exposedPorts = "ExposedPorts", hostConfig = "HostConfig"
    }

    /// `HostConfig` as sent on create.
    public struct HostConfig: Encodable, Sendable {
        public var nanoCpus: Int64?
        public var memory: Int64?
        public var portBindings: [String: [PortBinding]]?
        public var networkMode: String?
        public var capAdd: [String]?
        public var devices: [DeviceMapping]?
        public var deviceRequests: [DeviceRequest]?
        public var mounts: [MountSpec]?
        /// Run an init process as PID 1 that reaps orphans (`docker run --init`).
        public var `init`: Bool?
        public var pidsLimit: Int64?
        public var capDrop: [String]?
        public var securityOpt: [String]?
        public var readonlyRootfs: Bool?
        /// Mount point to tmpfs options.
        public var tmpfs: [String: String]?
        public var runtime: String?
        public init() {}
        enum CodingKeys: String, CodingKey {
            case nanoCpus = "NanoCpus", memory = "Memory", portBindings = "PortBindings", networkMode = "NetworkMode"
            case capAdd = "CapAdd", devices = "Devices", deviceRequests = "DeviceRequests", mounts = "Mounts"
            case `init` = "Init", pidsLimit = "PidsLimit", capDrop = "CapDrop", securityOpt = "SecurityOpt", readonlyRootfs =
                "ReadonlyRootfs"
            case tmpfs = "Tmpfs", runtime = "Runtime"
        }
    }

    /// A host device made visible in the container.
    public struct DeviceMapping: Encodable, Sendable, Equatable {
        public var pathOnHost: String
        public var pathInContainer: String
        public var cgroupPermissions: String
        public init(pathOnHost: String, pathInContainer: String, cgroupPermissions: String) {
            self.pathOnHost = pathOnHost
            self.pathInContainer = pathInContainer
            self.cgroupPermissions = cgroupPermissions
        }
        enum CodingKeys: String, CodingKey {
            case pathOnHost = "PathOnHost", pathInContainer = "PathInContainer", cgroupPermissions = "CgroupPermissions"
        }
    }

    /// A request for devices from a driver (GPUs).
    public struct DeviceRequest: Encodable, Sendable, Equatable {
        public var driver: String
        public var count: Int
        public var capabilities: [[String]]
        public init(driver: String, count: Int, capabilities: [[String]]) {
            self.driver = driver
            self.count = count
            self.capabilities = capabilities
        }
        enum CodingKeys: String, CodingKey { case driver = "Driver", count = "Count", capabilities = "Capabilities" }
    }

    /// A volume or bind mount.
    public struct MountSpec: Encodable, Sendable, Equatable {
        public var type: String
        public var source: String?
        public var target: String
        public var readOnly: Bool?
        public var volumeOptions: VolumeOptions?
        public init(type: String, source: String?, target: String, readOnly: Bool?, volumeOptions: VolumeOptions? = nil) {
            self.type = type
            self.source = source
            self.target = target
            self.readOnly = readOnly
            self.volumeOptions = volumeOptions
        }
        enum CodingKeys: String, CodingKey {
            case type = "Type", source = "Source", target = "Target", readOnly = "ReadOnly", volumeOptions = "VolumeOptions"
        }
    }

    /// Options of a volume the engine creates for a mount.
    public struct VolumeOptions: Encodable, Sendable, Equatable {
        public var labels: [String: String]
        public init(labels: [String: String]) { self.labels = labels }
        enum CodingKeys: String, CodingKey { case labels = "Labels" }
    }
}

/// `POST /containers/create` answer, `POST /commit` answer, `POST /containers/{id}/exec` answer.
public struct IDResponse: Decodable, Sendable {
    public var id: String
    enum CodingKeys: String, CodingKey { case id = "Id" }
}

/// `POST /containers/{id}/exec`.
public struct ExecCreateBody: Encodable, Sendable {
    public var cmd: [String]
    public var env: [String]?
    public var workingDir: String?
    public var user: String?
    public var attachStdout = true
    public var attachStderr = true
    public var attachStdin: Bool?
    public var tty: Bool?
    public init(cmd: [String]) { self.cmd = cmd }
    enum CodingKeys: String, CodingKey {
        case cmd = "Cmd", env = "Env", workingDir = "WorkingDir", user = "User", attachStdout = "AttachStdout"
        case attachStderr = "AttachStderr", attachStdin = "AttachStdin", tty = "Tty"
    }
}

/// `GET /exec/{id}/json`.
public struct ExecInspect: Decodable, Sendable {
    public var running: Bool
    public var exitCode: Int?
    public var pid: Int?
    /// The full id of the container the exec runs in.
    public var containerID: String?
    /// What the exec runs, as it was created.
    public var processConfig: ProcessConfig?
    enum CodingKeys: String, CodingKey {
        case running = "Running", exitCode = "ExitCode", pid = "Pid", containerID = "ContainerID", processConfig = "ProcessConfig"
    }

    /// The exec's command line and user (`entrypoint` is the first word of `Cmd`).
    public struct ProcessConfig: Decodable, Sendable {
        public var entrypoint: String?
        public var arguments: [String]?
        public var user: String?
        public var tty: Bool?
    }
}

/// `GET /containers/{id}/stats`.
public struct ContainerStats: Decodable, Sendable {
    public var read: String?
    public var cpuStats: CPUStats?
    public var precpuStats: CPUStats?
    public var memoryStats: MemoryStats?
    public var networks: [String: NetworkStats]?
    public var blkioStats: BlkioStats?
    public var pidsStats: PidsStats?
    enum CodingKeys: String, CodingKey {
        case read, cpuStats = "cpu_stats", precpuStats = "precpu_stats", memoryStats = "memory_stats", networks
        case blkioStats = "blkio_stats", pidsStats = "pids_stats"
    }

    public struct CPUStats: Decodable, Sendable {
        public var cpuUsage: CPUUsage?
        public var systemCPUUsage: UInt64?
        public var onlineCPUs: Int?
        enum CodingKeys: String, CodingKey {
            case cpuUsage = "cpu_usage", systemCPUUsage = "system_cpu_usage", onlineCPUs = "online_cpus"
        }
    }
    public struct CPUUsage: Decodable, Sendable {
        public var totalUsage: UInt64?
        public var percpuUsage: [UInt64]?
        enum CodingKeys: String, CodingKey { case totalUsage = "total_usage", percpuUsage = "percpu_usage" }
    }
    public struct MemoryStats: Decodable, Sendable {
        public var usage: UInt64?
        public var limit: UInt64?
        public var stats: [String: UInt64]?
    }
    public struct NetworkStats: Decodable, Sendable {
        public var rxBytes: UInt64?
        public var txBytes: UInt64?
        enum CodingKeys: String, CodingKey { case rxBytes = "rx_bytes", txBytes = "tx_bytes" }
    }
    public struct BlkioStats: Decodable, Sendable {
        public var ioServiceBytesRecursive: [BlkioEntry]?
        enum CodingKeys: String, CodingKey { case ioServiceBytesRecursive = "io_service_bytes_recursive" }
    }
    public struct BlkioEntry: Decodable, Sendable {
        public var op: String?
        public var value: UInt64?
    }
    public struct PidsStats: Decodable, Sendable {
        public var current: Int?
    }
}

/// `GET /info` (the parts used).
public struct SystemInfo: Decodable, Sendable {
    public var runtimes: [String: EmptyObjectLenient]?
    public var serverVersion: String?
    public var osType: String?
    public var architecture: String?
    enum CodingKeys: String, CodingKey {
        case runtimes = "Runtimes", serverVersion = "ServerVersion", osType = "OSType", architecture = "Architecture"
    }
}

/// Any JSON object, contents ignored.
public struct EmptyObjectLenient: Decodable, Sendable {
    public init(from decoder: any Decoder) throws {}
}

/// `GET /version`.
public struct SystemVersion: Decodable, Sendable {
    public var version: String?
    public var apiVersion: String?
    public var os: String?
    public var arch: String?
    /// The engine's parts; Podman's service names one "Podman Engine".
    public var components: [Component]?
    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", os = "Os", arch = "Arch", components = "Components"
    }
    /// One of `Components`.
    public struct Component: Decodable, Sendable {
        public var name: String?
        enum CodingKeys: String, CodingKey { case name = "Name" }
    }
    /// Whether the engine is Podman's Docker-compatible service.
    public var isPodman: Bool { components?.contains { $0.name == "Podman Engine" } == true }
}

/// One line of `POST /images/create` progress.
public struct PullProgress: Decodable, Sendable {
    public var status: String?
    public var id: String?
    public var progressDetail: Detail?
    public var error: String?
    public var errorDetail: ErrorDetail?
    public struct Detail: Decodable, Sendable {
        public var current: Int64?
        public var total: Int64?
    }
    public struct ErrorDetail: Decodable, Sendable {
        public var message: String?
    }
}

/// `GET /images/{name}/json` (the parts used).
public struct ImageInspect: Decodable, Sendable {
    public var id: String
    public var config: Config?
    enum CodingKeys: String, CodingKey { case id = "Id", config = "Config" }
    public struct Config: Decodable, Sendable {
        public var entrypoint: [String]?
        /// The image's default command (`CMD`; for a snapshot, the committed node's command).
        public var cmd: [String]?
        /// The user the image runs as (`USER` in its Dockerfile); empty or absent for root.
        public var user: String?
        /// The image's labels (a snapshot's carry its owner and node).
        public var labels: [String: String]?
        enum CodingKeys: String, CodingKey { case entrypoint = "Entrypoint", cmd = "Cmd", user = "User", labels = "Labels" }
    }
}

/// One entry of `GET /images/json`.
public struct ImageSummary: Decodable, Sendable {
    /// `sha256:<hex>` (Podman: the bare hex).
    public var id: String
    /// `repository:tag` names.
    public var repoTags: [String]?
    /// Seconds since the epoch.
    public var created: Int64?
    /// Bytes.
    public var size: Int64?
    /// The image's labels.
    public var labels: [String: String]?
    enum CodingKeys: String, CodingKey { case id = "Id", repoTags = "RepoTags", created = "Created", size = "Size", labels = "Labels" }
}

/// One line of `GET /events`.
public struct EventMessage: Decodable, Sendable {
    /// `container`, `image`, `volume`, …
    public var type: String?
    /// `start`, `die`, `exec_start: sh -c …`, …
    public var action: String?
    /// What the event is about.
    public var actor: Actor?
    /// Seconds since the epoch.
    public var time: Int64?
    /// Nanoseconds since the epoch.
    public var timeNano: Int64?
    /// What the event is about: its id, and (for a container) its labels and more.
    public struct Actor: Decodable, Sendable {
        /// The object's full id.
        public var id: String?
        /// A container's labels, its `name`, `image`, and for `die` its `exitCode`.
        public var attributes: [String: String]?
        enum CodingKeys: String, CodingKey { case id = "ID", attributes = "Attributes" }
    }
    enum CodingKeys: String, CodingKey { case type = "Type", action = "Action", actor = "Actor", time, timeNano }
}

/// `GET /volumes`.
public struct VolumeListResponse: Decodable, Sendable {
    /// The volumes (null when there are none).
    public var volumes: [Volume]?
    enum CodingKeys: String, CodingKey { case volumes = "Volumes" }
}

/// One volume of `GET /volumes`.
public struct Volume: Decodable, Sendable {
    /// The volume's name.
    public var name: String
    /// The volume's labels.
    public var labels: [String: String]?
    enum CodingKeys: String, CodingKey { case name = "Name", labels = "Labels" }
}

/// `POST /volumes/create`.
struct VolumeCreateBody: Encodable {
    var name: String
    var labels: [String: String]
    enum CodingKeys: String, CodingKey { case name = "Name", labels = "Labels" }
}

/// `POST /commit`'s body: the new image's config (only its labels are set).
struct CommitBody: Encodable {
    var labels: [String: String]
    enum CodingKeys: String, CodingKey { case labels = "Labels" }
}

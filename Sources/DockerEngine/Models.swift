// The parts of the Engine API's bodies the worker reads and writes (see swagger.yaml).
// Property names follow Swift; coding keys follow the engine.

/// `GET /containers/{id}/json`.
public struct ContainerInspect: Decodable, Sendable {
    /// `Id`: the container's full id (64 hex digits).
    public var id: String
    /// `Name`: the container's name with a leading `/`.
    public var name: String
    /// `Created`: when the container was created (RFC 3339 with nanoseconds).
    public var created: String?
    /// `Image`: the id of the image it was created from, `sha256:<hex>`.
    public var image: String?
    /// `Config`: the container's configuration.
    public var config: Config?
    /// `State`: whether and how it runs.
    public var state: State?
    /// `HostConfig`: the host-side settings.
    public var hostConfig: HostConfig?
    /// `NetworkSettings`: published ports and attached networks.
    public var networkSettings: NetworkSettings?
    /// `Mounts`: the volumes and bind mounts in the container.
    public var mounts: [Mount]?
    /// The execs the engine keeps for the container (running ones, and recently ended ones).
    public var execIDs: [String]?

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", created = "Created", image = "Image", config = "Config", state = "State"
        case hostConfig = "HostConfig", networkSettings = "NetworkSettings", mounts = "Mounts", execIDs = "ExecIDs"
    }

    /// `Config`.
    public struct Config: Decodable, Sendable {
        /// `Image`: the image reference as given at create.
        public var image: String?
        /// `Hostname`: the container's host name.
        public var hostname: String?
        /// `Labels`: the container's labels (key to value).
        public var labels: [String: String]?
        /// `ExposedPorts`: `"<port>/<tcp|udp>"` to `{}`.
        public var exposedPorts: [String: EmptyObject]?
        /// `Tty`: whether the main process has a pseudo-terminal.
        public var tty: Bool?
        /// The user the container runs as; empty for root.
        public var user: String?
        enum CodingKeys: String, CodingKey {
            case image = "Image", hostname = "Hostname", labels = "Labels", exposedPorts = "ExposedPorts", tty = "Tty", user = "User"
        }
    }

    /// `State`.
    public struct State: Decodable, Sendable {
        /// `Status`: `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
        public var status: String?
        /// `Running`: true while running, also when paused.
        public var running: Bool?
        /// `Paused`: whether the container is paused.
        public var paused: Bool?
        /// `OOMKilled`: whether the kernel's OOM killer ended the main process.
        public var oomKilled: Bool?
        /// `Pid`: the main process's pid on the host; 0 when not running.
        public var pid: Int?
        /// `ExitCode`: the main process's last exit code.
        public var exitCode: Int?
        /// `Error`: the engine's error text about the last start or end; empty when none.
        public var error: String?
        /// `StartedAt`: when it last started (RFC 3339 with nanoseconds; `0001-01-01T00:00:00Z` when never).
        public var startedAt: String?
        /// `FinishedAt`: when it last ended (RFC 3339 with nanoseconds; `0001-01-01T00:00:00Z` when never).
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
            /// `Status`: `starting`, `healthy` or `unhealthy`.
            public var status: String?
            enum CodingKeys: String, CodingKey { case status = "Status" }
        }
    }

    /// `HostConfig` (the parts read back).
    public struct HostConfig: Decodable, Sendable {
        /// `NetworkMode`: `bridge`, `host`, `none`, `container:<id>` or a network name.
        public var networkMode: String?
        enum CodingKeys: String, CodingKey { case networkMode = "NetworkMode" }
    }

    /// `NetworkSettings`.
    public struct NetworkSettings: Decodable, Sendable {
        /// `Ports`: `"<port>/<tcp|udp>"` to its host bindings; null for an exposed port that is not published.
        public var ports: [String: [PortBinding]?]?
        /// `Networks`: network name to the container's endpoint on it.
        public var networks: [String: EndpointSettings]?
        enum CodingKeys: String, CodingKey { case ports = "Ports", networks = "Networks" }
    }

    /// One network the container is attached to.
    public struct EndpointSettings: Decodable, Sendable {
        /// `IPAddress`: the container's IPv4 address on that network; empty when none.
        public var ipAddress: String?
        enum CodingKeys: String, CodingKey { case ipAddress = "IPAddress" }
    }

    /// One mount.
    public struct Mount: Decodable, Sendable {
        /// `Type`: `bind`, `volume`, `tmpfs`, `npipe` or `cluster`.
        public var type: String?
        /// `Name`: the volume's name (volume mounts only).
        public var name: String?
        /// `Source`: the path on the host (for a volume, its data folder).
        public var source: String?
        /// `Destination`: the path in the container.
        public var destination: String
        enum CodingKeys: String, CodingKey {
            case type = "Type", name = "Name", source = "Source", destination = "Destination"
        }
    }
}

/// A host binding of a container port.
public struct PortBinding: Codable, Sendable, Equatable {
    /// `HostIp`: the host address bound; empty or nil: every address.
    public var hostIp: String?
    /// `HostPort`: the host port as decimal text; empty or nil (on create): the engine chooses.
    public var hostPort: String?
    /// A binding of `hostPort` (decimal text) on `hostIp` (nil: every address).
    public init(hostIp: String? = nil, hostPort: String?) {
        self.hostIp = hostIp
        self.hostPort = hostPort
    }
    enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
}

/// `{}` on the wire.
public struct EmptyObject: Codable, Sendable, Equatable {
    /// The empty object.
    public init() {}
}

/// One entry of `GET /containers/json`.
public struct ContainerSummary: Decodable, Sendable {
    /// `Id`: the container's full id.
    public var id: String
    /// `Names`: its names, each with a leading `/`.
    public var names: [String]?
    /// `Labels`: its labels (key to value).
    public var labels: [String: String]?
    /// `State`: `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    public var state: String?
    /// `Image`: the image reference it was created with.
    public var image: String?
    enum CodingKeys: String, CodingKey { case id = "Id", names = "Names", labels = "Labels", state = "State", image = "Image" }
}

/// `POST /containers/create`.
public struct ContainerCreateBody: Encodable, Sendable {
    /// `Image`: the image reference or id to create from.
    public var image: String
    /// `Cmd`: the command as argv; nil: the image's `CMD`.
    public var cmd: [String]?
    /// `Entrypoint`: as argv; nil: the image's; `[]` clears it.
    public var entrypoint: [String]?
    /// `Env`: the environment as `"K=V"` strings, in order.
    public var env: [String]?
    /// `User`: `user[:group]` by name or id; nil: the image's.
    public var user: String?
    /// `WorkingDir`: the working directory; nil: the image's.
    public var workingDir: String?
    /// `Hostname`: the container's host name; nil: the engine's default (the id's first 12 digits).
    public var hostname: String?
    /// `Labels`: the container's labels (key to value).
    public var labels: [String: String]
    /// `ExposedPorts`: `"<port>/<tcp|udp>"` to `{}`.
    public var exposedPorts: [String: EmptyObject]?
    /// `HostConfig`: the host-side settings.
    public var hostConfig: HostConfig

    /// A body with the image, labels and host settings; every other member unset.
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
        /// `NanoCpus`: the CPU quota in units of 10⁻⁹ CPUs (cores × 1e9).
        public var nanoCpus: Int64?
        /// `Memory`: the memory limit in bytes.
        public var memory: Int64?
        /// `PortBindings`: `"<port>/<tcp|udp>"` to its host bindings.
        public var portBindings: [String: [PortBinding]]?
        /// `NetworkMode`: `bridge`, `host`, `none`, `container:<id>` or a network name.
        public var networkMode: String?
        /// `CapAdd`: kernel capabilities to add, e.g. `NET_ADMIN`.
        public var capAdd: [String]?
        /// `Devices`: host devices to map into the container.
        public var devices: [DeviceMapping]?
        /// `DeviceRequests`: devices to request from a driver (GPUs).
        public var deviceRequests: [DeviceRequest]?
        /// `Mounts`: volumes and bind mounts.
        public var mounts: [MountSpec]?
        /// Run an init process as PID 1 that reaps orphans (`docker run --init`).
        public var `init`: Bool?
        /// `PidsLimit`: the most processes in the container; nil: unlimited.
        public var pidsLimit: Int64?
        /// `CapDrop`: kernel capabilities to drop, e.g. `ALL`.
        public var capDrop: [String]?
        /// `SecurityOpt`: options such as `no-new-privileges`.
        public var securityOpt: [String]?
        /// `ReadonlyRootfs`: mount the root filesystem read-only.
        public var readonlyRootfs: Bool?
        /// Mount point to tmpfs options.
        public var tmpfs: [String: String]?
        /// `Runtime`: the OCI runtime, e.g. `runsc`; nil: the engine's default.
        public var runtime: String?
        /// Host settings with every member unset.
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
        /// `PathOnHost`: the device on the host, e.g. `/dev/net/tun`.
        public var pathOnHost: String
        /// `PathInContainer`: where it appears in the container.
        public var pathInContainer: String
        /// `CgroupPermissions`: cgroup access, a combination of `r`, `w` and `m` (e.g. `rwm`).
        public var cgroupPermissions: String
        /// A mapping of `pathOnHost` to `pathInContainer` with the cgroup permissions `cgroupPermissions` (e.g. `rwm`).
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
        /// `Driver`: the device driver, e.g. `nvidia`.
        public var driver: String
        /// `Count`: how many devices; -1: all.
        public var count: Int
        /// `Capabilities`: alternatives (OR) of capability sets (AND), e.g. `[["gpu"]]`.
        public var capabilities: [[String]]
        /// A request for `count` devices of `driver` having one of the `capabilities` sets.
        public init(driver: String, count: Int, capabilities: [[String]]) {
            self.driver = driver
            self.count = count
            self.capabilities = capabilities
        }
        enum CodingKeys: String, CodingKey { case driver = "Driver", count = "Count", capabilities = "Capabilities" }
    }

    /// A volume or bind mount.
    public struct MountSpec: Encodable, Sendable, Equatable {
        /// `Type`: `volume`, `bind` or `tmpfs`.
        public var type: String
        /// `Source`: the volume name or host path; nil for an anonymous volume.
        public var source: String?
        /// `Target`: the path in the container.
        public var target: String
        /// `ReadOnly`: mount read-only; nil: read-write.
        public var readOnly: Bool?
        /// `VolumeOptions`: options of a volume the engine creates; nil: none.
        public var volumeOptions: VolumeOptions?
        /// A mount of `source` (nil: an anonymous volume) at `target`, of `type` (`volume`, `bind` or `tmpfs`).
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
        /// `Labels`: the labels the new volume gets.
        public var labels: [String: String]
        /// Options giving a new volume `labels`.
        public init(labels: [String: String]) { self.labels = labels }
        enum CodingKeys: String, CodingKey { case labels = "Labels" }
    }
}

/// `POST /containers/create` answer, `POST /commit` answer, `POST /containers/{id}/exec` answer.
public struct IDResponse: Decodable, Sendable {
    /// `Id`: the id of what was created (container, image or exec).
    public var id: String
    enum CodingKeys: String, CodingKey { case id = "Id" }
}

/// `POST /containers/{id}/exec`.
public struct ExecCreateBody: Encodable, Sendable {
    /// `Cmd`: the command as argv.
    public var cmd: [String]
    /// `Env`: extra environment as `"K=V"` strings, in order.
    public var env: [String]?
    /// `WorkingDir`: the working directory; nil: the container's.
    public var workingDir: String?
    /// `User`: `user[:group]` by name or id; nil: the container's.
    public var user: String?
    /// `AttachStdout`: attach the command's stdout.
    public var attachStdout = true
    /// `AttachStderr`: attach the command's stderr.
    public var attachStderr = true
    /// `AttachStdin`: attach the command's stdin.
    public var attachStdin: Bool?
    /// `Tty`: run the command on a pseudo-terminal.
    public var tty: Bool?
    /// A body for `cmd` that attaches stdout and stderr.
    public init(cmd: [String]) { self.cmd = cmd }
    enum CodingKeys: String, CodingKey {
        case cmd = "Cmd", env = "Env", workingDir = "WorkingDir", user = "User", attachStdout = "AttachStdout"
        case attachStderr = "AttachStderr", attachStdin = "AttachStdin", tty = "Tty"
    }
}

/// `GET /exec/{id}/json`.
public struct ExecInspect: Decodable, Sendable {
    /// `Running`: whether the exec runs.
    public var running: Bool
    /// `ExitCode`: its exit code once it ended; nil while it runs.
    public var exitCode: Int?
    /// `Pid`: its process's pid on the host; 0 when it never started.
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
        /// `entrypoint`: the program.
        public var entrypoint: String?
        /// `arguments`: the arguments after it.
        public var arguments: [String]?
        /// `user`: the user it runs as; empty: the container's.
        public var user: String?
        /// `tty`: whether it runs on a pseudo-terminal.
        public var tty: Bool?
    }
}

/// `GET /containers/{id}/stats`.
public struct ContainerStats: Decodable, Sendable {
    /// `read`: when the engine read the figures (RFC 3339 with nanoseconds).
    public var read: String?
    /// `cpu_stats`: CPU use at `read`.
    public var cpuStats: CPUStats?
    /// `precpu_stats`: CPU use at the previous read (zero in a one-shot read's first sample).
    public var precpuStats: CPUStats?
    /// `memory_stats`: memory use.
    public var memoryStats: MemoryStats?
    /// `networks`: interface name to its counters.
    public var networks: [String: NetworkStats]?
    /// `blkio_stats`: block I/O counters.
    public var blkioStats: BlkioStats?
    /// `pids_stats`: process counts.
    public var pidsStats: PidsStats?
    enum CodingKeys: String, CodingKey {
        case read, cpuStats = "cpu_stats", precpuStats = "precpu_stats", memoryStats = "memory_stats", networks
        case blkioStats = "blkio_stats", pidsStats = "pids_stats"
    }

    /// CPU figures of one read.
    public struct CPUStats: Decodable, Sendable {
        /// `cpu_usage`: the container's CPU time.
        public var cpuUsage: CPUUsage?
        /// `system_cpu_usage`: the host's cumulative CPU time in nanoseconds.
        public var systemCPUUsage: UInt64?
        /// `online_cpus`: the CPUs the container can use.
        public var onlineCPUs: Int?
        enum CodingKeys: String, CodingKey {
            case cpuUsage = "cpu_usage", systemCPUUsage = "system_cpu_usage", onlineCPUs = "online_cpus"
        }
    }
    /// The container's cumulative CPU time.
    public struct CPUUsage: Decodable, Sendable {
        /// `total_usage`: total CPU time in nanoseconds.
        public var totalUsage: UInt64?
        /// `percpu_usage`: CPU time per core in nanoseconds (cgroup v1 only).
        public var percpuUsage: [UInt64]?
        enum CodingKeys: String, CodingKey { case totalUsage = "total_usage", percpuUsage = "percpu_usage" }
    }
    /// Memory figures of one read.
    public struct MemoryStats: Decodable, Sendable {
        /// `usage`: memory in use in bytes, page cache included.
        public var usage: UInt64?
        /// `limit`: the memory limit in bytes (the host's memory when unlimited).
        public var limit: UInt64?
        /// `stats`: the cgroup's `memory.stat` counters in bytes, e.g. `total_inactive_file` (v1), `inactive_file` (v2).
        public var stats: [String: UInt64]?
    }
    /// One network interface's counters.
    public struct NetworkStats: Decodable, Sendable {
        /// `rx_bytes`: bytes received.
        public var rxBytes: UInt64?
        /// `tx_bytes`: bytes sent.
        public var txBytes: UInt64?
        enum CodingKeys: String, CodingKey { case rxBytes = "rx_bytes", txBytes = "tx_bytes" }
    }
    /// Block I/O figures.
    public struct BlkioStats: Decodable, Sendable {
        /// `io_service_bytes_recursive`: bytes per device and operation; nil on some cgroup v2 engines.
        public var ioServiceBytesRecursive: [BlkioEntry]?
        enum CodingKeys: String, CodingKey { case ioServiceBytesRecursive = "io_service_bytes_recursive" }
    }
    /// One block I/O counter.
    public struct BlkioEntry: Decodable, Sendable {
        /// `op`: the operation, `read`/`Read` or `write`/`Write` (case differs by cgroup version).
        public var op: String?
        /// `value`: bytes.
        public var value: UInt64?
    }
    /// Process counts.
    public struct PidsStats: Decodable, Sendable {
        /// `current`: processes in the container now.
        public var current: Int?
    }
}

/// `GET /info` (the parts used).
public struct SystemInfo: Decodable, Sendable {
    /// `Runtimes`: the OCI runtimes the engine knows, by name (e.g. `runc`, `nvidia`).
    public var runtimes: [String: EmptyObjectLenient]?
    /// `ServerVersion`: the engine's version.
    public var serverVersion: String?
    /// `OSType`: `linux` or `windows`.
    public var osType: String?
    /// `Architecture`: the host's CPU architecture, e.g. `x86_64`.
    public var architecture: String?
    enum CodingKeys: String, CodingKey {
        case runtimes = "Runtimes", serverVersion = "ServerVersion", osType = "OSType", architecture = "Architecture"
    }
}

/// Any JSON object, contents ignored.
public struct EmptyObjectLenient: Decodable, Sendable {
    /// Accepts any value, reading nothing.
    public init(from decoder: any Decoder) throws {}
}

/// `GET /version`.
public struct SystemVersion: Decodable, Sendable {
    /// `Version`: the engine's version, e.g. `20.10.24`.
    public var version: String?
    /// `ApiVersion`: the newest API version it serves, e.g. `1.41`.
    public var apiVersion: String?
    /// `Os`: the engine's operating system, e.g. `linux`.
    public var os: String?
    /// `Arch`: the engine's CPU architecture, e.g. `amd64`.
    public var arch: String?
    /// The engine's parts; Podman's service names one "Podman Engine".
    public var components: [Component]?
    enum CodingKeys: String, CodingKey {
        case version = "Version", apiVersion = "ApiVersion", os = "Os", arch = "Arch", components = "Components"
    }
    /// One of `Components`.
    public struct Component: Decodable, Sendable {
        /// `Name`: the component's name, e.g. `Engine` or `Podman Engine`.
        public var name: String?
        enum CodingKeys: String, CodingKey { case name = "Name" }
    }
    /// Whether the engine is Podman's Docker-compatible service.
    public var isPodman: Bool { components?.contains { $0.name == "Podman Engine" } == true }
}

/// One line of `POST /images/create` progress.
public struct PullProgress: Decodable, Sendable {
    /// `status`: e.g. `Pulling fs layer`, `Downloading`, `Status: Downloaded newer image for …`.
    public var status: String?
    /// `id`: the layer this line is about; nil for lines about the whole image.
    public var id: String?
    /// `progressDetail`: bytes done and total of a layer.
    public var progressDetail: Detail?
    /// `error`: the failure's text; nil unless the pull failed.
    public var error: String?
    /// `errorDetail`: the failure's details; nil unless the pull failed.
    public var errorDetail: ErrorDetail?
    /// Bytes done and total of a layer's download or extraction.
    public struct Detail: Decodable, Sendable {
        /// `current`: bytes done.
        public var current: Int64?
        /// `total`: bytes in all; nil or 0 when unknown.
        public var total: Int64?
    }
    /// A failed pull's details.
    public struct ErrorDetail: Decodable, Sendable {
        /// `message`: the failure's text.
        public var message: String?
    }
}

/// `GET /images/{name}/json` (the parts used).
public struct ImageInspect: Decodable, Sendable {
    /// `Id`: the image id, `sha256:<64 hex>`.
    public var id: String
    /// `Config`: the image's run configuration.
    public var config: Config?
    enum CodingKeys: String, CodingKey { case id = "Id", config = "Config" }
    /// The image's run configuration.
    public struct Config: Decodable, Sendable {
        /// `Entrypoint`: the image's entrypoint as argv; nil when none.
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

// The body of `POST /containers/create`: what the worker sets of a container's config and host config.
// Property names follow Swift; coding keys follow the engine (see swagger.yaml).

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

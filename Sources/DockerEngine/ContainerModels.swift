// The parts of the Engine API's container bodies the worker reads and writes (`/containers/…`, `/commit`).
// Property names follow Swift; coding keys follow the engine (see swagger.yaml).

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

/// `POST /containers/create` answer, `POST /commit` answer, `POST /containers/{id}/exec` answer.
public struct IDResponse: Decodable, Sendable {
    /// `Id`: the id of what was created (container, image or exec).
    public var id: String
    enum CodingKeys: String, CodingKey { case id = "Id" }
}

/// `POST /commit`'s body: the new image's config (only its labels are set).
struct CommitBody: Encodable {
    var labels: [String: String]
    enum CodingKeys: String, CodingKey { case labels = "Labels" }
}

// The parts of the Engine API's bodies about the engine itself, its events and volumes (`/info`, `/version`, `/events`, `/volumes`).
// Property names follow Swift; coding keys follow the engine (see swagger.yaml).

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

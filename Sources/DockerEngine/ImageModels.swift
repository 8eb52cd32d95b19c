// The parts of the Engine API's image bodies the worker reads (`/images/…`).
// Property names follow Swift; coding keys follow the engine (see swagger.yaml).

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

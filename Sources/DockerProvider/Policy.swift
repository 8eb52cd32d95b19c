import DockerEngine
import JSONCoding
import JSONRPC

/// The operator's security policy (`initialize`'s `config.policy`, or the JSON file of `--policy`):
/// what nodes may ask for and what every node gets. Every member is optional; an absent member
/// keeps the worker's default behaviour. A node's own `spec.security` may tighten it, never loosen it.
public struct SecurityPolicy: Codable, Sendable, Equatable {
    /// Host bind mounts (`volumes[].source` starting with `/`): `"any"` (default), `"none"`, or an
    /// allow-list of host path prefixes (a source must be a prefix or below one, with no `..`).
    public var bindMounts: BindMounts?
    /// The host address published ports bind to (`HostConfig.PortBindings[].HostIp`), e.g. `127.0.0.1`;
    /// default: every interface.
    public var publishAddress: String?
    /// The most processes a node may hold (`HostConfig.PidsLimit`), at least 1.
    public var pidsLimit: Int?
    /// Capabilities every node drops (`HostConfig.CapDrop`), e.g. `["ALL"]`.
    public var capDrop: [String]?
    /// The capabilities a node may add (`spec.security.capAdd`, tailscale's `NET_ADMIN`); absent: any.
    public var capAdd: [String]?
    /// Whether nodes run with `no-new-privileges` (`HostConfig.SecurityOpt`): setuid binaries gain nothing.
    public var noNewPrivileges: Bool?
    /// Whether nodes' root filesystems are read-only (`HostConfig.ReadonlyRootfs`), with a writable tmpfs on `/tmp`.
    public var readOnlyRootfs: Bool?
    /// The OCI runtime nodes run under (`HostConfig.Runtime`), e.g. `runsc`.
    public var runtime: String?
    /// The user nodes that name none (`spec.runtime.user`) run as, e.g. `65534:65534`.
    public var user: String?
    /// The network modes a node may use (`spec.network.mode`, else `config.network`, else `default`),
    /// e.g. `["none", "bridge"]`; absent: any.
    public var networkModes: [String]?
    /// The most CPU cores a node may ask for; also the limit of a node that asks none.
    public var maxCpuCores: Double?
    /// The most memory in GiB a node may ask for; also the limit of a node that asks none.
    public var maxMemoryGiB: Double?
    /// Whether `files.write` / `files.mkdir` may set mode bits beyond 0o777 (setuid, setgid, sticky). Default false.
    public var allowSpecialModes: Bool?

    /// A policy with every member absent: the worker's default behaviour.
    public init() {}

    /// `"any"`, `"none"` or a list of allowed host path prefixes.
    public enum BindMounts: Codable, Sendable, Equatable {
        case any
        case none
        case prefixes([String])

        /// Reads `"any"`, `"none"` or an array of path prefixes.
        /// - Throws: `DecodingError` for any other value.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let word = try? container.decode(String.self) {
                switch word {
                case "any": self = .any
                case "none": self = .none
                default:
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "must be \"any\", \"none\" or a list of host path prefixes")
                }
            } else {
                self = .prefixes(try container.decode([String].self))
            }
        }

        /// Writes `"any"`, `"none"` or the array of prefixes.
        /// - Throws: Whatever `encoder` throws.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .any: try container.encode("any")
            case .none: try container.encode("none")
            case .prefixes(let prefixes): try container.encode(prefixes)
            }
        }
    }

    /// Checks the policy itself: -32602 naming `<prefix>.<member>`.
    /// - Throws: ``InvalidParams``.
    public func validate(prefix: String = "config.policy") throws {
        func fail(_ member: String, _ reason: String) -> InvalidParams { InvalidParams(field: "\(prefix).\(member)", reason: reason) }
        if case .prefixes(let prefixes) = bindMounts {
            for (index, path) in prefixes.enumerated() where !path.hasPrefix("/") || path.split(separator: "/").contains("..") {
                throw fail("bindMounts[\(index)]", "must be an absolute host path without ..")
            }
        }
        if let publishAddress, publishAddress.isEmpty || publishAddress.contains(where: { $0 == "\0" || $0 == "/" || $0 == " " }) {
            throw fail("publishAddress", "must be a host IP address")
        }
        if let pidsLimit, pidsLimit < 1 { throw fail("pidsLimit", "must be at least 1") }
        for (member, list) in [("capDrop", capDrop), ("capAdd", capAdd), ("networkModes", networkModes)] {
            if let list, list.contains(where: { $0.isEmpty || $0.contains("\0") }) {
                throw fail(member, "entries must be non-empty and contain no NUL")
            }
        }
        for (member, value) in [("runtime", runtime), ("user", user)] where value?.isEmpty == true || value?.contains("\0") == true {
            throw fail(member, "must be non-empty and contain no NUL")
        }
        if let maxCpuCores, !(maxCpuCores > 0) { throw fail("maxCpuCores", "must be positive") }
        if let maxMemoryGiB, !(maxMemoryGiB > 0) { throw fail("maxMemoryGiB", "must be positive") }
    }

    /// A capability name as the engine compares it: upper case, without `CAP_`.
    static func capability(_ name: String) -> String {
        let upper = name.uppercased()
        return upper.hasPrefix("CAP_") ? String(upper.dropFirst(4)) : upper
    }
}

extension CreateBodyBuilder {
    /// Checks `spec` against the policy: -32602 naming the field and the rule, before any engine call.
    func checkPolicy(_ spec: NodeSpec, prefix: String) throws {
        func refuse(_ field: String, _ rule: String, _ reason: String) -> InvalidParams {
            InvalidParams(field: "\(prefix).\(field)", reason: "\(reason) (policy.\(rule))")
        }
        let security = spec.security
        for (index, volume) in (spec.volumes ?? []).enumerated() {
            guard let source = volume.source, source.hasPrefix("/") else { continue }
            switch policy.bindMounts ?? .any {
            case .any: break
            case .none: throw refuse("volumes[\(index)].source", "bindMounts", "host bind mounts are not allowed")
            case .prefixes(let prefixes):
                let components = source.split(separator: "/")
                let allowed =
                    !components.contains("..") && !components.contains(".")
                    && prefixes.contains { prefix in
                        let prefixComponents = prefix.split(separator: "/")
                        return components.starts(with: prefixComponents)
                    }
                if !allowed {
                    throw refuse(
                        "volumes[\(index)].source", "bindMounts", "host path is outside the allowed prefixes \(prefixes)")
                }
            }
        }
        if let maxCpuCores = policy.maxCpuCores, let cores = spec.cpu?.cores, cores > maxCpuCores {
            throw refuse("cpu.cores", "maxCpuCores", "asks more than the \(maxCpuCores) cores allowed")
        }
        if let maxMemoryGiB = policy.maxMemoryGiB, let size = spec.memory?.sizeGiB, size > maxMemoryGiB {
            throw refuse("memory.sizeGiB", "maxMemoryGiB", "asks more than the \(maxMemoryGiB) GiB allowed")
        }
        if let allowed = policy.networkModes {
            let mode = spec.network?.mode ?? network ?? "default"
            if !allowed.contains(mode) {
                let field = spec.network?.mode != nil ? "network.mode" : "network"
                throw refuse(field, "networkModes", "network mode \(mode) is not among \(allowed)")
            }
        }
        if let allowed = policy.capAdd.map({ Set($0.map(SecurityPolicy.capability)) }) {
            for (index, capability) in (security?.capAdd ?? []).enumerated() where !allowed.contains(SecurityPolicy.capability(capability))
            {
                throw refuse("security.capAdd[\(index)]", "capAdd", "capability \(capability) is not allowed")
            }
            if spec.wantsTailscale, !allowed.contains("NET_ADMIN") {
                throw refuse("network.tailscale", "capAdd", "tailscale needs NET_ADMIN, which is not allowed")
            }
        }
        if let limit = policy.pidsLimit, let asked = security?.pidsLimit, asked > limit {
            throw refuse("security.pidsLimit", "pidsLimit", "asks more than the \(limit) processes allowed")
        }
        if policy.noNewPrivileges == true, security?.noNewPrivileges == false {
            throw refuse("security.noNewPrivileges", "noNewPrivileges", "may not be turned off")
        }
        if policy.readOnlyRootfs == true, security?.readOnlyRootfs == false {
            throw refuse("security.readOnlyRootfs", "readOnlyRootfs", "may not be turned off")
        }
        if let pids = security?.pidsLimit, pids < 1 {
            throw InvalidParams(field: "\(prefix).security.pidsLimit", reason: "must be at least 1")
        }
        for (member, list) in [("capAdd", security?.capAdd), ("capDrop", security?.capDrop)] {
            if let list, list.contains(where: { $0.isEmpty || $0.contains("\0") }) {
                throw InvalidParams(field: "\(prefix).security.\(member)", reason: "entries must be non-empty and contain no NUL")
            }
        }
        if let mode = spec.network?.mode, mode.isEmpty || mode.contains("\0") {
            throw InvalidParams(field: "\(prefix).network.mode", reason: "must be a network mode or network name")
        }
    }

    /// Applies the policy and the node's own `spec.security` to a create body.
    func applyPolicy(_ spec: NodeSpec, to body: inout ContainerCreateBody) {
        let security = spec.security
        if let address = policy.publishAddress, var bindings = body.hostConfig.portBindings {
            for key in bindings.keys { bindings[key] = bindings[key]?.map { PortBinding(hostIp: address, hostPort: $0.hostPort) } }
            body.hostConfig.portBindings = bindings
        }
        if let limit = [policy.pidsLimit, security?.pidsLimit].compactMap({ $0 }).min() { body.hostConfig.pidsLimit = Int64(limit) }
        let drops = (policy.capDrop ?? []) + (security?.capDrop ?? [])
        if !drops.isEmpty { body.hostConfig.capDrop = drops }
        let adds = (body.hostConfig.capAdd ?? []) + (security?.capAdd ?? [])
        if !adds.isEmpty { body.hostConfig.capAdd = adds }
        if policy.noNewPrivileges == true || security?.noNewPrivileges == true {
            body.hostConfig.securityOpt = ["no-new-privileges"]
        }
        if policy.readOnlyRootfs == true || security?.readOnlyRootfs == true {
            body.hostConfig.readonlyRootfs = true
            body.hostConfig.tmpfs = ["/tmp": "rw,nosuid,nodev,mode=1777"]
        }
        if let runtime = policy.runtime { body.hostConfig.runtime = runtime }
        if body.user == nil, let user = policy.user { body.user = user }
        if let cores = policy.maxCpuCores, spec.cpu == nil { body.hostConfig.nanoCpus = Int64((cores * 1e9).rounded()) }
        if let size = policy.maxMemoryGiB, spec.memory == nil { body.hostConfig.memory = Int64((size * 1_073_741_824).rounded()) }
        if let mode = spec.network?.mode { body.hostConfig.networkMode = mode }
    }
}

import DockerEngine

/// Reads a node's endpoints from the engine's view of its container.
enum EndpointExtractor {
    /// Networks that give no name-based reachability (`podman` is Podman's default network, which,
    /// like Docker's `bridge`, resolves no container names).
    static let unnamedNetworks: Set<String> = ["bridge", "host", "none", "default", "podman"]

    /// Host-published ports as `localhost` endpoints, and on named networks one
    /// `docker-internal` endpoint per exposed port.
    static func endpoints(of container: ContainerInspect) -> [Endpoint] {
        let ports = container.networkSettings?.ports ?? [:]
        var exposed = Set(ports.keys)
        exposed.formUnion(container.config?.exposedPorts?.keys ?? [:].keys)
        let sortedKeys = exposed.compactMap(parsePortKey).sorted { ($0.port, $0.proto) < ($1.port, $1.proto) }

        var result: [Endpoint] = []
        for key in sortedKeys {
            var seen = Set<Int>()
            for binding in (ports[key.raw] ?? nil) ?? [] {
                guard let hostPort = binding.hostPort.flatMap(Int.init), hostPort > 0, seen.insert(hostPort).inserted else { continue }
                result.append(Endpoint(type: key.proto, host: "localhost", port: hostPort, containerPort: key.port, url: nil))
            }
        }
        let named = (container.networkSettings?.networks ?? [:]).keys.filter { !unnamedNetworks.contains($0) }
        if !named.isEmpty {
            let name = containerName(container)
            var seen = Set<Int>()
            for key in sortedKeys where seen.insert(key.port).inserted {
                result.append(
                    Endpoint(
                        type: "docker-internal", host: name, port: key.port, containerPort: key.port,
                        url: "http://\(name):\(key.port)"))
            }
        }
        return result
    }

    /// The container's name without the engine's leading slash.
    static func containerName(_ container: ContainerInspect) -> String {
        container.name.hasPrefix("/") ? String(container.name.dropFirst()) : container.name
    }

    private static func parsePortKey(_ raw: String) -> (raw: String, port: Int, proto: String)? {
        let parts = raw.split(separator: "/")
        guard let port = parts.first.flatMap({ Int($0) }) else { return nil }
        return (raw, port, parts.count > 1 ? String(parts[1]) : "tcp")
    }
}

/// Maps the engine's container state to the node status.
enum StatusMapper {
    static func status(_ engineStatus: String?) -> NodeStatus {
        switch engineStatus {
        case "running": .running
        case "paused": .paused
        case "created", "restarting": .starting
        case "exited", "dead": .stopped
        case "removing": .stopping
        default: .stopped
        }
    }
}

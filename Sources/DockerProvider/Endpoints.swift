import DockerEngine

/// Reads a node's endpoints from the engine's view of its container.
enum EndpointExtractor {
    /// Networks that give no name-based reachability (`podman` is Podman's default network, which,
    /// like Docker's `bridge`, resolves no container names).
    static let unnamedNetworks: Set<String> = ["bridge", "host", "none", "default", "podman"]

    /// Host-published ports as endpoints whose `host` reaches this node (``hostAddresses(of:)``), and on named networks one
    /// `docker-internal` endpoint per exposed port.
    static func endpoints(of container: ContainerInspect) -> [Endpoint] {
        let ports = container.networkSettings?.ports ?? [:]
        var exposed = Set(ports.keys)
        exposed.formUnion(container.config?.exposedPorts?.keys ?? [:].keys)
        let sortedKeys = exposed.compactMap(parsePortKey).sorted { ($0.port, $0.proto) < ($1.port, $1.proto) }

        var result: [Endpoint] = []
        for key in sortedKeys {
            for (host, hostPort) in hostAddresses(of: (ports[key.raw] ?? nil) ?? []) {
                result.append(Endpoint(type: key.proto, host: host, port: hostPort, containerPort: key.port, url: nil))
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

    /// The addresses on this host that reach the bindings of one container port, in binding order.
    ///
    /// The engine may give the IPv4 and the IPv6 binding of one port different host ports (it
    /// allocates ephemeral ports per address family), and `localhost:<port>` then reaches whatever
    /// holds that port in the family the client's resolver picks: another node. So a host port
    /// bound on both wildcards is `localhost`; one bound on the IPv4 wildcard only (`0.0.0.0`, or
    /// `""` as Podman writes it) is `127.0.0.1`; on the IPv6 wildcard only (`::`) it is `::1`; a
    /// binding to one address is that address.
    static func hostAddresses(of bindings: [PortBinding]) -> [(host: String, port: Int)] {
        var order: [Int] = []
        var families: [Int: (ipv4: Bool, ipv6: Bool, addresses: [String])] = [:]
        for binding in bindings {
            guard let hostPort = binding.hostPort.flatMap(Int.init), hostPort > 0 else { continue }
            if families[hostPort] == nil {
                order.append(hostPort)
                families[hostPort] = (false, false, [])
            }
            switch binding.hostIp ?? "" {
            case "", "0.0.0.0": families[hostPort]?.ipv4 = true
            case "::": families[hostPort]?.ipv6 = true
            case let address:
                if families[hostPort]?.addresses.contains(address) == false { families[hostPort]?.addresses.append(address) }
            }
        }
        var result: [(host: String, port: Int)] = []
        for hostPort in order {
            guard let family = families[hostPort] else { continue }
            if family.ipv4 && family.ipv6 {
                result.append(("localhost", hostPort))
            } else if family.ipv4 {
                result.append(("127.0.0.1", hostPort))
            } else if family.ipv6 {
                result.append(("::1", hostPort))
            }
            for address in family.addresses { result.append((address, hostPort)) }
        }
        return result
    }

    /// `host:port` for a URL: an IPv6 address in brackets (RFC 3986 § 3.2.2).
    static func authority(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
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

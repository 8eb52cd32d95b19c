import DockerEngine
import Foundation
import Testing

@testable import DockerProvider

private func container(_ json: String) throws -> ContainerInspect {
    try JSONDecoder().decode(ContainerInspect.self, from: Data(json.utf8))
}

private func localhost(_ port: Int, container containerPort: Int, type: String = "tcp") -> Endpoint {
    Endpoint(type: type, host: "localhost", port: port, containerPort: containerPort, url: nil)
}

private func loopback(_ host: String, _ port: Int, container containerPort: Int, type: String = "tcp") -> Endpoint {
    Endpoint(type: type, host: host, port: port, containerPort: containerPort, url: nil)
}

private func dockerInternal(_ name: String, _ port: Int) -> Endpoint {
    Endpoint(type: "docker-internal", host: name, port: port, containerPort: port, url: "http://\(name):\(port)")
}

@Suite("EndpointExtractor")
struct EndpointExtractorTests {
    @Test func ipv4OnlyPortIsReachedAt127001() throws {
        // The seed's default inspect mock: bound on IPv4 only, so "localhost" would reach nothing
        // (or another node) for a client that resolves it to ::1.
        let inspect = try container(
            #"""
            {"Id":"abc123def456","Name":"/abc","State":{"Status":"running","StartedAt":"2026-01-15T10:00:00.000Z"},
             "NetworkSettings":{"Ports":{"8080/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}}}
            """#)
        #expect(EndpointExtractor.endpoints(of: inspect) == [loopback("127.0.0.1", 8080, container: 8080)])
    }

    @Test func familiesOnDifferentHostPortsGetOneLoopbackEach() throws {
        // What the engine gives when another container holds the next IPv4 ephemeral port.
        let inspect = try container(
            #"""
            {"Id":"a","Name":"/x","NetworkSettings":{"Ports":{"8080/tcp":[
              {"HostIp":"0.0.0.0","HostPort":"32769"},{"HostIp":"::","HostPort":"32768"}]}}}
            """#)
        #expect(
            EndpointExtractor.endpoints(of: inspect) == [
                loopback("127.0.0.1", 32769, container: 8080), loopback("::1", 32768, container: 8080),
            ])
        #expect(EndpointExtractor.authority(host: "::1", port: 32768) == "[::1]:32768")
        #expect(EndpointExtractor.authority(host: "127.0.0.1", port: 32769) == "127.0.0.1:32769")
    }

    @Test func specificAddressesAndIPv6OnlyBindings() throws {
        let inspect = try container(
            #"""
            {"Id":"a","Name":"/x","NetworkSettings":{"Ports":{"80/tcp":[{"HostIp":"::","HostPort":"81"},
              {"HostIp":"192.0.2.7","HostPort":"82"},{"HostIp":"","HostPort":"83"}]}}}
            """#)
        #expect(
            EndpointExtractor.endpoints(of: inspect) == [
                loopback("::1", 81, container: 80), loopback("192.0.2.7", 82, container: 80), loopback("127.0.0.1", 83, container: 80),
            ])
    }

    @Test func ipv4AndIPv6BindingsOfOnePortAreDeduplicated() throws {
        let inspect = try container(
            #"""
            {"Id":"a","Name":"/x","NetworkSettings":{"Ports":{"8080/tcp":[
              {"HostIp":"0.0.0.0","HostPort":"32768"},{"HostIp":"::","HostPort":"32768"}]}}}
            """#)
        #expect(EndpointExtractor.endpoints(of: inspect) == [localhost(32768, container: 8080)])
    }

    @Test func namedNetworkAddsDockerInternalEndpoint() throws {
        // The seed's "includes network-internal endpoints on named networks" mock.
        let inspect = try container(
            #"""
            {"Id":"abc123def456","Name":"/my-service","State":{"Status":"running","StartedAt":"2026-01-15T10:00:00.000Z"},
             "NetworkSettings":{"Ports":{"8080/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]},
                                "Networks":{"swarmhub":{"IPAddress":"172.20.0.5","IPPrefixLen":16}}}}
            """#)
        let endpoints = EndpointExtractor.endpoints(of: inspect)
        #expect(endpoints == [loopback("127.0.0.1", 8080, container: 8080), dockerInternal("my-service", 8080)])
        let internalEndpoint = try #require(endpoints.first { $0.type == "docker-internal" })
        #expect(internalEndpoint.host == "my-service")
        #expect(internalEndpoint.url == "http://my-service:8080")
    }

    @Test(arguments: ["bridge", "host", "none", "default"])
    func unnamedNetworksGiveNoInternalEndpoint(network: String) throws {
        let inspect = try container(
            #"""
            {"Id":"a","Name":"/svc","NetworkSettings":{"Ports":{"8080/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]},
             "Networks":{"\#(network)":{"IPAddress":"172.17.0.2"}}}}
            """#)
        let endpoints = EndpointExtractor.endpoints(of: inspect)
        #expect(endpoints.filter { $0.type == "docker-internal" }.isEmpty)
        #expect(endpoints == [loopback("127.0.0.1", 8080, container: 8080)])
    }

    @Test func unpublishedAndExposedPortsReachableOnlyInside() throws {
        let inspect = try container(
            #"""
            {"Id":"a","Name":"/db","Config":{"ExposedPorts":{"5432/tcp":{}}},
             "NetworkSettings":{"Ports":{"6379/tcp":null,"9000/tcp":[]},"Networks":{"swarmhub":{}}}}
            """#)
        #expect(
            EndpointExtractor.endpoints(of: inspect) == [
                dockerInternal("db", 5432), dockerInternal("db", 6379), dockerInternal("db", 9000),
            ])
    }

    @Test func unassignedHostPortsAreSkipped() throws {
        let inspect = try container(
            #"""
            {"Id":"a","Name":"/x","NetworkSettings":{"Ports":{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":""},{"HostPort":"0"},{"HostIp":"0.0.0.0"}]}}}
            """#)
        #expect(EndpointExtractor.endpoints(of: inspect).isEmpty)
    }

    @Test func portsAreSortedAndUDPIsTyped() throws {
        let inspect = try container(
            #"""
            {"Id":"a","Name":"/x","NetworkSettings":{"Ports":{
              "8080/tcp":[{"HostPort":"18080"}],"53/udp":[{"HostPort":"5353"}],"53/tcp":[{"HostPort":"5354"}]},
             "Networks":{"mesh":{}}}}
            """#)
        #expect(
            EndpointExtractor.endpoints(of: inspect) == [
                loopback("127.0.0.1", 5354, container: 53), loopback("127.0.0.1", 5353, container: 53, type: "udp"),
                loopback("127.0.0.1", 18080, container: 8080),
                dockerInternal("x", 53), dockerInternal("x", 8080),
            ])
    }

    @Test func noNetworkSettingsMeansNoEndpoints() throws {
        #expect(EndpointExtractor.endpoints(of: try container(#"{"Id":"a","Name":"/x"}"#)).isEmpty)
    }

    @Test func containerNameDropsTheLeadingSlash() throws {
        #expect(EndpointExtractor.containerName(try container(#"{"Id":"a","Name":"/my-service"}"#)) == "my-service")
        #expect(EndpointExtractor.containerName(try container(#"{"Id":"a","Name":"plain"}"#)) == "plain")
    }
}

@Suite("StatusMapper")
struct StatusMapperTests {
    @Test(
        arguments: [
            ("running", NodeStatus.running),
            ("paused", .paused),
            ("created", .starting),
            ("restarting", .starting),
            ("exited", .stopped),
            ("dead", .stopped),
            ("removing", .stopping),
            ("something-new", .stopped),
        ] as [(String?, NodeStatus)])
    func mapsEngineState(engine: String?, expected: NodeStatus) {
        #expect(StatusMapper.status(engine) == expected)
    }

    @Test func missingStateIsStopped() {
        #expect(StatusMapper.status(nil) == .stopped)
    }
}

import DockerEngine
import DockerProvider
import Foundation
import JSONCoding
import JSONRPC
import Testing

// Mirrors the create-body mapping cases of the seed suite (docker-provider.test.ts, "provision"),
// checked on the wire: the body is encoded and read back as untyped JSON.

private func spec(_ json: String) throws -> NodeSpec {
    try MethodTable.decodeParams(NodeSpec.self, try JSONParser.parse(Array(json.utf8)))
}

private let plain = CreateBodyBuilder(network: nil, defaultLabels: [:], gpuAvailable: false)

private func wire(
    _ json: String, image: String = "alpine", nodeID: String = "node-1", builder: CreateBodyBuilder = plain
) throws -> [String: Any] {
    let body = try builder.body(for: try spec(json), image: image, nodeID: nodeID)
    let data = try JSONEncoder().encode(body)
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

private func hostConfig(_ body: [String: Any]) throws -> [String: Any] {
    try #require(body["HostConfig"] as? [String: Any])
}

/// Canonical JSON text of an untyped value (sorted keys), for whole-value comparisons.
private func canonical(_ value: Any?) throws -> String {
    let value = try #require(value)
    let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}

private func number(_ value: Any?) -> Int64? { (value as? NSNumber)?.int64Value }

private func failure(_ json: String, builder: CreateBodyBuilder = plain) throws -> InvalidParams {
    let decoded = try spec(json)
    let error = #expect(throws: InvalidParams.self) { try builder.body(for: decoded, image: "alpine", nodeID: "n") }
    return try #require(error)
}

@Suite("CreateBodyBuilder mapping (seed cases)")
struct CreateBodyBuilderMappingTests {
    @Test func mapsImage() throws {
        #expect(try wire(#"{"runtime":{"image":"node:20"}}"#, image: "node:20")["Image"] as? String == "node:20")
    }

    @Test func mapsCommandToCmd() throws {
        let body = try wire(#"{"runtime":{"image":"alpine","command":["sh","-c","echo hello"]}}"#)
        #expect(body["Cmd"] as? [String] == ["sh", "-c", "echo hello"])
    }

    @Test func defaultsToSleepCommand() throws {
        #expect(try wire(#"{"runtime":{"image":"alpine"}}"#)["Cmd"] as? [String] == ["sh", "-c", "sleep infinity"])
        #expect(try wire("{}")["Cmd"] as? [String] == CreateBodyBuilder.defaultCommand)
    }

    @Test func mapsEnvInOrder() throws {
        let body = try wire(#"{"runtime":{"image":"alpine","env":{"FOO":"bar","BAZ":"qux"}}}"#)
        #expect(body["Env"] as? [String] == ["FOO=bar", "BAZ=qux"])
        let reversed = try wire(#"{"runtime":{"env":{"Z":"1","A":"x=y"}}}"#)
        #expect(reversed["Env"] as? [String] == ["Z=1", "A=x=y"])
        #expect(try wire("{}")["Env"] == nil)
    }

    @Test(arguments: [(4.0, 4_000_000_000), (0.5, 500_000_000), (1.25, 1_250_000_000)] as [(Double, Int64)])
    func mapsCoresToNanoCpus(cores: Double, nanoCpus: Int64) throws {
        let body = try wire(#"{"cpu":{"cores":\#(cores)}}"#)
        #expect(number(try hostConfig(body)["NanoCpus"]) == nanoCpus)
    }

    @Test(arguments: [(2.0, 2 * 1024 * 1024 * 1024), (0.5, 512 * 1024 * 1024)] as [(Double, Int64)])
    func mapsMemoryGiBToBytes(sizeGiB: Double, bytes: Int64) throws {
        let body = try wire(#"{"memory":{"sizeGiB":\#(sizeGiB)}}"#)
        #expect(number(try hostConfig(body)["Memory"]) == bytes)
    }

    @Test func omitsLimitsWhenNotAsked() throws {
        let config = try hostConfig(try wire(#"{"runtime":{"image":"alpine"}}"#))
        for key in ["NanoCpus", "Memory", "DeviceRequests", "PortBindings", "NetworkMode", "CapAdd", "Devices", "Mounts"] {
            #expect(config[key] == nil, "\(key) should be absent")
        }
    }

    @Test func mapsGPUToDeviceRequests() throws {
        let builder = CreateBodyBuilder(network: nil, defaultLabels: [:], gpuAvailable: true)
        let body = try wire(#"{"runtime":{"image":"nvidia/cuda"},"gpu":{"count":2}}"#, builder: builder)
        #expect(try canonical(try hostConfig(body)["DeviceRequests"]) == #"[{"Capabilities":[["gpu"]],"Count":2,"Driver":"nvidia"}]"#)
    }

    @Test func gpuWithoutGPUAvailableThrows() throws {
        let error = try failure(#"{"runtime":{"image":"nvidia/cuda"},"gpu":{"count":1}}"#)
        #expect(error.field == "spec.gpu")
    }

    @Test func gpuCountMustBePositive() throws {
        let builder = CreateBodyBuilder(network: nil, defaultLabels: [:], gpuAvailable: true)
        #expect(try failure(#"{"gpu":{"count":0}}"#, builder: builder).field == "spec.gpu.count")
    }

    @Test func mapsPortBindingsAndExposedPorts() throws {
        let body = try wire(#"{"runtime":{"image":"alpine"},"network":{"ports":[{"port":3000,"protocol":"tcp"}]}}"#)
        #expect(try canonical(try hostConfig(body)["PortBindings"]) == #"{"3000/tcp":[{"HostPort":"3000"}]}"#)
        #expect(try canonical(body["ExposedPorts"]) == #"{"3000/tcp":{}}"#)
    }

    @Test func portProtocolAndHostPort() throws {
        let body = try wire(#"{"network":{"ports":[{"port":53,"protocol":"udp","hostPort":5353},{"port":8080}]}}"#)
        #expect(
            try canonical(try hostConfig(body)["PortBindings"]) == #"{"53/udp":[{"HostPort":"5353"}],"8080/tcp":[{"HostPort":"8080"}]}"#)
        #expect(try canonical(body["ExposedPorts"]) == #"{"53/udp":{},"8080/tcp":{}}"#)
    }

    @Test func hostPortZeroAsksForAnEphemeralPort() throws {
        let body = try wire(#"{"network":{"ports":[{"port":8080,"hostPort":0}]}}"#)
        #expect(try canonical(try hostConfig(body)["PortBindings"]) == #"{"8080/tcp":[{"HostPort":""}]}"#)
    }

    @Test func emptyPortListAddsNothing() throws {
        let body = try wire(#"{"network":{"ports":[]}}"#)
        #expect(body["ExposedPorts"] == nil)
        #expect(try hostConfig(body)["PortBindings"] == nil)
    }

    @Test func appliesManagedAndNodeIDLabels() throws {
        var labels = try #require(try wire(#"{"runtime":{"image":"alpine"}}"#, nodeID: "3f2a")["Labels"] as? [String: String])
        // The spec is recorded for restore, without the name and secrets.
        #expect(labels.removeValue(forKey: "openlattice.spec") == #"{"runtime":{"image":"alpine"}}"#)
        #expect(labels == ["openlattice.managed": "true", "openlattice.node-id": "3f2a"])
    }

    @Test func appliesSpecAndDefaultLabels() throws {
        let builder = CreateBodyBuilder(network: nil, defaultLabels: ["env": "test"], gpuAvailable: false)
        let body = try wire(#"{"runtime":{"image":"alpine"},"labels":{"team":"ml"}}"#, builder: builder)
        let labels = try #require(body["Labels"] as? [String: String])
        #expect(labels["team"] == "ml")
        #expect(labels["env"] == "test")
        #expect(labels["openlattice.managed"] == "true")
        #expect(labels["openlattice.node-id"] == "node-1")
    }

    @Test func theRecordedSpecCarriesNoSecretsNameOrVolumeSources() throws {
        let body = try wire(
            #"{"name":"web","runtime":{"image":"alpine","env":{"A":"1"},"secretEnv":{"TOKEN":"s3cret-value"}},"network":{"tailscaleAuthKey":"tskey-s3cret"},"volumes":[{"source":"/host/path","target":"/data"}]}"#
        )
        let labels = try #require(body["Labels"] as? [String: String])
        for value in labels.values {
            #expect(!value.contains("s3cret"))
            #expect(!value.contains("/host/path"))
        }
        let record = try #require(labels["openlattice.spec"])
        #expect(!record.contains("\"name\""))
        #expect(record.contains("\"target\":\"/data\""))
        #expect(record.contains("\"A\":\"1\""))
    }

    @Test func specCannotOverrideTheWorkersLabels() throws {
        let builder = CreateBodyBuilder(network: nil, defaultLabels: ["env": "prod"], gpuAvailable: false, ownerLabels: ["owner": "w1"])
        // The worker's own openlattice.* labels are refused outright (issue 16); others merge under its labels.
        #expect(throws: InvalidParams.self) {
            try wire(#"{"labels":{"openlattice.managed":"false","openlattice.node-id":"spoof"}}"#, builder: builder)
        }
        let body = try wire(#"{"labels":{"env":"dev","owner":"x"}}"#, builder: builder)
        var labels = try #require(body["Labels"] as? [String: String])
        #expect(labels.removeValue(forKey: "openlattice.spec") != nil)
        #expect(labels == ["openlattice.managed": "true", "openlattice.node-id": "node-1", "env": "prod", "owner": "w1"])
    }

    @Test func setsHostnameFromName() throws {
        #expect(try wire(#"{"name":"my-service","runtime":{"image":"alpine"}}"#)["Hostname"] as? String == "my-service")
        #expect(try wire(#"{"runtime":{"image":"alpine"}}"#)["Hostname"] == nil)
    }

    @Test func mapsUserAndWorkdir() throws {
        let body = try wire(#"{"runtime":{"user":"1000:1000","workdir":"/app"}}"#)
        #expect(body["User"] as? String == "1000:1000")
        #expect(body["WorkingDir"] as? String == "/app")
    }

    @Test func tailscaleAddsCapabilityAndTunDevice() throws {
        let config = try hostConfig(try wire(#"{"runtime":{"image":"tailscale/alpine"},"network":{"tailscale":true}}"#))
        #expect(config["CapAdd"] as? [String] == ["NET_ADMIN"])
        #expect(
            try canonical(config["Devices"])
                == #"[{"CgroupPermissions":"rwm","PathInContainer":"/dev/net/tun","PathOnHost":"/dev/net/tun"}]"#)
    }

    @Test(arguments: [
        #"{"runtime":{"image":"alpine"},"network":{"ports":[{"port":8080}]}}"#,
        #"{"runtime":{"image":"alpine"},"network":{"tailscale":false}}"#,
        #"{"runtime":{"image":"alpine"}}"#,
    ])
    func noTailscaleMeansNoCapabilityOrDevice(json: String) throws {
        let config = try hostConfig(try wire(json))
        #expect(config["CapAdd"] == nil)
        #expect(config["Devices"] == nil)
    }

    @Test func tailscaleCombinesWithPortBindings() throws {
        let config = try hostConfig(
            try wire(#"{"runtime":{"image":"tailscale/alpine"},"network":{"tailscale":true,"ports":[{"port":3000}]}}"#))
        #expect(config["CapAdd"] as? [String] == ["NET_ADMIN"])
        #expect((config["Devices"] as? [Any])?.count == 1)
        #expect(try canonical(config["PortBindings"]) == #"{"3000/tcp":[{"HostPort":"3000"}]}"#)
    }

    @Test func tailscaleAuthKeyAloneAddsCapability() throws {
        let config = try hostConfig(
            try wire(#"{"runtime":{"image":"tailscale/alpine"},"network":{"tailscaleAuthKey":"tskey-auth-abc123"}}"#))
        #expect(config["CapAdd"] as? [String] == ["NET_ADMIN"])
        #expect((config["Devices"] as? [Any])?.count == 1)
    }

    @Test func authKeyNeverReachesTheBody() throws {
        let body = try builderBody(#"{"network":{"tailscaleAuthKey":"tskey-auth-abc123"}}"#)
        #expect(!body.contains("tskey-auth-abc123"))
    }

    private func builderBody(_ json: String) throws -> String {
        let body = try plain.body(for: try spec(json), image: "alpine", nodeID: "n")
        return String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
    }

    @Test func networkModeFromConfiguredNetwork() throws {
        let builder = CreateBodyBuilder(network: "swarmhub", defaultLabels: [:], gpuAvailable: false)
        #expect(try hostConfig(try wire("{}", builder: builder))["NetworkMode"] as? String == "swarmhub")
        #expect(try hostConfig(try wire("{}"))["NetworkMode"] == nil)
    }

    @Test func mapsVolumesToMounts() throws {
        let body = try wire(
            #"{"volumes":[{"source":"/srv/data","target":"/data","readOnly":true},{"source":"cache","target":"/cache"},{"target":"/tmp/x"}]}"#
        )
        let labels = #"{"Labels":{"openlattice.managed":"true","openlattice.node-id":"node-1"}}"#
        #expect(
            try canonical(try hostConfig(body)["Mounts"])
                == #"[{"ReadOnly":true,"Source":"/srv/data","Target":"/data","Type":"bind"},"#
                + #"{"Source":"cache","Target":"/cache","Type":"volume","VolumeOptions":\#(labels)},"#
                + #"{"Target":"/tmp/x","Type":"volume","VolumeOptions":\#(labels)}]"#)
    }
}

@Suite("CreateBodyBuilder validation")
struct CreateBodyBuilderValidationTests {
    @Test(arguments: [
        (#"{"name":"-bad"}"#, "spec.name"),
        (#"{"name":"a"}"#, "spec.name"),
        (#"{"name":"has space"}"#, "spec.name"),
        (#"{"name":"sl/ash"}"#, "spec.name"),
        (#"{"runtime":{"env":{"A=B":"x"}}}"#, "spec.runtime.env.A=B"),
        (#"{"runtime":{"env":{"":"x"}}}"#, "spec.runtime.env."),
        (#"{"runtime":{"env":{"OK":"nul\u0000"}}}"#, "spec.runtime.env.OK"),
        (#"{"runtime":{"command":[]}}"#, "spec.runtime.command"),
        (#"{"runtime":{"command":["a\u0000b"]}}"#, "spec.runtime.command"),
        (#"{"cpu":{"cores":0}}"#, "spec.cpu.cores"),
        (#"{"cpu":{"cores":1e-10}}"#, "spec.cpu.cores"),
        (#"{"memory":{"sizeGiB":1e-12}}"#, "spec.memory.sizeGiB"),
        (#"{"cpu":{"cores":-1}}"#, "spec.cpu.cores"),
        (#"{"memory":{"sizeGiB":0}}"#, "spec.memory.sizeGiB"),
        (#"{"network":{"ports":[{"port":70000}]}}"#, "spec.network.ports[0].port"),
        (#"{"network":{"ports":[{"port":80},{"port":0}]}}"#, "spec.network.ports[1].port"),
        (#"{"network":{"ports":[{"port":80,"hostPort":65536}]}}"#, "spec.network.ports[0].hostPort"),
        (#"{"network":{"ports":[{"port":80,"hostPort":-1}]}}"#, "spec.network.ports[0].hostPort"),
        (#"{"labels":{"":"x"}}"#, "spec.labels"),
        (#"{"volumes":[{"source":"data","target":"relative/path"}]}"#, "spec.volumes[0].target"),
        (#"{"volumes":[{"target":"/ok"},{"source":"","target":"/data"}]}"#, "spec.volumes[1].source"),
    ])
    func invalidSpecNamesTheField(json: String, field: String) throws {
        #expect(try failure(json).field == field)
    }

    @Test func reasonsAreSentences() throws {
        #expect(try failure(#"{"name":"-bad"}"#).reason == "must match [a-zA-Z0-9][a-zA-Z0-9_.-]+")
        #expect(try failure(#"{"runtime":{"env":{"A=B":"x"}}}"#).reason == "env keys must not contain '='")
        #expect(try failure(#"{"network":{"ports":[{"port":70000}]}}"#).reason == "must be between 1 and 65535")
    }

    @Test func customPrefixIsUsed() throws {
        let decoded = try spec(#"{"cpu":{"cores":0}}"#)
        let error = #expect(throws: InvalidParams.self) { try plain.body(for: decoded, image: "a", nodeID: "n", prefix: "params.spec") }
        #expect(error?.field == "params.spec.cpu.cores")
    }

    @Test(arguments: [#"{"name":"my-service"}"#, #"{"name":"a1_b.c-d"}"#, #"{"name":"9x"}"#])
    func validNamesPass(json: String) throws {
        #expect(throws: Never.self) { try plain.body(for: try spec(json), image: "alpine", nodeID: "n") }
    }

    @Test func specDecodingErrorsNameTheField() throws {
        let error = #expect(throws: InvalidParams.self) { try spec(#"{"network":{"ports":[{"port":"80"}]}}"#) }
        #expect(error == InvalidParams(field: "network.ports[0].port", reason: "expected an integer, found a string"))
        let badProtocol = #expect(throws: InvalidParams.self) { try spec(#"{"network":{"ports":[{"port":80,"protocol":"sctp"}]}}"#) }
        #expect(badProtocol?.field == "network.ports[0].protocol")
    }
}

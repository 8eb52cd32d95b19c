import DockerEngine
import Foundation
import JSONCoding
import JSONRPC
import Testing

@testable import DockerProvider

private func spec(_ json: String) throws -> NodeSpec {
    try MethodTable.decodeParams(NodeSpec.self, try JSONParser.parse(Array(json.utf8)))
}

private func policy(_ json: String) throws -> SecurityPolicy {
    try MethodTable.decodeParams(SecurityPolicy.self, try JSONParser.parse(Array(json.utf8)))
}

@Suite("Image references (Docker grammar)")
struct ImageReferenceTests {
    @Test(arguments: [
        "busybox", "busybox:1.36", "library/busybox:latest", "openlattice-test/busybox:latest", "localhost/x", "localhost:5000/a/b:1.0",
        "registry.example.com/team/app_v2:2024-01.1", "a__b", "a--b", "ghcr.io/o/r@sha256:" + String(repeating: "ab", count: 32),
        "busybox:1@sha256:" + String(repeating: "0", count: 64), "sha256:" + String(repeating: "f", count: 64),
        String(repeating: "e", count: 64),
        "Registry.Example:443/x",
    ])
    func accepts(_ reference: String) {
        #expect(ImageReference.problem(reference) == nil, "\(reference)")
    }

    @Test(arguments: [
        "", "../../_ping", "busybox/../x", "./x", "Upper", "a b", "a\u{0}b", "a//b", "/a", "a/", "-a", "a-", "a___b", "a..b",
        "busybox:", "busybox:bad/tag", "busybox:-x", "busybox@sha256:zz", "busybox@", "busybox@sha256:abc", "a?b", "a#b", "a%2e",
        String(repeating: "a", count: 256), "busybox:" + String(repeating: "t", count: 129),
    ])
    func refuses(_ reference: String) {
        #expect(ImageReference.problem(reference) != nil, "\(reference)")
    }
}

@Suite("Security policy and reserved labels")
struct PolicyTests {
    @Test func reservedLabelsAreRefusedNamingTheKey() throws {
        let builder = CreateBodyBuilder(network: nil, defaultLabels: [:], gpuAvailable: false)
        for key in ["openlattice.owner", "openlattice.managed", "openlattice.x"] {
            #expect(
                throws: InvalidParams(field: "spec.labels.\(key)", reason: "is reserved: openlattice.* labels are set by the worker alone")
            ) {
                try builder.body(for: try spec(#"{"labels":{"\#(key)":"v"}}"#), image: "a", nodeID: "n")
            }
        }
        let body = try builder.body(for: try spec(#"{"labels":{"openlattice.test":"t","team":"x"}}"#), image: "a", nodeID: "n")
        #expect(body.labels["openlattice.test"] == "t")
        var overrides = WorkerConfig.Overrides()
        overrides.defaultLabels = ["openlattice.owner": "b"]
        #expect(throws: InvalidParams.self) { try overrides.validate() }
    }

    @Test func noPolicyKeepsTheDefaultBody() throws {
        let builder = CreateBodyBuilder(network: nil, defaultLabels: [:], gpuAvailable: false)
        let body = try builder.body(
            for: try spec(#"{"network":{"ports":[{"port":80}]},"volumes":[{"source":"/","target":"/h"}]}"#), image: "a", nodeID: "n")
        #expect(body.hostConfig.portBindings?["80/tcp"] == [PortBinding(hostPort: "80")])
        #expect(body.hostConfig.pidsLimit == nil && body.hostConfig.capDrop == nil && body.hostConfig.securityOpt == nil)
        #expect(body.hostConfig.readonlyRootfs == nil && body.hostConfig.runtime == nil && body.user == nil)
    }

    @Test func policyIsAppliedAndSpecMayTightenOnly() throws {
        let rules = try policy(
            #"{"publishAddress":"127.0.0.1","pidsLimit":50,"capDrop":["ALL"],"capAdd":["NET_ADMIN"],"noNewPrivileges":true,"readOnlyRootfs":true,"runtime":"runsc","user":"1000:1000","maxCpuCores":2,"maxMemoryGiB":1,"networkModes":["none"],"bindMounts":["/srv"]}"#
        )
        let builder = CreateBodyBuilder(network: nil, defaultLabels: [:], gpuAvailable: false, policy: rules)
        let body = try builder.body(
            for: try spec(
                #"{"network":{"mode":"none","ports":[{"port":80}],"tailscale":true},"security":{"pidsLimit":10,"capDrop":["CHOWN"]},"volumes":[{"source":"/srv/x","target":"/x"}]}"#
            ), image: "a", nodeID: "n")
        #expect(body.hostConfig.portBindings?["80/tcp"] == [PortBinding(hostIp: "127.0.0.1", hostPort: "80")])
        #expect(body.hostConfig.pidsLimit == 10)
        #expect(body.hostConfig.capDrop == ["ALL", "CHOWN"])
        #expect(body.hostConfig.capAdd == ["NET_ADMIN"])
        #expect(body.hostConfig.securityOpt == ["no-new-privileges"])
        #expect(body.hostConfig.readonlyRootfs == true)
        #expect(body.hostConfig.tmpfs?["/tmp"] != nil)
        #expect(body.hostConfig.runtime == "runsc")
        #expect(body.user == "1000:1000")
        #expect(body.hostConfig.nanoCpus == 2_000_000_000)
        #expect(body.hostConfig.memory == 1_073_741_824)
        #expect(body.hostConfig.networkMode == "none")
        for (json, field) in [
            (#"{"cpu":{"cores":3},"network":{"mode":"none"}}"#, "spec.cpu.cores"),
            (#"{"memory":{"sizeGiB":2},"network":{"mode":"none"}}"#, "spec.memory.sizeGiB"),
            (#"{"network":{"mode":"bridge"}}"#, "spec.network.mode"),
            (#"{}"#, "spec.network"),
            (#"{"security":{"pidsLimit":51},"network":{"mode":"none"}}"#, "spec.security.pidsLimit"),
            (#"{"security":{"capAdd":["SYS_ADMIN"]},"network":{"mode":"none"}}"#, "spec.security.capAdd[0]"),
            (#"{"security":{"noNewPrivileges":false},"network":{"mode":"none"}}"#, "spec.security.noNewPrivileges"),
            (#"{"security":{"readOnlyRootfs":false},"network":{"mode":"none"}}"#, "spec.security.readOnlyRootfs"),
            (#"{"volumes":[{"source":"/srvx","target":"/x"}],"network":{"mode":"none"}}"#, "spec.volumes[0].source"),
            (#"{"volumes":[{"source":"/srv/../etc","target":"/x"}],"network":{"mode":"none"}}"#, "spec.volumes[0].source"),
        ] {
            do {
                _ = try builder.body(for: try spec(json), image: "a", nodeID: "n")
                Issue.record("\(json) was accepted")
            } catch let error as InvalidParams {
                #expect(error.field == field, "\(json)")
                #expect(error.reason.contains("policy."), "\(json): \(error.reason)")
            }
        }
    }

    @Test func policyItselfIsChecked() throws {
        for (json, field) in [
            (#"{"pidsLimit":0}"#, "config.policy.pidsLimit"), (#"{"bindMounts":["relative"]}"#, "config.policy.bindMounts[0]"),
            (#"{"maxCpuCores":0}"#, "config.policy.maxCpuCores"), (#"{"publishAddress":""}"#, "config.policy.publishAddress"),
        ] {
            #expect(throws: InvalidParams.self, "\(json)") { try policy(json).validate() }
            do { try policy(json).validate() } catch let error as InvalidParams { #expect(error.field == field) }
        }
        #expect(throws: (any Error).self) { try policy(#"{"bindMounts":"some"}"#) }
    }
}

import DockerEngine
import Foundation
import JSONCoding
import JSONRPC
import Testing

/// A value's fields as text, dictionaries in key order, for comparing models that are not `Equatable`.
private func canonical(_ value: Any) -> String {
    let mirror = Mirror(reflecting: value)
    switch mirror.displayStyle {
    case .optional:
        guard let child = mirror.children.first else { return "nil" }
        return canonical(child.value)
    case .dictionary:
        let entries = mirror.children.map { entry -> String in
            let pair = Array(Mirror(reflecting: entry.value).children)
            return "\(canonical(pair[0].value)): \(canonical(pair[1].value))"
        }
        return "[" + entries.sorted().joined(separator: ", ") + "]"
    case .collection, .set:
        return "[" + mirror.children.map { canonical($0.value) }.joined(separator: ", ") + "]"
    case .struct, .class, .enum, .tuple:
        if mirror.children.isEmpty { return "\(type(of: value))(\(value))" }
        let fields = mirror.children.map { "\($0.label ?? "_")=\(canonical($0.value))" }
        return "\(type(of: value)){" + fields.joined(separator: " ") + "}"
    default:
        return "\(type(of: value))(\(String(reflecting: value)))"
    }
}

private func both<T: Decodable>(_ type: T.Type, _ body: String) throws -> (bytes: String, foundation: String) {
    let bytes = try JSONBytesDecoder().decode(type, from: Array(body.utf8))
    let foundation = try JSONDecoder().decode(type, from: Data(body.utf8))
    return (canonical(bytes), canonical(foundation))
}

@Suite("JSONBytesDecoder: JSONDecoder's models from the engine's answers")
struct EngineJSONDecodingTests {
    @Test(arguments: [("docker", dockerInspectBody), ("podman", podmanInspectBody)])
    func containerInspect(engine: String, body: String) throws {
        let check = try both(ContainerInspect.self, body)
        #expect(check.bytes == check.foundation)
        // The comparison sees what was read: the ports, labels and state are there.
        #expect(check.bytes.contains("80/tcp"))
        #expect(check.bytes.contains("openlattice.test"))
        #expect(check.bytes.contains("running"))
    }

    @Test(arguments: [("docker", dockerStatsBody), ("podman", podmanStatsBody)])
    func containerStats(engine: String, body: String) throws {
        let check = try both(ContainerStats.self, body)
        #expect(check.bytes == check.foundation)
        #expect(check.bytes.contains("totalUsage"))
    }

    @Test func stoppedAndOddShapes() throws {
        // A stopped container as Docker writes it, with nulls, escapes, an empty object and
        // whitespace; keys the model does not read hold every kind of value.
        let body = """
             { "Id" : "abc", "Name":"/n\\u00e9\\"x\\"", "State": {"Status":"exited","Running":false,"ExitCode":137,
              "OOMKilled":true,"Error":"boom\\n","StartedAt":"2026-11-30T21:00:00Z","FinishedAt":"0001-01-01T00:00:00Z",
              "Health":null, "Extra":[1,-2.5e3,{"a":[true,false,null]},"\\ud83c\\udf89"]},
              "Config":{"Labels":{},"ExposedPorts":{"80/tcp":{}},"Tty":false,"User":""},
              "HostConfig":{"NetworkMode":"bridge","Binds":null,"Memory":0,"NanoCpus":1500000000},
              "NetworkSettings":{"Ports":{"80/tcp":null,"81/udp":[{"HostIp":"::","HostPort":"32768"}]},"Networks":{}},
              "Mounts":[], "ExecIDs":null, "Image":"sha256:00", "Id":"first wins" }
            """
        let check = try both(ContainerInspect.self, body)
        #expect(check.bytes == check.foundation)
        #expect(check.bytes.contains("abc"))  // JSONDecoder reads the first of a repeated key
    }

    @Test func integersAndFloats() throws {
        struct Numbers: Decodable {
            var int: Int
            var unsigned: UInt64
            var small: Int8?
            var double: Double
            var list: [Int64?]
        }
        let body = #"{"int":-9223372036854775808,"unsigned":18446744073709551615,"small":1.0,"double":1e-7,"list":[0,null,1e3]}"#
        let check = try both(Numbers.self, body)
        #expect(check.bytes == check.foundation)
        for bad in [
            #"{"int":1.5,"unsigned":0,"double":0,"list":[]}"#, #"{"int":0,"unsigned":-1,"double":0,"list":[]}"#,
            #"{"int":0,"unsigned":0,"small":300,"double":0,"list":[]}"#, #"{"int":"1","unsigned":0,"double":0,"list":[]}"#,
            #"{"int":0,"unsigned":0,"double":0}"#, #"{"int":0,"unsigned":0,"double":null,"list":[]}"#,
        ] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONBytesDecoder().decode(Numbers.self, from: Array(bad.utf8)) }
            #expect(throws: DecodingError.self, "\(bad)") { try JSONDecoder().decode(Numbers.self, from: Data(bad.utf8)) }
        }
    }

    @Test func refusesTruncatedAndMalformedText() {
        let body = Array(dockerInspectBody.utf8)
        for cut in [0, 1, body.count / 2, body.count - 1] {
            #expect(throws: DecodingError.self, "cut at \(cut)") {
                try JSONBytesDecoder().decode(ContainerInspect.self, from: Array(body[..<cut]))
            }
        }
        for bad in [#"{"Id":"a" "Name":"b"}"#, #"{"Id":"a",}"#, #"{"Id":"a\x","Name":"b"}"#, #"{"Id":"a","Name":"b","State":{"Pid":01}}"#] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONBytesDecoder().decode(ContainerInspect.self, from: Array(bad.utf8)) }
        }
    }
}

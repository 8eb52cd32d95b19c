import Foundation
import JSONCoding
import JSONRPC
import TestSupport
import Testing

/// `protocol/openrpc.json` against the worker, and the validator the harness checks every response
/// and notification with.
@Suite("openrpc document")
struct OpenRPCDocumentTests {
    private func validator(sourceLocation: SourceLocation = #_sourceLocation) throws -> OpenRPCValidator {
        try #require(OpenRPCValidator.shared.validator, "\(OpenRPCValidator.shared.problem ?? "")", sourceLocation: sourceLocation)
    }

    /// A method the worker advertises but the document lacks, or the reverse, fails.
    @Test func initializeListsExactlyTheDocumentsMethods() async throws {
        let document = try validator()
        let worker = try WorkerProcess()
        let result = try await worker.initialize()
        let listed = result["methods"]?.array?.compactMap(\.string) ?? []
        #expect(Set(listed).count == listed.count, "initialize lists a method twice: \(listed)")
        // The document describes initialize and shutdown as methods too, and the worker lists both.
        let served = Set(listed)
        let documented = document.methodNames
        #expect(served.subtracting(documented).isEmpty, "served but not in openrpc.json: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "in openrpc.json but not served: \(documented.subtracting(served).sorted())")
        #expect(served.contains("initialize") && served.contains("shutdown"))
        #expect(document.check(message: ["jsonrpc": "2.0", "id": 1, "result": result], method: "initialize").isEmpty)
        _ = try await worker.closeInput()
    }

    /// Every method the document describes is registered in the worker's one method table: called
    /// with its example's params plus a member no method reads, each is refused -32602 naming that
    /// member (never -32601), so param decoding is the table's, alike for every method. And every
    /// registered method (`initialize` lists the table) is documented.
    @Test func everyDocumentedMethodIsRegisteredAndRefusesAnUnknownMember() async throws {
        let document = try validator()
        let worker = try WorkerProcess()
        let listed = try await worker.initialize()["methods"]?.array?.compactMap(\.string) ?? []
        #expect(Set(listed).subtracting(document.methodNames).isEmpty, "registered but not in openrpc.json")
        var checked = 0
        for method in document.document["methods"]?.array ?? [] {
            // A second initialize is refused before its params are read (-32600).
            guard let name = method["name"]?.string, name != "initialize" else { continue }
            var params = JSONObject()
            for param in method["examples"]?.array?.first?["params"]?.array ?? [] {
                if let member = param["name"]?.string, let value = param["value"] { params[member] = value }
            }
            params["olwNotAMember"] = .integer(1)
            let response = try await worker.call(name, .object(params))
            #expect(response.errorCode == -32602, "\(name): \(response.raw)")
            #expect(response.error?["data"]?["field"] == .string("olwNotAMember"), "\(name): \(response.raw)")
            checked += 1
        }
        #expect(checked == document.methodNames.count - 1)
        _ = try await worker.closeInput()
    }

    /// Every keyword the document's schemas use is one the validator checks or knows to be an annotation.
    @Test func validatorKnowsEveryKeywordTheDocumentUses() throws {
        #expect(try validator().unknownKeywords().isEmpty)
    }

    /// The document's own examples are valid, so the validator does not reject good values.
    @Test func documentExamplesValidate() throws {
        let document = try validator()
        var checked = 0
        for method in document.document["methods"]?.array ?? [] {
            guard let name = method["name"]?.string, let schema = document.resultSchema(of: name) else { continue }
            for example in method["examples"]?.array ?? [] {
                guard let value = example["result"]?["value"] else { continue }
                let problems = document.validate(value, against: schema)
                #expect(problems.isEmpty, "\(name) example: \(problems)")
                checked += 1
            }
        }
        for note in document.document["x-notifications"]?.array ?? [] {
            guard let schema = note["params"] else { continue }
            for example in note["examples"]?.array ?? [] {
                #expect(document.validate(example, against: schema).isEmpty, "\(note["name"]?.string ?? "?") example")
                checked += 1
            }
        }
        #expect(checked > 20)
    }

    private func node() -> JSONValue {
        [
            "externalId": "b0ce314276c0df9f0aed51f941cca89858a102c7fd796ad5b5ee22eb7865af3a", "name": "olt-demo",
            "nodeId": "b5a2851d-15e6-4d8d-bdda-5f4ae72e3cbd", "image": "openlattice-test/busybox:latest", "status": "running",
            "startedAt": "2026-11-29T02:27:03.384Z",
            "endpoints": [["type": "tcp", "host": "localhost", "port": 38080, "containerPort": 38080]],
            "labels": ["openlattice.managed": "true"],
        ]
    }

    private func replacing(_ value: JSONValue, _ key: String, with member: JSONValue?) -> JSONValue {
        guard case .object(var object) = value else { return value }
        object[key] = member
        return .object(object)
    }

    /// The validator itself: wrong values are rejected, with the path and the reason.
    @Test func validatorRejectsWrongValues() throws {
        let document = try validator()
        let nodeSchema = try #require(document.resultSchema(of: "provision"))
        #expect(document.validate(node(), against: nodeSchema).isEmpty)

        // required
        let missing = document.validate(replacing(node(), "externalId", with: nil), against: nodeSchema)
        #expect(missing.contains { $0.path == "$" && $0.reason.contains("externalId") }, "\(missing)")
        // enum through $ref
        let status = document.validate(replacing(node(), "status", with: "exploded"), against: nodeSchema)
        #expect(status.contains { $0.path == "$.status" }, "\(status)")
        // pattern (IsoDate)
        let date = document.validate(replacing(node(), "startedAt", with: "2026-11-29 02:27"), against: nodeSchema)
        #expect(date.contains { $0.path == "$.startedAt" && $0.reason.contains("pattern") }, "\(date)")
        // maximum, inside an array item
        let endpoint: JSONValue = [["type": "tcp", "host": "localhost", "port": 70000]]
        let port = document.validate(replacing(node(), "endpoints", with: endpoint), against: nodeSchema)
        #expect(port.contains { $0.path == "$.endpoints[0].port" && $0.reason.contains("maximum") }, "\(port)")
        // type, and integer vs number
        // exec answers an ExecResult or, in the background (1.1), {execId}: oneOf the two.
        let execAnswer = try #require(document.resultSchema(of: "exec"))
        let exec: JSONValue = ["exitCode": 0, "stdout": "", "stderr": "", "durationMs": 3, "timedOut": false]
        #expect(document.validate(exec, against: execAnswer).isEmpty)
        #expect(document.validate(["execId": "4f2a0c9e"], against: execAnswer).isEmpty)
        #expect(!document.validate(["execId": 4], against: execAnswer).isEmpty)
        #expect(!document.validate(replacing(exec, "timedOut", with: .null), against: execAnswer).isEmpty)
        let execSchema: JSONValue = ["$ref": "#/components/schemas/ExecResult"]
        #expect(document.validate(exec, against: execSchema).isEmpty)
        #expect(document.validate(replacing(exec, "exitCode", with: 42.0), against: execSchema).isEmpty)
        #expect(document.validate(replacing(exec, "exitCode", with: 4.5), against: execSchema).contains { $0.path == "$.exitCode" })
        #expect(document.validate(replacing(exec, "exitCode", with: "0"), against: execSchema).contains { $0.path == "$.exitCode" })
        #expect(document.validate(replacing(exec, "timedOut", with: .null), against: execSchema).contains { $0.path == "$.timedOut" })
        // const and pattern (SnapshotRef)
        let snapshotSchema = try #require(document.resultSchema(of: "snapshot"))
        let snapshot: JSONValue = [
            "provider": "docker", "externalId": "sha256:439e6104954d557b8eb7284a448da67018c9ecf3b5b3a9a3ac2097905b030b78",
            "createdAt": "2026-11-29T02:27:09.257Z", "type": "filesystem", "image": "openlattice-snapshot:t", "excludedVolumes": [],
        ]
        #expect(document.validate(snapshot, against: snapshotSchema).isEmpty)
        #expect(
            document.validate(replacing(snapshot, "provider", with: "podman"), against: snapshotSchema).contains { $0.path == "$.provider" }
        )
        #expect(
            document.validate(replacing(snapshot, "externalId", with: "abc"), against: snapshotSchema).contains {
                $0.path == "$.externalId"
            })
        // anyOf (LogsResult), and a nullable anyOf (getExtension)
        let logsSchema = try #require(document.resultSchema(of: "logs"))
        #expect(document.validate(["stdout": "a\n", "stderr": ""], against: logsSchema).isEmpty)
        #expect(document.validate(["reason": "stopped"], against: logsSchema).isEmpty)
        #expect(document.validate(["reason": "bored"], against: logsSchema).contains { $0.reason.contains("anyOf") })
        #expect(!document.validate(["stdout": "a\n"], against: logsSchema).isEmpty)
        let extensionSchema = try #require(document.resultSchema(of: "getExtension"))
        #expect(document.validate(.null, against: extensionSchema).isEmpty)
        #expect(!document.validate(["name": "gpu", "methods": []], against: extensionSchema).isEmpty)
        // a plain null result
        let destroySchema = try #require(document.resultSchema(of: "destroy"))
        #expect(document.validate(.null, against: destroySchema).isEmpty)
        #expect(!document.validate([:], against: destroySchema).isEmpty)
        // array items and minimum
        let listSchema = try #require(document.resultSchema(of: "list"))
        #expect(document.validate([node(), node()], against: listSchema).isEmpty)
        #expect(document.validate([node(), "x"], against: listSchema).contains { $0.path == "$[1]" })
        let usageSchema = try #require(document.resultSchema(of: "metrics.getResourceUsage"))
        let usage: JSONValue = [
            "cpuPercent": 0.5, "memoryUsedMiB": 1, "memoryLimitMiB": 256, "networkRxBytes": 10, "networkTxBytes": 0,
            "blockReadBytes": 0, "blockWriteBytes": 0, "pids": 1, "timestamp": "2026-11-29T02:31:00Z",
        ]
        #expect(document.validate(usage, against: usageSchema).isEmpty)
        #expect(document.validate(replacing(usage, "pids", with: -1), against: usageSchema).contains { $0.path == "$.pids" })
    }

    /// Whole messages: notifications, error objects, envelopes.
    @Test func validatorChecksMessages() throws {
        let document = try validator()
        let output: JSONValue = [
            "jsonrpc": "2.0", "method": "exec.output", "params": ["requestId": 7, "stream": "stdout", "data": "hi\n"],
        ]
        #expect(document.check(message: output, method: nil).isEmpty)
        let badStream: JSONValue = ["jsonrpc": "2.0", "method": "exec.output", "params": ["requestId": 7, "stream": "stdin", "data": ""]]
        #expect(document.check(message: badStream, method: nil).contains { $0.path == "$.params.stream" })
        let noRequestId: JSONValue = [
            "jsonrpc": "2.0", "method": "node.event",
            "params": ["externalId": "abc", "nodeId": "abc", "action": "die", "time": "2026-11-29T02:32:00.000Z"],
        ]
        #expect(document.check(message: noRequestId, method: nil).contains { $0.reason.contains("requestId") })
        // A null requestId is valid (the request's own id was null); a boolean never is.
        let boolRequestId: JSONValue = [
            "jsonrpc": "2.0", "method": "logs.output", "params": ["requestId": .bool(true), "stream": "stdout", "data": ""],
        ]
        #expect(document.check(message: boolRequestId, method: nil).contains { $0.path == "$.params.requestId" })
        let nullRequestId: JSONValue = [
            "jsonrpc": "2.0", "method": "logs.output", "params": ["requestId": .null, "stream": "stdout", "data": ""],
        ]
        #expect(document.check(message: nullRequestId, method: nil).isEmpty)
        let unknown: JSONValue = ["jsonrpc": "2.0", "method": "made.up", "params": [:]]
        #expect(!document.check(message: unknown, method: nil).isEmpty)
        // $/cancelRequest goes host to worker: the worker must never send it.
        let cancel: JSONValue = ["jsonrpc": "2.0", "method": "$/cancelRequest", "params": ["id": 1]]
        #expect(!document.check(message: cancel, method: nil).isEmpty)

        let error: JSONValue = [
            "jsonrpc": "2.0", "id": 3,
            "error": ["code": -32004, "message": "[docker] exec failed: no such node: x", "data": ["provider": "docker", "status": 404]],
        ]
        #expect(document.check(message: error, method: "exec").isEmpty)
        let stringCode: JSONValue = ["jsonrpc": "2.0", "id": 3, "error": ["code": "-32004", "message": "x"]]
        #expect(document.check(message: stringCode, method: "exec").contains { $0.path == "$.error.code" })
        let undocumentedCode: JSONValue = ["jsonrpc": "2.0", "id": 3, "error": ["code": -1, "message": "x"]]
        #expect(document.check(message: undocumentedCode, method: "exec").contains { $0.path == "$.error.code" })
        let extraMember: JSONValue = ["jsonrpc": "2.0", "id": 3, "error": ["code": -32603, "message": "x", "stack": "…"]]
        #expect(document.check(message: extraMember, method: nil).contains { $0.path == "$.error.stack" })
        let badData: JSONValue = ["jsonrpc": "2.0", "id": 3, "error": ["code": -32000, "message": "x", "data": ["provider": "k8s"]]]
        #expect(document.check(message: badData, method: nil).contains { $0.path == "$.error.data.provider" })
        let both: JSONValue = ["jsonrpc": "2.0", "id": 3, "result": .null, "error": ["code": -32603, "message": "x"]]
        #expect(!document.check(message: both, method: "destroy").isEmpty)
        let wrongResult: JSONValue = ["jsonrpc": "2.0", "id": 3, "result": ["healthy": "yes", "latencyMs": 1]]
        #expect(document.check(message: wrongResult, method: "healthCheck").contains { $0.path == "$.result.healthy" })
        let unknownMethod: JSONValue = ["jsonrpc": "2.0", "id": 3, "result": .null]
        #expect(!document.check(message: unknownMethod, method: "made.up").isEmpty)
    }
}

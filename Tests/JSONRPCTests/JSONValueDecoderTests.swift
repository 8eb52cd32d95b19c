import JSONCoding
import JSONRPC
import Testing

private struct Params: Decodable {
    var spec: Spec
}

private struct Spec: Decodable {
    var name: String?
    var runtime: Runtime
    var network: Network?
    var cpu: Double?
    var enabled: Bool?
    var extra: JSONValue?
}

private struct Runtime: Decodable {
    var image: String
    var command: [String]?
    var env: OrderedStringMap?
}

private struct Network: Decodable {
    var ports: [Port]
}

private struct Port: Decodable {
    var port: Int
    var hostPort: UInt16?
}

private struct AllOptional: Decodable {
    var name: String?
}

private func json(_ text: String) throws -> JSONValue {
    try JSONParser.parse(Array(text.utf8))
}

private func invalidParams<T: Decodable>(_ type: T.Type, _ text: String) throws -> InvalidParams {
    let value = try json(text)
    let error = #expect(throws: InvalidParams.self) { try MethodTable.decodeParams(type, value) }
    return try #require(error)
}

@Suite("JSONValueDecoder and MethodTable.decodeParams")
struct JSONValueDecoderTests {
    @Test func decodesNestedStructs() throws {
        let params = try MethodTable.decodeParams(
            Params.self,
            try json(
                #"""
                {"spec":{"name":"web","runtime":{"image":"alpine","command":["sh","-c","true"]},
                 "network":{"ports":[{"port":80},{"port":443,"hostPort":8443}]},"cpu":2,"enabled":true,
                 "extra":{"k":[1,"two",null]}}}
                """#))
        #expect(params.spec.name == "web")
        #expect(params.spec.runtime.image == "alpine")
        #expect(params.spec.runtime.command == ["sh", "-c", "true"])
        #expect(params.spec.network?.ports.map(\.port) == [80, 443])
        #expect(params.spec.network?.ports.map(\.hostPort) == [nil, 8443])
        #expect(params.spec.cpu == 2)
        #expect(params.spec.enabled == true)
        #expect(params.spec.extra == .object(JSONObject(["k": .array([.integer(1), .string("two"), .null])])))
    }

    @Test func nullOptionalsDecodeAsNil() throws {
        let params = try MethodTable.decodeParams(Params.self, try json(#"{"spec":{"name":null,"runtime":{"image":"a"}}}"#))
        #expect(params.spec.name == nil)
        #expect(params.spec.network == nil)
    }

    @Test func absentParamsDecodeFromEmptyObject() throws {
        let decoded = try MethodTable.decodeParams(AllOptional.self, nil)
        #expect(decoded.name == nil)
    }

    @Test func missingFieldIsRequired() throws {
        let error = try invalidParams(Params.self, #"{"spec":{"runtime":{}}}"#)
        #expect(error == InvalidParams(field: "spec.runtime.image", reason: "is required"))
    }

    @Test func missingTopLevelField() throws {
        let error = try invalidParams(Params.self, "{}")
        #expect(error == InvalidParams(field: "spec", reason: "is required"))
    }

    @Test func wrongTypeNamesExpectedAndFound() throws {
        let error = try invalidParams(Params.self, #"{"spec":{"runtime":{"image":5}}}"#)
        #expect(error == InvalidParams(field: "spec.runtime.image", reason: "expected a string, found a number"))
    }

    @Test func nullForRequiredField() throws {
        let error = try invalidParams(Params.self, #"{"spec":{"runtime":{"image":null}}}"#)
        #expect(error.field == "spec.runtime.image")
        #expect(error.reason == "must not be null")
    }

    @Test func errorInsideArrayElementNamesTheIndex() throws {
        let missing = try invalidParams(Params.self, #"{"spec":{"runtime":{"image":"a"},"network":{"ports":[{}]}}}"#)
        #expect(missing == InvalidParams(field: "spec.network.ports[0].port", reason: "is required"))

        let wrongType = try invalidParams(
            Params.self, #"{"spec":{"runtime":{"image":"a"},"network":{"ports":[{"port":1},{"port":"80"}]}}}"#)
        #expect(wrongType == InvalidParams(field: "spec.network.ports[1].port", reason: "expected an integer, found a string"))
    }

    @Test func wrongTypeInsideStringArray() throws {
        let error = try invalidParams(Params.self, #"{"spec":{"runtime":{"image":"a","command":["ok",true]}}}"#)
        #expect(error == InvalidParams(field: "spec.runtime.command[1]", reason: "expected a string, found a boolean"))
    }

    @Test func objectExpectedButArrayFound() throws {
        let error = try invalidParams(Params.self, #"{"spec":{"runtime":[]}}"#)
        #expect(error == InvalidParams(field: "spec.runtime", reason: "expected an object, found an array"))
    }

    @Test(arguments: [
        (#"{"port":1.5}"#, "expected an integer in range"),
        (#"{"port":1,"hostPort":70000}"#, "number out of range"),
        (#"{"port":1,"hostPort":-1}"#, "number out of range"),
    ])
    func integerRangeIsChecked(text: String, reason: String) throws {
        let error = try invalidParams(Port.self, text)
        #expect(error.reason == reason)
    }

    @Test func integralDoubleDecodesAsInteger() throws {
        let port = try MethodTable.decodeParams(Port.self, try json(#"{"port":8e1}"#))
        #expect(port.port == 80)
    }

    @Test(arguments: ["[]", "[1]", "\"x\"", "3", "true"])
    func nonObjectParamsAreRejected(text: String) throws {
        let error = try invalidParams(AllOptional.self, text)
        #expect(error == InvalidParams(field: "params", reason: "must be an object (params are by name)"))
    }

    @Test func orderedStringMapKeepsKeyOrder() throws {
        let map = try JSONValueDecoder().decode(OrderedStringMap.self, from: try json(#"{"Z":"1","A":"2","M":"3"}"#))
        #expect(map.entries.map(\.key) == ["Z", "A", "M"])
        #expect(map.entries.map(\.value) == ["1", "2", "3"])
        #expect(map == OrderedStringMap([("Z", "1"), ("A", "2"), ("M", "3")]))
        #expect(map != OrderedStringMap([("A", "2"), ("Z", "1"), ("M", "3")]))
    }

    @Test func orderedStringMapNamesBadValues() throws {
        let error = try invalidParams(Params.self, #"{"spec":{"runtime":{"image":"a","env":{"A":"1","B":2}}}}"#)
        #expect(error == InvalidParams(field: "spec.runtime.env.B", reason: "expected a string, found a number"))
    }

    @Test(arguments: [
        (#"{"spec":{"runtime":{"image":"a"}},"memoryGiB":1}"#, "memoryGiB"),
        (#"{"spec":{"runtime":{"image":"a"},"memoryGiB":1}}"#, "spec.memoryGiB"),
        (#"{"spec":{"runtime":{"image":"a","cmd":["x"]}}}"#, "spec.runtime.cmd"),
        (#"{"spec":{"runtime":{"image":"a"},"network":{"ports":[{"port":1},{"port":2,"hostport":3}]}}}"#, "spec.network.ports[1].hostport"),
        (#"{"spec":{"runtime":{"image":"a"},"network":null,"typo":null}}"#, "spec.typo"),
    ])
    func unknownMembersAreNamedByTheirPath(text: String, field: String) throws {
        let error = try invalidParams(Params.self, text)
        #expect(error.field == field)
        #expect(error.reason == "is not a known member")
    }

    @Test func mapsAndFreeFormValuesKeepAnyKey() throws {
        let params = try MethodTable.decodeParams(
            Params.self, try json(#"{"spec":{"runtime":{"image":"a","env":{"ANY":"1","x y":"2"}},"extra":{"whatever":{"deep":1}}}}"#))
        #expect(params.spec.runtime.env?.entries.map(\.key) == ["ANY", "x y"])
        // outside MethodTable the decoder ignores unknown members unless asked
        let lenient = try JSONValueDecoder().decode(AllOptional.self, from: try json(#"{"name":"n","other":1}"#))
        #expect(lenient.name == "n")
    }

    @Test func paramsOfAMethodWithoutParamsAreAllUnknown() throws {
        struct NoParams: Decodable {}
        #expect(try invalidParams(NoParams.self, #"{"deep":true}"#).field == "deep")
        _ = try MethodTable.decodeParams(NoParams.self, try json("{}"))
        _ = try MethodTable.decodeParams(NoParams.self, nil)
    }

    @Test func aTypeThatAllowsUnknownMembersTakesThem() throws {
        struct Ref: Decodable, AllowsUnknownMembers { var externalId: String }
        struct Request: Decodable { var ref: Ref }
        let request = try MethodTable.decodeParams(Request.self, try json(#"{"ref":{"externalId":"x","createdAt":"…","future":1}}"#))
        #expect(request.ref.externalId == "x")
        #expect(try invalidParams(Request.self, #"{"ref":{"externalId":"x"},"other":1}"#).field == "other")
    }

    @Test func decodesJSONValueAsItself() throws {
        let value = try json(#"{"b":[1,2.5,"x",null,false],"a":{}}"#)
        #expect(try JSONValueDecoder().decode(JSONValue.self, from: value) == value)
    }
}

import Foundation
import JSONCoding
import JSONRPC
import Synchronization
import Testing

/// One way a value does not match its schema: where (a path such as `$.result.endpoints[0].port`)
/// and why.
package struct SchemaViolation: Sendable, CustomStringConvertible, Equatable {
    package var path: String
    package var reason: String
    package var description: String { "\(path): \(reason)" }
}

/// Validates `JSONValue`s against the JSON Schemas of `protocol/openrpc.json`: the draft-07 subset
/// that document uses (type, incl. type arrays; properties, required, additionalProperties,
/// propertyNames; items, minItems, maxItems, uniqueItems; enum, const; `$ref` into the document;
/// allOf, anyOf, oneOf, not; minimum, maximum, exclusiveMinimum, exclusiveMaximum; minLength,
/// maxLength, pattern). Annotations (title, description, default, format, examples) are not checked;
/// any other keyword is reported by ``unknownKeywords()`` so that the validator cannot silently
/// ignore what a new schema asks for.
package struct OpenRPCValidator: Sendable {
    /// Keywords that constrain values, all of which ``validate(_:against:at:)`` checks.
    package static let assertionKeywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "propertyNames", "items", "minItems", "maxItems",
        "uniqueItems", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "not", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern",
    ]
    /// Keywords that only describe.
    package static let annotationKeywords: Set<String> = ["title", "description", "default", "format", "examples", "$schema", "$comment"]

    /// The whole OpenRPC document.
    package let document: JSONValue

    package init(document: JSONValue) {
        self.document = document
    }

    // MARK: The document

    /// `protocol/openrpc.json`, found relative to this file.
    package static let documentPath: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().appendingPathComponent("../../protocol/openrpc.json").standardizedFileURL.path

    /// The document loaded once, or why it could not be.
    package static let shared: (validator: OpenRPCValidator?, problem: String?) = {
        do {
            return (try load(documentPath), nil)
        } catch {
            return (nil, "cannot load \(documentPath): \(error)")
        }
    }()

    package static func load(_ path: String) throws -> OpenRPCValidator {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return OpenRPCValidator(document: try JSONParser.parse(Array(data)))
    }

    private var methods: [JSONValue] { document["methods"]?.arrayValue ?? [] }

    /// The names of the document's methods.
    package var methodNames: Set<String> {
        Set(methods.compactMap { $0["name"]?.stringValue })
    }

    /// The result schema of `method`, or nil when the document lacks the method.
    package func resultSchema(of method: String) -> JSONValue? {
        guard let entry = methods.first(where: { $0["name"]?.stringValue == method }) else { return nil }
        return resolveReference(entry["result"] ?? .null)?["schema"]
    }

    /// The params schema of a worker-to-host notification, or nil when the document lacks it.
    package func notificationSchema(of name: String) -> JSONValue? {
        let notes = document["x-notifications"]?.arrayValue ?? []
        guard let note = notes.first(where: { $0["name"]?.stringValue == name && $0["direction"]?.stringValue == "worker-to-host" })
        else { return nil }
        return note["params"]
    }

    /// The schema of every error response's `error` member.
    package static let errorSchema: JSONValue = .object(JSONObject(["$ref": .string("#/components/schemas/ErrorObject")]))

    /// The codes `components.errors` defines.
    package var errorCodes: Set<Int64> {
        guard case .object(let errors)? = document["components"]?["errors"] else { return [] }
        return Set(
            errors.members.compactMap { member -> Int64? in
                if case .integer(let code)? = member.value["code"] { return code }
                return nil
            })
    }

    /// Checks one message the worker wrote. `method` is the method of the request a response answers
    /// (nil when unknown: then only the envelope and an error's shape are checked).
    package func check(message: JSONValue, method: String?) -> [SchemaViolation] {
        guard case .object(let object) = message else {
            return [SchemaViolation(path: "$", reason: "a message must be an object, got \(message.typeName)")]
        }
        if case .string(let name)? = object["method"] {
            guard let schema = notificationSchema(of: name) else {
                return [SchemaViolation(path: "$.method", reason: "notification \(name) is not in openrpc.json's x-notifications")]
            }
            return validate(object["params"] ?? .null, against: schema, at: "$.params")
        }
        let hasResult = object["result"] != nil
        let hasError = object["error"] != nil
        guard hasResult != hasError else {
            return [SchemaViolation(path: "$", reason: "a response needs exactly one of result and error")]
        }
        if let error = object["error"] {
            var problems = validate(error, against: Self.errorSchema, at: "$.error")
            if case .integer(let code)? = error["code"], !errorCodes.contains(code) {
                problems.append(SchemaViolation(path: "$.error.code", reason: "\(code) is not in components.errors"))
            }
            return problems
        }
        guard let method else { return [] }
        guard let schema = resultSchema(of: method) else {
            return [SchemaViolation(path: "$", reason: "a result for \(method), which openrpc.json lacks")]
        }
        return validate(object["result"] ?? .null, against: schema, at: "$.result")
    }

    private static let loadProblemReported = Mutex(false)

    /// Records an `Issue` for each way `message`, a line (or batch member) the worker wrote, does not
    /// match openrpc.json: a response's result against the result schema of the method of the
    /// request it answers (`methods`: the methods sent under its id; a test may reuse an id, so the
    /// result must match one of them; none known: only the envelope and an error's shape are checked),
    /// an error against `ErrorObject`, a notification against its `x-notifications` schema.
    package static func recordMismatches(in message: JSONValue, methods: [String], test: String? = nil) {
        guard let validator = shared.validator else {
            if !loadProblemReported.withLock({ reported in
                defer { reported = true }
                return reported
            }) {
                Issue.record("openrpc.json: \(shared.problem ?? "not loaded")")
            }
            return
        }
        let candidates: [String?] = methods.isEmpty ? [nil] : Array(Set(methods)).sorted()
        let results = candidates.map { (method: $0, problems: validator.check(message: message, method: $0)) }
        guard let first = results.first, !results.contains(where: { $0.problems.isEmpty }) else { return }
        let what: String
        if case .string(let name)? = message["method"] {
            what = "notification \(name)"
        } else {
            let method = candidates.compactMap { $0 }.joined(separator: " or ")
            what = "response to \(method.isEmpty ? "a request sent raw" : method) (id \(brief(message["id"] ?? .null)))"
        }
        for problem in first.problems {
            Issue.record(
                "openrpc.json mismatch in \(test ?? "a test"): \(what) at \(problem.path): \(problem.reason) -- message: \(brief(message, limit: 400))"
            )
        }
    }

    // MARK: Validation

    /// Every way `value` does not match `schema`; empty when it matches.
    package func validate(_ value: JSONValue, against schema: JSONValue, at path: String = "$") -> [SchemaViolation] {
        validate(value, schema, path, depth: 0)
    }

    private func validate(_ value: JSONValue, _ schema: JSONValue, _ path: String, depth: Int) -> [SchemaViolation] {
        guard depth < 64 else { return [SchemaViolation(path: path, reason: "schema nesting too deep (a $ref loop?)")] }
        switch schema {
        case .bool(true): return []
        case .bool(false): return [SchemaViolation(path: path, reason: "no value is allowed here")]
        case .object: break
        default: return [SchemaViolation(path: path, reason: "the schema is not an object or boolean")]
        }
        var problems: [SchemaViolation] = []
        func fail(_ reason: String, at where_: String? = nil) { problems.append(SchemaViolation(path: where_ ?? path, reason: reason)) }

        if case .string(let reference)? = schema["$ref"] {
            guard let target = resolvePointer(reference) else {
                return [SchemaViolation(path: path, reason: "unresolvable $ref \(reference)")]
            }
            // draft-07: a $ref's siblings are ignored.
            return validate(value, target, path, depth: depth + 1)
        }

        // type
        if let type = schema["type"] {
            let names: [String] =
                switch type {
                case .string(let name): [name]
                case .array(let items): items.compactMap(\.stringValue)
                default: []
                }
            if !names.isEmpty && !names.contains(where: { Self.has(value, type: $0) }) {
                fail("expected \(names.joined(separator: " or ")), got \(Self.jsonType(value))")
                return problems  // the other keywords would only repeat the mismatch
            }
        }
        // enum, const
        if case .array(let options)? = schema["enum"], !options.contains(where: { Self.equal($0, value) }) {
            fail("\(Self.brief(value)) is not one of \(Self.brief(.array(options)))")
        }
        if let constant = schema["const"], !Self.equal(constant, value) {
            fail("expected \(Self.brief(constant)), got \(Self.brief(value))")
        }
        // combinators
        if case .array(let all)? = schema["allOf"] {
            for sub in all { problems += validate(value, sub, path, depth: depth + 1) }
        }
        if case .array(let any)? = schema["anyOf"] {
            let results = any.map { validate(value, $0, path, depth: depth + 1) }
            if !results.contains(where: \.isEmpty) {
                fail("matches none of anyOf: " + Self.alternatives(results))
            }
        }
        if case .array(let one)? = schema["oneOf"] {
            let results = one.map { validate(value, $0, path, depth: depth + 1) }
            let matching = results.filter(\.isEmpty).count
            if matching == 0 { fail("matches none of oneOf: " + Self.alternatives(results)) }
            if matching > 1 { fail("matches \(matching) alternatives of oneOf, not exactly one") }
        }
        if let negated = schema["not"], validate(value, negated, path, depth: depth + 1).isEmpty {
            fail("matches a schema it must not match")
        }

        switch value {
        case .object(let object):
            let properties = schema["properties"]?.objectValue
            if case .array(let required)? = schema["required"] {
                for case .string(let name) in required where object[name] == nil {
                    fail("missing required member \"\(name)\"")
                }
            }
            for (key, member) in object.members {
                let memberPath = "\(path).\(key)"
                if let names = schema["propertyNames"] {
                    for problem in validate(.string(key), names, memberPath, depth: depth + 1) {
                        fail("member name: \(problem.reason)", at: memberPath)
                    }
                }
                if let sub = properties?[key] {
                    problems += validate(member, sub, memberPath, depth: depth + 1)
                } else if let additional = schema["additionalProperties"] {
                    if case .bool(false) = additional {
                        fail("member \"\(key)\" is not allowed", at: memberPath)
                    } else {
                        problems += validate(member, additional, memberPath, depth: depth + 1)
                    }
                }
            }
        case .array(let items):
            if let count = schema["minItems"]?.integerValue, items.count < count { fail("has \(items.count) items, fewer than \(count)") }
            if let count = schema["maxItems"]?.integerValue, items.count > count { fail("has \(items.count) items, more than \(count)") }
            if case .bool(true)? = schema["uniqueItems"] {
                for (index, item) in items.enumerated() where items[..<index].contains(where: { Self.equal($0, item) }) {
                    fail("item \(index) repeats an earlier item")
                }
            }
            switch schema["items"] {
            case .array(let tuple)?:
                for (index, item) in items.enumerated() where index < tuple.count {
                    problems += validate(item, tuple[index], "\(path)[\(index)]", depth: depth + 1)
                }
            case let sub?:
                for (index, item) in items.enumerated() {
                    problems += validate(item, sub, "\(path)[\(index)]", depth: depth + 1)
                }
            case nil: break
            }
        case .integer, .double:
            let number = value.numberValue ?? 0
            if let limit = schema["minimum"]?.numberValue, number < limit { fail("\(Self.brief(value)) is less than the minimum \(limit)") }
            if let limit = schema["maximum"]?.numberValue, number > limit { fail("\(Self.brief(value)) is more than the maximum \(limit)") }
            if let limit = schema["exclusiveMinimum"]?.numberValue, number <= limit {
                fail("\(Self.brief(value)) is not more than \(limit)")
            }
            if let limit = schema["exclusiveMaximum"]?.numberValue, number >= limit {
                fail("\(Self.brief(value)) is not less than \(limit)")
            }
        case .string(let text):
            let length = text.unicodeScalars.count
            if let limit = schema["minLength"]?.integerValue, length < limit { fail("is \(length) characters long, shorter than \(limit)") }
            if let limit = schema["maxLength"]?.integerValue, length > limit { fail("is \(length) characters long, longer than \(limit)") }
            if case .string(let pattern)? = schema["pattern"] {
                switch Self.matches(text, pattern) {
                case .some(false): fail("\(Self.brief(value)) does not match the pattern \(pattern)")
                case nil: fail("the schema's pattern \(pattern) is not a valid regular expression")
                default: break
                }
            }
        case .null, .bool:
            break
        }
        return problems
    }

    /// `#/a/b` in the document.
    private func resolvePointer(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#") else { return nil }
        var node = document
        for raw in reference.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let part = raw.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            switch node {
            case .object(let object):
                guard let next = object[part] else { return nil }
                node = next
            case .array(let items):
                guard let index = Int(part), items.indices.contains(index) else { return nil }
                node = items[index]
            default:
                return nil
            }
        }
        return node
    }

    /// A content descriptor, following one `$ref`.
    private func resolveReference(_ value: JSONValue) -> JSONValue? {
        if case .string(let reference)? = value["$ref"] { return resolvePointer(reference) }
        return value
    }

    /// The keywords used by the document's schemas that the validator neither checks nor treats as
    /// annotations (property names inside `properties` are not keywords).
    package func unknownKeywords() -> Set<String> {
        var found = Set<String>()
        func walk(_ schema: JSONValue) {
            guard case .object(let object) = schema else { return }
            for (key, member) in object.members {
                if !Self.assertionKeywords.contains(key) && !Self.annotationKeywords.contains(key) { found.insert(key) }
                switch key {
                case "properties":
                    for property in member.objectValue?.members ?? [] { walk(property.value) }
                case "items", "additionalProperties", "propertyNames", "not":
                    if case .array(let list) = member { list.forEach(walk) } else { walk(member) }
                case "allOf", "anyOf", "oneOf":
                    member.arrayValue?.forEach(walk)
                default:
                    break
                }
            }
        }
        for schema in document["components"]?["schemas"]?.objectValue?.members ?? [] { walk(schema.value) }
        for method in methods {
            for param in method["params"]?.arrayValue ?? [] { walk(resolveReference(param)?["schema"] ?? .null) }
            walk(resolveReference(method["result"] ?? .null)?["schema"] ?? .null)
        }
        for note in document["x-notifications"]?.arrayValue ?? [] { walk(note["params"] ?? .null) }
        return found
    }

    // MARK: Helpers

    package static func has(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): true
        case ("number", .integer), ("number", .double), ("integer", .integer): true
        case ("integer", .double(let number)): number.rounded() == number && number.isFinite
        default: false
        }
    }

    package static func jsonType(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// JSON equality: numbers by value, objects whatever their key order.
    package static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.integer, .double), (.double, .integer): a.numberValue == b.numberValue
        case (.array(let x), .array(let y)): x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            x.count == y.count && x.members.allSatisfy { member in y[member.key].map { equal(member.value, $0) } ?? false }
        default: a == b
        }
    }

    package static func brief(_ value: JSONValue, limit: Int = 120) -> String {
        let text = String(decoding: JSONWriter.encode(value), as: UTF8.self)
        return text.count > limit ? String(text.prefix(limit - 3)) + "..." : text
    }

    private static func alternatives(_ results: [[SchemaViolation]]) -> String {
        results.enumerated().map { index, problems in
            "[\(index)] " + (problems.first.map { "\($0.path): \($0.reason)" } ?? "ok")
        }.joined(separator: "; ")
    }

    private static let regexCache = Mutex<[String: NSRegularExpression]>([:])

    /// Whether `pattern` (ECMA-262 style, unanchored as JSON Schema says) finds a match in `text`;
    /// nil when the pattern does not compile.
    package static func matches(_ text: String, _ pattern: String) -> Bool? {
        let regex: NSRegularExpression? = regexCache.withLock { cache in
            if let cached = cache[pattern] { return cached }
            let compiled = try? NSRegularExpression(pattern: pattern)
            if let compiled { cache[pattern] = compiled }
            return compiled
        }
        guard let regex else { return nil }
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}

extension JSONValue {
    fileprivate var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    fileprivate var arrayValue: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    fileprivate var objectValue: JSONObject? { if case .object(let o) = self { o } else { nil } }
    fileprivate var numberValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
    fileprivate var integerValue: Int? {
        switch self {
        case .integer(let i): Int(i)
        case .double(let d) where d.rounded() == d: Int(d)
        default: nil
        }
    }
}

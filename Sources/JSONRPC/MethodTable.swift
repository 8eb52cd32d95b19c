import FoundationEssentials
import JSONCoding

/// A request type: its params are the struct itself; its method name and result type ride on the type.
public protocol RPCMethod: Decodable, Sendable {
    /// What a successful call returns.
    associatedtype Result: Encodable & Sendable
    /// The JSON-RPC method name.
    static var name: String { get }
    /// Checks what the params say on their own, before any other work (no outside state: a path's
    /// form, a number's range). ``MethodTable`` calls it exactly once, after decoding and before the
    /// handler. Defaults to accepting everything.
    /// - Throws: ``InvalidParams`` naming the field.
    func validate() throws
}

extension RPCMethod {
    /// Accepts everything.
    public func validate() throws {}
}

/// A result that writes its own JSON: for large results (an exec's buffered output), where the
/// general encoder would hold the text several times over.
public protocol JSONEncodedResult {
    /// The result as compact JSON.
    func encodedJSON() -> [UInt8]
    /// The result as frame parts; a large result returns producers so that its text is written as
    /// it is made instead of held whole. Defaults to ``encodedJSON()`` as one part.
    func encodedParts() -> [FramePart]
}

extension JSONEncodedResult {
    /// ``encodedJSON()`` as one part.
    public func encodedParts() -> [FramePart] { [.bytes(encodedJSON())] }
}

/// The result of a method that answers `null`.
public struct NullResult: Encodable, Sendable {
    /// The `null` result.
    public init() {}
    /// Writes `null`.
    /// - Throws: Whatever `encoder` throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encodeNil()
    }
}

/// The methods a server answers, each bound to a typed handler: the one place a method is
/// registered, from which everything else about it derives (`initialize`'s list, the extensions
/// `getExtension` reports, param decoding and checking).
public struct MethodTable: Sendable {
    typealias Handler = @Sendable (JSONValue?, RequestContext) async throws -> [FramePart]
    /// The key that orders a request (from its params): requests whose method has an order key
    /// and whose keys are equal are handled one after another, in the order they arrived (a
    /// stream's chunks, say); nil leaves a request unordered.
    public typealias OrderKey = @Sendable (JSONValue?) -> String?
    /// A handler of a notification the host sends (other than `$/cancelRequest`).
    public typealias NotificationHandler = @Sendable (JSONValue?) -> Void

    private(set) var handlers: [String: Handler] = [:]
    private(set) var orderKeys: [String: OrderKey] = [:]
    private(set) var notificationHandlers: [String: NotificationHandler] = [:]
    /// The methods of each extension, in the order they were registered.
    public private(set) var extensions: [String: [String]] = [:]

    /// An empty table.
    public init() {}

    /// Every method a server on this table answers (`shutdown` included), sorted.
    public var methodNames: [String] { (handlers.keys + [RPCServer.shutdownMethod]).sorted() }

    /// Binds `method` to `body`: params are decoded into `M` (an unknown member is refused, errors
    /// name the field) and checked by ``RPCMethod/validate()``, then `body` runs and its result is
    /// encoded. `extensionName` puts the method in that extension (`files`, `logs`…).
    public mutating func register<M: RPCMethod>(
        _ method: M.Type, extension extensionName: String? = nil,
        _ body: @escaping @Sendable (M, RequestContext) async throws -> M.Result
    ) {
        precondition(handlers[M.name] == nil, "\(M.name) is registered twice")
        handlers[M.name] = { params, context in
            let request = try MethodTable.decodeParams(M.self, params)
            try request.validate()
            let result = try await body(request, context)
            if let encoded = result as? any JSONEncodedResult { return encoded.encodedParts() }
            return [.bytes(try MethodTable.encodeResult(result))]
        }
        if let extensionName { extensions[extensionName, default: []].append(M.name) }
    }

    /// Registers `method` as ``register(_:extension:_:)`` does, its requests ordered by `key` (see ``OrderKey``).
    public mutating func register<M: RPCMethod>(
        _ method: M.Type, extension extensionName: String? = nil, orderedBy key: @escaping OrderKey,
        _ body: @escaping @Sendable (M, RequestContext) async throws -> M.Result
    ) {
        register(method, extension: extensionName, body)
        orderKeys[M.name] = key
    }

    /// Binds the notification `method` to `body`. It runs on the input thread, in the order the
    /// notifications arrived, so it must only hand the work on (it must not block).
    public mutating func registerNotification(_ method: String, _ body: @escaping NotificationHandler) {
        notificationHandlers[method] = body
    }

    /// Decodes by-name params into `type`; absent params decode from `{}`. A member `type` does not
    /// read, at any depth (a misspelt `timeoutMs`, a `memoryGiB` beside `memory`), is refused.
    /// - Throws: ``InvalidParams`` naming the field (`options.timeOutMs`), for every method alike.
    public static func decodeParams<T: Decodable>(_ type: T.Type, _ params: JSONValue?) throws -> T {
        let value = params ?? .object(JSONObject())
        guard case .object = value else {
            throw InvalidParams(field: "params", reason: "must be an object (params are by name)")
        }
        do {
            return try JSONValueDecoder(refusesUnknownMembers: true).decode(type, from: value)
        } catch let error as DecodingError {
            throw InvalidParams(error)
        }
    }

    /// Encodes a result as compact JSON, byte for byte as `JSONEncoder` with
    /// `[.sortedKeys, .withoutEscapingSlashes]` would (``JSONBytesEncoder``).
    /// - Throws: `EncodingError.invalidValue` for a non-finite number.
    public static func encodeResult<T: Encodable>(_ result: T) throws -> [UInt8] {
        try JSONBytesEncoder.encode(result)
    }
}

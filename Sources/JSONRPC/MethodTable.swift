import FoundationEssentials

/// A request type: its params are the struct itself; its method name and result type ride on the type.
public protocol RPCMethod: Decodable, Sendable {
    /// What a successful call returns.
    associatedtype Result: Encodable & Sendable
    /// The JSON-RPC method name.
    static var name: String { get }
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
    public func encodedParts() -> [FramePart] { [.bytes(encodedJSON())] }
}

/// The result of a method that answers `null`.
public struct NullResult: Encodable, Sendable {
    /// The `null` result.
    public init() {}
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encodeNil()
    }
}

/// The methods a server answers, each bound to a typed handler.
public struct MethodTable: Sendable {
    typealias Handler = @Sendable (JSONValue?, RequestContext) async throws -> [FramePart]
    private(set) var handlers: [String: Handler] = [:]
    /// Handlers of notifications the host sends (other than `$/cancelRequest`), by method.
    /// The key that orders a request (from its params): requests whose method has an order key
    /// and whose keys are equal are handled one after another, in the order they arrived (a
    /// stream's chunks, say); nil leaves a request unordered.
    public typealias OrderKey = @Sendable (JSONValue?) -> String?
    private(set) var orderKeys: [String: OrderKey] = [:]
    public typealias NotificationHandler = @Sendable (JSONValue?) -> Void
    private(set) var notificationHandlers: [String: NotificationHandler] = [:]

    /// An empty table.
    public init() {}

    /// The registered method names, sorted.
    public var methodNames: [String] { handlers.keys.sorted() }

    /// Binds `method` to `body`: params are decoded into `M` (errors name the field), the result encoded.
    public mutating func register<M: RPCMethod>(
        _ method: M.Type, _ body: @escaping @Sendable (M, RequestContext) async throws -> M.Result
    ) {
        handlers[M.name] = { params, context in
            let request = try MethodTable.decodeParams(M.self, params)
            let result = try await body(request, context)
            if let encoded = result as? any JSONEncodedResult { return encoded.encodedParts() }
            return [.bytes(try MethodTable.encodeResult(result))]
        }
    }

    /// Binds the notification `method` to `body`. It runs on the input thread, in the order the
    /// notifications arrived, so it must only hand the work on (it must not block).
    /// Registers `method` as ``register(_:_:)`` does, its requests ordered by `key` (see ``OrderKey``).
    public mutating func register<M: RPCMethod>(
        _ method: M.Type, orderedBy key: @escaping OrderKey, _ body: @escaping @Sendable (M, RequestContext) async throws -> M.Result
    ) {
        register(method, body)
        orderKeys[M.name] = key
    }

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

    /// Encodes a result as compact JSON.
    public static func encodeResult<T: Encodable>(_ result: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return Array(try encoder.encode(result))
    }
}

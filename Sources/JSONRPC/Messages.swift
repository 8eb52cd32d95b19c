import JSONCoding

/// A JSON-RPC request id: a string or a number (`null` is kept for requests that sent it).
public enum RequestID: Hashable, Sendable, CustomStringConvertible {
    case string(String)
    case integer(Int64)
    case double(Double)
    case null

    /// The id a JSON value names, if it can be one.
    public init?(_ value: JSONValue) {
        switch value {
        case .string(let string): self = .string(string)
        case .integer(let integer): self = .integer(integer)
        case .null: self = .null
        // Fractional or out-of-range numbers could not be echoed back exactly: not a usable id.
        default: return nil
        }
    }

    /// The id as it goes back on the wire.
    public var json: JSONValue {
        switch self {
        case .string(let string): .string(string)
        case .integer(let integer): .integer(integer)
        case .double(let double): .double(double)
        case .null: .null
        }
    }

    /// The id as text: the string itself, the number, or `null`.
    public var description: String {
        switch self {
        case .string(let string): string
        case .integer(let integer): String(integer)
        case .double(let double): String(double)
        case .null: "null"
        }
    }
}

/// A JSON-RPC error code. Standard codes and the provider's own are static constants.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, Codable {
    /// The code, e.g. -32602.
    public var rawValue: Int
    /// The code `rawValue`.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The line is not JSON.
    public static let parseError = ErrorCode(rawValue: -32700)
    /// The JSON is not a valid request (or a line was too long, or a second `initialize`).
    public static let invalidRequest = ErrorCode(rawValue: -32600)
    /// No such method.
    public static let methodNotFound = ErrorCode(rawValue: -32601)
    /// The params are wrong; `data.field` names the field.
    public static let invalidParams = ErrorCode(rawValue: -32602)
    /// A bug in the worker.
    public static let internalError = ErrorCode(rawValue: -32603)
    /// The engine answered with an error.
    public static let engineError = ErrorCode(rawValue: -32000)
    /// The engine could not be reached.
    public static let engineUnreachable = ErrorCode(rawValue: -32001)
    /// A request other than `initialize` arrived first.
    public static let notInitialized = ErrorCode(rawValue: -32002)
    /// The node (container), path or port does not exist.
    public static let notFound = ErrorCode(rawValue: -32004)
    /// The request did not finish in time.
    public static let timedOut = ErrorCode(rawValue: -32008)
    /// The request conflicts with the node's state (name in use, not running).
    public static let conflict = ErrorCode(rawValue: -32009)
    /// The host cancelled the request.
    public static let requestCancelled = ErrorCode(rawValue: -32800)
}

/// An error as sent to the host: a code, a full-sentence message and structured data.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The JSON-RPC code.
    public var code: ErrorCode
    /// The human-readable message.
    public var message: String
    /// Structured details (`field`, `provider`, `status`, `engineMessage`, …).
    public var data: JSONValue?

    /// An error with a code, message and optional data.
    public init(code: ErrorCode, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// `"<message> (<code>)"`.
    public var description: String { "\(message) (\(code.rawValue))" }

    /// The error object as it goes on the wire.
    public var json: JSONValue {
        var object = JSONObject()
        object["code"] = .integer(Int64(code.rawValue))
        object["message"] = .string(message)
        if let data { object["data"] = data }
        return .object(object)
    }

    static func parseError(_ reason: String) -> RPCError {
        RPCError(code: .parseError, message: "parse error: \(reason)")
    }
    static func invalidRequest(_ reason: String) -> RPCError {
        RPCError(code: .invalidRequest, message: "invalid request: \(reason)")
    }
}

/// Thrown by handlers (or by parameter decoding) when a parameter is wrong.
public struct InvalidParams: Error, Sendable, Equatable {
    /// The dotted path of the offending field, e.g. `spec.runtime.image`.
    public var field: String
    /// Why it is wrong, e.g. "is required".
    public var reason: String

    /// An invalid-params error naming `field`.
    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    /// Translates a decoding failure into the field it concerns.
    public init(_ error: DecodingError) {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce(into: "") { result, key in
                if key.intValue != nil {
                    result += "[\(key.intValue ?? 0)]"
                } else {
                    result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(field: path(context.codingPath + [key]), reason: "is required")
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            self.init(field: path(context.codingPath), reason: context.debugDescription)
        @unknown default:
            self.init(field: "params", reason: "\(error)")
        }
    }
}

/// One parsed line: a request, a notification, or something to answer with an error.
enum IncomingMessage: Sendable {
    /// A request that must be answered.
    case request(id: RequestID, method: String, params: JSONValue?)
    /// A notification: never answered.
    case notification(method: String, params: JSONValue?)
    /// Not a valid message; answer with this error (id may be null).
    case invalid(id: RequestID, error: RPCError)

    /// Classifies one JSON value as JSON-RPC 2.0 says, keeping the id whenever one can be read.
    init(_ value: JSONValue) {
        guard case .object(let object) = value else {
            self = .invalid(id: .null, error: .invalidRequest("a message must be a JSON object"))
            return
        }
        var id: RequestID? = nil
        if let rawID = object["id"] {
            guard let parsed = RequestID(rawID) else {
                self = .invalid(id: .null, error: .invalidRequest("id must be a string, an integer within 64 bits, or null"))
                return
            }
            id = parsed
        }
        guard case .string("2.0")? = object["jsonrpc"] else {
            self = .invalid(id: id ?? .null, error: .invalidRequest("jsonrpc must be \"2.0\""))
            return
        }
        guard case .string(let method)? = object["method"] else {
            self = .invalid(id: id ?? .null, error: .invalidRequest("method must be a string"))
            return
        }
        let params = object["params"]
        if let id {
            self = .request(id: id, method: method, params: params)
        } else {
            self = .notification(method: method, params: params)
        }
    }
}

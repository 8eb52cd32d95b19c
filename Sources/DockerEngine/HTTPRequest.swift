/// An HTTP request to the engine, before the API version prefix is added.
public struct HTTPRequest: Sendable {
    /// An HTTP method.
    public enum Method: String, Sendable {
        case get = "GET", post = "POST", put = "PUT", delete = "DELETE", head = "HEAD"
    }

    /// The method.
    public var method: Method
    /// The path and query, already encoded (for example `/containers/abc/json?size=false`).
    public var target: String
    /// The request body, if any.
    public var body: [UInt8]?
    /// Extra headers.
    public var headers: [(name: String, value: String)]
    /// The whole-request timeout; nil for streams, which are bounded by their consumer instead.
    public var timeout: Duration?

    /// A request.
    public init(
        _ method: Method, _ target: String, body: [UInt8]? = nil, headers: [(name: String, value: String)] = [],
        timeout: Duration? = nil
    ) {
        self.method = method
        self.target = target
        self.body = body
        self.headers = headers
        self.timeout = timeout
    }
}

/// The status line and headers of a response.
public struct ResponseHead: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// The headers, names lowercased, in arrival order.
    public var headers: [(name: String, value: String)]

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name == lowered }?.value
    }
}

/// A response read to its end.
public struct HTTPResponse: Sendable {
    /// The status and headers.
    public var head: ResponseHead
    /// The whole body.
    public var body: [UInt8]
}

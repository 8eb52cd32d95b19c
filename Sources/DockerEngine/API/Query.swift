import FoundationEssentials

/// Builds request targets for the Engine API: path segments and query values percent-encoded by
/// RFC 3986's rules, and `filters` parameters as the engine's JSON map of lists.
public enum EngineQuery {
    /// Percent-encodes a query value: ASCII letters, digits and the unreserved `-._~` stay as they are.
    public static func escapeValue(_ value: String) -> String { percentEncode(value, keeping: "-._~") }

    /// Percent-encodes a path segment such as an image reference; slashes, `:` and `@` stay (the
    /// engine routes a reference's slashes itself).
    public static func escapePath(_ value: String) -> String { percentEncode(value, keeping: "-._~/:@") }

    /// `path?k=v&…` with each value percent-encoded and the parameters in the order given; `path`
    /// alone when there are none.
    public static func target(_ path: String, _ query: [(String, String)] = []) -> String {
        guard !query.isEmpty else { return path }
        return path + "?" + query.map { "\($0.0)=\(escapeValue($0.1))" }.joined(separator: "&")
    }

    /// A `filters` parameter's value: `{"name":["value",…],…}`, keys sorted, slashes unescaped.
    /// - Throws: `EncodingError` (never, for strings).
    public static func filters(_ filters: [String: [String]]) throws -> String {
        String(decoding: try encodeBody(filters, sortedKeys: true), as: UTF8.self)
    }

    /// A JSON request body, slashes unescaped (as the engine's own clients write them).
    /// - Throws: `EncodingError` when `value` cannot be encoded.
    public static func encodeBody<T: Encodable>(_ value: T, sortedKeys: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = sortedKeys ? [.withoutEscapingSlashes, .sortedKeys] : [.withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    /// Percent-encodes `value`, keeping ASCII letters, digits and the bytes of `kept` as they are.
    private static func percentEncode(_ value: String, keeping kept: StaticString) -> String {
        let keptBytes = UnsafeBufferPointer(start: kept.utf8Start, count: kept.utf8CodeUnitCount)
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            let isAlphanumeric = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            if isAlphanumeric || keptBytes.contains(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension EngineClient {
    /// Sends a request without a body worth reading; HTTP errors are thrown (404 as `.notFound`).
    func call(_ method: HTTPRequest.Method, _ path: String, _ query: [(String, String)] = [], timeout: Duration? = nil)
        async throws
    {
        try await send(HTTPRequest(method, EngineQuery.target(path, query), timeout: timeout))
    }

    /// Sends a request and decodes its JSON answer.
    func call<T: Decodable>(
        _ method: HTTPRequest.Method, _ path: String, _ query: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration? = nil, as type: T.Type
    ) async throws -> T {
        try await send(HTTPRequest(method, EngineQuery.target(path, query), body: body, timeout: timeout), as: type)
    }
}

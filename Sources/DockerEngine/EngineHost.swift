/// Where the engine listens, in `DOCKER_HOST` syntax, and how to talk TLS to it.
public struct EngineHost: Sendable, Equatable, CustomStringConvertible {
    /// The transport to the engine.
    public enum Transport: Sendable, Equatable {
        /// A unix socket at this path.
        case unix(path: String)
        /// TCP to this host and port.
        case tcp(host: String, port: Int)
    }

    /// Client TLS material for a TCP engine.
    public struct TLS: Sendable, Equatable {
        /// CA bundle that signed the engine's certificate.
        public var caPath: String?
        /// Client certificate.
        public var certPath: String?
        /// Client key.
        public var keyPath: String?
        /// Whether to verify the engine's certificate.
        public var verify: Bool

        /// TLS settings.
        public init(caPath: String?, certPath: String?, keyPath: String?, verify: Bool = true) {
            self.caPath = caPath
            self.certPath = certPath
            self.keyPath = keyPath
            self.verify = verify
        }
    }

    /// The default engine address.
    public static let defaultSocket = "unix:///var/run/docker.sock"

    /// The transport.
    public var transport: Transport
    /// TLS settings, for TCP only.
    public var tls: TLS?

    /// Parses `unix:///path`, `tcp://host:port`, `http://host:port` or `https://host:port`.
    public init(parsing address: String, tls: TLS? = nil) throws(EngineError) {
        func invalid(_ why: String) -> EngineError {
            EngineError(code: .unreachable, reason: "The engine address \"\(address)\" is not valid: \(why).")
        }
        if address.hasPrefix("unix://") {
            let path = String(address.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw invalid("a unix socket path must be absolute") }
            self.transport = .unix(path: path)
            self.tls = nil
            return
        }
        var rest: Substring
        var useTLS = tls
        if address.hasPrefix("tcp://") {
            rest = address.dropFirst("tcp://".count)
        } else if address.hasPrefix("http://") {
            rest = address.dropFirst("http://".count)
        } else if address.hasPrefix("https://") {
            rest = address.dropFirst("https://".count)
            if useTLS == nil { useTLS = TLS(caPath: nil, certPath: nil, keyPath: nil) }
        } else {
            throw invalid("it must start with unix://, tcp://, http:// or https://")
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let host: Substring
        var port = useTLS == nil ? 2375 : 2376
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()) else { throw invalid("the port is not a number") }
                port = parsed
            } else if !after.isEmpty {
                throw invalid("unexpected text after the IPv6 address")
            }
        } else if rest.filter({ $0 == ":" }).count > 1 {
            throw invalid("an IPv6 address must be written in brackets, as [::1]:2376")
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let parsed = Int(rest[rest.index(after: colon)...]) else { throw invalid("the port is not a number") }
            port = parsed
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw invalid("the host is empty") }
        guard (1...65535).contains(port) else { throw invalid("the port is out of range") }
        self.transport = .tcp(host: String(host), port: port)
        self.tls = useTLS
    }

    /// The URL prefix requests are sent to.
    var baseURL: String {
        switch transport {
        case .unix: return "http://localhost"
        case .tcp(let host, let port):
            let bracketed = host.contains(":") ? "[\(host)]" : host
            return "\(tls == nil ? "http" : "https")://\(bracketed):\(port)"
        }
    }

    /// Whether the engine is on this machine's filesystem (unix socket).
    public var isLocal: Bool {
        if case .unix = transport { return true }
        return false
    }

    public var description: String {
        switch transport {
        case .unix(let path): "unix://\(path)"
        case .tcp(let host, let port): "tcp://\(host):\(port)\(tls == nil ? "" : " (TLS)")"
        }
    }
}

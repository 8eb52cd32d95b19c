/// Where the engine listens, in `DOCKER_HOST` syntax, and how to talk TLS to it.
public struct EngineHost: Sendable, Equatable, CustomStringConvertible {
    /// The transport to the engine.
    public enum Transport: Sendable, Equatable {
        /// A unix socket at this path.
        case unix(path: String)
        /// TCP to this host and port.
        case tcp(host: String, port: Int)
        /// The system `ssh` to this host (port 22 when nil, as `~/.ssh/config` says), running
        /// `docker system dial-stdio` there, as the Docker CLI does for `ssh://` addresses.
        case ssh(user: String?, host: String, port: Int?)
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
    /// Extra `ssh` arguments for an `ssh://` engine (`["-i", "/path/key", "-o", "Port=2222"]`),
    /// placed before the worker's own, so that they win (`ssh` keeps the first value of an option).
    public var sshOptions: [String] = []

    /// Parses `unix:///path`, `tcp://host:port`, `http://host:port`, `https://host:port` or
    /// `ssh://[user@]host[:port]`.
    /// - Throws: ``EngineError`` (`.unreachable`) saying what is wrong with the address or with `sshOptions`.
    public init(parsing address: String, tls: TLS? = nil, sshOptions: [String] = []) throws(EngineError) {
        func invalid(_ why: String) -> EngineError {
            EngineError(code: .unreachable, reason: "The engine address \"\(address)\" is not valid: \(why).")
        }
        if address.hasPrefix("ssh://") {
            var rest = address.dropFirst("ssh://".count)
            if let slash = rest.firstIndex(of: "/") {
                guard rest[slash...] == "/" else { throw invalid("an ssh:// address takes no path") }
                rest = rest[..<slash]
            }
            var user: String? = nil
            if let at = rest.lastIndex(of: "@") {
                let name = rest[..<at]
                guard !name.isEmpty, !name.contains(":") else {
                    throw invalid("the user must be a plain name (ssh://user@host; keys, not passwords)")
                }
                user = String(name)
                rest = rest[rest.index(after: at)...]
            }
            let (host, port) = try Self.hostAndPort(rest, defaultPort: nil, invalid: invalid)
            guard !host.hasPrefix("-"), !(user?.hasPrefix("-") ?? false) else { throw invalid("a host or user cannot start with -") }
            if let problem = Self.sshOptionsProblem(sshOptions) {
                throw EngineError(code: .unreachable, reason: "The ssh options are not valid: \(problem).")
            }
            self.transport = .ssh(user: user, host: host, port: port)
            self.tls = nil
            self.sshOptions = sshOptions
            return
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
            throw invalid("it must start with unix://, tcp://, http://, https:// or ssh://")
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let (host, port) = try Self.hostAndPort(rest, defaultPort: useTLS == nil ? 2375 : 2376, invalid: invalid)
        self.transport = .tcp(host: host, port: port ?? 2375)
        self.tls = useTLS
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    private static func hostAndPort(
        _ rest: Substring, defaultPort: Int?, invalid: (String) -> EngineError
    ) throws(EngineError) -> (String, Int?) {
        let host: Substring
        var port = defaultPort
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
        if let port, !(1...65535).contains(port) { throw invalid("the port is out of range") }
        return (String(host), port)
    }

    /// `ssh` flags that take a value (OpenSSH 9).
    private static let sshFlagsWithValue = Set("BbcDEeFIiJLlmOoPpQRSWw")

    /// Why `options` cannot go before the destination of an `ssh` command line, or nil: each
    /// word must be a flag (`-i`, `-oName=value`, `-v`) or the value of the flag before it, so that
    /// no word is taken for the destination or the remote command.
    public static func sshOptionsProblem(_ options: [String]) -> String? {
        var index = 0
        while index < options.count {
            let word = options[index]
            guard word.hasPrefix("-"), word.count >= 2, word != "--" else {
                return "sshOptions[\(index)] (\"\(word)\") is not an ssh flag; values follow their flag, as [\"-i\", \"/path/key\"]"
            }
            if word.count == 2, let flag = word.last, sshFlagsWithValue.contains(flag) {
                guard index + 1 < options.count else { return "sshOptions[\(index)] (\(word)) needs a value after it" }
                index += 1
            }
            index += 1
        }
        return nil
    }

    /// The URL prefix requests are sent to.
    var baseURL: String {
        switch transport {
        case .unix, .ssh: return "http://\(authority)"
        case .tcp: return "\(tls == nil ? "http" : "https")://\(authority)"
        }
    }

    /// The URL authority and `Host` header: `localhost` over a socket, else `host:port`
    /// (an IPv6 address bracketed).
    var authority: String {
        switch transport {
        case .unix, .ssh: return "localhost"
        case .tcp(let host, let port): return "\(host.contains(":") ? "[\(host)]" : host):\(port)"
        }
    }

    /// Whether the engine is on this machine's filesystem (unix socket).
    public var isLocal: Bool {
        if case .unix = transport { return true }
        return false
    }

    /// The address in `DOCKER_HOST` syntax, e.g. `unix:///var/run/docker.sock`, `tcp://host:2376`.
    public var description: String {
        switch transport {
        case .unix(let path): "unix://\(path)"
        case .tcp(let host, let port): "tcp://\(host):\(port)\(tls == nil ? "" : " (TLS)")"
        case .ssh(let user, let host, let port):
            "ssh://\(user.map { "\($0)@" } ?? "")\(host.contains(":") ? "[\(host)]" : host)\(port.map { ":\($0)" } ?? "")"
        }
    }
}

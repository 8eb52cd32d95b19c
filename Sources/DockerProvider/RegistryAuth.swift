import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

/// A user name and password for one registry, as the engine takes them in `X-Registry-Auth`.
///
/// Its descriptions never show the password, so a credential that reaches a log line stays secret.
public struct RegistryCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The registry account.
    public var username: String
    /// The account's password or token.
    public var password: String
    /// The registry as the engine names it: `host[:port]`, or `https://index.docker.io/v1/` for Docker Hub.
    public var serverAddress: String

    /// Credentials for `serverAddress`.
    public init(username: String, password: String, serverAddress: String) {
        self.username = username
        self.password = password
        self.serverAddress = serverAddress
    }

    /// The `X-Registry-Auth` header value: the JSON `{"username","password","serveraddress"}`,
    /// base64url-encoded (with padding, as the Docker CLI sends it).
    public var headerValue: String {
        // The project's JSONWriter rather than JSONEncoder: the key order is fixed and nothing is escaped needlessly.
        let json = JSONWriter.encode(
            .object(
                JSONObject([
                    "username": .string(username), "password": .string(password), "serveraddress": .string(serverAddress),
                ])))
        return Base64.encode(json, alphabet: .url)
    }

    /// `RegistryCredentials(<username>@<serverAddress>, password: [redacted])`: never the password.
    public var description: String { "RegistryCredentials(\(username)@\(serverAddress), password: [redacted])" }
    /// The same as ``description``: never the password.
    public var debugDescription: String { description }
}

/// One entry of `config.registryAuth`: either `username` and `password`, or `auth`
/// (base64 of `user:password`, as in `~/.docker/config.json`).
public struct RegistryAuthEntry: Decodable, Sendable, Equatable, CustomStringConvertible {
    /// The registry account.
    public var username: String?
    /// The account's password or token.
    public var password: String?
    /// Base64 of `username:password`.
    public var auth: String?

    /// An entry with the given fields.
    public init(username: String? = nil, password: String? = nil, auth: String? = nil) {
        self.username = username
        self.password = password
        self.auth = auth
    }

    /// The credentials this entry holds for `serverAddress`, or nil when it holds none usable:
    /// `auth` wins when it decodes to `user:password`; else `username` and `password` (both non-empty).
    public func credentials(serverAddress: String) -> RegistryCredentials? {
        if let auth, !auth.isEmpty, let pair = RegistryAuth.decodeAuth(auth) {
            return RegistryCredentials(username: pair.username, password: pair.password, serverAddress: serverAddress)
        }
        guard let username, !username.isEmpty, let password, !password.isEmpty else { return nil }
        return RegistryCredentials(username: username, password: password, serverAddress: serverAddress)
    }

    /// The members with `password` and `auth` shown as `[redacted]` (or `nil`).
    public var description: String {
        "RegistryAuthEntry(username: \(username ?? "nil"), password: \(password == nil ? "nil" : "[redacted]"), "
            + "auth: \(auth == nil ? "nil" : "[redacted]"))"
    }
}

/// The parts of the Docker CLI's `config.json` the worker reads: `auths` and `currentContext`.
public struct DockerCLIConfig: Decodable, Sendable, Equatable {
    /// One `auths` entry.
    public struct AuthEntry: Decodable, Sendable, Equatable {
        /// Base64 of `username:password`.
        public var auth: String?
        /// Older files keep the parts apart.
        public var username: String?
        /// Older files keep the parts apart.
        public var password: String?

        /// An entry with the given fields.
        public init(auth: String? = nil, username: String? = nil, password: String? = nil) {
            self.auth = auth
            self.username = username
            self.password = password
        }
    }

    /// Credentials by registry key (`127.0.0.1:5000`, `https://index.docker.io/v1/`, …).
    public var auths: [String: AuthEntry]
    /// The context `docker context use` chose.
    public var currentContext: String?
    /// A credential store the CLI would ask instead (not supported by the worker; reported only).
    public var credsStore: String?

    /// A configuration with the given fields.
    public init(auths: [String: AuthEntry] = [:], currentContext: String? = nil, credsStore: String? = nil) {
        self.auths = auths
        self.currentContext = currentContext
        self.credsStore = credsStore
    }

    private enum CodingKeys: String, CodingKey {
        case auths, currentContext, credsStore
    }

    /// Reads `auths` (absent: empty), `currentContext` and `credsStore`; other members are ignored.
    /// - Throws: `DecodingError` when a member has the wrong type.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        auths = try container.decodeIfPresent([String: AuthEntry].self, forKey: .auths) ?? [:]
        currentContext = try container.decodeIfPresent(String.self, forKey: .currentContext)
        credsStore = try container.decodeIfPresent(String.self, forKey: .credsStore)
    }

    /// The CLI's configuration directory: `DOCKER_CONFIG`, else `$HOME/.docker`.
    public static func directory(environment: [String: String]) -> String {
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty { return dir }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.homeDirectoryForCurrentUser.path
        return joinPath(home, ".docker")
    }

    /// Reads `config.json` from ``directory(environment:)``: nil when there is none; throws when it
    /// exists but is not valid JSON of the expected shape.
    public static func load(environment: [String: String]) throws -> DockerCLIConfig? {
        try load(directory: directory(environment: environment))
    }

    /// Reads `config.json` in `directory`: nil when there is none.
    public static func load(directory: String) throws -> DockerCLIConfig? {
        let path = joinPath(directory, "config.json")
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return DockerCLIConfig() }
        return try JSONDecoder().decode(DockerCLIConfig.self, from: data)
    }
}

/// Chooses the registry credentials for an image pull and encodes them for `X-Registry-Auth`.
///
/// Lookup follows the Docker CLI: the registry of a reference is the part before its first `/`
/// when that part contains `.` or `:` or is `localhost`, else Docker Hub. Keys of both
/// `config.registryAuth` and `config.json`'s `auths` are compared by host (scheme and path
/// dropped, case ignored; `docker.io`, `index.docker.io`, `registry-1.docker.io` and
/// `https://index.docker.io/v1/` all name Docker Hub). `config.registryAuth` wins over `config.json`.
public enum RegistryAuth {
    /// Docker Hub's registry host, as ``registryHost(of:)`` returns it.
    public static let dockerHubHost = "docker.io"
    /// Docker Hub's server address in `config.json` and in `X-Registry-Auth`.
    public static let dockerHubServerAddress = "https://index.docker.io/v1/"

    /// The registry host of an image reference (`127.0.0.1:5000/olw/busybox:latest` → `127.0.0.1:5000`,
    /// `busybox` and `library/busybox` → `docker.io`).
    public static func registryHost(of reference: String) -> String {
        guard let slash = reference.firstIndex(of: "/") else { return dockerHubHost }
        let first = reference[..<slash]
        guard first.contains(".") || first.contains(":") || first == "localhost" else { return dockerHubHost }
        return normalizedHost(String(first))
    }

    /// The address the engine and `config.json` use for a registry host.
    public static func serverAddress(forHost host: String) -> String {
        host == dockerHubHost ? dockerHubServerAddress : host
    }

    /// A registry key reduced to its host: scheme and path dropped, lowercased, Docker Hub's aliases
    /// folded into `docker.io`.
    public static func normalizedHost(_ key: String) -> String {
        var rest = Substring(key.trimmedOfWhitespace())
        for scheme in ["https://", "http://"] where rest.lowercased().hasPrefix(scheme) {
            rest = rest.dropFirst(scheme.count)
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let host = rest.lowercased()
        switch host {
        case "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return dockerHubHost
        default: return host
        }
    }

    /// The credentials for pulling `image`: from `configured` (`config.registryAuth`) first, then from
    /// `dockerConfigAuths` (`config.json`'s `auths`); nil when neither holds usable ones for its registry.
    public static func credentials(
        for image: String, configured: [String: RegistryAuthEntry]?, dockerConfigAuths: [String: DockerCLIConfig.AuthEntry]
    ) -> RegistryCredentials? {
        let host = registryHost(of: image)
        let address = serverAddress(forHost: host)
        for (key, entry) in (configured ?? [:]).sorted(by: { $0.key < $1.key }) where normalizedHost(key) == host {
            if let found = entry.credentials(serverAddress: address) { return found }
        }
        for (key, entry) in dockerConfigAuths.sorted(by: { $0.key < $1.key }) where normalizedHost(key) == host {
            let asEntry = RegistryAuthEntry(username: entry.username, password: entry.password, auth: entry.auth)
            if let found = asEntry.credentials(serverAddress: address) { return found }
        }
        return nil
    }

    /// The `X-Registry-Auth` header value for pulling `image`, or nil to send no header.
    public static func headerValue(
        for image: String, configured: [String: RegistryAuthEntry]?, dockerConfigAuths: [String: DockerCLIConfig.AuthEntry]
    ) -> String? {
        credentials(for: image, configured: configured, dockerConfigAuths: dockerConfigAuths)?.headerValue
    }

    /// As ``headerValue(for:configured:dockerConfigAuths:)``, reading `config.json` from
    /// `DOCKER_CONFIG` or `$HOME/.docker` in `environment`. A missing or unreadable file counts as no credentials.
    public static func headerValue(
        for image: String, configured: [String: RegistryAuthEntry]?, environment: [String: String]
    ) -> String? {
        let auths = ((try? DockerCLIConfig.load(environment: environment)) ?? nil)?.auths ?? [:]
        return headerValue(for: image, configured: configured, dockerConfigAuths: auths)
    }

    /// The first problem in a `config.registryAuth` object, for an `initialize` that rejects bad
    /// config with -32602: the offending key and why; nil when every entry is usable.
    public static func problem(in configured: [String: RegistryAuthEntry]) -> (key: String, reason: String)? {
        for (key, entry) in configured.sorted(by: { $0.key < $1.key }) {
            if normalizedHost(key).isEmpty { return (key, "is not a registry host") }
            if let auth = entry.auth, !auth.isEmpty {
                if decodeAuth(auth) == nil { return (key, "auth must be base64 of user:password") }
                continue
            }
            if entry.username?.isEmpty ?? true { return (key, "needs username and password, or auth") }
            if entry.password?.isEmpty ?? true { return (key, "needs a password") }
        }
        return nil
    }

    /// Splits base64 `user:password` (standard or URL alphabet, padding optional) at the first colon.
    static func decodeAuth(_ auth: String) -> (username: String, password: String)? {
        var text = auth.trimmedOfWhitespace()
            .replacing("-", with: "+").replacing("_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let bytes = Base64.decode(text), let plain = String(data: Data(bytes), encoding: .utf8),
            let colon = plain.firstIndex(of: ":")
        else { return nil }
        let username = String(plain[..<colon])
        let password = String(plain[plain.index(after: colon)...])
        guard !username.isEmpty else { return nil }
        return (username, password)
    }
}

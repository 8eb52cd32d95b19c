import FoundationEssentials

/// The engine endpoint of a Docker CLI context (`docker context create …`), read from the CLI's
/// context store: `<config dir>/contexts/meta/<id>/meta.json` and `<config dir>/contexts/tls/<id>/docker/`.
public struct DockerContextEndpoint: Sendable, Equatable {
    /// The context's name.
    public var name: String
    /// The engine address in `DOCKER_HOST` syntax (`Endpoints.docker.Host`).
    public var host: String
    /// `Endpoints.docker.SkipTLSVerify`: TLS without checking the engine's certificate.
    public var skipTLSVerify: Bool
    /// `ca.pem` of the context, when it has one.
    public var caPath: String?
    /// `cert.pem` of the context, when it has one.
    public var certPath: String?
    /// `key.pem` of the context, when it has one.
    public var keyPath: String?

    /// An endpoint with the given fields.
    public init(
        name: String, host: String, skipTLSVerify: Bool = false, caPath: String? = nil, certPath: String? = nil,
        keyPath: String? = nil
    ) {
        self.name = name
        self.host = host
        self.skipTLSVerify = skipTLSVerify
        self.caPath = caPath
        self.certPath = certPath
        self.keyPath = keyPath
    }

    /// Whether the CLI would talk TLS to this endpoint: it has TLS material or skips verification.
    public var usesTLS: Bool { caPath != nil || certPath != nil || keyPath != nil || skipTLSVerify }
}

/// Why a named context could not be used.
public struct DockerContextError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The context asked for.
    public var name: String
    /// A full sentence.
    public var reason: String

    /// An error about context `name`.
    public init(name: String, reason: String) {
        self.name = name
        self.reason = reason
    }

    /// The reason, as ``reason`` gives it.
    public var description: String { reason }
}

/// Resolves the Docker CLI context in force, as the CLI does.
///
/// The context name comes from `DOCKER_CONTEXT`, else from `currentContext` in `config.json`
/// (`DOCKER_CONFIG`, else `$HOME/.docker`). `DOCKER_HOST` set (non-empty) means the default
/// context, as in the CLI, and so does the name `default`: in both cases there is no context
/// endpoint and the worker keeps `DOCKER_HOST` or its default socket.
public enum DockerContext {
    /// The name the CLI calls its built-in context.
    public static let defaultName = "default"

    /// The name of the context in force, or nil for the default context.
    /// `currentContext` is `config.json`'s field (pass nil when there is no file).
    public static func currentName(environment: [String: String], currentContext: String?) -> String? {
        if let host = environment["DOCKER_HOST"], !host.isEmpty { return nil }
        let name: String? =
            if let fromEnv = environment["DOCKER_CONTEXT"], !fromEnv.isEmpty { fromEnv } else { currentContext }
        guard let name, !name.isEmpty, name != defaultName else { return nil }
        return name
    }

    /// The endpoint of the context in force, or nil for the default context.
    /// Throws when a context is named but cannot be read, or `config.json` is not valid.
    public static func resolve(environment: [String: String]) throws -> DockerContextEndpoint? {
        let directory = DockerCLIConfig.directory(environment: environment)
        let needsConfig = (environment["DOCKER_HOST"] ?? "").isEmpty && (environment["DOCKER_CONTEXT"] ?? "").isEmpty
        var currentContext: String? = nil
        if needsConfig {
            do {
                currentContext = try DockerCLIConfig.load(directory: directory)?.currentContext
            } catch {
                throw DockerContextError(
                    name: "", reason: "the Docker CLI configuration \(directory)/config.json could not be read: \(error)")
            }
        }
        guard let name = currentName(environment: environment, currentContext: currentContext) else { return nil }
        return try endpoint(named: name, configDirectory: directory)
    }

    /// Reads context `name` from the store under `configDirectory`.
    ///
    /// The store names each context's folders by the SHA-256 of its name; this finds the `meta.json`
    /// whose `Name` is `name` and takes its folder name as the id of the matching `tls/<id>/docker/` folder.
    public static func endpoint(named name: String, configDirectory: String) throws -> DockerContextEndpoint {
        let metaRoot = joinPath(configDirectory, "contexts/meta")
        let fileManager = FileManager.default
        let ids = ((try? fileManager.contentsOfDirectory(atPath: metaRoot)) ?? []).sorted()
        for id in ids {
            let path = joinPath(metaRoot, "\(id)/meta.json")
            guard let data = fileManager.contents(atPath: path) else { continue }
            let meta: Meta
            do {
                meta = try JSONDecoder().decode(Meta.self, from: data)
            } catch {
                continue
            }
            guard meta.name == name else { continue }
            guard let docker = meta.endpoints?["docker"], let host = docker.host, !host.isEmpty else {
                throw DockerContextError(name: name, reason: "the Docker context \"\(name)\" has no docker endpoint host (\(path))")
            }
            let tlsDir = joinPath(configDirectory, "contexts/tls/\(id)/docker")
            func file(_ base: String) -> String? {
                let candidate = joinPath(tlsDir, base)
                return fileManager.fileExists(atPath: candidate) ? candidate : nil
            }
            return DockerContextEndpoint(
                name: name, host: host, skipTLSVerify: docker.skipTLSVerify ?? false, caPath: file("ca.pem"),
                certPath: file("cert.pem"), keyPath: file("key.pem"))
        }
        throw DockerContextError(name: name, reason: "the Docker context \"\(name)\" was not found in \(metaRoot)")
    }

    /// The fields of `meta.json` the worker reads.
    private struct Meta: Decodable {
        struct Endpoint: Decodable {
            var host: String?
            var skipTLSVerify: Bool?

            enum CodingKeys: String, CodingKey {
                case host = "Host"
                case skipTLSVerify = "SkipTLSVerify"
            }
        }

        var name: String?
        var endpoints: [String: Endpoint]?

        enum CodingKeys: String, CodingKey {
            case name = "Name"
            case endpoints = "Endpoints"
        }
    }
}

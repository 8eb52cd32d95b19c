import DockerProvider
import Foundation
import Testing

/// Decodes an `X-Registry-Auth` value back into its JSON object.
private func decodeHeader(_ value: String) throws -> [String: String] {
    #expect(!value.contains("+") && !value.contains("/"), "base64url alphabet only")
    let standard = value.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    let data = try #require(Data(base64Encoded: standard))
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
    return object
}

/// A fresh directory, removed at the end of `body`.
private func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("olw-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

private func write(_ text: String, to path: String) throws {
    try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
}

@Suite("registry auth")
struct RegistryAuthTests {
    @Test(arguments: [
        ("busybox", "docker.io"),
        ("busybox:1.36", "docker.io"),
        ("library/busybox", "docker.io"),
        ("olw/busybox:latest", "docker.io"),
        ("docker.io/library/busybox", "docker.io"),
        ("index.docker.io/library/busybox", "docker.io"),
        ("127.0.0.1:5000/olw/busybox:latest", "127.0.0.1:5000"),
        ("localhost/olw/busybox", "localhost"),
        ("localhost:5000/busybox", "localhost:5000"),
        ("ghcr.io/org/image@sha256:abcd", "ghcr.io"),
        ("Registry.Example.com/x", "registry.example.com"),
    ])
    func registryHostOfAReference(reference: String, host: String) {
        #expect(RegistryAuth.registryHost(of: reference) == host)
    }

    @Test func configuredUsernameAndPasswordBecomeTheHeader() throws {
        let configured = ["127.0.0.1:5000": RegistryAuthEntry(username: "olw", password: "olw-secret")]
        let value = try #require(
            RegistryAuth.headerValue(for: "127.0.0.1:5000/olw/busybox:latest", configured: configured, dockerConfigAuths: [:]))
        #expect(try decodeHeader(value) == ["username": "olw", "password": "olw-secret", "serveraddress": "127.0.0.1:5000"])
    }

    @Test func configuredAuthFieldIsSplitAtTheFirstColon() throws {
        let configured = ["127.0.0.1:5000": RegistryAuthEntry(auth: "b2x3OnBhOnNz")]  // olw:pa:ss
        let credentials = try #require(
            RegistryAuth.credentials(for: "127.0.0.1:5000/a", configured: configured, dockerConfigAuths: [:]))
        #expect(credentials.username == "olw")
        #expect(credentials.password == "pa:ss")
    }

    @Test func dockerConfigAuthsAreUsedAndConfigWins() throws {
        let auths = [
            "http://127.0.0.1:5000": DockerCLIConfig.AuthEntry(auth: "b2x3Om9sdy1zZWNyZXQ="),  // olw:olw-secret
            "https://index.docker.io/v1/": DockerCLIConfig.AuthEntry(auth: "aHViOmh1Yi1wdw=="),  // hub:hub-pw
        ]
        let fromFile = try #require(RegistryAuth.credentials(for: "127.0.0.1:5000/olw/busybox", configured: nil, dockerConfigAuths: auths))
        #expect(fromFile == RegistryCredentials(username: "olw", password: "olw-secret", serverAddress: "127.0.0.1:5000"))

        let hub = try #require(RegistryAuth.credentials(for: "library/busybox", configured: nil, dockerConfigAuths: auths))
        #expect(hub == RegistryCredentials(username: "hub", password: "hub-pw", serverAddress: "https://index.docker.io/v1/"))

        let configured = ["127.0.0.1:5000": RegistryAuthEntry(username: "other", password: "pw")]
        let overridden = try #require(
            RegistryAuth.credentials(for: "127.0.0.1:5000/olw/busybox", configured: configured, dockerConfigAuths: auths))
        #expect(overridden.username == "other")
    }

    @Test func hubAliasesInConfiguredKeys() throws {
        for key in ["docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"] {
            let configured = [key: RegistryAuthEntry(username: "u", password: "p")]
            let value = try #require(RegistryAuth.headerValue(for: "busybox", configured: configured, dockerConfigAuths: [:]), "\(key)")
            #expect(try decodeHeader(value)["serveraddress"] == "https://index.docker.io/v1/")
        }
    }

    @Test func noCredentialsForOtherRegistriesOrUnusableEntries() {
        let configured = ["other.example.com": RegistryAuthEntry(username: "u", password: "p")]
        #expect(RegistryAuth.headerValue(for: "127.0.0.1:5000/x", configured: configured, dockerConfigAuths: [:]) == nil)
        #expect(RegistryAuth.headerValue(for: "busybox", configured: nil, dockerConfigAuths: [:]) == nil)
        let unusable = ["127.0.0.1:5000": RegistryAuthEntry(username: "u")]
        #expect(RegistryAuth.headerValue(for: "127.0.0.1:5000/x", configured: unusable, dockerConfigAuths: [:]) == nil)
        let badAuth = ["127.0.0.1:5000": DockerCLIConfig.AuthEntry(auth: "!!!not base64")]
        #expect(RegistryAuth.headerValue(for: "127.0.0.1:5000/x", configured: nil, dockerConfigAuths: badAuth) == nil)
    }

    @Test func problemsInConfiguredEntries() {
        #expect(RegistryAuth.problem(in: ["r:5000": RegistryAuthEntry(username: "u", password: "p")]) == nil)
        #expect(RegistryAuth.problem(in: ["r:5000": RegistryAuthEntry(auth: "dTpw")]) == nil)
        #expect(RegistryAuth.problem(in: ["r:5000": RegistryAuthEntry(username: "u")])?.key == "r:5000")
        #expect(RegistryAuth.problem(in: ["r:5000": RegistryAuthEntry(auth: "bm9jb2xvbg==")])?.reason.contains("base64") == true)
        #expect(RegistryAuth.problem(in: ["r:5000": RegistryAuthEntry()]) != nil)
    }

    @Test func headerEscapesJSONAndUsesTheURLAlphabet() throws {
        // Bytes chosen so that standard base64 would contain both + and /.
        let credentials = RegistryCredentials(username: "u\"\\\n", password: "??>>??>>~~~", serverAddress: "r:1")
        let decoded = try decodeHeader(credentials.headerValue)
        #expect(decoded == ["username": "u\"\\\n", "password": "??>>??>>~~~", "serveraddress": "r:1"])
        #expect(credentials.headerValue.contains("-") || credentials.headerValue.contains("_"))
    }

    @Test func headerBytesAreTheCLIsJSON() {
        // Key order, escapes (\u00XX for other control characters, lowercase) and unescaped non-ASCII
        // as the Docker CLI writes them.
        let credentials = RegistryCredentials(username: "a\u{1}\t\r", password: "p/é\u{1F}", serverAddress: "r:1")
        let json = #"{"username":"a\u0001\t\r","password":"p/é\u001f","serveraddress":"r:1"}"#
        let expected = Data(json.utf8).base64EncodedString().replacing("+", with: "-").replacing("/", with: "_")
        #expect(credentials.headerValue == expected)
    }

    @Test func descriptionsNeverShowThePassword() {
        let credentials = RegistryCredentials(username: "olw", password: "olw-secret", serverAddress: "127.0.0.1:5000")
        #expect(!"\(credentials)".contains("olw-secret"))
        #expect(!String(reflecting: credentials).contains("olw-secret"))
        let entry = RegistryAuthEntry(username: "olw", password: "olw-secret", auth: "b2x3Om9sdy1zZWNyZXQ=")
        #expect(!"\(entry)".contains("olw-secret"))
        #expect(!"\(entry)".contains("b2x3Om9sdy1zZWNyZXQ="))
    }

    @Test func configEntryDecodesFromJSON() throws {
        let json = #"{"127.0.0.1:5000": {"username": "olw", "password": "olw-secret"}, "r.io": {"auth": "dTpw"}}"#
        let decoded = try JSONDecoder().decode([String: RegistryAuthEntry].self, from: Data(json.utf8))
        #expect(decoded["127.0.0.1:5000"] == RegistryAuthEntry(username: "olw", password: "olw-secret"))
        #expect(decoded["r.io"]?.credentials(serverAddress: "r.io")?.password == "p")
    }

    @Test func dockerConfigIsReadFromDOCKER_CONFIGOrHome() throws {
        try withTemporaryDirectory { dir in
            let configDir = (dir as NSString).appendingPathComponent("cfg")
            try write(
                #"{"auths": {"127.0.0.1:5000": {"auth": "b2x3Om9sdy1zZWNyZXQ="}}, "credsStore": "desktop", "currentContext": "remote"}"#,
                to: "\(configDir)/config.json")
            let config = try #require(try DockerCLIConfig.load(environment: ["DOCKER_CONFIG": configDir]))
            #expect(config.currentContext == "remote")
            #expect(config.credsStore == "desktop")
            let value = try #require(
                RegistryAuth.headerValue(
                    for: "127.0.0.1:5000/olw/busybox:latest", configured: nil, environment: ["DOCKER_CONFIG": configDir]))
            #expect(try decodeHeader(value)["password"] == "olw-secret")

            // $HOME/.docker when DOCKER_CONFIG is unset
            let home = (dir as NSString).appendingPathComponent("home")
            try write(#"{"auths": {"127.0.0.1:5000": {"auth": "dTpw"}}}"#, to: "\(home)/.docker/config.json")
            #expect(DockerCLIConfig.directory(environment: ["HOME": home]) == "\(home)/.docker")
            let fromHome = try #require(
                RegistryAuth.headerValue(for: "127.0.0.1:5000/x", configured: nil, environment: ["HOME": home, "DOCKER_CONFIG": ""]))
            #expect(try decodeHeader(fromHome)["username"] == "u")

            // no file, an empty file, a broken file
            #expect(try DockerCLIConfig.load(directory: "\(dir)/none") == nil)
            try write("", to: "\(dir)/empty/config.json")
            #expect(try DockerCLIConfig.load(directory: "\(dir)/empty") == DockerCLIConfig())
            try write("{not json", to: "\(dir)/broken/config.json")
            #expect(throws: (any Error).self) { try DockerCLIConfig.load(directory: "\(dir)/broken") }
            #expect(
                RegistryAuth.headerValue(for: "127.0.0.1:5000/x", configured: nil, environment: ["DOCKER_CONFIG": "\(dir)/broken"]) == nil)
        }
    }
}

@Suite("docker context")
struct DockerContextTests {
    /// sha256("remote"), the folder name the CLI gives that context.
    static let remoteID = "b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a"

    /// A config directory with a `remote` context (TLS files) and a `plain` one (none).
    private func makeStore(_ dir: String, currentContext: String? = "remote") throws -> String {
        let config = (dir as NSString).appendingPathComponent("docker")
        if let currentContext {
            try write(#"{"auths": {}, "currentContext": "\#(currentContext)"}"#, to: "\(config)/config.json")
        }
        try write(
            #"{"Name":"remote","Metadata":{"Description":"second engine"},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:23760","SkipTLSVerify":false}}}"#,
            to: "\(config)/contexts/meta/\(Self.remoteID)/meta.json")
        for file in ["ca.pem", "cert.pem", "key.pem"] {
            try write("PEM", to: "\(config)/contexts/tls/\(Self.remoteID)/docker/\(file)")
        }
        try write(
            #"{"Name":"plain","Endpoints":{"docker":{"Host":"unix:///var/run/other.sock","SkipTLSVerify":true}}}"#,
            to: "\(config)/contexts/meta/0123plain/meta.json")
        try write(#"{"Name":"nohost","Endpoints":{}}"#, to: "\(config)/contexts/meta/0123nohost/meta.json")
        try write("{broken", to: "\(config)/contexts/meta/0123broken/meta.json")
        return config
    }

    @Test func currentContextFromConfigJSON() throws {
        try withTemporaryDirectory { dir in
            let config = try makeStore(dir)
            let endpoint = try #require(try DockerContext.resolve(environment: ["DOCKER_CONFIG": config]))
            let tls = "\(config)/contexts/tls/\(Self.remoteID)/docker"
            #expect(
                endpoint
                    == DockerContextEndpoint(
                        name: "remote", host: "tcp://127.0.0.1:23760", skipTLSVerify: false, caPath: "\(tls)/ca.pem",
                        certPath: "\(tls)/cert.pem", keyPath: "\(tls)/key.pem"))
            #expect(endpoint.usesTLS)
        }
    }

    @Test func dockerContextEnvironmentWinsOverConfigJSON() throws {
        try withTemporaryDirectory { dir in
            let config = try makeStore(dir)
            let endpoint = try #require(try DockerContext.resolve(environment: ["DOCKER_CONFIG": config, "DOCKER_CONTEXT": "plain"]))
            #expect(endpoint.host == "unix:///var/run/other.sock")
            #expect(endpoint.skipTLSVerify)
            #expect(endpoint.caPath == nil && endpoint.certPath == nil && endpoint.keyPath == nil)
        }
    }

    @Test func dockerHostAndTheDefaultContextMeanNoContext() throws {
        try withTemporaryDirectory { dir in
            let config = try makeStore(dir)
            #expect(try DockerContext.resolve(environment: ["DOCKER_CONFIG": config, "DOCKER_HOST": "unix:///x.sock"]) == nil)
            #expect(
                try DockerContext.resolve(
                    environment: ["DOCKER_CONFIG": config, "DOCKER_HOST": "unix:///x.sock", "DOCKER_CONTEXT": "remote"]) == nil)
            #expect(try DockerContext.resolve(environment: ["DOCKER_CONFIG": config, "DOCKER_CONTEXT": "default"]) == nil)
            let noCurrent = try makeStore((dir as NSString).appendingPathComponent("b"), currentContext: nil)
            #expect(try DockerContext.resolve(environment: ["DOCKER_CONFIG": noCurrent]) == nil)
            #expect(try DockerContext.resolve(environment: ["DOCKER_CONFIG": "\(dir)/nothing-here"]) == nil)
        }
    }

    @Test func homeDockerIsTheDefaultConfigDirectory() throws {
        try withTemporaryDirectory { dir in
            let home = (dir as NSString).appendingPathComponent("home")
            let config = try makeStore(home)
            try FileManager.default.moveItem(atPath: config, toPath: "\(home)/.docker")
            let endpoint = try #require(try DockerContext.resolve(environment: ["HOME": home]))
            #expect(endpoint.name == "remote")
            #expect(endpoint.caPath == "\(home)/.docker/contexts/tls/\(Self.remoteID)/docker/ca.pem")
        }
    }

    @Test func missingOrIncompleteContextsAreErrors() throws {
        try withTemporaryDirectory { dir in
            let config = try makeStore(dir)
            #expect(throws: DockerContextError.self) {
                try DockerContext.resolve(environment: ["DOCKER_CONFIG": config, "DOCKER_CONTEXT": "absent"])
            }
            do {
                _ = try DockerContext.endpoint(named: "nohost", configDirectory: config)
                Issue.record("expected an error")
            } catch let error as DockerContextError {
                #expect(error.name == "nohost")
                #expect(error.reason.contains("no docker endpoint"))
            }
            try write("{broken", to: "\(dir)/broken/config.json")
            #expect(throws: DockerContextError.self) { try DockerContext.resolve(environment: ["DOCKER_CONFIG": "\(dir)/broken"]) }
        }
    }

    @Test func currentNameRules() {
        #expect(DockerContext.currentName(environment: [:], currentContext: "a") == "a")
        #expect(DockerContext.currentName(environment: ["DOCKER_CONTEXT": "b"], currentContext: "a") == "b")
        #expect(DockerContext.currentName(environment: ["DOCKER_CONTEXT": ""], currentContext: "a") == "a")
        #expect(DockerContext.currentName(environment: ["DOCKER_HOST": "tcp://x:1"], currentContext: "a") == nil)
        #expect(DockerContext.currentName(environment: [:], currentContext: "default") == nil)
        #expect(DockerContext.currentName(environment: [:], currentContext: nil) == nil)
    }
}

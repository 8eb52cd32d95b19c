import CCurl
import Testing

@testable import DockerEngine

@Suite("EngineHost(parsing:)")
struct EngineHostTests {
    private let clientTLS = EngineHost.TLS(caPath: "/certs/ca.pem", certPath: "/certs/cert.pem", keyPath: "/certs/key.pem")

    @Test func unixSocket() throws {
        let host = try EngineHost(parsing: "unix:///var/run/docker.sock")
        #expect(host.transport == .unix(path: "/var/run/docker.sock"))
        #expect(host.tls == nil)
        #expect(host.isLocal)
        #expect(host.baseURL == "http://localhost")
        #expect(host.description == "unix:///var/run/docker.sock")
    }

    @Test func defaultSocketParses() throws {
        #expect(try EngineHost(parsing: EngineHost.defaultSocket).transport == .unix(path: "/var/run/docker.sock"))
    }

    @Test func unixSocketIgnoresTLS() throws {
        let host = try EngineHost(parsing: "unix:///run/user/1000/docker.sock", tls: clientTLS)
        #expect(host.tls == nil)
    }

    @Test(arguments: [
        ("tcp://example.com:1234", "example.com", 1234),
        ("tcp://example.com", "example.com", 2375),
        ("tcp://10.0.0.5:2375", "10.0.0.5", 2375),
        ("http://example.com:8080", "example.com", 8080),
        ("http://example.com:8080/some/path", "example.com", 8080),
        ("tcp://[::1]:2376", "::1", 2376),
        ("tcp://[::1]", "::1", 2375),
        ("tcp://[fe80::1%25eth0]:4243", "fe80::1%25eth0", 4243),
    ])
    func plainTCP(address: String, host: String, port: Int) throws {
        let parsed = try EngineHost(parsing: address)
        #expect(parsed.transport == .tcp(host: host, port: port))
        #expect(parsed.tls == nil)
        #expect(!parsed.isLocal)
    }

    @Test func tcpWithTLSDefaultsTo2376() throws {
        let host = try EngineHost(parsing: "tcp://docker.internal", tls: clientTLS)
        #expect(host.transport == .tcp(host: "docker.internal", port: 2376))
        #expect(host.tls == clientTLS)
        #expect(host.baseURL == "https://docker.internal:2376")
        #expect(host.description == "tcp://docker.internal:2376 (TLS)")
    }

    @Test func tcpWithTLSKeepsAnExplicitPort() throws {
        let host = try EngineHost(parsing: "tcp://docker.internal:2375", tls: clientTLS)
        #expect(host.transport == .tcp(host: "docker.internal", port: 2375))
    }

    @Test func httpsImpliesTLS() throws {
        let host = try EngineHost(parsing: "https://docker.internal")
        #expect(host.transport == .tcp(host: "docker.internal", port: 2376))
        let tls = try #require(host.tls)
        #expect(tls.verify)
        #expect(tls.caPath == nil)
    }

    @Test func httpsKeepsGivenTLS() throws {
        #expect(try EngineHost(parsing: "https://h:3000", tls: clientTLS).tls == clientTLS)
    }

    @Test func ipv6BaseURLIsBracketed() throws {
        #expect(try EngineHost(parsing: "tcp://[::1]:2376").baseURL == "http://[::1]:2376")
        #expect(try EngineHost(parsing: "https://[::1]").baseURL == "https://[::1]:2376")
        #expect(try EngineHost(parsing: "tcp://127.0.0.1:2375").baseURL == "http://127.0.0.1:2375")
    }

    @Test(arguments: [
        "",
        "/var/run/docker.sock",
        "unix://var/run/docker.sock",
        "unix://",
        "ftp://example.com",
        "npipe:////./pipe/docker_engine",
        "tcp://",
        "tcp://:2375",
        "tcp://host:",
        "tcp://host:abc",
        "tcp://host:0",
        "tcp://host:65536",
        "tcp://host:70000",
        "tcp://host:-1",
        "tcp://[::1]:",
        "tcp://[::1]:x",
        "tcp://[]:2375",
    ])
    func invalidAddressesThrow(address: String) {
        let error = #expect(throws: EngineError.self) { try EngineHost(parsing: address) }
        #expect(error?.code == .unreachable)
        #expect(error?.reason.contains("is not valid") == true)
    }
}

@Suite("APIVersion")
struct APIVersionTests {
    @Test(arguments: [("1.41", 1, 41), ("v1.24", 1, 24), (" 1.45 ", 1, 45), ("2.0", 2, 0)])
    func parses(text: String, major: Int, minor: Int) {
        #expect(APIVersion(parsing: text) == APIVersion(major: major, minor: minor))
    }

    @Test(arguments: ["", "1", "1.", ".41", "1.41.0", "a.b", "1.x", "version"])
    func rejects(text: String) {
        #expect(APIVersion(parsing: text) == nil)
    }

    @Test func comparesNumericallyNotLexically() {
        #expect(APIVersion(major: 1, minor: 9) < APIVersion(major: 1, minor: 41))
        #expect(APIVersion(major: 1, minor: 41) < APIVersion(major: 2, minor: 0))
        #expect(!(APIVersion(major: 1, minor: 41) < APIVersion(major: 1, minor: 41)))
        #expect(min(APIVersion(major: 1, minor: 60), EngineClient.newestKnownAPIVersion) == EngineClient.newestKnownAPIVersion)
    }

    @Test func description() {
        #expect(APIVersion(major: 1, minor: 41).description == "1.41")
        #expect(APIVersion(parsing: "v1.7")?.description == "1.7")
    }
}

@Suite("EngineError.curl")
struct EngineErrorCurlTests {
    @Test func successIsNoError() {
        #expect(EngineError.curl(CURLE_OK, detail: "anything") == nil)
    }

    @Test(arguments: [
        (CURLE_COULDNT_CONNECT, EngineError.Code.unreachable),
        (CURLE_COULDNT_RESOLVE_HOST, .unreachable),
        (CURLE_GOT_NOTHING, .unreachable),
        (CURLE_RECV_ERROR, .unreachable),
        (CURLE_OPERATION_TIMEDOUT, .timedOut),
        (CURLE_SSL_CONNECT_ERROR, .tls),
        (CURLE_PEER_FAILED_VERIFICATION, .tls),
        (CURLE_SSL_CACERT_BADFILE, .tls),
        (CURLE_UNSUPPORTED_PROTOCOL, .transport),
        (CURLE_OUT_OF_MEMORY, .transport),
    ])
    func mapsCodes(result: CURLcode, code: EngineError.Code) throws {
        let error = try #require(EngineError.curl(result, detail: ""))
        #expect(error.code == code)
        #expect(error.curlCode == Int(result.rawValue))
        #expect(error.status == nil)
        #expect(!error.isNotFound)
    }

    @Test func reasonIsLibcurlsTextPlusDetail() throws {
        let text = String(cString: curl_easy_strerror(CURLE_COULDNT_CONNECT))
        let plain = try #require(EngineError.curl(CURLE_COULDNT_CONNECT, detail: ""))
        #expect(plain.reason == text)
        let same = try #require(EngineError.curl(CURLE_COULDNT_CONNECT, detail: text))
        #expect(same.reason == text)
        let detailed = try #require(EngineError.curl(CURLE_COULDNT_CONNECT, detail: "connect to /var/run/docker.sock"))
        #expect(detailed.reason == "\(text) (connect to /var/run/docker.sock)")
        #expect(detailed.description == detailed.reason)
    }

    @Test func tlsReasonSaysTLS() throws {
        let error = try #require(EngineError.curl(CURLE_SSL_CONNECT_ERROR, detail: "handshake"))
        #expect(error.reason.hasPrefix("TLS failed: "))
        #expect(error.reason.hasSuffix(" (handshake)"))
    }

    @Test func checkedThrowsOnFailure() {
        #expect(throws: Never.self) { try checked(CURLE_OK, "setopt") }
        let error = #expect(throws: EngineError.self) { try checked(CURLE_UNKNOWN_OPTION, "setopt") }
        #expect(error?.code == .transport)
        #expect(error?.reason.contains("(setopt)") == true)
    }
}

@Suite("EngineHost(parsing:) for ssh://")
struct SSHEngineHostTests {
    @Test(
        arguments: [
            ("ssh://build-17", nil, "build-17", nil),
            ("ssh://deploy@build-17", "deploy", "build-17", nil),
            ("ssh://deploy@build-17:2222", "deploy", "build-17", 2222),
            ("ssh://root@127.0.0.1:22220/", "root", "127.0.0.1", 22220),
            ("ssh://me@[::1]:2200", "me", "::1", 2200),
        ] as [(String, String?, String, Int?)])
    func parses(address: String, user: String?, host: String, port: Int?) throws {
        let parsed = try EngineHost(parsing: address)
        #expect(parsed.transport == .ssh(user: user, host: host, port: port))
        #expect(parsed.tls == nil)
        #expect(!parsed.isLocal)
        #expect(parsed.baseURL == "http://localhost")
    }

    @Test func descriptionRoundTrips() throws {
        #expect(try EngineHost(parsing: "ssh://deploy@build-17:2222").description == "ssh://deploy@build-17:2222")
        #expect(try EngineHost(parsing: "ssh://[::1]").description == "ssh://[::1]")
    }

    @Test(arguments: [
        "ssh://", "ssh://user:password@host", "ssh://host/path", "ssh://-oProxyCommand=x", "ssh://host:0", "ssh://host:abc", "ssh://@host",
    ])
    func rejects(address: String) {
        #expect(throws: EngineError.self) { try EngineHost(parsing: address) }
    }

    @Test func keepsValidSSHOptions() throws {
        let options = ["-i", "/path/key", "-o", "StrictHostKeyChecking=no", "-v", "-oPort=2222", "-p", "22"]
        #expect(EngineHost.sshOptionsProblem(options) == nil)
        #expect(try EngineHost(parsing: "ssh://h", sshOptions: options).sshOptions == options)
    }

    @Test(
        arguments: [
            (["evil.example.com"], "sshOptions[0]"),
            (["-i"], "needs a value"),
            (["-v", "--", "x"], "sshOptions[1]"),
            (["-o", "A=b", "touch /tmp/x"], "sshOptions[2]"),
            ([""], "sshOptions[0]"),
        ] as [([String], String)])
    func refusesOptionsThatCouldBecomeTheDestinationOrTheCommand(options: [String], mentions: String) throws {
        let problem = try #require(EngineHost.sshOptionsProblem(options))
        #expect(problem.contains(mentions), "\(problem)")
        #expect(throws: EngineError.self) { try EngineHost(parsing: "ssh://h", sshOptions: options) }
    }

    @Test func stderrIsOneLineWithSecretsMasked() {
        let stderr = Array("Warning: x\r\nline two\nuser@h: Permission denied (publickey).\ntoken=abc123 password: hunter2\n".utf8)
        let said = SSHForwarder.redacted(stderr)
        #expect(!said.contains("abc123") && !said.contains("hunter2"), "\(said)")
        #expect(said.contains("Permission denied (publickey)."))
        #expect(!said.contains("Warning"), "only the last three lines: \(said)")
        #expect(!said.contains("\n"))
    }
}

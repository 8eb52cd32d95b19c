import CCurl

// What every libcurl handle to an engine shares, a transfer's and a hijack's alike: its error
// buffer, and the options that say how to reach the engine (socket, TCP, ssh forwarder, TLS).

/// libcurl's error text for one easy handle (`CURLOPT_ERRORBUFFER`), owned and freed with its owner.
final class CurlErrorBuffer {
    /// The buffer, `CURL_ERROR_SIZE` + 1 bytes, NUL-terminated.
    let pointer: UnsafeMutablePointer<CChar>

    /// A zeroed buffer.
    init() {
        pointer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        pointer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit { pointer.deallocate() }

    /// What libcurl last wrote (empty when nothing).
    var text: String { String(cString: pointer) }
}

/// Sets the options that reach `host` on `easy`: the error buffer, no signals, the connect
/// timeout, the unix socket (an `ssh://` engine's forwarder listens on `socketPath`) or TCP without
/// Nagle, and TLS with its files and checks.
/// - Throws: ``EngineError`` naming an option libcurl refused, or `.transport` when an `ssh://`
///   engine has no forwarder.
func setConnectionOptions(
    _ easy: UnsafeMutableRawPointer, errorBuffer: CurlErrorBuffer, host: EngineHost, socketPath: String?, connectTimeout: Duration
) throws(EngineError) {
    try checked(olw_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer.pointer), "error buffer")
    try checked(olw_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1), "NOSIGNAL")
    try checked(olw_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, connectTimeout.milliseconds), "connect timeout")
    switch host.transport {
    case .unix(let path):
        try checked(olw_easy_setopt_string(easy, CURLOPT_UNIX_SOCKET_PATH, path), "unix socket")
    case .tcp:
        try checked(olw_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1), "TCP_NODELAY")
    case .ssh:
        guard let socketPath else { throw EngineError(code: .transport, reason: "The ssh forwarder is not running.") }
        try checked(olw_easy_setopt_string(easy, CURLOPT_UNIX_SOCKET_PATH, socketPath), "unix socket")
    }
    if let tls = host.tls {
        if let ca = tls.caPath { try checked(olw_easy_setopt_string(easy, CURLOPT_CAINFO, ca), "CA") }
        if let cert = tls.certPath { try checked(olw_easy_setopt_string(easy, CURLOPT_SSLCERT, cert), "client certificate") }
        if let key = tls.keyPath { try checked(olw_easy_setopt_string(easy, CURLOPT_SSLKEY, key), "client key") }
        try checked(olw_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, tls.verify ? 1 : 0), "verify peer")
        // Engine certificates name the host they were made for; the CLI checks it too.
        try checked(olw_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, tls.verify ? 2 : 0), "verify host")
    }
}

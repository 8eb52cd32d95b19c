import CCurl
import Glibc

/// An error from the engine or from the way to it: what went wrong, the HTTP status and the
/// engine's own message when there was an answer, and libcurl's code when there was not.
public struct EngineError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The code's name, e.g. `http`.
        public var description: String { name }

        /// The engine answered with an HTTP error status other than 404.
        public static let http = Code("http")
        /// The engine answered 404: no such container, exec, image, volume or path (the message says which).
        public static let notFound = Code("notFound")
        /// No connection could be made (socket missing, refused, reset, DNS).
        public static let unreachable = Code("unreachable")
        /// The TLS handshake or certificate check failed.
        public static let tls = Code("tls")
        /// The request did not complete within its timeout.
        public static let timedOut = Code("timedOut")
        /// The engine's answer could not be understood.
        public static let invalidResponse = Code("invalidResponse")
        /// The request was cancelled by its caller.
        public static let cancelled = Code("cancelled")
        /// libcurl failed in another way.
        public static let transport = Code("transport")
    }

    /// The kind of failure.
    public var code: Code
    /// The HTTP status, when the engine answered.
    public var status: Int?
    /// The engine's `message`, when it sent one.
    public var engineMessage: String?
    /// The libcurl result code, when the failure was below HTTP.
    public var curlCode: Int?
    /// A full sentence describing the failure.
    public var reason: String

    /// An error with the given parts.
    public init(code: Code, reason: String, status: Int? = nil, engineMessage: String? = nil, curlCode: Int? = nil) {
        self.code = code
        self.reason = reason
        self.status = status
        self.engineMessage = engineMessage
        self.curlCode = curlCode
    }

    /// The reason, as ``reason`` gives it.
    public var description: String { reason }

    /// Whether the engine answered 404 (code ``Code/notFound``).
    public var isNotFound: Bool { code == .notFound }

    /// Whether the engine answered with an HTTP error status (codes ``Code/http`` and ``Code/notFound``).
    public var isHTTPError: Bool { code == .http || code == .notFound }

    /// Whether this is the worker running out of descriptors (EMFILE/ENFILE), not the engine's fault.
    public var isDescriptorExhaustion: Bool { code == .transport && reason.hasPrefix("too many open files") }

    /// Whether the process cannot open another descriptor now (EMFILE or ENFILE), probed with `dup`.
    static func descriptorsExhausted() -> Bool {
        let fd = dup(STDERR_FILENO)
        if fd >= 0 {
            close(fd)
            return false
        }
        return errno == EMFILE || errno == ENFILE
    }

    /// Translates a libcurl result into an error, or nil for success.
    static func curl(_ result: CURLcode, detail: String) -> EngineError? {
        guard result != CURLE_OK else { return nil }
        let text = String(cString: curl_easy_strerror(result))
        let extra = detail.isEmpty || detail == text ? "" : " (\(detail))"
        let code: Code
        // A client certificate the engine refuses arrives as an alert after the TLS 1.3 handshake: a receive error.
        if result == CURLE_RECV_ERROR || result == CURLE_SEND_ERROR,
            detail.contains("SSL") || detail.contains("TLS") || detail.contains("alert")
        {
            return EngineError(code: .tls, reason: "TLS failed: \(text)\(extra)", curlCode: Int(result.rawValue))
        }
        switch result {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_GOT_NOTHING,
            CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE:
            code = .unreachable
        case CURLE_OPERATION_TIMEDOUT:
            code = .timedOut
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_CRL_BADFILE,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_SHUTDOWN_FAILED,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_USE_SSL_FAILED, CURLE_SSL_CLIENTCERT:
            return EngineError(code: .tls, reason: "TLS failed: \(text)\(extra)", curlCode: Int(result.rawValue))
        default:
            code = .transport
        }
        return EngineError(code: code, reason: "\(text)\(extra)", curlCode: Int(result.rawValue))
    }
}

/// Runs a libcurl setter and turns a failure into a thrown ``EngineError``.
@inline(__always)
func checked(_ result: CURLcode, _ what: @autoclosure () -> String) throws(EngineError) {
    if let error = EngineError.curl(result, detail: what()) { throw error }
}

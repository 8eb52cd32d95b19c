import DockerEngine
import JSONCoding
import JSONRPC

/// A failure the provider reports, with the JSON-RPC code it maps to and the engine's details.
public struct ProviderError: Error, Sendable, RPCErrorConvertible {
    /// The code the host sees.
    public var code: ErrorCode
    /// A sentence saying what went wrong.
    public var reason: String
    /// The engine's HTTP status, when it answered.
    public var status: Int?
    /// The engine's message, when it sent one.
    public var engineMessage: String?

    /// A provider error.
    public init(code: ErrorCode, reason: String, status: Int? = nil, engineMessage: String? = nil) {
        self.code = code
        self.reason = reason
        self.status = status
        self.engineMessage = engineMessage
    }

    /// A node that does not exist.
    static func notFound(_ externalId: String) -> ProviderError {
        ProviderError(code: .notFound, reason: "no such node: \(externalId)", status: 404)
    }

    /// The JSON-RPC error: this code, the message `describe(method, reason)`, and `data`
    /// `{provider: "docker", status?, engineMessage?}`.
    public func rpcError(method: String, describe: (String, String) -> String) -> RPCError {
        var data = JSONObject()
        data["provider"] = .string("docker")
        if let status { data["status"] = .integer(Int64(status)) }
        if let engineMessage { data["engineMessage"] = .string(engineMessage) }
        return RPCError(code: code, message: describe(method, reason), data: .object(data))
    }
}

extension EngineError: RPCErrorConvertible {
    /// The code a host sees for this engine failure.
    var rpcCode: ErrorCode {
        switch code {
        case .http, .notFound:
            switch status {
            case 404: .notFound
            case 409: .conflict
            // Podman reports a container name already taken as 500 ("the container name \"x\" is
            // already in use") where Docker says 409. A host port another container or process
            // holds is a conflict too: Docker answers 500 "…: port is already allocated", or
            // "…: address already in use" when a process outside Docker has it; Podman says the latter.
            case 500 where engineMessage.map(Self.isConflictMessage) == true: .conflict
            default: .engineError
            }
        case .unreachable, .tls: .engineUnreachable
        case .timedOut: .timedOut
        case .cancelled: .requestCancelled
        default: .engineError
        }
    }

    /// Whether an engine's 500 message describes a conflict with something that exists.
    static func isConflictMessage(_ message: String) -> Bool {
        (message.contains("container name") && message.contains("is already in use"))
            || message.contains("port is already allocated") || message.contains("address already in use")
    }

    /// The JSON-RPC error: the code the host sees for this failure (404 -32004, 409 -32009, unreachable -32001,
    /// timed out -32008, cancelled -32800, else -32000), the message `describe(method, reason)`, and `data`
    /// `{provider: "docker", status?, engineMessage?}`.
    public func rpcError(method: String, describe: (String, String) -> String) -> RPCError {
        var reason = self.reason
        if code == .unreachable || code == .tls { reason = "the Docker engine is unreachable: \(reason)" }
        return ProviderError(code: rpcCode, reason: reason, status: status, engineMessage: engineMessage)
            .rpcError(method: method, describe: describe)
    }
}

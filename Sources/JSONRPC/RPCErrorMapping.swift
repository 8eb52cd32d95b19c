import FoundationEssentials
import JSONCoding

// Error mapping: what a handler throws, as the host sees it.
extension RPCServer {
    /// Maps any error a handler throws to the error the host sees.
    func rpcError(_ error: any Error, method: String) -> RPCError {
        switch error {
        case let error as RPCError:
            return error
        case let error as any RPCErrorConvertible:
            return error.rpcError(method: method, describe: configuration.describeFailure)
        case let error as InvalidParams:
            return RPCError(
                code: .invalidParams,
                message: configuration.describeFailure(method, "invalid params: \(error.field) \(error.reason)"),
                data: .object(JSONObject(["field": .string(error.field)])))
        case let error as DecodingError:
            return rpcError(InvalidParams(error), method: method)
        case is CancellationError:
            return cancelledError()
        default:
            return RPCError(code: .internalError, message: configuration.describeFailure(method, "\(error)"))
        }
    }
}

/// An error that knows how to present itself to the host.
public protocol RPCErrorConvertible: Error {
    /// The error as the host sees it; `describe` builds the conventional message from a reason.
    func rpcError(method: String, describe: (String, String) -> String) -> RPCError
}

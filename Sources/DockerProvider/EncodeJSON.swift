import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

/// Encodes an engine request body.
func encodeJSON<T: Encodable>(_ value: T) throws -> [UInt8] { try EngineQuery.encodeBody(value) }

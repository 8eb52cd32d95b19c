import JSONCoding
import JSONRPC
import Synchronization

/// One stream of a buffered exec's output: the bytes the command wrote (at most `maxOutputBytes`),
/// kept as bytes until the answer is written, where they become a JSON string in the call's
/// encoding a slice at a time (``JSONStringProducer``). 16 MiB of NUL bytes is a 96 MiB string in
/// `utf8` (each is `\u0000`) and 22 MiB in `base64`; neither ever exists whole in the worker.
public struct ExecOutputText: Sendable, Encodable, Equatable {
    /// The raw bytes.
    public let bytes: [UInt8]
    /// How they travel: `utf8` (invalid sequences become U+FFFD) or `base64`.
    public let encoding: OutputEncoding

    /// `bytes` to travel in `encoding`.
    public init(bytes: [UInt8], encoding: OutputEncoding) {
        self.bytes = bytes
        self.encoding = encoding
    }

    /// The text the answer carries.
    public var string: String {
        switch encoding {
        case .utf8: return String(decoding: bytes, as: UTF8.self)
        case .base64:
            var encoded: [UInt8] = []
            Base64.append(bytes, to: &encoded)
            return String(decoding: encoded, as: UTF8.self)
        }
    }

    /// Writes the text as one JSON string.
    /// - Throws: Whatever `encoder` throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(string)
    }

    /// Appends the text as one quoted JSON string (a piece of output small enough to write whole).
    func appendJSONString(to frame: inout [UInt8]) {
        switch encoding {
        case .base64:
            frame.append(UInt8(ascii: "\""))
            Base64.append(bytes[...], to: &frame)
            frame.append(UInt8(ascii: "\""))
        case .utf8:
            // ASCII is checked and escaped in one pass; from the first byte ≥ 0x80 the rest is decoded
            // (invalid sequences become U+FFFD), which joins into the text decoded whole.
            frame.append(UInt8(ascii: "\""))
            let ascii = bytes.withUnsafeBufferPointer { JSONWriter.appendEscapedASCIIPrefix($0, to: &frame) }
            if ascii < bytes.count {
                var rest = String(decoding: bytes[ascii...], as: UTF8.self)
                rest.withUTF8 { JSONWriter.appendString(utf8: $0, to: &frame, quoted: false) }
            }
            frame.append(UInt8(ascii: "\""))
        }
    }

    /// A producer of the quoted JSON string, for an answer written in parts.
    func producer() -> JSONStringProducer { JSONStringProducer(bytes: bytes, encoding: encoding) }
}

/// Writes bytes as one quoted JSON string, 192 KiB of input per piece (a multiple of 3, so base64
/// pieces join without padding): at most about 1.2 MiB of text exists at a time.
final class JSONStringProducer: FrameProducer {
    private struct State {
        var offset = 0
        var opened = false
        var closed = false
        var decoder = UTF8ChunkDecoder()
    }
    static let sliceBytes = 192 << 10
    private let bytes: [UInt8]
    private let encoding: OutputEncoding
    private let state = Mutex(State())

    init(bytes: [UInt8], encoding: OutputEncoding) {
        self.bytes = bytes
        self.encoding = encoding
    }

    func nextPiece() -> [UInt8]? {
        state.withLock { state in
            if state.closed { return nil }
            var piece: [UInt8] = []
            if !state.opened {
                state.opened = true
                piece.append(UInt8(ascii: "\""))
            }
            let end = min(state.offset + Self.sliceBytes, bytes.count)
            let slice = bytes[state.offset..<end]
            state.offset = end
            switch encoding {
            case .base64: Base64.append(slice, to: &piece)
            case .utf8: _ = state.decoder.decode(slice, appendingJSONStringTo: &piece, quoted: false)
            }
            if end == bytes.count {
                if encoding == .utf8 {
                    var rest = state.decoder.finish()
                    rest.withUTF8 { JSONWriter.appendString(utf8: $0, to: &piece, quoted: false) }
                }
                piece.append(UInt8(ascii: "\""))
                state.closed = true
            }
            return piece
        }
    }
}

/// What produces a large part of a frame piece by piece, on the output thread, as it is written.
///
/// A result whose text is much larger than what it is made from (an exec's 16 MiB of NUL bytes is a
/// 96 MiB JSON string) is written without ever existing whole: the producer encodes a slice at a time.
public protocol FrameProducer: AnyObject, Sendable {
    /// The next piece of the frame's text, or nil when the part is complete. Called on the output
    /// thread only, one call at a time.
    func nextPiece() -> [UInt8]?
}

/// A part of an encoded frame: bytes that exist, or bytes a producer writes as they are made.
public enum FramePart: Sendable {
    case bytes([UInt8])
    case produced(any FrameProducer)

    /// The bytes of `parts` as one buffer (producers run to completion): for a frame that must be
    /// held whole, such as a response inside a batch.
    public static func joined(_ parts: [FramePart]) -> [UInt8] {
        var joined: [UInt8] = []
        for part in parts {
            switch part {
            case .bytes(let bytes): joined.append(contentsOf: bytes)
            case .produced(let producer):
                while let piece = producer.nextPiece() { joined.append(contentsOf: piece) }
            }
        }
        return joined
    }
}

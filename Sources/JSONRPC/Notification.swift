import JSONCoding

/// A notification the worker sends about a request, as a type: its params are the struct's members
/// plus `requestId` (the id of the request it belongs to), which ``RequestContext/notify(_:)`` adds;
/// its method name rides on the type. In the manner of swift-tools-protocols' `NotificationType`.
///
/// A notification's members are written by `JSONEncoder` (keys sorted, after `requestId`) unless
/// the type writes them itself (``appendMembers(to:)``): the streams of bytes do, being hot.
public protocol RPCNotification: Encodable, Sendable {
    /// The JSON-RPC method name, e.g. `exec.output`.
    static var method: String { get }

    /// Whether the params carry `requestId` (true unless the type says otherwise): an upload's
    /// `files.progress` names its upload (`uploadId`) instead.
    var carriesRequestID: Bool { get }

    /// Appends the params' members other than `requestId`, comma-separated and without braces:
    /// `"stream":"stdout","data":"hi"`; nothing when there are none. Defaults to
    /// ``appendEncodedMembers(to:)``.
    /// - Throws: an `EncodingError` when a member cannot be encoded.
    func appendMembers(to frame: inout [UInt8]) throws

    /// A guess at the bytes ``appendMembers(to:)`` appends, reserved up front so that a large
    /// notification is not copied as its frame grows; 0 (the default) reserves nothing.
    var encodedSizeHint: Int { get }
}

extension RPCNotification {
    /// True: the params carry `requestId`.
    public var carriesRequestID: Bool { true }

    /// 0: nothing reserved.
    public var encodedSizeHint: Int { 0 }

    /// Appends the members as `JSONEncoder` writes them (``appendEncodedMembers(to:)``).
    /// - Throws: an `EncodingError` when a member cannot be encoded.
    public func appendMembers(to frame: inout [UInt8]) throws { try appendEncodedMembers(to: &frame) }

    /// Appends the members as `JSONEncoder` writes them (keys sorted, slashes unescaped), without
    /// the object's braces.
    /// - Throws: an `EncodingError` when a member cannot be encoded.
    public func appendEncodedMembers(to frame: inout [UInt8]) throws {
        let object = try MethodTable.encodeResult(self)
        // `{}` has no members; otherwise everything between the braces.
        guard object.count > 2, object.first == UInt8(ascii: "{") else { return }
        frame.append(contentsOf: object[1..<(object.count - 1)])
    }

    /// The whole frame (without its newline): `{"jsonrpc":"2.0","method":…,"params":{"requestId":…,…}}`.
    /// `requestID` is the JSON of the id, spliced in when ``carriesRequestID``.
    /// - Throws: an `EncodingError` when a member cannot be encoded.
    public func encodedFrame(requestID: [UInt8]) throws -> [UInt8] {
        var frame: [UInt8] = []
        frame.reserveCapacity(encodedSizeHint + requestID.count + Self.method.utf8.count + 64)
        frame.append(contentsOf: #"{"jsonrpc":"2.0","method":"#.utf8)
        JSONWriter.appendString(Self.method, to: &frame)
        frame.append(contentsOf: #","params":{"#.utf8)
        if carriesRequestID {
            frame.append(contentsOf: #""requestId":"#.utf8)
            frame.append(contentsOf: requestID)
            frame.append(UInt8(ascii: ","))
        }
        let start = frame.count
        try appendMembers(to: &frame)
        if frame.count == start, carriesRequestID { frame.removeLast() }  // no members: no comma after requestId
        frame.append(contentsOf: "}}".utf8)
        return frame
    }
}

import DockerEngine
import JSONCoding
import JSONRPC

// One struct per notification the worker sends: its params are the fields (plus `requestId`,
// which `RequestContext.notify` adds), its method name rides on the type. protocol/openrpc.json's
// `x-notifications` describes each.

/// `exec.output`: a piece of a command's output, `{requestId, stream, data, offset?}`.
///
/// The hot one (streams of 100+ MiB): it writes its own members, in this order, into the frame.
public struct ExecOutputNotification: RPCNotification {
    /// The notification name, `"exec.output"`.
    public static let method = "exec.output"
    /// `stdout` or `stderr`.
    public var stream: StreamName
    /// The bytes, whole UTF-8 characters for `utf8` (invalid sequences become U+FFFD), as the
    /// command's `encoding` carries them.
    public var data: ExecOutputText
    /// `exec.attach` only: where `data` starts in the command's output (stdout and stderr counted together).
    public var offset: Int?

    /// A piece of `stream`'s output.
    public init(stream: StreamName, data: ExecOutputText, offset: Int? = nil) {
        self.stream = stream
        self.data = data
        self.offset = offset
    }

    /// About 4/3 of the bytes (base64's worst case) plus room for the member names.
    public var encodedSizeHint: Int { data.bytes.count * 4 / 3 + 64 }

    // Measured (swiftc -O, 100 MiB in 64 KiB pieces): 107 MiB/s UTF-8, 357 MiB/s base64; JSONEncoder: 46 and 50.
    /// Appends `"stream":…,"data":…` and, when set, `,"offset":…`.
    public func appendMembers(to frame: inout [UInt8]) {
        frame.append(contentsOf: stream == .stdout ? #""stream":"stdout","data":"#.utf8 : #""stream":"stderr","data":"#.utf8)
        data.appendJSONString(to: &frame)
        if let offset { frame.append(contentsOf: #","offset":\#(offset)"#.utf8) }
    }
}

/// Which output stream a piece of output came from.
public enum StreamName: String, Encodable, Sendable {
    case stdout, stderr

    /// The stream a demultiplexed frame came from (stdin's never reach the host).
    init(_ stream: StreamDemuxer.Stream) { self = stream == .stderr ? .stderr : .stdout }
}

/// `logs.output`: a piece of a followed node's logs, `{requestId, stream, data}` (UTF-8 text).
public struct LogsOutputNotification: RPCNotification {
    /// The notification name, `"logs.output"`.
    public static let method = "logs.output"
    /// `stdout` or `stderr`.
    public var stream: StreamName
    /// The text, whole UTF-8 characters (invalid sequences become U+FFFD); with `timestamps`, each line prefixed by the engine's RFC 3339 time.
    public var data: String
}

/// `files.data`: a piece of a download, `{requestId, offset, data}` (`data` base64).
///
/// Hot like `exec.output` (downloads of GiBs): it writes its own members, in this order (base64 as
/// fast as `exec.output`'s, 7× `JSONEncoder`).
public struct FilesDataNotification: RPCNotification {
    /// The notification name, `"files.data"`.
    public static let method = "files.data"
    /// Where `data` starts in the transfer, in bytes.
    public var offset: Int
    /// The bytes (at most the request's `chunkBytes`).
    public var data: ArraySlice<UInt8>

    private enum CodingKeys: String, CodingKey { case offset, data }

    /// Writes `offset` and `data` (as base64).
    /// - Throws: Whatever `encoder` throws.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(offset, forKey: .offset)
        try container.encode(ExecOutputText(bytes: Array(data), encoding: .base64), forKey: .data)
    }

    /// About 4/3 of the bytes (base64) plus room for the member names.
    public var encodedSizeHint: Int { data.count * 4 / 3 + 64 }

    /// Appends `"offset":…,"data":"<base64>"`.
    public func appendMembers(to frame: inout [UInt8]) {
        frame.append(contentsOf: #""offset":\#(offset),"data":""#.utf8)
        Base64.append(data, to: &frame)
        frame.append(UInt8(ascii: "\""))
    }
}

/// `files.progress`: how far a transfer over 8 MiB is, `{requestId | uploadId, bytes, totalBytes?}`.
/// A download's names its request (`requestId`), an upload's its upload (`uploadId`, no `requestId`).
public struct FilesProgressNotification: RPCNotification {
    /// The notification name, `"files.progress"`.
    public static let method = "files.progress"
    /// The upload, for an upload; nil for a download.
    public var uploadId: String?
    /// Bytes moved so far.
    public var bytes: Int
    /// The transfer's size in bytes, when known.
    public var totalBytes: Int?

    /// False for an upload's progress, which names its `uploadId` instead of a request.
    public var carriesRequestID: Bool { uploadId == nil }
}

/// `pull.progress`: the engine's progress pulling an image during `provision`,
/// `{requestId, image, status, id?, current?, total?}` (`current`, `total` in bytes).
public struct PullProgressNotification: RPCNotification {
    /// The notification name, `"pull.progress"`.
    public static let method = "pull.progress"
    /// The image reference being pulled, as the spec gave it.
    public var image: String
    /// The engine's status line, e.g. `Pulling fs layer`, `Downloading`, `Status: Downloaded newer image for …`.
    public var status: String
    /// The layer.
    public var id: String?
    /// Bytes of the layer done so far; nil when the engine gave none.
    public var current: Int64?
    /// Bytes of the layer in all; nil when the engine gave none.
    public var total: Int64?
}

/// `metrics.sample`: one resource-usage sample of `metrics.streamMetrics`, `{requestId, externalId, sample}`.
public struct MetricsSampleNotification: RPCNotification {
    /// The notification name, `"metrics.sample"`.
    public static let method = "metrics.sample"
    /// The node sampled, as the request named it.
    public var externalId: String
    /// The node's resource use at the sample's time.
    public var sample: ResourceUsage
}

/// `node.event`: something happened to a managed node (`events.subscribe`),
/// `{requestId, externalId?, nodeId?, action, exitCode?, time, onExpire?, nodes?, reason?, dropped?}`.
public struct NodeEventNotification: RPCNotification {
    /// The notification name, `"node.event"`.
    public static let method = "node.event"
    /// The container's full id; nil for `resync`.
    public var externalId: String?
    /// The node id (label `openlattice.node-id`); nil for `resync` or a container without one.
    public var nodeId: String?
    /// `start`, `die`, `oom`, `stop`, `pause`, `unpause`, `destroy`, `restart`, `expired` or `resync`.
    public var action: String
    /// With `die`: the command's exit code.
    public var exitCode: Int64?
    /// When it happened (RFC 3339).
    public var time: String
    /// With `expired`: what was done to the node.
    public var onExpire: NodeSpec.ExpiryAction?
    /// With `resync`: every managed node now, as `list` answers.
    public var nodes: [Node]?
    /// With `resync`: why events may have been missed.
    public var reason: String?
    /// With `resync` after a buffer overflow: the events the worker dropped.
    public var dropped: Int?
}

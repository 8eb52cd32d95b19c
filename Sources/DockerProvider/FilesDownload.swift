import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

// `files.download`: a file (or a folder, as a tar stream) streamed to the host in `files.data`
// notifications. The engine's archive stream is read only as fast as the host reads: each
// notification waits for room in the output queue, and the engine transfer pauses while the
// worker does not read it, so memory stays bounded whatever the size.

/// `files.download` (protocol 1.1).
public struct FilesDownloadRequest: RPCMethod {
    /// The method name, `"files.download"`.
    public static let name = "files.download"
    /// Answers ``DownloadResult`` after the last `files.data`.
    public typealias Result = DownloadResult
    /// The node: its container id or name.
    public var externalId: String
    /// The absolute path of a file or folder; a final link is followed.
    public var path: String
    /// The most bytes (before base64) one `files.data` carries.
    public var chunkBytes: Int?
}

/// What `files.download` answers once every `files.data` has been sent.
public struct DownloadResult: Encodable, Sendable {
    /// Bytes sent: the file's size, or the tar stream's for a folder.
    public var size: Int
    /// Hex SHA-256 of the bytes sent.
    public var sha256: String
    /// The permission bits of the file or folder.
    public var mode: Int
    /// `"file"` or `"directory"`.
    public var type: String
    /// `"tar"` for a folder.
    public var format: String?
}

extension FilesDownloadRequest: NodeRequest {
    static let defaultChunkBytes = 512 << 10
    static let chunkRange = 1024...(8 << 20)

    /// Checks the path's form and that `chunkBytes` is within 1024…8388608.
    /// - Throws: ``InvalidParams`` naming `path` or `chunkBytes`.
    public func validate() throws {
        _ = try DockerProvider.containerPath(path)
        if let chunkBytes, !Self.chunkRange.contains(chunkBytes) {
            throw InvalidParams(field: "chunkBytes", reason: "must be between 1024 and \(Self.chunkRange.upperBound)")
        }
    }
}

/// Sends `files.progress` for a transfer over 8 MiB, at most four times a second.
struct ProgressReporter {
    /// Transfers at or below this many bytes report no progress.
    static let threshold = 8 << 20
    static let interval = Duration.milliseconds(250)
    let totalBytes: Int?
    private var last = ContinuousClock.now

    /// A reporter for a download (named by its request) of `totalBytes` (nil: not known).
    init(totalBytes: Int?) {
        self.totalBytes = totalBytes
    }

    /// Reports `bytes` if the transfer is big enough and the last report is old enough.
    mutating func report(_ bytes: Int, context: RequestContext) async {
        guard max(bytes, totalBytes ?? 0) > Self.threshold, ContinuousClock.now - last >= Self.interval else { return }
        last = .now
        await context.notify(FilesProgressNotification(bytes: bytes, totalBytes: totalBytes))
    }
}

extension DockerProvider {
    /// `files.download`: streams the file at `path` (links followed), or the folder there as a
    /// tar stream, in `files.data {requestId, offset, data}` notifications of at most `chunkBytes`
    /// bytes (base64), then answers with the size and SHA-256 of what was sent.
    /// - Throws: ``ProviderError`` -32004 for no such path, -32009 for something that is neither a
    ///   file nor a folder, -32000 when the engine's archive ends short; `CancellationError` when the
    ///   request is cancelled (no more notifications follow).
    public func download(_ request: FilesDownloadRequest, context: RequestContext) async throws -> DownloadResult {
        try Validation.checkExternalID(request.externalId)
        let (path, found) = try await resolveLinks(request.externalId, try Self.containerPath(request.path))
        guard let stat = found else { throw ProviderError(code: .notFound, reason: "no such file or folder: \(request.path)", status: 404) }
        let isDirectory = stat.isDirectory
        let chunkBytes = request.chunkBytes ?? FilesDownloadRequest.defaultChunkBytes
        let stream = try await client.getArchive(request.externalId, path: path, highWater: 1 << 20)
        var reader = TarFileStream()
        var hasher = SHA256.Hasher()
        var sent = 0
        var pending: [UInt8] = []
        pending.reserveCapacity(chunkBytes)
        var progress = ProgressReporter(totalBytes: isDirectory ? nil : stat.size)

        func emit(_ bytes: ArraySlice<UInt8>) async throws {
            hasher.update(bytes)
            guard await context.notify(FilesDataNotification(offset: sent, data: bytes)) else {
                stream.cancel()
                throw CancellationError()
            }
            sent += bytes.count
            await progress.report(sent, context: context)
        }

        for try await chunk in stream {
            let data = isDirectory ? chunk[...] : try reader.feed(chunk)
            var rest = data
            while !rest.isEmpty {
                let take = min(chunkBytes - pending.count, rest.count)
                if pending.isEmpty && take == chunkBytes {
                    try await emit(rest.prefix(take))
                } else {
                    pending.append(contentsOf: rest.prefix(take))
                    if pending.count == chunkBytes {
                        try await emit(pending[...])
                        pending.removeAll(keepingCapacity: true)
                    }
                }
                rest = rest.dropFirst(take)
            }
        }
        if !pending.isEmpty { try await emit(pending[...]) }
        if !isDirectory {
            guard let header = reader.header else {
                throw ProviderError(code: .engineError, reason: "the engine sent an empty archive for \(request.path)")
            }
            guard header.type == .file else { throw ProviderError(code: .conflict, reason: "\(request.path) is not a regular file") }
            guard reader.isComplete else {
                throw ProviderError(
                    code: .engineError, reason: "the engine's archive of \(request.path) ended after \(sent) of \(header.size) bytes")
            }
        }
        return DownloadResult(
            size: sent, sha256: hasher.finalizeHex(), mode: stat.permissions, type: isDirectory ? "directory" : "file",
            format: isDirectory ? "tar" : nil)
    }
}

import DockerEngine
import FoundationEssentials
import Glibc
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `files.upload` … `files.finishUpload`: a file (or a tar stream) sent in chunks, streamed to the
// engine's archive endpoint as they come (one chunked PUT whose body pauses while no chunk waits),
// so memory stays bounded whatever the size. A file lands under a temporary name in its folder and
// is renamed over `path` at the finish, so a cancelled or abandoned upload never leaves a partial
// file at `path`, and an old file there stays whole until the new one replaces it.

/// `files.upload` (protocol 1.1): starts an upload.
public struct FilesUploadRequest: RPCMethod {
    /// The method name, `"files.upload"`.
    public static let name = "files.upload"
    /// Answers ``UploadStarted``.
    public typealias Result = UploadStarted
    /// The node: its container id or name.
    public var externalId: String
    /// The file's absolute path (format file), or the existing folder to extract under (format tar).
    public var path: String
    /// The file's permission bits, 0…0o7777 (beyond 0o777 only with `policy.allowSpecialModes`; not for a tar); nil: 0o644.
    public var mode: Int?
    /// The file's size in bytes; without it the chunks are spooled on the worker's disk until the finish.
    public var size: Int?
    /// What the bytes are; nil: `.file`.
    public var format: UploadFormat?
}

/// What an upload carries.
public enum UploadFormat: String, Codable, Sendable {
    /// The bytes of one file, to land at `path`.
    case file
    /// A tar stream, extracted under the folder `path`.
    case tar
}

/// What `files.upload` answers.
public struct UploadStarted: Encodable, Sendable {
    /// The upload's id, 32 hex digits; valid in this session until finished or cancelled.
    public var uploadId: String
}

/// `files.uploadChunk`: the next bytes of an upload.
public struct FilesUploadChunkRequest: RPCMethod {
    /// The method name, `"files.uploadChunk"`.
    public static let name = "files.uploadChunk"
    /// Answers ``UploadReceived``.
    public typealias Result = UploadReceived
    /// The upload, as `files.upload` answered it.
    public var uploadId: String
    /// The bytes, at most 16 MiB, as text or base64 per `encoding`.
    public var data: String
    /// How `data` is encoded; nil: `.utf8`.
    public var encoding: OutputEncoding?
}

/// What `files.uploadChunk` answers: the bytes received so far.
public struct UploadReceived: Encodable, Sendable {
    /// Bytes received so far.
    public var received: Int
}

/// `files.finishUpload`.
public struct FilesFinishUploadRequest: RPCMethod {
    /// The method name, `"files.finishUpload"`.
    public static let name = "files.finishUpload"
    /// Answers the size and SHA-256 of the bytes received.
    public typealias Result = WriteResult
    /// The upload, as `files.upload` answered it.
    public var uploadId: String
}

/// `files.cancelUpload`.
public struct FilesCancelUploadRequest: RPCMethod {
    /// The method name, `"files.cancelUpload"`.
    public static let name = "files.cancelUpload"
    /// Answers `null`.
    public typealias Result = NullResult
    /// The upload, as `files.upload` answered it.
    public var uploadId: String
}

extension FilesUploadRequest: NodeRequest {
    /// Checks the path (a file path for format file), that `mode` is within 0…0o7777 and not given for a tar, and that `size` is not negative.
    /// - Throws: ``InvalidParams`` naming `path`, `mode` or `size`.
    public func validate() throws {
        if format ?? .file == .file {
            _ = try DockerProvider.checkFilePath(path, field: "path")
        } else {
            _ = try DockerProvider.containerPath(path)
            if mode != nil { throw InvalidParams(field: "mode", reason: "is for format file (a tar carries its own modes)") }
        }
        if let mode, !(0...0o7777).contains(mode) { throw InvalidParams(field: "mode", reason: "must be between 0 and 0o7777") }
        if let size, size < 0 { throw InvalidParams(field: "size", reason: "must not be negative") }
    }
}

extension DockerProvider {
    /// The most bytes of one `files.uploadChunk` (before encoding).
    static let maxChunkBytes = 16 << 20

    /// `files.upload`: checks the target and starts the engine request (for a file of known size,
    /// or a tar). A file goes to `.olw-upload-<uploadId>` in the folder of `path` (links at `path`
    /// followed) and is renamed over `path` at the finish.
    /// - Throws: ``InvalidParams`` for a bad path, mode or size; ``ProviderError`` -32004 for a
    ///   missing folder, -32009 for a path that is a folder (format file) or not one (format tar).
    public func startUpload(_ request: FilesUploadRequest) async throws -> UploadStarted {
        try Validation.checkExternalID(request.externalId)
        let id = String(UUID().uuidString.lowercased().filter { $0 != "-" })
        let format = request.format ?? .file
        let owner = try await nodeUserIDs(request.externalId)
        let upload: Upload
        switch format {
        case .file:
            let (path, existing) = try await resolveLinks(request.externalId, try Self.containerPath(request.path))
            if existing?.isDirectory == true { throw ProviderError(code: .conflict, reason: "\(request.path) is a directory") }
            let folder = Self.parent(path)
            guard let stat = try await stat(request.externalId, folder) else {
                throw ProviderError(code: .notFound, reason: "the folder \(folder) does not exist", status: 404)
            }
            guard stat.isDirectory || stat.isSymlink else { throw ProviderError(code: .conflict, reason: "\(folder) is not a directory") }
            var spoolPath: String?
            if request.size == nil {
                spoolPath = FileManager.default.temporaryDirectory.appendingPathComponent("olw-upload-\(id)").path
            }
            upload = Upload(
                id: id, containerID: request.externalId, path: path, folder: folder, temporaryName: ".olw-upload-\(id)", format: .file,
                size: request.size, mode: request.mode ?? 0o644, owner: owner, spoolPath: spoolPath)
            if let spoolPath {
                let spool = try SpoolFile(creating: spoolPath)
                upload.state.withLock { $0.spool = spool }
            } else {
                try await openEngineUpload(upload)
            }
        case .tar:
            let (path, existing) = try await resolveLinks(request.externalId, try Self.containerPath(request.path))
            guard let existing else {
                throw ProviderError(code: .notFound, reason: "the folder \(request.path) does not exist", status: 404)
            }
            guard existing.isDirectory else { throw ProviderError(code: .conflict, reason: "\(request.path) is not a directory") }
            upload = Upload(
                id: id, containerID: request.externalId, path: path, folder: path, temporaryName: nil, format: .tar, size: request.size,
                mode: 0, owner: owner, spoolPath: nil)
            try await openEngineUpload(upload)
        }
        uploads.add(upload)
        lifetimes.begin(request.externalId)
        if upload.state.withLock({ $0.stream != nil }) { watchIdle(upload) }
        return UploadStarted(uploadId: id)
    }

    /// Starts the archive PUT of `upload`; for a file, sends the tar header of its temporary name.
    func openEngineUpload(_ upload: Upload) async throws {
        let stream = try await client.uploadArchive(upload.containerID, path: upload.folder, noOverwriteDirNonDir: true)
        upload.state.withLock { $0.stream = stream }
        if let name = upload.temporaryName, let size = upload.size {
            var tar = TarWriter()
            tar.addFileHeader(
                name: name, size: size, mode: upload.mode, modifiedAt: Int(Date().timeIntervalSince1970), uid: upload.owner.uid,
                gid: upload.owner.gid)
            try await stream.write(tar.bytes)
        }
    }

    /// `files.uploadChunk`: decodes the bytes and sends them on (or spools them); answers once the
    /// engine request has taken them, so a host that waits for each answer never outruns the engine.
    /// - Throws: ``InvalidParams`` naming `uploadId`, `data` (bad base64, over 16 MiB, past `size`).
    public func uploadChunk(_ request: FilesUploadChunkRequest, context: RequestContext? = nil) async throws -> UploadReceived {
        let upload = try uploads.get(request.uploadId)
        let bytes = try Self.decodeContent(request.data, request.encoding, field: "data")
        guard bytes.count <= Self.maxChunkBytes else {
            throw InvalidParams(field: "data", reason: "holds \(bytes.count) bytes, more than \(Self.maxChunkBytes)")
        }
        return try await upload.turns.withLock(0) {
            let (before, stream, spool) = upload.state.withLock { state in
                state.chunkInProgress = true
                return (state.received, state.stream, state.spool)
            }
            defer {
                upload.state.withLock { state in
                    state.chunkInProgress = false
                    state.lastActivity = .now
                }
            }
            if upload.state.withLock({ $0.ended }) {
                throw InvalidParams(field: "uploadId", reason: "names no upload in progress (finished, cancelled, or never started)")
            }
            if let size = upload.size, before + bytes.count > size {
                throw InvalidParams(field: "data", reason: "goes past the upload's size (\(before) + \(bytes.count) > \(size))")
            }
            do {
                if let spool {
                    try spool.write(bytes)
                } else if let stream {
                    try await stream.write(bytes)
                }
            } catch {
                // A cancelled chunk request leaves the upload to cancelUpload or the session's end.
                if !Task.isCancelled { await abandon(upload) }
                throw error
            }
            let (received, report) = upload.state.withLock { state -> (Int, Bool) in
                state.received += bytes.count
                state.hasher.update(bytes)
                // Over 8 MiB (said or sent), at most four times a second.
                let big = max(state.received, upload.size ?? 0) > ProgressReporter.threshold
                let due = state.lastProgress.map { ContinuousClock.now - $0 >= ProgressReporter.interval } ?? true
                if big && due { state.lastProgress = .now }
                return (state.received, big && due)
            }
            if report, let context {
                await context.notify(FilesProgressNotification(uploadId: upload.id, bytes: received, totalBytes: upload.size))
            }
            return UploadReceived(received: received)
        }
    }

    /// Cancels a streamed upload that gets no chunk for `config.streamStallMs`: while its archive
    /// request is open the engine holds the node's lock, which a host that forgot it must not keep.
    private func watchIdle(_ upload: Upload) {
        let limit = Duration.milliseconds(config.streamStallMs)
        Task {
            while true {
                try? await Task.sleep(for: min(limit / 4, .seconds(1)))
                let (ended, idle) = upload.state.withLock {
                    ($0.ended, !$0.chunkInProgress && ContinuousClock.now - $0.lastActivity >= limit)
                }
                if ended { return }
                if idle {
                    logger.info(
                        "upload cancelled: no chunk within the stall bound",
                        metadata: ["uploadId": "\(upload.id)", "limitMs": "\(config.streamStallMs)"])
                    await abandon(upload)
                    return
                }
            }
        }
    }
}

import DockerEngine
import FoundationEssentials
import Glibc
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
    public static let name = "files.upload"
    public typealias Result = UploadStarted
    public var externalId: String
    public var path: String
    public var mode: Int?
    /// The file's size in bytes; without it the chunks are spooled on the worker's disk until the finish.
    public var size: Int?
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
    public var uploadId: String
}

/// `files.uploadChunk`: the next bytes of an upload.
public struct FilesUploadChunkRequest: RPCMethod {
    public static let name = "files.uploadChunk"
    public typealias Result = UploadReceived
    public var uploadId: String
    public var data: String
    public var encoding: OutputEncoding?
}

/// What `files.uploadChunk` answers: the bytes received so far.
public struct UploadReceived: Encodable, Sendable {
    public var received: Int
}

/// `files.finishUpload`.
public struct FilesFinishUploadRequest: RPCMethod {
    public static let name = "files.finishUpload"
    public typealias Result = WriteResult
    public var uploadId: String
}

/// `files.cancelUpload`.
public struct FilesCancelUploadRequest: RPCMethod {
    public static let name = "files.cancelUpload"
    public typealias Result = NullResult
    public var uploadId: String
}

extension FilesUploadRequest: NodeRequest {
    func validate() throws {
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

/// One upload in progress.
final class Upload: Sendable {
    struct State {
        var received = 0
        var hasher = SHA256.Hasher()
        /// The engine request, once started (at once with a known size, at the finish when spooled).
        var stream: UploadStream?
        /// Chunks on the worker's disk, for a file of unknown size.
        var spool: SpoolFile?
        var ended = false
        /// When `files.progress` was last sent for this upload.
        var lastProgress: ContinuousClock.Instant?
        /// When a chunk last arrived or was last taken by the engine; a chunk in progress is not idleness.
        var lastActivity = ContinuousClock.now
        var chunkInProgress = false
    }

    let id: String
    let containerID: String
    /// Where the file lands (links followed), or the folder a tar is extracted under.
    let path: String
    /// The folder of `path` and the temporary name there (format file).
    let folder: String
    let temporaryName: String?
    let format: UploadFormat
    let size: Int?
    let mode: Int
    let owner: (uid: Int, gid: Int)
    let spoolPath: String?
    let state = Mutex(State())
    /// Chunks are applied one at a time, in the order they are taken.
    let turns = KeyedLock<Int>()

    init(
        id: String, containerID: String, path: String, folder: String, temporaryName: String?, format: UploadFormat, size: Int?,
        mode: Int, owner: (uid: Int, gid: Int), spoolPath: String?
    ) {
        self.id = id
        self.containerID = containerID
        self.path = path
        self.folder = folder
        self.temporaryName = temporaryName
        self.format = format
        self.size = size
        self.mode = mode
        self.owner = owner
        self.spoolPath = spoolPath
    }

    /// The temporary file's full path (format file).
    var temporaryPath: String? { temporaryName.map { folder == "/" ? "/" + $0 : folder + "/" + $0 } }
}

/// The uploads of a session, by id.
final class UploadRegistry: Sendable {
    private let uploads = Mutex<[String: Upload]>([:])

    func add(_ upload: Upload) { uploads.withLock { $0[upload.id] = upload } }
    func remove(_ id: String) { _ = uploads.withLock { $0.removeValue(forKey: id) } }
    func all() -> [Upload] { uploads.withLock { Array($0.values) } }

    /// The upload `id`.
    /// - Throws: ``InvalidParams`` naming `uploadId` when there is none (never started, finished or cancelled).
    func get(_ id: String) throws -> Upload {
        guard let upload = uploads.withLock({ $0[id] }) else {
            throw InvalidParams(field: "uploadId", reason: "names no upload in progress (finished, cancelled, or never started)")
        }
        return upload
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
        try request.validate()
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
    private func openEngineUpload(_ upload: Upload) async throws {
        let request = HTTPRequest(
            .put, target("/containers/\(upload.containerID)/archive", [("path", upload.folder), ("noOverwriteDirNonDir", "true")]),
            headers: [("Content-Type", "application/x-tar")])
        let stream = try await client.upload(request)
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
                await context.notify(
                    frame: ProgressReporter.frame(
                        idMember: Array(#""uploadId":"\#(upload.id)""#.utf8), bytes: received, totalBytes: upload.size))
            }
            return UploadReceived(received: received)
        }
    }

    /// `files.finishUpload`: ends the archive, waits for the engine, renames the temporary file
    /// over `path` (a file) and checks its size.
    /// - Throws: ``ProviderError`` -32009 when fewer bytes came than `size` said (the upload is
    ///   cancelled), -32000 when the engine or the rename failed (nothing is left at `path`).
    public func finishUpload(_ request: FilesFinishUploadRequest) async throws -> WriteResult {
        let upload = try uploads.get(request.uploadId)
        return try await upload.turns.withLock(0) {
            let received = upload.state.withLock { $0.received }
            do {
                if let size = upload.size, received != size {
                    throw ProviderError(code: .conflict, reason: "the upload ended after \(received) of its \(size) bytes; it is cancelled")
                }
                if let spool = upload.state.withLock({ $0.spool }) {
                    try await sendSpool(upload, from: spool, size: received)
                }
                guard let stream = upload.state.withLock({ $0.stream }) else {
                    throw ProviderError(code: .internalError, reason: "the upload has no engine request")
                }
                if upload.format == .file {
                    // The padding of the file's last block, then the archive's two zero blocks.
                    try await stream.write([UInt8](repeating: 0, count: (512 - received % 512) % 512 + 1024))
                }
                do {
                    _ = try await stream.finish()
                } catch let error as EngineError where error.status == 404 {
                    throw ProviderError(code: .notFound, reason: "the folder \(upload.folder) does not exist", status: 404)
                }
                if let temporary = upload.temporaryPath {
                    let run = try await Self.runQuietly(
                        client: client, containerID: upload.containerID,
                        command: await fileTools(upload.containerID) + ["mv", "-f", "--", temporary, upload.path])
                    guard run.exitCode == 0 else {
                        let output = String(decoding: run.output.prefix(300), as: UTF8.self).trimmedOfWhitespace()
                        throw ProviderError(
                            code: .engineError,
                            reason:
                                "renaming the upload to \(upload.path) failed: exit \(run.exitCode) \(output)")
                    }
                    guard let written = try await stat(upload.containerID, upload.path), written.size == received else {
                        throw ProviderError(code: .engineError, reason: "the upload to \(upload.path) did not land in full")
                    }
                }
            } catch {
                await abandon(upload)
                throw error
            }
            end(upload)
            return WriteResult(size: received, sha256: upload.state.withLock { $0.hasher.finalizeHex() })
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

    /// Streams a spooled file to the engine, now that its size is known.
    private func sendSpool(_ upload: Upload, from spool: SpoolFile, size: Int) async throws {
        let sized = Upload(
            id: upload.id, containerID: upload.containerID, path: upload.path, folder: upload.folder, temporaryName: upload.temporaryName,
            format: upload.format, size: size, mode: upload.mode, owner: upload.owner, spoolPath: nil)
        try await openEngineUpload(sized)
        let stream = sized.state.withLock { $0.stream }
        upload.state.withLock { $0.stream = stream }
        guard let stream else { throw ProviderError(code: .internalError, reason: "the upload has no engine request") }
        var offset = 0
        while offset < size {
            let piece = try spool.read(at: offset, count: min(1 << 20, size - offset))
            guard !piece.isEmpty else {
                throw ProviderError(code: .internalError, reason: "the spool file ended at \(offset) of \(size) bytes")
            }
            try await stream.write(piece)
            offset += piece.count
        }
    }

    /// `files.cancelUpload`: ends the engine request and removes the temporary file.
    public func cancelUpload(_ request: FilesCancelUploadRequest) async throws {
        let upload = try uploads.get(request.uploadId)
        await abandon(upload)
    }

    /// Ends every upload of the session (the host went away or shut down), leaving no temporary file.
    func abandonUploads() async {
        let open = uploads.all()
        // Every engine request first: an extraction in progress holds its node's lock, which the
        // removals of the others' temporary files would wait for.
        for upload in open { upload.state.withLock { $0.stream }?.cancel() }
        await withTaskGroup(of: Void.self) { group in
            for upload in open { group.addTask { await self.abandon(upload) } }
        }
    }

    /// Cuts the engine request short and removes what it left: the temporary file of a file upload
    /// (`rm` in the node; an image without one keeps the hidden `.olw-upload-<id>`, never `path`).
    func abandon(_ upload: Upload) async {
        let stream = upload.state.withLock { $0.stream }
        stream?.cancel()
        if let temporary = upload.temporaryPath {
            // Also when the request that ends the upload was itself cancelled.
            let client = client
            await Task {
                let tools = await fileTools(upload.containerID)
                _ = try? await Self.runQuietly(
                    client: client, containerID: upload.containerID, command: tools + ["rm", "-f", "--", temporary])
            }.value
        }
        end(upload)
    }

    private func end(_ upload: Upload) {
        let first = upload.state.withLock { state -> Bool in
            defer { state.ended = true }
            state.spool?.close()
            return !state.ended
        }
        guard first else { return }
        if let spoolPath = upload.spoolPath { try? FileManager.default.removeItem(atPath: spoolPath) }
        uploads.remove(upload.id)
        lifetimes.end(upload.containerID)
    }
}

/// A file on the worker's disk holding the chunks of an upload of unknown size until its finish.
final class SpoolFile: Sendable {
    private let fd: Int32

    /// Creates (or truncates) `path`, readable by the worker's user only.
    /// - Throws: ``ProviderError`` -32603 when it cannot be made.
    init(creating path: String) throws {
        let fd = Glibc.open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ProviderError(code: .internalError, reason: "cannot make a spool file at \(path): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
    }

    /// Appends `bytes`.
    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw ProviderError(code: .internalError, reason: "cannot write the spool file: \(String(cString: strerror(errno)))")
                }
                offset += written
            }
        }
    }

    /// Up to `count` bytes at `offset`.
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        guard got >= 0 else {
            throw ProviderError(code: .internalError, reason: "cannot read the spool file: \(String(cString: strerror(errno)))")
        }
        return Array(bytes.prefix(got))
    }

    func close() { Glibc.close(fd) }
}

import DockerEngine
import FoundationEssentials
import Glibc
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// The uploads in progress, and the spool file of an upload of unknown size.

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

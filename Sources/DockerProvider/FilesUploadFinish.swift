import DockerEngine
import FoundationEssentials
import Glibc
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `files.finishUpload` and `files.cancelUpload`, and the end of every upload of a session.

extension DockerProvider {
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
                } catch let error as EngineError where error.isNotFound {
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

import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Synchronization

// `files.write` over an existing file: the new bytes land under a temporary name in the same
// folder and are renamed over the file, so a write that is cancelled, fails, or whose worker is
// killed leaves the old content whole (a killed worker may leave the hidden temporary file).
// `rm` and `mv` are the worker's own static busybox, put in the node as for exec (see
// ``ExecSupervisor``), so a shell-less image gets the same; the image's own only without it.

extension DockerProvider {
    /// A temporary path in `folder` for replacing a file there atomically, or nil when the node
    /// cannot rename (stopped, or neither the worker's busybox nor `rm`/`mv` in the image): the
    /// write then goes straight to its path. Whether the tools run is learnt once per node (one
    /// `rm -f` of the temporary name).
    func temporaryForReplacing(_ id: String, folder: String) async throws -> String? {
        let temporary = (folder == "/" ? "" : folder) + "/.olw-write-" + String(UUID().uuidString.lowercased().filter { $0 != "-" })
        if let known = renameSupport.withLock({ $0[id] }), !known { return nil }
        guard try await inspectContainer(id).state?.running == true else { return nil }
        if renameSupport.withLock({ $0[id] }) == true { return temporary }
        let tools = await fileTools(id)
        guard let run = try? await Self.runQuietly(client: client, containerID: id, command: tools + ["rm", "-f", "--", temporary]) else {
            return nil
        }
        // 126/127: the runtime could not start rm (not in the image).
        let supported = run.exitCode == 0
        if supported || run.exitCode == 126 || run.exitCode == 127 { renameSupport.withLock { $0[id] = supported } }
        return supported ? temporary : nil
    }

    /// Writes `bytes` to `temporary`, renames it over `path` (`mv -f`, as root) and checks the size;
    /// on any failure (cancellation included) removes `temporary`, leaving `path` as it was.
    /// - Throws: ``ProviderError`` -32000 when the rename failed or the size does not match.
    func replaceFile(
        _ id: String, path: String, temporary: String, bytes: [UInt8], mode: Int, owner: (uid: Int, gid: Int), shownPath: String
    ) async throws {
        var tar = TarWriter()
        try tar.addFile(
            name: Self.base(temporary), contents: bytes, mode: mode, modifiedAt: Int(Date().timeIntervalSince1970), uid: owner.uid,
            gid: owner.gid)
        let archive = tar.finished()
        try await fileWrites.withLock("\(id)\u{0}\(path)") {
            do {
                try await putArchive(id, at: Self.parent(temporary), archive)
                let run = try await Self.runQuietly(
                    client: client, containerID: id, command: await fileTools(id) + ["mv", "-f", "--", temporary, path])
                guard run.exitCode == 0 else {
                    let output = String(decoding: run.output.prefix(300), as: UTF8.self).trimmedOfWhitespace()
                    throw ProviderError(code: .engineError, reason: "renaming the new \(shownPath) into place failed: \(output)")
                }
            } catch {
                await removeTemporary(id, temporary)
                throw error
            }
            guard let written = try await stat(id, path), !written.isDirectory, written.size == bytes.count else {
                throw ProviderError(code: .engineError, reason: "the write to \(shownPath) did not land in full")
            }
        }
    }

    /// Removes a temporary file (`rm -f` in the node), also from a cancelled task; tries again while
    /// an extraction cut short may still be creating it.
    func removeTemporary(_ id: String, _ temporary: String) async {
        let client = client
        await Task {
            let tools = await fileTools(id)
            for attempt in 0..<3 {
                if attempt > 0 { try? await Task.sleep(for: .milliseconds(200)) }
                _ = try? await Self.runQuietly(client: client, containerID: id, command: tools + ["rm", "-f", "--", temporary])
                guard (try? await self.stat(id, temporary)) ?? nil != nil else { return }
            }
        }.value
    }

    /// The argv prefix that runs a file tool (`rm`, `mv`) in node `id` whatever its image holds: the
    /// worker's static busybox when it is, or could be put, in the node; else none (the image's own
    /// tools on its `PATH`).
    func fileTools(_ id: String) async -> [String] {
        await supervisor.ensure(ExecSupervisor.busyboxPath, in: id) ? [ExecSupervisor.busyboxPath] : []
    }
}

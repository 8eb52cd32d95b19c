import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

// `files.read`.

extension DockerProvider {
    /// `files.read`: the bytes of one file (symlinks followed), by the archive endpoint.
    public func readFile(_ request: FilesReadRequest) async throws -> FileContent {
        try Validation.checkExternalID(request.externalId)
        let (path, found) = try await resolveLinks(request.externalId, try Self.containerPath(request.path))
        do {
            guard let stat = found else {
                throw ProviderError(code: .notFound, reason: "no such file: \(request.path)", status: 404)
            }
            if stat.isDirectory { throw ProviderError(code: .conflict, reason: "\(request.path) is a directory") }
            if stat.size > Self.maxReadBytes {
                // Too big to take whole through the archive endpoint: a part of it, read in the container.
                return try await readRange(request, path: path, stat: stat)
            }
            let stream = try await client.getArchive(request.externalId, path: path)
            var reader = TarReader()
            var file: TarReader.Entry?
            var received = 0
            for try await chunk in stream {
                received += chunk.count
                if received > Self.maxReadBytes + 1 << 20 {
                    stream.cancel()
                    throw ProviderError(
                        code: .conflict,
                        reason:
                            "\(request.path) grew past \(Self.maxReadBytes) bytes while it was read; read it in parts with offset and length"
                    )
                }
                for entry in try reader.feed(chunk) where file == nil { file = entry }
            }
            guard let file else { throw ProviderError(code: .engineError, reason: "the engine sent an empty archive for \(request.path)") }
            var bytes = file.contents[...]
            let start = min(request.offset ?? 0, bytes.count)
            bytes = bytes.dropFirst(start)
            if let length = request.length { bytes = bytes.prefix(length) }
            return Self.fileContent(Array(bytes), request: request, size: file.header.size, stat: stat)
        }
    }

    private static func fileContent(_ slice: [UInt8], request: FilesReadRequest, size: Int, stat: PathStat) -> FileContent {
        var encoding = request.encoding ?? .utf8
        var content: String
        if encoding == .utf8, let text = String(validating: slice, as: UTF8.self) {
            content = text
        } else {
            encoding = .base64
            content = Base64.encode(slice)
        }
        return FileContent(
            content: content, encoding: encoding, size: size, mode: stat.permissions, modifiedAt: Timestamp.normalize(stat.mtime),
            sha256: SHA256.hex(slice))
    }

    /// `offset`/`length` of a file over ``maxReadBytes``, cut out in the container by the worker's
    /// busybox `dd` (as root; the image's `tail` and `head` without it), so only the part travels;
    /// the byte count is checked against the file's size.
    private func readRange(_ request: FilesReadRequest, path: String, stat: PathStat) async throws -> FileContent {
        let offset = min(request.offset ?? 0, stat.size)
        guard let length = request.length, length <= Self.maxReadBytes else {
            throw InvalidParams(
                field: "length",
                reason:
                    "\(request.path) has \(stat.size) bytes, more than \(Self.maxReadBytes) can be read at once: read parts of at most that many bytes with offset and length"
            )
        }
        let expected = min(length, stat.size - offset)
        let tools = await fileTools(request.externalId)
        // The worker's busybox `dd` seeks to any 64-bit offset in any image; busybox `tail -c +N`
        // (the fallback, with the image's own tools) stops at 2^31.
        let command =
            tools.isEmpty
            ? ["sh", "-c", #"tail -c "+$2" -- "$1" 2>/dev/null | head -c "$3" 2>/dev/null"#, "sh", path, "\(offset + 1)", "\(length)"]
            : tools + ["dd", "if=\(path)", "bs=65536", "iflag=skip_bytes,count_bytes", "skip=\(offset)", "count=\(length)", "status=none"]
        let run = try await Self.runQuietly(client: client, containerID: request.externalId, command: command)
        guard run.output.count == expected else {
            throw ProviderError(
                code: .engineError,
                reason:
                    "reading \(expected) bytes of \(request.path) at \(offset) gave \(run.output.count)\(tools.isEmpty ? " (the image needs tail and head)" : "")"
            )
        }
        return Self.fileContent(run.output, request: request, size: stat.size, stat: stat)
    }
}

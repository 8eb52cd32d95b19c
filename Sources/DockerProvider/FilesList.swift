import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC

// `files.list`.

extension DockerProvider {
    /// `files.list`: one level, sorted by name, without reading any file's contents.
    public func listDirectory(_ request: FilesListRequest) async throws -> ListResult {
        try Validation.checkExternalID(request.externalId)
        let path = try Self.containerPath(request.path)
        guard let stat = try await resolveLinks(request.externalId, path).stat else {
            throw ProviderError(code: .notFound, reason: "no such folder: \(request.path)", status: 404)
        }
        guard stat.isDirectory else { throw ProviderError(code: .conflict, reason: "\(request.path) is not a directory") }
        // Names cannot contain "/" or NUL (they may contain newlines): "/" separates the fields, the
        // name comes last, and NUL ends each record.
        let script = #"""
            cd -- "$1" 2>/dev/null || exit 20
            for f in * .*; do
              [ "$f" = . ] || [ "$f" = .. ] && continue
              [ -e "$f" ] || [ -L "$f" ] || continue
              printf '%s/%s\0' "$(stat -c '%f/%s/%Y' -- "$f")" "$f"
              # The target as it is, trailing newlines included ($(…) would strip them): a dot guards the
              # end, and then the one newline readlink adds is cut.
              if [ -L "$f" ]; then t=$(readlink -- "$f"; echo .); t=${t%.}; printf '>%s\0' "${t%?}"; fi
            done
            exit 0
            """#
        let run = try await Self.runQuietly(client: client, containerID: request.externalId, command: ["sh", "-c", script, "sh", path])
        guard run.exitCode == 0 else {
            if run.exitCode == 20 { throw ProviderError(code: .conflict, reason: "\(request.path) is not a directory") }
            throw ProviderError(
                code: .engineError, reason: "listing \(request.path) failed: \(String(decoding: run.output.prefix(300), as: UTF8.self))")
        }
        var entries: [FileEntry] = []
        for record in run.output.split(separator: 0, omittingEmptySubsequences: true) {
            let line = Substring(String(decoding: record, as: UTF8.self))
            if line.hasPrefix(">"), !entries.isEmpty {
                entries[entries.count - 1].linkTarget = String(line.dropFirst())
                continue
            }
            let fields = line.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, let rawMode = Int(fields[0], radix: 16), let size = Int(fields[1]), let mtime = Int(fields[2]) else {
                continue
            }
            let name = String(fields[3])
            let type: String
            switch rawMode & 0o170000 {
            case 0o100000: type = "file"
            case 0o040000: type = "directory"
            case 0o120000: type = "symlink"
            default: type = "other"
            }
            entries.append(
                FileEntry(
                    name: name, path: path == "/" ? "/\(name)" : "\(path)/\(name)", type: type, size: size, mode: rawMode & 0o7777,
                    modifiedAt: Timestamp.format(Date(timeIntervalSince1970: TimeInterval(mtime))), linkTarget: nil))
        }
        return ListResult(entries: entries.sorted { $0.name < $1.name })
    }
}

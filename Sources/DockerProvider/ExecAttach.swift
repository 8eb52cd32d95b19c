import DockerEngine
import FoundationEssentials
import JSONCoding
import JSONRPC
import Logging
import Synchronization

// `exec.attach`: a background command's output, replayed and followed.

extension DockerProvider {
    /// `exec.attach`: streams a background command's output from `offset` as `exec.output`
    /// notifications (`{requestId, stream, data, offset}`) and answers with its result when it ends.
    /// - Throws: ``InvalidParams`` (`execId`) for a command this worker did not start or forgot,
    ///   (`offset`) for a negative offset, (`stdin`) when the command has no stdin; cancellation.
    func attach(_ request: ExecAttachRequest, context: RequestContext) async throws -> ExecResult {
        if let offset = request.offset, offset < 0 { throw InvalidParams(field: "offset", reason: "must not be negative") }
        guard let exec = backgroundExecs[request.execId] else {
            if let record = try? await engineExec(request.execId), BackgroundMarker(record) != nil, let containerID = record.containerID,
                (try? await owned(containerID)) != nil
            {
                throw InvalidParams(
                    field: "execId",
                    reason:
                        "\(request.execId) is not held by this worker (an earlier worker started it, or it ended long ago): its output cannot be replayed (exec.list says replayable: false)"
                )
            }
            throw Self.unknownExec(request.execId)
        }
        if request.stdin == true {
            guard let session = exec.session else {
                throw InvalidParams(field: "stdin", reason: "the command was not started with stdin: true")
            }
            execSessions.withLock { $0.adopt(context.id, session) }
        }
        defer {
            if request.stdin == true { _ = execSessions.withLock { $0.byID.removeValue(forKey: context.id) } }
        }
        var cursor = request.offset ?? 0
        var decoders: [StreamDemuxer.Stream: UTF8ChunkDecoder] = [:]
        while true {
            try Task.checkCancellation()
            let read = exec.read(from: cursor)
            for piece in read.pieces {
                let data: [UInt8]
                switch exec.encoding {
                case .base64: data = piece.bytes
                case .utf8:
                    data = decoders[piece.stream, default: .init()].wholeCharacters(piece.bytes)
                    if data.isEmpty { continue }
                }
                let notification = ExecOutputNotification(
                    stream: StreamName(piece.stream), data: ExecOutputText(bytes: data, encoding: exec.encoding), offset: piece.offset)
                guard await context.notify(notification) else { throw CancellationError() }
            }
            cursor = read.next
            if read.pieces.isEmpty {
                if let outcome = read.outcome {
                    for (stream, decoder) in decoders {
                        var decoder = decoder
                        let rest = decoder.finish()
                        guard !rest.isEmpty else { continue }
                        await context.notify(
                            ExecOutputNotification(
                                stream: StreamName(stream), data: ExecOutputText(bytes: Array(rest.utf8), encoding: .utf8),
                                offset: read.total))
                    }
                    return ExecResult(
                        exitCode: outcome.exitCode, stdout: .init(bytes: [], encoding: .utf8), stderr: .init(bytes: [], encoding: .utf8),
                        durationMs: outcome.durationMs, timedOut: false,
                        truncated: OutputTruncation(stdout: read.dropped[0], stderr: read.dropped[1]))
                }
                await exec.waitForChange(after: read.total)
            }
        }
    }
}

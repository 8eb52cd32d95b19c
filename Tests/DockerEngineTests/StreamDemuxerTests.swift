import DockerEngine
import Testing

private typealias Stream = StreamDemuxer.Stream

private func frame(_ stream: UInt8, _ payload: [UInt8]) -> [UInt8] {
    let count = UInt32(payload.count)
    return [stream, 0, 0, 0, UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
        + payload
}

private func frame(_ stream: Stream, _ text: String) -> [UInt8] { frame(stream.rawValue, Array(text.utf8)) }

/// Output grouped into runs of one stream (consecutive pieces of the same stream joined).
private struct Run: Equatable, CustomStringConvertible {
    var stream: Stream
    var bytes: [UInt8]
    var description: String { "\(stream):\(String(decoding: bytes, as: UTF8.self))" }
}

private func demux(_ chunks: [[UInt8]]) -> (runs: [Run], atBoundary: Bool) {
    var demuxer = StreamDemuxer()
    var runs: [Run] = []
    for chunk in chunks {
        demuxer.feed(chunk) { stream, piece in
            if runs.last?.stream == stream {
                runs[runs.count - 1].bytes.append(contentsOf: piece)
            } else {
                runs.append(Run(stream: stream, bytes: Array(piece)))
            }
        }
    }
    return (runs, demuxer.isAtFrameBoundary)
}

private func run(_ stream: Stream, _ text: String) -> Run { Run(stream: stream, bytes: Array(text.utf8)) }

@Suite("StreamDemuxer")
struct StreamDemuxerTests {
    private let interleaved = frame(.stdout, "hello ") + frame(.stderr, "oops\n") + frame(.stdout, "world\n")
    private let expected = [run(.stdout, "hello "), run(.stderr, "oops\n"), run(.stdout, "world\n")]

    @Test func splitsWholeFramesInOneChunk() {
        let result = demux([interleaved])
        #expect(result.runs == expected)
        #expect(result.atBoundary)
    }

    @Test func everySplitPointGivesTheSameOutput() {
        for cut in 0...interleaved.count {
            let result = demux([Array(interleaved[..<cut]), Array(interleaved[cut...])])
            #expect(result.runs == expected, "cut at \(cut)")
            #expect(result.atBoundary, "cut at \(cut)")
        }
    }

    @Test func everyPairOfSplitPointsGivesTheSameOutput() {
        for first in 0...interleaved.count {
            for second in first...interleaved.count {
                let chunks = [Array(interleaved[..<first]), Array(interleaved[first..<second]), Array(interleaved[second...])]
                #expect(demux(chunks).runs == expected, "cuts at \(first), \(second)")
            }
        }
    }

    @Test func oneByteAtATime() {
        let result = demux(interleaved.map { [$0] })
        #expect(result.runs == expected)
        #expect(result.atBoundary)
    }

    @Test func zeroLengthFramesEmitNothing() {
        let bytes = frame(.stdout, "") + frame(.stderr, "e") + frame(.stderr, "") + frame(.stdout, "") + frame(.stdout, "o")
        var pieces: [(Stream, Int)] = []
        var demuxer = StreamDemuxer()
        demuxer.feed(bytes) { pieces.append(($0, $1.count)) }
        #expect(pieces.map(\.0) == [.stderr, .stdout])
        #expect(pieces.allSatisfy { $0.1 > 0 })
        #expect(demuxer.isAtFrameBoundary)
    }

    @Test func onlyZeroLengthFrames() {
        let result = demux([frame(.stdout, "") + frame(.stderr, "")])
        #expect(result.runs.isEmpty)
        #expect(result.atBoundary)
    }

    @Test func largeFrameLengthUsesAllFourBytes() {
        let payload = [UInt8](repeating: 0x61, count: 70_000)
        let bytes = frame(Stream.stderr.rawValue, payload)
        #expect(Array(bytes[4..<8]) == [0x00, 0x01, 0x11, 0x70])
        let result = demux(stride(from: 0, to: bytes.count, by: 4096).map { Array(bytes[$0..<min($0 + 4096, bytes.count)]) })
        #expect(result.runs == [Run(stream: .stderr, bytes: payload)])
        #expect(result.atBoundary)
    }

    @Test func stdinAndUnknownStreamTypes() {
        let result = demux([frame(0, Array("in".utf8)) + frame(7, Array("x".utf8))])
        #expect(result.runs == [run(.stdin, "in"), run(.stdout, "x")])
    }

    @Test func boundaryIsFalseInsideAHeader() {
        var demuxer = StreamDemuxer()
        #expect(demuxer.isAtFrameBoundary)
        demuxer.feed(Array(frame(.stdout, "abc").prefix(5))) { _, _ in }
        #expect(!demuxer.isAtFrameBoundary)
    }

    @Test func boundaryIsFalseInsideAPayload() {
        var demuxer = StreamDemuxer()
        var received: [UInt8] = []
        demuxer.feed(Array(frame(.stdout, "abc").prefix(9))) { received.append(contentsOf: $1) }
        #expect(received == Array("a".utf8))
        #expect(!demuxer.isAtFrameBoundary)
        demuxer.feed(Array("bc".utf8)) { received.append(contentsOf: $1) }
        #expect(received == Array("abc".utf8))
        #expect(demuxer.isAtFrameBoundary)
    }

    @Test func emptyChunksAreHarmless() {
        let bytes = frame(.stdout, "x")
        let result = demux([[], Array(bytes[..<3]), [], Array(bytes[3...]), []])
        #expect(result.runs == [run(.stdout, "x")])
        #expect(result.atBoundary)
    }
}

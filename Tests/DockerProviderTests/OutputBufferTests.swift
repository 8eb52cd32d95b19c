import DockerEngine
import Testing

@testable import DockerProvider

/// The buffer of a background command: offsets across both streams, reads from any offset, and the
/// oldest bytes of a stream dropped past its limit (counted, their offsets kept).
@Suite("OutputBuffer")
struct OutputBufferTests {
    private func text(_ pieces: [OutputBuffer.Piece]) -> [String] {
        pieces.map { "\($0.stream == .stdout ? "o" : "e")@\($0.offset):\(String(decoding: $0.bytes, as: UTF8.self))" }
    }

    @Test func offsetsCountBothStreamsInOrder() {
        var buffer = OutputBuffer(limit: 100)
        buffer.append(.stdout, Array("abc".utf8)[...])
        buffer.append(.stdout, Array("de".utf8)[...])
        buffer.append(.stderr, Array("XY".utf8)[...])
        buffer.append(.stdout, Array("f".utf8)[...])
        #expect(buffer.total == 8)
        #expect(text(buffer.read(from: 0, maxBytes: 1 << 20).pieces) == ["o@0:abcde", "e@5:XY", "o@7:f"])
        #expect(text(buffer.read(from: 6, maxBytes: 1 << 20).pieces) == ["e@6:Y", "o@7:f"])
        #expect(buffer.read(from: 8, maxBytes: 1 << 20).pieces.isEmpty)
        #expect(buffer.read(from: 8, maxBytes: 1 << 20).next == 8)
    }

    @Test func theOldestBytesOfAStreamAreDroppedAndCounted() {
        var buffer = OutputBuffer(limit: 4)
        buffer.append(.stdout, Array("abc".utf8)[...])
        buffer.append(.stderr, Array("XY".utf8)[...])
        buffer.append(.stdout, Array("de".utf8)[...])  // stdout holds 5 > 4: "a" goes
        #expect(buffer.dropped == [1, 0])
        #expect(text(buffer.read(from: 0, maxBytes: 1 << 20).pieces) == ["o@1:bc", "e@3:XY", "o@5:de"])
        buffer.append(.stdout, Array("fghij".utf8)[...])  // 2 + 2 + 5 = 9 > 4: "bc", "de", "f" go
        #expect(buffer.dropped == [6, 0])
        #expect(text(buffer.read(from: 0, maxBytes: 1 << 20).pieces) == ["e@3:XY", "o@8:ghij"])
        #expect(text(buffer.read(from: 10, maxBytes: 1 << 20).pieces) == ["o@10:ij"])
    }

    @Test func readsStopNearTheirSizeAndResume() {
        var buffer = OutputBuffer(limit: 1 << 20)
        for index in 0..<10 {
            buffer.append(index % 2 == 0 ? .stdout : .stderr, [UInt8](repeating: UInt8(65 + index), count: 100)[...])
        }
        let first = buffer.read(from: 0, maxBytes: 250)
        #expect(first.pieces.count == 3)
        #expect(first.next == 300)
        let rest = buffer.read(from: first.next, maxBytes: 1 << 20)
        #expect(rest.pieces.map(\.offset) == [300, 400, 500, 600, 700, 800, 900])
    }

    @Test func manySmallChunksStayBounded() {
        var buffer = OutputBuffer(limit: 1000)
        for index in 0..<20000 {
            buffer.append(index % 3 == 0 ? .stderr : .stdout, Array("0123456789".utf8)[...])
        }
        let all = buffer.read(from: 0, maxBytes: 1 << 20)
        let kept = all.pieces.reduce(into: [0, 0]) { $0[$1.stream == .stderr ? 1 : 0] += $1.bytes.count }
        #expect(kept == [1000, 1000])
        #expect(buffer.dropped[0] + buffer.dropped[1] + 2000 == 200_000)
        // Offsets increase and each piece's bytes are the ones written there.
        for piece in all.pieces { #expect(piece.bytes.first == UInt8(ascii: "0") + UInt8(piece.offset % 10)) }
    }
}

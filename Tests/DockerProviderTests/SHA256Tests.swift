import Foundation
import Testing

@testable import DockerProvider

@Suite("SHA-256")
struct SHA256Tests {
    @Test func standardVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func incrementalMatchesWholeAtEveryCut() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let whole = SHA256.hex(bytes)
        for size in [1, 7, 63, 64, 65, 128, 333, 999] {
            var hasher = SHA256.Hasher()
            for start in stride(from: 0, to: bytes.count, by: size) { hasher.update(bytes[start..<min(start + size, bytes.count)]) }
            #expect(hasher.finalizeHex() == whole, "chunks of \(size)")
        }
    }
}

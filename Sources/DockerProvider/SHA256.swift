import CCrypto

/// SHA-256 (FIPS 180-4), for the digests the file methods report, computed by OpenSSL's libcrypto
/// (its EVP interface, which uses the CPU's SHA extensions where there are any).
enum SHA256 {
    /// The digest of `bytes` as 64 lowercase hex digits.
    static func hex(_ bytes: [UInt8]) -> String {
        var hasher = Hasher()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }

    /// An incremental digest: ``update(_:)`` as bytes come, then ``finalizeHex()`` once.
    struct Hasher: Sendable {
        /// The OpenSSL context; a copy of a hasher shares it (hashers are not copied in use).
        private final class Context: @unchecked Sendable {
            let pointer: OpaquePointer

            init() {
                guard let pointer = EVP_MD_CTX_new() else { fatalError("OpenSSL could not allocate a digest context") }
                guard EVP_DigestInit_ex(pointer, EVP_sha256(), nil) == 1 else { fatalError("OpenSSL refused to start a SHA-256 digest") }
                self.pointer = pointer
            }

            deinit { EVP_MD_CTX_free(pointer) }
        }

        private let context = Context()

        init() {}

        /// Adds `bytes` to the digest.
        mutating func update(_ bytes: some Collection<UInt8>) {
            let contiguous: Bool? = bytes.withContiguousStorageIfAvailable { buffer in
                _ = EVP_DigestUpdate(context.pointer, buffer.baseAddress, buffer.count)
                return true
            }
            if contiguous == nil {
                let copy = Array(bytes)
                copy.withUnsafeBufferPointer { buffer in _ = EVP_DigestUpdate(context.pointer, buffer.baseAddress, buffer.count) }
            }
        }

        /// The digest of everything added, as 64 lowercase hex digits; the hasher is spent.
        mutating func finalizeHex() -> String {
            var digest = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            _ = digest.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context.pointer, $0.baseAddress, &length) }
            let digits = Array("0123456789abcdef".utf8)
            var text: [UInt8] = []
            text.reserveCapacity(64)
            for byte in digest.prefix(Int(length)) {
                text.append(digits[Int(byte >> 4)])
                text.append(digits[Int(byte & 0x0F)])
            }
            return String(decoding: text, as: UTF8.self)
        }
    }
}

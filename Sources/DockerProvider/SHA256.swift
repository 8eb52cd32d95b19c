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
                guard let pointer = olw_crypto_sha256_begin() else { fatalError("OpenSSL could not allocate or start a SHA-256 digest") }
                self.pointer = pointer
            }

            deinit { olw_crypto_digest_free(pointer) }

            /// Adds `buffer` to the digest. OpenSSL's result is not checked (as before): it fails an
            /// update of a started context only once the context is finished.
            func update(_ buffer: UnsafeBufferPointer<UInt8>) {
                _ = olw_crypto_digest_update(pointer, buffer.baseAddress, buffer.count)
            }
        }

        private let context = Context()

        init() {}

        /// Adds `bytes` to the digest.
        mutating func update(_ bytes: some Collection<UInt8>) {
            let contiguous: Bool? = bytes.withContiguousStorageIfAvailable { buffer in
                context.update(buffer)
                return true
            }
            if contiguous == nil {
                let copy = Array(bytes)
                copy.withUnsafeBufferPointer { context.update($0) }
            }
        }

        /// The digest of everything added, as 64 lowercase hex digits; the hasher is spent.
        mutating func finalizeHex() -> String {
            var digest = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            // Not checked (as before): finishing a started context fails only if it is finished already.
            _ = digest.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress.map { olw_crypto_digest_final(context.pointer, $0, &length) }
            }
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

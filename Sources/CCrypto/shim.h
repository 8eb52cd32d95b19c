#ifndef OLW_CCRYPTO_SHIM_H
#define OLW_CCRYPTO_SHIM_H

// OpenSSL's libcrypto (the library libcurl already loads here) for SHA-256: its EVP digests use
// the CPU's SHA extensions, where a hand-written Swift SHA-256 took 45% of a streamed upload's CPU.
#include <openssl/evp.h>

// OpenSSL's own declarations carry no nullability; these wrappers do, so Swift sees which
// pointers may be NULL. Non-null unless marked _Nullable.
#pragma clang assume_nonnull begin

/// A new digest context, started for SHA-256; NULL when OpenSSL cannot allocate or start one.
static inline EVP_MD_CTX *_Nullable olw_crypto_sha256_begin(void) {
    EVP_MD_CTX *_Nullable context = EVP_MD_CTX_new();
    if (context != NULL && EVP_DigestInit_ex(context, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(context);
        return NULL;
    }
    return context;
}

/// Adds `count` bytes at `bytes` (NULL only when `count` is 0) to the digest; 1 on success.
static inline int olw_crypto_digest_update(EVP_MD_CTX *context, const void *_Nullable bytes, size_t count) {
    return EVP_DigestUpdate(context, bytes, count);
}

/// Writes the digest (32 bytes for SHA-256) to `digest` and its length to `length`; 1 on success.
static inline int olw_crypto_digest_final(EVP_MD_CTX *context, unsigned char *digest, unsigned int *length) {
    return EVP_DigestFinal_ex(context, digest, length);
}

/// Frees a digest context (NULL is ignored).
static inline void olw_crypto_digest_free(EVP_MD_CTX *_Nullable context) { EVP_MD_CTX_free(context); }

#pragma clang assume_nonnull end
#endif

#ifndef OLW_CCRYPTO_SHIM_H
#define OLW_CCRYPTO_SHIM_H

// OpenSSL's libcrypto (the library libcurl already loads here) for SHA-256: its EVP digests use
// the CPU's SHA extensions, where a hand-written Swift SHA-256 took 45% of a streamed upload's CPU.
#include <openssl/evp.h>

#endif

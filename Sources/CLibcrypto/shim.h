// The system's OpenSSL libcrypto (3.0 on Debian 12), for RSA signatures:
// DKIM's rsa-sha256. Its RSA code uses the processor's wide multipliers where
// BoringSSL (swift-crypto) does not, and signs in less than half the time here.
#ifndef KUVERT_CLIBCRYPTO_SHIM_H
#define KUVERT_CLIBCRYPTO_SHIM_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#endif

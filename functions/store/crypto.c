/*
 * The store's only cryptography: SHA-256 (S3 payload hashes and the
 * DeleteObjects body checksum, sent base64-encoded) and HMAC-SHA256
 * (presigned URLs), taken from the TLS library the build links:
 * OpenSSL's libcrypto normally, mbedTLS in the static musl build
 * (LAMBDA_USE_MBEDTLS). Nothing here is hand-written crypto.
 */
#include "store_internal.h"

#ifdef LAMBDA_USE_MBEDTLS
#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

void lambda_store_sha256(const void *data, size_t len, unsigned char out[32])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
    mbedtls_sha256(data, len, out, 0);
#else
    mbedtls_sha256_ret(data, len, out, 0);
#endif
}

void lambda_store_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                              unsigned char out[32])
{
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, key_len, data, len, out);
}

void lambda_store_base64(const unsigned char *in, size_t len, char *out)
{
    size_t written = 0;
    mbedtls_base64_encode((unsigned char *)out, 4 * ((len + 2) / 3) + 1, &written, in, len);
    out[written] = '\0';
}
#else
#include <openssl/evp.h>
#include <openssl/hmac.h>

void lambda_store_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void lambda_store_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                              unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n);
}

void lambda_store_base64(const unsigned char *in, size_t len, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)len); /* NUL-terminates */
}
#endif

void lambda_store_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

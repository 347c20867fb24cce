/*
 * SigV4's two primitives for the clients, from the TLS library the build
 * links: OpenSSL's libcrypto normally, mbedTLS in the static musl build
 * (LAMBDA_USE_MBEDTLS), whose libcurl already carries it. mbedtls_md() and
 * mbedtls_md_hmac() have the same signature in mbedTLS 2 and 3. Nothing
 * here is hand-written crypto.
 */
#include "sigv4.h"

#ifdef LAMBDA_USE_MBEDTLS
#include <mbedtls/md.h>

void lambda__sigv4_sha256(const void *data, size_t len, unsigned char out[32])
{
    mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), data, len, out);
}

void lambda__sigv4_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                               unsigned char out[32])
{
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key, key_len, data, len, out);
}
#else
#include <openssl/evp.h>
#include <openssl/hmac.h>

void lambda__sigv4_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void lambda__sigv4_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                               unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n);
}
#endif

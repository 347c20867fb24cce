/*
 * S3 backend, presigned GET URLs: SigV4 query signing (AWS "Authenticating
 * Requests: Using Query Parameters"), the one thing curl cannot produce,
 * signed with HMAC-SHA256 from the crypto shim. The secret key is copied
 * only into a buffer wiped after use.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3_internal.h"

static void hmac(const unsigned char *key, size_t key_len, const char *msg, unsigned char out[32])
{
    lambda_store_hmac_sha256(key, key_len, msg, strlen(msg), out);
}

/* The canonical query, sorted by name: Algorithm, Credential, Date,
 * Expires, Security-Token, SignedHeaders. */
static int presign_query(const s3_store *s, const char *amz_date, const char *scope, long expires_s,
                         lambda_store_buf *q)
{
    char credential[600];
    snprintf(credential, sizeof credential, "%s/%s", s->access_key, scope);
    const char *token = getenv("AWS_SESSION_TOKEN");
    int rc = lambda_store_buf_adds(q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    rc = rc ? rc : lambda_s3_uri_encode(q, credential, 0);
    rc =
        rc ? rc : lambda_store_buf_addf(q, "&X-Amz-Date=%s&X-Amz-Expires=%ld", amz_date, expires_s);
    if (token && *token) {
        rc = rc ? rc : lambda_store_buf_adds(q, "&X-Amz-Security-Token=");
        rc = rc ? rc : lambda_s3_uri_encode(q, token, 0);
    }
    return rc ? rc : lambda_store_buf_adds(q, "&X-Amz-SignedHeaders=host");
}

/* The signature (hex) of a GET of `path?query` on `host`. */
static int sign(const s3_store *s, const char *amz_date, const char *day, const char *scope,
                const char *host, const lambda_store_buf *path, const lambda_store_buf *query,
                char sig[65])
{
    lambda_store_buf canonical = {0};
    if (lambda_store_buf_addf(&canonical, "GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD",
                              path->data, query->data, host) != 0) {
        lambda_store_buf_free(&canonical);
        return -1;
    }
    unsigned char digest[32], k[32];
    char hex[65], to_sign[512];
    lambda_store_sha256(canonical.data, canonical.len, digest);
    lambda_store_buf_free(&canonical);
    lambda_store_hex(digest, 32, hex);
    snprintf(to_sign, sizeof to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hex);
    char secret[600];
    snprintf(secret, sizeof secret, "AWS4%s", s->secret_key);
    hmac((const unsigned char *)secret, strlen(secret), day, k);
    memset(secret, 0, sizeof secret);
    hmac(k, 32, s->region, k);
    hmac(k, 32, "s3", k);
    hmac(k, 32, "aws4_request", k);
    hmac(k, 32, to_sign, digest);
    lambda_store_hex(digest, 32, sig);
    return 0;
}

char *s3_presign(lambda_store *base, const char *key, long expires_s, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fk[LAMBDA_S3_FULL_KEY_MAX];
    if (s3_full_key(s, key, fk, err) != 0)
        return NULL;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char amz_date[32], day[16], scope[256], sig[65];
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    strftime(day, sizeof day, "%Y%m%d", &tm);
    snprintf(scope, sizeof scope, "%s/%s/s3/aws4_request", day, s->region);
    const char *host = strstr(s->endpoint, "://") + 3;

    lambda_store_buf path = {0}, query = {0}, url = {0};
    int rc = s3_add_path(s, fk, &path);
    rc = rc ? rc : presign_query(s, amz_date, scope, expires_s, &query);
    rc = rc ? rc : sign(s, amz_date, day, scope, host, &path, &query, sig);
    rc = rc ? rc
            : lambda_store_buf_addf(&url, "%s%s?%s&X-Amz-Signature=%s", s->endpoint, path.data,
                                    query.data, sig);
    lambda_store_buf_free(&path);
    lambda_store_buf_free(&query);
    if (rc != 0) {
        lambda_store_buf_free(&url);
        lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return NULL;
    }
    return url.data; /* the caller frees it */
}

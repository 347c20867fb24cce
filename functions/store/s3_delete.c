/*
 * S3 backend, batch delete: DeleteObjects in quiet mode, at most 1,000 keys
 * a request (S3's limit), keys S3 could not delete for a retryable reason
 * re-sent with the transport's backoff.
 */
#include <stdlib.h>
#include <string.h>

#include "s3_internal.h"

/* What one DeleteObjects reply said about the keys it could not delete. */
typedef struct delete_round {
    const char **keys; /* the keys sent */
    size_t n;
    const char **retry; /* those that failed with a retryable code (room for n) */
    size_t n_retry;
    lambda_error first; /* the failure the caller will see */
    int fatal;          /* a non-retryable failure was seen */
} delete_round;

/* A key's <Code> as a store status; *retryable says whether to re-send it. */
static lambda_store_status key_status(const char *code, int *retryable)
{
    int throttled = strcmp(code, "SlowDown") == 0;
    *retryable =
        throttled || strcmp(code, "InternalError") == 0 || strcmp(code, "ServiceUnavailable") == 0;
    return throttled                           ? LAMBDA_STORE_THROTTLED
           : *retryable                        ? LAMBDA_STORE_UNAVAILABLE
           : strcmp(code, "AccessDenied") == 0 ? LAMBDA_STORE_ACCESS_DENIED
                                               : LAMBDA_STORE_REFUSED;
}

/* Per-key codes: NoSuchKey means the key is already gone (success: S3
 * itself reports missing keys as deleted); SlowDown and InternalError are
 * worth re-sending; anything else fails the delete. */
static void on_delete_error(const char *key, const char *code, const char *message, void *ud)
{
    delete_round *r = ud;
    if (strcmp(code, "NoSuchKey") == 0)
        return;
    int retryable;
    lambda_store_status type = key_status(code, &retryable);
    if (!r->first.type[0] || (!retryable && !r->fatal))
        lambda_store_fail(&r->first, type, "S3 DeleteObjects %s: %s %s", key, code, message);
    if (!retryable) {
        r->fatal = 1;
        return;
    }
    /* `key` lives in the parser's buffer: keep our own copy's pointer. */
    for (size_t i = 0; i < r->n_retry; i++)
        if (strcmp(r->retry[i], key) == 0)
            return;
    for (size_t j = 0; j < r->n; j++)
        if (strcmp(r->keys[j], key) == 0) {
            r->retry[r->n_retry++] = r->keys[j];
            return;
        }
    r->fatal = 1; /* an error about a key we never sent: do not guess */
}

/* The integrity header S3 requires on DeleteObjects: a SHA-256 checksum
 * (accepted by general-purpose and directory buckets alike, unlike
 * Content-MD5) from the crypto shim we already link. */
static int checksum_headers(const lambda_store_buf *xml, struct curl_slist **h, lambda_error *err)
{
    unsigned char digest[32];
    char b64[48], checksum[96];
    lambda_store_sha256(xml->data, xml->len, digest);
    lambda_store_base64(digest, 32, b64);
    snprintf(checksum, sizeof checksum, "x-amz-checksum-sha256: %s", b64);
    if (s3_header(h, checksum, err) != 0)
        return -1;
    return s3_header(h, "x-amz-sdk-checksum-algorithm: SHA256", err);
}

/* One DeleteObjects request for keys[0..n): the number of keys S3 could
 * not delete (each passed to on_delete_error with `r`), or -1. */
static int send_round(s3_store *s, const char **keys, size_t n, delete_round *r, lambda_error *err)
{
    lambda_store_buf xml = {0};
    struct curl_slist *h = NULL;
    int errors = -1;
    if (lambda_s3_delete_body(keys, n, &xml) != 0)
        lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    else if (checksum_headers(&xml, &h, err) == 0) {
        /* "delete=", not "delete": curl signs the query exactly as written. */
        s3_request rq = {.op = "DeleteObjects",
                         .method = "POST",
                         .key = NULL,
                         .query = "delete=",
                         .has_body = 1,
                         .body = xml.data,
                         .body_len = xml.len,
                         .headers = h};
        s3_response rs;
        if (s3_perform(s, &rq, &rs, err) == 0)
            errors =
                lambda_s3_parse_delete_result(rs.body.data, rs.body.len, on_delete_error, r, err);
        s3_response_free(&rs);
    }
    curl_slist_free_all(h);
    lambda_store_buf_free(&xml);
    return errors;
}

/* One batch of at most S3_DELETE_BATCH full keys, re-sending keys that
 * failed with a retryable code (with the same backoff as whole requests).
 * `keys` is reordered in place. */
static int delete_batch(s3_store *s, const char **keys, size_t n, lambda_error *err)
{
    const char **retry = malloc(n * sizeof *retry);
    if (!retry)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    int rc = -1;
    for (int attempt = 1;; attempt++) {
        delete_round r = {.keys = keys, .n = n, .retry = retry};
        if (send_round(s, keys, n, &r, err) < 0)
            break;
        if (!r.first.type[0]) {
            rc = 0; /* nothing failed, or only NoSuchKey */
            break;
        }
        if (r.fatal || attempt >= s->max_attempts) {
            *err = r.first;
            if (!r.fatal) {
                size_t k = strlen(err->message);
                snprintf(err->message + k, sizeof err->message - k, " (after %d attempts)",
                         attempt);
            }
            break;
        }
        s3_backoff(s, attempt);
        memmove(keys, retry, r.n_retry * sizeof *keys);
        n = r.n_retry;
    }
    free(retry);
    return rc;
}

int s3_delete_many(lambda_store *base, const char *const *keys, size_t n, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    size_t batch = n < S3_DELETE_BATCH ? n : S3_DELETE_BATCH;
    char(*full)[LAMBDA_S3_FULL_KEY_MAX] = malloc(batch * sizeof *full);
    const char **ptrs = malloc(batch * sizeof *ptrs);
    int rc = 0;
    if (!full || !ptrs)
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    for (size_t from = 0; rc == 0 && from < n; from += batch) {
        size_t k = n - from < batch ? n - from : batch;
        for (size_t i = 0; rc == 0 && i < k; i++) {
            rc = s3_full_key(s, keys[from + i], full[i], err);
            ptrs[i] = full[i];
        }
        if (rc == 0)
            rc = delete_batch(s, ptrs, k, err);
    }
    free(full);
    free(ptrs);
    return rc;
}

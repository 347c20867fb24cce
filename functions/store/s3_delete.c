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
    lambda_error first;               /* the failure the caller will see */
    lambda_store_status first_status; /* and its status (OK: none yet) */
    int fatal;                        /* a non-retryable failure was seen */
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
    if (r->first_status == LAMBDA_STORE_OK || (!retryable && !r->fatal))
        r->first_status =
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
static lambda_store_status checksum_headers(const lambda_store_buf *xml, struct curl_slist **h,
                                            lambda_error *err)
{
    unsigned char digest[32];
    char b64[48], checksum[96];
    lambda_store_sha256(xml->data, xml->len, digest);
    lambda_store_base64(digest, 32, b64);
    snprintf(checksum, sizeof checksum, "x-amz-checksum-sha256: %s", b64);
    S3_TRY(s3_header(h, checksum, err));
    return s3_header(h, "x-amz-sdk-checksum-algorithm: SHA256", err);
}

/* One DeleteObjects request for keys[0..n): each key S3 could not delete
 * is passed to on_delete_error with `r`; the status is the request's. */
static lambda_store_status send_round(s3_store *s, const char **keys, size_t n, delete_round *r,
                                      lambda_error *err)
{
    lambda_store_buf xml = {0};
    struct curl_slist *h = NULL;
    lambda_store_status st = lambda_s3_delete_body(keys, n, &xml) != 0
                                 ? lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory")
                                 : checksum_headers(&xml, &h, err);
    if (st == LAMBDA_STORE_OK) {
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
        st = s3_perform(s, &rq, &rs, err);
        if (st == LAMBDA_STORE_OK &&
            lambda_s3_parse_delete_result(rs.body.data, rs.body.len, on_delete_error, r, err) < 0)
            st = LAMBDA_STORE_UNAVAILABLE;
        s3_response_free(&rs);
    }
    curl_slist_free_all(h);
    lambda_store_buf_free(&xml);
    return st;
}

/* One batch of at most S3_DELETE_BATCH full keys, re-sending keys that
 * failed with a retryable code (with the same backoff as whole requests).
 * `keys` is reordered in place. */
static lambda_store_status delete_batch(s3_store *s, const char **keys, size_t n, lambda_error *err)
{
    const char **retry = malloc(n * sizeof *retry);
    if (!retry)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    lambda_store_status rc;
    lambda_backoff b;
    s3_backoff_init(s, &b);
    for (int attempt = 1;; attempt++) {
        delete_round r = {.keys = keys, .n = n, .retry = retry};
        rc = send_round(s, keys, n, &r, err);
        if (rc != LAMBDA_STORE_OK || r.first_status == LAMBDA_STORE_OK)
            break; /* the request failed; or nothing failed, or only NoSuchKey */
        if (r.fatal || attempt >= s->max_attempts) {
            *err = r.first;
            rc = r.first_status;
            if (!r.fatal) {
                size_t k = strlen(err->message);
                snprintf(err->message + k, sizeof err->message - k, " (after %d attempts)",
                         attempt);
            }
            break;
        }
        lambda_backoff_wait(&b);
        memmove(keys, retry, r.n_retry * sizeof *keys);
        n = r.n_retry;
    }
    free(retry);
    return rc;
}

lambda_store_status s3_delete_many(lambda_store *base, const char *const *keys, size_t n,
                                   lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    size_t batch = n < S3_DELETE_BATCH ? n : S3_DELETE_BATCH;
    char(*full)[LAMBDA_S3_FULL_KEY_MAX] = malloc(batch * sizeof *full);
    const char **ptrs = malloc(batch * sizeof *ptrs);
    lambda_store_status rc = LAMBDA_STORE_OK;
    if (!full || !ptrs)
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    for (size_t from = 0; rc == LAMBDA_STORE_OK && from < n; from += batch) {
        size_t k = n - from < batch ? n - from : batch;
        for (size_t i = 0; rc == LAMBDA_STORE_OK && i < k; i++) {
            rc = s3_full_key(s, keys[from + i], full[i], err);
            ptrs[i] = full[i];
        }
        if (rc == LAMBDA_STORE_OK)
            rc = delete_batch(s, ptrs, k, err);
    }
    free(full);
    free(ptrs);
    return rc;
}

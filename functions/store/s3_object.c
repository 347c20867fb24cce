/*
 * S3 backend, single objects: GetObject (streamed, ranged, resumed by the
 * transport), HeadObject, CopyObject and DeleteObject.
 */
#include <string.h>

#include "s3_internal.h"

lambda_store_status s3_get(lambda_store *base, const char *key, uint64_t offset, uint64_t length,
                           lambda_store_sink_fn sink, void *ud, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fk[LAMBDA_S3_FULL_KEY_MAX];
    S3_TRY(s3_full_key(s, key, fk, err));
    s3_request rq = {.op = "GetObject",
                     .method = "GET",
                     .key = fk,
                     .sink = sink,
                     .sink_ud = ud,
                     .range_start = offset,
                     .range_len = length};
    s3_response rs;
    lambda_store_status rc = s3_perform(s, &rq, &rs, err);
    if (rc == LAMBDA_STORE_OK && length && rs.delivered != length)
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "S3 GetObject %s: short read", key);
    s3_response_free(&rs);
    return rc;
}

lambda_store_status s3_stat(lambda_store *base, const char *key, uint64_t *size, int *exists,
                            lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fk[LAMBDA_S3_FULL_KEY_MAX];
    S3_TRY(s3_full_key(s, key, fk, err));
    s3_request rq = {.op = "HeadObject", .method = "HEAD", .key = fk};
    s3_response rs;
    lambda_store_status rc = s3_perform(s, &rq, &rs, err);
    *exists = 0;
    *size = 0;
    if (rc == LAMBDA_STORE_OK) {
        *exists = 1;
        *size = rs.content_length;
    } else if (rc == LAMBDA_STORE_NOT_FOUND) {
        /* A missing key is an answer, not an error. (HEAD has no body, so a
         * missing bucket looks the same; the next call names it.) */
        err->type[0] = '\0';
        err->message[0] = '\0';
        rc = LAMBDA_STORE_OK;
    }
    s3_response_free(&rs);
    return rc;
}

lambda_store_status s3_copy(lambda_store *base, const char *src, const char *dst, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fs[LAMBDA_S3_FULL_KEY_MAX], fd[LAMBDA_S3_FULL_KEY_MAX];
    S3_TRY(s3_full_key(s, src, fs, err));
    S3_TRY(s3_full_key(s, dst, fd, err));
    lambda_store_buf source = {0};
    struct curl_slist *h = NULL;
    lambda_store_status rc = s3_add_copy_source(s, fs, &source) != 0
                                 ? lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory")
                                 : s3_header(&h, source.data, err);
    if (rc == LAMBDA_STORE_OK) {
        s3_request rq = {.op = "CopyObject", .method = "PUT", .key = fd, .headers = h};
        s3_response rs;
        rc = s3_perform(s, &rq, &rs, err);
        s3_response_free(&rs);
    }
    curl_slist_free_all(h);
    lambda_store_buf_free(&source);
    return rc;
}

lambda_store_status s3_delete(lambda_store *base, const char *key, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fk[LAMBDA_S3_FULL_KEY_MAX];
    S3_TRY(s3_full_key(s, key, fk, err));
    s3_request rq = {.op = "DeleteObject", .method = "DELETE", .key = fk};
    s3_response rs;
    lambda_store_status rc = s3_perform(s, &rq, &rs, err);
    /* A key already gone is what the caller wanted (a missing bucket is
     * NoSuchBucket, still an error). */
    if (rc == LAMBDA_STORE_NOT_FOUND && strcmp(rs.code, "NoSuchKey") == 0) {
        err->type[0] = '\0';
        err->message[0] = '\0';
        rc = LAMBDA_STORE_OK;
    }
    s3_response_free(&rs);
    return rc;
}

/*
 * The S3 backend's one internal header, shared by its files:
 *
 *   s3_store.c      configuration from the environment, endpoint, keys, the ops table
 *   s3_transport.c  one request with retries (s3_perform), answer classification
 *   s3_list.c       ListObjectsV2 pages (parsed in s3_xml.c)
 *   s3_object.c     GetObject, HeadObject, CopyObject, DeleteObject
 *   s3_writer.c     the streaming put: one PUT, or a multipart upload with UploadPartCopy
 *   s3_delete.c     DeleteObjects batches, re-sending keys that failed retryably
 *   s3_presign.c    presigned GET URLs (SigV4 query signing)
 *
 * curl 7.88 signs what it is given (CURLOPT_AWS_SIGV4), so the backend
 * supplies what it does not: the x-amz-content-sha256 header, query strings
 * already sorted and AWS-encoded, the session token header. Credentials live
 * only in curl's USERPWD and the presigner's key and are never formatted
 * into a message.
 */
#ifndef LAMBDA_S3_INTERNAL_H
#define LAMBDA_S3_INTERNAL_H

#include <curl/curl.h>
#include <stdint.h>

#include "store_internal.h"

#define S3_MIN_PART (5u * 1024 * 1024)     /* S3's smallest non-last part */
#define S3_MAX_PART (512ull * 1024 * 1024) /* our cap on LAMBDA_S3_PART_SIZE */
#define S3_DEFAULT_PART "8388608"          /* 8 MiB */
#define S3_MAX_COPY_PART (5ull * 1024 * 1024 * 1024)
#define S3_MAX_PARTS 10000
#define S3_MAX_COLLECT (16u * 1024 * 1024) /* XML replies we keep in memory */
#define S3_DELETE_BATCH 1000               /* S3's limit per DeleteObjects request */
#define S3_ENDPOINT_MAX 512                /* scheme://host[:port] */
#define S3_UPLOAD_ID_MAX 1024
#define S3_ETAG_MAX 256
#define S3_DEFAULT_MAX_ATTEMPTS 5
#define S3_DEFAULT_RETRY_BASE_MS 100
#define S3_BACKOFF_CAP_MS 5000
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct s3_store {
    lambda_store base;
    CURL *curl;
    char endpoint[S3_ENDPOINT_MAX]; /* scheme://host[:port], no trailing '/' */
    int path_style;
    char region[64];
    char sigv4[128];
    char userpwd[1024]; /* secret: never printed */
    char *token_header; /* "x-amz-security-token: …", secret */
    char access_key[256];
    char secret_key[512];
    int max_attempts;
    long retry_base_ms;
    size_t part_size;
    const char *ca_file;              /* CURL_CA_BUNDLE or SSL_CERT_FILE, else curl's default */
    const char *ca_path;              /* SSL_CERT_DIR, else curl's default */
    char curl_error[CURL_ERROR_SIZE]; /* libcurl's detail of the last failure */
} s3_store;

typedef struct s3_request {
    const char *op; /* for messages: "GET", "ListObjectsV2", … */
    const char *method;
    const char *key;   /* full key (store prefix included), NULL: bucket */
    const char *query; /* sorted and encoded, without '?', or NULL */
    const char *body;
    size_t body_len;
    int has_body;
    struct curl_slist *headers; /* extra headers (copy source …) */
    lambda_store_sink_fn sink;  /* streams a 2xx body instead of collecting it */
    void *sink_ud;
    uint64_t range_start; /* streamed GET: first byte */
    uint64_t range_len;   /* 0: to the end */
} s3_request;

typedef struct s3_response {
    long status;
    lambda_store_buf body; /* a collected (non-streamed) body, at most S3_MAX_COLLECT */
    char etag[S3_ETAG_MAX];
    char code[LAMBDA_S3_ERROR_CODE_MAX]; /* S3's <Error><Code> of a failure, or "" */
    uint64_t content_length;
    int have_content_length;
    uint64_t received;  /* this attempt's body bytes */
    uint64_t delivered; /* bytes passed to the sink over all attempts */
    int sink_failed;
    int collect_overflow;
    CURL *curl;
    s3_request *rq;
    lambda_store_status failure; /* why the last attempt failed: callers branch on it */
} s3_response;

/* Returns from the calling function with the status of a call that failed. */
#define S3_TRY(call)                             \
    do {                                         \
        lambda_store_status s3_try_st_ = (call); \
        if (s3_try_st_ != LAMBDA_STORE_OK)       \
            return s3_try_st_;                   \
    } while (0)

/* ---- s3_store.c ---- */

/* The bucket-relative key: the store prefix, '/', the key (`buf` holds
 * LAMBDA_S3_FULL_KEY_MAX bytes). */
lambda_store_status s3_full_key(const s3_store *s, const char *key,
                                char buf[LAMBDA_S3_FULL_KEY_MAX], lambda_error *err);

/* Appends the path of a request URL: "/bucket/key" (path-style) or "/key"
 * (key NULL: the bucket). 0, or -1 when out of memory. */
int s3_add_path(const s3_store *s, const char *key, lambda_store_buf *out);

/* Appends "name: /bucket/encoded-key" (x-amz-copy-source). */
int s3_add_copy_source(const s3_store *s, const char *full_key, lambda_store_buf *out);

/* Appends a header line to `list`: 0, or -1 with StoreUnavailable when
 * curl cannot allocate it (the list is kept for the caller to free). */
lambda_store_status s3_header(struct curl_slist **list, const char *line, lambda_error *err);

/* ---- s3_transport.c ---- */

/* Sends one request, retrying with backoff what is safe to retry. `rs` is
 * always initialised: the caller frees it with s3_response_free() and may
 * read rs->failure and rs->code after a failure. */
lambda_store_status s3_perform(s3_store *s, s3_request *rq, s3_response *rs, lambda_error *err);
void s3_response_free(s3_response *rs);

/* The store's retry delays (the runtime's lambda_backoff): retry k waits
 * between LAMBDA_STORE_RETRY_BASE_MS * 2^k and twice that, at most 5 s,
 * for at most LAMBDA_STORE_MAX_ATTEMPTS - 1 retries. */
void s3_backoff_init(const s3_store *s, lambda_backoff *b);

/* ---- the operations (one file each, see above) ---- */

lambda_store_status s3_list(lambda_store *base, const char *prefix, const char *start_after,
                            lambda_store_list_fn fn, void *ud, lambda_error *err);
lambda_store_status s3_get(lambda_store *base, const char *key, uint64_t offset, uint64_t length,
                           lambda_store_sink_fn sink, void *ud, lambda_error *err);
lambda_store_status s3_stat(lambda_store *base, const char *key, uint64_t *size, int *exists,
                            lambda_error *err);
lambda_store_status s3_copy(lambda_store *base, const char *src, const char *dst,
                            lambda_error *err);
lambda_store_status s3_delete(lambda_store *base, const char *key, lambda_error *err);
lambda_store_status s3_put_begin(lambda_store *base, const char *key, lambda_store_writer **out,
                                 lambda_error *err);
lambda_store_status s3_put_write(lambda_store_writer *base, const void *data, size_t len,
                                 lambda_error *err);
lambda_store_status s3_put_append(lambda_store_writer *base, const char *src_key, uint64_t size,
                                  lambda_error *err);
lambda_store_status s3_put_commit(lambda_store_writer *base, lambda_error *err);
void s3_put_abort(lambda_store_writer *base);
lambda_store_status s3_delete_many(lambda_store *base, const char *const *keys, size_t n,
                                   lambda_error *err);
char *s3_presign(lambda_store *base, const char *key, long expires_s, lambda_error *err);

#endif /* LAMBDA_S3_INTERNAL_H */

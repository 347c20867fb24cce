/*
 * The report functions' object store: one small interface, two backends.
 *
 *   file:///abs/dir       a directory tree (the local, embedded default)
 *   s3://bucket[/prefix]  Amazon S3 or an S3-compatible server, through
 *                         libcurl's built-in SigV4 signing
 *
 * Keys are relative to the store's root ("prospects/customer=a/…"), use '/'
 * as separator and may not contain empty, "." or ".." segments, so no key can
 * escape the root of a file store.
 *
 * Errors are values inside the store: every failure has a lambda_store_status
 * (below), and the errorType string a handler answers with is made from it
 * in one place (lambda_store_status_name()). Every call that can fail returns
 * its status: LAMBDA_STORE_OK (0) on success, else the failure's, after
 * filling `err` -- its type is the status's name, its message says what
 * failed and why. Callers branch on the status, never on the strings:
 *   StoreUnavailable   LAMBDA_STORE_UNAVAILABLE: retryable: 5xx, resets,
 *                      truncated bodies, I/O errors that outlasted the
 *                      in-process retries, out of memory
 *   StoreThrottled     LAMBDA_STORE_THROTTLED: retryable: SlowDown / 429 /
 *                      503 that outlasted the retries
 *   StoreTlsError      LAMBDA_STORE_TLS: the server's certificate is not
 *                      trusted or the CA bundle is unreadable; not retried
 *                      (names the CA file and directory in use)
 *   StoreAccessDenied  LAMBDA_STORE_ACCESS_DENIED: credentials or permissions
 *   StoreNotFound      LAMBDA_STORE_NOT_FOUND: missing bucket, key or directory
 *   InvalidInput       LAMBDA_STORE_INVALID: a malformed store URL or key
 *   StoreError         LAMBDA_STORE_REFUSED: any other refusal (not retryable)
 * `err` must not be NULL (the message is the only place a failure's detail
 * goes). Credentials and signatures never appear in messages or logs.
 *
 * A store handle is not thread-safe: use one per thread.
 */
#ifndef LAMBDA_STORE_H
#define LAMBDA_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <lambda/runtime.h> /* lambda_error */

#ifdef __cplusplus
extern "C" {
#endif

/* The store's API: the library is built with hidden visibility and only
 * these functions stay global in liblambda_store.a (nm shows them alone). */
#if defined(__GNUC__) || defined(__clang__)
#define LAMBDA_STORE_API __attribute__((visibility("default")))
#else
#define LAMBDA_STORE_API
#endif

/* Room for a store URL (file:// + a 4096-byte path, or s3:// + bucket +
 * prefix) with its NUL. */
#define LAMBDA_STORE_URL_MAX 4200

/* Longest store key or prefix, in bytes (S3 allows 1024 for the whole key,
 * store prefix included). */
#define LAMBDA_STORE_KEY_MAX 1000

/* Room for the parts of a store URL, each with its NUL (see
 * lambda_store_location): a file store's directory, an S3 bucket name (S3:
 * 3..63 characters) and an S3 key prefix. */
#define LAMBDA_STORE_PATH_MAX 4096
#define LAMBDA_STORE_BUCKET_MAX 64
#define LAMBDA_STORE_PREFIX_MAX 1024

/* Why a store call failed. */
typedef enum lambda_store_status {
    LAMBDA_STORE_OK = 0,
    LAMBDA_STORE_UNAVAILABLE,
    LAMBDA_STORE_THROTTLED,
    LAMBDA_STORE_TLS,
    LAMBDA_STORE_ACCESS_DENIED,
    LAMBDA_STORE_NOT_FOUND,
    LAMBDA_STORE_INVALID,
    LAMBDA_STORE_REFUSED,
    /* The caller's sink (lambda_store_get) stopped the read and left its own
     * error in `err`: its type is the sink's, not this status's name. */
    LAMBDA_STORE_ABORTED
} lambda_store_status;

/* The errorType a status is answered with ("StoreNotFound", ...; "" for OK). */
LAMBDA_STORE_API const char *lambda_store_status_name(lambda_store_status status);

typedef struct lambda_store lambda_store;
typedef struct lambda_store_writer lambda_store_writer;

/* Opens a store from its URL. S3 settings come from the environment:
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION
 * (default us-east-1), AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (then
 * path-style addressing), LAMBDA_STORE_MAX_ATTEMPTS (default 5) and
 * LAMBDA_S3_PART_SIZE (multipart chunk, default 8 MiB, at least 5 MiB). */
LAMBDA_STORE_API lambda_store_status lambda_store_open(const char *url, lambda_store **out,
                                                       lambda_error *err);
LAMBDA_STORE_API void lambda_store_close(lambda_store *store);

/* The store's URL as opened, without a trailing '/'. */
LAMBDA_STORE_API const char *lambda_store_url(const lambda_store *store);

/* 1 for an s3:// store, 0 for a file:// store. */
LAMBDA_STORE_API int lambda_store_is_s3(const lambda_store *store);

/* Validates a key (see above): LAMBDA_STORE_OK, or LAMBDA_STORE_INVALID. */
LAMBDA_STORE_API lambda_store_status lambda_store_check_key(const char *key, lambda_error *err);

/* Called once per object, in ascending byte order of keys. Returning
 * non-zero stops the listing early (not an error). */
typedef int (*lambda_store_list_fn)(const char *key, uint64_t size, void *userdata);

/* Lists the objects whose keys start with `prefix` (a plain string prefix,
 * not necessarily a directory) and sort after `start_after` (NULL: all).
 * S3 listings are paginated transparently; memory stays bounded. */
LAMBDA_STORE_API lambda_store_status lambda_store_list(lambda_store *store, const char *prefix,
                                                       const char *start_after,
                                                       lambda_store_list_fn fn, void *userdata,
                                                       lambda_error *err);

/* Receives an object's bytes in order, in chunks of bounded size. Returning
 * non-zero aborts the read: lambda_store_get() then returns
 * LAMBDA_STORE_ABORTED with `err` as the sink left it, or, if the sink left
 * it empty, LAMBDA_STORE_UNAVAILABLE ("reading KEY was aborted"). */
typedef int (*lambda_store_sink_fn)(const char *data, size_t len, void *userdata);

/* Streams bytes [offset, offset+length) of an object (length 0: to the end)
 * into `sink`. An S3 body cut short is resumed with a Range request, so the
 * sink sees every byte exactly once. */
LAMBDA_STORE_API lambda_store_status lambda_store_get(lambda_store *store, const char *key,
                                                      uint64_t offset, uint64_t length,
                                                      lambda_store_sink_fn sink, void *userdata,
                                                      lambda_error *err);

/* Reads bytes [offset, offset+length) of an object into `buf`, which has
 * room for `cap` bytes (length <= cap, else InvalidInput), and says in *got
 * how many arrived (also on failure: the bytes stored before it). The same
 * bytes, errors, retries and resumptions as lambda_store_get() with the same
 * offset and length, without a sink: the file store reads straight into
 * `buf` (pread), sparing a copy of every byte through its own buffer; S3
 * copies from libcurl's buffer, as a sink would.
 *   length > 0: exactly that range; an object that ends before it fails as
 *               lambda_store_get does (StoreUnavailable, "shorter than
 *               expected" or "short read").
 *   length 0:   to the object's end, at most `cap` bytes: *got < cap is the
 *               whole rest; *got == cap means the object may go on (ask for
 *               one byte more than you expect to tell a grown object). An
 *               offset at the object's end gives 0 bytes on the file store;
 *               S3 answers such a Range with 416 (StoreError InvalidRange).
 */
LAMBDA_STORE_API lambda_store_status lambda_store_read_into(lambda_store *store, const char *key,
                                                            uint64_t offset, uint64_t length,
                                                            void *buf, size_t cap, size_t *got,
                                                            lambda_error *err);

/* Size of an object; *exists is 0 (and the call succeeds) when it is missing. */
LAMBDA_STORE_API lambda_store_status lambda_store_stat(lambda_store *store, const char *key,
                                                       uint64_t *size, int *exists,
                                                       lambda_error *err);

/* Streaming put. Nothing is visible under `key` until commit: the file store
 * writes a hidden temporary file and renames it; S3 sends one PUT for small
 * objects and a multipart upload in bounded chunks for large ones. */
LAMBDA_STORE_API lambda_store_status lambda_store_put_begin(lambda_store *store, const char *key,
                                                            lambda_store_writer **out,
                                                            lambda_error *err);
LAMBDA_STORE_API lambda_store_status lambda_store_put_write(lambda_store_writer *w,
                                                            const void *data, size_t len,
                                                            lambda_error *err);
/* Writes `len` bytes at `offset` of the object being put, where the writer
 * can (lambda_store_put_can_write_at: the file store, pwrite; not S3, whose
 * upload streams in order): else InvalidInput. Several threads may write
 * disjoint ranges of one writer at once, in any order; the object ends at
 * the furthest byte written, and every byte before that must be written
 * before commit (a gap would read as zeros). Counts in
 * lambda_store_put_bytes. Not for a writer also written with
 * lambda_store_put_write or _append. */
LAMBDA_STORE_API lambda_store_status lambda_store_put_write_at(lambda_store_writer *w,
                                                               uint64_t offset, const void *data,
                                                               size_t len, lambda_error *err);
LAMBDA_STORE_API int lambda_store_put_can_write_at(const lambda_store_writer *w);
/* Appends a whole existing object of `size` bytes. On S3, ranges of at least
 * 5 MiB are copied server-side (UploadPartCopy); the rest goes through the
 * writer's bounded buffer. */
LAMBDA_STORE_API lambda_store_status lambda_store_put_append(lambda_store_writer *w,
                                                             const char *src_key, uint64_t size,
                                                             lambda_error *err);
LAMBDA_STORE_API uint64_t lambda_store_put_bytes(const lambda_store_writer *w);
/* Publishes the object and frees the writer, whatever the outcome. */
LAMBDA_STORE_API lambda_store_status lambda_store_put_commit(lambda_store_writer *w,
                                                             lambda_error *err);
/* Discards everything written and frees the writer. */
LAMBDA_STORE_API void lambda_store_put_abort(lambda_store_writer *w);

/* One-shot put of a small buffer (same atomicity as the streaming put). */
LAMBDA_STORE_API lambda_store_status lambda_store_put_buffer(lambda_store *store, const char *key,
                                                             const void *data, size_t len,
                                                             lambda_error *err);

/* Server-side copy (S3 CopyObject; the file store copies into a temporary
 * file and renames it). */
LAMBDA_STORE_API lambda_store_status lambda_store_copy(lambda_store *store, const char *src_key,
                                                       const char *dst_key, lambda_error *err);

/* Deletes an object; a missing object is not an error. */
LAMBDA_STORE_API lambda_store_status lambda_store_delete(lambda_store *store, const char *key,
                                                         lambda_error *err);

/* Deletes keys[0..n); missing objects are not errors. Every key is checked
 * before anything is deleted. S3 sends DeleteObjects requests of at most
 * 1000 keys (one request instead of one per key), re-sending keys that
 * failed with a retryable code; the file store unlinks each. On failure
 * some keys may already be gone (a re-run is safe) and `err` names a key
 * that could not be deleted and S3's code for it (AccessDenied ->
 * StoreAccessDenied, SlowDown -> StoreThrottled, InternalError ->
 * StoreUnavailable, others StoreError). */
LAMBDA_STORE_API lambda_store_status lambda_store_delete_many(lambda_store *store,
                                                              const char *const *keys, size_t n,
                                                              lambda_error *err);

/* A presigned GET URL valid for `expires_s` seconds (1..604800), as a
 * malloc'd string. Only S3 stores have one: a file store returns NULL
 * without an error (err->type stays empty). */
LAMBDA_STORE_API char *lambda_store_presign_get(lambda_store *store, const char *key,
                                                long expires_s, lambda_error *err);

/* Parsed form of a store URL (exposed for tests and for the S3 backend). */
typedef struct lambda_store_location {
    int is_s3;
    char path[LAMBDA_STORE_PATH_MAX];     /* file: absolute directory, no trailing '/' */
    char bucket[LAMBDA_STORE_BUCKET_MAX]; /* s3 */
    char prefix[LAMBDA_STORE_PREFIX_MAX]; /* s3: key prefix without leading/trailing '/', or "" */
} lambda_store_location;

LAMBDA_STORE_API lambda_store_status lambda_store_parse_url(const char *url,
                                                            lambda_store_location *loc,
                                                            lambda_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LAMBDA_STORE_H */

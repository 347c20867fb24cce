/*
 * Internals shared by the store front end (store.c), its backends
 * (store_file.c, the s3_*.c files behind s3_internal.h), the S3 XML parsers
 * (s3_xml.c), the growable buffer (buf.c) and the crypto shim (crypto.c).
 * Not part of the store's public interface; unit tests include it to reach
 * the parsers.
 */
#ifndef LAMBDA_STORE_INTERNAL_H
#define LAMBDA_STORE_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "store.h"

/* A bucket-relative S3 key: the store prefix, '/', a store key, NUL. */
#define LAMBDA_S3_FULL_KEY_MAX (LAMBDA_STORE_PREFIX_MAX + 1 + LAMBDA_STORE_KEY_MAX + 1)
/* Text of one element of an S3 XML reply (continuation tokens are the
 * longest S3 sends), and the Code and Message of an <Error>. */
#define LAMBDA_S3_XML_TEXT_MAX 2048
#define LAMBDA_S3_ERROR_CODE_MAX 128
#define LAMBDA_S3_ERROR_MESSAGE_MAX 512

/* ---- the store's one growable byte buffer (after curl's dynbuf) ---- */

/* Always NUL-terminated once something was added, so it can be handed to
 * parsers and printf as a C string. `max` caps what it may hold (0: no
 * cap): an add that would reach it fails and leaves the buffer unchanged,
 * as does one that runs out of memory. */
typedef struct lambda_store_buf {
    char *data; /* NULL until the first add or reserve */
    size_t len;
    size_t cap;
    size_t max;
} lambda_store_buf;

/* Appends n bytes: 0, or -1 (out of memory or over `max`). */
int lambda_store_buf_add(lambda_store_buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string. */
int lambda_store_buf_adds(lambda_store_buf *b, const char *s);
/* Appends printf-style: 0, or -1 as lambda_store_buf_add. */
int lambda_store_buf_addf(lambda_store_buf *b, const char *fmt, ...) LAMBDA_PRINTF(2, 3);
/* Makes room for n more bytes (and the NUL) without adding any: 0 or -1. */
int lambda_store_buf_reserve(lambda_store_buf *b, size_t n);
/* Empties the buffer and keeps its memory. */
void lambda_store_buf_reset(lambda_store_buf *b);
void lambda_store_buf_free(lambda_store_buf *b);

/* Fills `err` with the status's errorType and the message (printf-style,
 * through lambda_error_set) and returns `status`. */
lambda_store_status lambda_store_fail(lambda_error *err, lambda_store_status status,
                                      const char *fmt, ...) LAMBDA_PRINTF(3, 4);

/* What a read returns when its sink stopped it: LAMBDA_STORE_ABORTED when
 * the sink left its own error in `err`, else StoreUnavailable ("reading KEY
 * was aborted"). */
lambda_store_status lambda_store_sink_aborted(lambda_error *err, const char *key);

/* One backend: the front end validates keys and then dispatches here. */
typedef struct lambda_store_ops {
    lambda_store_status (*list)(lambda_store *s, const char *prefix, const char *start_after,
                                lambda_store_list_fn fn, void *ud, lambda_error *err);
    lambda_store_status (*get)(lambda_store *s, const char *key, uint64_t offset, uint64_t length,
                               lambda_store_sink_fn sink, void *ud, lambda_error *err);
    /* NULL: the front end reads through get with a sink that copies (S3,
     * whose bytes arrive in libcurl's buffer anyway). */
    lambda_store_status (*read_into)(lambda_store *s, const char *key, uint64_t offset,
                                     uint64_t length, char *buf, size_t cap, size_t *got,
                                     lambda_error *err);
    lambda_store_status (*stat)(lambda_store *s, const char *key, uint64_t *size, int *exists,
                                lambda_error *err);
    lambda_store_status (*put_begin)(lambda_store *s, const char *key, lambda_store_writer **out,
                                     lambda_error *err);
    lambda_store_status (*put_write)(lambda_store_writer *w, const void *data, size_t len,
                                     lambda_error *err);
    /* NULL: the backend writes in order only (S3). */
    lambda_store_status (*put_write_at)(lambda_store_writer *w, uint64_t offset, const void *data,
                                        size_t len, lambda_error *err);
    lambda_store_status (*put_append)(lambda_store_writer *w, const char *src_key, uint64_t size,
                                      lambda_error *err);
    lambda_store_status (*put_commit)(lambda_store_writer *w, lambda_error *err);
    void (*put_abort)(lambda_store_writer *w);
    lambda_store_status (*copy)(lambda_store *s, const char *src, const char *dst,
                                lambda_error *err);
    lambda_store_status (*del)(lambda_store *s, const char *key, lambda_error *err);
    /* NULL: the front end calls del once per key. */
    lambda_store_status (*del_many)(lambda_store *s, const char *const *keys, size_t n,
                                    lambda_error *err);
    char *(*presign)(lambda_store *s, const char *key, long expires_s, lambda_error *err);
    void (*close)(lambda_store *s);
} lambda_store_ops;

/* Every backend's store and writer start with these. */
struct lambda_store {
    const lambda_store_ops *ops;
    char url[LAMBDA_STORE_URL_MAX];
    lambda_store_location loc;
};

struct lambda_store_writer {
    lambda_store *store;
    uint64_t bytes;
};

lambda_store_status lambda_store_file_open(const lambda_store_location *loc, lambda_store **out,
                                           lambda_error *err);
lambda_store_status lambda_store_s3_open(const lambda_store_location *loc, lambda_store **out,
                                         lambda_error *err);

/* ---- crypto shim (OpenSSL libcrypto, or mbedTLS with LAMBDA_USE_MBEDTLS) ---- */
void lambda_store_sha256(const void *data, size_t len, unsigned char out[32]);
void lambda_store_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                              unsigned char out[32]);
/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void lambda_store_hex(const unsigned char *in, size_t len, char *out);
/* Standard base64 (with padding) of `len` bytes into `out`
 * (4*((len+2)/3)+1 bytes), NUL-terminated. */
void lambda_store_base64(const unsigned char *in, size_t len, char *out);

/* ---- S3 XML responses, parsed with expat ---- */

/* One page of ListObjectsV2. `fn` sees each <Contents> entry's Key (as S3
 * sent it, i.e. with the store prefix) and Size, in document order; it may
 * return non-zero to stop. */
typedef struct lambda_s3_list_page {
    int truncated;                           /* <IsTruncated>true</IsTruncated> */
    char next_token[LAMBDA_S3_XML_TEXT_MAX]; /* <NextContinuationToken> */
    char last_key[LAMBDA_S3_FULL_KEY_MAX];   /* the last Key seen (fallback for StartAfter) */
    size_t count;
    int stopped; /* fn returned non-zero */
} lambda_s3_list_page;

lambda_store_status lambda_s3_parse_list(const char *xml, size_t len, lambda_s3_list_page *page,
                                         lambda_store_list_fn fn, void *ud, lambda_error *err);

/* <Error><Code>…</Code><Message>…</Message></Error>: returns 1 and fills
 * code/message when the document is an S3 error, 0 otherwise. */
int lambda_s3_parse_error(const char *xml, size_t len, char *code, size_t code_len, char *message,
                          size_t message_len);

/* Text of the first element named `name` anywhere in the document (e.g.
 * UploadId, ETag): 0 when found, -1 otherwise. */
int lambda_s3_parse_text(const char *xml, size_t len, const char *name, char *out, size_t out_len);

/* DeleteObjects request body for keys[0..n) (full keys, store prefix
 * included): <Delete><Quiet>true</Quiet><Object><Key>…</Key></Object>…
 * </Delete>, keys XML-escaped, appended to `out`: 0, or -1 when out of
 * memory. */
int lambda_s3_delete_body(const char *const *keys, size_t n, lambda_store_buf *out);

/* Called for each <Error> entry of a DeleteObjects reply (a key S3 could
 * not delete), with its Key, Code and Message. */
typedef void (*lambda_s3_delete_error_fn)(const char *key, const char *code, const char *message,
                                          void *userdata);

/* Parses a DeleteObjects reply (<DeleteResult>): returns the number of
 * <Error> entries (each passed to fn), or -1 with StoreUnavailable when
 * the document is not a DeleteResult. */
int lambda_s3_parse_delete_result(const char *xml, size_t len, lambda_s3_delete_error_fn fn,
                                  void *ud, lambda_error *err);

/* AWS SigV4 UriEncode of `s` appended to `out`: unreserved characters
 * kept, everything else %XX; '/' kept only when keep_slash. 0, or -1 when
 * out of memory. */
int lambda_s3_uri_encode(lambda_store_buf *out, const char *s, int keep_slash);

#endif /* LAMBDA_STORE_INTERNAL_H */

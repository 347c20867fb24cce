/*
 * SigV4 header signing for the clients' request core (aws_json.c): the
 * canonical request, string to sign, signing key and Authorization header of
 * AWS's "Signature Version 4" for every service but S3.
 *
 * Why not libcurl's CURLOPT_AWS_SIGV4: libcurl 7.88 (Debian 12's and the
 * pinned static one) signs the path as it is sent, while every service but
 * S3 wants each path segment URI-encoded once more ("double encoding"). The
 * durable-execution paths carry the execution ARN escaped (%3A, %2F), which
 * that difference turns into InvalidSignatureException on AWS.
 *
 * SHA-256 and HMAC-SHA256 come from the TLS library the build links
 * (sigv4_crypto.c); nothing here is hand-written crypto. Internal to the
 * clients and lambda::durable; not part of any public header.
 */
#ifndef LAMBDA_CLIENTS_SIGV4_H
#define LAMBDA_CLIENTS_SIGV4_H

#include <stddef.h>

/* One header as sent; every header given to the signer is signed. */
typedef struct lambda__sigv4_header {
    const char *name;
    const char *value;
} lambda__sigv4_header;

/* The request as it goes on the wire. */
typedef struct lambda__sigv4_request {
    const char *method;                  /* "GET", "POST" */
    const char *target;                  /* the request target as sent: the path and any "?query" */
    const lambda__sigv4_header *headers; /* Host and X-Amz-Date among them */
    size_t header_count;
    const void *payload; /* NULL with payload_len 0: no body */
    size_t payload_len;
} lambda__sigv4_request;

/* Who signs, for which scope. */
typedef struct lambda__sigv4_scope {
    const char *access_key_id;
    const char *secret_access_key;
    const char *region;
    const char *service;  /* the signing name ("lambda", "states", "sns") */
    const char *amz_date; /* YYYYMMDDTHHMMSSZ, the X-Amz-Date header's value */
} lambda__sigv4_scope;

/* The canonical request (malloc'd), or NULL when out of memory:
 * method, canonical URI (the sent path with its dot segments and repeated
 * slashes removed, each segment URI-encoded again), canonical query string
 * (each name and value decoded and encoded again, sorted by name, then
 * value), canonical headers (names lower-cased, values trimmed with inner
 * runs of spaces made one, values of repeated names joined with ',', sorted
 * by name), signed headers and the payload's hex SHA-256. */
char *lambda__sigv4_canonical_request(const lambda__sigv4_request *rq);

/* The Authorization header's value ("AWS4-HMAC-SHA256 Credential=…,
 * SignedHeaders=…, Signature=…") into out[cap]: 0, or -1 when out of
 * memory, when amz_date is not YYYYMMDDTHHMMSSZ or when cap is too small. */
int lambda__sigv4_authorization(const lambda__sigv4_request *rq, const lambda__sigv4_scope *scope,
                                char *out, size_t cap);

/* The two primitives, from the TLS library (sigv4_crypto.c). */
void lambda__sigv4_sha256(const void *data, size_t len, unsigned char out[32]);
void lambda__sigv4_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                               unsigned char out[32]);

#endif /* LAMBDA_CLIENTS_SIGV4_H */

/*
 * S3 backend, configuration: the store's settings from the environment
 * (credentials, region, endpoint, retries, part size, CA bundle), the
 * bucket-relative keys and request paths, and the operations table.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "s3_internal.h"

static const lambda_store_ops s3_ops;

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* AWS_ENDPOINT_URL(_S3) (then path-style), else the regional endpoint:
 * virtual-hosted, or path-style for dotted bucket names. */
static lambda_store_status set_endpoint(s3_store *s, const lambda_store_location *loc,
                                        lambda_error *err)
{
    const char *endpoint = env_or("AWS_ENDPOINT_URL_S3", env_or("AWS_ENDPOINT_URL", NULL));
    if (endpoint) {
        size_t n = strlen(endpoint);
        while (n > 0 && endpoint[n - 1] == '/')
            n--;
        if (n >= sizeof s->endpoint ||
            (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0))
            return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                                     "AWS_ENDPOINT_URL(_S3) must be an http(s) URL");
        memcpy(s->endpoint, endpoint, n);
        s->path_style = 1;
    } else if (strchr(loc->bucket, '.')) {
        /* Dotted names break the TLS wildcard of virtual-hosted URLs. */
        snprintf(s->endpoint, sizeof s->endpoint, "https://s3.%s.amazonaws.com", s->region);
        s->path_style = 1;
    } else {
        snprintf(s->endpoint, sizeof s->endpoint, "https://%s.s3.%s.amazonaws.com", loc->bucket,
                 s->region);
    }
    return LAMBDA_STORE_OK;
}

static lambda_store_status set_credentials(s3_store *s, const char *ak, const char *sk,
                                           lambda_error *err)
{
    snprintf(s->sigv4, sizeof s->sigv4, "aws:amz:%s:s3", s->region);
    snprintf(s->userpwd, sizeof s->userpwd, "%s:%s", ak, sk);
    snprintf(s->access_key, sizeof s->access_key, "%s", ak);
    snprintf(s->secret_key, sizeof s->secret_key, "%s", sk);
    const char *token = getenv("AWS_SESSION_TOKEN");
    if (token && *token) {
        size_t n = strlen(token) + 32;
        s->token_header = malloc(n);
        if (!s->token_header)
            return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE,
                                     "out of memory for the session token");
        snprintf(s->token_header, n, "x-amz-security-token: %s", token);
    }
    return LAMBDA_STORE_OK;
}

/* Retries and part size, each kept within its sane range. */
static void set_limits(s3_store *s)
{
    s->max_attempts = atoi(env_or("LAMBDA_STORE_MAX_ATTEMPTS", "5"));
    if (s->max_attempts < 1 || s->max_attempts > 20)
        s->max_attempts = S3_DEFAULT_MAX_ATTEMPTS;
    s->retry_base_ms = atol(env_or("LAMBDA_STORE_RETRY_BASE_MS", "100"));
    if (s->retry_base_ms < 1 || s->retry_base_ms > 10000)
        s->retry_base_ms = S3_DEFAULT_RETRY_BASE_MS;
    unsigned long long part = strtoull(env_or("LAMBDA_S3_PART_SIZE", S3_DEFAULT_PART), NULL, 10);
    if (part < S3_MIN_PART)
        part = S3_MIN_PART;
    if (part > S3_MAX_PART)
        part = S3_MAX_PART;
    s->part_size = (size_t)part;
}

void s3_backoff_init(const s3_store *s, lambda_backoff *b)
{
    /* Equal jitter on a doubled base: the first retry waits base..2*base. */
    lambda_backoff_init(b, (unsigned)(s->max_attempts - 1), 2 * s->retry_base_ms, S3_BACKOFF_CAP_MS,
                        LAMBDA_BACKOFF_EQUAL_JITTER);
}

static void s3_close(lambda_store *base)
{
    s3_store *s = (s3_store *)base;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    if (s->token_header)
        memset(s->token_header, 0, strlen(s->token_header));
    free(s->token_header);
    memset(s->userpwd, 0, sizeof s->userpwd);
    memset(s->secret_key, 0, sizeof s->secret_key);
    free(s);
}

lambda_store_status lambda_store_s3_open(const lambda_store_location *loc, lambda_store **out,
                                         lambda_error *err)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID");
    const char *sk = getenv("AWS_SECRET_ACCESS_KEY");
    if (!ak || !*ak || !sk || !*sk)
        return lambda_store_fail(err, LAMBDA_STORE_ACCESS_DENIED,
                                 "no AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) "
                                 "in the environment");
    s3_store *s = calloc(1, sizeof *s);
    if (!s)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    s->base.ops = &s3_ops;
    s->base.loc = *loc;
    snprintf(s->region, sizeof s->region, "%s",
             env_or("AWS_REGION", env_or("AWS_DEFAULT_REGION", "us-east-1")));
    lambda_store_status st = set_endpoint(s, loc, err);
    if (st == LAMBDA_STORE_OK)
        st = set_credentials(s, ak, sk, err);
    if (st != LAMBDA_STORE_OK) {
        s3_close(&s->base);
        return st;
    }
    set_limits(s);
    /* libcurl ignores these variables (only the curl tool reads them), yet
     * users expect them to work: the static build's compiled-in bundle is
     * Amazon Linux's /etc/pki/tls/certs/ca-bundle.crt, wrong elsewhere. */
    s->ca_file = env_or("CURL_CA_BUNDLE", env_or("SSL_CERT_FILE", NULL));
    s->ca_path = env_or("SSL_CERT_DIR", NULL);
    s->curl = curl_easy_init();
    if (!s->curl) {
        s3_close(&s->base);
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "cannot initialise libcurl");
    }
    *out = &s->base;
    return LAMBDA_STORE_OK;
}

lambda_store_status s3_full_key(const s3_store *s, const char *key,
                                char buf[LAMBDA_S3_FULL_KEY_MAX], lambda_error *err)
{
    int r = s->base.loc.prefix[0]
                ? snprintf(buf, LAMBDA_S3_FULL_KEY_MAX, "%s/%s", s->base.loc.prefix, key)
                : snprintf(buf, LAMBDA_S3_FULL_KEY_MAX, "%s", key);
    if (r < 0 || r >= LAMBDA_S3_FULL_KEY_MAX)
        return lambda_store_fail(err, LAMBDA_STORE_INVALID, "store key too long");
    return LAMBDA_STORE_OK;
}

int s3_add_path(const s3_store *s, const char *key, lambda_store_buf *out)
{
    if (s->path_style && lambda_store_buf_addf(out, "/%s", s->base.loc.bucket) != 0)
        return -1;
    if (s->path_style && !key)
        return 0;
    if (lambda_store_buf_adds(out, "/") != 0)
        return -1;
    return key ? lambda_s3_uri_encode(out, key, 1) : 0;
}

int s3_add_copy_source(const s3_store *s, const char *full_key, lambda_store_buf *out)
{
    if (lambda_store_buf_addf(out, "x-amz-copy-source: /%s/", s->base.loc.bucket) != 0)
        return -1;
    return lambda_s3_uri_encode(out, full_key, 1);
}

lambda_store_status s3_header(struct curl_slist **list, const char *line, lambda_error *err)
{
    struct curl_slist *grown = curl_slist_append(*list, line);
    if (!grown)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE,
                                 "out of memory for an S3 request header");
    *list = grown;
    return LAMBDA_STORE_OK;
}

static const lambda_store_ops s3_ops = {
    .list = s3_list,
    .get = s3_get,
    .stat = s3_stat,
    .put_begin = s3_put_begin,
    .put_write = s3_put_write,
    .put_append = s3_put_append,
    .put_commit = s3_put_commit,
    .put_abort = s3_put_abort,
    .copy = s3_copy,
    .del = s3_delete,
    .del_many = s3_delete_many,
    .presign = s3_presign,
    .close = s3_close,
};

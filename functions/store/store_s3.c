/*
 * S3 backend: libcurl with its built-in SigV4 signing (CURLOPT_AWS_SIGV4).
 *
 * curl 7.88 signs what it is given, so this file supplies what it does not:
 * the x-amz-content-sha256 header (the payload's SHA-256, from the crypto
 * shim), query strings already sorted and AWS-encoded, and the session
 * token header. Presigned GET URLs are the one thing curl cannot produce;
 * they are signed here with HMAC-SHA256 from the linked TLS library.
 *
 * Every request runs through s3_perform(): exponential backoff with full
 * jitter on 5xx, SlowDown/429, connection failures and bodies shorter than
 * their Content-Length; a streamed GET resumes with a Range request so its
 * sink sees each byte once. Credentials live only in curl's USERPWD and are
 * never formatted into a message.
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "store_internal.h"

#define S3_MIN_PART (5u * 1024 * 1024) /* S3's smallest non-last part */
#define S3_MAX_COPY_PART (5ull * 1024 * 1024 * 1024)
#define S3_MAX_PARTS 10000
#define S3_MAX_COLLECT (16u * 1024 * 1024) /* XML replies we keep in memory */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct s3_store {
    lambda_store base;
    CURL *curl;
    char endpoint[512]; /* scheme://host[:port], no trailing '/' */
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
    unsigned int seed;
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
    char *body;
    size_t body_len, body_cap;
    char etag[256];
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

/* Fails the exchange `rs` with `status` (kept in rs->failure) and err. */
#define RS_FAIL(rs, err, status, ...) \
    ((rs)->failure = (status), lambda_store_fail((err), (status), __VA_ARGS__))

static const lambda_store_ops s3_ops;

/* ---- setup ---- */

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

int lambda_store_s3_open(const lambda_store_location *loc, lambda_store **out, lambda_error *err)
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
    const char *endpoint = env_or("AWS_ENDPOINT_URL_S3", env_or("AWS_ENDPOINT_URL", NULL));
    if (endpoint) {
        size_t n = strlen(endpoint);
        while (n > 0 && endpoint[n - 1] == '/')
            n--;
        if (n >= sizeof s->endpoint ||
            (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)) {
            free(s);
            return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                                     "AWS_ENDPOINT_URL(_S3) must be an http(s) URL");
        }
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
    snprintf(s->sigv4, sizeof s->sigv4, "aws:amz:%s:s3", s->region);
    snprintf(s->userpwd, sizeof s->userpwd, "%s:%s", ak, sk);
    snprintf(s->access_key, sizeof s->access_key, "%s", ak);
    snprintf(s->secret_key, sizeof s->secret_key, "%s", sk);
    const char *token = getenv("AWS_SESSION_TOKEN");
    if (token && *token) {
        size_t n = strlen(token) + 32;
        s->token_header = malloc(n);
        if (s->token_header)
            snprintf(s->token_header, n, "x-amz-security-token: %s", token);
    }
    s->max_attempts = atoi(env_or("LAMBDA_STORE_MAX_ATTEMPTS", "5"));
    if (s->max_attempts < 1 || s->max_attempts > 20)
        s->max_attempts = 5;
    s->retry_base_ms = atol(env_or("LAMBDA_STORE_RETRY_BASE_MS", "100"));
    if (s->retry_base_ms < 1 || s->retry_base_ms > 10000)
        s->retry_base_ms = 100;
    unsigned long long part = strtoull(env_or("LAMBDA_S3_PART_SIZE", "8388608"), NULL, 10);
    if (part < S3_MIN_PART)
        part = S3_MIN_PART;
    if (part > 512ull * 1024 * 1024)
        part = 512ull * 1024 * 1024;
    s->part_size = (size_t)part;
    s->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
    /* libcurl ignores these variables (only the curl tool reads them), yet
     * users expect them to work: the static build's compiled-in bundle is
     * Amazon Linux's /etc/pki/tls/certs/ca-bundle.crt, wrong elsewhere. */
    s->ca_file = env_or("CURL_CA_BUNDLE", env_or("SSL_CERT_FILE", NULL));
    s->ca_path = env_or("SSL_CERT_DIR", NULL);
    s->curl = curl_easy_init();
    if (!s->curl) {
        free(s->token_header);
        free(s);
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "cannot initialise libcurl");
    }
    *out = &s->base;
    return 0;
}

static void s3_close(lambda_store *base)
{
    s3_store *s = (s3_store *)base;
    curl_easy_cleanup(s->curl);
    if (s->token_header)
        memset(s->token_header, 0, strlen(s->token_header));
    free(s->token_header);
    memset(s->userpwd, 0, sizeof s->userpwd);
    memset(s->secret_key, 0, sizeof s->secret_key);
    free(s);
}

/* The bucket-relative key: the store prefix, '/', the key. */
static int full_key(const s3_store *s, const char *key, char *buf, size_t n, lambda_error *err)
{
    int r = s->base.loc.prefix[0] ? snprintf(buf, n, "%s/%s", s->base.loc.prefix, key)
                                  : snprintf(buf, n, "%s", key);
    if (r < 0 || (size_t)r >= n)
        return lambda_store_fail(err, LAMBDA_STORE_INVALID, "store key too long");
    return 0;
}

/* Path part of a request URL: "/bucket/key" (path-style) or "/key". */
static char *request_path(const s3_store *s, const char *key)
{
    char *enc = key ? lambda_s3_uri_encode(key, 1) : strdup("");
    if (!enc)
        return NULL;
    size_t n = strlen(enc) + strlen(s->base.loc.bucket) + 4;
    char *path = malloc(n);
    if (path) {
        if (s->path_style)
            snprintf(path, n, key ? "/%s/%s" : "/%s", s->base.loc.bucket, enc);
        else
            snprintf(path, n, "/%s", enc);
    }
    free(enc);
    return path;
}

/* ---- transfer callbacks ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    s3_response *rs = ud;
    size_t len = size * nmemb;
    long status = 0;
    curl_easy_getinfo(rs->curl, CURLINFO_RESPONSE_CODE, &status);
    rs->received += len;
    if (status >= 200 && status < 300 && rs->rq->sink) {
        if (rs->rq->sink(data, len, rs->rq->sink_ud) != 0) {
            rs->sink_failed = 1;
            return 0;
        }
        rs->delivered += len;
        return len;
    }
    if (rs->body_len + len + 1 > S3_MAX_COLLECT) {
        rs->collect_overflow = 1;
        return len; /* keep the head: enough for an error document */
    }
    if (rs->body_len + len + 1 > rs->body_cap) {
        size_t cap = rs->body_cap ? rs->body_cap : 4096;
        while (cap < rs->body_len + len + 1)
            cap *= 2;
        char *grown = realloc(rs->body, cap);
        if (!grown)
            return 0;
        rs->body = grown;
        rs->body_cap = cap;
    }
    memcpy(rs->body + rs->body_len, data, len);
    rs->body_len += len;
    rs->body[rs->body_len] = '\0';
    return len;
}

static void copy_header_value(const char *v, size_t n, char *out, size_t out_len)
{
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    if (n >= out_len)
        n = out_len - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    s3_response *rs = ud;
    size_t len = size * nmemb;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue, say): forget the last. */
        rs->etag[0] = '\0';
        rs->have_content_length = 0;
    } else if (len > 5 && strncasecmp(data, "etag:", 5) == 0) {
        copy_header_value(data + 5, len - 5, rs->etag, sizeof rs->etag);
    } else if (len > 15 && strncasecmp(data, "content-length:", 15) == 0) {
        char v[32];
        copy_header_value(data + 15, len - 15, v, sizeof v);
        rs->content_length = strtoull(v, NULL, 10);
        rs->have_content_length = 1;
    }
    return len;
}

/* ---- the request loop ---- */

static void backoff(s3_store *s, int attempt)
{
    long cap = s->retry_base_ms << (attempt < 10 ? attempt : 10);
    if (cap > 5000)
        cap = 5000;
    long ms = cap / 2 + (long)(rand_r(&s->seed) % (unsigned long)(cap / 2 + 1));
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void response_reset(s3_response *rs)
{
    rs->status = 0;
    rs->body_len = 0;
    if (rs->body)
        rs->body[0] = '\0';
    rs->etag[0] = '\0';
    rs->have_content_length = 0;
    rs->content_length = 0;
    rs->received = 0;
    rs->collect_overflow = 0;
}

static void response_free(s3_response *rs)
{
    free(rs->body);
    rs->body = NULL;
}

typedef enum { OUT_OK, OUT_RETRY, OUT_FAIL } outcome;

/* Classifies a finished HTTP exchange; fills err for failures (and for
 * retryable ones, in case they are the last attempt). */
static outcome classify(const s3_request *rq, s3_response *rs, const char *what, lambda_error *err)
{
    char code[128] = "", message[512] = "";
    int is_error_doc =
        lambda_s3_parse_error(rs->body, rs->body_len, code, sizeof code, message, sizeof message);
    long st = rs->status;
    if (st >= 200 && st < 300 && !is_error_doc) {
        if (rs->have_content_length && rs->received != rs->content_length &&
            strcmp(rq->method, "HEAD") != 0) {
            RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE,
                    "S3 %s %s: body truncated (%llu of %llu bytes)", rq->op, what,
                    (unsigned long long)rs->received, (unsigned long long)rs->content_length);
            return OUT_RETRY;
        }
        return OUT_OK;
    }
    if (st >= 200 && st < 300)
        st = strcmp(code, "SlowDown") == 0 ? 503 : 500; /* 200 with <Error> */
    const char *shown = code[0] ? code : "no error code";
    if (st == 429 || (st == 503 && (strcmp(code, "SlowDown") == 0 || !code[0]))) {
        RS_FAIL(rs, err, LAMBDA_STORE_THROTTLED, "S3 %s %s: throttled (HTTP %ld %s)", rq->op, what,
                st, shown);
        return OUT_RETRY;
    }
    if (st >= 500) {
        RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE, "S3 %s %s: HTTP %ld %s %s", rq->op, what, st,
                shown, message);
        return OUT_RETRY;
    }
    if (st == 403 || st == 401 || strcmp(code, "InvalidAccessKeyId") == 0 ||
        strcmp(code, "ExpiredToken") == 0 || strcmp(code, "InvalidToken") == 0) {
        RS_FAIL(rs, err, LAMBDA_STORE_ACCESS_DENIED, "S3 %s %s: access denied (HTTP %ld %s)",
                rq->op, what, st, shown);
        return OUT_FAIL;
    }
    if (st == 404) {
        RS_FAIL(rs, err, LAMBDA_STORE_NOT_FOUND, "S3 %s %s: not found (%s)", rq->op, what,
                code[0] ? code : "HTTP 404");
        return OUT_FAIL;
    }
    RS_FAIL(rs, err, LAMBDA_STORE_REFUSED, "S3 %s %s: HTTP %ld %s %s", rq->op, what, st, shown,
            message);
    return OUT_FAIL;
}

/* A 416 to a resumed GET whose range starts exactly at the object's end
 * (S3's InvalidRange names ActualObjectSize): every byte had arrived and the
 * connection only fell short of a too-long Content-Length. */
static int resume_was_complete(const s3_response *rs, uint64_t end)
{
    char v[32];
    if (rs->status != 416 || !rs->body ||
        lambda_s3_parse_text(rs->body, rs->body_len, "ActualObjectSize", v, sizeof v) != 0)
        return 0;
    char *e;
    unsigned long long size = strtoull(v, &e, 10);
    return e != v && *e == '\0' && size == end;
}

/* A server certificate not trusted, or CA certificates that cannot be
 * loaded: a configuration fault that no retry mends, so it is reported at
 * once as StoreTlsError (which the state machine does not retry). Say so,
 * with libcurl's detail and the CA file and directory in use, since
 * curl_easy_strerror() alone ("SSL peer certificate or SSH remote
 * key was not OK") names neither the cause nor the bundle to fix. */
static void tls_trust_failure(s3_store *s, const s3_request *rq, const char *what, CURLcode cc,
                              lambda_error *err)
{
    const char *ca_file = s->ca_file, *ca_path = s->ca_path;
#if LIBCURL_VERSION_NUM >= 0x075400 /* CURLINFO_CAINFO/CAPATH (built-in defaults): 7.84 */
    char *built_in = NULL;
    if (!ca_file && curl_easy_getinfo(s->curl, CURLINFO_CAINFO, &built_in) == CURLE_OK)
        ca_file = built_in;
    built_in = NULL;
    if (!ca_path && curl_easy_getinfo(s->curl, CURLINFO_CAPATH, &built_in) == CURLE_OK)
        ca_path = built_in;
#endif
    lambda_store_fail(err, LAMBDA_STORE_TLS, "S3 %s %s: %s: %s (CA file %s, CA dir %s)", rq->op,
                      what,
                      cc == CURLE_SSL_CACERT_BADFILE ? "cannot load the CA certificates"
                                                     : "TLS server certificate not trusted",
                      s->curl_error[0] ? s->curl_error : curl_easy_strerror(cc),
                      ca_file ? ca_file : "none", ca_path ? ca_path : "none");
}

static int s3_perform(s3_store *s, s3_request *rq, s3_response *rs, lambda_error *err)
{
    const char *what = rq->key ? rq->key : s->base.loc.bucket;
    memset(rs, 0, sizeof *rs); /* callers free and inspect it whatever happens */
    char *path = request_path(s, rq->key);
    if (!path)
        return RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    size_t url_len = strlen(s->endpoint) + strlen(path) + (rq->query ? strlen(rq->query) : 0) + 4;
    char *url = malloc(url_len);
    if (!url) {
        free(path);
        return RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    }
    snprintf(url, url_len, "%s%s%s%s", s->endpoint, path, rq->query ? "?" : "",
             rq->query ? rq->query : "");
    free(path);

    char sha_header[100];
    if (rq->has_body && rq->body_len) {
        unsigned char digest[32];
        char hex[65];
        lambda_store_sha256(rq->body, rq->body_len, digest);
        lambda_store_hex(digest, 32, hex);
        snprintf(sha_header, sizeof sha_header, "x-amz-content-sha256: %s", hex);
    } else {
        snprintf(sha_header, sizeof sha_header, "x-amz-content-sha256: %s", EMPTY_SHA256);
    }

    rs->curl = s->curl;
    rs->rq = rq;
    int rc = -1;
    for (int attempt = 1; attempt <= s->max_attempts; attempt++) {
        if (attempt > 1)
            backoff(s, attempt - 1);
        response_reset(rs);
        struct curl_slist *h = NULL;
        h = curl_slist_append(h, sha_header);
        /* No "Expect:" override: curl 7.88 would sign the empty header. */
        if (s->token_header)
            h = curl_slist_append(h, s->token_header);
        if (rq->has_body)
            h = curl_slist_append(h, "Content-Type: application/octet-stream");
        for (struct curl_slist *e = rq->headers; e; e = e->next)
            h = curl_slist_append(h, e->data);
        char range[80];
        int ranged = 0;
        if (rq->sink && (rq->range_start || rq->range_len || rs->delivered)) {
            uint64_t from = rq->range_start + rs->delivered;
            if (rq->range_len)
                snprintf(range, sizeof range, "Range: bytes=%llu-%llu", (unsigned long long)from,
                         (unsigned long long)(rq->range_start + rq->range_len - 1));
            else
                snprintf(range, sizeof range, "Range: bytes=%llu-", (unsigned long long)from);
            h = curl_slist_append(h, range);
            ranged = 1;
        }

        CURL *c = s->curl;
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
        curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        s->curl_error[0] = '\0';
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, s->curl_error);
        if (s->ca_file)
            curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
        if (s->ca_path)
            curl_easy_setopt(c, CURLOPT_CAPATH, s->ca_path);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
        /* A stalled transfer is a failed one: under 1 byte/s for 30 s. */
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
        if (strcmp(rq->method, "HEAD") == 0) {
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        } else if (rq->has_body) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        } else if (strcmp(rq->method, "GET") != 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
        }
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
        curl_slist_free_all(h);

        if (rs->sink_failed) {
            if (err && !err->type[0])
                RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE, "reading %s was aborted", what);
            break;
        }
        if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE) {
            tls_trust_failure(s, rq, what, cc, err);
            rs->failure = LAMBDA_STORE_TLS;
            break;
        }
        if (cc != CURLE_OK) {
            RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE, "S3 %s %s: %s", rq->op, what,
                    curl_easy_strerror(cc));
            continue; /* resets, refused connections, timeouts, short bodies */
        }
        if (ranged && rs->status == 200) {
            /* The server ignored our Range: its body restarted at byte 0. */
            RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE, "S3 %s %s: Range ignored by server", rq->op,
                    what);
            break;
        }
        if (ranged && rs->delivered > 0 && !rq->range_len &&
            resume_was_complete(rs, rq->range_start + rs->delivered)) {
            rc = 0;
            break;
        }
        outcome o = classify(rq, rs, what, err);
        if (o == OUT_OK) {
            rc = 0;
            break;
        }
        if (o == OUT_FAIL)
            break;
    }
    if (rc != 0 && err && strstr(err->message, "attempt") == NULL && !rs->sink_failed &&
        (rs->failure == LAMBDA_STORE_UNAVAILABLE || rs->failure == LAMBDA_STORE_THROTTLED)) {
        size_t n = strlen(err->message);
        snprintf(err->message + n, sizeof err->message - n, " (after %d attempts)",
                 s->max_attempts);
    }
    free(url);
    return rc;
}

/* ---- listing ---- */

typedef struct list_ctx {
    const s3_store *s;
    lambda_store_list_fn fn;
    void *ud;
} list_ctx;

static int strip_prefix(const char *key, uint64_t size, void *ud)
{
    list_ctx *lc = ud;
    const char *p = lc->s->base.loc.prefix;
    size_t pl = strlen(p);
    if (pl) {
        if (strncmp(key, p, pl) != 0 || key[pl] != '/')
            return 0;
        key += pl + 1;
    }
    return lc->fn(key, size, lc->ud);
}

static int s3_list(lambda_store *base, const char *prefix, const char *start_after,
                   lambda_store_list_fn fn, void *ud, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char full_prefix[2100], full_after[2100] = "";
    if (full_key(s, prefix, full_prefix, sizeof full_prefix, err) != 0)
        return -1;
    if (!prefix[0] && s->base.loc.prefix[0])
        snprintf(full_prefix, sizeof full_prefix, "%s/", s->base.loc.prefix);
    if (start_after && *start_after &&
        full_key(s, start_after, full_after, sizeof full_after, err) != 0)
        return -1;
    char *enc_prefix = lambda_s3_uri_encode(full_prefix, 0);
    char *token = NULL;
    list_ctx lc = {s, fn, ud};
    int rc = 0;
    for (;;) {
        char *enc_after = lambda_s3_uri_encode(full_after, 0);
        char *enc_token = token ? lambda_s3_uri_encode(token, 0) : NULL;
        size_t qn =
            128 + strlen(enc_prefix) + strlen(enc_after) + (enc_token ? strlen(enc_token) : 0);
        char *query = malloc(qn);
        if (!query || !enc_after || !enc_prefix) {
            free(query);
            free(enc_after);
            free(enc_token);
            rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
            break;
        }
        /* Parameters in sorted order: curl signs the query as written. */
        int n = 0;
        if (enc_token)
            n += snprintf(query + n, qn - (size_t)n, "continuation-token=%s&", enc_token);
        n += snprintf(query + n, qn - (size_t)n, "list-type=2&max-keys=1000&prefix=%s", enc_prefix);
        if (!enc_token && full_after[0])
            snprintf(query + n, qn - (size_t)n, "&start-after=%s", enc_after);
        free(enc_after);
        free(enc_token);
        s3_request rq = {.op = "ListObjectsV2", .method = "GET", .key = NULL, .query = query};
        s3_response rs;
        rc = s3_perform(s, &rq, &rs, err);
        free(query);
        lambda_s3_list_page page;
        if (rc == 0)
            rc = lambda_s3_parse_list(rs.body ? rs.body : "", rs.body_len, &page, strip_prefix, &lc,
                                      err);
        response_free(&rs);
        if (rc != 0 || page.stopped || !page.truncated)
            break;
        free(token);
        token = NULL;
        if (page.next_token[0]) {
            token = strdup(page.next_token);
        } else {
            snprintf(full_after, sizeof full_after, "%s", page.last_key);
        }
        if (page.count == 0 && !token) {
            rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "S3 listing made no progress");
            break;
        }
    }
    free(token);
    free(enc_prefix);
    return rc;
}

/* ---- reading ---- */

static int s3_get(lambda_store *base, const char *key, uint64_t offset, uint64_t length,
                  lambda_store_sink_fn sink, void *ud, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fk[2100];
    if (full_key(s, key, fk, sizeof fk, err) != 0)
        return -1;
    s3_request rq = {.op = "GetObject",
                     .method = "GET",
                     .key = fk,
                     .sink = sink,
                     .sink_ud = ud,
                     .range_start = offset,
                     .range_len = length};
    s3_response rs;
    int rc = s3_perform(s, &rq, &rs, err);
    if (rc == 0 && length && rs.delivered != length)
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "S3 GetObject %s: short read", key);
    response_free(&rs);
    return rc;
}

static int s3_stat(lambda_store *base, const char *key, uint64_t *size, int *exists,
                   lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fk[2100];
    if (full_key(s, key, fk, sizeof fk, err) != 0)
        return -1;
    s3_request rq = {.op = "HeadObject", .method = "HEAD", .key = fk};
    s3_response rs;
    int rc = s3_perform(s, &rq, &rs, err);
    *exists = 0;
    *size = 0;
    if (rc == 0) {
        *exists = 1;
        *size = rs.content_length;
    } else if (rs.failure == LAMBDA_STORE_NOT_FOUND) {
        /* A missing key is an answer, not an error. (HEAD has no body, so a
         * missing bucket looks the same; the next call names it.) */
        err->type[0] = '\0';
        err->message[0] = '\0';
        rc = 0;
    }
    response_free(&rs);
    return rc;
}

/* ---- writing ---- */

typedef struct s3_writer {
    lambda_store_writer base;
    char key[2100];
    char *buf;
    size_t len;
    char upload_id[1024];
    int parts;
    char (*etags)[128];
    size_t etag_cap;
} s3_writer;

static int s3_put_begin(lambda_store *base, const char *key, lambda_store_writer **out,
                        lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    s3_writer *w = calloc(1, sizeof *w);
    if (!w)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    w->base.store = base;
    if (full_key(s, key, w->key, sizeof w->key, err) != 0) {
        free(w);
        return -1;
    }
    w->buf = malloc(s->part_size);
    if (!w->buf) {
        free(w);
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    }
    *out = &w->base;
    return 0;
}

static int start_multipart(s3_store *s, s3_writer *w, lambda_error *err)
{
    s3_request rq = {.op = "CreateMultipartUpload",
                     .method = "POST",
                     .key = w->key,
                     .query = "uploads=",
                     .has_body = 1,
                     .body = "",
                     .body_len = 0};
    s3_response rs;
    int rc = s3_perform(s, &rq, &rs, err);
    if (rc == 0 && lambda_s3_parse_text(rs.body, rs.body_len, "UploadId", w->upload_id,
                                        sizeof w->upload_id) != 0)
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE,
                               "S3 CreateMultipartUpload %s: no UploadId in reply", w->key);
    response_free(&rs);
    return rc;
}

static int record_etag(s3_writer *w, const char *etag, lambda_error *err)
{
    if (!etag[0])
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "S3 part of %s has no ETag",
                                 w->key);
    if ((size_t)w->parts == w->etag_cap) {
        size_t cap = w->etag_cap ? 2 * w->etag_cap : 64;
        void *grown = realloc(w->etags, cap * sizeof *w->etags);
        if (!grown)
            return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        w->etags = grown;
        w->etag_cap = cap;
    }
    snprintf(w->etags[w->parts], sizeof w->etags[0], "%s", etag);
    w->parts++;
    return 0;
}

/* Query of a part request: parameters sorted, uploadId encoded. */
static char *part_query(const s3_writer *w, int part_no)
{
    char *enc = lambda_s3_uri_encode(w->upload_id, 0);
    if (!enc)
        return NULL;
    size_t n = strlen(enc) + 48;
    char *q = malloc(n);
    if (q)
        snprintf(q, n, "partNumber=%d&uploadId=%s", part_no, enc);
    free(enc);
    return q;
}

static int next_part_ok(s3_store *s, s3_writer *w, lambda_error *err)
{
    if (w->parts >= S3_MAX_PARTS)
        return lambda_store_fail(err, LAMBDA_STORE_REFUSED, "%s would need more than %d parts",
                                 w->key, S3_MAX_PARTS);
    if (!w->upload_id[0])
        return start_multipart(s, w, err);
    return 0;
}

static int flush_part(s3_store *s, s3_writer *w, lambda_error *err)
{
    if (next_part_ok(s, w, err) != 0)
        return -1;
    char *q = part_query(w, w->parts + 1);
    if (!q)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    s3_request rq = {.op = "UploadPart",
                     .method = "PUT",
                     .key = w->key,
                     .query = q,
                     .has_body = 1,
                     .body = w->buf,
                     .body_len = w->len};
    s3_response rs;
    int rc = s3_perform(s, &rq, &rs, err);
    if (rc == 0)
        rc = record_etag(w, rs.etag, err);
    response_free(&rs);
    free(q);
    if (rc == 0)
        w->len = 0;
    return rc;
}

static int s3_put_write(lambda_store_writer *base, const void *data, size_t len, lambda_error *err)
{
    s3_writer *w = (s3_writer *)base;
    s3_store *s = (s3_store *)base->store;
    const char *p = data;
    while (len > 0) {
        size_t room = s->part_size - w->len;
        size_t n = len < room ? len : room;
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        p += n;
        len -= n;
        if (w->len == s->part_size && flush_part(s, w, err) != 0)
            return -1;
    }
    return 0;
}

static int copy_part(s3_store *s, s3_writer *w, const char *src_full, uint64_t from, uint64_t to,
                     lambda_error *err)
{
    if (next_part_ok(s, w, err) != 0)
        return -1;
    char *enc_src = lambda_s3_uri_encode(src_full, 1);
    char *q = part_query(w, w->parts + 1);
    size_t hn = (enc_src ? strlen(enc_src) : 0) + strlen(s->base.loc.bucket) + 32;
    char *src_header = malloc(hn);
    int rc;
    if (!enc_src || !q || !src_header) {
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    } else {
        char range[96];
        snprintf(src_header, hn, "x-amz-copy-source: /%s/%s", s->base.loc.bucket, enc_src);
        snprintf(range, sizeof range, "x-amz-copy-source-range: bytes=%llu-%llu",
                 (unsigned long long)from, (unsigned long long)to);
        struct curl_slist *h = curl_slist_append(NULL, src_header);
        h = curl_slist_append(h, range);
        s3_request rq = {
            .op = "UploadPartCopy", .method = "PUT", .key = w->key, .query = q, .headers = h};
        s3_response rs;
        rc = s3_perform(s, &rq, &rs, err);
        char etag[128];
        if (rc == 0) {
            if (lambda_s3_parse_text(rs.body, rs.body_len, "ETag", etag, sizeof etag) != 0)
                rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE,
                                       "S3 UploadPartCopy %s: no ETag in reply", w->key);
            else
                rc = record_etag(w, etag, err);
        }
        response_free(&rs);
        curl_slist_free_all(h);
    }
    free(enc_src);
    free(q);
    free(src_header);
    return rc;
}

/* Appends GET bytes straight into the writer's buffer. It never flushes:
 * a flush would re-enter curl from inside this transfer's callback, so
 * callers ask for no more than the buffer's room and flush afterwards. */
static int buffer_sink(const char *data, size_t len, void *ud)
{
    s3_writer *w = ud;
    s3_store *s = (s3_store *)w->base.store;
    if (w->len + len > s->part_size)
        return -1;
    memcpy(w->buf + w->len, data, len);
    w->len += len;
    return 0;
}

/* Bytes [off, off+n) of an object through the bounded buffer. */
static int read_into_buffer(s3_store *s, s3_writer *w, const char *src_key, uint64_t off,
                            uint64_t n, lambda_error *err)
{
    while (n > 0) {
        uint64_t room = s->part_size - w->len;
        uint64_t k = n < room ? n : room;
        if (s3_get(&s->base, src_key, off, k, buffer_sink, w, err) != 0)
            return -1;
        off += k;
        n -= k;
        if (w->len == s->part_size && flush_part(s, w, err) != 0)
            return -1;
    }
    return 0;
}

static int s3_put_append(lambda_store_writer *base, const char *src_key, uint64_t size,
                         lambda_error *err)
{
    s3_writer *w = (s3_writer *)base;
    s3_store *s = (s3_store *)base->store;
    char src_full[2100];
    if (full_key(s, src_key, src_full, sizeof src_full, err) != 0)
        return -1;
    uint64_t off = 0;
    while (off < size) {
        uint64_t remaining = size - off;
        if (w->len == 0 && remaining >= S3_MIN_PART) {
            uint64_t n = remaining < S3_MAX_COPY_PART ? remaining : S3_MAX_COPY_PART;
            if (copy_part(s, w, src_full, off, off + n - 1, err) != 0)
                return -1;
            off += n;
            continue;
        }
        uint64_t need = w->len < S3_MIN_PART ? S3_MIN_PART - w->len : 0;
        if (w->len > 0 && remaining >= need + S3_MIN_PART) {
            /* Top the buffer up to a legal part from this object's head,
             * send it, then copy the rest server-side. */
            if (need && read_into_buffer(s, w, src_key, off, need, err) != 0)
                return -1;
            off += need;
            if (w->len > 0 && flush_part(s, w, err) != 0)
                return -1;
            continue;
        }
        /* Small object (or small tail): through the bounded buffer. */
        if (read_into_buffer(s, w, src_key, off, remaining, err) != 0)
            return -1;
        off = size;
    }
    return 0;
}

static void writer_free(s3_writer *w)
{
    free(w->buf);
    free(w->etags);
    free(w);
}

static void abort_upload(s3_store *s, s3_writer *w)
{
    if (!w->upload_id[0])
        return;
    char *enc = lambda_s3_uri_encode(w->upload_id, 0);
    if (!enc)
        return;
    size_t n = strlen(enc) + 16;
    char *q = malloc(n);
    if (q) {
        snprintf(q, n, "uploadId=%s", enc);
        s3_request rq = {
            .op = "AbortMultipartUpload", .method = "DELETE", .key = w->key, .query = q};
        s3_response rs;
        lambda_error ignored = {{0}, {0}};
        s3_perform(s, &rq, &rs, &ignored); /* best effort: lifecycle rules clean up */
        response_free(&rs);
    }
    free(q);
    free(enc);
}

static void s3_put_abort(lambda_store_writer *base)
{
    s3_writer *w = (s3_writer *)base;
    abort_upload((s3_store *)base->store, w);
    writer_free(w);
}

static int complete_upload(s3_store *s, s3_writer *w, lambda_error *err)
{
    size_t cap = 128 + (size_t)w->parts * 200;
    char *xml = malloc(cap);
    char *enc = lambda_s3_uri_encode(w->upload_id, 0);
    char *q = enc ? malloc(strlen(enc) + 16) : NULL;
    if (!xml || !q) {
        free(xml);
        free(enc);
        free(q);
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    }
    sprintf(q, "uploadId=%s", enc);
    size_t n = (size_t)snprintf(
        xml, cap, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < w->parts; i++)
        n += (size_t)snprintf(xml + n, cap - n,
                              "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i + 1,
                              w->etags[i]);
    n += (size_t)snprintf(xml + n, cap - n, "</CompleteMultipartUpload>");
    s3_request rq = {.op = "CompleteMultipartUpload",
                     .method = "POST",
                     .key = w->key,
                     .query = q,
                     .has_body = 1,
                     .body = xml,
                     .body_len = n};
    s3_response rs;
    int rc = s3_perform(s, &rq, &rs, err);
    response_free(&rs);
    free(xml);
    free(enc);
    free(q);
    return rc;
}

static int s3_put_commit(lambda_store_writer *base, lambda_error *err)
{
    s3_writer *w = (s3_writer *)base;
    s3_store *s = (s3_store *)base->store;
    int rc;
    if (!w->upload_id[0]) {
        s3_request rq = {.op = "PutObject",
                         .method = "PUT",
                         .key = w->key,
                         .has_body = 1,
                         .body = w->buf,
                         .body_len = w->len};
        s3_response rs;
        rc = s3_perform(s, &rq, &rs, err);
        response_free(&rs);
    } else {
        rc = w->len > 0 ? flush_part(s, w, err) : 0;
        if (rc == 0)
            rc = complete_upload(s, w, err);
        if (rc != 0)
            abort_upload(s, w);
    }
    writer_free(w);
    return rc;
}

static int s3_copy(lambda_store *base, const char *src, const char *dst, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fs[2100], fd[2100];
    if (full_key(s, src, fs, sizeof fs, err) != 0 || full_key(s, dst, fd, sizeof fd, err) != 0)
        return -1;
    char *enc = lambda_s3_uri_encode(fs, 1);
    if (!enc)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    size_t hn = strlen(enc) + strlen(s->base.loc.bucket) + 32;
    char *hdr = malloc(hn);
    int rc;
    if (!hdr) {
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    } else {
        snprintf(hdr, hn, "x-amz-copy-source: /%s/%s", s->base.loc.bucket, enc);
        struct curl_slist *h = curl_slist_append(NULL, hdr);
        s3_request rq = {.op = "CopyObject", .method = "PUT", .key = fd, .headers = h};
        s3_response rs;
        rc = s3_perform(s, &rq, &rs, err);
        response_free(&rs);
        curl_slist_free_all(h);
    }
    free(hdr);
    free(enc);
    return rc;
}

static int s3_delete(lambda_store *base, const char *key, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fk[2100];
    if (full_key(s, key, fk, sizeof fk, err) != 0)
        return -1;
    s3_request rq = {.op = "DeleteObject", .method = "DELETE", .key = fk};
    s3_response rs;
    int rc = s3_perform(s, &rq, &rs, err);
    response_free(&rs);
    if (rc != 0 && rs.failure == LAMBDA_STORE_NOT_FOUND && strstr(err->message, "NoSuchKey")) {
        err->type[0] = '\0';
        err->message[0] = '\0';
        rc = 0;
    }
    return rc;
}

/* ---- DeleteObjects ---- */

#define S3_DELETE_BATCH 1000 /* S3's limit per DeleteObjects request */

/* What one DeleteObjects reply said about the keys it could not delete. */
typedef struct delete_round {
    const char **keys; /* the keys sent */
    size_t n;
    const char **retry; /* those that failed with a retryable code (room for n) */
    size_t n_retry;
    lambda_error first; /* the failure the caller will see */
    int fatal;          /* a non-retryable failure was seen */
} delete_round;

/* Per-key codes: NoSuchKey means the key is already gone (success: S3
 * itself reports missing keys as deleted); SlowDown and InternalError are
 * worth re-sending; anything else fails the delete. */
static void on_delete_error(const char *key, const char *code, const char *message, void *ud)
{
    delete_round *r = ud;
    if (strcmp(code, "NoSuchKey") == 0)
        return;
    int throttled = strcmp(code, "SlowDown") == 0;
    int retryable =
        throttled || strcmp(code, "InternalError") == 0 || strcmp(code, "ServiceUnavailable") == 0;
    lambda_store_status type = throttled                           ? LAMBDA_STORE_THROTTLED
                               : retryable                         ? LAMBDA_STORE_UNAVAILABLE
                               : strcmp(code, "AccessDenied") == 0 ? LAMBDA_STORE_ACCESS_DENIED
                                                                   : LAMBDA_STORE_REFUSED;
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
        size_t len;
        char *xml = lambda_s3_delete_body(keys, n, &len);
        if (!xml) {
            lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
            break;
        }
        /* S3 requires an integrity header on DeleteObjects: a SHA-256
         * checksum (accepted by general-purpose and directory buckets alike,
         * unlike Content-MD5) from the crypto shim we already link. */
        unsigned char digest[32];
        char b64[48], checksum[96];
        lambda_store_sha256(xml, len, digest);
        lambda_store_base64(digest, 32, b64);
        snprintf(checksum, sizeof checksum, "x-amz-checksum-sha256: %s", b64);
        struct curl_slist *h = curl_slist_append(NULL, checksum);
        h = curl_slist_append(h, "x-amz-sdk-checksum-algorithm: SHA256");
        /* "delete=", not "delete": curl signs the query exactly as written. */
        s3_request rq = {.op = "DeleteObjects",
                         .method = "POST",
                         .key = NULL,
                         .query = "delete=",
                         .has_body = 1,
                         .body = xml,
                         .body_len = len,
                         .headers = h};
        s3_response rs;
        int prc = s3_perform(s, &rq, &rs, err);
        curl_slist_free_all(h);
        free(xml);
        delete_round r = {.keys = keys, .n = n, .retry = retry};
        int errors =
            prc == 0 ? lambda_s3_parse_delete_result(rs.body, rs.body_len, on_delete_error, &r, err)
                     : -1;
        response_free(&rs);
        if (errors < 0)
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
        backoff(s, attempt);
        memmove(keys, retry, r.n_retry * sizeof *keys);
        n = r.n_retry;
    }
    free(retry);
    return rc;
}

static int s3_delete_many(lambda_store *base, const char *const *keys, size_t n, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    size_t batch = n < S3_DELETE_BATCH ? n : S3_DELETE_BATCH;
    char(*full)[2100] = malloc(batch * sizeof *full);
    const char **ptrs = malloc(batch * sizeof *ptrs);
    int rc = 0;
    if (!full || !ptrs)
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    for (size_t from = 0; rc == 0 && from < n; from += batch) {
        size_t k = n - from < batch ? n - from : batch;
        for (size_t i = 0; rc == 0 && i < k; i++) {
            rc = full_key(s, keys[from + i], full[i], sizeof full[i], err);
            ptrs[i] = full[i];
        }
        if (rc == 0)
            rc = delete_batch(s, ptrs, k, err);
    }
    free(full);
    free(ptrs);
    return rc;
}

/* ---- presigned GET (SigV4 query signing) ---- */

static void hmac(const unsigned char *key, size_t key_len, const char *msg, unsigned char out[32])
{
    lambda_store_hmac_sha256(key, key_len, msg, strlen(msg), out);
}

static char *s3_presign(lambda_store *base, const char *key, long expires_s, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char fk[2100];
    if (full_key(s, key, fk, sizeof fk, err) != 0)
        return NULL;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char amz_date[32], day[16];
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    strftime(day, sizeof day, "%Y%m%d", &tm);

    const char *host = strstr(s->endpoint, "://") + 3;
    char *path = request_path(s, fk);
    char scope[256], credential[600];
    snprintf(scope, sizeof scope, "%s/%s/s3/aws4_request", day, s->region);
    snprintf(credential, sizeof credential, "%s/%s", s->access_key, scope);
    char *enc_cred = lambda_s3_uri_encode(credential, 0);
    const char *token = getenv("AWS_SESSION_TOKEN");
    char *enc_token = token && *token ? lambda_s3_uri_encode(token, 0) : NULL;
    size_t qn = 512 + (enc_cred ? strlen(enc_cred) : 0) + (enc_token ? strlen(enc_token) : 0);
    char *query = malloc(qn);
    char *canonical = NULL, *url = NULL;
    if (!path || !enc_cred || !query || (token && *token && !enc_token)) {
        lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        goto out;
    }
    /* Sorted by name: Algorithm, Credential, Date, Expires, Security-Token,
     * SignedHeaders. */
    int qlen = snprintf(query, qn,
                        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s&X-Amz-Date=%s"
                        "&X-Amz-Expires=%ld",
                        enc_cred, amz_date, expires_s);
    if (enc_token)
        qlen += snprintf(query + qlen, qn - (size_t)qlen, "&X-Amz-Security-Token=%s", enc_token);
    snprintf(query + qlen, qn - (size_t)qlen, "&X-Amz-SignedHeaders=host");

    size_t cn = strlen(path) + strlen(query) + strlen(host) + 128;
    canonical = malloc(cn);
    if (!canonical) {
        lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        goto out;
    }
    snprintf(canonical, cn, "GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", path, query, host);
    unsigned char digest[32], k[32];
    char hex[65], to_sign[512], sig[65];
    lambda_store_sha256(canonical, strlen(canonical), digest);
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
    size_t un = strlen(s->endpoint) + strlen(path) + strlen(query) + 100;
    url = malloc(un);
    if (!url)
        lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    else
        snprintf(url, un, "%s%s?%s&X-Amz-Signature=%s", s->endpoint, path, query, sig);
out:
    free(path);
    free(enc_cred);
    free(enc_token);
    free(query);
    free(canonical);
    return url;
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

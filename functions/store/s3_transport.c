/*
 * S3 backend, transport: one request through libcurl with its SigV4
 * signing, retried by s3_perform() with exponential backoff and jitter on
 * 5xx, SlowDown/429, connection failures and bodies shorter than their
 * Content-Length; a streamed GET resumes with a Range request so its sink
 * sees each byte once. classify() turns an answer into a store status.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3_internal.h"

/* Fails the exchange `rs` with `status` (kept in rs->failure) and err. */
#define RS_FAIL(rs, err, status, ...) \
    ((rs)->failure = (status), lambda_store_fail((err), (status), __VA_ARGS__))

#define S3_CONNECT_TIMEOUT_S 10L
#define S3_LOW_SPEED_TIME_S 30L /* a stalled transfer is a failed one */

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
    if (rs->body.len + len + 1 > S3_MAX_COLLECT) {
        rs->collect_overflow = 1;
        return len; /* keep the head: enough for an error document */
    }
    return lambda_store_buf_add(&rs->body, data, len) == 0 ? len : 0;
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

/* ---- the answer ---- */

static void response_reset(s3_response *rs)
{
    rs->status = 0;
    lambda_store_buf_reset(&rs->body);
    rs->etag[0] = '\0';
    rs->code[0] = '\0';
    rs->have_content_length = 0;
    rs->content_length = 0;
    rs->received = 0;
    rs->collect_overflow = 0;
}

void s3_response_free(s3_response *rs)
{
    lambda_store_buf_free(&rs->body);
}

typedef enum { OUT_OK, OUT_RETRY, OUT_FAIL } outcome;

/* Which store status an S3 error answer (HTTP status + <Code>) is. */
static lambda_store_status status_of(long st, const char *code)
{
    if (st == 429 || (st == 503 && (strcmp(code, "SlowDown") == 0 || !code[0])))
        return LAMBDA_STORE_THROTTLED;
    if (st >= 500)
        return LAMBDA_STORE_UNAVAILABLE;
    if (st == 403 || st == 401 || strcmp(code, "InvalidAccessKeyId") == 0 ||
        strcmp(code, "ExpiredToken") == 0 || strcmp(code, "InvalidToken") == 0)
        return LAMBDA_STORE_ACCESS_DENIED;
    if (st == 404)
        return LAMBDA_STORE_NOT_FOUND;
    return LAMBDA_STORE_REFUSED;
}

/* Classifies a finished HTTP exchange; fills err for failures (and for
 * retryable ones, in case they are the last attempt). */
static outcome classify(const s3_request *rq, s3_response *rs, const char *what, lambda_error *err)
{
    char message[LAMBDA_S3_ERROR_MESSAGE_MAX] = "";
    const char *code = rs->code;
    int is_error_doc = lambda_s3_parse_error(rs->body.data, rs->body.len, rs->code, sizeof rs->code,
                                             message, sizeof message);
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
    lambda_store_status status = status_of(st, code);
    switch (status) {
    case LAMBDA_STORE_THROTTLED:
        RS_FAIL(rs, err, status, "S3 %s %s: throttled (HTTP %ld %s)", rq->op, what, st, shown);
        return OUT_RETRY;
    case LAMBDA_STORE_UNAVAILABLE:
        RS_FAIL(rs, err, status, "S3 %s %s: HTTP %ld %s %s", rq->op, what, st, shown, message);
        return OUT_RETRY;
    case LAMBDA_STORE_ACCESS_DENIED:
        RS_FAIL(rs, err, status, "S3 %s %s: access denied (HTTP %ld %s)", rq->op, what, st, shown);
        return OUT_FAIL;
    case LAMBDA_STORE_NOT_FOUND:
        RS_FAIL(rs, err, status, "S3 %s %s: not found (%s)", rq->op, what,
                code[0] ? code : "HTTP 404");
        return OUT_FAIL;
    default:
        RS_FAIL(rs, err, status, "S3 %s %s: HTTP %ld %s %s", rq->op, what, st, shown, message);
        return OUT_FAIL;
    }
}

/* A 416 to a resumed GET whose range starts exactly at the object's end
 * (S3's InvalidRange names ActualObjectSize): every byte had arrived and the
 * connection only fell short of a too-long Content-Length. */
static int resume_was_complete(const s3_response *rs, uint64_t end)
{
    char v[32];
    if (rs->status != 416 || !rs->body.data ||
        lambda_s3_parse_text(rs->body.data, rs->body.len, "ActualObjectSize", v, sizeof v) != 0)
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
static void tls_trust_failure(s3_store *s, s3_response *rs, const char *what, CURLcode cc,
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
    RS_FAIL(rs, err, LAMBDA_STORE_TLS, "S3 %s %s: %s: %s (CA file %s, CA dir %s)", rs->rq->op, what,
            cc == CURLE_SSL_CACERT_BADFILE ? "cannot load the CA certificates"
                                           : "TLS server certificate not trusted",
            s->curl_error[0] ? s->curl_error : curl_easy_strerror(cc), ca_file ? ca_file : "none",
            ca_path ? ca_path : "none");
}

/* ---- one attempt ---- */

/* The request's URL, and its payload hash header (curl 7.88 signs the
 * empty-body hash otherwise, which S3 refuses). */
static int prepare(const s3_store *s, const s3_request *rq, lambda_store_buf *url,
                   char sha_header[100])
{
    if (lambda_store_buf_adds(url, s->endpoint) != 0 || s3_add_path(s, rq->key, url) != 0 ||
        (rq->query && lambda_store_buf_addf(url, "?%s", rq->query) != 0))
        return -1;
    char hex[65] = EMPTY_SHA256;
    if (rq->has_body && rq->body_len) {
        unsigned char digest[32];
        lambda_store_sha256(rq->body, rq->body_len, digest);
        lambda_store_hex(digest, 32, hex);
    }
    snprintf(sha_header, 100, "x-amz-content-sha256: %s", hex);
    return 0;
}

/* This attempt's headers; a resumed or ranged GET asks for its Range. */
static lambda_store_status attempt_headers(const s3_store *s, const s3_request *rq,
                                           const s3_response *rs, const char *sha_header,
                                           struct curl_slist **h, int *ranged, lambda_error *err)
{
    lambda_store_status rc = s3_header(h, sha_header, err);
    /* No "Expect:" override: curl 7.88 would sign the empty header. */
    if (rc == 0 && s->token_header)
        rc = s3_header(h, s->token_header, err);
    if (rc == 0 && rq->has_body)
        rc = s3_header(h, "Content-Type: application/octet-stream", err);
    for (struct curl_slist *e = rq->headers; rc == 0 && e; e = e->next)
        rc = s3_header(h, e->data, err);
    *ranged = rq->sink && (rq->range_start || rq->range_len || rs->delivered);
    if (rc == 0 && *ranged) {
        char range[80];
        uint64_t from = rq->range_start + rs->delivered;
        if (rq->range_len)
            snprintf(range, sizeof range, "Range: bytes=%llu-%llu", (unsigned long long)from,
                     (unsigned long long)(rq->range_start + rq->range_len - 1));
        else
            snprintf(range, sizeof range, "Range: bytes=%llu-", (unsigned long long)from);
        rc = s3_header(h, range, err);
    }
    return rc;
}

static void set_options(s3_store *s, const s3_request *rq, s3_response *rs, const char *url,
                        struct curl_slist *h)
{
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
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_S);
    /* A stalled transfer is a failed one: under 1 byte/s for 30 s. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, S3_LOW_SPEED_TIME_S);
    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (rq->has_body) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    }
}

/* One exchange and what to do next. */
static outcome attempt(s3_store *s, s3_request *rq, s3_response *rs, const char *url,
                       const char *sha_header, const char *what, lambda_error *err)
{
    response_reset(rs);
    struct curl_slist *h = NULL;
    int ranged = 0;
    lambda_store_status st = attempt_headers(s, rq, rs, sha_header, &h, &ranged, err);
    if (st != LAMBDA_STORE_OK) {
        curl_slist_free_all(h);
        rs->failure = st;
        return OUT_FAIL;
    }
    set_options(s, rq, rs, url, h);
    CURLcode cc = curl_easy_perform(s->curl);
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &rs->status);
    curl_slist_free_all(h);

    if (rs->sink_failed) {
        rs->failure = lambda_store_sink_aborted(err, what);
        return OUT_FAIL;
    }
    if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE) {
        tls_trust_failure(s, rs, what, cc, err);
        return OUT_FAIL;
    }
    if (cc != CURLE_OK && rq->sink && rq->range_len && rs->status == 206 &&
        rs->delivered == rq->range_len) {
        /* Every byte of a bounded range arrived and only a too-long
         * Content-Length was cut short: resuming would ask for an empty
         * (invalid) range, which S3 answers with 416. */
        return OUT_OK;
    }
    if (cc != CURLE_OK) {
        /* resets, refused connections, timeouts, short bodies */
        RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE, "S3 %s %s: %s", rq->op, what,
                curl_easy_strerror(cc));
        return OUT_RETRY;
    }
    if (ranged && rs->status == 200) {
        /* The server ignored our Range: its body restarted at byte 0. */
        RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE, "S3 %s %s: Range ignored by server", rq->op,
                what);
        return OUT_FAIL;
    }
    if (ranged && rs->delivered > 0 && !rq->range_len &&
        resume_was_complete(rs, rq->range_start + rs->delivered))
        return OUT_OK;
    return classify(rq, rs, what, err);
}

lambda_store_status s3_perform(s3_store *s, s3_request *rq, s3_response *rs, lambda_error *err)
{
    const char *what = rq->key ? rq->key : s->base.loc.bucket;
    memset(rs, 0, sizeof *rs); /* callers free and inspect it whatever happens */
    rs->curl = s->curl;
    rs->rq = rq;
    lambda_store_buf url = {0};
    char sha_header[100];
    if (prepare(s, rq, &url, sha_header) != 0) {
        lambda_store_buf_free(&url);
        return RS_FAIL(rs, err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    }
    lambda_backoff b;
    s3_backoff_init(s, &b);
    outcome o = attempt(s, rq, rs, url.data, sha_header, what, err);
    while (o == OUT_RETRY && lambda_backoff_wait(&b) == 0)
        o = attempt(s, rq, rs, url.data, sha_header, what, err);
    lambda_store_buf_free(&url);
    if (o == OUT_OK)
        return LAMBDA_STORE_OK;
    if (o == OUT_RETRY) { /* the last attempt failed too */
        size_t n = strlen(err->message);
        snprintf(err->message + n, sizeof err->message - n, " (after %d attempts)",
                 s->max_attempts);
    }
    return rs->failure;
}

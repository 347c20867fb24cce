#include "stream.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error_body.h"

#define HTTP_CONTENT_TYPE "application/vnd.awslambda.http-integration-response"
#define PRELUDE_SEPARATOR 8 /* NUL bytes between the HTTP prelude and the body */

struct lambda_stream {
    lambda_response *res;
    pthread_mutex_t mu;
    pthread_cond_t readable; /* bytes in the ring, or closed */
    pthread_cond_t writable; /* room in the ring, or the POST is over */
    char *ring;
    size_t head, used;
    int closed;     /* the handler is done: the reader ends the body once empty */
    int post_over;  /* the sender's POST returned: writes fail from now on */
    int started;    /* the sender thread runs (or ran and was not joined) */
    int over_limit; /* a write would have passed LAMBDA_STREAM_LIMIT */
    size_t total;   /* bytes accepted, prelude included */
    pthread_t sender;
    lambda_api_status status;
    char content_type[128];
    char error_type[256]; /* trailers, set before `closed` when failing */
    char *error_body64;
};

void lambda_stream_base64(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = digits[(v >> 18) & 63];
        out[o++] = digits[(v >> 12) & 63];
        out[o++] = i + 1 < len ? digits[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? digits[v & 63] : '=';
    }
    out[o] = '\0';
}

void lambda_stream_bind(lambda_response *res, lambda_api *api, const lambda_invocation *inv)
{
    res->stream_api = api;
    res->stream_inv = inv;
}

int lambda_stream_pending(const lambda_response *res)
{
    return res->stream && (res->stream->started || res->kind != LAMBDA_RESPONSE_FAILURE);
}

/* The body, for libcurl: waits for bytes; 0 (the end) once the handler is
 * done and the ring is empty. Wakes once a second to notice a stopping
 * runtime, which would otherwise leave this thread waiting forever. */
static size_t on_read(char *out, size_t size, size_t nitems, void *arg)
{
    lambda_stream *s = arg;
    size_t room = size * nitems;
    pthread_mutex_lock(&s->mu);
    while (!s->used && !s->closed) {
        const lambda_api *api = s->res->stream_api;
        if (api->stop && atomic_load(api->stop)) {
            pthread_mutex_unlock(&s->mu);
            return CURL_READFUNC_ABORT;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&s->readable, &s->mu, &until);
    }
    size_t n = s->used;
    if (n > room)
        n = room;
    if (n > LAMBDA_STREAM_RING - s->head)
        n = LAMBDA_STREAM_RING - s->head;
    memcpy(out, s->ring + s->head, n);
    s->head = (s->head + n) % LAMBDA_STREAM_RING;
    s->used -= n;
    pthread_cond_signal(&s->writable);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* After the last chunk: the error, if the handler failed once streaming. */
static int on_trailers(struct curl_slist **list, void *arg)
{
    lambda_stream *s = arg;
    if (!s->error_type[0])
        return CURL_TRAILERFUNC_OK;
    char type[320];
    snprintf(type, sizeof type, "Lambda-Runtime-Function-Error-Type: %s", s->error_type);
    struct curl_slist *l = curl_slist_append(*list, type);
    if (!l)
        return CURL_TRAILERFUNC_ABORT;
    *list = l;
    if (!s->error_body64) /* out of memory for the body: the type alone */
        return CURL_TRAILERFUNC_OK;
    size_t n = strlen(s->error_body64) + sizeof "Lambda-Runtime-Function-Error-Body: ";
    char *body = malloc(n);
    if (!body)
        return CURL_TRAILERFUNC_OK;
    snprintf(body, n, "Lambda-Runtime-Function-Error-Body: %s", s->error_body64);
    l = curl_slist_append(*list, body);
    free(body);
    if (l)
        *list = l;
    return CURL_TRAILERFUNC_OK;
}

static void *send_stream(void *arg)
{
    lambda_stream *s = arg;
    lambda_api_status st = lambda_api_post_stream(s->res->stream_api, s->res->stream_inv,
                                                  s->content_type, on_read, on_trailers, s);
    pthread_mutex_lock(&s->mu);
    s->status = st;
    s->post_over = 1;
    pthread_cond_broadcast(&s->writable);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int start(lambda_stream *s)
{
    if (s->started)
        return 0;
    if (pthread_create(&s->sender, NULL, send_stream, s) != 0) {
        lambda_response_failure(s->res, "Runtime.StreamError",
                                "could not start the thread that sends the stream");
        return -1;
    }
    s->started = 1;
    return 0;
}

/* Copies into the ring, waiting for room; -1 once the POST is over. */
static int ring_put(lambda_stream *s, const char *p, size_t n)
{
    pthread_mutex_lock(&s->mu);
    while (n) {
        while (s->used == LAMBDA_STREAM_RING && !s->post_over)
            pthread_cond_wait(&s->writable, &s->mu);
        if (s->post_over) {
            pthread_mutex_unlock(&s->mu);
            return -1;
        }
        size_t tail = (s->head + s->used) % LAMBDA_STREAM_RING;
        size_t take = LAMBDA_STREAM_RING - s->used;
        if (take > LAMBDA_STREAM_RING - tail)
            take = LAMBDA_STREAM_RING - tail;
        if (take > n)
            take = n;
        memcpy(s->ring + tail, p, take);
        s->used += take;
        p += take;
        n -= take;
        pthread_cond_signal(&s->readable);
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void set_over_limit(lambda_stream *s)
{
    s->over_limit = 1;
    /* Lambda's own wording for a stream past its limit. */
    lambda_response_failure(s->res, "Function.ResponseSizeTooLarge",
                            "Response payload size exceeded maximum allowed payload streaming "
                            "size of %d bytes.",
                            LAMBDA_STREAM_LIMIT);
}

int lambda_stream_write(lambda_stream *s, const void *buf, size_t len)
{
    if (!s || s->over_limit || s->closed)
        return -1;
    if (len > (size_t)LAMBDA_STREAM_LIMIT - s->total) {
        set_over_limit(s);
        return -1;
    }
    if (start(s) != 0 || ring_put(s, buf, len) != 0)
        return -1;
    s->total += len;
    return 0;
}

static lambda_stream *open_stream(lambda_response *res, const char *content_type)
{
    if (res->stream) {
        lambda_response_failure(res, "Runtime.StreamError", "the response is already streaming");
        return NULL;
    }
    if (!res->stream_api) {
        lambda_response_failure(res, "Runtime.StreamError",
                                "a response can stream only inside an invocation");
        return NULL;
    }
    lambda_stream *s = calloc(1, sizeof *s);
    char *ring = malloc(LAMBDA_STREAM_RING);
    if (!s || !ring) {
        free(s);
        free(ring);
        lambda_response_failure(res, "Runtime.OutOfMemory", "could not allocate a stream");
        return NULL;
    }
    s->res = res;
    s->ring = ring;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->readable, NULL);
    pthread_cond_init(&s->writable, NULL);
    lambda_error_header_value(s->content_type, sizeof s->content_type,
                              content_type && *content_type ? content_type
                                                            : "application/octet-stream");
    lambda_buf_clear(&res->payload);
    res->kind = LAMBDA_RESPONSE_SUCCESS;
    res->stream = s;
    return s;
}

lambda_stream *lambda_response_stream(lambda_response *res, const char *content_type)
{
    return res ? open_stream(res, content_type) : NULL;
}

/* {"statusCode":N,"headers":{...},"cookies":[...]} as Lambda's HTTP
 * integrations read it; NULL when out of memory. */
static char *prelude_json(const lambda_http_prelude *p)
{
    cJSON *o = cJSON_CreateObject();
    int ok =
        o && cJSON_AddNumberToObject(o, "statusCode", p && p->status_code ? p->status_code : 200);
    cJSON *headers = ok ? cJSON_AddObjectToObject(o, "headers") : NULL;
    cJSON *cookies = headers ? cJSON_AddArrayToObject(o, "cookies") : NULL;
    ok = ok && cookies;
    for (size_t i = 0; ok && p && p->headers && p->headers[i]; i += 2)
        ok =
            p->headers[i + 1] && cJSON_AddStringToObject(headers, p->headers[i], p->headers[i + 1]);
    for (size_t i = 0; ok && p && p->cookies && p->cookies[i]; i++) {
        cJSON *c = cJSON_CreateString(p->cookies[i]);
        ok = c && cJSON_AddItemToArray(cookies, c);
    }
    char *json = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return json;
}

lambda_stream *lambda_response_stream_http(lambda_response *res, const lambda_http_prelude *prelude)
{
    if (!res)
        return NULL;
    char *json = prelude_json(prelude);
    if (!json) {
        lambda_response_failure(res, "Runtime.StreamError",
                                "could not build the HTTP prelude (a header without a value, or "
                                "out of memory)");
        return NULL;
    }
    size_t n = strlen(json);
    if (n + PRELUDE_SEPARATOR > LAMBDA_STREAM_RING) {
        cJSON_free(json);
        lambda_response_failure(res, "Runtime.StreamError",
                                "the HTTP prelude is %zu bytes; at most %d are allowed", n,
                                LAMBDA_STREAM_RING - PRELUDE_SEPARATOR);
        return NULL;
    }
    lambda_stream *s = open_stream(res, HTTP_CONTENT_TYPE);
    if (s) {
        /* Into the ring without starting the POST: a handler that fails
         * before its first write still posts an ordinary error. */
        memcpy(s->ring, json, n);
        memset(s->ring + n, 0, PRELUDE_SEPARATOR);
        s->used = s->total = n + PRELUDE_SEPARATOR;
    }
    cJSON_free(json);
    return s;
}

/* The error trailers' values, from the response's error. */
static void prepare_trailers(lambda_stream *s)
{
    const lambda_error *e = &s->res->error;
    lambda_error_header_value(s->error_type, sizeof s->error_type, e->type);
    char *doc = lambda_error_body(e->type, e->message);
    if (!doc)
        return; /* the type alone still goes out */
    size_t n = strlen(doc);
    s->error_body64 = malloc(4 * ((n + 2) / 3) + 1);
    if (s->error_body64)
        lambda_stream_base64((const unsigned char *)doc, n, s->error_body64);
    cJSON_free(doc);
}

static void close_and_join(lambda_stream *s)
{
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    pthread_cond_broadcast(&s->readable);
    pthread_mutex_unlock(&s->mu);
    if (s->started) {
        pthread_join(s->sender, NULL);
        s->started = 0;
    }
}

lambda_api_status lambda_stream_finish(const lambda_response *res)
{
    lambda_stream *s = res->stream;
    if (s->over_limit) /* wins over whatever the handler answered after */
        set_over_limit(s);
    if (start(s) != 0)
        return LAMBDA_API_NOMEM;
    if (s->res->kind == LAMBDA_RESPONSE_FAILURE) {
        pthread_mutex_lock(&s->mu);
        prepare_trailers(s);
        pthread_mutex_unlock(&s->mu);
    }
    close_and_join(s);
    return s->status == LAMBDA_API_REFUSED ? LAMBDA_API_BROKEN : s->status;
}

void lambda_stream_release(lambda_response *res)
{
    lambda_stream *s = res->stream;
    if (!s)
        return;
    close_and_join(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->readable);
    pthread_cond_destroy(&s->writable);
    free(s->error_body64);
    free(s->ring);
    free(s);
    res->stream = NULL;
}

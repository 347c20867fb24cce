/* Streamed responses between the Runtime API and the caller (stream.h). */
#include "stream.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "pool.h"

#define QUEUE_MAX (1u << 20)

typedef struct piece {
    struct piece *next;
    size_t len, off;
    char data[];
} piece;

struct lambda_local_stream {
    piece *head, *tail;
    size_t queued;    /* bytes waiting */
    bool started;     /* the runtime began streaming */
    bool reader_gone; /* the caller disconnected */
    char content_type[256];
};

/* One streaming /response, for the upload callback. */
typedef struct upload {
    lambda_local_env *env;
    lambda_local_invocation *inv;
    char id[128];
    size_t total;
} upload;

void lambda_local_stream_attach(lambda_local_invocation *inv)
{
    inv->stream = lambda_local_calloc(1, sizeof *inv->stream);
}

void lambda_local_stream_free(lambda_local_stream *s)
{
    if (!s)
        return;
    for (piece *p = s->head, *next; p; p = next) {
        next = p->next;
        free(p);
    }
    free(s);
}

bool lambda_local_stream_is_streaming(struct MHD_Connection *conn)
{
    const char *mode =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Lambda-Runtime-Function-Response-Mode");
    return mode && strcmp(mode, "streaming") == 0;
}

static void wait_a_while(lambda_local_invocation *inv)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    pthread_cond_timedwait(&inv->done_cond, &inv->lock, &until);
}

/* Ends the invocation from the Runtime API side when the stream cannot go
 * on (the caller left, or the response passed Lambda's limit). */
static void end_with_error(upload *u, const char *type, const char *message)
{
    size_t len = 0;
    char *doc = lambda_local_error_json(type, message, &len);
    if (strcmp(type, "Function.ResponseSizeTooLarge") == 0)
        lambda_local_log_line("RequestId: %s Error: %s", u->id, message);
    lambda_local_pool_error(u->env, u->id, doc, len, type);
}

static bool sink(void *arg, const char *data, size_t len)
{
    upload *u = arg;
    lambda_local_invocation *inv = u->inv;
    lambda_local_stream *s = inv->stream;
    u->total += len;
    if (u->total > LAMBDA_LOCAL_STREAM_LIMIT) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "Response payload size exceeded maximum allowed payload streaming size of %d "
                 "bytes.",
                 LAMBDA_LOCAL_STREAM_LIMIT);
        end_with_error(u, "Function.ResponseSizeTooLarge", msg);
        return false;
    }
    pthread_mutex_lock(&inv->lock);
    while (s->queued >= QUEUE_MAX && !s->reader_gone && !inv->done)
        wait_a_while(inv);
    bool gone = s->reader_gone, done = inv->done;
    if (!gone && !done) {
        piece *p = malloc(sizeof *p + len);
        if (!p)
            abort();
        p->next = NULL;
        p->len = len;
        p->off = 0;
        memcpy(p->data, data, len);
        if (s->tail)
            s->tail->next = p;
        else
            s->head = p;
        s->tail = p;
        s->queued += len;
        pthread_cond_broadcast(&inv->done_cond);
    }
    pthread_mutex_unlock(&inv->lock);
    if (gone)
        end_with_error(u, "Runtime.ClientDisconnected",
                       "the caller disconnected while the response was streaming");
    return !gone && !done;
}

static void sink_free(void *arg)
{
    upload *u = arg;
    lambda_local_invocation_release(u->inv);
    free(u);
}

void lambda_local_stream_upload_begin(lambda_local_env *env, struct MHD_Connection *conn,
                                      const char *id, lambda_local_body *body)
{
    lambda_local_invocation *inv = lambda_local_pool_current(env, id);
    if (!inv)
        return; /* a wrong id: answered 400/403 at the end, as for a buffered post */
    if (!inv->stream) {
        lambda_local_invocation_release(inv); /* a buffered caller: collect the body */
        body->limit = LAMBDA_LOCAL_RESPONSE_LIMIT;
        return;
    }
    upload *u = lambda_local_calloc(1, sizeof *u);
    u->env = env;
    u->inv = inv;
    snprintf(u->id, sizeof u->id, "%s", id);
    body->sink = sink;
    body->sink_free = sink_free;
    body->sink_arg = u;
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    pthread_mutex_lock(&inv->lock);
    inv->stream->started = true;
    snprintf(inv->stream->content_type, sizeof inv->stream->content_type, "%s",
             type && *type ? type : "application/octet-stream");
    pthread_cond_broadcast(&inv->done_cond);
    pthread_mutex_unlock(&inv->lock);
}

/* The error document from the trailer (base64), or one made from the type
 * when the body is missing or not base64. */
static char *trailer_error(const char *type, const char *b64, size_t *len)
{
    size_t n = b64 ? strlen(b64) : 0;
    if (n > 0 && n % 4 == 0) {
        unsigned char *doc = malloc(n / 4 * 3 + 1);
        if (!doc)
            abort();
        int got = EVP_DecodeBlock(doc, (const unsigned char *)b64, (int)n);
        if (got >= 0) {
            for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
                got--; /* EVP_DecodeBlock counts padding as bytes */
            doc[got] = '\0';
            *len = (size_t)got;
            return (char *)doc;
        }
        free(doc);
    }
    return lambda_local_error_json(type, "", len);
}

int lambda_local_stream_upload_end(lambda_local_env *env, struct MHD_Connection *conn,
                                   const char *id, lambda_local_body *body)
{
    const char *type =
        MHD_lookup_connection_value(conn, MHD_FOOTER_KIND, "Lambda-Runtime-Function-Error-Type");
    if (type && *type) {
        const char *b64 = MHD_lookup_connection_value(conn, MHD_FOOTER_KIND,
                                                      "Lambda-Runtime-Function-Error-Body");
        size_t len = 0;
        char *doc = trailer_error(type, b64, &len);
        lambda_local_log_line("RequestId: %s Error: the streamed response ended with %s", id, type);
        return lambda_local_pool_error(env, id, doc, len, type);
    }
    if (body->sink) /* every byte went to the caller already */
        return lambda_local_pool_respond(env, id, lambda_local_strdup(""), 0, false);
    bool too_large = body->too_large;
    size_t len = 0;
    char *data = lambda_local_body_take(body, &len);
    return lambda_local_pool_respond(env, id, data, len, too_large);
}

bool lambda_local_stream_wait_start(lambda_local_invocation *inv, char *content_type, size_t size)
{
    pthread_mutex_lock(&inv->lock);
    while (!inv->stream->started && !inv->done)
        pthread_cond_wait(&inv->done_cond, &inv->lock);
    bool started = inv->stream->started;
    if (started)
        snprintf(content_type, size, "%s", inv->stream->content_type);
    pthread_mutex_unlock(&inv->lock);
    return started;
}

size_t lambda_local_stream_read(lambda_local_invocation *inv, char *buf, size_t max)
{
    lambda_local_stream *s = inv->stream;
    pthread_mutex_lock(&inv->lock);
    while (!s->head && !inv->done)
        pthread_cond_wait(&inv->done_cond, &inv->lock);
    size_t n = 0;
    while (s->head && n < max) {
        piece *p = s->head;
        size_t take = p->len - p->off < max - n ? p->len - p->off : max - n;
        memcpy(buf + n, p->data + p->off, take);
        p->off += take;
        n += take;
        if (p->off == p->len) {
            s->head = p->next;
            if (!s->head)
                s->tail = NULL;
            free(p);
        }
    }
    s->queued -= n;
    if (n)
        pthread_cond_broadcast(&inv->done_cond);
    pthread_mutex_unlock(&inv->lock);
    return n;
}

void lambda_local_stream_reader_gone(lambda_local_invocation *inv)
{
    pthread_mutex_lock(&inv->lock);
    inv->stream->reader_gone = true;
    pthread_cond_broadcast(&inv->done_cond);
    pthread_mutex_unlock(&inv->lock);
}

/* lambda-test-stream-bootstrap: streaming handlers for the runtime's
 * streaming tests and lambda-local's (InvokeWithResponseStream, Function
 * URLs). One handler, "stream", driven by its event:
 *
 *   {"chunks": N, "size": B,      N writes of B bytes (default 3 x 16)
 *    "sleep_ms": M,               sleep M ms before each write after the first
 *    "content_type": "text/plain",
 *    "http": {"statusCode": 201, "headers": {"X-A": "1"}, "cookies": ["a=b"]},
 *    "fail_after": K,             fail (Test.MidStream) after K writes
 *    "fail_before": true}         open the stream, fail before any write
 *
 * Through a Function URL the controls are the request body, and
 * {"echo_event": true} (or the path /echo) streams the 2.0 event back.
 *
 * The bytes follow one pattern over the whole stream: byte i is
 * 'a' + i % 26, so a client can check every byte. A write that fails is
 * logged as "stream write failed after N bytes" and the handler returns. */
#include <lambda/runtime.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long number(const cJSON *o, const char *name, long fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : fallback;
}

/* The prelude from the event's "http" object; arrays freed by the caller. */
static int http_prelude(const cJSON *http, lambda_http_prelude *p, const char ***headers,
                        const char ***cookies)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(http, "headers");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(http, "cookies");
    size_t nh = (size_t)cJSON_GetArraySize(h), nc = (size_t)cJSON_GetArraySize(c), i = 0;
    *headers = calloc(2 * nh + 1, sizeof **headers);
    *cookies = calloc(nc + 1, sizeof **cookies);
    if (!*headers || !*cookies)
        return -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, h)
    {
        (*headers)[i++] = it->string;
        (*headers)[i++] = cJSON_IsString(it) ? it->valuestring : "";
    }
    i = 0;
    cJSON_ArrayForEach(it, c)
    {
        if (cJSON_IsString(it))
            (*cookies)[i++] = it->valuestring;
    }
    p->status_code = (int)number(http, "statusCode", 200);
    p->headers = *headers;
    p->cookies = *cookies;
    return 0;
}

static lambda_stream *open_stream(const cJSON *event, lambda_response *res)
{
    const cJSON *http = cJSON_GetObjectItemCaseSensitive(event, "http");
    if (!cJSON_IsObject(http)) {
        const cJSON *ct = cJSON_GetObjectItemCaseSensitive(event, "content_type");
        return lambda_response_stream(res, cJSON_IsString(ct) ? ct->valuestring : NULL);
    }
    lambda_http_prelude p = {0, NULL, NULL};
    const char **headers = NULL, **cookies = NULL;
    lambda_stream *s = NULL;
    if (http_prelude(http, &p, &headers, &cookies) == 0)
        s = lambda_response_stream_http(res, &p);
    else
        lambda_response_failure(res, "Test.OutOfMemory", "prelude");
    free(headers);
    free(cookies);
    return s;
}

static void stream(const lambda_request *req, lambda_response *res, void *userdata)
{
    cJSON *event = cJSON_ParseWithLength(req->payload, req->payload_len);
    if (!event) {
        lambda_response_failure(res, "InvalidInput", "the event is not JSON");
        return;
    }
    /* A Function URL event (payload format 2.0): the controls are its body,
     * and "echo_event" streams the event itself back. */
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(event, "version");
    const cJSON *url_body = cJSON_GetObjectItemCaseSensitive(event, "body");
    if (cJSON_IsString(version) && strcmp(version->valuestring, "2.0") == 0) {
        cJSON *controls = cJSON_IsString(url_body) ? cJSON_Parse(url_body->valuestring) : NULL;
        if (!controls)
            controls = cJSON_CreateObject();
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(event, "rawPath");
        int echo_path = cJSON_IsString(path) && strcmp(path->valuestring, "/echo") == 0;
        if (echo_path || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(controls, "echo_event"))) {
            lambda_stream *s = open_stream(controls, res);
            if (s)
                lambda_stream_write(s, req->payload, req->payload_len);
            cJSON_Delete(controls);
            cJSON_Delete(event);
            return;
        }
        cJSON_Delete(event);
        event = controls;
    }
    long chunks = number(event, "chunks", 3), size = number(event, "size", 16);
    long pause = number(event, "sleep_ms", 0), fail_after = number(event, "fail_after", -1);
    int fail_before = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(event, "fail_before"));
    lambda_stream *s = open_stream(event, res);
    /* The pattern repeats every 26 bytes: write from the right offset of one
     * buffer instead of filling each chunk (fast under sanitizers too). */
    char *buf = size > 0 ? malloc((size_t)size + 26) : NULL;
    for (long j = 0; buf && j < size + 26; j++)
        buf[j] = (char)('a' + j % 26);
    if (!s || (size > 0 && !buf))
        goto out;
    if (fail_before) {
        lambda_response_failure(res, "Test.BeforeStream", "failed before the first byte");
        goto out;
    }
    size_t offset = 0;
    for (long i = 0; i < chunks; i++) {
        if (i == fail_after) {
            lambda_response_failure(res, "Test.MidStream", "failed after %zu bytes", offset);
            goto out;
        }
        if (i > 0 && pause > 0)
            sleep_ms(pause);
        if (lambda_stream_write(s, buf + offset % 26, (size_t)size) != 0) {
            lambda_log(LAMBDA_LOG_WARN, "stream write failed after %zu bytes", offset);
            goto out;
        }
        offset += (size_t)size;
    }
out:
    free(buf);
    cJSON_Delete(event);
}

static const lambda_handler handlers[] = {
    {"stream", NULL, stream, NULL},
};

int main(void)
{
    lambda_runtime_config config = {.handlers = handlers, .handler_count = 1};
    return lambda_run(&config);
}

/* InvokeWithResponseStream (stream_invoke.h). */
#include "stream_invoke.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "eventstream.h"
#include "function_url.h"
#include "invoke_api.h"
#include "logs.h"
#include "stream.h"

#define STREAMING_PREFIX "/2021-11-15/functions/"
#define STREAMING_SUFFIX "/response-streaming-invocations"
#define CHUNK (64u << 10) /* bytes per PayloadChunk */

typedef struct es_reader {
    lambda_local_invocation *inv;
    bool streamed;      /* the runtime streamed (else: a buffered result) */
    size_t result_off;  /* buffered result: how much went out */
    bool complete_sent; /* InvokeComplete queued */
    bool finished;      /* the client got everything */
    unsigned char *frame;
    size_t frame_len, frame_off;
    char chunk[CHUNK];
} es_reader;

static void set_frame(es_reader *r, const char *event, const char *content_type,
                      const void *payload, size_t len)
{
    lambda_local_es_header h[] = {
        {":event-type", 11, event, strlen(event)},
        {":content-type", 13, content_type, strlen(content_type)},
        {":message-type", 13, "event", 5},
    };
    size_t size = lambda_local_es_size(h, 3, len);
    free(r->frame);
    r->frame = lambda_local_calloc(1, size);
    r->frame_len = lambda_local_es_encode(r->frame, h, 3, payload, len);
    r->frame_off = 0;
}

/* {"ErrorCode","ErrorDetails"} from the invocation's error document. */
static char *complete_payload(lambda_local_invocation *inv)
{
    cJSON *o = cJSON_CreateObject();
    if (inv->function_error) {
        cJSON *doc = cJSON_ParseWithLength(inv->result, inv->result_len);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "errorType");
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(doc, "errorMessage");
        cJSON_AddStringToObject(o, "ErrorCode",
                                cJSON_IsString(type) ? type->valuestring : "Unhandled");
        cJSON_AddStringToObject(o, "ErrorDetails",
                                cJSON_IsString(message) ? message->valuestring
                                : inv->result           ? inv->result
                                                        : "");
        cJSON_Delete(doc);
    }
    char *log_result = lambda_local_invocation_log_result(inv); /* X-Amz-Log-Type: Tail */
    if (log_result)
        cJSON_AddStringToObject(o, "LogResult", log_result);
    free(log_result);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    return s;
}

/* The next message: a PayloadChunk while there are bytes, then
 * InvokeComplete. False once everything was sent. */
static bool next_frame(es_reader *r)
{
    lambda_local_invocation *inv = r->inv;
    if (r->complete_sent)
        return false;
    size_t n = 0;
    if (r->streamed) {
        n = lambda_local_stream_read(inv, r->chunk, CHUNK);
    } else if (!inv->function_error && r->result_off < inv->result_len) {
        n = inv->result_len - r->result_off < CHUNK ? inv->result_len - r->result_off : CHUNK;
        memcpy(r->chunk, inv->result + r->result_off, n);
        r->result_off += n;
    }
    if (n) {
        set_frame(r, "PayloadChunk", "application/octet-stream", r->chunk, n);
        return true;
    }
    char *payload = complete_payload(inv); /* the invocation is complete here */
    set_frame(r, "InvokeComplete", "application/json", payload, strlen(payload));
    free(payload);
    r->complete_sent = true;
    return true;
}

static ssize_t read_events(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    es_reader *r = cls;
    if (r->frame_off == r->frame_len && !next_frame(r)) {
        r->finished = true;
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = r->frame_len - r->frame_off < max ? r->frame_len - r->frame_off : max;
    memcpy(buf, r->frame + r->frame_off, n);
    r->frame_off += n;
    return (ssize_t)n;
}

static void free_reader(void *cls)
{
    es_reader *r = cls;
    if (!r->finished && r->streamed)
        lambda_local_stream_reader_gone(r->inv);
    lambda_local_invocation_release(r->inv);
    free(r->frame);
    free(r);
}

static enum MHD_Result invoke_streaming(lambda_local_pool *const *pools, size_t count,
                                        struct MHD_Connection *conn, const char *name,
                                        lambda_local_body *body)
{
    const char *qualifier = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "Qualifier");
    char *arn = NULL;
    lambda_local_pool *pool = lambda_local_find_pool(pools, count, name, qualifier, &arn);
    if (!pool) {
        char *msg = lambda_local_format("Function not found: %s", arn);
        free(arn);
        enum MHD_Result r =
            lambda_local_http_service_error(conn, 404, "ResourceNotFoundException", msg);
        free(msg);
        return r;
    }
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Invocation-Type");
    if (type && strcmp(type, "RequestResponse") != 0 && strcmp(type, "DryRun") != 0) {
        free(arn);
        return lambda_local_http_service_error(
            conn, 400, "InvalidParameterValueException",
            "X-Amz-Invocation-Type must be RequestResponse or DryRun for a streaming invoke");
    }
    bool tail = false;
    const char *tenant = NULL;
    const char *bad_header =
        lambda_local_invoke_headers(conn, lambda_local_pool_function(pool), &tail, &tenant);
    if (bad_header) {
        free(arn);
        return lambda_local_http_service_error(conn, 400, "InvalidParameterValueException",
                                               bad_header);
    }
    if (body->too_large) {
        free(arn);
        return lambda_local_http_service_error(
            conn, 413, "RequestTooLargeException",
            "Request must be smaller than 6291456 bytes for the InvokeWithResponseStream "
            "operation");
    }
    size_t len = 0;
    char *payload = lambda_local_body_take(body, &len);
    if (len == 0) {
        free(payload);
        payload = lambda_local_strdup("{}");
        len = 2;
    }
    cJSON *parsed = cJSON_ParseWithLength(payload, len);
    cJSON_Delete(parsed);
    if (!parsed || (type && strcmp(type, "DryRun") == 0)) {
        free(payload);
        free(arn);
        if (!parsed)
            return lambda_local_http_service_error(conn, 400, "InvalidRequestContentException",
                                                   "Could not parse request body into json");
        return lambda_local_http_send(conn, 204, NULL, 0, NULL);
    }
    lambda_local_invocation *inv = lambda_local_invocation_new(payload, len);
    free(payload);
    inv->invoked_arn = arn;
    inv->log_tail = tail;
    inv->tenant_id = tenant ? lambda_local_strdup(tenant) : NULL;
    lambda_local_stream_attach(inv);
    lambda_local_pool_submit(pool, inv);

    /* The headers wait for the runtime's first byte: they carry its
     * content type. */
    char content_type[256] = "application/octet-stream";
    es_reader *r = lambda_local_calloc(1, sizeof *r);
    r->inv = inv;
    r->streamed = lambda_local_stream_wait_start(inv, content_type, sizeof content_type);
    struct MHD_Response *res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, CHUNK + 1024,
                                                                 read_events, r, free_reader);
    if (!res) {
        free_reader(r);
        return MHD_NO;
    }
    MHD_add_response_header(res, "Content-Type", content_type);
    MHD_add_response_header(res, "X-Amz-Executed-Version", "$LATEST");
    MHD_add_response_header(res, "x-amzn-RequestId", inv->request_id);
    enum MHD_Result ret = MHD_queue_response(conn, 200, res);
    MHD_destroy_response(res);
    return ret;
}

static bool split_path(const char *url, const char *prefix, const char *suffix, char **name)
{
    size_t url_len = strlen(url), pre = strlen(prefix), suf = strlen(suffix);
    if (strncmp(url, prefix, pre) != 0 || url_len <= pre + suf ||
        strcmp(url + url_len - suf, suffix) != 0)
        return false;
    *name = lambda_local_format("%.*s", (int)(url_len - pre - suf), url + pre);
    return true;
}

bool lambda_local_stream_route(lambda_local_pool *const *pools, size_t count,
                               struct MHD_Connection *conn, const char *url, const char *method,
                               lambda_local_body *body, enum MHD_Result *result)
{
    char *name = NULL;
    if (split_path(url, STREAMING_PREFIX, STREAMING_SUFFIX, &name)) {
        *result = strcmp(method, "POST") != 0
                      ? lambda_local_http_service_error(conn, 405, "UnknownOperationException",
                                                        "InvokeWithResponseStream must be a POST")
                      : invoke_streaming(pools, count, conn, name, body);
        free(name);
        return true;
    }
    if (strncmp(url, LAMBDA_LOCAL_URL_PREFIX, strlen(LAMBDA_LOCAL_URL_PREFIX)) == 0) {
        *result = lambda_local_function_url(pools, count, conn, url, method, body);
        return true;
    }
    return false;
}

#include "handler.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_body.h"
#include "stream.h"

/* cJSON_PrintPreallocated()'s documented margin. */
#define CJSON_SPARE 5

static void copy_type(char out[128], const char *type)
{
    snprintf(out, 128, "%s", type && *type ? type : LAMBDA_DEFAULT_ERROR_TYPE);
}

void *lambda_error_set(lambda_error *err, const char *type, const char *fmt, ...)
{
    if (!err)
        return NULL;
    copy_type(err->type, type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return NULL;
}

void lambda_response_success(lambda_response *res, const char *payload, size_t len,
                             const char *content_type)
{
    if (res->stream) { /* already streaming: the payload is more of the stream */
        lambda_stream_write(res->stream, payload, payload ? len : 0);
        return;
    }
    res->kind = LAMBDA_RESPONSE_SUCCESS;
    lambda_buf_clear(&res->payload);
    /* Same rule as the error type: it becomes a header, so no control
     * characters (CR/LF would let a handler inject headers). */
    lambda_error_header_value(res->content_type, sizeof res->content_type,
                              content_type && *content_type ? content_type : "application/json");
    if (lambda_buf_append(&res->payload, payload ? payload : "", payload ? len : 0) != 0) {
        res->kind = LAMBDA_RESPONSE_FAILURE;
        copy_type(res->error.type, "Runtime.OutOfMemory");
        snprintf(res->error.message, sizeof res->error.message,
                 "could not copy a %zu-byte response", len);
    }
}

void lambda_response_failure(lambda_response *res, const char *error_type, const char *fmt, ...)
{
    res->kind = LAMBDA_RESPONSE_FAILURE;
    copy_type(res->error.type, error_type);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error.message, sizeof res->error.message, fmt, ap);
    va_end(ap);
}

void lambda_response_clear(lambda_response *res)
{
    lambda_stream_release(res);
    res->kind = LAMBDA_RESPONSE_NONE;
    lambda_buf_clear(&res->payload);
    res->content_type[0] = '\0';
    res->error.type[0] = '\0';
    res->error.message[0] = '\0';
}

void lambda_response_free(lambda_response *res)
{
    lambda_response_clear(res);
    lambda_buf_free(&res->payload);
}

const lambda_handler *lambda_route(const lambda_handler *table, size_t count, const char *name,
                                   lambda_error *err)
{
    for (size_t i = 0; i < count; i++) {
        if (!table[i].name || !*table[i].name || !table[i].json == !table[i].raw) {
            lambda_error_set(err, "Runtime.InvalidHandlerTable",
                             "handler table entry %zu (%s) must have a name "
                             "and exactly one of json/raw",
                             i, table[i].name ? table[i].name : "unnamed");
            return NULL;
        }
    }
    if (!name || !*name) {
        lambda_error_set(err, "Runtime.HandlerNotFound",
                         "_HANDLER is not set: set the function's Handler to "
                         "one of this bootstrap's %zu handlers",
                         count);
        return NULL;
    }
    for (size_t i = 0; i < count; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];

    /* List what exists: the usual cause is a typo in the Handler setting. */
    char known[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < count && used < sizeof known; i++) {
        int n = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", table[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    lambda_error_set(err, "Runtime.HandlerNotFound",
                     "no handler named '%s' in this bootstrap (known: %s)", name,
                     count ? known : "none");
    return NULL;
}

int lambda_json_has_nul(const char *json, size_t len)
{
    const char *end = json + len;
    for (const char *p = json; p + 6 <= end; p++) {
        if (p[0] != '\\' || memcmp(p + 1, "u0000", 5) != 0)
            continue;
        /* An escape only if the backslashes before it are an even run:
         * "\\\\u0000" is a literal backslash followed by "u0000". */
        size_t before = 0;
        for (const char *q = p; q > json && q[-1] == '\\'; q--)
            before++;
        if (before % 2 == 0)
            return 1;
    }
    return 0;
}

/* Prints the handler's result straight into the response buffer, which
 * keeps its memory from one invocation to the next: no allocation and no
 * copy (cJSON_PrintUnformatted allocates, grows and the result is then
 * copied). cJSON asks for 5 spare bytes. Returns -1 when it does not fit:
 * the caller prints the usual way, which grows the buffer for next time. */
static int print_in_place(lambda_response *res, const cJSON *out)
{
    lambda_buf *b = &res->payload;
    if (b->cap <= CJSON_SPARE + 1 || b->cap - CJSON_SPARE > INT_MAX)
        return -1;
    if (!cJSON_PrintPreallocated((cJSON *)out, b->data, (int)(b->cap - CJSON_SPARE), 0))
        return -1;
    b->len = strlen(b->data);
    res->kind = LAMBDA_RESPONSE_SUCCESS;
    memcpy(res->content_type, "application/json", sizeof "application/json");
    return 0;
}

static void dispatch_json(const lambda_handler *h, const lambda_request *req, lambda_response *res)
{
    const char *end = NULL;
    cJSON *event = cJSON_ParseWithLengthOpts(req->payload, req->payload_len, &end, 0);
    if (!event) {
        size_t at = end && end >= req->payload ? (size_t)(end - req->payload) : 0;
        lambda_response_failure(res, "Runtime.InvalidEvent",
                                "event is not valid JSON (error at byte %zu "
                                "of %zu)",
                                at, req->payload_len);
        return;
    }
    if (lambda_json_has_nul(req->payload, req->payload_len)) {
        cJSON_Delete(event);
        lambda_response_failure(res, "Runtime.InvalidEvent",
                                "event holds a \\u0000 escape: a C handler "
                                "would see the string cut at the NUL");
        return;
    }
    lambda_error err = {"", ""};
    cJSON *out = h->json(event, req->context, &err, h->userdata);
    cJSON_Delete(event);
    if (!out) {
        if (err.type[0] || err.message[0])
            lambda_response_failure(res, err.type, "%s", err.message);
        else
            lambda_response_failure(res, "Runtime.NoResponse",
                                    "handler '%s' returned NULL without "
                                    "lambda_error_set()",
                                    h->name);
        return;
    }
    if (print_in_place(res, out) == 0) {
        cJSON_Delete(out);
        return;
    }
    char *json = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    if (!json) {
        lambda_response_failure(res, "Runtime.SerializationError",
                                "could not serialise the result of handler "
                                "'%s' (out of memory?)",
                                h->name);
        return;
    }
    lambda_response_success(res, json, strlen(json), "application/json");
    cJSON_free(json);
}

void lambda_dispatch(const lambda_handler *h, const lambda_request *req, lambda_response *res,
                     size_t limit)
{
    if (h->json) {
        dispatch_json(h, req, res);
    } else {
        h->raw(req, res, h->userdata);
        if (res->kind == LAMBDA_RESPONSE_NONE)
            lambda_response_failure(res, "Runtime.NoResponse",
                                    "handler '%s' answered neither "
                                    "lambda_response_success() nor "
                                    "lambda_response_failure()",
                                    h->name);
    }
    if (res->kind == LAMBDA_RESPONSE_SUCCESS && !res->stream && res->payload.len > limit) {
        size_t size = res->payload.len;
        lambda_buf_clear(&res->payload);
        /* The wording Lambda itself uses, so tooling recognises it. */
        lambda_response_failure(res, "Function.ResponseSizeTooLarge",
                                "Response payload size (%zu bytes) exceeded "
                                "maximum allowed payload size (%zu bytes).",
                                size, limit);
    }
}

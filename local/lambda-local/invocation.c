/* Invocations: creation, completion hand-off, reference counting. */
#include "invocation.h"

#include "stream.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lambda_local_invocation *lambda_local_invocation_new(const char *payload, size_t len)
{
    lambda_local_invocation *inv = lambda_local_calloc(1, sizeof *inv);
    lambda_local_uuid(inv->request_id);
    inv->payload = malloc(len + 1);
    if (!inv->payload)
        abort();
    memcpy(inv->payload, payload, len);
    inv->payload[len] = '\0';
    inv->payload_len = len;

    /* X-Ray's format: Root=1-<8 hex epoch seconds>-<24 hex>;Parent=<16 hex>. */
    char root[25], parent[17];
    lambda_local_random_hex(root, 24);
    lambda_local_random_hex(parent, 16);
    inv->trace_id = lambda_local_format("Root=1-%08x-%s;Parent=%s;Sampled=0",
                                        (unsigned)(lambda_local_wall_ms() / 1000), root, parent);
    pthread_mutex_init(&inv->lock, NULL);
    pthread_cond_init(&inv->done_cond, NULL);
    inv->refs = 1;
    return inv;
}

void lambda_local_invocation_retain(lambda_local_invocation *inv)
{
    pthread_mutex_lock(&inv->lock);
    inv->refs++;
    pthread_mutex_unlock(&inv->lock);
}

void lambda_local_invocation_release(lambda_local_invocation *inv)
{
    if (!inv)
        return;
    pthread_mutex_lock(&inv->lock);
    int left = --inv->refs;
    pthread_mutex_unlock(&inv->lock);
    if (left > 0)
        return;
    pthread_mutex_destroy(&inv->lock);
    pthread_cond_destroy(&inv->done_cond);
    free(inv->payload);
    free(inv->client_context);
    free(inv->trace_id);
    free(inv->invoked_arn);
    free(inv->tenant_id);
    free(inv->result);
    free(inv->log_buf);
    lambda_local_stream_free(inv->stream);
    free(inv);
}

void lambda_local_invocation_complete(lambda_local_invocation *inv, bool function_error,
                                      char *result, size_t len)
{
    pthread_mutex_lock(&inv->lock);
    if (inv->done) {
        pthread_mutex_unlock(&inv->lock);
        free(result);
        return;
    }
    inv->done = true;
    inv->function_error = function_error;
    inv->result = result;
    inv->result_len = len;
    pthread_cond_broadcast(&inv->done_cond);
    pthread_mutex_unlock(&inv->lock);
    if (inv->on_complete)
        inv->on_complete(inv, inv->on_complete_arg);
    lambda_local_invocation_release(inv);
}

char *lambda_local_error_json(const char *type, const char *message, size_t *len)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorMessage", message);
    cJSON_AddStringToObject(o, "errorType", type);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    *len = strlen(s);
    return s;
}

void lambda_local_invocation_fail(lambda_local_invocation *inv, const char *type, const char *fmt,
                                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = NULL;
    if (vasprintf(&message, fmt, ap) < 0)
        abort();
    va_end(ap);
    size_t len = 0;
    char *json = lambda_local_error_json(type, message, &len);
    free(message);
    lambda_local_invocation_complete(inv, true, json, len);
}

void lambda_local_invocation_wait(lambda_local_invocation *inv)
{
    pthread_mutex_lock(&inv->lock);
    while (!inv->done)
        pthread_cond_wait(&inv->done_cond, &inv->lock);
    pthread_mutex_unlock(&inv->lock);
}

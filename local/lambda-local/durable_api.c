/* The durable service's HTTP endpoints (Lambda API 2025-12-01), rest-json. */
#include "durable_internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "invoke_api.h"

#define API_PREFIX "/2025-12-01/"
#define EXECUTIONS "durable-executions/"
#define CALLBACKS "durable-execution-callbacks/"
#define FUNCTIONS "functions/"
#define LIST_SUFFIX "/durable-executions"

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, char *body)
{
    char request_id[37];
    lambda_local_uuid(request_id);
    const char *headers[] = {"Content-Type", "application/json", "x-amzn-RequestId", request_id,
                             NULL};
    return lambda_local_http_send(conn, status, body, body ? strlen(body) : 0, headers);
}

static enum MHD_Result send_object(struct MHD_Connection *conn, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    return send_json(conn, 200, s);
}

static enum MHD_Result send_error(struct MHD_Connection *conn, const durable_error *err)
{
    return lambda_local_http_service_error(conn, err->status, err->type, err->message);
}

static const char *query(struct MHD_Connection *conn, const char *key)
{
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
}

/* A boolean query parameter: absent -> `dflt`; "true"/"false" only. */
static bool query_bool(struct MHD_Connection *conn, const char *key, bool dflt, bool *ok)
{
    const char *v = query(conn, key);
    if (!v)
        return dflt;
    if (strcmp(v, "true") == 0)
        return true;
    if (strcmp(v, "false") != 0)
        *ok = false;
    return false;
}

/* Checkpoint and GetState answer an unknown ARN with
 * InvalidParameterValueException (the model lists no ResourceNotFound for
 * them); the others with ResourceNotFoundException. */
static enum MHD_Result unknown_execution(struct MHD_Connection *conn, const char *arn, bool invalid)
{
    char *msg = lambda_local_format("Durable execution not found: %s", arn);
    enum MHD_Result r = lambda_local_http_service_error(
        conn, invalid ? 400 : 404,
        invalid ? "InvalidParameterValueException" : "ResourceNotFoundException", msg);
    free(msg);
    return r;
}

static enum MHD_Result checkpoint(lambda_local_durable *d, struct MHD_Connection *conn,
                                  durable_exec *e, lambda_local_body *body)
{
    size_t len = 0;
    char *data = lambda_local_body_take(body, &len);
    durable_error err = {0};
    int64_t now = lambda_local_wall_ms();
    /* Timers do not fire while the function runs (see the timer thread):
     * one that came due shows in the answer to the function's next
     * checkpoint, as the service reports it. */
    if (e->status == DURABLE_RUNNING && durable_fire_timers(e, now) && e->status != DURABLE_RUNNING)
        durable_changed(d, e); /* its ExecutionTimeout ended it */
    char *answer = durable_checkpoint(e, data, len, d->time_scale, now, &err);
    free(data);
    if (!answer)
        return send_error(conn, &err);
    if (!durable_changed(d, e)) {
        /* Not acknowledged: what is not on disk could be lost. The token is
         * spent, so the SDK fails the invocation and the next one replays
         * from the state as it stands. */
        free(answer);
        return lambda_local_http_service_error(conn, 500, "ServiceException",
                                               "lambda-local cannot write the durable state "
                                               "directory (see its log)");
    }
    return send_json(conn, 200, answer);
}

static enum MHD_Result stop(lambda_local_durable *d, struct MHD_Connection *conn, durable_exec *e,
                            lambda_local_body *body)
{
    size_t len = 0;
    char *data = lambda_local_body_take(body, &len);
    cJSON *error = len ? cJSON_ParseWithLength(data, len) : NULL;
    free(data);
    if (len && !cJSON_IsObject(error)) {
        cJSON_Delete(error);
        return lambda_local_http_service_error(conn, 400, "InvalidParameterValueException",
                                               "The request body must be an ErrorObject");
    }
    if (e->status != DURABLE_RUNNING) {
        cJSON_Delete(error);
        return lambda_local_http_service_error(conn, 400, "InvalidParameterValueException",
                                               "The durable execution has already ended");
    }
    int64_t now = lambda_local_wall_ms();
    durable_finish(e, DURABLE_STOPPED, NULL, error, now);
    cJSON_Delete(error);
    durable_changed(d, e);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "StopTimestamp", durable_timestamp(now));
    return send_object(conn, o);
}

/* /durable-executions/{arn}[/checkpoint|/state|/history|/stop]; MHD has
 * already percent-decoded the path, so the ARN's '/' are plain. The ARN
 * ends with a UUID, never with one of those words. */
static enum MHD_Result executions(lambda_local_durable *d, struct MHD_Connection *conn,
                                  const char *rest, const char *method, lambda_local_body *body)
{
    static const char *const suffixes[] = {"/checkpoint", "/state", "/history", "/stop", ""};
    static const char *const methods[] = {"POST", "GET", "GET", "POST", "GET"};
    size_t n = strlen(rest), which = 4;
    for (size_t i = 0; i < 4; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && strcmp(rest + n - k, suffixes[i]) == 0) {
            which = i;
            break;
        }
    }
    if (strcmp(method, methods[which]) != 0)
        return lambda_local_http_service_error(conn, 405, "UnknownOperationException",
                                               "Unknown operation");
    char *arn = lambda_local_format("%.*s", (int)(n - strlen(suffixes[which])), rest);
    enum MHD_Result r;
    pthread_mutex_lock(&d->lock);
    durable_exec *e = durable_find(d, arn);
    durable_error err = {0};
    bool ok = true;
    if (!e) {
        r = unknown_execution(conn, arn, which <= 1);
    } else if (which == 0) {
        r = checkpoint(d, conn, e, body);
    } else if (which == 1) {
        char *page = durable_state_page(e, query(conn, "CheckpointToken"), query(conn, "Marker"),
                                        query(conn, "MaxItems"), &err);
        r = page ? send_json(conn, 200, page) : send_error(conn, &err);
    } else if (which == 2) {
        bool data = query_bool(conn, "IncludeExecutionData", true, &ok);
        bool reverse = query_bool(conn, "ReverseOrder", false, &ok);
        char *page = ok ? durable_history_page(e, data, reverse, query(conn, "Marker"),
                                               query(conn, "MaxItems"), &err)
                        : NULL;
        if (!ok)
            r = lambda_local_http_service_error(conn, 400, "InvalidParameterValueException",
                                                "IncludeExecutionData and ReverseOrder are "
                                                "true or false");
        else
            r = page ? send_json(conn, 200, page) : send_error(conn, &err);
    } else if (which == 3) {
        r = stop(d, conn, e, body);
    } else {
        bool data = query_bool(conn, "IncludeExecutionData", true, &ok);
        r = ok ? send_object(conn, durable_describe(e, data))
               : lambda_local_http_service_error(conn, 400, "InvalidParameterValueException",
                                                 "IncludeExecutionData is true or false");
    }
    pthread_mutex_unlock(&d->lock);
    free(arn);
    return r;
}

/* /durable-execution-callbacks/{CallbackId}/succeed|fail|heartbeat */
static enum MHD_Result callbacks(lambda_local_durable *d, struct MHD_Connection *conn,
                                 const char *rest, const char *method, lambda_local_body *body)
{
    const char *slash = strrchr(rest, '/');
    const char *verb = slash ? slash + 1 : "";
    if (!slash || slash == rest || strcmp(method, "POST") != 0 ||
        (strcmp(verb, "succeed") != 0 && strcmp(verb, "fail") != 0 &&
         strcmp(verb, "heartbeat") != 0))
        return lambda_local_http_service_error(conn, 404, "UnknownOperationException",
                                               "Unknown operation");
    char *id = lambda_local_format("%.*s", (int)(slash - rest), rest);
    size_t len = 0;
    char *data = lambda_local_body_take(body, &len);
    cJSON *error = NULL;
    enum MHD_Result r;
    durable_error err = {0};
    if (strcmp(verb, "fail") == 0 && len) {
        error = cJSON_ParseWithLength(data, len);
        if (!cJSON_IsObject(error)) {
            r = lambda_local_http_service_error(conn, 400, "InvalidParameterValueException",
                                                "The request body must be an ErrorObject");
            goto done;
        }
    }
    pthread_mutex_lock(&d->lock);
    durable_op *op = NULL;
    durable_exec *e = durable_find_callback_exec(d, id, &op);
    bool ok;
    if (!e) {
        pthread_mutex_unlock(&d->lock);
        char *msg = lambda_local_format("Callback not found: %s", id);
        r = lambda_local_http_service_error(conn, 404, "ResourceNotFoundException", msg);
        free(msg);
        goto done;
    }
    int64_t now = lambda_local_wall_ms();
    if (strcmp(verb, "heartbeat") == 0)
        ok = durable_callback_heartbeat(e, op, d->time_scale, now, &err);
    else
        ok = durable_callback_complete(e, op, strcmp(verb, "succeed") == 0, data, len, error, now,
                                       &err);
    if (ok && strcmp(verb, "heartbeat") != 0)
        durable_wake_execution(d, e);
    else if (ok)
        durable_changed(d, e);
    pthread_mutex_unlock(&d->lock);
    r = ok ? send_json(conn, 200, lambda_local_strdup("{}")) : send_error(conn, &err);
done:
    cJSON_Delete(error);
    free(data);
    free(id);
    return r;
}

/* Statuses=A&Statuses=B: every value of a repeated query parameter. */
typedef struct status_filter {
    bool any;
    bool want[DURABLE_STOPPED + 1];
    bool bad;
} status_filter;

static enum MHD_Result collect_status(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    status_filter *f = cls;
    if (strcmp(key, "Statuses") != 0 || !value)
        return MHD_YES;
    bool found = false;
    for (int s = DURABLE_RUNNING; s <= DURABLE_STOPPED; s++)
        if (strcmp(value, durable_status_name((durable_status)s)) == 0)
            f->want[s] = found = true;
    f->any = true;
    if (!found)
        f->bad = true;
    return MHD_YES;
}

/* ISO-8601 (as the SDKs write query timestamps) or epoch seconds, to ms. */
static bool parse_time(const char *s, int64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end) {
        double frac = 0;
        if (*end == '.')
            frac = strtod(end, (char **)&end);
        if (*end != 'Z' && *end != '\0')
            return false;
        *ms = (int64_t)timegm(&tm) * 1000 + (int64_t)(frac * 1000);
        return true;
    }
    char *e = NULL;
    double v = strtod(s, &e);
    if (e == s || *e)
        return false;
    *ms = (int64_t)(v * 1000);
    return true;
}

static enum MHD_Result list_executions(lambda_local_durable *d, struct MHD_Connection *conn,
                                       const char *function)
{
    char *arn = NULL;
    lambda_local_pool *pool =
        lambda_local_find_pool(d->pools, d->count, function, query(conn, "Qualifier"), &arn);
    free(arn);
    if (!pool) {
        char *msg = lambda_local_format("Function not found: %s", function);
        enum MHD_Result r =
            lambda_local_http_service_error(conn, 404, "ResourceNotFoundException", msg);
        free(msg);
        return r;
    }
    status_filter f = {0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_status, &f);
    int64_t after = INT64_MIN, before = INT64_MAX;
    const char *a = query(conn, "StartedAfter"), *b = query(conn, "StartedBefore");
    const char *name = query(conn, "DurableExecutionName");
    bool ok = !f.bad && (!a || parse_time(a, &after)) && (!b || parse_time(b, &before));
    bool reverse = query_bool(conn, "ReverseOrder", false, &ok);
    size_t max = 100, start = 0;
    const char *m = query(conn, "MaxItems"), *marker = query(conn, "Marker");
    if (m) {
        char *end = NULL;
        long v = strtol(m, &end, 10);
        ok = ok && *end == '\0' && v >= 1 && v <= 1000;
        max = ok ? (size_t)v : max;
    }
    if (marker) {
        char *end = NULL;
        long v = strtol(marker, &end, 10);
        ok = ok && *end == '\0' && v >= 0;
        start = ok ? (size_t)v : 0;
    }
    if (!ok)
        return lambda_local_http_service_error(
            conn, 400, "InvalidParameterValueException",
            "Invalid filter: Statuses (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, STOPPED), "
            "StartedAfter/StartedBefore (ISO-8601), ReverseOrder, Marker or MaxItems (1-1000)");
    const char *fn = lambda_local_pool_function(pool)->name;
    cJSON *o = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(o, "DurableExecutions");
    pthread_mutex_lock(&d->lock);
    size_t matched = 0, n = d->nexecs;
    bool more = false;
    for (size_t k = 0; k < n; k++) {
        const durable_exec *e = d->execs[reverse ? n - 1 - k : k];
        if (strcmp(e->function_name, fn) != 0 || (f.any && !f.want[e->status]) ||
            e->start_ms <= after || e->start_ms >= before || (name && !strstr(e->name, name)))
            continue;
        if (matched++ < start)
            continue;
        if ((size_t)cJSON_GetArraySize(list) == max) {
            more = true;
            break;
        }
        cJSON_AddItemToArray(list, durable_summary(e));
    }
    pthread_mutex_unlock(&d->lock);
    if (more) {
        char next[32];
        snprintf(next, sizeof next, "%zu", start + max);
        cJSON_AddStringToObject(o, "NextMarker", next);
    }
    return send_object(conn, o);
}

bool lambda_local_durable_route(lambda_local_durable *d, struct MHD_Connection *conn,
                                const char *url, const char *method, lambda_local_body *body,
                                enum MHD_Result *result)
{
    if (strncmp(url, API_PREFIX, strlen(API_PREFIX)) != 0)
        return false;
    const char *rest = url + strlen(API_PREFIX);
    size_t n = strlen(rest);
    if (body->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "Request must be smaller than %d bytes",
                 LAMBDA_LOCAL_REQUEST_LIMIT);
        *result = lambda_local_http_service_error(conn, 413, "RequestTooLargeException", msg);
    } else if (strncmp(rest, EXECUTIONS, strlen(EXECUTIONS)) == 0 && n > strlen(EXECUTIONS)) {
        *result = executions(d, conn, rest + strlen(EXECUTIONS), method, body);
    } else if (strncmp(rest, CALLBACKS, strlen(CALLBACKS)) == 0 && n > strlen(CALLBACKS)) {
        *result = callbacks(d, conn, rest + strlen(CALLBACKS), method, body);
    } else if (strncmp(rest, FUNCTIONS, strlen(FUNCTIONS)) == 0 &&
               n > strlen(FUNCTIONS) + strlen(LIST_SUFFIX) &&
               strcmp(rest + n - strlen(LIST_SUFFIX), LIST_SUFFIX) == 0 &&
               strcmp(method, "GET") == 0) {
        char *fn = lambda_local_format("%.*s", (int)(n - strlen(FUNCTIONS) - strlen(LIST_SUFFIX)),
                                       rest + strlen(FUNCTIONS));
        *result = list_executions(d, conn, fn);
        free(fn);
    } else {
        *result = lambda_local_http_service_error(conn, 404, "UnknownOperationException",
                                                  "Unknown operation");
    }
    return true;
}

/*
 * DownloadReport: streams reports/<customerId>/<reportId>/report.csv from
 * the report store to the caller, behind a Function URL in RESPONSE_STREAM
 * mode (GET /<customerId>/<reportId>) or through InvokeWithResponseStream
 * ({"customerId","reportId"}). The file is read in ranges
 * (REPORT_DOWNLOAD_RANGE bytes, default 8 MiB: one ranged GET each on S3)
 * and each piece is written to the stream as it arrives, so memory stays
 * bounded by the store's read chunk and the runtime's 64 KiB ring whatever
 * the report's size.
 *
 * HTTP answers: 200 text/csv with Content-Disposition; 400 bad ids; 404 no
 * such report; 405 not GET/HEAD. A store failure before the first byte is a
 * function error (the URL answers 502); after it, the error goes out in the
 * stream's trailers (the client sees the response cut off).
 */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler_common.h"

#define DEFAULT_RANGE (8u << 20)
#define MIN_RANGE (64u << 10)

typedef struct download {
    lambda_stream *out;
    int client_gone; /* a write failed: the caller left (or 200 MiB passed) */
    uint64_t sent;
} download;

static int to_stream(const char *data, size_t len, void *ud)
{
    download *d = ud;
    if (lambda_stream_write(d->out, data, len) != 0) {
        d->client_gone = 1;
        return 1;
    }
    d->sent += len;
    return 0;
}

/* A small JSON answer ({"message": ...}) with its status, for HTTP callers. */
static void http_message(lambda_response *res, int status, const char *message,
                         const char *const *extra_headers)
{
    const char *headers[8] = {"Content-Type", "application/json"};
    size_t n = 2;
    for (size_t i = 0; extra_headers && extra_headers[i] && n < 6; i++)
        headers[n++] = extra_headers[i];
    headers[n] = NULL;
    lambda_http_prelude prelude = {status, headers, NULL};
    lambda_stream *out = lambda_response_stream_http(res, &prelude);
    cJSON *o = cJSON_CreateObject();
    char *body =
        o && cJSON_AddStringToObject(o, "message", message) ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (out && body)
        lambda_stream_write(out, body, strlen(body));
    cJSON_free(body);
}

/* The ids: from the path "/<customerId>/<reportId>" of a Function URL
 * event, else from the event's own fields. */
static int read_ids(const cJSON *event, int http, char *customer, size_t csize, char *report_id,
                    size_t rsize, lambda_error *err)
{
    const char *c = NULL, *r = NULL;
    cJSON *ids = NULL;
    if (http) {
        const char *path = report_get_string(event, "rawPath");
        const char *first = path ? path + strspn(path, "/") : "";
        const char *slash = strchr(first, '/');
        ids = cJSON_CreateObject();
        if (slash && ids) {
            char *cust = strndup(first, (size_t)(slash - first));
            const char *rest = slash + 1;
            size_t rlen = strcspn(rest, "/");
            char *rep = strndup(rest, rlen);
            if (cust && rep && rest[rlen] == '\0') {
                cJSON_AddStringToObject(ids, "customerId", cust);
                cJSON_AddStringToObject(ids, "reportId", rep);
            }
            free(cust);
            free(rep);
        }
        event = ids;
    }
    int rc = ids || !http ? report_get_ids(event, &c, &r, err) : -1;
    if (rc == 0) {
        snprintf(customer, csize, "%s", c);
        snprintf(report_id, rsize, "%s", r);
    } else if (http && !ids) {
        invalid(err, "out of memory reading the path");
    }
    cJSON_Delete(ids);
    return rc;
}

static void stream_report(lambda_response *res, lambda_store *store, const char *key, uint64_t size,
                          const char *report_id, int http, int head)
{
    download d = {NULL, 0, 0};
    if (http) {
        char disposition[160], length[32];
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s.csv\"", report_id);
        snprintf(length, sizeof length, "%llu", (unsigned long long)size);
        const char *headers[] = {"Content-Type",  "text/csv",       "Content-Disposition",
                                 disposition,     "X-Report-Bytes", length,
                                 "Cache-Control", "no-store",       NULL};
        lambda_http_prelude prelude = {200, headers, NULL};
        d.out = lambda_response_stream_http(res, &prelude);
    } else {
        d.out = lambda_response_stream(res, "text/csv");
    }
    if (!d.out || head) {
        if (d.out)
            lambda_stream_write(d.out, "", 0); /* the prelude alone */
        return;
    }
    uint64_t range = report_env_u64("REPORT_DOWNLOAD_RANGE", DEFAULT_RANGE);
    if (range < MIN_RANGE)
        range = MIN_RANGE;
    lambda_error err = {"", ""};
    for (uint64_t off = 0; off < size; off += range) {
        uint64_t len = size - off < range ? size - off : range;
        if (lambda_store_get(store, key, off, len, to_stream, &d, &err) == 0)
            continue;
        if (d.client_gone) {
            lambda_log(LAMBDA_LOG_WARN,
                       "download of %s stopped after %llu of %llu bytes: the "
                       "caller went away",
                       key, (unsigned long long)d.sent, (unsigned long long)size);
            return;
        }
        /* After the first byte: the runtime sends this as the trailers. */
        lambda_response_failure(res, err.type, "%s (after %llu of %llu bytes of %s)", err.message,
                                (unsigned long long)d.sent, (unsigned long long)size, key);
        return;
    }
}

void lambda_report_download_report(const lambda_request *req, lambda_response *res, void *userdata)
{
    (void)userdata;
    cJSON *event = cJSON_ParseWithLength(req->payload, req->payload_len);
    if (!cJSON_IsObject(event)) {
        cJSON_Delete(event);
        lambda_response_failure(res, "InvalidInput", "the event is not a JSON object");
        return;
    }
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(event, "requestContext");
    const cJSON *http_ctx = cJSON_GetObjectItemCaseSensitive(rc, "http");
    int http = cJSON_IsObject(http_ctx);
    const char *method = http ? report_get_string(http_ctx, "method") : "GET";
    int head = method && strcmp(method, "HEAD") == 0;
    lambda_error err = {"", ""};
    char customer[128], report_id[128];
    lambda_store *data = NULL, *store = NULL;
    if (!method || (strcmp(method, "GET") != 0 && !head)) {
        static const char *const allow[] = {"Allow", "GET, HEAD", NULL};
        http_message(res, 405, "use GET", allow);
    } else if (read_ids(event, http, customer, sizeof customer, report_id, sizeof report_id,
                        &err) != 0) {
        if (http)
            http_message(res, 400, err.message, NULL);
        else
            lambda_response_failure(res, err.type, "%s", err.message);
    } else if (report_open_stores(&data, &store, &err) != 0) {
        lambda_response_failure(res, err.type, "%s", err.message);
    } else {
        report_keys k;
        report_keys_init(&k, customer, report_id);
        uint64_t size = 0;
        int exists = 0;
        char msg[320];
        snprintf(msg, sizeof msg, "no report %s for customer %s", report_id, customer);
        if (lambda_store_stat(store, k.report, &size, &exists, &err) != 0)
            lambda_response_failure(res, err.type, "%s", err.message);
        else if (!exists && http)
            http_message(res, 404, msg, NULL);
        else if (!exists)
            lambda_response_failure(res, lambda_store_status_name(LAMBDA_STORE_NOT_FOUND), "%s",
                                    msg);
        else
            stream_report(res, store, k.report, size, report_id, http, head);
    }
    lambda_store_close(data);
    lambda_store_close(store);
    cJSON_Delete(event);
}

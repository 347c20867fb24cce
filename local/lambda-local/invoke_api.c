/* The Invoke API server (libmicrohttpd, one thread per connection so that a
 * synchronous invoke simply waits for its result). */
#include "invoke_api.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "async.h"
#include "http.h"
#include "logs.h"
#include "stream_invoke.h"

#define FUNCTIONS_PREFIX "/2015-03-31/functions/"
#define INVOCATIONS_SUFFIX "/invocations"

/* How long answered invokes get to reach their clients at shutdown. */
#define DRAIN_TIMEOUT_MS 3000

struct lambda_local_invoke_api {
    struct MHD_Daemon *daemon;
    lambda_local_http_tracker requests;
    lambda_local_pool *const *pools;
    size_t count;
    lambda_local_durable *durable; /* or NULL */
};

/* Splits "name", "name:qualifier", "123456789012:function:name[:q]" or
 * "arn:aws:lambda:region:123456789012:function:name[:q]". */
static void split_function_name(const char *full, char *name, size_t namelen, char *qual,
                                size_t quallen)
{
    char *copy = lambda_local_strdup(full);
    char *parts[9] = {0};
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ":", &save); tok && n < 9; tok = strtok_r(NULL, ":", &save))
        parts[n++] = tok;
    size_t at = 0; /* index of the name */
    if (n >= 7 && strcmp(parts[0], "arn") == 0 && strcmp(parts[5], "function") == 0)
        at = 6;
    else if (n >= 3 && strcmp(parts[1], "function") == 0)
        at = 2;
    snprintf(name, namelen, "%s", n > at ? parts[at] : "");
    snprintf(qual, quallen, "%s", n > at + 1 ? parts[at + 1] : "");
    free(copy);
}

lambda_local_pool *lambda_local_find_pool(lambda_local_pool *const *pools, size_t count,
                                          const char *function_name, const char *qualifier,
                                          char **invoked_arn)
{
    char name[256], qual[128];
    split_function_name(function_name, name, sizeof name, qual, sizeof qual);
    if (qualifier && *qualifier)
        snprintf(qual, sizeof qual, "%s", qualifier);

    lambda_local_pool *found = NULL;
    for (size_t i = 0; i < count && !found; i++)
        if (strcmp(lambda_local_pool_function(pools[i])->name, name) == 0)
            found = pools[i];
    if (!found && strcmp(name, "function") == 0 && count == 1)
        found = pools[0]; /* the RIE's single-function path */
    const char *shown = found ? lambda_local_pool_function(found)->name : name;
    *invoked_arn =
        lambda_local_format("arn:aws:lambda:%s:%s:function:%s%s%s", lambda_local_globals.region,
                            lambda_local_globals.account, shown, *qual ? ":" : "", qual);
    return found;
}

/* X-Amz-Client-Context is base64 on the wire; runtimes get the JSON. */
static char *decode_client_context(const char *b64)
{
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0)
        return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out)
        abort();
    int len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
    if (len < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts padding as zero bytes. */
    for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
        len--;
    out[len] = '\0';
    return (char *)out;
}

static int log_type(struct MHD_Connection *conn, bool *tail)
{
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Log-Type");
    *tail = type && strcmp(type, "Tail") == 0;
    return !type || *tail || strcmp(type, "None") == 0 ? 0 : -1;
}

/* Lambda's TenantId: 1 to 256 of [a-zA-Z0-9._:/=+-@ ]. */
static bool valid_tenant_id(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 256 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/=+-@ ") ==
               n;
}

static const char *tenant_check(const lambda_local_function *fn, const char *tenant)
{
    if (tenant && !valid_tenant_id(tenant))
        return "X-Amz-Tenant-Id must be 1 to 256 characters of a-z A-Z 0-9 . _ : / = + - @ "
               "and space";
    if (!tenant && fn->tenancy == LAMBDA_LOCAL_TENANCY_PER_TENANT)
        return "The function has tenant isolation (TenancyConfig PER_TENANT): "
               "X-Amz-Tenant-Id is required";
    if (tenant && fn->tenancy == LAMBDA_LOCAL_TENANCY_NONE)
        return "The function has no TenancyConfig: X-Amz-Tenant-Id is not allowed";
    return NULL;
}

const char *lambda_local_invoke_headers(struct MHD_Connection *conn,
                                        const lambda_local_function *fn, bool *tail,
                                        const char **tenant)
{
    if (log_type(conn, tail) != 0)
        return "X-Amz-Log-Type must be None or Tail";
    *tenant = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Tenant-Id");
    return tenant_check(fn, *tenant);
}

static enum MHD_Result send_result(struct MHD_Connection *conn, lambda_local_invocation *inv)
{
    char *body = inv->result;
    size_t len = inv->result_len;
    inv->result = NULL;
    char *log_result = lambda_local_invocation_log_result(inv); /* NULL: not asked */
    /* The headers Lambda's Invoke answers with; Step Functions' lambda:invoke
     * integration shows them in its result (SdkHttpMetadata). */
    const char *headers[] = {"Content-Type",
                             "application/json",
                             "Connection",
                             "keep-alive",
                             "X-Amz-Executed-Version",
                             "$LATEST",
                             "x-amzn-Remapped-Content-Length",
                             "0",
                             "x-amzn-RequestId",
                             inv->request_id,
                             "X-Amzn-Trace-Id",
                             inv->trace_id,
                             "X-Amz-Function-Error",
                             inv->function_error ? "Unhandled" : NULL,
                             "X-Amz-Log-Result",
                             log_result,
                             NULL};
    enum MHD_Result r = lambda_local_http_send(conn, 200, body, len, headers);
    free(log_result);
    return r;
}

static enum MHD_Result handle_invoke(lambda_local_invoke_api *api, struct MHD_Connection *conn,
                                     const char *function_name, lambda_local_body *body)
{
    const char *qualifier = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "Qualifier");
    char *arn = NULL;
    lambda_local_pool *pool =
        lambda_local_find_pool(api->pools, api->count, function_name, qualifier, &arn);
    if (!pool) {
        char *msg = lambda_local_format("Function not found: %s", arn);
        free(arn);
        enum MHD_Result r =
            lambda_local_http_service_error(conn, 404, "ResourceNotFoundException", msg);
        free(msg);
        return r;
    }
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Invocation-Type");
    if (!type)
        type = "RequestResponse";
    bool event = strcmp(type, "Event") == 0;
    if (!event && strcmp(type, "RequestResponse") != 0 && strcmp(type, "DryRun") != 0) {
        free(arn);
        return lambda_local_http_service_error(
            conn, 400, "InvalidParameterValueException",
            "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun");
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
        char msg[128];
        snprintf(msg, sizeof msg,
                 "Request must be smaller than %d bytes for the InvokeFunction operation",
                 LAMBDA_LOCAL_REQUEST_LIMIT);
        return lambda_local_http_service_error(conn, 413, "RequestTooLargeException", msg);
    }
    /* Lambda takes an empty payload as {} and refuses what is not JSON. */
    size_t len = 0;
    char *payload = lambda_local_body_take(body, &len);
    if (len == 0) {
        free(payload);
        payload = lambda_local_strdup("{}");
        len = 2;
    }
    cJSON *parsed = cJSON_ParseWithLength(payload, len);
    if (!parsed) {
        free(payload);
        free(arn);
        return lambda_local_http_service_error(conn, 400, "InvalidRequestContentException",
                                               "Could not parse request body into json");
    }
    cJSON_Delete(parsed);
    if (strcmp(type, "DryRun") == 0) {
        free(payload);
        free(arn);
        return lambda_local_http_send(conn, 204, NULL, 0, NULL);
    }
    const char *durable_name =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Durable-Execution-Name");
    if (api->durable && (durable_name || lambda_local_pool_function(pool)->durable)) {
        /* A function with DurableConfig always runs as a durable
         * execution; without a name Lambda generates one. */
        char generated[37];
        lambda_local_uuid(generated);
        enum MHD_Result r = lambda_local_durable_invoke(api->durable, conn, pool, arn,
                                                        durable_name ? durable_name : generated,
                                                        payload, len, event);
        free(arn);
        return r;
    }

    lambda_local_invocation *inv = lambda_local_invocation_new(payload, len);
    free(payload);
    inv->invoked_arn = arn;
    inv->asynchronous = event;
    inv->tenant_id = tenant ? lambda_local_strdup(tenant) : NULL;
    inv->log_tail = tail && !event; /* Tail applies to synchronous invokes only */
    const char *cc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Client-Context");
    if (cc)
        inv->client_context = decode_client_context(cc);
    const char *trace = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amzn-Trace-Id");
    if (trace && *trace) {
        free(inv->trace_id);
        inv->trace_id = lambda_local_strdup(trace);
    }
    if (event)
        lambda_local_async_submit(pool, inv); /* retried on function errors */
    else
        lambda_local_pool_submit(pool, inv);
    enum MHD_Result r;
    if (event) {
        /* Accepted; the result only shows in the logs. */
        const char *headers[] = {"x-amzn-RequestId", inv->request_id, NULL};
        r = lambda_local_http_send(conn, 202, NULL, 0, headers);
    } else {
        lambda_local_invocation_wait(inv);
        r = send_result(conn, inv);
    }
    lambda_local_invocation_release(inv);
    return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    (void)version;
    lambda_local_invoke_api *api = cls;
    lambda_local_body *body = NULL;
    if (!lambda_local_http_collect(req_cls, upload_data, upload_data_size,
                                   LAMBDA_LOCAL_REQUEST_LIMIT, &api->requests, &body))
        return MHD_YES;

    enum MHD_Result streamed;
    if (api->durable &&
        lambda_local_durable_route(api->durable, conn, url, method, body, &streamed))
        return streamed; /* the /2025-12-01/ durable execution API */
    if (lambda_local_stream_route(api->pools, api->count, conn, url, method, body, &streamed))
        return streamed; /* InvokeWithResponseStream, Function URLs */
    /* MHD hands us the path already percent-decoded, so a URL-encoded ARN
     * arrives with its colons. */
    size_t url_len = strlen(url), pre = strlen(FUNCTIONS_PREFIX), suf = strlen(INVOCATIONS_SUFFIX);
    if (strncmp(url, FUNCTIONS_PREFIX, pre) != 0 || url_len <= pre + suf ||
        strcmp(url + url_len - suf, INVOCATIONS_SUFFIX) != 0)
        return lambda_local_http_service_error(conn, 404, "UnknownOperationException",
                                               "Unknown operation");
    if (strcmp(method, "POST") != 0)
        return lambda_local_http_service_error(conn, 405, "UnknownOperationException",
                                               "Invoke must be a POST");
    char *name = lambda_local_format("%.*s", (int)(url_len - pre - suf), url + pre);
    enum MHD_Result r = handle_invoke(api, conn, name, body);
    free(name);
    return r;
}

lambda_local_invoke_api *lambda_local_invoke_api_start(const char *host, uint16_t port,
                                                       lambda_local_pool *const *pools,
                                                       size_t count, lambda_local_durable *durable,
                                                       uint16_t *bound_port, char *err,
                                                       size_t errlen)
{
    lambda_local_invoke_api *api = lambda_local_calloc(1, sizeof *api);
    api->pools = pools;
    api->count = count;
    api->durable = durable;
    lambda_local_http_tracker_init(&api->requests);
    api->daemon =
        lambda_local_http_start(host, port, handle, api, &api->requests, bound_port, err, errlen);
    if (!api->daemon) {
        lambda_local_http_tracker_destroy(&api->requests);
        free(api);
        return NULL;
    }
    return api;
}

void lambda_local_invoke_api_stop(lambda_local_invoke_api *api)
{
    if (!api)
        return;
    /* No new connections; let the answers already given reach their
     * clients, then stop. */
    MHD_socket listener = MHD_quiesce_daemon(api->daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener); /* ours now, per MHD's contract */
    lambda_local_http_tracker_wait_idle(&api->requests, DRAIN_TIMEOUT_MS);
    MHD_stop_daemon(api->daemon);
    lambda_local_http_tracker_destroy(&api->requests);
    free(api);
}

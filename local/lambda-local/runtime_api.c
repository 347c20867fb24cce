/* The Runtime API server of an execution environment (libmicrohttpd). */
#include "runtime_api.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "http.h"
#include "pool.h"
#include "stream.h"

#define PREFIX "/2018-06-01/runtime/"
#define EXTENSION "/2020-01-01/extension/"
#define INVOCATION PREFIX "invocation/"

struct lambda_local_runtime_api {
    struct MHD_Daemon *daemon;
    lambda_local_env *env;
};

/* The Runtime API's own error documents. */
static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *type,
                                  const char *message)
{
    size_t len = 0;
    char *body = lambda_local_error_json(type, message, &len);
    const char *headers[] = {"Content-Type", "application/json", NULL};
    return lambda_local_http_send(conn, status, body, len, headers);
}

static enum MHD_Result send_accepted(struct MHD_Connection *conn)
{
    const char *headers[] = {"Content-Type", "application/json", NULL};
    return lambda_local_http_send(conn, 202, lambda_local_strdup("{\"status\":\"OK\"}"), 15,
                                  headers);
}

/* Maps a pool verdict onto the response Lambda gives. */
static enum MHD_Result send_verdict(struct MHD_Connection *conn, int status)
{
    switch (status) {
    case 202:
        return send_accepted(conn);
    case 400:
        return send_error(conn, 400, "InvalidRequestID", "Invalid request ID");
    case 403:
        return send_error(conn, 403, "InvalidStateTransition", "State transition is not allowed");
    case 413: {
        char msg[96];
        snprintf(msg, sizeof msg, "Exceeded maximum allowed payload size (%d bytes).",
                 LAMBDA_LOCAL_RESPONSE_LIMIT);
        return send_error(conn, 413, "RequestEntityTooLarge", msg);
    }
    default:
        return send_error(conn, 500, "ServiceException", "lambda-local internal error");
    }
}

static enum MHD_Result handle_next(lambda_local_runtime_api *api, struct MHD_Connection *conn)
{
    lambda_local_invocation *inv = lambda_local_pool_next(api->env);
    if (!inv) {
        /* The environment is being shut down or has failed: Lambda would
         * freeze or kill it; a 500 makes a runtime that is still alive exit. */
        return send_error(conn, 500, "ServiceException", "execution environment is shutting down");
    }
    char deadline[32];
    snprintf(deadline, sizeof deadline, "%" PRId64, inv->deadline_ms);
    const char *headers[] = {"Content-Type",
                             "application/json",
                             "Lambda-Runtime-Aws-Request-Id",
                             inv->request_id,
                             "Lambda-Runtime-Deadline-Ms",
                             deadline,
                             "Lambda-Runtime-Invoked-Function-Arn",
                             inv->invoked_arn,
                             "Lambda-Runtime-Trace-Id",
                             inv->trace_id,
                             "Lambda-Runtime-Client-Context",
                             inv->client_context,
                             "Lambda-Runtime-Aws-Tenant-Id",
                             inv->tenant_id,
                             NULL};
    char *payload = malloc(inv->payload_len + 1);
    if (!payload)
        abort();
    memcpy(payload, inv->payload, inv->payload_len + 1);
    enum MHD_Result r = lambda_local_http_send(conn, 200, payload, inv->payload_len, headers);
    lambda_local_invocation_release(inv);
    return r;
}

/* Extensions API, enough for a runtime's internal extension (what
 * lambda-c registers to get a SHUTDOWN before SIGTERM): register during
 * init, then event/next, which answers SHUTDOWN when the environment ends. */
static enum MHD_Result handle_extension(lambda_local_runtime_api *api, struct MHD_Connection *conn,
                                        const char *url, const char *method)
{
    const lambda_local_function *fn = api->env->fn;
    if (strcmp(url, EXTENSION "register") == 0 && strcmp(method, "POST") == 0) {
        if (!MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Lambda-Extension-Name"))
            return send_error(conn, 400, "InvalidRequest", "Lambda-Extension-Name is missing");
        if (lambda_local_pool_extension_register(api->env) != 200)
            return send_error(conn, 403, "Extension.InvalidState",
                              "extensions register during init only");
        char id[37];
        lambda_local_uuid(id);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "functionName", fn->name);
        cJSON_AddStringToObject(o, "functionVersion", "$LATEST");
        cJSON_AddStringToObject(o, "handler", fn->handler ? fn->handler : "");
        char *body = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!body)
            abort();
        const char *headers[] = {"Content-Type", "application/json", "Lambda-Extension-Identifier",
                                 id, NULL};
        return lambda_local_http_send(conn, 200, body, strlen(body), headers);
    }
    if (strcmp(url, EXTENSION "event/next") == 0 && strcmp(method, "GET") == 0) {
        if (!MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Lambda-Extension-Identifier"))
            return send_error(conn, 403, "Extension.InvalidExtensionIdentifier",
                              "Lambda-Extension-Identifier is missing");
        if (!lambda_local_pool_extension_next(api->env))
            return send_error(conn, 500, "ServiceException", "execution environment is gone");
        char *body = lambda_local_format(
            "{\"eventType\":\"SHUTDOWN\",\"shutdownReason\":\"spindown\",\"deadlineMs\":%" PRId64
            "}",
            lambda_local_wall_ms() + 500);
        const char *headers[] = {"Content-Type", "application/json", NULL};
        return lambda_local_http_send(conn, 200, body, strlen(body), headers);
    }
    return send_error(conn, 404, "NotFound", "unknown Extensions API path");
}

/* /invocation/{id}/response or /error: splits the id off the URL. */
static bool parse_invocation_url(const char *url, char *id, size_t idlen, const char **verb)
{
    if (strncmp(url, INVOCATION, strlen(INVOCATION)) != 0)
        return false;
    const char *start = url + strlen(INVOCATION);
    const char *slash = strchr(start, '/');
    if (!slash || slash == start || (size_t)(slash - start) >= idlen)
        return false;
    memcpy(id, start, (size_t)(slash - start));
    id[slash - start] = '\0';
    *verb = slash + 1;
    return true;
}

/* A streaming /response begins: its body may go straight to the caller. */
static void begin_stream(lambda_local_runtime_api *api, struct MHD_Connection *conn,
                         const char *url, lambda_local_body *body)
{
    char id[128];
    const char *verb = NULL;
    if (parse_invocation_url(url, id, sizeof id, &verb) && strcmp(verb, "response") == 0)
        lambda_local_stream_upload_begin(api->env, conn, id, body);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    (void)version;
    lambda_local_runtime_api *api = cls;
    lambda_local_body *body = NULL;
    bool first = *req_cls == NULL;
    if (!lambda_local_http_collect(req_cls, upload_data, upload_data_size,
                                   LAMBDA_LOCAL_RESPONSE_LIMIT, NULL, &body)) {
        lambda_local_body *b = *req_cls;
        if (first && lambda_local_stream_is_streaming(conn))
            begin_stream(api, conn, url, b);
        return b->aborted ? MHD_NO : MHD_YES; /* the streaming caller is gone */
    }

    bool is_get = strcmp(method, "GET") == 0;
    bool is_post = strcmp(method, "POST") == 0;
    if (strcmp(url, INVOCATION "next") == 0) {
        if (!is_get)
            return send_error(conn, 405, "MethodNotAllowed", "use GET");
        return handle_next(api, conn);
    }
    const char *error_type =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Lambda-Runtime-Function-Error-Type");
    if (strcmp(url, PREFIX "init/error") == 0) {
        if (!is_post)
            return send_error(conn, 405, "MethodNotAllowed", "use POST");
        size_t len = 0;
        char *data = lambda_local_body_take(body, &len);
        return send_verdict(conn, lambda_local_pool_init_error(api->env, data, len, error_type));
    }
    char id[128];
    const char *verb = NULL;
    if (parse_invocation_url(url, id, sizeof id, &verb) &&
        (strcmp(verb, "response") == 0 || strcmp(verb, "error") == 0)) {
        if (!is_post)
            return send_error(conn, 405, "MethodNotAllowed", "use POST");
        if (strcmp(verb, "response") == 0 && lambda_local_stream_is_streaming(conn))
            return send_verdict(conn, lambda_local_stream_upload_end(api->env, conn, id, body));
        bool too_large = body->too_large;
        size_t len = 0;
        char *data = lambda_local_body_take(body, &len);
        int status = strcmp(verb, "response") == 0
                         ? lambda_local_pool_respond(api->env, id, data, len, too_large)
                         : lambda_local_pool_error(api->env, id, data, len, error_type);
        return send_verdict(conn, status);
    }
    if (strncmp(url, EXTENSION, strlen(EXTENSION)) == 0)
        return handle_extension(api, conn, url, method);
    return send_error(conn, 404, "NotFound", "unknown Runtime API path");
}

lambda_local_runtime_api *lambda_local_runtime_api_start(lambda_local_env *env, uint16_t *port,
                                                         char *err, size_t errlen)
{
    lambda_local_runtime_api *api = lambda_local_calloc(1, sizeof *api);
    api->env = env;
    api->daemon = lambda_local_http_start("127.0.0.1", 0, handle, api, NULL, port, err, errlen);
    if (!api->daemon) {
        free(api);
        return NULL;
    }
    return api;
}

void lambda_local_runtime_api_stop(lambda_local_runtime_api *api)
{
    if (!api)
        return;
    MHD_stop_daemon(api->daemon);
    free(api);
}

/*
 * The fake durable-execution service (see fake_service.h). One mutex guards
 * its state: MHD serves on its own thread while the test thread reads.
 */
#define _POSIX_C_SOURCE 200809L
#include "fake_service.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAGES 16
#define MAX_CALLS 256

struct fake_service {
    struct MHD_Daemon *daemon;
    char endpoint[64];
    pthread_mutex_t mu;
    char token[128];
    int token_seq;
    char *page_marker[MAX_PAGES];
    char *page_json[MAX_PAGES];
    int pages;
    int fail_count, fail_status;
    char fail_code[96], fail_message[256];
    cJSON *checkpoints[MAX_CALLS];
    int checkpoint_count, state_calls;
    char last_path[1024], last_auth[1024], last_sec[256], last_query_token[128];
};

typedef struct upload {
    char *data;
    size_t len, cap;
} upload;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             const char *error_type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (error_type)
        MHD_add_response_header(r, "X-Amzn-ErrorType", error_type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result refuse(struct MHD_Connection *c, unsigned status, const char *code,
                              const char *message)
{
    char body[512];
    snprintf(body, sizeof body, "{\"Type\":\"User\",\"message\":\"%s\"}", message);
    return reply(c, status, body, code);
}

/* The status an update's action leaves its operation in. */
static const char *status_after(const char *type, const char *action)
{
    if (strcmp(action, "START") == 0)
        return "STARTED";
    if (strcmp(action, "SUCCEED") == 0)
        return "SUCCEEDED";
    if (strcmp(action, "FAIL") == 0)
        return "FAILED";
    if (strcmp(action, "RETRY") == 0)
        return "PENDING";
    if (strcmp(action, "CANCEL") == 0)
        return "CANCELLED";
    (void)type;
    return "STARTED";
}

static const char *details_for(const char *type)
{
    if (strcmp(type, "STEP") == 0)
        return "StepDetails";
    if (strcmp(type, "CONTEXT") == 0)
        return "ContextDetails";
    if (strcmp(type, "CALLBACK") == 0)
        return "CallbackDetails";
    if (strcmp(type, "EXECUTION") == 0)
        return "ExecutionDetails";
    return "WaitDetails";
}

/* The operation as the service would now report it. */
static cJSON *operation_after(const cJSON *u)
{
    const char *type = cJSON_GetObjectItem(u, "Type")->valuestring;
    const char *action = cJSON_GetObjectItem(u, "Action")->valuestring;
    cJSON *op = cJSON_CreateObject();
    cJSON_AddItemToObject(op, "Id", cJSON_Duplicate(cJSON_GetObjectItem(u, "Id"), 1));
    cJSON_AddStringToObject(op, "Type", type);
    cJSON_AddStringToObject(op, "Status", status_after(type, action));
    const char *copied[] = {"Name", "ParentId", "SubType"};
    for (size_t i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItem(u, copied[i]);
        if (v)
            cJSON_AddItemToObject(op, copied[i], cJSON_Duplicate(v, 1));
    }
    cJSON *d = cJSON_AddObjectToObject(op, details_for(type));
    /* An execution's (large) result is not echoed back: it ends the run. */
    const cJSON *payload = cJSON_GetObjectItem(u, "Payload");
    if (payload && strcmp(type, "EXECUTION") != 0)
        cJSON_AddItemToObject(d, "Result", cJSON_Duplicate(payload, 1));
    const cJSON *error = cJSON_GetObjectItem(u, "Error");
    if (error)
        cJSON_AddItemToObject(d, "Error", cJSON_Duplicate(error, 1));
    if (strcmp(type, "CALLBACK") == 0) {
        char id[160];
        snprintf(id, sizeof id, "cb-%s", cJSON_GetObjectItem(u, "Id")->valuestring);
        cJSON_AddStringToObject(d, "CallbackId", id);
    }
    return op;
}

static enum MHD_Result serve_checkpoint(fake_service *f, struct MHD_Connection *c, const upload *up)
{
    cJSON *body = cJSON_ParseWithLength(up->data ? up->data : "", up->len);
    const cJSON *token = cJSON_GetObjectItem(body, "CheckpointToken");
    const cJSON *updates = cJSON_GetObjectItem(body, "Updates");
    if (!cJSON_IsString(token) || !cJSON_IsArray(updates)) {
        cJSON_Delete(body);
        return refuse(c, 400, "InvalidParameterValueException", "malformed checkpoint");
    }
    if (strcmp(token->valuestring, f->token) != 0) {
        cJSON_Delete(body);
        return refuse(c, 400, "InvalidParameterValueException",
                      "Invalid checkpoint token: already used or unknown");
    }
    /* One update per operation in a request, as the service (and AWS's
     * testing library) insist. */
    for (int i = 0; i < cJSON_GetArraySize(updates); i++)
        for (int j = 0; j < i; j++) {
            const cJSON *a = cJSON_GetObjectItem(cJSON_GetArrayItem(updates, i), "Id");
            const cJSON *b = cJSON_GetObjectItem(cJSON_GetArrayItem(updates, j), "Id");
            if (cJSON_IsString(a) && cJSON_IsString(b) &&
                strcmp(a->valuestring, b->valuestring) == 0) {
                cJSON_Delete(body);
                return refuse(c, 400, "InvalidParameterValueException",
                              "Cannot update the same operation twice in a single request");
            }
        }
    if (f->checkpoint_count < MAX_CALLS)
        f->checkpoints[f->checkpoint_count++] = cJSON_Duplicate(body, 1);
    snprintf(f->token, sizeof f->token, "tok-%d", ++f->token_seq);
    cJSON *answer = cJSON_CreateObject();
    cJSON_AddStringToObject(answer, "CheckpointToken", f->token);
    cJSON *ops =
        cJSON_AddArrayToObject(cJSON_AddObjectToObject(answer, "NewExecutionState"), "Operations");
    const cJSON *u;
    cJSON_ArrayForEach(u, updates) cJSON_AddItemToArray(ops, operation_after(u));
    char *text = cJSON_PrintUnformatted(answer);
    enum MHD_Result r = reply(c, 200, text, NULL);
    free(text);
    cJSON_Delete(answer);
    cJSON_Delete(body);
    return r;
}

static enum MHD_Result serve_state(fake_service *f, struct MHD_Connection *c)
{
    f->state_calls++;
    const char *marker = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "Marker");
    const char *token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "CheckpointToken");
    snprintf(f->last_query_token, sizeof f->last_query_token, "%s", token ? token : "");
    if (!token || strcmp(token, f->token) != 0)
        return refuse(c, 400, "InvalidParameterValueException", "Invalid checkpoint token");
    for (int i = 0; i < f->pages; i++)
        if (marker && strcmp(marker, f->page_marker[i]) == 0)
            return reply(c, 200, f->page_json[i], NULL);
    return refuse(c, 400, "InvalidParameterValueException", "unknown marker");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **state)
{
    fake_service *f = cls;
    (void)version;
    upload *up = *state;
    if (!up) {
        up = calloc(1, sizeof *up);
        *state = up;
        return up ? MHD_YES : MHD_NO;
    }
    if (*data_size) {
        /* Grown by doubling: libmicrohttpd hands a body over in pieces of
         * its read buffer (~16 KiB), and growing by each piece copied a
         * 7 MB checkpoint ~470 times over (a minute under valgrind). */
        if (up->len + *data_size + 1 > up->cap) {
            size_t cap = up->cap ? up->cap : 64 * 1024;
            while (cap < up->len + *data_size + 1)
                cap *= 2;
            char *grown = realloc(up->data, cap);
            if (!grown)
                return MHD_NO;
            up->data = grown;
            up->cap = cap;
        }
        memcpy(up->data + up->len, data, *data_size);
        up->len += *data_size;
        up->data[up->len] = '\0';
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&f->mu);
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *sec = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Security-Token");
    snprintf(f->last_path, sizeof f->last_path, "%s", url);
    snprintf(f->last_auth, sizeof f->last_auth, "%s", auth ? auth : "");
    snprintf(f->last_sec, sizeof f->last_sec, "%s", sec ? sec : "");
    enum MHD_Result r;
    size_t n = strlen(url);
    if (f->fail_count > 0) {
        f->fail_count--;
        r = f->fail_code[0] ? refuse(c, (unsigned)f->fail_status, f->fail_code, f->fail_message)
                            : reply(c, (unsigned)f->fail_status, "{}", NULL);
    } else if (strncmp(url, "/2025-12-01/durable-executions/", 31) != 0) {
        r = refuse(c, 404, "ResourceNotFoundException", "no such path");
    } else if (strcmp(method, "POST") == 0 && n > 11 && strcmp(url + n - 11, "/checkpoint") == 0) {
        r = serve_checkpoint(f, c, up);
    } else if (strcmp(method, "GET") == 0 && n > 6 && strcmp(url + n - 6, "/state") == 0) {
        r = serve_state(f, c);
    } else {
        r = refuse(c, 404, "ResourceNotFoundException", "no such operation");
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)c;
    (void)code;
    upload *up = *state;
    if (up) {
        free(up->data);
        free(up);
    }
    *state = NULL;
}

fake_service *fake_service_start(void)
{
    fake_service *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    snprintf(f->token, sizeof f->token, "tok-0");
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    f->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                 on_request, f, MHD_OPTION_SOCK_ADDR, &addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, f, MHD_OPTION_END);
    if (!f->daemon) {
        free(f);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(f->endpoint, sizeof f->endpoint, "http://127.0.0.1:%u", (unsigned)info->port);
    return f;
}

void fake_service_stop(fake_service *f)
{
    if (!f)
        return;
    MHD_stop_daemon(f->daemon);
    for (int i = 0; i < f->pages; i++) {
        free(f->page_marker[i]);
        free(f->page_json[i]);
    }
    for (int i = 0; i < f->checkpoint_count; i++)
        cJSON_Delete(f->checkpoints[i]);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

const char *fake_service_endpoint(const fake_service *f)
{
    return f->endpoint;
}

void fake_service_set_token(fake_service *f, const char *token)
{
    pthread_mutex_lock(&f->mu);
    snprintf(f->token, sizeof f->token, "%s", token);
    pthread_mutex_unlock(&f->mu);
}

void fake_service_add_page(fake_service *f, const char *marker, const char *page_json)
{
    pthread_mutex_lock(&f->mu);
    if (f->pages < MAX_PAGES) {
        f->page_marker[f->pages] = strdup(marker);
        f->page_json[f->pages] = strdup(page_json);
        f->pages++;
    }
    pthread_mutex_unlock(&f->mu);
}

void fake_service_fail_next(fake_service *f, int count, int status, const char *code,
                            const char *message)
{
    pthread_mutex_lock(&f->mu);
    f->fail_count = count;
    f->fail_status = status;
    snprintf(f->fail_code, sizeof f->fail_code, "%s", code ? code : "");
    snprintf(f->fail_message, sizeof f->fail_message, "%s", message ? message : "");
    pthread_mutex_unlock(&f->mu);
}

int fake_service_checkpoints(const fake_service *f)
{
    return f->checkpoint_count;
}

int fake_service_state_calls(const fake_service *f)
{
    return f->state_calls;
}

const cJSON *fake_service_checkpoint(const fake_service *f, int i)
{
    return i >= 0 && i < f->checkpoint_count ? f->checkpoints[i] : NULL;
}

const char *fake_service_last_path(const fake_service *f)
{
    return f->last_path;
}

const char *fake_service_last_authorization(const fake_service *f)
{
    return f->last_auth;
}

const char *fake_service_last_security_token(const fake_service *f)
{
    return f->last_sec;
}

const char *fake_service_last_query_token(const fake_service *f)
{
    return f->last_query_token;
}

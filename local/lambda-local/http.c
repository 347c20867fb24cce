/* libmicrohttpd plumbing shared by both HTTP sides of the emulator. */
#include "http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "common.h"

static void body_append(lambda_local_body *b, const char *data, size_t n)
{
    if (b->too_large || b->len + n > b->limit) {
        /* Keep counting nothing: the request is answered 413 at its end. */
        b->too_large = true;
        free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            abort();
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

void lambda_local_http_tracker_init(lambda_local_http_tracker *t)
{
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->idle, NULL);
    t->active = 0;
}

void lambda_local_http_tracker_destroy(lambda_local_http_tracker *t)
{
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->idle);
}

void lambda_local_http_tracker_wait_idle(lambda_local_http_tracker *t, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->lock);
    while (t->active > 0)
        if (pthread_cond_timedwait(&t->idle, &t->lock, &until) != 0)
            break;
    pthread_mutex_unlock(&t->lock);
}

bool lambda_local_http_collect(void **req_cls, const char *upload_data, size_t *upload_data_size,
                               size_t limit, lambda_local_http_tracker *tracker,
                               lambda_local_body **body_out)
{
    lambda_local_body *body = *req_cls;
    if (!body) {
        body = lambda_local_calloc(1, sizeof *body);
        body->limit = limit;
        if (tracker) {
            pthread_mutex_lock(&tracker->lock);
            tracker->active++;
            pthread_mutex_unlock(&tracker->lock);
            body->tracked = true;
        }
        *req_cls = body;
        return false;
    }
    if (*upload_data_size > 0) {
        if (body->sink && !body->aborted &&
            !body->sink(body->sink_arg, upload_data, *upload_data_size))
            body->aborted = true;
        else if (!body->sink)
            body_append(body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return false;
    }
    *body_out = body;
    return true;
}

char *lambda_local_body_take(lambda_local_body *body, size_t *len)
{
    char *data = body->data;
    if (!data)
        data = lambda_local_calloc(1, 1);
    data[body->len] = '\0';
    *len = body->len;
    body->data = NULL;
    body->len = body->cap = 0;
    return data;
}

void lambda_local_http_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                                 enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    lambda_local_http_tracker *tracker = cls;
    lambda_local_body *body = *req_cls;
    if (body) {
        if (tracker && body->tracked) {
            pthread_mutex_lock(&tracker->lock);
            if (--tracker->active == 0)
                pthread_cond_broadcast(&tracker->idle);
            pthread_mutex_unlock(&tracker->lock);
        }
        if (body->sink_free)
            body->sink_free(body->sink_arg);
        free(body->data);
        free(body);
        *req_cls = NULL;
    }
}

enum MHD_Result lambda_local_http_send(struct MHD_Connection *conn, unsigned status, char *body,
                                       size_t len, const char *const *headers)
{
    struct MHD_Response *res;
    if (body)
        res = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    else
        res = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!res) {
        free(body);
        return MHD_NO;
    }
    for (size_t i = 0; headers && headers[i]; i += 2) {
        if (!headers[i + 1])
            continue;
        /* libmicrohttpd drops an explicit "Connection: keep-alive" (implied
         * by HTTP/1.1) unless asked to send it; Lambda's answers carry it. */
        if (strcasecmp(headers[i], "Connection") == 0 &&
            strcasecmp(headers[i + 1], "keep-alive") == 0)
            MHD_set_response_options(res, MHD_RF_SEND_KEEP_ALIVE_HEADER, MHD_RO_END);
        else
            MHD_add_response_header(res, headers[i], headers[i + 1]);
    }
    enum MHD_Result r = MHD_queue_response(conn, status, res);
    MHD_destroy_response(res);
    return r;
}

struct MHD_Daemon *lambda_local_http_start(const char *host, uint16_t port,
                                           MHD_AccessHandlerCallback handler, void *cls,
                                           lambda_local_http_tracker *tracker, uint16_t *bound_port,
                                           char *err, size_t errlen)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "bad IPv4 address '%s'", host);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ITC, /* ITC: MHD_quiesce_daemon() at shutdown */
        0, NULL, NULL, handler, cls, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, lambda_local_http_completed, (void *)tracker,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)128, MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s:%u", host, (unsigned)port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : port;
    return d;
}

enum MHD_Result lambda_local_http_service_error(struct MHD_Connection *conn, unsigned status,
                                                const char *type, const char *message)
{
    char request_id[37];
    lambda_local_uuid(request_id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Type", "User");
    cJSON_AddStringToObject(o, "Message", message);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!body)
        abort();
    const char *headers[] = {"Content-Type",
                             "application/json",
                             "x-amzn-ErrorType",
                             type,
                             "x-amzn-RequestId",
                             request_id,
                             NULL};
    return lambda_local_http_send(conn, status, body, strlen(body), headers);
}

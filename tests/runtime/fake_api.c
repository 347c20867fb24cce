#include "fake_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 20000
#define MAX_FAULTS 64
#define EXT_ID "fake-extension-id-1"

typedef struct queued {
    char *body;
    size_t len;
    char *request_id;
    int64_t deadline_ms;
    char *arn, *trace_id, *client_context, *cognito_identity, *tenant_id, *invocation_id;
    int64_t served_ms;
} queued;

typedef struct fault {
    fake_fault kind;
    int param;
} fault;

struct fake_api {
    struct MHD_Daemon *daemon;
    int fd;
    int port;
    char endpoint[32];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;

    queued *events;
    size_t n_events, next_event;
    fault next_faults[MAX_FAULTS];
    size_t n_next_faults, next_fault_at;
    int post_faults[MAX_FAULTS];
    size_t n_post_faults, post_fault_at;
    int end_with_500;
    int cut_stream;

    fake_result *results;
    size_t n_results;
    fake_result init_error;
    int has_init_error;

    int next_calls, connections, ext_registrations, ext_next_calls;
    char ext_name[128];
};

typedef struct request {
    char *body;
    size_t len, cap, total;
    int64_t first_byte_ms;
} request;

int64_t fake_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             const char *const *headers)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    for (size_t i = 0; headers && headers[i]; i += 2)
        if (headers[i + 1])
            MHD_add_response_header(r, headers[i], headers[i + 1]);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Takes the next /next fault, if any. Caller holds the lock. */
static int take_next_fault(fake_api *f, fault *out)
{
    if (f->next_fault_at >= f->n_next_faults)
        return 0;
    *out = f->next_faults[f->next_fault_at++];
    return 1;
}

static enum MHD_Result serve_next(fake_api *f, struct MHD_Connection *c)
{
    pthread_mutex_lock(&f->mu);
    f->next_calls++;
    fault ft;
    if (take_next_fault(f, &ft)) {
        if (ft.kind == FAKE_FAULT_RESET) {
            pthread_mutex_unlock(&f->mu);
            return MHD_NO; /* MHD drops the connection: no answer at all */
        }
        if (ft.kind == FAKE_FAULT_STATUS) {
            pthread_mutex_unlock(&f->mu);
            return reply(c, (unsigned)ft.param,
                         "{\"errorMessage\":\"injected\",\"errorType\":\"Injected\"}", NULL);
        }
        pthread_mutex_unlock(&f->mu);
        sleep_ms(ft.param);
        pthread_mutex_lock(&f->mu);
    }
    while (!f->stopping && f->next_event >= f->n_events) {
        if (f->end_with_500) {
            pthread_mutex_unlock(&f->mu);
            return reply(c, 500, "{\"errorMessage\":\"no more events\",\"errorType\":\"Test.End\"}",
                         NULL);
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->cv, &f->mu, &until);
    }
    if (f->stopping) {
        pthread_mutex_unlock(&f->mu);
        return MHD_NO;
    }
    queued *q = &f->events[f->next_event++];
    q->served_ms = fake_now_ms();
    char deadline[32];
    snprintf(deadline, sizeof deadline, "%lld", (long long)q->deadline_ms);
    const char *headers[] = {"Lambda-Runtime-Aws-Request-Id",
                             q->request_id,
                             "Lambda-Runtime-Deadline-Ms",
                             deadline,
                             "Lambda-Runtime-Invoked-Function-Arn",
                             q->arn,
                             "Lambda-Runtime-Trace-Id",
                             q->trace_id,
                             "Lambda-Runtime-Client-Context",
                             q->client_context,
                             "Lambda-Runtime-Cognito-Identity",
                             q->cognito_identity,
                             "Lambda-Runtime-Aws-Tenant-Id",
                             q->tenant_id,
                             "Lambda-Runtime-Invocation-Id",
                             q->invocation_id,
                             NULL};
    struct MHD_Response *r =
        MHD_create_response_from_buffer(q->len, q->body, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&f->mu);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    for (size_t i = 0; headers[i]; i += 2)
        if (headers[i + 1])
            MHD_add_response_header(r, headers[i], headers[i + 1]);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static char *header(struct MHD_Connection *c, const char *name)
{
    return dup_or_null(MHD_lookup_connection_value(c, MHD_HEADER_KIND, name));
}

static void record(fake_api *f, fake_result *res, struct MHD_Connection *c, request *rq,
                   const char *request_id, int is_error)
{
    memset(res, 0, sizeof *res);
    res->is_error = is_error;
    res->request_id = dup_or_null(request_id);
    res->body = rq->body ? rq->body : strdup("");
    res->body_len = rq->len;
    res->total_len = rq->total;
    res->first_byte_ms = rq->first_byte_ms;
    rq->body = NULL;
    res->response_mode = header(c, "Lambda-Runtime-Function-Response-Mode");
    res->transfer_encoding = header(c, "Transfer-Encoding");
    res->trailer = header(c, "Trailer");
    res->trailer_error_type = dup_or_null(
        MHD_lookup_connection_value(c, MHD_FOOTER_KIND, "Lambda-Runtime-Function-Error-Type"));
    res->trailer_error_body = dup_or_null(
        MHD_lookup_connection_value(c, MHD_FOOTER_KIND, "Lambda-Runtime-Function-Error-Body"));
    res->error_type = header(c, "Lambda-Runtime-Function-Error-Type");
    res->invocation_id = header(c, "Lambda-Runtime-Invocation-Id");
    res->content_type = header(c, "Content-Type");
    res->user_agent = header(c, "User-Agent");
    res->had_expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Expect") != NULL;
    res->done_ms = fake_now_ms();
    for (size_t i = 0; request_id && i < f->n_events; i++)
        if (strcmp(f->events[i].request_id, request_id) == 0)
            res->served_ms = f->events[i].served_ms;
}

static enum MHD_Result serve_post(fake_api *f, struct MHD_Connection *c, request *rq,
                                  const char *id, size_t id_len, int is_error)
{
    char request_id[256];
    snprintf(request_id, sizeof request_id, "%.*s", (int)id_len, id);
    pthread_mutex_lock(&f->mu);
    if (f->n_results >= MAX_EVENTS * 2) {
        pthread_mutex_unlock(&f->mu);
        return reply(c, 500, "{\"errorMessage\":\"fake_api: too many results\"}", NULL);
    }
    int status = 202;
    if (f->post_fault_at < f->n_post_faults)
        status = f->post_faults[f->post_fault_at++];
    fake_result *res = &f->results[f->n_results];
    record(f, res, c, rq, request_id, is_error);
    res->status_sent = status;
    f->n_results++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (status >= 400)
        return reply(c, (unsigned)status,
                     "{\"errorMessage\":\"injected rejection\","
                     "\"errorType\":\"Injected\"}",
                     NULL);
    return reply(c, (unsigned)status, "{\"status\":\"OK\"}", NULL);
}

static enum MHD_Result serve_init_error(fake_api *f, struct MHD_Connection *c, request *rq)
{
    pthread_mutex_lock(&f->mu);
    if (!f->has_init_error) {
        record(f, &f->init_error, c, rq, NULL, 1);
        f->init_error.status_sent = 202;
        f->has_init_error = 1;
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return reply(c, 202, "{\"status\":\"OK\"}", NULL);
}

static enum MHD_Result serve_ext_register(fake_api *f, struct MHD_Connection *c)
{
    const char *name = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Lambda-Extension-Name");
    pthread_mutex_lock(&f->mu);
    f->ext_registrations++;
    snprintf(f->ext_name, sizeof f->ext_name, "%s", name ? name : "");
    pthread_mutex_unlock(&f->mu);
    if (!name)
        return reply(c, 400, "{\"errorMessage\":\"missing Lambda-Extension-Name\"}", NULL);
    const char *headers[] = {"Lambda-Extension-Identifier", EXT_ID, NULL};
    return reply(c, 200,
                 "{\"functionName\":\"test\",\"functionVersion\":\"$LATEST\","
                 "\"handler\":\"echo\"}",
                 headers);
}

static enum MHD_Result serve_ext_next(fake_api *f, struct MHD_Connection *c)
{
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Lambda-Extension-Identifier");
    if (!id || strcmp(id, EXT_ID) != 0)
        return reply(c, 403, "{\"errorMessage\":\"bad extension id\"}", NULL);
    pthread_mutex_lock(&f->mu);
    f->ext_next_calls++;
    pthread_cond_broadcast(&f->cv);
    while (!f->stopping)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    return MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    fake_api *f = cls;
    request *rq = *state;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *state = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rq->total)
            rq->first_byte_ms = fake_now_ms();
        if (MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                        "Lambda-Runtime-Function-Response-Mode")) {
            pthread_mutex_lock(&f->mu);
            int cut = f->cut_stream;
            f->cut_stream = 0;
            pthread_mutex_unlock(&f->mu);
            if (cut)
                return MHD_NO; /* MHD closes the connection */
        }
        rq->total += *upload_size;
        /* Streams may be 200 MB: keep the start, count the rest. */
        size_t keep = rq->len < FAKE_BODY_KEEP ? FAKE_BODY_KEEP - rq->len : 0;
        if (keep > *upload_size)
            keep = *upload_size;
        if (keep && rq->len + keep + 1 > rq->cap) {
            /* Doubling: sanitizers' realloc always copies. */
            size_t cap = rq->cap ? rq->cap : 4096;
            while (cap < rq->len + keep + 1)
                cap *= 2;
            char *grown = realloc(rq->body, cap);
            if (!grown)
                return MHD_NO;
            rq->body = grown;
            rq->cap = cap;
        }
        if (keep) {
            memcpy(rq->body + rq->len, upload, keep);
            rq->len += keep;
            rq->body[rq->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }

    static const char inv[] = "/2018-06-01/runtime/invocation/";
    int is_get = strcmp(method, "GET") == 0;
    int is_post = strcmp(method, "POST") == 0;
    if (is_get && strcmp(url, "/2018-06-01/runtime/invocation/next") == 0)
        return serve_next(f, c);
    if (is_post && strcmp(url, "/2018-06-01/runtime/init/error") == 0)
        return serve_init_error(f, c, rq);
    if (is_post && strcmp(url, "/2020-01-01/extension/register") == 0)
        return serve_ext_register(f, c);
    if (is_get && strcmp(url, "/2020-01-01/extension/event/next") == 0)
        return serve_ext_next(f, c);
    if (is_post && strncmp(url, inv, sizeof inv - 1) == 0) {
        const char *id = url + sizeof inv - 1;
        /* The last '/': MHD hands the path over decoded, and a request id
         * may hold an (escaped) '/'. */
        const char *slash = strrchr(id, '/');
        if (slash && strcmp(slash, "/response") == 0)
            return serve_post(f, c, rq, id, (size_t)(slash - id), 0);
        if (slash && strcmp(slash, "/error") == 0)
            return serve_post(f, c, rq, id, (size_t)(slash - id), 1);
    }
    return reply(c, 404, "{\"errorMessage\":\"unknown path\"}", NULL);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode code)
{
    request *rq = *state;
    if (rq) {
        free(rq->body);
        free(rq);
        *state = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    fake_api *f = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&f->mu);
        f->connections++;
        pthread_mutex_unlock(&f->mu);
    }
}

static fake_api *create(void)
{
    fake_api *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->events = calloc(MAX_EVENTS, sizeof *f->events);
    f->results = calloc(MAX_EVENTS * 2, sizeof *f->results);
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (!f->events || !f->results || f->fd < 0 ||
        bind(f->fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(f->fd, (struct sockaddr *)&addr, &len) != 0) {
        fprintf(stderr, "fake_api: cannot bind: %s\n", strerror(errno));
        abort();
    }
    f->port = ntohs(addr.sin_port);
    snprintf(f->endpoint, sizeof f->endpoint, "127.0.0.1:%d", f->port);
    return f;
}

int fake_api_listen(fake_api *f)
{
    if (listen(f->fd, 64) != 0)
        return -1;
    f->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, f, MHD_OPTION_LISTEN_SOCKET, f->fd, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, f, MHD_OPTION_NOTIFY_CONNECTION, on_connection, f,
        MHD_OPTION_CONNECTION_TIMEOUT, 0u,
        /* Room for large reads: a 200 MB stream in 32 KB pieces costs
         * seconds of CPU under sanitizers. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(1u << 20), MHD_OPTION_END);
    return f->daemon ? 0 : -1;
}

fake_api *fake_api_start_refusing(void)
{
    return create();
}

fake_api *fake_api_start(void)
{
    fake_api *f = create();
    if (fake_api_listen(f) != 0) {
        fprintf(stderr, "fake_api: MHD_start_daemon failed\n");
        abort();
    }
    return f;
}

int fake_api_port(const fake_api *f)
{
    return f->port;
}

const char *fake_api_endpoint(const fake_api *f)
{
    return f->endpoint;
}

static void free_result(fake_result *r)
{
    free(r->request_id);
    free(r->body);
    free(r->error_type);
    free(r->invocation_id);
    free(r->content_type);
    free(r->user_agent);
    free(r->response_mode);
    free(r->transfer_encoding);
    free(r->trailer);
    free(r->trailer_error_type);
    free(r->trailer_error_body);
}

void fake_api_stop(fake_api *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stopping = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    if (f->daemon)
        MHD_stop_daemon(f->daemon); /* closes the listening socket */
    else
        close(f->fd);
    for (size_t i = 0; i < f->n_events; i++) {
        queued *q = &f->events[i];
        char *strings[] = {q->body,           q->request_id,       q->arn,       q->trace_id,
                           q->client_context, q->cognito_identity, q->tenant_id, q->invocation_id};
        for (size_t j = 0; j < sizeof strings / sizeof strings[0]; j++)
            free(strings[j]);
    }
    for (size_t i = 0; i < f->n_results; i++)
        free_result(&f->results[i]);
    if (f->has_init_error)
        free_result(&f->init_error);
    free(f->events);
    free(f->results);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}

const char *fake_api_push(fake_api *f, const fake_event *ev)
{
    pthread_mutex_lock(&f->mu);
    if (f->n_events >= MAX_EVENTS) {
        pthread_mutex_unlock(&f->mu);
        return NULL;
    }
    queued *q = &f->events[f->n_events];
    q->len = ev->len ? ev->len : strlen(ev->body);
    q->body = malloc(q->len + 1);
    memcpy(q->body, ev->body, q->len);
    q->body[q->len] = '\0';
    char id[64];
    snprintf(id, sizeof id, "req-%05zu", f->n_events);
    q->request_id = strdup(ev->request_id ? ev->request_id : id);
    q->deadline_ms = ev->deadline_ms ? ev->deadline_ms : fake_now_ms() + 60000;
    q->arn = strdup(ev->arn ? ev->arn : "arn:aws:lambda:us-east-1:123456789012:function:test");
    q->trace_id = dup_or_null(ev->trace_id);
    q->client_context = dup_or_null(ev->client_context);
    q->cognito_identity = dup_or_null(ev->cognito_identity);
    q->tenant_id = dup_or_null(ev->tenant_id);
    q->invocation_id = dup_or_null(ev->invocation_id);
    f->n_events++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return q->request_id;
}

const char *fake_api_push_body(fake_api *f, const char *body)
{
    fake_event ev;
    memset(&ev, 0, sizeof ev);
    ev.body = body;
    return fake_api_push(f, &ev);
}

void fake_api_fault_next(fake_api *f, fake_fault kind, int param)
{
    pthread_mutex_lock(&f->mu);
    if (f->n_next_faults < MAX_FAULTS)
        f->next_faults[f->n_next_faults++] = (fault){kind, param};
    pthread_mutex_unlock(&f->mu);
}

void fake_api_fault_post(fake_api *f, int status)
{
    pthread_mutex_lock(&f->mu);
    if (f->n_post_faults < MAX_FAULTS)
        f->post_faults[f->n_post_faults++] = status;
    pthread_mutex_unlock(&f->mu);
}

void fake_api_cut_stream(fake_api *f)
{
    pthread_mutex_lock(&f->mu);
    f->cut_stream = 1;
    pthread_mutex_unlock(&f->mu);
}

void fake_api_end_with_500(fake_api *f)
{
    pthread_mutex_lock(&f->mu);
    f->end_with_500 = 1;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* Waits on the condition until pred() holds or the time is up. */
static int wait_until(fake_api *f, int (*pred)(fake_api *, size_t), size_t arg, int timeout_ms)
{
    int64_t end = fake_now_ms() + timeout_ms;
    pthread_mutex_lock(&f->mu);
    int ok;
    while (!(ok = pred(f, arg)) && fake_now_ms() < end) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 50 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->cv, &f->mu, &until);
    }
    pthread_mutex_unlock(&f->mu);
    return ok;
}

static int have_results(fake_api *f, size_t n)
{
    return f->n_results >= n;
}

static int have_init_error(fake_api *f, size_t unused)
{
    return f->has_init_error;
}

static int have_ext_next(fake_api *f, size_t unused)
{
    return f->ext_next_calls > 0;
}

size_t fake_api_wait_results(fake_api *f, size_t count, int timeout_ms)
{
    wait_until(f, have_results, count, timeout_ms);
    pthread_mutex_lock(&f->mu);
    size_t n = f->n_results;
    pthread_mutex_unlock(&f->mu);
    return n;
}

const fake_result *fake_api_result(fake_api *f, size_t i)
{
    pthread_mutex_lock(&f->mu);
    const fake_result *r = i < f->n_results ? &f->results[i] : NULL;
    pthread_mutex_unlock(&f->mu);
    return r;
}

const fake_result *fake_api_result_for(fake_api *f, const char *request_id)
{
    const fake_result *r = NULL;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_results && !r; i++)
        if (f->results[i].request_id && strcmp(f->results[i].request_id, request_id) == 0)
            r = &f->results[i];
    pthread_mutex_unlock(&f->mu);
    return r;
}

const fake_result *fake_api_wait_init_error(fake_api *f, int timeout_ms)
{
    return wait_until(f, have_init_error, 0, timeout_ms) ? &f->init_error : NULL;
}

int fake_api_next_calls(fake_api *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->next_calls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int fake_api_connections(fake_api *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->connections;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int fake_api_ext_registrations(fake_api *f, char *name, size_t size)
{
    pthread_mutex_lock(&f->mu);
    int n = f->ext_registrations;
    if (name && size)
        snprintf(name, size, "%s", f->ext_name);
    pthread_mutex_unlock(&f->mu);
    return n;
}

int fake_api_ext_next_calls(fake_api *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->ext_next_calls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int fake_api_wait_ext_next(fake_api *f, int timeout_ms)
{
    return wait_until(f, have_ext_next, 0, timeout_ms);
}

/* putenv() (XSI) for _X_AMZN_TRACE_ID, see set_trace_env(). */
#define _XOPEN_SOURCE 700

#include "loop.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "backoff.h"
#include "context.h"
#include "extension.h"
#include "handler.h"
#include "log.h"
#include "signals.h"
#include "stream.h"

#define MAX_WORKERS 1024

typedef struct runtime {
    const char *endpoint;
    const lambda_handler *handler;
    lambda_env_facts facts;
    int concurrent;    /* more than one worker */
    atomic_bool stop;  /* a worker hit a fatal state: all stop */
    atomic_int status; /* the first fatal status */
} runtime;

typedef struct worker {
    runtime *rt;
    lambda_api *api; /* points at `own`, or at init's handle for worker 0 */
    lambda_api own;
    pthread_t thread;
    int started;
} worker;

int lambda_loop_concurrency(const char *value)
{
    if (!value || !*value)
        return 1;
    char *end;
    long n = strtol(value, &end, 10);
    if (*end != '\0' || n < 1)
        return 1;
    return n > MAX_WORKERS ? MAX_WORKERS : (int)n;
}

/* Stops every worker and remembers why (the first reason wins). */
static int fail(runtime *rt, int status)
{
    int expected = 0;
    atomic_compare_exchange_strong(&rt->status, &expected, status);
    atomic_store(&rt->stop, 1);
    return status;
}

/* The API's own failure message: on stderr whatever the log level, since the
 * process is about to end because of it. */
static void fatal_line(const char *what, const lambda_api *api, lambda_api_status st)
{
    char why[300];
    fprintf(stderr, LAMBDA_RUNTIME_NAME ": %s (%s); exiting\n", what,
            lambda_api_describe(api, st, why, sizeof why));
}

/* GET /next, retrying refused and broken connections with bounded backoff.
 * Returns 0 with an invocation, or the exit status. */
static int next_invocation(worker *w, lambda_invocation *inv)
{
    runtime *rt = w->rt;
    lambda_backoff b;
    lambda_api_backoff_init(&b);
    for (;;) {
        lambda_api_status st = lambda_api_next(w->api, inv);
        if (st == LAMBDA_API_OK) {
            if (!inv->request_id || !*inv->request_id) {
                fprintf(stderr, LAMBDA_RUNTIME_NAME ": Runtime API sent an invocation without "
                                                    "Lambda-Runtime-Aws-Request-Id; exiting\n");
                return fail(rt, LAMBDA_EXIT_API_ERROR);
            }
            return 0;
        }
        if (st == LAMBDA_API_STOPPED || atomic_load(&rt->stop))
            return atomic_load(&rt->status);
        if (st == LAMBDA_API_REFUSED || st == LAMBDA_API_BROKEN) {
            long delay = lambda_backoff_next_ms(&b);
            if (delay >= 0) {
                lambda_sleep_ms(delay);
                continue;
            }
            fatal_line("Runtime API unreachable at "
                       "/invocation/next after "
                       "10 retries",
                       w->api, st);
            return fail(rt, LAMBDA_EXIT_API_ERROR);
        }
        fatal_line("Runtime API failed /invocation/next: non-recoverable "
                   "state",
                   w->api, st);
        return fail(rt, LAMBDA_EXIT_API_ERROR);
    }
}

static lambda_api_status post_outcome(worker *w, const lambda_invocation *inv,
                                      const lambda_response *res)
{
    if (lambda_stream_pending(res))
        return lambda_stream_finish(res);
    if (res->kind == LAMBDA_RESPONSE_SUCCESS)
        return lambda_api_post_response(w->api, inv, res->payload.data, res->payload.len,
                                        res->content_type);
    return lambda_api_post_error(w->api, inv, res->error.type, res->error.message);
}

/* Posts the outcome. A refused connection is retried (nothing was sent); a
 * connection broken mid-request is not (the API may have taken it: a second
 * post would be rejected). Returns 0 to go on, or the exit status. */
static int deliver(worker *w, const lambda_invocation *inv, const lambda_response *res)
{
    runtime *rt = w->rt;
    lambda_backoff b;
    lambda_api_backoff_init(&b);
    const char *what = res->kind == LAMBDA_RESPONSE_SUCCESS ? "response" : "error";
    char why[300];
    for (;;) {
        lambda_api_status st = post_outcome(w, inv, res);
        switch (st) {
        case LAMBDA_API_OK:
            return 0;
        case LAMBDA_API_REJECTED:
            /* 400 (wrong id), 403 (already answered), 413 (too large): this
             * invocation is lost but the API is healthy. */
            lambda_log(LAMBDA_LOG_ERROR, "Runtime API rejected the %s for request %s: %s", what,
                       inv->request_id, lambda_api_describe(w->api, st, why, sizeof why));
            return 0;
        case LAMBDA_API_REFUSED: {
            long delay = lambda_backoff_next_ms(&b);
            if (delay >= 0 && !atomic_load(&rt->stop)) {
                lambda_sleep_ms(delay);
                continue;
            }
            fatal_line("Runtime API unreachable when posting a result after "
                       "10 retries",
                       w->api, st);
            return fail(rt, LAMBDA_EXIT_API_ERROR);
        }
        case LAMBDA_API_BROKEN:
        case LAMBDA_API_NOMEM:
            lambda_log(LAMBDA_LOG_ERROR, "could not post the %s for request %s: %s", what,
                       inv->request_id, lambda_api_describe(w->api, st, why, sizeof why));
            return 0;
        case LAMBDA_API_STOPPED:
            return atomic_load(&rt->status);
        case LAMBDA_API_FATAL:
        default:
            fatal_line("Runtime API failed a result post: non-recoverable "
                       "state",
                       w->api, st);
            return fail(rt, LAMBDA_EXIT_API_ERROR);
        }
    }
}

/* glibc's setenv() keeps every distinct value it was ever given (so that
 * old getenv() pointers stay valid): a new trace id per invocation grew the
 * heap by ~150 bytes each time. The runtime owns the "_X_AMZN_TRACE_ID=…"
 * string instead and hands it to putenv(): while that very string is still
 * the one in the environment, the next id is written into it in place
 * (POSIX: altering a putenv() string alters the environment), so an
 * invocation allocates nothing here. A bigger id, or a handler that set the
 * variable itself, gets a new string. Only used with one worker (see
 * invoke()). */
static char *trace_env;
static size_t trace_env_cap;

static void set_trace_env(const char *trace_id)
{
    static const char name[] = "_X_AMZN_TRACE_ID=";
    const size_t prefix = sizeof name - 1;
    if (!trace_id) {
        if (getenv("_X_AMZN_TRACE_ID"))
            unsetenv("_X_AMZN_TRACE_ID");
        return;
    }
    size_t need = prefix + strlen(trace_id) + 1;
    if (trace_env && need <= trace_env_cap && getenv("_X_AMZN_TRACE_ID") == trace_env + prefix) {
        memcpy(trace_env + prefix, trace_id, need - prefix);
        return;
    }
    char *s = malloc(need);
    if (s) {
        memcpy(s, name, prefix);
        memcpy(s + prefix, trace_id, need - prefix);
    }
    if (!s || putenv(s) != 0) {
        free(s);
        s = NULL;
        need = 0;
        unsetenv("_X_AMZN_TRACE_ID");
    }
    free(trace_env); /* no longer in environ */
    trace_env = s;
    trace_env_cap = need;
}

static void invoke(worker *w, lambda_invocation *inv, lambda_response *res)
{
    runtime *rt = w->rt;
    lambda_invocation_finish(inv, &rt->facts);
    /* Lambda's rule: _X_AMZN_TRACE_ID per invocation; setenv is not
     * thread-safe, so concurrent workers leave it alone (the trace id is in
     * the context). */
    if (!rt->concurrent)
        set_trace_env(inv->trace_id);
    lambda_context_set_current(&inv->ctx);
    lambda_signals_set_request_id(inv->request_id);

    lambda_request req = {inv->event.data, inv->event.len, &inv->ctx};
    lambda_stream_bind(res, w->api, inv);
    lambda_dispatch(rt->handler, &req, res, LAMBDA_RESPONSE_LIMIT);

    if (res->kind == LAMBDA_RESPONSE_FAILURE)
        lambda_log(LAMBDA_LOG_DEBUG, "handler failed: %s: %s", res->error.type, res->error.message);
    lambda_signals_set_request_id(NULL);
    lambda_context_set_current(NULL);
}

static int work(worker *w)
{
    lambda_invocation inv;
    lambda_response res;
    memset(&inv, 0, sizeof inv);
    memset(&res, 0, sizeof res);
    lambda_signals_thread_altstack();
    int status;
    for (;;) {
        status = next_invocation(w, &inv);
        if (status != 0 || atomic_load(&w->rt->stop))
            break;
        invoke(w, &inv, &res);
        status = deliver(w, &inv, &res);
        lambda_response_clear(&res);
        if (status != 0)
            break;
    }
    lambda_invocation_free(&inv);
    lambda_response_free(&res);
    lambda_signals_thread_altstack_release();
    return status ? status : atomic_load(&w->rt->status);
}

static void *work_thread(void *arg)
{
    work(arg);
    return NULL;
}

static int run_workers(runtime *rt, lambda_api *first, int count)
{
    if (count == 1) {
        worker w;
        memset(&w, 0, sizeof w);
        w.rt = rt;
        w.api = first;
        return work(&w);
    }
    worker *workers = calloc((size_t)count, sizeof *workers);
    if (!workers) {
        fprintf(stderr,
                LAMBDA_RUNTIME_NAME ": out of memory starting "
                                    "%d workers\n",
                count);
        return LAMBDA_EXIT_API_ERROR;
    }
    int started = 0;
    for (int i = 0; i < count; i++) {
        workers[i].rt = rt;
        if (i == 0) {
            workers[i].api = first; /* reuse init's connection */
        } else if (lambda_api_init(&workers[i].own, rt->endpoint, &rt->stop) != 0) {
            break;
        } else {
            workers[i].api = &workers[i].own;
        }
        if (pthread_create(&workers[i].thread, NULL, work_thread, &workers[i]) != 0) {
            if (i > 0)
                lambda_api_cleanup(&workers[i].own);
            break;
        }
        workers[i].started = 1;
        started++;
    }
    if (started < count)
        lambda_log(LAMBDA_LOG_WARN, "started %d of %d workers", started, count);
    for (int i = 0; i < count; i++) {
        if (workers[i].started) {
            pthread_join(workers[i].thread, NULL);
            if (i > 0)
                lambda_api_cleanup(&workers[i].own);
        }
    }
    free(workers);
    if (started == 0)
        return LAMBDA_EXIT_API_ERROR;
    return atomic_load(&rt->status);
}

static int init_error(lambda_api *api, const lambda_error *err)
{
    fprintf(stderr, LAMBDA_RUNTIME_NAME ": init error %s: %s\n", err->type, err->message);
    lambda_api_status st = lambda_api_post_init_error(api, err->type, err->message);
    if (st != LAMBDA_API_OK) {
        char why[300];
        fprintf(stderr, LAMBDA_RUNTIME_NAME ": could not post /runtime/init/error (%s)\n",
                lambda_api_describe(api, st, why, sizeof why));
    }
    /* Exit ourselves: the platform does not kill a runtime that lingers. */
    return LAMBDA_EXIT_INIT_ERROR;
}

static int run(const lambda_runtime_config *config, int ignore_handler_env)
{
    lambda_log_reload();
    const char *endpoint = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!endpoint || !*endpoint) {
        fprintf(stderr,
                LAMBDA_RUNTIME_NAME ": AWS_LAMBDA_RUNTIME_API is not "
                                    "set: this program is a Lambda bootstrap and must run under "
                                    "the Lambda Runtime API\n");
        return LAMBDA_EXIT_INIT_ERROR;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, LAMBDA_RUNTIME_NAME ": curl_global_init failed\n");
        return LAMBDA_EXIT_INIT_ERROR;
    }
    lambda_signals_install_fatal();
    /* Before any thread exists, so that only the shutdown thread takes
     * SIGTERM. */
    if (config->shutdown && lambda_signals_start_shutdown(config->shutdown) != 0)
        lambda_log(LAMBDA_LOG_WARN, "could not start the SIGTERM thread");

    runtime rt;
    memset(&rt, 0, sizeof rt);
    rt.endpoint = endpoint;
    lambda_env_facts_load(&rt.facts);
    int workers = lambda_loop_concurrency(getenv("AWS_LAMBDA_MAX_CONCURRENCY"));
    rt.concurrent = workers > 1;

    int status;
    lambda_api api;
    lambda_extension *ext = NULL;
    if (lambda_api_init(&api, endpoint, &rt.stop) != 0) {
        fprintf(stderr, LAMBDA_RUNTIME_NAME ": out of memory at start\n");
        curl_global_cleanup();
        return LAMBDA_EXIT_INIT_ERROR;
    }
    lambda_error err = {"", ""};
    if (lambda_config_check(config, &err) != 0) {
        status = init_error(&api, &err);
        goto out;
    }
    rt.handler =
        lambda_route(config->handlers, config->handler_count,
                     ignore_handler_env ? config->handlers[0].name : getenv("_HANDLER"), &err);
    if (!rt.handler) {
        status = init_error(&api, &err);
        goto out;
    }
    /* Extensions must register before the runtime's first /next. */
    if (config->shutdown)
        ext = lambda_extension_start(endpoint, &rt.stop);
    if (config->init && config->init(rt.handler, &err) != 0) {
        if (!err.type[0])
            snprintf(err.type, sizeof err.type, "Runtime.InitError");
        if (!err.message[0])
            snprintf(err.message, sizeof err.message, "the init hook failed for handler '%s'",
                     rt.handler->name);
        status = init_error(&api, &err);
        goto out;
    }
    status = run_workers(&rt, &api, workers);
out:
    atomic_store(&rt.stop, 1);
    lambda_extension_stop(ext);
    lambda_api_cleanup(&api);
    curl_global_cleanup();
    return status;
}

int lambda_run(const lambda_runtime_config *config)
{
    if (!config) {
        fprintf(stderr, LAMBDA_RUNTIME_NAME ": lambda_run(NULL)\n");
        return LAMBDA_EXIT_INIT_ERROR;
    }
    return run(config, 0);
}

int lambda_run_handler(lambda_raw_handler_fn handler, void *userdata)
{
    lambda_handler table[1] = {{"handler", NULL, handler, userdata}};
    lambda_runtime_config config = LAMBDA_RUNTIME_CONFIG_INIT;
    config.handlers = table;
    config.handler_count = 1;
    return run(&config, 1);
}

/*
 * lambda-local: a Docker-free Lambda emulator for provided.al2023 bootstraps.
 *
 *   lambda-local start-lambda [--template template.yaml] [--host 127.0.0.1]
 *       [--port N] [--bootstrap PATH] [--env-vars FILE.json]
 *       [--max-concurrency N] [--function NAME=HANDLER ...] [--timeout S]
 *       [--port-file FILE] [--durable-time-scale X] [--durable-state-dir DIR]
 *       [--per-environment-concurrency N] [--async-failure-dir DIR]
 *       [--async-time-scale F]
 *   lambda-local invoke FUNCTION [-e event.json|-] [--template ...]
 *       [--bootstrap PATH] [--env-vars FILE.json] [--function NAME=HANDLER]
 *       [--timeout S]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "async.h"
#include "codedir.h"
#include "durable.h"
#include "params.h"
#include "tmpdirs.h"
#include "common.h"
#include "env_vars.h"
#include "function.h"
#include "invocation.h"
#include "invoke_api.h"
#include "pool.h"
#include "template.h"

#define DEFAULT_MAX_CONCURRENCY 10
#define DEFAULT_PORT 3001 /* sam local start-lambda's */

typedef struct options {
    bool invoke_mode;
    const char *template_path;
    const char *host;
    long port;
    const char *bootstrap;
    const char *env_vars;
    long max_concurrency;
    double timeout_s; /* 0: keep each function's */
    const char *port_file;
    double durable_time_scale;     /* durable timers: wall seconds per second */
    const char *durable_state_dir; /* durable executions survive restarts there */
    long env_concurrency;          /* 0: each function's */
    double async_time_scale;
    const char *async_failure_dir;
    const char *event_path;
    const char *invoke_name;
    char **direct; /* NAME=HANDLER */
    size_t direct_count;
} options;

static void usage(FILE *out)
{
    fputs("usage: lambda-local start-lambda [--template template.yaml] [--host 127.0.0.1]\n"
          "                    [--port N (default 3001, 0 = pick)] [--bootstrap PATH] [--env-vars "
          "FILE.json]\n"
          "                    [--max-concurrency N] [--function NAME=HANDLER ...]\n"
          "                    [--timeout SECONDS] [--port-file FILE]\n"
          "                    [--parameter-overrides 'Key=Value ...' (repeatable)]\n"
          "                    [--durable-time-scale X (1 = real time, 0 = timers at once)]\n"
          "                    [--durable-state-dir DIR]\n"
          "                    [--async-failure-dir DIR] [--async-time-scale F (default 1)]\n"
          "                    [--per-environment-concurrency N (Managed Instances)]\n"
          "       lambda-local invoke FUNCTION [-e event.json|-] [--template template.yaml]\n"
          "                    [--bootstrap PATH] [--env-vars FILE.json]\n"
          "                    [--function NAME=HANDLER ...] [--timeout SECONDS]\n"
          "                    [--parameter-overrides 'Key=Value ...']\n",
          out);
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Returns 0, or an exit status (2: usage). */
static int parse_options(int argc, char **argv, options *o)
{
    enum {
        OPT_TEMPLATE = 256,
        OPT_HOST,
        OPT_PORT,
        OPT_BOOTSTRAP,
        OPT_ENV_VARS,
        OPT_PARAMS,
        OPT_MAX,
        OPT_FUNCTION,
        OPT_TIMEOUT,
        OPT_PORT_FILE,
        OPT_DURABLE_SCALE,
        OPT_DURABLE_DIR,
        OPT_ASYNC_DIR,
        OPT_ASYNC_SCALE,
        OPT_ENV_CONCURRENCY
    };
    static const struct option longopts[] = {
        {"template", required_argument, NULL, OPT_TEMPLATE},
        {"host", required_argument, NULL, OPT_HOST},
        {"port", required_argument, NULL, OPT_PORT},
        {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
        {"env-vars", required_argument, NULL, OPT_ENV_VARS},
        {"parameter-overrides", required_argument, NULL, OPT_PARAMS},
        {"max-concurrency", required_argument, NULL, OPT_MAX},
        {"function", required_argument, NULL, OPT_FUNCTION},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"durable-time-scale", required_argument, NULL, OPT_DURABLE_SCALE},
        {"durable-state-dir", required_argument, NULL, OPT_DURABLE_DIR},
        {"async-failure-dir", required_argument, NULL, OPT_ASYNC_DIR},
        {"async-time-scale", required_argument, NULL, OPT_ASYNC_SCALE},
        {"per-environment-concurrency", required_argument, NULL, OPT_ENV_CONCURRENCY},
        {"event", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = DEFAULT_PORT;
    o->max_concurrency = DEFAULT_MAX_CONCURRENCY;
    o->durable_time_scale = 1.0;
    o->async_time_scale = 1.0;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : -1;
    }
    if (strcmp(argv[1], "invoke") == 0)
        o->invoke_mode = true;
    else if (strcmp(argv[1], "start-lambda") != 0) {
        fprintf(stderr, "lambda-local: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    optind = 2;
    int c;
    long n;
    while ((c = getopt_long(argc, argv, "e:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_TEMPLATE:
            o->template_path = optarg;
            break;
        case OPT_HOST:
            o->host = optarg;
            break;
        case OPT_PORT:
            if (!parse_long(optarg, 0, 65535, &o->port)) {
                fprintf(stderr, "lambda-local: --port must be 0..65535\n");
                return 2;
            }
            break;
        case OPT_BOOTSTRAP:
            o->bootstrap = optarg;
            break;
        case OPT_ENV_VARS:
            o->env_vars = optarg;
            break;
        case OPT_PARAMS:
            if (lambda_local_params_add(optarg) != 0) {
                fprintf(stderr, "lambda-local: --parameter-overrides wants 'Key=Value ...' or "
                                "'ParameterKey=K,ParameterValue=V'\n");
                return 2;
            }
            break;
        case OPT_MAX:
            if (!parse_long(optarg, 1, 1000, &o->max_concurrency)) {
                fprintf(stderr, "lambda-local: --max-concurrency must be 1..1000\n");
                return 2;
            }
            break;
        case OPT_FUNCTION: {
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                fprintf(stderr, "lambda-local: --function wants NAME=HANDLER\n");
                return 2;
            }
            char **d = realloc(o->direct, (o->direct_count + 1) * sizeof *d);
            if (!d)
                abort();
            o->direct = d;
            o->direct[o->direct_count++] = optarg;
            break;
        }
        case OPT_TIMEOUT:
            if (!parse_long(optarg, 1, 900, &n)) {
                fprintf(stderr, "lambda-local: --timeout must be 1..900 seconds\n");
                return 2;
            }
            o->timeout_s = (double)n;
            break;
        case OPT_PORT_FILE:
            o->port_file = optarg;
            break;
        case OPT_DURABLE_SCALE: {
            char *end = NULL;
            errno = 0;
            o->durable_time_scale = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->durable_time_scale >= 0) ||
                o->durable_time_scale > 1000) {
                fprintf(stderr, "lambda-local: --durable-time-scale must be a number from 0 "
                                "(timers at once) to 1000 (1 = real time)\n");
                return 2;
            }
            break;
        }
        case OPT_ENV_CONCURRENCY:
            if (!parse_long(optarg, 1, 1600, &o->env_concurrency)) {
                fprintf(stderr, "lambda-local: --per-environment-concurrency must be 1..1600\n");
                return 2;
            }
            break;
        case OPT_ASYNC_DIR:
            o->async_failure_dir = optarg;
            break;
        case OPT_ASYNC_SCALE: {
            char *end = NULL;
            errno = 0;
            o->async_time_scale = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->async_time_scale > 0) ||
                o->async_time_scale > 1000) {
                fprintf(stderr, "lambda-local: --async-time-scale must be a number in (0, 1000] "
                                "(0.001: retries after 60 ms and 120 ms instead of 1 and 2 "
                                "minutes)\n");
                return 2;
            }
            break;
        }
        case OPT_DURABLE_DIR:
            o->durable_state_dir = optarg;
            break;
        case 'e':
            o->event_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (o->invoke_mode) {
        if (optind != argc - 1) {
            fprintf(stderr, "lambda-local: invoke wants exactly one FUNCTION\n");
            return 2;
        }
        o->invoke_name = argv[optind];
    } else if (optind != argc) {
        fprintf(stderr, "lambda-local: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->direct_count > 0 && o->template_path) {
        fprintf(stderr, "lambda-local: --function and --template exclude each other\n");
        return 2;
    }
    if (o->direct_count > 0 && !o->bootstrap) {
        fprintf(stderr, "lambda-local: --function needs --bootstrap PATH\n");
        return 2;
    }
    if (o->direct_count == 0 && !o->template_path)
        o->template_path = "template.yaml"; /* as SAM: the one in the current folder */
    return 0;
}

/* Loads and prepares every function. Returns 0 or 1 with a message out. */
static int load_functions(const options *o, lambda_local_functions *fns)
{
    char err[1024];
    if (o->template_path) {
        if (lambda_local_template_load(o->template_path, fns, err, sizeof err) != 0) {
            fprintf(stderr, "lambda-local: %s\n", err);
            return 1;
        }
        if (fns->count == 0) {
            fprintf(stderr, "lambda-local: %s: no AWS::Serverless::Function resources\n",
                    o->template_path);
            return 1;
        }
    } else {
        for (size_t i = 0; i < o->direct_count; i++) {
            const char *eq = strchr(o->direct[i], '=');
            char *name = lambda_local_format("%.*s", (int)(eq - o->direct[i]), o->direct[i]);
            lambda_local_function *fn = lambda_local_functions_add(fns, name);
            free(name);
            fn->handler = lambda_local_strdup(eq + 1);
        }
    }
    if (o->env_vars && lambda_local_env_vars_apply(o->env_vars, fns, o->template_path != NULL, err,
                                                   sizeof err) != 0) {
        fprintf(stderr, "lambda-local: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < fns->count; i++) {
        lambda_local_function *fn = &fns->items[i];
        if (o->timeout_s > 0)
            fn->timeout_s = o->timeout_s;
        if (o->env_concurrency > 0)
            fn->env_concurrency = (int)o->env_concurrency;
        if (lambda_local_code_prepare(fn, o->bootstrap, err, sizeof err) != 0) {
            fprintf(stderr, "lambda-local: %s\n", err);
            return 1;
        }
    }
    return 0;
}

/* The event of `invoke -e`: a file, "-" for stdin, or {} without -e. */
static char *read_event(const char *path, size_t *len)
{
    if (!path) {
        *len = 2;
        return lambda_local_strdup("{}");
    }
    bool from_stdin = strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lambda-local: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *event = lambda_local_read_stream(f, len);
    if (!from_stdin)
        fclose(f);
    if (!event)
        fprintf(stderr, "lambda-local: %s: read error\n", path);
    return event;
}

/* The signal thread of the invoke subcommand: Ctrl-C stops the pools (and
 * so fails the invocation), a SIGUSR1 from main just ends the thread. */
typedef struct signal_watch {
    sigset_t set;
    lambda_local_pool **pools;
    size_t count;
} signal_watch;

static void *watch_signals(void *arg)
{
    signal_watch *w = arg;
    int sig = 0;
    sigwait(&w->set, &sig);
    if (sig != SIGUSR1)
        for (size_t i = 0; i < w->count; i++)
            lambda_local_pool_shutdown(w->pools[i]);
    return NULL;
}

static int run_invoke(const options *o, lambda_local_pool **pools, size_t count,
                      const sigset_t *signals)
{
    size_t len = 0;
    char *event = read_event(o->event_path, &len);
    if (!event)
        return 1;
    char *arn = NULL;
    lambda_local_pool *pool = lambda_local_find_pool(pools, count, o->invoke_name, NULL, &arn);
    if (!pool) {
        fprintf(stderr, "lambda-local: function %s not found in the template\n", o->invoke_name);
        free(arn);
        free(event);
        return 1;
    }
    signal_watch w = {.set = *signals, .pools = pools, .count = count};
    pthread_t watcher;
    bool watching = pthread_create(&watcher, NULL, watch_signals, &w) == 0;

    /* Unlike the Invoke API, the event is passed as it is (like `sam local
     * invoke`), so runtimes can be tested with events that are not JSON. */
    lambda_local_invocation *inv = lambda_local_invocation_new(event, len);
    free(event);
    inv->invoked_arn = arn;
    lambda_local_pool_submit(pool, inv);
    lambda_local_invocation_wait(inv);
    fwrite(inv->result, 1, inv->result_len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    int rc = inv->function_error ? 1 : 0;
    lambda_local_invocation_release(inv);

    if (watching) {
        pthread_kill(watcher, SIGUSR1);
        pthread_join(watcher, NULL);
    }
    return rc;
}

static int run_server(const options *o, lambda_local_pool **pools, size_t count,
                      const sigset_t *signals)
{
    char err[256];
    lambda_local_async_config async = {.time_scale = o->async_time_scale,
                                       .failure_dir = o->async_failure_dir};
    if (lambda_local_async_start(&async, err, sizeof err) != 0) {
        fprintf(stderr, "lambda-local: %s\n", err);
        return 1;
    }
    uint16_t port = 0;
    lambda_local_durable_config durable_config = {.time_scale = o->durable_time_scale,
                                                  .state_dir = o->durable_state_dir};
    lambda_local_durable *durable =
        lambda_local_durable_new(pools, count, &durable_config, err, sizeof err);
    if (!durable) {
        fprintf(stderr, "lambda-local: %s\n", err);
        lambda_local_async_stop();
        return 1;
    }
    lambda_local_invoke_api *api = lambda_local_invoke_api_start(
        o->host, (uint16_t)o->port, pools, count, durable, &port, err, sizeof err);
    if (!api) {
        fprintf(stderr, "lambda-local: %s\n", err);
        lambda_local_durable_free(durable);
        lambda_local_async_stop();
        return 1;
    }
    char *endpoint = lambda_local_format("http://%s:%u", o->host, port);
    lambda_local_globals.lambda_endpoint = endpoint;
    if (lambda_local_durable_start(durable, err, sizeof err) != 0) {
        fprintf(stderr, "lambda-local: %s\n", err);
        lambda_local_durable_stop(durable); /* answers invokes waiting on it */
        lambda_local_invoke_api_stop(api);
        lambda_local_durable_free(durable);
        lambda_local_globals.lambda_endpoint = NULL;
        free(endpoint);
        return 1;
    }
    if (o->port_file) {
        FILE *f = fopen(o->port_file, "w");
        if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
            fprintf(stderr, "lambda-local: --port-file %s: %s\n", o->port_file, strerror(errno));
            lambda_local_durable_stop(durable);
            lambda_local_async_stop();
            for (size_t i = 0; i < count; i++)
                lambda_local_pool_shutdown(pools[i]);
            lambda_local_invoke_api_stop(api);
            lambda_local_durable_free(durable);
            lambda_local_globals.lambda_endpoint = NULL;
            free(endpoint);
            return 1;
        }
    }
    for (size_t i = 0; i < count; i++)
        lambda_local_log("function %s: handler %s, timeout %.0f s, memory %d MB, bootstrap %s",
                         lambda_local_pool_function(pools[i])->name,
                         lambda_local_pool_function(pools[i])->handler,
                         lambda_local_pool_function(pools[i])->timeout_s,
                         lambda_local_pool_function(pools[i])->memory_mb,
                         lambda_local_pool_function(pools[i])->bootstrap);
    printf("lambda-local: listening on http://%s:%u\n", o->host, port);
    fflush(stdout);

    int sig = 0;
    do
        sigwait(signals, &sig);
    while (sig == SIGUSR1);
    lambda_local_log("%s received, shutting down", sig == SIGINT   ? "SIGINT"
                                                   : sig == SIGHUP ? "SIGHUP"
                                                                   : "SIGTERM");
    /* The durable service first: its executions stay RUNNING (and on disk)
     * instead of failing with the invocations the pools' shutdown ends.
     * Retries of Event invokes waiting for their time are dropped: none may
     * reach a pool that is shutting down. Then the pools: that answers
     * every waiting invoke, so the HTTP threads can finish and the daemon
     * can stop. */
    lambda_local_durable_stop(durable);
    lambda_local_async_stop();
    for (size_t i = 0; i < count; i++)
        lambda_local_pool_shutdown(pools[i]);
    lambda_local_invoke_api_stop(api);
    lambda_local_durable_free(durable);
    lambda_local_globals.lambda_endpoint = NULL;
    free(endpoint);
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0) {
        free(o.direct);
        return rc < 0 ? 0 : rc;
    }
    const char *region = getenv("AWS_REGION");
    if (!region || !*region)
        region = getenv("AWS_DEFAULT_REGION");
    if (region && *region)
        lambda_local_globals.region = region;

    /* Signals are taken with sigwait(): block them before any thread exists
     * so that every thread inherits the mask. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Folders left by a lambda-local killed outright (no handler runs). */
    lambda_local_tmpdir_sweep();
    lambda_local_functions fns = {0};
    rc = load_functions(&o, &fns);
    lambda_local_pool **pools = lambda_local_calloc(fns.count, sizeof *pools);
    if (rc == 0) {
        for (size_t i = 0; i < fns.count; i++)
            pools[i] = lambda_local_pool_new(&fns.items[i], (int)o.max_concurrency);
        rc = o.invoke_mode ? run_invoke(&o, pools, fns.count, &signals)
                           : run_server(&o, pools, fns.count, &signals);
        for (size_t i = 0; i < fns.count; i++) {
            lambda_local_pool_shutdown(pools[i]);
            lambda_local_pool_free(pools[i]);
        }
    }
    for (size_t i = 0; i < fns.count; i++)
        lambda_local_code_cleanup(&fns.items[i]);
    free(pools);
    lambda_local_functions_free(&fns);
    free(o.direct);
    lambda_local_params_free();
    return rc;
}

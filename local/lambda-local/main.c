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
 *       [--timeout S] [--durable-execution-name NAME] [--durable-time-scale X]
 *       [--durable-state-dir DIR] [--port N] [--port-file FILE]
 */
#include <cjson/cJSON.h>
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
    bool port_given;
    const char *bootstrap;
    const char *env_vars;
    long max_concurrency;
    double timeout_s; /* 0: keep each function's */
    const char *port_file;
    double durable_time_scale;     /* durable timers: wall seconds per second */
    const char *durable_state_dir; /* durable executions survive restarts there */
    const char *durable_name;      /* invoke: run as this durable execution */
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
          "                    [--parameter-overrides 'Key=Value ...']\n"
          "                    [--durable-execution-name NAME] [--durable-time-scale X]\n"
          "                    [--durable-state-dir DIR] [--port N (default 0)] [--port-file "
          "FILE]\n",
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
        OPT_DURABLE_NAME,
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
        {"durable-execution-name", required_argument, NULL, OPT_DURABLE_NAME},
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
            o->port_given = true;
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
        case OPT_DURABLE_NAME:
            o->durable_name = optarg;
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
        /* The Lambda API a durable execution checkpoints to: any free port
         * unless one is asked for. */
        if (!o->port_given)
            o->port = 0;
    } else if (o->durable_name) {
        fprintf(stderr, "lambda-local: --durable-execution-name is for invoke (start-lambda takes "
                        "X-Amz-Durable-Execution-Name on each Invoke)\n");
        return 2;
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

/* --port-file: false with a message when the file cannot be written. */
static bool write_port_file(const char *path, uint16_t port)
{
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
        fprintf(stderr, "lambda-local: --port-file %s: %s\n", path, strerror(errno));
        return false;
    }
    return true;
}

/* The Invoke API on --host/--port with the durable service on it (both
 * start-lambda and a durable one-shot invoke serve it). */
typedef struct service {
    lambda_local_durable *durable;
    lambda_local_invoke_api *api;
    char *endpoint; /* AWS_ENDPOINT_URL_LAMBDA of every function */
    uint16_t port;
} service;

/* The durable service first: its executions stay RUNNING (and on disk)
 * instead of failing with the invocations the pools' shutdown ends.
 * Retries of Event invokes waiting for their time are dropped: none may
 * reach a pool that is shutting down. Then the pools: that answers every
 * waiting invoke, so the HTTP threads can finish and the daemon can stop. */
static void service_stop(service *s, lambda_local_pool **pools, size_t count)
{
    lambda_local_durable_stop(s->durable);
    lambda_local_async_stop();
    for (size_t i = 0; i < count; i++)
        lambda_local_pool_shutdown(pools[i]);
    lambda_local_invoke_api_stop(s->api);
    lambda_local_durable_free(s->durable);
    lambda_local_globals.lambda_endpoint = NULL;
    free(s->endpoint);
    memset(s, 0, sizeof *s);
}

/* Returns 0, or 1 with a message (everything it started stopped again). */
static int service_start(const options *o, lambda_local_pool **pools, size_t count,
                         const lambda_local_durable_config *config, service *s)
{
    char err[1024];
    memset(s, 0, sizeof *s);
    s->durable = lambda_local_durable_new(pools, count, config, err, sizeof err);
    if (s->durable)
        s->api = lambda_local_invoke_api_start(o->host, (uint16_t)o->port, pools, count, s->durable,
                                               &s->port, err, sizeof err);
    if (s->api) {
        s->endpoint = lambda_local_format("http://%s:%u", o->host, s->port);
        /* Set before the durable service invokes anything. */
        lambda_local_globals.lambda_endpoint = s->endpoint;
    }
    if (!s->api || lambda_local_durable_start(s->durable, err, sizeof err) != 0) {
        fprintf(stderr, "lambda-local: %s\n", err);
        service_stop(s, pools, count);
        return 1;
    }
    if (o->port_file && !write_port_file(o->port_file, s->port)) {
        service_stop(s, pools, count);
        return 1;
    }
    return 0;
}

/* The signal thread of the invoke subcommand: Ctrl-C stops the durable
 * service if there is one (its execution stays RUNNING, on disk with a
 * state directory) and the pools (so the invocation ends), a SIGUSR1 from
 * main just ends the thread. */
typedef struct signal_watch {
    sigset_t set;
    lambda_local_pool **pools;
    size_t count;
    lambda_local_durable *durable; /* or NULL */
    pthread_t thread;
    bool running;
} signal_watch;

static void *watch_signals(void *arg)
{
    signal_watch *w = arg;
    int sig = 0;
    sigwait(&w->set, &sig);
    if (sig != SIGUSR1) {
        lambda_local_durable_stop(w->durable);
        for (size_t i = 0; i < w->count; i++)
            lambda_local_pool_shutdown(w->pools[i]);
    }
    return NULL;
}

static void watch_start(signal_watch *w)
{
    w->running = pthread_create(&w->thread, NULL, watch_signals, w) == 0;
}

static void watch_end(signal_watch *w)
{
    if (w->running) {
        pthread_kill(w->thread, SIGUSR1);
        pthread_join(w->thread, NULL);
        w->running = false;
    }
}

/* One invocation: the event as it is (like `sam local invoke`, so runtimes
 * can be tested with events that are not JSON). */
static int invoke_once(lambda_local_pool *pool, char *arn, const char *event, size_t len)
{
    lambda_local_invocation *inv = lambda_local_invocation_new(event, len);
    inv->invoked_arn = arn;
    lambda_local_pool_submit(pool, inv);
    lambda_local_invocation_wait(inv);
    fwrite(inv->result, 1, inv->result_len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    int rc = inv->function_error ? 1 : 0;
    lambda_local_invocation_release(inv);
    return rc;
}

static void announce_callback(void *arg, const char *callback_id)
{
    const char *endpoint = arg;
    lambda_local_log_line("Waiting for callback: %s", callback_id);
    lambda_local_log("answer it from another terminal: curl -X POST "
                     "%s/2025-12-01/durable-execution-callbacks/%s/succeed -d RESULT_JSON "
                     "(or .../fail -d '{\"ErrorType\":\"T\",\"ErrorMessage\":\"M\"}', "
                     ".../heartbeat)",
                     endpoint, callback_id);
}

/* The end of the execution: its result (or error JSON) on stdout, as a
 * synchronous Invoke answers; a summary on stderr, as SAM prints one. */
static void print_outcome(const lambda_local_durable_outcome *out)
{
    fwrite(out->body, 1, out->len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    const cJSON *x = out->execution;
    const cJSON *start = cJSON_GetObjectItemCaseSensitive(x, "StartTimestamp");
    const cJSON *end = cJSON_GetObjectItemCaseSensitive(x, "EndTimestamp");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(x, "Error");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(error, "ErrorType");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "ErrorMessage");
    char duration[32] = "N/A";
    /* Timestamps are raw numbers (epoch seconds, as rest-json writes them). */
    if (cJSON_IsRaw(start) && cJSON_IsRaw(end))
        snprintf(duration, sizeof duration, "%.2fs",
                 strtod(end->valuestring, NULL) - strtod(start->valuestring, NULL));
    char *error_line =
        cJSON_IsObject(error)
            ? lambda_local_format("\nError:    %s: %s",
                                  cJSON_IsString(type) ? type->valuestring : "",
                                  cJSON_IsString(message) ? message->valuestring : "")
            : lambda_local_strdup("");
    lambda_local_log_line(
        "Execution Summary:\nARN:      %s\nName:     %s\nDuration: %s\nStatus:   %s\n"
        "Input:    %s%s",
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "DurableExecutionArn")),
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "DurableExecutionName")), duration,
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "Status")),
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "InputPayload")), error_line);
    free(error_line);
}

/* As `sam local invoke --durable-execution-name`: the durable service and
 * its Lambda API in this process (the function checkpoints there), the
 * whole execution driven to its end, replays included. */
static int invoke_durable(const options *o, lambda_local_pool **pools, size_t count,
                          lambda_local_pool *pool, const char *arn, char *event, size_t len,
                          signal_watch *w)
{
    if (len == 0) {
        free(event);
        event = lambda_local_strdup("{}"); /* as Invoke takes an empty payload */
        len = 2;
    }
    cJSON *parsed = cJSON_ParseWithLength(event, len);
    bool json = parsed && strlen(event) == len; /* the input is a C string from here on */
    cJSON_Delete(parsed);
    if (!json) {
        fprintf(stderr, "lambda-local: InvalidRequestContentException: a durable execution's "
                        "input must be JSON\n");
        free(event);
        return 1;
    }
    char generated[37];
    lambda_local_uuid(generated); /* Lambda names an execution started without a name */
    const char *name = o->durable_name ? o->durable_name : generated;
    char err[1024];
    lambda_local_durable_config config = {.time_scale = o->durable_time_scale,
                                          .state_dir = o->durable_state_dir,
                                          .drive_function = lambda_local_pool_function(pool)->name,
                                          .drive_name = name};
    service svc;
    if (service_start(o, pools, count, &config, &svc) != 0) {
        free(event);
        return 1;
    }
    char *exec_arn = NULL;
    int rc = 1;
    if (lambda_local_durable_begin(svc.durable, pool, arn, name, event, &exec_arn, err,
                                   sizeof err) != 0) {
        fprintf(stderr, "lambda-local: %s\n", err);
    } else {
        lambda_local_log_line("Durable execution started\nARN: %s", exec_arn);
        lambda_local_log("its Lambda API (GetDurableExecution, history, stop, callbacks) is at %s "
                         "until it ends",
                         svc.endpoint);
        w->durable = svc.durable;
        watch_start(w);
        lambda_local_durable_outcome out;
        if (lambda_local_durable_wait(svc.durable, exec_arn, announce_callback, svc.endpoint,
                                      &out) == 0) {
            print_outcome(&out);
            rc = out.failed ? 1 : 0;
            lambda_local_durable_outcome_free(&out);
        } else {
            lambda_local_log("interrupted: durable execution %s is still RUNNING%s", exec_arn,
                             o->durable_state_dir ? "; the same command resumes it"
                                                  : " and is lost (no --durable-state-dir)");
        }
        watch_end(w);
    }
    service_stop(&svc, pools, count);
    free(exec_arn);
    free(event);
    return rc;
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
    /* A function with DurableConfig is durable on every invoke, as on AWS. */
    if (o->durable_name || lambda_local_pool_function(pool)->durable) {
        int rc = invoke_durable(o, pools, count, pool, arn, event, len, &w);
        free(arn);
        return rc;
    }
    watch_start(&w);
    int rc = invoke_once(pool, arn, event, len);
    free(event);
    watch_end(&w);
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
    lambda_local_durable_config durable_config = {.time_scale = o->durable_time_scale,
                                                  .state_dir = o->durable_state_dir};
    service s;
    if (service_start(o, pools, count, &durable_config, &s) != 0) {
        lambda_local_async_stop();
        return 1;
    }
    for (size_t i = 0; i < count; i++)
        lambda_local_log("function %s: handler %s, timeout %.0f s, memory %d MB, bootstrap %s",
                         lambda_local_pool_function(pools[i])->name,
                         lambda_local_pool_function(pools[i])->handler,
                         lambda_local_pool_function(pools[i])->timeout_s,
                         lambda_local_pool_function(pools[i])->memory_mb,
                         lambda_local_pool_function(pools[i])->bootstrap);
    printf("lambda-local: listening on http://%s:%u\n", o->host, s.port);
    fflush(stdout);

    int sig = 0;
    do
        sigwait(signals, &sig);
    while (sig == SIGUSR1);
    lambda_local_log("%s received, shutting down", sig == SIGINT   ? "SIGINT"
                                                   : sig == SIGHUP ? "SIGHUP"
                                                                   : "SIGTERM");
    service_stop(&s, pools, count);
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

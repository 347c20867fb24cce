/* Execution environments: Lambda's process environment, start, supervision. */
#include "environment.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "common.h"
#include "pool.h"
#include "runtime_api.h"

extern char **environ;

/* Variables the emulator passes from its own environment, as Lambda passes
 * the execution role's credentials. Endpoint overrides let functions reach
 * local services (S3 servers in tests); sanitizer options keep ASan builds
 * of the bootstrap configurable. */
static const char *const passed_through[] = {"AWS_ACCESS_KEY_ID",
                                             "AWS_SECRET_ACCESS_KEY",
                                             "AWS_SESSION_TOKEN",
                                             "ASAN_OPTIONS",
                                             "UBSAN_OPTIONS",
                                             "LSAN_OPTIONS",
                                             NULL};

lambda_local_env *lambda_local_env_new(struct lambda_local_pool *pool,
                                       const lambda_local_function *fn, unsigned id,
                                       lambda_local_invocation *reserved)
{
    lambda_local_env *env = lambda_local_calloc(1, sizeof *env);
    env->pool = pool;
    env->fn = fn;
    env->id = id;
    env->state = LAMBDA_LOCAL_ENV_INIT;
    env->reserved = reserved;
    env->capacity = fn->env_concurrency > 1 ? fn->env_concurrency : 1;
    env->running = lambda_local_calloc((size_t)env->capacity, sizeof *env->running);
    /* Tenant isolation: an environment is its first invocation's tenant's
     * for good. */
    env->tenant_id =
        reserved && reserved->tenant_id ? lambda_local_strdup(reserved->tenant_id) : NULL;
    env->wake_fds[0] = env->wake_fds[1] = -1;
    env->log.read_fd = env->log.write_fd = -1;
    env->proc.pid = 0;
    env->proc.pidfd = -1;

    /* Lambda's stream names: 2026/11/26/[$LATEST]<32 hex>. */
    char hex[33];
    lambda_local_random_hex(hex, 32);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(env->log_stream, sizeof env->log_stream, "%04d/%02d/%02d/[$LATEST]%s",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, hex);
    return env;
}

typedef struct env_list {
    char **items;
    size_t count;
} env_list;

static void env_add(env_list *l, char *entry)
{
    /* Later entries with the same name replace earlier ones. */
    size_t name_len = strcspn(entry, "=");
    for (size_t i = 0; i < l->count; i++) {
        if (strncmp(l->items[i], entry, name_len + 1) == 0) {
            free(l->items[i]);
            l->items[i] = entry;
            return;
        }
    }
    char **items = realloc(l->items, (l->count + 2) * sizeof *items);
    if (!items)
        abort();
    l->items = items;
    l->items[l->count++] = entry;
    l->items[l->count] = NULL;
}

static void env_list_free(env_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
}

/* Names Lambda reserves: a function's own variables cannot change them. */
static bool is_reserved(const char *name)
{
    static const char *const reserved[] = {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
        /* Managed Instances: set from the function's configuration. */
        "AWS_LAMBDA_MAX_CONCURRENCY", NULL};
    for (size_t i = 0; reserved[i]; i++)
        if (strcmp(name, reserved[i]) == 0)
            return true;
    return false;
}

/* The environment Lambda gives a provided.al2023 bootstrap. */
static void build_environment(const lambda_local_env *env, env_list *l)
{
    const lambda_local_function *fn = env->fn;
    const char *region = lambda_local_globals.region;
    env_add(l, lambda_local_strdup("PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin"));
    env_add(l, lambda_local_strdup("LANG=en_US.UTF-8"));
    env_add(l, lambda_local_strdup("TZ=:UTC"));
    env_add(l,
            lambda_local_format("LD_LIBRARY_PATH=%s:%s/lib:/opt/lib", fn->code_dir, fn->code_dir));
    env_add(l, lambda_local_format("AWS_LAMBDA_RUNTIME_API=127.0.0.1:%u", env->api_port));
    env_add(l, lambda_local_format("_HANDLER=%s", fn->handler ? fn->handler : ""));
    env_add(l, lambda_local_format("LAMBDA_TASK_ROOT=%s", fn->code_dir));
    env_add(l, lambda_local_format("LAMBDA_RUNTIME_DIR=%s", fn->code_dir));
    env_add(l, lambda_local_format("AWS_LAMBDA_FUNCTION_NAME=%s", fn->name));
    env_add(l, lambda_local_strdup("AWS_LAMBDA_FUNCTION_VERSION=$LATEST"));
    env_add(l, lambda_local_format("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", fn->memory_mb));
    env_add(l, lambda_local_format("AWS_REGION=%s", region));
    env_add(l, lambda_local_format("AWS_DEFAULT_REGION=%s", region));
    env_add(l, lambda_local_format("AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", fn->name));
    env_add(l, lambda_local_format("AWS_LAMBDA_LOG_STREAM_NAME=%s", env->log_stream));
    env_add(l, lambda_local_strdup("AWS_LAMBDA_INITIALIZATION_TYPE=on-demand"));
    if (env->capacity > 1) /* Managed Instances: the runtime's concurrent pollers */
        env_add(l, lambda_local_format("AWS_LAMBDA_MAX_CONCURRENCY=%d", env->capacity));
    for (size_t i = 0; passed_through[i]; i++) {
        const char *v = getenv(passed_through[i]);
        if (v)
            env_add(l, lambda_local_format("%s=%s", passed_through[i], v));
    }
    /* AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>. */
    const char *own = lambda_local_globals.lambda_endpoint;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "AWS_ENDPOINT_URL", 16) == 0 && ((*e)[16] == '=' || (*e)[16] == '_') &&
            !(own && strncmp(*e, "AWS_ENDPOINT_URL_LAMBDA=", 24) == 0))
            env_add(l, lambda_local_strdup(*e));
    if (own) /* lambda-local itself: the durable service's endpoint */
        env_add(l, lambda_local_format("AWS_ENDPOINT_URL_LAMBDA=%s", own));
    for (size_t i = 0; i < fn->var_count; i++) {
        const lambda_local_var *v = &fn->vars[i];
        if (!v->value)
            continue; /* unresolved intrinsic: unset, as documented */
        if (is_reserved(v->name)) {
            lambda_local_log("function %s: variable %s is reserved by Lambda, ignored", fn->name,
                             v->name);
            continue;
        }
        env_add(l, lambda_local_format("%s=%s", v->name, v->value));
    }
}

/* Waits for the process to exit or a deadline to pass. */
static void *supervise(void *arg)
{
    lambda_local_env *env = arg;
    int pidfd = env->proc.pidfd; /* written before this thread started */
    int log_fd = env->log.read_fd;
    for (;;) {
        int64_t deadline = lambda_local_pool_env_deadline(env);
        int timeout_ms = -1;
        if (deadline >= 0) {
            int64_t left = deadline - lambda_local_mono_us();
            timeout_ms = left <= 0 ? 0 : (int)((left + 999) / 1000);
        }
        struct pollfd fds[3] = {{.fd = pidfd, .events = POLLIN},
                                {.fd = env->wake_fds[0], .events = POLLIN},
                                {.fd = log_fd, .events = POLLIN}};
        int n = poll(fds, 3, timeout_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            lambda_local_log("environment %u: poll: %s", env->id, strerror(errno));
            break;
        }
        if (fds[0].revents)
            break;
        if (fds[2].revents) {
            /* At end-of-file (every writer gone) stop watching it. */
            if (!lambda_local_env_log_drain(&env->log))
                log_fd = -1;
            continue;
        }
        if (fds[1].revents) {
            char buf[64];
            while (read(env->wake_fds[0], buf, sizeof buf) > 0)
                ;
            continue;
        }
        if (n == 0)
            lambda_local_pool_env_expired(env);
    }
    /* Whatever the bootstrap left behind in its group goes with it. */
    lambda_local_process_kill(&env->proc, SIGKILL);
    int status = 0;
    long max_rss_kb = 0;
    while (lambda_local_process_reap(&env->proc, &status, &max_rss_kb) != 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL); /* only after a poll error */
    }
    lambda_local_pool_env_exited(env, status, max_rss_kb);
    lambda_local_runtime_api_stop(env->api);
    env->api = NULL;
    lambda_local_pool_env_gone(env); /* frees env */
    return NULL;
}

int lambda_local_env_start(lambda_local_env *env, char *err, size_t errlen)
{
    if (pipe2(env->wake_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    if (lambda_local_env_log_open(&env->log, err, errlen) != 0)
        return -1;
    /* What the runtime logs during init belongs to the invocation that
     * caused the cold start (its tail shows why an init failed). */
    if (env->reserved)
        lambda_local_env_log_attach(&env->log, env->reserved);
    env->api = lambda_local_runtime_api_start(env, &env->api_port, err, errlen);
    if (!env->api)
        return -1;

    /* An arm64 bootstrap on x86_64 runs through qemu-aarch64. */
    char *runner = NULL;
    if (lambda_local_arch_runner(env->fn, &runner, err, errlen) != 0) {
        lambda_local_runtime_api_stop(env->api);
        env->api = NULL;
        return -1;
    }
    env_list l = {0};
    build_environment(env, &l);
    lambda_local_process proc;
    int rc = lambda_local_process_spawn_logged(runner, env->fn->bootstrap, l.items,
                                               env->fn->code_dir, env->log.write_fd, &proc);
    env_list_free(&l);
    lambda_local_env_log_started(&env->log);
    if (rc != 0) {
        snprintf(err, errlen, "fork/exec %s%s%s: %s", runner ? runner : "", runner ? " " : "",
                 env->fn->bootstrap, strerror(rc));
        free(runner);
        lambda_local_runtime_api_stop(env->api);
        env->api = NULL;
        return -1;
    }
    free(runner);
    lambda_local_pool_env_spawned(env, &proc);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&env->supervisor, &attr, supervise, env);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        /* Without a supervisor nobody would reap it: do it here. */
        snprintf(err, errlen, "pthread_create: %s", strerror(rc));
        lambda_local_process_kill(&proc, SIGKILL);
        int status;
        long rss;
        while (lambda_local_process_reap(&env->proc, &status, &rss) != 0)
            usleep(1000);
        lambda_local_runtime_api_stop(env->api);
        env->api = NULL;
        return -1;
    }
    return 0;
}

void lambda_local_env_wake(lambda_local_env *env)
{
    if (env->wake_fds[1] >= 0) {
        ssize_t w = write(env->wake_fds[1], "w", 1);
        (void)w; /* a full pipe already means "wake up" */
    }
}

void lambda_local_env_free(lambda_local_env *env)
{
    if (!env)
        return;
    if (env->wake_fds[0] >= 0)
        close(env->wake_fds[0]);
    if (env->wake_fds[1] >= 0)
        close(env->wake_fds[1]);
    lambda_local_env_log_close(&env->log);
    free(env->tenant_id);
    free(env->running);
    free(env);
}

/* lambda-test-bootstrap: a bootstrap whose handlers exercise every runtime
 * path, for the runtime's integration tests and the emulator's tests.
 *
 *   echo      JSON event echoed back
 *   echo_raw  raw handler: the bytes back (application/octet-stream)
 *   as_type   raw handler: the bytes back with the event as Content-Type
 *   fail      {"errorType":"X","errorMessage":"m"} -> that error
 *   crash     {"signal":"SEGV"|"ABRT"|"BUS"|"FPE"} -> dies by it
 *             ({"signal":"STACK"}: a stack overflow, so SIGSEGV);
 *             {"exit":N} -> exit(N)
 *   sleep     {"ms":N} sleeps N ms, then echoes the event
 *   rendezvous {"dir":D,"n":N} marks its arrival in directory D, then waits
 *             until N invocations have arrived there and echoes the event
 *             (Rendezvous.Timeout shortly before its deadline otherwise): N
 *             of them can only all succeed if they ran at the same time
 *   big       {"bytes":N} -> a JSON string of about N bytes
 *   context   the lambda_context fields and Lambda's env vars as JSON
 *   log       one record at each level
 *
 * Env: LAMBDA_TEST_INIT_FAIL=1 makes the init hook fail (Test.InitFailed);
 * LAMBDA_TEST_SHUTDOWN_HOOK=1 sets a shutdown hook that prints
 * "lambda-test-bootstrap: shutdown hook ran" on stderr;
 * LAMBDA_TEST_RESERVED=1 sets a reserved config field (as a program built for
 * a newer lambda-c would). */
#include <lambda/runtime.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static cJSON *echo(const cJSON *event, const lambda_context *ctx, lambda_error *err, void *userdata)
{
    return cJSON_Duplicate(event, 1);
}

static void echo_raw(const lambda_request *req, lambda_response *res, void *userdata)
{
    lambda_response_success(res, req->payload, req->payload_len, "application/octet-stream");
}

static void as_type(const lambda_request *req, lambda_response *res, void *userdata)
{
    lambda_response_success(res, req->payload, req->payload_len, req->payload);
}

static const char *string_field(const cJSON *event, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(event, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *fail(const cJSON *event, const lambda_context *ctx, lambda_error *err, void *userdata)
{
    const char *type = string_field(event, "errorType");
    const char *message = string_field(event, "errorMessage");
    if (!type)
        return lambda_error_set(err, "InvalidInput",
                                "fail expects {\"errorType\":..., "
                                "\"errorMessage\":...}");
    return lambda_error_set(err, type, "%s", message ? message : "");
}

/* Recursion that only a stack overflow stops (the volatile limit hides
 * that from the compiler, which would otherwise refuse or loop it). */
static volatile int recursion_limit = -1;
static int recurse(int n)
{
    volatile char frame[1024];
    frame[0] = (char)n;
    if (n == recursion_limit)
        return frame[0];
    return recurse(n + 1) + frame[0];
}

static cJSON *crash(const cJSON *event, const lambda_context *ctx, lambda_error *err,
                    void *userdata)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(event, "exit");
    if (cJSON_IsNumber(code))
        exit(code->valueint);
    const char *name = string_field(event, "signal");
    if (!name)
        return lambda_error_set(err, "InvalidInput",
                                "crash expects {\"signal\":\"SEGV\"} or "
                                "{\"exit\":N}");
    if (strcmp(name, "SEGV") == 0) {
        /* A real invalid write, like a handler bug would do (the address
         * is hidden from the optimiser so it cannot fold the fault away). */
        static volatile uintptr_t bad_address = 16;
        *(volatile int *)bad_address = 1;
    } else if (strcmp(name, "STACK") == 0) {
        recurse(1);
    } else if (strcmp(name, "ABRT") == 0) {
        abort();
    } else if (strcmp(name, "BUS") == 0) {
        raise(SIGBUS);
    } else if (strcmp(name, "FPE") == 0) {
        raise(SIGFPE);
    }
    return lambda_error_set(err, "InvalidInput", "unknown signal '%s'", name);
}

static cJSON *sleep_then_echo(const cJSON *event, const lambda_context *ctx, lambda_error *err,
                              void *userdata)
{
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(event, "ms");
    if (!cJSON_IsNumber(ms) || ms->valuedouble < 0 || ms->valuedouble > 600000)
        return lambda_error_set(err, "InvalidInput", "sleep expects {\"ms\":0..600000}");
    long n = (long)ms->valuedouble;
    struct timespec ts = {n / 1000, (n % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return cJSON_Duplicate(event, 1);
}

/* Entries of directory `path` other than "." and "..", or -1. */
static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Proves overlap without timing: the tests of concurrent invocations would
 * otherwise compare wall-clock totals, which a loaded machine stretches. */
static cJSON *rendezvous(const cJSON *event, const lambda_context *ctx, lambda_error *err,
                         void *userdata)
{
    const char *dir = string_field(event, "dir");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(event, "n");
    if (!dir || !cJSON_IsNumber(n) || n->valueint < 1 || n->valueint > 1000)
        return lambda_error_set(err, "InvalidInput",
                                "rendezvous expects {\"dir\":D,\"n\":1..1000}");
    char mark[4096];
    if (snprintf(mark, sizeof mark, "%s/%s", dir, ctx->request_id) >= (int)sizeof mark)
        return lambda_error_set(err, "InvalidInput", "rendezvous: directory name too long");
    int fd = open(mark, O_CREAT | O_WRONLY, 0644);
    if (fd < 0)
        return lambda_error_set(err, "Rendezvous.Failed", "%s: %s", mark, strerror(errno));
    close(fd);
    int arrived;
    /* Half a second before the deadline: answer before Lambda times us out. */
    while ((arrived = count_entries(dir)) >= 0 && arrived < n->valueint) {
        if (lambda_remaining_ms(ctx) < 500)
            return lambda_error_set(err, "Rendezvous.Timeout", "%d of %d invocations arrived in %s",
                                    arrived, n->valueint, dir);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (arrived < 0)
        return lambda_error_set(err, "Rendezvous.Failed", "%s: %s", dir, strerror(errno));
    return cJSON_Duplicate(event, 1);
}

static cJSON *big(const cJSON *event, const lambda_context *ctx, lambda_error *err, void *userdata)
{
    const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(event, "bytes");
    if (!cJSON_IsNumber(bytes) || bytes->valuedouble < 2 || bytes->valuedouble > 64.0 * 1024 * 1024)
        return lambda_error_set(err, "InvalidInput", "big expects {\"bytes\":2..67108864}");
    size_t n = (size_t)bytes->valuedouble - 2; /* the quotes */
    char *s = malloc(n + 1);
    if (!s)
        return lambda_error_set(err, "OutOfMemory", "%zu bytes", n);
    memset(s, 'x', n);
    s[n] = '\0';
    cJSON *out = cJSON_CreateString(s);
    free(s);
    return out;
}

static void add_or_null(cJSON *o, const char *name, const char *value)
{
    if (value)
        cJSON_AddStringToObject(o, name, value);
    else
        cJSON_AddNullToObject(o, name);
}

static cJSON *context(const cJSON *event, const lambda_context *ctx, lambda_error *err,
                      void *userdata)
{
    /* Never any credential: AWS_ACCESS_KEY_ID/SECRET/SESSION_TOKEN stay out. */
    static const char *const env_names[] = {"_HANDLER",
                                            "_X_AMZN_TRACE_ID",
                                            "AWS_LAMBDA_FUNCTION_NAME",
                                            "AWS_LAMBDA_FUNCTION_VERSION",
                                            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                            "AWS_LAMBDA_LOG_GROUP_NAME",
                                            "AWS_LAMBDA_LOG_STREAM_NAME",
                                            "AWS_LAMBDA_RUNTIME_API",
                                            "AWS_LAMBDA_MAX_CONCURRENCY",
                                            "AWS_LAMBDA_LOG_FORMAT",
                                            "AWS_LAMBDA_LOG_LEVEL",
                                            "AWS_REGION",
                                            "AWS_DEFAULT_REGION",
                                            "AWS_EXECUTION_ENV",
                                            "LAMBDA_TASK_ROOT",
                                            "LAMBDA_RUNTIME_DIR",
                                            "TZ"};
    cJSON *o = cJSON_CreateObject();
    add_or_null(o, "request_id", ctx->request_id);
    add_or_null(o, "invoked_function_arn", ctx->invoked_function_arn);
    add_or_null(o, "trace_id", ctx->trace_id);
    add_or_null(o, "client_context", ctx->client_context);
    add_or_null(o, "cognito_identity", ctx->cognito_identity);
    add_or_null(o, "tenant_id", ctx->tenant_id);
    cJSON_AddNumberToObject(o, "deadline_ms", (double)ctx->deadline_ms);
    cJSON_AddNumberToObject(o, "remaining_ms", (double)lambda_remaining_ms(ctx));
    add_or_null(o, "function_name", ctx->function_name);
    add_or_null(o, "function_version", ctx->function_version);
    cJSON_AddNumberToObject(o, "memory_limit_mb", ctx->memory_limit_mb);
    add_or_null(o, "log_group_name", ctx->log_group_name);
    add_or_null(o, "log_stream_name", ctx->log_stream_name);
    const lambda_context *current = lambda_context_current();
    cJSON_AddBoolToObject(o, "current_matches", current == ctx);
    cJSON *env = cJSON_AddObjectToObject(o, "env");
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
        add_or_null(env, env_names[i], getenv(env_names[i]));
    /* {"setTrace": "v"}: the handler sets _X_AMZN_TRACE_ID itself (after
     * reporting it), as code that calls setenv() may: the runtime's next
     * trace id must still win. */
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(event, "setTrace");
    if (cJSON_IsString(set))
        setenv("_X_AMZN_TRACE_ID", set->valuestring, 1);
    return o;
}

static cJSON *log_levels(const cJSON *event, const lambda_context *ctx, lambda_error *err,
                         void *userdata)
{
    static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    for (int l = LAMBDA_LOG_TRACE; l <= LAMBDA_LOG_FATAL; l++)
        lambda_log((lambda_log_level)l, "test record at %s", names[l]);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "logged", 6);
    return o;
}

static int init(const lambda_handler *selected, lambda_error *err)
{
    const char *fail_env = getenv("LAMBDA_TEST_INIT_FAIL");
    if (fail_env && strcmp(fail_env, "1") == 0) {
        lambda_error_set(err, "Test.InitFailed",
                         "init hook failed on purpose for handler '%s' "
                         "(LAMBDA_TEST_INIT_FAIL=1)",
                         selected->name);
        return -1;
    }
    return 0;
}

static void shutdown_hook(void)
{
    static const char line[] = "lambda-test-bootstrap: shutdown hook ran\n";
    ssize_t w = write(STDERR_FILENO, line, sizeof line - 1);
    (void)w;
}

static const lambda_handler handlers[] = {
    {"echo", echo, NULL, NULL},       {"echo_raw", NULL, echo_raw, NULL},
    {"as_type", NULL, as_type, NULL}, {"fail", fail, NULL, NULL},
    {"crash", crash, NULL, NULL},     {"sleep", sleep_then_echo, NULL, NULL},
    {"big", big, NULL, NULL},         {"context", context, NULL, NULL},
    {"log", log_levels, NULL, NULL},  {"rendezvous", rendezvous, NULL, NULL},
};

int main(void)
{
    const char *hook = getenv("LAMBDA_TEST_SHUTDOWN_HOOK");
    lambda_runtime_config config = LAMBDA_RUNTIME_CONFIG_INIT;
    config.handlers = handlers;
    config.handler_count = sizeof handlers / sizeof handlers[0];
    config.init = init;
    config.shutdown = hook && strcmp(hook, "1") == 0 ? shutdown_hook : NULL;
    const char *reserved = getenv("LAMBDA_TEST_RESERVED");
    if (reserved && strcmp(reserved, "1") == 0)
        config.reserved[3] = &config;
    return lambda_run(&config);
}

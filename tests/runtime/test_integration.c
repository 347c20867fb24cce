/* Integration tests: the real lambda-test-bootstrap, as a child process,
 * against fake_api speaking the Runtime API on loopback. Each test is its
 * own CTest test (argv[1] selects it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lambda/runtime.h>

#include "child.h"
#include "fake_api.h"

#ifndef TEST_BOOTSTRAP
#error "TEST_BOOTSTRAP must name the lambda-test-bootstrap executable"
#endif

#define LIMIT LAMBDA_RESPONSE_LIMIT

typedef struct fixture {
    fake_api *api;
    child proc;
    char env_api[64];
    char env_handler[64];
    char *err; /* captured stderr, once read */
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    *state = fx;
    return fx ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    child_cleanup(&fx->proc);
    fake_api_stop(fx->api);
    free(fx->err);
    free(fx);
    return 0;
}

/* Starts the bootstrap with _HANDLER=handler (NULL: unset) and extra
 * "NAME=value" variables (NULL-terminated, may be NULL). */
static void start_with(fixture *fx, const char *const prefix[], const char *handler,
                       const char *const extra[])
{
    if (!fx->api)
        fx->api = fake_api_start();
    snprintf(fx->env_api, sizeof fx->env_api, "AWS_LAMBDA_RUNTIME_API=%s",
             fake_api_endpoint(fx->api));
    snprintf(fx->env_handler, sizeof fx->env_handler, "_HANDLER=%s", handler ? handler : "");
    const char *env[32];
    size_t n = 0;
    env[n++] = fx->env_api;
    if (handler)
        env[n++] = fx->env_handler;
    env[n++] = "AWS_LAMBDA_FUNCTION_NAME=test-function";
    env[n++] = "AWS_LAMBDA_FUNCTION_VERSION=$LATEST";
    env[n++] = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256";
    env[n++] = "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/test-function";
    env[n++] = "AWS_LAMBDA_LOG_STREAM_NAME=2026/11/26/[$LATEST]abc";
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    const char *argv_plain[] = {TEST_BOOTSTRAP, NULL};
    const char *const *argv = prefix ? prefix : argv_plain;
    assert_int_equal(child_spawn(&fx->proc, argv, env), 0);
}

static void start(fixture *fx, const char *handler, const char *const extra[])
{
    start_with(fx, NULL, handler, extra);
}

static const char *err_text(fixture *fx)
{
    free(fx->err);
    fx->err = child_stderr(&fx->proc);
    return fx->err;
}

static const fake_result *wait_one(fixture *fx, size_t index)
{
    size_t n = fake_api_wait_results(fx->api, index + 1, 20000);
    if (n <= index)
        fail_msg("no result #%zu after 20 s; stderr:\n%s", index, err_text(fx));
    return fake_api_result(fx->api, index);
}

static cJSON *parse(const fake_result *r)
{
    cJSON *j = cJSON_Parse(r->body);
    if (!j)
        fail_msg("not JSON: %.200s", r->body);
    return j;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void assert_error(const fake_result *r, const char *type, const char *message_part)
{
    assert_true(r->is_error);
    assert_non_null(r->error_type);
    assert_string_equal(r->error_type, type);
    cJSON *j = parse(r);
    assert_string_equal(str(j, "errorType"), type);
    assert_non_null(str(j, "errorMessage"));
    if (message_part && !strstr(str(j, "errorMessage"), message_part))
        fail_msg("errorMessage '%s' lacks '%s'", str(j, "errorMessage"), message_part);
    const cJSON *trace = cJSON_GetObjectItemCaseSensitive(j, "stackTrace");
    assert_true(cJSON_IsArray(trace));
    assert_int_equal(cJSON_GetArraySize(trace), 0);
    cJSON_Delete(j);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("expected to find '%s' in:\n%s", needle, haystack);
}

/* ---- success, raw, keep-alive, headers ---------------------------------- */

static void test_success(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    /* Over 1 KB, where libcurl would otherwise send Expect: 100-continue. */
    char body[4096];
    memcpy(body, "{\"pad\":\"", 8);
    memset(body + 8, 'p', 3000);
    strcpy(body + 3008, "\",\"n\":1}");
    const char *ids[5];
    ids[0] = fake_api_push_body(fx->api, body);
    for (int i = 1; i < 5; i++)
        ids[i] = fake_api_push_body(fx->api, "{\"hello\":[1,2,3]}");
    start(fx, "echo", NULL);
    for (size_t i = 0; i < 5; i++) {
        const fake_result *r = wait_one(fx, i);
        assert_false(r->is_error);
        assert_string_equal(r->request_id, ids[i]);
        assert_string_equal(r->body, i == 0 ? body : "{\"hello\":[1,2,3]}");
        assert_string_equal(r->content_type, "application/json");
        assert_string_equal(r->user_agent, "lambda-c/0.2.0");
        assert_false(r->had_expect);
        assert_null(r->error_type);
    }
    /* One reused easy handle: every request on one kept-alive connection. */
    assert_int_equal(fake_api_connections(fx->api), 1);
    assert_int_equal(child_wait(&fx->proc, 0), -1); /* still polling */
}

static void test_raw_handler(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_event ev = {0};
    ev.body = "not JSON at all \x01\x02";
    fake_api_push(fx->api, &ev);
    start(fx, "echo_raw", NULL);
    const fake_result *r = wait_one(fx, 0);
    assert_false(r->is_error);
    assert_string_equal(r->body, "not JSON at all \x01\x02");
    assert_string_equal(r->content_type, "application/octet-stream");
}

/* ---- errors --------------------------------------------------------------- */

static void test_handler_error(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{\"errorType\":\"StoreUnavailable\",\"errorMessage\":"
                                "\"the \\\"store\\\" is down\\nretry\"}");
    fake_api_push_body(fx->api, "[]");
    start(fx, "fail", NULL);
    assert_error(wait_one(fx, 0), "StoreUnavailable", "the \"store\" is down\nretry");
    assert_error(wait_one(fx, 1), "InvalidInput", "fail expects");
}

static void test_invalid_json_event(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{\"unterminated\": ");
    fake_api_push_body(fx->api, "{\"ok\":true}");
    start(fx, "echo", NULL);
    assert_error(wait_one(fx, 0), "Runtime.InvalidEvent", "not valid JSON");
    const fake_result *r = wait_one(fx, 1); /* the loop goes on */
    assert_false(r->is_error);
    assert_string_equal(r->body, "{\"ok\":true}");
}

static void test_unknown_handler(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{}");
    start(fx, "no_such_handler", NULL);
    const fake_result *r = fake_api_wait_init_error(fx->api, 10000);
    assert_non_null(r);
    assert_error(r, "Runtime.HandlerNotFound", "no_such_handler");
    assert_int_equal(child_wait(&fx->proc, 10000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 1);
    assert_int_equal(fake_api_next_calls(fx->api), 0); /* never polled */
    assert_contains(err_text(fx), "Runtime.HandlerNotFound");
}

static void test_missing_handler(void **state)
{
    fixture *fx = *state;
    start(fx, NULL, NULL);
    const fake_result *r = fake_api_wait_init_error(fx->api, 10000);
    assert_non_null(r);
    assert_error(r, "Runtime.HandlerNotFound", "_HANDLER is not set");
    assert_int_equal(child_wait(&fx->proc, 10000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 1);
}

static void test_init_hook_fails(void **state)
{
    fixture *fx = *state;
    const char *env[] = {"LAMBDA_TEST_INIT_FAIL=1", NULL};
    start(fx, "echo", env);
    const fake_result *r = fake_api_wait_init_error(fx->api, 10000);
    assert_non_null(r);
    assert_error(r, "Test.InitFailed", "init hook failed on purpose");
    assert_int_equal(child_wait(&fx->proc, 10000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 1);
    assert_int_equal(fake_api_next_calls(fx->api), 0);
}

/* A config built for a newer lambda-c (a reserved field set) is refused at
 * init, not half-honoured. */
static void test_config_reserved_refused(void **state)
{
    fixture *fx = *state;
    const char *env[] = {"LAMBDA_TEST_RESERVED=1", NULL};
    start(fx, "echo", env);
    const fake_result *r = fake_api_wait_init_error(fx->api, 10000);
    assert_non_null(r);
    assert_error(r, "Runtime.InvalidConfig", "reserved[3] is set");
    assert_int_equal(child_wait(&fx->proc, 10000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 1);
    assert_int_equal(fake_api_next_calls(fx->api), 0);
}

static void test_oversized_response(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    char event[64];
    snprintf(event, sizeof event, "{\"bytes\":%d}", LIMIT + 1);
    fake_api_push_body(fx->api, event);
    snprintf(event, sizeof event, "{\"bytes\":%d}", LIMIT);
    fake_api_push_body(fx->api, event);
    start(fx, "big", NULL);
    assert_error(wait_one(fx, 0), "Function.ResponseSizeTooLarge",
                 "Response payload size (6291557 bytes) exceeded maximum "
                 "allowed payload size (6291556 bytes).");
    const fake_result *r = wait_one(fx, 1); /* exactly the limit passes */
    assert_false(r->is_error);
    assert_int_equal(r->body_len, LIMIT);
}

/* ---- Runtime API faults --------------------------------------------------- */

static void test_next_reset_then_recovers(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    for (int i = 0; i < 3; i++)
        fake_api_fault_next(fx->api, FAKE_FAULT_RESET, 0);
    fake_api_push_body(fx->api, "{\"after\":\"resets\"}");
    start(fx, "echo", NULL);
    const fake_result *r = wait_one(fx, 0);
    assert_false(r->is_error);
    assert_string_equal(r->body, "{\"after\":\"resets\"}");
    assert_true(fake_api_next_calls(fx->api) >= 4);
}

static void test_next_refused_then_recovers(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start_refusing();
    fake_api_push_body(fx->api, "{\"after\":\"refused\"}");
    start(fx, "echo", NULL);
    struct timespec t = {0, 400 * 1000000L};
    nanosleep(&t, NULL);
    assert_int_equal(child_wait(&fx->proc, 0), -1); /* still retrying */
    assert_int_equal(fake_api_listen(fx->api), 0);
    const fake_result *r = wait_one(fx, 0);
    assert_false(r->is_error);
    assert_string_equal(r->body, "{\"after\":\"refused\"}");
}

static void test_api_unreachable_exits(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start_refusing(); /* never listens */
    int64_t t0 = fake_now_ms();
    start(fx, "echo", NULL);
    assert_int_equal(child_wait(&fx->proc, 30000), 0);
    int64_t took = fake_now_ms() - t0;
    assert_int_equal(child_exit_code(&fx->proc), 2);
    assert_contains(err_text(fx), "Runtime API unreachable");
    /* Bounded backoff: about 4.3 s of retries, generously bounded. */
    assert_true(took >= 2000);
    assert_true(took < 20000);
}

static void test_api_500_on_next_exits(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_fault_next(fx->api, FAKE_FAULT_STATUS, 500);
    int64_t t0 = fake_now_ms();
    start(fx, "echo", NULL);
    assert_int_equal(child_wait(&fx->proc, 10000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 2);
    assert_true(fake_now_ms() - t0 < 5000); /* promptly: no retries */
    assert_int_equal(fake_api_next_calls(fx->api), 1);
    assert_contains(err_text(fx), "non-recoverable");
    assert_contains(fx->err, "HTTP 500");
}

static void test_api_500_on_response_exits(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_fault_post(fx->api, 500);
    fake_api_push_body(fx->api, "{}");
    start(fx, "echo", NULL);
    assert_int_equal(child_wait(&fx->proc, 10000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 2);
    assert_contains(err_text(fx), "HTTP 500");
}

static void test_response_413_logged_loop_goes_on(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_fault_post(fx->api, 413);
    const char *first = fake_api_push_body(fx->api, "{\"first\":1}");
    fake_api_push_body(fx->api, "{\"second\":2}");
    start(fx, "echo", NULL);
    assert_int_equal(wait_one(fx, 0)->status_sent, 413);
    const fake_result *r = wait_one(fx, 1);
    assert_int_equal(r->status_sent, 202);
    assert_string_equal(r->body, "{\"second\":2}");
    const char *err = err_text(fx);
    assert_contains(err, first);
    assert_contains(err, "HTTP 413");
    assert_int_equal(child_wait(&fx->proc, 0), -1);
}

static void test_response_400_403_loop_goes_on(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_fault_post(fx->api, 400); /* InvalidRequestID */
    fake_api_fault_post(fx->api, 403); /* InvalidStateTransition */
    const char *a = fake_api_push_body(fx->api, "{}");
    const char *b = fake_api_push_body(fx->api, "not json"); /* on /error */
    fake_api_push_body(fx->api, "{\"third\":3}");
    start(fx, "echo", NULL);
    assert_int_equal(wait_one(fx, 0)->status_sent, 400);
    assert_int_equal(wait_one(fx, 1)->status_sent, 403);
    const fake_result *r = wait_one(fx, 2);
    assert_int_equal(r->status_sent, 202);
    assert_string_equal(r->body, "{\"third\":3}");
    const char *err = err_text(fx);
    char want[128];
    snprintf(want, sizeof want, "rejected the response for request %s: HTTP 400", a);
    assert_contains(err, want);
    snprintf(want, sizeof want, "rejected the error for request %s: HTTP 403", b);
    assert_contains(err, want);
}

static void test_api_500_stops_all_workers(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_fault_next(fx->api, FAKE_FAULT_STATUS, 500);
    const char *env[] = {"AWS_LAMBDA_MAX_CONCURRENCY=3", NULL};
    int64_t t0 = fake_now_ms();
    start(fx, "echo", env);
    /* The other two workers are parked in /next; they must notice. */
    assert_int_equal(child_wait(&fx->proc, 15000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 2);
    assert_true(fake_now_ms() - t0 < 8000);
    assert_int_equal(fake_api_result(fx->api, 0), NULL);
}

static void test_no_runtime_api(void **state)
{
    fixture *fx = *state;
    const char *argv[] = {TEST_BOOTSTRAP, NULL};
    const char *env[] = {"_HANDLER=echo", NULL};
    assert_int_equal(child_spawn(&fx->proc, argv, env), 0);
    assert_int_equal(child_wait(&fx->proc, 10000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 1);
    assert_contains(err_text(fx), "AWS_LAMBDA_RUNTIME_API is not set");
}

static void test_slow_next(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_fault_next(fx->api, FAKE_FAULT_SLOW, 2500);
    fake_api_push_body(fx->api, "{\"slow\":true}");
    int64_t t0 = fake_now_ms();
    start(fx, "echo", NULL);
    const fake_result *r = wait_one(fx, 0);
    assert_false(r->is_error);
    /* The first, slow /next delivered the event: no client timeout, no
     * retry (at most the one /next that follows the response). */
    assert_true(r->served_ms - t0 >= 2400);
    assert_true(fake_api_next_calls(fx->api) <= 2);
}

/* ---- crashes ---------------------------------------------------------------- */

static void crash_by(fixture *fx, const char *name, int sig)
{
    const char *sig_name = strcmp(name, "STACK") == 0 ? "SEGV" : name;
    fx->api = fake_api_start();
    char event[64];
    snprintf(event, sizeof event, "{\"signal\":\"%s\"}", name);
    const char *id = fake_api_push_body(fx->api, event);
    start(fx, "crash", NULL);
    assert_int_equal(child_wait(&fx->proc, 20000), 0);
    const char *err = err_text(fx);
    if (child_term_signal(&fx->proc) != sig)
        fail_msg("expected death by signal %d, got status 0x%x; stderr:\n%s", sig, fx->proc.status,
                 err);
    char line[128];
    snprintf(line, sizeof line, "fatal signal SIG%s (%d) in handler, RequestId: %s", sig_name, sig,
             id);
    assert_contains(err, line);
#ifdef __GLIBC__
    assert_contains(err, "lambda-c: backtrace:\n");
#endif
}

/* The handler's copy of the request id holds 63 bytes (it stays in the
 * thread-local block musl builds in, runtime/src/signals.c): a Lambda id
 * (a 36-character UUID) is reported whole, a longer one by its first 63. */
static void test_crash_request_id_length(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    static const char uuid[] = "8f1c2c5e-6d0b-4c4e-9a57-3f0e8b8c1d2a";
    char long_id[101];
    for (size_t i = 0; i < sizeof long_id - 1; i++)
        long_id[i] = (char)('a' + i % 26);
    long_id[sizeof long_id - 1] = '\0';
    const char *ids[] = {uuid, long_id};
    for (size_t i = 0; i < 2; i++) {
        fake_event ev = {.body = "{\"signal\":\"SEGV\"}", .request_id = ids[i]};
        fake_api_push(fx->api, &ev);
        start(fx, "crash", NULL);
        assert_int_equal(child_wait(&fx->proc, 20000), 0);
        assert_int_equal(child_term_signal(&fx->proc), SIGSEGV);
        char line[160];
        snprintf(line, sizeof line, "in handler, RequestId: %.63s; the runtime dies", ids[i]);
        assert_contains(err_text(fx), line);
        child_cleanup(&fx->proc);
    }
}

static void test_crash_segv(void **state)
{
    crash_by(*state, "SEGV", SIGSEGV);
}

static void test_crash_abort(void **state)
{
    crash_by(*state, "ABRT", SIGABRT);
}

static void test_crash_stack_overflow(void **state)
{
    crash_by(*state, "STACK", SIGSEGV);
}

static void test_crash_exit(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{\"exit\":3}");
    start(fx, "crash", NULL);
    assert_int_equal(child_wait(&fx->proc, 10000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 3);
}

/* ---- logs ------------------------------------------------------------------- */

static void test_json_logs_level_filter(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    const char *id = fake_api_push_body(fx->api, "{}");
    const char *env[] = {"AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL=WARN", NULL};
    start(fx, "log", env);
    assert_false(wait_one(fx, 0)->is_error);
    const char *err = err_text(fx);
    const char *expected[] = {"WARN", "ERROR", "FATAL"};
    size_t seen = 0;
    for (const char *line = err; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len && strstr(line, "test record at") && strstr(line, "test record at") < line + len) {
            cJSON *j = cJSON_ParseWithLength(line, len);
            if (!j)
                fail_msg("log line is not JSON: %.*s", (int)len, line);
            assert_true(seen < 3);
            assert_string_equal(str(j, "level"), expected[seen]);
            char msg[64];
            snprintf(msg, sizeof msg, "test record at %s", expected[seen]);
            assert_string_equal(str(j, "message"), msg);
            assert_string_equal(str(j, "requestId"), id);
            const char *ts = str(j, "timestamp");
            assert_non_null(ts);
            /* RFC 3339, UTC, milliseconds: 2026-11-26T17:00:50.095Z */
            assert_int_equal(strlen(ts), 24);
            assert_true(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
            cJSON_Delete(j);
            seen++;
        }
        line += len + (nl ? 1 : 0);
    }
    assert_int_equal(seen, 3);
}

static void test_text_logs_default(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    const char *id = fake_api_push_body(fx->api, "{}");
    start(fx, "log", NULL);
    assert_false(wait_one(fx, 0)->is_error);
    const char *err = err_text(fx);
    char want[160];
    snprintf(want, sizeof want, "\t%s\tINFO\ttest record at INFO\n", id);
    assert_contains(err, want);
    snprintf(want, sizeof want, "\t%s\tFATAL\ttest record at FATAL\n", id);
    assert_contains(err, want);
    assert_null(strstr(err, "test record at DEBUG")); /* default level INFO */
    assert_null(strstr(err, "test record at TRACE"));
}

/* ---- context ---------------------------------------------------------------- */

static void test_context_and_trace_env(void **state)
{
    static const char *const traces[] = {
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1", "Root=1-short", "Root=1-shorter",
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;"
        "Sampled=0;Lineage=a87bd80c:0",
        "Root=1-x"};
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_event ev = {0};
    ev.body = "{}";
    ev.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
    ev.deadline_ms = fake_now_ms() + 30000;
    ev.arn = "arn:aws:lambda:eu-west-1:123456789012:function:ctx:prod";
    ev.trace_id = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1";
    ev.client_context = "{\"custom\":{\"k\":\"v\"}}";
    ev.cognito_identity = "{\"cognitoIdentityId\":\"id\",\"cognitoIdentityPoolId\":\"pool\"}";
    ev.tenant_id = "tenant-42";
    fake_api_push(fx->api, &ev);
    fake_api_push_body(fx->api, "{}"); /* no trace id: the env var goes */
    for (size_t i = 0; i < sizeof traces / sizeof traces[0]; i++) {
        fake_event t = {0};
        t.body = i == 1 ? "{\"setTrace\":\"set by the handler\"}" : "{}";
        t.trace_id = traces[i];
        fake_api_push(fx->api, &t);
    }
    start(fx, "context", NULL);

    cJSON *j = parse(wait_one(fx, 0));
    assert_string_equal(str(j, "request_id"), ev.request_id);
    assert_string_equal(str(j, "invoked_function_arn"), ev.arn);
    assert_string_equal(str(j, "trace_id"), ev.trace_id);
    assert_string_equal(str(j, "client_context"), ev.client_context);
    assert_string_equal(str(j, "cognito_identity"), ev.cognito_identity);
    assert_string_equal(str(j, "tenant_id"), ev.tenant_id);
    assert_true(cJSON_GetObjectItem(j, "deadline_ms")->valuedouble == (double)ev.deadline_ms);
    double remaining = cJSON_GetObjectItem(j, "remaining_ms")->valuedouble;
    assert_true(remaining > 0 && remaining <= 30000);
    assert_string_equal(str(j, "function_name"), "test-function");
    assert_string_equal(str(j, "function_version"), "$LATEST");
    assert_int_equal(cJSON_GetObjectItem(j, "memory_limit_mb")->valueint, 256);
    assert_string_equal(str(j, "log_group_name"), "/aws/lambda/test-function");
    assert_string_equal(str(j, "log_stream_name"), "2026/11/26/[$LATEST]abc");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "current_matches")));
    const cJSON *env = cJSON_GetObjectItem(j, "env");
    assert_string_equal(str(env, "_X_AMZN_TRACE_ID"), ev.trace_id);
    assert_string_equal(str(env, "_HANDLER"), "context");
    cJSON_Delete(j);

    j = parse(wait_one(fx, 1));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "trace_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "tenant_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "client_context")));
    env = cJSON_GetObjectItem(j, "env");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(env, "_X_AMZN_TRACE_ID")));
    cJSON_Delete(j);

    /* The runtime rewrites its own variable in place while it can: shorter
     * ids, after a handler set the variable itself, then a longer id. */
    for (size_t i = 2; i < sizeof traces / sizeof traces[0] + 2; i++) {
        j = parse(wait_one(fx, i));
        env = cJSON_GetObjectItem(j, "env");
        assert_string_equal(str(j, "trace_id"), traces[i - 2]);
        assert_string_equal(str(env, "_X_AMZN_TRACE_ID"), traces[i - 2]);
        cJSON_Delete(j);
    }
}

static void test_invocation_id_echo(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_event ev = {0};
    ev.body = "{}";
    /* Longer than any fixed header buffer would hold. */
    char long_id[700];
    memset(long_id, 'i', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    ev.invocation_id = long_id;
    fake_api_push(fx->api, &ev);
    ev.invocation_id = "inv-0001-abcd";
    fake_api_push(fx->api, &ev);
    fake_api_push_body(fx->api, "{}");
    ev.body = "not json"; /* an /error post echoes it too */
    ev.invocation_id = "inv-0003-efgh";
    fake_api_push(fx->api, &ev);
    static const char *const again[] = {NULL, "inv-0001-abcd", "inv-0001-abcd", "inv-0002-abcd"};
    ev.body = "{}";
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
        ev.invocation_id = again[i];
        fake_api_push(fx->api, &ev);
    }
    start(fx, "echo", NULL);
    const fake_result *r = wait_one(fx, 0);
    assert_non_null(r->invocation_id);
    assert_string_equal(r->invocation_id, long_id);
    r = wait_one(fx, 1);
    assert_non_null(r->invocation_id);
    assert_string_equal(r->invocation_id, "inv-0001-abcd");
    assert_null(wait_one(fx, 2)->invocation_id); /* absent stays absent */
    r = wait_one(fx, 3);
    assert_true(r->is_error);
    assert_non_null(r->invocation_id);
    assert_string_equal(r->invocation_id, "inv-0003-efgh");
    /* The /response headers are kept between invocations: an id after an
     * absent one, the same id twice, then another of the same length. */
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
        r = wait_one(fx, 4 + i);
        assert_false(r->is_error);
        if (again[i]) {
            assert_non_null(r->invocation_id);
            assert_string_equal(r->invocation_id, again[i]);
        } else {
            assert_null(r->invocation_id);
        }
    }
}

/* The content type goes with each response, though the header list is kept
 * from one invocation to the next. */
static void test_content_type_per_response(void **state)
{
    static const char *const types[] = {"text/plain", "text/plain", "text/csv; charset=utf-8",
                                        "application/json", "text/plain"};
    fixture *fx = *state;
    fx->api = fake_api_start();
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        fake_api_push_body(fx->api, types[i]);
    start(fx, "as_type", NULL);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        const fake_result *r = wait_one(fx, i);
        assert_false(r->is_error);
        assert_string_equal(r->body, types[i]);
        assert_string_equal(r->content_type, types[i]);
    }
}

/* A request id is percent-encoded in the /response path (as
 * curl_easy_escape() would): reserved characters, a space and UTF-8 reach
 * the API intact. */
static void test_request_id_escaped(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_event ev = {0};
    ev.body = "{}";
    /* Runs kept as they are between escapes; an id that starts and ends
     * with escaped bytes, and one of escapes only. */
    static const char *const ids[] = {"id/with?reserved#chars &space~ok-._\xc3\xa9%41",
                                      "/lead and trail?", "%/ #"};
    for (size_t i = 0; i < 3; i++) {
        ev.request_id = ids[i];
        fake_api_push(fx->api, &ev);
    }
    start(fx, "echo", NULL);
    for (size_t i = 0; i < 3; i++) {
        const fake_result *r = wait_one(fx, i);
        assert_false(r->is_error);
        assert_string_equal(r->request_id, ids[i]);
    }
}

/* ---- concurrency --------------------------------------------------------- */

static void test_concurrency(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    for (int i = 0; i < 4; i++)
        fake_api_push_body(fx->api, "{\"ms\":1000}");
    const char *env[] = {"AWS_LAMBDA_MAX_CONCURRENCY=4", NULL};
    int64_t t0 = fake_now_ms();
    start(fx, "sleep", env);
    assert_int_equal(fake_api_wait_results(fx->api, 4, 20000), 4);
    int64_t last_start = 0, first_end = INT64_MAX;
    for (size_t i = 0; i < 4; i++) {
        const fake_result *r = fake_api_result(fx->api, i);
        assert_false(r->is_error);
        if (r->served_ms > last_start)
            last_start = r->served_ms;
        if (r->done_ms < first_end)
            first_end = r->done_ms;
    }
    /* All four were running at once: the last one started before the first
     * one finished. */
    assert_true(last_start < first_end);
    assert_true(fake_now_ms() - t0 < 3500);
    assert_true(fake_api_connections(fx->api) >= 4); /* a handle per worker */
}

static void test_concurrency_context_per_call(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_event ev = {0};
    ev.body = "{}";
    char ids[8][40], traces[8][40];
    for (int i = 0; i < 8; i++) {
        snprintf(ids[i], sizeof ids[i], "concurrent-%d", i);
        snprintf(traces[i], sizeof traces[i], "Root=1-0000000%d-abc", i);
        ev.request_id = ids[i];
        ev.trace_id = traces[i];
        fake_api_push(fx->api, &ev);
    }
    const char *env[] = {"AWS_LAMBDA_MAX_CONCURRENCY=3", NULL};
    start(fx, "context", env);
    assert_int_equal(fake_api_wait_results(fx->api, 8, 20000), 8);
    for (int i = 0; i < 8; i++) {
        const fake_result *r = fake_api_result_for(fx->api, ids[i]);
        assert_non_null(r);
        cJSON *j = parse(r);
        assert_string_equal(str(j, "request_id"), ids[i]);
        assert_string_equal(str(j, "trace_id"), traces[i]);
        /* Concurrent: the process-wide variable is left alone. */
        assert_true(
            cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "env"), "_X_AMZN_TRACE_ID")));
        cJSON_Delete(j);
    }
}

/* ---- shutdown --------------------------------------------------------------- */

static void test_shutdown_hook_on_sigterm(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{}");
    const char *env[] = {"LAMBDA_TEST_SHUTDOWN_HOOK=1", NULL};
    start(fx, "echo", env);
    assert_false(wait_one(fx, 0)->is_error);
    char name[128];
    assert_int_equal(fake_api_ext_registrations(fx->api, name, sizeof name), 1);
    assert_string_equal(name, "lambda-c-shutdown-helper");
    assert_true(fake_api_wait_ext_next(fx->api, 5000));
    child_signal(&fx->proc, SIGTERM);
    assert_int_equal(child_wait(&fx->proc, 5000), 0);
    assert_int_equal(child_exit_code(&fx->proc), 0);
    assert_contains(err_text(fx), "lambda-test-bootstrap: shutdown hook ran");
}

static void test_no_hook_no_extension(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{}");
    start(fx, "echo", NULL);
    assert_false(wait_one(fx, 0)->is_error);
    assert_int_equal(fake_api_ext_registrations(fx->api, NULL, 0), 0);
    child_signal(&fx->proc, SIGTERM); /* default action */
    assert_int_equal(child_wait(&fx->proc, 5000), 0);
    assert_int_equal(child_term_signal(&fx->proc), SIGTERM);
}

/* ---- lambda_run_handler ---------------------------------------------------- */

static void test_run_handler_ignores_handler_env(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "hello, Lambda");
    const char *argv[] = {RUN_HANDLER_BOOTSTRAP, NULL};
    start_with(fx, argv, "anything.at_all", NULL);
    const fake_result *r = wait_one(fx, 0);
    assert_false(r->is_error);
    assert_string_equal(r->body, "HELLO, LAMBDA");
    assert_string_equal(r->content_type, "text/plain");
    assert_null(fake_api_wait_init_error(fx->api, 0));
}

/* ---- 10,000 invocations under valgrind ---------------------------------- */

static void test_valgrind_10000(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    enum { N = 10000 };
    /* A mix that walks every path: success, JSON error, invalid event, a
     * rejected post, the Invocation-Id echo. */
    fake_event ev = {0};
    for (int i = 0; i < N; i++) {
        switch (i % 5) {
        case 0:
            ev.body = "{\"ms\":0,\"k\":[1,2,{\"x\":null}]}";
            break;
        case 1:
            ev.body = "{\"ms\":0";
            break; /* invalid */
        case 2:
            ev.body = "{\"ms\":-1}";
            break; /* handler error */
        case 3:
            ev.body = "{\"ms\":0,\"s\":\"\\u00e9t\\u00e9\"}";
            break;
        default:
            ev.body = "[]";
            break;
        }
        ev.invocation_id = i % 2 ? "inv-odd" : NULL;
        ev.trace_id = i % 3 ? "Root=1-abc" : NULL;
        fake_api_push(fx->api, &ev);
    }
    for (int i = 0; i < 8; i++)
        fake_api_fault_post(fx->api, i % 2 ? 202 : 413);
    fake_api_end_with_500(fx->api);
#ifndef VALGRIND
    skip();
#else
    const char *prefix[] = {VALGRIND,
                            "--leak-check=full",
                            "--error-exitcode=1",
                            "--errors-for-leak-kinds=definite,possible",
                            "--quiet",
                            TEST_BOOTSTRAP,
                            NULL};
    start_with(fx, prefix, "sleep", NULL);
    assert_int_equal(child_wait(&fx->proc, 300000), 0);
    const char *err = err_text(fx);
    assert_int_equal(fake_api_wait_results(fx->api, N, 0), N);
    /* The run ended on the fake's 500 (status 2); valgrind errors or leaks
     * would have made it 1. */
    if (child_exit_code(&fx->proc) != 2)
        fail_msg("valgrind run ended with status 0x%x:\n%.4000s", fx->proc.status, err);
    size_t errors = 0;
    for (size_t i = 0; i < N; i++)
        errors += (size_t)fake_api_result(fx->api, i)->is_error;
    assert_int_equal(errors, N / 5 * 3);
#endif
}

/* ---- system calls per invocation ------------------------------------------ */

#ifdef STRACE
/* Runs the bootstrap (echo) under `strace -f -c` for `n` invocations with
 * trace and invocation ids (the per-invocation environment and header
 * paths), and fills `names`/`calls` from strace's summary. Returns the
 * number of rows. */
static size_t strace_run(fixture *fx, int n, char names[][32], long calls[], size_t max)
{
    child_cleanup(&fx->proc);
    memset(&fx->proc, 0, sizeof fx->proc);
    fake_api_stop(fx->api);
    fx->api = fake_api_start();
    fake_event ev = {0};
    for (int i = 0; i < n; i++) {
        ev.body = "{\"hello\":\"world\"}";
        ev.trace_id = i % 2 ? "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8"
                            : "Root=1-5759e988-bd862e3fe1be46a994272794;Parent=53995c3f42cd8ad9";
        ev.invocation_id = "0f5ee5a9-inv";
        fake_api_push(fx->api, &ev);
    }
    fake_api_end_with_500(fx->api);
    char out[] = "/tmp/lambda-strace-XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    const char *prefix[] = {STRACE, "-f", "-c", "-o", out, TEST_BOOTSTRAP, NULL};
    /* LeakSanitizer cannot run under ptrace (ASan builds): leaks are the
     * other tests' business, this one counts system calls. */
    static char asan[512];
    const char *had = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sdetect_leaks=0", had ? had : "",
             had && *had ? ":" : "");
    const char *env[] = {asan, NULL};
    start_with(fx, prefix, "echo", env);
    if (child_wait(&fx->proc, 120000) != 0)
        fail_msg("the traced bootstrap did not end within 120 s; stderr:\n%s", err_text(fx));
    if (fake_api_wait_results(fx->api, (size_t)n, 0) != (size_t)n ||
        child_exit_code(&fx->proc) != 2)
        fail_msg("traced run: %zu of %d results, exit status 0x%x; stderr:\n%.2000s",
                 fake_api_wait_results(fx->api, (size_t)n, 0), n, fx->proc.status, err_text(fx));
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char line[256];
    size_t rows = 0;
    while (rows < max && fgets(line, sizeof line, f)) {
        /* "% time seconds usecs/call calls [errors] syscall": the calls are
         * the fourth column, the name the last. */
        char *tok[8];
        size_t k = 0;
        for (char *save, *t = strtok_r(line, " \t\n", &save); t && k < 8;
             t = strtok_r(NULL, " \t\n", &save))
            tok[k++] = t;
        if (k < 5 || !(tok[0][0] >= '0' && tok[0][0] <= '9') || strcmp(tok[k - 1], "total") == 0)
            continue;
        snprintf(names[rows], 32, "%s", tok[k - 1]);
        calls[rows++] = strtol(tok[3], NULL, 10);
    }
    fclose(f);
    unlink(out);
    if (rows == 0)
        fail_msg("no strace summary rows; stderr:\n%.2000s", err_text(fx));
    return rows;
}
#endif

/* In the steady loop an invocation makes only the system calls of the HTTP
 * exchange itself (send, receive, wait), like the bare libcurl loop of
 * bench/ (bench/README.md, section 1p): a getpid(), clock read or
 * environment call per invocation costs ~1 us each here. Measured as the
 * difference between runs of 50 and 250 invocations, so start-up and exit
 * cancel out; a call made once per invocation (or more) shows as >= 200. */
static void test_syscalls_per_invocation(void **state)
{
#ifndef STRACE
    skip();
#else
    fixture *fx = *state;
    enum { N1 = 50, N2 = 250, ROWS = 128 };
    static char names1[ROWS][32], names2[ROWS][32];
    long calls1[ROWS], calls2[ROWS];
    size_t r1 = strace_run(fx, N1, names1, calls1, ROWS);
    size_t r2 = strace_run(fx, N2, names2, calls2, ROWS);
    static const char *const io[] = {"poll",   "ppoll",   "select",   "pselect6", "epoll_wait",
                                     "sendto", "sendmsg", "recvfrom", "recvmsg"};
    char bad[1024] = "";
    int sends = 0;
    for (size_t i = 0; i < r2; i++) {
        long before = 0;
        for (size_t j = 0; j < r1; j++)
            if (strcmp(names1[j], names2[i]) == 0)
                before = calls1[j];
        long per_run = calls2[i] - before;
        if (strcmp(names2[i], "sendto") == 0 && per_run >= 2 * (N2 - N1))
            sends = 1;
        if (per_run < (N2 - N1) * 9 / 10)
            continue;
        int allowed = 0;
        for (size_t k = 0; k < sizeof io / sizeof io[0]; k++)
            allowed |= strcmp(names2[i], io[k]) == 0;
        char item[96]; /* " %.31s (%ld more calls)": up to 66 bytes */
        snprintf(item, sizeof item, " %.31s (%ld more calls)", names2[i], per_run);
        if (!allowed && strlen(bad) + strlen(item) < sizeof bad)
            strcat(bad, item);
    }
    if (bad[0])
        fail_msg("system calls made on every invocation besides the HTTP exchange "
                 "(%d more invocations):%s",
                 N2 - N1, bad);
    /* The trace did see the loop: a /next and a /response per invocation. */
    assert_true(sends);
#endif
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        TEST(test_success),
        TEST(test_raw_handler),
        TEST(test_handler_error),
        TEST(test_invalid_json_event),
        TEST(test_unknown_handler),
        TEST(test_missing_handler),
        TEST(test_init_hook_fails),
        TEST(test_config_reserved_refused),
        TEST(test_oversized_response),
        TEST(test_next_reset_then_recovers),
        TEST(test_next_refused_then_recovers),
        TEST(test_api_unreachable_exits),
        TEST(test_api_500_on_next_exits),
        TEST(test_api_500_on_response_exits),
        TEST(test_response_413_logged_loop_goes_on),
        TEST(test_response_400_403_loop_goes_on),
        TEST(test_api_500_stops_all_workers),
        TEST(test_no_runtime_api),
        TEST(test_slow_next),
        TEST(test_crash_segv),
        TEST(test_crash_abort),
        TEST(test_crash_stack_overflow),
        TEST(test_crash_request_id_length),
        TEST(test_crash_exit),
        TEST(test_json_logs_level_filter),
        TEST(test_text_logs_default),
        TEST(test_context_and_trace_env),
        TEST(test_invocation_id_echo),
        TEST(test_content_type_per_response),
        TEST(test_request_id_escaped),
        TEST(test_concurrency),
        TEST(test_concurrency_context_per_call),
        TEST(test_shutdown_hook_on_sigterm),
        TEST(test_no_hook_no_extension),
        TEST(test_run_handler_ignores_handler_env),
        TEST(test_valgrind_10000),
        TEST(test_syscalls_per_invocation),
    };
    if (argc > 1) {
        /* A misspelt name must fail, not run zero tests and pass. */
        size_t found = 0;
        for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
            found += strcmp(tests[i].name, argv[1]) == 0;
        if (!found) {
            fprintf(stderr, "no test named %s\n", argv[1]);
            return 2;
        }
        cmocka_set_test_filter(argv[1]);
    }
    return cmocka_run_group_tests_name("runtime-integration", tests, NULL, NULL);
}

/* Unit tests of the runtime's internal modules (the headers in runtime/src). */
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

#include "backoff.h"
#include "buf.h"
#include "config.h"
#include "context.h"
#include "error_body.h"
#include "extension.h"
#include "handler.h"
#include "log.h"
#include "loop.h"
#include "signals.h"

/* ---- buffer ----------------------------------------------------------------- */

static void test_buf_grows_and_terminates(void **state)
{
    lambda_buf b = {0};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(lambda_buf_append(&b, "abc", 3), 0);
    assert_int_equal(b.len, 3000);
    assert_int_equal(b.data[3000], '\0');
    assert_memory_equal(b.data + 2997, "abc", 3);
    lambda_buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    lambda_buf_free(&b);
    assert_null(b.data);
}

/* ---- context / header parsing ---------------------------------------------- */

static int header(lambda_invocation *inv, const char *line)
{
    return lambda_invocation_header(inv, line, strlen(line));
}

static void test_headers_parsed(void **state)
{
    lambda_invocation inv;
    memset(&inv, 0, sizeof inv);
    assert_int_equal(header(&inv, "Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4\r\n"), 1);
    assert_int_equal(header(&inv, "lambda-runtime-deadline-ms:1542409706888\r\n"), 1);
    assert_int_equal(
        header(&inv,
               "LAMBDA-RUNTIME-INVOKED-FUNCTION-ARN:  arn:aws:lambda:us-east-1:1:function:f \r\n"),
        1);
    assert_int_equal(header(&inv, "Lambda-Runtime-Trace-Id: Root=1-5bef4de7;Sampled=1\r\n"), 1);
    assert_int_equal(header(&inv, "Lambda-Runtime-Client-Context: {\"a\":1}\r\n"), 1);
    assert_int_equal(header(&inv, "Lambda-Runtime-Cognito-Identity: {\"b\":2}\r\n"), 1);
    assert_int_equal(header(&inv, "Lambda-Runtime-Aws-Tenant-Id: t-1\r\n"), 1);
    assert_int_equal(header(&inv, "Lambda-Runtime-Invocation-Id: inv-9\r\n"), 1);
    assert_int_equal(header(&inv, "Content-Type: application/json\r\n"), 0);
    assert_int_equal(header(&inv, "HTTP/1.1 200 OK\r\n"), 0);
    assert_int_equal(header(&inv, "\r\n"), 0);
    /* A prefix of a known name is not that name. */
    assert_int_equal(header(&inv, "Lambda-Runtime-Trace: x\r\n"), 0);

    lambda_env_facts facts = {"fn", "7", "/aws/lambda/fn", "stream", 512};
    lambda_invocation_finish(&inv, &facts);
    const lambda_context *c = &inv.ctx;
    assert_string_equal(c->request_id, "8476a536-e9f4");
    assert_true(c->deadline_ms == 1542409706888LL);
    assert_string_equal(c->invoked_function_arn, "arn:aws:lambda:us-east-1:1:function:f");
    assert_string_equal(c->trace_id, "Root=1-5bef4de7;Sampled=1");
    assert_string_equal(c->client_context, "{\"a\":1}");
    assert_string_equal(c->cognito_identity, "{\"b\":2}");
    assert_string_equal(c->tenant_id, "t-1");
    assert_string_equal(inv.invocation_id, "inv-9");
    assert_string_equal(c->function_name, "fn");
    assert_string_equal(c->function_version, "7");
    assert_int_equal(c->memory_limit_mb, 512);
    assert_string_equal(c->log_group_name, "/aws/lambda/fn");
    assert_string_equal(c->log_stream_name, "stream");
    assert_true(lambda_remaining_ms(c) < 0); /* 2018 is long past */

    /* Cleared between invocations: optional fields go back to NULL. */
    lambda_invocation_clear(&inv);
    assert_int_equal(header(&inv, "Lambda-Runtime-Aws-Request-Id: second\r\n"), 1);
    lambda_invocation_finish(&inv, &facts);
    assert_string_equal(inv.ctx.request_id, "second");
    assert_null(inv.ctx.trace_id);
    assert_null(inv.ctx.tenant_id);
    assert_null(inv.invocation_id);
    assert_true(inv.ctx.deadline_ms == 0);
    lambda_invocation_free(&inv);
}

static void test_deadline_and_remaining(void **state)
{
    lambda_invocation inv;
    memset(&inv, 0, sizeof inv);
    char line[64];
    snprintf(line, sizeof line, "Lambda-Runtime-Deadline-Ms: %lld\r\n",
             (long long)(lambda_now_ms() + 5000));
    header(&inv, line);
    lambda_env_facts facts = {0};
    lambda_invocation_finish(&inv, &facts);
    int64_t left = lambda_remaining_ms(&inv.ctx);
    assert_true(left > 3000 && left <= 5000);
    /* Garbage does not crash and gives a deadline in the past. */
    header(&inv, "Lambda-Runtime-Deadline-Ms: soon\r\n");
    lambda_invocation_finish(&inv, &facts);
    assert_true(inv.ctx.deadline_ms == 0);
    header(&inv, "Lambda-Runtime-Deadline-Ms: 99999999999999999999999\r\n");
    lambda_invocation_finish(&inv, &facts);
    assert_true(inv.ctx.deadline_ms == INT64_MAX);
    lambda_invocation_free(&inv);
    assert_true(lambda_remaining_ms(NULL) == 0);
}

static void test_env_facts(void **state)
{
    setenv("AWS_LAMBDA_FUNCTION_NAME", "name", 1);
    setenv("AWS_LAMBDA_FUNCTION_VERSION", "3", 1);
    setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "not-a-number", 1);
    unsetenv("AWS_LAMBDA_LOG_GROUP_NAME");
    setenv("AWS_LAMBDA_LOG_STREAM_NAME", "", 1);
    lambda_env_facts f;
    lambda_env_facts_load(&f);
    assert_string_equal(f.function_name, "name");
    assert_string_equal(f.function_version, "3");
    assert_int_equal(f.memory_limit_mb, 0);
    assert_null(f.log_group_name);
    assert_null(f.log_stream_name);
    setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "10240", 1);
    lambda_env_facts_load(&f);
    assert_int_equal(f.memory_limit_mb, 10240);
}

static void test_current_context_is_per_thread(void **state)
{
    lambda_context ctx = {0};
    assert_null(lambda_context_current());
    lambda_context_set_current(&ctx);
    assert_ptr_equal(lambda_context_current(), &ctx);
    lambda_context_set_current(NULL);
    assert_null(lambda_context_current());
}

/* ---- error body ------------------------------------------------------------- */

static void test_error_body(void **state)
{
    char *doc = lambda_error_body("StoreUnavailable", "line1\n\"quoted\"\t\\");
    cJSON *j = cJSON_Parse(doc);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "errorType")->valuestring, "StoreUnavailable");
    assert_string_equal(cJSON_GetObjectItem(j, "errorMessage")->valuestring,
                        "line1\n\"quoted\"\t\\");
    const cJSON *st = cJSON_GetObjectItem(j, "stackTrace");
    assert_true(cJSON_IsArray(st));
    assert_int_equal(cJSON_GetArraySize(st), 0);
    assert_int_equal(cJSON_GetArraySize(j), 3);
    cJSON_Delete(j);
    cJSON_free(doc);

    doc = lambda_error_body(NULL, NULL);
    assert_string_equal(doc, "{\"errorMessage\":\"\",\"errorType\":"
                             "\"Runtime.HandlerError\",\"stackTrace\":[]}");
    cJSON_free(doc);
}

static void test_error_header_value(void **state)
{
    char v[32];
    lambda_error_header_value(v, sizeof v, "Bad\r\nX-Injected: 1");
    assert_string_equal(v, "Bad__X-Injected: 1");
    lambda_error_header_value(v, sizeof v, "");
    assert_string_equal(v, "Runtime.HandlerError");
    lambda_error_header_value(v, 8, "LongerThanEight");
    assert_string_equal(v, "LongerT");
}

/* ---- logging ---------------------------------------------------------------- */

static void test_log_timestamp(void **state)
{
    char ts[32];
    lambda_log_timestamp(ts, 0);
    assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
    lambda_log_timestamp(ts, 1700000000123LL);
    assert_string_equal(ts, "2023-11-14T22:13:20.123Z");
}

static void test_log_text_format(void **state)
{
    lambda_log_config cfg = {LAMBDA_LOG_FORMAT_TEXT, LAMBDA_LOG_TRACE};
    char *line = lambda_log_format_record(&cfg, LAMBDA_LOG_WARN, "req-1", 1700000000123LL,
                                          "disk\nalmost full");
    assert_string_equal(line, "2023-11-14T22:13:20.123Z\treq-1\tWARN\tdisk\ralmost full\n");
    free(line);
    line = lambda_log_format_record(&cfg, LAMBDA_LOG_INFO, NULL, 0, "boot");
    assert_string_equal(line, "1970-01-01T00:00:00.000Z\t-\tINFO\tboot\n");
    free(line);
}

static void test_log_json_format(void **state)
{
    lambda_log_config cfg = {LAMBDA_LOG_FORMAT_JSON, LAMBDA_LOG_TRACE};
    char *line =
        lambda_log_format_record(&cfg, LAMBDA_LOG_ERROR, "req-2", 1700000000123LL, "a \"b\"\nc");
    size_t n = strlen(line);
    assert_int_equal(line[n - 1], '\n');
    assert_null(memchr(line, '\n', n - 1)); /* one line */
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "timestamp")->valuestring,
                        "2023-11-14T22:13:20.123Z");
    assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "ERROR");
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring, "a \"b\"\nc");
    assert_string_equal(cJSON_GetObjectItem(j, "requestId")->valuestring, "req-2");
    cJSON_Delete(j);
    free(line);

    line = lambda_log_format_record(&cfg, LAMBDA_LOG_INFO, NULL, 0, "init");
    j = cJSON_Parse(line);
    assert_null(cJSON_GetObjectItem(j, "requestId"));
    cJSON_Delete(j);
    free(line);
}

static void test_log_levels(void **state)
{
    lambda_log_level l;
    assert_int_equal(lambda_log_level_parse("debug", &l), 0);
    assert_int_equal(l, LAMBDA_LOG_DEBUG);
    assert_int_equal(lambda_log_level_parse("WARNING", &l), 0);
    assert_int_equal(l, LAMBDA_LOG_WARN);
    assert_int_equal(lambda_log_level_parse("FATAL", &l), 0);
    assert_int_equal(l, LAMBDA_LOG_FATAL);
    assert_int_equal(lambda_log_level_parse("loud", &l), -1);
    assert_int_equal(lambda_log_level_parse(NULL, &l), -1);
    assert_string_equal(lambda_log_level_name(LAMBDA_LOG_TRACE), "TRACE");

    lambda_log_config cfg;
    lambda_log_config_parse(&cfg, "JSON", "warn");
    assert_int_equal(cfg.format, LAMBDA_LOG_FORMAT_JSON);
    assert_int_equal(cfg.min_level, LAMBDA_LOG_WARN);
    lambda_log_config_parse(&cfg, NULL, NULL);
    assert_int_equal(cfg.format, LAMBDA_LOG_FORMAT_TEXT);
    assert_int_equal(cfg.min_level, LAMBDA_LOG_INFO);
    lambda_log_config_parse(&cfg, "Text", "nonsense");
    assert_int_equal(cfg.format, LAMBDA_LOG_FORMAT_TEXT);
    assert_int_equal(cfg.min_level, LAMBDA_LOG_INFO);
    lambda_log_config_parse(&cfg, "json", "TRACE");
    assert_int_equal(cfg.format, LAMBDA_LOG_FORMAT_JSON);
    assert_int_equal(cfg.min_level, LAMBDA_LOG_TRACE);
}

static void test_log_filter_from_env(void **state)
{
    setenv("AWS_LAMBDA_LOG_LEVEL", "ERROR", 1);
    lambda_log_reload();
    assert_false(lambda_log_enabled(LAMBDA_LOG_WARN));
    assert_true(lambda_log_enabled(LAMBDA_LOG_ERROR));
    assert_true(lambda_log_enabled(LAMBDA_LOG_FATAL));
    unsetenv("AWS_LAMBDA_LOG_LEVEL");
    lambda_log_reload();
    assert_true(lambda_log_enabled(LAMBDA_LOG_INFO));
    assert_false(lambda_log_enabled(LAMBDA_LOG_DEBUG));
}

/* ---- routing and dispatch --------------------------------------------------- */

static cJSON *h_echo(const cJSON *event, const lambda_context *ctx, lambda_error *err,
                     void *userdata)
{
    (*(int *)userdata)++;
    return cJSON_Duplicate(event, 1);
}

static cJSON *h_null(const cJSON *event, const lambda_context *ctx, lambda_error *err,
                     void *userdata)
{
    return NULL;
}

static cJSON *h_fail(const cJSON *event, const lambda_context *ctx, lambda_error *err,
                     void *userdata)
{
    return lambda_error_set(err, "InvalidInput", "bad date '%s'", "2026-13-01");
}

static void r_silent(const lambda_request *req, lambda_response *res, void *u)
{
}

static void r_twice(const lambda_request *req, lambda_response *res, void *u)
{
    lambda_response_failure(res, "First", "first");
    lambda_response_success(res, "0123456789", 10, "text/plain");
}

static int calls;
static const lambda_handler table[] = {
    {"echo", h_echo, NULL, &calls},   {"null", h_null, NULL, NULL},   {"fail", h_fail, NULL, NULL},
    {"silent", NULL, r_silent, NULL}, {"twice", NULL, r_twice, NULL},
};
#define N_TABLE (sizeof table / sizeof table[0])

static void test_route(void **state)
{
    lambda_error err = {"", ""};
    assert_ptr_equal(lambda_route(table, N_TABLE, "fail", &err), &table[2]);
    assert_ptr_equal(lambda_route(table, N_TABLE, "twice", &err), &table[4]);
    assert_null(lambda_route(table, N_TABLE, "Echo", &err)); /* exact match */
    assert_string_equal(err.type, "Runtime.HandlerNotFound");
    assert_non_null(strstr(err.message, "'Echo'"));
    assert_non_null(strstr(err.message, "known: echo, null, fail, silent, twice"));
    assert_null(lambda_route(table, N_TABLE, NULL, &err));
    assert_string_equal(err.type, "Runtime.HandlerNotFound");
    assert_non_null(strstr(err.message, "_HANDLER is not set"));
    assert_null(lambda_route(table, N_TABLE, "", &err));
    assert_null(lambda_route(NULL, 0, "echo", &err));
    assert_non_null(strstr(err.message, "known: none"));

    const lambda_handler both[] = {{"x", h_echo, r_silent, NULL}};
    assert_null(lambda_route(both, 1, "x", &err));
    assert_string_equal(err.type, "Runtime.InvalidHandlerTable");
    const lambda_handler neither[] = {{"x", NULL, NULL, NULL}};
    assert_null(lambda_route(neither, 1, "x", &err));
    assert_string_equal(err.type, "Runtime.InvalidHandlerTable");
    const lambda_handler unnamed[] = {{NULL, h_echo, NULL, NULL}};
    assert_null(lambda_route(unnamed, 1, "x", &err));
    assert_string_equal(err.type, "Runtime.InvalidHandlerTable");
}

static void dispatch(const lambda_handler *h, const char *payload, lambda_response *res,
                     size_t limit)
{
    lambda_context ctx = {0};
    lambda_request req = {payload, strlen(payload), &ctx};
    memset(res, 0, sizeof *res);
    lambda_dispatch(h, &req, res, limit);
}

static void test_dispatch_json(void **state)
{
    lambda_response res;
    calls = 0;
    dispatch(&table[0], " {\"a\": [1, 2]} ", &res, 1000);
    assert_int_equal(res.kind, LAMBDA_RESPONSE_SUCCESS);
    assert_string_equal(res.payload.data, "{\"a\":[1,2]}");
    assert_string_equal(res.content_type, "application/json");
    assert_int_equal(calls, 1);
    lambda_response_free(&res);

    dispatch(&table[0], "{\"a\":", &res, 1000);
    assert_int_equal(res.kind, LAMBDA_RESPONSE_FAILURE);
    assert_string_equal(res.error.type, "Runtime.InvalidEvent");
    assert_int_equal(calls, 1); /* never reached the handler */
    lambda_response_free(&res);

    dispatch(&table[0], "", &res, 1000);
    assert_string_equal(res.error.type, "Runtime.InvalidEvent");
    lambda_response_free(&res);

    /* A NUL escape would reach the handler as a cut C string. */
    dispatch(&table[0], "{\"id\":\"acme\\u0000/../x\"}", &res, 1000);
    assert_int_equal(res.kind, LAMBDA_RESPONSE_FAILURE);
    assert_string_equal(res.error.type, "Runtime.InvalidEvent");
    assert_non_null(strstr(res.error.message, "u0000"));
    assert_int_equal(calls, 1);
    lambda_response_free(&res);

    /* An escaped backslash followed by "u0000" is ordinary text. */
    dispatch(&table[0], "{\"id\":\"a\\\\u0000\"}", &res, 1000);
    assert_int_equal(res.kind, LAMBDA_RESPONSE_SUCCESS);
    assert_int_equal(calls, 2);
    lambda_response_free(&res);
    calls = 1;

    dispatch(&table[1], "{}", &res, 1000);
    assert_string_equal(res.error.type, "Runtime.NoResponse");
    lambda_response_free(&res);

    dispatch(&table[2], "{}", &res, 1000);
    assert_string_equal(res.error.type, "InvalidInput");
    assert_string_equal(res.error.message, "bad date '2026-13-01'");
    lambda_response_free(&res);
}

static void test_dispatch_raw(void **state)
{
    lambda_response res;
    dispatch(&table[3], "x", &res, 1000);
    assert_int_equal(res.kind, LAMBDA_RESPONSE_FAILURE);
    assert_string_equal(res.error.type, "Runtime.NoResponse");
    lambda_response_free(&res);

    dispatch(&table[4], "not json is fine", &res, 1000);
    assert_int_equal(res.kind, LAMBDA_RESPONSE_SUCCESS); /* last answer wins */
    assert_int_equal(res.payload.len, 10);
    assert_string_equal(res.content_type, "text/plain");
    lambda_response_free(&res);
}

static void r_evil_type(const lambda_request *req, lambda_response *res, void *u)
{
    lambda_response_success(res, "x", 1, "text/plain\r\nX-Evil: 1");
}

static void test_content_type_sanitised(void **state)
{
    const lambda_handler h = {"evil", NULL, r_evil_type, NULL};
    lambda_response res;
    dispatch(&h, "", &res, 1000);
    assert_string_equal(res.content_type, "text/plain__X-Evil: 1");
    lambda_response_free(&res);
}

static void test_dispatch_size_limit(void **state)
{
    lambda_response res;
    dispatch(&table[4], "", &res, 10); /* exactly the limit */
    assert_int_equal(res.kind, LAMBDA_RESPONSE_SUCCESS);
    lambda_response_free(&res);
    dispatch(&table[4], "", &res, 9);
    assert_int_equal(res.kind, LAMBDA_RESPONSE_FAILURE);
    assert_string_equal(res.error.type, "Function.ResponseSizeTooLarge");
    assert_string_equal(res.error.message, "Response payload size (10 bytes) exceeded maximum "
                                           "allowed payload size (9 bytes).");
    assert_int_equal(res.payload.len, 0);
    lambda_response_free(&res);
}

/* The API's room to grow: the version functions agree with the header, the
 * initialiser zeroes everything, a reserved field is refused. */
static void test_version_and_config(void **state)
{
    assert_string_equal(lambda_runtime_version(), LAMBDA_RUNTIME_VERSION);
    assert_int_equal(lambda_runtime_version_hex(), LAMBDA_RUNTIME_VERSION_HEX);
    char expect[32];
    snprintf(expect, sizeof expect, "%u.%u.%u", lambda_runtime_version_hex() >> 16,
             (lambda_runtime_version_hex() >> 8) & 0xff, lambda_runtime_version_hex() & 0xff);
    assert_string_equal(expect, LAMBDA_RUNTIME_VERSION);
    assert_int_equal(LAMBDA_EXIT_INIT_ERROR, 1);
    assert_int_equal(LAMBDA_EXIT_API_ERROR, 2);

    lambda_runtime_config c;
    memset(&c, 0xab, sizeof c);
    lambda_runtime_config_init(&c);
    lambda_runtime_config zero = LAMBDA_RUNTIME_CONFIG_INIT;
    assert_memory_equal(&c, &zero, sizeof c);
    assert_null(c.handlers);
    lambda_error err = {"", ""};
    assert_int_equal(lambda_config_check(&c, &err), 0);
    c.reserved[7] = &c;
    assert_int_equal(lambda_config_check(&c, &err), -1);
    assert_string_equal(err.type, "Runtime.InvalidConfig");
    assert_non_null(strstr(err.message, "reserved[7]"));
}

static void test_error_set(void **state)
{
    lambda_error err;
    assert_null(lambda_error_set(&err, NULL, "m %d", 1));
    assert_string_equal(err.type, "Runtime.HandlerError");
    assert_string_equal(err.message, "m 1");
    char longer[2000];
    memset(longer, 'y', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    lambda_error_set(&err, longer, "%s", longer);
    assert_int_equal(strlen(err.type), sizeof err.type - 1);
    assert_int_equal(strlen(err.message), sizeof err.message - 1);
    assert_null(lambda_error_set(NULL, "X", "y"));
}

/* ---- backoff, concurrency, signals, extension ----------------------------- */

static void test_backoff(void **state)
{
    lambda_backoff b;
    lambda_api_backoff_init(&b);
    const long want[] = {10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000};
    long total = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        long d = lambda_backoff_next_ms(&b);
        assert_int_equal(d, want[i]);
        total += d;
    }
    assert_int_equal(lambda_backoff_next_ms(&b), -1);
    assert_int_equal(lambda_backoff_next_ms(&b), -1);
    assert_int_equal(total, 4270);
}

/* The jittered delays stay within their window, reach the cap, and stop
 * after max_retries; wait() sleeps them and then says -1. */
static void test_backoff_jitter(void **state)
{
    lambda_backoff b;
    for (int round = 0; round < 50; round++) {
        lambda_backoff_init(&b, 8, 100, 1000, LAMBDA_BACKOFF_EQUAL_JITTER);
        const long want[] = {100, 200, 400, 800, 1000, 1000, 1000, 1000};
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
            assert_in_range(lambda_backoff_next_ms(&b), want[i] / 2, want[i]);
        assert_int_equal(lambda_backoff_next_ms(&b), -1);
        lambda_backoff_init(&b, 3, 10, 40, LAMBDA_BACKOFF_FULL_JITTER);
        assert_in_range(lambda_backoff_next_ms(&b), 0, 10);
        assert_in_range(lambda_backoff_next_ms(&b), 0, 20);
        assert_in_range(lambda_backoff_next_ms(&b), 0, 40);
        assert_int_equal(lambda_backoff_next_ms(&b), -1);
    }
    /* not every delay the same: the jitter does spread them */
    long first = -1;
    int differ = 0;
    for (int i = 0; i < 20 && !differ; i++) {
        lambda_backoff_init(&b, 1, 1000, 1000, LAMBDA_BACKOFF_FULL_JITTER);
        long ms = lambda_backoff_next_ms(&b);
        differ = first >= 0 && ms != first;
        first = ms;
    }
    assert_true(differ);
    /* out-of-range settings are mended; wait() sleeps, then stops */
    lambda_backoff_init(&b, 2, 0, -5, LAMBDA_BACKOFF_NO_JITTER);
    assert_int_equal(b.base_ms, 1);
    assert_int_equal(b.cap_ms, 1);
    assert_int_equal(lambda_backoff_wait(&b), 0);
    assert_int_equal(lambda_backoff_wait(&b), 0);
    assert_int_equal(lambda_backoff_wait(&b), -1);
}

static void test_concurrency_parse(void **state)
{
    assert_int_equal(lambda_loop_concurrency(NULL), 1);
    assert_int_equal(lambda_loop_concurrency(""), 1);
    assert_int_equal(lambda_loop_concurrency("4"), 4);
    assert_int_equal(lambda_loop_concurrency("0"), 1);
    assert_int_equal(lambda_loop_concurrency("-3"), 1);
    assert_int_equal(lambda_loop_concurrency("4x"), 1);
    assert_int_equal(lambda_loop_concurrency("100000"), 1024);
}

static void test_signal_line(void **state)
{
    char line[256];
    size_t n = lambda_signals_format_line(line, sizeof line, SIGSEGV, "req-7");
    assert_int_equal(n, strlen(line));
    assert_string_equal(line, "lambda-c: fatal signal SIGSEGV (11) in handler, "
                              "RequestId: req-7; the runtime dies by this signal\n");
    lambda_signals_format_line(line, sizeof line, SIGABRT, NULL);
    assert_string_equal(line, "lambda-c: fatal signal SIGABRT (6) outside any "
                              "invocation; the runtime dies by this signal\n");
    n = lambda_signals_format_line(line, 16, SIGBUS, "r");
    assert_int_equal(strlen(line), 15);
}

static void test_extension_id(void **state)
{
    char id[64];
    static const char line[] = "Lambda-Extension-Identifier: 5f1b-77\r\n";
    assert_int_equal(lambda_extension_parse_id(line, sizeof line - 1, id, sizeof id), 1);
    assert_string_equal(id, "5f1b-77");
    static const char lower[] = "lambda-extension-identifier:x\r\n";
    assert_int_equal(lambda_extension_parse_id(lower, sizeof lower - 1, id, sizeof id), 1);
    assert_string_equal(id, "x");
    static const char other[] = "Content-Type: a\r\n";
    assert_int_equal(lambda_extension_parse_id(other, sizeof other - 1, id, sizeof id), 0);
    static const char empty[] = "Lambda-Extension-Identifier: \r\n";
    assert_int_equal(lambda_extension_parse_id(empty, sizeof empty - 1, id, sizeof id), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows_and_terminates),
        cmocka_unit_test(test_headers_parsed),
        cmocka_unit_test(test_deadline_and_remaining),
        cmocka_unit_test(test_env_facts),
        cmocka_unit_test(test_current_context_is_per_thread),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_error_header_value),
        cmocka_unit_test(test_log_timestamp),
        cmocka_unit_test(test_log_text_format),
        cmocka_unit_test(test_log_json_format),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_log_filter_from_env),
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_dispatch_json),
        cmocka_unit_test(test_dispatch_raw),
        cmocka_unit_test(test_dispatch_size_limit),
        cmocka_unit_test(test_content_type_sanitised),
        cmocka_unit_test(test_version_and_config),
        cmocka_unit_test(test_error_set),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_backoff_jitter),
        cmocka_unit_test(test_concurrency_parse),
        cmocka_unit_test(test_signal_line),
        cmocka_unit_test(test_extension_id),
    };
    return cmocka_run_group_tests_name("runtime-unit", tests, NULL, NULL);
}

/* Response streaming against fake_api: the real lambda-test-stream-bootstrap
 * posts its streams to a scriptable Runtime API, which records the framing
 * headers, the error trailers, when the first byte came and every byte.
 * Each test is its own CTest test (argv[1] selects it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "fake_api.h"

#ifndef STREAM_BOOTSTRAP
#error "STREAM_BOOTSTRAP must name the lambda-test-stream-bootstrap executable"
#endif

#define STREAM_LIMIT 209715200u
#define TRAILER_DECL "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"

typedef struct fixture {
    fake_api *api;
    child proc;
    char env_api[64];
    char *err;
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

static void start(fixture *fx, const char *extra)
{
    snprintf(fx->env_api, sizeof fx->env_api, "AWS_LAMBDA_RUNTIME_API=%s",
             fake_api_endpoint(fx->api));
    const char *env[] = {fx->env_api, "_HANDLER=stream", extra, NULL};
    const char *argv[] = {STREAM_BOOTSTRAP, NULL};
    assert_int_equal(child_spawn(&fx->proc, argv, env), 0);
}

static const char *err_text(fixture *fx)
{
    free(fx->err);
    fx->err = child_stderr(&fx->proc);
    return fx->err;
}

static const fake_result *wait_one(fixture *fx, size_t index)
{
    size_t n = fake_api_wait_results(fx->api, index + 1, 60000);
    if (n <= index)
        fail_msg("no result #%zu after 60 s; stderr:\n%s", index, err_text(fx));
    return fake_api_result(fx->api, index);
}

/* Byte i of every test stream is 'a' + i % 26 (see stream_bootstrap.c). */
static void assert_pattern(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != (char)('a' + i % 26))
            fail_msg("byte %zu is 0x%02x, expected '%c'", i, (unsigned char)p[i],
                     (char)('a' + i % 26));
}

static void assert_streamed(const fake_result *r, const char *content_type)
{
    assert_false(r->is_error);
    assert_non_null(r->response_mode);
    assert_string_equal(r->response_mode, "streaming");
    assert_non_null(r->transfer_encoding);
    assert_string_equal(r->transfer_encoding, "chunked");
    assert_non_null(r->trailer);
    assert_string_equal(r->trailer, TRAILER_DECL);
    assert_string_equal(r->content_type, content_type);
}

/* Three writes 500 ms apart: chunked, announced trailers, none sent, every
 * byte, and the first byte arrived long before the handler ended (1 s of
 * sleeps after it; 600 ms leaves room for a loaded machine). */
static void test_chunks(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{\"chunks\":3,\"size\":16,\"sleep_ms\":500,"
                                "\"content_type\":\"text/plain\"}");
    fake_api_push_body(fx->api, "{\"chunks\":0}");
    start(fx, NULL);
    const fake_result *r = wait_one(fx, 0);
    assert_streamed(r, "text/plain");
    assert_int_equal(r->total_len, 48);
    assert_int_equal(r->body_len, 48);
    assert_pattern(r->body, 48);
    assert_null(r->trailer_error_type);
    assert_null(r->trailer_error_body);
    if (r->done_ms - r->first_byte_ms < 600)
        fail_msg("first byte %lld ms before the end: not streamed",
                 (long long)(r->done_ms - r->first_byte_ms));
    r = wait_one(fx, 1); /* nothing written: an empty stream */
    assert_streamed(r, "application/octet-stream");
    assert_int_equal(r->total_len, 0);
    /* /next keeps its connection; each stream has one of its own (libcurl
     * 7.88 sends trailers only on a handle's first stream). */
    assert_int_equal(fake_api_connections(fx->api), 3);
}

/* The HTTP integration prelude, byte for byte, then 8 NULs, then the body. */
static void test_http_prelude(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{\"chunks\":2,\"size\":10,\"http\":{\"statusCode\":201,"
                                "\"headers\":{\"Content-Type\":\"text/csv\",\"X-Test\":\"1\"},"
                                "\"cookies\":[\"a=b; Path=/\",\"c=d\"]}}");
    start(fx, NULL);
    const fake_result *r = wait_one(fx, 0);
    assert_streamed(r, "application/vnd.awslambda.http-integration-response");
    static const char prelude[] = "{\"statusCode\":201,\"headers\":{\"Content-Type\":\"text/csv\","
                                  "\"X-Test\":\"1\"},\"cookies\":[\"a=b; Path=/\",\"c=d\"]}";
    size_t n = sizeof prelude - 1;
    assert_int_equal(r->total_len, n + 8 + 20);
    assert_memory_equal(r->body, prelude, n);
    static const char nuls[8] = {0};
    assert_memory_equal(r->body + n, nuls, 8);
    assert_pattern(r->body + n + 8, 20);
}

/* An error after the first byte: the bytes, then the trailers (type, and
 * the error document in base64). */
static void test_error_after_first_byte(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{\"chunks\":3,\"size\":16,\"fail_after\":1}");
    start(fx, NULL);
    const fake_result *r = wait_one(fx, 0);
    assert_streamed(r, "application/octet-stream");
    assert_int_equal(r->total_len, 16);
    assert_pattern(r->body, 16);
    assert_non_null(r->trailer_error_type);
    assert_string_equal(r->trailer_error_type, "Test.MidStream");
    /* base64 of {"errorMessage":"failed after 16 bytes","errorType":
     * "Test.MidStream","stackTrace":[]} */
    assert_non_null(r->trailer_error_body);
    assert_string_equal(r->trailer_error_body,
                        "eyJlcnJvck1lc3NhZ2UiOiJmYWlsZWQgYWZ0ZXIgMTYgYnl0ZXMiLCJlcnJvclR5cGUiOiJUZX"
                        "N0Lk1pZFN0cmVhbSIsInN0YWNrVHJhY2UiOltdfQ==");
}

/* Failing before the first write is an ordinary /error, even for HTTP. */
static void test_error_before_first_byte(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{\"fail_before\":true,\"http\":{\"statusCode\":200}}");
    start(fx, NULL);
    const fake_result *r = wait_one(fx, 0);
    assert_true(r->is_error);
    assert_string_equal(r->error_type, "Test.BeforeStream");
    assert_null(r->response_mode);
    assert_non_null(strstr(r->body, "\"errorType\":\"Test.BeforeStream\""));
}

static long peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* 200 MiB pass in 1 MiB writes; the 201st write fails and the stream ends
 * with Function.ResponseSizeTooLarge in the trailers. The bootstrap's peak
 * RSS grows by less than 8 MiB over a small stream's: memory is bounded. */
static void test_over_limit_bounded_rss(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{\"chunks\":2,\"size\":1048576,\"fail_after\":1}");
    start(fx, NULL);
    /* A second stream on the same worker carries its trailers too. */
    assert_string_equal(wait_one(fx, 0)->trailer_error_type, "Test.MidStream");
    long before = peak_rss_kb(fx->proc.pid);
    fake_api_push_body(fx->api, "{\"chunks\":201,\"size\":1048576}");
    const fake_result *r = wait_one(fx, 1);
    long after = peak_rss_kb(fx->proc.pid);
    assert_streamed(r, "application/octet-stream");
    assert_int_equal(r->total_len, STREAM_LIMIT);
    assert_pattern(r->body, r->body_len);
    assert_non_null(r->trailer_error_type);
    assert_string_equal(r->trailer_error_type, "Function.ResponseSizeTooLarge");
    assert_non_null(strstr(err_text(fx), "stream write failed after 209715200 bytes"));
    print_message("peak RSS %ld kB after 1 MiB, %ld kB after 200 MiB\n", before, after);
    assert_true(before > 0 && after > 0);
    if (after - before > 8 * 1024)
        fail_msg("peak RSS grew by %ld kB streaming 200 MiB", after - before);
}

/* The Runtime API drops the connection mid-stream (its caller went away):
 * the handler's write fails, the runtime goes on with the next event. */
static void test_disconnect_mid_stream(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_cut_stream(fx->api);
    fake_api_push_body(fx->api, "{\"chunks\":2000,\"size\":65536}");
    fake_api_push_body(fx->api, "{\"chunks\":2,\"size\":8}");
    start(fx, NULL);
    const fake_result *r = wait_one(fx, 0); /* the cut post is not recorded */
    assert_streamed(r, "application/octet-stream");
    assert_int_equal(r->total_len, 16);
    const char *err = err_text(fx);
    assert_non_null(strstr(err, "stream write failed after"));
    assert_non_null(strstr(err, "could not post the response"));
    assert_int_equal(child_wait(&fx->proc, 0), -1); /* still serving */
}

/* Four workers stream at once, each on its own connection. */
static void test_concurrent_streams(void **state)
{
    fixture *fx = *state;
    fx->api = fake_api_start();
    for (int i = 0; i < 4; i++)
        fake_api_push_body(fx->api, "{\"chunks\":4,\"size\":100000,\"sleep_ms\":250}");
    start(fx, "AWS_LAMBDA_MAX_CONCURRENCY=4");
    assert_int_equal(fake_api_wait_results(fx->api, 4, 30000), 4);
    int64_t last_first_byte = 0, first_end = INT64_MAX;
    for (size_t i = 0; i < 4; i++) {
        const fake_result *r = fake_api_result(fx->api, i);
        assert_streamed(r, "application/octet-stream");
        assert_int_equal(r->total_len, 400000);
        assert_pattern(r->body, 400000);
        if (r->first_byte_ms > last_first_byte)
            last_first_byte = r->first_byte_ms;
        if (r->done_ms < first_end)
            first_end = r->done_ms;
    }
    assert_true(last_first_byte < first_end); /* all four streamed at once */
}

/* Every streaming path under valgrind: no leak, no error (exit 2 is the
 * runtime leaving once the fake answers /next with 500). */
static void test_valgrind(void **state)
{
#ifdef VALGRIND
    fixture *fx = *state;
    fx->api = fake_api_start();
    fake_api_push_body(fx->api, "{\"chunks\":3,\"size\":100000,\"fail_after\":2}");
    fake_api_push_body(fx->api, "{\"chunks\":3,\"size\":100000,\"fail_after\":2}");
    fake_api_push_body(fx->api, "{\"chunks\":3,\"size\":10,\"http\":{\"statusCode\":201,"
                                "\"headers\":{\"a\":\"b\"},\"cookies\":[\"x=y\"]}}");
    fake_api_push_body(fx->api, "{\"fail_before\":true}");
    fake_api_push_body(fx->api, "{\"chunks\":0}");
    fake_api_end_with_500(fx->api);
    snprintf(fx->env_api, sizeof fx->env_api, "AWS_LAMBDA_RUNTIME_API=%s",
             fake_api_endpoint(fx->api));
    const char *env[] = {fx->env_api, "_HANDLER=stream", NULL};
    const char *argv[] = {VALGRIND,
                          "--leak-check=full",
                          "--errors-for-leak-kinds=definite,indirect",
                          "--error-exitcode=9",
                          STREAM_BOOTSTRAP,
                          NULL};
    assert_int_equal(child_spawn(&fx->proc, argv, env), 0);
    assert_int_equal(child_wait(&fx->proc, 120000), 0);
    if (child_exit_code(&fx->proc) != 2)
        fail_msg("exit %d under valgrind:\n%s", child_exit_code(&fx->proc), err_text(fx));
    assert_int_equal(fake_api_wait_results(fx->api, 5, 1000), 5);
#else
    skip();
#endif
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        TEST(test_chunks),
        TEST(test_http_prelude),
        TEST(test_error_after_first_byte),
        TEST(test_error_before_first_byte),
        TEST(test_over_limit_bounded_rss),
        TEST(test_disconnect_mid_stream),
        TEST(test_concurrent_streams),
        TEST(test_valgrind),
    };
    if (argc > 1) {
        size_t found = 0;
        for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
            found += strcmp(tests[i].name, argv[1]) == 0;
        if (!found) {
            fprintf(stderr, "no test named %s\n", argv[1]);
            return 2;
        }
        cmocka_set_test_filter(argv[1]);
    }
    return cmocka_run_group_tests_name("runtime-stream", tests, NULL, NULL);
}

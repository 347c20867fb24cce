/*
 * lambda::durable through its public header: recorded invocation envelopes
 * in, a fake durable-execution service (fake_service.c) behind the
 * checkpoint and state calls, the answers and the checkpointed updates
 * checked. Time is never waited for: retry jitter comes from a fixed
 * source and throttled calls "sleep" through the config's hook.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <lambda/durable.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_service.h"

#define EXEC_ID "6f1c2a9e-exec"
#define ARN                                                                                    \
    "arn:aws:lambda:us-east-1:123456789012:function:order:$LATEST/durable-execution/order-A1/" \
    "6f1c2a9e-5b7d-4e0a-9c3b-2f8e1d4a7b60"

static fake_service *svc;

/* ---- fixtures ------------------------------------------------------------ */

static double fixed_random(void *data)
{
    return *(const double *)data;
}

typedef struct sleeps {
    long total_ms;
    int count;
} sleeps;

static void record_sleep(long ms, void *data)
{
    sleeps *s = data;
    s->total_ms += ms;
    s->count++;
}

static double half = 0.5;
static sleeps slept;
static lambda_durable_config config;

static int setup(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDTEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    setenv("AWS_SESSION_TOKEN", "session-token-1", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    /* A bound, not a speed check: under valgrind on a loaded machine a 7 MB
     * checkpoint takes seconds. */
    setenv("LAMBDA_DURABLE_TIMEOUT_MS", "120000", 1);
    svc = fake_service_start();
    if (!svc)
        return -1;
    memset(&config, 0, sizeof config);
    memset(&slept, 0, sizeof slept);
    config.endpoint = fake_service_endpoint(svc);
    config.random = fixed_random;
    config.random_data = &half;
    config.sleep_ms = record_sleep;
    config.sleep_data = &slept;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_service_stop(svc);
    svc = NULL;
    return 0;
}

static char *read_envelope(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ENVELOPES_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* An envelope around `ops` (the operations after the EXECUTION one). */
static char *envelope_with(const char *ops)
{
    static const char fmt[] =
        "{\"DurableExecutionArn\":\"" ARN "\",\"CheckpointToken\":\"tok-0\","
        "\"InitialExecutionState\":{\"Operations\":[{\"Id\":\"" EXEC_ID "\",\"Type\":"
        "\"EXECUTION\",\"Status\":\"STARTED\",\"ExecutionDetails\":{\"InputPayload\":"
        "\"{\\\"order_id\\\":\\\"A1\\\",\\\"items\\\":3}\"}}%s%s]}}";
    size_t n = sizeof fmt + strlen(ops) + 8;
    char *out = malloc(n);
    snprintf(out, n, fmt, *ops ? "," : "", ops);
    return out;
}

/* Runs `fn` on `event`; returns the answer's parsed JSON (or NULL with
 * err when the invocation itself failed). */
static cJSON *run(const lambda_durable_function *fn, const char *event, lambda_error *err)
{
    char *answer = NULL;
    memset(err, 0, sizeof *err);
    int rc = lambda_durable_invoke(fn, event, strlen(event), NULL, &answer, err);
    if (rc != 0) {
        assert_null(answer);
        fprintf(stderr, "invocation error: %s: %s\n", err->type, err->message);
        return NULL;
    }
    cJSON *j = cJSON_Parse(answer);
    free(answer);
    assert_non_null(j);
    return j;
}

static const char *str(const cJSON *j, const char *path)
{
    /* "a.b.c" */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = j;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        cur = cJSON_GetObjectItemCaseSensitive(cur, k);
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static const cJSON *update(int call, int index)
{
    const cJSON *body = fake_service_checkpoint(svc, call);
    assert_non_null(body);
    return cJSON_GetArrayItem(cJSON_GetObjectItem(body, "Updates"), index);
}

static int updates_in(int call)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(fake_service_checkpoint(svc, call), "Updates"));
}

/* ---- the order handler (validate, charge at most once, wait, ship) ------- */

typedef struct counts {
    int validate, charge, ship;
    int replaying_at_start, replaying_at_end;
    int suspended;
} counts;

static int step_validate(const lambda_durable_step_info *info, void *arg, char **result,
                         lambda_error *err)
{
    (void)info;
    (void)err;
    ((counts *)arg)->validate++;
    *result = strdup("{\"valid\":true}");
    return 0;
}

static int step_charge(const lambda_durable_step_info *info, void *arg, char **result,
                       lambda_error *err)
{
    (void)info;
    (void)err;
    ((counts *)arg)->charge++;
    *result = strdup("30");
    return 0;
}

static int step_ship(const lambda_durable_step_info *info, void *arg, char **result,
                     lambda_error *err)
{
    (void)info;
    (void)err;
    ((counts *)arg)->ship++;
    *result = strdup("true");
    return 0;
}

static int order_handler(lambda_durable_context *ctx, const char *input, char **result,
                         lambda_error *err, void *userdata)
{
    counts *c = userdata;
    assert_string_equal(input, "{\"order_id\":\"A1\",\"items\":3}");
    assert_string_equal(lambda_durable_execution_arn(ctx), ARN);
    c->replaying_at_start = lambda_durable_replaying(ctx);
    static const lambda_durable_step_config once = {.semantics = LAMBDA_DURABLE_AT_MOST_ONCE};
    char *charged = NULL;
    int rc = -1;
    if (lambda_durable_step(ctx, "validate", step_validate, c, NULL, NULL, err) != 0 ||
        lambda_durable_step(ctx, "charge", step_charge, c, &once, &charged, err) != 0 ||
        lambda_durable_wait(ctx, "cooling-off", 60, err) != 0 ||
        lambda_durable_step(ctx, "ship", step_ship, c, NULL, NULL, err) != 0) {
        c->suspended = lambda_durable_suspended(ctx);
        goto done;
    }
    c->replaying_at_end = lambda_durable_replaying(ctx);
    size_t n = strlen(charged) + 32;
    *result = malloc(n);
    snprintf(*result, n, "{\"charged\":%s}", charged);
    rc = 0;
done:
    free(charged);
    return rc;
}

/* ---- tests ---------------------------------------------------------------- */

/* First invocation: steps run and are checkpointed (START, then the
 * outcome: a request carries one update per operation), the wait
 * checkpoints and the answer is PENDING; tokens chain call to call. */
static void test_first_invocation(void **state)
{
    (void)state;
    counts c = {0};
    lambda_durable_function fn = {.handler = order_handler, .userdata = &c, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_non_null(answer);
    assert_string_equal(str(answer, "Status"), "PENDING");
    assert_int_equal(c.validate, 1);
    assert_int_equal(c.charge, 1);
    assert_int_equal(c.ship, 0);
    assert_true(c.suspended);
    assert_false(c.replaying_at_start);
    /* validate: START, SUCCEED; charge: START, SUCCEED; wait: START. */
    assert_int_equal(fake_service_checkpoints(svc), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(updates_in(i), 1);
    assert_string_equal(str(update(0, 0), "Id"), "1");
    assert_string_equal(str(update(0, 0), "Type"), "STEP");
    assert_string_equal(str(update(0, 0), "SubType"), "Step");
    assert_string_equal(str(update(0, 0), "Action"), "START");
    assert_string_equal(str(update(0, 0), "Name"), "validate");
    assert_string_equal(str(update(1, 0), "Action"), "SUCCEED");
    assert_string_equal(str(update(1, 0), "Payload"), "{\"valid\":true}");
    assert_string_equal(str(update(2, 0), "Action"), "START");
    assert_string_equal(str(update(2, 0), "Id"), "2");
    assert_string_equal(str(update(3, 0), "Action"), "SUCCEED");
    assert_string_equal(str(update(3, 0), "Payload"), "30");
    assert_string_equal(str(update(4, 0), "Type"), "WAIT");
    assert_string_equal(str(update(4, 0), "Id"), "3");
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(update(4, 0), "WaitOptions"), "WaitSeconds")
            ->valueint,
        60);
    /* Each call carried the token the previous one returned. */
    for (int i = 0; i < 5; i++) {
        char want[16];
        snprintf(want, sizeof want, "tok-%d", i);
        assert_string_equal(str(fake_service_checkpoint(svc, i), "CheckpointToken"), want);
    }
    /* The ARN is one path segment, percent-encoded on the wire. */
    assert_string_equal(fake_service_last_path(svc),
                        "/2025-12-01/durable-executions/" ARN "/checkpoint");
    /* SigV4 for service "lambda", with the session token. */
    assert_non_null(strstr(fake_service_last_authorization(svc), "AWS4-HMAC-SHA256"));
    assert_non_null(strstr(fake_service_last_authorization(svc), "AKIDTEST/"));
    assert_non_null(strstr(fake_service_last_authorization(svc), "/us-east-1/lambda/aws4_request"));
    assert_string_equal(fake_service_last_security_token(svc), "session-token-1");
    cJSON_Delete(answer);
    free(event);
}

/* Replay: completed operations return their recorded results without
 * running; the rest runs; the execution succeeds. */
static void test_replay(void **state)
{
    (void)state;
    counts c = {0};
    lambda_durable_function fn = {.handler = order_handler, .userdata = &c, .config = &config};
    char *event = read_envelope("replay.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_non_null(answer);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    assert_string_equal(str(answer, "Result"), "{\"charged\":30}");
    assert_int_equal(c.validate, 0);
    assert_int_equal(c.charge, 0);
    assert_int_equal(c.ship, 1);
    assert_true(c.replaying_at_start);
    assert_false(c.replaying_at_end);
    assert_int_equal(fake_service_checkpoints(svc), 2);
    assert_string_equal(str(update(0, 0), "Id"), "4");
    assert_string_equal(str(update(1, 0), "Payload"), "true");
    cJSON_Delete(answer);
    free(event);
}

/* A recorded operation of another type, or another name, at an id: the
 * execution fails terminally and nothing is checkpointed. */
static void test_determinism_violation(void **state)
{
    (void)state;
    counts c = {0};
    lambda_durable_function fn = {.handler = order_handler, .userdata = &c, .config = &config};
    const char *cases[] = {
        "{\"Id\":\"1\",\"Type\":\"WAIT\",\"Status\":\"SUCCEEDED\",\"Name\":\"validate\"}",
        "{\"Id\":\"1\",\"Type\":\"STEP\",\"Status\":\"SUCCEEDED\",\"Name\":\"refund\","
        "\"StepDetails\":{\"Result\":\"1\"}}"};
    for (size_t i = 0; i < 2; i++) {
        char *event = envelope_with(cases[i]);
        lambda_error err;
        cJSON *answer = run(&fn, event, &err);
        assert_non_null(answer);
        assert_string_equal(str(answer, "Status"), "FAILED");
        assert_string_equal(str(answer, "Error.ErrorType"), "Durable.NonDeterministicExecution");
        assert_non_null(strstr(str(answer, "Error.ErrorMessage"), "operation 1"));
        cJSON_Delete(answer);
        free(event);
    }
    assert_int_equal(c.validate, 0);
    assert_int_equal(fake_service_checkpoints(svc), 0);
}

/* ---- retries -------------------------------------------------------------- */

typedef struct flaky {
    int calls;
    int fail_until; /* attempts below this fail */
    int last_attempt;
} flaky;

static int step_flaky(const lambda_durable_step_info *info, void *arg, char **result,
                      lambda_error *err)
{
    flaky *f = arg;
    f->calls++;
    f->last_attempt = info->attempt;
    if (info->attempt < f->fail_until) {
        lambda_error_set(err, "Boom", "attempt %d failed", info->attempt);
        return -1;
    }
    *result = strdup("\"ok\"");
    return 0;
}

static int flaky_handler(lambda_durable_context *ctx, const char *input, char **result,
                         lambda_error *err, void *userdata)
{
    (void)input;
    char *out = NULL;
    if (lambda_durable_step(ctx, "flaky", step_flaky, userdata, NULL, &out, err) != 0)
        return -1;
    *result = out;
    return 0;
}

/* The delays AWS documents by default: up to 6 attempts, exponential from
 * 5 s doubling to a 60 s cap, full jitter (here the draw is fixed). */
static void test_retry_policy_delays(void **state)
{
    (void)state;
    lambda_durable_retry_policy none = {.jitter = LAMBDA_DURABLE_JITTER_NONE};
    int want_none[] = {5, 10, 20, 40, 60, 0};
    for (int a = 1; a <= 6; a++)
        assert_int_equal(lambda_durable_retry_delay(&none, a, 0.5), want_none[a - 1]);
    int want_full[] = {3, 5, 10, 20, 30, 0}; /* ceil(0.5 * backoff) */
    for (int a = 1; a <= 6; a++)
        assert_int_equal(lambda_durable_retry_delay(NULL, a, 0.5), want_full[a - 1]);
    assert_int_equal(lambda_durable_retry_delay(NULL, 1, 0.0), 1); /* at least 1 s */
    lambda_durable_retry_policy half_j = {.jitter = LAMBDA_DURABLE_JITTER_HALF, .max_attempts = 3};
    assert_int_equal(lambda_durable_retry_delay(&half_j, 2, 0.0), 5);
    assert_int_equal(lambda_durable_retry_delay(&half_j, 3, 0.0), 0);
}

/* A failing step through every attempt, one invocation per attempt as the
 * service drives it: RETRY with the policy's delay and PENDING, then FAIL
 * on the 6th, the step's error handed to the handler and the execution
 * FAILED with it. */
static void test_step_retries_until_exhausted(void **state)
{
    (void)state;
    flaky f = {.fail_until = 100};
    lambda_durable_function fn = {.handler = flaky_handler, .userdata = &f, .config = &config};
    int want_delay[] = {3, 5, 10, 20, 30};
    for (int attempt = 1; attempt <= 6; attempt++) {
        char ops[256] = "";
        if (attempt > 1)
            snprintf(ops, sizeof ops,
                     "{\"Id\":\"1\",\"Name\":\"flaky\",\"Type\":\"STEP\",\"Status\":\"READY\","
                     "\"StepDetails\":{\"Attempt\":%d}}",
                     attempt - 1);
        char *event = envelope_with(ops);
        fake_service_set_token(svc, "tok-0");
        int before = fake_service_checkpoints(svc);
        lambda_error err;
        cJSON *answer = run(&fn, event, &err);
        assert_non_null(answer);
        assert_int_equal(f.last_attempt, attempt);
        int calls = fake_service_checkpoints(svc);
        assert_int_equal(calls - before, 2); /* START, then RETRY or FAIL */
        const cJSON *last = update(calls - 1, 0);
        if (attempt < 6) {
            assert_string_equal(str(answer, "Status"), "PENDING");
            assert_string_equal(str(last, "Action"), "RETRY");
            assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(last, "StepOptions"),
                                                 "NextAttemptDelaySeconds")
                                 ->valueint,
                             want_delay[attempt - 1]);
        } else {
            assert_string_equal(str(answer, "Status"), "FAILED");
            assert_string_equal(str(last, "Action"), "FAIL");
            assert_string_equal(str(answer, "Error.ErrorType"), "Boom");
            assert_string_equal(str(answer, "Error.ErrorMessage"), "attempt 6 failed");
        }
        assert_string_equal(str(last, "Error.ErrorType"), "Boom");
        /* READY: no second START for the same attempt count. */
        assert_string_equal(str(update(before, 0), "Action"), "START");
        cJSON_Delete(answer);
        free(event);
    }
    assert_int_equal(f.calls, 6);
}

/* A retried step that then succeeds; and a recorded FAILED step replays
 * its error without running. */
static void test_retry_then_success_and_failed_replay(void **state)
{
    (void)state;
    flaky f = {.fail_until = 3};
    lambda_durable_function fn = {.handler = flaky_handler, .userdata = &f, .config = &config};
    char *event = read_envelope("retry_ready.json"); /* READY, Attempt 2 */
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    assert_string_equal(str(answer, "Result"), "\"ok\"");
    assert_int_equal(f.last_attempt, 3);
    cJSON_Delete(answer);
    free(event);

    f.calls = 0;
    event =
        envelope_with("{\"Id\":\"1\",\"Name\":\"flaky\",\"Type\":\"STEP\",\"Status\":\"FAILED\","
                      "\"StepDetails\":{\"Attempt\":5,\"Error\":{\"ErrorType\":\"Boom\","
                      "\"ErrorMessage\":\"recorded\"}}}");
    fake_service_set_token(svc, "tok-0");
    answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "FAILED");
    assert_string_equal(str(answer, "Error.ErrorType"), "Boom");
    assert_string_equal(str(answer, "Error.ErrorMessage"), "recorded");
    assert_int_equal(f.calls, 0);
    cJSON_Delete(answer);
    free(event);
}

static int never_retry(const lambda_error *error, int attempt, void *data)
{
    (void)attempt;
    (void)data;
    return strcmp(error->type, "Boom") != 0;
}

static int fallback_handler(lambda_durable_context *ctx, const char *input, char **result,
                            lambda_error *err, void *userdata)
{
    (void)input;
    static const lambda_durable_retry_policy policy = {.should_retry = never_retry};
    const lambda_durable_step_config cfg = {.retry = &policy};
    if (lambda_durable_step(ctx, "flaky", step_flaky, userdata, &cfg, NULL, err) == 0)
        return lambda_error_set(err, "Unexpected", "the step should have failed"), -1;
    assert_string_equal(err->type, "Boom");
    assert_false(lambda_durable_suspended(ctx));
    /* The handler recovers with another step. */
    return lambda_durable_step(ctx, "fallback", step_ship, &(counts){0}, NULL, result, err);
}

/* An error the policy does not retry fails the step at once; the handler
 * can recover from it. */
static void test_non_retryable_error_and_recovery(void **state)
{
    (void)state;
    flaky f = {.fail_until = 100};
    lambda_durable_function fn = {.handler = fallback_handler, .userdata = &f, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    assert_string_equal(str(answer, "Result"), "true");
    assert_string_equal(str(update(1, 0), "Action"), "FAIL");
    assert_string_equal(str(update(2, 0), "Id"), "2");
    assert_string_equal(str(update(2, 0), "Name"), "fallback");
    assert_int_equal(f.calls, 1);
    cJSON_Delete(answer);
    free(event);
}

/* At most once: an attempt found STARTED is not run again; it counts as
 * failed (Durable.StepInterrupted) and is retried after the delay. At
 * least once, the same record runs the code again, without a new START. */
static void test_at_most_once_interrupted(void **state)
{
    (void)state;
    counts c = {0};
    lambda_durable_function fn = {.handler = order_handler, .userdata = &c, .config = &config};
    char *event = envelope_with(
        "{\"Id\":\"1\",\"Name\":\"validate\",\"Type\":\"STEP\",\"Status\":\"SUCCEEDED\","
        "\"StepDetails\":{\"Result\":\"{}\"}},"
        "{\"Id\":\"2\",\"Name\":\"charge\",\"Type\":\"STEP\",\"Status\":\"STARTED\","
        "\"StepDetails\":{\"Attempt\":0}}");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "PENDING");
    assert_int_equal(c.charge, 0);
    assert_int_equal(fake_service_checkpoints(svc), 1);
    assert_int_equal(updates_in(0), 1);
    assert_string_equal(str(update(0, 0), "Action"), "RETRY");
    assert_string_equal(str(update(0, 0), "Error.ErrorType"), "Durable.StepInterrupted");
    cJSON_Delete(answer);
    free(event);

    /* At least once (validate) STARTED: runs again, only SUCCEED sent. */
    event = envelope_with("{\"Id\":\"1\",\"Name\":\"validate\",\"Type\":\"STEP\",\"Status\":"
                          "\"STARTED\",\"StepDetails\":{\"Attempt\":0}}");
    fake_service_set_token(svc, "tok-0");
    answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "PENDING"); /* reaches the wait */
    assert_int_equal(c.validate, 1);
    assert_int_equal(updates_in(1), 1);
    assert_string_equal(str(update(1, 0), "Action"), "SUCCEED");
    assert_string_equal(str(update(1, 0), "Id"), "1");
    cJSON_Delete(answer);
    free(event);
}

/* The initial state continues in GetDurableExecutionState pages: the SDK
 * follows every NextMarker with the envelope's token before the handler
 * runs, and replays what the pages hold. */
static void test_paging(void **state)
{
    (void)state;
    fake_service_add_page(
        svc, "page-2",
        "{\"Operations\":[{\"Id\":\"1\",\"Name\":\"validate\",\"Type\":\"STEP\",\"Status\":"
        "\"SUCCEEDED\",\"StepDetails\":{\"Result\":\"{}\"}},{\"Id\":\"2\",\"Name\":\"charge\","
        "\"Type\":\"STEP\",\"Status\":\"SUCCEEDED\",\"StepDetails\":{\"Result\":\"30\"}}],"
        "\"NextMarker\":\"page-3\"}");
    fake_service_add_page(svc, "page-3",
                          "{\"Operations\":[{\"Id\":\"3\",\"Name\":\"cooling-off\",\"Type\":"
                          "\"WAIT\",\"Status\":\"SUCCEEDED\"}]}");
    counts c = {0};
    lambda_durable_function fn = {.handler = order_handler, .userdata = &c, .config = &config};
    char *event = read_envelope("paged.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_non_null(answer);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    assert_int_equal(fake_service_state_calls(svc), 2);
    assert_string_equal(fake_service_last_query_token(svc), "tok-0");
    assert_int_equal(c.validate + c.charge, 0);
    assert_int_equal(c.ship, 1);
    cJSON_Delete(answer);
    free(event);
}

/* A used token: the service refuses the checkpoint; the invocation fails
 * (Lambda invokes again with a fresh token) rather than the execution. */
static void test_stale_token(void **state)
{
    (void)state;
    fake_service_set_token(svc, "tok-7");
    counts c = {0};
    lambda_durable_function fn = {.handler = order_handler, .userdata = &c, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    assert_null(run(&fn, event, &err));
    assert_string_equal(err.type, "Durable.InvalidCheckpointToken");
    assert_non_null(strstr(err.message, "Invalid checkpoint token"));
    free(event);
}

/* Throttling and 5xx are retried with backoff (time skipped through the
 * sleep hook); when they persist the invocation fails; any other refusal
 * fails the execution. */
static void test_checkpoint_retries_and_refusals(void **state)
{
    (void)state;
    counts c = {0};
    lambda_durable_function fn = {.handler = order_handler, .userdata = &c, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    fake_service_fail_next(svc, 2, 429, "TooManyRequestsException", "Rate exceeded");
    cJSON *answer = run(&fn, event, &err);
    assert_non_null(answer);
    assert_string_equal(str(answer, "Status"), "PENDING");
    assert_int_equal(slept.count, 2);
    assert_int_equal(fake_service_checkpoints(svc), 5);
    cJSON_Delete(answer);

    fake_service_set_token(svc, "tok-0");
    fake_service_fail_next(svc, 50, 503, "ServiceException", "down");
    assert_null(run(&fn, event, &err));
    assert_string_equal(err.type, "Durable.CheckpointUnavailable");
    assert_non_null(strstr(err.message, "gave up after 5 attempts"));

    fake_service_fail_next(svc, 0, 0, NULL, NULL);
    fake_service_set_token(svc, "tok-0");
    fake_service_fail_next(svc, 1, 400, "InvalidParameterValueException",
                           "Payload exceeds the maximum size");
    answer = run(&fn, event, &err);
    assert_non_null(answer);
    assert_string_equal(str(answer, "Status"), "FAILED");
    assert_string_equal(str(answer, "Error.ErrorType"), "Durable.CheckpointFailed");
    assert_non_null(strstr(str(answer, "Error.ErrorMessage"), "maximum size"));
    cJSON_Delete(answer);
    free(event);
}

static int big_handler(lambda_durable_context *ctx, const char *input, char **result,
                       lambda_error *err, void *userdata)
{
    (void)ctx;
    (void)input;
    (void)err;
    size_t n = *(size_t *)userdata;
    char *s = malloc(n + 3);
    s[0] = '"';
    memset(s + 1, 'x', n);
    s[n + 1] = '"';
    s[n + 2] = '\0';
    *result = s;
    return 0;
}

/* A result over ~6 MB is checkpointed with the EXECUTION operation
 * (SUCCEED) and answered with an empty Result; a smaller one inline. */
static void test_large_result(void **state)
{
    (void)state;
    size_t n = 7 * 1024 * 1024;
    lambda_durable_function fn = {.handler = big_handler, .userdata = &n, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_non_null(answer);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    assert_string_equal(str(answer, "Result"), "");
    assert_int_equal(fake_service_checkpoints(svc), 1);
    assert_string_equal(str(update(0, 0), "Type"), "EXECUTION");
    assert_string_equal(str(update(0, 0), "Action"), "SUCCEED");
    assert_string_equal(str(update(0, 0), "Id"), EXEC_ID);
    assert_int_equal(strlen(str(update(0, 0), "Payload")), n + 2);
    cJSON_Delete(answer);

    n = 1000;
    answer = run(&fn, event, &err);
    assert_int_equal(strlen(str(answer, "Result")), n + 2);
    assert_int_equal(fake_service_checkpoints(svc), 1);
    cJSON_Delete(answer);
    free(event);
}

static int failing_handler(lambda_durable_context *ctx, const char *input, char **result,
                           lambda_error *err, void *userdata)
{
    (void)ctx;
    (void)input;
    (void)result;
    (void)userdata;
    lambda_error_set(err, "OrderRejected", "items out of stock");
    return -1;
}

static int bad_json_handler(lambda_durable_context *ctx, const char *input, char **result,
                            lambda_error *err, void *userdata)
{
    (void)ctx;
    (void)input;
    (void)err;
    (void)userdata;
    *result = strdup("{not json");
    return 0;
}

/* The handler's own error fails the execution with it; a result that is
 * not JSON is refused with a clear error. */
static void test_handler_errors(void **state)
{
    (void)state;
    lambda_durable_function fn = {.handler = failing_handler, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "FAILED");
    assert_string_equal(str(answer, "Error.ErrorType"), "OrderRejected");
    assert_string_equal(str(answer, "Error.ErrorMessage"), "items out of stock");
    cJSON_Delete(answer);
    fn.handler = bad_json_handler;
    answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Error.ErrorType"), "Durable.SerializationError");
    cJSON_Delete(answer);
    free(event);
}

/* Envelopes that are not durable ones fail the invocation with a clear
 * Durable.InvalidEvent, before any call. */
static void test_bad_envelopes(void **state)
{
    (void)state;
    lambda_durable_function fn = {.handler = failing_handler, .config = &config};
    const char *bad[] = {
        "not json",
        "[]",
        "{\"hello\":\"world\"}",
        "{\"DurableExecutionArn\":\"a\",\"CheckpointToken\":\"t\"}",
        "{\"DurableExecutionArn\":\"a\",\"CheckpointToken\":\"t\",\"InitialExecutionState\":"
        "{\"Operations\":{}}}",
        "{\"DurableExecutionArn\":\"a\",\"CheckpointToken\":\"t\",\"InitialExecutionState\":"
        "{\"Operations\":[{\"Id\":\"1\",\"Type\":\"TELEPORT\",\"Status\":\"STARTED\"}]}}",
        "{\"DurableExecutionArn\":\"a\",\"CheckpointToken\":\"t\",\"InitialExecutionState\":"
        "{\"Operations\":[{\"Id\":\"1\",\"Type\":\"STEP\",\"Status\":\"SUCCEEDED\"}]}}",
        "{\"DurableExecutionArn\":\"a\",\"CheckpointToken\":\"t\",\"InitialExecutionState\":"
        "{\"Operations\":[{\"Id\":\"e\",\"Type\":\"EXECUTION\",\"Status\":\"STARTED\","
        "\"ExecutionDetails\":{\"InputPayload\":7}}]}}",
        "{\"DurableExecutionArn\":\"a\\u0000b\",\"CheckpointToken\":\"t\","
        "\"InitialExecutionState\":{\"Operations\":[]}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lambda_error err;
        assert_null(run(&fn, bad[i], &err));
        assert_string_equal(err.type, "Durable.InvalidEvent");
    }
    assert_int_equal(fake_service_checkpoints(svc), 0);
    assert_int_equal(fake_service_state_calls(svc), 0);
}

/* The endpoint from AWS_ENDPOINT_URL_LAMBDA when the config names none;
 * no credentials at all is a configuration error of the invocation. */
static void test_endpoint_from_environment(void **state)
{
    (void)state;
    counts c = {0};
    lambda_durable_config env_config = config;
    env_config.endpoint = NULL;
    setenv("AWS_ENDPOINT_URL_LAMBDA", fake_service_endpoint(svc), 1);
    lambda_durable_function fn = {.handler = order_handler, .userdata = &c, .config = &env_config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_non_null(answer);
    assert_string_equal(str(answer, "Status"), "PENDING");
    assert_int_equal(fake_service_checkpoints(svc), 5);
    cJSON_Delete(answer);
    unsetenv("AWS_ENDPOINT_URL_LAMBDA");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_null(run(&fn, event, &err));
    assert_string_equal(err.type, "InvalidConfiguration");
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    free(event);
}

/* ---- level 2: child contexts, map, parallel, callbacks, conditions -------- */

static int step_double(const lambda_durable_step_info *info, void *arg, char **result,
                       lambda_error *err)
{
    (void)info;
    int n = *(int *)arg;
    if (n == 2)
        return lambda_error_set(err, "Odd", "item %d refused", n), -1;
    char buf[32];
    snprintf(buf, sizeof buf, "%d", n * 2);
    *result = strdup(buf);
    return 0;
}

static int calls_double;

static int map_item(lambda_durable_context *child, size_t index, const char *item, void *arg,
                    char **result, lambda_error *err)
{
    (void)index;
    (void)arg;
    calls_double++;
    int n = atoi(item);
    static const lambda_durable_retry_policy once_only = {.max_attempts = 1};
    const lambda_durable_step_config cfg = {.retry = &once_only};
    return lambda_durable_step(child, "double", step_double, &n, &cfg, result, err);
}

static int group_body(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    int *n = arg;
    char *a = NULL;
    if (lambda_durable_step(child, "a", step_double, n, NULL, &a, err) != 0)
        return -1;
    *result = a;
    return 0;
}

static int child_handler(lambda_durable_context *ctx, const char *input, char **result,
                         lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    int n = 21;
    return lambda_durable_run_in_child_context(ctx, "group", group_body, &n, result, err);
}

/* A child context: START, its operations under ParentId with ids "1-1"...,
 * SUCCEED with the result; replayed whole from its record. */
static void test_child_context(void **state)
{
    (void)state;
    lambda_durable_function fn = {.handler = child_handler, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    assert_string_equal(str(answer, "Result"), "42");
    /* [CONTEXT START 1, STEP START 1-1], [SUCCEED 1-1], [SUCCEED 1] */
    assert_int_equal(fake_service_checkpoints(svc), 3);
    assert_string_equal(str(update(0, 0), "Type"), "CONTEXT");
    assert_string_equal(str(update(0, 0), "SubType"), "RunInChildContext");
    assert_string_equal(str(update(0, 0), "Name"), "group");
    assert_string_equal(str(update(0, 1), "Id"), "1-1");
    assert_string_equal(str(update(0, 1), "ParentId"), "1");
    assert_string_equal(str(update(2, 0), "Action"), "SUCCEED");
    assert_string_equal(str(update(2, 0), "Payload"), "42");
    cJSON_Delete(answer);
    free(event);

    event = envelope_with("{\"Id\":\"1\",\"Name\":\"group\",\"Type\":\"CONTEXT\",\"SubType\":"
                          "\"RunInChildContext\",\"Status\":\"SUCCEEDED\",\"ContextDetails\":"
                          "{\"Result\":\"7\"}}");
    fake_service_set_token(svc, "tok-0");
    answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Result"), "7");
    assert_int_equal(fake_service_checkpoints(svc), 3);
    cJSON_Delete(answer);
    free(event);
}

static int map_handler(lambda_durable_context *ctx, const char *input, char **result,
                       lambda_error *err, void *userdata)
{
    (void)input;
    return lambda_durable_map(ctx, "doubles", "[1,2,3]", map_item, NULL, userdata, result, err);
}

/* Map: a child context per item inside the map's; an item's failure is in
 * the batch result; a tolerance stops starting items; replay from the
 * record runs nothing. */
static void test_map(void **state)
{
    (void)state;
    calls_double = 0;
    lambda_durable_function fn = {.handler = map_handler, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    cJSON *batch = cJSON_Parse(str(answer, "Result"));
    assert_int_equal(cJSON_GetObjectItem(batch, "successCount")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(batch, "failureCount")->valueint, 1);
    assert_string_equal(str(batch, "completionReason"), "ALL_COMPLETED");
    const cJSON *all = cJSON_GetObjectItem(batch, "all");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 2), "result")->valueint, 6);
    assert_string_equal(str(cJSON_GetArrayItem(all, 1), "error.ErrorType"), "Odd");
    assert_int_equal(calls_double, 3);
    cJSON_Delete(batch);
    /* Ids by position: the map 1, items 1-1..1-3, their steps 1-k-1. */
    assert_string_equal(str(update(0, 0), "SubType"), "Map");
    assert_string_equal(str(update(0, 1), "Id"), "1-1");
    assert_string_equal(str(update(0, 1), "SubType"), "MapIteration");
    assert_string_equal(str(update(0, 2), "Id"), "1-1-1");
    assert_string_equal(str(update(0, 2), "ParentId"), "1-1");
    cJSON_Delete(answer);

    /* No failure tolerated: the third item never starts. */
    lambda_durable_batch_config strict = {.tolerate_failures = 1, .tolerated_failures = 0};
    fn.handler = map_handler;
    lambda_durable_function strict_fn = {
        .handler = map_handler, .userdata = &strict, .config = &config};
    fake_service_set_token(svc, "tok-0");
    calls_double = 0;
    answer = run(&strict_fn, event, &err);
    batch = cJSON_Parse(str(answer, "Result"));
    assert_string_equal(str(batch, "completionReason"), "FAILURE_TOLERANCE_EXCEEDED");
    assert_string_equal(str(batch, "status"), "FAILED");
    /* Only the items that ran are in the result. */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(batch, "all")), 2);
    assert_int_equal(cJSON_GetObjectItem(batch, "totalCount")->valueint, 2);
    assert_int_equal(calls_double, 2);
    cJSON_Delete(batch);
    cJSON_Delete(answer);
    free(event);

    /* Replay: the map's record answers, no item runs. */
    calls_double = 0;
    event = envelope_with("{\"Id\":\"1\",\"Name\":\"doubles\",\"Type\":\"CONTEXT\",\"SubType\":"
                          "\"Map\",\"Status\":\"SUCCEEDED\",\"ContextDetails\":{\"Result\":"
                          "\"{\\\"totalCount\\\":3}\"}}");
    fake_service_set_token(svc, "tok-0");
    answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Result"), "{\"totalCount\":3}");
    assert_int_equal(calls_double, 0);
    cJSON_Delete(answer);
    free(event);
}

static int branch(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    return lambda_durable_step(child, "work", step_double, arg, NULL, result, err);
}

static int parallel_handler(lambda_durable_context *ctx, const char *input, char **result,
                            lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    int a = 5, b = 7;
    const lambda_durable_branch branches[] = {{"left", branch, &a}, {"right", branch, &b}};
    return lambda_durable_parallel(ctx, "both", branches, 2, NULL, result, err);
}

static void test_parallel(void **state)
{
    (void)state;
    lambda_durable_function fn = {.handler = parallel_handler, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    cJSON *batch = cJSON_Parse(str(answer, "Result"));
    const cJSON *all = cJSON_GetObjectItem(batch, "all");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 0), "result")->valueint, 10);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(all, 1), "result")->valueint, 14);
    assert_int_equal(cJSON_GetObjectItem(batch, "totalCount")->valueint, 2);
    assert_string_equal(str(update(0, 0), "SubType"), "Parallel");
    assert_string_equal(str(update(0, 1), "Name"), "left");
    assert_string_equal(str(update(0, 1), "SubType"), "ParallelBranch");
    cJSON_Delete(batch);
    cJSON_Delete(answer);
    free(event);
}

static char submitted[128];

static int submit(const lambda_durable_step_info *info, const char *callback_id, void *arg,
                  lambda_error *err)
{
    (void)info;
    (void)arg;
    (void)err;
    snprintf(submitted, sizeof submitted, "%s", callback_id);
    return 0;
}

static int callback_handler(lambda_durable_context *ctx, const char *input, char **result,
                            lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    lambda_durable_callback_config cfg = {.timeout_s = 3600, .heartbeat_timeout_s = 600};
    char *id = NULL;
    if (lambda_durable_callback_create(ctx, "approval", &cfg, &id, err) != 0)
        return -1;
    int rc = lambda_durable_callback_result(ctx, id, result, err);
    free(id);
    return rc;
}

/* Callbacks: created with the service's CallbackId and the timeouts, the
 * execution suspends until the answer, which replay then returns; a
 * timed-out callback is an error. wait_for_callback submits the id in a
 * step inside its child context. */
static void test_callbacks(void **state)
{
    (void)state;
    lambda_durable_function fn = {.handler = callback_handler, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "PENDING");
    assert_string_equal(str(update(0, 0), "Type"), "CALLBACK");
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(update(0, 0), "CallbackOptions"), "TimeoutSeconds")
            ->valueint,
        3600);
    cJSON_Delete(answer);
    free(event);

    event = envelope_with("{\"Id\":\"1\",\"Name\":\"approval\",\"Type\":\"CALLBACK\",\"Status\":"
                          "\"SUCCEEDED\",\"CallbackDetails\":{\"CallbackId\":\"cb-xyz\","
                          "\"Result\":\"{\\\"approved\\\":true}\"}}");
    fake_service_set_token(svc, "tok-0");
    answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    assert_string_equal(str(answer, "Result"), "{\"approved\":true}");
    cJSON_Delete(answer);
    free(event);

    event = envelope_with("{\"Id\":\"1\",\"Name\":\"approval\",\"Type\":\"CALLBACK\",\"Status\":"
                          "\"TIMED_OUT\",\"CallbackDetails\":{\"CallbackId\":\"cb-xyz\"}}");
    answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "FAILED");
    assert_string_equal(str(answer, "Error.ErrorType"), "Durable.CallbackTimedOut");
    cJSON_Delete(answer);
    free(event);
}

static int wait_callback_handler(lambda_durable_context *ctx, const char *input, char **result,
                                 lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    return lambda_durable_wait_for_callback(ctx, "approve", submit, NULL, NULL, result, err);
}

static void test_wait_for_callback(void **state)
{
    (void)state;
    lambda_durable_function fn = {.handler = wait_callback_handler, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    submitted[0] = '\0';
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "PENDING");
    assert_string_equal(submitted, "cb-1-1"); /* the fake's id for operation 1-1 */
    assert_string_equal(str(update(0, 0), "SubType"), "WaitForCallback");
    assert_string_equal(str(update(0, 1), "Type"), "CALLBACK");
    assert_string_equal(str(update(0, 1), "ParentId"), "1");
    cJSON_Delete(answer);
    free(event);

    /* The answer came (a raw text): the context's result is it, as JSON. */
    submitted[0] = '\0';
    event = envelope_with(
        "{\"Id\":\"1\",\"Name\":\"approve\",\"Type\":\"CONTEXT\",\"Status\":\"STARTED\"},"
        "{\"Id\":\"1-1\",\"ParentId\":\"1\",\"Type\":\"CALLBACK\",\"Status\":\"SUCCEEDED\","
        "\"CallbackDetails\":{\"CallbackId\":\"cb-1-1\",\"Result\":\"yes\"}},"
        "{\"Id\":\"1-2\",\"ParentId\":\"1\",\"Name\":\"submitter\",\"Type\":\"STEP\",\"Status\":"
        "\"SUCCEEDED\",\"StepDetails\":{\"Result\":\"null\"}}");
    fake_service_set_token(svc, "tok-0");
    answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    assert_string_equal(str(answer, "Result"), "\"yes\"");
    assert_string_equal(submitted, ""); /* not submitted twice */
    cJSON_Delete(answer);
    free(event);
}

static int check_count(const lambda_durable_step_info *info, const char *st, void *arg, char **next,
                       lambda_error *err)
{
    (void)info;
    (void)arg;
    (void)err;
    cJSON *j = cJSON_Parse(st);
    int n = cJSON_GetObjectItem(j, "n")->valueint;
    cJSON_Delete(j);
    char buf[32];
    snprintf(buf, sizeof buf, "{\"n\":%d}", n + 1);
    *next = strdup(buf);
    return 0;
}

static long until_three(const char *st, int attempt, void *arg)
{
    (void)attempt;
    (void)arg;
    cJSON *j = cJSON_Parse(st);
    int n = cJSON_GetObjectItem(j, "n")->valueint;
    cJSON_Delete(j);
    return n >= 3 ? 0 : 5L * n;
}

static int condition_handler(lambda_durable_context *ctx, const char *input, char **result,
                             lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    return lambda_durable_wait_for_condition(ctx, "poll", check_count, "{\"n\":0}", until_three,
                                             NULL, result, err);
}

/* wait_for_condition: each check's state rides on RETRY's payload with the
 * strategy's delay; the check after the last READY sees it; SUCCEED ends
 * it with the final state. */
static void test_wait_for_condition(void **state)
{
    (void)state;
    lambda_durable_function fn = {.handler = condition_handler, .config = &config};
    char *event = read_envelope("first.json");
    lambda_error err;
    cJSON *answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "PENDING");
    assert_string_equal(str(update(0, 0), "SubType"), "WaitForCondition");
    assert_string_equal(str(update(1, 0), "Action"), "RETRY");
    assert_string_equal(str(update(1, 0), "Payload"), "{\"n\":1}");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(update(1, 0), "StepOptions"),
                                         "NextAttemptDelaySeconds")
                         ->valueint,
                     5);
    cJSON_Delete(answer);
    free(event);

    event = envelope_with("{\"Id\":\"1\",\"Name\":\"poll\",\"Type\":\"STEP\",\"SubType\":"
                          "\"WaitForCondition\",\"Status\":\"READY\",\"StepDetails\":{\"Attempt\":"
                          "2,\"Result\":\"{\\\"n\\\":2}\"}}");
    fake_service_set_token(svc, "tok-0");
    answer = run(&fn, event, &err);
    assert_string_equal(str(answer, "Status"), "SUCCEEDED");
    assert_string_equal(str(answer, "Result"), "{\"n\":3}");
    int last = fake_service_checkpoints(svc) - 1;
    assert_string_equal(str(update(last, 0), "Action"), "SUCCEED");
    cJSON_Delete(answer);
    free(event);
}

/* ---- replay-aware logging ------------------------------------------------- */

static int log_step(const lambda_durable_step_info *info, void *arg, char **result,
                    lambda_error *err)
{
    (void)arg;
    (void)err;
    lambda_durable_step_log(info, LAMBDA_LOG_INFO, "step %s runs", info->name);
    *result = strdup("1");
    return 0;
}

static int log_child(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    (void)arg;
    lambda_durable_log(child, LAMBDA_LOG_INFO, "inside the child");
    return lambda_durable_step(child, "c", log_step, NULL, NULL, result, err);
}

static int log_handler(lambda_durable_context *ctx, const char *input, char **result,
                       lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    lambda_durable_log(ctx, LAMBDA_LOG_INFO, "handler starts");
    if (lambda_durable_step(ctx, "a", log_step, NULL, NULL, NULL, err) != 0)
        return -1;
    lambda_durable_log(ctx, LAMBDA_LOG_INFO, "after a");
    if (lambda_durable_run_in_child_context(ctx, "child", log_child, NULL, NULL, err) != 0)
        return -1;
    lambda_durable_log(ctx, LAMBDA_LOG_INFO, "after child");
    if (lambda_durable_wait(ctx, "w", 5, err) != 0)
        return -1;
    lambda_durable_log(ctx, LAMBDA_LOG_DEBUG, "below the level");
    lambda_durable_log(ctx, LAMBDA_LOG_WARN, "after w");
    *result = strdup("\"done\"");
    return 0;
}

/* Runs `event` with stderr captured into a malloc'd string. */
static char *run_logged(const lambda_durable_function *fn, const char *event, const char *status)
{
    fflush(stderr);
    FILE *capture = tmpfile();
    assert_non_null(capture);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
    lambda_error err;
    cJSON *answer = run(fn, event, &err);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_non_null(answer);
    assert_string_equal(str(answer, "Status"), status);
    cJSON_Delete(answer);
    static char buf[8192];
    rewind(capture);
    size_t n = fread(buf, 1, sizeof buf - 1, capture);
    buf[n] = '\0';
    fclose(capture);
    return strdup(buf);
}

static int count_lines_with(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* New work is logged, tagged with the execution (and the child context's
 * or step's operation id); what a replay runs again is silent until the
 * handler has passed the last operation completed before, including those
 * inside a child context returned whole from its record. */
static void test_replay_aware_logging(void **state)
{
    (void)state;
    setenv("AWS_LAMBDA_LOG_LEVEL", "INFO", 1);
    lambda_durable_function fn = {.handler = log_handler, .config = &config};
    char *event = envelope_with("");
    char *logs = run_logged(&fn, event, "PENDING");
    free(event);
    static const char *const first[] = {
        "[executionArn=" ARN "] handler starts",
        "[executionArn=" ARN " operationId=1 attempt=1] step a runs",
        "[executionArn=" ARN "] after a",
        "[executionArn=" ARN " operationId=2] inside the child",
        "[executionArn=" ARN " operationId=2-1 attempt=1] step c runs",
        "[executionArn=" ARN "] after child",
    };
    const char *at = logs;
    for (size_t i = 0; i < sizeof first / sizeof *first; i++) {
        const char *hit = strstr(at, first[i]);
        if (!hit)
            fail_msg("missing (in order) '%s' in:\n%s", first[i], logs);
        at = hit + strlen(first[i]);
    }
    assert_int_equal(count_lines_with(logs, "executionArn="), 6);
    assert_int_equal(count_lines_with(logs, "\tINFO\t"), 6);
    free(logs);

    /* The next invocation: everything before the wait completed. */
    event = envelope_with(
        "{\"Id\":\"1\",\"Name\":\"a\",\"Type\":\"STEP\",\"SubType\":\"Step\",\"Status\":"
        "\"SUCCEEDED\",\"StepDetails\":{\"Attempt\":0,\"Result\":\"1\"}},"
        "{\"Id\":\"2\",\"Name\":\"child\",\"Type\":\"CONTEXT\",\"SubType\":\"RunInChildContext\","
        "\"Status\":\"SUCCEEDED\",\"ContextDetails\":{\"Result\":\"1\"}},"
        "{\"Id\":\"2-1\",\"ParentId\":\"2\",\"Name\":\"c\",\"Type\":\"STEP\",\"SubType\":\"Step\","
        "\"Status\":\"SUCCEEDED\",\"StepDetails\":{\"Attempt\":0,\"Result\":\"1\"}},"
        "{\"Id\":\"3\",\"Name\":\"w\",\"Type\":\"WAIT\",\"SubType\":\"Wait\",\"Status\":"
        "\"SUCCEEDED\"}");
    fake_service_set_token(svc, "tok-0");
    logs = run_logged(&fn, event, "SUCCEEDED");
    free(event);
    assert_int_equal(count_lines_with(logs, "executionArn="), 1);
    if (!strstr(logs, "\tWARN\t[executionArn=" ARN "] after w"))
        fail_msg("the line after the replay is missing:\n%s", logs);
    free(logs);

    /* Interrupted after the child context, before the wait: the line after
     * the child is new work again (at-least-once, as the code after it). */
    event = envelope_with(
        "{\"Id\":\"1\",\"Name\":\"a\",\"Type\":\"STEP\",\"SubType\":\"Step\",\"Status\":"
        "\"SUCCEEDED\",\"StepDetails\":{\"Attempt\":0,\"Result\":\"1\"}},"
        "{\"Id\":\"2\",\"Name\":\"child\",\"Type\":\"CONTEXT\",\"SubType\":\"RunInChildContext\","
        "\"Status\":\"SUCCEEDED\",\"ContextDetails\":{\"Result\":\"1\"}},"
        "{\"Id\":\"2-1\",\"ParentId\":\"2\",\"Name\":\"c\",\"Type\":\"STEP\",\"SubType\":\"Step\","
        "\"Status\":\"SUCCEEDED\",\"StepDetails\":{\"Attempt\":0,\"Result\":\"1\"}}");
    fake_service_set_token(svc, "tok-0");
    logs = run_logged(&fn, event, "PENDING");
    free(event);
    assert_int_equal(count_lines_with(logs, "executionArn="), 1);
    assert_non_null(strstr(logs, "[executionArn=" ARN "] after child"));
    free(logs);
    unsetenv("AWS_LAMBDA_LOG_LEVEL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_invocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_determinism_violation, setup, teardown),
        cmocka_unit_test(test_retry_policy_delays),
        cmocka_unit_test_setup_teardown(test_step_retries_until_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_success_and_failed_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_retryable_error_and_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_most_once_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_retries_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_envelopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_from_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_for_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_for_condition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_aware_logging, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

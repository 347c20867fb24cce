/*
 * AWS's durable-execution conformance cases as C handlers: one handler per
 * case, named after the case's requirement id ("step_1_11"), all in one
 * bootstrap. What each handler does is the case's `handler` text in
 * aws/aws-durable-execution-conformance-tests
 * (packages/aws-durable-execution-conformance-tests/test-requirements/);
 * the expected results and histories are in expected.json, and run.py runs
 * every case under lambda-local's durable service and compares. The
 * parallel and map cases that are only a batch and a way to read its
 * result are data (batch_case), run by one handler.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <lambda/durable.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECKS 1
#endif

/* ---- helpers --------------------------------------------------------------- */

/* The JSON text of string `s`, malloc'd. */
static char *json_string(const char *s)
{
    cJSON *j = cJSON_CreateString(s);
    char *out = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return out;
}

/* The value of a JSON string text ("\"abc\"" -> "abc"), or "" for another
 * value; into buf. */
static const char *string_of(const char *json, char *buf, size_t size)
{
    cJSON *j = cJSON_Parse(json);
    snprintf(buf, size, "%s", cJSON_IsString(j) ? j->valuestring : "");
    cJSON_Delete(j);
    return buf;
}

static int oom(lambda_error *err)
{
    lambda_error_set(err, "OutOfMemory", "out of memory");
    return -1;
}

/* A step returning a copy of the JSON text in `arg`. */
static int return_arg(const lambda_durable_step_info *info, void *arg, char **result,
                      lambda_error *err)
{
    (void)info;
    *result = strdup(arg ? (const char *)arg : "null");
    return *result ? 0 : oom(err);
}

/* A step that fails every time it runs. */
static int always_fail(const lambda_durable_step_info *info, void *arg, char **result,
                       lambda_error *err)
{
    (void)arg;
    (void)result;
    lambda_error_set(err, "StepError", "attempt %d failed", info->attempt);
    return -1;
}

static const lambda_durable_retry_policy no_retry = {.max_attempts = 1};

/* ---- 1.x steps ---------------------------------------------------------------- */

static int greet(const lambda_durable_step_info *info, void *arg, char **result, lambda_error *err)
{
    (void)info;
    char name[256], text[300];
    snprintf(text, sizeof text, "Hello, %s!", string_of(arg, name, sizeof name));
    *result = json_string(text);
    return *result ? 0 : oom(err);
}

/* 1.1: one step that greets the input. */
static int step_1_1(lambda_durable_context *ctx, const char *input, char **result,
                    lambda_error *err, void *userdata)
{
    (void)userdata;
    return lambda_durable_step(ctx, NULL, greet, (void *)input, NULL, result, err);
}

static int build_response(const lambda_durable_step_info *info, void *arg, char **result,
                          lambda_error *err)
{
    (void)info;
    cJSON *in = cJSON_Parse(arg), *out = cJSON_CreateObject(), *user = cJSON_CreateObject();
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(in, "tags");
    cJSON_AddItemToObject(user, "name",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(in, "name"), 1));
    cJSON_AddItemToObject(user, "tags", cJSON_Duplicate(tags, 1));
    cJSON_AddItemToObject(out, "user", user);
    cJSON_AddNumberToObject(out, "count", cJSON_GetArraySize(tags));
    *result = cJSON_PrintUnformatted(out);
    cJSON_Delete(in);
    cJSON_Delete(out);
    return *result ? 0 : oom(err);
}

/* 1.4: a step returning a nested object. */
static int step_1_4(lambda_durable_context *ctx, const char *input, char **result,
                    lambda_error *err, void *userdata)
{
    (void)userdata;
    return lambda_durable_step(ctx, NULL, build_response, (void *)input, NULL, result, err);
}

static int do_nothing(const lambda_durable_step_info *info, void *arg, char **result,
                      lambda_error *err)
{
    (void)info;
    (void)arg;
    (void)result;
    (void)err;
    return 0; /* *result NULL: the step's result is null */
}

/* 1.5: a step returning null. */
static int step_1_5(lambda_durable_context *ctx, const char *input, char **result,
                    lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    return lambda_durable_step(ctx, NULL, do_nothing, NULL, NULL, result, err);
}

static int greet_logged(const lambda_durable_step_info *info, void *arg, char **result,
                        lambda_error *err)
{
    char name[256];
    string_of(arg, name, sizeof name);
    lambda_durable_step_log(info, LAMBDA_LOG_INFO, "Greeting step started for: %s", name);
    int rc = greet(info, arg, result, err);
    lambda_durable_step_log(info, LAMBDA_LOG_INFO, "Greeting step completed with: Hello, %s!",
                            name);
    return rc;
}

/* 1.7: a step that logs through the step's logger. */
static int step_1_7(lambda_durable_context *ctx, const char *input, char **result,
                    lambda_error *err, void *userdata)
{
    (void)userdata;
    return lambda_durable_step(ctx, NULL, greet_logged, (void *)input, NULL, result, err);
}

/* 1.10: a step failing for good, caught, then a 1 s wait: on replay the
 * step's error comes back without the step running. */
static int step_1_10(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)input;
    (void)result;
    (void)userdata;
    static const lambda_durable_step_config once = {.retry = &no_retry};
    if (lambda_durable_step(ctx, NULL, always_fail, NULL, &once, NULL, err) == 0)
        return lambda_error_set(err, "Unexpected", "the step succeeded"), -1;
    if (lambda_durable_suspended(ctx))
        return -1;
    return lambda_durable_wait(ctx, NULL, 1, err);
}

static int fail_then_succeed(const lambda_durable_step_info *info, void *arg, char **result,
                             lambda_error *err)
{
    if (info->attempt < 2)
        return lambda_error_set(err, "UnreliableError", "attempt %d failed", info->attempt), -1;
    *result = json_string(arg);
    return *result ? 0 : oom(err);
}

/* 1.11: fails once, retried after 1 s, succeeds. */
static int step_1_11(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    static const lambda_durable_retry_policy retry = {
        .max_attempts = 3, .initial_delay_s = 1, .jitter = LAMBDA_DURABLE_JITTER_NONE};
    static const lambda_durable_step_config config = {.retry = &retry};
    return lambda_durable_step(ctx, NULL, fail_then_succeed, "Operation succeeded", &config, result,
                               err);
}

/* 1.12: always fails; 4 attempts 1 s apart, then the execution fails. */
static int step_1_12(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    static const lambda_durable_retry_policy retry = {.max_attempts = 4,
                                                      .initial_delay_s = 1,
                                                      .backoff_rate = 1.0,
                                                      .jitter = LAMBDA_DURABLE_JITTER_NONE};
    static const lambda_durable_step_config config = {.retry = &retry};
    return lambda_durable_step(ctx, NULL, always_fail, NULL, &config, result, err);
}

static int fail_twice(const lambda_durable_step_info *info, void *arg, char **result,
                      lambda_error *err)
{
    (void)arg;
    if (info->attempt < 3)
        return lambda_error_set(err, "UnreliableError", "attempt %d failed", info->attempt), -1;
    *result = strdup("\"succeeded\"");
    return *result ? 0 : oom(err);
}

/* 1.13: the default retry strategy (5 s, doubling, full jitter). */
static int step_1_13(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    return lambda_durable_step(ctx, NULL, fail_twice, NULL, NULL, result, err);
}

/* Logs the input, then the first attempt kills the process mid-step (a
 * Lambda crash: Runtime.ExitError); a later one succeeds. */
static int crash_first(const lambda_durable_step_info *info, void *arg, char **result,
                       lambda_error *err)
{
    char in[256];
    lambda_durable_step_log(info, LAMBDA_LOG_INFO, "input %s", string_of(arg, in, sizeof in));
    if (info->attempt < 2)
        _exit(1);
    *result = json_string("succeeded on second attempt");
    return *result ? 0 : oom(err);
}

/* 1.17: at most once, no retry: the crashed attempt is not run again, the
 * step fails. */
static int step_1_17(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)userdata;
    static const lambda_durable_step_config config = {.semantics = LAMBDA_DURABLE_AT_MOST_ONCE,
                                                      .retry = &no_retry};
    return lambda_durable_step(ctx, "at_most_once_flaky_step", crash_first, (void *)input, &config,
                               result, err);
}

/* 1.18: at most once with a retry: the crashed attempt counts as failed,
 * the second one succeeds. */
static int step_1_18(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)userdata;
    static const lambda_durable_retry_policy retry = {
        .max_attempts = 3, .initial_delay_s = 1, .jitter = LAMBDA_DURABLE_JITTER_NONE};
    static const lambda_durable_step_config config = {.semantics = LAMBDA_DURABLE_AT_MOST_ONCE,
                                                      .retry = &retry};
    return lambda_durable_step(ctx, NULL, crash_first, (void *)input, &config, result, err);
}

/* ---- 2.x waits -------------------------------------------------------------- */

/* 2.3: two waits of 2 s, one after the other. */
static int wait_2_3(lambda_durable_context *ctx, const char *input, char **result,
                    lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    if (lambda_durable_wait(ctx, "wait-1", 2, err) != 0 ||
        lambda_durable_wait(ctx, "wait-2", 2, err) != 0)
        return -1;
    *result = strdup("{\"completedWaits\":2}");
    return *result ? 0 : oom(err);
}

/* 2.4: a wait of one minute (60 s). */
static int wait_2_4(lambda_durable_context *ctx, const char *input, char **result,
                    lambda_error *err, void *userdata)
{
    (void)input;
    (void)result;
    (void)userdata;
    return lambda_durable_wait(ctx, NULL, 60, err);
}

/* ---- 3.x child contexts --------------------------------------------------- */

static int child_one_step(lambda_durable_context *child, void *arg, char **result,
                          lambda_error *err)
{
    return lambda_durable_step(child, NULL, return_arg, arg, NULL, result, err);
}

/* 3.1: a child context with one step returning the input. */
static int child_3_1(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)userdata;
    return lambda_durable_run_in_child_context(ctx, NULL, child_one_step, (void *)input, result,
                                               err);
}

static int child_two_steps(lambda_durable_context *child, void *arg, char **result,
                           lambda_error *err)
{
    char *first = NULL;
    if (lambda_durable_step(child, "first", return_arg, arg, NULL, &first, err) != 0)
        return -1;
    int rc = lambda_durable_step(child, "second", return_arg, first, NULL, result, err);
    free(first);
    return rc;
}

/* 3.3: a named child context with two steps, the second fed the first's
 * result. */
static int child_3_3(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)userdata;
    return lambda_durable_run_in_child_context(ctx, "two-steps", child_two_steps, (void *)input,
                                               result, err);
}

static int child_failing_step(lambda_durable_context *child, void *arg, char **result,
                              lambda_error *err)
{
    (void)arg;
    static const lambda_durable_step_config once = {.retry = &no_retry};
    return lambda_durable_step(child, NULL, always_fail, NULL, &once, result, err);
}

/* 3.5: the child's step fails, the parent catches the error and recovers
 * with a step returning the input. */
static int child_3_5(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)userdata;
    if (lambda_durable_run_in_child_context(ctx, NULL, child_failing_step, NULL, NULL, err) == 0)
        return lambda_error_set(err, "Unexpected", "the child succeeded"), -1;
    if (lambda_durable_suspended(ctx))
        return -1;
    return lambda_durable_step(ctx, "recover", return_arg, (void *)input, NULL, result, err);
}

static int child_outer(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    char *out = NULL;
    if (lambda_durable_step(child, NULL, return_arg, arg, NULL, &out, err) != 0)
        return -1;
    int rc = lambda_durable_run_in_child_context(child, "inner", child_one_step, out, result, err);
    free(out);
    return rc;
}

/* 3.6: a child context holding a step and another child context. */
static int child_3_6(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)userdata;
    return lambda_durable_run_in_child_context(ctx, "outer", child_outer, (void *)input, result,
                                               err);
}

static int child_retrying_step(lambda_durable_context *child, void *arg, char **result,
                               lambda_error *err)
{
    (void)arg;
    static const lambda_durable_retry_policy retry = {
        .max_attempts = 2, .initial_delay_s = 1, .jitter = LAMBDA_DURABLE_JITTER_NONE};
    static const lambda_durable_step_config config = {.retry = &retry};
    return lambda_durable_step(child, NULL, always_fail, NULL, &config, result, err);
}

/* 3.8: the child's step fails twice (2 attempts): the child fails, and the
 * execution. */
static int child_3_8(lambda_durable_context *ctx, const char *input, char **result,
                     lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    return lambda_durable_run_in_child_context(ctx, "retrying", child_retrying_step, NULL, result,
                                               err);
}

static int child_step_wait(lambda_durable_context *child, void *arg, char **result,
                           lambda_error *err)
{
    if (lambda_durable_step(child, NULL, return_arg, arg, NULL, result, err) != 0)
        return -1;
    return lambda_durable_wait(child, NULL, 1, err);
}

/* 3.10: a child context with a step and a 1 s wait. */
static int child_3_10(lambda_durable_context *ctx, const char *input, char **result,
                      lambda_error *err, void *userdata)
{
    (void)userdata;
    return lambda_durable_run_in_child_context(ctx, "step-and-wait", child_step_wait, (void *)input,
                                               result, err);
}

static int child_large(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    char *small = NULL;
    if (lambda_durable_step(child, NULL, return_arg, arg, NULL, &small, err) != 0)
        return -1;
    /* A result over the service's 256 KB payload limit: recorded as
     * ReplayChildren, rebuilt from the step's record on replay. */
    size_t n = 300 * 1024, len = strlen(small);
    *result = malloc(n + len + 4);
    if (!*result) {
        free(small);
        return oom(err);
    }
    (*result)[0] = '"';
    memset(*result + 1, 'x', n);
    memcpy(*result + 1 + n, small + 1, len - 1); /* the step's string, quotes closing */
    (*result)[n + len] = '\0';
    free(small);
    return 0;
}

/* 3.11: a child context whose result is over 256 KB, then a 1 s wait. */
static int child_3_11(lambda_durable_context *ctx, const char *input, char **result,
                      lambda_error *err, void *userdata)
{
    (void)userdata;
    char *large = NULL;
    if (lambda_durable_run_in_child_context(ctx, "large", child_large, (void *)input, &large,
                                            err) != 0)
        return -1;
    size_t n = strlen(large);
    free(large);
    if (lambda_durable_wait(ctx, NULL, 1, err) != 0)
        return -1;
    char buf[64];
    snprintf(buf, sizeof buf, "{\"length\":%zu}", n);
    *result = strdup(buf);
    return *result ? 0 : oom(err);
}

static int child_wait(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    if (lambda_durable_wait(child, NULL, 1, err) != 0)
        return -1;
    *result = strdup(arg);
    return *result ? 0 : oom(err);
}

/* 3.13: a child context holding only a wait, then a step outside it. */
static int child_3_13(lambda_durable_context *ctx, const char *input, char **result,
                      lambda_error *err, void *userdata)
{
    (void)userdata;
    char *out = NULL;
    if (lambda_durable_run_in_child_context(ctx, "waits", child_wait, (void *)input, &out, err) !=
        0)
        return -1;
    int rc = lambda_durable_step(ctx, NULL, return_arg, out, NULL, result, err);
    free(out);
    return rc;
}

/* ---- 4.x callbacks -------------------------------------------------------- */

/* Creates a callback named after the input (with `config`) and returns
 * its answer. */
static int callback_named(lambda_durable_context *ctx, const char *input,
                          const lambda_durable_callback_config *config, char **result,
                          lambda_error *err)
{
    char name[256], *id = NULL;
    string_of(input, name, sizeof name);
    if (lambda_durable_callback_create(ctx, name, config, &id, err) != 0)
        return -1;
    int rc = lambda_durable_callback_result(ctx, id, result, err);
    free(id);
    return rc;
}

/* 4.1: a callback answered with success. */
static int callback_4_1(lambda_durable_context *ctx, const char *input, char **result,
                        lambda_error *err, void *userdata)
{
    (void)userdata;
    return callback_named(ctx, input, NULL, result, err);
}

/* 4.5: a callback with a 10 s heartbeat timeout, kept alive by a heartbeat. */
static int callback_4_5(lambda_durable_context *ctx, const char *input, char **result,
                        lambda_error *err, void *userdata)
{
    (void)userdata;
    static const lambda_durable_callback_config config = {.heartbeat_timeout_s = 10};
    return callback_named(ctx, input, &config, result, err);
}

/* 4.6: a callback answered with a failure, not caught. */
static int callback_4_6(lambda_durable_context *ctx, const char *input, char **result,
                        lambda_error *err, void *userdata)
{
    (void)userdata;
    return callback_named(ctx, input, NULL, result, err);
}

/* 4.7: a callback, then a step, then the callback's answer: a failure,
 * not caught. */
static int callback_4_7(lambda_durable_context *ctx, const char *input, char **result,
                        lambda_error *err, void *userdata)
{
    (void)userdata;
    char name[256], *id = NULL;
    string_of(input, name, sizeof name);
    if (lambda_durable_callback_create(ctx, name, NULL, &id, err) != 0)
        return -1;
    int rc = lambda_durable_step(ctx, NULL, return_arg, "\"stepped\"", NULL, NULL, err);
    if (rc == 0)
        rc = lambda_durable_callback_result(ctx, id, result, err);
    free(id);
    return rc;
}

/* ---- 8.x parallel, 9.x map: branches, items, batch-result views ------- */

/* The results of a batch result's succeeded items, in index order, as a
 * JSON array (malloc'd). */
static char *succeeded_results(const char *batch)
{
    cJSON *b = cJSON_Parse(batch), *out = cJSON_CreateArray(), *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(b, "all"))
    {
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(item, "status");
        if (cJSON_IsString(status) && strcmp(status->valuestring, "SUCCEEDED") == 0)
            cJSON_AddItemToArray(
                out, cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(item, "result"), 1));
    }
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(b);
    cJSON_Delete(out);
    return text;
}

static int branch_task(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    return lambda_durable_step(child, NULL, return_arg, arg, NULL, result, err);
}

static int branch_value(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    (void)child;
    *result = strdup(arg);
    return *result ? 0 : oom(err);
}

/* The batch result's fields `keys` (NULL-terminated), as a JSON object. */
static char *projection(const char *batch, const char *const *keys)
{
    cJSON *b = cJSON_Parse(batch), *out = cJSON_CreateObject();
    for (; *keys; keys++)
        cJSON_AddItemToObject(out, *keys,
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(b, *keys), 1));
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(b);
    cJSON_Delete(out);
    return text;
}

static int fail_item_1(lambda_durable_context *child, size_t index, const char *item, void *arg,
                       char **result, lambda_error *err)
{
    (void)child;
    (void)item;
    (void)arg;
    if (index == 1)
        return lambda_error_set(err, "ItemError", "item %zu failed", index), -1;
    *result = strdup("\"done\"");
    return *result ? 0 : oom(err);
}

static int doubled(lambda_durable_context *child, size_t index, const char *item, void *arg,
                   char **result, lambda_error *err)
{
    (void)child;
    (void)index;
    (void)arg;
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", 2 * strtod(item, NULL));
    *result = strdup(buf);
    return *result ? 0 : oom(err);
}

static int plus_index(lambda_durable_context *child, size_t index, const char *item, void *arg,
                      char **result, lambda_error *err)
{
    (void)child;
    (void)arg;
    char buf[64];
    snprintf(buf, sizeof buf, "%.15g", strtod(item, NULL) + (double)index);
    *result = strdup(buf);
    return *result ? 0 : oom(err);
}

static int always_fail_item(lambda_durable_context *child, size_t index, const char *item,
                            void *arg, char **result, lambda_error *err)
{
    (void)child;
    (void)item;
    (void)arg;
    (void)result;
    return lambda_error_set(err, "ItemError", "item %zu failed", index), -1;
}

static int failing_branch(lambda_durable_context *child, void *arg, char **result,
                          lambda_error *err)
{
    (void)child;
    (void)arg;
    (void)result;
    return lambda_error_set(err, "BranchError", "the branch failed"), -1;
}

static const lambda_durable_batch_config tolerate_one = {.tolerate_failures = 1,
                                                         .tolerated_failures = 1};
static const char *const exceeded_keys[] = {"completionReason", "successCount", "failureCount",
                                            "totalCount", NULL};

static const lambda_durable_batch_config tolerate_quarter = {.tolerated_failure_ratio = 0.25};

static int branch_wait(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    if (lambda_durable_wait(child, NULL, 2, err) != 0)
        return -1;
    *result = strdup(arg);
    return *result ? 0 : oom(err);
}

/* ---- 11.1 determinism ----------------------------------------------------- */

static int determinism_body(const lambda_durable_step_info *info, void *arg, char **result,
                            lambda_error *err)
{
    (void)arg;
    lambda_durable_step_log(info, LAMBDA_LOG_INFO, "DETERMINISM_STEP_BODY_EXECUTED");
    *result = strdup("1");
    return *result ? 0 : oom(err);
}

/* 11.1: a WAIT at position 1 first, a STEP of the same name there on
 * replay: the SDK must refuse it before running the step. */
static int determinism_11_1(lambda_durable_context *ctx, const char *input, char **result,
                            lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    if (!lambda_durable_replaying(ctx))
        return lambda_durable_wait(ctx, "identity-slot", 1, err);
    return lambda_durable_step(ctx, "identity-slot", determinism_body, NULL, NULL, result, err);
}

/* ---- 3.15-3.18, 4.12-4.18 (ported second) -------------------------------- */

static int child_throws(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    (void)child;
    (void)arg;
    (void)result;
    lambda_error_set(err, "ChildError", "thrown in the child's body");
    return -1;
}

/* 3.15: a child context whose body fails without any durable operation. */
static int child_3_15(lambda_durable_context *ctx, const char *input, char **result,
                      lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    return lambda_durable_run_in_child_context(ctx, "throws", child_throws, NULL, result, err);
}

static int child_logs(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    /* The suite turns replay logging on so that a second run of this body
     * would show as a second line; lambda_durable_log has no such setting,
     * so a run during replay is made visible as a failure instead. */
    if (lambda_durable_replaying(child))
        return lambda_error_set(err, "ReExecuted", "the child's body ran during replay"), -1;
    char in[256];
    lambda_durable_log(child, LAMBDA_LOG_INFO, "child input: %s", string_of(arg, in, sizeof in));
    *result = strdup(arg);
    return *result ? 0 : oom(err);
}

/* 3.17: a child context that only logs and returns the input, then a wait
 * (whose end replays the handler: the child comes from its record). */
static int child_3_17(lambda_durable_context *ctx, const char *input, char **result,
                      lambda_error *err, void *userdata)
{
    (void)userdata;
    if (lambda_durable_run_in_child_context(ctx, "logs", child_logs, (void *)input, result, err) !=
        0)
        return -1;
    if (lambda_durable_wait(ctx, NULL, 1, err) != 0) {
        free(*result);
        *result = NULL;
        return -1;
    }
    return 0;
}

/* 3.18: a child context with a step and a wait (returning the step's
 * result, the input), then a step and a wait outside it. */
static int child_3_18(lambda_durable_context *ctx, const char *input, char **result,
                      lambda_error *err, void *userdata)
{
    (void)userdata;
    char *out = NULL;
    if (lambda_durable_run_in_child_context(ctx, "step-and-wait", child_step_wait, (void *)input,
                                            &out, err) != 0)
        return -1;
    int rc = lambda_durable_step(ctx, NULL, return_arg, out, NULL, result, err);
    free(out);
    if (rc == 0 && lambda_durable_wait(ctx, NULL, 1, err) != 0) {
        free(*result);
        *result = NULL;
        rc = -1;
    }
    return rc;
}

/* 4.12: a callback answered with success, then a 2 s wait, then the
 * callback's result. */
static int callback_4_12(lambda_durable_context *ctx, const char *input, char **result,
                         lambda_error *err, void *userdata)
{
    (void)userdata;
    if (callback_named(ctx, input, NULL, result, err) != 0)
        return -1;
    if (lambda_durable_wait(ctx, NULL, 2, err) != 0) {
        free(*result);
        *result = NULL;
        return -1;
    }
    return 0;
}

/* 4.13: a callback answered with a failure, caught: its message kept, a
 * 2 s wait, then the message. */
static int callback_4_13(lambda_durable_context *ctx, const char *input, char **result,
                         lambda_error *err, void *userdata)
{
    (void)userdata;
    char *answer = NULL, *message = NULL;
    if (callback_named(ctx, input, NULL, &answer, err) == 0) {
        free(answer);
        return lambda_error_set(err, "Unexpected", "the callback succeeded"), -1;
    }
    if (lambda_durable_suspended(ctx))
        return -1;
    message = json_string(err->message);
    if (!message)
        return oom(err);
    if (lambda_durable_wait(ctx, NULL, 2, err) != 0) {
        free(message);
        return -1;
    }
    *result = message;
    return 0;
}

/* The input's two strings (["A", "B"]) into a and b. */
static int two_names(const char *input, char *a, char *b, size_t size, lambda_error *err)
{
    cJSON *j = cJSON_Parse(input);
    cJSON *first = cJSON_GetArrayItem(j, 0), *second = cJSON_GetArrayItem(j, 1);
    int ok = cJSON_IsString(first) && cJSON_IsString(second);
    if (ok) {
        snprintf(a, size, "%s", first->valuestring);
        snprintf(b, size, "%s", second->valuestring);
    }
    cJSON_Delete(j);
    if (!ok)
        lambda_error_set(err, "InvalidInput", "expected two callback names, got %s", input);
    return ok ? 0 : -1;
}

/* [a, b] from two JSON texts, malloc'd. */
static char *pair(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 4;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "[%s,%s]", a, b);
    return out;
}

/* 4.17: callback A created and awaited, then callback B; both results. */
static int callback_4_17(lambda_durable_context *ctx, const char *input, char **result,
                         lambda_error *err, void *userdata)
{
    (void)userdata;
    char a[256], b[256], *id = NULL, *ra = NULL, *rb = NULL;
    if (two_names(input, a, b, sizeof a, err) != 0)
        return -1;
    int rc = lambda_durable_callback_create(ctx, a, NULL, &id, err);
    if (rc == 0)
        rc = lambda_durable_callback_result(ctx, id, &ra, err);
    free(id);
    id = NULL;
    if (rc == 0)
        rc = lambda_durable_callback_create(ctx, b, NULL, &id, err);
    if (rc == 0)
        rc = lambda_durable_callback_result(ctx, id, &rb, err);
    if (rc == 0 && !(*result = pair(ra, rb)))
        rc = oom(err);
    free(id);
    free(ra);
    free(rb);
    return rc;
}

/* 4.18: callbacks A and B created, then A awaited, then B; both results. */
static int callback_4_18(lambda_durable_context *ctx, const char *input, char **result,
                         lambda_error *err, void *userdata)
{
    (void)userdata;
    char a[256], b[256], *ida = NULL, *idb = NULL, *ra = NULL, *rb = NULL;
    if (two_names(input, a, b, sizeof a, err) != 0)
        return -1;
    int rc = lambda_durable_callback_create(ctx, a, NULL, &ida, err);
    if (rc == 0)
        rc = lambda_durable_callback_create(ctx, b, NULL, &idb, err);
    if (rc == 0)
        rc = lambda_durable_callback_result(ctx, ida, &ra, err);
    if (rc == 0)
        rc = lambda_durable_callback_result(ctx, idb, &rb, err);
    if (rc == 0 && !(*result = pair(ra, rb)))
        rc = oom(err);
    free(ida);
    free(idb);
    free(ra);
    free(rb);
    return rc;
}

/* ---- more branches, items and views (8.17-8.22, 9.15-9.17) ----------- */

static const char *const status_keys[] = {"completionReason", "status",     "successCount",
                                          "failureCount",     "totalCount", NULL};

/* How many of a batch result's items have `key` equal to `value` (key
 * "status"), or have `key` at all (value NULL). */
static int count_items(const cJSON *batch, const char *key, const char *value)
{
    int n = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(batch, "all"))
    {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
        n += value ? cJSON_IsString(v) && strcmp(v->valuestring, value) == 0 : v != NULL;
    }
    return n;
}

/* What the suite's batch-result accessors answer, from this SDK's batch
 * result (a JSON text, no accessor methods): hasFailure is its status, the
 * succeeded and failed lists its items by status, the errors its items'
 * errors. */
static char *accessors(const char *batch)
{
    cJSON *b = cJSON_Parse(batch), *out = cJSON_CreateObject();
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(b, "status");
    cJSON_AddBoolToObject(out, "hasFailure",
                          cJSON_IsString(status) && strcmp(status->valuestring, "FAILED") == 0);
    cJSON_AddNumberToObject(out, "successCount", count_items(b, "status", "SUCCEEDED"));
    cJSON_AddNumberToObject(out, "failureCount", count_items(b, "status", "FAILED"));
    cJSON_AddNumberToObject(out, "errorCount", count_items(b, "error", NULL));
    char *text = cJSON_PrintUnformatted(out);
    cJSON_Delete(b);
    cJSON_Delete(out);
    return text;
}

/* 9.15's items: item 1 waits a second first; each then returns its item
 * from a step. */
static int wait_then_step(lambda_durable_context *child, size_t index, const char *item, void *arg,
                          char **result, lambda_error *err)
{
    (void)arg;
    if (index == 1 && lambda_durable_wait(child, NULL, 1, err) != 0)
        return -1;
    return lambda_durable_step(child, NULL, return_arg, (void *)item, NULL, result, err);
}

static int uppercased(lambda_durable_context *child, size_t index, const char *item, void *arg,
                      char **result, lambda_error *err)
{
    (void)child;
    (void)index;
    (void)arg;
    char buf[256];
    string_of(item, buf, sizeof buf);
    for (char *c = buf; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    *result = json_string(buf);
    return *result ? 0 : oom(err);
}

/* 9.17: a map, then a wait: on resume the map's result comes from its
 * record. */
static int map_9_17(lambda_durable_context *ctx, const char *input, char **result,
                    lambda_error *err, void *userdata)
{
    (void)input;
    (void)userdata;
    char *batch = NULL;
    if (lambda_durable_map(ctx, "then-wait", "[\"a\",\"b\"]", uppercased, NULL, NULL, &batch,
                           err) != 0)
        return -1;
    if (lambda_durable_wait(ctx, NULL, 1, err) != 0) {
        free(batch);
        return -1;
    }
    *result = succeeded_results(batch);
    free(batch);
    return *result ? 0 : oom(err);
}

/* ---- 8.x parallel and 9.x map cases, as data ---------------------------- */

/* A map (`item_fn` over `items`, or over the input when NULL) or else a
 * parallel (`branches`) named `name` with `config`, answered with the batch
 * result's fields `keys`, its accessors' answers, or (keys NULL) the
 * succeeded items' results. */
typedef struct batch_case {
    const char *name;
    const lambda_durable_branch *branches;
    size_t count;
    const char *items;
    lambda_durable_map_fn item_fn;
    const lambda_durable_batch_config *config;
    const char *const *keys;
    bool accessors;
} batch_case;

static int run_batch(lambda_durable_context *ctx, const batch_case *c, const char *input,
                     char **result, lambda_error *err)
{
    char *batch = NULL;
    int rc = !c->item_fn ? lambda_durable_parallel(ctx, c->name, c->branches, c->count, c->config,
                                                   &batch, err)
                         : lambda_durable_map(ctx, c->name, c->items ? c->items : input, c->item_fn,
                                              NULL, c->config, &batch, err);
    if (rc != 0)
        return -1;
    *result = c->accessors ? accessors(batch)
              : c->keys    ? projection(batch, c->keys)
                           : succeeded_results(batch);
    free(batch);
    return *result ? 0 : oom(err);
}

/* The handler of every batch case (its userdata). */
static int batch_handler(lambda_durable_context *ctx, const char *input, char **result,
                         lambda_error *err, void *userdata)
{
    return run_batch(ctx, userdata, input, result, err);
}

/* A branch running a batch case (`arg`): a parallel inside a parallel. */
static int batch_branch(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    return run_batch(child, arg, NULL, result, err);
}

#define BRANCHES(...)                                         \
    .branches = (const lambda_durable_branch[]){__VA_ARGS__}, \
    .count = sizeof((const lambda_durable_branch[]){__VA_ARGS__}) / sizeof(lambda_durable_branch)

/* 8.1: two branches, each one step returning a constant. */
static const batch_case parallel_8_1 = {
    "parallel", BRANCHES({NULL, branch_task, "\"task-1\""}, {NULL, branch_task, "\"task-2\""})};
/* 8.3: named branches returning constants directly. */
static const batch_case parallel_8_3 = {
    "named", BRANCHES({"first", branch_value, "\"one\""}, {"second", branch_value, "\"two\""})};
/* 8.5: no branches at all. */
static const batch_case parallel_8_5 = {"empty", .branches = NULL, .count = 0};
/* 8.8: four branches, min-successful 2: the last two never start. */
static const batch_case parallel_8_8 = {
    "min-successful",
    BRANCHES({NULL, branch_value, "\"a\""}, {NULL, branch_value, "\"b\""},
             {NULL, branch_value, "\"c\""}, {NULL, branch_value, "\"d\""}),
    .config = &(const lambda_durable_batch_config){.min_successful = 2},
    .keys = (const char *const[]){"completionReason", "successCount", "totalCount", NULL}};
/* 8.10: three failing branches, one failure tolerated: the third never
 * starts. */
static const batch_case parallel_8_10 = {"tolerated-exceeded",
                                         BRANCHES({NULL, failing_branch, NULL},
                                                  {NULL, failing_branch, NULL},
                                                  {NULL, failing_branch, NULL}),
                                         .config = &tolerate_one, .keys = exceeded_keys};
/* 8.13: four failing branches, 25 % tolerated (of all four): the second
 * failure (50 %) stops it. */
static const batch_case parallel_8_13 = {
    "tolerated-pct",
    BRANCHES({NULL, failing_branch, NULL}, {NULL, failing_branch, NULL},
             {NULL, failing_branch, NULL}, {NULL, failing_branch, NULL}),
    .config = &tolerate_quarter, .keys = exceeded_keys};
/* 8.14: branch 0 a step, branch 1 a 2 s wait: on resume branch 0 is not
 * run again, its result comes from its record. */
static const batch_case parallel_8_14 = {
    "replay", BRANCHES({NULL, branch_task, "\"b0\""}, {NULL, branch_wait, "\"b1\""})};
/* 8.17: three branches (the second fails), min-successful 3 and no failure
 * limit: the target is never reached, all three run, the batch FAILED. */
static const batch_case parallel_8_17 = {
    "min-not-reached",
    BRANCHES({NULL, branch_value, "\"b0\""}, {NULL, failing_branch, NULL},
             {NULL, branch_value, "\"b2\""}),
    .config = &(const lambda_durable_batch_config){.min_successful = 3}, .keys = status_keys};
/* 8.18: min-successful 3 and one failure tolerated; the first two branches
 * fail: the tolerance is exceeded first, the last two never start. */
static const batch_case parallel_8_18 = {
    "combined",
    BRANCHES({NULL, failing_branch, NULL}, {NULL, failing_branch, NULL},
             {NULL, branch_value, "\"b2\""}, {NULL, branch_value, "\"b3\""}),
    .config = &(const lambda_durable_batch_config){.min_successful = 3,
                                                   .tolerate_failures = 1,
                                                   .tolerated_failures = 1},
    .keys = exceeded_keys};
/* 8.20: three branches, the second fails, one failure tolerated: all run;
 * the result is read the way the suite's accessors read it. */
static const batch_case parallel_8_20 = {"accessors",
                                         BRANCHES({NULL, branch_value, "\"b0\""},
                                                  {NULL, failing_branch, NULL},
                                                  {NULL, branch_value, "\"b2\""}),
                                         .config = &tolerate_one, .accessors = true};
/* 8.21: a parallel inside a parallel's only branch (an inner parallel of
 * two one-step branches). */
static const batch_case inner_8_21 = {
    "inner", BRANCHES({NULL, branch_task, "\"i1\""}, {NULL, branch_task, "\"i2\""})};
static const batch_case parallel_8_21 = {"outer",
                                         BRANCHES({NULL, batch_branch, (void *)&inner_8_21})};
/* 8.22: four branches, the first fails, 25 % tolerated: 1 of 4 is 25 %,
 * not more, so all four run. */
static const batch_case parallel_8_22 = {
    "pct-boundary",
    BRANCHES({NULL, failing_branch, NULL}, {NULL, branch_value, "\"b1\""},
             {NULL, branch_value, "\"b2\""}, {NULL, branch_value, "\"b3\""}),
    .config = &tolerate_quarter, .keys = status_keys};
/* 9.2: map without a name over the input; each item doubled, no inner
 * operation. */
static const batch_case map_9_2 = {NULL, .item_fn = doubled};
/* 9.3: map "indexed" over the input: item + index. */
static const batch_case map_9_3 = {"indexed", .item_fn = plus_index};
/* 9.4: map "empty" over the input (no items). */
static const batch_case map_9_4 = {"empty", .item_fn = doubled};
/* 9.8: three items, one failure tolerated: all run, the batch FAILED. */
static const batch_case map_9_8 = {"tolerated", .items = "[0,1,2]", .item_fn = fail_item_1,
                                   .config = &tolerate_one, .keys = status_keys};
/* 9.9: 8.10 with a map over three failing items. */
static const batch_case map_9_9 = {"tolerated-exceeded", .items = "[0,1,2]",
                                   .item_fn = always_fail_item, .config = &tolerate_one,
                                   .keys = exceeded_keys};
/* 9.10: 8.13 with a map over four failing items. */
static const batch_case map_9_10 = {"tolerated-pct", .items = "[0,1,2,3]",
                                    .item_fn = always_fail_item, .config = &tolerate_quarter,
                                    .keys = exceeded_keys};
/* 9.15: the execution suspends inside item 1; on resume item 0 comes from
 * its record. */
static const batch_case map_9_15 = {"suspend", .items = "[\"r0\",\"r1\"]",
                                    .item_fn = wait_then_step};

/* ---- the bootstrap ---------------------------------------------------------- */

/* Every invocation, through the SDK's raw handler. Under ASan, then a leak
 * check: lambda-local ends an environment with SIGTERM (SIGKILL 500 ms
 * later), which never runs LeakSanitizer's check at exit, so it runs here,
 * once the invocation's work is over and only its answer is still held (by
 * the runtime, reachable). A leak is reported on stderr ("ERROR:
 * LeakSanitizer"), which run.py finds in the functions' output; the process
 * goes on. */
static void checked_invocation(const lambda_request *req, lambda_response *res, void *userdata)
{
    lambda_durable_raw_handler(req, res, userdata);
#ifdef LEAK_CHECKS
    static int announced;
    if (!announced) {
        announced = 1;
        fprintf(stderr, "conformance: LeakSanitizer checks after each invocation\n");
    }
    __lsan_do_recoverable_leak_check();
#endif
}

/* Each handler registered under its own name (the function's Handler);
 * a batch case's handler is batch_handler with the case as its userdata. */
/* clang-format off */
#define CASE(fn) {#fn, {.handler = fn}}
#define BATCH(c) {#c, {.handler = batch_handler, .userdata = (void *)&c}}
/* clang-format on */
static const struct {
    const char *name;
    lambda_durable_function fn;
} cases[] = {
    CASE(step_1_1),       CASE(step_1_4),         CASE(step_1_5),       CASE(step_1_7),
    CASE(step_1_10),      CASE(step_1_11),        CASE(step_1_12),      CASE(step_1_13),
    CASE(step_1_17),      CASE(step_1_18),        CASE(wait_2_3),       CASE(wait_2_4),
    CASE(child_3_1),      CASE(child_3_3),        CASE(child_3_5),      CASE(child_3_6),
    CASE(child_3_8),      CASE(child_3_10),       CASE(child_3_11),     CASE(child_3_13),
    CASE(callback_4_1),   CASE(callback_4_5),     CASE(callback_4_6),   CASE(callback_4_7),
    BATCH(parallel_8_1),  BATCH(parallel_8_3),    BATCH(parallel_8_5),  BATCH(parallel_8_8),
    BATCH(parallel_8_10), BATCH(parallel_8_13),   BATCH(parallel_8_14), BATCH(map_9_2),
    BATCH(map_9_3),       BATCH(map_9_4),         BATCH(map_9_8),       BATCH(map_9_9),
    BATCH(map_9_10),      CASE(determinism_11_1), CASE(child_3_15),     CASE(child_3_17),
    CASE(child_3_18),     CASE(callback_4_12),    CASE(callback_4_13),  CASE(callback_4_17),
    CASE(callback_4_18),  BATCH(parallel_8_17),   BATCH(parallel_8_18), BATCH(parallel_8_20),
    BATCH(parallel_8_21), BATCH(parallel_8_22),   BATCH(map_9_15),      CASE(map_9_17),
};
#define NCASES (sizeof cases / sizeof *cases)

int main(void)
{
    lambda_handler handlers[NCASES];
    for (size_t i = 0; i < NCASES; i++)
        handlers[i] =
            (lambda_handler){cases[i].name, NULL, checked_invocation, (void *)&cases[i].fn};
    const lambda_runtime_config config = {.handlers = handlers, .handler_count = NCASES};
    return lambda_run(&config);
}

/* Unit tests of lambda-local's durable-execution model (durable_model.h):
 * timers, paging, callbacks, the state file, and the checkpoint parser
 * against hostile input — structured and byte-level mutants of valid
 * requests must each get an answer or a 400/413 error with a reason, leave
 * the execution consistent, and never crash (this test runs under ASan and
 * UBSan in CI's second pass). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "durable_model.h"

#define NOW 1764460800000LL /* 2025-11-30T00:00:00Z */
#define FN_ARN "arn:aws:lambda:us-east-1:123456789012:function:F"

static durable_exec *new_exec(void)
{
    durable_exec *e = durable_exec_new("F", FN_ARN, "run-1", "{\"x\":1}", NOW);
    size_t len = 0;
    free(durable_envelope(e, &len)); /* an invocation is running: a token is valid */
    return e;
}

/* Checkpoints `updates` (a JSON array) with the current token; returns the
 * answer (parsed) or NULL with *err. */
static cJSON *checkpoint(durable_exec *e, const char *updates, int64_t now, durable_error *err)
{
    char *body =
        malloc(strlen(updates) + strlen(e->token) + 64); /* {"CheckpointToken":"","Updates":} */
    sprintf(body, "{\"CheckpointToken\":\"%s\",\"Updates\":%s}", e->token, updates);
    char *answer = durable_checkpoint(e, body, strlen(body), 0.001, now, err);
    free(body);
    cJSON *o = answer ? cJSON_Parse(answer) : NULL;
    free(answer);
    return o;
}

static const cJSON *op_of(const durable_exec *e, const char *id)
{
    for (size_t i = 0; i < e->nops; i++)
        if (strcmp(cJSON_GetObjectItem(e->ops[i].op, "Id")->valuestring, id) == 0)
            return e->ops[i].op;
    return NULL;
}

static const char *status_of(const durable_exec *e, const char *id)
{
    const cJSON *op = op_of(e, id);
    return op ? cJSON_GetObjectItem(op, "Status")->valuestring : "(none)";
}

static void test_wait_and_retry_timers(void **state)
{
    (void)state;
    durable_exec *e = new_exec();
    durable_error err = {0};
    cJSON *a = checkpoint(e,
                          "[{\"Id\":\"w\",\"Type\":\"WAIT\",\"Action\":\"START\",\"WaitOptions\":"
                          "{\"WaitSeconds\":3600}},{\"Id\":\"s\",\"Type\":\"STEP\",\"Action\":"
                          "\"RETRY\",\"StepOptions\":{\"NextAttemptDelaySeconds\":10}}]",
                          NOW, &err);
    assert_non_null(a);
    cJSON_Delete(a);
    /* scale 0.001: the wait is due 3.6 s later, the retry 10 ms later */
    assert_int_equal(durable_next_timer(e), NOW + 10);
    assert_true(durable_has_pending(e));
    assert_false(durable_has_ready(e));
    assert_false(durable_fire_timers(e, NOW + 9));
    assert_true(durable_fire_timers(e, NOW + 10));
    assert_string_equal(status_of(e, "s"), "READY");
    assert_true(durable_has_ready(e));
    assert_string_equal(status_of(e, "w"), "STARTED");
    assert_int_equal(durable_next_timer(e), NOW + 3600);
    assert_true(durable_fire_timers(e, NOW + 3600));
    assert_string_equal(status_of(e, "w"), "SUCCEEDED");
    assert_int_equal(durable_next_timer(e), -1);
    /* the READY step takes another attempt, which succeeds */
    a = checkpoint(e, "[{\"Id\":\"s\",\"Type\":\"STEP\",\"Action\":\"SUCCEED\",\"Payload\":\"1\"}]",
                   NOW + 4000, &err);
    assert_non_null(a);
    cJSON_Delete(a);
    const cJSON *d = cJSON_GetObjectItem(op_of(e, "s"), "StepDetails");
    assert_int_equal(cJSON_GetObjectItem(d, "Attempt")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(d, "Result")->valuestring, "1");
    assert_false(durable_has_pending(e));
    durable_exec_free(e);
}

static void test_callback_timeouts_and_answers(void **state)
{
    (void)state;
    durable_exec *e = new_exec();
    durable_error err = {0};
    cJSON *a = checkpoint(e,
                          "[{\"Id\":\"c\",\"Type\":\"CALLBACK\",\"Action\":\"START\","
                          "\"CallbackOptions\":{\"TimeoutSeconds\":100,"
                          "\"HeartbeatTimeoutSeconds\":10}}]",
                          NOW, &err);
    assert_non_null(a);
    cJSON_Delete(a);
    const char *id =
        cJSON_GetObjectItem(cJSON_GetObjectItem(op_of(e, "c"), "CallbackDetails"), "CallbackId")
            ->valuestring;
    durable_op *op = durable_find_callback(e, id);
    assert_non_null(op);
    assert_null(durable_find_callback(e, "nope"));
    assert_int_equal(durable_next_timer(e), NOW + 10); /* the heartbeat's */
    assert_true(durable_callback_heartbeat(e, op, 0.001, NOW + 8, &err));
    assert_int_equal(durable_next_timer(e), NOW + 18);
    assert_false(durable_fire_timers(e, NOW + 17));
    assert_true(durable_fire_timers(e, NOW + 18));
    assert_string_equal(status_of(e, "c"), "TIMED_OUT");
    assert_false(durable_callback_complete(e, op, true, "x", 1, NULL, NOW + 20, &err));
    assert_string_equal(err.type, "CallbackTimeoutException");

    a = checkpoint(e, "[{\"Id\":\"c2\",\"Type\":\"CALLBACK\",\"Action\":\"START\"}]", NOW, &err);
    cJSON_Delete(a);
    durable_op *op2 = durable_find_callback(
        e, cJSON_GetObjectItem(cJSON_GetObjectItem(op_of(e, "c2"), "CallbackDetails"), "CallbackId")
               ->valuestring);
    assert_int_equal(op2->due_ms, -1); /* no timeout: no timer */
    assert_true(durable_callback_complete(e, op2, true, "{\"ok\":1}", 8, NULL, NOW + 30, &err));
    assert_string_equal(status_of(e, "c2"), "SUCCEEDED");
    assert_false(durable_callback_complete(e, op2, true, "x", 1, NULL, NOW + 31, &err));
    assert_string_equal(err.type, "InvalidParameterValueException");
    durable_exec_free(e);
}

static void test_envelope_and_state_pages(void **state)
{
    (void)state;
    durable_exec *e = new_exec();
    durable_error err = {0};
    /* 150 steps: the envelope holds 100 operations and a NextMarker */
    for (int i = 0; i < 150; i++) {
        char u[128];
        snprintf(u, sizeof u, "[{\"Id\":\"s%d\",\"Type\":\"STEP\",\"Action\":\"SUCCEED\"}]", i);
        cJSON *a = checkpoint(e, u, NOW, &err);
        assert_non_null(a);
        cJSON_Delete(a);
    }
    size_t len = 0;
    char *env = durable_envelope(e, &len);
    cJSON *o = cJSON_Parse(env);
    free(env);
    const cJSON *st = cJSON_GetObjectItem(o, "InitialExecutionState");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(st, "Operations")), 100);
    assert_string_equal(cJSON_GetObjectItem(st, "NextMarker")->valuestring, "100");
    char *page = durable_state_page(e, cJSON_GetObjectItem(o, "CheckpointToken")->valuestring,
                                    "100", "1000", &err);
    cJSON *p = cJSON_Parse(page);
    free(page);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "Operations")), 51);
    assert_null(cJSON_GetObjectItem(p, "NextMarker"));
    cJSON_Delete(p);
    assert_null(durable_state_page(e, e->token, "152", NULL, &err)); /* past the end */
    assert_null(durable_state_page(e, e->token, NULL, "0", &err));
    assert_null(durable_state_page(e, e->token, NULL, "1001", &err));
    cJSON_Delete(o);
    durable_exec_free(e);
}

/* The same JSON (timestamps are written as 1764460800.000 and read back as
 * numbers, so the texts may differ). */
static bool same_json(const char *a, const char *b)
{
    cJSON *x = cJSON_Parse(a), *y = cJSON_Parse(b);
    bool same = x && y && cJSON_Compare(x, y, true);
    cJSON_Delete(x);
    cJSON_Delete(y);
    return same;
}

static void test_state_file_round_trip(void **state)
{
    (void)state;
    durable_exec *e = new_exec();
    durable_error err = {0};
    cJSON_Delete(checkpoint(e,
                            "[{\"Id\":\"ctx\",\"Type\":\"CONTEXT\",\"Action\":\"START\"},"
                            "{\"Id\":\"s\",\"ParentId\":\"ctx\",\"Type\":\"STEP\",\"Action\":"
                            "\"RETRY\",\"Error\":{\"ErrorType\":\"E\",\"StackTrace\":[\"a\"]},"
                            "\"StepOptions\":{\"NextAttemptDelaySeconds\":5}}]",
                            NOW, &err));
    char *one = durable_serialize(e);
    durable_exec *back = durable_deserialize(one);
    assert_non_null(back);
    char *two = durable_serialize(back);
    assert_true(same_json(one, two));
    assert_int_equal(back->invoke_at_ms, 0); /* RUNNING: invoked again at once */
    assert_int_equal(durable_next_timer(back), NOW + 5);
    free(one);
    free(two);
    durable_exec_free(back);
    assert_null(durable_deserialize("{}"));
    assert_null(durable_deserialize("not json"));
    assert_null(durable_deserialize("{\"FormatVersion\":1,\"Arn\":\"a\"}"));
    durable_finish(e, DURABLE_SUCCEEDED, "\"r\"", NULL, NOW + 1);
    assert_string_equal(status_of(e, e->id), "SUCCEEDED");
    assert_int_equal(durable_next_timer(e), -1);
    durable_exec_free(e);
}

/* --- robustness --- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static const char *const SEEDS[] = {
    "[{\"Id\":\"s1\",\"Type\":\"STEP\",\"Action\":\"START\",\"Name\":\"n\",\"SubType\":\"Step\"}]",
    "[{\"Id\":\"s1\",\"Type\":\"STEP\",\"Action\":\"SUCCEED\",\"Payload\":\"42\"}]",
    "[{\"Id\":\"s2\",\"Type\":\"STEP\",\"Action\":\"RETRY\",\"Error\":{\"ErrorType\":\"T\","
    "\"ErrorMessage\":\"m\",\"ErrorData\":\"d\",\"StackTrace\":[\"x\"]},\"StepOptions\":"
    "{\"NextAttemptDelaySeconds\":3}}]",
    "[{\"Id\":\"w1\",\"Type\":\"WAIT\",\"Action\":\"START\",\"WaitOptions\":{\"WaitSeconds\":60}}]",
    "[{\"Id\":\"w1\",\"Type\":\"WAIT\",\"Action\":\"CANCEL\"}]",
    "[{\"Id\":\"c1\",\"Type\":\"CALLBACK\",\"Action\":\"START\",\"CallbackOptions\":"
    "{\"TimeoutSeconds\":5,\"HeartbeatTimeoutSeconds\":2}}]",
    "[{\"Id\":\"x1\",\"Type\":\"CONTEXT\",\"Action\":\"START\"},{\"Id\":\"x2\",\"ParentId\":"
    "\"x1\",\"Type\":\"STEP\",\"Action\":\"FAIL\",\"Error\":{\"ErrorType\":\"E\"}}]",
    "[{\"Id\":\"x1\",\"Type\":\"CONTEXT\",\"Action\":\"SUCCEED\",\"Payload\":\"1\","
    "\"ContextOptions\":{\"ReplayChildren\":true}}]",
    "[]",
};

/* A random JSON value to put where a field was. */
static cJSON *random_value(void)
{
    switch (next_rand() % 9) {
    case 0:
        return cJSON_CreateNull();
    case 1:
        return cJSON_CreateNumber((double)(int32_t)next_rand());
    case 2:
        return cJSON_CreateNumber(1e300);
    case 3:
        return cJSON_CreateString("");
    case 4:
        return cJSON_CreateString("STEP");
    case 5:
        return cJSON_CreateArray();
    case 6:
        return cJSON_CreateObject();
    case 7:
        return cJSON_CreateBool(next_rand() & 1);
    default:
        return cJSON_CreateString("\x01\x7f\xff");
    }
}

/* Replaces, removes or adds one node somewhere in the tree. */
static void mutate_tree(cJSON *node, int depth)
{
    int n = cJSON_GetArraySize(node);
    if ((cJSON_IsObject(node) || cJSON_IsArray(node)) && n > 0 && depth < 4 && next_rand() % 3) {
        int i = (int)(next_rand() % (uint32_t)n);
        cJSON *child = cJSON_GetArrayItem(node, i);
        if (cJSON_IsObject(child) || cJSON_IsArray(child)) {
            mutate_tree(child, depth + 1);
            return;
        }
        if (next_rand() % 4 == 0)
            cJSON_DeleteItemFromArray(node, i);
        else
            cJSON_ReplaceItemInArray(node, i, random_value());
        return;
    }
    if (cJSON_IsObject(node)) {
        static const char *const keys[] = {"Id",      "Type",    "Action",         "ParentId",
                                           "Payload", "Error",   "WaitOptions",    "StepOptions",
                                           "Name",    "SubType", "CallbackOptions"};
        const char *k = keys[next_rand() % (sizeof keys / sizeof *keys)];
        cJSON_DeleteItemFromObject(node, k);
        cJSON_AddItemToObject(node, k, random_value());
    } else if (cJSON_IsArray(node)) {
        cJSON_AddItemToArray(node, random_value());
    }
}

/* Byte-level damage: flips, truncation, insertion. */
static void mutate_bytes(char *s, size_t *len)
{
    if (*len == 0)
        return;
    switch (next_rand() % 3) {
    case 0:
        s[next_rand() % *len] = (char)(next_rand() & 0xff);
        break;
    case 1:
        *len = next_rand() % *len;
        break;
    default: {
        size_t at = next_rand() % *len;
        memmove(s + at + 1, s + at, *len - at);
        s[at] = "{}[]\",:\\0"[next_rand() % 9];
        (*len)++;
    }
    }
}

/* What must hold after any request, accepted or not. */
static void check_consistent(const durable_exec *e)
{
    assert_string_equal(cJSON_GetObjectItem(e->ops[0].op, "Type")->valuestring, "EXECUTION");
    for (size_t i = 0; i < e->nops; i++) {
        const cJSON *op = e->ops[i].op;
        assert_true(cJSON_IsString(cJSON_GetObjectItem(op, "Id")));
        assert_true(cJSON_IsString(cJSON_GetObjectItem(op, "Type")));
        assert_true(cJSON_IsString(cJSON_GetObjectItem(op, "Status")));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(cJSON_GetObjectItem(op, "Id")->valuestring,
                                    cJSON_GetObjectItem(e->ops[j].op, "Id")->valuestring);
    }
}

static void test_checkpoint_parser_robustness(void **state)
{
    (void)state;
    size_t accepted = 0, refused = 0;
    durable_exec *e = new_exec();
    for (int round = 0; round < 20000; round++) {
        if (round % 500 == 0) { /* a fresh execution now and then: states vary */
            durable_exec_free(e);
            e = new_exec();
        }
        const char *seed = SEEDS[next_rand() % (sizeof SEEDS / sizeof *SEEDS)];
        char *body = NULL;
        size_t len = 0;
        cJSON *req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "CheckpointToken", e->token);
        cJSON_AddItemToObject(req, "Updates", cJSON_Parse(seed));
        if (next_rand() % 2)
            mutate_tree(req, 0);
        body = cJSON_PrintUnformatted(req);
        cJSON_Delete(req);
        len = strlen(body);
        body = realloc(body, len + 16);
        if (next_rand() % 4 == 0)
            mutate_bytes(body, &len);
        durable_error err = {0};
        char *answer = durable_checkpoint(e, body, len, 0.001, NOW + round, &err);
        if (answer) {
            cJSON *a = cJSON_Parse(answer);
            assert_non_null(a);
            assert_true(cJSON_IsString(cJSON_GetObjectItem(a, "CheckpointToken")));
            cJSON_Delete(a);
            accepted++;
        } else {
            assert_true(err.status == 400 || err.status == 413);
            assert_non_null(err.type);
            assert_true(strlen(err.message) > 0);
            refused++;
        }
        free(answer);
        free(body);
        check_consistent(e);
        durable_fire_timers(e, NOW + round);
        if (e->status != DURABLE_RUNNING) { /* an EXECUTION update ended it */
            durable_exec_free(e);
            e = new_exec();
        }
    }
    char *one = durable_serialize(e);
    durable_exec *back = durable_deserialize(one);
    assert_non_null(back);
    char *two = durable_serialize(back);
    assert_true(same_json(one, two));
    free(one);
    free(two);
    durable_exec_free(back);
    durable_exec_free(e);
    /* both paths well exercised */
    assert_true(accepted > 1000);
    assert_true(refused > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_and_retry_timers),
        cmocka_unit_test(test_callback_timeouts_and_answers),
        cmocka_unit_test(test_envelope_and_state_pages),
        cmocka_unit_test(test_state_file_round_trip),
        cmocka_unit_test(test_checkpoint_parser_robustness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

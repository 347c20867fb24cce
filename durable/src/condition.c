/*
 * wait_for_condition: one STEP operation (SubType WaitForCondition) whose
 * RETRY carries the state from check to check as its payload, the
 * strategy's delay as NextAttemptDelaySeconds; SUCCEED ends it.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELAY_MAX_S 31622400L

static int close_check(lambda_durable_context *ctx, const char *id, const char *name,
                       const char *action, const char *state, long delay,
                       const lambda_error *failure, lambda_error *err)
{
    cJSON *u = durable_queue(ctx, id, OP_STEP, "WaitForCondition", action, name, err);
    if (!u)
        return -1;
    int ok = 1;
    if (failure)
        ok = cJSON_AddItemToObject(u, "Error", durable_error_json(failure->type, failure->message));
    else
        ok = cJSON_AddStringToObject(u, "Payload", state) != NULL;
    if (ok && delay > 0) {
        cJSON *opts = cJSON_AddObjectToObject(u, "StepOptions");
        ok = opts && cJSON_AddNumberToObject(opts, "NextAttemptDelaySeconds", (double)delay);
    }
    if (!ok)
        return durable_fail_run(ctx->run, err, "Durable.OutOfMemory", "out of memory");
    return 0;
}

int lambda_durable_wait_for_condition(lambda_durable_context *ctx, const char *name,
                                      lambda_durable_check_fn check, const char *initial_state,
                                      lambda_durable_wait_strategy_fn strategy, void *arg,
                                      char **result, lambda_error *err)
{
    if (result)
        *result = NULL;
    if (durable_guard(ctx, err) != 0)
        return -1;
    durable_run *run = ctx->run;
    if (!check || !strategy || !initial_state || !durable_is_json(initial_state))
        return durable_fail_run(run, err, "InvalidInput",
                                "lambda_durable_wait_for_condition: check, strategy and a JSON "
                                "initial state are needed");
    durable_begin b;
    if (durable_begin_op(ctx, OP_STEP, "condition", name, &b, err) != 0)
        return -1;
    const durable_op *op = b.op;
    const char *id = b.id;
    if (op && op->status == ST_SUCCEEDED)
        return durable_copy_out(run, op->result, result, err);
    if (op && durable_status_terminal(op->status))
        return durable_recorded_error(op, "Durable.WaitForConditionFailed", err);
    if (op && op->status == ST_PENDING) {
        char why[120];
        snprintf(why, sizeof why, "condition %s: next check not due yet", id);
        return durable_suspend(run, why, err);
    }
    /* The state the last check left (its RETRY payload), else the initial. */
    const char *state = op && op->result ? op->result : initial_state;
    int attempt = (op ? op->attempt : 0) + 1;
    if (!(op && op->status == ST_STARTED) &&
        !durable_queue(ctx, id, OP_STEP, "WaitForCondition", "START", name, err))
        return -1;
    lambda_durable_step_info info = {id, name, attempt, run->arn};
    char *next = NULL;
    lambda_error failure = {{0}, {0}};
    int rc = check(&info, state, arg, &next, &failure);
    if (rc == 0 && (!next || !durable_is_json(next))) {
        rc = -1;
        lambda_error_set(&failure, "Durable.SerializationError",
                         "condition %s: the check's state is not JSON", id);
    }
    if (rc != 0) {
        free(next);
        if (!failure.type[0])
            snprintf(failure.type, sizeof failure.type, "Durable.WaitForConditionFailed");
        if (close_check(ctx, id, name, "FAIL", NULL, 0, &failure, err) != 0 ||
            durable_flush(run, err) != 0)
            return -1;
        *err = failure;
        return -1;
    }
    long delay = strategy(next, attempt, arg);
    if (delay < 0 || delay > DELAY_MAX_S) {
        free(next);
        lambda_error_set(&failure, "Durable.WaitForConditionExceeded",
                         "condition %s: not met after %d checks", id, attempt);
        if (close_check(ctx, id, name, "FAIL", NULL, 0, &failure, err) != 0 ||
            durable_flush(run, err) != 0)
            return -1;
        *err = failure;
        return -1;
    }
    if (delay > 0) {
        rc = close_check(ctx, id, name, "RETRY", next, delay, NULL, err);
        free(next);
        if (rc != 0)
            return -1;
        char why[120];
        snprintf(why, sizeof why, "condition %s: check %d again in %ld s", id, attempt + 1, delay);
        return durable_suspend(run, why, err);
    }
    rc = close_check(ctx, id, name, "SUCCEED", next, 0, NULL, err);
    if (rc == 0)
        rc = durable_flush(run, err);
    if (rc == 0)
        rc = durable_copy_out(run, next, result, err);
    free(next);
    return rc;
}

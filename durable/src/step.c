/*
 * Steps: replay a recorded outcome, or run the code once per attempt and
 * checkpoint START + SUCCEED / RETRY / FAIL; the retry policy's delays.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The defaults AWS documents for steps: up to 6 attempts, exponential
 * backoff from 5 s, doubling, capped at 60 s, full jitter. */
#define DEFAULT_ATTEMPTS 6
#define DEFAULT_INITIAL_S 5
#define DEFAULT_MAX_S 60
#define DEFAULT_RATE 2.0
/* A retry delay is at most a year, as a wait is. */
#define DELAY_CAP_S 31622400

static lambda_durable_retry_policy normalized(const lambda_durable_retry_policy *p)
{
    lambda_durable_retry_policy n = {0};
    if (p)
        n = *p;
    if (n.max_attempts <= 0)
        n.max_attempts = DEFAULT_ATTEMPTS;
    if (n.initial_delay_s <= 0)
        n.initial_delay_s = DEFAULT_INITIAL_S;
    if (n.max_delay_s <= 0)
        n.max_delay_s = DEFAULT_MAX_S;
    if (n.max_delay_s > DELAY_CAP_S)
        n.max_delay_s = DELAY_CAP_S;
    if (!(n.backoff_rate >= 1.0))
        n.backoff_rate = DEFAULT_RATE;
    return n;
}

int lambda_durable_retry_delay(const lambda_durable_retry_policy *policy, int attempt,
                               double random)
{
    lambda_durable_retry_policy p = normalized(policy);
    if (attempt < 1 || attempt >= p.max_attempts)
        return 0;
    double backoff = p.initial_delay_s;
    for (int i = 1; i < attempt && backoff < p.max_delay_s; i++)
        backoff *= p.backoff_rate;
    if (backoff > p.max_delay_s)
        backoff = p.max_delay_s;
    if (random < 0 || random >= 1)
        random = 0;
    double delay = backoff;
    if (p.jitter == LAMBDA_DURABLE_JITTER_FULL)
        delay = random * backoff;
    else if (p.jitter == LAMBDA_DURABLE_JITTER_HALF)
        delay = backoff / 2 + random * backoff / 2;
    int s = (int)delay; /* rounded up to whole seconds */
    if (s < delay)
        s++;
    return s < 1 ? 1 : s;
}

typedef struct step_call {
    lambda_durable_context *ctx;
    const char *id, *name;
    const lambda_durable_step_config *config;
} step_call;

static int queue_action(const step_call *c, const char *action, cJSON **out, lambda_error *err)
{
    *out = durable_queue(c->ctx, c->id, OP_STEP, "Step", action, c->name, err);
    return *out ? 0 : -1;
}

/* The attempt failed with `failure`: RETRY (and suspend) if the policy
 * allows another attempt, else FAIL and hand the error to the caller. */
static int after_failure(const step_call *c, int attempt, const lambda_error *failure,
                         lambda_error *err)
{
    durable_run *run = c->ctx->run;
    const lambda_durable_retry_policy *policy = c->config ? c->config->retry : NULL;
    int delay = lambda_durable_retry_delay(policy, attempt, durable_random(run));
    if (delay > 0 && policy && policy->should_retry &&
        !policy->should_retry(failure, attempt, policy->retry_data))
        delay = 0;
    cJSON *u = NULL;
    if (queue_action(c, delay > 0 ? "RETRY" : "FAIL", &u, err) != 0)
        return -1;
    if (!cJSON_AddItemToObject(u, "Error", durable_error_json(failure->type, failure->message)))
        return durable_fail_run(run, err, "Durable.OutOfMemory", "out of memory");
    if (delay > 0) {
        cJSON *opts = cJSON_AddObjectToObject(u, "StepOptions");
        if (!opts || !cJSON_AddNumberToObject(opts, "NextAttemptDelaySeconds", delay))
            return durable_fail_run(run, err, "Durable.OutOfMemory", "out of memory");
        char why[200];
        snprintf(why, sizeof why, "step %s: attempt %d failed, retrying in %d s", c->id, attempt,
                 delay);
        return durable_suspend(run, why, err);
    }
    if (durable_flush(run, err) != 0)
        return -1;
    *err = *failure;
    return -1;
}

/* Runs one attempt of the step's code and records its outcome. */
static int run_attempt(const step_call *c, int attempt, lambda_durable_step_fn fn, void *arg,
                       char **result, lambda_error *err)
{
    durable_run *run = c->ctx->run;
    lambda_durable_step_info info = {c->id, c->name, attempt, run->arn};
    char *out = NULL;
    lambda_error failure = {{0}, {0}};
    int rc = fn(&info, arg, &out, &failure);
    if (rc != 0) {
        free(out);
        if (!failure.type[0])
            snprintf(failure.type, sizeof failure.type, "Durable.StepFailed");
        return after_failure(c, attempt, &failure, err);
    }
    if (out) {
        if (!durable_is_json(out)) {
            free(out);
            lambda_error_set(&failure, "Durable.SerializationError",
                             "step %s returned a result that is not JSON", c->id);
            return after_failure(c, 0x7fffffff, &failure, err);
        }
    }
    cJSON *u = NULL;
    if (queue_action(c, "SUCCEED", &u, err) != 0) {
        free(out);
        return -1;
    }
    if (!cJSON_AddStringToObject(u, "Payload", out ? out : "null")) {
        free(out);
        return durable_fail_run(run, err, "Durable.OutOfMemory", "out of memory");
    }
    /* The result is durable before the caller sees it. */
    if (durable_flush(run, err) != 0) {
        free(out);
        return -1;
    }
    rc = durable_copy_out(run, out, result, err);
    free(out);
    return rc;
}

int lambda_durable_step(lambda_durable_context *ctx, const char *name, lambda_durable_step_fn fn,
                        void *arg, const lambda_durable_step_config *config, char **result,
                        lambda_error *err)
{
    if (result)
        *result = NULL;
    if (durable_guard(ctx, err) != 0)
        return -1;
    durable_run *run = ctx->run;
    if (!fn)
        return durable_fail_run(run, err, "InvalidInput", "lambda_durable_step: no function");
    durable_begin b;
    if (durable_begin_op(ctx, OP_STEP, "step", name, &b, err) != 0)
        return -1;
    const durable_op *op = b.op;
    const char *id = b.id;
    int at_most_once = config && config->semantics == LAMBDA_DURABLE_AT_MOST_ONCE;
    step_call c = {ctx, id, name, config};
    if (op && op->status == ST_SUCCEEDED)
        return durable_copy_out(run, op->result, result, err);
    if (op && durable_status_terminal(op->status))
        return durable_recorded_error(op, "Durable.StepFailed", err);
    if (op && op->status == ST_PENDING) {
        char why[120];
        snprintf(why, sizeof why, "step %s: its retry is not due yet", id);
        return durable_suspend(run, why, err);
    }
    /* Attempt counts the attempts already made (the service's count). */
    int attempt = (op ? op->attempt : 0) + 1;
    if (op && op->status == ST_STARTED && at_most_once) {
        /* Started and never finished: it may have had its effect; at most
         * once means it does not run again, the attempt counts as failed. */
        lambda_error interrupted;
        lambda_error_set(&interrupted, "Durable.StepInterrupted",
                         "step %s (attempt %d) was interrupted before it finished", id, attempt);
        return after_failure(&c, attempt, &interrupted, err);
    }
    if (!(op && op->status == ST_STARTED)) {
        cJSON *u = NULL;
        if (queue_action(&c, "START", &u, err) != 0)
            return -1;
        /* At most once: START must be recorded before the code runs. At
         * least once, it waits in the queue and goes out with the next
         * checkpoint (at the latest, just before the outcome's own). */
        if (at_most_once && durable_flush(run, err) != 0)
            return -1;
    }
    return run_attempt(&c, attempt, fn, arg, result, err);
}

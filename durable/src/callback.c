/*
 * Callbacks: a CALLBACK operation whose CallbackId the service assigns
 * (read from the checkpoint's answer); its answer arrives through
 * SendDurableExecutionCallbackSuccess / Failure from outside, and the
 * service invokes the function again.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The service's range for the callback timeouts. */
#define CALLBACK_TIMEOUT_MAX 99999999L

int lambda_durable_callback_create(lambda_durable_context *ctx, const char *name,
                                   const lambda_durable_callback_config *config, char **callback_id,
                                   lambda_error *err)
{
    *callback_id = NULL;
    if (durable_guard(ctx, err) != 0)
        return -1;
    durable_run *run = ctx->run;
    long timeout = config ? config->timeout_s : 0;
    long heartbeat = config ? config->heartbeat_timeout_s : 0;
    if (timeout < 0 || timeout > CALLBACK_TIMEOUT_MAX || heartbeat < 0 ||
        heartbeat > CALLBACK_TIMEOUT_MAX)
        return durable_fail_run(run, err, "InvalidInput",
                                "callback timeouts must be 0..%ld seconds", CALLBACK_TIMEOUT_MAX);
    durable_begin b;
    if (durable_begin_op(ctx, OP_CALLBACK, "callback", name, &b, err) != 0)
        return -1;
    const durable_op *op = b.op;
    const char *id = b.id;
    if (!op) {
        cJSON *u = durable_queue(ctx, id, OP_CALLBACK, "Callback", "START", name, err);
        if (!u)
            return -1;
        cJSON *opts = cJSON_AddObjectToObject(u, "CallbackOptions");
        if (!opts || !cJSON_AddNumberToObject(opts, "TimeoutSeconds", (double)timeout) ||
            !cJSON_AddNumberToObject(opts, "HeartbeatTimeoutSeconds", (double)heartbeat))
            return durable_fail_run(run, err, "Durable.OutOfMemory", "out of memory");
        /* The id is the service's: it comes back with the checkpoint. */
        if (durable_flush(run, err) != 0)
            return -1;
        op = durable_state_get(&run->state, id);
    }
    if (!op || !op->callback_id || !op->callback_id[0]) {
        run->mode = RUN_INVOCATION_ERROR;
        lambda_error_set(&run->stop, "Durable.CheckpointUnavailable",
                         "the service gave callback %s no CallbackId", id);
        *err = run->stop;
        return -1;
    }
    *callback_id = strdup(op->callback_id);
    if (!*callback_id)
        return durable_fail_run(run, err, "Durable.OutOfMemory", "out of memory");
    return 0;
}

static const durable_op *find_callback(const durable_state *st, const char *callback_id)
{
    for (size_t i = 0; i < st->cap; i++) {
        const durable_op *op = st->slots[i];
        if (op && op->type == OP_CALLBACK && op->callback_id &&
            strcmp(op->callback_id, callback_id) == 0)
            return op;
    }
    return NULL;
}

int lambda_durable_callback_result(lambda_durable_context *ctx, const char *callback_id,
                                   char **result, lambda_error *err)
{
    if (result)
        *result = NULL;
    if (durable_guard(ctx, err) != 0)
        return -1;
    durable_run *run = ctx->run;
    const durable_op *op = callback_id ? find_callback(&run->state, callback_id) : NULL;
    if (!op)
        return durable_fail_run(run, err, "InvalidInput",
                                "lambda_durable_callback_result: no callback with id '%.64s'",
                                callback_id ? callback_id : "");
    switch (op->status) {
    case ST_SUCCEEDED:
        if (!result)
            return 0;
        if (!op->result)
            return 0;
        return durable_copy_out(run, op->result, result, err);
    case ST_TIMED_OUT:
        if (!op->has_error)
            return lambda_error_set(err, "Durable.CallbackTimedOut", "callback %s timed out",
                                    op->id),
                   -1;
        return durable_recorded_error(op, "Durable.CallbackTimedOut", err);
    case ST_FAILED:
    case ST_CANCELLED:
    case ST_STOPPED:
        return durable_recorded_error(op, "Durable.CallbackFailed", err);
    default: {
        char why[120];
        snprintf(why, sizeof why, "callback %s: no answer yet", op->id);
        return durable_suspend(run, why, err);
    }
    }
}

typedef struct wait_call {
    lambda_durable_submit_fn submit;
    void *arg;
    const lambda_durable_callback_config *config;
    const char *callback_id;
} wait_call;

static int submit_step(const lambda_durable_step_info *info, void *arg, char **result,
                       lambda_error *err)
{
    const wait_call *w = arg;
    (void)result;
    return w->submit(info, w->callback_id, w->arg, err);
}

static int wait_body(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    wait_call *w = arg;
    char *id = NULL;
    if (lambda_durable_callback_create(child, NULL, w->config, &id, err) != 0)
        return -1;
    w->callback_id = id;
    int rc = lambda_durable_step(child, "submitter", submit_step, w, NULL, NULL, err);
    if (rc == 0)
        rc = lambda_durable_callback_result(child, id, result, err);
    /* A result that is not JSON (the sender's raw text) is kept as a JSON
     * string, so that the context can record it. */
    if (rc == 0 && *result && !durable_is_json(*result)) {
        cJSON *s = cJSON_CreateString(*result);
        free(*result);
        *result = s ? cJSON_PrintUnformatted(s) : NULL;
        cJSON_Delete(s);
        if (!*result)
            rc = durable_fail_run(child->run, err, "Durable.OutOfMemory", "out of memory");
    }
    free(id);
    w->callback_id = NULL;
    return rc;
}

int lambda_durable_wait_for_callback(lambda_durable_context *ctx, const char *name,
                                     lambda_durable_submit_fn submit, void *arg,
                                     const lambda_durable_callback_config *config, char **result,
                                     lambda_error *err)
{
    if (!submit)
        return durable_fail_run(ctx->run, err, "InvalidInput",
                                "lambda_durable_wait_for_callback: no submit function");
    wait_call w = {submit, arg, config, NULL};
    return durable_run_context(ctx, name, "WaitForCallback", wait_body, &w, result, err);
}

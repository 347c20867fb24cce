/*
 * The run's bookkeeping: operation ids, the replay check, the queue of
 * updates and its flush, suspension and failure.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int durable_guard(const lambda_durable_context *ctx, lambda_error *err)
{
    if (ctx->run->mode == RUN_ACTIVE)
        return 0;
    *err = ctx->run->stop;
    return -1;
}

/* The next operation id of `ctx` into buf (DURABLE_ID_MAX + 1 bytes). */
static int next_id(lambda_durable_context *ctx, char *buf, lambda_error *err)
{
    unsigned n = ++ctx->counter;
    int len = ctx->parent_id ? snprintf(buf, DURABLE_ID_MAX + 1, "%s-%u", ctx->parent_id, n)
                             : snprintf(buf, DURABLE_ID_MAX + 1, "%u", n);
    if (len < 0 || len > DURABLE_ID_MAX)
        return durable_fail_run(ctx->run, err, "Durable.InvalidOperation",
                                "child contexts nested too deep: operation ids would pass %d "
                                "characters",
                                DURABLE_ID_MAX);
    return 0;
}

static int same_name(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The handler reached completed record `op`: once it has reached every
 * record completed before this invocation, what follows is new work (the
 * Python SDK's rule), even before the next operation starts. */
static void replayed(durable_run *run, durable_op *op)
{
    if (op->replayed)
        return;
    op->replayed = 1;
    if (run->replay_left > 0 && --run->replay_left == 0)
        run->replaying = 0;
}

void durable_replay_skip_children(durable_run *run, const char *id)
{
    size_t n = strlen(id);
    for (size_t i = 0; i < run->state.cap; i++) {
        durable_op *op = run->state.slots[i];
        /* Ids are positional: "2-1", "2-1-3" are inside context "2". */
        if (op && durable_status_terminal(op->status) && strncmp(op->id, id, n) == 0 &&
            op->id[n] == '-')
            replayed(run, op);
    }
}

/* The recorded operation at `id` (NULL when none), or -1 when it is not
 * the `type` and `name` the code now asks for (the run fails). */
static int lookup(durable_run *run, const char *id, durable_op_type type, const char *name,
                  const durable_op **out, lambda_error *err)
{
    const durable_op *op = durable_state_get(&run->state, id);
    *out = NULL;
    if (!op) {
        run->replaying = 0;
        return 0;
    }
    if (op->type != type || !same_name(op->name, name)) {
        /* The code asked for another operation at this position than the
         * one recorded: replaying on would pair results with the wrong
         * operations. */
        return durable_fail_run(
            run, err, "Durable.NonDeterministicExecution",
            "non-deterministic execution: operation %s was checkpointed as %s '%s' but the "
            "current code asks for %s '%s' there: the handler's operations must run in the "
            "same order with the same names on every invocation",
            id, durable_op_type_name(op->type), op->name ? op->name : "",
            durable_op_type_name(type), name ? name : "");
    }
    if (!durable_status_terminal(op->status))
        run->replaying = 0;
    else
        replayed(run, (durable_op *)op);
    *out = op;
    return 0;
}

int durable_begin_op(lambda_durable_context *ctx, durable_op_type type, const char *what,
                     const char *name, durable_begin *b, lambda_error *err)
{
    b->op = NULL;
    if (durable_guard(ctx, err) != 0)
        return -1;
    if (name && strlen(name) > DURABLE_NAME_MAX)
        return durable_fail_run(ctx->run, err, "InvalidInput", "%s name longer than %d characters",
                                what, DURABLE_NAME_MAX);
    if (next_id(ctx, b->id, err) != 0)
        return -1;
    return lookup(ctx->run, b->id, type, name, &b->op, err);
}

static int queued(const cJSON *pending, const char *id)
{
    const cJSON *u;
    cJSON_ArrayForEach(u, pending)
    {
        const cJSON *uid = cJSON_GetObjectItemCaseSensitive(u, "Id");
        if (cJSON_IsString(uid) && strcmp(uid->valuestring, id) == 0)
            return 1;
    }
    return 0;
}

cJSON *durable_queue(lambda_durable_context *ctx, const char *id, durable_op_type type,
                     const char *sub_type, const char *action, const char *name, lambda_error *err)
{
    if (queued(ctx->run->pending, id) && durable_flush(ctx->run, err) != 0)
        return NULL;
    cJSON *u = cJSON_CreateObject();
    if (!u) {
        durable_fail_run(ctx->run, err, "Durable.OutOfMemory", "out of memory");
        return NULL;
    }
    cJSON_AddStringToObject(u, "Id", id);
    if (ctx->parent_id)
        cJSON_AddStringToObject(u, "ParentId", ctx->parent_id);
    if (name)
        cJSON_AddStringToObject(u, "Name", name);
    cJSON_AddStringToObject(u, "Type", durable_op_type_name(type));
    if (sub_type)
        cJSON_AddStringToObject(u, "SubType", sub_type);
    cJSON_AddStringToObject(u, "Action", action);
    if (!cJSON_AddItemToArray(ctx->run->pending, u)) {
        cJSON_Delete(u);
        durable_fail_run(ctx->run, err, "Durable.OutOfMemory", "out of memory");
        return NULL;
    }
    return u;
}

int durable_flush(durable_run *run, lambda_error *err)
{
    if (cJSON_GetArraySize(run->pending) == 0)
        return 0;
    durable_call_failure failure = CALL_TERMINAL;
    int rc = durable_client_checkpoint(&run->client, run->pending, &run->state, &failure, err);
    /* Sent or not, these updates are done with: a failed call ends the
     * invocation, and the next one replays from the service's state. */
    cJSON_Delete(run->pending);
    run->pending = cJSON_CreateArray();
    if (rc == 0 && !run->pending)
        lambda_error_set(err, "Durable.OutOfMemory", "out of memory"), rc = -1;
    if (rc != 0 && run->mode == RUN_ACTIVE) {
        run->mode = failure == CALL_TERMINAL ? RUN_FAILED : RUN_INVOCATION_ERROR;
        run->stop = *err;
    }
    return rc;
}

int durable_suspend(durable_run *run, const char *why, lambda_error *err)
{
    if (durable_flush(run, err) != 0)
        return -1;
    run->mode = RUN_SUSPENDED;
    lambda_error_set(&run->stop, "Durable.Suspended", "%s", why);
    *err = run->stop;
    return -1;
}

int durable_fail_run(durable_run *run, lambda_error *err, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->stop.message, sizeof run->stop.message, fmt, ap);
    va_end(ap);
    snprintf(run->stop.type, sizeof run->stop.type, "%s", type);
    run->mode = RUN_FAILED;
    *err = run->stop;
    return -1;
}

cJSON *durable_error_json(const char *type, const char *message)
{
    cJSON *e = cJSON_CreateObject();
    if (!e)
        return NULL;
    if (type && *type)
        cJSON_AddStringToObject(e, "ErrorType", type);
    if (message && *message)
        cJSON_AddStringToObject(e, "ErrorMessage", message);
    return e;
}

double durable_random(durable_run *run)
{
    const lambda_durable_config *c = run->config;
    if (c && c->random) {
        double r = c->random(c->random_data);
        return r < 0 ? 0 : r >= 1 ? 0.999999 : r;
    }
    /* Jitter only spreads retries apart; it needs no cryptographic
     * strength. */
    run->seed = run->seed * 1103515245u + 12345u;
    return (double)((run->seed >> 8) & 0xFFFFFF) / (double)0x1000000;
}

int lambda_durable_suspended(const lambda_durable_context *ctx)
{
    return ctx->run->mode == RUN_SUSPENDED;
}

int lambda_durable_replaying(const lambda_durable_context *ctx)
{
    return ctx->run->replaying;
}

const char *lambda_durable_execution_arn(const lambda_durable_context *ctx)
{
    return ctx->run->arn;
}

const lambda_context *lambda_durable_lambda_context(const lambda_durable_context *ctx)
{
    return ctx->run->lambda_ctx;
}

int durable_copy_out(durable_run *run, const char *json, char **result, lambda_error *err)
{
    if (!result)
        return 0;
    *result = strdup(json ? json : "null");
    if (*result)
        return 0;
    run->mode = RUN_INVOCATION_ERROR;
    lambda_error_set(&run->stop, "Durable.OutOfMemory", "out of memory");
    *err = run->stop;
    return -1;
}

int durable_recorded_error(const durable_op *op, const char *fallback_type, lambda_error *err)
{
    lambda_error_set(err, op->error_type ? op->error_type : fallback_type, "%s",
                     op->error_message ? op->error_message : "");
    return -1;
}

int durable_is_json(const char *json)
{
    cJSON *j = cJSON_Parse(json);
    int ok = j != NULL;
    cJSON_Delete(j);
    return ok;
}

/*
 * Child contexts (CONTEXT operations) and what is built on them: map and
 * parallel, each item or branch a child context of its own inside the
 * batch's, run one after the other, ids deterministic by position.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The service's limit on one operation's payload: a batch result above it
 * is not stored; the context is marked ReplayChildren instead and replay
 * rebuilds the result from the children's records. */
#define CONTEXT_PAYLOAD_MAX (256 * 1024)

/* Records the context's outcome. */
static int close_context(lambda_durable_context *ctx, const char *id, const char *name,
                         const char *sub_type, const char *out, const lambda_error *failure,
                         lambda_error *err)
{
    durable_run *run = ctx->run;
    cJSON *u =
        durable_queue(ctx, id, OP_CONTEXT, sub_type, failure ? "FAIL" : "SUCCEED", name, err);
    if (!u)
        return -1;
    int ok = 1;
    if (failure) {
        ok = cJSON_AddItemToObject(u, "Error", durable_error_json(failure->type, failure->message));
    } else if (strlen(out) > CONTEXT_PAYLOAD_MAX) {
        cJSON *opts = cJSON_AddObjectToObject(u, "ContextOptions");
        ok = opts && cJSON_AddBoolToObject(opts, "ReplayChildren", 1);
    } else {
        ok = cJSON_AddStringToObject(u, "Payload", out) != NULL;
    }
    if (!ok)
        return durable_fail_run(run, err, "Durable.OutOfMemory", "out of memory");
    return durable_flush(run, err);
}

int durable_run_context(lambda_durable_context *ctx, const char *name, const char *sub_type,
                        lambda_durable_child_fn body, void *arg, char **result, lambda_error *err)
{
    if (result)
        *result = NULL;
    durable_run *run = ctx->run;
    durable_begin b;
    if (durable_begin_op(ctx, OP_CONTEXT, "context", name, &b, err) != 0)
        return -1;
    const durable_op *op = b.op;
    const char *id = b.id;
    int replay_children = op && op->status == ST_SUCCEEDED && op->replay_children;
    if (op && durable_status_terminal(op->status) && !replay_children) {
        durable_replay_skip_children(run, id);
        if (op->status == ST_SUCCEEDED)
            return durable_copy_out(run, op->result, result, err);
        return durable_recorded_error(op, "Durable.ContextFailed", err);
    }
    if (!op && !durable_queue(ctx, id, OP_CONTEXT, sub_type, "START", name, err))
        return -1;
    /* The START may stay queued: the children's updates follow it in the
     * same request, after it as the service requires. */
    lambda_durable_context child = {run, id, 0};
    char *out = NULL;
    lambda_error failure = {{0}, {0}};
    int rc = body(&child, arg, &out, &failure);
    if (durable_guard(ctx, err) != 0) {
        free(out);
        return -1;
    }
    if (rc == 0 && out && !durable_is_json(out)) {
        rc = -1;
        lambda_error_set(&failure, "Durable.SerializationError",
                         "context %s returned a result that is not JSON", id);
    }
    if (rc != 0 && !failure.type[0])
        snprintf(failure.type, sizeof failure.type, "Durable.ContextFailed");
    /* Replayed from its children: recorded already. */
    if (!replay_children && close_context(ctx, id, name, sub_type, out ? out : "null",
                                          rc == 0 ? NULL : &failure, err) != 0) {
        free(out);
        return -1;
    }
    if (rc != 0) {
        free(out);
        *err = failure;
        return -1;
    }
    rc = durable_copy_out(run, out, result, err);
    free(out);
    return rc;
}

int lambda_durable_run_in_child_context(lambda_durable_context *ctx, const char *name,
                                        lambda_durable_child_fn fn, void *arg, char **result,
                                        lambda_error *err)
{
    if (!fn)
        return durable_fail_run(ctx->run, err, "InvalidInput",
                                "lambda_durable_run_in_child_context: no function");
    return durable_run_context(ctx, name, "RunInChildContext", fn, arg, result, err);
}

/* ---- batches (map, parallel) ---------------------------------------------- */

/* Runs item `index` in `child` (a child context of its own). */
typedef int (*item_runner)(lambda_durable_context *batch_ctx, size_t index, void *arg,
                           char **result, lambda_error *err);

typedef struct batch {
    size_t count;
    item_runner run_item;
    void *arg;
    const lambda_durable_batch_config *config;
} batch;

static int failures_exceeded(const lambda_durable_batch_config *c, size_t failed, size_t total)
{
    return c && ((c->tolerate_failures && failed > c->tolerated_failures) ||
                 (c->tolerated_failure_ratio > 0 && total &&
                  (double)failed / (double)total > c->tolerated_failure_ratio));
}

/* Whether the policy stops the batch now; *reason says why. */
static int policy_stops(const lambda_durable_batch_config *c, size_t ok, size_t failed,
                        size_t total, const char **reason)
{
    if (c && c->min_successful && ok >= c->min_successful) {
        *reason = "MIN_SUCCESSFUL_REACHED";
        return 1;
    }
    if (failures_exceeded(c, failed, total)) {
        *reason = "FAILURE_TOLERANCE_EXCEEDED";
        return 1;
    }
    return 0;
}

static cJSON *item_entry(size_t index, const char *status)
{
    cJSON *e = cJSON_CreateObject();
    if (e) {
        cJSON_AddNumberToObject(e, "index", (double)index);
        cJSON_AddStringToObject(e, "status", status);
    }
    return e;
}

/* The batch's body: every item in turn, the policy consulted after each;
 * the batch result as its JSON result. */
static int batch_body(lambda_durable_context *bctx, void *arg, char **result, lambda_error *err)
{
    const batch *b = arg;
    cJSON *out = cJSON_CreateObject();
    cJSON *all = out ? cJSON_AddArrayToObject(out, "all") : NULL;
    size_t ok = 0, failed = 0, i = 0;
    const char *reason = "ALL_COMPLETED";
    int stopped = 0;
    if (!all) {
        cJSON_Delete(out);
        return durable_fail_run(bctx->run, err, "Durable.OutOfMemory", "out of memory");
    }
    for (; i < b->count && !stopped; i++) {
        char *item = NULL;
        lambda_error ierr = {{0}, {0}};
        int rc = b->run_item(bctx, i, b->arg, &item, &ierr);
        if (bctx->run->mode != RUN_ACTIVE) {
            free(item);
            cJSON_Delete(out);
            return durable_guard(bctx, err);
        }
        cJSON *e = item_entry(i, rc == 0 ? "SUCCEEDED" : "FAILED");
        if (rc == 0) {
            ok++;
            cJSON_AddItemToObject(e, "result", cJSON_Parse(item ? item : "null"));
        } else {
            failed++;
            cJSON_AddItemToObject(e, "error", durable_error_json(ierr.type, ierr.message));
        }
        free(item);
        cJSON_AddItemToArray(all, e);
        stopped = i + 1 < b->count && policy_stops(b->config, ok, failed, b->count, &reason);
    }
    /* Items the policy did not start are not in the result: totalCount
     * counts the started ones, as AWS's conformance cases expect (8.8). */
    /* Every item ran: the batch completed, unless the last failure went past
     * the tolerance. */
    if (!stopped)
        reason = failures_exceeded(b->config, failed, b->count) ? "FAILURE_TOLERANCE_EXCEEDED"
                                                                : "ALL_COMPLETED";
    cJSON_AddNumberToObject(out, "successCount", (double)ok);
    cJSON_AddNumberToObject(out, "failureCount", (double)failed);
    cJSON_AddNumberToObject(out, "totalCount", (double)(ok + failed));
    cJSON_AddStringToObject(out, "completionReason", reason);
    cJSON_AddStringToObject(out, "status", failed ? "FAILED" : "SUCCEEDED");
    *result = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    if (!*result)
        return durable_fail_run(bctx->run, err, "Durable.OutOfMemory", "out of memory");
    return 0;
}

/* ---- map ------------------------------------------------------------------ */

typedef struct map_call {
    const cJSON *items;
    lambda_durable_map_fn fn;
    void *arg;
    size_t index;
} map_call;

static int map_item_body(lambda_durable_context *child, void *arg, char **result, lambda_error *err)
{
    map_call *m = arg;
    char *item = cJSON_PrintUnformatted(cJSON_GetArrayItem(m->items, (int)m->index));
    if (!item)
        return durable_fail_run(child->run, err, "Durable.OutOfMemory", "out of memory");
    int rc = m->fn(child, m->index, item, m->arg, result, err);
    free(item);
    return rc;
}

static int map_run_item(lambda_durable_context *bctx, size_t index, void *arg, char **result,
                        lambda_error *err)
{
    map_call *m = arg;
    m->index = index;
    return durable_run_context(bctx, NULL, "MapIteration", map_item_body, m, result, err);
}

int lambda_durable_map(lambda_durable_context *ctx, const char *name, const char *items,
                       lambda_durable_map_fn fn, void *arg,
                       const lambda_durable_batch_config *config, char **result, lambda_error *err)
{
    if (result)
        *result = NULL;
    if (durable_guard(ctx, err) != 0)
        return -1;
    cJSON *list = items ? cJSON_Parse(items) : NULL;
    if (!fn || !cJSON_IsArray(list)) {
        cJSON_Delete(list);
        return durable_fail_run(ctx->run, err, "InvalidInput",
                                "lambda_durable_map: items must be a JSON array and fn set");
    }
    map_call m = {list, fn, arg, 0};
    batch b = {(size_t)cJSON_GetArraySize(list), map_run_item, &m, config};
    int rc = durable_run_context(ctx, name, "Map", batch_body, &b, result, err);
    cJSON_Delete(list);
    return rc;
}

/* ---- parallel ------------------------------------------------------------- */

typedef struct parallel_call {
    const lambda_durable_branch *branches;
} parallel_call;

static int parallel_run_item(lambda_durable_context *bctx, size_t index, void *arg, char **result,
                             lambda_error *err)
{
    const parallel_call *p = arg;
    const lambda_durable_branch *br = &p->branches[index];
    return durable_run_context(bctx, br->name, "ParallelBranch", br->fn, br->arg, result, err);
}

int lambda_durable_parallel(lambda_durable_context *ctx, const char *name,
                            const lambda_durable_branch *branches, size_t count,
                            const lambda_durable_batch_config *config, char **result,
                            lambda_error *err)
{
    if (result)
        *result = NULL;
    if (durable_guard(ctx, err) != 0)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (!branches || !branches[i].fn)
            return durable_fail_run(ctx->run, err, "InvalidInput",
                                    "lambda_durable_parallel: branch %zu has no function", i);
    parallel_call p = {branches};
    batch b = {count, parallel_run_item, &p, config};
    return durable_run_context(ctx, name, "Parallel", batch_body, &b, result, err);
}

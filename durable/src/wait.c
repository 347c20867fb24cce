/*
 * Waits: checkpoint WAIT START with the seconds and suspend; on a later
 * invocation the service has marked it SUCCEEDED and the call returns.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* 1 s .. a year (366 days), the service's range for WaitSeconds. */
#define WAIT_MIN_S 1L
#define WAIT_MAX_S 31622400L

int lambda_durable_wait(lambda_durable_context *ctx, const char *name, long seconds,
                        lambda_error *err)
{
    if (durable_guard(ctx, err) != 0)
        return -1;
    durable_run *run = ctx->run;
    if (seconds < WAIT_MIN_S || seconds > WAIT_MAX_S)
        return durable_fail_run(run, err, "InvalidInput",
                                "lambda_durable_wait: %ld seconds is outside %ld..%ld", seconds,
                                WAIT_MIN_S, WAIT_MAX_S);
    durable_begin b;
    if (durable_begin_op(ctx, OP_WAIT, "wait", name, &b, err) != 0)
        return -1;
    const durable_op *op = b.op;
    const char *id = b.id;
    char why[120];
    snprintf(why, sizeof why, "wait %s: %ld s", id, seconds);
    if (!op) {
        cJSON *u = durable_queue(ctx, id, OP_WAIT, "Wait", "START", name, err);
        if (!u)
            return -1;
        cJSON *opts = cJSON_AddObjectToObject(u, "WaitOptions");
        if (!opts || !cJSON_AddNumberToObject(opts, "WaitSeconds", (double)seconds))
            return durable_fail_run(run, err, "Durable.OutOfMemory", "out of memory");
        return durable_suspend(run, why, err);
    }
    if (durable_status_terminal(op->status))
        return 0; /* over (SUCCEEDED) or cancelled: either way the wait is done */
    return durable_suspend(run, why, err);
}

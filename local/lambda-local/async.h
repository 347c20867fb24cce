/*
 * Asynchronous (Event) invocations, as Lambda handles them: accepted at
 * once (202), run in the background; on a function error (an error the
 * function returned, a timeout, a crash) retried — twice by default, or
 * EventInvokeConfig.MaximumRetryAttempts — after Lambda's delays of 1
 * minute, then 2 minutes (scaled by --async-time-scale for tests), keeping
 * the request id. When the retries are exhausted the event becomes
 * Lambda's on-failure destination record (version, timestamp,
 * requestContext{requestId, functionArn, condition "RetriesExhausted",
 * approximateInvokeCount}, requestPayload, responseContext,
 * responsePayload), written to --async-failure-dir DIR as
 * DIR/<function>/<timestamp>-<request id>.json; without that folder it is
 * only logged, as Lambda drops it without a destination.
 *
 * One scheduler thread holds the retries that wait for their time. An
 * invocation's completion (from whichever thread completes it) hands it to
 * that thread, which never calls back into a pool with a lock of its own
 * held. lambda_local_async_stop() runs before the pools shut down: retries
 * still waiting are dropped (and logged), later completions are ignored,
 * so no timer outlives the pools.
 */
#ifndef LAMBDA_LOCAL_ASYNC_H
#define LAMBDA_LOCAL_ASYNC_H

#include "invocation.h"
#include "pool.h"

typedef struct lambda_local_async_config {
    double time_scale;       /* 1.0: Lambda's delays; 0.001: 60 ms, 120 ms */
    const char *failure_dir; /* on-failure records, or NULL */
} lambda_local_async_config;

/* Starts the scheduler (once, before the Invoke API). Returns 0, or -1
 * with `err` set. */
int lambda_local_async_start(const lambda_local_async_config *config, char *err, size_t errlen);

/* Runs Event invocation `inv` (the caller keeps its own reference). Without
 * a started scheduler it is simply submitted once. */
void lambda_local_async_submit(lambda_local_pool *pool, lambda_local_invocation *inv);

/* Drops pending retries and joins the scheduler; completions after this
 * are ignored. Safe without a start. */
void lambda_local_async_stop(void);

#endif

/*
 * lambda-local's local durable-execution service: the Lambda API's
 * /2025-12-01/ durable operations on the Invoke API's port, executions
 * started by an Invoke carrying X-Amz-Durable-Execution-Name, and the
 * re-invocations that drive them (after each PENDING answer, when a wait, a
 * step retry or a callback comes due). The function sees the service only
 * through its invocation event (the envelope) and the HTTP API, reached at
 * AWS_ENDPOINT_URL_LAMBDA, as on AWS.
 *
 * Thread safety: every function may be called from any thread; one lock
 * guards the service. Ownership: the service borrows the pools (they must
 * outlive it) and owns its executions.
 */
#ifndef LAMBDA_LOCAL_DURABLE_H
#define LAMBDA_LOCAL_DURABLE_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "pool.h"

typedef struct lambda_local_durable lambda_local_durable;

typedef struct lambda_local_durable_config {
    /* Wall-clock seconds per durable second for timers (waits, step retries,
     * callback timeouts): 1 = real time, 0.001 = an hour in 3.6 s, 0 = due
     * at once. */
    double time_scale;
    /* Executions are kept here (one JSON file each) and reloaded at start,
     * or NULL: in memory only. */
    const char *state_dir;
    /* The one-shot invoke's: only the execution `drive_name` of function
     * `drive_function` is invoked (other RUNNING executions of the state
     * directory stay as they are), or NULL: every execution. */
    const char *drive_function;
    const char *drive_name;
} lambda_local_durable_config;

/* Loads the state directory (if any). NULL with a message in `err` when
 * the state directory cannot be used. Nothing is invoked before
 * lambda_local_durable_start(). */
lambda_local_durable *lambda_local_durable_new(lambda_local_pool *const *pools, size_t count,
                                               const lambda_local_durable_config *config, char *err,
                                               size_t errlen);
/* Starts the timer thread, which invokes functions (resumed executions at
 * once): call it once the Invoke API listens and
 * lambda_local_globals.lambda_endpoint is set, or a function could start
 * without AWS_ENDPOINT_URL_LAMBDA. Returns 0, or -1 with a message. */
int lambda_local_durable_start(lambda_local_durable *d, char *err, size_t errlen);
/* Stops the timer thread and the invocations it drives, before the pools
 * shut down: executions stay RUNNING (and on disk) instead of failing. */
void lambda_local_durable_stop(lambda_local_durable *d);
void lambda_local_durable_free(lambda_local_durable *d);

/* Serves a /2025-12-01/ request: true when `url` is one (the answer is
 * queued, its MHD result in *result). */
bool lambda_local_durable_route(lambda_local_durable *d, struct MHD_Connection *conn,
                                const char *url, const char *method, lambda_local_body *body,
                                enum MHD_Result *result);

/* Invoke with X-Amz-Durable-Execution-Name: starts (or joins) the execution
 * and answers — 202 for Event, the execution's result for RequestResponse —
 * with X-Amz-Durable-Execution-Arn. Takes `payload` (malloc'd JSON). */
enum MHD_Result lambda_local_durable_invoke(lambda_local_durable *d, struct MHD_Connection *conn,
                                            lambda_local_pool *pool, const char *function_arn,
                                            const char *name, char *payload, size_t len,
                                            bool event);

/* The one-shot invoke (`lambda-local invoke`), as `sam local invoke
 * --durable-execution-name` drives an execution: start it (or join it: the
 * same name and input), then wait for its end. */

/* Starts (or joins) execution `name` of `pool`'s function with `payload`
 * (JSON) and sets *arn (malloc'd). Returns 0, or -1 with the API's error in
 * `err` ("Type: message": an invalid name, the name taken with another
 * input). */
int lambda_local_durable_begin(lambda_local_durable *d, lambda_local_pool *pool,
                               const char *function_arn, const char *name, const char *payload,
                               char **arn, char *err, size_t errlen);

typedef struct lambda_local_durable_outcome {
    cJSON *execution; /* GetDurableExecution's answer (with its data) */
    char *body;       /* what a synchronous Invoke answers: the result, or */
    size_t len;       /* the error as a function error's JSON (failed) */
    bool failed;      /* FAILED, TIMED_OUT or STOPPED */
} lambda_local_durable_outcome;

/* Waits until execution `arn` ends and fills *out (free it with
 * lambda_local_durable_outcome_free). `on_callback(arg, id)` is called for
 * each callback the execution waits for (under the service's lock: it must
 * not call into the service). Returns 0, or -1 when the service stopped
 * first (the execution is still RUNNING; *out is empty). */
int lambda_local_durable_wait(lambda_local_durable *d, const char *arn,
                              void (*on_callback)(void *arg, const char *callback_id), void *arg,
                              lambda_local_durable_outcome *out);
void lambda_local_durable_outcome_free(lambda_local_durable_outcome *out);

#endif

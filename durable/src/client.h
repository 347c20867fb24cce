/*
 * The durable-execution service calls the SDK makes:
 * CheckpointDurableExecution and GetDurableExecutionState (rest-json under
 * /2025-12-01/, SigV4 "lambda"), over the shared request core, with the
 * checkpoint token chained from call to call. Internal to lambda::durable.
 */
#ifndef LAMBDA_DURABLE_CLIENT_H
#define LAMBDA_DURABLE_CLIENT_H

#include <lambda/durable.h>

#include "aws_json.h"
#include "state.h"

typedef struct durable_client {
    lambda__aws_service svc;
    char *arn_path; /* /2025-12-01/durable-executions/<escaped ARN> */
    char *token;    /* the next call's checkpoint token (single use) */
    int calls;      /* checkpoint calls made (logs, tests) */
} durable_client;

/* What a failed call means for the invocation. */
typedef enum durable_call_failure {
    CALL_RETRY_INVOCATION, /* transient or a stale token: fail the invocation, Lambda retries */
    CALL_TERMINAL          /* the service refused the update: the execution fails */
} durable_call_failure;

int durable_client_init(durable_client *c, const lambda_durable_config *config, const char *arn,
                        const char *token, lambda_error *err);
void durable_client_free(durable_client *c);

/* Pages through GetDurableExecutionState from `marker` into `st`. 0, or -1
 * with err and *failure. */
int durable_client_load(durable_client *c, const char *marker, durable_state *st,
                        durable_call_failure *failure, lambda_error *err);

/* CheckpointDurableExecution with `updates` (a JSON array, borrowed): on
 * success the returned token replaces the used one and NewExecutionState
 * (every page of it) is merged into `st`. 0, or -1 with err and *failure
 * (the token is then not reused: the call may have been applied). */
int durable_client_checkpoint(durable_client *c, const cJSON *updates, durable_state *st,
                              durable_call_failure *failure, lambda_error *err);

#endif /* LAMBDA_DURABLE_CLIENT_H */

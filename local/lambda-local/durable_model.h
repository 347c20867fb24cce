/*
 * The durable-execution model of lambda-local's local durable service: one
 * execution, its operations (in the AWS `Operation` shape, kept as cJSON so
 * that answers and the state file are the same objects), its history
 * events, and the rules the service applies to them — checkpoint
 * validation and application, single-use checkpoint tokens, timers, the
 * invocation envelope, state paging. No HTTP and no threads here: the
 * caller (durable_service.c) holds the lock and supplies the clock.
 *
 * Times are wall-clock milliseconds since the epoch. Timer due times are
 * already scaled by the service's time scale (`scale`): a 3600 s wait with
 * scale 0.001 is due 3.6 s later, and its ScheduledEndTimestamp says so.
 */
#ifndef LAMBDA_LOCAL_DURABLE_MODEL_H
#define LAMBDA_LOCAL_DURABLE_MODEL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits, as the Lambda API reference states them (README: "what is
 * enforced"). */
#define DURABLE_ID_MAX 64            /* Id, ParentId, DurableExecutionName */
#define DURABLE_NAME_MAX 256         /* OperationUpdate.Name */
#define DURABLE_PAYLOAD_MAX 262144   /* an operation's Payload: 256 KB */
#define DURABLE_ERROR_MAX 32768      /* an ErrorObject, serialized */
#define DURABLE_SECONDS_MAX 31622400 /* WaitSeconds, NextAttemptDelaySeconds */
#define DURABLE_CALLBACK_TIMEOUT_MAX 99999999
#define DURABLE_STATE_PAGE_MAX 1000 /* GetDurableExecutionState MaxItems */

typedef enum durable_status {
    DURABLE_RUNNING,
    DURABLE_SUCCEEDED,
    DURABLE_FAILED,
    DURABLE_TIMED_OUT,
    DURABLE_STOPPED
} durable_status;

/* One operation plus what only the service knows about it. */
typedef struct durable_op {
    cJSON *op;           /* the Operation as the API shows it */
    uint64_t seq;        /* the execution's change counter when it last changed */
    int64_t due_ms;      /* when its timer fires (wait end, retry, callback timeout); -1: none */
    int64_t heartbeat_s; /* CALLBACK: HeartbeatTimeoutSeconds (0: none) */
} durable_op;

typedef struct durable_exec {
    char *arn;
    char *name;
    char *id; /* the ARN's last part, also the EXECUTION operation's Id */
    char *function_name;
    char *function_arn;
    char *input; /* InputPayload */
    durable_status status;
    int64_t start_ms, end_ms;
    long timeout_s;         /* DurableConfig.ExecutionTimeout, 0: none */
    int64_t timeout_due_ms; /* when it times out (scaled), -1: never */
    char *result;           /* when SUCCEEDED, or NULL */
    cJSON *error;           /* ErrorObject when FAILED/STOPPED/TIMED_OUT, or NULL */
    durable_op *ops;        /* in creation order; ops[0] is the EXECUTION operation */
    size_t nops, capops;
    cJSON *events; /* history: array of Event */
    uint64_t seq;  /* change counter */
    /* The one checkpoint token that is valid now, and the change counter at
     * the time it was issued (NewExecutionState returns what changed since).
     * Empty when no invocation is running. */
    char token[64];
    uint64_t token_seq;
    /* Tokens issued during the current invocation stay valid for
     * GetDurableExecutionState (the SDK pages the state it started with). */
    char recent_tokens[8][64];
    unsigned recent_next;
    /* ClientToken idempotency: a retried checkpoint (same ClientToken, same
     * consumed token) gets the answer it got the first time. */
    char *client_token;
    char *client_consumed;
    char *client_answer;

    /* Scheduling (durable_service.c). */
    bool invoking;          /* an invocation is running */
    bool dirty;             /* state changed by a timer/callback during it */
    int64_t invoke_at_ms;   /* next invocation; -1: when a timer fires */
    int failed_invocations; /* consecutive */
    bool persisted_dirty;   /* needs writing to the state dir */
} durable_exec;

typedef struct durable_error {
    unsigned status;  /* HTTP status */
    const char *type; /* x-amzn-ErrorType */
    char message[512];
} durable_error;

const char *durable_status_name(durable_status s);

/* A name is 1..64 of [a-zA-Z0-9-_]. */
bool durable_valid_name(const char *name);

/* A new RUNNING execution with its EXECUTION operation (STARTED) and its
 * ExecutionStarted event. */
durable_exec *durable_exec_new(const char *function_name, const char *function_arn,
                               const char *name, const char *input, int64_t now_ms);
/* DurableConfig.ExecutionTimeout: TIMED_OUT `seconds` (scaled) after the
 * start. Call right after durable_exec_new(). */
void durable_set_timeout(durable_exec *e, long seconds, double scale);
void durable_exec_free(durable_exec *e);

/* A new checkpoint token for a new invocation (the previous one dies) and
 * the invocation's event: {"DurableExecutionArn","CheckpointToken",
 * "InitialExecutionState":{"Operations":[...],"NextMarker"}} (malloc'd). */
char *durable_envelope(durable_exec *e, size_t *len);

/* CheckpointDurableExecution: validates every update, then applies them all
 * (or none). Returns the answer body (malloc'd) or NULL with *err set. */
char *durable_checkpoint(durable_exec *e, const char *body, size_t len, double scale,
                         int64_t now_ms, durable_error *err);

/* GetDurableExecutionState: a page of operations. */
char *durable_state_page(durable_exec *e, const char *token, const char *marker,
                         const char *max_items, durable_error *err);

/* Fires timers due at `now_ms` (wait -> SUCCEEDED, retry -> READY, callback
 * timeouts -> TIMED_OUT). Returns true if any operation changed. */
bool durable_fire_timers(durable_exec *e, int64_t now_ms);
/* The earliest timer, or -1. */
int64_t durable_next_timer(const durable_exec *e);
/* True if the execution waits for something (a timer, a callback, a READY
 * step): PENDING is a valid answer only then. */
bool durable_has_pending(const durable_exec *e);
/* True if a step's retry delay has passed (READY): the function should run. */
bool durable_has_ready(const durable_exec *e);

/* Ends the execution (no-op if it has ended). `result`/`error` may be NULL;
 * `error` is copied. Stops timers, records the event. */
void durable_finish(durable_exec *e, durable_status status, const char *result, const cJSON *error,
                    int64_t now_ms);
/* An invocation ended: records InvocationCompleted. */
void durable_invocation_completed(durable_exec *e, int64_t start_ms, int64_t end_ms,
                                  const char *request_id, const cJSON *error);

/* Callbacks: the operation with this CallbackId, or NULL. */
durable_op *durable_find_callback(durable_exec *e, const char *callback_id);
/* SendDurableExecutionCallbackSuccess/Failure/Heartbeat on `op`. */
bool durable_callback_complete(durable_exec *e, durable_op *op, bool success, const char *result,
                               size_t result_len, const cJSON *error, int64_t now_ms,
                               durable_error *err);
bool durable_callback_heartbeat(durable_exec *e, durable_op *op, double scale, int64_t now_ms,
                                durable_error *err);

/* GetDurableExecution's answer; the Execution summary of a listing. */
cJSON *durable_describe(const durable_exec *e, bool include_data);
cJSON *durable_summary(const durable_exec *e);
/* GetDurableExecutionHistory: a page of events. */
char *durable_history_page(const durable_exec *e, bool include_data, bool reverse,
                           const char *marker, const char *max_items, durable_error *err);

/* The state file: everything above but the scheduling flags. */
char *durable_serialize(const durable_exec *e);
durable_exec *durable_deserialize(const char *json);

/* Epoch-seconds timestamp as rest-json writes it (a number, ms precision). */
cJSON *durable_timestamp(int64_t ms);

#endif

/*
 * The execution's operations as the service records them: read from the
 * invocation envelope, GetDurableExecutionState pages and checkpoint
 * answers (cJSON), checked field by field, and kept in a table by id.
 * Internal to lambda::durable; the fuzz target drives it directly.
 */
#ifndef LAMBDA_DURABLE_STATE_H
#define LAMBDA_DURABLE_STATE_H

#include <cjson/cJSON.h>
#include <lambda/runtime.h>
#include <stddef.h>

typedef enum durable_op_type {
    OP_EXECUTION,
    OP_CONTEXT,
    OP_STEP,
    OP_WAIT,
    OP_CALLBACK,
    OP_CHAINED_INVOKE,
    OP_TYPE_COUNT
} durable_op_type;

typedef enum durable_op_status {
    ST_STARTED,
    ST_PENDING,
    ST_READY,
    ST_SUCCEEDED,
    ST_FAILED,
    ST_CANCELLED,
    ST_TIMED_OUT,
    ST_STOPPED,
    ST_STATUS_COUNT
} durable_op_status;

/* One operation. Strings are owned (NULL when absent). */
typedef struct durable_op {
    char *id;
    char *parent_id;
    char *name;
    char *sub_type;
    durable_op_type type;
    durable_op_status status;
    int attempt;         /* StepDetails.Attempt (0 when absent) */
    char *result;        /* <Type>Details.Result */
    int has_error;       /* <Type>Details.Error present */
    char *error_type;    /* its ErrorType */
    char *error_message; /* its ErrorMessage */
    char *error_data;    /* its ErrorData */
    char *input_payload; /* ExecutionDetails.InputPayload */
    char *callback_id;   /* CallbackDetails.CallbackId */
    int replay_children; /* ContextDetails.ReplayChildren */
    int replayed;        /* the handler reached this completed record (replay) */
} durable_op;

/* The operations by id (open addressing), plus the EXECUTION operation. */
typedef struct durable_state {
    durable_op **slots;
    size_t cap, count;
    const durable_op *execution;
} durable_state;

/* What the envelope names besides its operations. Owned strings. */
typedef struct durable_envelope {
    char *arn;
    char *token;
    char *next_marker; /* NULL when the initial state is whole */
} durable_envelope;

const char *durable_op_type_name(durable_op_type t);
const char *durable_op_status_name(durable_op_status s);

/* Non-zero for a status no transition leaves (SUCCEEDED, FAILED, ...). */
int durable_status_terminal(durable_op_status s);

/* Reads an Operations array (NULL is an empty one) into `st`, replacing
 * operations with the same id. 0, or -1 with err (Durable.InvalidState,
 * naming the operation and field) and `st` unchanged from before the call
 * for the operations not yet read. */
int durable_state_merge(durable_state *st, const cJSON *operations, lambda_error *err);

const durable_op *durable_state_get(const durable_state *st, const char *id);
void durable_state_free(durable_state *st);

/* Parses an invocation envelope: its ARN, token, marker and initial
 * operations (into `st`). 0, or -1 with err (Durable.InvalidEvent). */
int durable_envelope_parse(const char *json, size_t len, durable_envelope *env, durable_state *st,
                           lambda_error *err);
void durable_envelope_free(durable_envelope *env);

#endif /* LAMBDA_DURABLE_STATE_H */

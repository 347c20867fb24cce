/*
 * What the operations share: one invocation's run (client, state, queued
 * updates, whether it is suspending or has failed) and the contexts that
 * name operations in it. Internal to lambda::durable.
 */
#ifndef LAMBDA_DURABLE_INTERNAL_H
#define LAMBDA_DURABLE_INTERNAL_H

#include <lambda/durable.h>

#include "client.h"
#include "state.h"

/* The operation ids this SDK makes are positional ("3", "2-1"); the service
 * takes at most 64 characters. */
#define DURABLE_ID_MAX 64
#define DURABLE_NAME_MAX 256

typedef enum durable_mode {
    RUN_ACTIVE,
    RUN_SUSPENDED,       /* an operation must wait: answer PENDING */
    RUN_FAILED,          /* the execution fails: answer FAILED with run->stop */
    RUN_INVOCATION_ERROR /* the invocation fails: Lambda retries it */
} durable_mode;

typedef struct durable_run {
    char *arn;
    durable_client client;
    durable_state state;
    const lambda_durable_config *config;
    const lambda_context *lambda_ctx;
    cJSON *pending; /* queued OperationUpdates, in execution order */
    durable_mode mode;
    lambda_error stop; /* why the run is not active */
    int replaying;
    /* The records that were completed when the invocation began and the
     * handler has not reached yet: replay ends when none is left (or an
     * operation is new or unfinished). */
    size_t replay_left;
    unsigned seed; /* the internal jitter source */
} durable_run;

struct lambda_durable_context {
    durable_run *run;
    const char *parent_id; /* NULL at the root */
    unsigned counter;
};

/* 0 while the run is active, else -1 with err set to why it is not. */
int durable_guard(const lambda_durable_context *ctx, lambda_error *err);

/* Where an operation starts: its id and what the state recorded there. */
typedef struct durable_begin {
    char id[DURABLE_ID_MAX + 1];
    const durable_op *op; /* NULL: the operation is new */
} durable_begin;

/* The start every operation shares, in one place so that they all number,
 * replay and check determinism alike: the run still active, `name` at most
 * DURABLE_NAME_MAX characters (`what` names the operation in the message),
 * the next id of `ctx`, and the record at that id, which must be of `type`
 * with `name` (else the code asks for another operation than the one
 * recorded: Durable.NonDeterministicExecution). Also where replay ends
 * (the first operation that is new or not completed). 0 with *b filled, or
 * -1 with err: a stopped run, or one that fails now (name too long, ids
 * nested too deep, a determinism violation). */
int durable_begin_op(lambda_durable_context *ctx, durable_op_type type, const char *what,
                     const char *name, durable_begin *b, lambda_error *err);

/* A completed CONTEXT operation at `id` is returned from its record: the
 * records inside it will not be reached, and count as replayed. */
void durable_replay_skip_children(durable_run *run, const char *id);

/* A new OperationUpdate (Id, ParentId, Name, Type, Action[, SubType])
 * appended to the queue. A request carries one update per operation (the
 * service refuses two), so an update for an operation already queued
 * first sends the queue. NULL with err when that send fails or memory runs
 * out (the run's mode then says what it means). */
cJSON *durable_queue(lambda_durable_context *ctx, const char *id, durable_op_type type,
                     const char *sub_type, const char *action, const char *name, lambda_error *err);

/* Sends the queued updates in one checkpoint (nothing when none). 0, or -1
 * with err (the run's mode set from the failure). */
int durable_flush(durable_run *run, lambda_error *err);

/* The run suspends: -1 with err Durable.Suspended (after a flush). */
int durable_suspend(durable_run *run, const char *why, lambda_error *err);

/* The run fails with `type`/message: -1 with err the same. */
int durable_fail_run(durable_run *run, lambda_error *err, const char *type, const char *fmt, ...)
    LAMBDA_PRINTF(4, 5);

/* An Error object {ErrorType, ErrorMessage} for an update. */
cJSON *durable_error_json(const char *type, const char *message);

/* *result = a copy of `json` ("null" when NULL), if result is not NULL. 0,
 * or -1 with err (out of memory: the invocation fails). */
int durable_copy_out(durable_run *run, const char *json, char **result, lambda_error *err);

/* A recorded operation's error as this call's error: -1. */
int durable_recorded_error(const durable_op *op, const char *fallback_type, lambda_error *err);

/* Non-zero when `json` parses as JSON. */
int durable_is_json(const char *json);

/* Runs `body` in a child context under a CONTEXT operation of `sub_type`:
 * START (if new), the body, then SUCCEED with its result or FAIL with its
 * error; replays a completed one from its record (or, when it was recorded
 * with ReplayChildren, by running the body again over its children's
 * records). -1 with err for the body's error or a stopped run. */
int durable_run_context(lambda_durable_context *ctx, const char *name, const char *sub_type,
                        lambda_durable_child_fn body, void *arg, char **result, lambda_error *err);

/* A draw from [0, 1) for jitter: the config's source or the internal one. */
double durable_random(durable_run *run);

#endif /* LAMBDA_DURABLE_INTERNAL_H */

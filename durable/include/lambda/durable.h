/*
 * lambda::durable — AWS Lambda durable functions for C handlers.
 *
 * A durable handler's steps are checkpointed by the Lambda durable-execution
 * service; the function can wait (seconds to a year) without running, its
 * steps are retried with backoff, and after any interruption Lambda invokes
 * it again: the handler then runs again from the top (replay) and every
 * operation that already completed returns its checkpointed result at once,
 * without running again. The library sits beside the runtime (which stays
 * free of it): it turns the durable invocation envelope into the user's
 * input and a context, and the handler's outcome into the SUCCEEDED /
 * FAILED / PENDING answer the service expects.
 *
 * Registering a handler (it is an ordinary raw handler of lambda/runtime.h):
 *
 *     static int order(lambda_durable_context *ctx, const char *input,
 *                      char **result, lambda_error *err, void *userdata);
 *     static const lambda_durable_function order_fn = {.handler = order};
 *     static const lambda_handler handlers[] = {
 *         LAMBDA_DURABLE_HANDLER("order", &order_fn),
 *     };
 *     ... config.handlers = handlers; return lambda_run(&config);
 *
 * THE RULES OF REPLAY (the handler's part of the contract):
 *   - Code outside operations runs again on every invocation, so it must
 *     behave the same each time: no time(), rand(), reads of changing
 *     files or network calls whose answers decide which operations run.
 *     Put such work inside a step: its result is recorded once.
 *   - Operations must be called in the same order, with the same names,
 *     on every invocation. An operation is identified by its position
 *     ("1", "2", ... and "2-1", "2-2" inside child context "2"), so a
 *     reordered call finds another operation's record: the SDK notices
 *     (another type or name at that id) and fails the execution with
 *     Durable.NonDeterministicExecution.
 *   - When an operation returns -1 because the execution is suspending
 *     (lambda_durable_suspended(ctx) is true: a wait is not over, a retry
 *     is scheduled), return from the handler; whatever it returns then is
 *     ignored and the SDK answers PENDING. Every later operation on the
 *     context returns -1 as well.
 *
 * Operations return 0 on success, or -1 with `err` filled: the step's own
 * error (its errorType and message, also after replay) once its retries
 * are spent, or Durable.Suspended, or an error that ends the execution
 * (Durable.NonDeterministicExecution, Durable.CheckpointFailed, ...).
 * A handler may recover from a step's error (run a fallback step); the
 * others are sticky.
 *
 * Service calls: CheckpointDurableExecution and GetDurableExecutionState
 * (rest-json under /2025-12-01/, SigV4 with signing name "lambda") to
 * AWS_ENDPOINT_URL_LAMBDA, else AWS_ENDPOINT_URL, else
 * https://lambda.<region>.amazonaws.com, with AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (what Lambda gives a
 * function). Throttling, 5xx and transport failures are retried
 * (LAMBDA_DURABLE_MAX_ATTEMPTS, default 5; LAMBDA_DURABLE_RETRY_BASE_MS,
 * default 100; LAMBDA_DURABLE_TIMEOUT_MS per attempt, default 10000); if
 * they persist, or the service says the checkpoint token is no longer
 * valid, the invocation fails with an error (Durable.CheckpointUnavailable,
 * Durable.InvalidCheckpointToken) so that Lambda invokes it again; any other
 * refusal fails the execution (Durable.CheckpointFailed).
 *
 * Ownership and threads: a context belongs to one invocation and one
 * thread; it is freed when the handler returns. Strings passed in are
 * copied or used only during the call; strings handed out are malloc'd and
 * belong to the caller (free()). Several invocations may run at once on
 * different threads (AWS_LAMBDA_MAX_CONCURRENCY > 1): they share nothing.
 */
#ifndef LAMBDA_DURABLE_H
#define LAMBDA_DURABLE_H

#include <lambda/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LAMBDA_DURABLE_VERSION "0.2.0"

/* One durable invocation's context: the handler's key to operations. */
typedef struct lambda_durable_context lambda_durable_context;

/* ------------------------------------------------------------------------ */
/* The handler                                                               */
/* ------------------------------------------------------------------------ */

/* A durable handler. `input` is the execution's input as JSON text
 * (ExecutionDetails.InputPayload of the EXECUTION operation; "null" when
 * the execution was started without one). On success return 0 and set
 * *result to a malloc'd JSON text (or leave it NULL: no result); the SDK
 * frees it. Return -1 with `err` set to fail the execution with that error
 * (ErrorType = err->type, ErrorMessage = err->message): terminal, Lambda
 * does not retry it. */
typedef int (*lambda_durable_handler_fn)(lambda_durable_context *ctx, const char *input,
                                         char **result, lambda_error *err, void *userdata);

/* Where the SDK sends its service calls and how it retries them. Every
 * field optional (NULL / 0: the environment or the default); zero the
 * struct before filling it. */
typedef struct lambda_durable_config {
    const char *endpoint;          /* e.g. "http://127.0.0.1:9001" */
    const char *region;            /* e.g. "eu-west-1" */
    const char *access_key_id;     /* with secret_access_key (and */
    const char *secret_access_key; /* session_token) instead of the */
    const char *session_token;     /* environment's credentials */
    /* The random source of retry jitter, returning a value in [0, 1)
     * (NULL: an internal generator). Tests fix it to check the delays. */
    double (*random)(void *random_data);
    void *random_data;
    /* How a throttled service call waits before its next attempt (NULL:
     * nanosleep). Tests skip the time with it. */
    void (*sleep_ms)(long ms, void *sleep_data);
    void *sleep_data;
    void *reserved[6]; /* room to grow: leave NULL */
} lambda_durable_config;

/* A registered durable function: the handler, its userdata and an optional
 * config (NULL: everything from the environment). */
typedef struct lambda_durable_function {
    lambda_durable_handler_fn handler;
    void *userdata;
    const lambda_durable_config *config;
    void *reserved[4];
} lambda_durable_function;

/* The raw handler that runs a durable function: `userdata` is a
 * `const lambda_durable_function *`. Use it through LAMBDA_DURABLE_HANDLER
 * in a handler table, or with lambda_run_handler(). */
LAMBDA_API void lambda_durable_raw_handler(const lambda_request *req, lambda_response *res,
                                           void *userdata);

/* A lambda_handler table entry for durable function `fn` under `name`. */
#define LAMBDA_DURABLE_HANDLER(name, fn)                       \
    {                                                          \
        (name), NULL, lambda_durable_raw_handler, (void *)(fn) \
    }

/* Runs one durable invocation outside the runtime loop (what the raw
 * handler does): `event` is the invocation envelope (JSON), `lctx` the
 * invocation's context or NULL. Returns 0 with *response set to the JSON
 * answer for the service ({"Status":"SUCCEEDED","Result":...},
 * {"Status":"FAILED","Error":{...}} or {"Status":"PENDING"}; malloc'd), or
 * -1 with err set when the invocation itself must fail so that Lambda
 * retries it (Durable.InvalidEvent for an envelope that is not a durable
 * one, Durable.CheckpointUnavailable, Durable.InvalidCheckpointToken). */
LAMBDA_API int lambda_durable_invoke(const lambda_durable_function *fn, const char *event,
                                     size_t event_len, const lambda_context *lctx, char **response,
                                     lambda_error *err);

/* ------------------------------------------------------------------------ */
/* Steps                                                                     */
/* ------------------------------------------------------------------------ */

/* What a step's code is told. */
typedef struct lambda_durable_step_info {
    const char *operation_id; /* stable across attempts and replays */
    const char *name;         /* the step's name, or NULL */
    int attempt;              /* 1 for the first attempt */
    const char *execution_arn;
} lambda_durable_step_info;

/* A step's code: on success return 0 and set *result to a malloc'd JSON
 * text (NULL: the step's result is JSON null); on failure return -1 with
 * `err` (its type and message are the step's ErrorType and ErrorMessage,
 * seen by the retry policy and, once retries are spent, by the handler). */
typedef int (*lambda_durable_step_fn)(const lambda_durable_step_info *info, void *arg,
                                      char **result, lambda_error *err);

typedef enum lambda_durable_jitter {
    LAMBDA_DURABLE_JITTER_FULL = 0, /* a delay drawn from [0, backoff] (the default) */
    LAMBDA_DURABLE_JITTER_NONE = 1, /* exactly the backoff */
    LAMBDA_DURABLE_JITTER_HALF = 2  /* from [backoff/2, backoff] */
} lambda_durable_jitter;

/* How a failing step is retried. The delay before attempt n+1 is
 * min(max_delay_s, initial_delay_s * backoff_rate^(n-1)) with jitter,
 * rounded up to whole seconds, at least 1 s. Zero fields take the
 * defaults: 6 attempts, 5 s initial, 60 s max, rate 2, full jitter. A step
 * is retried by checkpointing RETRY and suspending: the service invokes
 * the function again when the delay is over (the function does not sleep). */
typedef struct lambda_durable_retry_policy {
    int max_attempts;    /* attempts in all, including the first; 1 = never retry */
    int initial_delay_s; /* before the second attempt */
    int max_delay_s;     /* the backoff's cap */
    double backoff_rate; /* growth per attempt */
    lambda_durable_jitter jitter;
    /* Optional: return 0 for an error not worth retrying (then the step
     * fails at once). `attempt` is the attempt that failed (1-based). */
    int (*should_retry)(const lambda_error *error, int attempt, void *retry_data);
    void *retry_data;
    void *reserved[2];
} lambda_durable_retry_policy;

typedef enum lambda_durable_semantics {
    /* The step may run more than once (an interrupted attempt runs again). */
    LAMBDA_DURABLE_AT_LEAST_ONCE = 0,
    /* START is checkpointed before the code runs; if an invocation finds
     * the attempt started but never finished, it is not run again: the
     * attempt counts as failed (Durable.StepInterrupted) and the retry
     * policy decides. */
    LAMBDA_DURABLE_AT_MOST_ONCE = 1
} lambda_durable_semantics;

typedef struct lambda_durable_step_config {
    lambda_durable_semantics semantics;
    const lambda_durable_retry_policy *retry; /* NULL: the default policy */
    void *reserved[4];
} lambda_durable_step_config;

/* Runs `fn` as a checkpointed step named `name` (NULL for none; at most
 * 256 characters). On replay of a finished step, fn is not called: its
 * recorded result (or error) is returned. On success returns 0 and, if
 * `result` is not NULL, sets *result to the step's JSON result (malloc'd).
 * `config` may be NULL. */
LAMBDA_API int lambda_durable_step(lambda_durable_context *ctx, const char *name,
                                   lambda_durable_step_fn fn, void *arg,
                                   const lambda_durable_step_config *config, char **result,
                                   lambda_error *err);

/* The delay in seconds `policy` (NULL: the default) gives before the
 * attempt after failed attempt `attempt`, with jitter drawn from `random`
 * ([0, 1)); 0 when the policy allows no further attempt. Exposed so that a
 * program can show its schedule. */
LAMBDA_API int lambda_durable_retry_delay(const lambda_durable_retry_policy *policy, int attempt,
                                          double random);

/* ------------------------------------------------------------------------ */
/* Waits                                                                     */
/* ------------------------------------------------------------------------ */

/* Suspends the execution for `seconds` (1 .. 31,622,400, a year): the
 * first call checkpoints the wait and returns -1 with Durable.Suspended;
 * the service invokes the function again once it is over, when the same
 * call returns 0. `name` may be NULL. */
LAMBDA_API int lambda_durable_wait(lambda_durable_context *ctx, const char *name, long seconds,
                                   lambda_error *err);

/* ------------------------------------------------------------------------ */
/* Waiting for a condition                                                   */
/* ------------------------------------------------------------------------ */

/* Checks the condition: given the state so far (JSON text), sets *new_state
 * (malloc'd JSON) and returns 0, or -1 with err (the operation fails). */
typedef int (*lambda_durable_check_fn)(const lambda_durable_step_info *info, const char *state,
                                       void *arg, char **new_state, lambda_error *err);

/* Decides after each check: 0 when the condition is met (done), a delay in
 * seconds (1 .. a year) before the next check, or -1 to give up (the
 * operation fails with Durable.WaitForConditionExceeded). `attempt` counts
 * the checks made (1-based). */
typedef long (*lambda_durable_wait_strategy_fn)(const char *state, int attempt, void *arg);

/* Polls with `check` from `initial_state` (JSON) until `strategy` says the
 * condition is met, the state carried from check to check; between checks
 * the function does not run. One STEP operation (SubType WaitForCondition):
 * each check that is not the last is a RETRY carrying the state as its
 * payload and the strategy's delay. On success sets *result (if not NULL)
 * to the final state (malloc'd). */
LAMBDA_API int lambda_durable_wait_for_condition(lambda_durable_context *ctx, const char *name,
                                                 lambda_durable_check_fn check,
                                                 const char *initial_state,
                                                 lambda_durable_wait_strategy_fn strategy,
                                                 void *arg, char **result, lambda_error *err);

/* ------------------------------------------------------------------------ */
/* Callbacks                                                                 */
/* ------------------------------------------------------------------------ */

/* Zero fields: no timeout. */
typedef struct lambda_durable_callback_config {
    long timeout_s;           /* the callback times out after this long */
    long heartbeat_timeout_s; /* ... or this long without a heartbeat */
    void *reserved[2];
} lambda_durable_callback_config;

/* Creates a callback (a CALLBACK operation) and sets *callback_id (malloc'd)
 * to the id an external system answers with SendDurableExecutionCallback-
 * Success / Failure / Heartbeat. On replay, the same id. `config` may be
 * NULL. */
LAMBDA_API int lambda_durable_callback_create(lambda_durable_context *ctx, const char *name,
                                              const lambda_durable_callback_config *config,
                                              char **callback_id, lambda_error *err);

/* The callback's answer: 0 with *result (malloc'd, the text the sender
 * gave; may be NULL) once it succeeded; -1 with err when it failed (the
 * sender's ErrorType / ErrorMessage) or timed out (Durable.CallbackTimedOut);
 * -1 with Durable.Suspended while no answer has come (the service invokes
 * the function again when it does). */
LAMBDA_API int lambda_durable_callback_result(lambda_durable_context *ctx, const char *callback_id,
                                              char **result, lambda_error *err);

/* Hands the callback id to the outside world (inside a step: it runs once).
 * Return 0, or -1 with err. */
typedef int (*lambda_durable_submit_fn)(const lambda_durable_step_info *info,
                                        const char *callback_id, void *arg, lambda_error *err);

/* Creates a callback, submits its id with `submit` (a step) and waits for
 * the answer, in one child context (SubType WaitForCallback). */
LAMBDA_API int lambda_durable_wait_for_callback(lambda_durable_context *ctx, const char *name,
                                                lambda_durable_submit_fn submit, void *arg,
                                                const lambda_durable_callback_config *config,
                                                char **result, lambda_error *err);

/* ------------------------------------------------------------------------ */
/* Child contexts, map and parallel                                          */
/* ------------------------------------------------------------------------ */

/* Code that runs in a child context: its operations are numbered inside
 * it ("<id>-1", "<id>-2", ...). Return 0 with *result (malloc'd JSON, or
 * NULL for null), or -1 with err. */
typedef int (*lambda_durable_child_fn)(lambda_durable_context *child, void *arg, char **result,
                                       lambda_error *err);

/* Runs `fn` in a child context (a CONTEXT operation): once it completed,
 * replay returns its recorded result (or error) without running it or its
 * operations again. */
LAMBDA_API int lambda_durable_run_in_child_context(lambda_durable_context *ctx, const char *name,
                                                   lambda_durable_child_fn fn, void *arg,
                                                   char **result, lambda_error *err);

/* When a map or parallel stops starting items. Zero fields: run them all. */
typedef struct lambda_durable_batch_config {
    size_t min_successful;          /* stop once this many succeeded (0: no such stop) */
    size_t tolerated_failures;      /* with tolerate_failures set: stop after more failed */
    int tolerate_failures;          /* 0: no failure limit */
    double tolerated_failure_ratio; /* 0 < r <= 1: stop when failures / total exceed r */
    void *reserved[4];
} lambda_durable_batch_config;

/* One item of a map: `item` is the JSON text of items[index]. */
typedef int (*lambda_durable_map_fn)(lambda_durable_context *child, size_t index, const char *item,
                                     void *arg, char **result, lambda_error *err);

/* Runs `fn` for each element of `items` (a JSON array), each in its own
 * child context (SubType MapIteration) inside the map's (SubType Map), one
 * after the other. *result (if not NULL) is the batch result:
 * {"all":[{"index":0,"status":"SUCCEEDED","result":<JSON>} |
 *         {"index":1,"status":"FAILED","error":{"ErrorType","ErrorMessage"}}, ...],
 *  "successCount":n,"failureCount":n,"totalCount":n,
 *  "completionReason":"ALL_COMPLETED"|"MIN_SUCCESSFUL_REACHED"|"FAILURE_TOLERANCE_EXCEEDED",
 *  "status":"SUCCEEDED"|"FAILED"}
 * `all` and totalCount hold the items that ran: those the completion policy
 * did not start are left out; status is FAILED when one of them failed. An
 * item's failure is in the result, not an error of the call. */
LAMBDA_API int lambda_durable_map(lambda_durable_context *ctx, const char *name, const char *items,
                                  lambda_durable_map_fn fn, void *arg,
                                  const lambda_durable_batch_config *config, char **result,
                                  lambda_error *err);

/* One branch of a parallel. */
typedef struct lambda_durable_branch {
    const char *name; /* may be NULL */
    lambda_durable_child_fn fn;
    void *arg;
} lambda_durable_branch;

/* Runs the branches, each in its own child context (SubType
 * ParallelBranch) inside the parallel's (SubType Parallel), in order;
 * *result as lambda_durable_map's. */
LAMBDA_API int lambda_durable_parallel(lambda_durable_context *ctx, const char *name,
                                       const lambda_durable_branch *branches, size_t count,
                                       const lambda_durable_batch_config *config, char **result,
                                       lambda_error *err);

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

/* Logs one line through lambda_log (its format, AWS_LAMBDA_LOG_LEVEL filter
 * and request id), unless the handler is replaying (see
 * lambda_durable_replaying): code up to the last operation an earlier
 * invocation completed ran then and logged then, so its lines are not
 * written again; after that operation, they are. The message
 * is tagged with the execution and, inside a child context (map item,
 * parallel branch...), the context's operation id:
 *     [executionArn=arn:aws:lambda:...:durable-execution/name/id operationId=2-1] text */
LAMBDA_API void lambda_durable_log(const lambda_durable_context *ctx, lambda_log_level level,
                                   const char *fmt, ...) LAMBDA_PRINTF(3, 4);

/* Logs from a step's code (which never runs during replay), tagged with the
 * execution, the step's operation id and attempt:
 *     [executionArn=... operationId=3 attempt=2] text */
LAMBDA_API void lambda_durable_step_log(const lambda_durable_step_info *info,
                                        lambda_log_level level, const char *fmt, ...)
    LAMBDA_PRINTF(3, 4);

/* ------------------------------------------------------------------------ */
/* The context                                                               */
/* ------------------------------------------------------------------------ */

/* Non-zero once the execution is suspending: return from the handler. */
LAMBDA_API int lambda_durable_suspended(const lambda_durable_context *ctx);

/* Non-zero while the handler is replaying: from the start of an invocation
 * whose state holds completed operations until the handler has reached
 * each of them (those inside a child context returned from its record
 * count as reached with it) or an operation that is new or unfinished. */
LAMBDA_API int lambda_durable_replaying(const lambda_durable_context *ctx);

/* The execution's ARN. */
LAMBDA_API const char *lambda_durable_execution_arn(const lambda_durable_context *ctx);

/* The invocation's Lambda context (NULL outside the runtime loop). */
LAMBDA_API const lambda_context *lambda_durable_lambda_context(const lambda_durable_context *ctx);

#ifdef __cplusplus
}
#endif

#endif /* LAMBDA_DURABLE_H */

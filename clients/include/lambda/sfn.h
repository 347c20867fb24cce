/*
 * lambda::sfn — Step Functions' task-token API for C functions: answer a
 * task started with `.waitForTaskToken` (SendTaskSuccess, SendTaskFailure)
 * and keep it alive (SendTaskHeartbeat). Usable by any function or program;
 * not part of the runtime (runtime/ stays free of AWS service clients).
 *
 * Requests are JSON over HTTPS, SigV4-signed (the clients' own signer), to
 * AWS_ENDPOINT_URL_SFN, else AWS_ENDPOINT_URL, else
 * https://states.<region>.amazonaws.com. Credentials and region come from the
 * standard variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN — what Lambda gives a function — and AWS_REGION or
 * AWS_DEFAULT_REGION) unless the config names them. Throttling (429,
 * ThrottlingException), 5xx answers and transport failures are retried with
 * exponential backoff and full jitter (LAMBDA_SFN_MAX_ATTEMPTS, default 5;
 * LAMBDA_SFN_RETRY_BASE_MS, default 100; LAMBDA_SFN_TIMEOUT_MS per attempt,
 * default 10000). Each call is idempotent for Step Functions (a second
 * answer for the same token is refused with TaskTimedOut or
 * TaskDoesNotExist, never applied twice).
 *
 * Errors (lambda_error.type):
 *   StepFunctions.<Code>       the service refused: TaskDoesNotExist,
 *                              TaskTimedOut, InvalidToken, InvalidOutput,
 *                              AccessDeniedException, ... (its message kept)
 *   StepFunctions.Throttled    still throttled after the last attempt
 *   StepFunctions.Unavailable  5xx or transport failures to the last attempt
 *   StepFunctions.TlsError     the server's certificate was not trusted
 *   InvalidConfiguration       no credentials, a bad endpoint
 *   InvalidInput               an argument the API would refuse
 *
 * Ownership and threads: a client is immutable once created; several
 * threads may use one client at the same time. Strings passed in are copied
 * or used only during the call.
 */
#ifndef LAMBDA_SFN_H
#define LAMBDA_SFN_H

#include <lambda/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lambda_sfn_client lambda_sfn_client;

/* Every field optional (NULL or 0: the environment or the default). Zero
 * the struct before filling it, so that fields added later stay unset. */
typedef struct lambda_sfn_config {
    const char *endpoint;          /* e.g. "http://127.0.0.1:8083" */
    const char *region;            /* e.g. "eu-west-1" */
    const char *access_key_id;     /* with secret_access_key (and */
    const char *secret_access_key; /* session_token) instead of the */
    const char *session_token;     /* environment's credentials */
    const char *ca_file;           /* a CA bundle for HTTPS */
    void *reserved[4];             /* room to grow: leave NULL */
} lambda_sfn_config;

/* Creates a client: 0, or -1 with err (InvalidConfiguration). `config` may
 * be NULL. */
int lambda_sfn_client_new(const lambda_sfn_config *config, lambda_sfn_client **out,
                          lambda_error *err);
void lambda_sfn_client_free(lambda_sfn_client *client);

/* The endpoint the client calls (for messages and logs). */
const char *lambda_sfn_client_endpoint(const lambda_sfn_client *client);

/* SendTaskSuccess: the waiting task succeeds with `output_json` (a JSON
 * text, at most 256 KiB) as its result. 0, or -1 with err. */
int lambda_sfn_send_task_success(lambda_sfn_client *client, const char *task_token,
                                 const char *output_json, lambda_error *err);

/* SendTaskFailure: the waiting task fails with `error` (at most 256
 * characters; NULL for none) and `cause` (at most 32768; NULL for none),
 * which the state's Retry and Catch see. 0, or -1 with err. */
int lambda_sfn_send_task_failure(lambda_sfn_client *client, const char *task_token,
                                 const char *error, const char *cause, lambda_error *err);

/* SendTaskHeartbeat: resets the task's HeartbeatSeconds clock. 0, or -1
 * with err (StepFunctions.TaskTimedOut once the task is over). */
int lambda_sfn_send_task_heartbeat(lambda_sfn_client *client, const char *task_token,
                                   lambda_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LAMBDA_SFN_H */

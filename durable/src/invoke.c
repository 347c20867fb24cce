/*
 * One durable invocation: the envelope in, the whole state loaded, the
 * user's handler run with a root context, and its outcome turned into the
 * SUCCEEDED / FAILED / PENDING answer (a large result checkpointed).
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A response over this is checkpointed instead (EXECUTION SUCCEED) and
 * answered with an empty Result: Lambda's response limit is 6 MB and the
 * answer's own JSON needs a little room. */
#define INLINE_RESULT_MAX (6 * 1024 * 1024 - 1024)

static char *answer_pending(void)
{
    return strdup("{\"Status\":\"PENDING\"}");
}

static char *answer_failed(const lambda_error *e)
{
    cJSON *j = cJSON_CreateObject();
    char *out = NULL;
    if (j && cJSON_AddStringToObject(j, "Status", "FAILED") &&
        cJSON_AddItemToObject(j, "Error", durable_error_json(e->type, e->message)))
        out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return out;
}

static char *answer_succeeded(const char *result)
{
    cJSON *j = cJSON_CreateObject();
    char *out = NULL;
    if (j && cJSON_AddStringToObject(j, "Status", "SUCCEEDED") &&
        (!result || cJSON_AddStringToObject(j, "Result", result)))
        out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return out;
}

/* The result is too large to answer: record it with the EXECUTION
 * operation and answer with an empty Result. */
static char *checkpoint_result(durable_run *run, const char *result, lambda_error *err)
{
    cJSON *u = cJSON_CreateObject();
    if (!u || !cJSON_AddStringToObject(u, "Id", run->state.execution->id) ||
        !cJSON_AddStringToObject(u, "Type", "EXECUTION") ||
        !cJSON_AddStringToObject(u, "Action", "SUCCEED") ||
        !cJSON_AddStringToObject(u, "Payload", result) || !cJSON_AddItemToArray(run->pending, u)) {
        cJSON_Delete(u);
        lambda_error_set(err, "Durable.OutOfMemory", "out of memory");
        return NULL;
    }
    if (durable_flush(run, err) != 0)
        return run->mode == RUN_FAILED ? answer_failed(&run->stop) : NULL;
    return answer_succeeded("");
}

/* The answer for a handler that returned `rc` (result, herr). NULL with
 * err when the invocation itself must fail. */
static char *conclude(durable_run *run, int rc, const char *result, const lambda_error *herr,
                      lambda_error *err)
{
    /* Updates still queued belong to the record whatever the outcome. */
    if (run->mode == RUN_ACTIVE || run->mode == RUN_SUSPENDED)
        durable_flush(run, err);
    switch (run->mode) {
    case RUN_SUSPENDED:
        return answer_pending();
    case RUN_FAILED:
        return answer_failed(&run->stop);
    case RUN_INVOCATION_ERROR:
        *err = run->stop;
        return NULL;
    case RUN_ACTIVE:
        break;
    }
    if (rc != 0) {
        lambda_error e = *herr;
        if (!e.type[0])
            snprintf(e.type, sizeof e.type, "Durable.HandlerFailed");
        return answer_failed(&e);
    }
    if (result) {
        cJSON *check = cJSON_Parse(result);
        int ok = check != NULL;
        cJSON_Delete(check);
        if (!ok) {
            lambda_error e;
            lambda_error_set(&e, "Durable.SerializationError", "the handler's result is not JSON");
            return answer_failed(&e);
        }
    }
    char *answer = answer_succeeded(result);
    if (answer && strlen(answer) > INLINE_RESULT_MAX) {
        free(answer);
        answer = checkpoint_result(run, result, err);
        return answer;
    }
    if (!answer)
        lambda_error_set(err, "Durable.OutOfMemory", "out of memory");
    return answer;
}

static int start(durable_run *run, const lambda_durable_function *fn, const char *event, size_t len,
                 lambda_error *err)
{
    durable_envelope env;
    if (durable_envelope_parse(event, len, &env, &run->state, err) != 0)
        return -1;
    int rc = -1;
    run->arn = strdup(env.arn);
    if (!run->arn) {
        lambda_error_set(err, "Durable.OutOfMemory", "out of memory");
        goto done;
    }
    if (durable_client_init(&run->client, fn->config, env.arn, env.token, err) != 0)
        goto done;
    if (env.next_marker) {
        durable_call_failure failure;
        if (durable_client_load(&run->client, env.next_marker, &run->state, &failure, err) != 0)
            goto done;
    }
    if (!run->state.execution) {
        lambda_error_set(err, "Durable.InvalidEvent",
                         "the execution state holds no EXECUTION operation");
        goto done;
    }
    rc = 0;
done:
    durable_envelope_free(&env);
    return rc;
}

int lambda_durable_invoke(const lambda_durable_function *fn, const char *event, size_t event_len,
                          const lambda_context *lctx, char **response, lambda_error *err)
{
    *response = NULL;
    if (!fn || !fn->handler) {
        lambda_error_set(err, "Durable.InvalidConfiguration", "no durable handler given");
        return -1;
    }
    durable_run run;
    memset(&run, 0, sizeof run);
    run.config = fn->config;
    run.lambda_ctx = lctx;
    run.pending = cJSON_CreateArray();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    run.seed = (unsigned)now.tv_nsec ^ (unsigned)getpid();
    int rc = -1;
    if (!run.pending) {
        lambda_error_set(err, "Durable.OutOfMemory", "out of memory");
        goto done;
    }
    if (start(&run, fn, event, event_len, err) != 0)
        goto done;
    /* Replaying until the handler has reached every operation completed
     * before this invocation. */
    for (size_t i = 0; i < run.state.cap; i++) {
        const durable_op *op = run.state.slots[i];
        if (op && op->type != OP_EXECUTION && durable_status_terminal(op->status))
            run.replay_left++;
    }
    run.replaying = run.replay_left > 0;
    lambda_durable_context root = {&run, NULL, 0};
    const char *input = run.state.execution->input_payload;
    char *result = NULL;
    lambda_error herr = {{0}, {0}};
    int hrc = fn->handler(&root, input ? input : "null", &result, &herr, fn->userdata);
    *response = conclude(&run, hrc, hrc == 0 ? result : NULL, &herr, err);
    free(result);
    rc = *response ? 0 : -1;
done:
    cJSON_Delete(run.pending);
    durable_client_free(&run.client);
    durable_state_free(&run.state);
    free(run.arn);
    return rc;
}

void lambda_durable_raw_handler(const lambda_request *req, lambda_response *res, void *userdata)
{
    char *answer = NULL;
    lambda_error err = {{0}, {0}};
    if (lambda_durable_invoke(userdata, req->payload, req->payload_len, req->context, &answer,
                              &err) != 0) {
        lambda_response_failure(res, err.type, "%s", err.message);
        return;
    }
    lambda_response_success(res, answer, strlen(answer), NULL);
    free(answer);
}

/*
 * ApproveReport: an approver's answer to a report waiting for approval (a
 * Task started with .waitForTaskToken), sent to Step Functions with
 * lambda::sfn (clients/).
 *
 *   in:  {"taskToken":"<the waiting task's token>",
 *         "decision":"approve"|"reject",
 *         "approver":"alice",            optional, at most 128 characters
 *         "reason":"over budget"}        optional, at most 1000 characters
 *   out: {"decision":"approve","approver":"alice","sent":"SendTaskSuccess"}
 *
 * approve: SendTaskSuccess with {"approved":true,"approver","reason"} as the
 * task's output. reject: SendTaskFailure with error "ReportRejected" and the
 * cause "rejected by <approver>: <reason>", which the state machine's Catch
 * turns into the rejected notification.
 *
 * Errors: InvalidInput (a bad event; nothing sent), and the client's:
 * StepFunctions.TaskTimedOut (the task is over: already answered or timed
 * out), StepFunctions.TaskDoesNotExist, StepFunctions.InvalidToken,
 * StepFunctions.Throttled / StepFunctions.Unavailable (after its retries).
 */
#include <lambda/sfn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler_common.h"

#define APPROVER_MAX 128
#define REASON_MAX 1000
#define TOKEN_MAX 2048

typedef struct approve_input {
    const char *token, *approver, *reason;
    int approve;
} approve_input;

/* An optional string field of at most `max` characters: 0, or -1 with
 * InvalidInput. */
static int optional_string(const cJSON *event, const char *name, size_t max, const char **out,
                           lambda_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(event, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        invalid(err, "%s must be a string of at most %zu characters", name, max);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

static int read_input(const cJSON *event, approve_input *in, lambda_error *err)
{
    in->token = report_get_string(event, "taskToken");
    if (!in->token || !*in->token || strlen(in->token) > TOKEN_MAX) {
        invalid(err, "taskToken must be the waiting task's token (1..%d characters)", TOKEN_MAX);
        return -1;
    }
    const char *decision = report_get_string(event, "decision");
    if (!decision || (strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0)) {
        invalid(err, "%s", "decision must be \"approve\" or \"reject\"");
        return -1;
    }
    in->approve = strcmp(decision, "approve") == 0;
    if (optional_string(event, "approver", APPROVER_MAX, &in->approver, err) != 0 ||
        optional_string(event, "reason", REASON_MAX, &in->reason, err) != 0)
        return -1;
    return 0;
}

/* Sends the decision: 0, or -1 with the client's err. */
static int send_decision(const approve_input *in, const char *approver, lambda_error *err)
{
    lambda_sfn_client *sfn = NULL;
    if (lambda_sfn_client_new(NULL, &sfn, err) != 0)
        return -1;
    int rc;
    if (in->approve) {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddBoolToObject(out, "approved", 1);
        cJSON_AddStringToObject(out, "approver", approver);
        if (in->reason)
            cJSON_AddStringToObject(out, "reason", in->reason);
        char *text = cJSON_PrintUnformatted(out);
        cJSON_Delete(out);
        rc = text ? lambda_sfn_send_task_success(sfn, in->token, text, err) : -1;
        if (!text)
            store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        free(text);
    } else {
        char cause[APPROVER_MAX + REASON_MAX + 32];
        snprintf(cause, sizeof cause, "rejected by %s: %s", approver,
                 in->reason ? in->reason : "no reason given");
        rc = lambda_sfn_send_task_failure(sfn, in->token, "ReportRejected", cause, err);
    }
    lambda_sfn_client_free(sfn);
    return rc;
}

cJSON *lambda_report_approve_report(const cJSON *event, const lambda_context *ctx,
                                    lambda_error *err, void *userdata)
{
    (void)ctx;
    (void)userdata;
    approve_input in;
    if (read_input(event, &in, err) != 0)
        return NULL;
    const char *approver = in.approver ? in.approver : "unknown";
    if (send_decision(&in, approver, err) != 0)
        return NULL;
    lambda_log(LAMBDA_LOG_INFO, "report %s by %s", in.approve ? "approved" : "rejected", approver);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "decision", in.approve ? "approve" : "reject");
    cJSON_AddStringToObject(out, "approver", approver);
    cJSON_AddStringToObject(out, "sent", in.approve ? "SendTaskSuccess" : "SendTaskFailure");
    return out;
}

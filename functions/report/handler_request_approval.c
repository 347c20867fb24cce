/*
 * RequestApproval: the task a large report waits in until someone approves
 * it. The state machine starts it with lambda:invoke.waitForTaskToken, so
 * its own result is ignored: the task ends when an approver answers the
 * token (ApproveReport, `aws stepfunctions send-task-success`, lambda-sfn),
 * or when TimeoutSeconds / HeartbeatSeconds run out.
 *
 *   in:  {"taskToken","customerId","reportId","from","to",
 *         "bytes":123456789,"partCount":3,"thresholdBytes":100000000,
 *         "timeoutSeconds":604800,"heartbeatSeconds":86400}
 *   out: {"status":"PENDING","approval":"<store url>/reports/<c>/<r>/approval.json",
 *         "messageId","expiresAt","heartbeats":2,"stopped":"<why the heartbeats stopped>"}
 *
 * 1. records the pending approval in the report store,
 *    reports/<customerId>/<reportId>/approval.json: {"status":"PENDING",
 *    "taskToken","request":{customerId,reportId,from,to},"bytes","partCount",
 *    "thresholdBytes","requestedAt","expiresAt","timeoutSeconds","heartbeatSeconds"};
 * 2. publishes the request to the approvers' topic (APPROVAL_TOPIC_ARN) with
 *    lambda::sns: what, how big, until when, the token and how to answer;
 * 3. keeps the task alive while it can: a SendTaskHeartbeat right after the
 *    publish (the task's heartbeat clock started with the task, before this
 *    function's cold start), then every heartbeatSeconds / 3 (at least 1 s)
 *    as long as its own deadline allows,
 *    stopping as soon as Step Functions says the task is over (answered or
 *    timed out: StepFunctions.TaskTimedOut / TaskDoesNotExist). Past the
 *    function's lifetime, HeartbeatSeconds is the time an approver has to
 *    answer or to send heartbeats of their own (lambda-sfn
 *    send-task-heartbeat).
 *
 * A retry (a new attempt gets a new token) rewrites approval.json with the
 * new token and notifies again: the latest record is the one to answer.
 * Errors: InvalidInput (a bad event; nothing written or sent),
 * InvalidConfiguration (no APPROVAL_TOPIC_ARN), the store's errors, the SNS
 * client's (SNS.*).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <lambda/sfn.h>
#include <lambda/sns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handler_common.h"

#define TOKEN_MAX 2048
#define TIMEOUT_MAX 31536000 /* a year: the longest a Standard execution runs */
#define DEADLINE_MARGIN_MS 2000
#define MESSAGE_ID_MAX 128

typedef struct approval_request {
    const char *token, *customer, *report_id, *from, *to;
    int64_t bytes, parts, threshold, timeout, heartbeat;
} approval_request;

static int read_request(const cJSON *event, approval_request *r, lambda_error *err)
{
    if (report_get_ids(event, &r->customer, &r->report_id, err) != 0)
        return -1;
    r->token = report_get_string(event, "taskToken");
    if (!r->token || !*r->token || strlen(r->token) > TOKEN_MAX) {
        invalid(err, "taskToken must be the task's token ($$.Task.Token, 1..%d characters)",
                TOKEN_MAX);
        return -1;
    }
    int64_t from, to;
    if (report_get_range(event, &from, &to, err) != 0)
        return -1;
    r->from = report_get_string(event, "from");
    r->to = report_get_string(event, "to");
    struct {
        const char *name;
        int64_t min, max, *out;
        int required;
    } fields[] = {
        {"bytes", 0, REPORT_JSON_INT_MAX, &r->bytes, 1},
        {"partCount", 0, REPORT_MAX_PARTS_LIMIT, &r->parts, 1},
        {"thresholdBytes", 0, REPORT_JSON_INT_MAX, &r->threshold, 0},
        {"timeoutSeconds", 1, TIMEOUT_MAX, &r->timeout, 1},
        {"heartbeatSeconds", 1, TIMEOUT_MAX, &r->heartbeat, 0},
    };
    r->threshold = -1;
    r->heartbeat = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        *fields[i].out = fields[i].required ? -1 : *fields[i].out;
        if (report_get_int(event, fields[i].name, fields[i].min, fields[i].max, fields[i].out) !=
                0 ||
            (fields[i].required && *fields[i].out < 0)) {
            invalid(err, "%s must be an integer from %" PRId64 " to %" PRId64, fields[i].name,
                    fields[i].min, fields[i].max);
            return -1;
        }
    }
    return 0;
}

static void iso_time(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *request_object(const approval_request *r)
{
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "customerId", r->customer);
    cJSON_AddStringToObject(req, "reportId", r->report_id);
    cJSON_AddStringToObject(req, "from", r->from);
    cJSON_AddStringToObject(req, "to", r->to);
    return req;
}

/* approval.json: what waits, for whom, until when. */
static cJSON *approval_record(const approval_request *r, const char *requested, const char *expires)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "status", "PENDING");
    cJSON_AddStringToObject(doc, "taskToken", r->token);
    cJSON_AddItemToObject(doc, "request", request_object(r));
    cJSON_AddNumberToObject(doc, "bytes", (double)r->bytes);
    cJSON_AddNumberToObject(doc, "partCount", (double)r->parts);
    if (r->threshold >= 0)
        cJSON_AddNumberToObject(doc, "thresholdBytes", (double)r->threshold);
    cJSON_AddStringToObject(doc, "requestedAt", requested);
    cJSON_AddStringToObject(doc, "expiresAt", expires);
    cJSON_AddNumberToObject(doc, "timeoutSeconds", (double)r->timeout);
    if (r->heartbeat > 0)
        cJSON_AddNumberToObject(doc, "heartbeatSeconds", (double)r->heartbeat);
    return doc;
}

/* The approvers' message: the request, where its record is, how to answer. */
static int notify_approver(const approval_request *r, const char *record_uri, const char *expires,
                           char message_id[MESSAGE_ID_MAX], lambda_error *err)
{
    const char *topic = getenv("APPROVAL_TOPIC_ARN");
    if (!topic || !*topic) {
        lambda_error_set(err, "InvalidConfiguration",
                         "APPROVAL_TOPIC_ARN is not set: nobody could be asked to approve");
        return -1;
    }
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "status", "APPROVAL_REQUESTED");
    cJSON_AddItemToObject(msg, "request", request_object(r));
    cJSON_AddNumberToObject(msg, "bytes", (double)r->bytes);
    if (r->threshold >= 0)
        cJSON_AddNumberToObject(msg, "thresholdBytes", (double)r->threshold);
    cJSON_AddStringToObject(msg, "expiresAt", expires);
    cJSON_AddStringToObject(msg, "approval", record_uri);
    cJSON_AddStringToObject(msg, "taskToken", r->token);
    cJSON_AddStringToObject(
        msg, "answer",
        "invoke ApproveReport with {\"taskToken\":…,\"decision\":\"approve\" or "
        "\"reject\",\"approver\":…,\"reason\":…}, or send-task-success / "
        "send-task-failure with the token");
    char *text = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    if (!text) {
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return -1;
    }
    lambda_sns_client *sns = NULL;
    int rc = lambda_sns_client_new(NULL, &sns, err);
    if (rc == 0)
        rc = lambda_sns_publish(sns, topic, "lambda-c report: approval needed", text, message_id,
                                MESSAGE_ID_MAX, err);
    lambda_sns_client_free(sns);
    free(text);
    return rc;
}

/* Heartbeats while the function may run: their count, and why they stopped
 * in `why`. */
static int heartbeat_while_possible(const approval_request *r, const lambda_context *ctx, char *why,
                                    size_t why_size)
{
    snprintf(why, why_size, "%s", "no HeartbeatSeconds");
    if (r->heartbeat <= 0)
        return 0;
    int64_t interval_ms = r->heartbeat * 1000 / 3;
    if (interval_ms < 1000)
        interval_ms = 1000;
    lambda_error err = {0};
    lambda_sfn_client *sfn = NULL;
    if (lambda_sfn_client_new(NULL, &sfn, &err) != 0) {
        snprintf(why, why_size, "%s: %s", err.type, err.message);
        return 0;
    }
    int count = 0;
    snprintf(why, why_size, "%s", "the function's deadline");
    /* The first one at once: the task's heartbeat clock has run since the
     * task started, through this function's cold start, the record and the
     * publish; waiting a whole interval first could let HeartbeatSeconds
     * lapse before any heartbeat came. */
    int64_t wait_ms = 0;
    while (lambda_remaining_ms(ctx) > wait_ms + DEADLINE_MARGIN_MS) {
        struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
        if (wait_ms > 0)
            nanosleep(&ts, NULL);
        if (lambda_sfn_send_task_heartbeat(sfn, r->token, &err) != 0) {
            /* TaskTimedOut / TaskDoesNotExist: answered or over. Anything
             * else: the approver's own heartbeats (or none) take over. */
            snprintf(why, why_size, "%s: %s", err.type, err.message);
            break;
        }
        count++;
        wait_ms = interval_ms;
    }
    lambda_sfn_client_free(sfn);
    return count;
}

cJSON *lambda_report_request_approval(const cJSON *event, const lambda_context *ctx,
                                      lambda_error *err, void *userdata)
{
    (void)userdata;
    approval_request r;
    if (read_request(event, &r, err) != 0)
        return NULL;
    lambda_store *data = NULL, *report = NULL;
    if (report_open_stores(&data, &report, err) != 0)
        return NULL;
    lambda_store_close(data); /* the record goes to the report store only */
    time_t now = time(NULL);
    char requested[32], expires[32];
    iso_time(now, requested);
    iso_time(now + (time_t)r.timeout, expires);
    report_keys keys;
    report_keys_init(&keys, r.customer, r.report_id);
    char key[REPORT_KEY_MAX + sizeof "approval.json"];
    snprintf(key, sizeof key, "%sapproval.json", keys.base);
    char uri[LAMBDA_STORE_URL_MAX + sizeof key + 2];
    snprintf(uri, sizeof uri, "%s/%s", lambda_store_url(report), key);

    cJSON *doc = approval_record(&r, requested, expires);
    int rc = report_put_json(report, key, doc, err);
    cJSON_Delete(doc);
    lambda_store_close(report);
    char message_id[MESSAGE_ID_MAX] = "";
    if (rc != 0 || notify_approver(&r, uri, expires, message_id, err) != 0)
        return NULL;
    lambda_log(LAMBDA_LOG_INFO,
               "approval of %s requested (%" PRId64 " bytes), expires %s, SNS message %s",
               keys.base, r.bytes, expires, message_id[0] ? message_id : "(no id)");

    char why[sizeof err->type + sizeof err->message + 4];
    int beats = heartbeat_while_possible(&r, ctx, why, sizeof why);
    lambda_log(LAMBDA_LOG_INFO, "%d heartbeat(s) sent; stopped: %s", beats, why);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "status", "PENDING");
    cJSON_AddStringToObject(out, "approval", uri);
    cJSON_AddStringToObject(out, "messageId", message_id);
    cJSON_AddStringToObject(out, "expiresAt", expires);
    cJSON_AddNumberToObject(out, "heartbeats", beats);
    cJSON_AddStringToObject(out, "stopped", why);
    return out;
}

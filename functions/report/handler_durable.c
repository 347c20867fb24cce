/*
 * ReportDurable: the report workflow as one durable function (lambda::durable),
 * the same work as the Step Functions state machine (statemachine/report.asl.json)
 * done by the same handlers' code, each task a checkpointed step:
 *
 *   SplitDateRange (step) -> no data: NotifyNoData (step), succeed
 *   -> more source bytes than APPROVAL_THRESHOLD_BYTES: Approval (a callback:
 *      the approvers' topic APPROVAL_TOPIC_ARN gets the callback id; answered
 *      with SendDurableExecutionCallbackSuccess, or Failure with ErrorType
 *      ReportRejected; APPROVAL_TIMEOUT_SECONDS without an answer is
 *      ApprovalTimedOut) -> not approved: NotifyNotApproved (step), fail
 *   -> GenerateSubReports (map; each part a child context running one
 *      GenerateSubReport step) -> MergeSubReports (step) -> SummarizeReport
 *      (step; its failure recorded in the output, as the state machine's
 *      SummaryFailed) -> NotifySuccess (step) -> the merge result + summary.
 *   Any failure: NotifyFailure (step), then the execution fails with the
 *   original errorType and message.
 *
 *   in:  {"customerId","from","to"}   (the state machine's execution input;
 *        the reportId is the durable execution's name, as it is the Step
 *        Functions execution's name there)
 *   out: MergeSubReports' output plus "summary" (SummarizeReport's, or
 *        {"status":"FAILED","error","cause"})
 *
 * After a crash or a timeout the service invokes the function again; the
 * handler replays from the top and every finished step (a finished part)
 * returns its recorded result without running again. Step results stay
 * small: the plan as day offsets, a part as its index and counts, never
 * data. Retries as the state machine's: StoreUnavailable / StoreThrottled
 * up to 5 more attempts (2 s doubling to 30 s, full jitter), nothing else;
 * a notification up to 3 more attempts. Notifications go to REPORT_TOPIC_ARN
 * (lambda::sns) with the state machine's subjects and messages; without it
 * (a local run) they are logged and skipped.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <lambda/durable.h>
#include <lambda/sns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler_common.h"

/* A checkpointed payload is at most 256 KB (the service's limit): a step
 * result above this is not attempted. The plan takes ~12 bytes a part, so
 * even REPORT_MAX_PARTS_LIMIT parts stay far below it. */
#define DURABLE_RESULT_MAX (240 * 1024)
#define MESSAGE_ID_MAX 128

/* What every step of one execution needs. */
typedef struct durable_job {
    lambda_durable_context *ctx;
    const cJSON *input;      /* the execution input, as given */
    const char *customer;    /* from the input (validated by the split) */
    char report_id[81];      /* the execution's name */
    int64_t from;            /* the input's first day, once the split passed */
    const cJSON *task_event; /* the event the next handler gets */
} durable_job;

/* ---- retries --------------------------------------------------------------- */

static int store_retryable(const lambda_error *e, int attempt, void *data)
{
    (void)attempt;
    (void)data;
    return strcmp(e->type, lambda_store_status_name(LAMBDA_STORE_UNAVAILABLE)) == 0 ||
           strcmp(e->type, lambda_store_status_name(LAMBDA_STORE_THROTTLED)) == 0;
}

/* The state machine's retrier for StoreUnavailable / StoreThrottled. */
static const lambda_durable_retry_policy task_retry = {
    .max_attempts = 6,
    .initial_delay_s = 2,
    .max_delay_s = 30,
    .backoff_rate = 2,
    .jitter = LAMBDA_DURABLE_JITTER_FULL,
    .should_retry = store_retryable,
};
static const lambda_durable_step_config task_step = {.retry = &task_retry};

/* The notifications' retrier (States.ALL, 3 retries, 1 s doubling). */
static const lambda_durable_retry_policy notify_retry = {
    .max_attempts = 4,
    .initial_delay_s = 1,
    .max_delay_s = 8,
    .backoff_rate = 2,
    .jitter = LAMBDA_DURABLE_JITTER_FULL,
};
static const lambda_durable_step_config notify_config = {.retry = &notify_retry};

/* ---- calling the task handlers --------------------------------------------- */

typedef cJSON *(*task_fn)(const cJSON *, const lambda_context *, lambda_error *, void *);

/* A step's JSON text, refused above DURABLE_RESULT_MAX: 0 or -1 with err. */
static int step_result(cJSON *value, char **result, lambda_error *err)
{
    *result = value ? cJSON_PrintUnformatted(value) : NULL;
    cJSON_Delete(value);
    if (!*result) {
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "%s", "out of memory");
        return -1;
    }
    size_t n = strlen(*result);
    if (n > DURABLE_RESULT_MAX) {
        free(*result);
        *result = NULL;
        lambda_error_set(err, "ReportResultTooLarge",
                         "a step result of %zu bytes is over the %d bytes a checkpoint takes", n,
                         DURABLE_RESULT_MAX);
        return -1;
    }
    return 0;
}

/* Runs a task handler on job->task_event: its output (owned) or NULL + err. */
static cJSON *call_task(const durable_job *job, task_fn fn, lambda_error *err)
{
    const lambda_context *lctx = lambda_durable_lambda_context(job->ctx);
    cJSON *out = fn(job->task_event, lctx, err, NULL);
    if (!out && !err->type[0])
        lambda_error_set(err, "ReportError", "%s", "the task failed without an error");
    return out;
}

/* ---- split ------------------------------------------------------------------- */

/* The split's output in a few bytes a part: partCount, bytes and each
 * part's [first, last] day as offsets from the input's `from`. */
static cJSON *compact_plan(const cJSON *split, int64_t from, lambda_error *err)
{
    cJSON *plan = cJSON_CreateObject(), *parts = cJSON_AddArrayToObject(plan, "parts");
    cJSON_AddItemToObject(plan, "partCount",
                          cJSON_Duplicate(cJSON_GetObjectItem(split, "partCount"), 0));
    cJSON_AddItemToObject(plan, "bytes", cJSON_Duplicate(cJSON_GetObjectItem(split, "bytes"), 0));
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(split, "parts"))
    {
        int64_t first, last;
        if (report_get_range(p, &first, &last, err) != 0) {
            cJSON_Delete(plan);
            return NULL;
        }
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)(first - from)));
        cJSON_AddItemToArray(pair, cJSON_CreateNumber((double)(last - from)));
        cJSON_AddItemToArray(parts, pair);
    }
    return plan;
}

static int split_step(const lambda_durable_step_info *info, void *arg, char **result,
                      lambda_error *err)
{
    (void)info;
    durable_job *job = arg;
    cJSON *split = call_task(job, lambda_report_split_date_range, err);
    if (!split)
        return -1;
    cJSON *plan = compact_plan(split, job->from, err);
    cJSON_Delete(split);
    return plan ? step_result(plan, result, err) : -1;
}

/* The Map's items, {"index","from","to"} as the state machine gives each
 * GenerateSubReport, from the compact plan. */
static char *map_items(const cJSON *plan, int64_t from)
{
    cJSON *items = cJSON_CreateArray();
    const cJSON *pair;
    int index = 0;
    cJSON_ArrayForEach(pair, cJSON_GetObjectItem(plan, "parts"))
    {
        cJSON *part = cJSON_CreateObject();
        cJSON_AddNumberToObject(part, "index", index++);
        report_add_date(part, "from", from + (int64_t)cJSON_GetArrayItem(pair, 0)->valuedouble);
        report_add_date(part, "to", from + (int64_t)cJSON_GetArrayItem(pair, 1)->valuedouble);
        cJSON_AddItemToArray(items, part);
    }
    char *text = cJSON_PrintUnformatted(items);
    cJSON_Delete(items);
    return text;
}

/* ---- parts --------------------------------------------------------------------- */

typedef struct part_call {
    durable_job *job;
    const char *item;
} part_call;

/* GenerateSubReport on one part; the step keeps what the state machine's
 * ResultSelector keeps: index, rows, bytes, skipped. */
static int generate_step(const lambda_durable_step_info *info, void *arg, char **result,
                         lambda_error *err)
{
    (void)info;
    part_call *pc = arg;
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "customerId", pc->job->customer);
    cJSON_AddStringToObject(event, "reportId", pc->job->report_id);
    cJSON_AddItemToObject(event, "part", cJSON_Parse(pc->item));
    durable_job job = *pc->job;
    job.task_event = event;
    cJSON *out = call_task(&job, lambda_report_generate_sub_report, err);
    cJSON_Delete(event);
    if (!out)
        return -1;
    cJSON *kept = cJSON_CreateObject();
    static const char *const fields[] = {"index", "rows", "bytes", "skipped"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        cJSON_AddItemToObject(kept, fields[i],
                              cJSON_Duplicate(cJSON_GetObjectItem(out, fields[i]), 0));
    cJSON_Delete(out);
    return step_result(kept, result, err);
}

static int part_item(lambda_durable_context *child, size_t index, const char *item, void *arg,
                     char **result, lambda_error *err)
{
    (void)index;
    part_call pc = {arg, item};
    return lambda_durable_step(child, "GenerateSubReport", generate_step, &pc, &task_step, result,
                               err);
}

/* The parts' results in index order, or NULL with the first failed part's
 * error (the map stops at the first failure, as the state machine's Map). */
static cJSON *map_parts(durable_job *job, const char *items, lambda_error *err)
{
    static const lambda_durable_batch_config stop_at_first_failure = {.tolerate_failures = 1};
    char *batch = NULL;
    if (lambda_durable_map(job->ctx, "GenerateSubReports", items, part_item, job,
                           &stop_at_first_failure, &batch, err) != 0)
        return NULL;
    cJSON *b = cJSON_Parse(batch), *parts = cJSON_CreateArray();
    free(batch);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(b, "all"))
    {
        const char *status = report_get_string(e, "status");
        if (status && strcmp(status, "SUCCEEDED") == 0) {
            cJSON_AddItemToArray(parts, cJSON_Duplicate(cJSON_GetObjectItem(e, "result"), 1));
            continue;
        }
        const cJSON *error = cJSON_GetObjectItem(e, "error");
        const char *type = report_get_string(error, "ErrorType");
        const char *message = report_get_string(error, "ErrorMessage");
        if (type) {
            lambda_error_set(err, type, "%s", message ? message : "");
            cJSON_Delete(parts);
            parts = NULL;
            break;
        }
    }
    cJSON_Delete(b);
    return parts;
}

/* ---- merge, summary ------------------------------------------------------------- */

static int task_step_fn(const lambda_durable_step_info *info, void *arg, char **result,
                        lambda_error *err, task_fn fn)
{
    (void)info;
    cJSON *out = call_task(arg, fn, err);
    return out ? step_result(out, result, err) : -1;
}

static int merge_step(const lambda_durable_step_info *info, void *arg, char **result,
                      lambda_error *err)
{
    return task_step_fn(info, arg, result, err, lambda_report_merge_sub_reports);
}

static int summarize_step(const lambda_durable_step_info *info, void *arg, char **result,
                          lambda_error *err)
{
    return task_step_fn(info, arg, result, err, lambda_report_summarize_report);
}

/* ---- notifications ------------------------------------------------------------------ */

typedef struct note {
    const char *subject;
    const cJSON *message;
} note;

/* Publishes `message` (JSON) to `topic` with lambda::sns: 0 or -1 with err. */
static int publish(const char *topic, const char *subject, const cJSON *message,
                   char message_id[MESSAGE_ID_MAX], lambda_error *err)
{
    char *text = cJSON_PrintUnformatted(message);
    if (!text) {
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "%s", "out of memory");
        return -1;
    }
    lambda_sns_client *sns = NULL;
    int rc = lambda_sns_client_new(NULL, &sns, err);
    if (rc == 0)
        rc = lambda_sns_publish(sns, topic, subject, text, message_id, MESSAGE_ID_MAX, err);
    lambda_sns_client_free(sns);
    free(text);
    return rc;
}

static int notify_step(const lambda_durable_step_info *info, void *arg, char **result,
                       lambda_error *err)
{
    (void)info;
    const note *n = arg;
    const char *topic = getenv("REPORT_TOPIC_ARN");
    cJSON *out = cJSON_CreateObject();
    if (!topic || !*topic) {
        lambda_log(LAMBDA_LOG_INFO, "REPORT_TOPIC_ARN is not set: no notification (\"%s\")",
                   n->subject);
        cJSON_AddBoolToObject(out, "published", 0);
        return step_result(out, result, err);
    }
    char message_id[MESSAGE_ID_MAX] = "";
    if (publish(topic, n->subject, n->message, message_id, err) != 0) {
        cJSON_Delete(out);
        return -1;
    }
    cJSON_AddBoolToObject(out, "published", 1);
    cJSON_AddStringToObject(out, "messageId", message_id);
    return step_result(out, result, err);
}

static int notify(durable_job *job, const char *name, const char *subject, const cJSON *message,
                  lambda_error *err)
{
    note n = {subject, message};
    return lambda_durable_step(job->ctx, name, notify_step, &n, &notify_config, NULL, err);
}

/* {"status", "reportId", "customerId", "from", "to"} as the Describe* states
 * write them. */
static cJSON *describe(const durable_job *job, const char *status)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "status", status);
    cJSON_AddStringToObject(d, "reportId", job->report_id);
    static const char *const fields[] = {"customerId", "from", "to"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        cJSON_AddItemToObject(d, fields[i],
                              cJSON_Duplicate(cJSON_GetObjectItem(job->input, fields[i]), 1));
    return d;
}

/* The failure path (DescribeFailure -> NotifyFailure -> ReportFailed): the
 * requester is told, then the execution fails with `failure`, whether the
 * notification went out or not. While suspending, nothing is done. */
static int fail_report(durable_job *job, const lambda_error *failure, lambda_error *err)
{
    *err = *failure;
    if (lambda_durable_suspended(job->ctx))
        return -1;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "status", "FAILED");
    cJSON_AddStringToObject(d, "reportId", job->report_id);
    cJSON_AddItemToObject(d, "input", cJSON_Duplicate(job->input, 1));
    cJSON_AddStringToObject(d, "error", failure->type);
    cJSON_AddStringToObject(d, "cause", failure->message);
    lambda_error ignored;
    notify(job, "NotifyFailure", "lambda-c report failed", d, &ignored);
    cJSON_Delete(d);
    *err = *failure;
    return -1;
}

/* ---- approval ------------------------------------------------------------------------- */

/* A byte count from the environment, 0 allowed: 0 with *out set, -1 when
 * unset or not a number (then no approval is asked for). */
static int env_bytes(const char *name, uint64_t *out)
{
    const char *v = getenv(name);
    char *end = NULL;
    if (!v || !*v)
        return -1;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || v[0] == '-')
        return -1;
    *out = n;
    return 0;
}

typedef struct approval {
    durable_job *job;
    const cJSON *plan;
    uint64_t threshold;
    long timeout_s;
} approval;

/* The approvers are told what waits and how to answer (RequestApproval's
 * message, the callback id in place of the task token). */
static int submit_approval(const lambda_durable_step_info *info, const char *callback_id, void *arg,
                           lambda_error *err)
{
    (void)info;
    const approval *a = arg;
    cJSON *m = describe(a->job, "APPROVAL_REQUESTED");
    cJSON_AddItemToObject(m, "bytes", cJSON_Duplicate(cJSON_GetObjectItem(a->plan, "bytes"), 0));
    cJSON_AddItemToObject(m, "partCount",
                          cJSON_Duplicate(cJSON_GetObjectItem(a->plan, "partCount"), 0));
    cJSON_AddNumberToObject(m, "thresholdBytes", (double)a->threshold);
    cJSON_AddNumberToObject(m, "timeoutSeconds", (double)a->timeout_s);
    cJSON_AddStringToObject(m, "callbackId", callback_id);
    cJSON_AddStringToObject(m, "answer",
                            "approve: SendDurableExecutionCallbackSuccess with the callbackId "
                            "and {\"approved\":true,\"approver\"}; reject: "
                            "SendDurableExecutionCallbackFailure with ErrorType ReportRejected "
                            "and the reason as ErrorMessage");
    char message_id[MESSAGE_ID_MAX] = "";
    int rc = publish(getenv("APPROVAL_TOPIC_ARN"), "lambda-c report: approval needed", m,
                     message_id, err);
    cJSON_Delete(m);
    if (rc == 0)
        lambda_log(LAMBDA_LOG_INFO, "approval requested for %s (callback %s, SNS message %s)",
                   a->job->report_id, callback_id, message_id);
    return rc;
}

/* A callback that timed out: the SDK's own error when the service recorded
 * none, else the service's (lambda-local says Callback.Timeout; AWS's word
 * could only be confirmed there). */
static int callback_timed_out(const lambda_error *e)
{
    return strcmp(e->type, "Durable.CallbackTimedOut") == 0 ||
           strcmp(e->type, "Callback.Timeout") == 0;
}

/* Not approved (DescribeRejected / DescribeApprovalTimedOut ->
 * NotifyNotApproved -> NotApproved): told, then the execution fails with
 * ReportRejected or ApprovalTimedOut. */
static int not_approved(durable_job *job, const lambda_error *answer, lambda_error *err)
{
    int timed_out = callback_timed_out(answer);
    lambda_error failure;
    if (timed_out)
        lambda_error_set(&failure, "ApprovalTimedOut", "No approval in time (%s): %s", answer->type,
                         answer->message);
    else
        failure = *answer;
    cJSON *d = describe(job, timed_out ? "APPROVAL_TIMED_OUT" : "REJECTED");
    cJSON_AddStringToObject(d, "error", failure.type);
    cJSON_AddStringToObject(d, "cause", failure.message);
    lambda_error ignored;
    notify(job, "NotifyNotApproved", "lambda-c report not approved", d, &ignored);
    cJSON_Delete(d);
    *err = failure;
    return -1;
}

/* A range with more source bytes than APPROVAL_THRESHOLD_BYTES waits for an
 * approver (a callback, APPROVAL_TIMEOUT_SECONDS at most) before any part
 * is built: 1 approved or not asked, 0 not approved or failed (the
 * execution's end is done, err set), -1 suspending. */
static int approved(durable_job *job, const cJSON *plan, lambda_error *err)
{
    approval a = {job, plan, 0, 0};
    uint64_t timeout = 0;
    const cJSON *bytes = cJSON_GetObjectItem(plan, "bytes");
    if (env_bytes("APPROVAL_THRESHOLD_BYTES", &a.threshold) != 0 || !cJSON_IsNumber(bytes) ||
        bytes->valuedouble <= (double)a.threshold)
        return 1;
    a.timeout_s =
        env_bytes("APPROVAL_TIMEOUT_SECONDS", &timeout) == 0 && timeout > 0 && timeout <= 31536000
            ? (long)timeout
            : 604800;
    lambda_error failure = {{0}, {0}};
    const char *topic = getenv("APPROVAL_TOPIC_ARN");
    if (!topic || !*topic) {
        lambda_error_set(&failure, "InvalidConfiguration",
                         "APPROVAL_TOPIC_ARN is not set: nobody can be asked to approve %s",
                         job->report_id);
        return fail_report(job, &failure, err), 0;
    }
    lambda_durable_callback_config cfg = {.timeout_s = a.timeout_s};
    char *answer = NULL;
    int rc = lambda_durable_wait_for_callback(job->ctx, "Approval", submit_approval, &a, &cfg,
                                              &answer, &failure);
    free(answer);
    if (rc == 0)
        return 1;
    if (lambda_durable_suspended(job->ctx)) {
        *err = failure;
        return -1;
    }
    if (strcmp(failure.type, "ReportRejected") == 0 || callback_timed_out(&failure))
        return not_approved(job, &failure, err), 0;
    return fail_report(job, &failure, err), 0;
}

/* ---- the handler -------------------------------------------------------------------- */

/* The execution's name from its ARN (…:function:F:Q/durable-execution/NAME/ID). */
static int execution_name(const char *arn, char out[81], lambda_error *err)
{
    static const char marker[] = "/durable-execution/";
    const char *s = arn ? strstr(arn, marker) : NULL;
    const char *end = s ? strchr(s + sizeof marker - 1, '/') : NULL;
    size_t n = end ? (size_t)(end - s) - (sizeof marker - 1) : 0;
    if (!n || n > 80) {
        lambda_error_set(err, "InvalidInput", "no execution name in the durable execution ARN %s",
                         arn ? arn : "(none)");
        return -1;
    }
    memcpy(out, s + sizeof marker - 1, n);
    out[n] = '\0';
    return 0;
}

/* Merge, summary, notification: the report's end (PublishReport). */
static int finish(durable_job *job, cJSON *parts, char **result, lambda_error *err)
{
    cJSON *event = cJSON_CreateObject();
    cJSON_AddStringToObject(event, "customerId", job->customer);
    cJSON_AddStringToObject(event, "reportId", job->report_id);
    cJSON_AddItemToObject(event, "parts", parts);
    job->task_event = event;
    char *merged = NULL, *summary = NULL;
    lambda_error failure = {{0}, {0}}, summary_error = {{0}, {0}};
    int rc = lambda_durable_step(job->ctx, "MergeSubReports", merge_step, job, &task_step, &merged,
                                 &failure);
    cJSON_DeleteItemFromObject(event, "parts");
    cJSON *out = rc == 0 ? cJSON_Parse(merged) : NULL;
    if (rc == 0 && !out) {
        store_error(&failure, LAMBDA_STORE_UNAVAILABLE, "%s", "out of memory");
        rc = -1;
    }
    if (rc == 0 && lambda_durable_step(job->ctx, "SummarizeReport", summarize_step, job, &task_step,
                                       &summary, &summary_error) != 0) {
        if (lambda_durable_suspended(job->ctx)) {
            failure = summary_error;
            rc = -1;
        }
    }
    if (rc == 0)
        rc = notify(job, "NotifySuccess", "lambda-c report ready", out, &failure);
    if (rc == 0) {
        cJSON *s = summary ? cJSON_Parse(summary) : cJSON_CreateObject();
        if (!summary) {
            cJSON_AddStringToObject(s, "status", "FAILED");
            cJSON_AddStringToObject(s, "error", summary_error.type);
            cJSON_AddStringToObject(s, "cause", summary_error.message);
        }
        cJSON_AddItemToObject(out, "summary", s);
        *result = cJSON_PrintUnformatted(out);
    }
    cJSON_Delete(out);
    cJSON_Delete(event);
    free(merged);
    free(summary);
    return rc == 0 ? 0 : fail_report(job, &failure, err);
}

/* No data in the range: told, and the execution succeeds with that. */
static int no_data(durable_job *job, char **result, lambda_error *err)
{
    cJSON *d = describe(job, "NO_DATA");
    cJSON_AddStringToObject(d, "message", "No source data in the range: no report was made.");
    lambda_error failure;
    int rc = notify(job, "NotifyNoData", "lambda-c report: no data in range", d, &failure);
    if (rc == 0)
        *result = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return rc == 0 ? 0 : fail_report(job, &failure, err);
}

static int report_durable(lambda_durable_context *ctx, const char *input, char **result,
                          lambda_error *err, void *userdata)
{
    (void)userdata;
    cJSON *in = cJSON_Parse(input);
    durable_job job = {.ctx = ctx, .input = in};
    lambda_error failure = {{0}, {0}};
    if (execution_name(lambda_durable_execution_arn(ctx), job.report_id, &failure) != 0) {
        cJSON_Delete(in);
        *err = failure;
        return -1;
    }
    /* The split's event: the input's fields and the reportId, as the state
     * machine's SplitDateRange Parameters build it. */
    cJSON *event = cJSON_IsObject(in) ? cJSON_CreateObject() : cJSON_CreateNull();
    static const char *const fields[] = {"customerId", "from", "to"};
    for (size_t i = 0; cJSON_IsObject(in) && i < sizeof fields / sizeof fields[0]; i++)
        if (cJSON_HasObjectItem(in, fields[i]))
            cJSON_AddItemToObject(event, fields[i],
                                  cJSON_Duplicate(cJSON_GetObjectItem(in, fields[i]), 1));
    if (cJSON_IsObject(in))
        cJSON_AddStringToObject(event, "reportId", job.report_id);
    job.task_event = event;
    job.customer = report_get_string(in, "customerId");
    int64_t to;
    if (report_get_range(in, &job.from, &to, &failure) != 0)
        job.from = 0; /* the split says what is wrong with the input */
    char *plan_text = NULL, *items = NULL;
    int ok;
    int rc = lambda_durable_step(ctx, "SplitDateRange", split_step, &job, &task_step, &plan_text,
                                 &failure);
    cJSON *plan = rc == 0 ? cJSON_Parse(plan_text) : NULL;
    if (rc != 0)
        rc = fail_report(&job, &failure, err);
    else if (cJSON_GetArraySize(cJSON_GetObjectItem(plan, "parts")) == 0)
        rc = no_data(&job, result, err);
    else if ((ok = approved(&job, plan, err)) != 1)
        rc = -1;
    else if (!(items = map_items(plan, job.from))) {
        store_error(&failure, LAMBDA_STORE_UNAVAILABLE, "%s", "out of memory");
        rc = fail_report(&job, &failure, err);
    } else {
        cJSON *parts = map_parts(&job, items, &failure);
        rc = parts ? finish(&job, parts, result, err) : fail_report(&job, &failure, err);
    }
    free(items);
    cJSON_Delete(plan);
    free(plan_text);
    cJSON_Delete(event);
    cJSON_Delete(in);
    return rc;
}

const lambda_durable_function lambda_report_durable = {.handler = report_durable};

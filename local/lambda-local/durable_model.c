/* The durable-execution model: operations, checkpoints, timers, paging. */
#include "durable_model.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Answers and envelopes stay under the 6 MB Invoke limit with room to spare. */
#define PAGE_BYTES (4 * 1024 * 1024)
#define DEFAULT_PAGE_ITEMS 100
#define RESPONSE_PAYLOAD_MAX LAMBDA_LOCAL_RESPONSE_LIMIT /* EXECUTION's Payload */

static void set_err(durable_error *err, unsigned status, const char *type, const char *fmt, ...)
    LAMBDA_LOCAL_PRINTF(4, 5);
static void set_err(durable_error *err, unsigned status, const char *type, const char *fmt, ...)
{
    err->status = status;
    err->type = type;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

#define INVALID(err, ...) set_err(err, 400, "InvalidParameterValueException", __VA_ARGS__)

const char *durable_status_name(durable_status s)
{
    static const char *const names[] = {"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"};
    return names[s];
}

static bool status_from_name(const char *s, durable_status *out)
{
    for (int i = DURABLE_RUNNING; i <= DURABLE_STOPPED; i++)
        if (s && strcmp(s, durable_status_name((durable_status)i)) == 0) {
            *out = (durable_status)i;
            return true;
        }
    return false;
}

/* [a-zA-Z0-9-_]{1,64}: Id, ParentId and DurableExecutionName. */
static bool valid_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > DURABLE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool durable_valid_name(const char *name)
{
    return valid_id(name);
}

/* [\x20-\x7E]{1,max}: Name. */
static bool valid_printable(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

cJSON *durable_timestamp(int64_t ms)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
    return cJSON_CreateRaw(buf);
}

static const char *get_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void set_item(cJSON *o, const char *key, cJSON *value)
{
    if (cJSON_GetObjectItemCaseSensitive(o, key))
        cJSON_ReplaceItemInObjectCaseSensitive(o, key, value);
    else
        cJSON_AddItemToObject(o, key, value);
}

static void set_str(cJSON *o, const char *key, const char *value)
{
    if (value)
        set_item(o, key, cJSON_CreateString(value));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(o, key);
}

static cJSON *details(cJSON *op, const char *key)
{
    cJSON *d = cJSON_GetObjectItemCaseSensitive(op, key);
    if (!d) {
        d = cJSON_CreateObject();
        cJSON_AddItemToObject(op, key, d);
    }
    return d;
}

static const char *op_status(const durable_op *op)
{
    return get_str(op->op, "Status");
}

static const char *op_type(const durable_op *op)
{
    return get_str(op->op, "Type");
}

static durable_op *find_op(durable_exec *e, const char *id)
{
    for (size_t i = 0; i < e->nops; i++)
        if (strcmp(get_str(e->ops[i].op, "Id"), id) == 0)
            return &e->ops[i];
    return NULL;
}

static durable_op *add_op(durable_exec *e, cJSON *op)
{
    if (e->nops == e->capops) {
        e->capops = e->capops ? e->capops * 2 : 16;
        e->ops = realloc(e->ops, e->capops * sizeof *e->ops);
        if (!e->ops)
            abort();
    }
    durable_op *o = &e->ops[e->nops++];
    memset(o, 0, sizeof *o);
    o->op = op;
    o->due_ms = -1;
    return o;
}

static void touch(durable_exec *e, durable_op *op)
{
    op->seq = ++e->seq;
    e->persisted_dirty = true;
}

/* --- history --- */

/* An event's EventInput / EventResult / EventError: {Payload, Truncated}.
 * The service truncates a large payload in the history; lambda-local keeps
 * it whole, so Truncated is always false. */
static cJSON *wrap_payload(const char *payload)
{
    cJSON *o = cJSON_CreateObject();
    if (payload)
        cJSON_AddStringToObject(o, "Payload", payload);
    cJSON_AddBoolToObject(o, "Truncated", 0);
    return o;
}

static cJSON *wrap_error(const cJSON *error)
{
    cJSON *o = cJSON_CreateObject();
    if (error)
        cJSON_AddItemToObject(o, "Payload", cJSON_Duplicate(error, true));
    cJSON_AddBoolToObject(o, "Truncated", 0);
    return o;
}

/* Appends an Event; `op` gives Id/Name/ParentId/SubType. Takes `detail`. */
static void add_event(durable_exec *e, const char *type, const cJSON *op, cJSON *detail,
                      int64_t now_ms)
{
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "EventType", type);
    if (op && get_str(op, "SubType"))
        cJSON_AddStringToObject(ev, "SubType", get_str(op, "SubType"));
    cJSON_AddNumberToObject(ev, "EventId", cJSON_GetArraySize(e->events) + 1);
    if (op) {
        cJSON_AddStringToObject(ev, "Id", get_str(op, "Id"));
        if (get_str(op, "Name"))
            cJSON_AddStringToObject(ev, "Name", get_str(op, "Name"));
    }
    cJSON_AddItemToObject(ev, "EventTimestamp", durable_timestamp(now_ms));
    if (op && get_str(op, "ParentId"))
        cJSON_AddStringToObject(ev, "ParentId", get_str(op, "ParentId"));
    char key[64];
    snprintf(key, sizeof key, "%sDetails", type);
    cJSON_AddItemToObject(ev, key, detail ? detail : cJSON_CreateObject());
    cJSON_AddItemToArray(e->events, ev);
    e->persisted_dirty = true;
}

/* --- lifecycle --- */

static cJSON *new_op(const char *id, const char *type, const char *status, int64_t now_ms)
{
    cJSON *op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "Id", id);
    cJSON_AddStringToObject(op, "Type", type);
    cJSON_AddItemToObject(op, "StartTimestamp", durable_timestamp(now_ms));
    cJSON_AddStringToObject(op, "Status", status);
    return op;
}

durable_exec *durable_exec_new(const char *function_name, const char *function_arn,
                               const char *name, const char *input, int64_t now_ms)
{
    durable_exec *e = lambda_local_calloc(1, sizeof *e);
    char uuid[37];
    lambda_local_uuid(uuid);
    e->id = lambda_local_strdup(uuid);
    e->name = lambda_local_strdup(name);
    e->function_name = lambda_local_strdup(function_name);
    e->function_arn = lambda_local_strdup(function_arn);
    /* arn:aws:lambda:R:A:function:F:$LATEST/durable-execution/NAME/ID, the
     * pattern of Execution.DurableExecutionArn. */
    e->arn = lambda_local_format("%s:$LATEST/durable-execution/%s/%s", function_arn, name, uuid);
    e->input = lambda_local_strdup(input);
    e->status = DURABLE_RUNNING;
    e->start_ms = now_ms;
    e->events = cJSON_CreateArray();
    e->invoke_at_ms = now_ms;
    e->timeout_due_ms = -1;

    cJSON *op = new_op(e->id, "EXECUTION", "STARTED", now_ms);
    cJSON_AddStringToObject(op, "Name", name);
    cJSON_AddItemToObject(op, "ExecutionDetails", cJSON_CreateObject());
    cJSON_AddStringToObject(cJSON_GetObjectItem(op, "ExecutionDetails"), "InputPayload", input);
    touch(e, add_op(e, op));

    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "Input", wrap_payload(input));
    cJSON_AddNumberToObject(d, "ExecutionTimeout", 0); /* none enforced locally */
    add_event(e, "ExecutionStarted", op, d, now_ms);
    return e;
}

void durable_set_timeout(durable_exec *e, long seconds, double scale)
{
    e->timeout_s = seconds;
    e->timeout_due_ms = seconds > 0 ? e->start_ms + (int64_t)(seconds * 1000.0 * scale) : -1;
    cJSON *started = cJSON_GetArrayItem(e->events, 0);
    cJSON_ReplaceItemInObjectCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(started, "ExecutionStartedDetails"), "ExecutionTimeout",
        cJSON_CreateNumber((double)seconds));
    e->persisted_dirty = true;
}

void durable_exec_free(durable_exec *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nops; i++)
        cJSON_Delete(e->ops[i].op);
    free(e->ops);
    cJSON_Delete(e->events);
    cJSON_Delete(e->error);
    free(e->arn);
    free(e->name);
    free(e->id);
    free(e->function_name);
    free(e->function_arn);
    free(e->input);
    free(e->result);
    free(e->client_token);
    free(e->client_consumed);
    free(e->client_answer);
    free(e);
}

static void issue_token(durable_exec *e)
{
    char hex[33];
    lambda_local_random_hex(hex, 32);
    snprintf(e->token, sizeof e->token, "%" PRIu64 "-%s", e->seq, hex);
    e->token_seq = e->seq;
    snprintf(e->recent_tokens[e->recent_next % 8], sizeof e->recent_tokens[0], "%s", e->token);
    e->recent_next++;
}

/* An operation as the API shows it: without the service's private fields. */
static cJSON *public_op(const cJSON *op)
{
    cJSON *c = cJSON_Duplicate(op, true);
    cJSON_DeleteItemFromObjectCaseSensitive(c, "_TimeoutDue");
    return c;
}

/* Operations [start, ...) that fit one page; the index after the last. */
static cJSON *page_ops(const durable_exec *e, size_t start, size_t max_items, size_t *next)
{
    cJSON *arr = cJSON_CreateArray();
    size_t bytes = 0, i = start;
    for (; i < e->nops && i - start < max_items; i++) {
        char *s = cJSON_PrintUnformatted(e->ops[i].op); /* a bound, not exact */
        size_t n = s ? strlen(s) : 0;
        free(s);
        if (i > start && bytes + n > PAGE_BYTES)
            break;
        bytes += n;
        cJSON_AddItemToArray(arr, public_op(e->ops[i].op));
    }
    *next = i;
    return arr;
}

char *durable_envelope(durable_exec *e, size_t *len)
{
    memset(e->recent_tokens, 0, sizeof e->recent_tokens);
    issue_token(e);
    cJSON *env = cJSON_CreateObject();
    cJSON_AddStringToObject(env, "DurableExecutionArn", e->arn);
    cJSON_AddStringToObject(env, "CheckpointToken", e->token);
    cJSON *state = cJSON_AddObjectToObject(env, "InitialExecutionState");
    size_t next = 0;
    cJSON_AddItemToObject(state, "Operations", page_ops(e, 0, DEFAULT_PAGE_ITEMS, &next));
    if (next < e->nops) {
        char m[32];
        snprintf(m, sizeof m, "%zu", next);
        cJSON_AddStringToObject(state, "NextMarker", m);
    }
    char *s = cJSON_PrintUnformatted(env);
    cJSON_Delete(env);
    if (!s)
        abort();
    *len = strlen(s);
    return s;
}

static bool token_recent(const durable_exec *e, const char *token)
{
    for (int i = 0; i < 8; i++)
        if (e->recent_tokens[i][0] && strcmp(e->recent_tokens[i], token) == 0)
            return true;
    return false;
}

/* A decimal index in [0, limit]. */
static bool parse_index(const char *s, size_t limit, size_t *out)
{
    if (!s || !*s || strlen(s) > 12)
        return false;
    size_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    if (v > limit)
        return false;
    *out = v;
    return true;
}

static bool parse_max_items(const char *s, size_t *out, durable_error *err)
{
    *out = DEFAULT_PAGE_ITEMS;
    if (!s)
        return true;
    if (!parse_index(s, DURABLE_STATE_PAGE_MAX, out) || *out < 1) {
        INVALID(err, "MaxItems must be between 1 and %d", DURABLE_STATE_PAGE_MAX);
        return false;
    }
    return true;
}

char *durable_state_page(durable_exec *e, const char *token, const char *marker,
                         const char *max_items, durable_error *err)
{
    if (!token || !*token) {
        INVALID(err, "CheckpointToken is required");
        return NULL;
    }
    if (strcmp(token, e->token) != 0 && !token_recent(e, token)) {
        INVALID(err, "Invalid checkpoint token");
        return NULL;
    }
    size_t max = 0, start = 0;
    if (!parse_max_items(max_items, &max, err))
        return NULL;
    if (marker && !parse_index(marker, e->nops, &start)) {
        INVALID(err, "Invalid Marker: %.64s", marker);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    size_t next = 0;
    cJSON_AddItemToObject(o, "Operations", page_ops(e, start, max, &next));
    if (next < e->nops) {
        char m[32];
        snprintf(m, sizeof m, "%zu", next);
        cJSON_AddStringToObject(o, "NextMarker", m);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* --- checkpoint validation --- */

typedef enum { T_EXECUTION, T_CONTEXT, T_STEP, T_WAIT, T_CALLBACK, T_CHAINED, T_BAD } op_kind;
typedef enum { A_START, A_SUCCEED, A_FAIL, A_RETRY, A_CANCEL, A_BAD } op_action;

static op_kind kind_of(const char *s)
{
    static const char *const names[] = {"EXECUTION", "CONTEXT",  "STEP",
                                        "WAIT",      "CALLBACK", "CHAINED_INVOKE"};
    for (int i = 0; s && i < 6; i++)
        if (strcmp(s, names[i]) == 0)
            return (op_kind)i;
    return T_BAD;
}

static op_action action_of(const char *s)
{
    static const char *const names[] = {"START", "SUCCEED", "FAIL", "RETRY", "CANCEL"};
    for (int i = 0; s && i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return (op_action)i;
    return A_BAD;
}

/* Which actions each type takes (the service's table, as AWS's testing
 * library states it). */
static bool action_allowed(op_kind k, op_action a)
{
    switch (k) {
    case T_EXECUTION:
        return a == A_SUCCEED || a == A_FAIL;
    case T_CONTEXT:
        return a == A_START || a == A_SUCCEED || a == A_FAIL;
    case T_STEP:
        return a == A_START || a == A_SUCCEED || a == A_FAIL || a == A_RETRY;
    case T_WAIT:
    case T_CALLBACK:
    case T_CHAINED:
        return a == A_START || a == A_CANCEL;
    default:
        return false;
    }
}

static bool status_is(const durable_op *op, const char *a, const char *b)
{
    const char *s = op_status(op);
    return (a && strcmp(s, a) == 0) || (b && strcmp(s, b) == 0);
}

/* An integer field of an options object within [min, max]; absent: ok
 * unless required. */
static bool check_int(const cJSON *opts, const char *key, long min, long max, bool required,
                      long *out, const char *id, durable_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(opts, key);
    if (!v) {
        if (required) {
            INVALID(err, "Operation %s: %s is required", id, key);
            return false;
        }
        return true;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble ||
        v->valuedouble < (double)min || v->valuedouble > (double)max) {
        INVALID(err, "Operation %s: %s must be an integer between %ld and %ld", id, key, min, max);
        return false;
    }
    if (out)
        *out = (long)v->valuedouble;
    return true;
}

static bool check_error_object(const cJSON *error, const char *id, durable_error *err)
{
    if (!cJSON_IsObject(error)) {
        INVALID(err, "Operation %s: Error must be an object", id);
        return false;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, error)
    {
        if (strcmp(f->string, "StackTrace") == 0) {
            const cJSON *line;
            bool ok = cJSON_IsArray(f);
            cJSON_ArrayForEach(line, f) ok = ok && cJSON_IsString(line);
            if (!ok) {
                INVALID(err, "Operation %s: Error.StackTrace must be a list of strings", id);
                return false;
            }
        } else if (strcmp(f->string, "ErrorMessage") != 0 && strcmp(f->string, "ErrorType") != 0 &&
                   strcmp(f->string, "ErrorData") != 0) {
            INVALID(err, "Operation %s: unknown Error field %s", id, f->string);
            return false;
        } else if (!cJSON_IsString(f)) {
            INVALID(err, "Operation %s: Error.%s must be a string", id, f->string);
            return false;
        }
    }
    char *s = cJSON_PrintUnformatted(error);
    size_t n = s ? strlen(s) : 0;
    free(s);
    if (n > DURABLE_ERROR_MAX) {
        INVALID(err, "Operation %s: Error object size must be less than %d bytes", id,
                DURABLE_ERROR_MAX);
        return false;
    }
    return true;
}

/* The fields of one update, their patterns and sizes. */
static bool check_fields(const cJSON *u, op_kind *kind, op_action *action, durable_error *err)
{
    if (!cJSON_IsObject(u)) {
        INVALID(err, "Each of Updates must be an object");
        return false;
    }
    const char *id = get_str(u, "Id");
    if (!valid_id(id)) {
        INVALID(err, "Invalid operation Id '%.80s': 1 to %d of [a-zA-Z0-9-_]", id ? id : "",
                DURABLE_ID_MAX);
        return false;
    }
    *kind = kind_of(get_str(u, "Type"));
    *action = action_of(get_str(u, "Action"));
    if (*kind == T_BAD) {
        INVALID(err,
                "Operation %s: Type must be EXECUTION, CONTEXT, STEP, WAIT, CALLBACK or "
                "CHAINED_INVOKE",
                id);
        return false;
    }
    if (*action == A_BAD) {
        INVALID(err, "Operation %s: Action must be START, SUCCEED, FAIL, RETRY or CANCEL", id);
        return false;
    }
    if (*kind == T_CHAINED) {
        INVALID(err, "Operation %s: CHAINED_INVOKE is not supported by lambda-local", id);
        return false;
    }
    if (!action_allowed(*kind, *action)) {
        INVALID(err, "Operation %s: Invalid action %s for the operation type %s", id,
                get_str(u, "Action"), get_str(u, "Type"));
        return false;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(u, "ParentId");
    if (v && !valid_id(cJSON_IsString(v) ? v->valuestring : NULL)) {
        INVALID(err, "Operation %s: invalid ParentId", id);
        return false;
    }
    v = cJSON_GetObjectItemCaseSensitive(u, "Name");
    if (v && !valid_printable(cJSON_IsString(v) ? v->valuestring : NULL, DURABLE_NAME_MAX)) {
        INVALID(err, "Operation %s: Name must be 1 to %d printable ASCII characters", id,
                DURABLE_NAME_MAX);
        return false;
    }
    v = cJSON_GetObjectItemCaseSensitive(u, "SubType");
    if (v && !valid_printable(cJSON_IsString(v) ? v->valuestring : NULL, DURABLE_NAME_MAX)) {
        INVALID(err, "Operation %s: invalid SubType", id);
        return false;
    }
    v = cJSON_GetObjectItemCaseSensitive(u, "Payload");
    if (v) {
        size_t max = *kind == T_EXECUTION ? RESPONSE_PAYLOAD_MAX : DURABLE_PAYLOAD_MAX;
        if (!cJSON_IsString(v)) {
            INVALID(err, "Operation %s: Payload must be a string", id);
            return false;
        }
        if (strlen(v->valuestring) > max) {
            INVALID(err, "Operation %s: Payload is %zu bytes, over the limit of %zu", id,
                    strlen(v->valuestring), max);
            return false;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(u, "Error");
    if (v && !check_error_object(v, id, err))
        return false;
    static const char *const option_keys[] = {"ContextOptions", "StepOptions", "WaitOptions",
                                              "CallbackOptions", "ChainedInvokeOptions"};
    for (size_t i = 0; i < sizeof option_keys / sizeof *option_keys; i++) {
        v = cJSON_GetObjectItemCaseSensitive(u, option_keys[i]);
        if (v && !cJSON_IsObject(v)) {
            INVALID(err, "Operation %s: %s must be an object", id, option_keys[i]);
            return false;
        }
    }
    return true;
}

/* The transition from the operation's current state (NULL: new). */
static bool check_transition(const cJSON *u, op_kind kind, op_action action, const durable_op *cur,
                             durable_error *err)
{
    const char *id = get_str(u, "Id");
    bool has_payload = cJSON_GetObjectItemCaseSensitive(u, "Payload") != NULL;
    bool has_error = cJSON_GetObjectItemCaseSensitive(u, "Error") != NULL;
    if (cur && strcmp(op_type(cur), get_str(u, "Type")) != 0) {
        INVALID(err, "Operation %s is a %s, not a %s", id, op_type(cur), get_str(u, "Type"));
        return false;
    }
    if (action == A_FAIL && has_payload) {
        INVALID(err, "Operation %s: Cannot provide a Payload for FAIL action", id);
        return false;
    }
    if (action == A_SUCCEED && has_error) {
        INVALID(err, "Operation %s: Cannot provide an Error for SUCCEED action", id);
        return false;
    }
    switch (kind) {
    case T_STEP:
        if (action == A_START && cur && !status_is(cur, "READY", NULL)) {
            INVALID(err, "Operation %s: Invalid current STEP state to start (%s)", id,
                    op_status(cur));
            return false;
        }
        if ((action == A_SUCCEED || action == A_FAIL) && cur &&
            !status_is(cur, "STARTED", "READY")) {
            INVALID(err, "Operation %s: Invalid current STEP state to close (%s)", id,
                    op_status(cur));
            return false;
        }
        if (action == A_RETRY) {
            if (cur && !status_is(cur, "STARTED", "READY")) {
                INVALID(err, "Operation %s: Invalid current STEP state to re-attempt (%s)", id,
                        op_status(cur));
                return false;
            }
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(u, "StepOptions");
            if (!o) {
                INVALID(err, "Operation %s: RETRY requires StepOptions", id);
                return false;
            }
            if (has_error && has_payload) {
                INVALID(err, "Operation %s: Cannot provide both Error and Payload to RETRY a STEP",
                        id);
                return false;
            }
            if (!check_int(o, "NextAttemptDelaySeconds", 1, DURABLE_SECONDS_MAX, true, NULL, id,
                           err))
                return false;
        }
        return true;
    case T_WAIT:
        if (action == A_START) {
            if (cur) {
                INVALID(err, "Operation %s: Cannot start a WAIT that already exists", id);
                return false;
            }
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(u, "WaitOptions");
            if (!o) {
                INVALID(err, "Operation %s: WAIT START requires WaitOptions", id);
                return false;
            }
            return check_int(o, "WaitSeconds", 1, DURABLE_SECONDS_MAX, true, NULL, id, err);
        }
        if (!cur || !status_is(cur, "STARTED", NULL)) {
            INVALID(err,
                    "Operation %s: Cannot cancel a WAIT that does not exist or has already "
                    "completed",
                    id);
            return false;
        }
        return true;
    case T_CALLBACK:
        if (action == A_START) {
            if (cur) {
                INVALID(err, "Operation %s: Cannot start a CALLBACK that already exists", id);
                return false;
            }
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(u, "CallbackOptions");
            return !o || (check_int(o, "TimeoutSeconds", 0, DURABLE_CALLBACK_TIMEOUT_MAX, false,
                                    NULL, id, err) &&
                          check_int(o, "HeartbeatTimeoutSeconds", 0, DURABLE_CALLBACK_TIMEOUT_MAX,
                                    false, NULL, id, err));
        }
        if (!cur || !status_is(cur, "STARTED", NULL)) {
            INVALID(err,
                    "Operation %s: Cannot cancel a CALLBACK that does not exist or has "
                    "already completed",
                    id);
            return false;
        }
        return true;
    case T_CONTEXT:
        if (action == A_START && cur) {
            INVALID(err, "Operation %s: Cannot start a CONTEXT that already exists", id);
            return false;
        }
        if (action != A_START && cur && !status_is(cur, "STARTED", NULL)) {
            INVALID(err, "Operation %s: Invalid current CONTEXT state to close (%s)", id,
                    op_status(cur));
            return false;
        }
        return true;
    default:
        return true; /* EXECUTION: SUCCEED/FAIL, checked above */
    }
}

/* The status an update leaves its operation in. */
static const char *status_after(op_action a)
{
    static const char *const to[] = {"STARTED", "SUCCEEDED", "FAILED", "PENDING", "CANCELLED"};
    return to[a];
}

/* Every check of a checkpoint request, before anything is applied. Updates
 * are checked in order, each against the state the earlier ones leave: a
 * step's START and SUCCEED may come in one request (SDKs batch a step's
 * asynchronous START with its SUCCEED). */
static bool validate_updates(durable_exec *e, const cJSON *updates, durable_error *err)
{
    int n = cJSON_GetArraySize(updates);
    /* virt[i]: the operation as update i leaves it ({Id, Type, Status}). */
    cJSON **virt = lambda_local_calloc((size_t)n + 1, sizeof *virt);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        const cJSON *u = cJSON_GetArrayItem(updates, i);
        op_kind kind;
        op_action action;
        if (!check_fields(u, &kind, &action, err)) {
            ok = false;
            break;
        }
        const char *id = get_str(u, "Id");
        if (kind == T_EXECUTION && i != n - 1) {
            INVALID(err, "EXECUTION checkpoint must be the last update");
            ok = false;
            break;
        }
        /* A parent is a CONTEXT: one already known, or started earlier in
         * this request. */
        const char *parent = get_str(u, "ParentId");
        if (parent) {
            bool found = false;
            durable_op *p = find_op(e, parent);
            if (p)
                found = strcmp(op_type(p), "CONTEXT") == 0;
            for (int j = 0; j < i && !p; j++)
                if (strcmp(get_str(virt[j], "Id"), parent) == 0)
                    found = strcmp(get_str(virt[j], "Type"), "CONTEXT") == 0;
            if (!found) {
                INVALID(err, "Operation %s: Invalid parent operation id %s", id, parent);
                ok = false;
                break;
            }
        }
        virt[i] = cJSON_CreateObject();
        cJSON_AddStringToObject(virt[i], "Id", id);
        cJSON_AddStringToObject(virt[i], "Type", get_str(u, "Type"));
        cJSON_AddStringToObject(virt[i], "Status", status_after(action));
        if (kind == T_EXECUTION) {
            if (strcmp(id, e->id) != 0) {
                INVALID(err, "Operation %s: the EXECUTION operation's Id is %s", id, e->id);
                ok = false;
            }
            continue;
        }
        /* The operation as it stands: after an earlier update of this
         * request, else as stored. */
        durable_op earlier = {0};
        const durable_op *cur = find_op(e, id);
        for (int j = i - 1; j >= 0; j--)
            if (strcmp(get_str(virt[j], "Id"), id) == 0) {
                earlier.op = virt[j];
                cur = &earlier;
                break;
            }
        ok = check_transition(u, kind, action, cur, err);
    }
    for (int i = 0; i < n; i++)
        cJSON_Delete(virt[i]);
    free(virt);
    return ok;
}

/* --- checkpoint application --- */

static long int_field(const cJSON *u, const char *opts, const char *key)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(u, opts), key);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

static int64_t scaled_due(int64_t now_ms, long seconds, double scale)
{
    return now_ms + (int64_t)((double)seconds * 1000.0 * scale);
}

/* The operation an update creates or changes, with the common fields. */
static durable_op *upsert(durable_exec *e, const cJSON *u, const char *status, int64_t now_ms)
{
    const char *id = get_str(u, "Id");
    durable_op *op = find_op(e, id);
    if (!op)
        op = add_op(e, new_op(id, get_str(u, "Type"), status, now_ms));
    else
        set_str(op->op, "Status", status);
    static const char *const copied[] = {"ParentId", "Name", "SubType"};
    for (int i = 0; i < 3; i++)
        if (get_str(u, copied[i]))
            set_str(op->op, copied[i], get_str(u, copied[i]));
    if (strcmp(status, "SUCCEEDED") == 0 || strcmp(status, "FAILED") == 0 ||
        strcmp(status, "CANCELLED") == 0 || strcmp(status, "TIMED_OUT") == 0) {
        set_item(op->op, "EndTimestamp", durable_timestamp(now_ms));
        op->due_ms = -1;
    }
    touch(e, op);
    return op;
}

static void set_result_error(cJSON *d, const cJSON *u)
{
    set_str(d, "Result", get_str(u, "Payload"));
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(u, "Error");
    if (error)
        set_item(d, "Error", cJSON_Duplicate(error, true));
    else
        cJSON_DeleteItemFromObjectCaseSensitive(d, "Error");
}

static cJSON *retry_details(long attempt, long delay)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "CurrentAttempt", (double)attempt);
    if (delay > 0)
        cJSON_AddNumberToObject(r, "NextAttemptDelaySeconds", (double)delay);
    return r;
}

static void apply_step(durable_exec *e, const cJSON *u, op_action a, double scale, int64_t now)
{
    static const char *const to[] = {"STARTED", "SUCCEEDED", "FAILED", "PENDING"};
    durable_op *op = upsert(e, u, to[a], now);
    cJSON *d = details(op->op, "StepDetails");
    cJSON *attempt_item = cJSON_GetObjectItemCaseSensitive(d, "Attempt");
    long attempt = cJSON_IsNumber(attempt_item) ? (long)attempt_item->valuedouble : 0;
    if (!attempt_item)
        cJSON_AddNumberToObject(d, "Attempt", 0);
    cJSON *ev = NULL;
    switch (a) {
    case A_START:
        add_event(e, "StepStarted", op->op, NULL, now);
        return;
    case A_SUCCEED:
        set_result_error(d, u);
        ev = cJSON_CreateObject();
        cJSON_AddItemToObject(ev, "Result", wrap_payload(get_str(u, "Payload")));
        /* CurrentAttempt counts from 1 (Attempt counts the retries). */
        cJSON_AddItemToObject(ev, "RetryDetails", retry_details(attempt + 1, 0));
        add_event(e, "StepSucceeded", op->op, ev, now);
        return;
    case A_FAIL:
        set_result_error(d, u);
        ev = cJSON_CreateObject();
        cJSON_AddItemToObject(ev, "Error",
                              wrap_error(cJSON_GetObjectItemCaseSensitive(u, "Error")));
        cJSON_AddItemToObject(ev, "RetryDetails", retry_details(attempt + 1, 0));
        add_event(e, "StepFailed", op->op, ev, now);
        return;
    default: { /* RETRY: PENDING until the delay has passed, then READY */
        long delay = int_field(u, "StepOptions", "NextAttemptDelaySeconds");
        set_result_error(d, u);
        set_item(d, "Attempt", cJSON_CreateNumber((double)(attempt + 1)));
        op->due_ms = scaled_due(now, delay, scale);
        set_item(d, "NextAttemptTimestamp", durable_timestamp(op->due_ms));
        ev = cJSON_CreateObject();
        cJSON_AddItemToObject(ev, "Error",
                              wrap_error(cJSON_GetObjectItemCaseSensitive(u, "Error")));
        cJSON_AddItemToObject(ev, "RetryDetails", retry_details(attempt + 1, delay));
        add_event(e, "StepFailed", op->op, ev, now);
        return;
    }
    }
}

static void apply_wait(durable_exec *e, const cJSON *u, op_action a, double scale, int64_t now)
{
    if (a == A_CANCEL) {
        durable_op *op = upsert(e, u, "CANCELLED", now);
        add_event(e, "WaitCancelled", op->op, NULL, now);
        return;
    }
    long seconds = int_field(u, "WaitOptions", "WaitSeconds");
    durable_op *op = upsert(e, u, "STARTED", now);
    op->due_ms = scaled_due(now, seconds, scale);
    cJSON *d = details(op->op, "WaitDetails");
    set_item(d, "ScheduledEndTimestamp", durable_timestamp(op->due_ms));
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddNumberToObject(ev, "Duration", (double)seconds);
    cJSON_AddItemToObject(ev, "ScheduledEndTimestamp", durable_timestamp(op->due_ms));
    add_event(e, "WaitStarted", op->op, ev, now);
}

/* Callback ids match [A-Za-z0-9+/]+={0,2}; letters and digits only, so
 * they need no escaping in a path. */
static void new_callback_id(char out[41])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    char hex[81];
    lambda_local_random_hex(hex, 80);
    for (int i = 0; i < 40; i++) {
        unsigned v = (unsigned)strtoul((char[]){hex[2 * i], hex[2 * i + 1], 0}, NULL, 16);
        out[i] = alphabet[v % 62];
    }
    out[40] = '\0';
}

static void callback_rearm(durable_op *op, double scale, int64_t now)
{
    /* The earlier of the overall timeout (fixed at start, kept in
     * NextTimeout) and the heartbeat timeout (from the last heartbeat). */
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(op->op, "_TimeoutDue");
    int64_t due = cJSON_IsNumber(t) ? (int64_t)t->valuedouble : -1;
    if (op->heartbeat_s > 0) {
        int64_t hb = scaled_due(now, (long)op->heartbeat_s, scale);
        if (due < 0 || hb < due)
            due = hb;
    }
    op->due_ms = due;
}

static void apply_callback(durable_exec *e, const cJSON *u, op_action a, double scale, int64_t now)
{
    if (a == A_CANCEL) {
        upsert(e, u, "CANCELLED", now);
        return;
    }
    durable_op *op = upsert(e, u, "STARTED", now);
    char id[41];
    new_callback_id(id);
    cJSON *d = details(op->op, "CallbackDetails");
    set_str(d, "CallbackId", id);
    long timeout = int_field(u, "CallbackOptions", "TimeoutSeconds");
    long heartbeat = int_field(u, "CallbackOptions", "HeartbeatTimeoutSeconds");
    op->heartbeat_s = heartbeat;
    op->due_ms = -1;
    if (timeout > 0) {
        /* kept out of the Operation the API shows (see strip_private) */
        cJSON_AddNumberToObject(op->op, "_TimeoutDue", (double)scaled_due(now, timeout, scale));
    }
    callback_rearm(op, scale, now);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddStringToObject(ev, "CallbackId", id);
    cJSON_AddNumberToObject(ev, "HeartbeatTimeout", (double)heartbeat);
    cJSON_AddNumberToObject(ev, "Timeout", (double)timeout);
    add_event(e, "CallbackStarted", op->op, ev, now);
}

static void apply_context(durable_exec *e, const cJSON *u, op_action a, int64_t now)
{
    static const char *const to[] = {"STARTED", "SUCCEEDED", "FAILED"};
    durable_op *op = upsert(e, u, to[a], now);
    cJSON *d = details(op->op, "ContextDetails");
    if (a == A_START) {
        add_event(e, "ContextStarted", op->op, NULL, now);
        return;
    }
    set_result_error(d, u);
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(u, "ContextOptions"), "ReplayChildren");
    if (cJSON_IsBool(rc))
        set_item(d, "ReplayChildren", cJSON_CreateBool(cJSON_IsTrue(rc)));
    cJSON *ev = cJSON_CreateObject();
    if (a == A_SUCCEED)
        cJSON_AddItemToObject(ev, "Result", wrap_payload(get_str(u, "Payload")));
    else
        cJSON_AddItemToObject(ev, "Error",
                              wrap_error(cJSON_GetObjectItemCaseSensitive(u, "Error")));
    add_event(e, a == A_SUCCEED ? "ContextSucceeded" : "ContextFailed", op->op, ev, now);
}

char *durable_checkpoint(durable_exec *e, const char *body, size_t len, double scale,
                         int64_t now_ms, durable_error *err)
{
    cJSON *req = cJSON_ParseWithLength(body, len);
    char *answer = NULL;
    if (!cJSON_IsObject(req)) {
        INVALID(err, "The request body must be a JSON object");
        goto done;
    }
    const char *token = get_str(req, "CheckpointToken");
    const char *client = get_str(req, "ClientToken");
    const cJSON *updates = cJSON_GetObjectItemCaseSensitive(req, "Updates");
    if (!token || !*token) {
        INVALID(err, "CheckpointToken is required");
        goto done;
    }
    if (client && (strlen(client) < 1 || strlen(client) > 64)) {
        INVALID(err, "ClientToken must be 1 to 64 characters");
        goto done;
    }
    if (client && e->client_token && strcmp(client, e->client_token) == 0 &&
        strcmp(token, e->client_consumed) == 0) {
        answer = lambda_local_strdup(e->client_answer); /* a retried request */
        goto done;
    }
    if (e->status != DURABLE_RUNNING) {
        INVALID(err, "The durable execution is %s: it takes no more checkpoints",
                durable_status_name(e->status));
        goto done;
    }
    if (!e->token[0] || strcmp(token, e->token) != 0) {
        INVALID(err, "Invalid checkpoint token: it was already used, or belongs to another "
                     "invocation");
        goto done;
    }
    if (updates && !cJSON_IsArray(updates)) {
        INVALID(err, "Updates must be a list");
        goto done;
    }
    if (!validate_updates(e, updates, err))
        goto done;

    uint64_t since = e->token_seq;
    const cJSON *u;
    cJSON_ArrayForEach(u, updates)
    {
        op_kind k = kind_of(get_str(u, "Type"));
        op_action a = action_of(get_str(u, "Action"));
        if (k == T_STEP)
            apply_step(e, u, a, scale, now_ms);
        else if (k == T_WAIT)
            apply_wait(e, u, a, scale, now_ms);
        else if (k == T_CALLBACK)
            apply_callback(e, u, a, scale, now_ms);
        else if (k == T_CONTEXT)
            apply_context(e, u, a, now_ms);
        else if (a == A_SUCCEED)
            durable_finish(e, DURABLE_SUCCEEDED, get_str(u, "Payload"), NULL, now_ms);
        else
            durable_finish(e, DURABLE_FAILED, NULL, cJSON_GetObjectItemCaseSensitive(u, "Error"),
                           now_ms);
    }
    /* The old token is spent; the new one reports what changed since the
     * old one was issued: these updates, and timers or callbacks that
     * completed meanwhile. */
    issue_token(e);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "CheckpointToken", e->token);
    cJSON *state = cJSON_AddObjectToObject(o, "NewExecutionState");
    cJSON *ops = cJSON_AddArrayToObject(state, "Operations");
    for (size_t i = 0; i < e->nops; i++)
        if (e->ops[i].seq > since)
            cJSON_AddItemToArray(ops, public_op(e->ops[i].op));
    answer = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (e->status != DURABLE_RUNNING)
        e->token[0] = '\0';
    if (client) {
        free(e->client_token);
        free(e->client_consumed);
        free(e->client_answer);
        e->client_token = lambda_local_strdup(client);
        e->client_consumed = lambda_local_strdup(token);
        e->client_answer = lambda_local_strdup(answer);
    }
done:
    cJSON_Delete(req);
    return answer;
}

/* --- timers, callbacks, the end --- */

static cJSON *error_object(const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ErrorType", type);
    cJSON_AddStringToObject(o, "ErrorMessage", message);
    return o;
}

static void time_out_callback(durable_exec *e, durable_op *op, int64_t now)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(op->op, "_TimeoutDue");
    bool overall = cJSON_IsNumber(t) && (int64_t)t->valuedouble <= now;
    cJSON *error = error_object("Callback.Timeout",
                                overall ? "Callback timed out" : "Callback heartbeat timed out");
    set_str(op->op, "Status", "TIMED_OUT");
    set_item(op->op, "EndTimestamp", durable_timestamp(now));
    set_item(details(op->op, "CallbackDetails"), "Error", cJSON_Duplicate(error, true));
    op->due_ms = -1;
    touch(e, op);
    cJSON *ev = cJSON_CreateObject();
    cJSON_AddItemToObject(ev, "Error", wrap_error(error));
    cJSON_Delete(error);
    add_event(e, "CallbackTimedOut", op->op, ev, now);
}

bool durable_fire_timers(durable_exec *e, int64_t now_ms)
{
    bool changed = false;
    if (e->status != DURABLE_RUNNING)
        return false;
    if (e->timeout_due_ms >= 0 && e->timeout_due_ms <= now_ms) {
        char msg[96];
        snprintf(msg, sizeof msg,
                 "The durable execution ran longer than its ExecutionTimeout (%ld s)",
                 e->timeout_s);
        cJSON *error = error_object("Execution.Timeout", msg);
        durable_finish(e, DURABLE_TIMED_OUT, NULL, error, now_ms);
        cJSON_Delete(error);
        return true;
    }
    for (size_t i = 0; i < e->nops; i++) {
        durable_op *op = &e->ops[i];
        if (op->due_ms < 0 || op->due_ms > now_ms)
            continue;
        const char *type = op_type(op);
        if (strcmp(type, "WAIT") == 0) {
            set_str(op->op, "Status", "SUCCEEDED");
            set_item(op->op, "EndTimestamp", durable_timestamp(now_ms));
            op->due_ms = -1;
            touch(e, op);
            cJSON *ev = cJSON_CreateObject();
            const cJSON *first = NULL;
            for (int j = cJSON_GetArraySize(e->events) - 1; j >= 0 && !first; j--) {
                const cJSON *x = cJSON_GetArrayItem(e->events, j);
                if (strcmp(get_str(x, "EventType"), "WaitStarted") == 0 &&
                    strcmp(get_str(x, "Id"), get_str(op->op, "Id")) == 0)
                    first = x;
            }
            const cJSON *dur = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(first, "WaitStartedDetails"), "Duration");
            cJSON_AddNumberToObject(ev, "Duration", cJSON_IsNumber(dur) ? dur->valuedouble : 0);
            add_event(e, "WaitSucceeded", op->op, ev, now_ms);
        } else if (strcmp(type, "STEP") == 0) {
            set_str(op->op, "Status", "READY");
            op->due_ms = -1;
            touch(e, op);
        } else if (strcmp(type, "CALLBACK") == 0) {
            time_out_callback(e, op, now_ms);
        } else {
            op->due_ms = -1;
            continue;
        }
        changed = true;
    }
    return changed;
}

int64_t durable_next_timer(const durable_exec *e)
{
    int64_t next = e->timeout_due_ms;
    if (e->status != DURABLE_RUNNING)
        return -1;
    for (size_t i = 0; i < e->nops; i++)
        if (e->ops[i].due_ms >= 0 && (next < 0 || e->ops[i].due_ms < next))
            next = e->ops[i].due_ms;
    return next;
}

bool durable_has_pending(const durable_exec *e)
{
    for (size_t i = 0; i < e->nops; i++) {
        const char *type = op_type(&e->ops[i]), *status = op_status(&e->ops[i]);
        if ((strcmp(type, "STEP") == 0 &&
             (strcmp(status, "PENDING") == 0 || strcmp(status, "READY") == 0)) ||
            ((strcmp(type, "WAIT") == 0 || strcmp(type, "CALLBACK") == 0) &&
             strcmp(status, "STARTED") == 0))
            return true;
    }
    return false;
}

bool durable_has_ready(const durable_exec *e)
{
    for (size_t i = 0; i < e->nops; i++)
        if (strcmp(op_type(&e->ops[i]), "STEP") == 0 && strcmp(op_status(&e->ops[i]), "READY") == 0)
            return true;
    return false;
}

void durable_finish(durable_exec *e, durable_status status, const char *result, const cJSON *error,
                    int64_t now_ms)
{
    if (e->status != DURABLE_RUNNING)
        return;
    e->status = status;
    e->end_ms = now_ms;
    free(e->result);
    e->result = result ? lambda_local_strdup(result) : NULL;
    cJSON_Delete(e->error);
    e->error = error ? cJSON_Duplicate(error, true) : NULL;
    for (size_t i = 0; i < e->nops; i++)
        e->ops[i].due_ms = -1;
    e->timeout_due_ms = -1;
    durable_op *exec_op = &e->ops[0];
    set_str(exec_op->op, "Status", durable_status_name(status));
    set_item(exec_op->op, "EndTimestamp", durable_timestamp(now_ms));
    touch(e, exec_op);
    e->invoke_at_ms = -1;
    cJSON *ev = cJSON_CreateObject();
    const char *type = "ExecutionSucceeded";
    if (status == DURABLE_SUCCEEDED)
        cJSON_AddItemToObject(ev, "Result", wrap_payload(result));
    else
        cJSON_AddItemToObject(ev, "Error", wrap_error(error));
    if (status == DURABLE_FAILED)
        type = "ExecutionFailed";
    else if (status == DURABLE_STOPPED)
        type = "ExecutionStopped";
    else if (status == DURABLE_TIMED_OUT)
        type = "ExecutionTimedOut";
    add_event(e, type, exec_op->op, ev, now_ms);
}

void durable_invocation_completed(durable_exec *e, int64_t start_ms, int64_t end_ms,
                                  const char *request_id, const cJSON *error)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddItemToObject(d, "StartTimestamp", durable_timestamp(start_ms));
    cJSON_AddItemToObject(d, "EndTimestamp", durable_timestamp(end_ms));
    cJSON_AddStringToObject(d, "RequestId", request_id);
    if (error)
        cJSON_AddItemToObject(d, "Error", wrap_error(error));
    add_event(e, "InvocationCompleted", NULL, d, end_ms);
}

durable_op *durable_find_callback(durable_exec *e, const char *callback_id)
{
    for (size_t i = 0; i < e->nops; i++)
        if (strcmp(op_type(&e->ops[i]), "CALLBACK") == 0) {
            const char *id = get_str(
                cJSON_GetObjectItemCaseSensitive(e->ops[i].op, "CallbackDetails"), "CallbackId");
            if (id && strcmp(id, callback_id) == 0)
                return &e->ops[i];
        }
    return NULL;
}

static bool callback_open(const durable_exec *e, const durable_op *op, durable_error *err)
{
    if (strcmp(op_status(op), "TIMED_OUT") == 0) {
        set_err(err, 400, "CallbackTimeoutException", "The callback timed out");
        return false;
    }
    if (e->status != DURABLE_RUNNING || strcmp(op_status(op), "STARTED") != 0) {
        INVALID(err, "The callback is %s and its execution %s: it takes no more answers",
                op_status(op), durable_status_name(e->status));
        return false;
    }
    return true;
}

bool durable_callback_complete(durable_exec *e, durable_op *op, bool success, const char *result,
                               size_t result_len, const cJSON *error, int64_t now_ms,
                               durable_error *err)
{
    if (!callback_open(e, op, err))
        return false;
    if (success && result_len > DURABLE_PAYLOAD_MAX) {
        set_err(err, 413, "RequestTooLargeException", "The callback result is %zu bytes, over %d",
                result_len, DURABLE_PAYLOAD_MAX);
        return false;
    }
    if (!success && error && !check_error_object(error, "callback", err))
        return false;
    set_str(op->op, "Status", success ? "SUCCEEDED" : "FAILED");
    set_item(op->op, "EndTimestamp", durable_timestamp(now_ms));
    cJSON *d = details(op->op, "CallbackDetails");
    cJSON *ev = cJSON_CreateObject();
    if (success) {
        char *copy = lambda_local_format("%.*s", (int)result_len, result ? result : "");
        set_str(d, "Result", copy);
        cJSON_AddItemToObject(ev, "Result", wrap_payload(copy));
        free(copy);
    } else {
        cJSON *eo = error ? cJSON_Duplicate(error, true) : cJSON_CreateObject();
        set_item(d, "Error", eo);
        cJSON_AddItemToObject(ev, "Error", wrap_error(eo));
    }
    op->due_ms = -1;
    touch(e, op);
    add_event(e, success ? "CallbackSucceeded" : "CallbackFailed", op->op, ev, now_ms);
    return true;
}

bool durable_callback_heartbeat(durable_exec *e, durable_op *op, double scale, int64_t now_ms,
                                durable_error *err)
{
    if (!callback_open(e, op, err))
        return false;
    callback_rearm(op, scale, now_ms);
    e->persisted_dirty = true;
    return true;
}

/* --- descriptions --- */

cJSON *durable_summary(const durable_exec *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "DurableExecutionArn", e->arn);
    cJSON_AddStringToObject(o, "DurableExecutionName", e->name);
    cJSON_AddStringToObject(o, "FunctionArn", e->function_arn);
    cJSON_AddStringToObject(o, "Status", durable_status_name(e->status));
    cJSON_AddItemToObject(o, "StartTimestamp", durable_timestamp(e->start_ms));
    if (e->status != DURABLE_RUNNING)
        cJSON_AddItemToObject(o, "EndTimestamp", durable_timestamp(e->end_ms));
    return o;
}

cJSON *durable_describe(const durable_exec *e, bool include_data)
{
    cJSON *o = durable_summary(e);
    if (include_data) {
        cJSON_AddStringToObject(o, "InputPayload", e->input);
        if (e->result)
            cJSON_AddStringToObject(o, "Result", e->result);
    }
    if (e->error)
        cJSON_AddItemToObject(o, "Error", cJSON_Duplicate(e->error, true));
    cJSON_AddStringToObject(o, "Version", "$LATEST");
    cJSON_AddBoolToObject(o, "ExecutionDataIncluded", include_data);
    return o;
}

/* Without IncludeExecutionData, events keep their shape but not the data. */
static void strip_payloads(cJSON *ev)
{
    cJSON *d;
    cJSON_ArrayForEach(d, ev)
    {
        if (!cJSON_IsObject(d))
            continue;
        cJSON *part;
        cJSON_ArrayForEach(part, d)
        {
            if (cJSON_IsObject(part) && strcmp(part->string, "RetryDetails") != 0)
                cJSON_DeleteItemFromObjectCaseSensitive(part, "Payload");
        }
    }
}

char *durable_history_page(const durable_exec *e, bool include_data, bool reverse,
                           const char *marker, const char *max_items, durable_error *err)
{
    size_t n = (size_t)cJSON_GetArraySize(e->events), max = 0, start = 0;
    if (!parse_max_items(max_items, &max, err))
        return NULL;
    if (marker && !parse_index(marker, n, &start)) {
        INVALID(err, "Invalid Marker: %.64s", marker);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, "Events");
    size_t i = start;
    for (; i < n && i - start < max; i++) {
        cJSON *ev =
            cJSON_Duplicate(cJSON_GetArrayItem(e->events, (int)(reverse ? n - 1 - i : i)), true);
        if (!include_data)
            strip_payloads(ev);
        cJSON_AddItemToArray(arr, ev);
    }
    if (i < n) {
        char m[32];
        snprintf(m, sizeof m, "%zu", i);
        cJSON_AddStringToObject(o, "NextMarker", m);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* --- the state file --- */

char *durable_serialize(const durable_exec *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "FormatVersion", 1);
    cJSON_AddStringToObject(o, "Arn", e->arn);
    cJSON_AddStringToObject(o, "Name", e->name);
    cJSON_AddStringToObject(o, "Id", e->id);
    cJSON_AddStringToObject(o, "FunctionName", e->function_name);
    cJSON_AddStringToObject(o, "FunctionArn", e->function_arn);
    cJSON_AddStringToObject(o, "Input", e->input);
    cJSON_AddStringToObject(o, "Status", durable_status_name(e->status));
    cJSON_AddNumberToObject(o, "StartMs", (double)e->start_ms);
    cJSON_AddNumberToObject(o, "EndMs", (double)e->end_ms);
    cJSON_AddNumberToObject(o, "TimeoutSeconds", (double)e->timeout_s);
    cJSON_AddNumberToObject(o, "TimeoutDueMs", (double)e->timeout_due_ms);
    if (e->result)
        cJSON_AddStringToObject(o, "Result", e->result);
    if (e->error)
        cJSON_AddItemToObject(o, "Error", cJSON_Duplicate(e->error, true));
    cJSON_AddNumberToObject(o, "Seq", (double)e->seq);
    cJSON *ops = cJSON_AddArrayToObject(o, "Operations");
    for (size_t i = 0; i < e->nops; i++) {
        cJSON *w = cJSON_CreateObject();
        cJSON_AddItemToObject(w, "Operation", cJSON_Duplicate(e->ops[i].op, true));
        cJSON_AddNumberToObject(w, "Seq", (double)e->ops[i].seq);
        cJSON_AddNumberToObject(w, "DueMs", (double)e->ops[i].due_ms);
        cJSON_AddNumberToObject(w, "HeartbeatSeconds", (double)e->ops[i].heartbeat_s);
        cJSON_AddItemToArray(ops, w);
    }
    cJSON_AddItemToObject(o, "Events", cJSON_Duplicate(e->events, true));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static int64_t num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static char *dup_field(const cJSON *o, const char *key)
{
    const char *s = get_str(o, key);
    return s ? lambda_local_strdup(s) : NULL;
}

durable_exec *durable_deserialize(const char *json)
{
    cJSON *o = cJSON_Parse(json);
    durable_exec *e = NULL;
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(o, "Operations");
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(o, "Events");
    durable_status status;
    if (!cJSON_IsObject(o) || num(o, "FormatVersion") != 1 || !get_str(o, "Arn") ||
        !get_str(o, "Name") || !get_str(o, "Id") || !get_str(o, "FunctionName") ||
        !get_str(o, "FunctionArn") || !get_str(o, "Input") ||
        !status_from_name(get_str(o, "Status"), &status) || !cJSON_IsArray(ops) ||
        cJSON_GetArraySize(ops) < 1 || !cJSON_IsArray(events))
        goto done;
    e = lambda_local_calloc(1, sizeof *e);
    e->arn = dup_field(o, "Arn");
    e->name = dup_field(o, "Name");
    e->id = dup_field(o, "Id");
    e->function_name = dup_field(o, "FunctionName");
    e->function_arn = dup_field(o, "FunctionArn");
    e->input = dup_field(o, "Input");
    e->result = dup_field(o, "Result");
    e->status = status;
    e->start_ms = num(o, "StartMs");
    e->end_ms = num(o, "EndMs");
    e->timeout_s = (long)num(o, "TimeoutSeconds");
    e->timeout_due_ms =
        cJSON_GetObjectItemCaseSensitive(o, "TimeoutDueMs") ? num(o, "TimeoutDueMs") : -1;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(o, "Error");
    e->error = error ? cJSON_Duplicate(error, true) : NULL;
    e->seq = (uint64_t)num(o, "Seq");
    e->events = cJSON_Duplicate(events, true);
    const cJSON *w;
    cJSON_ArrayForEach(w, ops)
    {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(w, "Operation");
        if (!cJSON_IsObject(op) || !get_str(op, "Id") || !get_str(op, "Type") ||
            !get_str(op, "Status")) {
            durable_exec_free(e);
            e = NULL;
            goto done;
        }
        durable_op *d = add_op(e, cJSON_Duplicate(op, true));
        d->seq = (uint64_t)num(w, "Seq");
        d->due_ms = num(w, "DueMs");
        d->heartbeat_s = num(w, "HeartbeatSeconds");
    }
    /* A RUNNING execution resumes with a new invocation (the one that was
     * running, if any, died with the previous lambda-local). */
    e->invoke_at_ms = e->status == DURABLE_RUNNING ? 0 : -1;
done:
    cJSON_Delete(o);
    return e;
}

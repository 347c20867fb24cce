/*
 * Operations from the service's JSON (cJSON reads it; here we only check
 * what each field must be) into a table by id.
 */
#define _POSIX_C_SOURCE 200809L
#include "state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The service's limits on what it sends (the API reference): an id of at
 * most 64 characters and a name of at most 256; a longer one is not from
 * the service and is refused rather than trusted. */
#define ID_MAX 64
#define NAME_MAX_CHARS 256

static const char *const type_names[OP_TYPE_COUNT] = {"EXECUTION", "CONTEXT",  "STEP",
                                                      "WAIT",      "CALLBACK", "CHAINED_INVOKE"};
static const char *const status_names[ST_STATUS_COUNT] = {
    "STARTED", "PENDING", "READY", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "STOPPED"};
/* The details object each type's fields live in. */
static const char *const details_names[OP_TYPE_COUNT] = {
    "ExecutionDetails", "ContextDetails",  "StepDetails",
    "WaitDetails",      "CallbackDetails", "ChainedInvokeDetails"};

const char *durable_op_type_name(durable_op_type t)
{
    return t < OP_TYPE_COUNT ? type_names[t] : "?";
}

const char *durable_op_status_name(durable_op_status s)
{
    return s < ST_STATUS_COUNT ? status_names[s] : "?";
}

int durable_status_terminal(durable_op_status s)
{
    return s == ST_SUCCEEDED || s == ST_FAILED || s == ST_CANCELLED || s == ST_TIMED_OUT ||
           s == ST_STOPPED;
}

static void op_free(durable_op *op)
{
    if (!op)
        return;
    free(op->id);
    free(op->parent_id);
    free(op->name);
    free(op->sub_type);
    free(op->result);
    free(op->error_type);
    free(op->error_message);
    free(op->error_data);
    free(op->input_payload);
    free(op->callback_id);
    free(op);
}

/* FNV-1a: a table index, not a security property. */
static size_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h;
}

static size_t find_slot(durable_op **slots, size_t cap, const char *id)
{
    size_t i = hash_id(id) & (cap - 1);
    while (slots[i] && strcmp(slots[i]->id, id) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

static int grow(durable_state *st)
{
    size_t cap = st->cap ? st->cap * 2 : 64;
    durable_op **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < st->cap; i++)
        if (st->slots[i])
            slots[find_slot(slots, cap, st->slots[i]->id)] = st->slots[i];
    free(st->slots);
    st->slots = slots;
    st->cap = cap;
    return 0;
}

/* Puts `op` in the table (owning it), replacing one with the same id. */
static int put(durable_state *st, durable_op *op)
{
    if ((st->count + 1) * 4 > st->cap * 3 && grow(st) != 0)
        return -1;
    size_t i = find_slot(st->slots, st->cap, op->id);
    if (st->slots[i]) {
        if (st->execution == st->slots[i])
            st->execution = NULL;
        op_free(st->slots[i]);
    } else {
        st->count++;
    }
    st->slots[i] = op;
    if (op->type == OP_EXECUTION && !st->execution)
        st->execution = op;
    return 0;
}

const durable_op *durable_state_get(const durable_state *st, const char *id)
{
    if (!st->cap)
        return NULL;
    return st->slots[find_slot(st->slots, st->cap, id)];
}

void durable_state_free(durable_state *st)
{
    for (size_t i = 0; i < st->cap; i++)
        op_free(st->slots[i]);
    free(st->slots);
    memset(st, 0, sizeof *st);
}

/* Field readers: -1 with err when a present field has the wrong shape. */
typedef struct reader {
    const char *where; /* "operation 3" */
    lambda_error *err;
} reader;

static int bad(const reader *r, const char *field, const char *what)
{
    lambda_error_set(r->err, "Durable.InvalidState", "%s: %s %s", r->where, field, what);
    return -1;
}

/* An optional string field, copied into *out (NULL when absent). */
static int opt_string(const reader *r, const cJSON *obj, const char *field, size_t max, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return bad(r, field, "is not a string");
    if (max && strlen(v->valuestring) > max)
        return bad(r, field, "is too long");
    *out = strdup(v->valuestring);
    return *out ? 0 : bad(r, field, "could not be copied (out of memory)");
}

static int enum_field(const reader *r, const cJSON *obj, const char *field,
                      const char *const *names, int count, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!cJSON_IsString(v))
        return bad(r, field, "is missing or not a string");
    for (int i = 0; i < count; i++)
        if (strcmp(v->valuestring, names[i]) == 0) {
            *out = i;
            return 0;
        }
    lambda_error_set(r->err, "Durable.InvalidState", "%s: unknown %s '%.64s'", r->where, field,
                     v->valuestring);
    return -1;
}

static int read_error(const reader *r, const cJSON *details, durable_op *op)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(details, "Error");
    if (!e || cJSON_IsNull(e))
        return 0;
    if (!cJSON_IsObject(e))
        return bad(r, "Error", "is not an object");
    op->has_error = 1;
    if (opt_string(r, e, "ErrorType", 0, &op->error_type) != 0 ||
        opt_string(r, e, "ErrorMessage", 0, &op->error_message) != 0 ||
        opt_string(r, e, "ErrorData", 0, &op->error_data) != 0)
        return -1;
    return 0;
}

/* The fields of the type's details object. */
static int read_details(const reader *r, const cJSON *j, durable_op *op)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, details_names[op->type]);
    if (!d || cJSON_IsNull(d))
        return 0;
    if (!cJSON_IsObject(d))
        return bad(r, details_names[op->type], "is not an object");
    if (op->type == OP_EXECUTION)
        return opt_string(r, d, "InputPayload", 0, &op->input_payload);
    if (op->type == OP_STEP) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, "Attempt");
        if (a && !cJSON_IsNull(a)) {
            if (!cJSON_IsNumber(a) || a->valuedouble < 0 || a->valuedouble > 1e6)
                return bad(r, "StepDetails.Attempt", "is not a count");
            op->attempt = (int)a->valuedouble;
        }
    }
    if (op->type == OP_CALLBACK && opt_string(r, d, "CallbackId", 0, &op->callback_id) != 0)
        return -1;
    if (op->type == OP_CONTEXT)
        op->replay_children = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "ReplayChildren"));
    if (op->type == OP_WAIT)
        return 0;
    if (opt_string(r, d, "Result", 0, &op->result) != 0)
        return -1;
    return read_error(r, d, op);
}

static int read_op(const cJSON *j, size_t index, durable_op **out, lambda_error *err)
{
    char where[96];
    snprintf(where, sizeof where, "operation #%zu", index);
    reader r = {where, err};
    if (!cJSON_IsObject(j))
        return bad(&r, "the entry", "is not an object");
    durable_op *op = calloc(1, sizeof *op);
    if (!op)
        return bad(&r, "the entry", "could not be stored (out of memory)");
    int type = 0, status = 0;
    int rc = -1;
    if (opt_string(&r, j, "Id", ID_MAX, &op->id) != 0)
        goto done;
    if (!op->id || !op->id[0]) {
        bad(&r, "Id", "is missing or empty");
        goto done;
    }
    snprintf(where, sizeof where, "operation '%s'", op->id);
    if (enum_field(&r, j, "Type", type_names, OP_TYPE_COUNT, &type) != 0 ||
        enum_field(&r, j, "Status", status_names, ST_STATUS_COUNT, &status) != 0)
        goto done;
    op->type = (durable_op_type)type;
    op->status = (durable_op_status)status;
    if (opt_string(&r, j, "ParentId", ID_MAX, &op->parent_id) != 0 ||
        opt_string(&r, j, "Name", NAME_MAX_CHARS, &op->name) != 0 ||
        opt_string(&r, j, "SubType", 0, &op->sub_type) != 0 || read_details(&r, j, op) != 0)
        goto done;
    rc = 0;
done:
    if (rc != 0)
        op_free(op);
    else
        *out = op;
    return rc;
}

int durable_state_merge(durable_state *st, const cJSON *operations, lambda_error *err)
{
    if (!operations || cJSON_IsNull(operations))
        return 0;
    if (!cJSON_IsArray(operations)) {
        lambda_error_set(err, "Durable.InvalidState", "Operations is not an array");
        return -1;
    }
    size_t index = 0;
    const cJSON *j;
    cJSON_ArrayForEach(j, operations)
    {
        durable_op *op = NULL;
        if (read_op(j, index++, &op, err) != 0)
            return -1;
        if (put(st, op) != 0) {
            op_free(op);
            lambda_error_set(err, "Durable.InvalidState", "out of memory storing operations");
            return -1;
        }
    }
    return 0;
}

void durable_envelope_free(durable_envelope *env)
{
    free(env->arn);
    free(env->token);
    free(env->next_marker);
    memset(env, 0, sizeof *env);
}

static int required_string(const cJSON *obj, const char *field, char **out, lambda_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!cJSON_IsString(v) || !v->valuestring[0]) {
        lambda_error_set(err, "Durable.InvalidEvent",
                         "not a durable execution event: %s is missing or not a non-empty string",
                         field);
        return -1;
    }
    *out = strdup(v->valuestring);
    if (!*out) {
        lambda_error_set(err, "Durable.InvalidEvent", "out of memory");
        return -1;
    }
    return 0;
}

int durable_envelope_parse(const char *json, size_t len, durable_envelope *env, durable_state *st,
                           lambda_error *err)
{
    memset(env, 0, sizeof *env);
    cJSON *j = cJSON_ParseWithLength(json, len);
    int rc = -1;
    if (!cJSON_IsObject(j)) {
        lambda_error_set(err, "Durable.InvalidEvent",
                         "not a durable execution event: the payload is not a JSON object");
        goto done;
    }
    /* cJSON would cut a string at an escaped NUL: refuse, as the runtime
     * does for JSON handlers. */
    if (lambda_json_has_nul(json, len)) {
        lambda_error_set(err, "Durable.InvalidEvent", "the event holds a \\u0000 escape");
        goto done;
    }
    if (required_string(j, "DurableExecutionArn", &env->arn, err) != 0 ||
        required_string(j, "CheckpointToken", &env->token, err) != 0)
        goto done;
    const cJSON *initial = cJSON_GetObjectItemCaseSensitive(j, "InitialExecutionState");
    if (!cJSON_IsObject(initial)) {
        lambda_error_set(err, "Durable.InvalidEvent",
                         "not a durable execution event: InitialExecutionState is missing or "
                         "not an object");
        goto done;
    }
    reader r = {"InitialExecutionState", err};
    if (opt_string(&r, initial, "NextMarker", 0, &env->next_marker) != 0) {
        snprintf(err->type, sizeof err->type, "Durable.InvalidEvent");
        goto done;
    }
    if (env->next_marker && !env->next_marker[0]) {
        free(env->next_marker);
        env->next_marker = NULL;
    }
    if (durable_state_merge(st, cJSON_GetObjectItemCaseSensitive(initial, "Operations"), err) !=
        0) {
        snprintf(err->type, sizeof err->type, "Durable.InvalidEvent");
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(j);
    if (rc != 0)
        durable_envelope_free(env);
    return rc;
}

/*
 * CheckpointDurableExecution and GetDurableExecutionState over the shared
 * SigV4 request core. Requests are built and answers read with cJSON.
 */
#define _POSIX_C_SOURCE 200809L
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A page of state or a checkpoint answer can carry many operations with
 * their results (each up to the service's payload limit). */
#define RESPONSE_MAX (64 * 1024 * 1024)
#define PAGE_ITEMS 1000
/* Pages followed before the SDK gives up on a marker that never ends. */
#define PAGES_MAX 100000

int durable_client_init(durable_client *c, const lambda_durable_config *config, const char *arn,
                        const char *token, lambda_error *err)
{
    static const lambda_durable_config none = {0};
    const lambda_durable_config *k = config ? config : &none;
    memset(c, 0, sizeof *c);
    lambda__aws_service *svc = &c->svc;
    if (lambda__aws_service_init(svc, "LAMBDA_DURABLE", "AWS_ENDPOINT_URL_LAMBDA", "lambda",
                                 k->endpoint, k->region, k->access_key_id, k->secret_access_key,
                                 k->session_token, err) != 0)
        return -1;
    strcpy(svc->service, "lambda");
    strcpy(svc->content_type, "application/json");
    strcpy(svc->error_prefix, "Durable");
    svc->response_max = RESPONSE_MAX;
    svc->sleep_ms = k->sleep_ms;
    svc->sleep_data = k->sleep_data;
    char *escaped = lambda__aws_escape(arn);
    c->token = strdup(token);
    if (escaped)
        c->arn_path = malloc(strlen(escaped) + 40);
    if (!escaped || !c->token || !c->arn_path) {
        free(escaped);
        durable_client_free(c);
        lambda_error_set(err, "Durable.OutOfMemory", "out of memory");
        return -1;
    }
    sprintf(c->arn_path, "/2025-12-01/durable-executions/%s", escaped);
    free(escaped);
    return 0;
}

void durable_client_free(durable_client *c)
{
    free(c->arn_path);
    free(c->token);
    /* Credentials should not outlive the client in freed memory. */
    memset(c, 0, sizeof *c);
}

/* Turns the core's error into what it means for the invocation. */
static durable_call_failure classify(const char *call, lambda_error *err)
{
    char detail[sizeof err->message];
    if (snprintf(detail, sizeof detail, "%s", err->message) >= (int)sizeof detail)
        detail[sizeof detail - 1] = '\0';
    const char *type = err->type;
    if (strcmp(type, "Durable.Throttled") == 0 || strcmp(type, "Durable.Unavailable") == 0 ||
        strcmp(type, "Durable.OutOfMemory") == 0) {
        lambda_error_set(err, "Durable.CheckpointUnavailable", "%s: %s", call, detail);
        return CALL_RETRY_INVOCATION;
    }
    if (strcmp(type, "Durable.InvalidParameterValueException") == 0 &&
        strncmp(detail, "Invalid checkpoint token", 24) == 0) {
        /* A token already used (or expired): the state moved on without
         * this invocation; a fresh invocation replays from it. */
        lambda_error_set(err, "Durable.InvalidCheckpointToken", "%s: %s", call, detail);
        return CALL_RETRY_INVOCATION;
    }
    if (strcmp(type, "InvalidConfiguration") == 0 || strcmp(type, "Durable.TlsError") == 0)
        return CALL_RETRY_INVOCATION;
    char code[sizeof err->type];
    snprintf(code, sizeof code, "%s", type);
    lambda_error_set(err, "Durable.CheckpointFailed", "%s refused (%s): %s", call, code, detail);
    return CALL_TERMINAL;
}

static cJSON *parse_answer(const char *call, char *body, durable_call_failure *failure,
                           lambda_error *err)
{
    cJSON *j = cJSON_Parse(body);
    free(body);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        lambda_error_set(err, "Durable.CheckpointUnavailable",
                         "%s: the answer is not a JSON object", call);
        *failure = CALL_RETRY_INVOCATION;
        return NULL;
    }
    return j;
}

/* Merges a page's Operations; a malformed one is the service's fault and
 * worth another invocation. */
static int merge_page(const char *call, const cJSON *page, durable_state *st,
                      durable_call_failure *failure, lambda_error *err)
{
    if (durable_state_merge(st, cJSON_GetObjectItemCaseSensitive(page, "Operations"), err) == 0)
        return 0;
    char detail[sizeof err->message];
    if (snprintf(detail, sizeof detail, "%s", err->message) >= (int)sizeof detail)
        detail[sizeof detail - 1] = '\0';
    lambda_error_set(err, "Durable.CheckpointUnavailable", "%s: %s", call, detail);
    *failure = CALL_RETRY_INVOCATION;
    return -1;
}

static const char *next_marker(const cJSON *page)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(page, "NextMarker");
    return cJSON_IsString(m) && m->valuestring[0] ? m->valuestring : NULL;
}

int durable_client_load(durable_client *c, const char *marker, durable_state *st,
                        durable_call_failure *failure, lambda_error *err)
{
    char *next = marker ? strdup(marker) : NULL;
    int rc = 0;
    for (int pages = 0; next && rc == 0; pages++) {
        if (pages >= PAGES_MAX) {
            lambda_error_set(err, "Durable.CheckpointUnavailable",
                             "GetDurableExecutionState: more than %d pages", PAGES_MAX);
            *failure = CALL_RETRY_INVOCATION;
            rc = -1;
            break;
        }
        char *tok = lambda__aws_escape(c->token);
        char *mark = lambda__aws_escape(next);
        char *path =
            tok && mark ? malloc(strlen(c->arn_path) + strlen(tok) + strlen(mark) + 80) : NULL;
        char *body = NULL;
        if (!path) {
            lambda_error_set(err, "Durable.OutOfMemory", "out of memory");
            rc = -1;
        } else {
            sprintf(path, "%s/state?CheckpointToken=%s&Marker=%s&MaxItems=%d", c->arn_path, tok,
                    mark, PAGE_ITEMS);
            rc = lambda__aws_rest_call(&c->svc, "GET", path, NULL, &body, err);
        }
        free(tok);
        free(mark);
        free(path);
        free(next);
        next = NULL;
        if (rc != 0) {
            *failure = classify("GetDurableExecutionState", err);
            break;
        }
        cJSON *page = parse_answer("GetDurableExecutionState", body, failure, err);
        if (!page || merge_page("GetDurableExecutionState", page, st, failure, err) != 0) {
            cJSON_Delete(page);
            rc = -1;
            break;
        }
        const char *m = next_marker(page);
        next = m ? strdup(m) : NULL;
        cJSON_Delete(page);
    }
    free(next);
    return rc;
}

int durable_client_checkpoint(durable_client *c, const cJSON *updates, durable_state *st,
                              durable_call_failure *failure, lambda_error *err)
{
    static const char call[] = "CheckpointDurableExecution";
    cJSON *req = cJSON_CreateObject();
    char *body = NULL, *path = malloc(strlen(c->arn_path) + 16);
    cJSON *copy = cJSON_Duplicate(updates, 1);
    if (req && copy) {
        cJSON_AddStringToObject(req, "CheckpointToken", c->token);
        cJSON_AddItemToObject(req, "Updates", copy);
        copy = NULL;
        body = cJSON_PrintUnformatted(req);
    }
    cJSON_Delete(copy);
    cJSON_Delete(req);
    if (!body || !path) {
        free(body);
        free(path);
        lambda_error_set(err, "Durable.CheckpointFailed", "out of memory building a checkpoint");
        *failure = CALL_TERMINAL;
        return -1;
    }
    sprintf(path, "%s/checkpoint", c->arn_path);
    char *answer = NULL;
    int rc = lambda__aws_rest_call(&c->svc, "POST", path, body, &answer, err);
    free(body);
    free(path);
    c->calls++;
    if (rc != 0) {
        *failure = classify(call, err);
        return -1;
    }
    cJSON *j = parse_answer(call, answer, failure, err);
    if (!j)
        return -1;
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(j, "CheckpointToken");
    if (!cJSON_IsString(token) || !token->valuestring[0]) {
        cJSON_Delete(j);
        lambda_error_set(err, "Durable.CheckpointUnavailable", "%s: the answer has no token", call);
        *failure = CALL_RETRY_INVOCATION;
        return -1;
    }
    char *fresh = strdup(token->valuestring);
    if (!fresh) {
        cJSON_Delete(j);
        lambda_error_set(err, "Durable.OutOfMemory", "out of memory");
        *failure = CALL_RETRY_INVOCATION;
        return -1;
    }
    free(c->token);
    c->token = fresh;
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "NewExecutionState");
    rc = 0;
    if (cJSON_IsObject(state)) {
        rc = merge_page(call, state, st, failure, err);
        if (rc == 0 && next_marker(state))
            rc = durable_client_load(c, next_marker(state), st, failure, err);
    }
    cJSON_Delete(j);
    return rc;
}

/*
 * The task-token calls of lambda/sfn.h over the shared JSON-request core
 * (aws_json.c): each builds its request with cJSON and checks the limits
 * the API documents before spending a request on them.
 */
#define _POSIX_C_SOURCE 200809L
#include <lambda/sfn.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_json.h"

#define TOKEN_MAX 2048          /* taskToken: 1..2048 characters */
#define OUTPUT_MAX (256 * 1024) /* output: at most 256 KiB */
#define ERROR_MAX 256           /* error: at most 256 characters */
#define CAUSE_MAX 32768         /* cause: at most 32768 characters */

struct lambda_sfn_client {
    lambda__aws_service svc;
};

int lambda_sfn_client_new(const lambda_sfn_config *config, lambda_sfn_client **out,
                          lambda_error *err)
{
    static const lambda_sfn_config none = {0};
    const lambda_sfn_config *c = config ? config : &none;
    *out = NULL;
    lambda_sfn_client *client = calloc(1, sizeof *client);
    if (!client) {
        lambda_error_set(err, "InvalidConfiguration", "out of memory");
        return -1;
    }
    lambda__aws_service *svc = &client->svc;
    if (lambda__aws_service_init(svc, "LAMBDA_SFN", "AWS_ENDPOINT_URL_SFN", "states", c->endpoint,
                                 c->region, c->access_key_id, c->secret_access_key,
                                 c->session_token, err) != 0) {
        free(client);
        return -1;
    }
    strcpy(svc->service, "states");
    strcpy(svc->target_prefix, "AWSStepFunctions");
    strcpy(svc->content_type, "application/x-amz-json-1.0");
    strcpy(svc->error_prefix, "StepFunctions");
    if (c->ca_file)
        snprintf(svc->ca_file, sizeof svc->ca_file, "%s", c->ca_file);
    *out = client;
    return 0;
}

void lambda_sfn_client_free(lambda_sfn_client *client)
{
    if (!client)
        return;
    /* Credentials should not outlive the client in freed memory. */
    memset(client, 0, sizeof *client);
    free(client);
}

const char *lambda_sfn_client_endpoint(const lambda_sfn_client *client)
{
    return client->svc.endpoint;
}

static int check_token(const char *token, lambda_error *err)
{
    size_t n = token ? strlen(token) : 0;
    if (n == 0 || n > TOKEN_MAX) {
        lambda_error_set(err, "InvalidInput", "the task token must hold 1..%d characters (got %zu)",
                         TOKEN_MAX, n);
        return -1;
    }
    return 0;
}

/* Sends `request` (consumed) as `operation`; the answer is not needed. */
static int send_request(lambda_sfn_client *client, const char *operation, cJSON *request,
                        lambda_error *err)
{
    char *body = cJSON_PrintUnformatted(request);
    cJSON_Delete(request);
    if (!body) {
        lambda_error_set(err, "InvalidInput", "out of memory building %s", operation);
        return -1;
    }
    char *response = NULL;
    int rc = lambda__aws_json_call(&client->svc, operation, body, &response, err);
    free(body);
    free(response);
    return rc;
}

int lambda_sfn_send_task_success(lambda_sfn_client *client, const char *task_token,
                                 const char *output_json, lambda_error *err)
{
    if (check_token(task_token, err) != 0)
        return -1;
    size_t n = output_json ? strlen(output_json) : 0;
    cJSON *parsed = n ? cJSON_ParseWithLength(output_json, n) : NULL;
    cJSON_Delete(parsed);
    if (!parsed || n > OUTPUT_MAX) {
        lambda_error_set(err, "InvalidInput", "the task output must be JSON of at most %d bytes",
                         OUTPUT_MAX);
        return -1;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "taskToken", task_token);
    cJSON_AddStringToObject(req, "output", output_json);
    return send_request(client, "SendTaskSuccess", req, err);
}

int lambda_sfn_send_task_failure(lambda_sfn_client *client, const char *task_token,
                                 const char *error, const char *cause, lambda_error *err)
{
    if (check_token(task_token, err) != 0)
        return -1;
    if ((error && strlen(error) > ERROR_MAX) || (cause && strlen(cause) > CAUSE_MAX)) {
        lambda_error_set(err, "InvalidInput", "error is limited to %d characters, cause to %d",
                         ERROR_MAX, CAUSE_MAX);
        return -1;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "taskToken", task_token);
    if (error)
        cJSON_AddStringToObject(req, "error", error);
    if (cause)
        cJSON_AddStringToObject(req, "cause", cause);
    return send_request(client, "SendTaskFailure", req, err);
}

int lambda_sfn_send_task_heartbeat(lambda_sfn_client *client, const char *task_token,
                                   lambda_error *err)
{
    if (check_token(task_token, err) != 0)
        return -1;
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "taskToken", task_token);
    return send_request(client, "SendTaskHeartbeat", req, err);
}

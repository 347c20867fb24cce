/*
 * lambda-sfn: the task-token calls of lambda::sfn from a shell, with
 * awscli's option names:
 *
 *   lambda-sfn send-task-success   --task-token T --task-output JSON
 *   lambda-sfn send-task-failure   --task-token T [--error E] [--cause C]
 *   lambda-sfn send-task-heartbeat --task-token T
 *   common: [--endpoint-url URL] [--region REGION]
 *
 * Exit status: 0 done; 1 the call failed ({"errorType","errorMessage"} on
 * stderr); 2 bad usage.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <lambda/sfn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *why)
{
    fprintf(stderr,
            "lambda-sfn: %s\n"
            "usage: lambda-sfn send-task-success --task-token T --task-output JSON\n"
            "       lambda-sfn send-task-failure --task-token T [--error E] [--cause C]\n"
            "       lambda-sfn send-task-heartbeat --task-token T\n"
            "       common options: --endpoint-url URL --region REGION\n",
            why);
    return 2;
}

static void print_error(const lambda_error *err)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorType", err->type);
    cJSON_AddStringToObject(o, "errorMessage", err->message);
    char *text = cJSON_PrintUnformatted(o);
    fprintf(stderr, "%s\n", text ? text : err->type);
    free(text);
    cJSON_Delete(o);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage("a command is required");
    const char *cmd = argv[1];
    const char *token = NULL, *output = NULL, *error = NULL, *cause = NULL;
    lambda_sfn_config config = {0};
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            return usage("every option needs a value");
        const char *opt = argv[i], *val = argv[i + 1];
        if (strcmp(opt, "--task-token") == 0)
            token = val;
        else if (strcmp(opt, "--task-output") == 0)
            output = val;
        else if (strcmp(opt, "--error") == 0)
            error = val;
        else if (strcmp(opt, "--cause") == 0)
            cause = val;
        else if (strcmp(opt, "--endpoint-url") == 0)
            config.endpoint = val;
        else if (strcmp(opt, "--region") == 0)
            config.region = val;
        else
            return usage("unknown option");
    }
    int success = strcmp(cmd, "send-task-success") == 0;
    int failure = strcmp(cmd, "send-task-failure") == 0;
    int heartbeat = strcmp(cmd, "send-task-heartbeat") == 0;
    if (!success && !failure && !heartbeat)
        return usage("unknown command");
    if (!token)
        return usage("--task-token is required");
    if (success && !output)
        return usage("--task-output is required");

    curl_global_init(CURL_GLOBAL_DEFAULT);
    lambda_error err = {0};
    lambda_sfn_client *client = NULL;
    int rc = lambda_sfn_client_new(&config, &client, &err);
    if (rc == 0) {
        if (success)
            rc = lambda_sfn_send_task_success(client, token, output, &err);
        else if (failure)
            rc = lambda_sfn_send_task_failure(client, token, error, cause, &err);
        else
            rc = lambda_sfn_send_task_heartbeat(client, token, &err);
    }
    lambda_sfn_client_free(client);
    curl_global_cleanup();
    if (rc != 0) {
        print_error(&err);
        return 1;
    }
    return 0;
}

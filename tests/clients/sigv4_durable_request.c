/*
 * Makes the durable SDK's two real service calls through its client
 * (durable/src/client.c over the clients' request core): a
 * CheckpointDurableExecution (POST, a JSON body) and a
 * GetDurableExecutionState page (GET, a query string), for an execution
 * ARN whose ':' and '/' the path carries escaped, with a session token.
 * sigv4_botocore.py serves them and checks each signature with botocore.
 *
 * Usage: sigv4_durable_request ENDPOINT ARN ACCESS_KEY SECRET TOKEN REGION
 */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "client.h"

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s ENDPOINT ARN ACCESS_KEY SECRET TOKEN REGION\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lambda_durable_config config = {0};
    config.endpoint = argv[1];
    config.access_key_id = argv[3];
    config.secret_access_key = argv[4];
    config.session_token = argv[5];
    config.region = argv[6];
    durable_client c;
    lambda_error err = {0};
    durable_state st = {0};
    durable_call_failure failure;
    int rc = durable_client_init(&c, &config, argv[2], "token-1", &err);
    cJSON *updates = cJSON_Parse("[{\"Id\":\"c4ca4238a0b92382\",\"Type\":\"STEP\","
                                 "\"Action\":\"SUCCEED\",\"Name\":\"charge card\","
                                 "\"Payload\":\"{\\\"amount\\\": 42}\"}]");
    if (rc == 0)
        rc = updates ? durable_client_checkpoint(&c, updates, &st, &failure, &err) : -1;
    if (rc == 0)
        rc = durable_client_load(&c, "page/2+more", &st, &failure, &err);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", err.type, err.message);
    cJSON_Delete(updates);
    durable_state_free(&st);
    durable_client_free(&c);
    curl_global_cleanup();
    return rc == 0 ? 0 : 1;
}

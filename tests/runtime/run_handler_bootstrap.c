/* A bootstrap built on lambda_run_handler(), aws-lambda-cpp's entry point:
 * one raw handler for every invocation, whatever _HANDLER says. It answers
 * the event upper-cased, as text/plain. */
#include <lambda/runtime.h>

#include <ctype.h>
#include <stdlib.h>

static void upper(const lambda_request *req, lambda_response *res, void *userdata)
{
    char *out = malloc(req->payload_len + 1);
    if (!out) {
        lambda_response_failure(res, "OutOfMemory", "%zu bytes", req->payload_len);
        return;
    }
    for (size_t i = 0; i < req->payload_len; i++)
        out[i] = (char)toupper((unsigned char)req->payload[i]);
    lambda_response_success(res, out, req->payload_len, "text/plain");
    free(out);
}

int main(void)
{
    return lambda_run_handler(upper, NULL);
}

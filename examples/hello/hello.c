/* hello: the smallest complete lambda-c function, built outside the
 * lambda-c tree (see README.md): {"name":"Ada"} -> {"message":"Hello, Ada!"}.
 * A `name` that is not a string is answered with an InvalidInput error. */
#include <lambda/runtime.h>

#include <stdio.h>

static cJSON *hello(const cJSON *event, const lambda_context *ctx, lambda_error *err,
                    void *userdata)
{
    (void)ctx; /* deadline, request id, ...: unused here */
    (void)userdata;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(event, "name");
    if (name && !cJSON_IsString(name))
        return lambda_error_set(err, "InvalidInput", "\"name\" must be a string");
    char message[256];
    snprintf(message, sizeof message, "Hello, %.200s!", name ? name->valuestring : "world");
    cJSON *result = cJSON_CreateObject();
    if (!result || !cJSON_AddStringToObject(result, "message", message)) {
        cJSON_Delete(result);
        return lambda_error_set(err, "Runtime.OutOfMemory", "cannot build the response");
    }
    return result;
}

int main(void)
{
    static const lambda_handler handlers[] = {{.name = "hello", .json = hello}};
    const lambda_runtime_config config = {.handlers = handlers, .handler_count = 1};
    return lambda_run(&config);
}

/*
 * A durable function on the C SDK (lambda/durable.h) for lambda-local's
 * end-to-end durable tests (durable_sdk.sh). Handler "steps", input
 *   {"count": FILE, "wait": SECONDS, "crash": FILE, "failures": N}
 * runs step "a", exits the process after it the first time if "crash" is
 * given (FILE marks that it did), waits "wait" seconds, runs step "b", then
 * a step "flaky" that fails its first N attempts (retried after 10 s, 20 s,
 * ... without jitter). Every run of a step's body appends its name to the
 * count file, so the test sees which bodies ran again after a replay.
 * Result: {"a":"A","b":"B","flaky":ATTEMPTS}.
 */
#define _POSIX_C_SOURCE 200809L
#include <lambda/durable.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct input {
    char count[512];
    char crash[512];
    long wait_s;
    int failures;
} input;

static void record(const input *in, const char *name)
{
    FILE *f = fopen(in->count, "a");
    if (f) {
        fprintf(f, "%s\n", name);
        fclose(f);
    }
}

static int step_a(const lambda_durable_step_info *info, void *arg, char **result, lambda_error *err)
{
    (void)info;
    (void)err;
    record(arg, "a");
    *result = strdup("\"A\"");
    return *result ? 0 : -1;
}

static int step_b(const lambda_durable_step_info *info, void *arg, char **result, lambda_error *err)
{
    (void)info;
    (void)err;
    record(arg, "b");
    *result = strdup("\"B\"");
    return *result ? 0 : -1;
}

static int step_flaky(const lambda_durable_step_info *info, void *arg, char **result,
                      lambda_error *err)
{
    const input *in = arg;
    record(in, "flaky");
    if (info->attempt <= in->failures) {
        lambda_error_set(err, "Flaky", "attempt %d fails", info->attempt);
        return -1;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%d", info->attempt);
    *result = strdup(buf);
    return *result ? 0 : -1;
}

static int read_input(const char *text, input *in, lambda_error *err)
{
    cJSON *j = cJSON_Parse(text);
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(j, "count");
    const cJSON *crash = cJSON_GetObjectItemCaseSensitive(j, "crash");
    const cJSON *wait = cJSON_GetObjectItemCaseSensitive(j, "wait");
    const cJSON *failures = cJSON_GetObjectItemCaseSensitive(j, "failures");
    memset(in, 0, sizeof *in);
    int rc = -1;
    if (!cJSON_IsString(count) || strlen(count->valuestring) >= sizeof in->count) {
        lambda_error_set(err, "InvalidInput", "expected {\"count\": FILE, ...}");
    } else {
        snprintf(in->count, sizeof in->count, "%s", count->valuestring);
        if (cJSON_IsString(crash))
            snprintf(in->crash, sizeof in->crash, "%s", crash->valuestring);
        in->wait_s = cJSON_IsNumber(wait) ? (long)wait->valuedouble : 0;
        in->failures = cJSON_IsNumber(failures) ? failures->valueint : 0;
        rc = 0;
    }
    cJSON_Delete(j);
    return rc;
}

static int steps(lambda_durable_context *ctx, const char *text, char **result, lambda_error *err,
                 void *userdata)
{
    (void)userdata;
    input in;
    if (read_input(text, &in, err) != 0)
        return -1;
    static const lambda_durable_retry_policy retry = {.max_attempts = 6,
                                                      .initial_delay_s = 10,
                                                      .max_delay_s = 60,
                                                      .backoff_rate = 2,
                                                      .jitter = LAMBDA_DURABLE_JITTER_NONE};
    const lambda_durable_step_config flaky_config = {.retry = &retry};
    char *a = NULL, *b = NULL, *flaky = NULL;
    int rc = -1;
    if (lambda_durable_step(ctx, "a", step_a, &in, NULL, &a, err) != 0)
        goto done;
    if (in.crash[0] && access(in.crash, F_OK) != 0) {
        /* A crash after the first step's checkpoint: the service must
         * invoke again, and step a must come from its checkpoint. */
        FILE *f = fopen(in.crash, "w");
        if (f)
            fclose(f);
        _exit(3);
    }
    if ((in.wait_s > 0 && lambda_durable_wait(ctx, "nap", in.wait_s, err) != 0) ||
        lambda_durable_step(ctx, "b", step_b, &in, NULL, &b, err) != 0 ||
        lambda_durable_step(ctx, "flaky", step_flaky, &in, &flaky_config, &flaky, err) != 0)
        goto done;
    cJSON *out = cJSON_CreateObject();
    if (out && cJSON_AddRawToObject(out, "a", a) && cJSON_AddRawToObject(out, "b", b) &&
        cJSON_AddRawToObject(out, "flaky", flaky))
        *result = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    rc = *result ? 0 : (lambda_error_set(err, "OutOfMemory", "out of memory"), -1);
done:
    free(a);
    free(b);
    free(flaky);
    return rc;
}

int main(void)
{
    static const lambda_durable_function steps_fn = {.handler = steps};
    static const lambda_handler handlers[] = {
        LAMBDA_DURABLE_HANDLER("steps", &steps_fn),
    };
    const lambda_runtime_config config = {.handlers = handlers, .handler_count = 1};
    return lambda_run(&config);
}

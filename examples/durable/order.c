/*
 * order: a small durable function. {"order_id":"A1","items":3} is
 * validated (a step), charged once at most (a step that must not repeat),
 * held for a cooling-off period (a wait that costs nothing while it lasts)
 * and shipped (a step) -> {"order_id":"A1","charged":30,"shipped":true}.
 * Each step's result is checkpointed: after the wait Lambda invokes the
 * function again, the handler runs from the top, and the finished steps
 * return their recorded results without running again.
 *
 * Handler name "order" (the function's Handler setting); the wait's length
 * comes from ORDER_COOLING_OFF_S (default 60).
 */
#define _POSIX_C_SOURCE 200809L
#include <lambda/durable.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct order {
    char id[64];
    int items;
} order;

static int validate(const lambda_durable_step_info *info, void *arg, char **result,
                    lambda_error *err)
{
    const order *o = arg;
    (void)info;
    if (o->items <= 0 || o->items > 1000)
        return lambda_error_set(err, "InvalidOrder", "items must be 1..1000, not %d", o->items), -1;
    *result = strdup("{\"valid\":true}");
    return *result ? 0 : -1;
}

static int charge(const lambda_durable_step_info *info, void *arg, char **result, lambda_error *err)
{
    const order *o = arg;
    (void)err;
    /* A real function would call a payment API here, passing
     * info->operation_id as the idempotency key. */
    lambda_durable_step_log(info, LAMBDA_LOG_INFO, "charging order %s", o->id);
    char buf[64];
    snprintf(buf, sizeof buf, "%d", o->items * 10);
    *result = strdup(buf);
    return *result ? 0 : -1;
}

static int ship(const lambda_durable_step_info *info, void *arg, char **result, lambda_error *err)
{
    (void)info;
    (void)arg;
    (void)err;
    *result = strdup("true");
    return *result ? 0 : -1;
}

/* Reads the order from the input; -1 with err for a bad one. */
static int read_order(const char *input, order *o, lambda_error *err)
{
    cJSON *j = cJSON_Parse(input);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "order_id");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    int rc = -1;
    if (!cJSON_IsString(id) || strlen(id->valuestring) >= sizeof o->id || !cJSON_IsNumber(items))
        lambda_error_set(err, "InvalidInput", "expected {\"order_id\": string, \"items\": number}");
    else {
        snprintf(o->id, sizeof o->id, "%s", id->valuestring);
        o->items = items->valueint;
        rc = 0;
    }
    cJSON_Delete(j);
    return rc;
}

static int order_handler(lambda_durable_context *ctx, const char *input, char **result,
                         lambda_error *err, void *userdata)
{
    (void)userdata;
    order o;
    if (read_order(input, &o, err) != 0)
        return -1;
    /* Written once, not again on each replay. */
    lambda_durable_log(ctx, LAMBDA_LOG_INFO, "order %s: %d items", o.id, o.items);
    /* Charging twice would be worse than not charging: at most once. */
    static const lambda_durable_step_config once = {.semantics = LAMBDA_DURABLE_AT_MOST_ONCE};
    const char *wait_env = getenv("ORDER_COOLING_OFF_S");
    long wait_s = wait_env ? strtol(wait_env, NULL, 10) : 60;
    char *charged = NULL, *shipped = NULL;
    int rc = -1;
    if (lambda_durable_step(ctx, "validate", validate, &o, NULL, NULL, err) != 0 ||
        lambda_durable_step(ctx, "charge", charge, &o, &once, &charged, err) != 0 ||
        lambda_durable_wait(ctx, "cooling-off", wait_s > 0 ? wait_s : 60, err) != 0 ||
        lambda_durable_step(ctx, "ship", ship, &o, NULL, &shipped, err) != 0)
        goto done;
    /* The steps' results are JSON texts: placed as they are. */
    cJSON *out = cJSON_CreateObject();
    if (out && cJSON_AddStringToObject(out, "order_id", o.id) &&
        cJSON_AddRawToObject(out, "charged", charged) &&
        cJSON_AddRawToObject(out, "shipped", shipped))
        *result = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    if (!*result) {
        lambda_error_set(err, "OutOfMemory", "out of memory");
        goto done;
    }
    rc = 0;
done:
    free(charged);
    free(shipped);
    return rc;
}

int main(void)
{
    static const lambda_durable_function order_fn = {.handler = order_handler};
    static const lambda_handler handlers[] = {
        LAMBDA_DURABLE_HANDLER("order", &order_fn),
    };
    const lambda_runtime_config config = {.handlers = handlers, .handler_count = 1};
    return lambda_run(&config);
}

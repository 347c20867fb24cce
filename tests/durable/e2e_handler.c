/*
 * A durable function for durable.local_e2e: the SDK's level-2 operations
 * under lambda-local's durable service. Input {"count": FILE, "cbfile":
 * FILE}: a map over [1,2,3] (each item a step that appends its item to
 * FILE, so a re-run would show), a wait_for_condition that polls three
 * times a minute apart, a wait_for_callback whose submitter writes the
 * callback id to cbfile; the result {"map":[10,20,30],"poll":3,"answer":...}.
 */
#define _POSIX_C_SOURCE 200809L
#include <lambda/durable.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct files {
    char count[512], cbfile[512];
} files;

typedef struct item_arg {
    const files *f;
    int n;
} item_arg;

static int times_ten(const lambda_durable_step_info *info, void *arg, char **result,
                     lambda_error *err)
{
    const item_arg *a = arg;
    (void)info;
    FILE *f = fopen(a->f->count, "a");
    if (!f)
        return lambda_error_set(err, "TestIO", "cannot open %s", a->f->count), -1;
    fprintf(f, "%d\n", a->n);
    fclose(f);
    char buf[32];
    snprintf(buf, sizeof buf, "%d", a->n * 10);
    *result = strdup(buf);
    return 0;
}

static int map_item(lambda_durable_context *child, size_t index, const char *item, void *arg,
                    char **result, lambda_error *err)
{
    (void)index;
    item_arg a = {arg, atoi(item)};
    return lambda_durable_step(child, "times-ten", times_ten, &a, NULL, result, err);
}

static int poll(const lambda_durable_step_info *info, const char *state, void *arg, char **next,
                lambda_error *err)
{
    (void)info;
    (void)arg;
    (void)err;
    cJSON *j = cJSON_Parse(state);
    int n = cJSON_GetObjectItem(j, "n")->valueint;
    cJSON_Delete(j);
    char buf[32];
    snprintf(buf, sizeof buf, "{\"n\":%d}", n + 1);
    *next = strdup(buf);
    return 0;
}

static long every_minute(const char *state, int attempt, void *arg)
{
    (void)state;
    (void)arg;
    return attempt >= 3 ? 0 : 60;
}

static int submit(const lambda_durable_step_info *info, const char *callback_id, void *arg,
                  lambda_error *err)
{
    const files *f = arg;
    (void)info;
    FILE *out = fopen(f->cbfile, "w");
    if (!out)
        return lambda_error_set(err, "TestIO", "cannot open %s", f->cbfile), -1;
    fputs(callback_id, out);
    fclose(out);
    return 0;
}

static int read_files(const char *input, files *f, lambda_error *err)
{
    cJSON *j = cJSON_Parse(input);
    const cJSON *count = cJSON_GetObjectItem(j, "count"), *cb = cJSON_GetObjectItem(j, "cbfile");
    int rc = -1;
    if (cJSON_IsString(count) && cJSON_IsString(cb)) {
        snprintf(f->count, sizeof f->count, "%s", count->valuestring);
        snprintf(f->cbfile, sizeof f->cbfile, "%s", cb->valuestring);
        rc = 0;
    } else {
        lambda_error_set(err, "InvalidInput", "expected {\"count\": path, \"cbfile\": path}");
    }
    cJSON_Delete(j);
    return rc;
}

static int batch(lambda_durable_context *ctx, const char *input, char **result, lambda_error *err,
                 void *userdata)
{
    (void)userdata;
    files f;
    if (read_files(input, &f, err) != 0)
        return -1;
    char *map = NULL, *polled = NULL, *answer = NULL;
    int rc = -1;
    if (lambda_durable_map(ctx, "times-ten", "[1,2,3]", map_item, &f, NULL, &map, err) != 0 ||
        lambda_durable_wait_for_condition(ctx, "poll", poll, "{\"n\":0}", every_minute, NULL,
                                          &polled, err) != 0 ||
        lambda_durable_wait_for_callback(ctx, "approval", submit, &f, NULL, &answer, err) != 0)
        goto done;
    cJSON *m = cJSON_Parse(map), *p = cJSON_Parse(polled), *out = cJSON_CreateObject();
    cJSON *results = cJSON_AddArrayToObject(out, "map");
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(m, "all"))
        cJSON_AddItemToArray(results, cJSON_Duplicate(cJSON_GetObjectItem(e, "result"), 1));
    cJSON_AddItemToObject(out, "poll", cJSON_Duplicate(cJSON_GetObjectItem(p, "n"), 1));
    cJSON_AddItemToObject(out, "answer", cJSON_Parse(answer));
    *result = cJSON_PrintUnformatted(out);
    cJSON_Delete(m);
    cJSON_Delete(p);
    cJSON_Delete(out);
    rc = *result ? 0 : -1;
done:
    free(map);
    free(polled);
    free(answer);
    return rc;
}

int main(void)
{
    static const lambda_durable_function fn = {.handler = batch};
    static const lambda_handler handlers[] = {LAMBDA_DURABLE_HANDLER("batch", &fn)};
    const lambda_runtime_config config = {.handlers = handlers, .handler_count = 1};
    return lambda_run(&config);
}

/* SAM --env-vars files, parsed with cJSON. */
#include "env_vars.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t len = 0;
    char *text = lambda_local_read_stream(f, &len);
    fclose(f);
    if (!text)
        snprintf(err, errlen, "%s: read error", path);
    return text;
}

/* SAM accepts numbers and booleans and passes them on as strings. */
static char *value_string(const cJSON *v)
{
    if (cJSON_IsString(v))
        return lambda_local_strdup(v->valuestring);
    if (cJSON_IsBool(v))
        return lambda_local_strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d)
            return lambda_local_format("%lld", (long long)d);
        return lambda_local_format("%.17g", d);
    }
    return NULL;
}

static int apply_object(const cJSON *obj, lambda_local_function *fn, bool declared_only,
                        const char *path, char *err, size_t errlen)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, obj)
    {
        char *value = value_string(v);
        if (!value) {
            snprintf(err, errlen, "%s: value of %s must be a string, number or boolean", path,
                     v->string);
            return -1;
        }
        if (!declared_only || lambda_local_function_find_var(fn, v->string))
            lambda_local_function_set_var(fn, v->string, value);
        free(value);
    }
    return 0;
}

int lambda_local_env_vars_apply(const char *path, lambda_local_functions *fns, bool declared_only,
                                char *err, size_t errlen)
{
    char *text = read_file(path, err, errlen);
    if (!text)
        return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "%s: not a JSON object (SAM --env-vars format)", path);
        cJSON_Delete(root);
        return -1;
    }
    int rc = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root)
    {
        if (!cJSON_IsObject(entry)) {
            snprintf(err, errlen, "%s: \"%s\" must map variable names to values", path,
                     entry->string);
            rc = -1;
            break;
        }
    }
    /* Parameters first, so that a function's own entries override them. */
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "Parameters");
    for (size_t i = 0; rc == 0 && i < fns->count; i++) {
        lambda_local_function *fn = &fns->items[i];
        if (params)
            rc = apply_object(params, fn, declared_only, path, err, errlen);
        const cJSON *own = cJSON_GetObjectItemCaseSensitive(root, fn->name);
        if (rc == 0 && own)
            rc = apply_object(own, fn, declared_only, path, err, errlen);
    }
    cJSON_Delete(root);
    return rc;
}

/* --parameter-overrides: a small list of NAME=VALUE pairs. */
#include "params.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

typedef struct param {
    char *name, *value;
} param;

static param *params;
static size_t n_params;

static void put(const char *name, size_t name_len, const char *value, size_t value_len)
{
    char *n = lambda_local_format("%.*s", (int)name_len, name);
    char *v = lambda_local_format("%.*s", (int)value_len, value);
    for (size_t i = 0; i < n_params; i++)
        if (strcmp(params[i].name, n) == 0) { /* the last one wins, as in SAM */
            free(params[i].value);
            params[i].value = v;
            free(n);
            return;
        }
    params = realloc(params, (n_params + 1) * sizeof *params);
    if (!params)
        abort();
    params[n_params++] = (param){n, v};
}

/* One token: "K=V" or "ParameterKey=K,ParameterValue=V". */
static int add_token(const char *tok, size_t len)
{
    static const char key[] = "ParameterKey=", val[] = ",ParameterValue=";
    if (len > strlen(key) && strncmp(tok, key, strlen(key)) == 0) {
        const char *k = tok + strlen(key);
        const char *v = strstr(k, val);
        if (!v || v >= tok + len || v == k)
            return -1;
        put(k, (size_t)(v - k), v + strlen(val), (size_t)(tok + len - v - strlen(val)));
        return 0;
    }
    const char *eq = memchr(tok, '=', len);
    if (!eq || eq == tok)
        return -1;
    put(tok, (size_t)(eq - tok), eq + 1, (size_t)(tok + len - eq - 1));
    return 0;
}

int lambda_local_params_add(const char *spec)
{
    const char *p = spec;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return 0;
        size_t len = strcspn(p, " \t");
        if (add_token(p, len) != 0)
            return -1;
        p += len;
    }
}

const char *lambda_local_params_get(const char *name)
{
    for (size_t i = 0; i < n_params; i++)
        if (strcmp(params[i].name, name) == 0)
            return params[i].value;
    return NULL;
}

void lambda_local_params_free(void)
{
    for (size_t i = 0; i < n_params; i++) {
        free(params[i].name);
        free(params[i].value);
    }
    free(params);
    params = NULL;
    n_params = 0;
}

/* Function configurations: a growable list and its variables. */
#include "function.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

lambda_local_function *lambda_local_functions_add(lambda_local_functions *fns, const char *name)
{
    lambda_local_function *items = realloc(fns->items, (fns->count + 1) * sizeof *items);
    if (!items)
        abort();
    fns->items = items;
    lambda_local_function *fn = &items[fns->count++];
    memset(fn, 0, sizeof *fn);
    fn->name = lambda_local_strdup(name);
    fn->timeout_s = LAMBDA_LOCAL_DEFAULT_TIMEOUT;
    fn->memory_mb = LAMBDA_LOCAL_DEFAULT_MEMORY;
    fn->async_retries = -1;
    fn->env_concurrency = 1;
    return fn;
}

lambda_local_function *lambda_local_functions_find(const lambda_local_functions *fns,
                                                   const char *name)
{
    for (size_t i = 0; i < fns->count; i++)
        if (strcmp(fns->items[i].name, name) == 0)
            return &fns->items[i];
    return NULL;
}

static void function_free(lambda_local_function *fn)
{
    free(fn->name);
    free(fn->handler);
    free(fn->code_uri);
    free(fn->code_dir);
    free(fn->bootstrap);
    free(fn->unpacked_dir);
    free(fn->architecture);
    for (size_t i = 0; i < fn->var_count; i++) {
        free(fn->vars[i].name);
        free(fn->vars[i].value);
    }
    free(fn->vars);
}

void lambda_local_functions_free(lambda_local_functions *fns)
{
    for (size_t i = 0; i < fns->count; i++)
        function_free(&fns->items[i]);
    free(fns->items);
    fns->items = NULL;
    fns->count = 0;
}

lambda_local_var *lambda_local_function_find_var(lambda_local_function *fn, const char *name)
{
    for (size_t i = 0; i < fn->var_count; i++)
        if (strcmp(fn->vars[i].name, name) == 0)
            return &fn->vars[i];
    return NULL;
}

void lambda_local_function_set_var(lambda_local_function *fn, const char *name, const char *value)
{
    lambda_local_var *var = lambda_local_function_find_var(fn, name);
    if (!var) {
        lambda_local_var *vars = realloc(fn->vars, (fn->var_count + 1) * sizeof *vars);
        if (!vars)
            abort();
        fn->vars = vars;
        var = &vars[fn->var_count++];
        var->name = lambda_local_strdup(name);
        var->value = NULL;
    }
    free(var->value);
    var->value = value ? lambda_local_strdup(value) : NULL;
}

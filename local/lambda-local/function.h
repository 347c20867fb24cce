/*
 * A function's configuration, as the template (or direct mode) describes it:
 * what to run, with which handler, limits and environment variables.
 */
#ifndef LAMBDA_LOCAL_FUNCTION_H
#define LAMBDA_LOCAL_FUNCTION_H

#include <stdbool.h>
#include <stddef.h>

#define LAMBDA_LOCAL_DEFAULT_TIMEOUT 3.0
#define LAMBDA_LOCAL_DEFAULT_MEMORY 128

/* One environment variable. `value` is NULL when the template gave an
 * intrinsic (!Ref, !Sub, Fn::...) that cannot be resolved locally: such a
 * variable stays unset unless --env-vars supplies a value. */
typedef struct lambda_local_var {
    char *name;
    char *value;
} lambda_local_var;

typedef enum lambda_local_url_mode {
    LAMBDA_LOCAL_URL_NONE,
    LAMBDA_LOCAL_URL_BUFFERED,
    LAMBDA_LOCAL_URL_RESPONSE_STREAM
} lambda_local_url_mode;

/* Tenant isolation (TenancyConfig.TenantIsolationMode). */
typedef enum lambda_local_tenancy {
    LAMBDA_LOCAL_TENANCY_ANY,       /* direct mode: a tenant id is optional */
    LAMBDA_LOCAL_TENANCY_NONE,      /* template, no TenancyConfig: refused, as Lambda */
    LAMBDA_LOCAL_TENANCY_PER_TENANT /* PER_TENANT: a tenant id is required */
} lambda_local_tenancy;

typedef struct lambda_local_function {
    char *name;         /* logical id: the name invokes use */
    char *handler;      /* _HANDLER */
    char *code_uri;     /* CodeUri resolved against the template's folder, or NULL */
    char *code_dir;     /* LAMBDA_TASK_ROOT (set by lambda_local_code_prepare) */
    char *bootstrap;    /* the executable that is started */
    char *unpacked_dir; /* private temp dir holding an unzipped CodeUri, or NULL */
    char *architecture; /* Architectures: "x86_64", "arm64" or NULL (not said) */
    double timeout_s;
    int memory_mb;
    lambda_local_var *vars;
    size_t var_count;
    /* FunctionUrlConfig (function_url.h): none, BUFFERED or RESPONSE_STREAM. */
    lambda_local_url_mode url_mode;
    bool url_iam; /* AuthType: AWS_IAM */
    /* DurableConfig (durable.h): every invoke starts a durable execution;
     * ExecutionTimeout in seconds, 0 when not given. */
    bool durable;
    double durable_timeout_s;
    lambda_local_tenancy tenancy;
    /* Managed Instances: invocations one environment runs at once
     * (PerExecutionEnvironmentMaxConcurrency; 1 otherwise). */
    int env_concurrency;
    /* EventInvokeConfig.MaximumRetryAttempts (0..2), -1: Lambda's 2. */
    int async_retries;
} lambda_local_function;

typedef struct lambda_local_functions {
    lambda_local_function *items;
    size_t count;
} lambda_local_functions;

/* Appends a function with default settings and returns it. The list may
 * move: pointers into it are valid until the next add. */
lambda_local_function *lambda_local_functions_add(lambda_local_functions *fns, const char *name);
lambda_local_function *lambda_local_functions_find(const lambda_local_functions *fns,
                                                   const char *name);
void lambda_local_functions_free(lambda_local_functions *fns);

/* Sets (or adds) variable `name`; `value` NULL marks it unresolved. */
void lambda_local_function_set_var(lambda_local_function *fn, const char *name, const char *value);
lambda_local_var *lambda_local_function_find_var(lambda_local_function *fn, const char *name);

#endif

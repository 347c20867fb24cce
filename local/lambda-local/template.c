/* SAM template loading on libyaml's document API (which keeps tags, so
 * CloudFormation's !Ref & co. parse as ordinary tagged nodes). */
#include "template.h"

#include <errno.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "common.h"
#include "params.h"

typedef struct template_ctx {
    yaml_document_t doc;
    yaml_node_t *parameters; /* the Parameters mapping, or NULL */
    const char *path;
    char *err;
    size_t errlen;
} template_ctx;

/* What reading a scalar-valued property gave. */
typedef enum { VALUE_MISSING, VALUE_OK, VALUE_UNRESOLVED, VALUE_BAD_TYPE } value_kind;

static yaml_node_t *node_at(template_ctx *t, int index)
{
    return yaml_document_get_node(&t->doc, index);
}

static bool scalar_equals(const yaml_node_t *n, const char *s)
{
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
           memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* The value of `key` in mapping `map`, or NULL. */
static yaml_node_t *map_get(template_ctx *t, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        if (scalar_equals(node_at(t, p->key), key))
            return node_at(t, p->value);
    return NULL;
}

static char *scalar_dup(const yaml_node_t *n)
{
    return lambda_local_format("%.*s", (int)n->data.scalar.length,
                               (const char *)n->data.scalar.value);
}

/* Local tags ("!Ref") start with '!'; libyaml gives untagged nodes the
 * standard "tag:yaml.org,2002:..." tags. */
static bool has_local_tag(const yaml_node_t *n)
{
    return n->tag && n->tag[0] == '!';
}

/* !Ref NAME: a template parameter's Default, or a pseudo parameter. */
static char *resolve_ref(template_ctx *t, const char *name)
{
    if (strcmp(name, "AWS::Region") == 0)
        return lambda_local_strdup(lambda_local_globals.region);
    if (strcmp(name, "AWS::AccountId") == 0)
        return lambda_local_strdup(lambda_local_globals.account);
    const char *override = lambda_local_params_get(name);
    if (override && map_get(t, t->parameters, name))
        return lambda_local_strdup(override);
    yaml_node_t *def = map_get(t, map_get(t, t->parameters, name), "Default");
    if (def && def->type == YAML_SCALAR_NODE && !has_local_tag(def))
        return scalar_dup(def);
    return NULL;
}

/* !Sub "text ${Name} text": each ${Name} a parameter (override or Default)
 * or a pseudo parameter, ${!Literal} the literal ${Literal}; NULL when a
 * name cannot be resolved locally (a resource, ${Res.Attr}). */
static char *resolve_sub(template_ctx *t, const char *s)
{
    char *out = lambda_local_strdup("");
    while (*s) {
        const char *open = strstr(s, "${");
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            char *done = lambda_local_format("%s%s", out, s);
            free(out);
            return done;
        }
        char *name = lambda_local_format("%.*s", (int)(close - open - 2), open + 2);
        char *piece =
            name[0] == '!' ? lambda_local_format("${%s}", name + 1) : resolve_ref(t, name);
        free(name);
        if (!piece) {
            free(out);
            return NULL;
        }
        char *next = lambda_local_format("%s%.*s%s", out, (int)(open - s), s, piece);
        free(out);
        free(piece);
        out = next;
        s = close + 1;
    }
    return out;
}

/* Reads a scalar, resolving the few intrinsics that can be resolved. */
static value_kind read_scalar(template_ctx *t, yaml_node_t *n, char **out)
{
    *out = NULL;
    if (!n)
        return VALUE_MISSING;
    if (n->type == YAML_SCALAR_NODE) {
        if (!has_local_tag(n)) {
            *out = scalar_dup(n);
            return VALUE_OK;
        }
        char *arg = scalar_dup(n);
        const char *tag = (const char *)n->tag;
        if (strcmp(tag, "!Ref") == 0)
            *out = resolve_ref(t, arg);
        else if (strcmp(tag, "!Sub") == 0)
            *out = resolve_sub(t, arg);
        free(arg);
        return *out ? VALUE_OK : VALUE_UNRESOLVED;
    }
    if (n->type == YAML_MAPPING_NODE && has_local_tag(n))
        return VALUE_UNRESOLVED;
    if (n->type == YAML_SEQUENCE_NODE && has_local_tag(n))
        return VALUE_UNRESOLVED;
    /* Long form: {"Ref": NAME} or {"Fn::Sub": ...} etc. */
    if (n->type == YAML_MAPPING_NODE &&
        n->data.mapping.pairs.top - n->data.mapping.pairs.start == 1) {
        yaml_node_pair_t *p = n->data.mapping.pairs.start;
        yaml_node_t *key = node_at(t, p->key);
        if (scalar_equals(key, "Ref")) {
            yaml_node_t *v = node_at(t, p->value);
            if (v && v->type == YAML_SCALAR_NODE) {
                char *name = scalar_dup(v);
                *out = resolve_ref(t, name);
                free(name);
            }
            return *out ? VALUE_OK : VALUE_UNRESOLVED;
        }
        if (key && key->type == YAML_SCALAR_NODE && key->data.scalar.length > 4 &&
            memcmp(key->data.scalar.value, "Fn::", 4) == 0)
            return VALUE_UNRESOLVED;
    }
    return VALUE_BAD_TYPE;
}

static int fail(template_ctx *t, const char *fn, const char *what)
{
    snprintf(t->err, t->errlen, "%s: function %s: %s", t->path, fn, what);
    return -1;
}

/* A property from the function, else from Globals.Function. */
static yaml_node_t *property(template_ctx *t, yaml_node_t *props, yaml_node_t *globals,
                             const char *key)
{
    yaml_node_t *n = map_get(t, props, key);
    return n ? n : map_get(t, globals, key);
}

static int read_number(template_ctx *t, lambda_local_function *fn, yaml_node_t *n, const char *key,
                       double min, double max, double *out)
{
    char *s = NULL;
    value_kind k = read_scalar(t, n, &s);
    if (k == VALUE_UNRESOLVED)
        lambda_local_log("%s: function %s: %s is an unresolved intrinsic, using %g", t->path,
                         fn->name, key, *out);
    if (k == VALUE_BAD_TYPE) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s must be a number", key);
        return fail(t, fn->name, msg);
    }
    if (k != VALUE_OK)
        return 0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    bool ok = errno == 0 && end != s && *end == '\0' && v >= min && v <= max;
    free(s);
    if (!ok) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s must be a number from %g to %g", key, min, max);
        return fail(t, fn->name, msg);
    }
    *out = v;
    return 0;
}

/* Environment.Variables of one mapping (global or the function's). */
static int read_variables(template_ctx *t, lambda_local_function *fn, yaml_node_t *env)
{
    yaml_node_t *vars = map_get(t, env, "Variables");
    if (!vars)
        return 0;
    if (vars->type != YAML_MAPPING_NODE)
        return fail(t, fn->name, "Environment.Variables must be a mapping");
    for (yaml_node_pair_t *p = vars->data.mapping.pairs.start; p < vars->data.mapping.pairs.top;
         p++) {
        yaml_node_t *key = node_at(t, p->key);
        if (!key || key->type != YAML_SCALAR_NODE)
            return fail(t, fn->name, "Environment.Variables has a non-scalar name");
        char *name = scalar_dup(key);
        char *value = NULL;
        value_kind k = read_scalar(t, node_at(t, p->value), &value);
        if (k == VALUE_BAD_TYPE) {
            free(name);
            return fail(t, fn->name, "an Environment variable's value must be a scalar");
        }
        lambda_local_function_set_var(fn, name, k == VALUE_OK ? value : NULL);
        free(name);
        free(value);
    }
    return 0;
}

/* LoggingConfig: Lambda passes the format and level to the runtime as
 * AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL (the level only in JSON). */
static void read_logging(template_ctx *t, lambda_local_function *fn, yaml_node_t *logging)
{
    char *format = NULL, *level = NULL;
    if (read_scalar(t, map_get(t, logging, "LogFormat"), &format) == VALUE_OK)
        lambda_local_function_set_var(fn, "AWS_LAMBDA_LOG_FORMAT", format);
    if (format && strcmp(format, "JSON") == 0 &&
        read_scalar(t, map_get(t, logging, "ApplicationLogLevel"), &level) == VALUE_OK)
        lambda_local_function_set_var(fn, "AWS_LAMBDA_LOG_LEVEL", level);
    free(format);
    free(level);
}

/* FunctionUrlConfig: InvokeMode (BUFFERED by default) and AuthType. */
static int read_function_url(template_ctx *t, lambda_local_function *fn, yaml_node_t *config)
{
    if (!config)
        return 0;
    char *mode = NULL, *auth = NULL;
    value_kind km = read_scalar(t, map_get(t, config, "InvokeMode"), &mode);
    value_kind ka = read_scalar(t, map_get(t, config, "AuthType"), &auth);
    int rc = 0;
    if (km == VALUE_MISSING || (km == VALUE_OK && strcmp(mode, "BUFFERED") == 0))
        fn->url_mode = LAMBDA_LOCAL_URL_BUFFERED;
    else if (km == VALUE_OK && strcmp(mode, "RESPONSE_STREAM") == 0)
        fn->url_mode = LAMBDA_LOCAL_URL_RESPONSE_STREAM;
    else
        rc = fail(t, fn->name, "FunctionUrlConfig.InvokeMode must be BUFFERED or RESPONSE_STREAM");
    if (rc == 0 && ka == VALUE_OK && strcmp(auth, "AWS_IAM") == 0)
        fn->url_iam = true;
    else if (rc == 0 && !(ka == VALUE_OK && strcmp(auth, "NONE") == 0))
        rc = fail(t, fn->name, "FunctionUrlConfig.AuthType must be AWS_IAM or NONE");
    free(mode);
    free(auth);
    return rc;
}

/* Architectures: [x86_64] or [arm64] (one item, as Lambda allows). Only a
 * literal value is kept: it must then match the bootstrap's ELF machine
 * (arch.c), as Lambda would refuse the code otherwise. A parameter reference
 * (Architectures: [!Ref Architecture]) may be overridden at deploy time, so
 * then the executable itself decides (an aarch64 one runs through qemu). */
static int read_architectures(template_ctx *t, lambda_local_function *fn, yaml_node_t *archs)
{
    if (!archs)
        return 0;
    if (archs->type != YAML_SEQUENCE_NODE ||
        archs->data.sequence.items.top - archs->data.sequence.items.start != 1)
        return fail(t, fn->name, "Architectures must be a list of one item: [x86_64] or [arm64]");
    yaml_node_t *item = node_at(t, *archs->data.sequence.items.start);
    if (!item || item->type != YAML_SCALAR_NODE || has_local_tag(item))
        return 0;
    char *arch = scalar_dup(item);
    if (strcmp(arch, "x86_64") != 0 && strcmp(arch, "arm64") != 0) {
        free(arch);
        return fail(t, fn->name, "Architectures must be [x86_64] or [arm64]");
    }
    fn->architecture = arch;
    return 0;
}

/* DurableConfig: the function is durable; ExecutionTimeout (1 s to a year)
 * ends an execution that runs longer (RetentionPeriodInDays: nothing is
 * deleted locally). */
static int read_durable(template_ctx *t, lambda_local_function *fn, yaml_node_t *config)
{
    if (!config)
        return 0;
    if (config->type != YAML_MAPPING_NODE)
        return fail(t, fn->name, "DurableConfig must be a mapping");
    fn->durable = true;
    return read_number(t, fn, map_get(t, config, "ExecutionTimeout"),
                       "DurableConfig.ExecutionTimeout", 1, 31622400, &fn->durable_timeout_s);
}

/* EventInvokeConfig: MaximumRetryAttempts (async.h). */
static int read_event_invoke(template_ctx *t, lambda_local_function *fn, yaml_node_t *config)
{
    if (!config)
        return 0;
    double retries = 2;
    if (read_number(t, fn, map_get(t, config, "MaximumRetryAttempts"),
                    "EventInvokeConfig.MaximumRetryAttempts", 0, 2, &retries) != 0)
        return -1;
    fn->async_retries = (int)retries;
    return 0;
}

/* CapacityProviderConfig (Lambda Managed Instances): an environment takes
 * up to PerExecutionEnvironmentMaxConcurrency invocations at once; without
 * it, 16 per CPU (Lambda's default varies by runtime: 16 per vCPU is
 * Python's). */
static int read_capacity(template_ctx *t, lambda_local_function *fn, yaml_node_t *config)
{
    if (!config)
        return 0;
    yaml_node_t *mi = map_get(t, config, "LambdaManagedInstancesCapacityProviderConfig");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double n = 16.0 * (double)(cpus > 0 ? cpus : 1);
    if (n > 1600)
        n = 1600;
    if (read_number(t, fn, map_get(t, mi, "PerExecutionEnvironmentMaxConcurrency"),
                    "PerExecutionEnvironmentMaxConcurrency", 1, 1600, &n) != 0)
        return -1;
    fn->env_concurrency = (int)n;
    return 0;
}

/* TenancyConfig: TenantIsolationMode PER_TENANT (its only value). Without
 * it the function takes no tenant id, as in Lambda. */
static int read_tenancy(template_ctx *t, lambda_local_function *fn, yaml_node_t *config)
{
    fn->tenancy = LAMBDA_LOCAL_TENANCY_NONE;
    if (!config)
        return 0;
    char *mode = NULL;
    value_kind k = read_scalar(t, map_get(t, config, "TenantIsolationMode"), &mode);
    bool ok = k == VALUE_OK && strcmp(mode, "PER_TENANT") == 0;
    free(mode);
    if (!ok)
        return fail(t, fn->name, "TenancyConfig.TenantIsolationMode must be PER_TENANT");
    fn->tenancy = LAMBDA_LOCAL_TENANCY_PER_TENANT;
    return 0;
}

static int read_function(template_ctx *t, const char *name, yaml_node_t *props,
                         yaml_node_t *globals, const char *base_dir, lambda_local_functions *out)
{
    lambda_local_function *fn = lambda_local_functions_add(out, name);
    char *s = NULL;

    value_kind k = read_scalar(t, property(t, props, globals, "Handler"), &s);
    if (k == VALUE_BAD_TYPE || k == VALUE_UNRESOLVED)
        return fail(t, name, "Handler must be a plain string");
    fn->handler = s ? s : lambda_local_strdup("");

    s = NULL;
    k = read_scalar(t, property(t, props, globals, "CodeUri"), &s);
    if (k == VALUE_OK)
        fn->code_uri =
            s[0] == '/' ? lambda_local_strdup(s) : lambda_local_format("%s/%s", base_dir, s);
    free(s);

    if (read_number(t, fn, property(t, props, globals, "Timeout"), "Timeout", 1, 900,
                    &fn->timeout_s) != 0)
        return -1;
    double mem = fn->memory_mb;
    if (read_number(t, fn, property(t, props, globals, "MemorySize"), "MemorySize", 128, 10240,
                    &mem) != 0)
        return -1;
    fn->memory_mb = (int)mem;

    /* Function variables override global ones of the same name, as in SAM. */
    if (read_variables(t, fn, map_get(t, globals, "Environment")) != 0 ||
        read_variables(t, fn, map_get(t, props, "Environment")) != 0)
        return -1;
    read_logging(t, fn, property(t, props, globals, "LoggingConfig"));
    if (read_architectures(t, fn, property(t, props, globals, "Architectures")) != 0 ||
        read_durable(t, fn, property(t, props, globals, "DurableConfig")) != 0 ||
        read_tenancy(t, fn, map_get(t, props, "TenancyConfig")) != 0 ||
        read_event_invoke(t, fn, property(t, props, globals, "EventInvokeConfig")) != 0 ||
        read_capacity(t, fn, property(t, props, globals, "CapacityProviderConfig")) != 0)
        return -1;
    return read_function_url(t, fn, map_get(t, props, "FunctionUrlConfig"));
}

static int load_document(template_ctx *t, lambda_local_functions *out)
{
    yaml_node_t *root = yaml_document_get_root_node(&t->doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        snprintf(t->err, t->errlen, "%s: not a SAM template (no top-level mapping)", t->path);
        return -1;
    }
    t->parameters = map_get(t, root, "Parameters");
    yaml_node_t *globals = map_get(t, map_get(t, root, "Globals"), "Function");
    yaml_node_t *resources = map_get(t, root, "Resources");
    if (!resources || resources->type != YAML_MAPPING_NODE) {
        snprintf(t->err, t->errlen, "%s: no Resources mapping", t->path);
        return -1;
    }
    char *path_copy = lambda_local_strdup(t->path);
    char *base_dir = lambda_local_strdup(dirname(path_copy));
    free(path_copy);

    int rc = 0;
    for (yaml_node_pair_t *p = resources->data.mapping.pairs.start;
         rc == 0 && p < resources->data.mapping.pairs.top; p++) {
        yaml_node_t *key = node_at(t, p->key);
        yaml_node_t *res = node_at(t, p->value);
        if (!key || key->type != YAML_SCALAR_NODE ||
            !scalar_equals(map_get(t, res, "Type"), "AWS::Serverless::Function"))
            continue;
        char *name = scalar_dup(key);
        yaml_node_t *props = map_get(t, res, "Properties");
        if (scalar_equals(property(t, props, globals, "PackageType"), "Image"))
            lambda_local_log("%s: function %s: PackageType Image is not supported, skipped",
                             t->path, name);
        else
            rc = read_function(t, name, props, globals, base_dir, out);
        free(name);
    }
    free(base_dir);
    return rc;
}

int lambda_local_template_load(const char *path, lambda_local_functions *out, char *err,
                               size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    template_ctx t = {.path = path, .err = err, .errlen = errlen};
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc = -1;
    if (!yaml_parser_load(&parser, &t.doc)) {
        snprintf(err, errlen, "%s:%zu:%zu: YAML error: %s", path, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "unknown");
    } else {
        rc = load_document(&t, out);
        yaml_document_delete(&t.doc);
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

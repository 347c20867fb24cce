#include "context.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Per thread, so that concurrent invocations (AWS_LAMBDA_MAX_CONCURRENCY > 1)
 * never see each other's context. */
static _Thread_local const lambda_context *tls_current;

void lambda_context_set_current(const lambda_context *ctx)
{
    tls_current = ctx;
}

const lambda_context *lambda_context_current(void)
{
    return tls_current;
}

int64_t lambda_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lambda_remaining_ms(const lambda_context *ctx)
{
    if (!ctx)
        return 0;
    return ctx->deadline_ms - lambda_now_ms();
}

static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void lambda_env_facts_load(lambda_env_facts *facts)
{
    facts->function_name = env_or_null("AWS_LAMBDA_FUNCTION_NAME");
    facts->function_version = env_or_null("AWS_LAMBDA_FUNCTION_VERSION");
    facts->log_group_name = env_or_null("AWS_LAMBDA_LOG_GROUP_NAME");
    facts->log_stream_name = env_or_null("AWS_LAMBDA_LOG_STREAM_NAME");
    const char *mem = env_or_null("AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
    long mb = mem ? strtol(mem, NULL, 10) : 0;
    facts->memory_limit_mb = mb > 0 && mb < 1 << 20 ? (int)mb : 0;
}

/* Copies a header value into the field's own buffer, which keeps its
 * memory from one invocation to the next: after the first few invocations
 * parsing the headers allocates nothing. */
static int set_string(lambda_invocation *inv, size_t i, char **field, const char *value, size_t len)
{
    lambda_buf *b = &inv->strings[i];
    lambda_buf_clear(b);
    if (lambda_buf_append(b, value, len) != 0 || !b->data)
        return -1;
    *field = b->data;
    return 1;
}

static int64_t parse_ms(const char *value, size_t len)
{
    int64_t ms = 0;
    for (size_t i = 0; i < len && isdigit((unsigned char)value[i]); i++) {
        if (ms > (INT64_MAX - 9) / 10)
            return INT64_MAX;
        ms = ms * 10 + (value[i] - '0');
    }
    return ms;
}

/* The value after "Name:", without the blanks around it. */
static const char *header_value(const char *colon, const char *end, size_t *value_len)
{
    const char *value = colon + 1;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && isspace((unsigned char)end[-1]))
        end--;
    *value_len = (size_t)(end - value);
    return value;
}

int lambda_invocation_header(lambda_invocation *inv, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return 0;
    size_t name_len = (size_t)(colon - line);
    size_t value_len;

    static const struct {
        const char *name;
        size_t len;
        size_t offset;
    } fields[] = {
#define FIELD(name, member) {name, sizeof name - 1, offsetof(lambda_invocation, member)}
        FIELD("Lambda-Runtime-Aws-Request-Id", request_id),
        FIELD("Lambda-Runtime-Invoked-Function-Arn", invoked_function_arn),
        FIELD("Lambda-Runtime-Trace-Id", trace_id),
        FIELD("Lambda-Runtime-Client-Context", client_context),
        FIELD("Lambda-Runtime-Cognito-Identity", cognito_identity),
        FIELD("Lambda-Runtime-Aws-Tenant-Id", tenant_id),
        FIELD("Lambda-Runtime-Invocation-Id", invocation_id),
#undef FIELD
    };
    _Static_assert(sizeof fields / sizeof fields[0] == LAMBDA_INVOCATION_STRINGS,
                   "one storage buffer per header string");
    /* The name is matched before the value is trimmed: most lines of a
     * response (status, Content-Type, Date...) are not ours. */
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (fields[i].len == name_len && strncasecmp(line, fields[i].name, name_len) == 0) {
            char **field = (char **)((char *)inv + fields[i].offset);
            const char *value = header_value(colon, line + len, &value_len);
            return set_string(inv, i, field, value, value_len);
        }
    }
    if (name_len == sizeof "Lambda-Runtime-Deadline-Ms" - 1 &&
        strncasecmp(line, "Lambda-Runtime-Deadline-Ms", name_len) == 0) {
        const char *value = header_value(colon, line + len, &value_len);
        inv->deadline_ms = parse_ms(value, value_len);
        return 1;
    }
    return 0;
}

void lambda_invocation_finish(lambda_invocation *inv, const lambda_env_facts *facts)
{
    lambda_context *c = &inv->ctx;
    c->request_id = inv->request_id;
    c->invoked_function_arn = inv->invoked_function_arn;
    c->trace_id = inv->trace_id;
    c->client_context = inv->client_context;
    c->cognito_identity = inv->cognito_identity;
    c->tenant_id = inv->tenant_id;
    c->deadline_ms = inv->deadline_ms;
    c->function_name = facts->function_name;
    c->function_version = facts->function_version;
    c->memory_limit_mb = facts->memory_limit_mb;
    c->log_group_name = facts->log_group_name;
    c->log_stream_name = facts->log_stream_name;
}

void lambda_invocation_clear(lambda_invocation *inv)
{
    /* Absent headers must read as NULL; the buffers behind them stay. */
    inv->request_id = inv->invoked_function_arn = inv->trace_id = NULL;
    inv->client_context = inv->cognito_identity = inv->tenant_id = NULL;
    inv->invocation_id = NULL;
    inv->deadline_ms = 0;
    lambda_buf_clear(&inv->event);
    memset(&inv->ctx, 0, sizeof inv->ctx);
}

void lambda_invocation_free(lambda_invocation *inv)
{
    lambda_invocation_clear(inv);
    for (size_t i = 0; i < LAMBDA_INVOCATION_STRINGS; i++)
        lambda_buf_free(&inv->strings[i]);
    lambda_buf_free(&inv->event);
}

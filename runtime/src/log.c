#include "log.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "context.h"

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};

static lambda_log_config g_config;
static pthread_once_t g_config_once = PTHREAD_ONCE_INIT;

int lambda_log_level_parse(const char *s, lambda_log_level *out)
{
    if (!s)
        return -1;
    for (int i = LAMBDA_LOG_TRACE; i <= LAMBDA_LOG_FATAL; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (lambda_log_level)i;
            return 0;
        }
    }
    /* Python and Node accept WARNING too. */
    if (strcasecmp(s, "WARNING") == 0) {
        *out = LAMBDA_LOG_WARN;
        return 0;
    }
    return -1;
}

const char *lambda_log_level_name(lambda_log_level level)
{
    if ((int)level < LAMBDA_LOG_TRACE || level > LAMBDA_LOG_FATAL)
        return "INFO";
    return level_names[level];
}

void lambda_log_config_parse(lambda_log_config *cfg, const char *format, const char *level)
{
    cfg->format = (format && strcasecmp(format, "JSON") == 0) ? LAMBDA_LOG_FORMAT_JSON
                                                              : LAMBDA_LOG_FORMAT_TEXT;
    cfg->min_level = LAMBDA_LOG_INFO;
    lambda_log_level parsed;
    if (lambda_log_level_parse(level, &parsed) == 0)
        cfg->min_level = parsed;
}

static void load_config(void)
{
    lambda_log_config_parse(&g_config, getenv("AWS_LAMBDA_LOG_FORMAT"),
                            getenv("AWS_LAMBDA_LOG_LEVEL"));
}

void lambda_log_reload(void)
{
    pthread_once(&g_config_once, load_config);
    load_config();
}

int lambda_log_enabled(lambda_log_level level)
{
    pthread_once(&g_config_once, load_config);
    return level >= g_config.min_level;
}

void lambda_log_timestamp(char out[32], int64_t unix_ms)
{
    time_t secs = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[24];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", date, (int)(unix_ms % 1000));
}

static char *format_json(lambda_log_level level, const char *request_id, const char *ts,
                         const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char *line = NULL;
    if (cJSON_AddStringToObject(o, "timestamp", ts) &&
        cJSON_AddStringToObject(o, "level", lambda_log_level_name(level)) &&
        cJSON_AddStringToObject(o, "message", message) &&
        (!request_id || cJSON_AddStringToObject(o, "requestId", request_id))) {
        char *json = cJSON_PrintUnformatted(o);
        if (json) {
            size_t n = strlen(json);
            line = malloc(n + 2);
            if (line) {
                memcpy(line, json, n);
                memcpy(line + n, "\n", 2);
            }
            cJSON_free(json);
        }
    }
    cJSON_Delete(o);
    return line;
}

static char *format_text(lambda_log_level level, const char *request_id, const char *ts,
                         const char *message)
{
    const char *rid = request_id ? request_id : "-";
    const char *lvl = lambda_log_level_name(level);
    size_t n = strlen(ts) + strlen(rid) + strlen(lvl) + strlen(message) + 5;
    char *line = malloc(n);
    if (!line)
        return NULL;
    int len = snprintf(line, n, "%s\t%s\t%s\t%s\n", ts, rid, lvl, message);
    /* Keep a multi-line message one record: CloudWatch splits text logs on
     * '\n' but not on '\r' (the managed runtimes do the same). */
    for (int i = 0; i < len - 1; i++)
        if (line[i] == '\n')
            line[i] = '\r';
    return line;
}

char *lambda_log_format_record(const lambda_log_config *cfg, lambda_log_level level,
                               const char *request_id, int64_t unix_ms, const char *message)
{
    char ts[32];
    lambda_log_timestamp(ts, unix_ms);
    if (cfg->format == LAMBDA_LOG_FORMAT_JSON)
        return format_json(level, request_id, ts, message);
    return format_text(level, request_id, ts, message);
}

/* Callers pass one whole record, so one write(2) per record: lines from
 * concurrent invocations never interleave. */
void lambda_log_write_stderr(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

void lambda_logv(lambda_log_level level, const char *fmt, va_list ap)
{
    if (!lambda_log_enabled(level))
        return;
    char small[1024];
    char *message = small;
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof small) {
        message = malloc((size_t)n + 1);
        if (!message)
            return;
        vsnprintf(message, (size_t)n + 1, fmt, ap);
    }
    const lambda_context *ctx = lambda_context_current();
    char *line = lambda_log_format_record(&g_config, level, ctx ? ctx->request_id : NULL,
                                          lambda_now_ms(), message);
    if (line) {
        lambda_log_write_stderr(line, strlen(line));
        free(line);
    }
    if (message != small)
        free(message);
}

void lambda_log(lambda_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lambda_logv(level, fmt, ap);
    va_end(ap);
}

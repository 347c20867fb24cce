/* Logging: the implementation behind lambda_log(), split so that record
 * formatting and level parsing can be unit-tested without touching stderr. */
#ifndef LAMBDA_LOG_H
#define LAMBDA_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lambda/runtime.h"

typedef enum lambda_log_format { LAMBDA_LOG_FORMAT_TEXT, LAMBDA_LOG_FORMAT_JSON } lambda_log_format;

typedef struct lambda_log_config {
    lambda_log_format format;
    lambda_log_level min_level;
} lambda_log_config;

/* Builds a config from AWS_LAMBDA_LOG_FORMAT ("JSON" or "Text") and
 * AWS_LAMBDA_LOG_LEVEL. Without a (known) level, records from INFO up are
 * written, as in the managed runtimes' JSON mode. */
void lambda_log_config_parse(lambda_log_config *cfg, const char *format, const char *level);

/* Case-insensitive TRACE/DEBUG/INFO/WARN/ERROR/FATAL; 0 or -1 if unknown. */
int lambda_log_level_parse(const char *s, lambda_log_level *out);
const char *lambda_log_level_name(lambda_log_level level);

/* One record as a malloc'd line ending in '\n', or NULL when out of memory.
 * Text: "TIMESTAMP\tREQUEST-ID\tLEVEL\tmessage" ("-" without a request);
 * newlines in the message become '\r' so CloudWatch keeps one record.
 * JSON: {"timestamp","level","message","requestId"} (requestId only inside
 * an invocation). */
char *lambda_log_format_record(const lambda_log_config *cfg, lambda_log_level level,
                               const char *request_id, int64_t unix_ms, const char *message);

/* Writes all of s to stderr with write(2) only, retrying short writes:
 * async-signal-safe, so the fatal-signal handler uses it too. */
void lambda_log_write_stderr(const char *s, size_t n);

/* RFC 3339 UTC with milliseconds, e.g. 2026-11-26T16:57:00.123Z. */
void lambda_log_timestamp(char out[32], int64_t unix_ms);

/* Re-reads the environment (lambda_run calls it before starting threads). */
void lambda_log_reload(void);

/* True when a record at `level` would be written. */
int lambda_log_enabled(lambda_log_level level);

void lambda_logv(lambda_log_level level, const char *fmt, va_list ap) LAMBDA_PRINTF(2, 0);

#endif

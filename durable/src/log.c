/*
 * Replay-aware logging: a handler runs from the top on every invocation, so
 * its log lines would repeat once per invocation; lines written while the
 * handler replays what an earlier invocation did are dropped, as the
 * official SDKs' context loggers do, and every line names the execution
 * (and operation) it belongs to.
 */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Formats fmt/ap after `tags` and hands the line to lambda_log (its
 * format, level filter and request id). */
static void write_tagged(lambda_log_level level, const char *tags, const char *fmt, va_list ap)
{
    char small[1024];
    char *text = small;
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(small, sizeof small, fmt, copy);
    va_end(copy);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof small) {
        text = malloc((size_t)n + 1);
        if (!text)
            return;
        vsnprintf(text, (size_t)n + 1, fmt, ap);
    }
    lambda_log(level, "%s %s", tags, text);
    if (text != small)
        free(text);
}

void lambda_durable_log(const lambda_durable_context *ctx, lambda_log_level level, const char *fmt,
                        ...)
{
    if (!ctx || ctx->run->replaying)
        return;
    char tags[DURABLE_ID_MAX + 512];
    if (ctx->parent_id)
        snprintf(tags, sizeof tags, "[executionArn=%.400s operationId=%s]", ctx->run->arn,
                 ctx->parent_id);
    else
        snprintf(tags, sizeof tags, "[executionArn=%.400s]", ctx->run->arn);
    va_list ap;
    va_start(ap, fmt);
    write_tagged(level, tags, fmt, ap);
    va_end(ap);
}

void lambda_durable_step_log(const lambda_durable_step_info *info, lambda_log_level level,
                             const char *fmt, ...)
{
    if (!info)
        return;
    char tags[DURABLE_ID_MAX + 512];
    snprintf(tags, sizeof tags, "[executionArn=%.400s operationId=%.64s attempt=%d]",
             info->execution_arn ? info->execution_arn : "-",
             info->operation_id ? info->operation_id : "-", info->attempt);
    va_list ap;
    va_start(ap, fmt);
    write_tagged(level, tags, fmt, ap);
    va_end(ap);
}

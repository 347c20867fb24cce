/*
 * NDJSON line reader over a byte stream: splits on '\n', strips a '\r'
 * before it and a UTF-8 BOM at the start of each object, and never holds
 * more than max_line bytes, so memory stays bounded whatever the input.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

int lambda_report_lines_init(lambda_report_lines *r, size_t max_line, lambda_report_line_fn fn,
                             void *ud)
{
    memset(r, 0, sizeof *r);
    r->max_line = max_line ? max_line : 1;
    r->cap = r->max_line < 65536 ? r->max_line : 65536;
    r->buf = malloc(r->cap + 1);
    r->fn = fn;
    r->ud = ud;
    r->at_start = 1;
    return r->buf ? 0 : -1;
}

void lambda_report_lines_reset(lambda_report_lines *r)
{
    r->len = 0;
    r->discarding = 0;
    r->at_start = 1;
}

void lambda_report_lines_free(lambda_report_lines *r)
{
    free(r->buf);
    r->buf = NULL;
}

static int emit(lambda_report_lines *r)
{
    size_t n = r->len;
    const char *p = r->buf;
    if (r->at_start) {
        r->at_start = 0;
        if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3;
            n -= 3;
        }
    }
    if (n > 0 && p[n - 1] == '\r')
        n--;
    r->len = 0;
    r->buf[p - r->buf + n] = '\0';
    return r->fn(p, n, 0, r->ud);
}

/* Appends to the pending line; past max_line the line is reported once as
 * too long (without content: it is only counted) and the rest dropped. */
static int append(lambda_report_lines *r, const char *s, size_t n)
{
    if (r->discarding)
        return 0;
    if (r->len + n > r->max_line + 1) { /* +1: room for a trailing '\r' */
        r->discarding = 1;
        r->at_start = 0;
        r->len = 0;
        r->buf[0] = '\0';
        return r->fn(r->buf, 0, 1, r->ud);
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap;
        while (cap < r->len + n)
            cap *= 2;
        if (cap > r->max_line + 1)
            cap = r->max_line + 1;
        char *grown = realloc(r->buf, cap + 1);
        if (!grown)
            return -1;
        r->buf = grown;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    return 0;
}

int lambda_report_lines_feed(lambda_report_lines *r, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        int rc = append(r, data, n);
        if (rc)
            return rc;
        if (!nl)
            break;
        if (r->discarding) {
            r->discarding = 0;
            r->len = 0;
        } else if ((rc = emit(r)) != 0) {
            return rc;
        }
        data += n + 1;
        len -= n + 1;
    }
    return 0;
}

int lambda_report_lines_finish(lambda_report_lines *r)
{
    int rc = 0;
    if (!r->discarding && r->len > 0)
        rc = emit(r);
    r->len = 0;
    r->discarding = 0;
    return rc;
}

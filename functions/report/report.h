/*
 * The report's building blocks, free of I/O so they can be unit-tested:
 * calendar dates, byte-balanced splitting, the NDJSON line reader, event
 * validation and CSV rows. The handlers (handler_*.c) wire them to stores.
 */
#ifndef LAMBDA_REPORT_H
#define LAMBDA_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lambda/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dates: days since 1970-01-01 (proleptic Gregorian) ---- */

/* Parses exactly "YYYY-MM-DD" naming a day that exists (years 1..9999);
 * 0 on success. */
int lambda_report_parse_date(const char *s, int64_t *day);
/* Writes "YYYY-MM-DD" (11 bytes with the NUL). */
void lambda_report_format_date(int64_t day, char out[11]);
int64_t lambda_report_days_from_civil(int y, unsigned m, unsigned d);
void lambda_report_civil_from_days(int64_t day, int *y, unsigned *m, unsigned *d);

/* customerId: [A-Za-z0-9_-]{1,64}. reportId: [A-Za-z0-9_.-]{1,80}, not
 * starting with '.'. Neither can escape a key prefix. */
int lambda_report_valid_customer(const char *s);
int lambda_report_valid_report_id(const char *s);

/* ---- splitting ---- */

typedef struct lambda_report_day {
    int64_t day;
    uint64_t bytes;
} lambda_report_day;

typedef struct lambda_report_part {
    int64_t from, to; /* inclusive */
    uint64_t bytes;
} lambda_report_part;

/* Cuts [from, to] into consecutive parts near `target` bytes each, from the
 * days that hold data (`days`, ascending, inside the range). Parts tile the
 * range: the first starts at `from`, the last ends at `to`. A day is never
 * split, so one day larger than the target is a part of its own. No data:
 * zero parts. Returns the number of parts written to `parts` (capacity at
 * least n_days). */
size_t lambda_report_split(int64_t from, int64_t to, const lambda_report_day *days, size_t n_days,
                           uint64_t target, lambda_report_part *parts);

/* ---- NDJSON lines ---- */

/* Called once per line without its terminator ("\n" or "\r\n"). A line
 * longer than the reader's limit arrives once with too_long set and no
 * content. Returning non-zero stops the reader. */
typedef int (*lambda_report_line_fn)(const char *line, size_t len, int too_long, void *ud);

typedef struct lambda_report_lines {
    char *buf;
    size_t len, cap, max_line;
    int discarding; /* inside a too-long line, waiting for its end */
    int at_start;   /* at the start of an object: a BOM may follow */
    lambda_report_line_fn fn;
    void *ud;
} lambda_report_lines;

/* max_line bounds memory: no line ever needs more. */
int lambda_report_lines_init(lambda_report_lines *r, size_t max_line, lambda_report_line_fn fn,
                             void *ud);
/* Starts a new object (resets BOM detection; a pending partial line must
 * have been finished with lambda_report_lines_finish()). */
void lambda_report_lines_reset(lambda_report_lines *r);
int lambda_report_lines_feed(lambda_report_lines *r, const char *data, size_t len);
/* Flushes a last line without a terminator. */
int lambda_report_lines_finish(lambda_report_lines *r);
void lambda_report_lines_free(lambda_report_lines *r);

/* ---- CSV ---- */

/* A growable output buffer. */
typedef struct lambda_report_buf {
    char *data;
    size_t len, cap;
} lambda_report_buf;

/* Makes room for `n` more bytes and a NUL (doubling): 0, or -1 out of memory. */
int lambda_report_buf_grow(lambda_report_buf *b, size_t n);
/* Copies n bytes (no overlap); up to 64 inline, in overlapping word moves
 * without a loop (a loop could be turned back into a memcpy call). Why: the
 * static build's memcpy (musl 1.2.3's x86_64 one) moves bytes with `rep
 * movsq` and single `movsb`s for an unaligned head and tail, whose start-up
 * costs ~50 ns a call on the AMD EPYC these were measured on (glibc's: ~8
 * ns); GenerateSubReport copies ~35 such cells a line. */
static inline void lambda_report_copy(char *d, const char *s, size_t n)
{
    uint64_t w[8];
    uint32_t h[2];
    if (n > 64) {
        memcpy(d, s, n);
    } else if (n > 32) { /* words 0..3 and the last four */
        memcpy(w, s, 32);
        memcpy(w + 4, s + n - 32, 32);
        memcpy(d, w, 32);
        memcpy(d + n - 32, w + 4, 32);
    } else if (n > 16) {
        memcpy(w, s, 16);
        memcpy(w + 2, s + n - 16, 16);
        memcpy(d, w, 16);
        memcpy(d + n - 16, w + 2, 16);
    } else if (n >= 8) {
        memcpy(w, s, 8);
        memcpy(w + 1, s + n - 8, 8);
        memcpy(d, w, 8);
        memcpy(d + n - 8, w + 1, 8);
    } else if (n >= 4) {
        memcpy(h, s, 4);
        memcpy(h + 1, s + n - 4, 4);
        memcpy(d, h, 4);
        memcpy(d + n - 4, h + 1, 4);
    } else if (n > 0) {
        char a = s[0], m = s[n / 2], z = s[n - 1];
        d[0] = a;
        d[n / 2] = m;
        d[n - 1] = z;
    }
}

/* Appends n bytes and keeps the buffer NUL-terminated. Inline: a row is
 * written in a dozen small appends (a comma, a cell), and a call each cost
 * about a tenth of GenerateSubReport's time. */
static inline int lambda_report_buf_add(lambda_report_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap && lambda_report_buf_grow(b, n) != 0)
        return -1;
    lambda_report_copy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}
void lambda_report_buf_free(lambda_report_buf *b);

/* Appends one RFC 4180 field. `text` cells that start with = + - @ TAB or
 * CR are prefixed with a single quote (OWASP CSV injection advice); a field
 * is quoted when it holds a comma, quote, CR or LF, quotes doubled. */
int lambda_report_csv_field(lambda_report_buf *b, const char *s, size_t n, int text);

/* The report's header line, CRLF-terminated. */
extern const char lambda_report_csv_header[];

/* Why a line was skipped. */
typedef enum lambda_report_skip {
    LAMBDA_SKIP_NONE = 0,
    LAMBDA_SKIP_BAD_JSON, /* not JSON, or not an object, or trailing junk */
    LAMBDA_SKIP_BAD_UTF8,
    LAMBDA_SKIP_MISSING_FIELD, /* eventId/prospectId/type/occurredAt missing or malformed */
    LAMBDA_SKIP_WRONG_CUSTOMER,
    LAMBDA_SKIP_TOO_LONG,
    LAMBDA_SKIP_NUL, /* a \u0000 escape: cJSON would cut the value at the NUL */
    LAMBDA_SKIP_COUNT
} lambda_report_skip;

extern const char *const lambda_report_skip_names[LAMBDA_SKIP_COUNT];

int lambda_report_valid_utf8(const char *s, size_t n);
/* RFC 3339 date-time ("2024-02-29T10:00:00Z", fraction and offset allowed). */
int lambda_report_valid_timestamp(const char *s);
/* The same answer for s of n bytes with s[n] == '\0', the common form
 * ("YYYY-MM-DDTHH:MM:SSZ") checked in a few word operations. */
int lambda_report_valid_timestamp_n(const char *s, size_t n);

/* Turns one NDJSON line into one CSV row (CRLF-terminated) appended to
 * `row`, or returns the reason the line is skipped (row untouched). Returns
 * -1 only when out of memory. */
int lambda_report_event_to_row(const char *line, size_t len, const char *customer,
                               lambda_report_buf *row, lambda_report_skip *reason);

/* The same transform through yyjson, which parses a line into one block
 * of memory kept here from line to line (no allocation per value). Rows
 * and skip reasons are byte for byte those of lambda_report_event_to_row():
 * values are printed as cJSON prints them, and a line yyjson does not take
 * as it is (not strict RFC 8259 JSON, nested or long enough to meet cJSON's
 * limits) is handed to lambda_report_event_to_row() itself. One parser per
 * thread. Memory: about 9 bytes per byte of the longest line seen. */
typedef struct lambda_report_parser {
    void *mem; /* the line's padded copy, then yyjson's values */
    size_t cap;
    char *block; /* the values' part of mem, lent to yyjson once a line */
    size_t block_cap;
    int block_lent;
    lambda_report_buf scratch; /* a cell printed before it is quoted */
    uint64_t fallbacks;        /* lines handed to cJSON */
    const char *customer;      /* the last customer asked for, and its length */
    size_t customer_len;
} lambda_report_parser;

int lambda_report_event_to_row_fast(lambda_report_parser *p, const char *line, size_t len,
                                    const char *customer, lambda_report_buf *row,
                                    lambda_report_skip *reason);
void lambda_report_parser_free(lambda_report_parser *p);

/* ---- a range of an object (range.c): GenerateSubReport's unit of work ---- */

/* What a range gave: its rows (CRLF-terminated, in line order) and counts. */
typedef struct lambda_report_range_out {
    lambda_report_buf rows;
    uint64_t nrows;
    uint64_t skipped[LAMBDA_SKIP_COUNT];
} lambda_report_range_out;

/* The lines that START at byte offsets [start, end) of an object, as rows
 * appended to `out`. `buf` holds the object's bytes from `start - 1` (from 0
 * when start is 0) to at least the end of the last such line (see
 * lambda_report_range_complete()) or to the object's end, and has room for
 * one byte more than `len`: lines are NUL-terminated in place. Rows, skip
 * counts and their order are those of the line reader (lines.c, `max_line`)
 * over the whole object, so the ranges of an object, concatenated, give its
 * rows. 0, or -1 when out of memory. */
int lambda_report_range_rows(lambda_report_parser *p, char *buf, size_t len, uint64_t start,
                             uint64_t end, size_t max_line, const char *customer,
                             lambda_report_range_out *out);

/* 1 when `buf` (as above, `len` bytes read so far) reaches the end of the
 * range's last line: a '\n' at or after offset end - 1, or more than
 * max_line + 1 bytes after it (that line is too long whatever follows). A
 * reader that is not at the object's end reads on until then. */
int lambda_report_range_complete(const char *buf, size_t len, uint64_t start, uint64_t end,
                                 size_t max_line);

/* ---- handlers (handler_split.c, handler_generate.c, handler_merge.c) ---- */

/* Reads DATA_STORE / REPORT_STORE (default: DATA_STORE) and opens each
 * once to check it (the bootstrap's init hook); 0 or -1 with err. The
 * handlers then open their own handles per invocation, so concurrent
 * invocations (AWS_LAMBDA_MAX_CONCURRENCY > 1) share nothing mutable. */
int lambda_report_init_stores(lambda_error *err);

cJSON *lambda_report_split_date_range(const cJSON *event, const lambda_context *ctx,
                                      lambda_error *err, void *userdata);
cJSON *lambda_report_generate_sub_report(const cJSON *event, const lambda_context *ctx,
                                         lambda_error *err, void *userdata);
cJSON *lambda_report_merge_sub_reports(const cJSON *event, const lambda_context *ctx,
                                       lambda_error *err, void *userdata);
/* SummarizeReport (handler_summarize.c): summary.json beside a merged report. */
cJSON *lambda_report_summarize_report(const cJSON *event, const lambda_context *ctx,
                                      lambda_error *err, void *userdata);
/* A streaming (raw) handler: report.csv to the caller (handler_download.c). */
void lambda_report_download_report(const lambda_request *req, lambda_response *res, void *userdata);
/* ApproveReport (handler_approve.c): an approver's decision, sent to Step
 * Functions for a task waiting with .waitForTaskToken. */
cJSON *lambda_report_approve_report(const cJSON *event, const lambda_context *ctx,
                                    lambda_error *err, void *userdata);
/* RequestApproval (handler_request_approval.c): records a pending approval,
 * notifies the approvers (SNS) and heartbeats the waiting task. */
cJSON *lambda_report_request_approval(const cJSON *event, const lambda_context *ctx,
                                      lambda_error *err, void *userdata);

/* ReportDurable (handler_durable.c): the whole report workflow as one
 * durable function (lambda/durable.h), registered with
 * LAMBDA_DURABLE_HANDLER("ReportDurable", &lambda_report_durable). */
struct lambda_durable_function;
extern const struct lambda_durable_function lambda_report_durable;

#ifdef __cplusplus
}
#endif

#endif /* LAMBDA_REPORT_H */

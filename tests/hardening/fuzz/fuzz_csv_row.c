/*
 * NDJSON stream -> line reader -> CSV rows, the GenerateSubReport path
 * without the store.
 *
 * Input: the bytes of one source object, fed in chunks whose sizes come
 * from the first byte (so lines straddle chunk boundaries).
 * Every line goes through both parsers (GenerateSubReport's yyjson path and
 * the cJSON one it falls back to): same result, same skip reason, same bytes.
 * Asserted on every row produced: it is one RFC 4180 record of exactly 8
 * fields ending in CRLF, with no bare quote, CR or LF outside quotes, and no
 * cell that a spreadsheet would run as a formula (= + @ TAB CR first; '-'
 * only for a JSON number).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define MAX_LINE 4096

typedef struct state {
    lambda_report_buf row, ref;
    lambda_report_parser parser;
    size_t rows, skipped;
} state;

static void check_cell(const char *cell, size_t n)
{
    if (n == 0)
        return;
    char c = cell[0];
    if (c == '=' || c == '+' || c == '@' || c == '\t' || c == '\r')
        abort();
    if (c == '-') {
        /* Only a JSON number may start with '-' (numbers are not guarded). */
        char buf[64];
        if (n >= sizeof buf)
            abort();
        memcpy(buf, cell, n);
        buf[n] = '\0';
        char *end;
        (void)strtod(buf, &end);
        if (*end != '\0')
            abort();
    }
}

/* Splits one CSV record, unquoting each field. */
static void check_row(const char *r, size_t len)
{
    if (len < 2 || r[len - 2] != '\r' || r[len - 1] != '\n')
        abort();
    len -= 2;
    char *cell = malloc(len + 1);
    if (!cell)
        abort();
    size_t i = 0, fields = 0;
    for (;;) {
        size_t n = 0;
        if (i < len && r[i] == '"') {
            i++;
            for (;;) {
                if (i >= len)
                    abort(); /* unterminated quote */
                if (r[i] == '"') {
                    if (i + 1 < len && r[i + 1] == '"') {
                        cell[n++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                cell[n++] = r[i++];
            }
            if (i < len && r[i] != ',')
                abort(); /* junk after a closing quote */
        } else {
            while (i < len && r[i] != ',') {
                if (r[i] == '"' || r[i] == '\r' || r[i] == '\n')
                    abort(); /* must have been quoted */
                cell[n++] = r[i++];
            }
        }
        check_cell(cell, n);
        fields++;
        if (i >= len)
            break;
        i++; /* the comma */
    }
    free(cell);
    if (fields != 8)
        abort();
}

static int on_line(const char *line, size_t len, int too_long, void *ud)
{
    state *st = ud;
    if (len > MAX_LINE + 1 || line[len] != '\0')
        abort(); /* bounded and NUL-terminated as documented */
    if (too_long) {
        st->skipped++;
        return 0;
    }
    lambda_report_skip why, why_ref;
    size_t mark = st->row.len;
    int r = lambda_report_event_to_row_fast(&st->parser, line, len, "acme", &st->row, &why);
    st->ref.len = 0;
    int r_ref = lambda_report_event_to_row(line, len, "acme", &st->ref, &why_ref);
    if (r < 0 || r != r_ref || why != why_ref || st->row.len - mark != st->ref.len ||
        (st->ref.len && memcmp(st->row.data + mark, st->ref.data, st->ref.len) != 0))
        abort();
    if (r == 0) {
        if (why == LAMBDA_SKIP_NONE || why >= LAMBDA_SKIP_COUNT || st->row.len != mark)
            abort();
        st->skipped++;
        return 0;
    }
    check_row(st->row.data + mark, st->row.len - mark);
    st->rows++;
    st->row.len = 0;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = 1 + data[0] % 64;
    data++;
    size--;
    state st = {0};
    lambda_report_lines lines;
    if (lambda_report_lines_init(&lines, MAX_LINE, on_line, &st) != 0)
        return 0;
    for (size_t off = 0; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (lambda_report_lines_feed(&lines, (const char *)data + off, n) != 0)
            abort();
    }
    if (lambda_report_lines_finish(&lines) != 0)
        abort();
    lambda_report_lines_free(&lines);
    lambda_report_buf_free(&st.row);
    lambda_report_buf_free(&st.ref);
    lambda_report_parser_free(&st.parser);
    return 0;
}

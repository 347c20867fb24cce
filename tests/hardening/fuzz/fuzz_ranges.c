/*
 * An object cut in byte ranges (range.c, how GenerateSubReport's threads
 * share one object) against the same object through the line reader
 * (lines.c, how one reader sees it whole): the ranges' rows, concatenated,
 * must be the reader's rows byte for byte, with the same row count and the
 * same skip count for every reason.
 *
 * Input: a 6-byte header, then the object's bytes.
 *   byte 0      max_line - 1 (1..256: lines of every length are too long)
 *   byte 1      largest range - 1 (1..256 bytes: many ranges, some of 1 byte)
 *   byte 2      the tail read past a range (0..63), as gen_pool.c's 64 KiB
 *   bytes 3..4  seed of the range sizes and of the extra bytes read
 *   byte 5      the line reader's feed size - 1 (1..256)
 * Each range is read as gen_pool.c reads it: from start - 1 to end + tail,
 * then on in doubling steps until lambda_report_range_complete() or the
 * object's end; then, one range in two, some bytes more (a reader may hold
 * more than the last line: the rows must not change). Every range gets a
 * buffer of exactly len + 1 bytes (the documented room for the in-place
 * NUL), so ASan sees any read or write past it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_ref.h"

#define HEADER 6

typedef struct ref_rows {
    lambda_report_parser parser;
    lambda_report_range_out out;
} ref_rows;

/* GenerateSubReport's rules for a line the reader hands over: the report
 * tests' reference (tests/functions/report_ref.c). */
static int ref_line(const char *line, size_t len, int too_long, void *ud)
{
    ref_rows *r = ud;
    return report_ref_line(&r->parser, "acme", line, len, too_long, &r->out.rows, &r->out.nrows,
                           r->out.skipped);
}

static uint32_t next_random(uint32_t *s)
{
    /* xorshift32: any seed but 0 */
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void rows_by_ranges(const char *obj, size_t size, const uint8_t *h, lambda_report_parser *p,
                           lambda_report_range_out *out)
{
    size_t max_line = 1 + (size_t)h[0], largest = 1 + (size_t)h[1], tail_max = h[2] % 64;
    uint32_t seed = ((uint32_t)h[3] << 8 | h[4]) + 1;
    size_t a = 0;
    do {
        size_t want = 1 + next_random(&seed) % largest;
        size_t b = size - a > want ? a + want : size;
        size_t from = a ? a - 1 : 0, tail = b - a < tail_max ? b - a : tail_max;
        size_t len = b - from + tail > size - from ? size - from : b - from + tail;
        while (from + len < size && !lambda_report_range_complete(obj + from, len, a, b, max_line))
            len = 2 * len > size - from ? size - from : 2 * len;
        if (next_random(&seed) % 2) {
            size_t more = next_random(&seed) % 300;
            len = more > size - from - len ? size - from : len + more;
        }
        char *buf = malloc(len + 1);
        if (!buf)
            abort();
        if (len)
            memcpy(buf, obj + from, len);
        if (lambda_report_range_rows(p, buf, len, a, b, max_line, "acme", out) != 0)
            abort();
        free(buf);
        a = b;
    } while (a < size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    const uint8_t *h = data;
    const char *obj = (const char *)data + HEADER;
    size_t n = size - HEADER, feed = 1 + (size_t)h[5];

    ref_rows ref = {0};
    lambda_report_lines r;
    if (lambda_report_lines_init(&r, 1 + (size_t)h[0], ref_line, &ref) != 0)
        abort();
    for (size_t off = 0; off < n; off += feed)
        if (lambda_report_lines_feed(&r, obj + off, n - off < feed ? n - off : feed) != 0)
            abort();
    if (lambda_report_lines_finish(&r) != 0)
        abort();
    lambda_report_lines_free(&r);

    lambda_report_parser p = {0};
    lambda_report_range_out out = {0};
    rows_by_ranges(obj, n, h, &p, &out);
    if (out.nrows != ref.out.nrows || out.rows.len != ref.out.rows.len ||
        (out.rows.len && memcmp(out.rows.data, ref.out.rows.data, out.rows.len) != 0) ||
        memcmp(out.skipped, ref.out.skipped, sizeof out.skipped) != 0)
        abort();
    lambda_report_buf_free(&out.rows);
    lambda_report_parser_free(&p);
    lambda_report_buf_free(&ref.out.rows);
    lambda_report_parser_free(&ref.parser);
    return 0;
}

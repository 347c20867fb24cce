/*
 * One range of a source object, parsed from memory: the lines that start in
 * [start, end) of the object become rows, exactly as the streaming line
 * reader (lines.c) and GenerateSubReport's per-line rules would make them
 * from the whole object. Ranges let several threads share one object, and a
 * line is never copied: it is parsed where it was read.
 */
#include <stdint.h>
#include <string.h>

#include "report.h"

#if defined(__SSE2__) && !defined(LAMBDA_REPORT_PORTABLE)
#include <emmintrin.h>
#endif

/* The first '\n' in [p, end), or NULL: 16 bytes a step with SSE2 (part of
 * x86_64), else eight (the zero-byte test on the XOR with "\n\n\n\n\n\n\n\n";
 * LAMBDA_REPORT_PORTABLE builds that alone, for tests), as musl's memchr is
 * slower than glibc's on this, the hottest scan of every input byte (8 % of
 * GenerateSubReport's instructions with the 8-byte steps). */
static const char *find_newline(const char *p, const char *end)
{
#if defined(__SSE2__) && !defined(LAMBDA_REPORT_PORTABLE)
    const __m128i nl = _mm_set1_epi8('\n');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
#endif
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= ones * '\n';
        if (((w - ones) & ~w & highs) != 0)
            break;
        p += 8;
    }
    while (p < end && *p != '\n')
        p++;
    return p < end ? p : NULL;
}

/* One line: the rules GenerateSubReport applies to each line the reader
 * hands it (blank lines carry no event; the rest is a row or a reason). */
static int line_to_row(lambda_report_parser *p, const char *line, size_t n, const char *customer,
                       lambda_report_range_out *out)
{
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == n)
        return 0;
    lambda_report_skip why;
    int r = lambda_report_event_to_row_fast(p, line, n, customer, &out->rows, &why);
    if (r < 0)
        return -1;
    if (r == 0)
        out->skipped[why]++;
    else
        out->nrows++;
    return 0;
}

int lambda_report_range_rows(lambda_report_parser *p, char *buf, size_t len, uint64_t start,
                             uint64_t end, size_t max_line, const char *customer,
                             lambda_report_range_out *out)
{
    const uint64_t from = start ? start - 1 : 0;
    size_t pos = 0;
    if (start) {
        /* The line in progress at start - 1 belongs to the range before. */
        const char *nl = find_newline(buf, buf + len);
        if (!nl)
            return 0;
        pos = (size_t)(nl - buf) + 1;
    }
    while (pos < len && from + pos < end) {
        char *line = buf + pos;
        const char *nl = find_newline(line, buf + len);
        size_t raw = nl ? (size_t)(nl - line) : len - pos, n = raw;
        pos += raw + 1;
        /* lines.c's limits, on the raw line: room for a trailing CR. */
        if (raw > max_line + 1) {
            out->skipped[LAMBDA_SKIP_TOO_LONG]++;
            continue;
        }
        if (line == buf && from == 0 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            line += 3;
            n -= 3;
        }
        if (n > 0 && line[n - 1] == '\r')
            n--;
        line[n] = '\0'; /* as the line reader hands lines over */
        if (line_to_row(p, line, n, customer, out) != 0)
            return -1;
    }
    return 0;
}

int lambda_report_range_complete(const char *buf, size_t len, uint64_t start, uint64_t end,
                                 size_t max_line)
{
    const uint64_t from = start ? start - 1 : 0;
    if (end == 0 || from + len < end)
        return end == 0;
    /* The last line that starts before `end` ends at the first '\n' at or
     * after end - 1; past max_line + 1 more bytes it is too long anyway. */
    size_t at = (size_t)(end - 1 - from);
    if (memchr(buf + at, '\n', len - at))
        return 1;
    return len - at > max_line + 1;
}

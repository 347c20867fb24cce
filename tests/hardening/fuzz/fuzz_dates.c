/*
 * Dates, timestamps, ids and byte-balanced splitting.
 *
 * Input: a NUL-free prefix up to the first '\n' is the text tried as a date,
 * an RFC 3339 timestamp, a customerId and a reportId; the bytes after it
 * drive lambda_report_split() (range, target and ascending data days).
 * Asserted: parse/format round trips; accepted ids hold no character that
 * could leave a key prefix; parts tile [from, to] in order and account for
 * every byte of every day inside the range; both timestamp checks agree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static void check_text(const char *s)
{
    int64_t day;
    if (lambda_report_parse_date(s, &day) == 0) {
        char back[11];
        lambda_report_format_date(day, back);
        if (strcmp(back, s) != 0)
            abort(); /* an accepted date formats back to itself */
        int y;
        unsigned m, d;
        lambda_report_civil_from_days(day, &y, &m, &d);
        if (lambda_report_days_from_civil(y, m, d) != day || y < 1 || y > 9999)
            abort();
    }
    if (lambda_report_valid_timestamp_n(s, strlen(s)) != lambda_report_valid_timestamp(s))
        abort(); /* the word-wise check of the common form decides as the full one */
    int customer = lambda_report_valid_customer(s);
    int report = lambda_report_valid_report_id(s);
    if (customer || report) {
        /* One key segment: never "." or "..", never a separator or an
         * escape ("a..b" inside a segment is harmless). */
        if (s[0] == '.' || strpbrk(s, "/\\%:?#*& \t\r\n"))
            abort();
        if (customer && (strlen(s) > 64 || strchr(s, '.')))
            abort();
    }
}

static uint32_t take(const uint8_t **p, const uint8_t *end, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        v = v << 8 | (*p < end ? **p : 0);
        if (*p < end)
            (*p)++;
    }
    return v;
}

static void check_split(const uint8_t *p, const uint8_t *end)
{
    /* Around 2024 with a span up to ~11 years, like the handler allows. */
    int64_t from = 19000 + (int64_t)take(&p, end, 2) % 2000;
    int64_t to = from + (int64_t)take(&p, end, 2) % 4000;
    uint64_t target = (uint64_t)take(&p, end, 4);
    lambda_report_day days[256];
    size_t n_days = 0;
    int64_t day = from - 3;
    while (p < end && n_days < 256) {
        day += 1 + take(&p, end, 1) % 40;
        days[n_days].day = day;
        days[n_days].bytes = take(&p, end, 4);
        n_days++;
    }
    lambda_report_part parts[256];
    size_t n = lambda_report_split(from, to, days, n_days, target, parts);
    uint64_t in_range = 0;
    for (size_t i = 0; i < n_days; i++)
        if (days[i].day >= from && days[i].day <= to)
            in_range += days[i].bytes;
    if (n > n_days)
        abort();
    if (n == 0) {
        if (in_range != 0)
            abort(); /* data in range but no part: rows would be lost */
        return;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].from > parts[i].to)
            abort();
        if (i > 0 && parts[i].from != parts[i - 1].to + 1)
            abort(); /* a gap or an overlap between parts */
        total += parts[i].bytes;
    }
    if (parts[0].from != from || parts[n - 1].to != to || total != in_range)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n = nl ? (size_t)(nl - data) : size;
    char *s = malloc(n + 1);
    if (!s)
        return 0;
    memcpy(s, data, n);
    s[n] = '\0';
    check_text(s); /* stops at an embedded NUL, as a C caller would */
    free(s);
    if (nl)
        check_split(nl + 1, data + size);
    return 0;
}

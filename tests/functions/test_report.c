/*
 * Unit tests of the report's building blocks: dates, splitting, NDJSON
 * lines, event validation and CSV rows.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <yyjson.h>

#include "report.h"
#include "report_ref.h"
#include "store_internal.h" /* lambda_store_sha256 */

/* SHA-256 of the rows and skip reasons of test_fast_rows_same_as_cjson's
 * corpus, recorded with the cJSON path (the code before yyjson). */
#define FAST_ROWS_SHA256 "539b488e189abd1dd18b17d9fd39dc25286830a79545602b9dbf2cbd32eb265c"

static int64_t day_of(const char *s)
{
    int64_t d = 0;
    assert_int_equal(lambda_report_parse_date(s, &d), 0);
    return d;
}

static void test_dates_parse(void **state)
{
    (void)state;
    int64_t d;
    assert_int_equal(day_of("1970-01-01"), 0);
    assert_int_equal(day_of("1970-01-02"), 1);
    assert_int_equal(day_of("1969-12-31"), -1);
    /* leap days: 2024 and 2000 are leap years, 2023 and 1900 are not */
    assert_int_equal(lambda_report_parse_date("2024-02-29", &d), 0);
    assert_int_equal(lambda_report_parse_date("2000-02-29", &d), 0);
    assert_int_equal(lambda_report_parse_date("2023-02-29", &d), -1);
    assert_int_equal(lambda_report_parse_date("1900-02-29", &d), -1);
    /* month ends and days that do not exist */
    assert_int_equal(lambda_report_parse_date("2024-04-30", &d), 0);
    assert_int_equal(lambda_report_parse_date("2024-04-31", &d), -1);
    assert_int_equal(lambda_report_parse_date("2024-12-31", &d), 0);
    assert_int_equal(lambda_report_parse_date("2024-13-01", &d), -1);
    assert_int_equal(lambda_report_parse_date("2024-00-10", &d), -1);
    assert_int_equal(lambda_report_parse_date("2024-01-00", &d), -1);
    /* shape */
    assert_int_equal(lambda_report_parse_date("2024-1-01", &d), -1);
    assert_int_equal(lambda_report_parse_date("2024-01-01T00", &d), -1);
    assert_int_equal(lambda_report_parse_date("20240101", &d), -1);
    assert_int_equal(lambda_report_parse_date("", &d), -1);
    assert_int_equal(lambda_report_parse_date(NULL, &d), -1);
    assert_int_equal(lambda_report_parse_date("０２４-01-01", &d), -1);
    assert_int_equal(lambda_report_parse_date("0000-01-01", &d), -1);
}

static void test_dates_arithmetic(void **state)
{
    (void)state;
    assert_int_equal(day_of("2024-03-01") - day_of("2024-02-28"), 2); /* leap */
    assert_int_equal(day_of("2023-03-01") - day_of("2023-02-28"), 1);
    assert_int_equal(day_of("2025-01-01") - day_of("2024-01-01"), 366);
    assert_int_equal(day_of("2024-01-01") - day_of("2023-01-01"), 365);
    char buf[11];
    /* round trip over 30 years, every day */
    for (int64_t d = day_of("1999-12-01"); d < day_of("2030-01-31"); d++) {
        lambda_report_format_date(d, buf);
        assert_int_equal(day_of(buf), d);
    }
    lambda_report_format_date(day_of("2024-02-29") + 1, buf);
    assert_string_equal(buf, "2024-03-01");
    lambda_report_format_date(day_of("2024-12-31") + 1, buf);
    assert_string_equal(buf, "2025-01-01");
}

static void test_timestamps_and_ids(void **state)
{
    (void)state;
    assert_true(lambda_report_valid_timestamp("2024-02-29T23:59:59Z"));
    assert_true(lambda_report_valid_timestamp("2024-02-29T23:59:59.123456Z"));
    assert_true(lambda_report_valid_timestamp("2024-02-29T23:59:59+02:00"));
    assert_false(lambda_report_valid_timestamp("2023-02-29T00:00:00Z"));
    assert_false(lambda_report_valid_timestamp("2024-01-01 00:00:00Z"));
    assert_false(lambda_report_valid_timestamp("2024-01-01T24:00:00Z"));
    assert_false(lambda_report_valid_timestamp("2024-01-01T00:00:00"));
    assert_false(lambda_report_valid_timestamp("2024-01-01T00:00:00.Z"));
    assert_true(lambda_report_valid_customer("acme_01-x"));
    assert_false(lambda_report_valid_customer(""));
    assert_false(lambda_report_valid_customer("a/b"));
    assert_false(lambda_report_valid_customer(".."));
    assert_false(lambda_report_valid_customer("a b"));
    char long_id[70];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    assert_false(lambda_report_valid_customer(long_id));
    long_id[64] = '\0';
    assert_true(lambda_report_valid_customer(long_id));
    assert_true(lambda_report_valid_report_id("exec-2024.01_a"));
    assert_false(lambda_report_valid_report_id(".."));
    assert_false(lambda_report_valid_report_id(".hidden"));
    assert_false(lambda_report_valid_report_id("a/b"));
}

/* lambda_report_valid_timestamp_n (word-wise for the common form) says what
 * the character-by-character check says: every byte value at every position
 * of canonical timestamps, and calendar edges (leap days, month ends, year 0,
 * hour 24, second 60). */
static void same_timestamp(const char *s)
{
    int ref = lambda_report_valid_timestamp(s);
    if (lambda_report_valid_timestamp_n(s, strlen(s)) != ref)
        fail_msg("timestamp checks differ on \"%s\": reference %d", s, ref);
}

static void test_timestamp_forms(void **state)
{
    (void)state;
    static const char *const bases[] = {"2024-02-29T23:59:59Z", "0001-01-01T00:00:00Z",
                                        "9999-12-31T23:59:60Z", "2024-02-29T23:59:59.5Z",
                                        "2024-02-29T23:59:59+02:00"};
    char s[32];
    for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
        size_t n = strlen(bases[b]);
        same_timestamp(bases[b]);
        for (size_t at = 0; at < n; at++)
            for (int c = 1; c < 256; c++) {
                memcpy(s, bases[b], n + 1);
                s[at] = (char)c;
                same_timestamp(s);
            }
    }
    static const int years[] = {0, 1, 4, 100, 400, 1900, 2000, 2023, 2024, 2100, 9999};
    int accepted = 0;
    for (size_t y = 0; y < sizeof years / sizeof years[0]; y++)
        for (int m = 0; m <= 13; m++)
            for (int d = 0; d <= 32; d++)
                for (int t = 0; t < 4; t++) {
                    static const char *const times[] = {"00:00:00", "23:59:60", "24:00:00",
                                                        "12:60:61"};
                    snprintf(s, sizeof s, "%04d-%02d-%02dT%sZ", years[y], m, d, times[t]);
                    same_timestamp(s);
                    accepted += lambda_report_valid_timestamp_n(s, 20);
                }
    /* 10 years (4 of them leap years) of days, two good times each. */
    assert_int_equal(accepted, 2 * (10 * 365 + 4));
}

/* ---- splitting ---- */

static void test_split_empty(void **state)
{
    (void)state;
    lambda_report_part parts[4];
    assert_int_equal(lambda_report_split(10, 20, NULL, 0, 100, parts), 0);
    lambda_report_day zero[] = {{12, 0}, {13, 0}};
    assert_int_equal(lambda_report_split(10, 20, zero, 2, 100, parts), 0);
    /* days outside the range do not count */
    lambda_report_day outside[] = {{5, 1000}, {25, 1000}};
    assert_int_equal(lambda_report_split(10, 20, outside, 2, 100, parts), 0);
}

static void test_split_tiles_and_balances(void **state)
{
    (void)state;
    /* A busy month (30 days x 100) then a quiet year (335 days x 9): with
     * a target of 1000 each part should carry about 1000 bytes. */
    lambda_report_day days[400];
    size_t n = 0;
    int64_t from = 1000, to = 1000 + 364;
    uint64_t total = 0;
    for (int64_t d = from; d <= to; d++) {
        uint64_t b = d < from + 30 ? 100 : 9;
        if (d % 7 == 3)
            continue; /* some empty days */
        days[n].day = d;
        days[n].bytes = b;
        total += b;
        n++;
    }
    lambda_report_part parts[400];
    size_t np = lambda_report_split(from, to, days, n, 1000, parts);
    assert_true(np >= 4 && np <= 8);
    /* tiles [from, to] with no gap or overlap, bytes add up */
    uint64_t sum = 0;
    assert_int_equal(parts[0].from, from);
    assert_int_equal(parts[np - 1].to, to);
    for (size_t i = 0; i < np; i++) {
        assert_true(parts[i].from <= parts[i].to);
        if (i > 0)
            assert_int_equal(parts[i].from, parts[i - 1].to + 1);
        sum += parts[i].bytes;
        /* balanced: every part but the last within 50% of the target */
        if (i + 1 < np)
            assert_true(parts[i].bytes >= 500 && parts[i].bytes <= 1500);
    }
    assert_int_equal(sum, total);
    /* the busy month needs about as many days per part as 1000/100; the
     * quiet year about 1000/9 */
    assert_true(parts[0].to - parts[0].from + 1 <= 12);
    assert_true(parts[np - 2].to - parts[np - 2].from + 1 >= 90);
}

static void test_split_big_day_and_single(void **state)
{
    (void)state;
    lambda_report_day days[] = {{1, 10}, {2, 5000}, {3, 10}};
    lambda_report_part parts[3];
    size_t np = lambda_report_split(0, 9, days, 3, 1000, parts);
    /* the 5000-byte day stands alone; the small ones join neighbours */
    assert_int_equal(np, 3);
    assert_int_equal(parts[0].from, 0);
    assert_int_equal(parts[0].to, 1);
    assert_int_equal(parts[1].from, 2);
    assert_int_equal(parts[1].to, 2);
    assert_int_equal(parts[1].bytes, 5000);
    assert_int_equal(parts[2].from, 3);
    assert_int_equal(parts[2].to, 9);
    /* a huge target: one part for the whole range */
    np = lambda_report_split(0, 9, days, 3, 1u << 30, parts);
    assert_int_equal(np, 1);
    assert_int_equal(parts[0].from, 0);
    assert_int_equal(parts[0].to, 9);
    assert_int_equal(parts[0].bytes, 5020);
}

/* ---- CSV ---- */

static char *field(const char *s, int text)
{
    static lambda_report_buf b;
    b.len = 0;
    assert_int_equal(lambda_report_csv_field(&b, s, strlen(s), text), 0);
    lambda_report_buf_add(&b, "", 0);
    return b.data;
}

/* lambda_report_copy (the rows' inline copy, every size class): each length
 * 0..200 at every alignment of source and destination, bytes the same as
 * memcpy's and none written outside [d, d + n). */
static void test_copy_every_size(void **state)
{
    (void)state;
    char src[256 + 8], dst[256 + 32], want[sizeof dst];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (char)(i * 7 + 1);
    for (size_t n = 0; n <= 200; n++)
        for (size_t so = 0; so < 8; so++)
            for (size_t d0 = 0; d0 < 8; d0++) {
                memset(dst, '#', sizeof dst);
                memset(want, '#', sizeof want);
                memcpy(want + 8 + d0, src + so, n);
                lambda_report_copy(dst + 8 + d0, src + so, n);
                if (memcmp(dst, want, sizeof dst) != 0)
                    fail_msg("copy of %zu bytes (source +%zu, destination +%zu) differs", n, so,
                             d0);
            }
}

static void test_csv_quoting(void **state)
{
    (void)state;
    assert_string_equal(field("plain", 1), "plain");
    assert_string_equal(field("", 1), "");
    assert_string_equal(field("a,b", 1), "\"a,b\"");
    assert_string_equal(field("say \"hi\"", 1), "\"say \"\"hi\"\"\"");
    assert_string_equal(field("\"", 1), "\"\"\"\"");
    assert_string_equal(field("line1\nline2", 1), "\"line1\nline2\"");
    assert_string_equal(field("cr\rhere", 1), "\"cr\rhere\"");
    assert_string_equal(field("Économie ünïcödé", 1), "Économie ünïcödé");
    assert_string_equal(field("  spaces kept  ", 1), "  spaces kept  ");
}

static void test_csv_formula_protection(void **state)
{
    (void)state;
    assert_string_equal(field("=SUM(A1:A2)", 1), "'=SUM(A1:A2)");
    assert_string_equal(field("+33 1 23", 1), "'+33 1 23");
    assert_string_equal(field("-dash", 1), "'-dash");
    assert_string_equal(field("@mention", 1), "'@mention");
    assert_string_equal(field("\tTAB", 1), "'\tTAB");
    assert_string_equal(field("\rCR", 1), "\"'\rCR\"");
    /* with quoting: the guard goes inside the quotes */
    assert_string_equal(field("=HYPERLINK(\"http://x\",\"y\")", 1),
                        "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    /* numbers from JSON numbers are not text: -3 stays a number */
    assert_string_equal(field("-3.5", 0), "-3.5");
    /* not at the start: untouched */
    assert_string_equal(field("a=b", 1), "a=b");
}

static char *row_of(const char *line, const char *customer, lambda_report_skip *why)
{
    static lambda_report_buf b;
    b.len = 0;
    int r = lambda_report_event_to_row(line, strlen(line), customer, &b, why);
    assert_true(r >= 0);
    if (r == 0) {
        assert_int_equal(b.len, 0);
        return NULL;
    }
    lambda_report_buf_add(&b, "", 0);
    return b.data;
}

static void test_event_rows(void **state)
{
    (void)state;
    lambda_report_skip why;
    const char *ok = "{\"eventId\":\"e1\",\"customerId\":\"c\",\"prospectId\":\"p\",\"type\":\"t\","
                     "\"occurredAt\":\"2024-01-01T00:00:00Z\",\"country\":\"FR\",\"score\":3}";
    assert_string_equal(row_of(ok, "c", &why),
                        "e1,2024-01-01T00:00:00Z,p,t,FR,,,\"{\"\"score\"\":3}\"\r\n");
    assert_int_equal(why, LAMBDA_SKIP_NONE);
    /* numeric prospect id, nested extra, formula in a value */
    const char *num = "{\"eventId\":\"=e2\",\"customerId\":\"c\",\"prospectId\":-42,\"type\":\"t\","
                      "\"occurredAt\":\"2024-01-01T00:00:00Z\",\"channel\":\"@x\"}";
    assert_string_equal(row_of(num, "c", &why), "'=e2,2024-01-01T00:00:00Z,-42,t,,,'@x,\r\n");
    /* trailing whitespace is fine, trailing junk is not */
    char padded[600];
    snprintf(padded, sizeof padded, "%s  \t", ok);
    assert_non_null(row_of(padded, "c", &why));
    snprintf(padded, sizeof padded, "%s x", ok);
    assert_null(row_of(padded, "c", &why));
    assert_int_equal(why, LAMBDA_SKIP_BAD_JSON);
    /* skips, each with its reason */
    assert_null(row_of("not json", "c", &why));
    assert_int_equal(why, LAMBDA_SKIP_BAD_JSON);
    assert_null(row_of("[1,2]", "c", &why));
    assert_int_equal(why, LAMBDA_SKIP_BAD_JSON);
    assert_null(row_of("{\"eventId\":\"e1\",\"customerId\":\"c\"", "c", &why)); /* truncated */
    assert_int_equal(why, LAMBDA_SKIP_BAD_JSON);
    assert_null(row_of("{\"customerId\":\"c\",\"prospectId\":\"p\",\"type\":\"t\","
                       "\"occurredAt\":\"2024-01-01T00:00:00Z\"}",
                       "c", &why));
    assert_int_equal(why, LAMBDA_SKIP_MISSING_FIELD);
    assert_null(
        row_of("{\"eventId\":\"e\",\"customerId\":\"c\",\"prospectId\":\"p\",\"type\":\"t\","
               "\"occurredAt\":\"yesterday\"}",
               "c", &why));
    assert_int_equal(why, LAMBDA_SKIP_MISSING_FIELD);
    assert_null(row_of(ok, "other", &why));
    assert_int_equal(why, LAMBDA_SKIP_WRONG_CUSTOMER);
    assert_null(row_of("{\"eventId\":\"\xC3\x28\",\"customerId\":\"c\"}", "c", &why));
    assert_int_equal(why, LAMBDA_SKIP_BAD_UTF8);
    /* an escaped NUL would cut the cell: skipped with its own reason */
    assert_null(row_of("{\"eventId\":\"e\\u0000x\",\"customerId\":\"c\",\"prospectId\":\"p\","
                       "\"type\":\"t\",\"occurredAt\":\"2024-01-01T00:00:00Z\"}",
                       "c", &why));
    assert_int_equal(why, LAMBDA_SKIP_NUL);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(lambda_report_valid_utf8("abc", 3));
    assert_true(lambda_report_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9));
    assert_false(lambda_report_valid_utf8("\xC3", 1));             /* cut */
    assert_false(lambda_report_valid_utf8("\xC0\xAF", 2));         /* overlong */
    assert_false(lambda_report_valid_utf8("\xED\xA0\x80", 3));     /* surrogate */
    assert_false(lambda_report_valid_utf8("\xF4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(lambda_report_valid_utf8("\xFF", 1));
}

/* ---- NDJSON lines ---- */

typedef struct seen {
    char lines[16][64];
    int too_long[16];
    int n;
} seen;

static int on_line(const char *line, size_t len, int too_long, void *ud)
{
    seen *s = ud;
    assert_true(s->n < 16);
    snprintf(s->lines[s->n], sizeof s->lines[0], "%.*s", (int)(len < 60 ? len : 60), line);
    s->too_long[s->n] = too_long;
    s->n++;
    return 0;
}

/* Feeds `data` one byte at a time and all at once: same lines either way. */
static void lines_of(const char *data, size_t len, size_t max_line, seen *out)
{
    seen bytewise = {0};
    lambda_report_lines r;
    assert_int_equal(lambda_report_lines_init(&r, max_line, on_line, &bytewise), 0);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(lambda_report_lines_feed(&r, data + i, 1), 0);
    assert_int_equal(lambda_report_lines_finish(&r), 0);
    lambda_report_lines_free(&r);
    memset(out, 0, sizeof *out);
    assert_int_equal(lambda_report_lines_init(&r, max_line, on_line, out), 0);
    assert_int_equal(lambda_report_lines_feed(&r, data, len), 0);
    assert_int_equal(lambda_report_lines_finish(&r), 0);
    lambda_report_lines_free(&r);
    assert_int_equal(bytewise.n, out->n);
    for (int i = 0; i < out->n; i++) {
        assert_string_equal(bytewise.lines[i], out->lines[i]);
        assert_int_equal(bytewise.too_long[i], out->too_long[i]);
    }
}

static void test_lines_crlf_bom_last_line(void **state)
{
    (void)state;
    seen s;
    const char data[] =
        "\xEF\xBB\xBF{\"a\":1}\r\n{\"b\":2}\n\n{\"c\":3"; /* BOM, CRLF, blank, no final newline */
    lines_of(data, sizeof data - 1, 1024, &s);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.lines[0], "{\"a\":1}");
    assert_string_equal(s.lines[1], "{\"b\":2}");
    assert_string_equal(s.lines[2], "");
    assert_string_equal(s.lines[3], "{\"c\":3");
    /* a BOM in the middle of an object is data, not stripped */
    const char mid[] = "x\n\xEF\xBB\xBFy\n";
    lines_of(mid, sizeof mid - 1, 1024, &s);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.lines[1], "\xEF\xBB\xBFy");
}

static void test_lines_too_long(void **state)
{
    (void)state;
    char data[300];
    memset(data, 'x', sizeof data);
    memcpy(data, "ok\n", 3);
    data[250] = '\n';
    memcpy(data + 251, "next\n", 5);
    size_t len = 256;
    seen s;
    lines_of(data, len, 100, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.lines[0], "ok");
    assert_int_equal(s.too_long[1], 1);
    assert_string_equal(s.lines[1], "");
    assert_string_equal(s.lines[2], "next");
    assert_int_equal(s.too_long[2], 0);
    /* exactly max_line bytes plus CRLF still fits */
    char exact[110];
    memset(exact, 'y', 100);
    memcpy(exact + 100, "\r\n", 2);
    lines_of(exact, 102, 100, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.too_long[0], 0);
}

static void test_lines_reset_between_objects(void **state)
{
    (void)state;
    seen s = {0};
    lambda_report_lines r;
    assert_int_equal(lambda_report_lines_init(&r, 64, on_line, &s), 0);
    assert_int_equal(lambda_report_lines_feed(&r,
                                              "\xEF\xBB\xBF"
                                              "a\nb",
                                              6),
                     0);
    assert_int_equal(lambda_report_lines_finish(&r), 0);
    lambda_report_lines_reset(&r);
    assert_int_equal(lambda_report_lines_feed(&r,
                                              "\xEF\xBB\xBF"
                                              "c\n",
                                              5),
                     0);
    assert_int_equal(lambda_report_lines_finish(&r), 0);
    lambda_report_lines_free(&r);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.lines[0], "a");
    assert_string_equal(s.lines[1], "b");
    assert_string_equal(s.lines[2], "c");
}

/* ---- yyjson rows == cJSON rows ------------------------------------------- */

#define E                                                                                  \
    "\"eventId\":\"e1\",\"customerId\":\"acme\",\"prospectId\":\"p1\",\"type\":\"visit\"," \
    "\"occurredAt\":\"2024-02-28T10:00:00Z\""

/* Lines where parsers differ: numbers, escapes, whitespace, structure, and
 * the hostile data of tests/hardening/hostile_input.py. */
static const char *const tricky[] = {
    "{" E "}",
    "{" E ",\"country\":\"FR\",\"score\":3}",
    "{" E ",\"extra\":{}}",
    "{" E ",\"a\":[],\"b\":{},\"c\":[[]],\"d\":[{}]}",
    "{" E ",\"n\":0}",
    "{" E ",\"n\":-0}",
    "{" E ",\"n\":-0.0}",
    "{" E ",\"n\":1.5,\"m\":0.1,\"o\":1e5,\"p\":1E+5,\"q\":1e-7}",
    "{" E ",\"n\":123456789012345678,\"m\":12345678901234567890,\"o\":-9223372036854775809}",
    "{" E ",\"n\":1.7976931348623157e308,\"m\":5e-324,\"o\":2.2250738585072014e-308}",
    "{" E ",\"n\":1e400}",
    "{" E ",\"n\":-1e400}",
    "{" E ",\"n\":1e-400}",
    "{" E ",\"n\":0.30000000000000004,\"m\":100,\"o\":1e2,\"p\":2.5e-3,\"q\":3.14159265358979}",
    "{" E ",\"n\":123456789012345678901234567890123456789012345678901234567890123}",
    "{" E ",\"n\":1234567890123456789012345678901234567890123456789012345678901234}",
    "{" E ",\"n\":0.000000000000000000000000000000000000000000000000000000000000001}",
    "{" E ",\"n\":01}",
    "{" E ",\"n\":1.}",
    "{" E ",\"n\":-.5}",
    "{" E ",\"n\":.5}",
    "{" E ",\"n\":+1}",
    "{" E ",\"n\":1e}",
    "{" E ",\"n\":-}",
    "{" E ",\"n\":0x10}",
    "{" E ",\"country\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"}",
    "{" E ",\"x\":\"\\u0001\\u001f\\u007f\\u00e9\\ud83d\\ude00\"}",
    "{" E ",\"x\":\"\\ud800\"}",
    "{" E ",\"x\":\"\\udc00\\ud800\"}",
    "{" E ",\"x\":\"\\ud800\\u0041\"}",
    "{" E ",\"x\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\x7f\"}",
    "{" E ",\"x\":\"a\tb\"}",
    "{" E ",\"x\":\"a\x01"
    "b\"}",
    "{" E ",\"x\":\"\\a\"}",
    "{" E ",\"x\":\"\\u00zz\"}",
    "  {" E "}  ",
    "\t{" E "}\t\r",
    "\x0b{" E "}",
    "{" E "}\x0c",
    "{" E ",\x0c\"x\":1}",
    "{" E "} x",
    "{" E "}}",
    "{" E "},",
    "{" E "",
    "{" E ",}",
    "\xef\xbb\xbf{" E "}",
    "{" E ",\"eventId\":\"dup\",\"x\":1,\"x\":2,\"country\":\"c1\",\"country\":\"c2\"}",
    "{\"eventId\":\"\",\"customerId\":\"acme\",\"prospectId\":\"p\",\"type\":\"t\","
    "\"occurredAt\":\"2024-02-28T10:00:00Z\"}",
    "{\"eventId\":\"e\",\"customerId\":\"acme\",\"prospectId\":12.5,\"type\":\"t\","
    "\"occurredAt\":\"2024-02-28T10:00:00Z\"}",
    "{\"eventId\":\"e\",\"customerId\":\"acme\",\"prospectId\":true,\"type\":\"t\","
    "\"occurredAt\":\"2024-02-28T10:00:00Z\"}",
    "{\"eventId\":\"e\",\"customerId\":\"acme\",\"prospectId\":-42,\"type\":\"t\","
    "\"occurredAt\":\"2024-02-28T10:00:00Z\",\"country\":true,\"course\":null,"
    "\"channel\":[1,\"=x\",{\"k\":-1}]}",
    "{\"event\\u0049d\":\"e\",\"customerId\":\"acme\",\"prospectId\":\"p\",\"type\":\"t\","
    "\"occurredAt\":\"2024-02-28T10:00:00Z\"}",
    "{\"eventId\":\"=1+1\",\"customerId\":\"acme\",\"prospectId\":\"p\",\"type\":\"\\tvisit\","
    "\"occurredAt\":\"2024-02-28T10:00:00Z\",\"country\":\"\\rcmd\","
    "\"course\":\"a,b\\\"c\\\"\\r\\nd\",\"channel\":\"@SUM(A1)\"}",
    "{" E ",\"course\":\"nul\\u0000inside\"}",
    "{" E ",\"k\\u0000\":1}",
    "{\"eventId\":\"e1\",\"customerId\":\"cust0001\",\"prospectId\":\"p1\",\"type\":\"visit\","
    "\"occurredAt\":\"2024-02-28T10:00:00Z\"}",
    "{\"eventId\":\"e1\",\"customerId\":\"acme\",\"prospectId\":\"p1\",\"type\":\"visit\","
    "\"occurredAt\":\"2024-02-30T10:00:00Z\"}",
    "{\"eventId\":\"e7\",\"customerId\":\"acme\",\"prospectId\":\"p\",\"type\":\"t\xff\xfe\","
    "\"occurredAt\":\"2024-02-28T10:00:00Z\"}",
    "[" E "]",
    "\"s\"",
    "1",
    "null",
    "true",
    "{}",
    "",
    " ",
    "{\"a\"}",
    "{\"a\":}",
    "{1:2}",
};

/* Both paths on one line: same result, same reason, same bytes. */
static void same_row(lambda_report_parser *p, const char *line, size_t len, lambda_report_buf *ref,
                     lambda_report_buf *fast)
{
    lambda_report_skip why_ref, why_fast;
    size_t ref_mark = ref->len, fast_mark = fast->len;
    int a = lambda_report_event_to_row(line, len, "acme", ref, &why_ref);
    int b = lambda_report_event_to_row_fast(p, line, len, "acme", fast, &why_fast);
    if (a != b || why_ref != why_fast || ref->len - ref_mark != fast->len - fast_mark ||
        (ref->len > ref_mark &&
         memcmp(ref->data + ref_mark, fast->data + fast_mark, ref->len - ref_mark) != 0))
        fail_msg("paths differ on %.*s\ncJSON:  %d %d %.*s\nyyjson: %d %d %.*s", (int)len, line, a,
                 why_ref, (int)(ref->len - ref_mark), ref->data ? ref->data + ref_mark : "", b,
                 why_fast, (int)(fast->len - fast_mark), fast->data ? fast->data + fast_mark : "");
    /* The reason goes into the checksum too. */
    char r = (char)('0' + why_ref);
    lambda_report_buf_add(ref, &r, 1);
    lambda_report_buf_add(fast, &r, 1);
}

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A JSON-ish line from a valid event with a few random edits. */
static size_t mutant(uint64_t *seed, const char *base, char *out, size_t cap)
{
    static const char pieces[][8] = {"\"",   "\\",   "{",  "}",        "[",    "]",    ":",  ",",
                                     "-",    "0",    "1e", ".",        "e+",   "\\u",  "00", "d8",
                                     "\x01", "\x0b", " ",  "\xc3\xa9", "null", "true", "9",  "E-",
                                     "\\n",  "\x7f", "\t", "+",        "/"};
    size_t n = strlen(base);
    memcpy(out, base, n);
    int edits = 1 + (int)(next_random(seed) % 4);
    for (int e = 0; e < edits; e++) {
        size_t at = (size_t)(next_random(seed) % (n + 1));
        uint64_t op = next_random(seed) % 3;
        if (op == 0 && at < n) { /* delete */
            memmove(out + at, out + at + 1, n - at - 1);
            n--;
        } else {
            const char *p = pieces[next_random(seed) % (sizeof pieces / sizeof pieces[0])];
            size_t k = strlen(p);
            if (n + k >= cap)
                continue;
            if (op == 1 && at < n) /* replace */
                memmove(out + at + k, out + at + 1, n - at - 1), n--;
            else /* insert */
                memmove(out + at + k, out + at, n - at);
            memcpy(out + at, p, k);
            n += k;
        }
    }
    return n;
}

static void hex_of(const unsigned char d[32], char out[65])
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_fast_rows_same_as_cjson(void **state)
{
    (void)state;
    lambda_report_parser p = {0};
    lambda_report_buf ref = {0}, fast = {0};
    for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++)
        same_row(&p, tricky[i], strlen(tricky[i]), &ref, &fast);
    /* Deep nesting around cJSON's limit (1000), and many values. */
    static char deep[8200];
    for (int depth = 997; depth <= 1002; depth++) {
        int n = snprintf(deep, sizeof deep, "{" E ",\"x\":");
        memset(deep + n, '[', (size_t)depth - 1);
        memset(deep + n + depth - 1, ']', (size_t)depth - 1);
        memcpy(deep + n + 2 * (depth - 1), "}", 2);
        same_row(&p, deep, strlen(deep), &ref, &fast);
    }
    int n = snprintf(deep, sizeof deep, "{" E ",\"x\":[");
    for (int i = 0; i < 1200; i++)
        n += snprintf(deep + n, sizeof deep - (size_t)n, "%s%d", i ? "," : "", i % 10);
    snprintf(deep + n, sizeof deep - (size_t)n, "]}");
    same_row(&p, deep, strlen(deep), &ref, &fast);
    /* Random edits of valid events. */
    const char *bases[] = {
        "{" E ",\"country\":\"FR\",\"course\":\"c-1\",\"channel\":\"ads\",\"score\":-3.25e2}",
        "{" E ",\"x\":{\"a\":[1,2.5,\"s\\\\t\",null,true],\"b\":\"\\u00e9\"}}",
        "{\"eventId\":\"e\",\"customerId\":\"acme\",\"prospectId\":7,\"type\":\"t\","
        "\"occurredAt\":\"2024-02-28T10:00:00.5+01:00\",\"n\":[0.1,1e21,-0]}",
    };
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    char line[512];
    for (int i = 0; i < 30000; i++) {
        size_t len = mutant(&seed, bases[i % 3], line, sizeof line);
        same_row(&p, line, len, &ref, &fast);
    }
    /* Checksum of every row and reason, recorded from the cJSON path before
     * yyjson came: this corpus must keep its exact bytes. */
    unsigned char d[32];
    char hex[65];
    lambda_store_sha256(fast.data, fast.len, d);
    hex_of(d, hex);
    assert_string_equal(hex, FAST_ROWS_SHA256);
    lambda_store_sha256(ref.data, ref.len, d);
    hex_of(d, hex);
    assert_string_equal(hex, FAST_ROWS_SHA256);
    assert_true(p.fallbacks > 0); /* some lines did reach cJSON */
    lambda_report_parser_free(&p);
    lambda_report_buf_free(&ref);
    lambda_report_buf_free(&fast);
}

/* csv.c copies a string yyjson marks NOESC as cJSON would print it, without
 * looking for bytes to escape: that holds only while NOESC means no '"',
 * no '\' and no control character (UTF-8 is printed as it is). Every byte
 * value (and a few escapes) inside a string: a NOESC one holds none of
 * those, and plain text is NOESC (else the copy would never run). A yyjson
 * upgrade that changes either fails here. */
static void test_yyjson_noesc(void **state)
{
    (void)state;
    static const char *const inserts[] = {
        "\\n", "\\\"", "\\\\", "\\/", "\\u0041", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    char line[64];
    int noesc = 0;
    for (int c = 1; c < 256 + (int)(sizeof inserts / sizeof inserts[0]); c++) {
        int n = c < 256 ? snprintf(line, sizeof line, "{\"k\":\"ab%cyz\"}", c)
                        : snprintf(line, sizeof line, "{\"k\":\"ab%syz\"}", inserts[c - 256]);
        yyjson_doc *doc = yyjson_read(line, (size_t)n, YYJSON_READ_NUMBER_AS_RAW);
        yyjson_val *v = yyjson_obj_get(yyjson_doc_get_root(doc), "k");
        if (v && yyjson_get_subtype(v) == YYJSON_SUBTYPE_NOESC) {
            noesc++;
            const unsigned char *t = (const unsigned char *)yyjson_get_str(v);
            for (size_t i = 0; i < yyjson_get_len(v); i++)
                if (t[i] < 0x20 || t[i] == '"' || t[i] == '\\')
                    fail_msg("yyjson marks NOESC a string holding byte 0x%02x", t[i]);
        }
        yyjson_doc_free(doc);
    }
    /* at least the printable ASCII bytes but '"' and '\' */
    assert_true(noesc >= 0x7f - 0x20 - 2);
}

/* csv.c writes a row into room made once a line, ROW_ROOM(len) = 6 * len +
 * 64 bytes, without testing room per byte: lines built to print as long as
 * they can (short numbers printed long, empty and escaped strings, quotes
 * doubled in a quoted cell, escapes printed as \u00XX, nested values printed
 * in a cell) stay under it, and each row matches cJSON's. */
static void test_fast_rows_room(void **state)
{
    (void)state;
    static const char *const items[] = {"1e9",      "1e14",        "9e99", "5e-324",        "\"\"",
                                        "\"\\\"\"", "\"\\u0001\"", "[]",   "{\"\":\"\"}",   "-0.0",
                                        "1E2",      "true",        "null", "[\"\\\"\\\"\"]"};
    static char line[16384];
    lambda_report_parser p = {0};
    lambda_report_buf ref = {0}, fast = {0};
    double worst = 0;
    for (size_t it = 0; it < sizeof items / sizeof items[0]; it++)
        for (int where = 0; where < 3; where++) {
            /* the items in `extra`, in a value cell, and as the cell's value */
            int n = snprintf(line, sizeof line, "{" E ",\"%s\":[",
                             where == 0   ? "x"
                             : where == 1 ? "channel"
                                          : "course");
            for (int i = 0; i < 400; i++)
                n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", i ? "," : "", items[it]);
            n += snprintf(line + n, sizeof line - (size_t)n, "],\"country\":%s}", items[it]);
            size_t before = fast.len;
            same_row(&p, line, (size_t)n, &ref, &fast);
            size_t out = fast.len - before - 1; /* same_row adds the reason */
            assert_true(out <= 6 * (size_t)n + 64);
            if ((double)out / n > worst)
                worst = (double)out / n;
        }
    assert_true(worst > 2.0); /* the lines did print longer than they are */
    lambda_report_parser_free(&p);
    lambda_report_buf_free(&ref);
    lambda_report_buf_free(&fast);
}

/* The row writer's cells at every length around its word and vector steps
 * (8 and 16 bytes, overlapping last loads): a character that needs a quote,
 * an escape or a guard at every position, in a known column, in an `extra`
 * value and in an `extra` key; both paths must give the same bytes. */
static void test_fast_cells_every_length(void **state)
{
    (void)state;
    static const char *const specials[] = {",",    "\\\"", "\\n",     "\\r",  "\\t",      "\\u0001",
                                           "\\\\", "=",    "\\u001f", "\x7f", "\xc3\xa9", "-"};
    lambda_report_parser p = {0};
    lambda_report_buf ref = {0}, fast = {0};
    char value[128], line[512];
    for (size_t len = 0; len <= 40; len++)
        for (size_t sp = 0; sp < sizeof specials / sizeof specials[0]; sp++)
            for (size_t at = 0; at <= len; at++) {
                /* `len` letters, the special character inserted at `at` (none
                 * when at == len). */
                size_t n = 0;
                for (size_t i = 0; i <= len; i++) {
                    if (i == at && at < len)
                        n += (size_t)snprintf(value + n, sizeof value - n, "%s", specials[sp]);
                    else if (i < len)
                        value[n++] = (char)('a' + i % 26);
                }
                value[n] = '\0';
                for (int f = 0; f < 4; f++) {
                    int k =
                        f == 0   ? snprintf(line, sizeof line, "{" E ",\"country\":\"%s\"}", value)
                        : f == 1 ? snprintf(line, sizeof line, "{" E ",\"x\":\"%s\"}", value)
                        : f == 2
                            ? snprintf(line, sizeof line, "{" E ",\"%s\":1,\"course\":\"c\"}",
                                       value)
                            : snprintf(line, sizeof line, "{" E ",\"x\":[\"%s\",{\"%s\":\"%s\"}]}",
                                       value, value, value);
                    same_row(&p, line, (size_t)k, &ref, &fast);
                }
            }
    assert_int_equal(p.fallbacks, 0); /* all of them went through yyjson */
    lambda_report_parser_free(&p);
    lambda_report_buf_free(&ref);
    lambda_report_buf_free(&fast);
}

/* yyjson reads a copy of the line in place (YYJSON_READ_INSITU): the line
 * and the bytes after it (the next line, in a range's buffer) stay as they
 * were, whatever the line holds, and nothing past its terminating NUL is
 * read (the line ends its heap block here: ASan would see a read past it). */
static void test_fast_rows_leave_line_alone(void **state)
{
    (void)state;
    lambda_report_parser p = {0};
    lambda_report_buf ref = {0}, fast = {0};
    static const char next[] = "{\"eventId\":\"next\"}\n";
    uint64_t seed = 0x51ed270b27d1a1f1ull;
    char line[600];
    for (size_t i = 0; i < sizeof tricky / sizeof tricky[0] + 3000; i++) {
        size_t len;
        if (i < sizeof tricky / sizeof tricky[0]) {
            len = strlen(tricky[i]);
            memcpy(line, tricky[i], len);
        } else {
            len = mutant(&seed, "{" E ",\"x\":[\"a\\\"b\\u00e9\",1.5e3,{\"k\":\"\\n\"}],\"n\":7}",
                         line, sizeof line - 1);
        }
        line[len] = '\0';
        /* The line then the next one, as in a range's buffer. */
        char *buf = malloc(len + 1 + sizeof next);
        assert_non_null(buf);
        memcpy(buf, line, len + 1);
        memcpy(buf + len + 1, next, sizeof next);
        same_row(&p, buf, len, &ref, &fast);
        assert_memory_equal(buf, line, len + 1);
        assert_memory_equal(buf + len + 1, next, sizeof next);
        free(buf);
        /* The line at the very end of its block. */
        buf = malloc(len + 1);
        assert_non_null(buf);
        memcpy(buf, line, len + 1);
        same_row(&p, buf, len, &ref, &fast);
        assert_memory_equal(buf, line, len + 1);
        free(buf);
    }
    lambda_report_parser_free(&p);
    lambda_report_buf_free(&ref);
    lambda_report_buf_free(&fast);
}

/* What one pass over the parsed values decides (scan_values in csv.c): an
 * escaped NUL anywhere (a repeated known field, a nested key, after an
 * escaped backslash or not), a number cJSON cannot read anywhere, and an
 * event of more than 64 fields whose own fields come late. */
static void test_fast_rows_scan_and_wide_events(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{" E ",\"eventId\":\"a\\u0000b\"}",
        "{" E ",\"x\":[1,{\"y\":[\"\\u0000\"]}]}",
        "{" E ",\"x\":{\"k\\u0000\":true}}",
        "{" E ",\"x\":\"\\\\u0000\"}",
        "{" E ",\"x\":\"\\\\\\u0000\"}",
        "{" E ",\"x\":\"\\u00000\"}",
        "{" E ",\"x\":[[[1234567890123456789012345678901234567890123456789012345678901234]]]}",
        "{" E ",\"customerId\":1234567890123456789012345678901234567890123456789012345678901234}",
        "{" E ",\"x\":[123456789012345678901234567890123456789012345678901234567890123]}",
        /* not one object, whatever it holds: badJson, as cJSON says */
        "[1234567890123456789012345678901234567890123456789012345678901234]",
        "\"a\\u0000b\"",
        "[\"\\u0000\",{" E "}]",
        /* flat events: long numbers and NULs among the members */
        "{" E ",\"n\":1234567890123456789012345678901234567890123456789012345678901234,"
        "\"s\":\"\\u0000\"}",
        "{" E ",\"s\":\"\\n\\u0000\",\"eventId\":\"dup\"}",
        "{\"eventId\":\"\",\"x\":\"\\u0000\"}",
        "{\"eventId\":\"\",\"x\":1234567890123456789012345678901234567890123456789012345678901234}",
    };
    lambda_report_parser p = {0};
    lambda_report_buf ref = {0}, fast = {0};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        same_row(&p, lines[i], strlen(lines[i]), &ref, &fast);
    /* 60 to 70 other fields before and between the event's own, repeated
     * names among them. */
    static char wide[8192];
    for (int before = 60; before <= 70; before++) {
        int n = snprintf(wide, sizeof wide, "{");
        for (int i = 0; i < before; i++)
            n += snprintf(wide + n, sizeof wide - (size_t)n, "\"f%d\":%d,", i % 50, i);
        n += snprintf(wide + n, sizeof wide - (size_t)n,
                      "\"eventId\":\"e\",\"customerId\":\"acme\",\"country\":\"c\","
                      "\"f1\":\"x\",\"prospectId\":2,\"type\":\"t\",\"channel\":\"a,b\","
                      "\"occurredAt\":\"2024-02-28T10:00:00Z\",\"country\":\"dup\",\"z\":null}");
        same_row(&p, wide, (size_t)n, &ref, &fast);
    }
    /* More values than yyjson guesses from a line's length (one per 6 bytes):
     * it grows its one allocation with realloc, which the parser's block
     * allocator must give in place; every such line is still read by yyjson,
     * up to 998 values (cJSON's nesting limit sends more to cJSON). */
    uint64_t before = p.fallbacks;
    for (int values = 1; values <= 980; values += values < 40 ? 1 : 47) {
        int n = snprintf(wide, sizeof wide, "{" E ",\"x\":[");
        for (int i = 0; i < values; i++)
            n += snprintf(wide + n, sizeof wide - (size_t)n, "%s%d", i ? "," : "", i % 10);
        n += snprintf(wide + n, sizeof wide - (size_t)n, "]}");
        same_row(&p, wide, (size_t)n, &ref, &fast);
    }
    assert_int_equal(p.fallbacks, before);
    lambda_report_parser_free(&p);
    lambda_report_buf_free(&ref);
    lambda_report_buf_free(&fast);
}

/* ---- ranges of an object == the object through the line reader -------- */

typedef struct ref_rows {
    lambda_report_parser parser;
    lambda_report_range_out out;
} ref_rows;

/* GenerateSubReport's per-line rules before ranges (the line reader's
 * callback). */
static int ref_line(const char *line, size_t len, int too_long, void *ud)
{
    ref_rows *r = ud;
    return report_ref_line(&r->parser, "acme", line, len, too_long, &r->out.rows, &r->out.nrows,
                           r->out.skipped);
}

/* The object cut in ranges of `chunk` bytes, each read as the fetchers read
 * it (gen_pool.c): from start - 1 to end + a tail, then on in doubling steps
 * until lambda_report_range_complete() or the object's end. */
static void rows_by_ranges(const char *obj, size_t size, size_t chunk, size_t max_line,
                           lambda_report_parser *p, lambda_report_range_out *out)
{
    static char buf[1 << 16];
    size_t a = 0;
    do {
        size_t b = size - a > chunk ? a + chunk : size;
        size_t from = a ? a - 1 : 0, tail = b - a < 64 ? b - a : 64;
        size_t len = b - from + tail > size - from ? size - from : b - from + tail;
        while (from + len < size && !lambda_report_range_complete(obj + from, len, a, b, max_line))
            len = 2 * len > size - from ? size - from : 2 * len;
        assert_true(len < sizeof buf);
        memcpy(buf, obj + from, len);
        assert_int_equal(lambda_report_range_rows(p, buf, len, a, b, max_line, "acme", out), 0);
        a = b;
    } while (a < size);
}

static void test_ranges_same_as_lines(void **state)
{
    (void)state;
    /* A BOM, CRLF, blank and blank-looking lines, lines of exactly max_line
     * and max_line + 1 bytes (+CR), too-long lines, mutants, and a last line
     * without its newline. */
    enum { MAX_LINE = 200 };
    static char obj[40000];
    size_t n = (size_t)snprintf(obj, sizeof obj, "\xEF\xBB\xBF{" E "}\r\n\n \t\r\n\r\n");
    uint64_t seed = 0x2545f4914f6cdd1dull;
    const char *base = "{" E ",\"country\":\"FR\",\"score\":-3.25e2,\"n\":12}";
    while (n < sizeof obj - 2000) {
        uint64_t kind = next_random(&seed) % 8;
        if (kind == 0) { /* a line of MAX_LINE .. MAX_LINE + 3 bytes, some with CR */
            size_t len = MAX_LINE + (size_t)(next_random(&seed) % 4);
            memset(obj + n, 'x', len);
            if (next_random(&seed) % 2)
                obj[n + len - 1] = '\r';
            n += len;
        } else if (kind == 1) { /* far too long */
            size_t len = 3 * MAX_LINE + (size_t)(next_random(&seed) % 700);
            memset(obj + n, 'y', len);
            n += len;
        } else if (kind == 2) {
            memcpy(obj + n, "\r", 1), n += next_random(&seed) % 2;
        } else if (kind < 5) { /* a valid event */
            n += (size_t)snprintf(obj + n, 400, "%s", base);
        } else {
            n += mutant(&seed, base, obj + n, 400);
        }
        obj[n++] = '\n';
    }
    n += (size_t)snprintf(obj + n, sizeof obj - n, "{" E "}"); /* no final newline */

    ref_rows ref = {0};
    assert_int_equal(report_ref_lines(obj, n, MAX_LINE, ref_line, &ref), 0);
    assert_true(ref.out.nrows > 30 && ref.out.skipped[LAMBDA_SKIP_TOO_LONG] > 5 &&
                ref.out.skipped[LAMBDA_SKIP_BAD_JSON] > 5);

    const size_t chunks[] = {1, 2, 3, 7, 64, 199, 200, 201, 202, 257, 1000, 4096, n - 1, n, n + 9};
    lambda_report_parser p = {0};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        lambda_report_range_out out = {0};
        rows_by_ranges(obj, n, chunks[c], MAX_LINE, &p, &out);
        if (out.nrows != ref.out.nrows || out.rows.len != ref.out.rows.len ||
            memcmp(out.rows.data, ref.out.rows.data, out.rows.len) != 0 ||
            memcmp(out.skipped, ref.out.skipped, sizeof out.skipped) != 0)
            fail_msg("ranges of %zu bytes: %" PRIu64 " rows (%zu bytes), %" PRIu64
                     " too long; the line reader: %" PRIu64 " rows (%zu bytes), %" PRIu64,
                     chunks[c], out.nrows, out.rows.len, out.skipped[LAMBDA_SKIP_TOO_LONG],
                     ref.out.nrows, ref.out.rows.len, ref.out.skipped[LAMBDA_SKIP_TOO_LONG]);
        lambda_report_buf_free(&out.rows);
    }
    /* An empty object: one empty range, no rows. */
    lambda_report_range_out out = {0};
    char empty[1];
    assert_int_equal(lambda_report_range_complete(empty, 0, 0, 0, MAX_LINE), 1);
    assert_int_equal(lambda_report_range_rows(&p, empty, 0, 0, 0, MAX_LINE, "acme", &out), 0);
    assert_int_equal(out.nrows, 0);
    lambda_report_parser_free(&p);
    lambda_report_parser_free(&ref.parser);
    lambda_report_buf_free(&ref.out.rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates_parse),
        cmocka_unit_test(test_dates_arithmetic),
        cmocka_unit_test(test_timestamps_and_ids),
        cmocka_unit_test(test_timestamp_forms),
        cmocka_unit_test(test_split_empty),
        cmocka_unit_test(test_split_tiles_and_balances),
        cmocka_unit_test(test_split_big_day_and_single),
        cmocka_unit_test(test_copy_every_size),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_csv_formula_protection),
        cmocka_unit_test(test_event_rows),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_lines_crlf_bom_last_line),
        cmocka_unit_test(test_lines_too_long),
        cmocka_unit_test(test_lines_reset_between_objects),
        cmocka_unit_test(test_fast_rows_same_as_cjson),
        cmocka_unit_test(test_yyjson_noesc),
        cmocka_unit_test(test_fast_rows_room),
        cmocka_unit_test(test_fast_cells_every_length),
        cmocka_unit_test(test_fast_rows_leave_line_alone),
        cmocka_unit_test(test_fast_rows_scan_and_wide_events),
        cmocka_unit_test(test_ranges_same_as_lines),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc;
}

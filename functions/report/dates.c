/*
 * Calendar arithmetic on day numbers (days since 1970-01-01), after Howard
 * Hinnant's days_from_civil/civil_from_days: exact for the proleptic
 * Gregorian calendar, no time zones, no libc locale.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"

int64_t lambda_report_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void lambda_report_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400) + (*m <= 2);
}

static int days_in_month(int y, unsigned m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : days[m - 1];
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int lambda_report_parse_date(const char *s, int64_t *day)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
        return -1;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, (unsigned)m))
        return -1;
    *day = lambda_report_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

void lambda_report_format_date(int64_t day, char out[11])
{
    int y;
    unsigned m, d;
    lambda_report_civil_from_days(day, &y, &m, &d);
    int yy = y < 0 ? 0 : y % 10000;
    out[0] = (char)('0' + yy / 1000);
    out[1] = (char)('0' + yy / 100 % 10);
    out[2] = (char)('0' + yy / 10 % 10);
    out[3] = (char)('0' + yy % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10 % 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10 % 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

int lambda_report_valid_timestamp(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM). Each character is checked in
     * order and none of them may be a NUL, so the string ends no check reads
     * past it: no strlen and no copy of the date (this runs once per event;
     * the strlen, copy and parse_date cost 4 % of GenerateSubReport). */
    int y, m, d, hh, mi, ss;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &hh) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &ss))
        return 0;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, (unsigned)m) || hh > 23 ||
        mi > 59 || ss > 60)
        return 0;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 1;
    int oh, om;
    if ((*p == '+' || *p == '-') && strlen(p) == 6 && !digits(p + 1, 2, &oh) && p[3] == ':' &&
        !digits(p + 4, 2, &om) && oh <= 23 && om <= 59)
        return 1;
    return 0;
}

/* The 8 bytes at s as one word (memcpy of a constant size is one load). */
static inline uint64_t load8(const void *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

/* Nonzero when a byte of x is above 9 or a byte of x & sep is not 0: x is
 * a text's bytes XORed with what they should be ('0' where a digit goes),
 * so a digit leaves 0-9 and a right separator 0. Byte by byte, without
 * carries between bytes (the high bit is set aside before the add). */
static inline uint64_t off_form(uint64_t x, uint64_t digit, uint64_t sep)
{
    const uint64_t ones = 0x0101010101010101ull;
    uint64_t d = x & digit;
    return ((((d & ones * 0x7f) + ones * (0x7f - 9)) | d) & ones * 0x80) | (x & sep);
}

int lambda_report_valid_timestamp_n(const char *s, size_t n)
{
    /* The form every well-behaved producer writes, "YYYY-MM-DDTHH:MM:SSZ",
     * in three loads; anything else (a fraction, an offset, 't' or 'z', a
     * bad byte) takes the character-by-character check below. This runs
     * once per event, and that check alone was 4 % of GenerateSubReport's
     * instructions. */
    static const unsigned char want[24] = "0000-00-00T00:00:00Z";
    static const unsigned char digit[24] = {0xff, 0xff, 0xff, 0xff, 0,    0xff, 0xff,
                                            0,    0xff, 0xff, 0,    0xff, 0xff, 0,
                                            0xff, 0xff, 0,    0xff, 0xff, 0};
    static const unsigned char sep[24] = {0,    0, 0, 0,    0xff, 0, 0,    0xff, 0, 0,
                                          0xff, 0, 0, 0xff, 0,    0, 0xff, 0,    0, 0xff};
    if (n == 20) {
        uint32_t c, w, dm, sm;
        memcpy(&c, s + 16, 4), memcpy(&w, want + 16, 4);
        memcpy(&dm, digit + 16, 4), memcpy(&sm, sep + 16, 4);
        uint64_t bad = off_form(load8(s) ^ load8(want), load8(digit), load8(sep)) |
                       off_form(load8(s + 8) ^ load8(want + 8), load8(digit + 8), load8(sep + 8)) |
                       off_form(c ^ w, dm, sm);
        if (!bad) {
#define D(i) (s[i] - '0')
            int y = D(0) * 1000 + D(1) * 100 + D(2) * 10 + D(3), m = D(5) * 10 + D(6);
            int d = D(8) * 10 + D(9), hh = D(11) * 10 + D(12), mi = D(14) * 10 + D(15);
            int ss = D(17) * 10 + D(18);
#undef D
            return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, (unsigned)m) &&
                   hh <= 23 && mi <= 59 && ss <= 60;
        }
    }
    return lambda_report_valid_timestamp(s);
}

static int charset_ok(const char *s, size_t max, int allow_dot)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || (allow_dot && c == '.');
        if (!ok)
            return 0;
    }
    return 1;
}

int lambda_report_valid_customer(const char *s)
{
    return charset_ok(s, 64, 0);
}

int lambda_report_valid_report_id(const char *s)
{
    return charset_ok(s, 80, 1) && s[0] != '.';
}

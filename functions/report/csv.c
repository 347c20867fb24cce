/*
 * One NDJSON event -> one CSV row. JSON is parsed with cJSON; the CSV side
 * is RFC 4180 (CRLF rows, quotes doubled, quoted when needed) with the
 * OWASP CSV-injection guard on text cells.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yyjson.h>

#include <lambda/runtime.h>

#include "report.h"

const char lambda_report_csv_header[] =
    "event_id,occurred_at,prospect_id,type,country,course,channel,extra\r\n";

const char *const lambda_report_skip_names[LAMBDA_SKIP_COUNT] = {
    "none", "badJson", "badUtf8", "missingField", "wrongCustomer", "tooLong", "nulEscape",
};

/* The fields the row uses by name; every other field goes to `extra`. */
enum { F_EVENT, F_AT, F_PROSPECT, F_TYPE, F_COUNTRY, F_COURSE, F_CHANNEL, F_CUSTOMER, F_COUNT };
static const char *const known_fields[F_COUNT] = {
    "eventId", "occurredAt", "prospectId", "type", "country", "course", "channel", "customerId"};

int lambda_report_buf_grow(lambda_report_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown)
        return -1;
    b->data = grown;
    b->cap = cap;
    return 0;
}

void lambda_report_buf_free(lambda_report_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Whether any of 8 bytes is ',', '"', CR or LF (the zero-byte test of
 * each XOR, word-wide: a false positive only sends the caller to its byte
 * loop, which decides). */
static int has_special8(const char *s)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t w;
    memcpy(&w, s, 8);
    uint64_t hit = 0;
    const unsigned char specials[4] = {',', '"', '\r', '\n'};
    for (int i = 0; i < 4; i++) {
        uint64_t x = w ^ (ones * specials[i]);
        hit |= (x - ones) & ~x;
    }
    return (hit & highs) != 0;
}

int lambda_report_csv_field(lambda_report_buf *b, const char *s, size_t n, int text)
{
    int guard =
        text && n > 0 &&
        (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r');
    /* This scan runs over every output byte: eight at a time while none of
     * them is special, then one table look-up a byte. */
    static const unsigned char special[256] = {[','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1};
    size_t plain = 0;
    while (plain + 8 <= n && !has_special8(s + plain))
        plain += 8;
    while (plain < n && !special[(unsigned char)s[plain]])
        plain++;
    int quote = plain < n;
    if (quote && lambda_report_buf_add(b, "\"", 1))
        return -1;
    if (guard && lambda_report_buf_add(b, "'", 1))
        return -1;
    /* Only quoted cells hold a '"' to double, none before `plain`. */
    size_t start = 0;
    for (size_t i = plain; quote && i < n; i++) {
        if (s[i] != '"')
            continue;
        if (lambda_report_buf_add(b, s + start, i - start + 1) || lambda_report_buf_add(b, "\"", 1))
            return -1;
        start = i + 1;
    }
    if (lambda_report_buf_add(b, s + start, n - start))
        return -1;
    return quote ? lambda_report_buf_add(b, "\"", 1) : 0;
}

int lambda_report_valid_utf8(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* ASCII runs, eight bytes at a time: most of every line. */
        uint64_t word;
        while (i + 8 <= n && (memcpy(&word, s + i, 8), (word & 0x8080808080808080ull) == 0))
            i += 8;
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static const char *nonempty_string(const cJSON *v)
{
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* A cell from any JSON value: strings as text (guarded), numbers and
 * booleans as JSON writes them, null/absent empty, objects and arrays as
 * compact JSON. */
static int value_field(lambda_report_buf *row, const cJSON *v)
{
    if (!v || cJSON_IsNull(v))
        return 0;
    if (cJSON_IsString(v))
        return lambda_report_csv_field(row, v->valuestring, strlen(v->valuestring), 1);
    /* Most values fit a stack buffer: printing there spares a malloc and
     * a realloc per cell (musl's allocator makes those costly). */
    char small[1024];
    int text = !cJSON_IsNumber(v) && !cJSON_IsBool(v);
    if (cJSON_PrintPreallocated((cJSON *)v, small, (int)sizeof small, 0))
        return lambda_report_csv_field(row, small, strlen(small), text);
    char *json = cJSON_PrintUnformatted(v);
    if (!json)
        return -1;
    int rc = lambda_report_csv_field(row, json, strlen(json), text);
    free(json);
    return rc;
}

static int known_index(const char *name)
{
    for (int i = 0; i < F_COUNT; i++)
        if (name[0] == known_fields[i][0] && name[0] && name[1] == known_fields[i][1] &&
            strcmp(name, known_fields[i]) == 0)
            return i;
    return -1;
}

/* One pass over the event: the known fields (first occurrence wins, as
 * with cJSON_GetObjectItem) into `f`; returns how many other fields (the
 * `extra` column) it holds. */
static size_t sort_fields(const cJSON *event, const cJSON *f[F_COUNT])
{
    size_t others = 0;
    for (const cJSON *item = event->child; item; item = item->next) {
        int k = item->string ? known_index(item->string) : -1;
        if (k < 0)
            others++;
        else if (!f[k])
            f[k] = item;
    }
    return others;
}

/* Leaves only the `extra` fields in the event, in source order, so the
 * event itself prints as the extra column: no copy of the object, and no
 * copy of each key (cJSON_AddItemToObject duplicates keys), which matters
 * with musl's allocator. The known fields must not be used afterwards. */
static void drop_known_fields(cJSON *event, const cJSON *const f[F_COUNT])
{
    cJSON *item = event->child;
    while (item) {
        cJSON *next = item->next;
        int known = 0;
        for (int k = 0; k < F_COUNT && !known; k++)
            known = item == f[k];
        if (known || (item->string && known_index(item->string) >= 0))
            cJSON_Delete(cJSON_DetachItemViaPointer(event, item));
        item = next;
    }
}

/* A cheap pre-check for lambda_json_has_nul, which tests every byte: a
 * NUL escape is a backslash then "u0000", and memchr finds backslashes fast. */
static int may_hold_nul(const char *line, size_t len)
{
    const char *end = line + len;
    for (const char *p = line; (p = memchr(p, '\\', (size_t)(end - p))) != NULL; p++)
        if (end - p >= 6 && memcmp(p + 1, "u0000", 5) == 0)
            return 1;
    return 0;
}

int lambda_report_event_to_row(const char *line, size_t len, const char *customer,
                               lambda_report_buf *row, lambda_report_skip *reason)
{
    *reason = LAMBDA_SKIP_NONE;
    if (!lambda_report_valid_utf8(line, len)) {
        *reason = LAMBDA_SKIP_BAD_UTF8;
        return 0;
    }
    const char *end = NULL;
    cJSON *ev = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (ev && end) {
        /* Only whitespace may follow the value on its line. */
        for (const char *p = end; p < line + len; p++)
            if (*p != ' ' && *p != '\t' && *p != '\r') {
                cJSON_Delete(ev);
                ev = NULL;
                break;
            }
    }
    if (!cJSON_IsObject(ev)) {
        cJSON_Delete(ev);
        *reason = LAMBDA_SKIP_BAD_JSON;
        return 0;
    }
    /* cJSON keeps no string lengths: a value holding an escaped NUL would be
     * written cut short, a silently wrong cell. Skip and count it instead. */
    if (may_hold_nul(line, len) && lambda_json_has_nul(line, len)) {
        cJSON_Delete(ev);
        *reason = LAMBDA_SKIP_NUL;
        return 0;
    }
    const cJSON *f[F_COUNT] = {0};
    size_t extra = sort_fields(ev, f);
    const char *event_id = nonempty_string(f[F_EVENT]);
    const char *cust = nonempty_string(f[F_CUSTOMER]);
    const char *type = nonempty_string(f[F_TYPE]);
    const char *at = nonempty_string(f[F_AT]);
    const cJSON *prospect = f[F_PROSPECT];
    int prospect_ok = nonempty_string(prospect) || cJSON_IsNumber(prospect);
    lambda_report_skip why = LAMBDA_SKIP_NONE;
    if (!event_id || !type || !at || !prospect_ok || !cust || !lambda_report_valid_timestamp(at))
        why = LAMBDA_SKIP_MISSING_FIELD;
    else if (strcmp(cust, customer) != 0)
        why = LAMBDA_SKIP_WRONG_CUSTOMER;
    if (why != LAMBDA_SKIP_NONE) {
        cJSON_Delete(ev);
        *reason = why;
        return 0;
    }
    size_t mark = row->len;
    int rc = lambda_report_csv_field(row, event_id, strlen(event_id), 1);
    rc = rc || lambda_report_buf_add(row, ",", 1) ||
         lambda_report_csv_field(row, at, strlen(at), 1) || lambda_report_buf_add(row, ",", 1) ||
         value_field(row, prospect) || lambda_report_buf_add(row, ",", 1) ||
         lambda_report_csv_field(row, type, strlen(type), 1);
    for (int i = F_COUNTRY; i <= F_CHANNEL && !rc; i++)
        rc = lambda_report_buf_add(row, ",", 1) || value_field(row, f[i]);
    /* extra: the other fields as one compact JSON object, in source order */
    if (!rc && extra)
        drop_known_fields(ev, f);
    rc = rc || lambda_report_buf_add(row, ",", 1) || (extra && value_field(row, ev)) ||
         lambda_report_buf_add(row, "\r\n", 2);
    cJSON_Delete(ev);
    if (rc) {
        row->len = mark;
        return -1;
    }
    return 1;
}

/* ---- the same row through yyjson ------------------------------------------ */

/* cJSON refuses documents nested this deep (CJSON_NESTING_LIMIT); a line
 * with fewer values cannot be. */
#define CJSON_NESTING 1000
/* cJSON reads at most this many characters of a number (a 64-byte buffer):
 * a longer number makes its parse fail. */
#define CJSON_NUMBER_CHARS 63

/* Word-at-a-time byte tests (the zero-byte test of "Bit Twiddling Hacks"):
 * the lowest byte flagged is exact, bytes above a flagged one may be false
 * hits. Rows are written from short strings (2 to 30 bytes), where a call
 * to memchr or a byte loop costs more than the bytes: musl's memchr took 7 %
 * of the static build's instructions for one scan of each line. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline uint64_t load8(const char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

/* High bit of each byte equal to c. */
static inline uint64_t bytes_eq(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (ONES * c);
    return (x - ONES) & ~x & HIGHS;
}

/* High bit of each byte below 0x20 (control characters). */
static inline uint64_t bytes_ctl(uint64_t w)
{
    return (w - ONES * 0x20) & ~w & HIGHS;
}

/* What a CSV cell must look at: ',', '"' and CR/LF, with the other control
 * characters as false hits (rare; an exact look follows). */
static inline uint64_t csv_stops(uint64_t w)
{
    return bytes_eq(w, ',') | bytes_eq(w, '"') | bytes_ctl(w);
}

/* What a JSON string printed as cJSON prints it must escape: '"', '\' and
 * control characters. */
static inline uint64_t json_stops(uint64_t w)
{
    return bytes_eq(w, '"') | bytes_eq(w, '\\') | bytes_ctl(w);
}

#if defined(__SSE2__) && !defined(LAMBDA_REPORT_PORTABLE)
/* x86_64 always has SSE2: 16 bytes a step. LAMBDA_REPORT_PORTABLE builds
 * the word-at-a-time code alone (other CPUs; tests build both). */
#define REPORT_SSE2 1
#include <emmintrin.h>

static inline __m128i load16(const char *s)
{
    return _mm_loadu_si128((const __m128i *)(const void *)s);
}

/* The 8 bytes at a, then the 8 at b, in one vector. */
static inline __m128i load8x2(const char *a, const char *b)
{
    return _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(const void *)a),
                              _mm_loadl_epi64((const __m128i *)(const void *)b));
}

/* One bit per byte of v below 0x20, or equal to c1 or c2. */
static inline unsigned mask16(__m128i v, char c1, char c2)
{
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);
    __m128i eq =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(c1)), _mm_cmpeq_epi8(v, _mm_set1_epi8(c2)));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(ctl, eq));
}
#endif

/* Whether s may need more than a copy as a CSV cell: a ',', '"' or control
 * character (CR and LF need quotes, the others are false hits that only
 * cost the exact, slower path). Reads end on an overlapping last step
 * instead of a byte loop. */
static inline __attribute__((always_inline)) int csv_maybe_special(const char *s, size_t n)
{
#ifdef REPORT_SSE2
    if (n >= 16) {
        for (size_t i = 0; i + 16 < n; i += 16)
            if (mask16(load16(s + i), ',', '"'))
                return 1;
        return mask16(load16(s + n - 16), ',', '"') != 0;
    }
    if (n >= 8)
        return mask16(load8x2(s, s + n - 8), ',', '"') != 0;
#else
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8)
            if (csv_stops(load8(s + i)))
                return 1;
        return csv_stops(load8(s + n - 8)) != 0;
    }
#endif
    if (n >= 4) {
        uint32_t a, z;
        memcpy(&a, s, 4);
        memcpy(&z, s + n - 4, 4);
        return csv_stops(a | (uint64_t)z << 32) != 0;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == ',' || s[i] == '"')
            return 1;
    return 0;
}

/* The bytes a JSON string printed as cJSON prints it must escape. */
static const unsigned char json_stop[256] = {
    [0] = 1,  [1] = 1,  [2] = 1,  [3] = 1,  [4] = 1,  [5] = 1,   [6] = 1,   [7] = 1,  [8] = 1,
    [9] = 1,  [10] = 1, [11] = 1, [12] = 1, [13] = 1, [14] = 1,  [15] = 1,  [16] = 1, [17] = 1,
    [18] = 1, [19] = 1, [20] = 1, [21] = 1, [22] = 1, [23] = 1,  [24] = 1,  [25] = 1, [26] = 1,
    [27] = 1, [28] = 1, [29] = 1, [30] = 1, [31] = 1, ['"'] = 1, ['\\'] = 1};

/* The index of the first byte of s[i, n) that JSON must escape, or n. */
static inline size_t json_plain_end(const char *s, size_t i, size_t n)
{
#ifdef REPORT_SSE2
    for (; i + 16 <= n; i += 16) {
        unsigned m = mask16(load16(s + i), '"', '\\');
        if (m)
            return i + (size_t)__builtin_ctz(m);
    }
    if (n - i >= 8) {
        unsigned m = mask16(load8x2(s + i, s + n - 8), '"', '\\');
        if (m & 0xff)
            return i + (size_t)__builtin_ctz(m);
        /* The second half overlaps the first, where nothing was found. */
        return m ? n - 8 + (size_t)__builtin_ctz(m >> 8) : n;
    }
#else
    while (i + 8 <= n && !json_stops(load8(s + i)))
        i += 8;
#endif
    while (i < n && !json_stop[(unsigned char)s[i]])
        i++;
    return i;
}

/* Copies n bytes, 16 at a time then an overlapping last step (see
 * lambda_report_copy in report.h for why not memcpy); glibc's memcpy is
 * faster than this loop on lines (~230 bytes on the bench data); the
 * portable test build runs the loop. */
static void copy_text(char *d, const char *s, size_t n)
{
#if defined(__GLIBC__) && !defined(LAMBDA_REPORT_PORTABLE)
    memcpy(d, s, n);
#else
    if (n <= 64) {
        lambda_report_copy(d, s, n);
        return;
    }
    uint64_t w[2];
    for (size_t i = 0; i + 16 < n; i += 16) {
        memcpy(w, s + i, 16);
        memcpy(d + i, w, 16);
    }
    memcpy(w, s + n - 16, 16);
    memcpy(d + n - 16, w, 16);
#endif
}

/* Whether any of s's n bytes is 0. */
static int has_zero(const char *s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        if (bytes_eq(load8(s + i), 0))
            return 1;
    for (; i < n; i++)
        if (!s[i])
            return 1;
    return 0;
}

/* Room for n more bytes and a NUL. */
static inline int reserve(lambda_report_buf *b, size_t n)
{
    return b->len + n + 1 > b->cap ? lambda_report_buf_grow(b, n) : 0;
}

/* The most bytes a row (or a cell printed in the scratch buffer) takes from
 * a line of n bytes, so that the writers below store without a test of room
 * each: one reserve() a line. Every output byte comes from input bytes, at
 * most 6 to 1: a string's byte is at most \u00XX from a 6-byte escape, or
 * doubled '"' from one byte; a number of 1-3 characters prints as at most
 * 10 ("1e9"), of 4 or more as at most 24 ("%1.17g"); the rest is under 64
 * (8 separators, CRLF, the cells' guards and quotes). A cell that needs CSV
 * quoting goes through lambda_report_csv_field(), which tests room itself. */
#define ROW_ROOM(n) (6 * (n) + 64)

/* n bytes into room made by reserve(), no NUL after them. */
static inline void put(lambda_report_buf *b, const char *s, size_t n)
{
    lambda_report_copy(b->data + b->len, s, n);
    b->len += n;
}

static inline void put1(lambda_report_buf *b, char c)
{
    b->data[b->len++] = c;
}

/* The cells that start a formula (OWASP): they get a leading '\''. */
static const unsigned char formula_start[256] = {
    ['='] = 1, ['+'] = 1, ['-'] = 1, ['@'] = 1, ['\t'] = 1, ['\r'] = 1};

/* A text cell (s[n] == '\0'), as lambda_report_csv_field(..., 1) writes
 * it: most cells need no quotes, and are copied after one word-wise look
 * (into room made for the row). */
static inline __attribute__((always_inline)) int text_cell(lambda_report_buf *b, const char *s,
                                                           size_t n)
{
    if (csv_maybe_special(s, n))
        return lambda_report_csv_field(b, s, n, 1);
    char *d = b->data + b->len;
    /* s[n] is '\0' (yyjson's strings end with one), not a formula's start:
     * no test of n. */
    size_t guard = formula_start[(unsigned char)s[0]];
    d[0] = '\'';
    lambda_report_copy(d + guard, s, n);
    b->len += guard + n;
    return 0;
}

/* Whether a and b (n bytes each) are equal; memcmp is bytewise in musl. */
static int same_bytes(const char *a, const char *b, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        if (load8(a + i) != load8(b + i))
            return 0;
    for (; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

enum { SCAN_OK, SCAN_CJSON, SCAN_NUL };

/* One pass over every value of the document, keys included (yyjson keeps
 * them in one array, in document order: what its iterators walk): whether
 * cJSON would read a number otherwise (longer than CJSON_NUMBER_CHARS; numbers
 * are kept raw, YYJSON_READ_NUMBER_AS_RAW), else whether a string holds a NUL
 * (an escaped \u0000: only strings with escapes can, and yyjson marks the
 * others NOESC). This replaced a recursive walk and a scan of the line for
 * "\u0000". */
static int scan_values(yyjson_doc *doc)
{
    yyjson_val *v = yyjson_doc_get_root(doc);
    size_t n = yyjson_doc_get_val_count(doc);
    int nul = 0;
    for (size_t i = 0; i < n; i++, v++) {
        yyjson_type t = yyjson_get_type(v);
        if (t == YYJSON_TYPE_RAW && yyjson_get_len(v) > CJSON_NUMBER_CHARS)
            return SCAN_CJSON;
        if (t == YYJSON_TYPE_STR && yyjson_get_subtype(v) != YYJSON_SUBTYPE_NOESC && !nul)
            nul = has_zero(yyjson_get_str(v), yyjson_get_len(v));
    }
    return nul ? SCAN_NUL : SCAN_OK;
}

/* cJSON's compare_double(). */
static int same_double(double a, double b)
{
    double max = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= max * DBL_EPSILON;
}

/* A number as cJSON 1.7.15 prints it (print_number): the raw text read with
 * strtod as cJSON reads it, then "%1.15g" unless that does not read back
 * to the same double within DBL_EPSILON, else "%1.17g"; NaN/inf as null.
 * No character of it needs CSV quoting. */
static void cjson_number(lambda_report_buf *b, yyjson_val *v)
{
    char raw[CJSON_NUMBER_CHARS + 1], out[32];
    size_t n = yyjson_get_len(v);
    const char *text = yyjson_get_raw(v);
    /* An integer of at most 15 digits is exact as a double, and "%1.15g"
     * prints it back digit for digit (no exponent below 10^15): the raw text
     * is cJSON's output, without strtod, snprintf and sscanf. (yyjson took it
     * as strict JSON: no leading zeros, no '+'.) */
    size_t lead = text[0] == '-', i = lead;
    while (i < n && text[i] >= '0' && text[i] <= '9')
        i++;
    if (i == n && n - lead >= 1 && n - lead <= 15) {
        put(b, text, n);
        return;
    }
    memcpy(raw, text, n);
    raw[n] = '\0';
    double d = strtod(raw, NULL), test = 0.0;
    int len;
    if (isnan(d) || isinf(d)) {
        len = snprintf(out, sizeof out, "null");
    } else {
        len = snprintf(out, sizeof out, "%1.15g", d);
        if (sscanf(out, "%lg", &test) != 1 || !same_double(test, d))
            len = snprintf(out, sizeof out, "%1.17g", d);
    }
    put(b, out, (size_t)len);
}

/* A string as cJSON prints it (print_string_ptr): quotes, backslash
 * escapes for " \ \b \f \n \r \t, \u00XX for other control characters,
 * every other byte as it is. `q`: inside a quoted CSV cell, every '"'
 * written twice. Runs without escapes are found 8 bytes at a time. */
static void cjson_string(lambda_report_buf *b, const char *s, size_t n, int q)
{
    static const char hex[] = "0123456789abcdef";
    char *d = b->data + b->len;
    *d = '"';
    d += 1 + q;
    d[-1] = '"';
    size_t i = 0;
    for (;;) {
        size_t start = i;
        i = json_plain_end(s, i, n);
        lambda_report_copy(d, s + start, i - start);
        d += i - start;
        if (i == n)
            break;
        unsigned char c = (unsigned char)s[i++];
        d[0] = '\\';
        switch (c) {
        case '"':
            d[1] = '"';
            d[2] = '"';
            d += 2 + q;
            continue;
        case '\\':
            d[1] = '\\';
            break;
        case '\b':
            d[1] = 'b';
            break;
        case '\f':
            d[1] = 'f';
            break;
        case '\n':
            d[1] = 'n';
            break;
        case '\r':
            d[1] = 'r';
            break;
        case '\t':
            d[1] = 't';
            break;
        default:
            memcpy(d + 1, "u00", 3);
            d[4] = hex[c >> 4];
            d[5] = hex[c & 15];
            d += 6;
            continue;
        }
        d += 2;
    }
    d[0] = '"';
    d[1] = '"';
    d += 1 + q;
    b->len = (size_t)(d - b->data);
}

static inline int known_index_n(const char *name, size_t n);

/* A string value or key as cjson_string() prints it. One that yyjson marks
 * NOESC holds no '"', '\\' or control character (its reader sets it only
 * for a string read without meeting one; UTF-8 may be there, which cJSON
 * prints as it is; test_yyjson_noesc pins this down), so cJSON prints it
 * unchanged between quotes: a copy, without the scan. Keys and short values
 * are mostly such strings. */
static inline void cjson_str(lambda_report_buf *b, yyjson_val *v, int q)
{
    const char *s = yyjson_get_str(v);
    size_t n = yyjson_get_len(v);
    if (yyjson_get_subtype(v) != YYJSON_SUBTYPE_NOESC) {
        cjson_string(b, s, n, q);
        return;
    }
    char *d = b->data + b->len;
    d[0] = '"';
    d[1] = '"';
    d += 1 + q;
    lambda_report_copy(d, s, n);
    d += n;
    d[0] = '"';
    d[1] = '"';
    b->len = (size_t)(d + 1 + q - b->data);
}

/* Any value as cJSON_PrintUnformatted prints it; `q` as for cjson_string. */
static void cjson_value(lambda_report_buf *b, yyjson_val *v, int q)
{
    size_t i, n;
    yyjson_val *key, *item;
    switch (yyjson_get_type(v)) {
    case YYJSON_TYPE_RAW:
        cjson_number(b, v);
        break;
    case YYJSON_TYPE_STR:
        cjson_str(b, v, q);
        break;
    case YYJSON_TYPE_NULL:
        put(b, "null", 4);
        break;
    case YYJSON_TYPE_BOOL:
        if (yyjson_get_bool(v))
            put(b, "true", 4);
        else
            put(b, "false", 5);
        break;
    case YYJSON_TYPE_ARR:
        put1(b, '[');
        yyjson_arr_foreach(v, i, n, item)
        {
            if (i)
                put1(b, ',');
            cjson_value(b, item, q);
        }
        put1(b, ']');
        break;
    case YYJSON_TYPE_OBJ:
        put1(b, '{');
        yyjson_obj_foreach(v, i, n, key, item)
        {
            if (i)
                put1(b, ',');
            cjson_str(b, key, q);
            put1(b, ':');
            cjson_value(b, item, q);
        }
        put1(b, '}');
        break;
    default:
        break;
    }
}

/* The `extra` cell: the event without the row's own fields, as compact
 * JSON. It holds at least one key, so a '"': cJSON's text quoted as a CSV
 * cell with its quotes doubled, written here in one pass. `known` flags the
 * first 64 members whose names are the row's own. */
static void extra_cell(lambda_report_buf *b, yyjson_val *ev, uint64_t known)
{
    size_t i, n, printed = 0;
    yyjson_val *key, *item;
    put(b, "\"{", 2);
    yyjson_obj_foreach(ev, i, n, key, item)
    {
        if (i < 64 ? (known >> i & 1)
                   : known_index_n(yyjson_get_str(key), yyjson_get_len(key)) >= 0)
            continue;
        if (printed++)
            put1(b, ',');
        cjson_str(b, key, 1);
        put1(b, ':');
        /* strings, the most common values, without the call */
        if (yyjson_is_str(item))
            cjson_str(b, item, 1);
        else
            cjson_value(b, item, 1);
    }
    put(b, "}\"", 2);
}

/* A cell from any value, as value_field() makes it from cJSON's: strings as
 * text cells, numbers and booleans as printed (nothing to quote), null
 * empty, arrays and objects printed into `tmp` first (their quoting depends
 * on all of them). Inline: a call each (4 a row) cost more than the cell. */
static inline __attribute__((always_inline)) int
yy_field(lambda_report_buf *row, lambda_report_buf *tmp, size_t room, yyjson_val *v)
{
    switch (yyjson_get_type(v)) {
    case YYJSON_TYPE_NONE:
    case YYJSON_TYPE_NULL:
        return 0;
    case YYJSON_TYPE_STR:
        return text_cell(row, yyjson_get_str(v), yyjson_get_len(v));
    case YYJSON_TYPE_RAW:
    case YYJSON_TYPE_BOOL:
        cjson_value(row, v, 0);
        return 0;
    default:
        tmp->len = 0;
        if (reserve(tmp, room))
            return -1;
        cjson_value(tmp, v, 0);
        return lambda_report_csv_field(row, tmp->data, tmp->len, 1);
    }
}

/* Whether name equals lit, both n bytes, 4 <= n <= 16: two overlapping
 * word compares (memcpy of a constant size compiles to a load), where a
 * memcmp call cost a tenth of the static build's time (musl's is bytewise). */
static inline __attribute__((always_inline)) int same_name(const char *name, const char *lit,
                                                           size_t n)
{
    if (n <= 8) {
        uint32_t a, b, c, d;
        memcpy(&a, name, 4), memcpy(&b, lit, 4);
        memcpy(&c, name + n - 4, 4), memcpy(&d, lit + n - 4, 4);
        return a == b && c == d;
    }
    uint64_t a, b, c, d;
    memcpy(&a, name, 8), memcpy(&b, lit, 8);
    memcpy(&c, name + n - 8, 8), memcpy(&d, lit + n - 8, 8);
    return a == b && c == d;
}

static inline __attribute__((always_inline)) int known_index_n(const char *name, size_t n)
{
    /* Told apart by length and a letter or two, then one compare: this runs
     * for every field of every line. */
    int i;
    switch (n) {
    case 4:
        i = F_TYPE;
        break;
    case 6:
        i = F_COURSE;
        break;
    case 7:
        i = name[0] == 'e' ? F_EVENT : name[1] == 'o' ? F_COUNTRY : F_CHANNEL;
        break;
    case 10:
        i = name[0] == 'o' ? F_AT : name[0] == 'p' ? F_PROSPECT : F_CUSTOMER;
        break;
    default:
        return -1;
    }
    return same_name(name, known_fields[i], n) ? i : -1;
}

static const char *yy_nonempty(yyjson_val *v)
{
    return yyjson_is_str(v) && yyjson_get_len(v) ? yyjson_get_str(v) : NULL;
}

/* What the event's members say before a row is written: the row's own
 * fields (first occurrence wins, as with cJSON_GetObjectItem), which of the
 * first 64 members they are, how many others go to `extra`, and whether
 * cJSON reads the line otherwise (SCAN_CJSON) or a string holds a NUL. */
typedef struct members {
    yyjson_val *f[F_COUNT];
    uint64_t known;
    size_t extra;
} members;

static inline int str_has_nul(yyjson_val *v)
{
    return yyjson_get_subtype(v) != YYJSON_SUBTYPE_NOESC &&
           has_zero(yyjson_get_str(v), yyjson_get_len(v));
}

/* One walk over the members does scan_values()'s work for a flat event (the
 * members' keys and values are all its values): a nested value sends the
 * document to scan_values() after the walk. */
static int sort_members(yyjson_doc *doc, yyjson_val *ev, members *m)
{
    size_t i, n;
    yyjson_val *key, *item;
    int nul = 0, nested = 0, lng = 0;
    memset(m, 0, sizeof *m);
    yyjson_obj_foreach(ev, i, n, key, item)
    {
        nul |= str_has_nul(key);
        switch (yyjson_get_type(item)) {
        case YYJSON_TYPE_RAW:
            lng |= yyjson_get_len(item) > CJSON_NUMBER_CHARS;
            break;
        case YYJSON_TYPE_STR:
            nul |= str_has_nul(item);
            break;
        case YYJSON_TYPE_ARR:
        case YYJSON_TYPE_OBJ:
            nested = 1;
            break;
        default:
            break;
        }
        int k = known_index_n(yyjson_get_str(key), yyjson_get_len(key));
        if (k < 0) {
            m->extra++;
            continue;
        }
        if (i < 64)
            m->known |= 1ull << i;
        if (!m->f[k])
            m->f[k] = item;
    }
    if (nested)
        return scan_values(doc);
    return lng ? SCAN_CJSON : nul ? SCAN_NUL : SCAN_OK;
}

/* The row from the members of a document cJSON reads the same way. */
static int yy_row(lambda_report_parser *p, yyjson_val *ev, const members *m, size_t len,
                  const char *customer, lambda_report_buf *row, lambda_report_skip *reason)
{
    yyjson_val *const *f = m->f;
    const char *event_id = yy_nonempty(f[F_EVENT]), *cust = yy_nonempty(f[F_CUSTOMER]);
    const char *type = yy_nonempty(f[F_TYPE]), *at = yy_nonempty(f[F_AT]);
    yyjson_val *prospect = f[F_PROSPECT];
    int prospect_ok = yy_nonempty(prospect) || yyjson_is_raw(prospect);
    if (!event_id || !type || !at || !prospect_ok || !cust ||
        !lambda_report_valid_timestamp_n(at, yyjson_get_len(f[F_AT]))) {
        *reason = LAMBDA_SKIP_MISSING_FIELD;
        return 0;
    }
    if (p->customer != customer) {
        p->customer = customer;
        p->customer_len = strlen(customer);
    }
    size_t cust_len = yyjson_get_len(f[F_CUSTOMER]);
    if (cust_len != p->customer_len || !same_bytes(cust, customer, cust_len)) {
        *reason = LAMBDA_SKIP_WRONG_CUSTOMER;
        return 0;
    }
    size_t mark = row->len, room = ROW_ROOM(len);
    if (reserve(row, room))
        return -1;
    int rc = text_cell(row, event_id, yyjson_get_len(f[F_EVENT]));
    put1(row, ',');
    /* A valid timestamp is digits and "-:.+TtZz": nothing to quote, and it
     * starts with a digit, not a formula's start. */
    put(row, at, yyjson_get_len(f[F_AT]));
    put1(row, ',');
    rc = rc || yy_field(row, &p->scratch, room, prospect);
    put1(row, ',');
    rc = rc || text_cell(row, type, yyjson_get_len(f[F_TYPE]));
    for (int k = F_COUNTRY; k <= F_CHANNEL; k++) {
        put1(row, ',');
        rc = rc || yy_field(row, &p->scratch, room, f[k]);
    }
    /* extra: the other fields as one compact JSON object, in source order */
    put1(row, ',');
    if (m->extra)
        extra_cell(row, ev, m->known);
    put(row, "\r\n", 2);
    row->data[row->len] = '\0';
    if (rc) {
        row->len = mark;
        return -1;
    }
    return 1;
}

/* yyjson's allocator: the part of the parser's block after the line's copy,
 * lent whole to the one allocation yyjson makes to read in place (its values;
 * it may grow it with realloc, in place here). A second allocation while the
 * block is lent gets NULL: the read fails and the line goes to cJSON, slower
 * but the same bytes. This replaced yyjson's pool allocator, set up again for
 * every line (~70 instructions a line with its malloc). */
static void *block_malloc(void *ctx, size_t size)
{
    lambda_report_parser *p = ctx;
    if (p->block_lent || size > p->block_cap)
        return NULL;
    p->block_lent = 1;
    return p->block;
}

static void *block_realloc(void *ctx, void *ptr, size_t old_size, size_t size)
{
    lambda_report_parser *p = ctx;
    (void)old_size;
    return ptr == p->block && size <= p->block_cap ? ptr : NULL;
}

static void block_free(void *ctx, void *ptr)
{
    lambda_report_parser *p = ctx;
    if (ptr == p->block)
        p->block_lent = 0;
}

int lambda_report_event_to_row_fast(lambda_report_parser *p, const char *line, size_t len,
                                    const char *customer, lambda_report_buf *row,
                                    lambda_report_skip *reason)
{
    *reason = LAMBDA_SKIP_NONE;
    /* yyjson reads in place (YYJSON_READ_INSITU) from a copy of the line at
     * the start of the parser's block, padded with YYJSON_PADDING_SIZE zero
     * bytes: it would otherwise copy the line itself with memcpy, and musl's
     * costs ~50 ns a call to start (packaging/README.md). The line itself
     * stays as it was: a line yyjson refuses goes to cJSON whole. */
    const yyjson_read_flag flags = YYJSON_READ_NUMBER_AS_RAW | YYJSON_READ_INSITU;
    size_t text = (len + YYJSON_PADDING_SIZE + 15) & ~(size_t)15;
    size_t need = text + yyjson_read_max_memory_usage(len, flags);
    if (need > p->cap) {
        void *grown = realloc(p->mem, need);
        if (!grown)
            return -1;
        p->mem = grown;
        p->cap = need;
    }
    char *copy = p->mem;
    copy_text(copy, line, len);
    memset(copy + len, 0, YYJSON_PADDING_SIZE);
    p->block = copy + text;
    p->block_cap = p->cap - text;
    p->block_lent = 0; /* the last line's document is done with */
    const yyjson_alc alc = {block_malloc, block_realloc, block_free, p};
    yyjson_doc *doc = len ? yyjson_read_opts(copy, len, flags, &alc, NULL) : NULL;
    /* yyjson checks UTF-8 as lambda_report_valid_utf8() does (overlong forms,
     * surrogates and code points past U+10FFFF refused; no byte >= 0x80
     * outside a string), so a line it reads is valid UTF-8; only the others
     * are checked, as the cJSON path would first. */
    if (!doc && !lambda_report_valid_utf8(line, len)) {
        *reason = LAMBDA_SKIP_BAD_UTF8;
        return 0;
    }
    /* A document that is not one object is badJson whatever it holds (cJSON
     * would refuse it too, or read it and find no object), unless yyjson
     * reads it as JSON where cJSON does not: more values than cJSON nests. */
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL;
    if (root && yyjson_doc_get_val_count(doc) < CJSON_NESTING && !yyjson_is_obj(root)) {
        *reason = LAMBDA_SKIP_BAD_JSON;
        return 0;
    }
    members m;
    int scan = root && yyjson_doc_get_val_count(doc) < CJSON_NESTING ? sort_members(doc, root, &m)
                                                                     : SCAN_CJSON;
    if (scan == SCAN_CJSON) {
        /* Not strict JSON, or where cJSON reads it otherwise: cJSON decides. */
        p->fallbacks++;
        return lambda_report_event_to_row(line, len, customer, row, reason);
    }
    if (scan == SCAN_NUL) {
        *reason = LAMBDA_SKIP_NUL;
        return 0;
    }
    return yy_row(p, root, &m, len, customer, row, reason);
}

void lambda_report_parser_free(lambda_report_parser *p)
{
    free(p->mem);
    p->mem = NULL;
    p->cap = 0;
    lambda_report_buf_free(&p->scratch);
}

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

/* Whether cJSON would read every number of `v` as yyjson did: none longer
 * than CJSON_NUMBER_CHARS (numbers are kept raw, YYJSON_READ_NUMBER_AS_RAW). */
static int numbers_fit_cjson(yyjson_val *v)
{
    if (yyjson_is_raw(v))
        return yyjson_get_len(v) <= CJSON_NUMBER_CHARS;
    if (yyjson_is_arr(v)) {
        size_t i, n;
        yyjson_val *item;
        yyjson_arr_foreach(v, i, n, item)
        {
            if (!numbers_fit_cjson(item))
                return 0;
        }
    } else if (yyjson_is_obj(v)) {
        size_t i, n;
        yyjson_val *key, *item;
        yyjson_obj_foreach(v, i, n, key, item)
        {
            if (!numbers_fit_cjson(item))
                return 0;
        }
    }
    return 1;
}

/* cJSON's compare_double(). */
static int same_double(double a, double b)
{
    double max = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= max * DBL_EPSILON;
}

/* A number as cJSON 1.7.15 prints it (print_number): the raw text read with
 * strtod as cJSON reads it, then "%1.15g" unless that does not read back
 * to the same double within DBL_EPSILON, else "%1.17g"; NaN/inf as null. */
static int cjson_number(lambda_report_buf *b, yyjson_val *v)
{
    char raw[CJSON_NUMBER_CHARS + 1], out[32];
    size_t n = yyjson_get_len(v);
    const char *text = yyjson_get_raw(v);
    /* An integer of at most 15 digits is exact as a double, and "%1.15g"
     * prints it back digit for digit (no exponent below 10^15): the raw text
     * is cJSON's output, without strtod, snprintf and sscanf. (yyjson took it
     * as strict JSON: no leading zeros, no '+'.) */
    size_t digits = n - (text[0] == '-');
    if (digits >= 1 && digits <= 15 && strspn(text + (n - digits), "0123456789") == digits)
        return lambda_report_buf_add(b, text, n);
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
    return lambda_report_buf_add(b, out, (size_t)len);
}

/* A string as cJSON prints it (print_string_ptr): quotes, backslash
 * escapes for " \ \b \f \n \r \t, \u00XX for other control characters,
 * every other byte as it is. */
static int cjson_string(lambda_report_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (lambda_report_buf_add(b, "\"", 1))
        return -1;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c > 31 && c != '"' && c != '\\')
            continue;
        char esc[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '"':
        case '\\':
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        if (lambda_report_buf_add(b, s + start, i - start) || lambda_report_buf_add(b, esc, len))
            return -1;
        start = i + 1;
    }
    return lambda_report_buf_add(b, s + start, n - start) || lambda_report_buf_add(b, "\"", 1);
}

static int known_index_n(const char *name, size_t n);

/* Any value as cJSON_PrintUnformatted prints it. `skip_known`: an object
 * without the row's own fields (the `extra` column). */
static int cjson_value(lambda_report_buf *b, yyjson_val *v, int skip_known)
{
    switch (yyjson_get_type(v)) {
    case YYJSON_TYPE_RAW:
        return cjson_number(b, v);
    case YYJSON_TYPE_STR:
        return cjson_string(b, yyjson_get_str(v), yyjson_get_len(v));
    case YYJSON_TYPE_NULL:
        return lambda_report_buf_add(b, "null", 4);
    case YYJSON_TYPE_BOOL:
        return yyjson_get_bool(v) ? lambda_report_buf_add(b, "true", 4)
                                  : lambda_report_buf_add(b, "false", 5);
    case YYJSON_TYPE_ARR: {
        size_t i, n;
        yyjson_val *item;
        if (lambda_report_buf_add(b, "[", 1))
            return -1;
        yyjson_arr_foreach(v, i, n, item)
        {
            if ((i && lambda_report_buf_add(b, ",", 1)) || cjson_value(b, item, 0))
                return -1;
        }
        return lambda_report_buf_add(b, "]", 1);
    }
    case YYJSON_TYPE_OBJ: {
        size_t i, n, printed = 0;
        yyjson_val *key, *item;
        if (lambda_report_buf_add(b, "{", 1))
            return -1;
        yyjson_obj_foreach(v, i, n, key, item)
        {
            if (skip_known && known_index_n(yyjson_get_str(key), yyjson_get_len(key)) >= 0)
                continue;
            if ((printed++ && lambda_report_buf_add(b, ",", 1)) ||
                cjson_string(b, yyjson_get_str(key), yyjson_get_len(key)) ||
                lambda_report_buf_add(b, ":", 1) || cjson_value(b, item, 0))
                return -1;
        }
        return lambda_report_buf_add(b, "}", 1);
    }
    default:
        return -1;
    }
}

/* A cell from any value, as value_field() makes it from cJSON's; `skip_known`
 * for the `extra` column. Printed into `tmp` first: the cell's quoting
 * depends on all of it. */
static int yy_field(lambda_report_buf *row, lambda_report_buf *tmp, yyjson_val *v, int skip_known)
{
    if (!v || yyjson_is_null(v))
        return 0;
    if (yyjson_is_str(v))
        return lambda_report_csv_field(row, yyjson_get_str(v), yyjson_get_len(v), 1);
    int text = !yyjson_is_raw(v) && !yyjson_is_bool(v);
    tmp->len = 0;
    return cjson_value(tmp, v, skip_known) ||
                   lambda_report_csv_field(row, tmp->data, tmp->len, text)
               ? -1
               : 0;
}

/* Whether name equals lit, both n bytes, 4 <= n <= 16: two overlapping
 * word compares (memcpy of a constant size compiles to a load), where a
 * memcmp call cost a tenth of the static build's time (musl's is bytewise). */
static int same_name(const char *name, const char *lit, size_t n)
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

static int known_index_n(const char *name, size_t n)
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

/* The row from a document cJSON would read the same way. */
static int yy_row(yyjson_val *ev, const char *customer, lambda_report_buf *row,
                  lambda_report_buf *tmp, lambda_report_skip *reason)
{
    yyjson_val *f[F_COUNT] = {0};
    size_t extra = 0, i, n;
    yyjson_val *key, *item;
    yyjson_obj_foreach(ev, i, n, key, item)
    {
        int k = known_index_n(yyjson_get_str(key), yyjson_get_len(key));
        if (k < 0)
            extra++;
        else if (!f[k])
            f[k] = item;
    }
    const char *event_id = yy_nonempty(f[F_EVENT]), *cust = yy_nonempty(f[F_CUSTOMER]);
    const char *type = yy_nonempty(f[F_TYPE]), *at = yy_nonempty(f[F_AT]);
    yyjson_val *prospect = f[F_PROSPECT];
    int prospect_ok = yy_nonempty(prospect) || yyjson_is_raw(prospect);
    if (!event_id || !type || !at || !prospect_ok || !cust || !lambda_report_valid_timestamp(at)) {
        *reason = LAMBDA_SKIP_MISSING_FIELD;
        return 0;
    }
    if (strcmp(cust, customer) != 0) {
        *reason = LAMBDA_SKIP_WRONG_CUSTOMER;
        return 0;
    }
    size_t mark = row->len;
    int rc = lambda_report_csv_field(row, event_id, yyjson_get_len(f[F_EVENT]), 1) ||
             lambda_report_buf_add(row, ",", 1) ||
             lambda_report_csv_field(row, at, yyjson_get_len(f[F_AT]), 1) ||
             lambda_report_buf_add(row, ",", 1) || yy_field(row, tmp, prospect, 0) ||
             lambda_report_buf_add(row, ",", 1) ||
             lambda_report_csv_field(row, type, yyjson_get_len(f[F_TYPE]), 1);
    for (int k = F_COUNTRY; k <= F_CHANNEL && !rc; k++)
        rc = lambda_report_buf_add(row, ",", 1) || yy_field(row, tmp, f[k], 0);
    /* extra: the other fields as one compact JSON object, in source order */
    rc = rc || lambda_report_buf_add(row, ",", 1) || (extra && yy_field(row, tmp, ev, 1)) ||
         lambda_report_buf_add(row, "\r\n", 2);
    if (rc) {
        row->len = mark;
        return -1;
    }
    return 1;
}

int lambda_report_event_to_row_fast(lambda_report_parser *p, const char *line, size_t len,
                                    const char *customer, lambda_report_buf *row,
                                    lambda_report_skip *reason)
{
    *reason = LAMBDA_SKIP_NONE;
    if (!lambda_report_valid_utf8(line, len)) {
        *reason = LAMBDA_SKIP_BAD_UTF8;
        return 0;
    }
    const yyjson_read_flag flags = YYJSON_READ_NUMBER_AS_RAW;
    size_t need = yyjson_read_max_memory_usage(len, flags);
    if (need > p->cap) {
        void *grown = realloc(p->mem, need);
        if (!grown)
            return -1;
        p->mem = grown;
        p->cap = need;
    }
    yyjson_alc alc;
    yyjson_doc *doc = NULL;
    if (yyjson_alc_pool_init(&alc, p->mem, p->cap))
        doc = yyjson_read_opts((char *)line, len, flags, &alc, NULL);
    yyjson_val *root = doc ? yyjson_doc_get_root(doc) : NULL;
    if (!root || yyjson_doc_get_val_count(doc) >= CJSON_NESTING || !numbers_fit_cjson(root)) {
        /* Not strict JSON, or where cJSON reads it otherwise: cJSON decides. */
        p->fallbacks++;
        return lambda_report_event_to_row(line, len, customer, row, reason);
    }
    if (!yyjson_is_obj(root)) {
        *reason = LAMBDA_SKIP_BAD_JSON;
        return 0;
    }
    if (may_hold_nul(line, len) && lambda_json_has_nul(line, len)) {
        *reason = LAMBDA_SKIP_NUL;
        return 0;
    }
    return yy_row(root, customer, row, &p->scratch, reason);
}

void lambda_report_parser_free(lambda_report_parser *p)
{
    free(p->mem);
    p->mem = NULL;
    p->cap = 0;
    lambda_report_buf_free(&p->scratch);
}

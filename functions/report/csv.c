/*
 * One NDJSON event -> one CSV row. JSON is parsed with cJSON; the CSV side
 * is RFC 4180 (CRLF rows, quotes doubled, quoted when needed) with the
 * OWASP CSV-injection guard on text cells.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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

int lambda_report_buf_add(lambda_report_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void lambda_report_buf_free(lambda_report_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int lambda_report_csv_field(lambda_report_buf *b, const char *s, size_t n, int text)
{
    int guard =
        text && n > 0 &&
        (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r');
    /* One table look-up a byte: this scan runs over every output byte. */
    static const unsigned char special[256] = {[','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1};
    size_t plain = 0;
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

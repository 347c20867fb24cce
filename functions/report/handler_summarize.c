/*
 * SummarizeReport: reads a merged report once, as a stream, and writes
 * summary.json next to it: rows per event type per day, the skipped source
 * lines by reason (from the merge's manifest.json) and the bytes. It runs
 * after MergeSubReports, beside the notification (the state machine's
 * Parallel), so it never delays the report.
 *
 *   in:  {"customerId":"acme","reportId":"r1"}
 *   out: {"customerId","reportId","key":"reports/acme/r1/summary.json",
 *         "uri":"<store url>/reports/acme/r1/summary.json",
 *         "rows":2468,"bytes":913647,"skipped":6,"days":31,"types":5}
 *   summary.json: {"customerId","reportId","report":"reports/acme/r1/report.csv",
 *         "rows","bytes","skipped","skippedBy":{"badJson":4,…},
 *         "types":{"click":1200,…},
 *         "days":{"2024-01-01":{"click":40,"view":12},…}}
 *   Days are the date of occurred_at; keys are sorted, so the same report
 *   gives the same bytes (no timestamps).
 *
 * The rows and bytes read must equal the manifest's, else SummaryMismatch
 * (the report changed after its merge). More than SUMMARY_MAX_CELLS
 * (default 100000) distinct (day, type) pairs is SummaryTooLarge: the
 * summary stays a small document.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler_common.h"

#define SUMMARY_DEFAULT_MAX_CELLS 100000
#define SUMMARY_MAX_FIELD 4096 /* a type longer than this is cut (and counted) */
#define COL_OCCURRED_AT 1
#define COL_TYPE 3

/* One (day, type) count. */
typedef struct summary_cell {
    char day[11];
    char *type;
    uint64_t count;
} summary_cell;

/* An open-addressing table of cells, keyed by day + type. */
typedef struct summary_table {
    summary_cell *cells;
    size_t n, cap, max;
} summary_table;

/* The streaming RFC 4180 reader: one record at a time, keeping only the
 * two columns the summary needs. */
typedef struct summary_scan {
    summary_table table;
    lambda_report_buf field[2]; /* occurred_at, type */
    size_t col;
    int quoted, quote_seen, header_done, in_record;
    uint64_t rows, bytes;
    /* The reader's own error: the store's get overwrites the caller's err
     * when the sink stops it. */
    lambda_error *err;
    lambda_error own;
    int failed;
} summary_scan;

static uint64_t cell_hash(const char *day, const char *type, size_t type_len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = day; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (size_t i = 0; i < type_len; i++)
        h = (h ^ (unsigned char)type[i]) * 1099511628211ull;
    return h;
}

static int table_grow(summary_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    summary_cell *cells = calloc(cap, sizeof *cells);
    if (!cells)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        summary_cell *c = &t->cells[i];
        if (!c->type)
            continue;
        size_t j = cell_hash(c->day, c->type, strlen(c->type)) & (cap - 1);
        while (cells[j].type)
            j = (j + 1) & (cap - 1);
        cells[j] = *c;
    }
    free(t->cells);
    t->cells = cells;
    t->cap = cap;
    return 0;
}

static int count_row(summary_scan *sc, const char *day, const char *type, size_t type_len)
{
    summary_table *t = &sc->table;
    if ((t->n + 1) * 2 > t->cap && table_grow(t) != 0)
        return store_error(sc->err, LAMBDA_STORE_UNAVAILABLE, "out of memory"), -1;
    size_t j = cell_hash(day, type, type_len) & (t->cap - 1);
    for (; t->cells[j].type; j = (j + 1) & (t->cap - 1)) {
        summary_cell *c = &t->cells[j];
        if (strcmp(c->day, day) == 0 && strlen(c->type) == type_len &&
            memcmp(c->type, type, type_len) == 0) {
            c->count++;
            return 0;
        }
    }
    if (t->n >= t->max) {
        lambda_error_set(sc->err, "SummaryTooLarge",
                         "more than %zu distinct (day, type) pairs (SUMMARY_MAX_CELLS)", t->max);
        return -1;
    }
    summary_cell *c = &t->cells[j];
    c->type = malloc(type_len + 1);
    if (!c->type)
        return store_error(sc->err, LAMBDA_STORE_UNAVAILABLE, "out of memory"), -1;
    memcpy(c->type, type, type_len);
    c->type[type_len] = '\0';
    snprintf(c->day, sizeof c->day, "%s", day);
    c->count = 1;
    t->n++;
    return 0;
}

/* The report neutralises formula-like text cells with a leading quote
 * (report.h): the summary counts the type as the source wrote it. */
static void unneutralise(const char **s, size_t *n)
{
    if (*n >= 2 && (*s)[0] == '\'' && (*s)[1] != '\0' && strchr("=+-@\t\r", (*s)[1]))
        (*s)++, (*n)--;
}

static int end_record(summary_scan *sc)
{
    lambda_report_buf *when = &sc->field[0], *type = &sc->field[1];
    int was_header = !sc->header_done;
    sc->header_done = 1;
    sc->col = 0;
    sc->in_record = 0;
    if (was_header)
        goto reset;
    if (when->len < 10 || !type->data) {
        lambda_error_set(sc->err, "SummaryMismatch",
                         "row %" PRIu64 " of the report has no occurred_at or type", sc->rows + 1);
        return -1;
    }
    char day[11];
    memcpy(day, when->data, 10);
    day[10] = '\0';
    const char *t = type->data;
    size_t tn = type->len;
    unneutralise(&t, &tn);
    if (count_row(sc, day, t, tn) != 0)
        return -1;
    sc->rows++;
reset:
    when->len = 0;
    type->len = 0;
    return 0;
}

static int keep_char(summary_scan *sc, char ch)
{
    lambda_report_buf *b = sc->col == COL_OCCURRED_AT ? &sc->field[0]
                           : sc->col == COL_TYPE      ? &sc->field[1]
                                                      : NULL;
    sc->in_record = 1;
    if (!b || b->len >= SUMMARY_MAX_FIELD)
        return 0;
    if (lambda_report_buf_add(b, &ch, 1) != 0)
        return store_error(sc->err, LAMBDA_STORE_UNAVAILABLE, "out of memory"), -1;
    return 0;
}

/* One byte of the report through the RFC 4180 state machine. */
static int scan_byte(summary_scan *sc, char ch)
{
    if (sc->quoted) {
        if (sc->quote_seen) {
            sc->quote_seen = 0;
            if (ch == '"')
                return keep_char(sc, '"'); /* a doubled quote */
            sc->quoted = 0;                /* the closing quote: fall through */
        } else if (ch == '"') {
            sc->quote_seen = 1;
            return 0;
        } else {
            return keep_char(sc, ch);
        }
    }
    switch (ch) {
    case '"':
        sc->quoted = 1;
        sc->in_record = 1;
        return 0;
    case ',':
        sc->col++;
        sc->in_record = 1;
        return 0;
    case '\r':
        return 0; /* CRLF: the LF ends the record */
    case '\n':
        return end_record(sc);
    default:
        return keep_char(sc, ch);
    }
}

static int scan_sink(const char *data, size_t len, void *ud)
{
    summary_scan *sc = ud;
    sc->bytes += len;
    for (size_t i = 0; i < len; i++) {
        if (scan_byte(sc, data[i]) != 0) {
            sc->failed = 1;
            return -1;
        }
    }
    return 0;
}

static int cell_order(const void *a, const void *b)
{
    const summary_cell *x = a, *y = b;
    int d = strcmp(x->day, y->day);
    return d ? d : strcmp(x->type, y->type);
}

static int type_order(const void *a, const void *b)
{
    const summary_cell *x = a, *y = b;
    return strcmp(x->type, y->type);
}

/* Packs the table's cells at its front, sorted by day then type. */
static size_t sorted_cells(summary_table *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->cells[i].type)
            t->cells[n++] = t->cells[i];
    for (size_t i = n; i < t->cap; i++)
        t->cells[i].type = NULL;
    qsort(t->cells, n, sizeof *t->cells, cell_order);
    return n;
}

/* {"day":{"type":n,…},…} and the per-type totals; returns the number of
 * days, or -1 when out of memory. */
static int64_t add_tables(cJSON *doc, summary_table *t, size_t n, size_t *n_types)
{
    cJSON *days = cJSON_AddObjectToObject(doc, "days");
    cJSON *day = NULL;
    int64_t n_days = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(t->cells[i].day, t->cells[i - 1].day) != 0) {
            day = cJSON_AddObjectToObject(days, t->cells[i].day);
            n_days++;
        }
        if (!day || !cJSON_AddNumberToObject(day, t->cells[i].type, (double)t->cells[i].count))
            return -1;
    }
    /* Totals per type: the same cells ordered by type. */
    summary_cell *by_type = malloc((n ? n : 1) * sizeof *by_type);
    if (!by_type)
        return -1;
    memcpy(by_type, t->cells, n * sizeof *by_type);
    qsort(by_type, n, sizeof *by_type, type_order);
    cJSON *types = cJSON_CreateObject();
    *n_types = 0;
    for (size_t i = 0; i < n;) {
        uint64_t total = 0;
        size_t j = i;
        for (; j < n && strcmp(by_type[j].type, by_type[i].type) == 0; j++)
            total += by_type[j].count;
        cJSON_AddNumberToObject(types, by_type[i].type, (double)total);
        (*n_types)++;
        i = j;
    }
    free(by_type);
    /* "types" before "days" reads better: move it in front. */
    cJSON_DetachItemViaPointer(doc, days);
    cJSON_AddItemToObject(doc, "types", types);
    cJSON_AddItemToObject(doc, "days", days);
    return n_days;
}

/* The merge's totals: rows, bytes, skipped and (when it wrote them)
 * skippedBy. */
static cJSON *read_manifest(lambda_store *report, const report_keys *keys, int64_t *rows,
                            int64_t *bytes, int64_t *skipped, lambda_error *err)
{
    int missing;
    cJSON *m = report_read_json(report, keys->manifest, &missing, err);
    if (!m) {
        if (missing)
            store_error(err, LAMBDA_STORE_NOT_FOUND, "%s is missing: the report is not merged",
                        keys->manifest);
        return NULL;
    }
    *rows = *bytes = *skipped = -1;
    report_get_int(m, "rows", 0, REPORT_JSON_INT_MAX, rows);
    report_get_int(m, "bytes", 0, REPORT_JSON_INT_MAX, bytes);
    report_get_int(m, "skipped", 0, REPORT_JSON_INT_MAX, skipped);
    if (*rows < 0 || *bytes < 0 || *skipped < 0) {
        lambda_error_set(err, "SummaryMismatch", "%s lacks rows, bytes or skipped", keys->manifest);
        cJSON_Delete(m);
        return NULL;
    }
    return m;
}

static void scan_free(summary_scan *sc)
{
    for (size_t i = 0; i < sc->table.cap; i++)
        free(sc->table.cells[i].type);
    free(sc->table.cells);
    lambda_report_buf_free(&sc->field[0]);
    lambda_report_buf_free(&sc->field[1]);
}

/* Streams report.csv through the reader and checks it against the
 * manifest. */
static int scan_report(lambda_store *report, const report_keys *keys, summary_scan *sc,
                       int64_t rows, int64_t bytes, lambda_error *err)
{
    uint64_t size;
    int exists;
    if (lambda_store_stat(report, keys->report, &size, &exists, err) != 0)
        return -1;
    if (!exists) {
        store_error(err, LAMBDA_STORE_NOT_FOUND, "%s is missing", keys->report);
        return -1;
    }
    if (lambda_store_get(report, keys->report, 0, 0, scan_sink, sc, err) != 0) {
        if (sc->failed) /* the reader's own error, not the store's */
            *err = sc->own;
        return -1;
    }
    if (sc->in_record && end_record(sc) != 0) { /* a last line without CRLF */
        *err = sc->own;
        return -1;
    }
    if (sc->rows != (uint64_t)rows || sc->bytes != (uint64_t)bytes) {
        lambda_error_set(err, "SummaryMismatch",
                         "%s holds %" PRIu64 " rows in %" PRIu64
                         " bytes, its manifest says %" PRId64 " rows in %" PRId64 " bytes",
                         keys->report, sc->rows, sc->bytes, rows, bytes);
        return -1;
    }
    return 0;
}

static cJSON *answer(lambda_store *report, const char *customer, const char *report_id,
                     const char *key, const summary_scan *sc, int64_t skipped, int64_t n_days,
                     size_t n_types)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "customerId", customer);
    cJSON_AddStringToObject(out, "reportId", report_id);
    cJSON_AddStringToObject(out, "key", key);
    char uri[LAMBDA_STORE_URL_MAX + REPORT_KEY_MAX + 32];
    snprintf(uri, sizeof uri, "%s/%s", lambda_store_url(report), key);
    cJSON_AddStringToObject(out, "uri", uri);
    cJSON_AddNumberToObject(out, "rows", (double)sc->rows);
    cJSON_AddNumberToObject(out, "bytes", (double)sc->bytes);
    cJSON_AddNumberToObject(out, "skipped", (double)skipped);
    cJSON_AddNumberToObject(out, "days", (double)n_days);
    cJSON_AddNumberToObject(out, "types", (double)n_types);
    return out;
}

cJSON *lambda_report_summarize_report(const cJSON *event, const lambda_context *ctx,
                                      lambda_error *err, void *userdata)
{
    (void)ctx;
    (void)userdata;
    const char *customer, *report_id;
    if (report_get_ids(event, &customer, &report_id, err) != 0)
        return NULL;
    lambda_store *data = NULL, *report = NULL;
    if (report_open_stores(&data, &report, err) != 0)
        return NULL;
    lambda_store_close(data); /* the summary reads only the report store */
    report_keys keys;
    report_keys_init(&keys, customer, report_id);
    char key[REPORT_KEY_MAX + sizeof "summary.json"];
    snprintf(key, sizeof key, "%ssummary.json", keys.base);

    cJSON *out = NULL, *doc = NULL;
    summary_scan sc = {0};
    sc.err = &sc.own;
    sc.table.max = report_env_u64("SUMMARY_MAX_CELLS", SUMMARY_DEFAULT_MAX_CELLS);
    int64_t rows, bytes, skipped;
    cJSON *manifest = read_manifest(report, &keys, &rows, &bytes, &skipped, err);
    if (!manifest || scan_report(report, &keys, &sc, rows, bytes, err) != 0)
        goto done;

    doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "customerId", customer);
    cJSON_AddStringToObject(doc, "reportId", report_id);
    cJSON_AddStringToObject(doc, "report", keys.report);
    cJSON_AddNumberToObject(doc, "rows", (double)sc.rows);
    cJSON_AddNumberToObject(doc, "bytes", (double)sc.bytes);
    cJSON_AddNumberToObject(doc, "skipped", (double)skipped);
    cJSON *by = cJSON_GetObjectItemCaseSensitive(manifest, "skippedBy");
    if (cJSON_IsObject(by))
        cJSON_AddItemToObject(doc, "skippedBy", cJSON_Duplicate(by, 1));
    size_t n_types = 0;
    int64_t n_days = add_tables(doc, &sc.table, sorted_cells(&sc.table), &n_types);
    if (n_days < 0) {
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        goto done;
    }
    if (report_put_json(report, key, doc, err) != 0)
        goto done;
    out = answer(report, customer, report_id, key, &sc, skipped, n_days, n_types);
    lambda_log(LAMBDA_LOG_INFO, "summarized %s: %" PRIu64 " rows, %" PRId64 " days, %zu types",
               keys.report, sc.rows, n_days, n_types);
done:
    cJSON_Delete(doc);
    cJSON_Delete(manifest);
    scan_free(&sc);
    lambda_store_close(report);
    return out;
}

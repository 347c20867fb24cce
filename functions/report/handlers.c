/*
 * The report workflow's three handlers. Their exact input and output JSON
 * (the contract the state machine codes against):
 *
 * SplitDateRange
 *   in:  {"customerId":"acme","from":"2024-01-01","to":"2024-12-31",
 *         "reportId":"<execution name>",
 *         "targetBytes":67108864,   optional, default SPLIT_TARGET_BYTES or 64 MiB
 *         "maxParts":2000}          optional, default REPORT_MAX_PARTS or 2000
 *   out: {"customerId","reportId","from","to","days":366,"dataDays":300,
 *         "objects":310,"bytes":123456789,"targetBytes":67108864,
 *         "partCount":2,"planKey":"reports/acme/<reportId>/plan.json",
 *         "parts":[{"index":0,"from":"2024-01-01","to":"2024-06-30"},
 *                  {"index":1,"from":"2024-07-01","to":"2024-12-31"}]}
 *   The same document is written to planKey (MergeSubReports reads its
 *   partCount when the state machine passes neither parts nor partCount).
 *
 * GenerateSubReport
 *   in:  {"customerId","reportId","part":{"index":0,"from":"…","to":"…"}}
 *   out: {"index":0,"key":"reports/acme/<reportId>/part-000000.csv",
 *         "rows":1234,"bytes":456789,"skipped":3}
 *   Also writes part-000000.json (the part's manifest: rows, bytes, skipped
 *   by reason, objects, sourceBytes) next to the CSV.
 *
 * MergeSubReports
 *   in:  {"customerId","reportId",
 *         "parts":[<GenerateSubReport outputs>],  optional (Map results)
 *         "partCount":2,                          optional (SplitDateRange's)
 *         "urlExpiresIn":3600}                    optional, default REPORT_URL_EXPIRES
 *   With "parts" the outputs are checked against the stored parts; without
 *   it the parts are discovered by one paginated listing plus their
 *   manifests, and their number comes from partCount or plan.json — so a
 *   10,000-part report needs no large state.
 *   out: {"customerId","reportId","key":"reports/acme/<reportId>/report.csv",
 *         "uri":"s3://bucket/prefix/reports/…/report.csv","rows":…,"bytes":…,
 *         "parts":2,"skipped":3,
 *         "url":"https://…presigned…","urlExpiresIn":3600}   (S3 stores only)
 *   After a verified merge it writes manifest.json and deletes the parts
 *   in one batch (lambda_store_delete_many: S3 DeleteObjects); a
 *   re-run that finds the parts gone answers from manifest.json.
 *
 * Errors: InvalidInput (bad event), StoreUnavailable / StoreThrottled
 * (retryable), StoreAccessDenied, StoreNotFound, MergeMismatch, and the
 * test-only InjectedFault (REPORT_TEST_FAULT).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "store.h"

#define DEFAULT_TARGET_BYTES (64ull * 1024 * 1024)
#define DEFAULT_MAX_PARTS 2000
#define MAX_PARTS_LIMIT 10000
#define DEFAULT_MAX_SPAN_DAYS 3660
#define DEFAULT_MAX_LINE (1024 * 1024)
#define ROW_FLUSH_BYTES (256 * 1024)
#define PART_KEY_FMT "reports/%s/%s/part-%06d.csv"
#define PART_MANIFEST_FMT "reports/%s/%s/part-%06d.json"

static char data_url[4200];
static char report_url[4200];

static uint64_t env_u64(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return *end == '\0' && n > 0 ? (uint64_t)n : fallback;
}

int lambda_report_init_stores(lambda_error *err)
{
    const char *data = getenv("DATA_STORE");
    const char *report = getenv("REPORT_STORE");
    if (!data || !*data) {
        snprintf(err->type, sizeof err->type, "InvalidConfiguration");
        snprintf(err->message, sizeof err->message, "DATA_STORE is not set");
        return -1;
    }
    if (!report || !*report)
        report = data;
    snprintf(data_url, sizeof data_url, "%s", data);
    snprintf(report_url, sizeof report_url, "%s", report);
    /* Open both once now so that a bad URL fails init, not every invoke. */
    lambda_store *s;
    lambda_store_location loc;
    if (lambda_store_parse_url(data_url, &loc, err) != 0 ||
        lambda_store_parse_url(report_url, &loc, err) != 0)
        return -1;
    if (lambda_store_open(data_url, &s, err) != 0)
        return -1;
    lambda_store_close(s);
    if (lambda_store_open(report_url, &s, err) != 0)
        return -1;
    lambda_store_close(s);
    return 0;
}

/* Stores are opened per invocation: handles are not thread-safe and the
 * runtime may run several invocations at once (Managed Instances). */
static int open_stores(lambda_store **data, lambda_store **report, lambda_error *err)
{
    *data = *report = NULL;
    if (!data_url[0] && lambda_report_init_stores(err) != 0)
        return -1;
    if (lambda_store_open(data_url, data, err) != 0)
        return -1;
    if (report && lambda_store_open(report_url, report, err) != 0) {
        lambda_store_close(*data);
        *data = NULL;
        return -1;
    }
    return 0;
}

/* ---- event fields ---- */

#define invalid(err, ...) lambda_error_set((err), "InvalidInput", __VA_ARGS__)

static const char *get_string(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An optional integer field in [min, max]: 0 ok (*out set, or untouched
 * when absent), -1 when present but not such an integer. */
static int get_int(const cJSON *obj, const char *name, int64_t min, int64_t max, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v)
        return 0;
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    /* Range first (NaN-safe): converting an out-of-range double to int64_t
     * is undefined behaviour. */
    if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d)
        return -1;
    *out = (int64_t)d;
    return 0;
}

static int get_ids(const cJSON *event, const char **customer, const char **report_id,
                   lambda_error *err)
{
    if (!cJSON_IsObject(event))
        return invalid(err, "%s", "the event must be a JSON object"), -1;
    *customer = get_string(event, "customerId");
    *report_id = get_string(event, "reportId");
    if (!*customer || !lambda_report_valid_customer(*customer))
        return invalid(err, "%s", "customerId must be a string of 1-64 [A-Za-z0-9_-]"), -1;
    if (!*report_id || !lambda_report_valid_report_id(*report_id))
        return invalid(err, "%s",
                       "reportId must be a string of 1-80 [A-Za-z0-9_.-], not starting with '.'"),
               -1;
    return 0;
}

static int get_range(const cJSON *obj, int64_t *from, int64_t *to, lambda_error *err)
{
    const char *f = get_string(obj, "from"), *t = get_string(obj, "to");
    if (!f || lambda_report_parse_date(f, from) != 0)
        return invalid(err, "from must be an existing date YYYY-MM-DD, got '%s'", f ? f : "(none)"),
               -1;
    if (!t || lambda_report_parse_date(t, to) != 0)
        return invalid(err, "to must be an existing date YYYY-MM-DD, got '%s'", t ? t : "(none)"),
               -1;
    if (*from > *to)
        return invalid(err, "%s", "from is after to"), -1;
    uint64_t max_span = env_u64("SPLIT_MAX_SPAN_DAYS", DEFAULT_MAX_SPAN_DAYS);
    if ((uint64_t)(*to - *from + 1) > max_span) {
        char msg[64];
        snprintf(msg, sizeof msg, "%" PRIu64, max_span);
        return invalid(err, "the range spans more than %s days", msg), -1;
    }
    return 0;
}

static void add_date(cJSON *obj, const char *name, int64_t day)
{
    char s[11];
    lambda_report_format_date(day, s);
    cJSON_AddStringToObject(obj, name, s);
}

/* ---- SplitDateRange ---- */

typedef struct split_scan {
    const char *prefix;
    size_t prefix_len;
    int64_t to;
    lambda_report_day *days;
    size_t n_days, cap;
    uint64_t objects, bytes;
    int oom;
} split_scan;

/* "<prefix>YYYY-MM-DD/<name>.ndjson" -> that day; -1 if the key is not a
 * source object. */
static int64_t source_day(const char *key, size_t prefix_len)
{
    const char *d = key + prefix_len;
    size_t n = strlen(key);
    if (strlen(d) < 12 || d[10] != '/' || strchr(d + 11, '/') || n < 7 ||
        strcmp(key + n - 7, ".ndjson") != 0)
        return -1;
    char date[11];
    memcpy(date, d, 10);
    date[10] = '\0';
    int64_t day;
    return lambda_report_parse_date(date, &day) == 0 ? day : -1;
}

static int split_visit(const char *key, uint64_t size, void *ud)
{
    split_scan *sc = ud;
    int64_t day = source_day(key, sc->prefix_len);
    if (day < 0)
        return 0;
    if (day > sc->to)
        return 1; /* keys are sorted by date: the range is done */
    sc->objects++;
    sc->bytes += size;
    if (sc->n_days > 0 && sc->days[sc->n_days - 1].day == day) {
        sc->days[sc->n_days - 1].bytes += size;
        return 0;
    }
    if (sc->n_days == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 64;
        lambda_report_day *grown = realloc(sc->days, cap * sizeof *grown);
        if (!grown) {
            sc->oom = 1;
            return 1;
        }
        sc->days = grown;
        sc->cap = cap;
    }
    sc->days[sc->n_days].day = day;
    sc->days[sc->n_days].bytes = size;
    sc->n_days++;
    return 0;
}

cJSON *lambda_report_split_date_range(const cJSON *event, const lambda_context *ctx,
                                      lambda_error *err, void *userdata)
{
    const char *customer, *report_id;
    int64_t from, to;
    if (get_ids(event, &customer, &report_id, err) != 0 || get_range(event, &from, &to, err) != 0)
        return NULL;
    int64_t target = (int64_t)env_u64("SPLIT_TARGET_BYTES", DEFAULT_TARGET_BYTES);
    int64_t max_parts = (int64_t)env_u64("REPORT_MAX_PARTS", DEFAULT_MAX_PARTS);
    if (get_int(event, "targetBytes", 1, INT64_C(1) << 40, &target) != 0)
        return invalid(err, "%s", "targetBytes must be an integer in 1..2^40");
    if (get_int(event, "maxParts", 1, MAX_PARTS_LIMIT, &max_parts) != 0)
        return invalid(err, "%s", "maxParts must be an integer in 1..10000");

    lambda_store *data, *report;
    if (open_stores(&data, &report, err) != 0)
        return NULL;
    char prefix[200], after[220];
    snprintf(prefix, sizeof prefix, "prospects/customer=%s/date=", customer);
    char from_s[11], to_s[11];
    lambda_report_format_date(from, from_s);
    lambda_report_format_date(to, to_s);
    /* "…/date=<from>" sorts before every key of that day and after all
     * earlier days: one listing from there, stopped after `to`. */
    snprintf(after, sizeof after, "%s%s", prefix, from_s);
    split_scan sc = {.prefix = prefix, .prefix_len = strlen(prefix), .to = to};
    cJSON *out = NULL;
    lambda_report_part *parts = NULL;
    if (lambda_store_list(data, prefix, after, split_visit, &sc, err) != 0)
        goto done;
    if (sc.oom) {
        lambda_error_set(err, "StoreUnavailable", "out of memory while listing");
        goto done;
    }
    parts = calloc(sc.n_days ? sc.n_days : 1, sizeof *parts);
    if (!parts) {
        lambda_error_set(err, "StoreUnavailable", "out of memory");
        goto done;
    }
    size_t n = lambda_report_split(from, to, sc.days, sc.n_days, (uint64_t)target, parts);
    /* Too many parts for the workflow's state: coarser parts. */
    while (n > (size_t)max_parts) {
        target *= 2;
        n = lambda_report_split(from, to, sc.days, sc.n_days, (uint64_t)target, parts);
    }

    out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "customerId", customer);
    cJSON_AddStringToObject(out, "reportId", report_id);
    cJSON_AddStringToObject(out, "from", from_s);
    cJSON_AddStringToObject(out, "to", to_s);
    cJSON_AddNumberToObject(out, "days", (double)(to - from + 1));
    cJSON_AddNumberToObject(out, "dataDays", (double)sc.n_days);
    cJSON_AddNumberToObject(out, "objects", (double)sc.objects);
    cJSON_AddNumberToObject(out, "bytes", (double)sc.bytes);
    cJSON_AddNumberToObject(out, "targetBytes", (double)target);
    cJSON_AddNumberToObject(out, "partCount", (double)n);
    char plan_key[300];
    snprintf(plan_key, sizeof plan_key, "reports/%s/%s/plan.json", customer, report_id);
    cJSON_AddStringToObject(out, "planKey", plan_key);
    cJSON *arr = cJSON_AddArrayToObject(out, "parts");
    for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "index", (double)i);
        add_date(p, "from", parts[i].from);
        add_date(p, "to", parts[i].to);
        cJSON_AddItemToArray(arr, p);
    }
    char *plan = cJSON_PrintUnformatted(out);
    int rc = plan ? lambda_store_put_buffer(report, plan_key, plan, strlen(plan), err) : -1;
    if (!plan)
        lambda_error_set(err, "StoreUnavailable", "out of memory");
    free(plan);
    if (rc != 0) {
        cJSON_Delete(out);
        out = NULL;
        goto done;
    }
    lambda_log(LAMBDA_LOG_INFO,
               "split %s %s..%s: %" PRIu64 " objects, %" PRIu64 " bytes, %zu parts (target %" PRId64
               ")",
               customer, from_s, to_s, sc.objects, sc.bytes, n, target);
done:
    free(parts);
    free(sc.days);
    lambda_store_close(data);
    lambda_store_close(report);
    return out;
}

/* ---- GenerateSubReport ---- */

/* REPORT_TEST_FAULT=transient:<i>|permanent:<i> (tests only): 1 when this
 * attempt must fail (err set), 0 otherwise. */
static int injected_fault(const char *report_id, int64_t index, lambda_error *err)
{
    const char *spec = getenv("REPORT_TEST_FAULT");
    if (!spec || !*spec)
        return 0;
    int transient = strncmp(spec, "transient:", 10) == 0;
    int permanent = strncmp(spec, "permanent:", 10) == 0;
    char *end;
    long long target = (transient || permanent) ? strtoll(spec + 10, &end, 10) : -1;
    if (target != index)
        return 0;
    if (permanent) {
        lambda_error_set(err, "InjectedFault", "injected permanent fault for part %lld", target);
        return 1;
    }
    const char *dir = getenv("REPORT_TEST_FAULT_STATE");
    char marker[4200];
    snprintf(marker, sizeof marker, "%s/transient-%s-%lld", dir && *dir ? dir : "/tmp", report_id,
             target);
    int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return 0; /* the marker exists: this is the retry, let it pass */
    close(fd);
    lambda_error_set(err, "StoreUnavailable", "injected transient fault for part %lld", target);
    return 1;
}

typedef struct key_list {
    char **keys;
    uint64_t *sizes; /* as listed: a read must deliver exactly this much */
    size_t n, cap;
    uint64_t bytes;
    const char *prefix;
    size_t prefix_len;
    int64_t to;
    int oom;
} key_list;

static int collect_key(const char *key, uint64_t size, void *ud)
{
    key_list *kl = ud;
    int64_t day = source_day(key, kl->prefix_len);
    if (day < 0)
        return 0;
    if (day > kl->to)
        return 1;
    if (kl->n == kl->cap) {
        size_t cap = kl->cap ? kl->cap * 2 : 64;
        char **grown = realloc(kl->keys, cap * sizeof *grown);
        if (grown)
            kl->keys = grown;
        uint64_t *sizes = grown ? realloc(kl->sizes, cap * sizeof *sizes) : NULL;
        if (!sizes) {
            kl->oom = 1;
            return 1;
        }
        kl->sizes = sizes;
        kl->cap = cap;
    }
    if (!(kl->keys[kl->n] = strdup(key))) {
        kl->oom = 1;
        return 1;
    }
    kl->sizes[kl->n] = size;
    kl->n++;
    kl->bytes += size;
    return 0;
}

typedef struct gen_state {
    const char *customer;
    lambda_report_lines lines;
    lambda_report_buf row;
    lambda_store_writer *w;
    uint64_t rows;
    uint64_t skipped[LAMBDA_SKIP_COUNT];
    lambda_error *err;
    int failed;
    uint64_t object_bytes; /* bytes read from the current object */
} gen_state;

static int flush_rows(gen_state *g)
{
    if (g->row.len == 0)
        return 0;
    if (lambda_store_put_write(g->w, g->row.data, g->row.len, g->err) != 0)
        return -1;
    g->row.len = 0;
    return 0;
}

static int on_line(const char *line, size_t len, int too_long, void *ud)
{
    gen_state *g = ud;
    if (too_long) {
        g->skipped[LAMBDA_SKIP_TOO_LONG]++;
        return 0;
    }
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return 0; /* blank lines carry no event */
    lambda_report_skip why;
    int r = lambda_report_event_to_row(line, len, g->customer, &g->row, &why);
    if (r < 0) {
        lambda_error_set(g->err, "StoreUnavailable", "out of memory");
        return -1;
    }
    if (r == 0) {
        g->skipped[why]++;
        return 0;
    }
    g->rows++;
    return g->row.len >= ROW_FLUSH_BYTES ? flush_rows(g) : 0;
}

static int feed_lines(const char *data, size_t len, void *ud)
{
    gen_state *g = ud;
    g->object_bytes += len;
    return lambda_report_lines_feed(&g->lines, data, len);
}

cJSON *lambda_report_generate_sub_report(const cJSON *event, const lambda_context *ctx,
                                         lambda_error *err, void *userdata)
{
    const char *customer, *report_id;
    int64_t from, to, index = -1;
    if (get_ids(event, &customer, &report_id, err) != 0)
        return NULL;
    const cJSON *part = cJSON_GetObjectItemCaseSensitive(event, "part");
    if (!cJSON_IsObject(part))
        return invalid(err, "%s", "part must be an object {index, from, to}");
    if (get_int(part, "index", 0, 999999, &index) != 0 || index < 0)
        return invalid(err, "%s", "part.index must be an integer in 0..999999");
    if (get_range(part, &from, &to, err) != 0)
        return NULL;
    if (injected_fault(report_id, index, err))
        return NULL;

    lambda_store *data, *report;
    if (open_stores(&data, &report, err) != 0)
        return NULL;
    char prefix[200], after[220], from_s[11], key[300], manifest_key[300];
    snprintf(prefix, sizeof prefix, "prospects/customer=%s/date=", customer);
    lambda_report_format_date(from, from_s);
    snprintf(after, sizeof after, "%s%s", prefix, from_s);
    snprintf(key, sizeof key, PART_KEY_FMT, customer, report_id, (int)index);
    snprintf(manifest_key, sizeof manifest_key, PART_MANIFEST_FMT, customer, report_id, (int)index);

    key_list kl = {.prefix = prefix, .prefix_len = strlen(prefix), .to = to};
    gen_state g = {.customer = customer, .err = err};
    cJSON *out = NULL;
    if (lambda_store_list(data, prefix, after, collect_key, &kl, err) != 0)
        goto done;
    if (kl.oom || lambda_report_lines_init(&g.lines, env_u64("REPORT_MAX_LINE", DEFAULT_MAX_LINE),
                                           on_line, &g) != 0) {
        lambda_error_set(err, "StoreUnavailable", "out of memory");
        goto done;
    }
    if (lambda_store_put_begin(report, key, &g.w, err) != 0)
        goto done;
    for (size_t i = 0; i < kl.n; i++) {
        lambda_report_lines_reset(&g.lines);
        g.object_bytes = 0;
        if (lambda_store_get(data, kl.keys[i], 0, 0, feed_lines, &g, err) != 0) {
            g.failed = 1;
            break;
        }
        /* A body short of the listed size with a matching Content-Length is
         * invisible to HTTP: without this check its rows would be lost. */
        if (g.object_bytes != kl.sizes[i]) {
            lambda_error_set(err, "StoreUnavailable",
                             "%s: read %" PRIu64 " bytes, the listing said %" PRIu64
                             " (truncated, or changed while reading)",
                             kl.keys[i], g.object_bytes, kl.sizes[i]);
            g.failed = 1;
            break;
        }
        if (lambda_report_lines_finish(&g.lines) != 0) {
            g.failed = 1;
            break;
        }
    }
    if (!g.failed && flush_rows(&g) != 0)
        g.failed = 1;
    if (g.failed) {
        lambda_store_put_abort(g.w);
        goto done;
    }
    uint64_t bytes = lambda_store_put_bytes(g.w);
    if (lambda_store_put_commit(g.w, err) != 0)
        goto done;

    uint64_t skipped = 0;
    cJSON *by = cJSON_CreateObject();
    for (int r = 1; r < LAMBDA_SKIP_COUNT; r++) {
        skipped += g.skipped[r];
        cJSON_AddNumberToObject(by, lambda_report_skip_names[r], (double)g.skipped[r]);
    }
    cJSON *manifest = cJSON_CreateObject();
    cJSON_AddNumberToObject(manifest, "index", (double)index);
    add_date(manifest, "from", from);
    add_date(manifest, "to", to);
    cJSON_AddStringToObject(manifest, "key", key);
    cJSON_AddNumberToObject(manifest, "rows", (double)g.rows);
    cJSON_AddNumberToObject(manifest, "bytes", (double)bytes);
    cJSON_AddNumberToObject(manifest, "skipped", (double)skipped);
    cJSON_AddItemToObject(manifest, "skippedBy", by);
    cJSON_AddNumberToObject(manifest, "objects", (double)kl.n);
    cJSON_AddNumberToObject(manifest, "sourceBytes", (double)kl.bytes);
    char *text = cJSON_PrintUnformatted(manifest);
    cJSON_Delete(manifest);
    int rc = text ? lambda_store_put_buffer(report, manifest_key, text, strlen(text), err) : -1;
    if (!text)
        lambda_error_set(err, "StoreUnavailable", "out of memory");
    free(text);
    if (rc != 0)
        goto done;

    out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "index", (double)index);
    cJSON_AddStringToObject(out, "key", key);
    cJSON_AddNumberToObject(out, "rows", (double)g.rows);
    cJSON_AddNumberToObject(out, "bytes", (double)bytes);
    cJSON_AddNumberToObject(out, "skipped", (double)skipped);
    lambda_log(LAMBDA_LOG_INFO,
               "part %" PRId64 ": %zu objects, %" PRIu64 " source bytes -> %" PRIu64
               " rows, %" PRIu64 " bytes, %" PRIu64 " skipped",
               index, kl.n, kl.bytes, g.rows, bytes, skipped);
done:
    for (size_t i = 0; i < kl.n; i++)
        free(kl.keys[i]);
    free(kl.keys);
    free(kl.sizes);
    lambda_report_lines_free(&g.lines);
    lambda_report_buf_free(&g.row);
    lambda_store_close(data);
    lambda_store_close(report);
    return out;
}

/* ---- MergeSubReports ---- */

typedef struct part_info {
    int have_csv, have_manifest, claimed;
    uint64_t size;
    uint64_t rows, bytes, skipped;
} part_info;

typedef struct merge_scan {
    part_info *parts;
    size_t n;
    size_t prefix_len;
    size_t found_csv, found_any;
} merge_scan;

static int merge_visit(const char *key, uint64_t size, void *ud)
{
    merge_scan *ms = ud;
    const char *name = key + ms->prefix_len; /* "000012.csv" */
    char *end;
    long idx = strtol(name, &end, 10);
    if (end != name + 6 || idx < 0)
        return 0;
    int csv = strcmp(end, ".csv") == 0, json = strcmp(end, ".json") == 0;
    if ((!csv && !json) || (size_t)idx >= ms->n)
        return 0; /* not ours, or beyond this plan: left alone */
    ms->found_any++;
    if (csv) {
        ms->parts[idx].have_csv = 1;
        ms->parts[idx].size = size;
        ms->found_csv++;
    } else {
        ms->parts[idx].have_manifest = 1;
    }
    return 0;
}

static int collect_sink(const char *data, size_t len, void *ud)
{
    return lambda_report_buf_add(ud, data, len);
}

/* Reads a small JSON object from the store. */
static cJSON *read_json(lambda_store *s, const char *key, lambda_error *err)
{
    lambda_report_buf b = {0};
    uint64_t size;
    int exists;
    if (lambda_store_stat(s, key, &size, &exists, err) != 0)
        return NULL;
    if (!exists || size > 16 * 1024 * 1024) {
        lambda_error_set(err, "StoreNotFound", "%s is missing", key);
        return NULL;
    }
    if (lambda_store_get(s, key, 0, 0, collect_sink, &b, err) != 0) {
        lambda_report_buf_free(&b);
        return NULL;
    }
    cJSON *j = b.data ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    lambda_report_buf_free(&b);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        lambda_error_set(err, "MergeMismatch", "%s is not a JSON object", key);
        return NULL;
    }
    return j;
}

static int take_claims(const cJSON *arr, part_info *parts, size_t n, lambda_error *err)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, arr)
    {
        int64_t idx = -1, rows = -1, bytes = -1, skipped = 0;
        if (!cJSON_IsObject(p) || get_int(p, "index", 0, (int64_t)n - 1, &idx) != 0 ||
            get_int(p, "rows", 0, INT64_C(1) << 53, &rows) != 0 ||
            get_int(p, "bytes", 0, INT64_C(1) << 53, &bytes) != 0 ||
            get_int(p, "skipped", 0, INT64_C(1) << 53, &skipped) != 0 || idx < 0 || rows < 0 ||
            bytes < 0) {
            invalid(err, "%s",
                    "each of parts must be {index, rows, bytes, skipped} "
                    "with index in 0..parts-1");
            return -1;
        }
        if (parts[idx].claimed) {
            lambda_error_set(err, "InvalidInput", "part %" PRId64 " is listed twice", idx);
            return -1;
        }
        parts[idx].claimed = 1;
        parts[idx].rows = (uint64_t)rows;
        parts[idx].bytes = (uint64_t)bytes;
        parts[idx].skipped = (uint64_t)skipped;
    }
    return 0;
}

static cJSON *merge_output(lambda_store *report, const char *customer, const char *report_id,
                           const char *key, uint64_t rows, uint64_t bytes, size_t n,
                           uint64_t skipped, long expires, lambda_error *err)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "customerId", customer);
    cJSON_AddStringToObject(out, "reportId", report_id);
    cJSON_AddStringToObject(out, "key", key);
    char uri[4600];
    snprintf(uri, sizeof uri, "%s/%s", lambda_store_url(report), key);
    cJSON_AddStringToObject(out, "uri", uri);
    cJSON_AddNumberToObject(out, "rows", (double)rows);
    cJSON_AddNumberToObject(out, "bytes", (double)bytes);
    cJSON_AddNumberToObject(out, "parts", (double)n);
    cJSON_AddNumberToObject(out, "skipped", (double)skipped);
    if (lambda_store_is_s3(report)) {
        char *url = lambda_store_presign_get(report, key, expires, err);
        if (!url) {
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddStringToObject(out, "url", url);
        cJSON_AddNumberToObject(out, "urlExpiresIn", (double)expires);
        free(url);
    }
    return out;
}

/* Deletes every part and manifest found, 1000 keys a call (S3: one
 * DeleteObjects request each instead of one DELETE per key; memory stays
 * bounded whatever the number of parts). */
#define DELETE_CHUNK 1000
static int delete_parts(lambda_store *report, const char *customer, const char *report_id,
                        const part_info *parts, size_t n, lambda_error *err)
{
    char(*keys)[300] = malloc(DELETE_CHUNK * sizeof *keys);
    const char **ptrs = malloc(DELETE_CHUNK * sizeof *ptrs);
    if (!keys || !ptrs) {
        free(keys);
        free(ptrs);
        lambda_error_set(err, "StoreUnavailable", "out of memory");
        return -1;
    }
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i <= n; i++) {
        /* Flush before a part that might not fit, and after the last. */
        if (k > 0 && (i == n || k + 2 > DELETE_CHUNK)) {
            rc = lambda_store_delete_many(report, ptrs, k, err);
            k = 0;
        }
        if (i == n || rc != 0)
            break;
        if (parts[i].have_csv) {
            snprintf(keys[k], sizeof keys[0], PART_KEY_FMT, customer, report_id, (int)i);
            ptrs[k] = keys[k];
            k++;
        }
        if (parts[i].have_manifest) {
            snprintf(keys[k], sizeof keys[0], PART_MANIFEST_FMT, customer, report_id, (int)i);
            ptrs[k] = keys[k];
            k++;
        }
    }
    free(keys);
    free(ptrs);
    return rc;
}

cJSON *lambda_report_merge_sub_reports(const cJSON *event, const lambda_context *ctx,
                                       lambda_error *err, void *userdata)
{
    const char *customer, *report_id;
    if (get_ids(event, &customer, &report_id, err) != 0)
        return NULL;
    int64_t count = -1, expires = (int64_t)env_u64("REPORT_URL_EXPIRES", 3600);
    if (get_int(event, "partCount", 0, MAX_PARTS_LIMIT, &count) != 0)
        return invalid(err, "%s", "partCount must be an integer in 0..10000");
    if (get_int(event, "urlExpiresIn", 1, 604800, &expires) != 0)
        return invalid(err, "%s", "urlExpiresIn must be an integer in 1..604800 seconds");
    const cJSON *claims = cJSON_GetObjectItemCaseSensitive(event, "parts");
    if (claims && !cJSON_IsArray(claims))
        return invalid(err, "%s", "parts must be an array of GenerateSubReport outputs");
    if (claims) {
        int64_t n = cJSON_GetArraySize(claims);
        if (count >= 0 && count != n)
            return invalid(err, "%s", "partCount does not match the length of parts");
        if (n > MAX_PARTS_LIMIT)
            return invalid(err, "%s", "more than 10000 parts");
        count = n;
    }

    lambda_store *report, *unused = NULL;
    if (open_stores(&unused, &report, err) != 0)
        return NULL;
    lambda_store_close(unused);
    char base[200], key[400], manifest_key[400], prefix[400];
    snprintf(base, sizeof base, "reports/%s/%s/", customer, report_id);
    snprintf(key, sizeof key, "%sreport.csv", base);
    snprintf(manifest_key, sizeof manifest_key, "%smanifest.json", base);
    snprintf(prefix, sizeof prefix, "%spart-", base);
    cJSON *out = NULL, *plan = NULL, *done_manifest = NULL;
    part_info *parts = NULL;
    lambda_store_writer *w = NULL;

    if (count < 0) {
        char plan_key[320];
        snprintf(plan_key, sizeof plan_key, "%splan.json", base);
        plan = read_json(report, plan_key, err);
        if (!plan || get_int(plan, "partCount", 0, MAX_PARTS_LIMIT, &count) != 0 || count < 0) {
            if (plan || strcmp(err->type, "StoreNotFound") == 0)
                lambda_error_set(err, "InvalidInput",
                                 "no parts or partCount given and no "
                                 "usable %s",
                                 plan_key);
            goto done;
        }
    }
    size_t n = (size_t)count;
    parts = calloc(n ? n : 1, sizeof *parts);
    if (!parts) {
        lambda_error_set(err, "StoreUnavailable", "out of memory");
        goto done;
    }
    if (claims && take_claims(claims, parts, n, err) != 0)
        goto done;
    merge_scan ms = {.parts = parts, .n = n, .prefix_len = strlen(prefix)};
    if (lambda_store_list(report, prefix, NULL, merge_visit, &ms, err) != 0)
        goto done;

    if (ms.found_csv < n) {
        /* Parts gone: either a finished merge being re-run (answer as it
         * did) or a real loss. */
        uint64_t size;
        int exists;
        if (lambda_store_stat(report, manifest_key, &size, &exists, err) != 0)
            goto done;
        if (!exists) {
            size_t missing = 0;
            while (missing < n && parts[missing].have_csv)
                missing++;
            lambda_error_set(err, "MergeMismatch", "part %zu of %zu is missing (%zu found)",
                             missing, n, ms.found_csv);
            goto done;
        }
        if (!(done_manifest = read_json(report, manifest_key, err)))
            goto done;
        int64_t rows = -1, bytes = -1, skipped = -1, np = -1;
        get_int(done_manifest, "rows", 0, INT64_C(1) << 53, &rows);
        get_int(done_manifest, "bytes", 0, INT64_C(1) << 53, &bytes);
        get_int(done_manifest, "skipped", 0, INT64_C(1) << 53, &skipped);
        get_int(done_manifest, "parts", 0, MAX_PARTS_LIMIT, &np);
        if (rows < 0 || bytes < 0 || skipped < 0 || np != (int64_t)n ||
            lambda_store_stat(report, key, &size, &exists, err) != 0 || !exists ||
            size != (uint64_t)bytes) {
            if (!err->type[0] || strcmp(err->type, "StoreNotFound") == 0)
                lambda_error_set(err, "MergeMismatch",
                                 "%zu of %zu parts are missing and the "
                                 "earlier merge's report does not match its manifest",
                                 n - ms.found_csv, n);
            goto done;
        }
        if (ms.found_any && delete_parts(report, customer, report_id, parts, n, err) != 0)
            goto done;
        out = merge_output(report, customer, report_id, key, (uint64_t)rows, (uint64_t)bytes, n,
                           (uint64_t)skipped, (long)expires, err);
        goto done;
    }

    /* Every part is there: learn rows (claims or manifests), check sizes. */
    uint64_t rows = 0, skipped = 0, bytes = strlen(lambda_report_csv_header);
    for (size_t i = 0; i < n; i++) {
        if (!claims) {
            char mkey[300];
            snprintf(mkey, sizeof mkey, PART_MANIFEST_FMT, customer, report_id, (int)i);
            cJSON *m = read_json(report, mkey, err);
            int64_t r = -1, b = -1, sk = -1;
            if (m) {
                get_int(m, "rows", 0, INT64_C(1) << 53, &r);
                get_int(m, "bytes", 0, INT64_C(1) << 53, &b);
                get_int(m, "skipped", 0, INT64_C(1) << 53, &sk);
            }
            cJSON_Delete(m);
            if (!m)
                goto done;
            if (r < 0 || b < 0 || sk < 0) {
                lambda_error_set(err, "MergeMismatch", "manifest of part %zu is malformed", i);
                goto done;
            }
            parts[i].rows = (uint64_t)r;
            parts[i].bytes = (uint64_t)b;
            parts[i].skipped = (uint64_t)sk;
        } else if (!parts[i].claimed) {
            invalid(err, "%s", "parts must list every index 0..n-1 once");
            goto done;
        }
        if (parts[i].size != parts[i].bytes) {
            lambda_error_set(err, "MergeMismatch",
                             "part %zu holds %" PRIu64 " bytes, its "
                             "report says %" PRIu64,
                             i, parts[i].size, parts[i].bytes);
            goto done;
        }
        rows += parts[i].rows;
        skipped += parts[i].skipped;
        bytes += parts[i].size;
    }

    if (lambda_store_put_begin(report, key, &w, err) != 0 ||
        lambda_store_put_write(w, lambda_report_csv_header, strlen(lambda_report_csv_header),
                               err) != 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        char pkey[300];
        snprintf(pkey, sizeof pkey, PART_KEY_FMT, customer, report_id, (int)i);
        if (lambda_store_put_append(w, pkey, parts[i].size, err) != 0)
            goto done;
    }
    lambda_store_writer *committing = w;
    w = NULL;
    if (lambda_store_put_commit(committing, err) != 0)
        goto done;

    uint64_t size;
    int exists;
    if (lambda_store_stat(report, key, &size, &exists, err) != 0)
        goto done;
    if (!exists || size != bytes) {
        lambda_error_set(err, "MergeMismatch",
                         "merged report holds %" PRIu64 " bytes, the "
                         "parts add up to %" PRIu64,
                         size, bytes);
        goto done;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "customerId", customer);
    cJSON_AddStringToObject(m, "reportId", report_id);
    cJSON_AddStringToObject(m, "key", key);
    cJSON_AddNumberToObject(m, "rows", (double)rows);
    cJSON_AddNumberToObject(m, "bytes", (double)bytes);
    cJSON_AddNumberToObject(m, "parts", (double)n);
    cJSON_AddNumberToObject(m, "skipped", (double)skipped);
    char *text = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    int rc = text ? lambda_store_put_buffer(report, manifest_key, text, strlen(text), err) : -1;
    if (!text)
        lambda_error_set(err, "StoreUnavailable", "out of memory");
    free(text);
    if (rc != 0 || delete_parts(report, customer, report_id, parts, n, err) != 0)
        goto done;
    out =
        merge_output(report, customer, report_id, key, rows, bytes, n, skipped, (long)expires, err);
    if (out)
        lambda_log(LAMBDA_LOG_INFO, "merged %zu parts into %s: %" PRIu64 " rows, %" PRIu64 " bytes",
                   n, key, rows, bytes);
done:
    if (w)
        lambda_store_put_abort(w);
    cJSON_Delete(plan);
    cJSON_Delete(done_manifest);
    free(parts);
    lambda_store_close(report);
    return out;
}

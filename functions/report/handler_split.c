/*
 * SplitDateRange: one paginated listing of the customer's source objects
 * from `from` to `to` gives each day's bytes; the days are grouped into
 * parts near a target size (lambda_report_split, split.c), the plan is
 * written to plan.json and returned.
 *
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
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler_common.h"

typedef struct split_input {
    const char *customer, *report_id;
    int64_t from, to;
    int64_t target, max_parts;
} split_input;

/* The days that hold data, with their bytes, as the listing found them. */
typedef struct split_scan {
    size_t prefix_len;
    int64_t to;
    lambda_report_day *days;
    size_t n_days, cap;
    uint64_t objects, bytes;
    int oom;
} split_scan;

static int read_input(const cJSON *event, split_input *in, lambda_error *err)
{
    if (report_get_ids(event, &in->customer, &in->report_id, err) != 0 ||
        report_get_range(event, &in->from, &in->to, err) != 0)
        return -1;
    in->target = (int64_t)report_env_u64("SPLIT_TARGET_BYTES", REPORT_DEFAULT_TARGET_BYTES);
    in->max_parts = (int64_t)report_env_u64("REPORT_MAX_PARTS", REPORT_DEFAULT_MAX_PARTS);
    if (report_get_int(event, "targetBytes", 1, INT64_C(1) << 40, &in->target) != 0)
        return invalid(err, "%s", "targetBytes must be an integer in 1..2^40"), -1;
    if (report_get_int(event, "maxParts", 1, REPORT_MAX_PARTS_LIMIT, &in->max_parts) != 0)
        return invalid(err, "%s", "maxParts must be an integer in 1..10000"), -1;
    return 0;
}

static int scan_visit(const char *key, uint64_t size, void *ud)
{
    split_scan *sc = ud;
    int64_t day = report_source_day(key, sc->prefix_len);
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

/* Step 1: the bytes of each day in [from, to]. */
static int scan_days(lambda_store *data, const split_input *in, split_scan *sc, lambda_error *err)
{
    char prefix[REPORT_KEY_MAX], after[REPORT_KEY_MAX], from_s[11];
    snprintf(prefix, sizeof prefix, REPORT_SOURCE_PREFIX_FMT, in->customer);
    lambda_report_format_date(in->from, from_s);
    /* "…/date=<from>" sorts before every key of that day and after all
     * earlier days: one listing from there, stopped after `to`. */
    snprintf(after, sizeof after, REPORT_SOURCE_PREFIX_FMT "%s", in->customer, from_s);
    sc->prefix_len = strlen(prefix);
    sc->to = in->to;
    if (lambda_store_list(data, prefix, after, scan_visit, sc, err) != 0)
        return -1;
    if (sc->oom) {
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory while listing");
        return -1;
    }
    return 0;
}

/* Step 2: parts near the target; too many for the workflow's state gives
 * coarser parts. Returns the number of parts, or -1 when out of memory. */
static long plan_parts(const split_input *in, const split_scan *sc, int64_t *target,
                       lambda_report_part **parts, lambda_error *err)
{
    *parts = calloc(sc->n_days ? sc->n_days : 1, sizeof **parts);
    if (!*parts) {
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return -1;
    }
    *target = in->target;
    size_t n =
        lambda_report_split(in->from, in->to, sc->days, sc->n_days, (uint64_t)*target, *parts);
    while (n > (size_t)in->max_parts) {
        *target *= 2;
        n = lambda_report_split(in->from, in->to, sc->days, sc->n_days, (uint64_t)*target, *parts);
    }
    return (long)n;
}

/* Step 3: the plan document (the handler's answer and plan.json). */
static cJSON *plan_json(const split_input *in, const split_scan *sc, int64_t target,
                        const lambda_report_part *parts, size_t n, const char *plan_key)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "customerId", in->customer);
    cJSON_AddStringToObject(out, "reportId", in->report_id);
    report_add_date(out, "from", in->from);
    report_add_date(out, "to", in->to);
    cJSON_AddNumberToObject(out, "days", (double)(in->to - in->from + 1));
    cJSON_AddNumberToObject(out, "dataDays", (double)sc->n_days);
    cJSON_AddNumberToObject(out, "objects", (double)sc->objects);
    cJSON_AddNumberToObject(out, "bytes", (double)sc->bytes);
    cJSON_AddNumberToObject(out, "targetBytes", (double)target);
    cJSON_AddNumberToObject(out, "partCount", (double)n);
    cJSON_AddStringToObject(out, "planKey", plan_key);
    cJSON *arr = cJSON_AddArrayToObject(out, "parts");
    for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "index", (double)i);
        report_add_date(p, "from", parts[i].from);
        report_add_date(p, "to", parts[i].to);
        cJSON_AddItemToArray(arr, p);
    }
    return out;
}

cJSON *lambda_report_split_date_range(const cJSON *event, const lambda_context *ctx,
                                      lambda_error *err, void *userdata)
{
    split_input in;
    if (read_input(event, &in, err) != 0)
        return NULL;
    lambda_store *data, *report;
    if (report_open_stores(&data, &report, err) != 0)
        return NULL;
    split_scan sc = {0};
    lambda_report_part *parts = NULL;
    cJSON *out = NULL;
    int64_t target;
    long n;
    if (scan_days(data, &in, &sc, err) != 0 || (n = plan_parts(&in, &sc, &target, &parts, err)) < 0)
        goto done;
    report_keys keys;
    report_keys_init(&keys, in.customer, in.report_id);
    out = plan_json(&in, &sc, target, parts, (size_t)n, keys.plan);
    if (report_put_json(report, keys.plan, out, err) != 0) {
        cJSON_Delete(out);
        out = NULL;
        goto done;
    }
    char from_s[11], to_s[11];
    lambda_report_format_date(in.from, from_s);
    lambda_report_format_date(in.to, to_s);
    lambda_log(LAMBDA_LOG_INFO,
               "split %s %s..%s: %" PRIu64 " objects, %" PRIu64 " bytes, %ld parts (target %" PRId64
               ")",
               in.customer, from_s, to_s, sc.objects, sc.bytes, n, target);
done:
    free(parts);
    free(sc.days);
    lambda_store_close(data);
    lambda_store_close(report);
    return out;
}

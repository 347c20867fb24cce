/*
 * The handlers' shared reading of events and naming of keys: one place for
 * the InvalidInput messages the workflow's callers see and for the layout of
 * a report's objects.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler_common.h"

uint64_t report_env_u64(const char *name, uint64_t fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return *end == '\0' && n > 0 ? (uint64_t)n : fallback;
}

const char *report_get_string(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int report_get_int(const cJSON *obj, const char *name, int64_t min, int64_t max, int64_t *out)
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

int report_get_ids(const cJSON *event, const char **customer, const char **report_id,
                   lambda_error *err)
{
    if (!cJSON_IsObject(event))
        return invalid(err, "%s", "the event must be a JSON object"), -1;
    *customer = report_get_string(event, "customerId");
    *report_id = report_get_string(event, "reportId");
    if (!*customer || !lambda_report_valid_customer(*customer))
        return invalid(err, "%s", "customerId must be a string of 1-64 [A-Za-z0-9_-]"), -1;
    if (!*report_id || !lambda_report_valid_report_id(*report_id))
        return invalid(err, "%s",
                       "reportId must be a string of 1-80 [A-Za-z0-9_.-], not starting with '.'"),
               -1;
    return 0;
}

int report_get_range(const cJSON *obj, int64_t *from, int64_t *to, lambda_error *err)
{
    const char *f = report_get_string(obj, "from"), *t = report_get_string(obj, "to");
    if (!f || lambda_report_parse_date(f, from) != 0)
        return invalid(err, "from must be an existing date YYYY-MM-DD, got '%s'", f ? f : "(none)"),
               -1;
    if (!t || lambda_report_parse_date(t, to) != 0)
        return invalid(err, "to must be an existing date YYYY-MM-DD, got '%s'", t ? t : "(none)"),
               -1;
    if (*from > *to)
        return invalid(err, "%s", "from is after to"), -1;
    uint64_t max_span = report_env_u64("SPLIT_MAX_SPAN_DAYS", REPORT_DEFAULT_MAX_SPAN_DAYS);
    if ((uint64_t)(*to - *from + 1) > max_span) {
        char msg[64];
        snprintf(msg, sizeof msg, "%" PRIu64, max_span);
        return invalid(err, "the range spans more than %s days", msg), -1;
    }
    return 0;
}

void report_add_date(cJSON *obj, const char *name, int64_t day)
{
    char s[11];
    lambda_report_format_date(day, s);
    cJSON_AddStringToObject(obj, name, s);
}

void report_keys_init(report_keys *k, const char *customer, const char *report_id)
{
    snprintf(k->base, sizeof k->base, REPORT_BASE_FMT, customer, report_id);
    snprintf(k->report, sizeof k->report, REPORT_BASE_FMT "report.csv", customer, report_id);
    snprintf(k->manifest, sizeof k->manifest, REPORT_BASE_FMT "manifest.json", customer, report_id);
    snprintf(k->plan, sizeof k->plan, REPORT_BASE_FMT "plan.json", customer, report_id);
    snprintf(k->part_prefix, sizeof k->part_prefix, REPORT_BASE_FMT "part-", customer, report_id);
}

void report_part_key(char out[REPORT_KEY_MAX], const char *customer, const char *report_id,
                     size_t index, int manifest)
{
    snprintf(out, REPORT_KEY_MAX, manifest ? REPORT_PART_MANIFEST_FMT : REPORT_PART_KEY_FMT,
             customer, report_id, (int)index);
}

int64_t report_source_day(const char *key, size_t prefix_len)
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

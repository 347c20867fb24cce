/*
 * MergeSubReports: the report from its parts, in named steps:
 *   plan      how many parts (the event's parts / partCount, else plan.json)
 *             and which are stored (one paginated listing);
 *   verify    every part's rows and bytes (the Map's outputs or the parts'
 *             manifests) against the stored sizes;
 *   concat    header + parts in index order through one streaming put (S3:
 *             UploadPartCopy for large parts);
 *   finalize  the report's size checked, manifest.json written, parts and
 *             their manifests deleted in one batch, with every part-* an
 *             earlier run of this reportId left beyond this plan (a re-run
 *             with a larger part size makes fewer parts): a report id
 *             keeps one plan's objects;
 *   answer    key, uri, counts and (S3) a presigned GET URL.
 * A re-run that finds the parts gone answers from manifest.json.
 *
 *   in:  {"customerId","reportId",
 *         "parts":[<GenerateSubReport outputs>],  optional (Map results)
 *         "partCount":2,                          optional (SplitDateRange's)
 *         "urlExpiresIn":3600}                    optional, default REPORT_URL_EXPIRES
 *   out: {"customerId","reportId","key":"reports/acme/<reportId>/report.csv",
 *         "uri":"s3://bucket/prefix/reports/…/report.csv","rows":…,"bytes":…,
 *         "parts":2,"skipped":3,
 *         "url":"https://…presigned…","urlExpiresIn":3600}   (S3 stores only)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler_common.h"

/* Parts deleted per lambda_store_delete_many call (S3: one DeleteObjects
 * request each; memory stays bounded whatever the number of parts). */
#define DELETE_CHUNK 1000

typedef struct merge_input {
    const char *customer, *report_id;
    int64_t count; /* -1: unknown yet (plan.json tells) */
    int64_t expires;
    const cJSON *claims; /* the Map's outputs, or NULL */
} merge_input;

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
    /* Parts of an earlier plan (index >= n): index * 2 + is_manifest. */
    uint32_t *stale;
    size_t n_stale, cap_stale;
    int out_of_memory;
} merge_scan;

/* Remembers a part of an earlier plan, to be deleted with this plan's. */
static void note_stale(merge_scan *ms, long idx, int manifest)
{
    if (ms->n_stale == ms->cap_stale) {
        size_t cap = ms->cap_stale ? ms->cap_stale * 2 : 64;
        uint32_t *grown = realloc(ms->stale, cap * sizeof *grown);
        if (!grown) {
            ms->out_of_memory = 1;
            return;
        }
        ms->stale = grown;
        ms->cap_stale = cap;
    }
    ms->stale[ms->n_stale++] = (uint32_t)idx * 2 + (uint32_t)manifest;
}

/* The totals of a merged report (also its manifest.json). */
typedef struct merge_totals {
    uint64_t rows, bytes, skipped;
    cJSON *skipped_by; /* the parts' skippedBy summed (SummarizeReport reads it) */
} merge_totals;

/* Adds a part manifest's {"reason": n, …} to the totals' skippedBy. */
static void add_skipped_by(merge_totals *t, const cJSON *manifest)
{
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(manifest, "skippedBy"), *reason;
    if (!t->skipped_by)
        t->skipped_by = cJSON_CreateObject();
    cJSON_ArrayForEach(reason, by)
    {
        if (!cJSON_IsNumber(reason) || !reason->string)
            continue;
        cJSON *sum = cJSON_GetObjectItemCaseSensitive(t->skipped_by, reason->string);
        if (sum)
            cJSON_SetNumberValue(sum, sum->valuedouble + reason->valuedouble);
        else
            cJSON_AddNumberToObject(t->skipped_by, reason->string, reason->valuedouble);
    }
}

/* The skippedBy of a part whose rows came from the Map's claims: only parts
 * that skipped lines need their manifest read. */
static int claimed_skipped_by(lambda_store *report, const merge_input *in, const part_info *p,
                              size_t i, merge_totals *t, lambda_error *err)
{
    if (p->skipped == 0 || !p->have_manifest)
        return 0;
    char mkey[REPORT_KEY_MAX];
    report_part_key(mkey, in->customer, in->report_id, i, 1);
    cJSON *m = report_read_json(report, mkey, NULL, err);
    if (!m)
        return -1;
    add_skipped_by(t, m);
    cJSON_Delete(m);
    return 0;
}

static int read_input(const cJSON *event, merge_input *in, lambda_error *err)
{
    if (report_get_ids(event, &in->customer, &in->report_id, err) != 0)
        return -1;
    in->count = -1;
    in->expires = (int64_t)report_env_u64("REPORT_URL_EXPIRES", REPORT_DEFAULT_URL_EXPIRES);
    if (report_get_int(event, "partCount", 0, REPORT_MAX_PARTS_LIMIT, &in->count) != 0)
        return invalid(err, "%s", "partCount must be an integer in 0..10000"), -1;
    if (report_get_int(event, "urlExpiresIn", 1, REPORT_MAX_URL_EXPIRES, &in->expires) != 0)
        return invalid(err, "%s", "urlExpiresIn must be an integer in 1..604800 seconds"), -1;
    in->claims = cJSON_GetObjectItemCaseSensitive(event, "parts");
    if (in->claims && !cJSON_IsArray(in->claims))
        return invalid(err, "%s", "parts must be an array of GenerateSubReport outputs"), -1;
    if (in->claims) {
        int64_t n = cJSON_GetArraySize(in->claims);
        if (in->count >= 0 && in->count != n)
            return invalid(err, "%s", "partCount does not match the length of parts"), -1;
        if (n > REPORT_MAX_PARTS_LIMIT)
            return invalid(err, "%s", "more than 10000 parts"), -1;
        in->count = n;
    }
    return 0;
}

static int merge_visit(const char *key, uint64_t size, void *ud)
{
    merge_scan *ms = ud;
    const char *name = key + ms->prefix_len; /* "000012.csv" */
    char *end;
    long idx = strtol(name, &end, 10);
    if (end != name + 6 || idx < 0)
        return 0;
    int csv = strcmp(end, ".csv") == 0, json = strcmp(end, ".json") == 0;
    if (!csv && !json)
        return 0; /* not ours: left alone */
    if ((size_t)idx >= ms->n) {
        note_stale(ms, idx, json);
        return ms->out_of_memory;
    }
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

static int take_claims(const cJSON *arr, part_info *parts, size_t n, lambda_error *err)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, arr)
    {
        int64_t idx = -1, rows = -1, bytes = -1, skipped = 0;
        if (!cJSON_IsObject(p) || report_get_int(p, "index", 0, (int64_t)n - 1, &idx) != 0 ||
            report_get_int(p, "rows", 0, REPORT_JSON_INT_MAX, &rows) != 0 ||
            report_get_int(p, "bytes", 0, REPORT_JSON_INT_MAX, &bytes) != 0 ||
            report_get_int(p, "skipped", 0, REPORT_JSON_INT_MAX, &skipped) != 0 || idx < 0 ||
            rows < 0 || bytes < 0) {
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

/* Plan, part 1: the number of parts, from plan.json when the event gave
 * none. */
static int plan_count(lambda_store *report, const report_keys *keys, merge_input *in,
                      lambda_error *err)
{
    if (in->count >= 0)
        return 0;
    int missing;
    cJSON *plan = report_read_json(report, keys->plan, &missing, err);
    int rc = 0;
    if (!plan || report_get_int(plan, "partCount", 0, REPORT_MAX_PARTS_LIMIT, &in->count) != 0 ||
        in->count < 0) {
        if (plan || missing)
            lambda_error_set(err, "InvalidInput",
                             "no parts or partCount given and no "
                             "usable %s",
                             keys->plan);
        rc = -1;
    }
    cJSON_Delete(plan);
    return rc;
}

/* Plan, part 2: the claims taken and the stored parts found. */
static int plan_parts(lambda_store *report, const report_keys *keys, const merge_input *in,
                      merge_scan *ms, lambda_error *err)
{
    size_t n = (size_t)in->count;
    ms->n = n;
    ms->prefix_len = strlen(keys->part_prefix);
    ms->parts = calloc(n ? n : 1, sizeof *ms->parts);
    if (!ms->parts) {
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return -1;
    }
    if (in->claims && take_claims(in->claims, ms->parts, n, err) != 0)
        return -1;
    int rc = lambda_store_list(report, keys->part_prefix, NULL, merge_visit, ms, err);
    if (ms->out_of_memory)
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    return rc;
}

/* Deletes every part and manifest found, this plan's and earlier plans',
 * DELETE_CHUNK keys a call. */
static int delete_parts(lambda_store *report, const merge_input *in, const merge_scan *ms,
                        lambda_error *err)
{
    const part_info *parts = ms->parts;
    size_t n = ms->n;
    char(*keys)[REPORT_KEY_MAX] = malloc(DELETE_CHUNK * sizeof *keys);
    const char **ptrs = malloc(DELETE_CHUNK * sizeof *ptrs);
    if (!keys || !ptrs) {
        free(keys);
        free(ptrs);
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return -1;
    }
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ms->n_stale; i++) {
        if (k == DELETE_CHUNK) {
            rc = lambda_store_delete_many(report, ptrs, k, err);
            k = 0;
        }
        report_part_key(keys[k], in->customer, in->report_id, ms->stale[i] / 2, ms->stale[i] % 2);
        ptrs[k] = keys[k];
        k++;
    }
    for (size_t i = 0; rc == 0 && i <= n; i++) {
        /* Flush before a part that might not fit, and after the last. */
        if (k > 0 && (i == n || k + 2 > DELETE_CHUNK)) {
            rc = lambda_store_delete_many(report, ptrs, k, err);
            k = 0;
        }
        if (i == n || rc != 0)
            break;
        for (int manifest = 0; manifest <= 1; manifest++) {
            if (!(manifest ? parts[i].have_manifest : parts[i].have_csv))
                continue;
            report_part_key(keys[k], in->customer, in->report_id, i, manifest);
            ptrs[k] = keys[k];
            k++;
        }
    }
    free(keys);
    free(ptrs);
    return rc;
}

/* Answer: the handler's output for a merged report. */
static cJSON *merge_output(lambda_store *report, const merge_input *in, const report_keys *keys,
                           const merge_totals *t, size_t n, lambda_error *err)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "customerId", in->customer);
    cJSON_AddStringToObject(out, "reportId", in->report_id);
    cJSON_AddStringToObject(out, "key", keys->report);
    char uri[LAMBDA_STORE_URL_MAX + REPORT_KEY_MAX];
    snprintf(uri, sizeof uri, "%s/%s", lambda_store_url(report), keys->report);
    cJSON_AddStringToObject(out, "uri", uri);
    cJSON_AddNumberToObject(out, "rows", (double)t->rows);
    cJSON_AddNumberToObject(out, "bytes", (double)t->bytes);
    cJSON_AddNumberToObject(out, "parts", (double)n);
    cJSON_AddNumberToObject(out, "skipped", (double)t->skipped);
    if (lambda_store_is_s3(report)) {
        char *url = lambda_store_presign_get(report, keys->report, (long)in->expires, err);
        if (!url) {
            cJSON_Delete(out);
            return NULL;
        }
        cJSON_AddStringToObject(out, "url", url);
        cJSON_AddNumberToObject(out, "urlExpiresIn", (double)in->expires);
        free(url);
    }
    return out;
}

/* Parts missing: a finished merge being re-run answers as it did (from
 * manifest.json, if the report still matches it); otherwise a real loss. */
static cJSON *answer_rerun(lambda_store *report, const merge_input *in, const report_keys *keys,
                           const merge_scan *ms, lambda_error *err)
{
    size_t n = ms->n;
    uint64_t size;
    int exists;
    if (lambda_store_stat(report, keys->manifest, &size, &exists, err) != 0)
        return NULL;
    if (!exists) {
        size_t missing = 0;
        while (missing < n && ms->parts[missing].have_csv)
            missing++;
        lambda_error_set(err, "MergeMismatch", "part %zu of %zu is missing (%zu found)", missing, n,
                         ms->found_csv);
        return NULL;
    }
    int missing;
    cJSON *done = report_read_json(report, keys->manifest, &missing, err);
    if (!done)
        return NULL;
    int64_t rows = -1, bytes = -1, skipped = -1, np = -1;
    report_get_int(done, "rows", 0, REPORT_JSON_INT_MAX, &rows);
    report_get_int(done, "bytes", 0, REPORT_JSON_INT_MAX, &bytes);
    report_get_int(done, "skipped", 0, REPORT_JSON_INT_MAX, &skipped);
    report_get_int(done, "parts", 0, REPORT_MAX_PARTS_LIMIT, &np);
    cJSON_Delete(done);
    if (rows < 0 || bytes < 0 || skipped < 0 || np != (int64_t)n ||
        lambda_store_stat(report, keys->report, &size, &exists, err) != 0 || !exists ||
        size != (uint64_t)bytes) {
        if (!err->type[0] || missing)
            lambda_error_set(err, "MergeMismatch",
                             "%zu of %zu parts are missing and the "
                             "earlier merge's report does not match its manifest",
                             n - ms->found_csv, n);
        return NULL;
    }
    if ((ms->found_any || ms->n_stale) && delete_parts(report, in, ms, err) != 0)
        return NULL;
    merge_totals t = {(uint64_t)rows, (uint64_t)bytes, (uint64_t)skipped, NULL};
    return merge_output(report, in, keys, &t, n, err);
}

/* Verify: each part's rows (the claims, else its manifest) and its stored
 * size against the bytes reported for it; the totals. */
static int verify_parts(lambda_store *report, const merge_input *in, part_info *parts, size_t n,
                        merge_totals *t, lambda_error *err)
{
    *t = (merge_totals){.bytes = strlen(lambda_report_csv_header)};
    for (size_t i = 0; i < n; i++) {
        if (!in->claims) {
            char mkey[REPORT_KEY_MAX];
            report_part_key(mkey, in->customer, in->report_id, i, 1);
            cJSON *m = report_read_json(report, mkey, NULL, err);
            if (!m)
                return -1;
            int64_t r = -1, b = -1, sk = -1;
            report_get_int(m, "rows", 0, REPORT_JSON_INT_MAX, &r);
            report_get_int(m, "bytes", 0, REPORT_JSON_INT_MAX, &b);
            report_get_int(m, "skipped", 0, REPORT_JSON_INT_MAX, &sk);
            add_skipped_by(t, m);
            cJSON_Delete(m);
            if (r < 0 || b < 0 || sk < 0) {
                lambda_error_set(err, "MergeMismatch", "manifest of part %zu is malformed", i);
                return -1;
            }
            parts[i].rows = (uint64_t)r;
            parts[i].bytes = (uint64_t)b;
            parts[i].skipped = (uint64_t)sk;
        } else if (!parts[i].claimed) {
            invalid(err, "%s", "parts must list every index 0..n-1 once");
            return -1;
        } else if (claimed_skipped_by(report, in, &parts[i], i, t, err) != 0) {
            return -1;
        }
        if (parts[i].size != parts[i].bytes) {
            lambda_error_set(err, "MergeMismatch",
                             "part %zu holds %" PRIu64 " bytes, its "
                             "report says %" PRIu64,
                             i, parts[i].size, parts[i].bytes);
            return -1;
        }
        t->rows += parts[i].rows;
        t->skipped += parts[i].skipped;
        t->bytes += parts[i].size;
    }
    return 0;
}

/* Concat: header + parts in index order, published at commit. */
static int concat_parts(lambda_store *report, const merge_input *in, const report_keys *keys,
                        const part_info *parts, size_t n, lambda_error *err)
{
    lambda_store_writer *w;
    if (lambda_store_put_begin(report, keys->report, &w, err) != 0)
        return -1;
    if (lambda_store_put_write(w, lambda_report_csv_header, strlen(lambda_report_csv_header),
                               err) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char pkey[REPORT_KEY_MAX];
        report_part_key(pkey, in->customer, in->report_id, i, 0);
        if (lambda_store_put_append(w, pkey, parts[i].size, err) != 0)
            goto fail;
    }
    return lambda_store_put_commit(w, err);
fail:
    lambda_store_put_abort(w);
    return -1;
}

/* Finalize: the report's size checked, manifest.json written (what a re-run
 * answers from), then the parts deleted. */
static int finalize(lambda_store *report, const merge_input *in, const report_keys *keys,
                    const merge_scan *ms, const merge_totals *t, lambda_error *err)
{
    uint64_t size;
    int exists;
    if (lambda_store_stat(report, keys->report, &size, &exists, err) != 0)
        return -1;
    if (!exists || size != t->bytes) {
        lambda_error_set(err, "MergeMismatch",
                         "merged report holds %" PRIu64 " bytes, the "
                         "parts add up to %" PRIu64,
                         size, t->bytes);
        return -1;
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "customerId", in->customer);
    cJSON_AddStringToObject(m, "reportId", in->report_id);
    cJSON_AddStringToObject(m, "key", keys->report);
    cJSON_AddNumberToObject(m, "rows", (double)t->rows);
    cJSON_AddNumberToObject(m, "bytes", (double)t->bytes);
    cJSON_AddNumberToObject(m, "parts", (double)ms->n);
    cJSON_AddNumberToObject(m, "skipped", (double)t->skipped);
    if (t->skipped_by)
        cJSON_AddItemToObject(m, "skippedBy", cJSON_Duplicate(t->skipped_by, 1));
    int rc = report_put_json(report, keys->manifest, m, err);
    cJSON_Delete(m);
    if (rc != 0)
        return -1;
    return delete_parts(report, in, ms, err);
}

cJSON *lambda_report_merge_sub_reports(const cJSON *event, const lambda_context *ctx,
                                       lambda_error *err, void *userdata)
{
    merge_input in;
    if (read_input(event, &in, err) != 0)
        return NULL;
    lambda_store *report, *unused = NULL;
    if (report_open_stores(&unused, &report, err) != 0)
        return NULL;
    lambda_store_close(unused);
    report_keys keys;
    report_keys_init(&keys, in.customer, in.report_id);
    merge_scan ms = {0};
    cJSON *out = NULL;
    merge_totals t = {0};
    if (plan_count(report, &keys, &in, err) != 0 || plan_parts(report, &keys, &in, &ms, err) != 0)
        goto done;
    if (ms.found_csv < ms.n) {
        out = answer_rerun(report, &in, &keys, &ms, err);
        goto done;
    }
    if (verify_parts(report, &in, ms.parts, ms.n, &t, err) != 0 ||
        concat_parts(report, &in, &keys, ms.parts, ms.n, err) != 0 ||
        finalize(report, &in, &keys, &ms, &t, err) != 0)
        goto done;
    out = merge_output(report, &in, &keys, &t, ms.n, err);
    if (out)
        lambda_log(LAMBDA_LOG_INFO, "merged %zu parts into %s: %" PRIu64 " rows, %" PRIu64 " bytes",
                   ms.n, keys.report, t.rows, t.bytes);
done:
    cJSON_Delete(t.skipped_by);
    free(ms.parts);
    free(ms.stale);
    lambda_store_close(report);
    return out;
}

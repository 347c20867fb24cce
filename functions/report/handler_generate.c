/*
 * GenerateSubReport: the CSV of one part. Lists the part's source objects,
 * reads them in ranges on N threads into CSV rows written in order by a
 * streaming put (gen_pool.c: memory bounded by N, flat whatever the part's
 * size; on the file store the threads start on the first objects while the
 * listing goes on), then writes the part's manifest next to it.
 *
 *   in:  {"customerId","reportId","part":{"index":0,"from":"…","to":"…"}}
 *   out: {"index":0,"key":"reports/acme/<reportId>/part-000000.csv",
 *         "rows":1234,"bytes":456789,"skipped":3}
 *   part-000000.json (the manifest): {index,from,to,key,rows,bytes,skipped,
 *   skippedBy:{badJson,…},objects,sourceBytes}.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler_common.h"

typedef struct gen_input {
    const char *customer, *report_id;
    int64_t index, from, to;
} gen_input;

/* The part's source objects as they are listed, handed to the workers (who
 * keep the keys and sizes), counted for the manifest. */
typedef struct key_list {
    size_t prefix_len;
    int64_t to;
    size_t n;
    uint64_t bytes;
    int oom;
    report_gen_feed *feed; /* the workers, who start on the first objects */
} key_list;

static int read_input(const cJSON *event, gen_input *in, lambda_error *err)
{
    if (report_get_ids(event, &in->customer, &in->report_id, err) != 0)
        return -1;
    const cJSON *part = cJSON_GetObjectItemCaseSensitive(event, "part");
    if (!cJSON_IsObject(part))
        return invalid(err, "%s", "part must be an object {index, from, to}"), -1;
    in->index = -1;
    if (report_get_int(part, "index", 0, REPORT_MAX_PART_INDEX, &in->index) != 0 || in->index < 0)
        return invalid(err, "%s", "part.index must be an integer in 0..999999"), -1;
    return report_get_range(part, &in->from, &in->to, err);
}

static int collect_key(const char *key, uint64_t size, void *ud)
{
    key_list *kl = ud;
    int64_t day = report_source_day(key, kl->prefix_len);
    if (day < 0)
        return 0;
    if (day > kl->to)
        return 1;
    if (report_gen_add(kl->feed, key, size) != 0) {
        kl->oom = 1;
        return 1;
    }
    kl->n++;
    kl->bytes += size;
    return 0;
}

/* Step 1: the source objects of [from, to], from one listing. */
static int list_sources(lambda_store *data, const gen_input *in, key_list *kl, lambda_error *err)
{
    char prefix[REPORT_KEY_MAX], after[REPORT_KEY_MAX], from_s[11];
    snprintf(prefix, sizeof prefix, REPORT_SOURCE_PREFIX_FMT, in->customer);
    lambda_report_format_date(in->from, from_s);
    snprintf(after, sizeof after, REPORT_SOURCE_PREFIX_FMT "%s", in->customer, from_s);
    kl->prefix_len = strlen(prefix);
    kl->to = in->to;
    if (lambda_store_list(data, prefix, after, collect_key, kl, err) != 0)
        return -1;
    if (kl->oom) {
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return -1;
    }
    return 0;
}

/* What the workers call to list the part (report_gen_convert_listed). */
typedef struct gen_listing {
    lambda_store *data;
    const gen_input *in;
    key_list *kl;
} gen_listing;

static int list_for_workers(void *ud, report_gen_feed *feed, lambda_error *err)
{
    gen_listing *l = ud;
    l->kl->feed = feed;
    return list_sources(l->data, l->in, l->kl, err);
}

/* Step 3: the part's manifest (what MergeSubReports reads in listing mode). */
static cJSON *manifest_json(const gen_input *in, const char *key, const report_gen_totals *g,
                            const key_list *kl, uint64_t bytes, uint64_t *skipped)
{
    *skipped = 0;
    cJSON *by = cJSON_CreateObject();
    for (int r = 1; r < LAMBDA_SKIP_COUNT; r++) {
        *skipped += g->skipped[r];
        cJSON_AddNumberToObject(by, lambda_report_skip_names[r], (double)g->skipped[r]);
    }
    cJSON *manifest = cJSON_CreateObject();
    cJSON_AddNumberToObject(manifest, "index", (double)in->index);
    report_add_date(manifest, "from", in->from);
    report_add_date(manifest, "to", in->to);
    cJSON_AddStringToObject(manifest, "key", key);
    cJSON_AddNumberToObject(manifest, "rows", (double)g->rows);
    cJSON_AddNumberToObject(manifest, "bytes", (double)bytes);
    cJSON_AddNumberToObject(manifest, "skipped", (double)*skipped);
    cJSON_AddItemToObject(manifest, "skippedBy", by);
    cJSON_AddNumberToObject(manifest, "objects", (double)kl->n);
    cJSON_AddNumberToObject(manifest, "sourceBytes", (double)kl->bytes);
    return manifest;
}

cJSON *lambda_report_generate_sub_report(const cJSON *event, const lambda_context *ctx,
                                         lambda_error *err, void *userdata)
{
    gen_input in;
    if (read_input(event, &in, err) != 0)
        return NULL;
#ifdef LAMBDA_REPORT_TEST_HOOKS
    if (report_injected_fault(in.report_id, in.index, err))
        return NULL;
#endif
    lambda_store *data, *report;
    if (report_open_stores(&data, &report, err) != 0)
        return NULL;
    char key[REPORT_KEY_MAX], manifest_key[REPORT_KEY_MAX];
    report_part_key(key, in.customer, in.report_id, (size_t)in.index, 0);
    report_part_key(manifest_key, in.customer, in.report_id, (size_t)in.index, 1);

    key_list kl = {0};
    report_gen_totals g = {0};
    lambda_store_writer *w = NULL;
    cJSON *out = NULL;
    if (lambda_store_put_begin(report, key, &w, err) != 0)
        goto done;
    /* Steps 1 and 2: every source object, in ranges on N threads, into the
     * writer; listed on this thread while the others start on the first
     * objects (the file store; see report_gen_convert_listed). */
    gen_listing listing = {data, &in, &kl};
    if (report_gen_convert_listed(data, list_for_workers, &listing, in.customer, w, &g, err) != 0) {
        lambda_store_put_abort(w);
        goto done;
    }
    uint64_t bytes = lambda_store_put_bytes(w), skipped;
#ifdef LAMBDA_REPORT_TEST_HOOKS
    report_test_stall_before_commit(in.report_id, in.index);
#endif
    if (lambda_store_put_commit(w, err) != 0)
        goto done;
    cJSON *manifest = manifest_json(&in, key, &g, &kl, bytes, &skipped);
    int rc = report_put_json(report, manifest_key, manifest, err);
    cJSON_Delete(manifest);
    if (rc != 0)
        goto done;

    out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "index", (double)in.index);
    cJSON_AddStringToObject(out, "key", key);
    cJSON_AddNumberToObject(out, "rows", (double)g.rows);
    cJSON_AddNumberToObject(out, "bytes", (double)bytes);
    cJSON_AddNumberToObject(out, "skipped", (double)skipped);
    lambda_log(LAMBDA_LOG_INFO,
               "part %" PRId64 ": %zu objects, %" PRIu64 " source bytes -> %" PRIu64
               " rows, %" PRIu64 " bytes, %" PRIu64 " skipped (%" PRIu64
               " lines read by cJSON; %zu ranges, %u parser threads, %u fetchers; %u threads"
               " started (%u kept from an earlier part), %zu slots)",
               in.index, kl.n, kl.bytes, g.rows, bytes, skipped, g.fallbacks, g.ranges, g.threads,
               g.fetchers, g.spawned, g.kept, g.slots);
done:
    lambda_store_close(data);
    lambda_store_close(report);
    return out;
}

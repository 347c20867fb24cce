/*
 * The handlers called in-process on a temporary file store: exact
 * report bytes for a small hand-written data set (order, quoting, formula
 * guard, BOM/CRLF/long/invalid lines), idempotent re-runs, both merge
 * modes, and every error path the workflow matches. Running in-process
 * lets LeakSanitizer see each handler's allocations (the bootstrap under
 * the emulator is killed, not exited).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "report.h"
#include "store.h"

static char root[256];
static char url[300];
static lambda_store *store;

static void put(const char *key, const char *data)
{
    lambda_error err = {{0}, {0}};
    if (lambda_store_put_buffer(store, key, data, strlen(data), &err) != 0)
        fail_msg("put %s: %s", key, err.message);
}

static int collect(const char *data, size_t len, void *ud)
{
    return lambda_report_buf_add(ud, data, len);
}

/* The object's bytes as a NUL-terminated malloc'd string, or NULL. */
static char *get(const char *key)
{
    lambda_error err = {{0}, {0}};
    lambda_report_buf b = {0};
    if (lambda_store_get(store, key, 0, 0, collect, &b, &err) != 0) {
        free(b.data);
        return NULL;
    }
    lambda_report_buf_add(&b, "", 0);
    return b.data;
}

static int exists(const char *key)
{
    uint64_t size;
    int e = 0;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_stat(store, key, &size, &e, &err), 0);
    return e;
}

typedef cJSON *(*handler_fn)(const cJSON *, const lambda_context *, lambda_error *, void *);

/* Calls a handler with a JSON text; returns its output (or NULL with err). */
static cJSON *call(handler_fn fn, const char *json, lambda_error *err)
{
    cJSON *ev = cJSON_Parse(json);
    assert_non_null(ev);
    memset(err, 0, sizeof *err);
    lambda_context ctx = {.request_id = "test", .deadline_ms = INT64_MAX};
    cJSON *out = fn(ev, &ctx, err, NULL);
    cJSON_Delete(ev);
    return out;
}

static void expect_error(handler_fn fn, const char *json, const char *type)
{
    lambda_error err;
    cJSON *out = call(fn, json, &err);
    if (out) {
        char *s = cJSON_PrintUnformatted(out);
        cJSON_Delete(out);
        fail_msg("expected %s for %s, got %s", type, json, s);
    }
    if (strcmp(err.type, type) != 0)
        fail_msg("expected %s for %s, got %s: %s", type, json, err.type, err.message);
}

static double num(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

#define EV(id, day, extra)                                                               \
    "{\"eventId\":\"" id "\",\"customerId\":\"c1\",\"prospectId\":\"p\",\"type\":\"t\"," \
    "\"occurredAt\":\"" day "T10:00:00Z\"" extra "}"

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s/functions-handlers-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root))
        return -1;
    snprintf(url, sizeof url, "file://%s", root);
    lambda_error err = {{0}, {0}};
    if (lambda_store_open(url, &store, &err) != 0)
        return -1;
    char longline[400];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "{\"eventId\":\"", 12);
    longline[sizeof longline - 1] = '\0';
    /* 2024-02-28: BOM + CRLF, a formula, a line too long, another customer */
    char day1[2000];
    snprintf(
        day1, sizeof day1,
        "\xEF\xBB\xBF" EV("a1", "2024-02-28",
                          ",\"channel\":\"=cmd()\"") "\r\n"
                                                     "%s\r\n"
                                                     "{\"eventId\":\"o1\",\"customerId\":\"other\","
                                                     "\"prospectId\":\"p\",\"type\":\"t\","
                                                     "\"occurredAt\":\"2024-02-28T10:00:00Z\"}\r\n",
        longline);
    put("prospects/customer=c1/date=2024-02-28/a.ndjson", day1);
    put("prospects/customer=c1/date=2024-02-28/b.ndjson",
        EV("a2", "2024-02-28", ",\"country\":\"FR\",\"note\":\"x, \\\"y\\\"\"") "\n\n");
    /* 2024-02-29 (leap day): invalid UTF-8, missing field, then a cut line */
    put("prospects/customer=c1/date=2024-02-29/a.ndjson",
        EV("b1", "2024-02-29", ",\"score\":-3") "\n"
                                                "{\"eventId\":\"\xC3\x28\"}\n"
                                                "{\"eventId\":\"b2\",\"customerId\":\"c1\"}\n"
                                                "{\"eventId\":\"b3\",\"custo");
    /* 2024-03-01 */
    put("prospects/customer=c1/date=2024-03-01/a.ndjson",
        EV("c1", "2024-03-01", ",\"course\":\"Line1\\nLine2\"") "\n");
    /* outside any range used below, and a non-source key */
    put("prospects/customer=c1/date=2024-03-05/a.ndjson", EV("z1", "2024-03-05", "") "\n");
    put("prospects/customer=c1/date=2024-03-01/readme.txt", "not an ndjson object");
    setenv("REPORT_MAX_LINE", "200", 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lambda_store_close(store);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static const char expected_csv[] =
    "event_id,occurred_at,prospect_id,type,country,course,channel,extra\r\n"
    "a1,2024-02-28T10:00:00Z,p,t,,,'=cmd(),\r\n"
    "a2,2024-02-28T10:00:00Z,p,t,FR,,,\"{\"\"note\"\":\"\"x, \\\"\"y\\\"\"\"\"}\"\r\n"
    "b1,2024-02-29T10:00:00Z,p,t,,,,\"{\"\"score\"\":-3}\"\r\n"
    "c1,2024-03-01T10:00:00Z,p,t,,\"Line1\nLine2\",,\r\n";

static void test_init_errors(void **state)
{
    (void)state;
    lambda_error err = {{0}, {0}};
    unsetenv("DATA_STORE");
    unsetenv("REPORT_STORE");
    assert_int_equal(lambda_report_init_stores(&err), -1);
    assert_string_equal(err.type, "InvalidConfiguration");
    setenv("DATA_STORE", "ftp://x", 1);
    assert_int_equal(lambda_report_init_stores(&err), -1);
    assert_string_equal(err.type, "InvalidInput");
    setenv("DATA_STORE", "file:///nonexistent/functions/store", 1);
    assert_int_equal(lambda_report_init_stores(&err), -1);
    assert_string_equal(err.type, "StoreNotFound");
    setenv("DATA_STORE", url, 1);
    assert_int_equal(lambda_report_init_stores(&err), 0);
}

/* split -> generate each part -> merge; returns the merge output */
static cJSON *run_report(const char *rid, const char *target, int with_parts)
{
    lambda_error err;
    char ev[512];
    snprintf(ev, sizeof ev,
             "{\"customerId\":\"c1\",\"from\":\"2024-02-27\",\"to\":\"2024-03-02\","
             "\"reportId\":\"%s\",\"targetBytes\":%s}",
             rid, target);
    cJSON *split = call(lambda_report_split_date_range, ev, &err);
    if (!split)
        fail_msg("split: %s: %s", err.type, err.message);
    int n = (int)num(split, "partCount");
    assert_int_equal(num(split, "objects"), 4); /* readme.txt and 03-05 not counted */
    assert_int_equal(num(split, "dataDays"), 3);
    cJSON *parts = cJSON_GetObjectItemCaseSensitive(split, "parts");
    assert_int_equal(cJSON_GetArraySize(parts), n);
    cJSON *results = cJSON_CreateArray();
    uint64_t rows = 0;
    for (int i = 0; i < n; i++) {
        cJSON *in = cJSON_CreateObject();
        cJSON_AddStringToObject(in, "customerId", "c1");
        cJSON_AddStringToObject(in, "reportId", rid);
        cJSON_AddItemToObject(in, "part", cJSON_Duplicate(cJSON_GetArrayItem(parts, i), 1));
        char *text = cJSON_PrintUnformatted(in);
        cJSON_Delete(in);
        cJSON *out = call(lambda_report_generate_sub_report, text, &err);
        free(text);
        if (!out)
            fail_msg("generate %d: %s: %s", i, err.type, err.message);
        assert_int_equal(num(out, "index"), i);
        rows += (uint64_t)num(out, "rows");
        cJSON_AddItemToArray(results, out);
    }
    assert_int_equal(rows, 4);
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "customerId", "c1");
    cJSON_AddStringToObject(in, "reportId", rid);
    if (with_parts)
        cJSON_AddItemToObject(in, "parts", results);
    else
        cJSON_Delete(results);
    char *text = cJSON_PrintUnformatted(in);
    cJSON_Delete(in);
    cJSON *merged = call(lambda_report_merge_sub_reports, text, &err);
    free(text);
    if (!merged)
        fail_msg("merge: %s: %s", err.type, err.message);
    assert_int_equal(num(merged, "parts"), n);
    cJSON_Delete(split);
    return merged;
}

static void test_report_exact_bytes(void **state)
{
    (void)state;
    cJSON *m = run_report("exact", "1", 1); /* one part per data day */
    assert_int_equal(num(m, "parts"), 3);
    assert_int_equal(num(m, "rows"), 4);
    /* long line, other customer, bad UTF-8, missing field, cut line */
    assert_int_equal(num(m, "skipped"), 5);
    assert_int_equal(num(m, "bytes"), strlen(expected_csv));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(m, "key")->valuestring,
                        "reports/c1/exact/report.csv");
    assert_null(cJSON_GetObjectItemCaseSensitive(m, "url")); /* file store */
    char *csv = get("reports/c1/exact/report.csv");
    assert_non_null(csv);
    assert_string_equal(csv, expected_csv);
    free(csv);
    assert_false(exists("reports/c1/exact/part-000000.csv"));
    assert_false(exists("reports/c1/exact/part-000002.json"));
    assert_true(exists("reports/c1/exact/manifest.json"));
    cJSON_Delete(m);

    /* a retried merge after the parts are gone answers the same */
    lambda_error err;
    cJSON *again = call(lambda_report_merge_sub_reports,
                        "{\"customerId\":\"c1\",\"reportId\":\"exact\"}", &err);
    assert_non_null(again);
    assert_int_equal(num(again, "rows"), 4);
    assert_int_equal(num(again, "skipped"), 5);
    cJSON_Delete(again);
}

static void test_rerun_and_listing_mode(void **state)
{
    (void)state;
    cJSON *a = run_report("rerun", "1000000", 0); /* one part, merged by listing */
    assert_int_equal(num(a, "parts"), 1);
    char *first = get("reports/c1/rerun/report.csv");
    cJSON_Delete(a);
    cJSON *b = run_report("rerun", "1000000", 1);
    char *second = get("reports/c1/rerun/report.csv");
    assert_string_equal(first, second);
    assert_string_equal(first, expected_csv);
    free(first);
    free(second);
    cJSON_Delete(b);
}

static double reason(const cJSON *by, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(by, name);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* SummarizeReport on the exact report: rows per type per day (a quoted
 * field holding a newline and doubled quotes read right), the merge's
 * skippedBy, bytes; then its errors. In-process, so LeakSanitizer sees it. */
static void test_summarize(void **state)
{
    (void)state;
    cJSON *m = run_report("summ", "1", 1);
    cJSON_Delete(m);
    char *manifest_text = get("reports/c1/summ/manifest.json");
    cJSON *manifest = cJSON_Parse(manifest_text);
    free(manifest_text);
    const cJSON *mby = cJSON_GetObjectItemCaseSensitive(manifest, "skippedBy");
    assert_int_equal(reason(mby, "tooLong") + reason(mby, "wrongCustomer") +
                         reason(mby, "badUtf8") + reason(mby, "missingField") +
                         reason(mby, "badJson"),
                     5);
    cJSON_Delete(manifest);

    lambda_error err;
    cJSON *out =
        call(lambda_report_summarize_report, "{\"customerId\":\"c1\",\"reportId\":\"summ\"}", &err);
    if (!out)
        fail_msg("summarize: %s: %s", err.type, err.message);
    assert_int_equal(num(out, "rows"), 4);
    assert_int_equal(num(out, "days"), 3);
    assert_int_equal(num(out, "types"), 1);
    assert_int_equal(num(out, "bytes"), strlen(expected_csv));
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(out, "key")->valuestring,
                        "reports/c1/summ/summary.json");
    cJSON_Delete(out);
    char *text = get("reports/c1/summ/summary.json");
    assert_non_null(text);
    cJSON *sum = cJSON_Parse(text);
    free(text);
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(sum, "days");
    assert_int_equal(num(cJSON_GetObjectItemCaseSensitive(days, "2024-02-28"), "t"), 2);
    assert_int_equal(num(cJSON_GetObjectItemCaseSensitive(days, "2024-02-29"), "t"), 1);
    assert_int_equal(num(cJSON_GetObjectItemCaseSensitive(days, "2024-03-01"), "t"), 1);
    assert_int_equal(num(cJSON_GetObjectItemCaseSensitive(sum, "types"), "t"), 4);
    assert_int_equal(num(sum, "skipped"), 5);
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(sum, "skippedBy");
    assert_int_equal(reason(by, "badUtf8"), 1);
    assert_int_equal(reason(by, "tooLong"), 1);
    cJSON_Delete(sum);

    /* Too many (day, type) pairs for SUMMARY_MAX_CELLS. */
    setenv("SUMMARY_MAX_CELLS", "2", 1);
    expect_error(lambda_report_summarize_report, "{\"customerId\":\"c1\",\"reportId\":\"summ\"}",
                 "SummaryTooLarge");
    unsetenv("SUMMARY_MAX_CELLS");
    /* A report changed after its merge. */
    put("reports/c1/summ/report.csv", lambda_report_csv_header);
    expect_error(lambda_report_summarize_report, "{\"customerId\":\"c1\",\"reportId\":\"summ\"}",
                 "SummaryMismatch");
    /* Not merged (no manifest), and a bad event. */
    expect_error(lambda_report_summarize_report, "{\"customerId\":\"c1\",\"reportId\":\"never\"}",
                 "StoreNotFound");
    expect_error(lambda_report_summarize_report, "{}", "InvalidInput");
}

/* ApproveReport's checks run before any request: InvalidInput, then
 * InvalidConfiguration without credentials. */
static void test_approve_input(void **state)
{
    (void)state;
    expect_error(lambda_report_approve_report, "{}", "InvalidInput");
    expect_error(lambda_report_approve_report, "{\"taskToken\":\"t\"}", "InvalidInput");
    expect_error(lambda_report_approve_report, "{\"taskToken\":\"t\",\"decision\":\"maybe\"}",
                 "InvalidInput");
    expect_error(lambda_report_approve_report,
                 "{\"taskToken\":\"t\",\"decision\":\"approve\",\"approver\":7}", "InvalidInput");
    char *saved_key = getenv("AWS_ACCESS_KEY_ID") ? strdup(getenv("AWS_ACCESS_KEY_ID")) : NULL;
    unsetenv("AWS_ACCESS_KEY_ID");
    expect_error(lambda_report_approve_report,
                 "{\"taskToken\":\"t\",\"decision\":\"reject\",\"reason\":\"r\"}",
                 "InvalidConfiguration");
    if (saved_key)
        setenv("AWS_ACCESS_KEY_ID", saved_key, 1);
    free(saved_key);
}

static void test_empty_range(void **state)
{
    (void)state;
    lambda_error err;
    cJSON *s = call(lambda_report_split_date_range,
                    "{\"customerId\":\"c1\",\"from\":\"2023-01-01\",\"to\":\"2023-12-31\","
                    "\"reportId\":\"empty\"}",
                    &err);
    assert_non_null(s);
    assert_int_equal(num(s, "partCount"), 0);
    cJSON_Delete(s);
    cJSON *m = call(lambda_report_merge_sub_reports,
                    "{\"customerId\":\"c1\",\"reportId\":\"empty\",\"parts\":[]}", &err);
    assert_non_null(m);
    assert_int_equal(num(m, "rows"), 0);
    char *csv = get("reports/c1/empty/report.csv");
    assert_string_equal(csv, lambda_report_csv_header);
    free(csv);
    cJSON_Delete(m);
}

static void test_invalid_input(void **state)
{
    (void)state;
    handler_fn split = lambda_report_split_date_range;
    handler_fn gen = lambda_report_generate_sub_report;
    handler_fn merge = lambda_report_merge_sub_reports;
    expect_error(split, "[1]", "InvalidInput");
    expect_error(
        split,
        "{\"customerId\":\"c1\",\"from\":\"2024-02-30\",\"to\":\"2024-03-01\",\"reportId\":\"r\"}",
        "InvalidInput");
    expect_error(
        split,
        "{\"customerId\":\"c1\",\"from\":\"2024-03-01\",\"to\":\"2024-02-01\",\"reportId\":\"r\"}",
        "InvalidInput");
    expect_error(
        split,
        "{\"customerId\":\"c/1\",\"from\":\"2024-01-01\",\"to\":\"2024-02-01\",\"reportId\":\"r\"}",
        "InvalidInput");
    expect_error(split, "{\"customerId\":\"c1\",\"from\":\"2024-01-01\",\"to\":\"2024-02-01\"}",
                 "InvalidInput");
    expect_error(
        split, "{\"customerId\":\"c1\",\"from\":20240101,\"to\":\"2024-02-01\",\"reportId\":\"r\"}",
        "InvalidInput");
    expect_error(split,
                 "{\"customerId\":\"c1\",\"from\":\"2024-01-01\",\"to\":\"2024-02-01\","
                 "\"reportId\":\"r\",\"targetBytes\":1.5}",
                 "InvalidInput");
    expect_error(split,
                 "{\"customerId\":\"c1\",\"from\":\"2024-01-01\",\"to\":\"2024-02-01\","
                 "\"reportId\":\"r\",\"maxParts\":0}",
                 "InvalidInput");
    expect_error(gen, "{\"customerId\":\"c1\",\"reportId\":\"r\"}", "InvalidInput");
    expect_error(gen,
                 "{\"customerId\":\"c1\",\"reportId\":\"r\",\"part\":{\"index\":\"0\",\"from\":"
                 "\"2024-01-01\",\"to\":\"2024-01-02\"}}",
                 "InvalidInput");
    expect_error(gen,
                 "{\"customerId\":\"c1\",\"reportId\":\"r\",\"part\":{\"index\":0,\"from\":\"2024-"
                 "01-03\",\"to\":\"2024-01-02\"}}",
                 "InvalidInput");
    expect_error(merge, "{\"customerId\":\"c1\",\"reportId\":\"r\",\"parts\":{}}", "InvalidInput");
    expect_error(merge,
                 "{\"customerId\":\"c1\",\"reportId\":\"r\",\"parts\":[{\"index\":0,\"rows\":1,"
                 "\"bytes\":1},{\"index\":0,\"rows\":1,\"bytes\":1}]}",
                 "InvalidInput");
    expect_error(merge,
                 "{\"customerId\":\"c1\",\"reportId\":\"r\",\"parts\":[{\"index\":5,\"rows\":1,"
                 "\"bytes\":1}]}",
                 "InvalidInput");
    expect_error(merge, "{\"customerId\":\"c1\",\"reportId\":\"r\",\"parts\":[],\"partCount\":2}",
                 "InvalidInput");
    expect_error(merge, "{\"customerId\":\"c1\",\"reportId\":\"r\",\"urlExpiresIn\":0}",
                 "InvalidInput");
    expect_error(merge, "{\"customerId\":\"c1\",\"reportId\":\"no-plan\"}", "InvalidInput");
}

static void test_merge_mismatch(void **state)
{
    (void)state;
    lambda_error err;
    const char *part = "{\"customerId\":\"c1\",\"reportId\":\"bad\",\"part\":"
                       "{\"index\":0,\"from\":\"2024-02-27\",\"to\":\"2024-03-02\"}}";
    cJSON *out = call(lambda_report_generate_sub_report, part, &err);
    assert_non_null(out);
    char claims[256];
    snprintf(claims, sizeof claims,
             "{\"customerId\":\"c1\",\"reportId\":\"bad\",\"parts\":"
             "[{\"index\":0,\"rows\":4,\"bytes\":%.0f,\"skipped\":5}]}",
             num(out, "bytes") + 1);
    cJSON_Delete(out);
    /* the claimed size differs from the stored part */
    expect_error(lambda_report_merge_sub_reports, claims, "MergeMismatch");
    /* a part missing */
    expect_error(lambda_report_merge_sub_reports,
                 "{\"customerId\":\"c1\",\"reportId\":\"bad\",\"partCount\":2}", "MergeMismatch");
    /* a part altered after its manifest was written */
    put("reports/c1/bad/part-000000.csv", "tampered\r\n");
    expect_error(lambda_report_merge_sub_reports,
                 "{\"customerId\":\"c1\",\"reportId\":\"bad\",\"partCount\":1}", "MergeMismatch");
    assert_false(exists("reports/c1/bad/report.csv"));
}

static void test_fault_switch(void **state)
{
    (void)state;
    char dir[300];
    snprintf(dir, sizeof dir, "%s/faults", root);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    setenv("REPORT_TEST_FAULT_STATE", dir, 1);
    const char *p1 = "{\"customerId\":\"c1\",\"reportId\":\"f\",\"part\":"
                     "{\"index\":1,\"from\":\"2024-02-27\",\"to\":\"2024-02-28\"}}";
    const char *p0 = "{\"customerId\":\"c1\",\"reportId\":\"f\",\"part\":"
                     "{\"index\":0,\"from\":\"2024-02-27\",\"to\":\"2024-02-28\"}}";
    setenv("REPORT_TEST_FAULT", "transient:1", 1);
    expect_error(lambda_report_generate_sub_report, p1, "StoreUnavailable");
    lambda_error err;
    cJSON *ok = call(lambda_report_generate_sub_report, p1, &err);
    assert_non_null(ok);
    cJSON_Delete(ok);
    ok = call(lambda_report_generate_sub_report, p0, &err); /* other parts untouched */
    assert_non_null(ok);
    cJSON_Delete(ok);
    setenv("REPORT_TEST_FAULT", "permanent:0", 1);
    expect_error(lambda_report_generate_sub_report, p0, "InjectedFault");
    expect_error(lambda_report_generate_sub_report, p0, "InjectedFault");
    unsetenv("REPORT_TEST_FAULT");
    ok = call(lambda_report_generate_sub_report, p0, &err);
    assert_non_null(ok);
    cJSON_Delete(ok);
}

static int count_key(const char *key, uint64_t size, void *userdata)
{
    (void)key;
    (void)size;
    ++*(size_t *)userdata;
    return 0;
}

/* Writes an object the way s3rver stores it (`<key>._S3rver_object` under
 * its folder for the store's bucket and prefix; it computes the ETag when
 * first asked): 20,000 PUTs would take minutes on a loaded 2-core machine,
 * and the merge, the subject, still reads, lists and deletes over S3. */
static void seed_s3rver(const char *dir, const char *key, const char *data)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s._S3rver_object", dir, key);
    for (char *p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f || fputs(data, f) < 0 || fclose(f) != 0)
        fail_msg("seed %s: %s", path, strerror(errno));
}

/* 10,000 parts merged in listing mode: the merge's input stays tiny
 * whatever the number of parts, and the parts come out in index order.
 * HANDLERS_MANY_PARTS sets another number (the s3rver run uses fewer). */
static void test_merge_ten_thousand_parts(void **state)
{
    (void)state;
    int N = getenv("HANDLERS_MANY_PARTS") ? atoi(getenv("HANDLERS_MANY_PARTS")) : 10000;
    if (N < 1 || N > 10000)
        fail_msg("HANDLERS_MANY_PARTS must be 1..10000");
    char key[200], text[200];
    const char *seed = getenv("S3RVER_SEED_DIR");
    for (int i = 0; i < N && seed; i++) {
        snprintf(key, sizeof key, "reports/c1/many/part-%06d.csv", i);
        int len = snprintf(text, sizeof text, "row-%d\r\n", i);
        seed_s3rver(seed, key, text);
        snprintf(key, sizeof key, "reports/c1/many/part-%06d.json", i);
        snprintf(text, sizeof text, "{\"index\":%d,\"rows\":1,\"bytes\":%d,\"skipped\":%d}", i, len,
                 i % 2);
        seed_s3rver(seed, key, text);
    }
    for (int i = 0; i < N && !seed; i++) {
        snprintf(key, sizeof key, "reports/c1/many/part-%06d.csv", i);
        int len = snprintf(text, sizeof text, "row-%d\r\n", i);
        put(key, text);
        snprintf(key, sizeof key, "reports/c1/many/part-%06d.json", i);
        snprintf(text, sizeof text, "{\"index\":%d,\"rows\":1,\"bytes\":%d,\"skipped\":%d}", i, len,
                 i % 2);
        put(key, text);
    }
    lambda_error err;
    char in[128];
    snprintf(in, sizeof in, "{\"customerId\":\"c1\",\"reportId\":\"many\",\"partCount\":%d}", N);
    cJSON *m = call(lambda_report_merge_sub_reports, in, &err);
    if (!m)
        fail_msg("merge: %s: %s", err.type, err.message);
    assert_int_equal(num(m, "parts"), N);
    assert_int_equal(num(m, "rows"), N);
    assert_int_equal(num(m, "skipped"), N / 2);
    char *out = cJSON_PrintUnformatted(m);
    assert_true(strlen(in) + strlen(out) < 1024); /* far from 256 KB of state */
    free(out);
    cJSON_Delete(m);
    char *csv = get("reports/c1/many/report.csv");
    assert_non_null(csv);
    const char *p = csv + strlen(lambda_report_csv_header);
    for (int i = 0; i < N; i++) {
        int len = snprintf(text, sizeof text, "row-%d\r\n", i);
        if (strncmp(p, text, (size_t)len) != 0)
            fail_msg("part %d out of place", i);
        p += len;
    }
    assert_int_equal(*p, '\0');
    free(csv);
    /* every part and manifest is gone (deleted in chunks of 1000 keys): a
     * listing of the report's folder (over S3, pages of 1000 keys) shows
     * the report and its manifest only */
    size_t left = 0;
    lambda_error lerr = {{0}, {0}};
    assert_int_equal(lambda_store_list(store, "reports/c1/many/", NULL, count_key, &left, &lerr),
                     0);
    assert_int_equal(left, 2);
    for (int i = 0; i < N && !lambda_store_is_s3(store); i++) {
        snprintf(key, sizeof key, "reports/c1/many/part-%06d.csv", i);
        if (exists(key))
            fail_msg("%s left after the merge", key);
        snprintf(key, sizeof key, "reports/c1/many/part-%06d.json", i);
        if (exists(key))
            fail_msg("%s left after the merge", key);
    }
}

/* `functions_test_handlers s3`: the 10,000-part merge against the S3 store
 * at $S3_TEST_URL (with_s3rver.sh: s3rver started with
 * NODE_OPTIONS=--openssl-legacy-provider, without which its listings over
 * 1,000 keys fail on Node 24) — listing pages, ranged reads and batched
 * deletes over S3. */
static int setup_s3(void **state)
{
    (void)state;
    const char *u = getenv("S3_TEST_URL") ? getenv("S3_TEST_URL") : "s3://lambda-test/handlers";
    snprintf(url, sizeof url, "%s", u);
    lambda_error err = {{0}, {0}};
    setenv("DATA_STORE", url, 1);
    if (lambda_store_open(url, &store, &err) != 0 || lambda_report_init_stores(&err) != 0) {
        fprintf(stderr, "%s: %s: %s\n", url, err.type, err.message);
        return -1;
    }
    return 0;
}

static int teardown_s3(void **state)
{
    (void)state;
    lambda_store_close(store);
    return 0;
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (argc > 1 && strcmp(argv[1], "s3") == 0) {
        const struct CMUnitTest s3_tests[] = {cmocka_unit_test(test_merge_ten_thousand_parts)};
        int rc = cmocka_run_group_tests(s3_tests, setup_s3, teardown_s3);
        curl_global_cleanup();
        return rc;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_report_exact_bytes),
        cmocka_unit_test(test_rerun_and_listing_mode),
        cmocka_unit_test(test_summarize),
        cmocka_unit_test(test_approve_input),
        cmocka_unit_test(test_empty_range),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_merge_mismatch),
        cmocka_unit_test(test_fault_switch),
        cmocka_unit_test(test_merge_ten_thousand_parts),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}

/*
 * GenerateSubReport's workers (functions/report/gen_pool.c) on a temporary
 * file store: for 1 to 8 threads and ranges from 256 bytes to whole objects,
 * the part's bytes and counts equal those of one line reader over every
 * object in order; a short, long or missing object fails with the error of
 * the first failing object in key order, whatever the threads; a part listed
 * while its workers run (report_gen_convert_listed) gives the same bytes,
 * and a failed listing decides the part's error. Small and
 * quick on purpose: tests/run.sh also runs it built with ThreadSanitizer.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "handler_common.h"
#include "report_ref.h"

#define OBJECTS 9
#define MAX_UNITS (1 << 14) /* ranges a part may have here */
#define MAX_LINE 300

static char root[256];
static lambda_store *data, *out;
static char *keys[OBJECTS];
static uint64_t sizes[OBJECTS];

typedef struct ref_rows {
    lambda_report_parser parser;
    report_gen_totals t;
    lambda_report_buf rows;
} ref_rows;

/* The rules a part applied before ranges, through the line reader. */
static int ref_line(const char *line, size_t len, int too_long, void *ud)
{
    ref_rows *r = ud;
    return report_ref_line(&r->parser, "acme", line, len, too_long, &r->rows, &r->t.rows,
                           r->t.skipped);
}

static int collect(const char *d, size_t len, void *ud)
{
    return lambda_report_buf_add(ud, d, len);
}

static void put(const char *key, const char *d, size_t len)
{
    lambda_error err = {{0}, {0}};
    if (lambda_store_put_buffer(data, key, d, len, &err) != 0)
        fail_msg("put %s: %s", key, err.message);
}

/* Objects of every shape: empty, a BOM and CRLF, blank lines, lines of the
 * limit's length and longer, bad lines, another customer, no final newline. */
static void make_objects(ref_rows *ref)
{
    static char buf[1 << 20];
    for (int o = 0; o < OBJECTS; o++) {
        size_t n = 0;
        if (o == 1)
            n += (size_t)snprintf(buf, sizeof buf, "\xEF\xBB\xBF");
        int lines = o == 0 ? 0 : o == 4 ? 2000 : 150 * o;
        for (int i = 0; i < lines; i++) {
            int k = (i * 7 + o) % 13;
            if (k == 0) {
                memset(buf + n, 'x', MAX_LINE + 1 + (size_t)(i % 3));
                n += MAX_LINE + 1 + (size_t)(i % 3);
            } else if (k == 1) {
                memset(buf + n, 'y', 5 * MAX_LINE);
                n += 5 * MAX_LINE;
            } else if (k == 2) {
                n += (size_t)snprintf(buf + n, sizeof buf - n, " \t\r");
            } else if (k == 3) {
                n += (size_t)snprintf(buf + n, sizeof buf - n, "{\"eventId\":\"bad\"");
            } else {
                n += (size_t)snprintf(
                    buf + n, sizeof buf - n,
                    "{\"eventId\":\"e%d-%d\",\"customerId\":\"%s\",\"prospectId\":%d,"
                    "\"type\":\"visit\",\"occurredAt\":\"2024-02-28T10:00:00Z\",\"country\":"
                    "\"F,R\",\"score\":%d.5,\"tags\":[\"=1\",\"a\\\"b\"]}%s",
                    o, i, k == 4 ? "other" : "acme", i, i, k == 5 ? "\r" : "");
            }
            if (o != 5 || i + 1 < lines)
                buf[n++] = '\n';
        }
        char key[64];
        snprintf(key, sizeof key, "src/obj-%02d.ndjson", o);
        keys[o] = strdup(key);
        sizes[o] = n;
        put(key, buf, n);
        assert_int_equal(report_ref_lines(buf, n, MAX_LINE, ref_line, ref), 0);
    }
}

/* One part with the given settings, its objects listed by `list` (NULL:
 * keys[] with the sizes sz): 0 and its bytes in *csv, or -1 and err. */
static int run_part_via(const char *threads, const char *chunk, report_gen_lister list, void *ud,
                        const uint64_t *sz, lambda_report_buf *csv, report_gen_totals *t,
                        lambda_error *err)
{
    setenv("REPORT_THREADS", threads, 1);
    setenv("REPORT_CHUNK_BYTES", chunk, 1);
    setenv("REPORT_MAX_LINE", "300", 1);
    lambda_store_writer *w = NULL;
    assert_int_equal(lambda_store_put_begin(out, "part.csv", &w, err), 0);
    int rc = list ? report_gen_convert_listed(data, list, ud, "acme", w, t, err)
                  : report_gen_convert(data, keys, sz, OBJECTS, "acme", w, t, err);
    if (rc != 0) {
        lambda_store_put_abort(w);
        return -1;
    }
    assert_int_equal(lambda_store_put_commit(w, err), 0);
    csv->len = 0;
    assert_int_equal(lambda_store_get(out, "part.csv", 0, 0, collect, csv, err), 0);
    return 0;
}

static int run_part(const char *threads, const char *chunk, const uint64_t *sz,
                    lambda_report_buf *csv, report_gen_totals *t, lambda_error *err)
{
    return run_part_via(threads, chunk, NULL, NULL, sz, csv, t, err);
}

/* The reference rows of every object (made by setup). */
static void read_ref(ref_rows *ref)
{
    for (int o = 0; o < OBJECTS; o++) {
        lambda_report_buf obj = {0};
        lambda_error err = {{0}, {0}};
        assert_int_equal(lambda_store_get(data, keys[o], 0, 0, collect, &obj, &err), 0);
        assert_int_equal(report_ref_lines(obj.data, obj.len, MAX_LINE, ref_line, ref), 0);
        lambda_report_buf_free(&obj);
    }
}

static void free_ref(ref_rows *ref)
{
    lambda_report_buf_free(&ref->rows);
    lambda_report_parser_free(&ref->parser);
}

/* A part's bytes and counts equal the one reader's: else fails naming the
 * case. */
static void same_as_ref(const char *what, const lambda_report_buf *csv, const report_gen_totals *t,
                        const ref_rows *ref)
{
    if (csv->len != ref->rows.len || memcmp(csv->data, ref->rows.data, csv->len) != 0 ||
        t->rows != ref->t.rows || memcmp(t->skipped, ref->t.skipped, sizeof t->skipped) != 0)
        fail_msg("%s: %" PRIu64 " rows, %zu bytes; one reader: %" PRIu64 " rows, %zu bytes", what,
                 t->rows, csv->len, ref->t.rows, ref->rows.len);
}

/* The slots a part of n workers gets: see gen_pool.c's top. */
static size_t slots_for(size_t n, int prefetch)
{
    return prefetch ? 2 * n + 2 : n == 1 ? 1 : 2 * n;
}

/* The ranges a part of n workers reads: every object in chunks, and with
 * n > 1 the part's last 2n in quarters where a quarter is at least 256
 * bytes (gen_pool.c: add_object, cut_end). */
static size_t ranges_for(size_t n, uint64_t chunk)
{
    static uint64_t lens[MAX_UNITS];
    size_t count = 0;
    for (int o = 0; o < OBJECTS; o++) {
        uint64_t a = 0;
        do {
            uint64_t b = sizes[o] - a > chunk ? a + chunk : sizes[o];
            assert_true(count < MAX_UNITS);
            lens[count++] = b - a;
            a = b;
        } while (a < sizes[o]);
    }
    size_t end = n > 1 ? 2 * n : 0, total = count;
    for (size_t i = count > end ? count - end : 0; i < count; i++)
        if (lens[i] >= 4 * 256)
            total += 3;
    return total;
}

/* Both ways of reading: each worker its own ranges (the file store), and
 * fetcher threads ahead of the workers (S3's, forced by the test hook). */
static void test_same_bytes_any_threads_any_ranges(void **state)
{
    (void)state;
    ref_rows ref = {0};
    read_ref(&ref);
    assert_true(ref.t.rows > 1000 && ref.t.skipped[LAMBDA_SKIP_TOO_LONG] > 100);
    const char *const cases[][2] = {{"1", "4194304"}, {"1", "300"},  {"2", "256"},
                                    {"3", "1000"},    {"4", "4097"}, {"8", "50000"}};
    lambda_report_buf csv = {0};
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        report_gen_test_prefetch = prefetch;
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            report_gen_totals t;
            lambda_error err = {{0}, {0}};
            if (run_part(cases[c][0], cases[c][1], sizes, &csv, &t, &err) != 0)
                fail_msg("prefetch %d, threads %s, ranges of %s: %s: %s", prefetch, cases[c][0],
                         cases[c][1], err.type, err.message);
            char what[96];
            snprintf(what, sizeof what, "prefetch %d, threads %s, ranges of %s", prefetch,
                     cases[c][0], cases[c][1]);
            same_as_ref(what, &csv, &t, &ref);
            assert_true(t.threads >= 1 && t.threads <= (unsigned)atoi(cases[c][0]) &&
                        t.threads == report_gen_threads());
            /* The invoking thread (main: a deep stack) is worker 0. */
            assert_int_equal(t.fetchers, prefetch ? t.threads + 1 : 0);
            assert_int_equal(t.spawned, t.fetchers + t.threads - 1);
            assert_int_equal(t.slots, slots_for(t.threads, prefetch));
            assert_int_equal(t.ranges, ranges_for(t.threads, strtoull(cases[c][1], NULL, 10)));
        }
    }
    report_gen_test_prefetch = 0;
    lambda_report_buf_free(&csv);
    free_ref(&ref);
}

static void test_first_failure_in_key_order(void **state)
{
    (void)state;
    uint64_t sz[OBJECTS];
    lambda_report_buf csv = {0};
    report_gen_totals t;
    const char *const threads[] = {"1", "4", "1", "4"};
    for (int i = 0; i < 4; i++) {
        report_gen_test_prefetch = i >= 2;
        /* Object 3 listed one byte longer than it is (a short body), object
         * 6 one byte shorter (a longer body): object 3's error. */
        memcpy(sz, sizes, sizeof sz);
        sz[3]++;
        sz[6]--;
        lambda_error err = {{0}, {0}};
        assert_int_equal(run_part(threads[i], "1000", sz, &csv, &t, &err), -1);
        assert_string_equal(err.type, "StoreUnavailable");
        if (!strstr(err.message, "obj-03") || !strstr(err.message, "listing said"))
            fail_msg("threads %s: %s", threads[i], err.message);
        memcpy(sz, sizes, sizeof sz);
        sz[6]--;
        memset(&err, 0, sizeof err);
        assert_int_equal(run_part(threads[i], "1000", sz, &csv, &t, &err), -1);
        if (!strstr(err.message, "obj-06") || !strstr(err.message, "more"))
            fail_msg("threads %s: %s", threads[i], err.message);
    }
    report_gen_test_prefetch = 0;
    /* A vanished object: StoreNotFound, here too the first in key order. */
    static char gone_a[] = "src/gone-a.ndjson", gone_b[] = "src/gone-b.ndjson";
    char *kept = keys[2], *kept7 = keys[7];
    keys[2] = gone_a;
    keys[7] = gone_b;
    lambda_error err = {{0}, {0}};
    assert_int_equal(run_part("3", "2000", sizes, &csv, &t, &err), -1);
    assert_string_equal(err.type, "StoreNotFound");
    assert_non_null(strstr(err.message, "gone-a"));
    keys[2] = kept;
    keys[7] = kept7;
    lambda_report_buf_free(&csv);
}

/* One part's bytes equal the one reader's: else fails naming the case. */
static void expect_ref(const char *threads, const char *chunk, const ref_rows *ref,
                       lambda_report_buf *csv)
{
    report_gen_totals t;
    lambda_error err = {{0}, {0}};
    char what[64];
    snprintf(what, sizeof what, "threads %s, ranges of %s", threads, chunk);
    if (run_part(threads, chunk, sizes, csv, &t, &err) != 0)
        fail_msg("%s: %s: %s", what, err.type, err.message);
    same_as_ref(what, csv, &t, ref);
}

/* Parts in one process, as warm invocations run them: the buffers a part
 * leaves are taken by the next part of the same shape (the kept bytes do not
 * grow), a failed part leaves nothing behind that changes the next one's
 * bytes, another shape frees them, and release frees everything (valgrind:
 * functions_test_gen_pool_valgrind). */
static void test_kept_buffers(void **state)
{
    (void)state;
    ref_rows ref = {0};
    read_ref(&ref);
    lambda_report_buf csv = {0};
    report_gen_cache_release();
    assert_int_equal(report_gen_cached_bytes(), 0);
    expect_ref("2", "1000", &ref, &csv);
    size_t kept = report_gen_cached_bytes();
    /* 2N + 2 slots of (range + tail + rows) and N parsers: far below this. */
    assert_true(kept > 0 && kept < 6 * 8 * (1000 + MAX_LINE + 2) + 2 * 64 * MAX_LINE);
    expect_ref("2", "1000", &ref, &csv);
    assert_int_equal(report_gen_cached_bytes(), kept);

    uint64_t sz[OBJECTS];
    memcpy(sz, sizes, sizeof sz);
    /* Object 0 (empty) listed longer than it is: the first range fails and
     * its slot is left failed; then object 3 short: fails mid-part. */
    for (int o = 0; o < 4; o += 3) {
        sz[o]++;
        report_gen_totals t;
        lambda_error err = {{0}, {0}};
        assert_int_equal(run_part("2", "1000", sz, &csv, &t, &err), -1);
        assert_non_null(strstr(err.message, o ? "obj-03" : "obj-00"));
        sz[o]--;
        expect_ref("2", "1000", &ref, &csv);
        assert_int_equal(report_gen_cached_bytes(), kept);
    }

    expect_ref("1", "1000", &ref, &csv); /* other shapes: other sets */
    expect_ref("3", "700", &ref, &csv);
    expect_ref("3", "700", &ref, &csv);
    report_gen_cache_release();
    assert_int_equal(report_gen_cached_bytes(), 0);
    lambda_report_buf_free(&csv);
    free_ref(&ref);
}

/* Parts at once (the runtime may run invocations concurrently): one takes
 * the kept set, the others make their own; all give the same bytes. One runs
 * on a thread with a stack under 2 MiB, as the runtime's threads have on musl
 * (128 KiB): it may not parse there (cJSON's fallback recurses), so all N
 * workers are threads of their own. */
typedef struct concurrent_part {
    const char *name;
    lambda_report_buf csv;
    int rc;
    report_gen_totals t;
} concurrent_part;

static void *concurrent_main(void *arg)
{
    concurrent_part *c = arg;
    char url[300];
    snprintf(url, sizeof url, "file://%s", root);
    lambda_store *in = NULL, *o = NULL;
    lambda_store_writer *w = NULL;
    lambda_error err = {{0}, {0}};
    c->rc = -1;
    if (lambda_store_open(url, &in, &err) == 0 && lambda_store_open(url, &o, &err) == 0 &&
        lambda_store_put_begin(o, c->name, &w, &err) == 0) {
        if (report_gen_convert(in, keys, sizes, OBJECTS, "acme", w, &c->t, &err) != 0)
            lambda_store_put_abort(w);
        else if (lambda_store_put_commit(w, &err) == 0 &&
                 lambda_store_get(o, c->name, 0, 0, collect, &c->csv, &err) == 0)
            c->rc = 0;
    }
    lambda_store_close(in);
    lambda_store_close(o);
    return NULL;
}

static void test_concurrent_parts(void **state)
{
    (void)state;
    lambda_report_buf ref = {0};
    setenv("REPORT_THREADS", "2", 1);
    setenv("REPORT_CHUNK_BYTES", "900", 1);
    setenv("REPORT_MAX_LINE", "300", 1);
    lambda_store_writer *w = NULL;
    report_gen_totals t;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_put_begin(out, "ref.csv", &w, &err), 0);
    assert_int_equal(report_gen_convert(data, keys, sizes, OBJECTS, "acme", w, &t, &err), 0);
    assert_int_equal(lambda_store_put_commit(w, &err), 0);
    assert_int_equal(lambda_store_get(out, "ref.csv", 0, 0, collect, &ref, &err), 0);
    concurrent_part parts[3] = {{"a.csv", {0}, 0, t}, {"b.csv", {0}, 0, t}, {"c.csv", {0}, 0, t}};
    pthread_t tids[3];
    /* A stack of our own: glibc would hand a cached larger one (the workers'
     * 2 MiB) to a thread asking for a small size. Under 2 MiB, yet enough
     * for ThreadSanitizer's needs (about 900 KiB). */
    size_t small_size = 1536 * 1024;
    void *small_stack = aligned_alloc(4096, small_size);
    assert_non_null(small_stack);
    pthread_attr_t small;
    pthread_attr_init(&small);
    assert_int_equal(pthread_attr_setstack(&small, small_stack, small_size), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            pthread_create(&tids[i], i == 2 ? &small : NULL, concurrent_main, &parts[i]), 0);
    pthread_attr_destroy(&small);
    for (int i = 0; i < 3; i++) {
        pthread_join(tids[i], NULL);
        assert_int_equal(parts[i].rc, 0);
        /* The default stack (8 MiB on glibc) works; the small one waits. */
        assert_int_equal(parts[i].t.threads, t.threads);
        assert_int_equal(parts[i].t.spawned, i == 2 ? t.threads : t.threads - 1);
        assert_int_equal(parts[i].csv.len, ref.len);
        assert_memory_equal(parts[i].csv.data, ref.data, ref.len);
        lambda_report_buf_free(&parts[i].csv);
    }
    free(small_stack);
    assert_true(report_gen_cached_bytes() > 0); /* one set kept, the others freed */
    report_gen_cache_release();
    lambda_report_buf_free(&ref);
}

/* ---- the workers seen through the test hook ---- */

#define HOLD_WAIT_S 60 /* a bounded wait: under load the others may be slow */

/* What the hook saw of one part; a range's read can be held until others
 * are parsed, to make ranges finish out of order on purpose. */
typedef struct observer {
    pthread_t caller;
    size_t slots;    /* the part's S */
    size_t hold;     /* this range's read waits (SIZE_MAX: none) ... */
    size_t until[2]; /* ... until these are parsed, */
    int linger_ms;   /* then this long (time for a broken bound to show) */
    int timed_out, too_many;
    unsigned char parsed[MAX_UNITS];
    size_t written[MAX_UNITS], n_written;
    int parsed_before_first_write; /* until[] both parsed before range hold was written */
    size_t bound_broken;           /* 1 + a range read before the range S before it was written */
    pthread_t reader[MAX_UNITS];   /* the thread that read range u */
    struct {
        pthread_t tid;
        size_t unwritten, most; /* ranges it read, not yet written: now, at most */
    } readers[2 * REPORT_MAX_THREADS + 1];
    size_t n_readers;
    int fetch_elsewhere, parse_elsewhere, write_elsewhere; /* off the caller's thread */
} observer;

static observer obs;
static pthread_mutex_t obs_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t obs_cv = PTHREAD_COND_INITIALIZER;

static void hold_read(observer *o)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += HOLD_WAIT_S;
    while (!(o->parsed[o->until[0]] && o->parsed[o->until[1]]) && !o->timed_out)
        if (pthread_cond_timedwait(&obs_cv, &obs_mu, &deadline) != 0)
            o->timed_out = 1;
    if (o->linger_ms) {
        pthread_mutex_unlock(&obs_mu);
        struct timespec linger = {0, o->linger_ms * 1000000L};
        nanosleep(&linger, NULL);
        pthread_mutex_lock(&obs_mu);
    }
}

/* The thread's entry in o->readers (added if new). */
static size_t reader_of(observer *o, pthread_t tid)
{
    size_t i = 0;
    while (i < o->n_readers && !pthread_equal(o->readers[i].tid, tid))
        i++;
    if (i == o->n_readers)
        o->readers[o->n_readers++].tid = tid;
    return i;
}

static void observe(report_gen_event ev, size_t u, void *ud)
{
    observer *o = ud;
    int elsewhere = !pthread_equal(pthread_self(), o->caller);
    pthread_mutex_lock(&obs_mu);
    if (u >= MAX_UNITS) {
        o->too_many = 1;
    } else if (ev == REPORT_GEN_TEST_FETCH) {
        o->fetch_elsewhere |= elsewhere;
        if (u >= o->n_written + o->slots && !o->bound_broken)
            o->bound_broken = u + 1;
        o->reader[u] = pthread_self();
        size_t r = reader_of(o, o->reader[u]);
        if (++o->readers[r].unwritten > o->readers[r].most)
            o->readers[r].most = o->readers[r].unwritten;
        if (u == o->hold)
            hold_read(o);
    } else if (ev == REPORT_GEN_TEST_PARSED) {
        o->parse_elsewhere |= elsewhere;
        o->parsed[u] = 1;
        pthread_cond_broadcast(&obs_cv);
    } else {
        o->write_elsewhere |= elsewhere;
        if (u == o->hold)
            o->parsed_before_first_write = o->parsed[o->until[0]] && o->parsed[o->until[1]];
        o->written[o->n_written++] = u;
        o->readers[reader_of(o, o->reader[u])].unwritten--;
    }
    pthread_mutex_unlock(&obs_mu);
}

/* Range `range`'s read waits until ranges until[0] and until[1] are parsed,
 * then linger_ms more. */
typedef struct hold {
    size_t range, until[2];
    int linger_ms;
} hold;

static const hold no_hold = {SIZE_MAX, {0, 0}, 0};

/* One part of `threads` workers in ranges of 1000 bytes, watched. */
static int observed_part(const char *threads, int prefetch, hold h, char *const *k,
                         const uint64_t *sz, lambda_report_buf *csv, report_gen_totals *t,
                         lambda_error *err)
{
    memset(&obs, 0, sizeof obs);
    obs.caller = pthread_self();
    obs.slots = slots_for((size_t)atoi(threads), prefetch);
    obs.hold = h.range;
    obs.until[0] = h.until[0];
    obs.until[1] = h.until[1];
    obs.linger_ms = h.linger_ms;
    report_gen_test_prefetch = prefetch;
    report_gen_test_hook_ud = &obs;
    report_gen_test_hook = observe;
    char *kept[OBJECTS];
    memcpy(kept, keys, sizeof kept);
    memcpy(keys, k, sizeof kept);
    int rc = run_part(threads, "1000", sz, csv, t, err);
    memcpy(keys, kept, sizeof kept);
    report_gen_test_hook = NULL;
    report_gen_test_prefetch = 0;
    assert_false(obs.too_many);
    if (obs.timed_out)
        fail_msg("threads %s, prefetch %d: ranges %zu and %zu not parsed within %d s of range "
                 "%zu's read being held",
                 threads, prefetch, h.until[0], h.until[1], HOLD_WAIT_S, h.range);
    assert_int_equal(t->slots, obs.slots);
    return rc;
}

/* observed_part on the whole data, which must succeed with the reference
 * bytes (every test that does not make a range fail). */
static void observed_ok(const char *threads, int prefetch, hold h, const ref_rows *ref,
                        lambda_report_buf *csv, report_gen_totals *t)
{
    lambda_error err = {{0}, {0}};
    if (observed_part(threads, prefetch, h, keys, sizes, csv, t, &err) != 0)
        fail_msg("prefetch %d: %s: %s", prefetch, err.type, err.message);
    assert_int_equal(csv->len, ref->rows.len);
    assert_memory_equal(csv->data, ref->rows.data, csv->len);
}

/* Two workers are needed (a machine with one CPU gets one). */
static int two_workers(void)
{
    setenv("REPORT_THREADS", "2", 1);
    if (report_gen_threads() >= 2)
        return 1;
    print_message("one CPU: two workers cannot run here\n");
    return 0;
}

/* Parts one after another run on the threads the first one started, kept
 * parked between parts (on S3 too: N + 1 fetchers and N - 1 workers), with
 * the same bytes; a release joins them and the next part starts its own. */
static void test_kept_threads(void **state)
{
    (void)state;
    if (!two_workers())
        skip();
    ref_rows ref = {0};
    read_ref(&ref);
    lambda_report_buf csv = {0};
    report_gen_cache_release();
    for (int i = 0; i < 4; i++) {
        int prefetch = i >= 2;
        report_gen_test_prefetch = prefetch;
        report_gen_totals t;
        lambda_error err = {{0}, {0}};
        if (run_part("2", "1000", sizes, &csv, &t, &err) != 0)
            fail_msg("part %d: %s: %s", i, err.type, err.message);
        assert_int_equal(csv.len, ref.rows.len);
        assert_memory_equal(csv.data, ref.rows.data, csv.len);
        assert_int_equal(t.spawned, prefetch ? 4 : 1);
        /* 0 (first part), 1, 1 (S3 takes the one kept, starts 3), 4. */
        assert_int_equal(t.kept, i == 0 ? 0 : i == 3 ? 4 : 1);
    }
    report_gen_test_prefetch = 0;
    report_gen_cache_release();
    report_gen_totals t;
    expect_ref("2", "1000", &ref, &csv);
    lambda_error err = {{0}, {0}};
    assert_int_equal(run_part("2", "1000", sizes, &csv, &t, &err), 0);
    assert_int_equal(t.kept, 1);
    report_gen_cache_release();
    lambda_report_buf_free(&csv);
    free_ref(&ref);
}

/* With one worker on the file store the invoking thread reads, parses and
 * writes every range itself: no thread is started. On S3 (prefetch) only
 * the reads are another thread's. */
static void test_one_worker_starts_no_thread(void **state)
{
    (void)state;
    ref_rows ref = {0};
    read_ref(&ref);
    lambda_report_buf csv = {0};
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        report_gen_totals t;
        observed_ok("1", prefetch, no_hold, &ref, &csv, &t);
        assert_int_equal(t.threads, 1);
        assert_int_equal(t.fetchers, prefetch ? 2 : 0);
        assert_int_equal(t.spawned, prefetch ? 2 : 0);
        assert_int_equal(obs.fetch_elsewhere, prefetch);
        assert_false(obs.parse_elsewhere);
        assert_false(obs.write_elsewhere);
        assert_int_equal(obs.n_written, t.ranges);
    }
    lambda_report_buf_free(&csv);
    free_ref(&ref);
}

/* The observed writes were ranges 0 .. n - 1, each once: in that order when
 * written in order (S3's writer); at their offsets (the file store) a batch
 * may land before the one placed just before it, but a range never before
 * range `first` (placed first). The part's bytes prove the offsets. */
static void expect_writes(const char *what, size_t n, int in_order, size_t first)
{
    static unsigned char seen[MAX_UNITS];
    memset(seen, 0, sizeof seen);
    if (obs.n_written != n)
        fail_msg("%s: %zu writes, expected %zu", what, obs.n_written, n);
    for (size_t i = 0; i < n; i++) {
        size_t u = obs.written[i];
        if (u >= n || seen[u]++)
            fail_msg("%s: write %zu was range %zu (again, or past %zu)", what, i, u, n);
        if (in_order && u != i)
            fail_msg("%s: write %zu was range %zu", what, i, u);
        if (i == 0 && first < n && u != first)
            fail_msg("%s: range %zu was written before range %zu", what, u, first);
    }
}

/* Range 0's read is held until ranges 1 and 2 are parsed: they wait, parsed,
 * and are written after range 0, every range exactly once; in order when
 * written in order, at their offsets else (the bytes are the same). */
static void test_later_ranges_first_written_in_order(void **state)
{
    (void)state;
    if (!two_workers())
        skip();
    ref_rows ref = {0};
    read_ref(&ref);
    lambda_report_buf csv = {0};
    for (int mode = 0; mode < 4; mode++) {
        int prefetch = mode & 1, in_order = mode >> 1;
        char what[64];
        snprintf(what, sizeof what, "prefetch %d, in order %d", prefetch, in_order);
        report_gen_test_in_order = in_order;
        report_gen_totals t;
        observed_ok("2", prefetch, (hold){0, {1, 2}, 0}, &ref, &csv, &t);
        report_gen_test_in_order = 0;
        assert_true(obs.parsed_before_first_write);
        expect_writes(what, t.ranges, in_order, 0);
    }
    lambda_report_buf_free(&csv);
    free_ref(&ref);
}

/* Range k (a vanished object's only one) fails after ranges k + 1 and k + 2
 * are parsed: its error is the part's, and nothing from k on is written. */
static void test_failure_after_later_ranges_parsed(void **state)
{
    (void)state;
    if (!two_workers())
        skip();
    static char gone[] = "src/gone.ndjson";
    char *k[OBJECTS];
    uint64_t sz[OBJECTS];
    memcpy(k, keys, sizeof k);
    memcpy(sz, sizes, sizeof sz);
    k[3] = gone;
    sz[3] = 500; /* one range of 1000 */
    size_t fail = 0;
    for (int o = 0; o < 3; o++)
        fail += sz[o] ? (size_t)((sz[o] + 999) / 1000) : 1;
    assert_true(sz[4] > 3000); /* ranges fail + 1 and + 2 are object 4's */
    lambda_report_buf csv = {0};
    for (int mode = 0; mode < 4; mode++) {
        int prefetch = mode & 1, in_order = mode >> 1;
        char what[64];
        snprintf(what, sizeof what, "prefetch %d, in order %d", prefetch, in_order);
        report_gen_test_in_order = in_order;
        report_gen_totals t;
        lambda_error err = {{0}, {0}};
        assert_int_equal(observed_part("2", prefetch, (hold){fail, {fail + 1, fail + 2}, 0}, k, sz,
                                       &csv, &t, &err),
                         -1);
        report_gen_test_in_order = 0;
        assert_string_equal(err.type, "StoreNotFound");
        if (!strstr(err.message, "gone"))
            fail_msg("%s: %s", what, err.message);
        assert_true(obs.parsed[fail + 1] && obs.parsed[fail + 2]);
        expect_writes(what, fail, in_order, SIZE_MAX);
    }
    lambda_report_buf_free(&csv);
}

/* Range 0's read is held until the other worker has read as far as it may
 * (S3: range S - 1; the file store: range 2, both of its rows buffers
 * lent), and a while longer: the other worker (and the fetchers) must not
 * read range S or later before range 0 is written, however long it waits,
 * and on the file store no worker may hold more than two ranges not yet
 * written (it waits for one of its rows buffers). */
static void test_memory_bound_with_a_slow_worker(void **state)
{
    (void)state;
    if (!two_workers())
        skip();
    ref_rows ref = {0};
    read_ref(&ref);
    lambda_report_buf csv = {0};
    for (int prefetch = 0; prefetch < 2; prefetch++) {
        size_t last = prefetch ? slots_for(2, prefetch) - 1 : 2;
        report_gen_totals t;
        observed_ok("2", prefetch, (hold){0, {last, last}, 100}, &ref, &csv, &t);
        if (obs.bound_broken)
            fail_msg("prefetch %d: range %zu read before range %zu was written (%zu slots)",
                     prefetch, obs.bound_broken - 1, obs.bound_broken - 1 - t.slots, t.slots);
        for (size_t r = 0; !prefetch && r < obs.n_readers; r++)
            if (obs.readers[r].most > 2)
                fail_msg("a worker held %zu ranges not yet written (two rows buffers)",
                         obs.readers[r].most);
    }
    lambda_report_buf_free(&csv);
    free_ref(&ref);
}

static void test_thread_setting(void **state)
{
    (void)state;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    setenv("REPORT_THREADS", "1", 1);
    assert_int_equal(report_gen_threads(), 1);
    setenv("REPORT_THREADS", "100000", 1); /* capped by the CPUs */
    unsigned n = report_gen_threads();
    assert_true(n >= 1 && (long)n <= online && n <= REPORT_MAX_THREADS);
    setenv("REPORT_THREADS", "zero", 1); /* not a number: the default */
    assert_int_equal(report_gen_threads(), n);
}

/* The range size: REPORT_CHUNK_BYTES, else the store's default, which
 * functions/README.md states (1 MiB on S3, 256 KiB on the file store). */
static void test_chunk_setting(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    lambda_store *s3 = NULL;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_open("s3://bucket-name/p", &s3, &err), 0);
    unsetenv("REPORT_CHUNK_BYTES");
    assert_int_equal(report_gen_chunk_bytes(data), 256 * 1024);
    assert_int_equal(report_gen_chunk_bytes(s3), 1024 * 1024);
    setenv("REPORT_CHUNK_BYTES", "5000", 1);
    assert_int_equal(report_gen_chunk_bytes(data), 5000);
    assert_int_equal(report_gen_chunk_bytes(s3), 5000);
    setenv("REPORT_CHUNK_BYTES", "10", 1); /* raised to the minimum */
    assert_int_equal(report_gen_chunk_bytes(data), REPORT_MIN_CHUNK_BYTES);
    setenv("REPORT_CHUNK_BYTES", "big", 1); /* not a number: the default */
    assert_int_equal(report_gen_chunk_bytes(s3), 1024 * 1024);
    lambda_store_close(s3);
}

/* ---- a part listed while its workers run (report_gen_convert_listed) ---- */

/* A lister that hands the objects (with the sizes in sz) one at a time; after
 * object 0 it waits for a worker to parse a range (at most 10 s) when
 * `wait_parse`, and it fails with its own error after them all when `fail`.
 * The test hook counts the ranges parsed while it lists. */
typedef struct slow_lister {
    const uint64_t *sz;
    int wait_parse, fail;
    int listing;              /* (lister_mu) */
    size_t parsed_in_listing; /* (lister_mu) */
} slow_lister;

static pthread_mutex_t lister_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lister_parsed = PTHREAD_COND_INITIALIZER;
static slow_lister lister;

static void count_parsed(report_gen_event ev, size_t unit, void *ud)
{
    (void)unit;
    (void)ud;
    if (ev != REPORT_GEN_TEST_PARSED)
        return;
    pthread_mutex_lock(&lister_mu);
    if (lister.listing)
        lister.parsed_in_listing++;
    pthread_cond_broadcast(&lister_parsed);
    pthread_mutex_unlock(&lister_mu);
}

static int list_slowly(void *ud, report_gen_feed *feed, lambda_error *err)
{
    slow_lister *l = ud;
    pthread_mutex_lock(&lister_mu);
    l->listing = 1;
    pthread_mutex_unlock(&lister_mu);
    for (int o = 0; o < OBJECTS; o++) {
        if (report_gen_add(feed, keys[o], l->sz[o]) != 0)
            fail_msg("report_gen_add: out of memory");
        if (o == 0 && l->wait_parse) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 10;
            pthread_mutex_lock(&lister_mu);
            while (l->parsed_in_listing == 0 &&
                   pthread_cond_timedwait(&lister_parsed, &lister_mu, &until) == 0)
                ;
            pthread_mutex_unlock(&lister_mu);
        }
    }
    if (l->fail) /* after a worker may have met object 1's error, or not */
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    pthread_mutex_lock(&lister_mu);
    l->listing = 0;
    pthread_mutex_unlock(&lister_mu);
    if (l->fail)
        return lambda_error_set(err, "StoreUnavailable", "the listing broke"), -1;
    return 0;
}

/* One part listed by list_slowly: 0 and its bytes in *csv, or -1 and err. */
static int run_listed(const char *threads, const uint64_t *sz, int wait_parse, int fail,
                      lambda_report_buf *csv, report_gen_totals *t, lambda_error *err)
{
    lister.sz = sz;
    lister.wait_parse = wait_parse;
    lister.fail = fail;
    lister.parsed_in_listing = 0;
    report_gen_test_hook = count_parsed;
    int rc = run_part_via(threads, "1000", list_slowly, &lister, NULL, csv, t, err);
    report_gen_test_hook = NULL;
    return rc;
}

/* With two workers or more (the file store), ranges of the objects listed
 * so far are parsed while the listing goes on, and the part's bytes are the
 * one reader's; with one worker, or fetchers ahead (S3's way), the listing
 * ends before any range is read. */
static void test_workers_start_while_listing(void **state)
{
    (void)state;
    if (!two_workers())
        skip();
    ref_rows ref = {0};
    read_ref(&ref);
    lambda_report_buf csv = {0};
    const char *const threads[] = {"2", "4", "1", "2"};
    for (int c = 0; c < 4; c++) {
        int streams = c < 2;
        report_gen_test_prefetch = c == 3;
        report_gen_totals t;
        lambda_error err = {{0}, {0}};
        if (run_listed(threads[c], sizes, streams, 0, &csv, &t, &err) != 0)
            fail_msg("threads %s: %s: %s", threads[c], err.type, err.message);
        report_gen_test_prefetch = 0;
        same_as_ref(threads[c], &csv, &t, &ref);
        if (streams ? lister.parsed_in_listing == 0 : lister.parsed_in_listing != 0)
            fail_msg("threads %s, prefetch %d: %zu ranges parsed while listing", threads[c], c == 3,
                     lister.parsed_in_listing);
    }
    lambda_report_buf_free(&csv);
    free_ref(&ref);
}

/* A listing that fails fails the part with its own error, even when a range
 * of an object it listed failed first (object 1 listed a byte longer than it
 * is); the next part is whole. */
static void test_failed_listing_decides(void **state)
{
    (void)state;
    ref_rows ref = {0};
    read_ref(&ref);
    lambda_report_buf csv = {0};
    uint64_t sz[OBJECTS];
    memcpy(sz, sizes, sizeof sz);
    sz[1]++;
    const char *const threads[] = {"1", "2", "4"};
    for (int c = 0; c < 3; c++) {
        report_gen_totals t;
        lambda_error err = {{0}, {0}};
        assert_int_equal(run_listed(threads[c], sz, 0, 1, &csv, &t, &err), -1);
        assert_string_equal(err.type, "StoreUnavailable");
        if (strcmp(err.message, "the listing broke") != 0)
            fail_msg("threads %s: %s", threads[c], err.message);
        memset(&err, 0, sizeof err);
        assert_int_equal(run_listed(threads[c], sz, 0, 0, &csv, &t, &err), -1);
        if (!strstr(err.message, "obj-01"))
            fail_msg("threads %s: %s", threads[c], err.message);
        memset(&err, 0, sizeof err);
        if (run_listed(threads[c], sizes, 0, 0, &csv, &t, &err) != 0)
            fail_msg("threads %s: %s: %s", threads[c], err.type, err.message);
        same_as_ref(threads[c], &csv, &t, &ref);
    }
    lambda_report_buf_free(&csv);
    free_ref(&ref);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s/gen-pool-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root))
        return -1;
    char url[300];
    snprintf(url, sizeof url, "file://%s", root);
    lambda_error err = {{0}, {0}};
    if (lambda_store_open(url, &data, &err) || lambda_store_open(url, &out, &err))
        return -1;
    ref_rows ref = {0};
    make_objects(&ref);
    free_ref(&ref);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lambda_store_close(data);
    lambda_store_close(out);
    for (int o = 0; o < OBJECTS; o++)
        free(keys[o]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_any_threads_any_ranges),
        cmocka_unit_test(test_first_failure_in_key_order),
        cmocka_unit_test(test_thread_setting),
        cmocka_unit_test(test_chunk_setting),
        cmocka_unit_test(test_kept_buffers),
        cmocka_unit_test(test_concurrent_parts),
        cmocka_unit_test(test_kept_threads),
        cmocka_unit_test(test_one_worker_starts_no_thread),
        cmocka_unit_test(test_later_ranges_first_written_in_order),
        cmocka_unit_test(test_failure_after_later_ranges_parsed),
        cmocka_unit_test(test_memory_bound_with_a_slow_worker),
        cmocka_unit_test(test_workers_start_while_listing),
        cmocka_unit_test(test_failed_listing_decides),
    };
    if (getenv("GEN_POOL_TEST")) /* one test (a pattern), e.g. against a broken variant */
        cmocka_set_test_filter(getenv("GEN_POOL_TEST"));
    return cmocka_run_group_tests(tests, setup, teardown);
}

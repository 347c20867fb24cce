/*
 * GenerateSubReport's workers: a part's source objects, cut into ranges of
 * REPORT_CHUNK_BYTES, go through three stages that run at the same time,
 *
 *   fetchers (N + 1 threads, a store handle each): GET a range into memory
 *   parsers  (N threads, a parser each):           the range's lines -> rows
 *   writer   (the invoking thread):                rows -> the part's writer,
 *                                                  in range order
 *
 * so a part uses N cores, and reading the next ranges (S3 GETs) overlaps
 * parsing the current ones. A range lives in one of S = 2N + 2 slots from
 * its fetch until its rows are written (range u in slot u % S); a fetcher
 * waits until range u - S is written, so at most S ranges are in memory:
 *
 *   memory <= S * (chunk + tail + rows of a chunk) + N parsers' yyjson pools
 *
 * where tail <= max(min(64 KiB, chunk / 8 + 1), REPORT_MAX_LINE + 2) (the end
 * of a range's last line) and a chunk's rows are about half its bytes on the
 * bench data (at most a small multiple: escapes and numbers can grow). The
 * chunk's default depends on the store (report_gen_chunk_bytes): 1 MiB on S3,
 * where a GET has a latency to amortise, about 1.6 MiB a slot on the bench
 * data (N = 1 -> 4 slots, 6.4 MiB; N = 2 -> 6, 9.6 MiB; N = 6 -> 14); 256 KiB
 * on the file store, about 0.45 MiB a slot (N = 1: 1.8 MiB, N = 2: 2.7 MiB).
 * With 1 MiB lines a slot can hold up to about 2 MiB more. The process keeps
 * one part's slots and parsers between invocations (see "buffers kept
 * between invocations" below): within the same bound.
 *
 * Rows are written in the order a single reader would write them (ranges in
 * object order, lines in range order), so the part's bytes do not depend on
 * N. The first failing range in that order decides the error, as it would
 * sequentially; no range after it is started.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handler_common.h"

/* Read past a range for its last line: at most an eighth of the range (a
 * line rarely needs more; a longer one is read on in growing steps), so that
 * small ranges do not fetch and copy a large share of bytes twice. */
#define GEN_TAIL_BYTES (64 * 1024)
/* musl gives threads 128 KiB of stack; cJSON's parser (the fallback for odd
 * lines) recurses up to 1000 levels deep. */
#define GEN_STACK_BYTES (2 * 1024 * 1024)

typedef struct gen_range {
    size_t obj;
    uint64_t start, end;
} gen_range;

enum { SLOT_FREE, SLOT_FETCHING, SLOT_FETCHED, SLOT_PARSING, SLOT_PARSED, SLOT_FAILED };

typedef struct gen_slot {
    size_t unit; /* the range held (valid unless SLOT_FREE) */
    int state;
    char *in; /* the object's bytes from the range's start - 1 */
    size_t in_len, in_cap, in_limit;
    lambda_report_range_out out;
    uint64_t fallbacks;
    lambda_error err;
} gen_slot;

typedef struct gen_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* any slot changed state, or stop */
    char *const *keys;
    const uint64_t *sizes;
    const char *customer;
    const char *url;
    lambda_store *data; /* the caller's handle: fetcher 0 uses it */
    size_t max_line;
    gen_range *units;
    size_t n_units;
    gen_slot *slots;
    size_t n_slots;
    lambda_report_parser *parsers; /* one a parser thread */
    size_t n_parsers;
    size_t next_fetch, next_parse;
    size_t written; /* ranges written, in order */
    size_t fail_at; /* the first range known to have failed (n_units: none) */
    int stop;
} gen_pool;

typedef struct gen_worker {
    gen_pool *pool;
    size_t id;
} gen_worker;

unsigned report_gen_threads(void)
{
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = online > 0 ? (unsigned)online : 1;
    cpu_set_t set;
    /* A process pinned to fewer CPUs (taskset) gets no more threads. */
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 &&
        (unsigned)CPU_COUNT(&set) < n)
        n = (unsigned)CPU_COUNT(&set);
    uint64_t cap = report_env_u64("REPORT_THREADS", REPORT_MAX_THREADS);
    if (cap > REPORT_MAX_THREADS)
        cap = REPORT_MAX_THREADS;
    return n < cap ? n : (unsigned)cap;
}

uint64_t report_gen_chunk_bytes(const lambda_store *data)
{
    uint64_t chunk = report_env_u64("REPORT_CHUNK_BYTES", lambda_store_is_s3(data)
                                                              ? REPORT_DEFAULT_CHUNK_BYTES
                                                              : REPORT_DEFAULT_FILE_CHUNK_BYTES);
    return chunk < REPORT_MIN_CHUNK_BYTES ? REPORT_MIN_CHUNK_BYTES : chunk;
}

/* The ranges: every object cut at chunk boundaries; an empty object is one
 * empty range (still read: a vanished object is an error). */
static int make_units(gen_pool *p, size_t n, uint64_t chunk)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += p->sizes[i] ? (size_t)((p->sizes[i] + chunk - 1) / chunk) : 1;
    p->units = calloc(count ? count : 1, sizeof *p->units);
    if (!p->units)
        return -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t a = 0;
        do {
            uint64_t b = p->sizes[i] - a > chunk ? a + chunk : p->sizes[i];
            p->units[p->n_units++] = (gen_range){i, a, b};
            a = b;
        } while (a < p->sizes[i]);
    }
    return 0;
}

/* ---- fetch ---- */

static int fetch_sink(const char *data, size_t len, void *ud)
{
    gen_slot *s = ud;
    if (len > s->in_limit - s->in_len) {
        /* More than the listing said: the object changed while reading. */
        s->in_len = s->in_limit + 1;
        return 1;
    }
    memcpy(s->in + s->in_len, data, len); /* room reserved by fetch_bytes */
    s->in_len += len;
    return 0;
}

/* Room for in_limit bytes and a NUL, in one step: a slot's buffer grown by
 * doubling from 64 KiB (8 reallocs to hold a 4 MiB range) left freed blocks
 * that mimalloc hands back to the kernel (MADV_DONTNEED after 25 ms) and
 * faulted in again: the static build took twice glibc's page faults. */
static int slot_reserve(gen_slot *s)
{
    if (s->in_limit + 1 <= s->in_cap)
        return 0;
    char *grown = realloc(s->in, s->in_limit + 1);
    if (!grown) {
        store_error(&s->err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return -1;
    }
    s->in = grown;
    s->in_cap = s->in_limit + 1;
    return 0;
}

/* Reads [at, at + want) of the object into the slot (want reaching the
 * object's end: to the end), checking the count against the listing: a body
 * short of (or longer than) the listed size with a matching Content-Length
 * is invisible to HTTP, and without this check its rows would be lost. */
static int fetch_bytes(lambda_store *st, const char *key, uint64_t size, uint64_t at, uint64_t want,
                       gen_slot *s)
{
    int to_end = at + want >= size;
    size_t before = s->in_len;
    s->in_limit = before + (size_t)(to_end ? size - at : want);
    if (slot_reserve(s) != 0)
        return -1;
    if (lambda_store_get(st, key, at, to_end ? 0 : want, fetch_sink, s, &s->err) != 0 &&
        s->in_len <= s->in_limit)
        return -1;
    if (s->in_len != s->in_limit) {
        store_error(&s->err, LAMBDA_STORE_UNAVAILABLE,
                    "%s: bytes %" PRIu64 "..: read %s bytes than the listing said (%" PRIu64
                    " bytes: truncated, or changed while reading)",
                    key, at, s->in_len < s->in_limit ? "fewer" : "more", size);
        return -1;
    }
    return 0;
}

/* A range and the rest of its last line. */
static int fetch_range(gen_pool *p, lambda_store *st, gen_slot *s, const gen_range *r)
{
    const char *key = p->keys[r->obj];
    uint64_t size = p->sizes[r->obj];
    uint64_t from = r->start ? r->start - 1 : 0;
    uint64_t tail = (r->end - r->start) / 8 + 1;
    if (tail > GEN_TAIL_BYTES)
        tail = GEN_TAIL_BYTES;
    uint64_t want = r->end - from + tail;
    s->in_len = 0;
    if (fetch_bytes(st, key, size, from, want > size - from ? size - from : want, s) != 0)
        return -1;
    /* A line longer than the tail: read on in growing steps. */
    while (from + s->in_len < size &&
           !lambda_report_range_complete(s->in, s->in_len, r->start, r->end, p->max_line)) {
        uint64_t at = from + s->in_len, step = s->in_len;
        if (fetch_bytes(st, key, size, at, step > size - at ? size - at : step, s) != 0)
            return -1;
    }
    return 0;
}

static void *fetcher_main(void *arg)
{
    gen_worker *f = arg;
    gen_pool *p = f->pool;
    lambda_store *st = NULL;
    lambda_error open_err = {{0}, {0}};
    if (f->id == 0)
        st = p->data;
    else if (lambda_store_open(p->url, &st, &open_err) != 0)
        st = NULL;
    pthread_mutex_lock(&p->mu);
    while (!p->stop && p->next_fetch < p->n_units && p->next_fetch <= p->fail_at) {
        size_t u = p->next_fetch++;
        gen_slot *s = &p->slots[u % p->n_slots];
        /* The slot is u's once range u - S is written (not merely free: a
         * fetcher holding a later range u + S must not take it first). */
        while (u >= p->written + p->n_slots && !p->stop)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop)
            break;
        s->unit = u;
        s->state = SLOT_FETCHING;
        memset(&s->err, 0, sizeof s->err);
        pthread_mutex_unlock(&p->mu);
        int rc;
        if (!st) {
            s->err = open_err;
            rc = -1;
        } else {
            rc = fetch_range(p, st, s, &p->units[u]);
        }
        pthread_mutex_lock(&p->mu);
        s->state = rc ? SLOT_FAILED : SLOT_FETCHED;
        if (rc && u < p->fail_at)
            p->fail_at = u;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    if (st && st != p->data)
        lambda_store_close(st);
    return NULL;
}

/* ---- parse ---- */

static void *parser_main(void *arg)
{
    gen_pool *p = ((gen_worker *)arg)->pool;
    lambda_report_parser *parser = &p->parsers[((gen_worker *)arg)->id];
    pthread_mutex_lock(&p->mu);
    while (!p->stop && p->next_parse < p->n_units && p->next_parse <= p->fail_at) {
        size_t u = p->next_parse++;
        gen_slot *s = &p->slots[u % p->n_slots];
        while (!p->stop && u <= p->fail_at &&
               !(s->unit == u && (s->state == SLOT_FETCHED || s->state == SLOT_FAILED)))
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop || u > p->fail_at)
            break;
        if (s->state == SLOT_FAILED)
            continue;
        s->state = SLOT_PARSING;
        pthread_mutex_unlock(&p->mu);
        const gen_range *r = &p->units[u];
        uint64_t fallbacks = parser->fallbacks;
        /* Room for rows of half the range's bytes (about what the bench
         * data gives) in one step, for the reason of slot_reserve. */
        size_t room = s->in_len / 2;
        int rc = s->out.rows.cap < room + 1 ? lambda_report_buf_grow(&s->out.rows, room) : 0;
        rc = rc || lambda_report_range_rows(parser, s->in, s->in_len, r->start, r->end, p->max_line,
                                            p->customer, &s->out);
        s->fallbacks = parser->fallbacks - fallbacks;
        if (rc != 0)
            store_error(&s->err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        pthread_mutex_lock(&p->mu);
        s->state = rc ? SLOT_FAILED : SLOT_PARSED;
        if (rc && u < p->fail_at)
            p->fail_at = u;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- write (the invoking thread) ---- */

static int write_all(gen_pool *p, lambda_store_writer *w, report_gen_totals *t, lambda_error *err)
{
    int rc = 0;
    for (size_t u = 0; u < p->n_units && rc == 0; u++) {
        gen_slot *s = &p->slots[u % p->n_slots];
        pthread_mutex_lock(&p->mu);
        while (!(s->unit == u && (s->state == SLOT_PARSED || s->state == SLOT_FAILED)))
            pthread_cond_wait(&p->cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
        if (s->state == SLOT_FAILED) {
            *err = s->err;
            rc = -1;
            break;
        }
        if (s->out.rows.len && lambda_store_put_write(w, s->out.rows.data, s->out.rows.len, err))
            rc = -1;
        t->rows += s->out.nrows;
        for (int k = 0; k < LAMBDA_SKIP_COUNT; k++)
            t->skipped[k] += s->out.skipped[k];
        t->fallbacks += s->fallbacks;
        s->out.rows.len = 0;
        s->out.nrows = 0;
        memset(s->out.skipped, 0, sizeof s->out.skipped);
        pthread_mutex_lock(&p->mu);
        s->state = SLOT_FREE;
        p->written = u + 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return rc;
}

/* ---- buffers kept between invocations ---- */

/* A warm invocation (the next one in the same process: a Map's iterations
 * reuse execution environments) takes the last part's slot buffers and
 * parsers instead of fresh memory: a first touch of a page costs ~20 us of
 * CPU here (see the top), and freed buffers go back to the kernel (glibc
 * unmaps large blocks; mimalloc decommits them 25 ms after the free). One
 * part's set is kept, only for a part of the same shape (slots, parsers,
 * chunk and line limit; any other frees it), so the bound above holds for
 * the process between invocations too. Concurrent invocations: one takes the
 * set, the others make their own (freed after them unless the set is gone). */
typedef struct gen_cache {
    gen_slot *slots;
    size_t n_slots;
    lambda_report_parser *parsers;
    size_t n_parsers;
    uint64_t chunk;
    size_t max_line;
} gen_cache;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static gen_cache cache;

static void cache_free(gen_cache *c)
{
    for (size_t i = 0; i < c->n_slots; i++) {
        free(c->slots[i].in);
        lambda_report_buf_free(&c->slots[i].out.rows);
    }
    for (size_t i = 0; i < c->n_parsers; i++)
        lambda_report_parser_free(&c->parsers[i]);
    free(c->slots);
    free(c->parsers);
    *c = (gen_cache){0};
}

void report_gen_cache_release(void)
{
    pthread_mutex_lock(&cache_mu);
    gen_cache c = cache;
    cache = (gen_cache){0};
    pthread_mutex_unlock(&cache_mu);
    cache_free(&c);
}

size_t report_gen_cached_bytes(void)
{
    size_t n = 0;
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < cache.n_slots; i++)
        n += cache.slots[i].in_cap + cache.slots[i].out.rows.cap;
    for (size_t i = 0; i < cache.n_parsers; i++)
        n += cache.parsers[i].cap + cache.parsers[i].scratch.cap;
    pthread_mutex_unlock(&cache_mu);
    return n;
}

static void cache_register_exit(void)
{
    atexit(report_gen_cache_release); /* valgrind then sees nothing left */
}

/* The pool's slots and parsers: the kept set if it has this shape (emptied
 * of the last part's state), else fresh ones. 0, or -1 out of memory. */
static int pool_buffers(gen_pool *p, uint64_t chunk)
{
    pthread_mutex_lock(&cache_mu);
    gen_cache c = cache;
    cache = (gen_cache){0};
    pthread_mutex_unlock(&cache_mu);
    if (c.slots && c.n_slots == p->n_slots && c.n_parsers == p->n_parsers && c.chunk == chunk &&
        c.max_line == p->max_line) {
        for (size_t i = 0; i < c.n_slots; i++) {
            gen_slot *s = &c.slots[i];
            s->unit = 0;
            s->state = SLOT_FREE;
            s->in_len = s->in_limit = 0;
            s->out.rows.len = 0;
            s->out.nrows = 0;
            memset(s->out.skipped, 0, sizeof s->out.skipped);
            s->fallbacks = 0;
        }
        for (size_t i = 0; i < c.n_parsers; i++)
            c.parsers[i].fallbacks = 0;
        p->slots = c.slots;
        p->parsers = c.parsers;
        return 0;
    }
    cache_free(&c);
    p->slots = calloc(p->n_slots, sizeof *p->slots);
    p->parsers = calloc(p->n_parsers, sizeof *p->parsers);
    return p->slots && p->parsers ? 0 : -1;
}

/* Keeps the pool's buffers for the next invocation (unless another one's
 * are kept already), frees the rest. */
static void pool_free(gen_pool *p, uint64_t chunk)
{
    gen_cache mine = {p->slots, p->n_slots, p->parsers, p->n_parsers, chunk, p->max_line};
    if (!p->slots || !p->parsers) {
        free(p->slots);
        free(p->parsers);
        mine = (gen_cache){0};
    }
    pthread_once(&cache_once, cache_register_exit);
    pthread_mutex_lock(&cache_mu);
    if (mine.slots && !cache.slots) {
        cache = mine;
        mine = (gen_cache){0};
    }
    pthread_mutex_unlock(&cache_mu);
    cache_free(&mine);
    free(p->units);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

int report_gen_convert(lambda_store *data, char *const *keys, const uint64_t *sizes, size_t n,
                       const char *customer, lambda_store_writer *w, report_gen_totals *t,
                       lambda_error *err)
{
    memset(t, 0, sizeof *t);
    gen_pool p = {.keys = keys,
                  .sizes = sizes,
                  .customer = customer,
                  .url = lambda_store_url(data),
                  .data = data,
                  .max_line = report_env_u64("REPORT_MAX_LINE", REPORT_DEFAULT_MAX_LINE)};
    uint64_t chunk = report_gen_chunk_bytes(data);
    unsigned threads = report_gen_threads();
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.n_slots = 2 * (size_t)threads + 2;
    p.n_parsers = threads;
    if (pool_buffers(&p, chunk) != 0 || make_units(&p, n, chunk) != 0) {
        pool_free(&p, chunk);
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return -1;
    }
    p.fail_at = p.n_units;

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, GEN_STACK_BYTES);
    pthread_t tids[2 * REPORT_MAX_THREADS + 1];
    gen_worker fetchers[REPORT_MAX_THREADS + 1], parser_ids[REPORT_MAX_THREADS];
    unsigned started = 0, parsers = 0, fetching = 0;
    for (unsigned i = 0; i < threads; i++) {
        parser_ids[i] = (gen_worker){&p, i};
        if (pthread_create(&tids[started], &attr, parser_main, &parser_ids[i]) == 0)
            started++, parsers++;
    }
    for (unsigned i = 0; i < threads + 1 && parsers; i++) {
        fetchers[i] = (gen_worker){&p, i};
        if (pthread_create(&tids[started], &attr, fetcher_main, &fetchers[i]) == 0)
            started++, fetching++;
        else if (i == 0)
            break; /* fetcher 0 owns the caller's handle: no other may stand in */
    }
    pthread_attr_destroy(&attr);

    int rc;
    if (!parsers || !fetching) {
        rc = -1;
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "cannot start GenerateSubReport's threads");
    } else {
        rc = write_all(&p, w, t, err);
    }
    pthread_mutex_lock(&p.mu);
    p.stop = 1;
    pthread_cond_broadcast(&p.cv);
    pthread_mutex_unlock(&p.mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    t->threads = parsers;
    t->fetchers = fetching;
    t->ranges = p.n_units;
    pool_free(&p, chunk);
    return rc;
}

/*
 * GenerateSubReport's workers: a part's source objects, cut into ranges of
 * REPORT_CHUNK_BYTES, are each read, parsed into rows and written to the
 * part's writer in range order, on N threads (N = report_gen_threads()).
 *
 * A hand-off between threads costs a futex wake-up and a context switch
 * (tens of microseconds in a Firecracker guest with PTI), so each thread
 * does as much of a range's work as it can by itself:
 *
 *   file store (a read costs what a memcpy does): each worker reads its own
 *     range, parses it and writes it: no fetcher threads. The invoking
 *     thread is worker 0, so with N = 1 it does everything and no thread is
 *     started at all.
 *   S3 (a GET has a latency): N + 1 fetcher threads, a store handle each,
 *     GET the next ranges while the workers parse (I/O overlapped with
 *     parsing); the workers (the invoking thread and N - 1 threads) parse.
 *
 * Listing (report_gen_convert_listed): the invoking thread lists the part.
 * On the file store with N > 1 the other threads start first and take the
 * ranges of the objects listed so far, waiting on `more` for the next ones:
 * the listing walks a directory a day (~0.4 ms for a 16-day part here, ~10
 * us a day), serial time in every invocation while the other cores waited,
 * and the thread's wake-up (0.1-0.2 ms) now overlaps it. The part's last 2N
 * ranges are cut (see cut_end) once the listing is over. On S3, and with
 * N = 1, the listing ends before any range is read (fetcher 0 GETs through
 * the handle the listing uses). A range keeps what its thread read of the
 * lists (gen_job), since they grow, and move, while the listing goes on.
 *
 * Writing: the worker that finishes range k places it if k is the next
 * range to place (its offset in the part: the rows of the ranges before
 * it), then the ranges after it that are already parsed, and writes them; a
 * worker that finishes a later range leaves it parsed and takes another.
 * One worker at a time places (p->committing). Where the writer takes
 * writes at offsets (the file store), the placing worker writes its batch
 * while another places and writes the next; else (S3) it holds the token
 * while it writes, in order. The mutex is not held while writing, and
 * nobody waits for a writer.
 *
 * Memory: a range lives in one of S slots from its read until its rows are
 * written (range u in slot u % S); range u is read only once range u - S is
 * written, so at most S ranges are in memory. On S3 a range's bytes wait in
 * its slot for a worker; on the file store a worker reads into its own
 * buffer, lent to the slot until the range is parsed, so only the rows stay
 * in the slot until written, in one of the worker's two rows buffers (see
 * "Rows" below):
 *
 *   S3:         memory <= S * (chunk + tail + rows of a chunk) + N parsers
 *   file store: memory <= N * (chunk + tail) + 2N * rows of a chunk + N parsers
 *   S = 1 (file store, N = 1), 2N (file store), 2N + 2 (S3: N + 1 GETs ahead)
 *
 * where tail <= max(min(64 KiB, chunk / 8 + 1), REPORT_MAX_LINE + 2) (the end
 * of a range's last line) and a chunk's rows are about half its bytes on the
 * bench data (at most a small multiple: escapes and numbers can grow). The
 * chunk's default depends on the store (report_gen_chunk_bytes): 1 MiB on S3,
 * where a GET has a latency to amortise, about 1.6 MiB a slot on the bench
 * data (N = 1 -> 4 slots, 6.4 MiB; N = 2 -> 6, 9.6 MiB; N = 6 -> 14); 256 KiB
 * on the file store, about 0.3 MiB a worker's read buffer and 0.15 MiB a
 * worker's rows buffer (N = 1 uses one: 0.45 MiB; N = 2: 1.2 MiB).
 * With 1 MiB lines a slot can hold up to about 2 MiB more. The process keeps
 * one part's slots and parsers between invocations (see "buffers kept
 * between invocations" below): within the same bound.
 *
 * Rows (file store): a worker parses into its own two rows buffers, lent to
 * the range's slot until its rows are written, so the rows' cache lines are
 * written by the core that wrote them last. A slot's own buffer went to
 * whichever worker took the slot, and with two threads the two cores took
 * its lines from each other at every range: 4.5 % more CPU and 5 % more
 * wall (medians of 14 paired rounds here; more CPU in 13). On S3 the slots
 * keep their own rows buffers (a fetcher's core wrote the bytes anyway).
 *
 * Waiting: a thread waits only when its next range's slot still holds the
 * range S before it (the memory bound), on the file store when both of its
 * rows buffers hold rows not yet written (a worker is at most two ranges
 * ahead of the writes), or on S3 for its range's GET. Each slot and worker
 * has its own condition variables, so a state change wakes the thread that
 * waits for it, not every thread.
 *
 * Rows are written in the order a single reader would write them (ranges in
 * object order, lines in range order), so the part's bytes do not depend on
 * N. The first failing range in that order decides the error, as it would
 * sequentially: nothing after it is written and no range after it is
 * started once its failure is known.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT, pthread_getattr_np */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "handler_common.h"

/* Read past a range for its last line: at most an eighth of the range (a
 * line rarely needs more; a longer one is read on in growing steps), so that
 * small ranges do not fetch and copy a large share of bytes twice. */
#define GEN_TAIL_BYTES (64 * 1024)
/* musl gives threads 128 KiB of stack; cJSON's parser (the fallback for odd
 * lines) recurses up to 1000 levels deep. */
#define GEN_STACK_BYTES (2 * 1024 * 1024)
/* A worker's rows buffers on the file store: see "Rows" at the top. */
#define GEN_ROWS_RING 2

typedef struct gen_range {
    size_t obj;
    uint64_t start, end;
} gen_range;

/* A range as the thread that took it sees it: copied with the mutex held,
 * because the lists grow (and move) while the part is still being listed. */
typedef struct gen_job {
    size_t unit;
    const char *key;
    uint64_t size; /* the object's, as listed: a read must deliver exactly this much */
    uint64_t start, end;
} gen_job;

enum {
    SLOT_FREE,
    SLOT_FETCHING,
    SLOT_FETCHED,
    SLOT_PARSING,
    SLOT_PARSED,
    SLOT_FAILED,
    SLOT_PLACED, /* its offset in the part is known: being written */
    SLOT_WRITTEN /* until the ranges before it are written too */
};

struct gen_parser;

typedef struct gen_slot {
    size_t unit; /* the range held (valid unless SLOT_FREE) */
    int state;
    /* The thread that holds range unit + S waits on `freed` until this
     * range is written; on S3 the worker of `unit` waits on `fetched`. */
    pthread_cond_t freed, fetched;
    char *in; /* the object's bytes from the range's start - 1 */
    size_t in_len, in_cap, in_limit;
    lambda_report_range_out out;
    struct gen_parser *lender; /* file store: whose rows buffer out.rows is (NULL: none) */
    unsigned ring;             /* which of the lender's */
    uint64_t off;              /* where its rows go in the part (once placed) */
    uint64_t fallbacks;
    lambda_error err;
} gen_slot;

/* A worker's parser, on cache lines of its own. Every line a worker parses
 * writes its parser (block_lent, scratch); two 88-byte parsers side by side
 * in one array shared a cache line, which the two cores then took from each
 * other at every line: with 2 threads a part took 1.6x the CPU of 1 thread
 * (1.1x with the parsers apart). Allocated with aligned_alloc: malloc
 * promises 16 bytes of alignment, not 64. */
#define GEN_CACHE_LINE 64
typedef struct gen_parser {
    _Alignas(GEN_CACHE_LINE) lambda_report_parser p;
    char *in; /* file store: the worker's read buffer, lent to a slot */
    size_t in_cap;
    /* File store: the worker's rows buffers, each lent to a slot from the
     * range's read until its rows are written (see "Rows" at the top). */
    lambda_report_buf rows[GEN_ROWS_RING];
    int lent[GEN_ROWS_RING]; /* (mu) */
    pthread_cond_t back;     /* one of them written: free again */
} gen_parser;

typedef struct gen_pool {
    pthread_mutex_t mu;  /* the slots' unit and state, and the fields marked (mu) */
    pthread_cond_t more; /* ranges added, the listing over, or the part halted */
    char **keys;         /* (mu) the objects listed so far, in key order (copies) */
    uint64_t *sizes;     /* (mu) their sizes as listed */
    size_t n_objs, cap_objs;
    uint64_t chunk;
    const char *customer;
    const char *url;
    lambda_store *data; /* the caller's handle: worker 0 (file) or fetcher 0 (S3) */
    size_t max_line;
    int prefetch;              /* S3: fetcher threads GET ahead of the workers */
    gen_range *units;          /* (mu) the ranges of the objects listed so far */
    size_t n_units, cap_units; /* (mu) */
    int listed;                /* (mu) the listing is over: n_units is the part's */
    gen_slot *slots;
    size_t n_slots;
    gen_parser *parsers; /* one a worker, with its read buffer */
    size_t n_parsers;
    size_t next_fetch, next_parse; /* (mu) the next range to claim */
    size_t placed;                 /* (mu) ranges given their offset in the part, in order */
    uint64_t next_off;             /* (mu) the rows of the ranges placed, in bytes */
    size_t written;                /* (mu) ranges written, from the first on */
    size_t fail_at;                /* (mu) the first range known to have failed (SIZE_MAX: none) */
    int committing;                /* (mu) a worker is placing ranges (in order: and writing) */
    int stop;                      /* (mu) the part is over: its error is decided */
    int positional;                /* the writer takes writes at offsets, from any thread */
    lambda_store_writer *w;
    report_gen_totals *t; /* (mu) */
    lambda_error err;     /* (mu) the part's error: range err_at's */
    size_t err_at;        /* (mu) */
    int rc;               /* (mu) */
} gen_pool;

typedef struct gen_worker {
    gen_pool *pool;
    size_t id;
    lambda_store *st; /* its store handle (opened by its thread, or the caller's) */
    lambda_error open_err;
} gen_worker;

#ifdef LAMBDA_REPORT_TEST_HOOKS
void (*report_gen_test_hook)(report_gen_event ev, size_t unit, void *ud);
void *report_gen_test_hook_ud;
int report_gen_test_prefetch;
int report_gen_test_in_order;
#define TEST_EVENT(ev, unit)                                             \
    do {                                                                 \
        if (report_gen_test_hook)                                        \
            report_gen_test_hook((ev), (unit), report_gen_test_hook_ud); \
    } while (0)
#else
#define TEST_EVENT(ev, unit) ((void)0)
#endif

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

/* The part's last ranges come in pieces of a quarter: the part ends when its
 * last range is parsed, and meanwhile the other workers have nothing left,
 * about half a range's parse on average (0.3-0.5 ms of a ~40 ms two-thread
 * invocation here, one core idle; the slowest worker often finished half a
 * ms after the other). Quarter ranges at the end leave a quarter of that,
 * for a few more reads. With N = 1 nobody waits: no pieces. */
#define GEN_END_PIECES 4

/* Room for `more` ranges. Mutex held (or no other thread yet). */
static int reserve_units(gen_pool *p, size_t more)
{
    if (more <= p->cap_units - p->n_units)
        return 0;
    if (more > SIZE_MAX / sizeof *p->units / 2 - p->n_units)
        return -1;
    size_t cap = p->cap_units ? p->cap_units : 64;
    while (cap - p->n_units < more)
        cap *= 2;
    gen_range *grown = realloc(p->units, cap * sizeof *grown);
    if (!grown)
        return -1;
    p->units = grown;
    p->cap_units = cap;
    return 0;
}

/* A listed object and its ranges: cut at chunk boundaries; an empty object
 * is one empty range (still read: a vanished object is an error). 0, or -1
 * out of memory. Mutex held (or no other thread yet). */
static int add_object(gen_pool *p, const char *key, uint64_t size)
{
    if (p->n_objs == p->cap_objs) {
        size_t cap = p->cap_objs ? 2 * p->cap_objs : 64;
        char **keys = realloc(p->keys, cap * sizeof *keys);
        if (keys)
            p->keys = keys;
        uint64_t *sizes = keys ? realloc(p->sizes, cap * sizeof *sizes) : NULL;
        if (!sizes)
            return -1;
        p->sizes = sizes;
        p->cap_objs = cap;
    }
    uint64_t ranges = size ? (size - 1) / p->chunk + 1 : 1;
    char *copy = ranges <= SIZE_MAX && reserve_units(p, (size_t)ranges) == 0 ? strdup(key) : NULL;
    if (!copy)
        return -1;
    size_t obj = p->n_objs++;
    p->keys[obj] = copy;
    p->sizes[obj] = size;
    uint64_t a = 0;
    do {
        uint64_t b = size - a > p->chunk ? a + p->chunk : size;
        p->units[p->n_units++] = (gen_range){obj, a, b};
        a = b;
    } while (a < size);
    return 0;
}

/* The listing is over: the part's last 2N ranges (N > 1) are each cut in
 * GEN_END_PIECES, where they are long enough (REPORT_MIN_CHUNK_BYTES a
 * piece) and no thread has taken them yet. 0, or -1 out of memory. Mutex
 * held (or no other thread yet). */
static int cut_end(gen_pool *p)
{
    size_t end = p->n_parsers > 1 ? 2 * p->n_parsers : 0;
    size_t count = p->n_units;
    size_t from = count - (end < count ? end : count);
    size_t taken = p->next_parse > p->next_fetch ? p->next_parse : p->next_fetch;
    if (from < taken)
        from = taken;
    size_t total = count;
    for (size_t i = from; i < count; i++)
        if (p->units[i].end - p->units[i].start >= GEN_END_PIECES * REPORT_MIN_CHUNK_BYTES)
            total += GEN_END_PIECES - 1;
    if (reserve_units(p, total - count) != 0)
        return -1;
    /* Cut from the back, in place: the pieces land at or after the range. */
    for (size_t i = count, j = total; i-- > from;) {
        gen_range r = p->units[i];
        uint64_t len = r.end - r.start;
        if (len < GEN_END_PIECES * REPORT_MIN_CHUNK_BYTES) {
            p->units[--j] = r;
            continue;
        }
        for (int k = GEN_END_PIECES; k-- > 0;)
            p->units[--j] = (gen_range){r.obj, r.start + len * (uint64_t)k / GEN_END_PIECES,
                                        r.start + len * (uint64_t)(k + 1) / GEN_END_PIECES};
    }
    p->n_units = total;
    return 0;
}

/* ---- fetch ---- */

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
 * is invisible to HTTP, and without this check its rows would be lost. The
 * bytes go straight into the slot (lambda_store_read_into: on the file store
 * a pread, no copy through a store buffer). A read to the end asks for one
 * byte more than the listing promises (the NUL's room), so that an object
 * grown since the listing shows. */
static int fetch_bytes(lambda_store *st, const char *key, uint64_t size, uint64_t at, uint64_t want,
                       gen_slot *s)
{
    int to_end = at + want >= size;
    size_t before = s->in_len;
    s->in_limit = before + (size_t)(to_end ? size - at : want);
    if (slot_reserve(s) != 0)
        return -1;
    size_t room = s->in_limit - before + (to_end ? 1 : 0), got = 0;
    lambda_store_status rc =
        lambda_store_read_into(st, key, at, to_end ? 0 : want, s->in + before, room, &got, &s->err);
    s->in_len = before + got;
    if (rc != LAMBDA_STORE_OK)
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

/* A range and the rest of its last line, through the worker's handle (or
 * the error that kept it from opening one). */
static int fetch_range(gen_pool *p, gen_worker *me, gen_slot *s, const gen_job *j)
{
    TEST_EVENT(REPORT_GEN_TEST_FETCH, j->unit);
    if (!me->st) {
        s->err = me->open_err;
        return -1;
    }
    const char *key = j->key;
    uint64_t size = j->size;
    uint64_t from = j->start ? j->start - 1 : 0;
    uint64_t tail = (j->end - j->start) / 8 + 1;
    if (tail > GEN_TAIL_BYTES)
        tail = GEN_TAIL_BYTES;
    uint64_t want = j->end - from + tail;
    s->in_len = 0;
    if (fetch_bytes(me->st, key, size, from, want > size - from ? size - from : want, s) != 0)
        return -1;
    /* A line longer than the tail: read on in growing steps. */
    while (from + s->in_len < size &&
           !lambda_report_range_complete(s->in, s->in_len, j->start, j->end, p->max_line)) {
        uint64_t at = from + s->in_len, step = s->in_len;
        if (fetch_bytes(me->st, key, size, at, step > size - at ? size - at : step, s) != 0)
            return -1;
    }
    return 0;
}

/* ---- the slots' states (all with the mutex held) ---- */

/* Range u may not start: the part is over, or an earlier range failed. */
static int halted(const gen_pool *p, size_t u)
{
    return p->stop || u > p->fail_at;
}

/* Wakes every waiting thread, to leave: only when a part fails. */
static void wake_all(gen_pool *p)
{
    pthread_cond_broadcast(&p->more);
    for (size_t i = 0; i < p->n_slots; i++) {
        pthread_cond_broadcast(&p->slots[i].freed);
        pthread_cond_broadcast(&p->slots[i].fetched);
    }
    for (size_t i = 0; i < p->n_parsers; i++)
        pthread_cond_broadcast(&p->parsers[i].back);
}

/* Waits until range u's slot is free (range u - S written), then takes it:
 * 0, or -1 when u may not start. At most one thread waits on a slot's
 * `freed`: a second one would hold range u + kS, so the ranges between
 * (S - 1 or more) would all be held by waiting threads too, and there are
 * fewer than S threads that take slots (N workers, or N + 1 fetchers). */
static int slot_take(gen_pool *p, gen_slot *s, size_t u)
{
    while (u >= p->written + p->n_slots && !halted(p, u))
        pthread_cond_wait(&s->freed, &p->mu);
    if (halted(p, u))
        return -1;
    s->unit = u;
    s->state = SLOT_FETCHING;
    memset(&s->err, 0, sizeof s->err);
    return 0;
}

static void slot_failed(gen_pool *p, gen_slot *s, size_t u)
{
    s->state = SLOT_FAILED;
    if (u < p->fail_at)
        p->fail_at = u;
    wake_all(p);
}

/* File store: lends slot s (range u's) one of the worker's rows buffers,
 * waiting while all of them hold rows not yet written: 0, or -1 when u may
 * not start. Never a deadlock: the buffers hold rows of the worker's earlier
 * ranges, and a parsed range is placed and written, by a worker that waits
 * for nobody, once every range before it is parsed; so the worker of the
 * first range not yet parsed always gets a buffer back. */
static int rows_lend(gen_pool *p, gen_parser *own, gen_slot *s, size_t u)
{
    unsigned i = 0;
    while (!halted(p, u)) {
        for (i = 0; i < GEN_ROWS_RING && own->lent[i]; i++)
            ;
        if (i < GEN_ROWS_RING)
            break;
        pthread_cond_wait(&own->back, &p->mu);
    }
    if (halted(p, u))
        return -1;
    own->lent[i] = 1;
    s->out.rows = own->rows[i];
    s->out.rows.len = 0;
    s->lender = own;
    s->ring = i;
    return 0;
}

/* Gives a slot's rows buffer back to the worker that lent it (its rows
 * written, or the part over). */
static void rows_return(gen_slot *s)
{
    gen_parser *o = s->lender;
    if (!o)
        return;
    o->rows[s->ring] = s->out.rows;
    o->lent[s->ring] = 0;
    s->out.rows = (lambda_report_buf){0};
    s->lender = NULL;
    pthread_cond_signal(&o->back);
}

/* ---- place and write ---- */

/* The part fails with range u's error, unless an earlier range's is known
 * (positional writes may fail out of order). Mutex held. */
static void part_failed(gen_pool *p, size_t u, const lambda_error *err)
{
    if (p->rc == 0 || u < p->err_at) {
        p->err = *err;
        p->err_at = u;
    }
    p->rc = -1;
    p->stop = 1;
    wake_all(p);
}

/* The part fails with `err` whatever a range did: the listing's error (it
 * comes before every range, as on one thread), or no thread to parse on.
 * Mutex held. */
static void part_failed_first(gen_pool *p, const lambda_error *err)
{
    p->err = *err;
    p->err_at = 0;
    p->rc = -1;
    p->stop = 1;
    wake_all(p);
}

/* Gives the parsed ranges from p->placed on, in order, their offsets in the
 * part (the rows before them) and adds their counts to the totals; a failed
 * range there ends the part with its error, and nothing after it is placed.
 * Returns the first range placed now (p->placed: one past the last). Mutex
 * held. */
static size_t place(gen_pool *p)
{
    size_t first = p->placed;
    while (!p->stop && p->placed < p->n_units) {
        size_t u = p->placed;
        gen_slot *s = &p->slots[u % p->n_slots];
        if (s->unit != u || (s->state != SLOT_PARSED && s->state != SLOT_FAILED))
            break;
        if (s->state == SLOT_FAILED) {
            part_failed(p, u, &s->err);
            break;
        }
        s->off = p->next_off;
        p->next_off += s->out.rows.len;
        report_gen_totals *t = p->t;
        t->rows += s->out.nrows;
        for (int k = 0; k < LAMBDA_SKIP_COUNT; k++)
            t->skipped[k] += s->out.skipped[k];
        t->fallbacks += s->fallbacks;
        s->state = SLOT_PLACED;
        p->placed = u + 1;
    }
    return first;
}

/* A placed range's rows into the part (without the mutex). */
static int write_range(gen_pool *p, gen_slot *s)
{
    lambda_report_buf *rows = &s->out.rows;
    int rc = 0;
    if (rows->len)
        rc = p->positional ? lambda_store_put_write_at(p->w, s->off, rows->data, rows->len, &s->err)
                           : lambda_store_put_write(p->w, rows->data, rows->len, &s->err);
    rows->len = 0;
    s->out.nrows = 0;
    memset(s->out.skipped, 0, sizeof s->out.skipped);
    return rc ? -1 : 0;
}

/* Places the parsed ranges in order and writes them, unless another worker
 * is placing (it will find the ranges this one left).
 *
 * Positional writes (the file store): a range's offset is known once the
 * ranges before it are parsed, not written, so the worker that placed a
 * batch writes it while the others parse, place and write theirs. Writing
 * one at a time in order made the writes serial time: on this VM, copying
 * rows into fresh page-cache pages cost up to a third of a thread's CPU
 * (the host backs each new page on first touch), which capped two threads
 * below 1.5x one on longer parts. In order (S3's streaming upload): the
 * placing worker holds the token while it writes, as one writer must.
 * A range's slot is freed once it and every range before it are written.
 * Mutex held; released while writing. */
static void commit(gen_pool *p)
{
    while (!p->committing) {
        p->committing = 1;
        size_t a = place(p), b = p->placed;
        if (p->positional || a == b)
            p->committing = 0;
        if (a == b)
            return;
        pthread_mutex_unlock(&p->mu);
        size_t failed = b;
        for (size_t u = a; u < b && failed == b; u++) {
            if (write_range(p, &p->slots[u % p->n_slots]) != 0)
                failed = u;
            TEST_EVENT(REPORT_GEN_TEST_WRITTEN, u);
        }
        pthread_mutex_lock(&p->mu);
        if (failed < b)
            part_failed(p, failed, &p->slots[failed % p->n_slots].err);
        for (size_t u = a; u < b; u++) {
            p->slots[u % p->n_slots].state = SLOT_WRITTEN;
            rows_return(&p->slots[u % p->n_slots]);
        }
        while (p->written < p->placed && p->slots[p->written % p->n_slots].state == SLOT_WRITTEN) {
            gen_slot *s = &p->slots[p->written % p->n_slots];
            s->state = SLOT_FREE;
            p->written++;
            pthread_cond_signal(&s->freed);
        }
        if (!p->positional)
            p->committing = 0;
        if (p->stop)
            return;
    }
}

/* ---- parse ---- */

static int parse_range(gen_pool *p, lambda_report_parser *parser, gen_slot *s, const gen_job *j)
{
    uint64_t fallbacks = parser->fallbacks;
    /* Room for rows of half the range's bytes (about what the bench data
     * gives) in one step, for the reason of slot_reserve. */
    size_t room = s->in_len / 2;
    int rc = s->out.rows.cap < room + 1 ? lambda_report_buf_grow(&s->out.rows, room) : 0;
    rc = rc || lambda_report_range_rows(parser, s->in, s->in_len, j->start, j->end, p->max_line,
                                        p->customer, &s->out);
    s->fallbacks = parser->fallbacks - fallbacks;
    if (rc != 0)
        store_error(&s->err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    TEST_EVENT(REPORT_GEN_TEST_PARSED, j->unit);
    return rc ? -1 : 0;
}

/* Takes the next range (*next: p->next_parse or p->next_fetch), waiting
 * while the listing may still add one: 0, or -1 when none is left or the
 * part is halted. Mutex held. */
static int take(gen_pool *p, size_t *next, gen_job *j)
{
    while (*next == p->n_units && !p->listed && !halted(p, *next))
        pthread_cond_wait(&p->more, &p->mu);
    if (*next >= p->n_units || halted(p, *next))
        return -1;
    size_t u = (*next)++;
    const gen_range *r = &p->units[u];
    *j = (gen_job){u, p->keys[r->obj], p->sizes[r->obj], r->start, r->end};
    return 0;
}

/* A worker: takes the next range, reads it (file store) or waits for its
 * GET (S3), parses it and commits. Mutex held between ranges. */
static void work(gen_worker *me)
{
    gen_pool *p = me->pool;
    gen_parser *own = &p->parsers[me->id];
    gen_job j;
    pthread_mutex_lock(&p->mu);
    while (take(p, &p->next_parse, &j) == 0) {
        size_t u = j.unit;
        gen_slot *s = &p->slots[u % p->n_slots];
        int rc;
        if (!p->prefetch) {
            if (slot_take(p, s, u) != 0 || rows_lend(p, own, s, u) != 0)
                break;
            pthread_mutex_unlock(&p->mu);
            s->in = own->in;
            s->in_cap = own->in_cap;
            rc = fetch_range(p, me, s, &j);
            rc = rc || parse_range(p, &own->p, s, &j);
            own->in = s->in; /* back, grown or not: the rows are all the slot keeps */
            own->in_cap = s->in_cap;
            s->in = NULL;
            s->in_cap = s->in_len = 0;
        } else {
            /* Up to two threads wait on a slot's `fetched` (the worker of
             * range u, and of u + S once it took that), so: broadcast. */
            while (!(s->unit == u && (s->state == SLOT_FETCHED || s->state == SLOT_FAILED)) &&
                   !halted(p, u))
                pthread_cond_wait(&s->fetched, &p->mu);
            if (halted(p, u))
                break;
            if (s->state == SLOT_FAILED) { /* its GET failed: the error is decided in order */
                commit(p);
                continue;
            }
            s->state = SLOT_PARSING;
            pthread_mutex_unlock(&p->mu);
            rc = parse_range(p, &own->p, s, &j);
        }
        pthread_mutex_lock(&p->mu);
        if (rc != 0)
            slot_failed(p, s, u);
        else
            s->state = SLOT_PARSED;
        commit(p);
    }
    pthread_mutex_unlock(&p->mu);
}

/* A store handle of its own for a thread (the caller's is not thread-safe);
 * a failure to open one fails the first range the thread takes. */
static void worker_open(gen_worker *me)
{
    if (!me->st && lambda_store_open(me->pool->url, &me->st, &me->open_err) != 0)
        me->st = NULL;
}

static void worker_close(gen_worker *me)
{
    if (me->st && me->st != me->pool->data)
        lambda_store_close(me->st);
    me->st = NULL;
}

static void *worker_main(void *arg)
{
    gen_worker *me = arg;
    if (!me->pool->prefetch)
        worker_open(me);
    work(me);
    worker_close(me);
    return NULL;
}

/* S3: GETs the next ranges into free slots, ahead of the workers. */
static void *fetcher_main(void *arg)
{
    gen_worker *me = arg;
    gen_pool *p = me->pool;
    worker_open(me);
    gen_job j;
    pthread_mutex_lock(&p->mu);
    while (take(p, &p->next_fetch, &j) == 0) {
        size_t u = j.unit;
        gen_slot *s = &p->slots[u % p->n_slots];
        if (slot_take(p, s, u) != 0)
            break;
        pthread_mutex_unlock(&p->mu);
        int rc = fetch_range(p, me, s, &j);
        pthread_mutex_lock(&p->mu);
        if (rc != 0) {
            slot_failed(p, s, u);
        } else {
            s->state = SLOT_FETCHED;
            pthread_cond_broadcast(&s->fetched);
        }
    }
    pthread_mutex_unlock(&p->mu);
    worker_close(me);
    return NULL;
}

/* 1 when the invoking thread's stack is as deep as a worker's (cJSON's
 * recursion on odd lines), so that it can be worker 0: the main thread (its
 * stack grows to RLIMIT_STACK), or a thread made with at least
 * GEN_STACK_BYTES. The runtime's threads for concurrent invocations have the
 * C library's default, 128 KiB on musl: those only wait for the workers. */
static int caller_stack_ok(void)
{
    if (getpid() == (pid_t)syscall(SYS_gettid)) {
        struct rlimit rl;
        return getrlimit(RLIMIT_STACK, &rl) == 0 &&
               (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= GEN_STACK_BYTES);
    }
    pthread_attr_t attr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 0;
    pthread_attr_getstacksize(&attr, &size);
    pthread_attr_destroy(&attr);
    return size >= GEN_STACK_BYTES;
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
    gen_parser *parsers;
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
    for (size_t i = 0; i < c->n_parsers; i++) {
        lambda_report_parser_free(&c->parsers[i].p);
        free(c->parsers[i].in);
        for (unsigned k = 0; k < GEN_ROWS_RING; k++)
            lambda_report_buf_free(&c->parsers[i].rows[k]);
    }
    free(c->slots);
    free(c->parsers);
    *c = (gen_cache){0};
}

static void crew_dismiss(void);

void report_gen_cache_release(void)
{
    crew_dismiss();
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
    for (size_t i = 0; i < cache.n_parsers; i++) {
        const gen_parser *g = &cache.parsers[i];
        n += g->p.cap + g->p.scratch.cap + g->in_cap;
        for (unsigned k = 0; k < GEN_ROWS_RING; k++)
            n += g->rows[k].cap;
    }
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
            c.parsers[i].p.fallbacks = 0;
        p->slots = c.slots;
        p->parsers = c.parsers;
        return 0;
    }
    cache_free(&c);
    p->slots = calloc(p->n_slots, sizeof *p->slots);
    /* sizeof (gen_parser) is a multiple of its alignment, as aligned_alloc
     * wants of the size. */
    p->parsers = aligned_alloc(_Alignof(gen_parser), p->n_parsers * sizeof *p->parsers);
    if (p->parsers)
        memset(p->parsers, 0, p->n_parsers * sizeof *p->parsers);
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
    for (size_t i = 0; i < p->n_objs; i++)
        free(p->keys[i]);
    free(p->keys);
    free(p->sizes);
    pthread_cond_destroy(&p->more);
    pthread_mutex_destroy(&p->mu);
}

/* The slots' and parsers' condition variables: made for a part, destroyed
 * after it. */
static void pool_conds(gen_pool *p, int init)
{
    for (size_t i = 0; i < p->n_slots; i++) {
        gen_slot *s = &p->slots[i];
        if (init) {
            pthread_cond_init(&s->freed, NULL);
            pthread_cond_init(&s->fetched, NULL);
        } else {
            pthread_cond_destroy(&s->freed);
            pthread_cond_destroy(&s->fetched);
        }
    }
    for (size_t i = 0; i < p->n_parsers; i++) {
        if (init)
            pthread_cond_init(&p->parsers[i].back, NULL);
        else
            pthread_cond_destroy(&p->parsers[i].back);
    }
}

/* ---- threads kept between parts ----
 *
 * A thread started for a part cost ~0.2 ms before it took its first range
 * (clone, and on musl a fresh 2 MiB stack mapped, faulted in and unmapped
 * each time: page faults and a TLB shoot-down), serial time in every
 * invocation while the other core waits. So the threads a part starts are
 * kept, parked on a condition variable, and the next part (a warm
 * invocation) hands them its jobs with a wake-up. One part at a time holds
 * the crew; a concurrent part starts threads of its own, joined after it,
 * as before. At exit the parked threads are told to leave and joined. */
#define GEN_CREW_MAX (2 * REPORT_MAX_THREADS + 1) /* S3: N + 1 fetchers and N workers */

typedef struct gen_hand {
    pthread_t tid;
    pthread_cond_t wake;  /* a job posted, or the crew dismissed */
    void *(*job)(void *); /* (crew_mu) the job being run; NULL: parked */
    void *arg;
} gen_hand;

static pthread_mutex_t crew_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t crew_done = PTHREAD_COND_INITIALIZER; /* a hand finished a job */
static gen_hand crew[GEN_CREW_MAX];
static unsigned crew_n; /* (crew_mu) hands started */
static int crew_busy;   /* (crew_mu) a part holds the crew */
static int crew_quit;   /* (crew_mu) parked hands leave */

static void *hand_main(void *arg)
{
    gen_hand *h = arg;
    pthread_mutex_lock(&crew_mu);
    for (;;) {
        while (!h->job && !crew_quit)
            pthread_cond_wait(&h->wake, &crew_mu);
        if (!h->job)
            break;
        void *(*job)(void *) = h->job;
        pthread_mutex_unlock(&crew_mu);
        job(h->arg);
        pthread_mutex_lock(&crew_mu);
        h->job = NULL;
        pthread_cond_broadcast(&crew_done);
    }
    pthread_mutex_unlock(&crew_mu);
    return NULL;
}

/* Joins the parked hands (at exit: valgrind then sees nothing left). Not
 * while a part holds the crew: exit() from another thread must not wait
 * for a part; its hands then leave with the process. */
static void crew_dismiss(void)
{
    pthread_mutex_lock(&crew_mu);
    if (crew_busy) {
        pthread_mutex_unlock(&crew_mu);
        return;
    }
    crew_quit = 1;
    unsigned n = crew_n;
    for (unsigned i = 0; i < n; i++)
        pthread_cond_signal(&crew[i].wake);
    pthread_mutex_unlock(&crew_mu);
    for (unsigned i = 0; i < n; i++) {
        pthread_join(crew[i].tid, NULL);
        pthread_cond_destroy(&crew[i].wake);
    }
    pthread_mutex_lock(&crew_mu);
    crew_n = 0;
    crew_quit = 0;
    pthread_mutex_unlock(&crew_mu);
}

/* The threads carrying one part's jobs: crew[0, hands) when it holds the
 * crew, and threads of its own. */
typedef struct gen_gang {
    int crew;
    unsigned hands;
    unsigned reused; /* hands an earlier part started */
    pthread_t *own;
    unsigned n_own;
    pthread_attr_t attr;
} gen_gang;

static void gang_begin(gen_gang *g, pthread_t *own)
{
    *g = (gen_gang){.own = own};
    pthread_attr_init(&g->attr);
    pthread_attr_setstacksize(&g->attr, GEN_STACK_BYTES);
    pthread_mutex_lock(&crew_mu);
    if (!crew_busy && !crew_quit)
        crew_busy = g->crew = 1;
    pthread_mutex_unlock(&crew_mu);
}

/* The crew's next hand for the part holding it: a parked one, or one
 * started now and kept; NULL when there is none to be had. crew_mu held. */
static gen_hand *crew_take(gen_gang *g)
{
    if (g->hands >= GEN_CREW_MAX)
        return NULL;
    gen_hand *h = &crew[g->hands];
    if (g->hands < crew_n) {
        g->reused++;
        return h;
    }
    if (pthread_cond_init(&h->wake, NULL) != 0)
        return NULL;
    if (pthread_create(&h->tid, &g->attr, hand_main, h) != 0) {
        pthread_cond_destroy(&h->wake);
        return NULL;
    }
    crew_n++;
    return h;
}

/* job(arg) on another thread: the crew's next hand (parked, or started now
 * and kept), else a thread of the part's own. 0, or -1: no thread. */
static int gang_run(gen_gang *g, void *(*job)(void *), void *arg)
{
    if (g->crew) {
        pthread_mutex_lock(&crew_mu);
        gen_hand *h = crew_take(g);
        if (h) {
            h->job = job;
            h->arg = arg;
            g->hands++;
            pthread_cond_signal(&h->wake);
        }
        pthread_mutex_unlock(&crew_mu);
        if (h)
            return 0;
    }
    if (pthread_create(&g->own[g->n_own], &g->attr, job, arg) != 0)
        return -1;
    g->n_own++;
    return 0;
}

/* Waits for the part's jobs to end; the crew is free again. */
static void gang_end(gen_gang *g)
{
    for (unsigned i = 0; i < g->n_own; i++)
        pthread_join(g->own[i], NULL);
    if (g->crew) {
        pthread_mutex_lock(&crew_mu);
        for (unsigned i = 0; i < g->hands; i++)
            while (crew[i].job)
                pthread_cond_wait(&crew_done, &crew_mu);
        crew_busy = 0;
        pthread_mutex_unlock(&crew_mu);
    }
    pthread_attr_destroy(&g->attr);
}

/* Starts the part's threads: on S3 the fetchers (fetcher 0 with the
 * caller's handle; if it cannot start, the workers read for themselves),
 * then the workers other than the invoking thread (all N when its stack is
 * too small to parse on). Their count in t. */
static unsigned start_threads(gen_pool *p, int caller_works, gen_gang *g, gen_worker *fetchers,
                              gen_worker *workers)
{
    unsigned started = 0;
    size_t n = p->n_parsers;
    for (size_t i = 0; p->prefetch && i < n + 1; i++) {
        fetchers[i] = (gen_worker){.pool = p, .id = i, .st = i == 0 ? p->data : NULL};
        if (gang_run(g, fetcher_main, &fetchers[i]) == 0)
            started++, p->t->fetchers++;
        else if (i == 0)
            p->prefetch = 0; /* read inline: slower on S3, the same bytes */
    }
    for (size_t i = caller_works ? 1 : 0; i < n; i++) {
        workers[i] = (gen_worker){.pool = p, .id = i, .st = i || p->prefetch ? NULL : p->data};
        if (gang_run(g, worker_main, &workers[i]) == 0)
            started++, p->t->threads++;
    }
    return started;
}

/* Everything after the pool is made: its buffers, its threads, the listing
 * (here, while the threads take the first objects, when `stream`), the
 * caller's share of the work. */
static int run_pool(gen_pool *p, int stream, report_gen_lister list, void *ud, lambda_error *err)
{
    if (pool_buffers(p, p->chunk) != 0)
        return store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory"), -1;
    pool_conds(p, 1);
    report_gen_totals *t = p->t;
    size_t threads = p->n_parsers;
    /* On the heap: a worker holds an error message (1 KiB), and the
     * invoking thread may have a small stack (128 KiB: see caller_stack_ok). */
    pthread_t *tids = calloc(2 * threads + 1, sizeof *tids);
    gen_worker *fetchers = calloc(2 * threads + 1, sizeof *fetchers);
    if (!tids || !fetchers) {
        free(tids);
        free(fetchers);
        pool_conds(p, 0);
        return store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory"), -1;
    }
    gen_worker *workers = fetchers + threads + 1;
    int caller_works = caller_stack_ok();
    gen_gang gang;
    gang_begin(&gang, tids);
    unsigned started = start_threads(p, caller_works, &gang, fetchers, workers);
    if (stream) {
        lambda_error lerr = {0};
        int rc = list(ud, p, &lerr);
        pthread_mutex_lock(&p->mu);
        if (rc == 0 && cut_end(p) != 0)
            rc = -1, store_error(&lerr, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        p->listed = 1;
        if (rc != 0)
            part_failed_first(p, &lerr);
        pthread_cond_broadcast(&p->more);
        pthread_mutex_unlock(&p->mu);
    }
    if (caller_works) {
        workers[0] = (gen_worker){.pool = p, .id = 0, .st = p->prefetch ? NULL : p->data};
        work(&workers[0]);
        t->threads++;
    } else if (!t->threads) {
        lambda_error none = {{0}, {0}};
        store_error(&none, LAMBDA_STORE_UNAVAILABLE, "cannot start GenerateSubReport's threads");
        pthread_mutex_lock(&p->mu);
        part_failed_first(p, &none);
        pthread_mutex_unlock(&p->mu);
    }
    gang_end(&gang);
    /* The rows buffers still lent (a failed part's ranges, never written)
     * go back to their workers, kept with them for the next part. */
    for (size_t i = 0; i < p->n_slots; i++)
        rows_return(&p->slots[i]);
    t->kept = gang.reused;
    int rc = p->rc;
    if (rc != 0)
        *err = p->err;
    else if (p->written != p->n_units) /* cannot happen: every range taken is committed */
        rc = -1, store_error(err, LAMBDA_STORE_UNAVAILABLE, "GenerateSubReport's workers stopped");
    pool_conds(p, 0);
    free(tids);
    free(fetchers);
    t->spawned = started;
    return rc;
}

/* Lists the part, on the caller's thread: before any thread starts (S3: its
 * fetcher 0 GETs through the handle the listing uses, and a listing page
 * holds up to 1,000 keys at once anyway), or while the threads take the
 * first objects (the file store: its listing is a walk, ~0.4 ms for a
 * 16-day part here, serial time in every invocation while a core waited). */
static int convert(lambda_store *data, report_gen_lister list, void *ud, int may_stream,
                   const char *customer, lambda_store_writer *w, report_gen_totals *t,
                   lambda_error *err)
{
    memset(t, 0, sizeof *t);
    gen_pool p = {.chunk = report_gen_chunk_bytes(data),
                  .customer = customer,
                  .url = lambda_store_url(data),
                  .data = data,
                  .max_line = report_env_u64("REPORT_MAX_LINE", REPORT_DEFAULT_MAX_LINE),
                  .prefetch = lambda_store_is_s3(data),
                  .positional = lambda_store_put_can_write_at(w),
                  .fail_at = SIZE_MAX,
                  .w = w,
                  .t = t};
#ifdef LAMBDA_REPORT_TEST_HOOKS
    p.prefetch |= report_gen_test_prefetch;
    if (report_gen_test_in_order)
        p.positional = 0;
#endif
    size_t threads = report_gen_threads();
    p.n_parsers = threads;
    p.n_slots = p.prefetch ? 2 * threads + 2 : threads == 1 ? 1 : 2 * threads;
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.more, NULL);
    int stream = may_stream && !p.prefetch && threads > 1;
    int rc = 0;
    if (!stream) {
        rc = list(ud, &p, err);
        if (rc == 0 && cut_end(&p) != 0)
            rc = -1, store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        p.listed = 1;
    }
    if (rc == 0)
        rc = run_pool(&p, stream, list, ud, err);
    t->slots = p.n_slots;
    t->ranges = p.n_units;
    pool_free(&p, p.chunk);
    return rc;
}

int report_gen_add(report_gen_feed *p, const char *key, uint64_t size)
{
    pthread_mutex_lock(&p->mu);
    int rc = add_object(p, key, size);
    if (rc == 0)
        pthread_cond_broadcast(&p->more);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int report_gen_convert_listed(lambda_store *data, report_gen_lister list, void *ud,
                              const char *customer, lambda_store_writer *w, report_gen_totals *t,
                              lambda_error *err)
{
    return convert(data, list, ud, 1, customer, w, t, err);
}

typedef struct gen_objects {
    char *const *keys;
    const uint64_t *sizes;
    size_t n;
} gen_objects;

static int add_objects(void *ud, report_gen_feed *feed, lambda_error *err)
{
    const gen_objects *o = ud;
    for (size_t i = 0; i < o->n; i++)
        if (report_gen_add(feed, o->keys[i], o->sizes[i]) != 0)
            return store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory"), -1;
    return 0;
}

int report_gen_convert(lambda_store *data, char *const *keys, const uint64_t *sizes, size_t n,
                       const char *customer, lambda_store_writer *w, report_gen_totals *t,
                       lambda_error *err)
{
    gen_objects o = {keys, sizes, n};
    return convert(data, add_objects, &o, 0, customer, w, t, err);
}

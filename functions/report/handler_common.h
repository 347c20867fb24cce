/*
 * What the three handlers (handler_split.c, handler_generate.c,
 * handler_merge.c) share: reading the event's fields, the object keys of a
 * report, the store handles and small JSON objects in the store. Internal to
 * functions/report: the bootstrap sees only report.h.
 */
#ifndef LAMBDA_REPORT_HANDLER_COMMON_H
#define LAMBDA_REPORT_HANDLER_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"
#include "store.h"

/* ---- limits and defaults (each overridable where noted) ---- */

#define REPORT_DEFAULT_TARGET_BYTES (64ull * 1024 * 1024) /* SPLIT_TARGET_BYTES */
#define REPORT_DEFAULT_MAX_PARTS 2000                     /* REPORT_MAX_PARTS */
#define REPORT_MAX_PARTS_LIMIT 10000                      /* parts a report can have */
#define REPORT_DEFAULT_MAX_SPAN_DAYS 3660                 /* SPLIT_MAX_SPAN_DAYS */
#define REPORT_DEFAULT_MAX_LINE (1024 * 1024)             /* REPORT_MAX_LINE */
#define REPORT_DEFAULT_URL_EXPIRES 3600                   /* REPORT_URL_EXPIRES */
#define REPORT_MAX_URL_EXPIRES 604800                     /* 7 days: SigV4's limit */
#define REPORT_MAX_PART_INDEX 999999                      /* six digits in part keys */
/* Integers in the JSON we read are doubles: above 2^53 they are not exact. */
#define REPORT_JSON_INT_MAX (INT64_C(1) << 53)
/* The largest JSON object the handlers read back (plans, manifests). */
#define REPORT_MAX_JSON_OBJECT (16 * 1024 * 1024)

/* GenerateSubReport's workers (gen_pool.c): a part's objects are read in
 * ranges of REPORT_CHUNK_BYTES by N workers, N = the CPUs the process may
 * run on, capped by REPORT_THREADS (and REPORT_MAX_THREADS). The default
 * depends on the store: every byte of the slots is a fresh page in a
 * cold invocation, and a first touch costs about 20 us of CPU in a
 * Firecracker VM (this machine, as Lambda), so ranges are as small as the
 * store's per-request cost allows: 1 MiB on S3 (a GET's latency), 256 KiB on
 * the file store (no per-request latency; functions/README.md). */
#define REPORT_DEFAULT_CHUNK_BYTES (1024 * 1024)     /* REPORT_CHUNK_BYTES, S3 */
#define REPORT_DEFAULT_FILE_CHUNK_BYTES (256 * 1024) /* REPORT_CHUNK_BYTES, file store */
#define REPORT_MIN_CHUNK_BYTES 256                   /* smaller ones only cost requests */
#define REPORT_MAX_THREADS 64                        /* REPORT_THREADS */

/* ---- keys ----
 * A key is at most 8 + 64 + 1 + 80 + 1 + 16 bytes ("reports/<customer>/
 * <reportId>/part-NNNNNN.json") or 19 + 64 + 6 + 10 + ... for source keys
 * (customerId and reportId are validated first): 300 leaves room. */
#define REPORT_KEY_MAX 300
#define REPORT_SOURCE_PREFIX_FMT "prospects/customer=%s/date="
#define REPORT_BASE_FMT "reports/%s/%s/"
#define REPORT_PART_KEY_FMT "reports/%s/%s/part-%06d.csv"
#define REPORT_PART_MANIFEST_FMT "reports/%s/%s/part-%06d.json"

/* The keys of one report, from its customerId and reportId. */
typedef struct report_keys {
    char base[REPORT_KEY_MAX];        /* reports/<c>/<r>/ */
    char report[REPORT_KEY_MAX];      /* …/report.csv */
    char manifest[REPORT_KEY_MAX];    /* …/manifest.json (the merge's) */
    char plan[REPORT_KEY_MAX];        /* …/plan.json (SplitDateRange's) */
    char part_prefix[REPORT_KEY_MAX]; /* …/part- */
} report_keys;

void report_keys_init(report_keys *k, const char *customer, const char *report_id);
/* reports/<c>/<r>/part-NNNNNN.csv, or .json (the part's manifest). */
void report_part_key(char out[REPORT_KEY_MAX], const char *customer, const char *report_id,
                     size_t index, int manifest);

/* "<prefix>YYYY-MM-DD/<name>.ndjson" -> that day (days since 1970); -1 when
 * the key is not a source object. `prefix_len` is the length of the
 * customer's REPORT_SOURCE_PREFIX_FMT. */
int64_t report_source_day(const char *key, size_t prefix_len);

/* ---- event fields ---- */

/* Sets InvalidInput (printf-style); evaluates to NULL, for `return invalid(…)`. */
#define invalid(err, ...) lambda_error_set((err), "InvalidInput", __VA_ARGS__)

/* A handler's own failure of a store kind (out of memory while it reads or
 * writes, an object the workflow needs that is missing): its errorType comes
 * from the store's one mapping of statuses to names. */
#define store_error(err, status, ...) \
    lambda_error_set((err), lambda_store_status_name(status), __VA_ARGS__)

/* A positive integer from the environment, or `fallback`. */
uint64_t report_env_u64(const char *name, uint64_t fallback);
/* A string field, or NULL when absent or not a string. */
const char *report_get_string(const cJSON *obj, const char *name);
/* An optional integer field in [min, max]: 0 ok (*out set, or untouched when
 * absent), -1 when present but not such an integer. */
int report_get_int(const cJSON *obj, const char *name, int64_t min, int64_t max, int64_t *out);
/* customerId and reportId, validated: 0, or -1 with InvalidInput. */
int report_get_ids(const cJSON *event, const char **customer, const char **report_id,
                   lambda_error *err);
/* "from" and "to": existing dates, from <= to, span within
 * SPLIT_MAX_SPAN_DAYS: 0, or -1 with InvalidInput. */
int report_get_range(const cJSON *obj, int64_t *from, int64_t *to, lambda_error *err);
/* Adds "name":"YYYY-MM-DD". */
void report_add_date(cJSON *obj, const char *name, int64_t day);

/* ---- stores ---- */

/* Opens the data store and, when `report` is not NULL, the report store for
 * one invocation (handles are not thread-safe and the runtime may run
 * several invocations at once): 0, or -1 with err and nothing open. */
int report_open_stores(lambda_store **data, lambda_store **report, lambda_error *err);

/* Reads a small JSON object: NULL with StoreNotFound when missing (or
 * larger than REPORT_MAX_JSON_OBJECT; *missing then set, when not NULL),
 * MergeMismatch when not an object, or the store's error. */
cJSON *report_read_json(lambda_store *s, const char *key, int *missing, lambda_error *err);
/* Writes `obj` as compact JSON under `key`: 0, or -1 with err. */
int report_put_json(lambda_store *s, const char *key, const cJSON *obj, lambda_error *err);

/* ---- test hooks (compiled only with LAMBDA_REPORT_TEST_HOOKS) ---- */

#ifdef LAMBDA_REPORT_TEST_HOOKS
/* REPORT_TEST_FAULT: 1 when this attempt of part `index` must fail (err
 * set), 0 otherwise. */
int report_injected_fault(const char *report_id, int64_t index, lambda_error *err);
/* REPORT_TEST_FAULT=stallcommit:<index>: the first attempt of that part
 * waits here to be killed (see test_fault.c); otherwise returns. */
void report_test_stall_before_commit(const char *report_id, int64_t index);
#endif

/* ---- GenerateSubReport's workers (gen_pool.c) ---- */

typedef struct report_gen_totals {
    uint64_t rows;
    uint64_t skipped[LAMBDA_SKIP_COUNT];
    uint64_t fallbacks; /* lines read by cJSON */
    unsigned threads;   /* workers that parsed (the invoking thread among them) */
    unsigned fetchers;  /* S3's fetcher threads (0 on the file store) */
    unsigned spawned;   /* threads working for the part (0: N = 1 on the file store) */
    unsigned kept;      /* of those, threads an earlier part started (kept parked) */
    size_t slots;       /* ranges in memory at most */
    size_t ranges;
} report_gen_totals;

#ifdef LAMBDA_REPORT_TEST_HOOKS
/* What the workers tell a test, on the thread that does it: a range's read
 * is about to start, its rows are parsed (not yet marked so), its rows are
 * in the writer (its slot not yet freed; with positional writes ranges may
 * be written out of order). */
typedef enum report_gen_event {
    REPORT_GEN_TEST_FETCH,
    REPORT_GEN_TEST_PARSED,
    REPORT_GEN_TEST_WRITTEN
} report_gen_event;
extern void (*report_gen_test_hook)(report_gen_event ev, size_t unit, void *ud);
extern void *report_gen_test_hook_ud;
/* Non-zero: fetcher threads read ahead on the file store too, as on S3. */
extern int report_gen_test_prefetch;
/* Non-zero: ranges are written one at a time in order, as on S3, not at
 * their offsets from any worker. */
extern int report_gen_test_in_order;
#endif

/* How many workers a part gets (see above). */
unsigned report_gen_threads(void);
/* The range size a part reads `data` in: REPORT_CHUNK_BYTES, else the
 * store's default (see above), at least REPORT_MIN_CHUNK_BYTES. */
uint64_t report_gen_chunk_bytes(const lambda_store *data);
/* A part's slot buffers and parsers are kept for the next part of the same
 * shape in this process (a warm invocation), and its threads, parked, for
 * the next part; these give the bytes kept, and free them and join the
 * parked threads (also done at exit; not while a part runs). Thread-safe. */
size_t report_gen_cached_bytes(void);
void report_gen_cache_release(void);

/* Every byte of keys[0..n) (listed with sizes[]: a read must deliver exactly
 * that much) as rows of `customer` into `w`, in key and line order whatever
 * the thread count, with the counts in `t`. Uses `data` from one thread and
 * opens more handles on its URL. 0, or -1 with `err` (the first failing
 * range's error, in that order). */
int report_gen_convert(lambda_store *data, char *const *keys, const uint64_t *sizes, size_t n,
                       const char *customer, lambda_store_writer *w, report_gen_totals *t,
                       lambda_error *err);

/* The same, for objects still being listed: `list` runs on the calling
 * thread and hands each object, in key order, to report_gen_add (which
 * copies the key; -1: out of memory, and the listing should stop). On the
 * file store with more than one worker the other workers take the first
 * objects' ranges meanwhile; else the listing ends before any range is
 * read. A failed listing (list returns -1 with
 * its error set) fails the part with that error, whatever a range did. */
typedef struct gen_pool report_gen_feed;
typedef int (*report_gen_lister)(void *ud, report_gen_feed *feed, lambda_error *err);
int report_gen_add(report_gen_feed *feed, const char *key, uint64_t size);
int report_gen_convert_listed(lambda_store *data, report_gen_lister list, void *ud,
                              const char *customer, lambda_store_writer *w, report_gen_totals *t,
                              lambda_error *err);

#endif /* LAMBDA_REPORT_HANDLER_COMMON_H */

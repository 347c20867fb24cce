/* Asynchronous invocations: retries and on-failure records (async.h). */
#include "async.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common.h"

/* Lambda's delays before the first and the second retry. */
static const double retry_delay_s[] = {60.0, 120.0};
#define MAX_RETRIES 2

/* An Event invocation between attempts: the completed attempt waits for
 * the scheduler, then for its retry time. */
typedef struct pending {
    lambda_local_pool *pool;
    lambda_local_invocation *inv; /* the last attempt (a reference) */
    int attempts;                 /* made so far */
    int64_t due_us;               /* retry time (monotonic); 0: not examined yet */
    struct pending *next;
} pending;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool started, closing;
    lambda_local_async_config config;
    char *failure_dir;
    pending *items;
} A = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void attempt(lambda_local_pool *pool, lambda_local_invocation *inv, int attempts);

/* Completion of an attempt (any thread): queue it for the scheduler. */
static void on_complete(lambda_local_invocation *inv, void *arg)
{
    pending *p = arg;
    pthread_mutex_lock(&A.lock);
    if (A.closing) {
        pthread_mutex_unlock(&A.lock);
        lambda_local_invocation_release(p->inv);
        free(p);
        return;
    }
    p->due_us = 0;
    p->next = A.items;
    A.items = p;
    pthread_cond_signal(&A.cond);
    pthread_mutex_unlock(&A.lock);
    (void)inv;
}

static void attempt(lambda_local_pool *pool, lambda_local_invocation *inv, int attempts)
{
    pending *p = lambda_local_calloc(1, sizeof *p);
    p->pool = pool;
    p->inv = inv;
    p->attempts = attempts;
    lambda_local_invocation_retain(inv); /* the scheduler's, until it is examined */
    inv->on_complete = on_complete;
    inv->on_complete_arg = p;
    lambda_local_pool_submit(pool, inv);
}

/* A new attempt: the same event, request id and trace id. */
static lambda_local_invocation *copy_for_retry(const lambda_local_invocation *old)
{
    lambda_local_invocation *inv = lambda_local_invocation_new(old->payload, old->payload_len);
    memcpy(inv->request_id, old->request_id, sizeof inv->request_id);
    free(inv->trace_id);
    inv->trace_id = lambda_local_strdup(old->trace_id);
    inv->invoked_arn = old->invoked_arn ? lambda_local_strdup(old->invoked_arn) : NULL;
    inv->client_context = old->client_context ? lambda_local_strdup(old->client_context) : NULL;
    inv->tenant_id = old->tenant_id ? lambda_local_strdup(old->tenant_id) : NULL;
    inv->asynchronous = true;
    return inv;
}

/* A JSON value for the record: the payload parsed, or as a string. */
static cJSON *json_or_string(const char *s, size_t len)
{
    cJSON *v = s ? cJSON_ParseWithLength(s, len) : NULL;
    if (v)
        return v;
    return cJSON_CreateString(s ? s : "");
}

/* Lambda's on-failure destination record. */
static char *failure_record(const pending *p, const char *stamp)
{
    const lambda_local_invocation *inv = p->inv;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "version", "1.0");
    cJSON_AddStringToObject(o, "timestamp", stamp);
    cJSON *rc = cJSON_AddObjectToObject(o, "requestContext");
    cJSON_AddStringToObject(rc, "requestId", inv->request_id);
    char *arn = lambda_local_format("arn:aws:lambda:%s:%s:function:%s:$LATEST",
                                    lambda_local_globals.region, lambda_local_globals.account,
                                    lambda_local_pool_function(p->pool)->name);
    cJSON_AddStringToObject(rc, "functionArn", arn);
    free(arn);
    cJSON_AddStringToObject(rc, "condition", "RetriesExhausted");
    cJSON_AddNumberToObject(rc, "approximateInvokeCount", p->attempts);
    cJSON_AddItemToObject(o, "requestPayload", json_or_string(inv->payload, inv->payload_len));
    cJSON *resp = cJSON_AddObjectToObject(o, "responseContext");
    cJSON_AddNumberToObject(resp, "statusCode", 200);
    cJSON_AddStringToObject(resp, "executedVersion", "$LATEST");
    cJSON_AddStringToObject(resp, "functionError", "Unhandled");
    cJSON_AddItemToObject(o, "responsePayload", json_or_string(inv->result, inv->result_len));
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    if (!s)
        abort();
    return s;
}

/* Writes the record as DIR/<function>/<stamp>-<request id>.json (through a
 * temporary name, so a reader never sees half a record). */
static void record_failure(const pending *p)
{
    const char *name = lambda_local_pool_function(p->pool)->name;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char day[32], stamp[48];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp, sizeof stamp, "%s.%03ldZ", day, ts.tv_nsec / 1000000);
    if (!A.failure_dir) {
        lambda_local_log("function %s: event %s failed %d time(s), retries exhausted: dropped "
                         "(no --async-failure-dir)",
                         name, p->inv->request_id, p->attempts);
        return;
    }
    char *record = failure_record(p, stamp);
    char *dir = lambda_local_format("%s/%s", A.failure_dir, name);
    char *path = lambda_local_format("%s/%s-%s.json", dir, stamp, p->inv->request_id);
    char *tmp = lambda_local_format("%s.tmp", path);
    FILE *f = NULL;
    if ((mkdir(dir, 0777) == 0 || errno == EEXIST) && (f = fopen(tmp, "w")) != NULL &&
        fputs(record, f) >= 0 && fputc('\n', f) != EOF && fclose(f) == 0 && rename(tmp, path) == 0)
        lambda_local_log("function %s: event %s failed %d time(s), retries exhausted: "
                         "recorded in %s",
                         name, p->inv->request_id, p->attempts, path);
    else
        lambda_local_log("function %s: event %s: cannot write %s: %s", name, p->inv->request_id,
                         path, strerror(errno));
    free(record);
    free(dir);
    free(path);
    free(tmp);
}

static int max_retries(const lambda_local_pool *pool)
{
    int n = lambda_local_pool_function(pool)->async_retries;
    return n < 0 ? MAX_RETRIES : n;
}

/* An attempt is over (lock held): done, a retry later, or exhausted. The
 * entry is kept (due_us set) or freed. Returns true when kept. */
static bool examine_locked(pending *p)
{
    if (!p->inv->function_error)
        return false;
    const char *name = lambda_local_pool_function(p->pool)->name;
    if (p->attempts > max_retries(p->pool)) {
        pthread_mutex_unlock(&A.lock);
        record_failure(p);
        pthread_mutex_lock(&A.lock);
        return false;
    }
    double delay = retry_delay_s[p->attempts - 1] * A.config.time_scale;
    p->due_us = lambda_local_mono_us() + (int64_t)(delay * 1e6);
    lambda_local_log("function %s: event %s failed (attempt %d): retry in %.3f s", name,
                     p->inv->request_id, p->attempts, delay);
    return true;
}

static void *scheduler(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&A.lock);
    pending *waiting = NULL; /* examined, waiting for their time */
    while (!A.closing) {
        /* Attempts that just ended. */
        while (A.items) {
            pending *p = A.items;
            A.items = p->next;
            if (examine_locked(p)) {
                p->next = waiting;
                waiting = p;
            } else {
                lambda_local_invocation_release(p->inv);
                free(p);
            }
        }
        if (A.closing)
            break;
        /* Retries whose time came; the earliest of the others. */
        int64_t now = lambda_local_mono_us(), earliest = -1;
        pending **pp = &waiting;
        while (*pp) {
            pending *p = *pp;
            if (p->due_us > now) {
                earliest = earliest < 0 || p->due_us < earliest ? p->due_us : earliest;
                pp = &p->next;
                continue;
            }
            *pp = p->next;
            lambda_local_invocation *retry = copy_for_retry(p->inv);
            lambda_local_pool *pool = p->pool;
            int attempts = p->attempts + 1;
            lambda_local_invocation_release(p->inv);
            free(p);
            pthread_mutex_unlock(&A.lock);
            attempt(pool, retry, attempts);
            lambda_local_invocation_release(retry); /* the pool and the scheduler hold theirs */
            pthread_mutex_lock(&A.lock);
            pp = &waiting; /* the list may have changed meanwhile: rescan */
            now = lambda_local_mono_us();
            earliest = -1;
        }
        if (A.items || A.closing)
            continue;
        if (earliest < 0) {
            pthread_cond_wait(&A.cond, &A.lock);
        } else {
            int64_t wait_us = earliest - lambda_local_mono_us();
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = (int64_t)ts.tv_nsec + (wait_us > 0 ? wait_us : 0) * 1000;
            ts.tv_sec += (time_t)(ns / 1000000000);
            ts.tv_nsec = (long)(ns % 1000000000);
            pthread_cond_timedwait(&A.cond, &A.lock, &ts);
        }
    }
    pthread_mutex_unlock(&A.lock);
    while (waiting) {
        pending *p = waiting;
        waiting = p->next;
        lambda_local_log("function %s: event %s: retry %d dropped at shutdown",
                         lambda_local_pool_function(p->pool)->name, p->inv->request_id,
                         p->attempts);
        lambda_local_invocation_release(p->inv);
        free(p);
    }
    return NULL;
}

int lambda_local_async_start(const lambda_local_async_config *config, char *err, size_t errlen)
{
    A.config = *config;
    if (A.config.time_scale <= 0)
        A.config.time_scale = 1.0;
    A.failure_dir = config->failure_dir ? lambda_local_strdup(config->failure_dir) : NULL;
    if (A.failure_dir && mkdir(A.failure_dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--async-failure-dir %s: %s", A.failure_dir, strerror(errno));
        free(A.failure_dir);
        A.failure_dir = NULL;
        return -1;
    }
    A.closing = false;
    int rc = pthread_create(&A.thread, NULL, scheduler, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "pthread_create: %s", strerror(rc));
        free(A.failure_dir);
        A.failure_dir = NULL;
        return -1;
    }
    A.started = true;
    return 0;
}

void lambda_local_async_submit(lambda_local_pool *pool, lambda_local_invocation *inv)
{
    pthread_mutex_lock(&A.lock);
    bool on = A.started && !A.closing;
    pthread_mutex_unlock(&A.lock);
    if (on)
        attempt(pool, inv, 1);
    else
        lambda_local_pool_submit(pool, inv);
}

void lambda_local_async_stop(void)
{
    pthread_mutex_lock(&A.lock);
    if (!A.started) {
        pthread_mutex_unlock(&A.lock);
        return;
    }
    A.closing = true;
    pthread_cond_signal(&A.cond);
    pthread_mutex_unlock(&A.lock);
    pthread_join(A.thread, NULL);
    /* Attempts that ended after the scheduler's last look. */
    pthread_mutex_lock(&A.lock);
    pending *left = A.items;
    A.items = NULL;
    A.started = false;
    pthread_mutex_unlock(&A.lock);
    while (left) {
        pending *p = left;
        left = p->next;
        lambda_local_invocation_release(p->inv);
        free(p);
    }
    free(A.failure_dir);
    A.failure_dir = NULL;
}

/* Per-function invocation queue and execution-environment state machine. */
#include "pool.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "common.h"

/* How long a bootstrap may linger after /runtime/init/error before it is
 * killed (Lambda resets the sandbox; the runtime is expected to exit). */
#define INIT_FAILED_GRACE_US 1000000
/* Shutdown: SIGTERM, then SIGKILL after this long, give up after the next. */
#define SHUTDOWN_TERM_US 500000
#define SHUTDOWN_GIVE_UP_US 10000000
/* An environment that answered is counted on to come back to /next at the
 * latest by its invocation's deadline, and for at least this long (an
 * answer just before the deadline must not cause a cold start). */
#define RETURNING_MIN_US 1000000

struct lambda_local_pool {
    const lambda_local_function *fn;
    int max_envs;
    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* /next waiters: new work, or stopping */
    pthread_cond_t gone_cond; /* shutdown: an environment went away */
    lambda_local_invocation *queue_head, *queue_tail;
    size_t queue_len;
    lambda_local_env *envs;
    int env_count;       /* environments alive, including those being torn down */
    int idle_count;      /* /next calls waiting for work */
    int returning_count; /* environments that answered, not yet back in /next */
    unsigned next_env_id;
    bool closing;
};

lambda_local_pool *lambda_local_pool_new(const lambda_local_function *fn, int max_envs)
{
    lambda_local_pool *pool = lambda_local_calloc(1, sizeof *pool);
    pool->fn = fn;
    pool->max_envs = max_envs > 0 ? max_envs : 1;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work_cond, NULL);
    pthread_cond_init(&pool->gone_cond, NULL);
    return pool;
}

const lambda_local_function *lambda_local_pool_function(const lambda_local_pool *pool)
{
    return pool->fn;
}

/* ---- helpers; "_locked" ones run with pool->lock held ---- */

static void set_deadline(const lambda_local_pool *pool, lambda_local_invocation *inv)
{
    int64_t ms = (int64_t)(pool->fn->timeout_s * 1000.0);
    inv->deadline_us = lambda_local_mono_us() + ms * 1000;
    inv->deadline_ms = lambda_local_wall_ms() + ms;
}

static void enqueue_locked(lambda_local_pool *pool, lambda_local_invocation *inv)
{
    inv->next = NULL;
    if (pool->queue_tail)
        pool->queue_tail->next = inv;
    else
        pool->queue_head = inv;
    pool->queue_tail = inv;
    pool->queue_len++;
    pthread_cond_broadcast(&pool->work_cond);
}

/* Tenant isolation: an environment runs only its own tenant's invocations
 * (NULL: those without a tenant). */
static bool same_tenant(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Takes `inv` out of the queue. */
static lambda_local_invocation *unqueue_locked(lambda_local_pool *pool,
                                               lambda_local_invocation *inv)
{
    lambda_local_invocation *prev = NULL;
    for (lambda_local_invocation *q = pool->queue_head; q && q != inv; q = q->next)
        prev = q;
    if (prev)
        prev->next = inv->next;
    else
        pool->queue_head = inv->next;
    if (pool->queue_tail == inv)
        pool->queue_tail = prev;
    pool->queue_len--;
    inv->next = NULL;
    return inv;
}

/* The oldest queued invocation of `tenant`, or NULL. */
static lambda_local_invocation *queued_for_locked(const lambda_local_pool *pool, const char *tenant)
{
    for (lambda_local_invocation *q = pool->queue_head; q; q = q->next)
        if (same_tenant(q->tenant_id, tenant))
            return q;
    return NULL;
}

/* Environments of `tenant` that will take a queued invocation without a
 * cold start: those waiting in /next and those on their way back there. */
static size_t available_locked(const lambda_local_pool *pool, const char *tenant)
{
    size_t n = 0;
    for (const lambda_local_env *e = pool->envs; e; e = e->next) {
        if (e->stopping || !same_tenant(e->tenant_id, tenant))
            continue;
        if (e->capacity == 1) {
            n += e->idle || e->returning;
        } else if (e->state != LAMBDA_LOCAL_ENV_FAILED && e->state != LAMBDA_LOCAL_ENV_DEAD) {
            /* Managed Instances: every free poller slot, counted from the
             * start (its pollers come to /next as the runtime starts them). */
            int spare = e->capacity - e->running_count - (e->reserved ? 1 : 0);
            n += spare > 0 ? (size_t)spare : 0;
        }
    }
    return n;
}

/* True when no available environment of its tenant will take queued
 * `inv` (those are taken, in order, by the invocations queued before it):
 * it needs a new environment. */
static bool uncovered_one_locked(const lambda_local_pool *pool, const lambda_local_invocation *inv)
{
    size_t ahead = 0;
    for (const lambda_local_invocation *q = pool->queue_head; q != inv; q = q->next)
        if (same_tenant(q->tenant_id, inv->tenant_id))
            ahead++;
    return available_locked(pool, inv->tenant_id) <= ahead;
}

/* The oldest queued invocation that needs a new environment, or NULL. */
static lambda_local_invocation *uncovered_locked(const lambda_local_pool *pool)
{
    for (lambda_local_invocation *inv = pool->queue_head; inv; inv = inv->next)
        if (uncovered_one_locked(pool, inv))
            return inv;
    return NULL;
}

/* After an answer the environment is still the runtime's until it asks for
 * the next event; meanwhile it counts as available, so that a back-to-back
 * invocation waits for it instead of starting a second environment. */
static void returning_begin_locked(lambda_local_pool *pool, lambda_local_env *env,
                                   const lambda_local_invocation *inv)
{
    if (env->returning || env->stopping || pool->closing)
        return;
    int64_t min_until = lambda_local_mono_us() + RETURNING_MIN_US;
    env->returning = true;
    env->returning_until_us = inv->deadline_us > min_until ? inv->deadline_us : min_until;
    pool->returning_count++;
}

static void returning_end_locked(lambda_local_pool *pool, lambda_local_env *env)
{
    if (!env->returning)
        return;
    env->returning = false;
    pool->returning_count--;
}

/* A new environment reserved for `inv`: its init time counts against the
 * invocation's timeout, as in the official emulator. */
static lambda_local_env *new_env_locked(lambda_local_pool *pool, lambda_local_invocation *inv)
{
    set_deadline(pool, inv);
    lambda_local_env *env = lambda_local_env_new(pool, pool->fn, ++pool->next_env_id, inv);
    env->started_us = lambda_local_mono_us();
    env->next = pool->envs;
    pool->envs = env;
    pool->env_count++;
    return env;
}

static void unlink_locked(lambda_local_pool *pool, lambda_local_env *env)
{
    for (lambda_local_env **p = &pool->envs; *p; p = &(*p)->next) {
        if (*p == env) {
            *p = env->next;
            return;
        }
    }
}

/* Every slot is taken and a queued invocation has no environment of its
 * tenant to go to: an idle environment (whose tenant has nothing queued,
 * else it would not be idle) is stopped to free its slot, as Lambda
 * reclaims idle environments. Its departure refills the slot. */
static void make_room_locked(lambda_local_pool *pool)
{
    if (pool->closing || pool->env_count < pool->max_envs || !uncovered_locked(pool))
        return;
    for (lambda_local_env *e = pool->envs; e; e = e->next) {
        if (e->idle && !e->running_count && !e->reserved && !e->stopping &&
            !queued_for_locked(pool, e->tenant_id)) {
            lambda_local_log("function %s: execution environment %u (tenant %s) stopped to "
                             "make room for another tenant",
                             pool->fn->name, e->id, e->tenant_id ? e->tenant_id : "none");
            e->stopping = e->evicted = true;
            lambda_local_process_kill(&e->proc, SIGKILL);
            pthread_cond_broadcast(&pool->work_cond);
            return;
        }
    }
}

/* A slot is free, or an environment counted as available will not come
 * back: start an environment for the oldest queued invocation that no
 * available environment of its tenant will take. */
static lambda_local_env *refill_locked(lambda_local_pool *pool)
{
    if (pool->closing || !pool->queue_head || pool->env_count >= pool->max_envs)
        return NULL;
    lambda_local_invocation *inv = uncovered_locked(pool);
    return inv ? new_env_locked(pool, unqueue_locked(pool, inv)) : NULL;
}

/* Starts `env` (lock not held); when the bootstrap cannot be started the
 * invocation gets Lambda's Runtime.InvalidEntrypoint and the slot goes to
 * the next queued invocation. */
static void start_envs(lambda_local_pool *pool, lambda_local_env *env)
{
    while (env) {
        char err[512];
        if (lambda_local_env_start(env, err, sizeof err) == 0)
            return;
        pthread_mutex_lock(&pool->lock);
        unlink_locked(pool, env);
        pool->env_count--;
        lambda_local_invocation *inv = env->reserved;
        env->reserved = NULL;
        lambda_local_env *next = refill_locked(pool);
        pthread_cond_broadcast(&pool->gone_cond);
        pthread_mutex_unlock(&pool->lock);
        lambda_local_invocation_log_line(inv, "RequestId: %s Error: %s\nRuntime.InvalidEntrypoint",
                                         inv->request_id, err);
        lambda_local_invocation_fail(inv, "Runtime.InvalidEntrypoint", "RequestId: %s Error: %s",
                                     inv->request_id, err);
        lambda_local_env_free(env);
        env = next;
    }
}

/* END and REPORT lines, as CloudWatch shows them. `status` is NULL for a
 * normal end, else e.g. "timeout" with `error_type`. */
static void report_locked(lambda_local_env *env, lambda_local_invocation *inv, long max_rss_kb,
                          const char *status, const char *error_type)
{
    /* What the runtime logged up to its answer comes before END. */
    lambda_local_env_log_drain(&env->log);
    double ms = (double)(lambda_local_mono_us() - inv->started_us) / 1000.0;
    if (max_rss_kb <= 0)
        max_rss_kb = lambda_local_process_peak_rss_kb(env->proc.pid);
    char init[64] = "";
    if (env->report_init) {
        snprintf(init, sizeof init, "\tInit Duration: %.2f ms", (double)env->init_us / 1000.0);
        env->report_init = false;
    }
    char tail[160] = "";
    if (status)
        snprintf(tail, sizeof tail, "\tStatus: %s%s%s", status, error_type ? "\tError Type: " : "",
                 error_type ? error_type : "");
    lambda_local_invocation_log_line(inv, "END RequestId: %s", inv->request_id);
    lambda_local_invocation_log_line(inv,
                                     "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: "
                                     "%lld ms\tMemory Size: %d MB\tMax Memory Used: %ld MB%s%s",
                                     inv->request_id, ms, (long long)ms + 1, env->fn->memory_mb,
                                     (max_rss_kb + 1023) / 1024, init, tail);
    lambda_local_env_log_detach(&env->log, inv);
}

/* Takes `inv` off the environment's running list. */
static void unrun_locked(lambda_local_env *env, const lambda_local_invocation *inv)
{
    for (int i = 0; i < env->running_count; i++) {
        if (env->running[i] == inv) {
            env->running[i] = env->running[--env->running_count];
            env->running[env->running_count] = NULL;
            return;
        }
    }
}

/* The invocation is over for this environment. */
static void finish_locked(lambda_local_env *env, lambda_local_invocation *inv)
{
    unrun_locked(env, inv);
    snprintf(env->last_request_id, sizeof env->last_request_id, "%s", inv->request_id);
    env->state = env->running_count ? LAMBDA_LOCAL_ENV_BUSY : LAMBDA_LOCAL_ENV_READY;
    if (env->capacity > 1) /* a poller slot is free again */
        pthread_cond_broadcast(&env->pool->work_cond);
}

/* Looks up the invocation a /response or /error names: 0 with *out set,
 * else the HTTP status. */
static int check_request_locked(lambda_local_env *env, const char *request_id,
                                lambda_local_invocation **out)
{
    for (int i = 0; i < env->running_count; i++) {
        if (strcmp(env->running[i]->request_id, request_id) == 0) {
            *out = env->running[i];
            return 0;
        }
    }
    if (strcmp(env->last_request_id, request_id) == 0)
        return 403; /* answered already: InvalidStateTransition */
    return 400;     /* InvalidRequestID */
}

/* ---- the invoking side ---- */

void lambda_local_pool_submit(lambda_local_pool *pool, lambda_local_invocation *inv)
{
    lambda_local_invocation_retain(inv); /* the pool's reference */
    pthread_mutex_lock(&pool->lock);
    if (pool->closing) {
        pthread_mutex_unlock(&pool->lock);
        lambda_local_invocation_fail(inv, "ServiceException", "lambda-local is shutting down");
        return;
    }
    lambda_local_env *env = NULL;
    enqueue_locked(pool, inv);
    if (uncovered_one_locked(pool, inv)) { /* no environment of its tenant will take it */
        if (pool->env_count < pool->max_envs)
            env = new_env_locked(pool, unqueue_locked(pool, inv));
        else
            make_room_locked(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    start_envs(pool, env);
}

static void kill_all_locked(lambda_local_pool *pool, int sig)
{
    for (lambda_local_env *e = pool->envs; e; e = e->next)
        lambda_local_process_kill(&e->proc, sig);
}

void lambda_local_pool_shutdown(lambda_local_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->closing = true;
    /* As Lambda: SHUTDOWN to extensions, SIGTERM to the runtime, SIGKILL
     * for what is still there after a moment. */
    for (lambda_local_env *e = pool->envs; e; e = e->next)
        e->shutdown_requested = true;
    pthread_cond_broadcast(&pool->work_cond);
    lambda_local_invocation *queued = pool->queue_head;
    pool->queue_head = pool->queue_tail = NULL;
    pool->queue_len = 0;
    kill_all_locked(pool, SIGTERM);
    int64_t start = lambda_local_mono_us();
    bool killed = false;
    while (pool->env_count > 0) {
        int64_t waited = lambda_local_mono_us() - start;
        if (!killed && waited >= SHUTDOWN_TERM_US) {
            kill_all_locked(pool, SIGKILL);
            killed = true;
        }
        if (waited >= SHUTDOWN_GIVE_UP_US) {
            lambda_local_log("function %s: %d environment(s) did not stop", pool->fn->name,
                             pool->env_count);
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&pool->gone_cond, &pool->lock, &ts);
    }
    pthread_mutex_unlock(&pool->lock);
    while (queued) {
        lambda_local_invocation *next = queued->next;
        lambda_local_invocation_fail(queued, "ServiceException", "lambda-local is shutting down");
        queued = next;
    }
}

void lambda_local_pool_free(lambda_local_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->work_cond);
    pthread_cond_destroy(&pool->gone_cond);
    free(pool);
}

/* ---- the Runtime API side ---- */

/* Fails an invocation the runtime dropped by asking for the next one. */
static void fail_abandoned(lambda_local_invocation *inv)
{
    if (inv)
        lambda_local_invocation_fail(inv, "Runtime.Unknown",
                                     "RequestId: %s Error: the runtime asked for the next "
                                     "invocation without answering this one",
                                     inv->request_id);
}

lambda_local_invocation *lambda_local_pool_next(lambda_local_env *env)
{
    lambda_local_pool *pool = env->pool;
    lambda_local_invocation *abandoned = NULL;
    pthread_mutex_lock(&pool->lock);
    returning_end_locked(pool, env); /* from here on it is idle (or gone) */
    if (env->state == LAMBDA_LOCAL_ENV_INIT) {
        env->init_us = lambda_local_mono_us() - env->started_us;
        env->report_init = true;
    } else if (env->state == LAMBDA_LOCAL_ENV_BUSY && env->capacity == 1) {
        /* One poller: asking again means it dropped what it was running.
         * (With several, the others' /next calls are the normal case.) */
        abandoned = env->running[0];
        report_locked(env, abandoned, 0, "error", "Runtime.Unknown");
        finish_locked(env, abandoned);
    }
    if (env->state == LAMBDA_LOCAL_ENV_FAILED || env->state == LAMBDA_LOCAL_ENV_DEAD ||
        env->stopping) {
        pthread_mutex_unlock(&pool->lock);
        fail_abandoned(abandoned);
        return NULL;
    }
    if (env->state == LAMBDA_LOCAL_ENV_INIT)
        env->state = LAMBDA_LOCAL_ENV_READY;

    lambda_local_invocation *inv = env->reserved;
    env->reserved = NULL;
    if (!inv) {
        pool->idle_count++;
        env->idle++;
        make_room_locked(pool); /* it may be the environment another tenant waits for */
        /* More pollers than AWS_LAMBDA_MAX_CONCURRENCY wait for a free slot. */
        while ((env->running_count >= env->capacity ||
                !(inv = queued_for_locked(pool, env->tenant_id))) &&
               !env->stopping)
            pthread_cond_wait(&pool->work_cond, &pool->lock);
        pool->idle_count--;
        env->idle--;
        if (env->stopping) {
            pthread_mutex_unlock(&pool->lock);
            fail_abandoned(abandoned);
            return NULL;
        }
        unqueue_locked(pool, inv);
        set_deadline(pool, inv);
    }
    env->running[env->running_count++] = inv;
    env->state = LAMBDA_LOCAL_ENV_BUSY;
    inv->started_us = lambda_local_mono_us();
    lambda_local_invocation_retain(inv); /* for the caller's response */
    lambda_local_env_log_attach(&env->log, inv);
    pthread_mutex_unlock(&pool->lock);

    lambda_local_invocation_log_line(inv, "START RequestId: %s Version: $LATEST", inv->request_id);
    lambda_local_env_wake(env); /* new deadline */
    fail_abandoned(abandoned);
    return inv;
}

/* The part /response and /error share: check the request id, close the
 * invocation (REPORT line), and mark the environment as on its way back to
 * /next. Returns 0 with *out set, or the HTTP status for the runtime (body
 * freed). */
static int take_answer(lambda_local_env *env, const char *request_id, char *body,
                       const char *report_status, const char *report_type,
                       lambda_local_invocation **out)
{
    lambda_local_pool *pool = env->pool;
    pthread_mutex_lock(&pool->lock);
    lambda_local_invocation *inv = NULL;
    int status = check_request_locked(env, request_id, &inv);
    if (status != 0) {
        pthread_mutex_unlock(&pool->lock);
        free(body);
        return status;
    }
    report_locked(env, inv, 0, report_status, report_type);
    finish_locked(env, inv);
    if (env->capacity == 1) /* several pollers: the others are counted as such */
        returning_begin_locked(pool, env, inv);
    pthread_mutex_unlock(&pool->lock);
    lambda_local_env_wake(env);
    *out = inv;
    return 0;
}

lambda_local_invocation *lambda_local_pool_current(lambda_local_env *env, const char *request_id)
{
    lambda_local_pool *pool = env->pool;
    pthread_mutex_lock(&pool->lock);
    lambda_local_invocation *inv = NULL;
    if (check_request_locked(env, request_id, &inv) != 0)
        inv = NULL;
    if (inv)
        lambda_local_invocation_retain(inv);
    pthread_mutex_unlock(&pool->lock);
    return inv;
}

int lambda_local_pool_respond(lambda_local_env *env, const char *request_id, char *body, size_t len,
                              bool too_large)
{
    lambda_local_invocation *inv;
    int status = take_answer(env, request_id, body, too_large ? "error" : NULL,
                             too_large ? "Function.ResponseSizeTooLarge" : NULL, &inv);
    if (status != 0)
        return status;

    if (too_large) {
        free(body);
        lambda_local_log_line("RequestId: %s Error: Response payload size exceeded maximum "
                              "allowed payload size (%d bytes).",
                              inv->request_id, LAMBDA_LOCAL_RESPONSE_LIMIT);
        lambda_local_invocation_fail(inv, "Function.ResponseSizeTooLarge",
                                     "Response payload size exceeded maximum allowed payload "
                                     "size (%d bytes).",
                                     LAMBDA_LOCAL_RESPONSE_LIMIT);
        return 413;
    }
    lambda_local_invocation_complete(inv, false, body, len);
    return 202;
}

/* Lambda passes the runtime's error document on; a body that is not a JSON
 * object is wrapped so that the invoker still gets errorType/errorMessage. */
static char *normalise_error(char *body, size_t *len, const char *error_type)
{
    cJSON *doc = cJSON_ParseWithLength(body, *len);
    bool ok = cJSON_IsObject(doc);
    cJSON_Delete(doc);
    if (ok)
        return body;
    char *wrapped = lambda_local_error_json(error_type ? error_type : "Runtime.Unknown", body, len);
    free(body);
    return wrapped;
}

int lambda_local_pool_error(lambda_local_env *env, const char *request_id, char *body, size_t len,
                            const char *error_type)
{
    lambda_local_invocation *inv;
    int status = take_answer(env, request_id, body, NULL, NULL, &inv);
    if (status != 0)
        return status;

    body = normalise_error(body, &len, error_type);
    lambda_local_invocation_complete(inv, true, body, len);
    return 202;
}

int lambda_local_pool_init_error(lambda_local_env *env, char *body, size_t len,
                                 const char *error_type)
{
    lambda_local_pool *pool = env->pool;
    pthread_mutex_lock(&pool->lock);
    if (env->state != LAMBDA_LOCAL_ENV_INIT || !env->reserved) {
        pthread_mutex_unlock(&pool->lock);
        free(body);
        return 403;
    }
    lambda_local_invocation *inv = env->reserved;
    env->reserved = NULL;
    env->state = LAMBDA_LOCAL_ENV_FAILED;
    env->failed_us = lambda_local_mono_us();
    double init_ms = (double)(env->failed_us - env->started_us) / 1000.0;
    pthread_mutex_unlock(&pool->lock);
    lambda_local_env_wake(env); /* grace deadline, then kill */

    body = normalise_error(body, &len, error_type);
    lambda_local_env_log_drain(&env->log);
    lambda_local_invocation_log_line(inv,
                                     "INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: "
                                     "error\tError Type: %s",
                                     init_ms, error_type ? error_type : "Runtime.Unknown");
    lambda_local_invocation_log_line(inv, "RequestId: %s Error: init failed: %.*s", inv->request_id,
                                     (int)len, body);
    lambda_local_env_log_detach(&env->log, inv);
    lambda_local_invocation_complete(inv, true, body, len);
    return 202;
}

int lambda_local_pool_extension_register(lambda_local_env *env)
{
    lambda_local_pool *pool = env->pool;
    pthread_mutex_lock(&pool->lock);
    int status = env->state == LAMBDA_LOCAL_ENV_INIT ? 200 : 403;
    if (status == 200)
        env->extensions++;
    pthread_mutex_unlock(&pool->lock);
    return status;
}

bool lambda_local_pool_extension_next(lambda_local_env *env)
{
    lambda_local_pool *pool = env->pool;
    pthread_mutex_lock(&pool->lock);
    /* Only SHUTDOWN is ever delivered (INVOKE events are not emulated). */
    while (!env->stopping && !(env->shutdown_requested && !env->shutdown_delivered))
        pthread_cond_wait(&pool->work_cond, &pool->lock);
    bool deliver = !env->stopping && !env->shutdown_delivered;
    if (deliver)
        env->shutdown_delivered = true;
    pthread_mutex_unlock(&pool->lock);
    return deliver;
}

/* ---- the supervisor side ---- */

void lambda_local_pool_env_spawned(lambda_local_env *env, const lambda_local_process *proc)
{
    lambda_local_pool *pool = env->pool;
    pthread_mutex_lock(&pool->lock);
    env->proc = *proc;
    if (pool->closing)
        lambda_local_process_kill(&env->proc, SIGKILL);
    pthread_mutex_unlock(&pool->lock);
}

/* The earliest deadline of what the environment runs, or -1. */
static int64_t earliest_deadline_locked(const lambda_local_env *env)
{
    int64_t deadline = -1;
    for (int i = 0; i < env->running_count; i++)
        if (deadline < 0 || env->running[i]->deadline_us < deadline)
            deadline = env->running[i]->deadline_us;
    return deadline;
}

int64_t lambda_local_pool_env_deadline(lambda_local_env *env)
{
    lambda_local_pool *pool = env->pool;
    int64_t deadline = -1;
    pthread_mutex_lock(&pool->lock);
    if (env->state == LAMBDA_LOCAL_ENV_INIT && env->reserved)
        deadline = env->reserved->deadline_us;
    else if (env->state == LAMBDA_LOCAL_ENV_BUSY)
        deadline = earliest_deadline_locked(env);
    else if (env->state == LAMBDA_LOCAL_ENV_FAILED)
        deadline = env->failed_us + INIT_FAILED_GRACE_US;
    else if (env->returning)
        deadline = env->returning_until_us;
    pthread_mutex_unlock(&pool->lock);
    return deadline;
}

/* A running invocation whose deadline passed, or NULL. */
static lambda_local_invocation *expired_locked(const lambda_local_env *env, int64_t now)
{
    for (int i = 0; i < env->running_count; i++)
        if (now >= env->running[i]->deadline_us)
            return env->running[i];
    return NULL;
}

void lambda_local_pool_env_expired(lambda_local_env *env)
{
    lambda_local_pool *pool = env->pool;
    int64_t now = lambda_local_mono_us();
    lambda_local_invocation *inv = NULL;
    pthread_mutex_lock(&pool->lock);
    if (env->state == LAMBDA_LOCAL_ENV_INIT && env->reserved && now >= env->reserved->deadline_us) {
        inv = env->reserved;
        env->reserved = NULL;
        inv->started_us = env->started_us;
    } else if (env->state == LAMBDA_LOCAL_ENV_BUSY && (inv = expired_locked(env, now)) != NULL) {
        /* Lambda resets the environment: what else runs there ends with it
         * (Runtime.ExitError, when the process is gone). */
        unrun_locked(env, inv);
    } else if (env->state == LAMBDA_LOCAL_ENV_FAILED &&
               now >= env->failed_us + INIT_FAILED_GRACE_US) {
        lambda_local_process_kill(&env->proc, SIGKILL);
    } else if (env->returning && now >= env->returning_until_us) {
        /* The runtime is still busy after its answer (work after the
         * response): stop waiting for it, what queued gets an environment
         * of its own. It is used again once it reaches /next. */
        returning_end_locked(pool, env);
        lambda_local_env *fresh = refill_locked(pool);
        pthread_mutex_unlock(&pool->lock);
        start_envs(pool, fresh);
        return;
    }
    if (!inv) {
        pthread_mutex_unlock(&pool->lock);
        return;
    }
    /* Lambda kills the sandbox; the next invocation starts a fresh one. */
    long rss = lambda_local_process_peak_rss_kb(env->proc.pid);
    lambda_local_process_kill(&env->proc, SIGKILL);
    env->state = LAMBDA_LOCAL_ENV_FAILED;
    env->failed_us = now;
    double timeout = pool->fn->timeout_s;
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    lambda_local_env_log_drain(&env->log);
    lambda_local_invocation_log_line(inv, "%s %s Task timed out after %.2f seconds", stamp,
                                     inv->request_id, timeout);
    report_locked(env, inv, rss, "timeout", NULL);
    pthread_mutex_unlock(&pool->lock);
    lambda_local_invocation_fail(inv, "Sandbox.Timedout",
                                 "RequestId: %s Error: Task timed out after %.2f seconds",
                                 inv->request_id, timeout);
}

void lambda_local_pool_env_exited(lambda_local_env *env, int status, long max_rss_kb)
{
    lambda_local_pool *pool = env->pool;
    char how[128];
    lambda_local_describe_exit(status, how, sizeof how);
    lambda_local_env_log_drain(&env->log); /* its last words (a crash report) */
    pthread_mutex_lock(&pool->lock);
    bool in_init = env->reserved != NULL;
    /* What it was running (or the invocation it was starting for) fails. */
    int count = in_init ? 1 : env->running_count;
    lambda_local_invocation **lost = lambda_local_calloc((size_t)count + 1, sizeof *lost);
    if (in_init)
        lost[0] = env->reserved;
    else
        memcpy(lost, env->running, (size_t)count * sizeof *lost);
    env->reserved = NULL;
    env->running_count = 0;
    /* Died after answering: what was queued for it is served by a fresh
     * environment once this one's slot is free (pool_env_gone). */
    returning_end_locked(pool, env);
    for (int i = 0; i < count && !in_init; i++)
        report_locked(env, lost[i], max_rss_kb, "error", "Runtime.ExitError");
    if (count == 0 && env->state != LAMBDA_LOCAL_ENV_FAILED && !pool->closing && !env->evicted)
        lambda_local_log("function %s: execution environment %u exited (%s)", pool->fn->name,
                         env->id, how);
    env->state = LAMBDA_LOCAL_ENV_DEAD;
    env->stopping = true;
    pthread_cond_broadcast(&pool->work_cond);
    pthread_mutex_unlock(&pool->lock);
    /* Lambda's words: a clean exit during init gave no reason at all. */
    char reason[192];
    if (in_init && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        snprintf(reason, sizeof reason, "Runtime exited without providing a reason");
    else
        snprintf(reason, sizeof reason, "Runtime exited with error: %s", how);
    for (int i = 0; i < count; i++) {
        lambda_local_invocation *inv = lost[i];
        lambda_local_invocation_log_line(inv, "RequestId: %s Error: %s\nRuntime.ExitError",
                                         inv->request_id, reason);
        lambda_local_env_log_detach(&env->log, inv);
        lambda_local_invocation_fail(inv, "Runtime.ExitError", "RequestId: %s Error: %s",
                                     inv->request_id, reason);
    }
    free(lost);
}

void lambda_local_pool_env_gone(lambda_local_env *env)
{
    lambda_local_pool *pool = env->pool;
    pthread_mutex_lock(&pool->lock);
    unlink_locked(pool, env);
    pthread_mutex_unlock(&pool->lock);
    /* Free before giving the slot back, so that once shutdown sees zero
     * environments nothing of this one is left. */
    lambda_local_env_free(env);

    pthread_mutex_lock(&pool->lock);
    pool->env_count--;
    lambda_local_env *next = refill_locked(pool);
    pthread_cond_broadcast(&pool->gone_cond);
    pthread_mutex_unlock(&pool->lock);
    start_envs(pool, next);
}

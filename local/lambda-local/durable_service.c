/* The durable service's engine: executions, timers, invocations, state dir. */
#include "durable_internal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "invocation.h"

/* A failed invocation (crash, timeout, unhandled error, an answer that is
 * not the durable protocol's) is retried this many times, after 1, 2, 4 s
 * (scaled), before the execution fails with its error. */
#define INVOCATION_RETRIES 3

static lambda_local_pool *pool_named(lambda_local_durable *d, const char *name)
{
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(lambda_local_pool_function(d->pools[i])->name, name) == 0)
            return d->pools[i];
    return NULL;
}

durable_exec *durable_find(lambda_local_durable *d, const char *arn)
{
    for (size_t i = 0; i < d->nexecs; i++)
        if (strcmp(d->execs[i]->arn, arn) == 0)
            return d->execs[i];
    return NULL;
}

durable_exec *durable_find_callback_exec(lambda_local_durable *d, const char *callback_id,
                                         durable_op **op)
{
    for (size_t i = 0; i < d->nexecs; i++)
        if ((*op = durable_find_callback(d->execs[i], callback_id)) != NULL)
            return d->execs[i];
    return NULL;
}

static void add_exec(lambda_local_durable *d, durable_exec *e)
{
    if (d->nexecs == d->capexecs) {
        d->capexecs = d->capexecs ? d->capexecs * 2 : 16;
        d->execs = realloc(d->execs, d->capexecs * sizeof *d->execs);
        if (!d->execs)
            abort();
    }
    d->execs[d->nexecs++] = e;
}

/* --- the state directory: one file per execution, replaced atomically --- */

/* False when the state directory could not take the change (it stays
 * pending: the next change writes it again). */
static bool persist(lambda_local_durable *d, durable_exec *e)
{
    if (!d->state_dir || !e->persisted_dirty)
        return true;
    char *json = durable_serialize(e);
    char *path = lambda_local_format("%s/%s.json", d->state_dir, e->id);
    char *tmp = lambda_local_format("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    bool ok = f && fputs(json, f) >= 0;
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (ok)
        e->persisted_dirty = false;
    else {
        lambda_local_log("durable: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    free(path);
    free(json);
    return ok;
}

static int load_state_dir(lambda_local_durable *d, char *err, size_t errlen)
{
    if (mkdir(d->state_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--durable-state-dir %s: %s", d->state_dir, strerror(errno));
        return -1;
    }
    DIR *dir = opendir(d->state_dir);
    if (!dir) {
        snprintf(err, errlen, "--durable-state-dir %s: %s", d->state_dir, strerror(errno));
        return -1;
    }
    struct dirent *de;
    size_t loaded = 0, running = 0;
    while ((de = readdir(dir)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        char *path = lambda_local_format("%s/%s", d->state_dir, de->d_name);
        FILE *f = fopen(path, "r");
        size_t len = 0;
        char *json = f ? lambda_local_read_stream(f, &len) : NULL;
        if (f)
            fclose(f);
        durable_exec *e = json ? durable_deserialize(json) : NULL;
        if (!e)
            lambda_local_log("durable: %s is not a durable execution state file, skipped", path);
        else if (durable_find(d, e->arn)) {
            durable_exec_free(e);
        } else {
            if (e->status == DURABLE_RUNNING)
                running++;
            add_exec(d, e);
            loaded++;
        }
        free(json);
        free(path);
    }
    closedir(dir);
    if (loaded)
        lambda_local_log("durable: %zu executions loaded from %s (%zu running, resumed)", loaded,
                         d->state_dir, running);
    return 0;
}

bool durable_changed(lambda_local_durable *d, durable_exec *e)
{
    bool written = persist(d, e);
    pthread_cond_broadcast(&d->wake);
    /* Every change, not only the end: the one-shot invoke announces the
     * callbacks an execution starts waiting for. */
    pthread_cond_broadcast(&d->changed);
    return written;
}

void durable_wake_execution(lambda_local_durable *d, durable_exec *e)
{
    if (e->status != DURABLE_RUNNING)
        return;
    if (e->invoking)
        e->dirty = true; /* the answer to the running invocation decides */
    else
        e->invoke_at_ms = lambda_local_wall_ms();
    durable_changed(d, e);
}

/* --- invocations --- */

typedef struct worker_arg {
    lambda_local_durable *d;
    durable_exec *e;
} worker_arg;

/* An ErrorObject from a Lambda error payload {"errorType","errorMessage"}. */
static cJSON *error_from_lambda(const char *body, size_t len)
{
    cJSON *in = cJSON_ParseWithLength(body, len);
    cJSON *o = cJSON_CreateObject();
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "errorType");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(in, "errorMessage");
    cJSON_AddStringToObject(o, "ErrorType", cJSON_IsString(t) ? t->valuestring : "Unhandled");
    if (cJSON_IsString(m))
        cJSON_AddStringToObject(o, "ErrorMessage", m->valuestring);
    else {
        char *text = lambda_local_format("%.*s", (int)len, body ? body : "");
        cJSON_AddStringToObject(o, "ErrorMessage", text);
        free(text);
    }
    cJSON_Delete(in);
    return o;
}

static cJSON *error_object(const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "ErrorType", type);
    cJSON_AddStringToObject(o, "ErrorMessage", message);
    return o;
}

/* The function's answer, under the lock: NULL and the outcome (RUNNING for
 * PENDING; *result / *error for the end, caller frees), or an ErrorObject
 * when the invocation failed (to be retried). */
static cJSON *take_answer(const durable_exec *e, const lambda_local_invocation *inv,
                          durable_status *outcome, char **result, cJSON **error)
{
    *outcome = DURABLE_RUNNING;
    *result = NULL;
    *error = NULL;
    if (inv->function_error)
        return error_from_lambda(inv->result, inv->result_len);
    cJSON *out = cJSON_ParseWithLength(inv->result, inv->result_len);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(out, "Status");
    cJSON *failure = NULL;
    const char *s = cJSON_IsString(status) ? status->valuestring : "";
    if (strcmp(s, "SUCCEEDED") == 0) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(out, "Result");
        *outcome = DURABLE_SUCCEEDED;
        *result = cJSON_IsString(r) ? lambda_local_strdup(r->valuestring) : NULL;
    } else if (strcmp(s, "FAILED") == 0) {
        const cJSON *err = cJSON_GetObjectItemCaseSensitive(out, "Error");
        *outcome = DURABLE_FAILED;
        *error = cJSON_IsObject(err) ? cJSON_Duplicate(err, true)
                                     : error_object("Unknown", "FAILED without an Error");
    } else if (strcmp(s, "PENDING") == 0) {
        if (!durable_has_pending(e) && !e->dirty)
            failure = error_object("InvalidParameterValueException",
                                   "Cannot return PENDING status with no pending operations");
    } else {
        failure = error_object("InvalidParameterValueException",
                               "The durable function's answer must be {\"Status\": \"SUCCEEDED\" | "
                               "\"FAILED\" | \"PENDING\"}");
    }
    cJSON_Delete(out);
    return failure;
}

static void *invoke_worker(void *arg)
{
    worker_arg *w = arg;
    lambda_local_durable *d = w->d;
    durable_exec *e = w->e;
    free(w);

    pthread_mutex_lock(&d->lock);
    lambda_local_pool *pool = pool_named(d, e->function_name);
    size_t len = 0;
    char *envelope = pool ? durable_envelope(e, &len) : NULL;
    char *invoked_arn = lambda_local_format("%s:$LATEST", e->function_arn);
    pthread_mutex_unlock(&d->lock);

    lambda_local_invocation *inv = NULL;
    int64_t started = lambda_local_wall_ms();
    if (pool) {
        inv = lambda_local_invocation_new(envelope, len);
        inv->invoked_arn = invoked_arn;
        invoked_arn = NULL;
        lambda_local_pool_submit(pool, inv);
        lambda_local_invocation_wait(inv);
    }
    free(envelope);
    free(invoked_arn);

    pthread_mutex_lock(&d->lock);
    int64_t now = lambda_local_wall_ms();
    if (!d->stopping) {
        e->token[0] = '\0'; /* the invocation is over: so is its token */
        if (!pool) {
            cJSON *err = error_object("ResourceNotFoundException", "The function is gone");
            durable_finish(e, DURABLE_FAILED, NULL, err, now);
            cJSON_Delete(err);
        } else if (e->status != DURABLE_RUNNING) {
            /* ended by an EXECUTION checkpoint or StopDurableExecution */
            durable_invocation_completed(e, started, now, inv->request_id, NULL);
        } else {
            durable_status outcome;
            char *result = NULL;
            cJSON *error = NULL;
            cJSON *failure = take_answer(e, inv, &outcome, &result, &error);
            durable_invocation_completed(e, started, now, inv->request_id, failure);
            if (outcome != DURABLE_RUNNING)
                durable_finish(e, outcome, result, error, now);
            free(result);
            cJSON_Delete(error);
            if (failure) {
                if (++e->failed_invocations > INVOCATION_RETRIES)
                    durable_finish(e, DURABLE_FAILED, NULL, failure, now);
                else
                    e->invoke_at_ms = now + (int64_t)(1000.0 * (1 << (e->failed_invocations - 1)) *
                                                      d->time_scale);
                lambda_local_log("durable: %s: invocation %s failed (%d of %d)", e->arn,
                                 inv->request_id, e->failed_invocations, INVOCATION_RETRIES + 1);
                cJSON_Delete(failure);
            } else {
                e->failed_invocations = 0;
                /* PENDING: again at once if something it waits for is
                 * already there, else when a timer or callback says so. */
                if (e->status == DURABLE_RUNNING)
                    e->invoke_at_ms = e->dirty || durable_has_ready(e) ? now : -1;
            }
        }
        e->dirty = false;
    }
    e->invoking = false;
    durable_changed(d, e);
    if (--d->workers == 0)
        pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->lock);
    if (inv)
        lambda_local_invocation_release(inv);
    return NULL;
}

/* Under the lock. */
static void start_worker(lambda_local_durable *d, durable_exec *e)
{
    worker_arg *w = lambda_local_calloc(1, sizeof *w);
    w->d = d;
    w->e = e;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    e->invoking = true;
    e->dirty = false;
    e->invoke_at_ms = -1;
    d->workers++;
    if (pthread_create(&t, &attr, invoke_worker, w) != 0) {
        lambda_local_log("durable: cannot start an invocation thread: retrying in 1 s");
        free(w);
        e->invoking = false;
        e->invoke_at_ms = lambda_local_wall_ms() + 1000;
        d->workers--;
    }
    pthread_attr_destroy(&attr);
}

/* False for the executions a one-shot invoke leaves alone. */
static bool driven(const lambda_local_durable *d, const durable_exec *e)
{
    return !d->drive_name || (strcmp(e->function_name, d->drive_function) == 0 &&
                              strcmp(e->name, d->drive_name) == 0);
}

/* Fires due timers and starts due invocations; sleeps until the next. */
static void *timer_thread(void *arg)
{
    lambda_local_durable *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        int64_t now = lambda_local_wall_ms(), next = -1;
        for (size_t i = 0; i < d->nexecs; i++) {
            durable_exec *e = d->execs[i];
            if (e->status != DURABLE_RUNNING || !driven(d, e))
                continue;
            /* Timers of an execution whose function runs fire at its next
             * checkpoint (durable_api.c) or once the invocation is over:
             * the SDK suspends right after checkpointing a wait or a
             * retry, and a short timer fired in between would put e.g.
             * WaitSucceeded before that invocation's InvocationCompleted
             * on a slow machine. */
            if (e->invoking)
                continue;
            if (durable_fire_timers(e, now)) {
                if (e->status != DURABLE_RUNNING) { /* ExecutionTimeout */
                    durable_changed(d, e);
                    continue;
                }
                persist(d, e);
                if (e->invoking)
                    e->dirty = true;
                else
                    e->invoke_at_ms = now;
            }
            if (!e->invoking && e->invoke_at_ms >= 0 && e->invoke_at_ms <= now)
                start_worker(d, e);
            int64_t t = durable_next_timer(e);
            if (!e->invoking && e->invoke_at_ms >= 0 && (t < 0 || e->invoke_at_ms < t))
                t = e->invoke_at_ms;
            if (t >= 0 && (next < 0 || t < next))
                next = t;
        }
        if (next < 0) {
            pthread_cond_wait(&d->wake, &d->lock);
        } else if (next > now) {
            struct timespec ts = {.tv_sec = next / 1000, .tv_nsec = (long)(next % 1000) * 1000000};
            pthread_cond_timedwait(&d->wake, &d->lock, &ts);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

lambda_local_durable *lambda_local_durable_new(lambda_local_pool *const *pools, size_t count,
                                               const lambda_local_durable_config *config, char *err,
                                               size_t errlen)
{
    lambda_local_durable *d = lambda_local_calloc(1, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL); /* CLOCK_REALTIME: timers are wall-clock */
    pthread_cond_init(&d->changed, NULL);
    pthread_cond_init(&d->idle, NULL);
    d->pools = pools;
    d->count = count;
    d->time_scale = config->time_scale;
    if (config->drive_name) {
        d->drive_function = lambda_local_strdup(config->drive_function);
        d->drive_name = lambda_local_strdup(config->drive_name);
    }
    if (config->state_dir) {
        d->state_dir = lambda_local_strdup(config->state_dir);
        if (load_state_dir(d, err, errlen) != 0) {
            lambda_local_durable_free(d);
            return NULL;
        }
    }
    return d;
}

int lambda_local_durable_start(lambda_local_durable *d, char *err, size_t errlen)
{
    if (pthread_create(&d->timer_thread, NULL, timer_thread, d) != 0) {
        snprintf(err, errlen, "cannot start the durable service's timer thread");
        return -1;
    }
    d->timer_running = true;
    return 0;
}

void lambda_local_durable_stop(lambda_local_durable *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_broadcast(&d->wake);
    pthread_cond_broadcast(&d->changed);
    pthread_mutex_unlock(&d->lock);
    if (d->timer_running) {
        pthread_join(d->timer_thread, NULL);
        d->timer_running = false;
    }
}

void lambda_local_durable_free(lambda_local_durable *d)
{
    if (!d)
        return;
    lambda_local_durable_stop(d);
    /* Workers end once their invocation is answered (the pools' shutdown
     * answers every one). */
    pthread_mutex_lock(&d->lock);
    while (d->workers > 0)
        pthread_cond_wait(&d->idle, &d->lock);
    for (size_t i = 0; i < d->nexecs; i++) {
        persist(d, d->execs[i]);
        durable_exec_free(d->execs[i]);
    }
    pthread_mutex_unlock(&d->lock);
    free(d->execs);
    free(d->state_dir);
    free(d->drive_function);
    free(d->drive_name);
    pthread_cond_destroy(&d->idle);
    pthread_cond_destroy(&d->changed);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* --- Invoke with X-Amz-Durable-Execution-Name, and the one-shot invoke --- */

/* Under the lock: execution `name` of `pool`'s function, started with
 * `payload` unless it exists with that input. NULL with *err (the API's
 * error) for an invalid name or one taken with another input. */
static durable_exec *start_or_join(lambda_local_durable *d, lambda_local_pool *pool,
                                   const char *function_arn, const char *name, const char *payload,
                                   durable_error *err)
{
    if (!durable_valid_name(name)) {
        *err = (durable_error){.status = 400, .type = "InvalidParameterValueException"};
        snprintf(err->message, sizeof err->message,
                 "DurableExecutionName must be 1 to 64 characters of [a-zA-Z0-9-_]");
        return NULL;
    }
    const char *fn = lambda_local_pool_function(pool)->name;
    durable_exec *e = NULL;
    for (size_t i = 0; i < d->nexecs && !e; i++)
        if (strcmp(d->execs[i]->function_name, fn) == 0 && strcmp(d->execs[i]->name, name) == 0)
            e = d->execs[i];
    if (e && strcmp(e->input, payload) != 0) {
        *err = (durable_error){.status = 409, .type = "DurableExecutionAlreadyStartedException"};
        snprintf(err->message, sizeof err->message,
                 "Durable execution %s of function %s was already started with another input: "
                 "%s",
                 name, fn, e->arn);
        return NULL;
    }
    if (!e) {
        /* The unqualified function ARN: the execution's ARN adds $LATEST. */
        char *base = lambda_local_strdup(function_arn);
        char *colon = strstr(base, ":function:");
        char *qual = colon ? strchr(colon + strlen(":function:"), ':') : NULL;
        if (qual)
            *qual = '\0';
        e = durable_exec_new(fn, base, name, payload, lambda_local_wall_ms());
        durable_set_timeout(e, (long)lambda_local_pool_function(pool)->durable_timeout_s,
                            d->time_scale);
        free(base);
        add_exec(d, e);
        lambda_local_log("durable: execution %s started", e->arn);
        durable_changed(d, e);
    }
    return e;
}

/* Under the lock: waits until `e` ends or the service stops, announcing
 * each callback it starts waiting for (on_callback may be NULL). */
static void wait_end(lambda_local_durable *d, durable_exec *e,
                     void (*on_callback)(void *arg, const char *callback_id), void *arg)
{
    size_t announced = 0; /* operations only grow: callbacks from here on are new */
    for (;;) {
        for (; on_callback && announced < e->nops; announced++) {
            const cJSON *op = e->ops[announced].op;
            const cJSON *type = cJSON_GetObjectItemCaseSensitive(op, "Type");
            const cJSON *status = cJSON_GetObjectItemCaseSensitive(op, "Status");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(op, "CallbackDetails"), "CallbackId");
            if (cJSON_IsString(type) && strcmp(type->valuestring, "CALLBACK") == 0 &&
                cJSON_IsString(status) && strcmp(status->valuestring, "STARTED") == 0 &&
                cJSON_IsString(id))
                on_callback(arg, id->valuestring);
        }
        if (e->status != DURABLE_RUNNING || d->stopping)
            return;
        pthread_cond_wait(&d->changed, &d->lock);
    }
}

/* Under the lock, once `e` has ended: what a synchronous Invoke answers —
 * the result, or (*failed) the error as a function error's JSON. */
static char *outcome_body(const durable_exec *e, size_t *len, bool *failed)
{
    *failed = e->status != DURABLE_SUCCEEDED;
    if (*failed) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(e->error, "ErrorType");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e->error, "ErrorMessage");
        return lambda_local_error_json(cJSON_IsString(t) ? t->valuestring
                                                         : durable_status_name(e->status),
                                       cJSON_IsString(m) ? m->valuestring : "", len);
    }
    char *body = lambda_local_strdup(e->result ? e->result : "null");
    *len = strlen(body);
    return body;
}

static enum MHD_Result answer_execution(struct MHD_Connection *conn, const durable_exec *e,
                                        const char *arn, bool stopping)
{
    char request_id[37];
    lambda_local_uuid(request_id);
    if (stopping)
        return lambda_local_http_service_error(conn, 503, "ServiceException",
                                               "lambda-local is shutting down; the durable "
                                               "execution goes on at the next start (with "
                                               "--durable-state-dir)");
    bool failed = false;
    size_t len = 0;
    char *body = outcome_body(e, &len, &failed);
    const char *headers[] = {"Content-Type",
                             "application/json",
                             "X-Amz-Executed-Version",
                             "$LATEST",
                             "x-amzn-RequestId",
                             request_id,
                             "X-Amz-Durable-Execution-Arn",
                             arn,
                             "X-Amz-Function-Error",
                             failed ? "Unhandled" : NULL,
                             NULL};
    return lambda_local_http_send(conn, 200, body, len, headers);
}

enum MHD_Result lambda_local_durable_invoke(lambda_local_durable *d, struct MHD_Connection *conn,
                                            lambda_local_pool *pool, const char *function_arn,
                                            const char *name, char *payload, size_t len, bool event)
{
    (void)len;
    durable_error err;
    pthread_mutex_lock(&d->lock);
    durable_exec *e = start_or_join(d, pool, function_arn, name, payload, &err);
    free(payload);
    if (!e) {
        pthread_mutex_unlock(&d->lock);
        return lambda_local_http_service_error(conn, err.status, err.type, err.message);
    }
    char *arn = lambda_local_strdup(e->arn);
    enum MHD_Result r;
    if (event) {
        pthread_mutex_unlock(&d->lock);
        char request_id[37];
        lambda_local_uuid(request_id);
        const char *headers[] = {"x-amzn-RequestId", request_id, "X-Amz-Durable-Execution-Arn", arn,
                                 NULL};
        r = lambda_local_http_send(conn, 202, NULL, 0, headers);
    } else {
        /* RequestResponse: the answer is the execution's result, however
         * many invocations and waits that takes. */
        wait_end(d, e, NULL, NULL);
        r = answer_execution(conn, e, arn, e->status == DURABLE_RUNNING);
        pthread_mutex_unlock(&d->lock);
    }
    free(arn);
    return r;
}

int lambda_local_durable_begin(lambda_local_durable *d, lambda_local_pool *pool,
                               const char *function_arn, const char *name, const char *payload,
                               char **arn, char *err, size_t errlen)
{
    durable_error e_err;
    pthread_mutex_lock(&d->lock);
    durable_exec *e = start_or_join(d, pool, function_arn, name, payload, &e_err);
    *arn = e ? lambda_local_strdup(e->arn) : NULL;
    pthread_mutex_unlock(&d->lock);
    if (!e)
        snprintf(err, errlen, "%s: %s", e_err.type, e_err.message);
    return e ? 0 : -1;
}

int lambda_local_durable_wait(lambda_local_durable *d, const char *arn,
                              void (*on_callback)(void *arg, const char *callback_id), void *arg,
                              lambda_local_durable_outcome *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&d->lock);
    durable_exec *e = durable_find(d, arn);
    if (e)
        wait_end(d, e, on_callback, arg);
    bool ended = e && e->status != DURABLE_RUNNING;
    if (ended) {
        out->execution = durable_describe(e, true);
        out->body = outcome_body(e, &out->len, &out->failed);
    }
    pthread_mutex_unlock(&d->lock);
    return ended ? 0 : -1;
}

void lambda_local_durable_outcome_free(lambda_local_durable_outcome *out)
{
    cJSON_Delete(out->execution);
    free(out->body);
    memset(out, 0, sizeof *out);
}

/*
 * Shared between the durable service's two halves: durable_service.c (the
 * executions, the timer thread, the invocations, the state directory) and
 * durable_api.c (the HTTP endpoints). Not for the rest of lambda-local.
 */
#ifndef LAMBDA_LOCAL_DURABLE_INTERNAL_H
#define LAMBDA_LOCAL_DURABLE_INTERNAL_H

#include <pthread.h>

#include "durable.h"
#include "durable_model.h"

struct lambda_local_durable {
    pthread_mutex_t lock;
    pthread_cond_t wake;    /* the timer thread: something changed */
    pthread_cond_t changed; /* waiting invokers: an execution changed */
    pthread_cond_t idle;    /* free(): the last invocation worker ended */
    lambda_local_pool *const *pools;
    size_t count;
    double time_scale;
    char *state_dir;
    char *drive_function, *drive_name; /* lambda_local_durable_config's */
    durable_exec **execs;
    size_t nexecs, capexecs;
    pthread_t timer_thread;
    bool timer_running;
    bool stopping;
    int workers;
};

/* Lookups under d->lock. */
durable_exec *durable_find(lambda_local_durable *d, const char *arn);
/* The execution and operation holding a callback id, or NULL. */
durable_exec *durable_find_callback_exec(lambda_local_durable *d, const char *callback_id,
                                         durable_op **op);
/* After a change under d->lock: writes the state file if needed and wakes
 * the timer thread, which invokes the function when one is due. False when
 * the state directory refused the write. */
bool durable_changed(lambda_local_durable *d, durable_exec *e);
/* A timer fired or a callback completed: invoke now, or mark the running
 * invocation's execution as changed. */
void durable_wake_execution(lambda_local_durable *d, durable_exec *e);

#endif

/*
 * An execution environment: one bootstrap process, the Runtime API server it
 * talks to (its own port, as in Lambda each sandbox has its own), and a
 * supervisor thread that enforces deadlines and notices the process exiting.
 *
 * The pool (pool.h) owns environments and drives their state; the fields
 * marked "pool lock" are only touched with the owning pool's lock held.
 */
#ifndef LAMBDA_LOCAL_ENVIRONMENT_H
#define LAMBDA_LOCAL_ENVIRONMENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "function.h"
#include "invocation.h"
#include "logs.h"
#include "process.h"

struct lambda_local_pool;
struct lambda_local_runtime_api;

typedef enum lambda_local_env_state {
    LAMBDA_LOCAL_ENV_INIT,   /* process started, has not asked for work yet */
    LAMBDA_LOCAL_ENV_READY,  /* between invocations (returning, or blocked in /next) */
    LAMBDA_LOCAL_ENV_BUSY,   /* running at least one invocation */
    LAMBDA_LOCAL_ENV_FAILED, /* init failed or timed out: waiting for the exit */
    LAMBDA_LOCAL_ENV_DEAD    /* process gone, being torn down */
} lambda_local_env_state;

typedef struct lambda_local_env {
    struct lambda_local_pool *pool;
    const lambda_local_function *fn;
    unsigned id;
    char log_stream[96]; /* AWS_LAMBDA_LOG_STREAM_NAME */
    char *tenant_id;     /* the one tenant it serves (tenant isolation), or NULL */
    int wake_fds[2];     /* pipe: tells the supervisor a deadline changed */
    struct lambda_local_runtime_api *api;
    uint16_t api_port;
    pthread_t supervisor;
    lambda_local_env_log log; /* the bootstrap's stdout/stderr (logs.h) */

    /* pool lock */
    lambda_local_process proc;
    lambda_local_env_state state;
    bool stopping;           /* tells a blocked /next to give up */
    bool shutdown_requested; /* extensions get their SHUTDOWN event */
    bool shutdown_delivered;
    int extensions;                    /* registered through the Extensions API */
    lambda_local_invocation *reserved; /* the invocation that caused the cold start */
    /* The invocations being run: one, or up to `capacity` at once in a
     * Managed Instances environment (AWS_LAMBDA_MAX_CONCURRENCY). */
    lambda_local_invocation **running;
    int running_count;
    int capacity;
    char last_request_id[37];   /* to tell a second answer from a wrong id */
    bool returning;             /* answered, on its way back to /next */
    int idle;                   /* /next calls waiting for work of its tenant */
    bool evicted;               /* stopped to free its slot for another tenant */
    int64_t returning_until_us; /* counted as available until then */
    int64_t started_us;         /* process start (monotonic) */
    int64_t init_us;            /* init duration, reported once */
    bool report_init;
    int64_t failed_us;             /* when it entered FAILED */
    struct lambda_local_env *next; /* the pool's list */
} lambda_local_env;

/* A new environment in state INIT, not started yet. */
lambda_local_env *lambda_local_env_new(struct lambda_local_pool *pool,
                                       const lambda_local_function *fn, unsigned id,
                                       lambda_local_invocation *reserved);

/* Starts the Runtime API server, the process and the supervisor. On failure
 * nothing is left running and `err` says why. */
int lambda_local_env_start(lambda_local_env *env, char *err, size_t errlen);

/* Makes the supervisor re-read the deadline (after a state change). */
void lambda_local_env_wake(lambda_local_env *env);

void lambda_local_env_free(lambda_local_env *env);

#endif

/*
 * A function's pool: its queue of invocations and its execution
 * environments. Invocations go to an environment that is waiting in /next
 * or that has answered and is on its way back there (as in Lambda, where
 * an environment is busy only until its runtime asks for the next event);
 * otherwise a new environment is started (cold start) for them, up to the
 * concurrency limit; beyond it they queue until an environment is free.
 *
 * One lock per pool guards the queue and every environment's state; the
 * Runtime API threads and the supervisors call in here for each transition.
 */
#ifndef LAMBDA_LOCAL_POOL_H
#define LAMBDA_LOCAL_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "environment.h"
#include "function.h"
#include "invocation.h"

typedef struct lambda_local_pool lambda_local_pool;

lambda_local_pool *lambda_local_pool_new(const lambda_local_function *fn, int max_envs);
const lambda_local_function *lambda_local_pool_function(const lambda_local_pool *pool);

/* Hands an invocation over (the pool takes its own reference); the result
 * arrives through lambda_local_invocation_wait(). After shutdown began the
 * invocation is failed at once. */
void lambda_local_pool_submit(lambda_local_pool *pool, lambda_local_invocation *inv);

/* Fails queued invocations, stops every environment (SIGTERM, then SIGKILL)
 * and waits until they are gone. */
void lambda_local_pool_shutdown(lambda_local_pool *pool);
void lambda_local_pool_free(lambda_local_pool *pool);

/* --- Runtime API side (called from the environment's HTTP threads) --- */

/* Blocks until there is an invocation for `env` and returns it with a
 * reference for the caller; NULL when the environment is going away. */
lambda_local_invocation *lambda_local_pool_next(lambda_local_env *env);

/* /invocation/{id}/response. Takes `body`. `too_large`: the runtime sent
 * more than the limit (the body was dropped). Returns the HTTP status:
 * 202, 400 (wrong id), 403 (already answered) or 413. */
int lambda_local_pool_respond(lambda_local_env *env, const char *request_id, char *body, size_t len,
                              bool too_large);

/* The invocation `env` is running if its id is `request_id`, with a
 * reference for the caller; NULL otherwise (a streamed /response checks
 * the id when it starts, see stream.c). */
lambda_local_invocation *lambda_local_pool_current(lambda_local_env *env, const char *request_id);

/* /invocation/{id}/error. Takes `body` (Lambda's error JSON; anything else
 * is wrapped). `error_type`: Lambda-Runtime-Function-Error-Type or NULL. */
int lambda_local_pool_error(lambda_local_env *env, const char *request_id, char *body, size_t len,
                            const char *error_type);

/* /runtime/init/error: 202, or 403 once initialisation is over. */
int lambda_local_pool_init_error(lambda_local_env *env, char *body, size_t len,
                                 const char *error_type);

/* Extensions API: register is only allowed during init (200, else 403). */
int lambda_local_pool_extension_register(lambda_local_env *env);
/* event/next: blocks until the environment shuts down; true once to deliver
 * SHUTDOWN, false when the process is gone (or it was delivered). */
bool lambda_local_pool_extension_next(lambda_local_env *env);

/* --- Supervisor side --- */

/* Records the started process (kills it at once if shutdown began). */
void lambda_local_pool_env_spawned(lambda_local_env *env, const lambda_local_process *proc);
/* The monotonic time (us) at which the supervisor must act, or -1. */
int64_t lambda_local_pool_env_deadline(lambda_local_env *env);
/* The deadline passed: time the invocation out and kill the process group. */
void lambda_local_pool_env_expired(lambda_local_env *env);
/* The process exited: fail what it was running. */
void lambda_local_pool_env_exited(lambda_local_env *env, int status, long max_rss_kb);
/* Last step of an environment: unlinks and frees it, reuses its slot. */
void lambda_local_pool_env_gone(lambda_local_env *env);

#endif

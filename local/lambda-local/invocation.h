/*
 * One invocation: the event going in, the result coming out, and the
 * hand-off between the thread that asked for it (Invoke API, `invoke`
 * subcommand) and the execution environment that runs it.
 *
 * Reference counted: the asker holds one reference, the pool another until
 * the invocation is completed. An Event (asynchronous) invocation's asker
 * simply drops its reference right away.
 */
#ifndef LAMBDA_LOCAL_INVOCATION_H
#define LAMBDA_LOCAL_INVOCATION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef struct lambda_local_invocation {
    char request_id[37];
    char *payload;
    size_t payload_len;
    char *client_context; /* decoded JSON for Lambda-Runtime-Client-Context, or NULL */
    char *trace_id;       /* Lambda-Runtime-Trace-Id */
    char *invoked_arn;    /* Lambda-Runtime-Invoked-Function-Arn */
    bool asynchronous;    /* Event invocation: nobody waits for the result */
    /* X-Amz-Tenant-Id (Lambda-Runtime-Aws-Tenant-Id), or NULL: only an
     * environment of the same tenant (or of none, for NULL) runs it. */
    char *tenant_id;
    /* X-Amz-Log-Type: Tail (logs.h). Set before submitting; the tail (the
     * last LAMBDA_LOCAL_LOG_TAIL bytes of its log) is guarded by `lock`. */
    bool log_tail;
    char *log_buf;
    size_t log_len;
    /* A caller reading the response as it is streamed (stream.h), or NULL.
     * Guarded by `lock`; freed with the invocation. */
    struct lambda_local_stream *stream;
    /* Called once, right after completion, from the completing thread with
     * no lock held (async.c: Event retries). Set before submitting. */
    void (*on_complete)(struct lambda_local_invocation *inv, void *arg);
    void *on_complete_arg;

    /* Set by the pool under its lock. */
    int64_t deadline_ms;                  /* wall clock, Lambda-Runtime-Deadline-Ms */
    int64_t deadline_us;                  /* the same deadline on the monotonic clock */
    int64_t started_us;                   /* when the runtime received it (/next) */
    struct lambda_local_invocation *next; /* queue link */

    /* The result, written once by lambda_local_invocation_complete(). */
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done;
    bool function_error; /* answer with X-Amz-Function-Error: Unhandled */
    char *result;
    size_t result_len;
    int refs;
} lambda_local_invocation;

/* A new invocation (one reference) with a fresh request id and trace id. */
lambda_local_invocation *lambda_local_invocation_new(const char *payload, size_t len);
void lambda_local_invocation_retain(lambda_local_invocation *inv);
void lambda_local_invocation_release(lambda_local_invocation *inv);

/* Stores the result (takes ownership of `result`, malloc'd), wakes the
 * asker and drops the pool's reference. Later calls are ignored. */
void lambda_local_invocation_complete(lambda_local_invocation *inv, bool function_error,
                                      char *result, size_t len);

/* Completes with a Lambda error payload {"errorMessage","errorType"}. */
void lambda_local_invocation_fail(lambda_local_invocation *inv, const char *type, const char *fmt,
                                  ...) LAMBDA_LOCAL_PRINTF(3, 4);

/* Builds {"errorMessage": message, "errorType": type} (malloc'd). */
char *lambda_local_error_json(const char *type, const char *message, size_t *len);

/* Blocks until the invocation is complete. */
void lambda_local_invocation_wait(lambda_local_invocation *inv);

#endif

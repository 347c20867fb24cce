/*
 * Function logs. An execution environment's bootstrap writes its stdout and
 * stderr into a pipe of lambda-local's; what comes out goes on to
 * lambda-local's stderr (the console, as CloudWatch would show it) and into
 * the log tail of each invocation running in that environment that asked
 * for one (X-Amz-Log-Type: Tail on Invoke, returned base64 in
 * X-Amz-Log-Result: the last 4 KB, START/END/REPORT lines included, as
 * Lambda does).
 *
 * The pipe is drained by the environment's supervisor as bytes arrive and,
 * synchronously, whenever an invocation starts or ends: a runtime writes its
 * logs before it posts its answer, so those bytes are in the pipe when the
 * answer arrives and the END line always follows them.
 *
 * Lock order: the pool lock, then the log's lock, then an invocation's.
 */
#ifndef LAMBDA_LOCAL_LOGS_H
#define LAMBDA_LOCAL_LOGS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common.h"
#include "invocation.h"

/* What Lambda returns in X-Amz-Log-Result: the last 4 KB of the log. */
#define LAMBDA_LOCAL_LOG_TAIL 4096

typedef struct lambda_local_env_log {
    int read_fd;  /* non-blocking; -1 once closed */
    int write_fd; /* given to the bootstrap as stdout and stderr, then closed here */
    pthread_mutex_t lock;
    /* The invocations running in the environment (one, or up to
     * AWS_LAMBDA_MAX_CONCURRENCY), each with a reference. */
    lambda_local_invocation **targets;
    size_t target_count, target_cap;
} lambda_local_env_log;

/* Creates the pipe. Returns 0, or -1 with `err` set. */
int lambda_local_env_log_open(lambda_local_env_log *log, char *err, size_t errlen);
/* After the bootstrap was started with write_fd: lambda-local's copy goes,
 * so the read end sees end-of-file once every process of the sandbox is gone. */
void lambda_local_env_log_started(lambda_local_env_log *log);
/* Moves what is in the pipe to stderr and to the attached invocations'
 * tails. Returns false at end-of-file (nothing will come any more). */
bool lambda_local_env_log_drain(lambda_local_env_log *log);
/* Output from now on belongs (also) to `inv`; output before does not. */
void lambda_local_env_log_attach(lambda_local_env_log *log, lambda_local_invocation *inv);
/* What is in the pipe still belongs to `inv`; what comes later does not. */
void lambda_local_env_log_detach(lambda_local_env_log *log, lambda_local_invocation *inv);
/* Drains, closes the pipe and drops every attachment. */
void lambda_local_env_log_close(lambda_local_env_log *log);

/* A platform line about `inv` (START, END, REPORT, errors): on stderr, and
 * in its tail when it asked for one. */
void lambda_local_invocation_log_line(lambda_local_invocation *inv, const char *fmt, ...)
    LAMBDA_LOCAL_PRINTF(2, 3);
/* Appends to `inv`'s tail (when it asked for one), keeping the last 4 KB. */
void lambda_local_invocation_log_append(lambda_local_invocation *inv, const char *data, size_t len);
/* The tail, base64 (malloc'd), or NULL when the invocation did not ask. */
char *lambda_local_invocation_log_result(lambda_local_invocation *inv);

#endif

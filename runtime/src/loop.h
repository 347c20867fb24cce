/* The invocation loop: init (routing, init hook, extension), then one or
 * more workers that each poll /next, dispatch and post the outcome. */
#ifndef LAMBDA_LOOP_H
#define LAMBDA_LOOP_H

/* Exit statuses lambda_run() returns. */
#define LAMBDA_EXIT_INIT_ERROR 1 /* bad _HANDLER, failing init hook, no API */
#define LAMBDA_EXIT_API_ERROR 2  /* Runtime API unreachable or answered 5xx */

/* AWS_LAMBDA_MAX_CONCURRENCY as a worker count: 1 when unset or invalid,
 * capped at 1024. */
int lambda_loop_concurrency(const char *value);

#endif

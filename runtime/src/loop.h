/* The invocation loop: init (routing, init hook, extension), then one or
 * more workers that each poll /next, dispatch and post the outcome. */
#ifndef LAMBDA_LOOP_H
#define LAMBDA_LOOP_H

/* The exit statuses lambda_run() returns are lambda_exit_code
 * (lambda/runtime.h). */

/* AWS_LAMBDA_MAX_CONCURRENCY as a worker count: 1 when unset or invalid,
 * capped at 1024. */
int lambda_loop_concurrency(const char *value);

#endif

/*
 * A sandbox per execution environment, as Lambda destroys the whole sandbox:
 * the bootstrap runs inside a new PID namespace whose init is a small
 * process of ours, so that when the environment ends (timeout, crash,
 * shutdown) every process it started dies with it — even one that left the
 * process group with setsid(). Where PID namespaces are not allowed (not
 * root, no user namespaces), the process group alone is the sandbox and
 * that fallback is logged once. LAMBDA_LOCAL_SANDBOX=pgroup forces it.
 */
#ifndef LAMBDA_LOCAL_SANDBOX_H
#define LAMBDA_LOCAL_SANDBOX_H

#include <sys/types.h>

/* Forks like fork(): returns the child's pid to the parent (the namespace's
 * init when sandboxed), 0 in the process that is to exec the bootstrap, -1
 * with errno on failure. In sandbox mode the init writes the bootstrap's
 * wait status to `status_fd` before it exits; the init never returns. Call
 * it from the parent; in the child only async-signal-safe calls follow. */
pid_t lambda_local_sandbox_fork(int status_fd, int *sandboxed);

#endif

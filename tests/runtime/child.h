/* Runs a bootstrap as a child process for integration tests: the test's own
 * environment minus anything Lambda-specific, plus the given variables (which
 * replace inherited ones of the same name); stderr captured in a temporary
 * file; every wait bounded. */
#ifndef CHILD_H
#define CHILD_H

#include <sys/types.h>

typedef struct child {
    pid_t pid;
    int exited; /* waited for */
    int status; /* waitpid status */
    char stderr_path[64];
} child;

/* argv[0] is the program; env is a NULL-terminated list of "NAME=value". */
int child_spawn(child *c, const char *const argv[], const char *const env[]);

/* 0 once the child ended (c->status set), -1 if still running at timeout. */
int child_wait(child *c, int timeout_ms);

/* Sends `sig` (if still running). */
void child_signal(child *c, int sig);

/* SIGKILL if still running, reap, delete the stderr file. */
void child_cleanup(child *c);

/* What the child wrote to stderr so far (malloc'd, NUL-terminated). */
char *child_stderr(const child *c);

/* Exit status, or -1 if it died by a signal / is still running. */
int child_exit_code(const child *c);
/* The signal that killed it, or 0. */
int child_term_signal(const child *c);

#endif

/*
 * A bootstrap process: started in its own sandbox (sandbox.h: a PID
 * namespace, else its own process group) so that ending it ends everything
 * it started, watched through a pidfd (pollable exit).
 */
#ifndef LAMBDA_LOCAL_PROCESS_H
#define LAMBDA_LOCAL_PROCESS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct lambda_local_process {
    pid_t pid;     /* the bootstrap, or the init of its PID namespace */
    int pidfd;     /* readable once the process has exited */
    int status_fd; /* sandboxed: the init hands the bootstrap's wait status here; else -1 */
} lambda_local_process;

/* Starts `path` with environment `envp` in folder `cwd`; its stdout and
 * stderr go to our stderr (function logs), stdin is /dev/null. Returns 0 or
 * an errno value. */
int lambda_local_process_spawn(const char *path, char *const envp[], const char *cwd,
                               lambda_local_process *out);
/* The same, run as `runner path` when runner is not NULL (an emulator:
 * qemu-aarch64 for an arm64 bootstrap on x86_64). */
int lambda_local_process_spawn_with(const char *runner, const char *path, char *const envp[],
                                    const char *cwd, lambda_local_process *out);

/* The same, with the process's stdout and stderr going to `log_fd` (the
 * environment's log pipe, logs.h) when it is not -1. */
int lambda_local_process_spawn_logged(const char *runner, const char *path, char *const envp[],
                                      const char *cwd, int log_fd, lambda_local_process *out);

/* Sends `sig` to the whole process group. */
void lambda_local_process_kill(const lambda_local_process *p, int sig);

/* Reaps the exited process: its wait status and peak RSS in kB. Closes the
 * pidfd. Returns 0, or -1 if it has not exited. */
int lambda_local_process_reap(lambda_local_process *p, int *status, long *max_rss_kb);

/* Peak RSS (VmHWM) of a live process in kB, 0 if unknown. */
long lambda_local_process_peak_rss_kb(pid_t pid);

/* How Lambda words an exit: "exit status 3", "signal: segmentation fault". */
void lambda_local_describe_exit(int status, char *out, size_t outlen);

#endif

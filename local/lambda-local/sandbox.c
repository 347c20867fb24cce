/* PID-namespace sandboxes for bootstraps, with the process-group fallback. */
#include "sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static pthread_once_t logged_once = PTHREAD_ONCE_INIT;
static int fallback_errno;

static void log_fallback(void)
{
    lambda_local_log("no PID namespace for execution environments (%s): each one is its "
                     "process group, and a process that leaves the group with setsid() "
                     "outlives its environment",
                     fallback_errno ? strerror(fallback_errno) : "LAMBDA_LOCAL_SANDBOX=pgroup");
}

/* The namespace's init: runs the bootstrap as its child, reaps whatever is
 * re-parented to it, hands the bootstrap's wait status to lambda-local and
 * exits — which makes the kernel kill everything left in the namespace. */
static void run_init(pid_t bootstrap, int status_fd)
{
    /* Keep nothing of lambda-local's open (sockets, the exec-error pipe
     * whose EOF the parent waits for) but the status pipe. */
    if (status_fd > 3)
        syscall(SYS_close_range, 3u, (unsigned)status_fd - 1, 0u);
    syscall(SYS_close_range, (unsigned)status_fd + 1, ~0u, 0u);
    int status = 0;
    for (;;) {
        int st;
        pid_t r = waitpid(-1, &st, 0);
        if (r == bootstrap) {
            status = st;
            break;
        }
        if (r < 0 && errno != EINTR)
            break;
    }
    ssize_t w = write(status_fd, &status, sizeof status);
    (void)w;
    _exit(0);
}

pid_t lambda_local_sandbox_fork(int status_fd, int *sandboxed)
{
    *sandboxed = 0;
    const char *mode = getenv("LAMBDA_LOCAL_SANDBOX");
    if (mode && strcmp(mode, "pgroup") == 0) {
        pthread_once(&logged_once, log_fallback);
        return fork();
    }
    /* clone() without a new stack behaves like fork(); CLONE_NEWPID makes
     * the child the init (pid 1) of a new PID namespace. */
    pid_t init = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
    if (init < 0) {
        fallback_errno = errno;
        pthread_once(&logged_once, log_fallback);
        return fork();
    }
    if (init > 0) {
        *sandboxed = 1;
        return init;
    }
    /* The init. Its own group, which the bootstrap inherits: a signal to
     * the group reaches the bootstrap, while the init (pid 1) ignores every
     * signal it has no handler for, except SIGKILL from lambda-local. */
    setpgid(0, 0);
    /* A raw fork: glibc's fork() would run atfork handlers and take locks
     * that another thread of lambda-local may have held at the clone. */
    pid_t bootstrap = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
    if (bootstrap == 0) {
        *sandboxed = 1; /* stays in the init's group */
        return 0;
    }
    if (bootstrap < 0)
        _exit(127);
    run_init(bootstrap, status_fd);
    return -1; /* not reached */
}

/* Bootstrap processes: fork/exec into a new process group, pidfd, reaping. */
#include "process.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void exec_child(const char *runner, const char *path, char *const envp[], const char *cwd,
                       int err_fd, int own_group, int log_fd)
{
    /* In a sandbox the group is the init's, which signals must reach. */
    if (own_group)
        setpgid(0, 0);
    /* Blocked signals and ignored dispositions survive exec: undo what the
     * emulator set for itself (it blocks SIGINT/SIGTERM, ignores SIGPIPE). */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL);

    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2(null_fd, STDIN_FILENO);
    /* Function logs: both streams into the environment's log pipe, else
     * straight to ours. */
    if (log_fd >= 0) {
        dup2(log_fd, STDOUT_FILENO);
        dup2(log_fd, STDERR_FILENO);
    } else {
        dup2(STDERR_FILENO, STDOUT_FILENO);
    }
    if (chdir(cwd) == 0) {
        char *const argv[] = {(char *)path, NULL};
        char *const runner_argv[] = {(char *)runner, (char *)path, NULL};
        if (runner)
            execve(runner, runner_argv, envp);
        else
            execve(path, argv, envp);
    }
    int e = errno;
    ssize_t w = write(err_fd, &e, sizeof e);
    (void)w;
    _exit(127);
}

int lambda_local_process_spawn(const char *path, char *const envp[], const char *cwd,
                               lambda_local_process *out)
{
    return lambda_local_process_spawn_with(NULL, path, envp, cwd, out);
}

int lambda_local_process_spawn_with(const char *runner, const char *path, char *const envp[],
                                    const char *cwd, lambda_local_process *out)
{
    return lambda_local_process_spawn_logged(runner, path, envp, cwd, -1, out);
}

int lambda_local_process_spawn_logged(const char *runner, const char *path, char *const envp[],
                                      const char *cwd, int log_fd, lambda_local_process *out)
{
    /* A close-on-exec pipe tells the parent whether exec worked. */
    int fds[2], st[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return errno;
    if (pipe2(st, O_CLOEXEC) != 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    int sandboxed = 0;
    pid_t pid = lambda_local_sandbox_fork(st[1], &sandboxed);
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        close(st[0]);
        close(st[1]);
        return e;
    }
    if (pid == 0)
        exec_child(runner, path, envp, cwd, fds[1], !sandboxed, log_fd);
    close(fds[1]);
    close(st[1]);
    out->status_fd = sandboxed ? st[0] : -1;
    if (!sandboxed)
        close(st[0]);
    /* Also set the group from the parent: whichever runs first wins, and a
     * kill(-pid) right after spawn then never misses. */
    setpgid(pid, pid);
    int child_errno = 0;
    ssize_t n;
    while ((n = read(fds[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    if (n == (ssize_t)sizeof child_errno) {
        if (sandboxed)
            kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (sandboxed)
            close(st[0]);
        return child_errno ? child_errno : ENOEXEC;
    }
    out->pid = pid;
    out->pidfd = pidfd_open(pid, 0);
    if (out->pidfd < 0) {
        int e = errno;
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (sandboxed)
            close(st[0]);
        return e;
    }
    return 0;
}

void lambda_local_process_kill(const lambda_local_process *p, int sig)
{
    if (p->pid > 0)
        kill(-p->pid, sig);
}

int lambda_local_process_reap(lambda_local_process *p, int *status, long *max_rss_kb)
{
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    pid_t r;
    while ((r = wait4(p->pid, status, WNOHANG, &ru)) < 0 && errno == EINTR)
        ;
    if (r != p->pid)
        return -1;
    *max_rss_kb = ru.ru_maxrss;
    close(p->pidfd);
    p->pidfd = -1;
    if (p->status_fd >= 0) {
        /* The init's report of how the bootstrap ended; none if the init
         * itself was killed (timeout, shutdown): then its status stands. */
        int bootstrap_status;
        if (read(p->status_fd, &bootstrap_status, sizeof bootstrap_status) ==
            (ssize_t)sizeof bootstrap_status)
            *status = bootstrap_status;
        close(p->status_fd);
        p->status_fd = -1;
    }
    return 0;
}

static long vm_hwm_kb(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

long lambda_local_process_peak_rss_kb(pid_t pid)
{
    /* A sandbox's init is tiny: the bootstrap is its child. */
    long kb = vm_hwm_kb(pid);
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return kb;
    int child;
    while (fscanf(f, "%d", &child) == 1) {
        long c = vm_hwm_kb((pid_t)child);
        if (c > kb)
            kb = c;
    }
    fclose(f);
    return kb;
}

void lambda_local_describe_exit(int status, char *out, size_t outlen)
{
    if (WIFSIGNALED(status)) {
        /* Lambda's wording comes from Go: "signal: segmentation fault". */
        int n = snprintf(out, outlen, "signal: %s", strsignal(WTERMSIG(status)));
        size_t first = strlen("signal: ");
        if (n > 0 && (size_t)n > first && first < outlen)
            out[first] = (char)tolower((unsigned char)out[first]);
    } else {
        snprintf(out, outlen, "exit status %d", WEXITSTATUS(status));
    }
}

#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Variables Lambda sets: never inherited from the test's environment. */
static int is_lambda_var(const char *kv)
{
    static const char *const prefixes[] = {"AWS_LAMBDA_",
                                           "_HANDLER=", "_X_AMZN_TRACE_ID=", "LAMBDA_TEST_"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    return 0;
}

/* 1 when one of `env`'s NAME=value entries sets the variable of `kv`: the
 * test's own value then replaces the inherited one. With both in envp,
 * getenv() would return the first, the inherited one (ASAN_OPTIONS from
 * tests/run.sh, say). */
static int overridden(const char *kv, const char *const env[])
{
    size_t name = strcspn(kv, "=");
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(kv, env[i], name) == 0 && env[i][name] == '=')
            return 1;
    return 0;
}

int child_spawn(child *c, const char *const argv[], const char *const env[])
{
    memset(c, 0, sizeof *c);
    snprintf(c->stderr_path, sizeof c->stderr_path, "/tmp/lambda-rt-XXXXXX");
    int fd = mkstemp(c->stderr_path);
    if (fd < 0)
        return -1;

    size_t n_env = 0, n_add = 0;
    while (environ[n_env])
        n_env++;
    while (env && env[n_add])
        n_add++;
    char **envp = calloc(n_env + n_add + 1, sizeof *envp);
    if (!envp) {
        close(fd);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++)
        if (!is_lambda_var(environ[i]) && !overridden(environ[i], env))
            envp[k++] = environ[i];
    for (size_t i = 0; i < n_add; i++)
        envp[k++] = (char *)env[i];
    envp[k] = NULL;

    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        free(envp);
        close(fd);
        return -1;
    }
    if (pid == 0) {
        dup2(fd, STDERR_FILENO);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
        }
        /* Its own process group, so a test can never signal itself. */
        setpgid(0, 0);
        execve(argv[0], (char *const *)argv, envp);
        _exit(127);
    }
    free(envp);
    close(fd);
    c->pid = pid;
    return 0;
}

int child_wait(child *c, int timeout_ms)
{
    if (c->exited)
        return 0;
    struct timespec step = {0, 10 * 1000000L};
    for (int waited = 0;; waited += 10) {
        pid_t r = waitpid(c->pid, &c->status, WNOHANG);
        if (r == c->pid) {
            c->exited = 1;
            return 0;
        }
        if (r < 0 && errno != EINTR)
            return -1;
        if (waited >= timeout_ms)
            return -1;
        nanosleep(&step, NULL);
    }
}

void child_signal(child *c, int sig)
{
    if (c->pid > 0 && !c->exited)
        kill(c->pid, sig);
}

void child_cleanup(child *c)
{
    if (c->pid > 0 && !c->exited) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &c->status, 0);
        c->exited = 1;
    }
    if (c->stderr_path[0])
        unlink(c->stderr_path);
}

char *child_stderr(const child *c)
{
    FILE *f = fopen(c->stderr_path, "rb");
    if (!f)
        return strdup("");
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int child_exit_code(const child *c)
{
    if (!c->exited || !WIFEXITED(c->status))
        return -1;
    return WEXITSTATUS(c->status);
}

int child_term_signal(const child *c)
{
    if (!c->exited || !WIFSIGNALED(c->status))
        return 0;
    return WTERMSIG(c->status);
}

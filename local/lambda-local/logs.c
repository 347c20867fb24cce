/* Function logs: the environment's log pipe and invocations' tails. */
#include "logs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int lambda_local_env_log_open(lambda_local_env_log *log, char *err, size_t errlen)
{
    memset(log, 0, sizeof *log);
    log->read_fd = log->write_fd = -1;
    int fds[2];
    /* Close-on-exec: the bootstrap gets the write end through dup2 only,
     * other environments' bootstraps never. */
    if (pipe2(fds, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    log->read_fd = fds[0];
    log->write_fd = fds[1];
    pthread_mutex_init(&log->lock, NULL);
    return 0;
}

void lambda_local_env_log_started(lambda_local_env_log *log)
{
    pthread_mutex_lock(&log->lock);
    if (log->write_fd >= 0)
        close(log->write_fd);
    log->write_fd = -1;
    pthread_mutex_unlock(&log->lock);
}

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* stderr gone: the tails still get the bytes */
        data += w;
        len -= (size_t)w;
    }
}

static bool drain_locked(lambda_local_env_log *log)
{
    if (log->read_fd < 0)
        return false;
    char buf[4096];
    for (;;) {
        ssize_t n = read(log->read_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return true; /* EAGAIN: empty for now */
        if (n == 0)
            return false;
        write_all(STDERR_FILENO, buf, (size_t)n);
        for (size_t i = 0; i < log->target_count; i++)
            lambda_local_invocation_log_append(log->targets[i], buf, (size_t)n);
    }
}

bool lambda_local_env_log_drain(lambda_local_env_log *log)
{
    pthread_mutex_lock(&log->lock);
    bool more = drain_locked(log);
    pthread_mutex_unlock(&log->lock);
    return more;
}

void lambda_local_env_log_attach(lambda_local_env_log *log, lambda_local_invocation *inv)
{
    pthread_mutex_lock(&log->lock);
    drain_locked(log);
    bool present = false;
    for (size_t i = 0; i < log->target_count; i++)
        present = present || log->targets[i] == inv;
    if (!present) {
        if (log->target_count == log->target_cap) {
            size_t cap = log->target_cap ? log->target_cap * 2 : 4;
            lambda_local_invocation **t = realloc(log->targets, cap * sizeof *t);
            if (!t)
                abort();
            log->targets = t;
            log->target_cap = cap;
        }
        lambda_local_invocation_retain(inv);
        log->targets[log->target_count++] = inv;
    }
    pthread_mutex_unlock(&log->lock);
}

void lambda_local_env_log_detach(lambda_local_env_log *log, lambda_local_invocation *inv)
{
    pthread_mutex_lock(&log->lock);
    drain_locked(log);
    lambda_local_invocation *gone = NULL;
    for (size_t i = 0; i < log->target_count; i++) {
        if (log->targets[i] == inv) {
            gone = inv;
            log->targets[i] = log->targets[--log->target_count];
            break;
        }
    }
    pthread_mutex_unlock(&log->lock);
    lambda_local_invocation_release(gone);
}

void lambda_local_env_log_close(lambda_local_env_log *log)
{
    if (log->read_fd < 0 && log->write_fd < 0)
        return;
    pthread_mutex_lock(&log->lock);
    drain_locked(log);
    if (log->read_fd >= 0)
        close(log->read_fd);
    if (log->write_fd >= 0)
        close(log->write_fd);
    log->read_fd = log->write_fd = -1;
    lambda_local_invocation **targets = log->targets;
    size_t count = log->target_count;
    log->targets = NULL;
    log->target_count = log->target_cap = 0;
    pthread_mutex_unlock(&log->lock);
    for (size_t i = 0; i < count; i++)
        lambda_local_invocation_release(targets[i]);
    free(targets);
    pthread_mutex_destroy(&log->lock);
}

void lambda_local_invocation_log_append(lambda_local_invocation *inv, const char *data, size_t len)
{
    if (!inv->log_tail)
        return; /* set before the invocation is submitted, never changed */
    pthread_mutex_lock(&inv->lock);
    if (!inv->log_buf)
        inv->log_buf = lambda_local_calloc(1, LAMBDA_LOCAL_LOG_TAIL);
    if (len >= LAMBDA_LOCAL_LOG_TAIL) {
        memcpy(inv->log_buf, data + len - LAMBDA_LOCAL_LOG_TAIL, LAMBDA_LOCAL_LOG_TAIL);
        inv->log_len = LAMBDA_LOCAL_LOG_TAIL;
    } else {
        if (inv->log_len + len > LAMBDA_LOCAL_LOG_TAIL) {
            size_t drop = inv->log_len + len - LAMBDA_LOCAL_LOG_TAIL;
            memmove(inv->log_buf, inv->log_buf + drop, inv->log_len - drop);
            inv->log_len -= drop;
        }
        memcpy(inv->log_buf + inv->log_len, data, len);
        inv->log_len += len;
    }
    pthread_mutex_unlock(&inv->lock);
}

void lambda_local_invocation_log_line(lambda_local_invocation *inv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    lambda_local_log_line("%s", line);
    lambda_local_invocation_log_append(inv, line, (size_t)n);
    lambda_local_invocation_log_append(inv, "\n", 1);
    free(line);
}

char *lambda_local_invocation_log_result(lambda_local_invocation *inv)
{
    if (!inv->log_tail)
        return NULL;
    pthread_mutex_lock(&inv->lock);
    size_t len = inv->log_len;
    char *out = lambda_local_calloc(1, 4 * ((len + 2) / 3) + 1);
    if (len)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)inv->log_buf, (int)len);
    pthread_mutex_unlock(&inv->lock);
    return out;
}

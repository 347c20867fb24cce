/*
 * The fault switch of the integration tests: REPORT_TEST_FAULT=
 * transient:<i> fails the first attempt of part i with StoreUnavailable
 * (a marker file in REPORT_TEST_FAULT_STATE, default /tmp, remembers the
 * attempt), permanent:<i> fails every attempt with InjectedFault,
 * stall:<i> makes the first attempt of part i hang until it is killed (or
 * times out) after writing its pid (the host's) to the marker
 * stall-<reportId>-<i>: a
 * test kills the bootstrap mid-map at a known point (ReportDurable's
 * resume), later attempts pass. stallcommit:<i> does the same once part i's
 * rows are all in its writer but not committed (marker
 * stallcommit-<reportId>-<i>): a test kills a writer mid-write at a known
 * point however fast the part is built.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handler_common.h"

/* Opens the marker <state dir>/<what>-<reportId>-<index> if it does not
 * exist yet: its fd, or -1 when it does (a later attempt). */
static int open_marker(const char *what, const char *report_id, long long index)
{
    const char *dir = getenv("REPORT_TEST_FAULT_STATE");
    char marker[PATH_MAX];
    snprintf(marker, sizeof marker, "%s/%s-%s-%lld", dir && *dir ? dir : "/tmp", what, report_id,
             index);
    return open(marker, O_WRONLY | O_CREAT | O_EXCL, 0644);
}

/* Writes this process's pid to the marker `fd`, then waits to be killed. */
static _Noreturn void stall_forever(int fd)
{
    /* The pid as the test sees it: lambda-local runs the bootstrap in a PID
     * namespace of its own, where getpid() is 2; /proc/self resolves in the
     * namespace /proc was mounted in (the host's). */
    char self[32] = "";
    ssize_t n = readlink("/proc/self", self, sizeof self - 1);
    if (n > 0)
        self[n] = '\0';
    else
        snprintf(self, sizeof self, "%" PRIdMAX, (intmax_t)getpid());
    dprintf(fd, "%s\n", self);
    close(fd);
    for (;;) /* until SIGKILL (the test, or the function's timeout) */
        pause();
}

int report_injected_fault(const char *report_id, int64_t index, lambda_error *err)
{
    const char *spec = getenv("REPORT_TEST_FAULT");
    if (!spec || !*spec)
        return 0;
    int transient = strncmp(spec, "transient:", 10) == 0;
    int permanent = strncmp(spec, "permanent:", 10) == 0;
    int stall = strncmp(spec, "stall:", 6) == 0;
    char *end;
    long long target = (transient || permanent) ? strtoll(spec + 10, &end, 10)
                       : stall                  ? strtoll(spec + 6, &end, 10)
                                                : -1;
    if (target != index)
        return 0;
    if (permanent) {
        lambda_error_set(err, "InjectedFault", "injected permanent fault for part %lld", target);
        return 1;
    }
    int fd = open_marker(stall ? "stall" : "transient", report_id, target);
    if (fd < 0)
        return 0; /* the marker exists: this is the retry, let it pass */
    if (stall)
        stall_forever(fd);
    close(fd);
    store_error(err, LAMBDA_STORE_UNAVAILABLE, "injected transient fault for part %lld", target);
    return 1;
}

void report_test_stall_before_commit(const char *report_id, int64_t index)
{
    const char *spec = getenv("REPORT_TEST_FAULT");
    if (!spec || strncmp(spec, "stallcommit:", 12) != 0 || strtoll(spec + 12, NULL, 10) != index)
        return;
    int fd = open_marker("stallcommit", report_id, (long long)index);
    if (fd >= 0)
        stall_forever(fd);
}

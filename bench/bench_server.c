/*
 * lambda-bench-server: a Runtime API server for benchmarks, and the driver
 * that starts the runtimes it measures.
 *
 * It listens on 127.0.0.1 (port 0: the kernel picks), starts CMD with
 * AWS_LAMBDA_RUNTIME_API pointing at itself, answers every
 * GET /2018-06-01/runtime/invocation/next at once with a fixed event, counts
 * the POSTed responses and stops the runtime after N of them. Because /next
 * never waits, the loop it measures is the runtime's own cost plus the
 * server's; bench/run.sh divides by a bare libcurl client against this same
 * server to isolate the runtime's share.
 *
 * Modes (results are key=value lines on stdout, for bench/run.sh):
 *   throughput (default): invocations/s, server CPU, child CPU and memory.
 *   --cold-start R:       R times: spawn CMD, time until its first /next,
 *                         and what it used until then (page faults, CPU, RSS,
 *                         page tables).
 *   --floor R:            R times: spawn CMD, time until it exits (CMD is a
 *                         program that does nothing: the exec floor), and its
 *                         page faults.
 *   --end-with-500:       throughput, but after N responses /next answers 500
 *                         and CMD is left to exit by itself (a runtime does):
 *                         a profiler around it (callgrind) writes its output.
 *   --per-invocation:     throughput with one client, plus each invocation's
 *                         wall time, CPU time, page faults, peak RSS, context
 *                         switches and CPU migrations (a warm process's later
 *                         invocations against its first).
 *   --csw-from-tasks:     with --per-invocation, count context switches from
 *                         /proc only, as when perf counters are refused.
 *   --checkpoint C:       throughput with one client: the child's RSS after
 *                         C responses, and its CPU time, page faults and
 *                         context switches per invocation from response C to
 *                         the last (steady_*: start-up and exit left out).
 *   --start-at-ms T:      throughput, but the first /next is answered no
 *                         earlier than T (ms since the epoch): several servers
 *                         given one T start their runtimes' work together.
 *   --event-seq TOKEN:    every occurrence of TOKEN in the event becomes the
 *                         number of the /next it answers (1, 2, ...; zero-
 *                         padded to TOKEN's length, so the event keeps its
 *                         length): each invocation gets its own event (a
 *                         report part under a key no earlier one wrote).
 *
 * Every wait is bounded by --timeout; children are always killed and reaped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/perf_event.h>
#include <netinet/in.h>

#include <microhttpd.h>

extern char **environ;

#define MAX_CLIENTS 16
#define RUNTIME_PREFIX "/2018-06-01/runtime/"
#define INVOCATION_PREFIX "/2018-06-01/runtime/invocation/"
#define DEFAULT_EVENT "{\"hello\":\"world\"}"
/* Responses larger than this are counted but not kept for comparison. */
#define KEEP_LIMIT (8u * 1024u * 1024u)

typedef struct options {
    long invocations;       /* throughput: stop after this many responses */
    int clients;            /* throughput: copies of CMD started at once */
    long checkpoint;        /* throughput: read the child's RSS after this many */
    int cold_runs;          /* --cold-start R */
    int floor_runs;         /* --floor R */
    double timeout_s;       /* bound on every wait */
    const char *event_file; /* event served on /next (default DEFAULT_EVENT) */
    const char *expect;     /* expected response body, counted when different */
    const char *save_file;  /* last measured response body is written here */
    bool end_with_500;      /* after N responses /next answers 500, CMD exits itself */
    bool per_invocation;    /* throughput: figures of each invocation (one client) */
    bool csw_from_tasks;    /* --per-invocation: no perf counters, /proc only */
    int64_t start_at_ms;    /* throughput: first /next not before (realtime, ms) */
    const char *event_seq;  /* --event-seq TOKEN: replaced by each /next's number */
    char **cmd;             /* the program to start, NULL-terminated */
} options;

/* What the child has used so far: read between invocations, while it waits
 * for an answer from us, so that differences belong to one invocation. */
typedef struct child_usage {
    int64_t at_ns;  /* monotonic time of the reading */
    int64_t cpu_ns; /* CPU time of the whole process (every thread, user + system) */
    long minflt, majflt;
    long utime, stime;    /* clock ticks, /proc/PID/stat */
    long csw, migrations; /* perf counters: every thread since exec; -1 without */
} child_usage;

/* The figures of one invocation: from the answer to the previous response
 * (the first: to the first /next) to this response, so everything the
 * runtime does between two answers (freeing the last result, polling /next)
 * is counted once. The server's own bookkeeping while the runtime waits for
 * an answer (reading /proc, resetting VmHWM: 0.1-0.3 ms here, more with more
 * threads to read) is left out of the wall: Lambda does none of it. */
typedef struct invocation_figures {
    double wall_s, cpu_s, sys_s;
    long minflt, majflt;
    long hwm_kb; /* VmHWM, reset to the current RSS when /next is answered */
    /* Context switches: every thread's, exited ones included (perf), and the
     * voluntary and involuntary ones of the threads alive at the response
     * (/proc/PID/task); CPU migrations (perf, -1 without). */
    long csw, nvcsw, nivcsw, migrations;
} invocation_figures;

/* One thread's context switches at the last reading (/proc/PID/task). */
typedef struct task_switches {
    pid_t tid;
    long nv, niv;
} task_switches;

/* State shared between the MHD thread and the driver. */
typedef struct server_state {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    char *event;
    size_t event_len;
    /* --event-seq: where TOKEN stands in the event, its length (the width of
     * the number written there) and the largest number that fits. */
    size_t *seq_at;
    size_t seq_count, seq_width;
    long seq_max;
    long nexts;              /* GET /next served */
    long responses;          /* POST /response received */
    long errors;             /* POST /error received */
    long init_errors;        /* POST /init/error received */
    long mismatches;         /* responses that differ from options.expect */
    uint64_t response_bytes; /* sum of response body sizes */
    int64_t first_next_ns;   /* monotonic time of the first /next (cold start) */
    int64_t start_ns;        /* monotonic time of the first /next (throughput) */
    int64_t end_ns;          /* time of the target-th response */
    long target;             /* responses to reach; 0 = none */
    long checkpoint;         /* response count at which to read child RSS */
    pid_t watched;           /* child whose RSS is read at the checkpoint */
    long checkpoint_rss_kb;
    /* The steady window, from the checkpoint's response to the target's:
     * start-up and exit (tens of ms of CPU and hundreds of page faults for
     * a dynamic glibc program here) stay out of the per-invocation figures. */
    child_usage steady0, steady1;
    long steady_csw0[2], steady_csw1[2]; /* voluntary, involuntary (main thread) */
    char *last_response;                 /* copy of the last response (up to KEEP_LIMIT) */
    size_t last_response_len;
    char first_error[512]; /* the first /error or /init/error body, for stderr */
    const char *expect;
    size_t expect_len;
    bool end_with_500; /* options.end_with_500 */
    /* --per-invocation: the child's CPU clock, the last reading, the figures
     * of each of the target responses, and whether VmHWM could be reset. */
    bool per_invocation;
    int64_t start_at_ms; /* options.start_at_ms */
    clockid_t child_clock;
    child_usage last_usage; /* at_ns: when the last response's bookkeeping ended */
    int64_t book_ns;        /* bookkeeping inside the current invocation's wall */
    int64_t book_total_ns;  /* all of it left out: the walls and this make wall_s */
    invocation_figures *figures;
    bool hwm_reset_ok;
    /* Perf counters on the watched child (context switches, CPU migrations;
     * -1: not open) and its threads' switch counts at the last reading. */
    int csw_fd, migrations_fd;
    task_switches *tasks;
    size_t ntasks;
    /* --cold-start: the child's usage at its first /next (it waits for our
     * answer, so this is exactly its start-up), and its RSS then. */
    bool cold_start;
    child_usage first_next_usage;
    long first_next_rss_kb, first_next_pte_kb;
} server_state;

/* One POST being received: MHD hands the body over in pieces. */
typedef struct upload {
    char *data;
    size_t len;
    size_t cap;
    bool truncated;
} upload;

static server_state g_state;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double cpu_seconds(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
           ru->ru_stime.tv_usec / 1e6;
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lambda-bench-server: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

/* Reads one "Key:   123 kB" line of /proc/PID/status; -1 when absent. */
static long proc_status_kb(pid_t pid, const char *key)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[256];
    size_t key_len = strlen(key);
    long value = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
            value = strtol(line + key_len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        die("out of memory");
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            cap *= 2;
            char *bigger = realloc(buf, cap);
            if (!bigger)
                die("out of memory");
            buf = bigger;
        }
    }
    fclose(f);
    /* A trailing newline from an editor is not part of the event. */
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Reads "voluntary_ctxt_switches" and "nonvoluntary_ctxt_switches" of one
 * task's status file; false when it is gone. */
static bool read_task_status(const char *path, long *nv, long *niv)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[256];
    int found = 0;
    while (found < 2 && fgets(line, sizeof line, f)) {
        if (sscanf(line, "voluntary_ctxt_switches: %ld", nv) == 1 ||
            sscanf(line, "nonvoluntary_ctxt_switches: %ld", niv) == 1)
            found++;
    }
    fclose(f);
    return found == 2;
}

/* The voluntary and involuntary context switches of the child's threads
 * since the last call: a thread seen then counts from that reading, a new one
 * from its start. A thread that exited in between is not there to be read:
 * its switches since the last reading are missing (the perf counters have
 * them). The caller drops what the first call returns (the start-up's): that
 * call only takes the starting counts. */
static void read_task_switches(pid_t pid, long *nv, long *niv)
{
    *nv = *niv = 0;
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return;
    task_switches *now = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)strtol(e->d_name, NULL, 10);
        long a, b;
        snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
        if (tid <= 0 || !read_task_status(path, &a, &b))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            task_switches *bigger = realloc(now, cap * sizeof *now);
            if (!bigger)
                die("out of memory");
            now = bigger;
        }
        now[n++] = (task_switches){tid, a, b};
        long a0 = 0, b0 = 0;
        for (size_t i = 0; i < g_state.ntasks; i++) {
            if (g_state.tasks[i].tid == tid) {
                a0 = g_state.tasks[i].nv;
                b0 = g_state.tasks[i].niv;
                break;
            }
        }
        *nv += a - a0;
        *niv += b - b0;
    }
    closedir(d);
    free(g_state.tasks);
    g_state.tasks = now;
    g_state.ntasks = n;
}

/* A software perf counter on PID and every thread it creates from now on
 * (inherit: an exited thread's count stays in the total), counting from its
 * next exec; -1 when perf_event_open is refused (perf_event_paranoid,
 * seccomp). Kernel events are not excluded: a context switch happens in the
 * kernel, so a user-only counter would count none. */
static int open_counter(pid_t pid, unsigned long long config)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof a;
    a.config = config;
    a.disabled = 1;
    a.enable_on_exec = 1;
    a.inherit = 1;
    return (int)syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static long read_counter(int fd)
{
    uint64_t v;
    if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v)
        return -1;
    return (long)v;
}

/* Reads the child's CPU clock, fault counts and user and system ticks
 * (/proc/PID/stat: the whole process, exited threads included). */
static void read_child_usage(pid_t pid, clockid_t clock, child_usage *u)
{
    memset(u, 0, sizeof *u);
    u->at_ns = now_ns();
    u->csw = read_counter(g_state.csw_fd);
    u->migrations = read_counter(g_state.migrations_fd);
    struct timespec ts;
    if (clock_gettime(clock, &ts) == 0)
        u->cpu_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: fields start after
     * the last ')'. Then: state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime. */
    const char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %ld %*u %ld %*u %ld %ld", &u->minflt,
                     &u->majflt, &u->utime, &u->stime) != 4)
        u->minflt = u->majflt = u->utime = u->stime = -1;
}

/* Resets the child's VmHWM to its current RSS (Linux >= 4.0), so that the
 * next reading is the peak of one invocation; false when not allowed. */
static bool reset_child_hwm(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *res =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!res)
        return MHD_NO;
    MHD_add_response_header(res, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, res);
    MHD_destroy_response(res);
    return ret;
}

/* The event of the ID-th /next under --event-seq: a copy of the event with ID
 * written over every TOKEN, zero-padded to its width (the caller frees it). */
static char *event_with_seq(long id)
{
    char *event = malloc(g_state.event_len + 1);
    char digits[24];
    if (!event)
        die("out of memory");
    memcpy(event, g_state.event, g_state.event_len + 1);
    snprintf(digits, sizeof digits, "%0*ld", (int)g_state.seq_width, id);
    for (size_t i = 0; i < g_state.seq_count; i++)
        memcpy(event + g_state.seq_at[i], digits, g_state.seq_width);
    return event;
}

static enum MHD_Result serve_next(struct MHD_Connection *conn)
{
    /* --start-at-ms: runtimes of servers started together begin their work
     * at one time (a late one at once: its lateness shows in start_ns). Only
     * the MHD thread gets here, and it holds no lock while it waits. */
    static bool held;
    if (!held && g_state.start_at_ms > 0) {
        struct timespec at = {(time_t)(g_state.start_at_ms / 1000),
                              (long)(g_state.start_at_ms % 1000) * 1000000};
        while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL) == EINTR)
            ;
    }
    held = true;
    pthread_mutex_lock(&g_state.lock);
    if (g_state.end_with_500 && g_state.target > 0 && g_state.responses >= g_state.target) {
        pthread_mutex_unlock(&g_state.lock);
        return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"errorType\":\"Bench.End\"}");
    }
    long id = ++g_state.nexts;
    if (g_state.first_next_ns == 0) {
        g_state.first_next_ns = now_ns();
        g_state.start_ns = g_state.first_next_ns;
        if (g_state.per_invocation) {
            read_child_usage(g_state.watched, g_state.child_clock, &g_state.last_usage);
            long nv, niv;
            read_task_switches(g_state.watched, &nv, &niv);
            g_state.last_usage.at_ns = now_ns();
            g_state.book_total_ns = g_state.last_usage.at_ns - g_state.first_next_ns;
        }
        if (g_state.cold_start) {
            read_child_usage(g_state.watched, g_state.child_clock, &g_state.first_next_usage);
            g_state.first_next_rss_kb = proc_status_kb(g_state.watched, "VmRSS");
            g_state.first_next_pte_kb = proc_status_kb(g_state.watched, "VmPTE");
        }
        pthread_cond_broadcast(&g_state.changed);
    }
    /* The child waits for this answer: its peak from now on is this
     * invocation's. */
    if (g_state.per_invocation) {
        int64_t t0 = now_ns();
        if (!reset_child_hwm(g_state.watched))
            g_state.hwm_reset_ok = false;
        g_state.book_ns += now_ns() - t0;
    }
    pthread_mutex_unlock(&g_state.lock);

    char request_id[48], deadline[32];
    snprintf(request_id, sizeof request_id, "bench-%08ld", id);
    snprintf(deadline, sizeof deadline, "%" PRId64, wall_ms() + 900000);

    struct MHD_Response *res;
    if (g_state.seq_count > 0) {
        /* Only past the measured invocations (parse_args checks the width
         * against them): a number too wide for TOKEN is refused, never cut. */
        if (id > g_state.seq_max)
            return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "{\"errorType\":\"Bench.EventSeqExhausted\"}");
        char *event = event_with_seq(id);
        res = MHD_create_response_from_buffer(g_state.event_len, event, MHD_RESPMEM_MUST_COPY);
        free(event);
    } else {
        res = MHD_create_response_from_buffer(g_state.event_len, g_state.event,
                                              MHD_RESPMEM_PERSISTENT);
    }
    if (!res)
        return MHD_NO;
    MHD_add_response_header(res, "Content-Type", "application/json");
    MHD_add_response_header(res, "Lambda-Runtime-Aws-Request-Id", request_id);
    MHD_add_response_header(res, "Lambda-Runtime-Deadline-Ms", deadline);
    MHD_add_response_header(res, "Lambda-Runtime-Invoked-Function-Arn",
                            "arn:aws:lambda:us-east-1:000000000000:function:bench");
    MHD_add_response_header(res, "Lambda-Runtime-Trace-Id",
                            "Root=1-00000000-000000000000000000000000;Sampled=0");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, res);
    MHD_destroy_response(res);
    return ret;
}

static void keep_first_error(const upload *up)
{
    if (g_state.first_error[0] != '\0')
        return;
    size_t n = up->len < sizeof g_state.first_error - 1 ? up->len : sizeof g_state.first_error - 1;
    memcpy(g_state.first_error, up->data ? up->data : "", n);
    g_state.first_error[n] = '\0';
}

static void record_response(const upload *up)
{
    pthread_mutex_lock(&g_state.lock);
    long count = ++g_state.responses;
    g_state.response_bytes += up->len;
    /* Only the N measured responses are judged: the runtime may answer one
     * more event before the server stops, and it must not skew the count. */
    if (g_state.expect && (g_state.target <= 0 || count <= g_state.target) &&
        (up->truncated || up->len != g_state.expect_len ||
         memcmp(up->data, g_state.expect, up->len) != 0))
        g_state.mismatches++;
    /* Likewise the response kept for --save-response: the last measured one. */
    if (!up->truncated && (g_state.target <= 0 || count <= g_state.target)) {
        char *copy = realloc(g_state.last_response, up->len + 1);
        if (copy) {
            if (up->len)
                memcpy(copy, up->data, up->len);
            copy[up->len] = '\0';
            g_state.last_response = copy;
            g_state.last_response_len = up->len;
        }
    }
    if (count == g_state.checkpoint && g_state.watched > 0) {
        g_state.checkpoint_rss_kb = proc_status_kb(g_state.watched, "VmRSS");
        read_child_usage(g_state.watched, g_state.child_clock, &g_state.steady0);
        g_state.steady_csw0[0] = proc_status_kb(g_state.watched, "voluntary_ctxt_switches");
        g_state.steady_csw0[1] = proc_status_kb(g_state.watched, "nonvoluntary_ctxt_switches");
    }
    if (count == g_state.target && g_state.checkpoint > 0 && g_state.checkpoint < count &&
        g_state.watched > 0) {
        read_child_usage(g_state.watched, g_state.child_clock, &g_state.steady1);
        g_state.steady_csw1[0] = proc_status_kb(g_state.watched, "voluntary_ctxt_switches");
        g_state.steady_csw1[1] = proc_status_kb(g_state.watched, "nonvoluntary_ctxt_switches");
    }
    if (g_state.per_invocation && count <= g_state.target) {
        /* The runtime waits for our answer to this POST: its invocation is over. */
        child_usage now;
        read_child_usage(g_state.watched, g_state.child_clock, &now);
        invocation_figures *f = &g_state.figures[count - 1];
        f->wall_s = (double)(now.at_ns - g_state.last_usage.at_ns - g_state.book_ns) / 1e9;
        f->cpu_s = (double)(now.cpu_ns - g_state.last_usage.cpu_ns) / 1e9;
        f->sys_s = now.stime < 0 ? -1
                                 : (double)(now.stime - g_state.last_usage.stime) /
                                       (double)sysconf(_SC_CLK_TCK);
        f->minflt = now.minflt < 0 ? -1 : now.minflt - g_state.last_usage.minflt;
        f->majflt = now.majflt < 0 ? -1 : now.majflt - g_state.last_usage.majflt;
        f->hwm_kb = proc_status_kb(g_state.watched, "VmHWM");
        read_task_switches(g_state.watched, &f->nvcsw, &f->nivcsw);
        f->csw = now.csw < 0 ? f->nvcsw + f->nivcsw : now.csw - g_state.last_usage.csw;
        f->migrations = now.migrations < 0 ? -1 : now.migrations - g_state.last_usage.migrations;
        g_state.last_usage = now;
        g_state.last_usage.at_ns = now_ns(); /* the runtime gets our answer from now */
        g_state.book_total_ns += g_state.book_ns + (g_state.last_usage.at_ns - now.at_ns);
        g_state.book_ns = 0;
    }
    if (g_state.target > 0 && count == g_state.target) {
        g_state.end_ns = g_state.per_invocation ? g_state.last_usage.at_ns : now_ns();
        pthread_cond_broadcast(&g_state.changed);
    }
    pthread_mutex_unlock(&g_state.lock);
}

static void record_error(const upload *up, bool init)
{
    pthread_mutex_lock(&g_state.lock);
    if (init)
        g_state.init_errors++;
    else
        g_state.errors++;
    keep_first_error(up);
    pthread_cond_broadcast(&g_state.changed);
    pthread_mutex_unlock(&g_state.lock);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    /* MHD calls us once when the headers are in, and again for the body.
     * Answering on the first call (before MHD has read the whole request)
     * makes MHD close the connection, which would turn a keep-alive
     * benchmark into a connect-per-request one: so every request, GETs
     * included, is answered on a later call. */
    upload *up = *con_cls;
    if (!up) {
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (strcmp(method, "GET") == 0) {
        if (strcmp(url, INVOCATION_PREFIX "next") == 0)
            return serve_next(conn);
        return send_text(conn, MHD_HTTP_NOT_FOUND, "{\"errorType\":\"NotFound\"}");
    }
    if (strcmp(method, "POST") != 0)
        return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "{}");
    if (*data_size > 0) {
        size_t n = *data_size;
        if (up->len + n > KEEP_LIMIT) {
            up->truncated = true;
            up->len += n; /* still count the bytes */
        } else {
            if (up->len + n + 1 > up->cap) {
                size_t cap = up->cap ? up->cap : 1024;
                while (cap < up->len + n + 1)
                    cap *= 2;
                char *bigger = realloc(up->data, cap);
                if (!bigger)
                    return MHD_NO;
                up->data = bigger;
                up->cap = cap;
            }
            memcpy(up->data + up->len, data, n);
            up->len += n;
        }
        *data_size = 0;
        return MHD_YES;
    }

    /* The whole body is here. */
    if (strncmp(url, INVOCATION_PREFIX, strlen(INVOCATION_PREFIX)) == 0 &&
        ends_with(url, "/response")) {
        record_response(up);
        return send_text(conn, MHD_HTTP_ACCEPTED, "{\"status\":\"OK\"}");
    }
    if (strncmp(url, INVOCATION_PREFIX, strlen(INVOCATION_PREFIX)) == 0 &&
        ends_with(url, "/error")) {
        record_error(up, false);
        return send_text(conn, MHD_HTTP_ACCEPTED, "{\"status\":\"OK\"}");
    }
    if (strcmp(url, RUNTIME_PREFIX "init/error") == 0) {
        record_error(up, true);
        return send_text(conn, MHD_HTTP_ACCEPTED, "{\"status\":\"OK\"}");
    }
    return send_text(conn, MHD_HTTP_NOT_FOUND, "{\"errorType\":\"NotFound\"}");
}

static void request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    upload *up = *con_cls;
    if (up) {
        free(up->data);
        free(up);
        *con_cls = NULL;
    }
}

static struct MHD_Daemon *start_server(unsigned *port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = 0; /* the kernel picks a free port */
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* One internal epoll thread: /next never blocks, so one thread serves any
     * number of clients, and its CPU time is the server's whole cost. */
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED,
        request_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
    if (!d)
        die("cannot start the HTTP server on 127.0.0.1");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || info->port == 0)
        die("cannot read the server's port");
    *port = info->port;
    return d;
}

static pid_t spawn(char **cmd)
{
    pid_t pid;
    int rc = posix_spawnp(&pid, cmd[0], NULL, NULL, cmd, environ);
    if (rc != 0)
        die("cannot start %s: %s", cmd[0], strerror(rc));
    return pid;
}

/* Starts CMD as spawn() does, with perf counters of its context switches and
 * CPU migrations (g_state.csw_fd, migrations_fd; -1 when refused) opened on
 * it before it execs, as `perf stat CMD` does: the child waits on a pipe
 * until they are open, so every thread it will ever create is counted. */
static pid_t spawn_counted(char **cmd, bool use_perf)
{
    int gate[2], report[2];
    if (pipe2(gate, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        /* Only async-signal-safe calls here: the parent has threads. */
        char c;
        close(gate[1]);
        close(report[0]);
        while (read(gate[0], &c, 1) < 0 && errno == EINTR)
            ;
        execvp(cmd[0], cmd);
        int err = errno;
        ssize_t ignored = write(report[1], &err, sizeof err);
        (void)ignored;
        _exit(127);
    }
    close(gate[0]);
    close(report[1]);
    g_state.csw_fd = use_perf ? open_counter(pid, PERF_COUNT_SW_CONTEXT_SWITCHES) : -1;
    g_state.migrations_fd =
        g_state.csw_fd >= 0 ? open_counter(pid, PERF_COUNT_SW_CPU_MIGRATIONS) : -1;
    close(gate[1]); /* the child goes on to exec */
    int err = 0;
    ssize_t got;
    while ((got = read(report[0], &err, sizeof err)) < 0 && errno == EINTR)
        ;
    close(report[0]);
    if (got == (ssize_t)sizeof err) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        die("cannot start %s: %s", cmd[0], strerror(err));
    }
    return pid;
}

/* Waits until the child exits by itself (--end-with-500: a runtime exits on
 * a 500 from /next, so a profiler around it can write its results), killing
 * it at the deadline; returns its wait status. */
static int reap_when_exited(pid_t pid, struct rusage *ru, int64_t deadline_ns)
{
    int status = 0;
    for (;;) {
        pid_t got = wait4(pid, &status, WNOHANG, ru);
        if (got == pid || (got < 0 && errno != EINTR))
            return status;
        if (now_ns() > deadline_ns) {
            kill(pid, SIGKILL);
            while (wait4(pid, &status, 0, ru) < 0 && errno == EINTR)
                ;
            return status;
        }
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
}

/* Kills (if still running) and reaps a child; returns its wait status. */
static int reap(pid_t pid, struct rusage *ru, bool kill_first)
{
    if (kill_first)
        kill(pid, SIGKILL);
    int status = 0;
    while (wait4(pid, &status, 0, ru) < 0 && errno == EINTR)
        ;
    return status;
}

/* Waits until `done` holds (checked under the lock), a child exits, or the
 * deadline passes. Returns 0, or the index+1 of a child that exited, or -1
 * on timeout. An exited child is reaped into ru[i] and its pid set to 0. */
static int wait_for(bool (*done)(void), pid_t *pids, int n, struct rusage *ru, int *statuses,
                    int64_t deadline_ns)
{
    for (;;) {
        pthread_mutex_lock(&g_state.lock);
        bool ok = done();
        if (!ok) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            /* Re-check the children every 50 ms: `done` is signalled, only
             * a child's exit is polled. A 2 ms poll woke this thread ~25
             * times in a 50 ms invocation, and with 2 worker threads on 2
             * cores each wake-up preempted a worker. */
            ts.tv_nsec += 50000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&g_state.changed, &g_state.lock, &ts);
            ok = done();
        }
        pthread_mutex_unlock(&g_state.lock);
        if (ok)
            return 0;
        for (int i = 0; i < n; i++) {
            if (pids[i] > 0 && wait4(pids[i], &statuses[i], WNOHANG, &ru[i]) == pids[i]) {
                pids[i] = 0;
                return i + 1;
            }
        }
        if (now_ns() > deadline_ns)
            return -1;
    }
}

static bool target_reached(void)
{
    return g_state.end_ns != 0 || g_state.init_errors > 0;
}

static bool first_next_seen(void)
{
    return g_state.first_next_ns != 0 || g_state.init_errors > 0;
}

static void describe_exit(int status, char *buf, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
}

/* One line "name=v1 v2 ...": the figure at `offset` of each invocation. */
static void print_doubles(const char *name, size_t offset, int decimals, long n)
{
    printf("%s=", name);
    for (long i = 0; i < n; i++)
        printf("%s%.*f", i ? " " : "", decimals,
               *(const double *)((const char *)&g_state.figures[i] + offset));
    putchar('\n');
}

static void print_longs(const char *name, size_t offset, long n)
{
    printf("%s=", name);
    for (long i = 0; i < n; i++)
        printf("%s%ld", i ? " " : "", *(const long *)((const char *)&g_state.figures[i] + offset));
    putchar('\n');
}

/* --per-invocation: one line per figure, the invocations' values in order. */
static void print_figures(long n)
{
    printf("hwm_per_invocation=%d\n", g_state.hwm_reset_ok ? 1 : 0);
    print_doubles("inv_wall_s", offsetof(invocation_figures, wall_s), 6, n);
    printf("book_s=%.6f\n", (double)g_state.book_total_ns / 1e9);
    print_doubles("inv_cpu_s", offsetof(invocation_figures, cpu_s), 6, n);
    print_doubles("inv_sys_s", offsetof(invocation_figures, sys_s), 3, n);
    print_longs("inv_minflt", offsetof(invocation_figures, minflt), n);
    print_longs("inv_majflt", offsetof(invocation_figures, majflt), n);
    print_longs("inv_hwm_kb", offsetof(invocation_figures, hwm_kb), n);
    printf("csw_every_thread=%d\n", g_state.csw_fd >= 0 ? 1 : 0);
    print_longs("inv_csw", offsetof(invocation_figures, csw), n);
    print_longs("inv_nvcsw", offsetof(invocation_figures, nvcsw), n);
    print_longs("inv_nivcsw", offsetof(invocation_figures, nivcsw), n);
    print_longs("inv_migrations", offsetof(invocation_figures, migrations), n);
}

static int run_throughput(const options *opt)
{
    pid_t pids[MAX_CLIENTS] = {0};
    struct rusage ru[MAX_CLIENTS];
    int statuses[MAX_CLIENTS] = {0};
    memset(ru, 0, sizeof ru);

    pthread_mutex_lock(&g_state.lock);
    g_state.target = opt->invocations;
    g_state.checkpoint = opt->checkpoint;
    pthread_mutex_unlock(&g_state.lock);

    struct rusage self0, self1;
    getrusage(RUSAGE_SELF, &self0);
    /* One client is watched from its first /next on: it is started under the
     * lock, so /next cannot be answered before its pid is known. */
    pthread_mutex_lock(&g_state.lock);
    for (int i = 0; i < opt->clients; i++)
        pids[i] =
            opt->per_invocation ? spawn_counted(opt->cmd, !opt->csw_from_tasks) : spawn(opt->cmd);
    if (opt->clients == 1) {
        g_state.watched = pids[0];
        if ((opt->per_invocation || opt->checkpoint > 0) &&
            clock_getcpuclockid(pids[0], &g_state.child_clock) != 0) {
            pthread_mutex_unlock(&g_state.lock);
            kill(pids[0], SIGKILL);
            reap(pids[0], &ru[0], false);
            die("cannot read the CPU clock of process %d", (int)pids[0]);
        }
    }
    pthread_mutex_unlock(&g_state.lock);

    int64_t deadline = now_ns() + (int64_t)(opt->timeout_s * 1e9);
    int w = wait_for(target_reached, pids, opt->clients, ru, statuses, deadline);
    getrusage(RUSAGE_SELF, &self1);

    /* Memory is read while the child still lives (it waits in /next). */
    long hwm_kb = -1, rss_kb = -1;
    if (opt->clients == 1 && pids[0] > 0) {
        hwm_kb = proc_status_kb(pids[0], "VmHWM");
        rss_kb = proc_status_kb(pids[0], "VmRSS");
    }
    double child_cpu = 0;
    long maxrss_kb = 0, nvcsw = 0, nivcsw = 0;
    for (int i = 0; i < opt->clients; i++) {
        if (pids[i] > 0 && opt->end_with_500 && w == 0)
            statuses[i] = reap_when_exited(pids[i], &ru[i], deadline);
        else if (pids[i] > 0)
            statuses[i] = reap(pids[i], &ru[i], true);
        child_cpu += cpu_seconds(&ru[i]);
        nvcsw += ru[i].ru_nvcsw;
        nivcsw += ru[i].ru_nivcsw;
        if (ru[i].ru_maxrss > maxrss_kb)
            maxrss_kb = ru[i].ru_maxrss;
    }

    pthread_mutex_lock(&g_state.lock);
    if (w != 0 || g_state.init_errors > 0) {
        char why[64] = "init error";
        if (w < 0)
            snprintf(why, sizeof why, "timeout after %.0f s", opt->timeout_s);
        else if (w > 0)
            describe_exit(statuses[w - 1], why, sizeof why);
        fprintf(stderr, "lambda-bench-server: stopped after %ld of %ld responses (%s)%s%s\n",
                g_state.responses, opt->invocations, why, g_state.first_error[0] ? ": " : "",
                g_state.first_error);
        pthread_mutex_unlock(&g_state.lock);
        return 1;
    }
    double wall = (double)(g_state.end_ns - g_state.start_ns) / 1e9;
    double server_cpu = cpu_seconds(&self1) - cpu_seconds(&self0);
    if (g_state.errors && g_state.first_error[0])
        fprintf(stderr, "lambda-bench-server: first /error: %s\n", g_state.first_error);
    /* Counted up to the target: with several clients a response or two
     * more may land before they are killed, outside the timed window. */
    printf("invocations=%ld\n", opt->invocations);
    printf("errors=%ld\n", g_state.errors);
    printf("mismatches=%ld\n", g_state.mismatches);
    printf("clients=%d\n", opt->clients);
    printf("wall_s=%.6f\n", wall);
    printf("rate=%.1f\n", wall > 0 ? (double)opt->invocations / wall : 0.0);
    printf("response_bytes=%" PRIu64 "\n", g_state.response_bytes);
    printf("server_cpu_s=%.4f\n", server_cpu);
    printf("server_cpu_pct=%.1f\n", wall > 0 ? 100.0 * server_cpu / wall : 0.0);
    printf("child_cpu_s=%.4f\n", child_cpu);
    /* The children's whole lives, every thread, exited ones included (wait4);
     * with --per-invocation also the perf counters' totals (since exec). */
    printf("child_nvcsw=%ld\nchild_nivcsw=%ld\n", nvcsw, nivcsw);
    if (opt->per_invocation)
        printf("child_csw=%ld\nchild_migrations=%ld\n", read_counter(g_state.csw_fd),
               read_counter(g_state.migrations_fd));
    printf("checkpoint=%ld\n", opt->checkpoint);
    printf("rss_kb_at_checkpoint=%ld\n", g_state.checkpoint_rss_kb);
    if (opt->clients == 1 && opt->checkpoint > 0 && opt->checkpoint < opt->invocations) {
        /* Per invocation of the steady window (checkpoint -> last response):
         * CPU (ns clock), user and system time (clock ticks: coarse), page
         * faults, context switches. */
        const child_usage *a = &g_state.steady0, *b = &g_state.steady1;
        double n = (double)(opt->invocations - opt->checkpoint),
               tick = (double)sysconf(_SC_CLK_TCK);
        printf("steady_invocations=%ld\n", opt->invocations - opt->checkpoint);
        printf("steady_cpu_us=%.2f\n", (double)(b->cpu_ns - a->cpu_ns) / 1e3 / n);
        printf("steady_user_us=%.2f\n", (double)(b->utime - a->utime) / tick * 1e6 / n);
        printf("steady_sys_us=%.2f\n", (double)(b->stime - a->stime) / tick * 1e6 / n);
        printf("steady_minflt=%.4f\n", (double)(b->minflt - a->minflt) / n);
        printf("steady_nvcsw=%.3f\n",
               (double)(g_state.steady_csw1[0] - g_state.steady_csw0[0]) / n);
        printf("steady_nivcsw=%.3f\n",
               (double)(g_state.steady_csw1[1] - g_state.steady_csw0[1]) / n);
    }
    printf("rss_kb_at_end=%ld\n", rss_kb);
    printf("hwm_kb=%ld\n", hwm_kb);
    printf("maxrss_kb=%ld\n", maxrss_kb);
    /* The monotonic clock is the machine's: runs of several servers started
     * together give their joint wall time from these. */
    printf("start_ns=%" PRId64 "\nend_ns=%" PRId64 "\n", g_state.start_ns, g_state.end_ns);
    if (opt->per_invocation)
        print_figures(opt->invocations);
    if (opt->save_file && g_state.last_response) {
        FILE *f = fopen(opt->save_file, "wb");
        if (f) {
            fwrite(g_state.last_response, 1, g_state.last_response_len, f);
            fclose(f);
        }
    }
    pthread_mutex_unlock(&g_state.lock);
    return 0;
}

static int run_cold_start(const options *opt, bool floor_mode)
{
    int runs = floor_mode ? opt->floor_runs : opt->cold_runs;
    for (int r = 0; r < runs; r++) {
        struct rusage ru;
        int status = 0;
        /* Started under the lock, so its first /next cannot be served
         * before its pid (whose usage is read there) is known. */
        pthread_mutex_lock(&g_state.lock);
        g_state.first_next_ns = 0;
        g_state.cold_start = !floor_mode;
        int64_t t0 = now_ns();
        pid_t pid = spawn(opt->cmd);
        g_state.watched = pid;
        if (!floor_mode && clock_getcpuclockid(pid, &g_state.child_clock) != 0)
            g_state.child_clock = (clockid_t)-1; /* cpu_us then reads 0 */
        pthread_mutex_unlock(&g_state.lock);
        if (floor_mode) {
            status = reap(pid, &ru, false);
            int64_t t1 = now_ns();
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "lambda-bench-server: floor program failed\n");
                return 1;
            }
            printf("sample_us=%.1f\n", (double)(t1 - t0) / 1e3);
            printf("sample_minflt=%ld\n", ru.ru_minflt);
            continue;
        }
        int64_t deadline = now_ns() + (int64_t)(opt->timeout_s * 1e9);
        int w = wait_for(first_next_seen, &pid, 1, &ru, &status, deadline);
        pthread_mutex_lock(&g_state.lock);
        int64_t t1 = g_state.first_next_ns;
        long init_errors = g_state.init_errors;
        pthread_mutex_unlock(&g_state.lock);
        if (pid > 0)
            reap(pid, &ru, true);
        if (w != 0 || init_errors > 0 || t1 == 0) {
            char why[64] = "init error";
            if (w < 0)
                snprintf(why, sizeof why, "timeout after %.0f s", opt->timeout_s);
            else if (w > 0)
                describe_exit(status, why, sizeof why);
            fprintf(stderr, "lambda-bench-server: run %d: no /next (%s)%s%s\n", r + 1, why,
                    g_state.first_error[0] ? ": " : "", g_state.first_error);
            return 1;
        }
        const child_usage *u = &g_state.first_next_usage;
        printf("sample_us=%.1f\n", (double)(t1 - t0) / 1e3);
        /* Page faults and CPU (user + system, every thread) from exec to the
         * first /next; -1 where /proc could not be read. */
        printf("sample_minflt=%ld\n", u->minflt);
        printf("sample_cpu_us=%.1f\n", (double)u->cpu_ns / 1e3);
        printf("sample_rss_kb=%ld\n", g_state.first_next_rss_kb);
        /* Page tables: each new one is a fresh page too, not in minflt. */
        printf("sample_pte_kb=%ld\n", g_state.first_next_pte_kb);
    }
    return 0;
}

static void usage(void)
{
    fputs("usage: lambda-bench-server [--invocations N] [--clients K] [--checkpoint N]\n"
          "                           [--cold-start R | --floor R] [--timeout S]\n"
          "                           [--event-file F] [--expect BODY] [--save-response F]\n"
          "                           [--end-with-500] [--per-invocation [--csw-from-tasks]]\n"
          "                           [--start-at-ms T] [--event-seq TOKEN]\n"
          "                           -- CMD [ARGS...]\n",
          stderr);
    exit(2);
}

static long parse_long(const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        die("bad number '%s' (expected %ld..%ld)", s, min, max);
    return v;
}

static void parse_args(int argc, char **argv, options *opt)
{
    opt->invocations = 1000;
    opt->clients = 1;
    opt->timeout_s = 120;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "--end-with-500") == 0) {
            opt->end_with_500 = true;
            continue;
        }
        if (strcmp(a, "--per-invocation") == 0) {
            opt->per_invocation = true;
            continue;
        }
        if (strcmp(a, "--csw-from-tasks") == 0) {
            opt->csw_from_tasks = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (strcmp(a, "--invocations") == 0)
            opt->invocations = parse_long(v, 1, 100000000);
        else if (strcmp(a, "--clients") == 0)
            opt->clients = (int)parse_long(v, 1, MAX_CLIENTS);
        else if (strcmp(a, "--checkpoint") == 0)
            opt->checkpoint = parse_long(v, 0, 100000000);
        else if (strcmp(a, "--cold-start") == 0)
            opt->cold_runs = (int)parse_long(v, 1, 100000);
        else if (strcmp(a, "--floor") == 0)
            opt->floor_runs = (int)parse_long(v, 1, 100000);
        else if (strcmp(a, "--timeout") == 0)
            opt->timeout_s = (double)parse_long(v, 1, 3600);
        else if (strcmp(a, "--event-file") == 0)
            opt->event_file = v;
        else if (strcmp(a, "--expect") == 0)
            opt->expect = v;
        else if (strcmp(a, "--save-response") == 0)
            opt->save_file = v;
        else if (strcmp(a, "--start-at-ms") == 0)
            opt->start_at_ms = parse_long(v, 1, LONG_MAX);
        else if (strcmp(a, "--event-seq") == 0)
            opt->event_seq = v;
        else
            usage();
    }
    if (i >= argc)
        usage();
    if (opt->per_invocation &&
        (opt->clients != 1 || opt->cold_runs || opt->floor_runs || opt->invocations > 1000000))
        die("--per-invocation measures one client's throughput run (--clients 1, at most "
            "1000000 invocations)");
    if (opt->csw_from_tasks && !opt->per_invocation)
        die("--csw-from-tasks goes with --per-invocation");
    if (opt->event_seq && (opt->event_seq[0] == '\0' || strlen(opt->event_seq) > 18))
        die("--event-seq TOKEN: TOKEN must be 1-18 characters (the width of the number)");
    opt->cmd = argv + i;
}

/* --event-seq: finds every (non-overlapping) TOKEN in the event and checks
 * that the number of every measured /next fits in its width: a TOKEN absent
 * from the event, or too short, would make every invocation's event the
 * same, or cut, without a word. */
static void find_event_seq(const options *opt)
{
    const char *token = opt->event_seq;
    size_t width = strlen(token), cap = 0;
    for (const char *p = g_state.event, *end = g_state.event + g_state.event_len;
         (p = memmem(p, (size_t)(end - p), token, width)) != NULL; p += width) {
        if (g_state.seq_count == cap) {
            cap = cap ? 2 * cap : 4;
            size_t *bigger = realloc(g_state.seq_at, cap * sizeof *bigger);
            if (!bigger)
                die("out of memory");
            g_state.seq_at = bigger;
        }
        g_state.seq_at[g_state.seq_count++] = (size_t)(p - g_state.event);
    }
    if (g_state.seq_count == 0)
        die("--event-seq %s: the event does not contain it", token);
    long max = 1;
    for (size_t i = 0; i < width && max <= LONG_MAX / 10; i++)
        max *= 10;
    g_state.seq_width = width;
    g_state.seq_max = max - 1;
    /* Each client may poll once more before a response is counted; a cold
     * start's runtime may poll again before it is killed. */
    long needed = opt->cold_runs ? 2L * opt->cold_runs : opt->invocations + opt->clients;
    if (needed > g_state.seq_max)
        die("--event-seq %s: %zu character(s) cannot number %ld events", token, width, needed);
}

int main(int argc, char **argv)
{
    options opt;
    memset(&opt, 0, sizeof opt);
    parse_args(argc, argv, &opt);
    /* A runtime killed mid-request must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&g_state.lock, NULL);
    pthread_cond_init(&g_state.changed, NULL);
    if (opt.event_file) {
        g_state.event = read_file(opt.event_file, &g_state.event_len);
    } else {
        g_state.event = strdup(DEFAULT_EVENT);
        g_state.event_len = strlen(DEFAULT_EVENT);
    }
    if (opt.event_seq)
        find_event_seq(&opt);
    g_state.end_with_500 = opt.end_with_500;
    g_state.csw_fd = g_state.migrations_fd = -1;
    g_state.start_at_ms = opt.start_at_ms;
    if (opt.per_invocation) {
        g_state.per_invocation = true;
        g_state.hwm_reset_ok = true;
        g_state.figures = calloc((size_t)opt.invocations, sizeof *g_state.figures);
        if (!g_state.figures)
            die("out of memory");
    }
    if (opt.expect) {
        g_state.expect = opt.expect;
        g_state.expect_len = strlen(opt.expect);
    }

    unsigned port;
    struct MHD_Daemon *d = start_server(&port);
    char api[64];
    snprintf(api, sizeof api, "127.0.0.1:%u", port);
    setenv("AWS_LAMBDA_RUNTIME_API", api, 1);

    int rc;
    if (opt.floor_runs)
        rc = run_cold_start(&opt, true);
    else if (opt.cold_runs)
        rc = run_cold_start(&opt, false);
    else
        rc = run_throughput(&opt);

    MHD_stop_daemon(d);
    free(g_state.event);
    free(g_state.seq_at);
    free(g_state.last_response);
    free(g_state.figures);
    free(g_state.tasks);
    if (g_state.csw_fd >= 0)
        close(g_state.csw_fd);
    if (g_state.migrations_fd >= 0)
        close(g_state.migrations_fd);
    pthread_cond_destroy(&g_state.changed);
    pthread_mutex_destroy(&g_state.lock);
    return rc;
}

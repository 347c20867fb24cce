/* sigaltstack and SA_ONSTACK are XSI; MAP_ANONYMOUS needs glibc's default
 * (BSD) names. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE

#include "signals.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef __GLIBC__
#include <execinfo.h>
#endif

#include "lambda/runtime.h"
#include "log.h"

/* A fixed-size copy, not a pointer: the signal handler may run while the
 * invocation's strings are being freed. 63 bytes: Lambda's ids are
 * 36-character UUIDs, and the thread-local data then stays within the
 * block musl's static start-up has built in (128 bytes held it, and cost an
 * mmap and a page fault at every start: packaging/README.md, "Cold start"). */
static _Thread_local char tls_request_id[64];

void lambda_signals_set_request_id(const char *request_id)
{
    if (!request_id) {
        tls_request_id[0] = '\0';
        return;
    }
    /* A bounded copy, not snprintf: this runs twice per invocation. */
    size_t n = strnlen(request_id, sizeof tls_request_id - 1);
    memcpy(tls_request_id, request_id, n);
    tls_request_id[n] = '\0';
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGABRT:
        return "SIGABRT";
    case SIGBUS:
        return "SIGBUS";
    case SIGFPE:
        return "SIGFPE";
    case SIGILL:
        return "SIGILL";
    default:
        return "signal";
    }
}

/* Async-signal-safe string building: no snprintf in a signal handler. */
static size_t append(char *out, size_t size, size_t at, const char *s)
{
    while (*s && at + 1 < size)
        out[at++] = *s++;
    out[at < size ? at : size - 1] = '\0';
    return at;
}

size_t lambda_signals_format_line(char *out, size_t size, int sig, const char *request_id)
{
    if (size == 0)
        return 0;
    char num[16];
    int n = sig < 0 ? 0 : sig, i = (int)sizeof num - 1;
    num[i] = '\0';
    do {
        num[--i] = (char)('0' + n % 10);
        n /= 10;
    } while (n && i > 0);

    size_t at = append(out, size, 0, LAMBDA_RUNTIME_NAME ": fatal signal ");
    at = append(out, size, at, signal_name(sig));
    at = append(out, size, at, " (");
    at = append(out, size, at, num + i);
    if (request_id && *request_id) {
        at = append(out, size, at, ") in handler, RequestId: ");
        at = append(out, size, at, request_id);
    } else {
        at = append(out, size, at, ") outside any invocation");
    }
    at = append(out, size, at, "; the runtime dies by this signal\n");
    return at;
}

static void on_fatal(int sig)
{
    char line[256];
    size_t n = lambda_signals_format_line(line, sizeof line, sig, tls_request_id);
    lambda_log_write_stderr(line, n);
#ifdef __GLIBC__
    void *frames[48];
    int depth = backtrace(frames, 48);
    static const char head[] = LAMBDA_RUNTIME_NAME ": backtrace:\n";
    lambda_log_write_stderr(head, sizeof head - 1);
    backtrace_symbols_fd(frames, depth, STDERR_FILENO);
#endif
    /* SA_RESETHAND restored the default action; the re-raised signal is
     * delivered when this handler returns (a faulting instruction would also
     * simply fault again). */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* 64 KB: the handler formats on the stack and glibc's backtrace needs
 * room (MINSIGSTKSZ is far too small for it). */
#define ALTSTACK_SIZE (64 * 1024)
static _Thread_local void *tls_altstack;

void lambda_signals_thread_altstack(void)
{
    if (tls_altstack)
        return;
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    /* Mapped, not malloc'd: its pages are touched only if a fatal signal
     * comes. From malloc (mimalloc in the static build) it was a block of a
     * size class of its own whose first word the allocator writes (a page
     * fault at start-up) in a 512 KiB page that spread the start-up heap
     * over a second 2 MiB of page tables (packaging/README.md, "Cold
     * start"). */
    void *sp =
        mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sp == MAP_FAILED)
        return;
    ss.ss_sp = sp;
    ss.ss_size = ALTSTACK_SIZE;
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(sp, ALTSTACK_SIZE);
        return;
    }
    tls_altstack = sp;
}

void lambda_signals_thread_altstack_release(void)
{
    if (!tls_altstack)
        return;
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    munmap(tls_altstack, ALTSTACK_SIZE);
    tls_altstack = NULL;
}

void lambda_signals_install_fatal(void)
{
#ifdef __GLIBC__
    /* backtrace() loads libgcc on first use, which mallocs: do it now, not
     * inside the signal handler. */
    void *warm[2];
    backtrace(warm, 2);
#endif
    static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sa.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
}

static void (*g_shutdown_hook)(void);

static void *shutdown_thread(void *arg)
{
    sigset_t *set = arg;
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    lambda_log(LAMBDA_LOG_INFO, "SIGTERM received: running the shutdown hook");
    g_shutdown_hook();
    fflush(stdout);
    fflush(stderr);
    /* _exit, not exit: worker threads may be inside libcurl, and atexit
     * teardown racing them is worse than not running it. */
    _exit(0);
    return NULL;
}

int lambda_signals_start_shutdown(void (*hook)(void))
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    g_shutdown_hook = hook;
    pthread_t t;
    if (pthread_create(&t, NULL, shutdown_thread, &set) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}

/* Process signals.
 *  - Fatal signals (SEGV, ABRT, BUS, FPE, ILL) in a handler: one line on
 *    stderr naming the signal and the request id, a backtrace where glibc
 *    offers one, then the signal is re-raised with its default action so the
 *    process dies by it (Lambda then reports Runtime.ExitError).
 *  - SIGTERM, when a shutdown hook is set: a dedicated thread waits for it,
 *    runs the hook and ends the process (Lambda allows ~300 ms). */
#ifndef LAMBDA_SIGNALS_H
#define LAMBDA_SIGNALS_H

#include <stddef.h>

void lambda_signals_install_fatal(void);

/* Gives the calling thread an alternate signal stack, so that a stack
 * overflow in a handler still gets its line. Each worker thread calls it
 * once; _release() before the thread ends. */
void lambda_signals_thread_altstack(void);
void lambda_signals_thread_altstack_release(void);

/* Records (a copy of) the calling thread's current request id for the fatal
 * signal line; NULL clears it. */
void lambda_signals_set_request_id(const char *request_id);

/* Writes the fatal-signal line into `out` (NUL-terminated, ends in '\n')
 * using only async-signal-safe code; returns its length. */
size_t lambda_signals_format_line(char *out, size_t size, int sig, const char *request_id);

/* Blocks SIGTERM in the calling thread (so in every thread created after
 * this) and starts the thread that runs `hook` on SIGTERM, then _exit(0).
 * Call before any other thread exists. Returns 0 or -1. */
int lambda_signals_start_shutdown(void (*hook)(void));

#endif

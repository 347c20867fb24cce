/*
 * Retry delays (lambda/runtime.h): exponential, capped, with the caller's
 * choice of jitter. The jitter's generator is a small LCG per value: it only
 * spreads retries apart, so it needs no quality beyond that, and no shared
 * state (rand() would be a lock and a data race between workers).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lambda/runtime.h>

#include "backoff.h"

void lambda_backoff_init(lambda_backoff *b, unsigned max_retries, long base_ms, long cap_ms,
                         lambda_backoff_jitter jitter)
{
    memset(b, 0, sizeof *b);
    b->max_retries = max_retries;
    b->base_ms = base_ms < 1 ? 1 : base_ms;
    b->cap_ms = cap_ms < b->base_ms ? b->base_ms : cap_ms;
    b->jitter = jitter;
    /* Without jitter there is nothing to seed. The runtime sets up such a
     * backoff before every Runtime API request, and getpid() is a system
     * call on every invocation (glibc does not cache it): one that the bare
     * libcurl loop does not make (bench/README.md, section 1p). */
    if (jitter == LAMBDA_BACKOFF_NO_JITTER)
        return;
    /* Distinct per process and per value, so that clients retrying the same
     * failure do not retry in step. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    b->seed = (unsigned)now.tv_nsec ^ ((unsigned)getpid() << 16) ^ (unsigned)(uintptr_t)b;
}

static unsigned next_random(lambda_backoff *b)
{
    b->seed = b->seed * 1103515245u + 12345u;
    return b->seed >> 8;
}

long lambda_backoff_next_ms(lambda_backoff *b)
{
    if (b->attempt >= b->max_retries)
        return -1;
    long delay = b->base_ms;
    for (unsigned i = 0; i < b->attempt && delay < b->cap_ms; i++)
        delay *= 2;
    if (delay > b->cap_ms)
        delay = b->cap_ms;
    b->attempt++;
    switch (b->jitter) {
    case LAMBDA_BACKOFF_EQUAL_JITTER:
        return delay / 2 + (long)(next_random(b) % (unsigned long)(delay / 2 + 1));
    case LAMBDA_BACKOFF_FULL_JITTER:
        return (long)(next_random(b) % (unsigned long)(delay + 1));
    case LAMBDA_BACKOFF_NO_JITTER:
    default:
        return delay;
    }
}

void lambda_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int lambda_backoff_wait(lambda_backoff *b)
{
    long ms = lambda_backoff_next_ms(b);
    if (ms < 0)
        return -1;
    lambda_sleep_ms(ms);
    return 0;
}

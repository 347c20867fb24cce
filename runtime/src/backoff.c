#include "backoff.h"

#include <errno.h>
#include <time.h>

void lambda_backoff_init(lambda_backoff *b)
{
    b->attempt = 0;
    b->max_attempts = 10;
    b->base_ms = 10;
    b->cap_ms = 1000;
}

long lambda_backoff_next_ms(lambda_backoff *b)
{
    if (b->attempt >= b->max_attempts)
        return -1;
    long delay = b->base_ms;
    for (unsigned i = 0; i < b->attempt && delay < b->cap_ms; i++)
        delay *= 2;
    b->attempt++;
    return delay < b->cap_ms ? delay : b->cap_ms;
}

void lambda_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

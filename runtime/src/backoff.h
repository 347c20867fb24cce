/* Bounded exponential backoff for Runtime API connection failures: the API is
 * on the same host, so a short burst of retries covers a restart; after that
 * the runtime gives up and exits with a clear message. */
#ifndef LAMBDA_BACKOFF_H
#define LAMBDA_BACKOFF_H

typedef struct lambda_backoff {
    unsigned attempt;      /* retries already taken */
    unsigned max_attempts; /* then give up */
    long base_ms;
    long cap_ms;
} lambda_backoff;

/* 10 retries: 10, 20, 40 ... ms, each at most 1000 ms (about 4.3 s total). */
void lambda_backoff_init(lambda_backoff *b);

/* The delay before the next retry, or -1 once the retries are used up. */
long lambda_backoff_next_ms(lambda_backoff *b);

void lambda_sleep_ms(long ms);

#endif

/* The runtime's use of the public backoff (lambda/runtime.h) for Runtime
 * API connection failures: the API is on the same host, so a short burst of
 * retries covers a restart; after that the runtime gives up and exits with
 * a clear message. */
#ifndef LAMBDA_BACKOFF_H
#define LAMBDA_BACKOFF_H

#include <lambda/runtime.h>

/* 10 retries: 10, 20, 40 ... ms, each at most 1000 ms (about 4.3 s total),
 * without jitter (one client, one local server). */
#define LAMBDA_API_RETRIES 10
#define LAMBDA_API_RETRY_BASE_MS 10
#define LAMBDA_API_RETRY_CAP_MS 1000

static inline void lambda_api_backoff_init(lambda_backoff *b)
{
    lambda_backoff_init(b, LAMBDA_API_RETRIES, LAMBDA_API_RETRY_BASE_MS, LAMBDA_API_RETRY_CAP_MS,
                        LAMBDA_BACKOFF_NO_JITTER);
}

void lambda_sleep_ms(long ms);

#endif

/*
 * lambda-local: small helpers shared by every module of the emulator —
 * clocks, request ids, string formatting and the emulator's own log lines.
 */
#ifndef LAMBDA_LOCAL_COMMON_H
#define LAMBDA_LOCAL_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__) || defined(__clang__)
#define LAMBDA_LOCAL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LAMBDA_LOCAL_PRINTF(f, a)
#endif

/* The largest payload the Runtime API accepts as a response, and the largest
 * synchronous Invoke request, exactly as the real service enforces them:
 * defined once, in the runtime's public header (constants only: the emulator
 * talks to a bootstrap over the Runtime API, never through the library). */
#include <lambda/runtime.h>
#define LAMBDA_LOCAL_RESPONSE_LIMIT LAMBDA_RESPONSE_LIMIT
#define LAMBDA_LOCAL_REQUEST_LIMIT LAMBDA_REQUEST_LIMIT

/* Facts every module needs about the emulated account. */
typedef struct lambda_local_settings {
    const char *region;  /* AWS_REGION, AWS_DEFAULT_REGION or us-east-1 */
    const char *account; /* the account id used in ARNs */
    /* http://HOST:PORT of the Invoke API once it listens: functions get it
     * as AWS_ENDPOINT_URL_LAMBDA (durable functions checkpoint there), as
     * SAM's emulator does. NULL in `invoke` mode. */
    const char *lambda_endpoint;
} lambda_local_settings;

extern lambda_local_settings lambda_local_globals;

/* Monotonic clock in microseconds: durations, deadlines inside the emulator. */
int64_t lambda_local_mono_us(void);
/* Wall clock in milliseconds since the epoch: Lambda-Runtime-Deadline-Ms. */
int64_t lambda_local_wall_ms(void);

/* A random version-4 UUID, as Lambda uses for request ids. */
void lambda_local_uuid(char out[37]);
/* `n` random lowercase hex digits (trace ids, log stream names). */
void lambda_local_random_hex(char *out, size_t n);

/* malloc'd formatted string; aborts on allocation failure, because an
 * emulator that cannot allocate a few bytes cannot do anything useful. */
char *lambda_local_format(const char *fmt, ...) LAMBDA_LOCAL_PRINTF(1, 2);
char *lambda_local_strdup(const char *s);
void *lambda_local_calloc(size_t n, size_t size);

/* Reads a whole stream (NUL-terminated, length in *len); NULL on a read
 * error. */
char *lambda_local_read_stream(FILE *f, size_t *len);

/* "lambda-local: ..." diagnostics of the emulator itself, on stderr. */
void lambda_local_log(const char *fmt, ...) LAMBDA_LOCAL_PRINTF(1, 2);
/* A bare line on stderr, the way CloudWatch shows START/END/REPORT. */
void lambda_local_log_line(const char *fmt, ...) LAMBDA_LOCAL_PRINTF(1, 2);

#endif

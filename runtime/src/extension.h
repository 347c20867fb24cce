/* The internal no-op extension. Lambda sends SIGTERM to the runtime at
 * shutdown only when at least one extension is registered, so a runtime with
 * a shutdown hook registers one (as the Rust and Go runtimes do): POST
 * /2020-01-01/extension/register with no events, then a thread that
 * long-polls /2020-01-01/extension/event/next so the init phase completes.
 * Registration must happen before the runtime's first /next. */
#ifndef LAMBDA_EXTENSION_H
#define LAMBDA_EXTENSION_H

#include <stdatomic.h>
#include <stddef.h>

#define LAMBDA_EXTENSION_NAME "lambda-c-shutdown-helper"

typedef struct lambda_extension lambda_extension;

/* Registers and starts the polling thread. Returns NULL (after logging a
 * warning) when the Extensions API is unavailable: the runtime then runs
 * without, and the hook still runs if SIGTERM arrives. */
lambda_extension *lambda_extension_start(const char *endpoint, const atomic_bool *stop);

/* Waits for the polling thread (it notices `stop` within about a second)
 * and frees everything. NULL is fine. */
void lambda_extension_stop(lambda_extension *ext);

/* Pulls the Lambda-Extension-Identifier value out of one header line into
 * `out`; returns 1 when found. */
int lambda_extension_parse_id(const char *line, size_t len, char *out, size_t size);

#endif

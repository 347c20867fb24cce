/* Response streaming: the lambda_stream a raw handler opens on its response,
 * and the streaming POST behind it.
 *
 * Why a sender thread and a bounded ring (and not curl_easy_pause): the
 * handler must run on its worker thread (the per-thread context, the
 * fatal-signal request id and alternate stack live there), while libcurl's
 * easy interface blocks the thread that performs the POST. So the POST runs
 * on a short-lived sender thread using the worker's own Runtime API
 * connection (the worker is inside the handler, so nobody else uses it), and
 * its read callback takes bytes from a 64 KiB ring that
 * lambda_stream_write() fills. The writer blocks while the ring is full,
 * the reader while it is empty: memory is bounded whatever the size, and a
 * handler that sleeps between writes still has its bytes on the wire at
 * once (curl_easy_pause would only move bytes while the handler is inside a
 * write call). The thread starts at the first write, so a handler that
 * fails before writing posts an ordinary /error. */
#ifndef LAMBDA_STREAM_H
#define LAMBDA_STREAM_H

#include "api.h"
#include "handler.h"

/* The ring's size: the most a stream holds in memory besides libcurl's own
 * upload buffer. */
#define LAMBDA_STREAM_RING 65536

/* Lets `res` stream for this invocation (the loop calls it before the
 * handler runs). */
void lambda_stream_bind(lambda_response *res, lambda_api *api, const lambda_invocation *inv);

/* Non-zero when the outcome must go out as a stream: the handler opened
 * one, and it did not fail before its first write. */
int lambda_stream_pending(const lambda_response *res);

/* Ends the stream: the rest of the ring, then the final chunk with the
 * error trailers when the handler failed after its first write (or went
 * over LAMBDA_STREAM_LIMIT). Returns the POST's status; never
 * LAMBDA_API_REFUSED (a stream cannot be sent twice). */
lambda_api_status lambda_stream_finish(const lambda_response *res);

/* Frees the stream of `res`, if any (waits for its sender). */
void lambda_stream_release(lambda_response *res);

/* Base64 (RFC 4648, padded) of `len` bytes into `out`, which holds
 * 4 * ((len + 2) / 3) + 1 bytes. */
void lambda_stream_base64(const unsigned char *in, size_t len, char *out);

#endif

/*
 * Streamed responses, from the runtime's POST to the caller.
 *
 * A runtime streams its response as a chunked POST to /response with
 * Lambda-Runtime-Function-Response-Mode: streaming, the error (if any) in
 * the trailers. When the caller reads the response as it comes
 * (InvokeWithResponseStream, a RESPONSE_STREAM Function URL) the invocation
 * carries a lambda_local_stream: the Runtime API's upload callback queues
 * each piece there and the caller's HTTP thread takes them out. The queue
 * is bounded (1 MiB): a slow caller blocks the upload callback, so TCP
 * pushes back to the runtime's writer; memory stays flat whatever the
 * size. A caller that goes away makes the next piece fail: the runtime's
 * connection is dropped (its writer gets an error) and the invocation ends.
 * Without such a caller (a plain Invoke of a streaming function) the
 * response is collected like a buffered one, up to 6 MB, and an error
 * trailer becomes a function error, as Lambda does.
 *
 * The queue lives under the invocation's lock and wakes waiters with its
 * done_cond, so "more bytes" and "the invocation is over" (answered, timed
 * out, crashed) are one condition to wait for.
 */
#ifndef LAMBDA_LOCAL_STREAM_H
#define LAMBDA_LOCAL_STREAM_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "environment.h"
#include "http.h"
#include "invocation.h"

/* Lambda's limit for a streamed response. */
#define LAMBDA_LOCAL_STREAM_LIMIT 209715200
/* The content type of an HTTP integration response: a JSON prelude, 8 NULs,
 * then the body. */
#define LAMBDA_LOCAL_HTTP_INTEGRATION "application/vnd.awslambda.http-integration-response"

typedef struct lambda_local_stream lambda_local_stream;

/* Attaches a stream to `inv` before it is submitted. */
void lambda_local_stream_attach(lambda_local_invocation *inv);
void lambda_local_stream_free(lambda_local_stream *s);

/* --- Runtime API side --- */

/* True when the request is a streaming /response. */
bool lambda_local_stream_is_streaming(struct MHD_Connection *conn);

/* On the first callback of a streaming /response for invocation `id`:
 * routes its body to the invocation's caller when there is one. */
void lambda_local_stream_upload_begin(lambda_local_env *env, struct MHD_Connection *conn,
                                      const char *id, lambda_local_body *body);

/* At the end of a streaming /response: the trailers decide between success
 * and a function error. Returns the HTTP status for the runtime. */
int lambda_local_stream_upload_end(lambda_local_env *env, struct MHD_Connection *conn,
                                   const char *id, lambda_local_body *body);

/* --- caller side --- */

/* Waits until the runtime starts streaming (true, its content type copied)
 * or the invocation is over without a stream (false). */
bool lambda_local_stream_wait_start(lambda_local_invocation *inv, char *content_type, size_t size);

/* Takes up to `max` streamed bytes, waiting for them; 0 once the stream is
 * over (the invocation is complete and every byte was taken). */
size_t lambda_local_stream_read(lambda_local_invocation *inv, char *buf, size_t max);

/* The caller went away: the runtime's next piece is refused. */
void lambda_local_stream_reader_gone(lambda_local_invocation *inv);

#endif

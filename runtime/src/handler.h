/* Handler routing (_HANDLER over the table) and dispatch: runs a JSON or raw
 * handler for one event and turns whatever it did into a lambda_response,
 * including the errors the runtime itself produces:
 *   Runtime.InvalidEvent           event is not JSON (JSON handlers)
 *   Runtime.NoResponse             handler answered nothing
 *   Runtime.SerializationError     the returned cJSON could not be printed
 *   Function.ResponseSizeTooLarge  payload over LAMBDA_RESPONSE_LIMIT
 *   Runtime.HandlerNotFound        unknown or missing _HANDLER (init error)
 *   Runtime.InvalidHandlerTable    an entry without exactly one function */
#ifndef LAMBDA_HANDLER_H
#define LAMBDA_HANDLER_H

#include <stddef.h>

#include "buf.h"
#include "lambda/runtime.h"

typedef enum lambda_response_kind {
    LAMBDA_RESPONSE_NONE,
    LAMBDA_RESPONSE_SUCCESS,
    LAMBDA_RESPONSE_FAILURE
} lambda_response_kind;

struct lambda_api;
struct lambda_invocation;

struct lambda_response {
    lambda_response_kind kind;
    lambda_buf payload;
    char content_type[128];
    lambda_error error;
    /* Streaming (stream.c): where a stream posts, set before the handler
     * runs; the stream once the handler opened one. */
    struct lambda_api *stream_api;
    const struct lambda_invocation *stream_inv;
    lambda_stream *stream;
};

/* Empties a response for the next invocation (keeps the payload memory). */
void lambda_response_clear(lambda_response *res);
void lambda_response_free(lambda_response *res);

/* Checks the table, then finds the entry named `name`. On failure returns
 * NULL with `err` set (Runtime.HandlerNotFound / Runtime.InvalidHandlerTable). */
const lambda_handler *lambda_route(const lambda_handler *table, size_t count, const char *name,
                                   lambda_error *err);

/* Runs `h` on `req` and leaves the outcome in `res` (which must be clear):
 * always SUCCESS or FAILURE afterwards, never NONE. `limit` is the largest
 * payload allowed (LAMBDA_RESPONSE_LIMIT outside tests). */
void lambda_dispatch(const lambda_handler *h, const lambda_request *req, lambda_response *res,
                     size_t limit);

#endif

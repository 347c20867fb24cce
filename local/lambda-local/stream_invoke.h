/*
 * The streaming side of the Invoke API, on the same server:
 *   POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations
 * (InvokeWithResponseStream) answers 200 with the response as event stream
 * messages (eventstream.h): PayloadChunk events carrying the bytes as the
 * runtime streams them, then one InvokeComplete ({} on success;
 * {"ErrorCode": errorType, "ErrorDetails": errorMessage} when the function
 * failed, before or after its first byte). The HTTP Content-Type is the
 * function's stream content type (the SDKs' ResponseStreamContentType).
 *   /lambda-url/{FunctionName}/{path} serves the function's URL
 * (function_url.h).
 */
#ifndef LAMBDA_LOCAL_STREAM_INVOKE_H
#define LAMBDA_LOCAL_STREAM_INVOKE_H

#include <microhttpd.h>
#include <stdbool.h>

#include "http.h"
#include "pool.h"

/* Serves `url` when it is one of the paths above (true, *result set);
 * false leaves the request to the buffered Invoke API. */
bool lambda_local_stream_route(lambda_local_pool *const *pools, size_t count,
                               struct MHD_Connection *conn, const char *url, const char *method,
                               lambda_local_body *body, enum MHD_Result *result);

#endif

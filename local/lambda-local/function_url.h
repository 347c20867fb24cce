/*
 * Function URLs. A function whose template gives it a FunctionUrlConfig is
 * served as plain HTTP on the Invoke API's port, under
 *   http://HOST:PORT/lambda-url/{FunctionName}/{path}
 * (a path, not a port per function: one listener, nothing to allocate; in
 * Lambda the URL's host names the function). The request becomes the
 * payload format 2.0 event (rawPath = /{path}); the answer is:
 *   InvokeMode RESPONSE_STREAM: the response as the runtime streams it,
 *     chunked; an HTTP integration prelude gives the status, headers and
 *     Set-Cookie lines; an error after the first byte cuts the response off
 *     (no final chunk: clients report a transfer error), as Lambda does;
 *   InvokeMode BUFFERED: the function's result read as a 2.0 response
 *     ({"statusCode","headers","cookies","body","isBase64Encoded"}; anything
 *     else is a 200 application/json body); a streamed response is read the
 *     same way once complete (its prelude gives status and headers).
 * A function error before the first byte is 502 "Internal Server Error".
 * AuthType AWS_IAM requires a SigV4 Authorization header (403 without; the
 * signature itself is not verified locally); NONE lets anyone in.
 */
#ifndef LAMBDA_LOCAL_FUNCTION_URL_H
#define LAMBDA_LOCAL_FUNCTION_URL_H

#include <microhttpd.h>

#include "http.h"
#include "pool.h"

#define LAMBDA_LOCAL_URL_PREFIX "/lambda-url/"

enum MHD_Result lambda_local_function_url(lambda_local_pool *const *pools, size_t count,
                                          struct MHD_Connection *conn, const char *url,
                                          const char *method, lambda_local_body *body);

#endif

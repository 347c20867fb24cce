/*
 * The Lambda Invoke API, as the AWS SDKs, the AWS CLI, Step Functions and
 * `sam local start-lambda` clients use it:
 *   POST /2015-03-31/functions/{FunctionName}/invocations
 * FunctionName is a function's name (logical id), a full or partial ARN,
 * optionally qualified, URL-encoded. /2015-03-31/functions/function/
 * invocations is also served (the Runtime Interface Emulator's path) and
 * means the only function when there is exactly one.
 */
#ifndef LAMBDA_LOCAL_INVOKE_API_H
#define LAMBDA_LOCAL_INVOKE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "durable.h"
#include "pool.h"

typedef struct lambda_local_invoke_api lambda_local_invoke_api;

/* `durable` (may be NULL) serves the /2025-12-01/ durable API and Invokes
 * that carry X-Amz-Durable-Execution-Name. */

/* The pool a FunctionName designates, or NULL. `*invoked_arn` receives the
 * ARN the runtime sees as Lambda-Runtime-Invoked-Function-Arn (malloc'd;
 * also set for unknown names: the 404 message quotes it). */
lambda_local_pool *lambda_local_find_pool(lambda_local_pool *const *pools, size_t count,
                                          const char *function_name, const char *qualifier,
                                          char **invoked_arn);

struct MHD_Connection;
/* The headers both Invoke and InvokeWithResponseStream check the same way:
 * X-Amz-Log-Type (*tail true for Tail) and X-Amz-Tenant-Id (*tenant, NULL
 * when absent) against the function's TenancyConfig. NULL when acceptable,
 * else the InvalidParameterValueException message. */
const char *lambda_local_invoke_headers(struct MHD_Connection *conn,
                                        const lambda_local_function *fn, bool *tail,
                                        const char **tenant);

lambda_local_invoke_api *lambda_local_invoke_api_start(const char *host, uint16_t port,
                                                       lambda_local_pool *const *pools,
                                                       size_t count, lambda_local_durable *durable,
                                                       uint16_t *bound_port, char *err,
                                                       size_t errlen);
void lambda_local_invoke_api_stop(lambda_local_invoke_api *api);

#endif

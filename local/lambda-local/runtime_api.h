/*
 * The Lambda Runtime API (2018-06-01) of one execution environment, on its
 * own loopback port:
 *   GET  /2018-06-01/runtime/invocation/next          (long poll)
 *   POST /2018-06-01/runtime/invocation/{id}/response  202 | 400 | 403 | 413
 *   POST /2018-06-01/runtime/invocation/{id}/error     202 | 400 | 403
 *   POST /2018-06-01/runtime/init/error                202 | 403
 */
#ifndef LAMBDA_LOCAL_RUNTIME_API_H
#define LAMBDA_LOCAL_RUNTIME_API_H

#include <stddef.h>
#include <stdint.h>

#include "environment.h"

typedef struct lambda_local_runtime_api lambda_local_runtime_api;

/* Listens on 127.0.0.1:<any port> (returned in `port`). */
lambda_local_runtime_api *lambda_local_runtime_api_start(lambda_local_env *env, uint16_t *port,
                                                         char *err, size_t errlen);

/* Stops the server; any blocked /next must have been released first. */
void lambda_local_runtime_api_stop(lambda_local_runtime_api *api);

#endif

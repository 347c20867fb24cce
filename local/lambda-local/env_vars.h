/*
 * --env-vars FILE.json in SAM's format:
 *   {"FunctionLogicalId": {"VAR": "value"}, "Parameters": {"VAR": "value"}}
 * "Parameters" applies to every function, a function's own object wins.
 * As in SAM, only variables the template declares are overridden (this is
 * also how an unresolved !Ref/!Sub variable gets a value locally). In direct
 * mode there is no template to declare anything, so every entry is set.
 */
#ifndef LAMBDA_LOCAL_ENV_VARS_H
#define LAMBDA_LOCAL_ENV_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include "function.h"

/* Returns 0, or -1 with a message in `err`. */
int lambda_local_env_vars_apply(const char *path, lambda_local_functions *fns, bool declared_only,
                                char *err, size_t errlen);

#endif

/*
 * Where a function's code lives: a CodeUri folder, a CodeUri zip unpacked
 * into a private temporary folder (as SAM does), or the --bootstrap override
 * (the bootstrap in the build tree, for development).
 */
#ifndef LAMBDA_LOCAL_CODEDIR_H
#define LAMBDA_LOCAL_CODEDIR_H

#include <stddef.h>

#include "function.h"

/* Sets fn->code_dir and fn->bootstrap. Returns 0, or -1 with `err`. */
int lambda_local_code_prepare(lambda_local_function *fn, const char *bootstrap_override, char *err,
                              size_t errlen);

/* Removes the temporary folder a zip was unpacked into, if any. */
void lambda_local_code_cleanup(lambda_local_function *fn);

#endif

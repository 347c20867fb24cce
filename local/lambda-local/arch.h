/*
 * Which architecture a function's bootstrap is built for, and how to run it
 * on this host: directly, or through qemu user-mode emulation (an arm64
 * function on an x86_64 machine, as Lambda's Architectures: [arm64]).
 */
#ifndef LAMBDA_LOCAL_ARCH_H
#define LAMBDA_LOCAL_ARCH_H

#include <stddef.h>

#include "function.h"

/* Decides how fn->bootstrap is started. Sets *runner to NULL (exec it
 * directly) or to a new string naming the emulator to exec it with
 * (qemu-aarch64: $LAMBDA_LOCAL_QEMU_AARCH64, else found on PATH). Returns -1
 * with a message in err when it cannot run here: the template's
 * Architectures contradicts the executable, or the emulator is missing (the
 * message names the Debian package). A bootstrap that is not an ELF file
 * (a script) is left to exec. */
int lambda_local_arch_runner(const lambda_local_function *fn, char **runner, char *err,
                             size_t errlen);

#endif

/* The error document Lambda expects on /invocation/{id}/error and
 * /runtime/init/error: {"errorMessage","errorType","stackTrace":[]}. */
#ifndef LAMBDA_ERROR_BODY_H
#define LAMBDA_ERROR_BODY_H

#include <stddef.h>

/* A malloc'd JSON document, or NULL when out of memory. NULL or empty type
 * becomes "Runtime.HandlerError". */
char *lambda_error_body(const char *type, const char *message);

/* Copies `type` into `out` as a safe HTTP header value for
 * Lambda-Runtime-Function-Error-Type: control characters (CR/LF would let a
 * handler inject headers) become '_'; empty becomes Runtime.HandlerError. */
void lambda_error_header_value(char *out, size_t size, const char *type);

#define LAMBDA_DEFAULT_ERROR_TYPE "Runtime.HandlerError"

#endif

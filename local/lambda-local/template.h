/*
 * Reads a SAM template.yaml (with libyaml) into function configurations:
 * every AWS::Serverless::Function resource, merged over Globals.Function.
 *
 * CloudFormation short tags (!Ref, !Sub, !GetAtt, ...) and long-form
 * intrinsics ({"Ref": ...}, {"Fn::...": ...}) are tolerated. What can be
 * resolved locally is: !Ref to a template Parameter (its --parameter-overrides
 * value, else its Default) and the pseudo parameters AWS::Region /
 * AWS::AccountId; a !Sub whose ${...} are all such names (${!X} is ${X}).
 * Anything else is "unresolved": an environment variable with such a value
 * stays unset (unless --env-vars gives it), a Timeout/MemorySize falls back
 * to the default.
 */
#ifndef LAMBDA_LOCAL_TEMPLATE_H
#define LAMBDA_LOCAL_TEMPLATE_H

#include <stddef.h>

#include "function.h"

/* Appends the template's functions to `out`. Returns 0, or -1 with a
 * message in `err` (file, line and what is wrong). */
int lambda_local_template_load(const char *path, lambda_local_functions *out, char *err,
                               size_t errlen);

#endif

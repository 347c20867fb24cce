/*
 * Template parameter values given on the command line, as `sam local` takes
 * them: --parameter-overrides "Key1=Value1 Key2=Value2" (repeatable), or
 * CloudFormation's "ParameterKey=K,ParameterValue=V". An override wins over
 * the parameter's Default wherever !Ref or !Sub reads it.
 */
#ifndef LAMBDA_LOCAL_PARAMS_H
#define LAMBDA_LOCAL_PARAMS_H

/* Adds the overrides in `spec`. Returns 0, or -1 if a token is not K=V. */
int lambda_local_params_add(const char *spec);

/* The override of parameter `name`, or NULL. */
const char *lambda_local_params_get(const char *name);

/* Frees every override. */
void lambda_local_params_free(void);

#endif

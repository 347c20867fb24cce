/* Checks of lambda_runtime_config that keep it able to grow. */
#ifndef LAMBDA_CONFIG_H
#define LAMBDA_CONFIG_H

#include <lambda/runtime.h>

/* 0, or -1 with Runtime.InvalidConfig when a reserved field is set. */
int lambda_config_check(const lambda_runtime_config *config, lambda_error *err);

#endif

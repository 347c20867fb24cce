/*
 * The parts of the public API that let it grow: the library's version and
 * the config's initialiser and check. A caller built against a newer header
 * may have set fields this library does not know (they sit in its reserved
 * slots): refusing such a config is better than ignoring a setting.
 */
#include <string.h>

#include "config.h"

const char *lambda_runtime_version(void)
{
    return LAMBDA_RUNTIME_VERSION;
}

unsigned lambda_runtime_version_hex(void)
{
    return LAMBDA_RUNTIME_VERSION_HEX;
}

void lambda_runtime_config_init(lambda_runtime_config *config)
{
    if (config)
        *config = (lambda_runtime_config)LAMBDA_RUNTIME_CONFIG_INIT;
}

int lambda_config_check(const lambda_runtime_config *config, lambda_error *err)
{
    for (size_t i = 0; i < sizeof config->reserved / sizeof config->reserved[0]; i++) {
        if (config->reserved[i]) {
            lambda_error_set(err, "Runtime.InvalidConfig",
                             "lambda_runtime_config.reserved[%zu] is set: the program was built "
                             "for a newer lambda-c than %s (start from "
                             "LAMBDA_RUNTIME_CONFIG_INIT and set only the fields this version has)",
                             i, LAMBDA_RUNTIME_VERSION);
            return -1;
        }
    }
    return 0;
}

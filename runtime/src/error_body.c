#include "error_body.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

char *lambda_error_body(const char *type, const char *message)
{
    if (!type || !*type)
        type = LAMBDA_DEFAULT_ERROR_TYPE;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char *json = NULL;
    if (cJSON_AddStringToObject(o, "errorMessage", message ? message : "") &&
        cJSON_AddStringToObject(o, "errorType", type) && cJSON_AddArrayToObject(o, "stackTrace"))
        json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return json;
}

void lambda_error_header_value(char *out, size_t size, const char *type)
{
    if (size == 0)
        return;
    if (!type || !*type)
        type = LAMBDA_DEFAULT_ERROR_TYPE;
    size_t i = 0;
    for (; type[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char)type[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '_' : (char)c;
    }
    out[i] = '\0';
}

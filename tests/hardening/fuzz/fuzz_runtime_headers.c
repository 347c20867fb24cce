/*
 * Runtime API /next headers -> lambda_invocation (the parser the curl header
 * callback feeds), then the context view, the error document and the error
 * header value built from attacker-influenced strings.
 *
 * Input: header lines separated by '\n' (each passed with its "\r\n" as curl
 * does); the last line doubles as an error type and message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "context.h"
#include "error_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lambda_invocation inv;
    memset(&inv, 0, sizeof inv);
    const char *p = (const char *)data, *end = p + size;
    const char *last = p;
    size_t last_len = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        /* An exact-size heap copy with curl's terminator, so ASan sees any
         * read past the line. */
        char *line = malloc(n + 2);
        if (!line)
            return 0;
        memcpy(line, p, n);
        memcpy(line + n, "\r\n", 2);
        if (lambda_invocation_header(&inv, line, n + 2) < 0)
            abort();
        free(line);
        last = p;
        last_len = n;
        p += n + (nl ? 1 : 0);
    }
    lambda_env_facts facts = {0};
    lambda_invocation_finish(&inv, &facts);
    if (inv.ctx.deadline_ms < 0)
        abort(); /* digits only: never negative */

    char *text = malloc(last_len + 1);
    if (!text)
        return 0;
    memcpy(text, last, last_len);
    text[last_len] = '\0';
    char *body = lambda_error_body(text, text);
    if (body) {
        cJSON *doc = cJSON_Parse(body);
        if (!cJSON_IsObject(doc) ||
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "errorType")))
            abort();
        cJSON_Delete(doc);
        free(body);
    }
    char header[128];
    lambda_error_header_value(header, sizeof header, text);
    for (const char *c = header; *c; c++)
        if (*c == '\r' || *c == '\n' || (unsigned char)*c < 0x20)
            abort(); /* a control character would split the HTTP header */
    if (!header[0])
        abort();
    free(text);
    lambda_invocation_free(&inv);
    return 0;
}

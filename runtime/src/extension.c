#include "extension.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "log.h"

#define EXT_PREFIX "/2020-01-01/extension"

struct lambda_extension {
    lambda_api api;
    pthread_t thread;
    char id[256];
};

int lambda_extension_parse_id(const char *line, size_t len, char *out, size_t size)
{
    static const char name[] = "Lambda-Extension-Identifier:";
    size_t n = sizeof name - 1;
    if (len < n || strncasecmp(line, name, n) != 0)
        return 0;
    const char *v = line + n;
    size_t vlen = len - n;
    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen && isspace((unsigned char)v[vlen - 1]))
        vlen--;
    if (vlen == 0 || vlen >= size)
        return 0;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    return 1;
}

static void on_register_header(const char *line, size_t len, void *arg)
{
    lambda_extension *ext = arg;
    lambda_extension_parse_id(line, len, ext->id, sizeof ext->id);
}

static void *poll_events(void *arg)
{
    lambda_extension *ext = arg;
    char line[300];
    snprintf(line, sizeof line, "Lambda-Extension-Identifier: %s", ext->id);
    struct curl_slist *headers = curl_slist_append(NULL, line);
    if (!headers)
        return NULL;
    /* No events were asked for, so this normally blocks until the
     * environment goes away; anything else just ends the helper. */
    for (;;) {
        lambda_api_status st =
            lambda_api_request(&ext->api, EXT_PREFIX "/event/next", headers, NULL, 0, NULL, NULL);
        if (st != LAMBDA_API_OK) {
            if (st != LAMBDA_API_STOPPED)
                lambda_log(LAMBDA_LOG_DEBUG, "extension event/next ended (HTTP %ld)",
                           ext->api.http_status);
            break;
        }
    }
    curl_slist_free_all(headers);
    return NULL;
}

lambda_extension *lambda_extension_start(const char *endpoint, const atomic_bool *stop)
{
    lambda_extension *ext = calloc(1, sizeof *ext);
    if (!ext || lambda_api_init(&ext->api, endpoint, stop) != 0) {
        free(ext);
        return NULL;
    }
    struct curl_slist *headers =
        curl_slist_append(NULL, "Lambda-Extension-Name: " LAMBDA_EXTENSION_NAME);
    struct curl_slist *more =
        headers ? curl_slist_append(headers, "Content-Type: application/json") : NULL;
    lambda_api_status st = LAMBDA_API_NOMEM;
    if (more) {
        headers = more;
        static const char body[] = "{\"events\":[]}";
        st = lambda_api_request(&ext->api, EXT_PREFIX "/register", headers, body, sizeof body - 1,
                                on_register_header, ext);
    }
    curl_slist_free_all(headers);
    if (st != LAMBDA_API_OK || !ext->id[0] ||
        pthread_create(&ext->thread, NULL, poll_events, ext) != 0) {
        char why[256];
        lambda_log(LAMBDA_LOG_WARN,
                   "could not register the internal extension (%s): the "
                   "shutdown hook runs only if SIGTERM arrives anyway",
                   st == LAMBDA_API_OK ? "no Lambda-Extension-Identifier"
                                       : lambda_api_describe(&ext->api, st, why, sizeof why));
        lambda_api_cleanup(&ext->api);
        free(ext);
        return NULL;
    }
    return ext;
}

void lambda_extension_stop(lambda_extension *ext)
{
    if (!ext)
        return;
    pthread_join(ext->thread, NULL);
    lambda_api_cleanup(&ext->api);
    free(ext);
}

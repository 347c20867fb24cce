/*
 * lambda-bench-bare-client: the ceiling for the per-invocation overhead
 * benchmark. It does what a runtime must do per invocation and nothing else:
 * GET /next, read the request id, POST the event back to
 * /invocation/{id}/response, with the same libcurl settings as lambda-c's
 * runtime (one reused easy handle, keep-alive, TCP_NODELAY, no
 * "Expect: 100-continue", no proxy lookup). No JSON parsing, no handler, no
 * context, and no allocation of its own per invocation (two body buffers
 * take turns): the cheapest sensible client.
 *
 * It reads AWS_LAMBDA_RUNTIME_API like a runtime and loops until the server
 * stops answering, or after --max iterations (a bound, so it cannot spin
 * forever on its own).
 *
 * --sleep-threads N (for bench_server_check, not the ceiling): each
 * invocation starts N threads that each sleep SLEEPS times 1 ms and are
 * joined before the response: known context switches in threads that exit
 * within the invocation.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#define REQUEST_ID_HEADER "Lambda-Runtime-Aws-Request-Id:"
#ifndef BARE_USER_AGENT
#error "BARE_USER_AGENT must be the runtime's User-Agent (lambda-c/VERSION)"
#endif

#define SLEEPS 4
#define MAX_SLEEP_THREADS 64

typedef struct buffer {
    char *data;
    size_t len;
    size_t cap;
} buffer;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buffer *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *bigger = realloc(b->data, cap);
        if (!bigger)
            return 0;
        b->data = bigger;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    char *request_id = userdata; /* 128 bytes */
    size_t n = size * nmemb;
    size_t prefix = strlen(REQUEST_ID_HEADER);
    if (n > prefix && strncasecmp(ptr, REQUEST_ID_HEADER, prefix) == 0) {
        const char *v = ptr + prefix;
        size_t len = n - prefix;
        while (len > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            len--;
        }
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        if (len > 127)
            len = 127;
        memcpy(request_id, v, len);
        request_id[len] = '\0';
    }
    return n;
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (int i = 0; i < SLEEPS; i++) {
        struct timespec ts = {0, 1000000};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    return NULL;
}

/* N threads that sleep, joined: false when one cannot be started. */
static int sleep_in_threads(long n)
{
    pthread_t tids[MAX_SLEEP_THREADS];
    long started = 0;
    while (started < n && pthread_create(&tids[started], NULL, sleeper, NULL) == 0)
        started++;
    for (long i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    return started == n;
}

int main(int argc, char **argv)
{
    long max = 100000000, sleep_threads = 0;
    for (int a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--max") == 0)
            max = strtol(argv[a + 1], NULL, 10);
        else if (strcmp(argv[a], "--sleep-threads") == 0)
            sleep_threads = strtol(argv[a + 1], NULL, 10);
    }
    if (argc % 2 == 0 || sleep_threads < 0 || sleep_threads > MAX_SLEEP_THREADS) {
        fputs("usage: lambda-bench-bare-client [--max N] [--sleep-threads 0..64]\n", stderr);
        return 2;
    }
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !*api) {
        fputs("lambda-bench-bare-client: AWS_LAMBDA_RUNTIME_API is not set\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 2;
    CURL *curl = curl_easy_init();
    if (!curl)
        return 2;

    char next_url[256], response_url[512], request_id[128];
    snprintf(next_url, sizeof next_url, "http://%s/2018-06-01/runtime/invocation/next", api);
    buffer bodies[2] = {{0}, {0}};
    buffer *body = &bodies[0];
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    headers = curl_slist_append(headers, "Content-Type: application/json");

    /* The ceiling should be the cheapest sensible client: no per-request
     * SIGPIPE juggling by libcurl (SIGPIPE is ignored once, above). */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    /* As the runtime: the Runtime API is local, no proxy variable applies
     * (and libcurl does not look for one per request). */
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    /* The runtime's own User-Agent (bench/CMakeLists.txt): byte for byte the
     * same requests, so that neither side formats more header bytes (libcurl
     * copies them one at a time: ~20 more instructions a byte). */
    curl_easy_setopt(curl, CURLOPT_USERAGENT, BARE_USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, request_id);

    int rc = 0;
    for (long i = 0; i < max; i++) {
        body->len = 0;
        request_id[0] = '\0';
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(curl, CURLOPT_URL, next_url);
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
        if (curl_easy_perform(curl) != CURLE_OK || request_id[0] == '\0') {
            rc = 1;
            break;
        }
        if (sleep_threads > 0 && !sleep_in_threads(sleep_threads)) {
            rc = 1;
            break;
        }
        snprintf(response_url, sizeof response_url,
                 "http://%s/2018-06-01/runtime/invocation/%s/response", api, request_id);
        /* The request body must outlive the perform: the response to the
         * POST goes into the other buffer. */
        const buffer *event = body;
        body = body == &bodies[0] ? &bodies[1] : &bodies[0];
        body->len = 0;
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
        curl_easy_setopt(curl, CURLOPT_URL, response_url);
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, event->data ? event->data : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)event->len);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        CURLcode res = curl_easy_perform(curl);
        if (res != CURLE_OK) {
            rc = 1;
            break;
        }
    }
    free(bodies[0].data);
    free(bodies[1].data);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return rc;
}

/* The Runtime API client: one libcurl easy handle per thread, reused for every
 * request so the connection stays open (keep-alive, TCP_NODELAY, no
 * "Expect: 100-continue"). One call = one HTTP request; retry policy lives in
 * the loop, which knows what is safe to repeat. */
#ifndef LAMBDA_API_H
#define LAMBDA_API_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stddef.h>

#include "buf.h"
#include "context.h"

typedef enum lambda_api_status {
    LAMBDA_API_OK,       /* 2xx */
    LAMBDA_API_REFUSED,  /* could not connect: nothing was sent, safe to retry */
    LAMBDA_API_BROKEN,   /* reset / empty reply / cut short after connecting */
    LAMBDA_API_REJECTED, /* 4xx: this request was refused, the API is fine */
    LAMBDA_API_FATAL,    /* 5xx: the API is in a non-recoverable state */
    LAMBDA_API_STOPPED,  /* aborted because the runtime is stopping */
    LAMBDA_API_NOMEM
} lambda_api_status;

/* A header list kept between requests, and what it was built from. */
typedef struct lambda_api_headers {
    struct curl_slist *list;
    lambda_buf content_type;
    lambda_buf invocation_id;
    int has_invocation_id;
} lambda_api_headers;

typedef struct lambda_api {
    CURL *curl;
    char *base;                          /* "http://HOST:PORT" */
    const atomic_bool *stop;             /* abort transfers once set (may be NULL) */
    lambda_invocation *headers_to;       /* where /next's headers go, else NULL */
    lambda_buf body;                     /* response body of the last request */
    lambda_buf url;                      /* the URL of the current request */
    lambda_api_headers response_headers; /* of the last successful /response */
    long http_status;                    /* of the last request, 0 if none */
    char error[CURL_ERROR_SIZE];
} lambda_api;

/* `endpoint` is AWS_LAMBDA_RUNTIME_API ("host:port"). Returns 0 or -1. */
int lambda_api_init(lambda_api *api, const char *endpoint, const atomic_bool *stop);
void lambda_api_cleanup(lambda_api *api);

/* GET /2018-06-01/runtime/invocation/next, no timeout (a long poll).
 * On OK, `inv` holds the headers and event (lambda_invocation_finish() not
 * yet called). */
lambda_api_status lambda_api_next(lambda_api *api, lambda_invocation *inv);

/* POST .../invocation/{id}/response. Echoes Lambda-Runtime-Invocation-Id
 * when /next carried one. NULL content_type = application/json. */
lambda_api_status lambda_api_post_response(lambda_api *api, const lambda_invocation *inv,
                                           const char *body, size_t len, const char *content_type);

/* POST .../invocation/{id}/error with the error document and the
 * Lambda-Runtime-Function-Error-Type header. */
lambda_api_status lambda_api_post_error(lambda_api *api, const lambda_invocation *inv,
                                        const char *type, const char *message);

/* POST .../invocation/{id}/response as a stream (stream.c): chunked, with
 * Lambda-Runtime-Function-Response-Mode: streaming and the error trailers
 * announced. `read` supplies the body (0 = end), `trailers` the trailers.
 * Blocks until the whole body is sent and the API has answered. */
lambda_api_status lambda_api_post_stream(lambda_api *api, const lambda_invocation *inv,
                                         const char *content_type, curl_read_callback read,
                                         curl_trailer_callback trailers, void *arg);

/* POST /2018-06-01/runtime/init/error. */
lambda_api_status lambda_api_post_init_error(lambda_api *api, const char *type,
                                             const char *message);

/* Generic request for other Lambda APIs on the same endpoint (Extensions):
 * `path` starts with '/', `headers` may be NULL, body NULL means GET.
 * Response headers are passed to `on_header` when not NULL. */
lambda_api_status lambda_api_request(lambda_api *api, const char *path, struct curl_slist *headers,
                                     const char *body, size_t len,
                                     void (*on_header)(const char *line, size_t len, void *arg),
                                     void *arg);

/* A short human description of the last failure ("HTTP 500", a curl
 * message), for log lines. */
const char *lambda_api_describe(const lambda_api *api, lambda_api_status st, char *out,
                                size_t size);

#endif

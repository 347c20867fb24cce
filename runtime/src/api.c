#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error_body.h"
#include "lambda/runtime.h"

#define USER_AGENT LAMBDA_RUNTIME_NAME "/" LAMBDA_RUNTIME_VERSION
#define RUNTIME_PREFIX "/2018-06-01/runtime"

typedef struct header_sink {
    lambda_api *api;
    void (*on_header)(const char *line, size_t len, void *arg);
    void *arg;
    int failed;
} header_sink;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    lambda_api *api = userdata;
    size_t n = size * nmemb;
    return lambda_buf_append(&api->body, ptr, n) == 0 ? n : 0;
}

static size_t on_header_line(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    header_sink *sink = userdata;
    size_t n = size * nmemb;
    if (sink->api->headers_to && lambda_invocation_header(sink->api->headers_to, ptr, n) < 0) {
        sink->failed = 1;
        return 0;
    }
    if (sink->on_header)
        sink->on_header(ptr, n, sink->arg);
    return n;
}

/* libcurl calls this about once a second even on an idle long poll, which is
 * how a stopping runtime gets its blocked /next calls back. */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const atomic_bool *stop = clientp;
    return stop && atomic_load(stop) ? 1 : 0;
}

int lambda_api_init(lambda_api *api, const char *endpoint, const atomic_bool *stop)
{
    memset(api, 0, sizeof *api);
    api->stop = stop;
    size_t n = strlen(endpoint) + sizeof "http://";
    api->base = malloc(n);
    api->curl = curl_easy_init();
    if (!api->base || !api->curl) {
        lambda_api_cleanup(api);
        return -1;
    }
    snprintf(api->base, n, "http://%s", endpoint);

    CURL *c = api->curl;
    curl_easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads; no SIGALRM */
    /* The Runtime API is local: proxy variables from the function's
     * environment must never apply to it. */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 0L); /* /next is a long poll */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, api->error);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, api);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header_line);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)stop);
    return 0;
}

void lambda_api_cleanup(lambda_api *api)
{
    if (api->curl)
        curl_easy_cleanup(api->curl);
    free(api->base);
    lambda_buf_free(&api->body);
    lambda_buf_free(&api->url);
    curl_slist_free_all(api->response_headers.list);
    lambda_buf_free(&api->response_headers.content_type);
    lambda_buf_free(&api->response_headers.invocation_id);
    memset(api, 0, sizeof *api);
}

static lambda_api_status classify(CURLcode rc, long http)
{
    switch (rc) {
    case CURLE_OK:
        break;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT: /* only the connect timeout applies */
        return LAMBDA_API_REFUSED;
    case CURLE_ABORTED_BY_CALLBACK:
        return LAMBDA_API_STOPPED;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_WRITE_ERROR: /* our write callback ran out of memory */
        return LAMBDA_API_NOMEM;
    default:
        return LAMBDA_API_BROKEN;
    }
    if (http >= 200 && http < 300)
        return LAMBDA_API_OK;
    if (http >= 400 && http < 500)
        return LAMBDA_API_REJECTED;
    return LAMBDA_API_FATAL;
}

/* One request on the shared handle to `url` (NUL-terminated, owned by the
 * caller until this returns). */
static lambda_api_status perform(lambda_api *api, const char *url, struct curl_slist *headers,
                                 const char *body, size_t len,
                                 void (*on_header)(const char *line, size_t len, void *arg),
                                 void *arg)
{
    CURL *c = api->curl;
    header_sink sink = {api, on_header, arg, 0};
    lambda_buf_clear(&api->body);
    api->error[0] = '\0';
    api->http_status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &api->http_status);
    /* Do not keep pointers to memory that goes away with this call. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(c, CURLOPT_URL, NULL);
    if (sink.failed)
        return LAMBDA_API_NOMEM;
    return classify(rc, api->http_status);
}

/* Starts api->url over with "http://HOST:PORT" + `path`. The buffer keeps
 * its memory, so after the first invocation building a URL allocates
 * nothing. Returns 0, or -1 when out of memory. */
static int url_start(lambda_api *api, const char *path)
{
    lambda_buf_clear(&api->url);
    return lambda_buf_append(&api->url, api->base, strlen(api->base)) != 0 ||
                   lambda_buf_append(&api->url, path, strlen(path)) != 0
               ? -1
               : 0;
}

lambda_api_status lambda_api_request(lambda_api *api, const char *path, struct curl_slist *headers,
                                     const char *body, size_t len,
                                     void (*on_header)(const char *line, size_t len, void *arg),
                                     void *arg)
{
    if (url_start(api, path) != 0)
        return LAMBDA_API_NOMEM;
    return perform(api, api->url.data, headers, body, len, on_header, arg);
}

lambda_api_status lambda_api_next(lambda_api *api, lambda_invocation *inv)
{
    lambda_invocation_clear(inv);
    api->headers_to = inv;
    lambda_api_status st =
        lambda_api_request(api, RUNTIME_PREFIX "/invocation/next", NULL, NULL, 0, NULL, NULL);
    api->headers_to = NULL;
    if (st != LAMBDA_API_OK)
        return st;
    /* Hand the event over by swapping buffers: no copy of a 6 MB payload. */
    lambda_buf tmp = inv->event;
    inv->event = api->body;
    api->body = tmp;
    if (!inv->event.data && lambda_buf_append(&inv->event, "", 0) != 0)
        return LAMBDA_API_NOMEM;
    return LAMBDA_API_OK;
}

/* Headers shared by /response and /error. Returns NULL when out of memory. */
static struct curl_slist *post_headers(const lambda_invocation *inv, const char *content_type,
                                       const char *error_type)
{
    char line[512];
    struct curl_slist *h = NULL, *next;
#define ADD(s)                            \
    do {                                  \
        next = curl_slist_append(h, (s)); \
        if (!next)                        \
            goto fail;                    \
        h = next;                         \
    } while (0)
    /* An empty "Expect:" stops libcurl from waiting for 100-continue on
     * bodies over 1 KB: a wasted round trip on every large response. */
    ADD("Expect:");
    snprintf(line, sizeof line, "Content-Type: %s",
             content_type ? content_type : "application/json");
    ADD(line);
    if (error_type) {
        char value[256];
        lambda_error_header_value(value, sizeof value, error_type);
        snprintf(line, sizeof line, "Lambda-Runtime-Function-Error-Type: %s", value);
        ADD(line);
    }
    /* Echo only what /next sent: absent means absent. Sized to the value:
     * a truncated id would be rejected as stale. */
    if (inv && inv->invocation_id) {
        size_t n = strlen(inv->invocation_id) + sizeof "Lambda-Runtime-Invocation-Id: ";
        char *echo = malloc(n);
        if (!echo)
            goto fail;
        snprintf(echo, n, "Lambda-Runtime-Invocation-Id: %s", inv->invocation_id);
        next = curl_slist_append(h, echo);
        free(echo);
        if (!next)
            goto fail;
        h = next;
    }
#undef ADD
    return h;
fail:
    curl_slist_free_all(h);
    return NULL;
}

static lambda_api_status post(lambda_api *api, const char *path, struct curl_slist *headers,
                              const char *body, size_t len)
{
    if (!headers)
        return LAMBDA_API_NOMEM;
    lambda_api_status st = lambda_api_request(api, path, headers, body, len, NULL, NULL);
    curl_slist_free_all(headers);
    return st;
}

static int unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Appends `s` percent-encoded as libcurl's curl_easy_escape() does (every
 * byte but ALPHA / DIGIT / "-._~" as %XX), without its allocation. A run of
 * bytes kept as they are is appended at once: a request id is one run, and
 * appending it byte by byte cost ~1,000 instructions per invocation. */
static int append_escaped(lambda_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    while (*s) {
        size_t run = 0;
        while (s[run] && unreserved((unsigned char)s[run]))
            run++;
        if (run && lambda_buf_append(b, s, run) != 0)
            return -1;
        s += run;
        if (!*s)
            break;
        unsigned char c = (unsigned char)*s++;
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (lambda_buf_append(b, esc, 3) != 0)
            return -1;
    }
    return 0;
}

/* Appends "/2018-06-01/runtime/invocation/<escaped id>/<what>" to `b`. */
static int append_invocation_path(lambda_buf *b, const lambda_invocation *inv, const char *what)
{
    static const char prefix[] = RUNTIME_PREFIX "/invocation/";
    return lambda_buf_append(b, prefix, sizeof prefix - 1) != 0 ||
                   append_escaped(b, inv->request_id ? inv->request_id : "") != 0 ||
                   lambda_buf_append(b, "/", 1) != 0 ||
                   lambda_buf_append(b, what, strlen(what)) != 0
               ? -1
               : 0;
}

/* "/2018-06-01/runtime/invocation/<escaped id>/<what>", malloc'd. */
static char *invocation_path(lambda_api *api, const lambda_invocation *inv, const char *what)
{
    (void)api;
    lambda_buf path = {NULL, 0, 0};
    if (append_invocation_path(&path, inv, what) != 0) {
        lambda_buf_free(&path);
        return NULL;
    }
    return path.data;
}

/* The whole URL of .../invocation/<id>/<what> in api->url, no allocation
 * once the buffer has grown. */
static int invocation_url(lambda_api *api, const lambda_invocation *inv, const char *what)
{
    return url_start(api, "") != 0 || append_invocation_path(&api->url, inv, what) != 0 ? -1 : 0;
}

/* The headers of a successful /response, kept from one invocation to the
 * next: they only change with the content type or an invocation id (which
 * Lambda sends only in some modes), so the common loop rebuilds nothing.
 * Returns NULL when out of memory. */
static struct curl_slist *response_headers(lambda_api *api, const lambda_invocation *inv,
                                           const char *content_type)
{
    const char *ct = content_type ? content_type : "application/json";
    const char *id = inv->invocation_id;
    lambda_api_headers *k = &api->response_headers;
    if (k->list && strcmp(k->content_type.data, ct) == 0 && !id == !k->has_invocation_id &&
        (!id || strcmp(k->invocation_id.data, id) == 0))
        return k->list;
    curl_slist_free_all(k->list);
    lambda_buf_clear(&k->content_type);
    lambda_buf_clear(&k->invocation_id);
    k->list = post_headers(inv, content_type, NULL);
    k->has_invocation_id = id != NULL;
    if (!k->list || lambda_buf_append(&k->content_type, ct, strlen(ct)) != 0 ||
        lambda_buf_append(&k->invocation_id, id ? id : "", id ? strlen(id) : 0) != 0) {
        curl_slist_free_all(k->list);
        k->list = NULL;
    }
    return k->list;
}

lambda_api_status lambda_api_post_response(lambda_api *api, const lambda_invocation *inv,
                                           const char *body, size_t len, const char *content_type)
{
    struct curl_slist *headers = response_headers(api, inv, content_type);
    if (!headers || invocation_url(api, inv, "response") != 0)
        return LAMBDA_API_NOMEM;
    return perform(api, api->url.data, headers, body ? body : "", body ? len : 0, NULL, NULL);
}

lambda_api_status lambda_api_post_error(lambda_api *api, const lambda_invocation *inv,
                                        const char *type, const char *message)
{
    char *path = invocation_path(api, inv, "error");
    char *doc = lambda_error_body(type, message);
    lambda_api_status st = LAMBDA_API_NOMEM;
    if (path && doc)
        st = post(api, path, post_headers(inv, NULL, type), doc, strlen(doc));
    free(path);
    cJSON_free(doc);
    return st;
}

lambda_api_status lambda_api_post_stream(lambda_api *api, const lambda_invocation *inv,
                                         const char *content_type, curl_read_callback read,
                                         curl_trailer_callback trailers, void *arg)
{
    static const char *const stream_headers[] = {
        "Lambda-Runtime-Function-Response-Mode: streaming", "Transfer-Encoding: chunked",
        "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body"};
    char *path = invocation_path(api, inv, "response");
    struct curl_slist *headers = post_headers(inv, content_type, NULL);
    for (size_t i = 0; headers && i < sizeof stream_headers / sizeof stream_headers[0]; i++) {
        struct curl_slist *next = curl_slist_append(headers, stream_headers[i]);
        if (!next)
            curl_slist_free_all(headers);
        headers = next;
    }
    size_t url_len = path ? strlen(api->base) + strlen(path) + 1 : 0;
    char *url = path ? malloc(url_len) : NULL;
    if (!url || !headers) {
        free(path);
        free(url);
        curl_slist_free_all(headers);
        return LAMBDA_API_NOMEM;
    }
    snprintf(url, url_len, "%s%s", api->base, path);
    free(path);

    /* A fresh handle (and so a connection of its own) per stream: libcurl
     * 7.88 never resets its trailer state on a reused handle, so only the
     * first stream of a handle would carry the error trailers. The copy
     * keeps every option set in lambda_api_init(). */
    CURL *c = curl_easy_duphandle(api->curl);
    if (!c) {
        curl_slist_free_all(headers);
        free(url);
        return LAMBDA_API_NOMEM;
    }
    header_sink sink = {api, NULL, NULL, 0};
    lambda_buf_clear(&api->body);
    api->error[0] = '\0';
    api->http_status = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL); /* the body comes from `read` */
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read);
    curl_easy_setopt(c, CURLOPT_READDATA, arg);
    curl_easy_setopt(c, CURLOPT_TRAILERFUNCTION, trailers);
    curl_easy_setopt(c, CURLOPT_TRAILERDATA, arg);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &api->http_status);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    free(url);
    if (rc == CURLE_ABORTED_BY_CALLBACK && !(api->stop && atomic_load(api->stop)))
        return LAMBDA_API_BROKEN; /* our read callback gave up: the stream broke */
    return classify(rc, api->http_status);
}

lambda_api_status lambda_api_post_init_error(lambda_api *api, const char *type, const char *message)
{
    char *doc = lambda_error_body(type, message);
    if (!doc)
        return LAMBDA_API_NOMEM;
    lambda_api_status st =
        post(api, RUNTIME_PREFIX "/init/error", post_headers(NULL, NULL, type), doc, strlen(doc));
    cJSON_free(doc);
    return st;
}

const char *lambda_api_describe(const lambda_api *api, lambda_api_status st, char *out, size_t size)
{
    switch (st) {
    case LAMBDA_API_OK:
    case LAMBDA_API_REJECTED:
    case LAMBDA_API_FATAL: {
        int body_len = (int)(api->body.len > 200 ? 200 : api->body.len);
        snprintf(out, size, "HTTP %ld%s%.*s", api->http_status, body_len ? ": " : "", body_len,
                 api->body.data ? api->body.data : "");
        break;
    }
    case LAMBDA_API_STOPPED:
        snprintf(out, size, "stopped");
        break;
    case LAMBDA_API_NOMEM:
        snprintf(out, size, "out of memory");
        break;
    default:
        snprintf(out, size, "%s", api->error[0] ? api->error : "connection failed");
        break;
    }
    return out;
}

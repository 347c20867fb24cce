/*
 * One SigV4-signed request to an AWS service, retried: the JSON protocol
 * (X-Amz-Target, JSON bodies) or the query protocol (form-encoded Action
 * bodies, XML answers; SNS). sigv4.c signs (libcurl's CURLOPT_AWS_SIGV4
 * does not encode the path twice, see sigv4.h), libcurl sends, cJSON reads
 * JSON error bodies and expat XML ones: no hand-written crypto or parsing
 * here.
 */
#define _POSIX_C_SOURCE 200809L
#include "aws_json.h"
#include "sigv4.h"

#include <curl/curl.h>
#include <cjson/cJSON.h>
#ifndef LAMBDA_AWS_JSON_ONLY
#include <expat.h>
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define RESPONSE_MAX (1024 * 1024) /* the default: the task-token APIs answer with "{}" */
#define DEFAULT_ATTEMPTS 5
#define DEFAULT_BASE_DELAY_MS 100
#define DEFAULT_MAX_DELAY_MS 5000
#define DEFAULT_TIMEOUT_MS 10000

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* The first non-empty of an explicit value and environment variables. */
static const char *first_set(const char *explicit_value, const char *env1, const char *env2)
{
    if (explicit_value && *explicit_value)
        return explicit_value;
    const char *v = env1 ? getenv(env1) : NULL;
    if (v && *v)
        return v;
    v = env2 ? getenv(env2) : NULL;
    return v && *v ? v : NULL;
}

static long env_long(const char *name, long fallback, long min, long max)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end || n < min || n > max) ? fallback : n;
}

int lambda__aws_service_init(lambda__aws_service *svc, const char *env_prefix,
                             const char *endpoint_env, const char *host_prefix,
                             const char *endpoint, const char *region, const char *access_key_id,
                             const char *secret_access_key, const char *session_token,
                             lambda_error *err)
{
    const char *r = first_set(region, "AWS_REGION", "AWS_DEFAULT_REGION");
    copy_str(svc->region, sizeof svc->region, r ? r : "us-east-1");
    const char *ep = first_set(endpoint, endpoint_env, "AWS_ENDPOINT_URL");
    if (ep)
        copy_str(svc->endpoint, sizeof svc->endpoint, ep);
    else
        snprintf(svc->endpoint, sizeof svc->endpoint, "https://%s.%s.amazonaws.com", host_prefix,
                 svc->region);
    size_t n = strlen(svc->endpoint);
    while (n > 0 && svc->endpoint[n - 1] == '/')
        svc->endpoint[--n] = '\0';
    if (strncmp(svc->endpoint, "https://", 8) != 0 && strncmp(svc->endpoint, "http://", 7) != 0) {
        lambda_error_set(err, "InvalidConfiguration",
                         "endpoint '%s' must start with https:// or http://", svc->endpoint);
        return -1;
    }
    const char *key = first_set(access_key_id, "AWS_ACCESS_KEY_ID", NULL);
    const char *secret = first_set(secret_access_key, "AWS_SECRET_ACCESS_KEY", NULL);
    if (!key || !secret) {
        lambda_error_set(err, "InvalidConfiguration",
                         "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        return -1;
    }
    copy_str(svc->access_key_id, sizeof svc->access_key_id, key);
    copy_str(svc->secret_access_key, sizeof svc->secret_access_key, secret);
    copy_str(svc->session_token, sizeof svc->session_token,
             first_set(session_token, "AWS_SESSION_TOKEN", NULL));
    char name[96];
    snprintf(name, sizeof name, "%s_MAX_ATTEMPTS", env_prefix);
    svc->max_attempts = (int)env_long(name, DEFAULT_ATTEMPTS, 1, 20);
    snprintf(name, sizeof name, "%s_RETRY_BASE_MS", env_prefix);
    svc->base_delay_ms = env_long(name, DEFAULT_BASE_DELAY_MS, 1, 60000);
    svc->max_delay_ms = DEFAULT_MAX_DELAY_MS;
    snprintf(name, sizeof name, "%s_TIMEOUT_MS", env_prefix);
    svc->timeout_ms = env_long(name, DEFAULT_TIMEOUT_MS, 100, 900000);
    svc->response_max = RESPONSE_MAX;
    return 0;
}

typedef struct response_buf {
    char *data;
    size_t len, max;
    int too_large;
    char error_type[96]; /* rest-json: the X-Amzn-ErrorType header's code */
} response_buf;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *ud)
{
    response_buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > b->max) {
        b->too_large = 1;
        return 0;
    }
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->len += n;
    grown[b->len] = '\0';
    b->data = grown;
    return n;
}

/* Keeps the code of an "X-Amzn-ErrorType: Code:http://..." header: the
 * rest-json protocols name the error there. */
static size_t header_line(char *line, size_t size, size_t nmemb, void *ud)
{
    response_buf *b = ud;
    size_t n = size * nmemb;
    static const char name[] = "x-amzn-errortype:";
    size_t k = sizeof name - 1;
    if (n > k && strncasecmp(line, name, k) == 0) {
        size_t i = k, j = 0;
        while (i < n && (line[i] == ' ' || line[i] == '\t'))
            i++;
        while (i < n && j + 1 < sizeof b->error_type && line[i] != ':' && line[i] != '\r' &&
               line[i] != '\n')
            b->error_type[j++] = line[i++];
        b->error_type[j] = '\0';
    }
    return n;
}

/* What one attempt came to. */
typedef enum attempt_result {
    ATTEMPT_OK,
    ATTEMPT_RETRY_THROTTLED, /* 429 or a throttling error code */
    ATTEMPT_RETRY_FAILED,    /* 5xx or a transport failure */
    ATTEMPT_FAILED           /* the service refused: not worth repeating */
} attempt_result;

static int is_throttling(const char *code)
{
    static const char *const codes[] = {"ThrottlingException", "TooManyRequestsException",
                                        "RequestLimitExceeded", "Throttling", NULL};
    for (size_t i = 0; codes[i]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

/* A JSON-only build (lambda::durable's, -DLAMBDA_AWS_JSON_ONLY) leaves the
 * query protocol's XML reading, and so expat, out. */
#ifndef LAMBDA_AWS_JSON_ONLY
/* The text of the first <element> of an XML document, for query-protocol
 * answers (<Code>, <Message>, <MessageId>). */
typedef struct xml_find {
    const char *element;
    char *out;
    size_t cap, len;
    int inside, found;
} xml_find;

static void XMLCALL xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    xml_find *x = ud;
    if (!x->found && strcmp(name, x->element) == 0)
        x->inside = 1;
}

static void XMLCALL xml_end(void *ud, const XML_Char *name)
{
    xml_find *x = ud;
    if (x->inside && strcmp(name, x->element) == 0) {
        x->inside = 0;
        x->found = 1;
    }
}

static void XMLCALL xml_text(void *ud, const XML_Char *s, int len)
{
    xml_find *x = ud;
    if (!x->inside)
        return;
    size_t n = (size_t)len;
    if (x->len + n >= x->cap)
        n = x->cap - 1 - x->len;
    memcpy(x->out + x->len, s, n);
    x->len += n;
    x->out[x->len] = '\0';
}

int lambda__aws_xml_text(const char *xml, size_t len, const char *element, char *out, size_t cap)
{
    xml_find x = {.element = element, .out = out, .cap = cap};
    if (cap == 0)
        return -1;
    out[0] = '\0';
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!p)
        return -1;
    XML_SetUserData(p, &x);
    XML_SetElementHandler(p, xml_start, xml_end);
    XML_SetCharacterDataHandler(p, xml_text);
    int ok = len <= INT_MAX && XML_Parse(p, xml, (int)len, 1) == XML_STATUS_OK && x.found;
    XML_ParserFree(p);
    if (!ok)
        out[0] = '\0';
    return ok ? 0 : -1;
}

#endif

/* The service's error: for JSON, the X-Amzn-ErrorType header (rest-json),
 * else "__type" (its last '#'-separated part) or "code", and "message"; for
 * XML, <Code> and <Message>; else the HTTP status. */
static attempt_result service_error(const lambda__aws_service *svc, long status,
                                    const response_buf *b, lambda_error *err)
{
    char code[96] = "", message[512] = "";
    int xml = 0;
#ifndef LAMBDA_AWS_JSON_ONLY
    size_t skip = 0;
    while (b->data && skip < b->len && strchr(" \t\r\n", b->data[skip]))
        skip++;
    xml = b->data && skip < b->len && b->data[skip] == '<';
    if (xml) {
        lambda__aws_xml_text(b->data, b->len, "Code", code, sizeof code);
        lambda__aws_xml_text(b->data, b->len, "Message", message, sizeof message);
    }
#endif
    if (!xml && b->data) {
        cJSON *j = cJSON_ParseWithLength(b->data, b->len);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "__type");
        if (!cJSON_IsString(type))
            type = cJSON_GetObjectItemCaseSensitive(j, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
        if (!cJSON_IsString(msg))
            msg = cJSON_GetObjectItemCaseSensitive(j, "Message");
        if (cJSON_IsString(type)) {
            const char *hash = strrchr(type->valuestring, '#');
            copy_str(code, sizeof code, hash ? hash + 1 : type->valuestring);
        }
        if (cJSON_IsString(msg))
            copy_str(message, sizeof message, msg->valuestring);
        cJSON_Delete(j);
    }
    if (b->error_type[0])
        copy_str(code, sizeof code, b->error_type);
    int named = code[0] != '\0';
    if (!named)
        snprintf(code, sizeof code, "HTTP%ld", status);
    lambda_error_set(err, "", "%s (HTTP %ld%s%s)", message[0] ? message : code, status,
                     named ? ", " : "", named ? code : "");
    snprintf(err->type, sizeof err->type, "%s.%s", svc->error_prefix, code);
    if (status == 429 || is_throttling(code))
        return ATTEMPT_RETRY_THROTTLED;
    if (status >= 500)
        return ATTEMPT_RETRY_FAILED;
    return ATTEMPT_FAILED;
}

static attempt_result transport_error(const lambda__aws_service *svc, CURLcode rc,
                                      const char *detail, lambda_error *err)
{
    lambda_error_set(err, "", "%s: %s", curl_easy_strerror(rc), detail[0] ? detail : "no detail");
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        /* A certificate problem does not heal with retries. */
        snprintf(err->type, sizeof err->type, "%s.TlsError", svc->error_prefix);
        return ATTEMPT_FAILED;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        snprintf(err->type, sizeof err->type, "InvalidConfiguration");
        return ATTEMPT_FAILED;
    default:
        snprintf(err->type, sizeof err->type, "%s.Unavailable", svc->error_prefix);
        return ATTEMPT_RETRY_FAILED;
    }
}

/* curl_slist_append() answers NULL when out of memory and leaves the list as
 * it was: keep the list (to free it) and say so, rather than lose it. */
static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *grown = curl_slist_append(*list, line);
    if (!grown)
        return -1;
    *list = grown;
    return 0;
}

/* One request: `operation` set means the JSON protocol (POST / with
 * X-Amz-Target), else rest-json (`method` on `path`). */
typedef struct request {
    const char *operation;
    const char *method;
    const char *path;
    const char *body;
} request;

/* The headers of one attempt, signed by sigv4.c and sent exactly as signed:
 * Content-Type, X-Amz-Target (JSON protocol), X-Amz-Security-Token
 * (temporary credentials), Host (set here, so that curl sends the signed
 * one), X-Amz-Date (now: a retry is signed anew) and the Authorization.
 * libcurl's CURLOPT_AWS_SIGV4 would sign the path as sent, which AWS
 * refuses for escaped paths (sigv4.h). 0, or -1 when out of memory. */
static int signed_headers(const lambda__aws_service *svc, const request *rq, const char *url,
                          struct curl_slist **list)
{
    /* url is endpoint + path; the endpoint was checked to have a scheme. */
    const char *authority = strstr(url, "://") + 3;
    size_t host_len = strcspn(authority, "/");
    const char *target = authority[host_len] ? authority + host_len : "/";
    char host[sizeof svc->endpoint], amz_date[32], action[200];
    snprintf(host, sizeof host, "%.*s", (int)host_len, authority);
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &utc);

    lambda__sigv4_header h[6];
    size_t n = 0;
    h[n++] = (lambda__sigv4_header){"Content-Type", svc->content_type};
    /* The query protocol names the action in the body, not in a header;
     * rest-json names it with the method and path. */
    if (rq->operation && svc->target_prefix[0]) {
        snprintf(action, sizeof action, "%s.%s", svc->target_prefix, rq->operation);
        h[n++] = (lambda__sigv4_header){"X-Amz-Target", action};
    }
    if (svc->session_token[0])
        h[n++] = (lambda__sigv4_header){"X-Amz-Security-Token", svc->session_token};
    h[n++] = (lambda__sigv4_header){"Host", host};
    h[n++] = (lambda__sigv4_header){"X-Amz-Date", amz_date};
    lambda__sigv4_request signing = {rq->method, target,   h,
                                     n,          rq->body, rq->body ? strlen(rq->body) : 0};
    lambda__sigv4_scope scope = {svc->access_key_id, svc->secret_access_key, svc->region,
                                 svc->service, amz_date};
    char auth[sizeof svc->access_key_id + 512];
    if (lambda__sigv4_authorization(&signing, &scope, auth, sizeof auth) != 0)
        return -1;
    h[n++] = (lambda__sigv4_header){"Authorization", auth};
    char line[sizeof svc->session_token + 64];
    for (size_t i = 0; i < n; i++) {
        snprintf(line, sizeof line, "%s: %s", h[i].name, h[i].value);
        if (add_header(list, line) != 0)
            return -1;
    }
    return 0;
}

static attempt_result attempt(const lambda__aws_service *svc, const request *rq, response_buf *b,
                              lambda_error *err)
{
    CURL *h = curl_easy_init();
    if (!h) {
        lambda_error_set(err, "", "curl_easy_init failed");
        snprintf(err->type, sizeof err->type, "%s.Unavailable", svc->error_prefix);
        return ATTEMPT_RETRY_FAILED;
    }
    char *url = malloc(strlen(svc->endpoint) + (rq->path ? strlen(rq->path) : 0) + 2);
    if (!url) {
        curl_easy_cleanup(h);
        lambda_error_set(err, "", "out of memory");
        snprintf(err->type, sizeof err->type, "%s.Unavailable", svc->error_prefix);
        return ATTEMPT_FAILED;
    }
    sprintf(url, "%s%s", svc->endpoint, rq->path ? rq->path : "/");
    struct curl_slist *headers = NULL;
    if (signed_headers(svc, rq, url, &headers) != 0) {
        curl_slist_free_all(headers);
        curl_easy_cleanup(h);
        free(url);
        lambda_error_set(err, "", "out of memory");
        snprintf(err->type, sizeof err->type, "%s.Unavailable", svc->error_prefix);
        return ATTEMPT_FAILED;
    }
    char detail[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (rq->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(rq->body));
    }
    if (rq->method && strcmp(rq->method, "GET") == 0)
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    else if (!rq->body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, b);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, svc->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, svc->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    if (svc->ca_file[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, svc->ca_file);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    free(url);
    if (rc == CURLE_WRITE_ERROR && b->too_large) {
        lambda_error_set(err, "", "the answer exceeds %zu bytes", b->max);
        snprintf(err->type, sizeof err->type, "%s.InvalidResponse", svc->error_prefix);
        return ATTEMPT_FAILED;
    }
    if (rc != CURLE_OK)
        return transport_error(svc, rc, detail, err);
    if (status >= 200 && status < 300)
        return ATTEMPT_OK;
    return service_error(svc, status, b, err);
}

/* The next retry's wait (lambda_backoff, full jitter): through the
 * service's own sleep when it has one (tests skip the time with it). */
static void backoff(const lambda__aws_service *svc, lambda_backoff *wait)
{
    if (!svc->sleep_ms) {
        lambda_backoff_wait(wait);
        return;
    }
    long ms = lambda_backoff_next_ms(wait);
    if (ms >= 0)
        svc->sleep_ms(ms, svc->sleep_data);
}

static int call(const lambda__aws_service *svc, const request *rq, char **response,
                lambda_error *err)
{
    /* Full jitter: a random wait in [0, min(max, base * 2^retry)]. */
    lambda_backoff wait;
    lambda_backoff_init(&wait, (unsigned)(svc->max_attempts > 0 ? svc->max_attempts - 1 : 0),
                        svc->base_delay_ms, svc->max_delay_ms, LAMBDA_BACKOFF_FULL_JITTER);
    attempt_result r = ATTEMPT_FAILED;
    int tries = 0;
    char earlier[256] = "";
    *response = NULL;
    while (tries < svc->max_attempts) {
        if (tries > 0)
            backoff(svc, &wait);
        response_buf b = {0};
        b.max = svc->response_max ? svc->response_max : RESPONSE_MAX;
        r = attempt(svc, rq, &b, err);
        tries++;
        if (r == ATTEMPT_OK) {
            *response = b.data ? b.data : strdup("{}");
            return *response ? 0 : -1;
        }
        free(b.data);
        if (r == ATTEMPT_FAILED) {
            /* A refusal after a retried failure (e.g. a spent token after a
             * timeout whose request did arrive) tells its story with both. */
            if (tries > 1) {
                size_t n = strlen(err->message);
                snprintf(err->message + n, sizeof err->message - n,
                         " (attempt %d; the ones before failed: %s)", tries, earlier);
            }
            return -1;
        }
        if (tries == 1 && snprintf(earlier, sizeof earlier, "%s: %s", err->type, err->message) >=
                              (int)sizeof earlier)
            earlier[sizeof earlier - 1] = '\0';
    }
    /* Retries spent: say so, keeping the last failure's text. */
    /* Truncation is fine here (the message is a diagnostic): the lengths are
     * checked so that the compiler knows it was considered. */
    char last[sizeof err->message];
    if (snprintf(last, sizeof last, "%s: %s", err->type, err->message) >= (int)sizeof last)
        last[sizeof last - 1] = '\0';
    if (rq->operation)
        lambda_error_set(err, "", "%s.%s gave up after %d attempts; last: %s",
                         svc->target_prefix[0] ? svc->target_prefix : svc->error_prefix,
                         rq->operation, tries, last);
    else
        lambda_error_set(err, "", "%s %s gave up after %d attempts; last: %s", rq->method, rq->path,
                         tries, last);
    snprintf(err->type, sizeof err->type, "%s.%s", svc->error_prefix,
             r == ATTEMPT_RETRY_THROTTLED ? "Throttled" : "Unavailable");
    return -1;
}

int lambda__aws_json_call(const lambda__aws_service *svc, const char *operation, const char *body,
                          char **response, lambda_error *err)
{
    request rq = {operation, "POST", "/", body};
    return call(svc, &rq, response, err);
}

int lambda__aws_rest_call(const lambda__aws_service *svc, const char *method, const char *path,
                          const char *body, char **response, lambda_error *err)
{
    request rq = {NULL, method, path, body};
    return call(svc, &rq, response, err);
}

char *lambda__aws_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Function URLs (function_url.h). */
#include "function_url.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "invoke_api.h"
#include "stream.h"
#include "stream_invoke.h"

#define PRELUDE_MAX (64u << 10)
#define SEPARATOR_LEN 8
#define READ_CHUNK (64u << 10)

typedef struct request_parts {
    cJSON *headers; /* lower-case names, repeated values joined by "," */
    cJSON *cookies;
    cJSON *query;
    char *raw_query; /* malloc'd, re-encoded */
    size_t raw_len;
} request_parts;

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void add_joined(cJSON *obj, const char *key, const char *value)
{
    cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!old) {
        cJSON_AddStringToObject(obj, key, value);
        return;
    }
    char *joined = lambda_local_format("%s,%s", old->valuestring, value);
    cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(joined));
    free(joined);
}

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    request_parts *p = cls;
    char *name = lambda_local_strdup(key);
    lower(name);
    if (strcmp(name, "cookie") == 0) {
        /* 2.0 events carry cookies apart: "a=b; c=d" -> ["a=b","c=d"]. */
        char *copy = lambda_local_strdup(value ? value : ""), *save = NULL;
        for (char *c = strtok_r(copy, ";", &save); c; c = strtok_r(NULL, ";", &save)) {
            while (*c == ' ')
                c++;
            if (*c)
                cJSON_AddItemToArray(p->cookies, cJSON_CreateString(c));
        }
        free(copy);
    } else {
        add_joined(p->headers, name, value ? value : "");
    }
    free(name);
    return MHD_YES;
}

static void append_raw(request_parts *p, const char *s, size_t n)
{
    p->raw_query = realloc(p->raw_query, p->raw_len + n + 1);
    if (!p->raw_query)
        abort();
    memcpy(p->raw_query + p->raw_len, s, n);
    p->raw_len += n;
    p->raw_query[p->raw_len] = '\0';
}

/* Percent-encodes all but RFC 3986's unreserved characters. */
static void append_encoded(request_parts *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            append_raw(p, (const char *)&c, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            append_raw(p, esc, 3);
        }
    }
}

/* MHD gives the query decoded: rawQueryString is rebuilt from it, in
 * order. */
static enum MHD_Result on_argument(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    request_parts *p = cls;
    if (p->raw_len)
        append_raw(p, "&", 1);
    append_encoded(p, key);
    if (value) {
        append_raw(p, "=", 1);
        append_encoded(p, value);
    }
    add_joined(p->query, key, value ? value : "");
    return MHD_YES;
}

static bool textual(const char *content_type)
{
    static const char *const kinds[] = {"text/", "application/json", "application/xml",
                                        "application/javascript",
                                        "application/x-www-form-urlencoded"};
    if (!content_type)
        return true;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strncasecmp(content_type, kinds[i], strlen(kinds[i])) == 0)
            return true;
    return false;
}

static char *base64(const unsigned char *data, size_t len)
{
    char *out = lambda_local_calloc(1, 4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

static void source_ip(struct MHD_Connection *conn, char *out, size_t size)
{
    snprintf(out, size, "127.0.0.1");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info && info->client_addr && info->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)info->client_addr)->sin_addr, out,
                  (socklen_t)size);
}

/* The payload format 2.0 event Lambda builds for a Function URL request. */
static char *build_event(struct MHD_Connection *conn, const lambda_local_function *fn,
                         const char *method, const char *path, lambda_local_body *body, size_t *len)
{
    request_parts p = {cJSON_CreateObject(), cJSON_CreateArray(), cJSON_CreateObject(), NULL, 0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, &p);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_argument, &p);

    char url_id[64], domain[160], request_id[37], when[64], ip[64];
    snprintf(url_id, sizeof url_id, "lambdalocal%.40s", fn->name);
    lower(url_id);
    snprintf(domain, sizeof domain, "%s.lambda-url.%s.on.aws", url_id, lambda_local_globals.region);
    lambda_local_uuid(request_id);
    int64_t now = lambda_local_wall_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    source_ip(conn, ip, sizeof ip);
    const cJSON *ua = cJSON_GetObjectItemCaseSensitive(p.headers, "user-agent");

    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "version", "2.0");
    cJSON_AddStringToObject(e, "routeKey", "$default");
    cJSON_AddStringToObject(e, "rawPath", path);
    cJSON_AddStringToObject(e, "rawQueryString", p.raw_query ? p.raw_query : "");
    if (cJSON_GetArraySize(p.cookies) > 0)
        cJSON_AddItemToObject(e, "cookies", p.cookies);
    else
        cJSON_Delete(p.cookies);
    cJSON_AddItemToObject(e, "headers", p.headers);
    if (cJSON_GetArraySize(p.query) > 0)
        cJSON_AddItemToObject(e, "queryStringParameters", p.query);
    else
        cJSON_Delete(p.query);
    cJSON *rc = cJSON_AddObjectToObject(e, "requestContext");
    cJSON_AddStringToObject(rc, "accountId",
                            fn->url_iam ? lambda_local_globals.account : "anonymous");
    cJSON_AddStringToObject(rc, "apiId", url_id);
    cJSON_AddStringToObject(rc, "domainName", domain);
    cJSON_AddStringToObject(rc, "domainPrefix", url_id);
    cJSON *http = cJSON_AddObjectToObject(rc, "http");
    cJSON_AddStringToObject(http, "method", method);
    cJSON_AddStringToObject(http, "path", path);
    cJSON_AddStringToObject(http, "protocol", "HTTP/1.1");
    cJSON_AddStringToObject(http, "sourceIp", ip);
    cJSON_AddStringToObject(http, "userAgent", cJSON_IsString(ua) ? ua->valuestring : "");
    cJSON_AddStringToObject(rc, "requestId", request_id);
    cJSON_AddStringToObject(rc, "routeKey", "$default");
    cJSON_AddStringToObject(rc, "stage", "$default");
    cJSON_AddStringToObject(rc, "time", when);
    cJSON_AddNumberToObject(rc, "timeEpoch", (double)now);

    size_t body_len = 0;
    char *data = lambda_local_body_take(body, &body_len);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(p.headers, "content-type");
    bool text = textual(cJSON_IsString(ct) ? ct->valuestring : NULL);
    if (body_len > 0) {
        char *encoded = text ? NULL : base64((const unsigned char *)data, body_len);
        cJSON_AddStringToObject(e, "body", text ? data : encoded);
        free(encoded);
    }
    cJSON_AddBoolToObject(e, "isBase64Encoded", body_len > 0 && !text);
    free(data);
    free(p.raw_query);
    char *json = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    if (!json)
        abort();
    *len = strlen(json);
    return json;
}

static enum MHD_Result plain(struct MHD_Connection *conn, unsigned status, const char *text)
{
    const char *headers[] = {"Content-Type", "text/plain", NULL};
    return lambda_local_http_send(conn, status, lambda_local_strdup(text), strlen(text), headers);
}

/* Status, headers and Set-Cookie lines from a prelude or a 2.0 response. */
static unsigned apply_http(struct MHD_Response *res, const cJSON *doc)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "statusCode");
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(doc, "headers");
    const cJSON *cookies = cJSON_GetObjectItemCaseSensitive(doc, "cookies");
    const cJSON *it;
    cJSON_ArrayForEach(it, headers)
    {
        if (cJSON_IsString(it))
            MHD_add_response_header(res, it->string, it->valuestring);
    }
    cJSON_ArrayForEach(it, cookies)
    {
        if (cJSON_IsString(it))
            MHD_add_response_header(res, "Set-Cookie", it->valuestring);
    }
    int code = cJSON_IsNumber(status) ? (int)status->valuedouble : 200;
    return code >= 100 && code <= 599 ? (unsigned)code : 200;
}

/* Where the 8 NULs after a prelude start, or NULL. */
static const char *find_separator(const char *p, size_t len)
{
    static const char nuls[SEPARATOR_LEN] = {0};
    for (size_t i = 0; i + SEPARATOR_LEN <= len; i++)
        if (p[i] == 0 && memcmp(p + i, nuls, SEPARATOR_LEN) == 0)
            return p + i;
    return NULL;
}

static enum MHD_Result queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *res)
{
    enum MHD_Result r = MHD_queue_response(conn, status, res);
    MHD_destroy_response(res);
    return r;
}

/* A complete result: a 2.0 response object, a streamed body with its
 * prelude, or a plain JSON body. */
static enum MHD_Result answer_buffered(struct MHD_Connection *conn, lambda_local_invocation *inv)
{
    if (inv->function_error)
        return plain(conn, 502, "Internal Server Error");
    const char *sep = inv->result_len && inv->result[0] == '{'
                          ? find_separator(inv->result, inv->result_len)
                          : NULL;
    cJSON *doc = sep ? cJSON_ParseWithLength(inv->result, (size_t)(sep - inv->result))
                     : cJSON_ParseWithLength(inv->result, inv->result_len);
    struct MHD_Response *res;
    unsigned status = 200;
    if (sep && doc) { /* a streamed response with its prelude */
        size_t off = (size_t)(sep - inv->result) + SEPARATOR_LEN;
        res = MHD_create_response_from_buffer(inv->result_len - off, inv->result + off,
                                              MHD_RESPMEM_MUST_COPY);
        if (res)
            status = apply_http(res, doc);
    } else if (cJSON_IsObject(doc) && cJSON_GetObjectItemCaseSensitive(doc, "statusCode")) {
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(doc, "body");
        const char *text = cJSON_IsString(body) ? body->valuestring : "";
        size_t n = strlen(text);
        unsigned char *bytes = (unsigned char *)lambda_local_strdup(text);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "isBase64Encoded")) && n % 4 == 0) {
            int got = EVP_DecodeBlock(bytes, (const unsigned char *)text, (int)n);
            for (size_t i = n; got > 0 && i > 0 && text[i - 1] == '='; i--)
                got--;
            n = got > 0 ? (size_t)got : 0;
        }
        res = MHD_create_response_from_buffer(n, bytes, MHD_RESPMEM_MUST_FREE);
        if (res)
            status = apply_http(res, doc);
        else
            free(bytes);
    } else {
        res = MHD_create_response_from_buffer(inv->result_len, inv->result, MHD_RESPMEM_MUST_COPY);
        if (res)
            MHD_add_response_header(res, "Content-Type", "application/json");
    }
    cJSON_Delete(doc);
    return res ? queue(conn, status, res) : MHD_NO;
}

typedef struct url_reader {
    lambda_local_invocation *inv;
    char *pending; /* body bytes read along with the prelude */
    size_t pending_len, pending_off;
    bool finished;
} url_reader;

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    url_reader *r = cls;
    if (r->pending_off < r->pending_len) {
        size_t n = r->pending_len - r->pending_off < max ? r->pending_len - r->pending_off : max;
        memcpy(buf, r->pending + r->pending_off, n);
        r->pending_off += n;
        return (ssize_t)n;
    }
    size_t n = lambda_local_stream_read(r->inv, buf, max);
    if (n)
        return (ssize_t)n;
    r->finished = true;
    /* An error after the first byte: Lambda cuts the response off. */
    return r->inv->function_error ? MHD_CONTENT_READER_END_WITH_ERROR
                                  : MHD_CONTENT_READER_END_OF_STREAM;
}

static void free_url_reader(void *cls)
{
    url_reader *r = cls;
    if (!r->finished)
        lambda_local_stream_reader_gone(r->inv);
    lambda_local_invocation_release(r->inv);
    free(r->pending);
    free(r);
}

/* RESPONSE_STREAM: headers once the prelude (if any) is in, then the body
 * as it comes. */
static enum MHD_Result answer_streamed(struct MHD_Connection *conn, lambda_local_invocation *inv)
{
    char content_type[256];
    if (!lambda_local_stream_wait_start(inv, content_type, sizeof content_type)) {
        enum MHD_Result r = answer_buffered(conn, inv);
        lambda_local_invocation_release(inv);
        return r;
    }
    url_reader *r = lambda_local_calloc(1, sizeof *r);
    r->inv = inv;
    cJSON *prelude = NULL;
    if (strcmp(content_type, LAMBDA_LOCAL_HTTP_INTEGRATION) == 0) {
        /* Read until the 8 NULs; what follows them is body. */
        r->pending = lambda_local_calloc(1, PRELUDE_MAX + READ_CHUNK);
        const char *sep = NULL;
        while (!sep && r->pending_len < PRELUDE_MAX) {
            size_t n = lambda_local_stream_read(inv, r->pending + r->pending_len, READ_CHUNK);
            if (n == 0)
                break;
            size_t from = r->pending_len >= SEPARATOR_LEN ? r->pending_len - SEPARATOR_LEN + 1 : 0;
            r->pending_len += n;
            sep = find_separator(r->pending + from, r->pending_len - from);
        }
        if (sep)
            prelude = cJSON_ParseWithLength(r->pending, (size_t)(sep - r->pending));
        if (!prelude) {
            lambda_local_log_line("RequestId: %s Error: the streamed HTTP response has no valid "
                                  "prelude",
                                  inv->request_id);
            r->finished = inv->done;
            free_url_reader(r);
            return plain(conn, 502, "Internal Server Error");
        }
        r->pending_off = (size_t)(sep - r->pending) + SEPARATOR_LEN;
    }
    struct MHD_Response *res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, READ_CHUNK,
                                                                 read_body, r, free_url_reader);
    if (!res) {
        cJSON_Delete(prelude);
        free_url_reader(r);
        return MHD_NO;
    }
    unsigned status = 200;
    if (prelude)
        status = apply_http(res, prelude);
    else
        MHD_add_response_header(res, "Content-Type", content_type);
    cJSON_Delete(prelude);
    return queue(conn, status, res);
}

static bool authorized(struct MHD_Connection *conn, const lambda_local_function *fn)
{
    if (!fn->url_iam)
        return true;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    return auth && strncmp(auth, "AWS4-HMAC-SHA256 ", 17) == 0;
}

enum MHD_Result lambda_local_function_url(lambda_local_pool *const *pools, size_t count,
                                          struct MHD_Connection *conn, const char *url,
                                          const char *method, lambda_local_body *body)
{
    const char *name = url + strlen(LAMBDA_LOCAL_URL_PREFIX);
    const char *slash = strchr(name, '/');
    char *fn_name =
        lambda_local_format("%.*s", (int)(slash ? (size_t)(slash - name) : strlen(name)), name);
    const char *path = slash ? slash : "/";
    char *arn = NULL;
    lambda_local_pool *pool = lambda_local_find_pool(pools, count, fn_name, NULL, &arn);
    const lambda_local_function *fn = pool ? lambda_local_pool_function(pool) : NULL;
    free(fn_name);
    if (!fn || fn->url_mode == LAMBDA_LOCAL_URL_NONE) {
        free(arn);
        return plain(conn, 404, "Not Found: no function with a FunctionUrlConfig at this path");
    }
    if (!authorized(conn, fn)) {
        free(arn);
        const char *headers[] = {"Content-Type", "application/json", "x-amzn-ErrorType",
                                 "AccessDeniedException", NULL};
        char *msg = lambda_local_strdup("{\"Message\":\"Forbidden\"}");
        return lambda_local_http_send(conn, 403, msg, strlen(msg), headers);
    }
    if (body->too_large) {
        free(arn);
        return plain(conn, 413, "Request Entity Too Large");
    }
    size_t len = 0;
    char *event = build_event(conn, fn, method, path, body, &len);
    lambda_local_invocation *inv = lambda_local_invocation_new(event, len);
    free(event);
    inv->invoked_arn = arn;
    bool streaming = fn->url_mode == LAMBDA_LOCAL_URL_RESPONSE_STREAM;
    if (streaming)
        lambda_local_stream_attach(inv);
    lambda_local_pool_submit(pool, inv);
    if (streaming)
        return answer_streamed(conn, inv); /* takes our reference */
    lambda_local_invocation_wait(inv);
    enum MHD_Result r = answer_buffered(conn, inv);
    lambda_local_invocation_release(inv);
    return r;
}

/*
 * S3's XML responses (ListObjectsV2 pages, multipart replies, errors),
 * parsed with expat. Each parser tracks the element it is inside and
 * collects that element's text; nothing here searches strings for tags.
 */
#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* Collected text of the innermost element (S3's values are short). */
typedef struct xml_text {
    char buf[LAMBDA_S3_XML_TEXT_MAX];
    size_t len;
    int overflow;
} xml_text;

static void text_reset(xml_text *t)
{
    t->len = 0;
    t->overflow = 0;
    t->buf[0] = '\0';
}

static void text_add(xml_text *t, const XML_Char *s, int len)
{
    if (len <= 0)
        return;
    if (t->len + (size_t)len >= sizeof t->buf) {
        t->overflow = 1;
        return;
    }
    memcpy(t->buf + t->len, s, (size_t)len);
    t->len += (size_t)len;
    t->buf[t->len] = '\0';
}

/* Element names may come namespaced ("uri name" is not used since we do not
 * ask for namespace processing), so compare the local part only. */
static const char *local_name(const XML_Char *name)
{
    const char *colon = strrchr(name, ':');
    return colon ? colon + 1 : name;
}

static int run_parser(XML_Parser p, const char *xml, size_t len)
{
    int ok = XML_Parse(p, xml, (int)len, 1) == XML_STATUS_OK;
    return ok ? 0 : -1;
}

/* ---- ListObjectsV2 ---- */

typedef struct list_state {
    XML_Parser parser;
    lambda_s3_list_page *page;
    lambda_store_list_fn fn;
    void *ud;
    xml_text text;
    int depth;
    int in_contents;
    char key[LAMBDA_S3_FULL_KEY_MAX];
    int have_key;
    uint64_t size;
    int have_size;
    int bad;
} list_state;

static void XMLCALL list_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    list_state *st = ud;
    st->depth++;
    text_reset(&st->text);
    if (st->depth == 2 && strcmp(local_name(name), "Contents") == 0) {
        st->in_contents = 1;
        st->have_key = st->have_size = 0;
    }
}

static void XMLCALL list_end(void *ud, const XML_Char *name)
{
    list_state *st = ud;
    const char *n = local_name(name);
    if (st->in_contents && st->depth == 3) {
        if (strcmp(n, "Key") == 0) {
            if (st->text.overflow || st->text.len >= sizeof st->key)
                st->bad = 1;
            else
                memcpy(st->key, st->text.buf, st->text.len + 1);
            st->have_key = 1;
        } else if (strcmp(n, "Size") == 0) {
            char *end;
            st->size = strtoull(st->text.buf, &end, 10);
            st->have_size = end != st->text.buf && *end == '\0';
        }
    } else if (st->in_contents && st->depth == 2) {
        st->in_contents = 0;
        if (!st->have_key || !st->have_size || st->bad) {
            st->bad = 1;
        } else if (!st->page->stopped) {
            snprintf(st->page->last_key, sizeof st->page->last_key, "%s", st->key);
            st->page->count++;
            if (st->fn(st->key, st->size, st->ud)) {
                st->page->stopped = 1;
                XML_StopParser(st->parser, XML_FALSE);
            }
        }
    } else if (st->depth == 2) {
        if (strcmp(n, "IsTruncated") == 0)
            st->page->truncated = strcmp(st->text.buf, "true") == 0;
        else if (strcmp(n, "NextContinuationToken") == 0 && !st->text.overflow)
            snprintf(st->page->next_token, sizeof st->page->next_token, "%s", st->text.buf);
    }
    text_reset(&st->text);
    st->depth--;
}

static void XMLCALL list_text(void *ud, const XML_Char *s, int len)
{
    list_state *st = ud;
    text_add(&st->text, s, len);
}

lambda_store_status lambda_s3_parse_list(const char *xml, size_t len, lambda_s3_list_page *page,
                                         lambda_store_list_fn fn, void *ud, lambda_error *err)
{
    memset(page, 0, sizeof *page);
    list_state *st = calloc(1, sizeof *st);
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!st || !p) {
        free(st);
        if (p)
            XML_ParserFree(p);
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    }
    st->parser = p;
    st->page = page;
    st->fn = fn;
    st->ud = ud;
    XML_SetUserData(p, st);
    XML_SetElementHandler(p, list_start, list_end);
    XML_SetCharacterDataHandler(p, list_text);
    int rc = run_parser(p, xml, len);
    if (page->stopped)
        rc = 0; /* XML_StopParser reports an error status */
    int bad = st->bad;
    XML_ParserFree(p);
    free(st);
    if (rc != 0 || bad)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "malformed S3 listing response");
    if (page->truncated && !page->next_token[0] && !page->last_key[0])
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE,
                                 "truncated S3 listing without a continuation token");
    return LAMBDA_STORE_OK;
}

/* ---- <Error> documents and single values ---- */

typedef struct find_state {
    xml_text text;
    int depth;
    const char *want; /* element to capture (find) */
    char *out;
    size_t out_len;
    int found;
    int root_is_error; /* error parser: root element was <Error> */
    char *code;
    size_t code_len;
    char *message;
    size_t message_len;
} find_state;

static void XMLCALL find_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    find_state *st = ud;
    st->depth++;
    text_reset(&st->text);
    if (st->depth == 1 && strcmp(local_name(name), "Error") == 0)
        st->root_is_error = 1;
}

static void XMLCALL find_end(void *ud, const XML_Char *name)
{
    find_state *st = ud;
    const char *n = local_name(name);
    if (st->want && !st->found && strcmp(n, st->want) == 0 && !st->text.overflow) {
        snprintf(st->out, st->out_len, "%s", st->text.buf);
        st->found = 1;
    }
    if (st->root_is_error && st->depth == 2) {
        if (strcmp(n, "Code") == 0 && st->code)
            snprintf(st->code, st->code_len, "%s", st->text.buf);
        else if (strcmp(n, "Message") == 0 && st->message)
            snprintf(st->message, st->message_len, "%s", st->text.buf);
    }
    text_reset(&st->text);
    st->depth--;
}

static void XMLCALL find_text(void *ud, const XML_Char *s, int len)
{
    find_state *st = ud;
    text_add(&st->text, s, len);
}

static int run_find(find_state *st, const char *xml, size_t len)
{
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!p)
        return -1;
    XML_SetUserData(p, st);
    XML_SetElementHandler(p, find_start, find_end);
    XML_SetCharacterDataHandler(p, find_text);
    int rc = run_parser(p, xml, len);
    XML_ParserFree(p);
    return rc;
}

int lambda_s3_parse_error(const char *xml, size_t len, char *code, size_t code_len, char *message,
                          size_t message_len)
{
    if (!xml || len == 0)
        return 0;
    find_state *st = calloc(1, sizeof *st);
    if (!st)
        return 0;
    code[0] = '\0';
    message[0] = '\0';
    st->code = code;
    st->code_len = code_len;
    st->message = message;
    st->message_len = message_len;
    int rc = run_find(st, xml, len);
    int is_error = rc == 0 && st->root_is_error && code[0];
    free(st);
    return is_error;
}

int lambda_s3_parse_text(const char *xml, size_t len, const char *name, char *out, size_t out_len)
{
    find_state *st = calloc(1, sizeof *st);
    if (!st)
        return -1;
    st->want = name;
    st->out = out;
    st->out_len = out_len;
    int rc = run_find(st, xml, len);
    int found = rc == 0 && st->found;
    free(st);
    return found ? 0 : -1;
}

/* ---- DeleteObjects ---- */

/* `s` XML-escaped (the five predefined entities), appended to `out`. */
static int add_escaped(lambda_store_buf *out, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        const char *rep = *s == '&'    ? "&amp;"
                          : *s == '<'  ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&apos;"
                                       : NULL;
        rc = rep ? lambda_store_buf_adds(out, rep) : lambda_store_buf_add(out, s, 1);
    }
    return rc;
}

int lambda_s3_delete_body(const char *const *keys, size_t n, lambda_store_buf *out)
{
    int rc = lambda_store_buf_adds(out, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                        "<Quiet>true</Quiet>");
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = lambda_store_buf_adds(out, "<Object><Key>");
        rc = rc ? rc : add_escaped(out, keys[i]);
        rc = rc ? rc : lambda_store_buf_adds(out, "</Key></Object>");
    }
    return rc ? rc : lambda_store_buf_adds(out, "</Delete>");
}

/* The collected text, cut to fit `out`. */
static void text_copy(const xml_text *t, char *out, size_t out_len)
{
    size_t n = t->len < out_len - 1 ? t->len : out_len - 1;
    memcpy(out, t->buf, n);
    out[n] = '\0';
}

typedef struct delete_state {
    xml_text text;
    int depth;
    int root_ok;  /* root element is <DeleteResult> */
    int in_error; /* inside a depth-2 <Error> */
    char key[LAMBDA_S3_FULL_KEY_MAX], code[LAMBDA_S3_ERROR_CODE_MAX];
    char message[LAMBDA_S3_ERROR_MESSAGE_MAX];
    int errors;
    lambda_s3_delete_error_fn fn;
    void *ud;
} delete_state;

static void XMLCALL delete_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    delete_state *st = ud;
    st->depth++;
    text_reset(&st->text);
    const char *n = local_name(name);
    if (st->depth == 1) {
        st->root_ok = strcmp(n, "DeleteResult") == 0;
    } else if (st->depth == 2 && strcmp(n, "Error") == 0) {
        st->in_error = 1;
        st->key[0] = st->code[0] = st->message[0] = '\0';
    }
}

static void XMLCALL delete_end(void *ud, const XML_Char *name)
{
    delete_state *st = ud;
    const char *n = local_name(name);
    if (st->in_error && st->depth == 3) {
        if (strcmp(n, "Key") == 0)
            text_copy(&st->text, st->key, sizeof st->key);
        else if (strcmp(n, "Code") == 0)
            text_copy(&st->text, st->code, sizeof st->code);
        else if (strcmp(n, "Message") == 0)
            text_copy(&st->text, st->message, sizeof st->message);
    } else if (st->in_error && st->depth == 2) {
        st->in_error = 0;
        st->errors++;
        if (st->fn)
            st->fn(st->key, st->code[0] ? st->code : "no error code", st->message, st->ud);
    }
    text_reset(&st->text);
    st->depth--;
}

static void XMLCALL delete_text(void *ud, const XML_Char *s, int len)
{
    delete_state *st = ud;
    text_add(&st->text, s, len);
}

int lambda_s3_parse_delete_result(const char *xml, size_t len, lambda_s3_delete_error_fn fn,
                                  void *ud, lambda_error *err)
{
    delete_state *st = calloc(1, sizeof *st);
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (!st || !p) {
        free(st);
        if (p)
            XML_ParserFree(p);
        lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return -1;
    }
    st->fn = fn;
    st->ud = ud;
    XML_SetUserData(p, st);
    XML_SetElementHandler(p, delete_start, delete_end);
    XML_SetCharacterDataHandler(p, delete_text);
    int rc = len ? run_parser(p, xml, len) : -1;
    int errors = rc == 0 && st->root_ok ? st->errors : -1;
    XML_ParserFree(p);
    free(st);
    if (errors < 0)
        lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "malformed S3 DeleteObjects response");
    return errors;
}

int lambda_s3_uri_encode(lambda_store_buf *out, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    if (lambda_store_buf_reserve(out, 3 * strlen(s)) != 0)
        return -1;
    char *o = out->data + out->len;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        int unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved || (keep_slash && c == '/')) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    out->len = (size_t)(o - out->data);
    return 0;
}

/*
 * SigV4 header signing (AWS's "Create a signed AWS API request"), for every
 * service but S3: the canonical request is written to a memory stream, the
 * signing key is the HMAC chain over date, region, service and
 * "aws4_request". See sigv4.h for why libcurl does not sign these requests.
 */
#define _POSIX_C_SOURCE 200809L
#include "sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_HEX_LEN 64

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

static void hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* s[0..n) URI-encoded as SigV4 wants: unreserved bytes as they are, every
 * other byte as %XX (upper-case hex). */
static void put_encoded(FILE *f, const char *s, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            fputc(c, f);
        } else {
            fputc('%', f);
            fputc(digits[c >> 4], f);
            fputc(digits[c & 15], f);
        }
    }
}

/* ---- canonical URI ---- */

/* The sent path with "." and ".." segments and empty segments (repeated
 * slashes) removed, as AWS normalizes it for every service but S3, then each
 * segment encoded once more: a sent "%3A" is signed as "%253A". */
static int put_canonical_uri(FILE *f, const char *path, size_t len)
{
    /* Where each kept segment starts and how long it is. */
    size_t max = 1;
    for (size_t i = 0; i < len; i++)
        max += path[i] == '/';
    size_t(*segs)[2] = malloc(max * sizeof *segs);
    if (!segs)
        return -1;
    size_t count = 0;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        size_t n = j - i;
        if (n == 2 && path[i] == '.' && path[i + 1] == '.') {
            if (count > 0)
                count--;
        } else if (n > 0 && !(n == 1 && path[i] == '.')) {
            segs[count][0] = i;
            segs[count][1] = n;
            count++;
        }
        i = j + 1;
    }
    fputc('/', f);
    for (size_t k = 0; k < count; k++) {
        if (k > 0)
            fputc('/', f);
        put_encoded(f, path + segs[k][0], segs[k][1]);
    }
    if (count > 0 && len > 0 && path[len - 1] == '/')
        fputc('/', f);
    free(segs);
    return 0;
}

/* ---- canonical query string ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* s[0..n) percent-decoded (a '%' without two hex digits stays itself) and
 * encoded again: one spelling for what the sender may have escaped or not.
 * malloc'd, or NULL when out of memory. */
static char *reencode(const char *s, size_t n)
{
    char *raw = malloc(n + 1);
    if (!raw)
        return NULL;
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            raw[r++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            raw[r++] = s[i];
        }
    }
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    if (f) {
        put_encoded(f, raw, r);
        int bad = ferror(f);
        if (fclose(f) != 0 || bad) {
            free(out);
            out = NULL;
        } else if (!out) {
            out = strdup(""); /* nothing was written: an empty name or value */
        }
    }
    free(raw);
    return out;
}

typedef struct query_param {
    char *name, *value; /* encoded */
} query_param;

static int compare_params(const void *a, const void *b)
{
    const query_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static int put_canonical_query(FILE *f, const char *query)
{
    size_t max = 1;
    for (const char *p = query; *p; p++)
        max += *p == '&';
    query_param *params = calloc(max, sizeof *params);
    if (!params)
        return -1;
    size_t count = 0;
    int rc = 0;
    for (const char *p = query; *p && rc == 0;) {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            size_t name_len = eq ? (size_t)(eq - p) : n;
            params[count].name = reencode(p, name_len);
            params[count].value = eq ? reencode(eq + 1, n - name_len - 1) : strdup("");
            if (!params[count].name || !params[count].value)
                rc = -1;
            count++;
        }
        p += n + (end ? 1 : 0);
    }
    if (rc == 0) {
        qsort(params, count, sizeof *params, compare_params);
        for (size_t i = 0; i < count; i++)
            fprintf(f, "%s%s=%s", i ? "&" : "", params[i].name, params[i].value);
    }
    for (size_t i = 0; i < count; i++) {
        free(params[i].name);
        free(params[i].value);
    }
    free(params);
    return rc;
}

/* ---- canonical headers ---- */

typedef struct header_entry {
    char *name; /* lower-cased */
    const char *value;
    size_t order; /* the position as given: values of one name keep it */
} header_entry;

static int compare_headers(const void *a, const void *b)
{
    const header_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value trimmed, each inner run of white space written as one space. */
static void put_trimmed(FILE *f, const char *v)
{
    int pending = 0, started = 0;
    for (; *v; v++) {
        if (is_space(*v)) {
            pending = started;
            continue;
        }
        if (pending)
            fputc(' ', f);
        pending = 0;
        started = 1;
        fputc(*v, f);
    }
}

/* Writes the canonical headers to `f` and the signed-header list to `names`. */
static int put_canonical_headers(FILE *f, FILE *names, const lambda__sigv4_header *headers,
                                 size_t count)
{
    header_entry *e = calloc(count ? count : 1, sizeof *e);
    if (!e)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        e[i].name = strdup(headers[i].name);
        e[i].value = headers[i].value ? headers[i].value : "";
        e[i].order = i;
        if (!e[i].name)
            rc = -1;
        for (char *c = e[i].name; c && *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    }
    if (rc == 0) {
        qsort(e, count, sizeof *e, compare_headers);
        for (size_t i = 0; i < count; i++) {
            int first = i == 0 || strcmp(e[i].name, e[i - 1].name) != 0;
            int last = i + 1 == count || strcmp(e[i].name, e[i + 1].name) != 0;
            if (first) {
                fprintf(f, "%s:", e[i].name);
                fprintf(names, "%s%s", i ? ";" : "", e[i].name);
            } else {
                fputc(',', f);
            }
            put_trimmed(f, e[i].value);
            if (last)
                fputc('\n', f);
        }
    }
    for (size_t i = 0; i < count; i++)
        free(e[i].name);
    free(e);
    return rc;
}

/* ---- the canonical request ---- */

/* Closes a memory stream: 0 with its text in *text, or -1 (text freed). */
static int close_stream(FILE *f, char **text, int failed)
{
    failed |= ferror(f);
    if (fclose(f) != 0 || failed) {
        free(*text);
        *text = NULL;
        return -1;
    }
    return 0;
}

/* The canonical request, and the signed-header list in *signed_headers. */
static char *canonical(const lambda__sigv4_request *rq, char **signed_headers)
{
    char *text = NULL, *names = NULL;
    size_t text_len = 0, names_len = 0;
    *signed_headers = NULL;
    FILE *f = open_memstream(&text, &text_len);
    if (!f)
        return NULL;
    FILE *nf = open_memstream(&names, &names_len);
    if (!nf) {
        close_stream(f, &text, 1);
        return NULL;
    }
    const char *target = rq->target && *rq->target ? rq->target : "/";
    const char *q = strchr(target, '?');
    size_t path_len = q ? (size_t)(q - target) : strlen(target);

    fprintf(f, "%s\n", rq->method);
    int failed = put_canonical_uri(f, target, path_len);
    fputc('\n', f);
    if (!failed && q)
        failed = put_canonical_query(f, q + 1);
    fputc('\n', f);
    if (!failed)
        failed = put_canonical_headers(f, nf, rq->headers, rq->header_count);
    if (close_stream(nf, &names, failed) != 0)
        failed = 1;
    unsigned char digest[32];
    char payload_hex[SHA256_HEX_LEN + 1];
    lambda__sigv4_sha256(rq->payload ? rq->payload : "", rq->payload ? rq->payload_len : 0, digest);
    hex(digest, sizeof digest, payload_hex);
    if (!failed)
        fprintf(f, "\n%s\n%s", names, payload_hex);
    if (close_stream(f, &text, failed) != 0) {
        free(names);
        return NULL;
    }
    *signed_headers = names;
    return text;
}

char *lambda__sigv4_canonical_request(const lambda__sigv4_request *rq)
{
    char *names;
    char *text = canonical(rq, &names);
    free(names);
    return text;
}

/* ---- string to sign, signing key, Authorization ---- */

static int valid_amz_date(const char *d)
{
    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return 0;
    for (int i = 0; i < 15; i++)
        if (i != 8 && (d[i] < '0' || d[i] > '9'))
            return 0;
    return 1;
}

/* key = HMAC(key, text), through a second buffer (no aliasing of key and
 * output in the library call). */
static void hmac_step(unsigned char key[32], const char *text)
{
    unsigned char next[32];
    lambda__sigv4_hmac_sha256(key, 32, text, strlen(text), next);
    memcpy(key, next, 32);
    memset(next, 0, sizeof next);
}

int lambda__sigv4_authorization(const lambda__sigv4_request *rq, const lambda__sigv4_scope *scope,
                                char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (!valid_amz_date(scope->amz_date))
        return -1;
    char date[9];
    memcpy(date, scope->amz_date, 8);
    date[8] = '\0';

    char *names;
    char *creq = canonical(rq, &names);
    if (!creq)
        return -1;
    unsigned char digest[32];
    char creq_hex[65];
    lambda__sigv4_sha256(creq, strlen(creq), digest);
    hex(digest, sizeof digest, creq_hex);
    free(creq);

    char *credential_scope = NULL, *to_sign = NULL;
    size_t n;
    FILE *f = open_memstream(&credential_scope, &n);
    if (!f) {
        free(names);
        return -1;
    }
    fprintf(f, "%s/%s/%s/aws4_request", date, scope->region, scope->service);
    if (close_stream(f, &credential_scope, 0) != 0 || !(f = open_memstream(&to_sign, &n))) {
        free(credential_scope);
        free(names);
        return -1;
    }
    fprintf(f, "AWS4-HMAC-SHA256\n%s\n%s\n%s", scope->amz_date, credential_scope, creq_hex);
    if (close_stream(f, &to_sign, 0) != 0) {
        free(credential_scope);
        free(names);
        return -1;
    }

    /* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
     * "aws4_request"); the signature is HMAC(kSigning, string to sign). */
    size_t secret_len = strlen(scope->secret_access_key);
    char *secret = malloc(secret_len + 5);
    int rc = -1;
    if (secret) {
        memcpy(secret, "AWS4", 4);
        memcpy(secret + 4, scope->secret_access_key, secret_len + 1);
        unsigned char k[32], sig[32];
        char sig_hex[65];
        lambda__sigv4_hmac_sha256(secret, secret_len + 4, date, strlen(date), k);
        hmac_step(k, scope->region);
        hmac_step(k, scope->service);
        hmac_step(k, "aws4_request");
        lambda__sigv4_hmac_sha256(k, sizeof k, to_sign, strlen(to_sign), sig);
        hex(sig, sizeof sig, sig_hex);
        int w =
            snprintf(out, cap, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
                     scope->access_key_id, credential_scope, names, sig_hex);
        rc = w >= 0 && (size_t)w < cap ? 0 : -1;
        if (rc != 0 && cap > 0)
            out[0] = '\0';
        /* Key material does not stay behind in freed or stack memory. */
        memset(k, 0, sizeof k);
        memset(secret, 0, secret_len + 4);
        free(secret);
    }
    free(to_sign);
    free(credential_scope);
    free(names);
    return rc;
}

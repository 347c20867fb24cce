/*
 * S3 backend, listing: ListObjectsV2 pages of 1,000 keys followed by their
 * continuation tokens (or StartAfter the last key, for servers that send
 * none), each page parsed with expat (s3_xml.c) and handed on key by key
 * with the store prefix taken off.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "s3_internal.h"

typedef struct list_ctx {
    const s3_store *s;
    lambda_store_list_fn fn;
    void *ud;
} list_ctx;

static int strip_prefix(const char *key, uint64_t size, void *ud)
{
    list_ctx *lc = ud;
    const char *p = lc->s->base.loc.prefix;
    size_t pl = strlen(p);
    if (pl) {
        if (strncmp(key, p, pl) != 0 || key[pl] != '/')
            return 0;
        key += pl + 1;
    }
    return lc->fn(key, size, lc->ud);
}

/* One page's query, parameters in sorted order (curl signs the query as
 * written): continuation-token, list-type, max-keys, prefix, start-after. */
static int page_query(lambda_store_buf *q, const char *token, const char *full_prefix,
                      const char *full_after)
{
    int rc = 0;
    if (token) {
        rc = lambda_store_buf_adds(q, "continuation-token=");
        rc = rc ? rc : lambda_s3_uri_encode(q, token, 0);
        rc = rc ? rc : lambda_store_buf_adds(q, "&");
    }
    rc = rc ? rc : lambda_store_buf_adds(q, "list-type=2&max-keys=1000&prefix=");
    rc = rc ? rc : lambda_s3_uri_encode(q, full_prefix, 0);
    if (!token && full_after[0]) {
        rc = rc ? rc : lambda_store_buf_adds(q, "&start-after=");
        rc = rc ? rc : lambda_s3_uri_encode(q, full_after, 0);
    }
    return rc;
}

/* Fetches and parses one page; `page` says whether and where to go on. */
static lambda_store_status list_page(s3_store *s, const char *token, const char *full_prefix,
                                     const char *full_after, list_ctx *lc,
                                     lambda_s3_list_page *page, lambda_error *err)
{
    lambda_store_buf query = {0};
    if (page_query(&query, token, full_prefix, full_after) != 0) {
        lambda_store_buf_free(&query);
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    }
    s3_request rq = {.op = "ListObjectsV2", .method = "GET", .key = NULL, .query = query.data};
    s3_response rs;
    lambda_store_status rc = s3_perform(s, &rq, &rs, err);
    lambda_store_buf_free(&query);
    if (rc == LAMBDA_STORE_OK)
        rc = lambda_s3_parse_list(rs.body.data ? rs.body.data : "", rs.body.len, page, strip_prefix,
                                  lc, err);
    s3_response_free(&rs);
    return rc;
}

lambda_store_status s3_list(lambda_store *base, const char *prefix, const char *start_after,
                            lambda_store_list_fn fn, void *ud, lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    char full_prefix[LAMBDA_S3_FULL_KEY_MAX], full_after[LAMBDA_S3_FULL_KEY_MAX] = "";
    S3_TRY(s3_full_key(s, prefix, full_prefix, err));
    if (!prefix[0] && s->base.loc.prefix[0])
        snprintf(full_prefix, sizeof full_prefix, "%s/", s->base.loc.prefix);
    if (start_after && *start_after)
        S3_TRY(s3_full_key(s, start_after, full_after, err));
    lambda_s3_list_page *page = malloc(sizeof *page);
    char *token = NULL;
    list_ctx lc = {s, fn, ud};
    lambda_store_status rc =
        page ? LAMBDA_STORE_OK : lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    while (rc == LAMBDA_STORE_OK) {
        rc = list_page(s, token, full_prefix, full_after, &lc, page, err);
        if (rc != LAMBDA_STORE_OK || page->stopped || !page->truncated)
            break;
        free(token);
        token = NULL;
        if (page->next_token[0]) {
            token = strdup(page->next_token);
            if (!token)
                rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        } else {
            snprintf(full_after, sizeof full_after, "%s", page->last_key);
        }
        if (rc == LAMBDA_STORE_OK && page->count == 0 && !token)
            rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "S3 listing made no progress");
    }
    free(token);
    free(page);
    return rc;
}

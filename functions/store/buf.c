/*
 * The store's one growable byte buffer (store_internal.h): request bodies,
 * queries, URLs, headers and collected replies all go through it, so the
 * growth, the cap and the out-of-memory path are written once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define BUF_FIRST_CAP 256

int lambda_store_buf_reserve(lambda_store_buf *b, size_t n)
{
    if (n > (size_t)-1 - b->len - 1 || (b->max && b->len + n >= b->max))
        return -1;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    /* Doubling for many small adds; exactly `need` for one large reserve
     * (a part buffer), so no memory is held that will never be used. */
    size_t cap = b->cap == 0 ? BUF_FIRST_CAP : b->cap > (size_t)-1 / 2 ? need : b->cap * 2;
    if (cap < need)
        cap = need;
    char *grown = realloc(b->data, cap);
    if (!grown)
        return -1;
    b->data = grown;
    b->cap = cap;
    return 0;
}

int lambda_store_buf_add(lambda_store_buf *b, const void *p, size_t n)
{
    if (lambda_store_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int lambda_store_buf_adds(lambda_store_buf *b, const char *s)
{
    return lambda_store_buf_add(b, s, strlen(s));
}

int lambda_store_buf_addf(lambda_store_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || lambda_store_buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void lambda_store_buf_reset(lambda_store_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void lambda_store_buf_free(lambda_store_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

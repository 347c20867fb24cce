#include "buf.h"

#include <stdlib.h>
#include <string.h>

int lambda_buf_append(lambda_buf *b, const void *p, size_t n)
{
    if (n > (size_t)-1 - b->len - 1)
        return -1;
    size_t need = b->len + n + 1;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void lambda_buf_clear(lambda_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void lambda_buf_free(lambda_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* A growable byte buffer, always NUL-terminated so payloads can be handed to
 * handlers and parsers as C strings. Internal to the runtime. */
#ifndef LAMBDA_BUF_H
#define LAMBDA_BUF_H

#include <stddef.h>

typedef struct lambda_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
} lambda_buf;

/* Appends n bytes; returns 0, or -1 when out of memory (buffer unchanged). */
int lambda_buf_append(lambda_buf *b, const void *p, size_t n);

/* Empties the buffer but keeps its memory for the next invocation. */
void lambda_buf_clear(lambda_buf *b);

void lambda_buf_free(lambda_buf *b);

#endif

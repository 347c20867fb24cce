/* Clocks, ids, strings and log lines shared by the emulator's modules. */
#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

lambda_local_settings lambda_local_globals = {"us-east-1", "123456789012", NULL};

int64_t lambda_local_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t lambda_local_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void random_bytes(unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(buf + got, n - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    /* getrandom() cannot fail on Linux >= 3.17 once the pool is seeded; if
     * it ever does, ids only need to be unique within this process. */
    for (; got < n; got++)
        buf[got] = (unsigned char)rand();
}

void lambda_local_uuid(char out[37])
{
    unsigned char b[16];
    random_bytes(b, sizeof b);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void lambda_local_random_hex(char *out, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char b[64];
    while (n > 0) {
        size_t chunk = n < sizeof b ? n : sizeof b;
        random_bytes(b, chunk);
        for (size_t i = 0; i < chunk; i++)
            *out++ = digits[b[i] & 0x0f];
        n -= chunk;
    }
    *out = '\0';
}

static void out_of_memory(void)
{
    fputs("lambda-local: out of memory\n", stderr);
    abort();
}

char *lambda_local_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory();
    return s;
}

char *lambda_local_strdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        out_of_memory();
    return d;
}

void *lambda_local_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory();
    return p;
}

char *lambda_local_read_stream(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0, got;
    char *buf = lambda_local_calloc(1, cap);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                out_of_memory();
            buf = bigger;
            cap *= 2;
        }
    }
    if (ferror(f)) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Each line is formatted first and written with one call, so lines from
 * concurrent environments never interleave mid-line. */
static void write_line(const char *prefix, const char *fmt, va_list ap)
{
    char *body = NULL;
    if (vasprintf(&body, fmt, ap) < 0)
        return;
    char *line = NULL;
    if (asprintf(&line, "%s%s\n", prefix, body) >= 0) {
        fputs(line, stderr);
        fflush(stderr);
        free(line);
    }
    free(body);
}

void lambda_local_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    write_line("lambda-local: ", fmt, ap);
    va_end(ap);
}

void lambda_local_log_line(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    write_line("", fmt, ap);
    va_end(ap);
}

/* The event stream codec (see eventstream.h). */
#include "eventstream.h"

#include <string.h>
#include <zlib.h>

#define STRING_TYPE 7

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t crc(uint32_t seed, const unsigned char *p, size_t n)
{
    return (uint32_t)crc32(seed, p, (uInt)n);
}

static size_t headers_size(const lambda_local_es_header *headers, size_t count)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        n += 1 + headers[i].name_len + 1 + 2 + headers[i].value_len;
    return n;
}

size_t lambda_local_es_size(const lambda_local_es_header *headers, size_t count, size_t payload_len)
{
    return LAMBDA_LOCAL_ES_OVERHEAD + headers_size(headers, count) + payload_len;
}

size_t lambda_local_es_encode(unsigned char *out, const lambda_local_es_header *headers,
                              size_t count, const void *payload, size_t payload_len)
{
    for (size_t i = 0; i < count; i++)
        if (headers[i].name_len == 0 || headers[i].name_len > 255 || headers[i].value_len > 65535)
            return 0;
    size_t hlen = headers_size(headers, count);
    size_t total = LAMBDA_LOCAL_ES_OVERHEAD + hlen + payload_len;
    if (hlen > LAMBDA_LOCAL_ES_MAX_HEADERS || total > LAMBDA_LOCAL_ES_MAX_MESSAGE)
        return 0;
    put_u32(out, (uint32_t)total);
    put_u32(out + 4, (uint32_t)hlen);
    put_u32(out + 8, crc(0, out, 8));
    unsigned char *p = out + 12;
    for (size_t i = 0; i < count; i++) {
        *p++ = (unsigned char)headers[i].name_len;
        memcpy(p, headers[i].name, headers[i].name_len);
        p += headers[i].name_len;
        *p++ = STRING_TYPE;
        *p++ = (unsigned char)(headers[i].value_len >> 8);
        *p++ = (unsigned char)headers[i].value_len;
        memcpy(p, headers[i].value, headers[i].value_len);
        p += headers[i].value_len;
    }
    if (payload_len)
        memcpy(p, payload, payload_len);
    p += payload_len;
    /* The message CRC covers everything before it, prelude CRC included:
     * continue from the prelude's CRC (crc32 is incremental). */
    put_u32(p, crc(get_u32(out + 8), out + 8, (size_t)(p - out) - 8));
    return total;
}

static lambda_local_es_status decode_headers(const unsigned char *p, size_t n,
                                             lambda_local_es_message *msg)
{
    size_t at = 0;
    msg->header_count = 0;
    while (at < n) {
        if (msg->header_count == LAMBDA_LOCAL_ES_MAX_HEADER_COUNT)
            return LAMBDA_LOCAL_ES_BAD_HEADER;
        size_t name_len = p[at++];
        if (name_len == 0 || n - at < name_len + 3)
            return LAMBDA_LOCAL_ES_BAD_HEADER;
        lambda_local_es_header *h = &msg->headers[msg->header_count++];
        h->name = (const char *)p + at;
        h->name_len = name_len;
        at += name_len;
        if (p[at++] != STRING_TYPE)
            return LAMBDA_LOCAL_ES_BAD_HEADER;
        size_t value_len = (size_t)p[at] << 8 | p[at + 1];
        at += 2;
        if (n - at < value_len)
            return LAMBDA_LOCAL_ES_BAD_HEADER;
        h->value = (const char *)p + at;
        h->value_len = value_len;
        at += value_len;
    }
    return LAMBDA_LOCAL_ES_OK;
}

lambda_local_es_status lambda_local_es_decode(const unsigned char *in, size_t len,
                                              lambda_local_es_message *msg)
{
    if (len < 12)
        return LAMBDA_LOCAL_ES_SHORT;
    uint32_t total = get_u32(in), hlen = get_u32(in + 4);
    if (total < LAMBDA_LOCAL_ES_OVERHEAD || total > LAMBDA_LOCAL_ES_MAX_MESSAGE ||
        hlen > LAMBDA_LOCAL_ES_MAX_HEADERS || hlen > total - LAMBDA_LOCAL_ES_OVERHEAD)
        return LAMBDA_LOCAL_ES_BAD_LENGTH;
    uint32_t prelude_crc = get_u32(in + 8);
    if (crc(0, in, 8) != prelude_crc)
        return LAMBDA_LOCAL_ES_BAD_PRELUDE;
    if (len < total)
        return LAMBDA_LOCAL_ES_SHORT;
    if (crc(prelude_crc, in + 8, total - 12) != get_u32(in + total - 4))
        return LAMBDA_LOCAL_ES_BAD_CRC;
    lambda_local_es_status st = decode_headers(in + 12, hlen, msg);
    if (st != LAMBDA_LOCAL_ES_OK)
        return st;
    msg->payload = in + 12 + hlen;
    msg->payload_len = total - LAMBDA_LOCAL_ES_OVERHEAD - hlen;
    msg->size = total;
    return LAMBDA_LOCAL_ES_OK;
}

const char *lambda_local_es_find(const lambda_local_es_message *msg, const char *name, size_t *len)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < msg->header_count; i++) {
        const lambda_local_es_header *h = &msg->headers[i];
        if (h->name_len == n && memcmp(h->name, name, n) == 0) {
            *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

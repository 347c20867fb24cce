/* libFuzzer harness for lambda-local's event stream codec
 * (local/lambda-local/eventstream.c, InvokeWithResponseStream's framing):
 *   1. decoding arbitrary bytes never crashes, and a message that decodes
 *      re-encodes to exactly the same bytes (both CRCs included);
 *   2. a message built from the input (its headers and payload cut from the
 *      bytes) round-trips through encode -> decode unchanged;
 *   3. any single changed byte of an encoded message is refused: CRC32
 *      catches every error burst of up to 32 bits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eventstream.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static void same_message(const lambda_local_es_message *a, const lambda_local_es_header *h,
                         size_t count, const unsigned char *payload, size_t len)
{
    check(a->header_count == count && a->payload_len == len);
    check(len == 0 || memcmp(a->payload, payload, len) == 0);
    for (size_t i = 0; i < count; i++) {
        check(a->headers[i].name_len == h[i].name_len &&
              memcmp(a->headers[i].name, h[i].name, h[i].name_len) == 0);
        check(
            a->headers[i].value_len == h[i].value_len &&
            (h[i].value_len == 0 || memcmp(a->headers[i].value, h[i].value, h[i].value_len) == 0));
    }
}

static void decode_reencode(const uint8_t *data, size_t size)
{
    lambda_local_es_message msg;
    if (lambda_local_es_decode(data, size, &msg) != LAMBDA_LOCAL_ES_OK)
        return;
    size_t n = lambda_local_es_size(msg.headers, msg.header_count, msg.payload_len);
    check(n == msg.size);
    unsigned char *out = malloc(n);
    check(out != NULL);
    check(lambda_local_es_encode(out, msg.headers, msg.header_count, msg.payload,
                                 msg.payload_len) == n);
    check(memcmp(out, data, n) == 0);
    free(out);
}

/* Headers and payload cut from the input: byte 0 = header count (0..4),
 * then per header a name length (1..32) and a value length (0..255) byte,
 * the bytes for them, and the rest is the payload. */
static size_t build(const uint8_t *data, size_t size, lambda_local_es_header *h,
                    const unsigned char **payload, size_t *len)
{
    if (size == 0)
        return 0;
    size_t count = data[0] % 5, at = 1, made = 0;
    for (; made < count && at + 2 <= size; made++) {
        size_t name_len = 1 + data[at] % 32, value_len = data[at + 1];
        at += 2;
        if (size - at < name_len + value_len)
            break;
        h[made] = (lambda_local_es_header){(const char *)data + at, name_len,
                                           (const char *)data + at + name_len, value_len};
        at += name_len + value_len;
    }
    *payload = data + at;
    *len = size - at;
    return made;
}

static void round_trip(const uint8_t *data, size_t size)
{
    lambda_local_es_header h[4];
    const unsigned char *payload = NULL;
    size_t len = 0, count = build(data, size, h, &payload, &len);
    size_t n = lambda_local_es_size(h, count, len);
    unsigned char *out = malloc(n);
    check(out != NULL);
    check(lambda_local_es_encode(out, h, count, payload, len) == n);

    lambda_local_es_message msg;
    check(lambda_local_es_decode(out, n, &msg) == LAMBDA_LOCAL_ES_OK);
    check(msg.size == n);
    same_message(&msg, h, count, payload, len);
    /* Cut short: never OK. */
    check(lambda_local_es_decode(out, n - 1, &msg) != LAMBDA_LOCAL_ES_OK);
    /* One byte changed (position and xor from the input): refused. */
    size_t at = (size > 1 ? ((size_t)data[size - 1] << 8 | data[size / 2]) : 0) % n;
    out[at] ^= (unsigned char)(size ? data[0] | 1 : 1);
    check(lambda_local_es_decode(out, n, &msg) != LAMBDA_LOCAL_ES_OK);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_reencode(data, size);
    round_trip(data, size);
    return 0;
}

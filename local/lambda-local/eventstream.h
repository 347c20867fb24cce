/*
 * The AWS event stream encoding (application/vnd.amazon.eventstream), as
 * InvokeWithResponseStream answers: a sequence of binary messages,
 *
 *   total length (u32 BE) | headers length (u32 BE) | prelude CRC32 (u32 BE)
 *   headers | payload | message CRC32 (u32 BE, over everything before it)
 *
 * each header being name length (u8), name, value type (u8), value. Lambda
 * only uses string headers (type 7: u16 BE length, bytes): :event-type,
 * :content-type, :message-type. CRC32 is zlib's crc32() (ISO-HDLC, as the
 * format requires).
 */
#ifndef LAMBDA_LOCAL_EVENTSTREAM_H
#define LAMBDA_LOCAL_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

/* The format's own limits: 16 MiB a message, 128 KiB of headers. */
#define LAMBDA_LOCAL_ES_MAX_MESSAGE (16u << 20)
#define LAMBDA_LOCAL_ES_MAX_HEADERS (128u << 10)
#define LAMBDA_LOCAL_ES_OVERHEAD 16 /* prelude (12) + message CRC (4) */
#define LAMBDA_LOCAL_ES_MAX_HEADER_COUNT 16

typedef struct lambda_local_es_header {
    const char *name; /* not NUL-terminated when decoded: use name_len */
    size_t name_len;
    const char *value;
    size_t value_len;
} lambda_local_es_header;

/* The encoded size of a message with these string headers and payload. */
size_t lambda_local_es_size(const lambda_local_es_header *headers, size_t count,
                            size_t payload_len);

/* Encodes one message into `out` (lambda_local_es_size() bytes). Names up
 * to 255 bytes, values up to 65535. Returns the size, or 0 when a header
 * or the message is over the format's limits. */
size_t lambda_local_es_encode(unsigned char *out, const lambda_local_es_header *headers,
                              size_t count, const void *payload, size_t payload_len);

typedef enum lambda_local_es_status {
    LAMBDA_LOCAL_ES_OK,
    LAMBDA_LOCAL_ES_SHORT,       /* more bytes needed */
    LAMBDA_LOCAL_ES_BAD_LENGTH,  /* lengths inconsistent or over the limits */
    LAMBDA_LOCAL_ES_BAD_PRELUDE, /* prelude CRC mismatch */
    LAMBDA_LOCAL_ES_BAD_CRC,     /* message CRC mismatch */
    LAMBDA_LOCAL_ES_BAD_HEADER   /* a header runs past its block, or is not a string */
} lambda_local_es_status;

typedef struct lambda_local_es_message {
    lambda_local_es_header headers[LAMBDA_LOCAL_ES_MAX_HEADER_COUNT];
    size_t header_count;
    const unsigned char *payload; /* points into the input */
    size_t payload_len;
    size_t size; /* bytes the message took */
} lambda_local_es_message;

/* Decodes the message at the start of `in`, checking both CRCs. Pointers
 * in `msg` point into `in`. */
lambda_local_es_status lambda_local_es_decode(const unsigned char *in, size_t len,
                                              lambda_local_es_message *msg);

/* The value of header `name` in `msg`, or NULL (length in *len). */
const char *lambda_local_es_find(const lambda_local_es_message *msg, const char *name, size_t *len);

#endif

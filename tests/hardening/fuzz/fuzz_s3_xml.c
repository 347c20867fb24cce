/*
 * S3 XML responses through the store's expat parsers: a ListObjectsV2 page,
 * an <Error> document and single values (UploadId, ETag).
 *
 * Asserted: the listing callback only ever sees NUL-terminated keys that fit
 * the page's buffers; a page that parses has a bounded continuation token;
 * error code and message are NUL-terminated within their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static int visit(const char *key, uint64_t size, void *ud)
{
    size_t *count = ud;
    (void)size;
    if (strlen(key) >= 1100)
        abort();
    return ++*count >= 50; /* also exercise the early stop */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    lambda_s3_list_page page;
    lambda_error err = {"", ""};
    size_t count = 0;
    if (lambda_s3_parse_list(xml, size, &page, visit, &count, &err) == 0) {
        if (strnlen(page.next_token, sizeof page.next_token) >= sizeof page.next_token ||
            page.count != count)
            abort();
    } else if (strcmp(err.type, "StoreUnavailable") != 0) {
        abort();
    }
    char code[64], message[256];
    if (lambda_s3_parse_error(xml, size, code, sizeof code, message, sizeof message)) {
        if (!code[0] || strnlen(code, sizeof code) >= sizeof code ||
            strnlen(message, sizeof message) >= sizeof message)
            abort();
    }
    char upload_id[256];
    if (lambda_s3_parse_text(xml, size, "UploadId", upload_id, sizeof upload_id) == 0 &&
        strnlen(upload_id, sizeof upload_id) >= sizeof upload_id)
        abort();
    char etag[128];
    (void)lambda_s3_parse_text(xml, size, "ETag", etag, sizeof etag);
    return 0;
}

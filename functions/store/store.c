/*
 * Store front end: URL parsing, key validation and dispatch to the file or
 * S3 backend. Validation lives here so that neither backend can be reached
 * with a key that escapes the store's root.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

const char *lambda_store_status_name(lambda_store_status status)
{
    switch (status) {
    case LAMBDA_STORE_OK:
        return "";
    case LAMBDA_STORE_UNAVAILABLE:
        return "StoreUnavailable";
    case LAMBDA_STORE_THROTTLED:
        return "StoreThrottled";
    case LAMBDA_STORE_TLS:
        return "StoreTlsError";
    case LAMBDA_STORE_ACCESS_DENIED:
        return "StoreAccessDenied";
    case LAMBDA_STORE_NOT_FOUND:
        return "StoreNotFound";
    case LAMBDA_STORE_INVALID:
        return "InvalidInput";
    case LAMBDA_STORE_ABORTED:
        return "StoreAborted";
    case LAMBDA_STORE_REFUSED:
        break;
    }
    return "StoreError";
}

lambda_store_status lambda_store_sink_aborted(lambda_error *err, const char *key)
{
    if (err && err->type[0])
        return LAMBDA_STORE_ABORTED;
    return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "reading %s was aborted", key);
}

lambda_store_status lambda_store_fail(lambda_error *err, lambda_store_status status,
                                      const char *fmt, ...)
{
    if (err) {
        char message[sizeof err->message];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message, sizeof message, fmt, ap);
        va_end(ap);
        lambda_error_set(err, lambda_store_status_name(status), "%s", message);
    }
    return status;
}

/* S3 bucket names: 3-63 of [a-z0-9.-], starting and ending alphanumeric. */
static int valid_bucket(const char *b, size_t n)
{
    if (n < 3 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '.' && c != '-')
            return 0;
        if ((i == 0 || i == n - 1) && !alnum)
            return 0;
    }
    return 1;
}

/* Segments of a path or key: no empty, "." or ".." segment, no control
 * characters, no backslash (a Windows-style escape on some tools). */
static int valid_segments(const char *s, size_t n)
{
    size_t seg = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '/') {
            const char *p = s + seg;
            size_t len = i - seg;
            if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                return 0;
            seg = i + 1;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return 0;
    }
    return 1;
}

lambda_store_status lambda_store_parse_url(const char *url, lambda_store_location *loc,
                                           lambda_error *err)
{
    memset(loc, 0, sizeof *loc);
    if (!url || !*url)
        return lambda_store_fail(err, LAMBDA_STORE_INVALID, "store URL is empty");
    if (strncmp(url, "file://", 7) == 0) {
        const char *p = url + 7;
        size_t n = strlen(p);
        while (n > 1 && p[n - 1] == '/')
            n--;
        if (n == 0 || p[0] != '/')
            return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                                     "file store URL must be file:///absolute/path");
        if (n >= sizeof loc->path)
            return lambda_store_fail(err, LAMBDA_STORE_INVALID, "file store path too long");
        if (n > 1 && !valid_segments(p + 1, n - 1))
            return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                                     "file store path has empty, '.' or '..' segments");
        memcpy(loc->path, p, n);
        loc->path[n] = '\0';
        return LAMBDA_STORE_OK;
    }
    if (strncmp(url, "s3://", 5) == 0) {
        const char *b = url + 5;
        const char *slash = strchr(b, '/');
        size_t blen = slash ? (size_t)(slash - b) : strlen(b);
        if (!valid_bucket(b, blen))
            return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                                     "invalid S3 bucket name in store URL");
        memcpy(loc->bucket, b, blen);
        loc->bucket[blen] = '\0';
        loc->is_s3 = 1;
        if (slash) {
            const char *p = slash + 1;
            size_t n = strlen(p);
            while (n > 0 && p[n - 1] == '/')
                n--;
            if (n >= sizeof loc->prefix)
                return lambda_store_fail(err, LAMBDA_STORE_INVALID, "S3 prefix too long");
            if (n > 0 && !valid_segments(p, n))
                return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                                         "S3 prefix has empty, '.' or '..' segments");
            memcpy(loc->prefix, p, n);
            loc->prefix[n] = '\0';
        }
        return LAMBDA_STORE_OK;
    }
    return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                             "store URL must start with file:// or s3://");
}

lambda_store_status lambda_store_check_key(const char *key, lambda_error *err)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > LAMBDA_STORE_KEY_MAX)
        return lambda_store_fail(err, LAMBDA_STORE_INVALID, "store key is empty or too long");
    if (!valid_segments(key, n))
        return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                                 "store key has empty, '.' or '..' segments or control characters");
    return LAMBDA_STORE_OK;
}

/* A prefix may end with '/' or be empty; otherwise the same rules. */
static lambda_store_status check_prefix(const char *prefix, lambda_error *err)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (n == 0)
        return LAMBDA_STORE_OK;
    if (prefix[n - 1] == '/')
        n--;
    if (n == 0 || n > LAMBDA_STORE_KEY_MAX || !valid_segments(prefix, n))
        return lambda_store_fail(err, LAMBDA_STORE_INVALID, "invalid store prefix");
    return LAMBDA_STORE_OK;
}

lambda_store_status lambda_store_open(const char *url, lambda_store **out, lambda_error *err)
{
    lambda_store_location loc;
    *out = NULL;
    lambda_store_status st = lambda_store_parse_url(url, &loc, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    st = loc.is_s3 ? lambda_store_s3_open(&loc, out, err) : lambda_store_file_open(&loc, out, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    (*out)->loc = loc;
    if (loc.is_s3)
        snprintf((*out)->url, sizeof(*out)->url, "s3://%s%s%s", loc.bucket,
                 loc.prefix[0] ? "/" : "", loc.prefix);
    else
        snprintf((*out)->url, sizeof(*out)->url, "file://%s", loc.path);
    return LAMBDA_STORE_OK;
}

void lambda_store_close(lambda_store *store)
{
    if (store)
        store->ops->close(store);
}

const char *lambda_store_url(const lambda_store *store)
{
    return store->url;
}

int lambda_store_is_s3(const lambda_store *store)
{
    return store->loc.is_s3;
}

lambda_store_status lambda_store_list(lambda_store *store, const char *prefix,
                                      const char *start_after, lambda_store_list_fn fn,
                                      void *userdata, lambda_error *err)
{
    lambda_store_status st = check_prefix(prefix, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    return store->ops->list(store, prefix ? prefix : "", start_after, fn, userdata, err);
}

lambda_store_status lambda_store_get(lambda_store *store, const char *key, uint64_t offset,
                                     uint64_t length, lambda_store_sink_fn sink, void *userdata,
                                     lambda_error *err)
{
    lambda_store_status st = lambda_store_check_key(key, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    return store->ops->get(store, key, offset, length, sink, userdata, err);
}

/* lambda_store_read_into through a backend's get: the sink copies what
 * fits; more than `cap` bytes stop the read (only a read to the end can
 * bring them: a ranged get delivers its range's length). */
typedef struct read_into_ctx {
    char *buf;
    size_t cap, got;
    int full;
} read_into_ctx;

static int read_into_sink(const char *data, size_t len, void *ud)
{
    read_into_ctx *c = ud;
    size_t n = len < c->cap - c->got ? len : c->cap - c->got;
    memcpy(c->buf + c->got, data, n);
    c->got += n;
    c->full = n < len;
    return c->full;
}

lambda_store_status lambda_store_read_into(lambda_store *store, const char *key, uint64_t offset,
                                           uint64_t length, void *buf, size_t cap, size_t *got,
                                           lambda_error *err)
{
    *got = 0;
    lambda_store_status st = lambda_store_check_key(key, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    if (length > cap)
        return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                                 "reading %s: %" PRIu64 " bytes do not fit in %zu", key, length,
                                 cap);
    if (store->ops->read_into)
        return store->ops->read_into(store, key, offset, length, buf, cap, got, err);
    read_into_ctx c = {buf, cap, 0, 0};
    st = store->ops->get(store, key, offset, length, read_into_sink, &c, err);
    *got = c.got;
    if (c.full && length == 0) {
        /* `cap` bytes and more to come: the caller asked for no more. */
        err->type[0] = '\0';
        err->message[0] = '\0';
        return LAMBDA_STORE_OK;
    }
    if (c.full)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE,
                                 "reading %s: more than the %" PRIu64 " bytes asked for", key,
                                 length);
    return st;
}

lambda_store_status lambda_store_stat(lambda_store *store, const char *key, uint64_t *size,
                                      int *exists, lambda_error *err)
{
    lambda_store_status st = lambda_store_check_key(key, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    return store->ops->stat(store, key, size, exists, err);
}

lambda_store_status lambda_store_put_begin(lambda_store *store, const char *key,
                                           lambda_store_writer **out, lambda_error *err)
{
    *out = NULL;
    lambda_store_status st = lambda_store_check_key(key, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    return store->ops->put_begin(store, key, out, err);
}

lambda_store_status lambda_store_put_write(lambda_store_writer *w, const void *data, size_t len,
                                           lambda_error *err)
{
    if (len == 0)
        return LAMBDA_STORE_OK;
    lambda_store_status st = w->store->ops->put_write(w, data, len, err);
    if (st == LAMBDA_STORE_OK)
        w->bytes += len;
    return st;
}

lambda_store_status lambda_store_put_write_at(lambda_store_writer *w, uint64_t offset,
                                              const void *data, size_t len, lambda_error *err)
{
    if (!w->store->ops->put_write_at)
        return lambda_store_fail(err, LAMBDA_STORE_INVALID,
                                 "this store writes an object in order only (no positional write)");
    if (len == 0)
        return LAMBDA_STORE_OK;
    lambda_store_status st = w->store->ops->put_write_at(w, offset, data, len, err);
    /* Writers on several threads at once: an atomic add (whoever reads the
     * count afterwards has joined them). */
    if (st == LAMBDA_STORE_OK)
        __atomic_fetch_add(&w->bytes, (uint64_t)len, __ATOMIC_RELAXED);
    return st;
}

int lambda_store_put_can_write_at(const lambda_store_writer *w)
{
    return w->store->ops->put_write_at != NULL;
}

lambda_store_status lambda_store_put_append(lambda_store_writer *w, const char *src_key,
                                            uint64_t size, lambda_error *err)
{
    lambda_store_status st = lambda_store_check_key(src_key, err);
    if (st != LAMBDA_STORE_OK || size == 0)
        return st;
    st = w->store->ops->put_append(w, src_key, size, err);
    if (st == LAMBDA_STORE_OK)
        w->bytes += size;
    return st;
}

uint64_t lambda_store_put_bytes(const lambda_store_writer *w)
{
    return w->bytes;
}

lambda_store_status lambda_store_put_commit(lambda_store_writer *w, lambda_error *err)
{
    return w->store->ops->put_commit(w, err);
}

void lambda_store_put_abort(lambda_store_writer *w)
{
    if (w)
        w->store->ops->put_abort(w);
}

lambda_store_status lambda_store_put_buffer(lambda_store *store, const char *key, const void *data,
                                            size_t len, lambda_error *err)
{
    lambda_store_writer *w;
    lambda_store_status st = lambda_store_put_begin(store, key, &w, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    st = lambda_store_put_write(w, data, len, err);
    if (st != LAMBDA_STORE_OK) {
        lambda_store_put_abort(w);
        return st;
    }
    return lambda_store_put_commit(w, err);
}

lambda_store_status lambda_store_copy(lambda_store *store, const char *src_key, const char *dst_key,
                                      lambda_error *err)
{
    lambda_store_status st = lambda_store_check_key(src_key, err);
    if (st == LAMBDA_STORE_OK)
        st = lambda_store_check_key(dst_key, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    return store->ops->copy(store, src_key, dst_key, err);
}

lambda_store_status lambda_store_delete(lambda_store *store, const char *key, lambda_error *err)
{
    lambda_store_status st = lambda_store_check_key(key, err);
    if (st != LAMBDA_STORE_OK)
        return st;
    return store->ops->del(store, key, err);
}

lambda_store_status lambda_store_delete_many(lambda_store *store, const char *const *keys, size_t n,
                                             lambda_error *err)
{
    lambda_store_status st = LAMBDA_STORE_OK;
    for (size_t i = 0; i < n && st == LAMBDA_STORE_OK; i++)
        st = lambda_store_check_key(keys[i], err);
    if (st != LAMBDA_STORE_OK || n == 0)
        return st;
    if (store->ops->del_many)
        return store->ops->del_many(store, keys, n, err);
    for (size_t i = 0; i < n && st == LAMBDA_STORE_OK; i++)
        st = store->ops->del(store, keys[i], err);
    return st;
}

char *lambda_store_presign_get(lambda_store *store, const char *key, long expires_s,
                               lambda_error *err)
{
    if (lambda_store_check_key(key, err) != LAMBDA_STORE_OK)
        return NULL;
    if (expires_s < 1 || expires_s > 604800) {
        lambda_store_fail(err, LAMBDA_STORE_INVALID, "URL expiry must be 1..604800 seconds");
        return NULL;
    }
    if (!store->ops->presign)
        return NULL;
    return store->ops->presign(store, key, expires_s, err);
}

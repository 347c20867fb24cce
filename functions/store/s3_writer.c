/*
 * S3 backend, the streaming put: bytes gather in one part-sized buffer; an
 * object that fits is sent with one PutObject at commit, a larger one as a
 * multipart upload (CreateMultipartUpload, UploadPart per full buffer,
 * CompleteMultipartUpload; AbortMultipartUpload on failure). Appending a
 * stored object copies its ranges of at least 5 MiB server-side
 * (UploadPartCopy) and reads the rest through the buffer.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "s3_internal.h"

typedef struct s3_writer {
    lambda_store_writer base;
    char key[LAMBDA_S3_FULL_KEY_MAX];
    lambda_store_buf buf; /* the current part: at most part_size bytes, allocated once */
    char upload_id[S3_UPLOAD_ID_MAX];
    int parts;
    lambda_store_buf done; /* <Part><PartNumber>…<ETag>…</Part> of each part sent */
} s3_writer;

/* One part buffer kept for the process's next put: the buffer is filled
 * page by page (up to LAMBDA_S3_PART_SIZE, 2,048 pages at 8 MiB), and a
 * first touch of a page costs ~20 us of CPU in a Firecracker VM: a fresh
 * buffer in every put (every invocation of GenerateSubReport, one process
 * serving many) cost ~40 ms of CPU an invocation. Kept only while no put
 * holds it (concurrent puts make their own); freed at exit. */
static pthread_mutex_t spare_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static lambda_store_buf spare;

static void spare_free(void)
{
    pthread_mutex_lock(&spare_mu);
    lambda_store_buf_free(&spare);
    pthread_mutex_unlock(&spare_mu);
}

static void spare_register_exit(void)
{
    atexit(spare_free);
}

/* The kept buffer when it holds a part of `size`, else a new one. */
static int part_buffer(lambda_store_buf *b, size_t size)
{
    pthread_mutex_lock(&spare_mu);
    if (spare.data && spare.cap > size) {
        *b = spare;
        spare = (lambda_store_buf){0};
    }
    pthread_mutex_unlock(&spare_mu);
    b->len = 0;
    return lambda_store_buf_reserve(b, size);
}

lambda_store_status s3_put_begin(lambda_store *base, const char *key, lambda_store_writer **out,
                                 lambda_error *err)
{
    s3_store *s = (s3_store *)base;
    s3_writer *w = calloc(1, sizeof *w);
    if (!w)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    w->base.store = base;
    lambda_store_status rc = s3_full_key(s, key, w->key, err);
    if (rc != LAMBDA_STORE_OK) {
        free(w);
        return rc;
    }
    if (part_buffer(&w->buf, s->part_size) != 0) {
        lambda_store_buf_free(&w->buf);
        free(w);
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    }
    *out = &w->base;
    return LAMBDA_STORE_OK;
}

static void writer_free(s3_writer *w)
{
    pthread_once(&spare_once, spare_register_exit);
    pthread_mutex_lock(&spare_mu);
    if (!spare.data && w->buf.data) {
        spare = w->buf;
        w->buf = (lambda_store_buf){0};
    }
    pthread_mutex_unlock(&spare_mu);
    lambda_store_buf_free(&w->buf);
    lambda_store_buf_free(&w->done);
    free(w);
}

/* "uploadId=…" with part_no > 0: "partNumber=N&uploadId=…" (sorted). */
static int upload_query(const s3_writer *w, int part_no, lambda_store_buf *q)
{
    if (part_no > 0 && lambda_store_buf_addf(q, "partNumber=%d&", part_no) != 0)
        return -1;
    if (lambda_store_buf_adds(q, "uploadId=") != 0)
        return -1;
    return lambda_s3_uri_encode(q, w->upload_id, 0);
}

static lambda_store_status start_multipart(s3_store *s, s3_writer *w, lambda_error *err)
{
    s3_request rq = {.op = "CreateMultipartUpload",
                     .method = "POST",
                     .key = w->key,
                     .query = "uploads=",
                     .has_body = 1,
                     .body = "",
                     .body_len = 0};
    s3_response rs;
    lambda_store_status rc = s3_perform(s, &rq, &rs, err);
    if (rc == LAMBDA_STORE_OK && lambda_s3_parse_text(rs.body.data, rs.body.len, "UploadId",
                                                      w->upload_id, sizeof w->upload_id) != 0)
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE,
                               "S3 CreateMultipartUpload %s: no UploadId in reply", w->key);
    s3_response_free(&rs);
    return rc;
}

static lambda_store_status record_etag(s3_writer *w, const char *etag, lambda_error *err)
{
    if (!etag[0])
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "S3 part of %s has no ETag",
                                 w->key);
    if (lambda_store_buf_addf(&w->done, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                              w->parts + 1, etag) != 0)
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    w->parts++;
    return LAMBDA_STORE_OK;
}

static lambda_store_status next_part_ok(s3_store *s, s3_writer *w, lambda_error *err)
{
    if (w->parts >= S3_MAX_PARTS)
        return lambda_store_fail(err, LAMBDA_STORE_REFUSED, "%s would need more than %d parts",
                                 w->key, S3_MAX_PARTS);
    if (!w->upload_id[0])
        return start_multipart(s, w, err);
    return LAMBDA_STORE_OK;
}

static lambda_store_status flush_part(s3_store *s, s3_writer *w, lambda_error *err)
{
    S3_TRY(next_part_ok(s, w, err));
    lambda_store_buf q = {0};
    if (upload_query(w, w->parts + 1, &q) != 0) {
        lambda_store_buf_free(&q);
        return lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    }
    s3_request rq = {.op = "UploadPart",
                     .method = "PUT",
                     .key = w->key,
                     .query = q.data,
                     .has_body = 1,
                     .body = w->buf.data,
                     .body_len = w->buf.len};
    s3_response rs;
    lambda_store_status rc = s3_perform(s, &rq, &rs, err);
    if (rc == LAMBDA_STORE_OK)
        rc = record_etag(w, rs.etag, err);
    s3_response_free(&rs);
    lambda_store_buf_free(&q);
    if (rc == LAMBDA_STORE_OK)
        lambda_store_buf_reset(&w->buf);
    return rc;
}

lambda_store_status s3_put_write(lambda_store_writer *base, const void *data, size_t len,
                                 lambda_error *err)
{
    s3_writer *w = (s3_writer *)base;
    s3_store *s = (s3_store *)base->store;
    const char *p = data;
    while (len > 0) {
        size_t room = s->part_size - w->buf.len;
        size_t n = len < room ? len : room;
        lambda_store_buf_add(&w->buf, p, n); /* cannot fail: reserved at put_begin */
        p += n;
        len -= n;
        if (w->buf.len == s->part_size)
            S3_TRY(flush_part(s, w, err));
    }
    return LAMBDA_STORE_OK;
}

static lambda_store_status copy_part(s3_store *s, s3_writer *w, const char *src_full, uint64_t from,
                                     uint64_t to, lambda_error *err)
{
    S3_TRY(next_part_ok(s, w, err));
    lambda_store_buf q = {0}, source = {0};
    struct curl_slist *h = NULL;
    char range[96];
    snprintf(range, sizeof range, "x-amz-copy-source-range: bytes=%llu-%llu",
             (unsigned long long)from, (unsigned long long)to);
    lambda_store_status rc =
        upload_query(w, w->parts + 1, &q) != 0 || s3_add_copy_source(s, src_full, &source) != 0
            ? lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory")
            : LAMBDA_STORE_OK;
    if (rc == LAMBDA_STORE_OK)
        rc = s3_header(&h, source.data, err);
    if (rc == LAMBDA_STORE_OK)
        rc = s3_header(&h, range, err);
    if (rc == LAMBDA_STORE_OK) {
        s3_request rq = {
            .op = "UploadPartCopy", .method = "PUT", .key = w->key, .query = q.data, .headers = h};
        s3_response rs;
        rc = s3_perform(s, &rq, &rs, err);
        char etag[S3_ETAG_MAX];
        if (rc == LAMBDA_STORE_OK) {
            if (lambda_s3_parse_text(rs.body.data, rs.body.len, "ETag", etag, sizeof etag) != 0)
                rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE,
                                       "S3 UploadPartCopy %s: no ETag in reply", w->key);
            else
                rc = record_etag(w, etag, err);
        }
        s3_response_free(&rs);
    }
    curl_slist_free_all(h);
    lambda_store_buf_free(&q);
    lambda_store_buf_free(&source);
    return rc;
}

/* Appends GET bytes straight into the writer's buffer. It never flushes:
 * a flush would re-enter curl from inside this transfer's callback, so
 * callers ask for no more than the buffer's room and flush afterwards. */
static int buffer_sink(const char *data, size_t len, void *ud)
{
    s3_writer *w = ud;
    s3_store *s = (s3_store *)w->base.store;
    if (w->buf.len + len > s->part_size)
        return -1;
    return lambda_store_buf_add(&w->buf, data, len);
}

/* Bytes [off, off+n) of an object through the bounded buffer. */
static lambda_store_status read_into_buffer(s3_store *s, s3_writer *w, const char *src_key,
                                            uint64_t off, uint64_t n, lambda_error *err)
{
    while (n > 0) {
        uint64_t room = s->part_size - w->buf.len;
        uint64_t k = n < room ? n : room;
        S3_TRY(s3_get(&s->base, src_key, off, k, buffer_sink, w, err));
        off += k;
        n -= k;
        if (w->buf.len == s->part_size)
            S3_TRY(flush_part(s, w, err));
    }
    return LAMBDA_STORE_OK;
}

lambda_store_status s3_put_append(lambda_store_writer *base, const char *src_key, uint64_t size,
                                  lambda_error *err)
{
    s3_writer *w = (s3_writer *)base;
    s3_store *s = (s3_store *)base->store;
    char src_full[LAMBDA_S3_FULL_KEY_MAX];
    S3_TRY(s3_full_key(s, src_key, src_full, err));
    uint64_t off = 0;
    while (off < size) {
        uint64_t remaining = size - off;
        if (w->buf.len == 0 && remaining >= S3_MIN_PART) {
            uint64_t n = remaining < S3_MAX_COPY_PART ? remaining : S3_MAX_COPY_PART;
            S3_TRY(copy_part(s, w, src_full, off, off + n - 1, err));
            off += n;
            continue;
        }
        uint64_t need = w->buf.len < S3_MIN_PART ? S3_MIN_PART - w->buf.len : 0;
        if (w->buf.len > 0 && remaining >= need + S3_MIN_PART) {
            /* Top the buffer up to a legal part from this object's head,
             * send it, then copy the rest server-side. */
            if (need)
                S3_TRY(read_into_buffer(s, w, src_key, off, need, err));
            off += need;
            if (w->buf.len > 0)
                S3_TRY(flush_part(s, w, err));
            continue;
        }
        /* Small object (or small tail): through the bounded buffer. */
        S3_TRY(read_into_buffer(s, w, src_key, off, remaining, err));
        off = size;
    }
    return LAMBDA_STORE_OK;
}

static void abort_upload(s3_store *s, s3_writer *w)
{
    if (!w->upload_id[0])
        return;
    lambda_store_buf q = {0};
    if (upload_query(w, 0, &q) == 0) {
        s3_request rq = {
            .op = "AbortMultipartUpload", .method = "DELETE", .key = w->key, .query = q.data};
        s3_response rs;
        lambda_error ignored = {{0}, {0}};
        s3_perform(s, &rq, &rs, &ignored); /* best effort: lifecycle rules clean up */
        s3_response_free(&rs);
    }
    lambda_store_buf_free(&q);
}

void s3_put_abort(lambda_store_writer *base)
{
    s3_writer *w = (s3_writer *)base;
    abort_upload((s3_store *)base->store, w);
    writer_free(w);
}

static lambda_store_status complete_upload(s3_store *s, s3_writer *w, lambda_error *err)
{
    lambda_store_buf q = {0}, xml = {0};
    int bad = upload_query(w, 0, &q);
    bad = bad ? bad
              : lambda_store_buf_adds(&xml, "<CompleteMultipartUpload "
                                            "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    bad = bad ? bad : lambda_store_buf_add(&xml, w->done.data, w->done.len);
    bad = bad ? bad : lambda_store_buf_adds(&xml, "</CompleteMultipartUpload>");
    lambda_store_status rc;
    if (bad) {
        rc = lambda_store_fail(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
    } else {
        s3_request rq = {.op = "CompleteMultipartUpload",
                         .method = "POST",
                         .key = w->key,
                         .query = q.data,
                         .has_body = 1,
                         .body = xml.data,
                         .body_len = xml.len};
        s3_response rs;
        rc = s3_perform(s, &rq, &rs, err);
        s3_response_free(&rs);
    }
    lambda_store_buf_free(&q);
    lambda_store_buf_free(&xml);
    return rc;
}

lambda_store_status s3_put_commit(lambda_store_writer *base, lambda_error *err)
{
    s3_writer *w = (s3_writer *)base;
    s3_store *s = (s3_store *)base->store;
    lambda_store_status rc;
    if (!w->upload_id[0]) {
        s3_request rq = {.op = "PutObject",
                         .method = "PUT",
                         .key = w->key,
                         .has_body = 1,
                         .body = w->buf.data,
                         .body_len = w->buf.len};
        s3_response rs;
        rc = s3_perform(s, &rq, &rs, err);
        s3_response_free(&rs);
    } else {
        rc = w->buf.len > 0 ? flush_part(s, w, err) : LAMBDA_STORE_OK;
        if (rc == LAMBDA_STORE_OK)
            rc = complete_upload(s, w, err);
        if (rc != LAMBDA_STORE_OK)
            abort_upload(s, w);
    }
    writer_free(w);
    return rc;
}

/*
 * Unit tests of the store: URL and key validation, the S3 XML parsers, the
 * crypto shim against published vectors, and the file backend end to end.
 *
 * `functions_test_store retry` instead runs the retry scenarios against the
 * scripted fake S3 started by fake_s3.py (FAKE_S3_URL in the environment).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "report.h"
#include "store_internal.h"

/* ---- URLs and keys ---- */

static void test_parse_url(void **state)
{
    (void)state;
    lambda_store_location loc;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_parse_url("file:///tmp/x/", &loc, &err), 0);
    assert_false(loc.is_s3);
    assert_string_equal(loc.path, "/tmp/x");
    assert_int_equal(lambda_store_parse_url("file:///", &loc, &err), 0);
    assert_string_equal(loc.path, "/");
    assert_int_equal(lambda_store_parse_url("s3://my-bucket", &loc, &err), 0);
    assert_true(loc.is_s3);
    assert_string_equal(loc.bucket, "my-bucket");
    assert_string_equal(loc.prefix, "");
    assert_int_equal(lambda_store_parse_url("s3://my-bucket/a/b/", &loc, &err), 0);
    assert_string_equal(loc.prefix, "a/b");
    const char *bad[] = {"",
                         "file://relative",
                         "file:///a/../b",
                         "s3://",
                         "s3://AB",
                         "s3://ab",
                         "s3://-bucket",
                         "s3://bucket/a//b",
                         "s3://bucket/../x",
                         "http://x",
                         "S3://bucket",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(lambda_store_parse_url(bad[i], &loc, &err), LAMBDA_STORE_INVALID);
        assert_string_equal(err.type, "InvalidInput");
    }
}

static void test_check_key(void **state)
{
    (void)state;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_check_key("prospects/customer=a/date=2024-01-01/x.ndjson", &err),
                     0);
    const char *bad[] = {"", "/abs", "a//b", "a/../b", "..", "./a", "a/", "a\\b", "a\nb", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(lambda_store_check_key(bad[i], &err), LAMBDA_STORE_INVALID);
}

/* Every status has its errorType, made in one place; a failure fills err
 * with the name of the status the backend chose. */
static void test_status_names(void **state)
{
    static const struct {
        lambda_store_status status;
        const char *name;
    } names[] = {
        {LAMBDA_STORE_OK, ""},
        {LAMBDA_STORE_UNAVAILABLE, "StoreUnavailable"},
        {LAMBDA_STORE_THROTTLED, "StoreThrottled"},
        {LAMBDA_STORE_TLS, "StoreTlsError"},
        {LAMBDA_STORE_ACCESS_DENIED, "StoreAccessDenied"},
        {LAMBDA_STORE_NOT_FOUND, "StoreNotFound"},
        {LAMBDA_STORE_INVALID, "InvalidInput"},
        {LAMBDA_STORE_REFUSED, "StoreError"},
        {LAMBDA_STORE_ABORTED, "StoreAborted"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(lambda_store_status_name(names[i].status), names[i].name);
    lambda_error err = {"", ""};
    assert_int_equal(lambda_store_fail(&err, LAMBDA_STORE_TLS, "CA %s", "x"), LAMBDA_STORE_TLS);
    assert_string_equal(err.type, "StoreTlsError");
    assert_string_equal(err.message, "CA x");
    lambda_store *s;
    assert_int_equal(lambda_store_open("file:///nonexistent-h12/dir", &s, &err),
                     LAMBDA_STORE_NOT_FOUND);
    assert_string_equal(err.type, "StoreNotFound");
    assert_int_equal(lambda_store_check_key("../x", &err), LAMBDA_STORE_INVALID);
    assert_string_equal(err.type, "InvalidInput");
}

static void test_uri_encode(void **state)
{
    (void)state;
    lambda_store_buf e = {0};
    assert_int_equal(lambda_s3_uri_encode(&e, "a b/c=d~e_f.g-h%", 1), 0);
    assert_string_equal(e.data, "a%20b/c%3Dd~e_f.g-h%25");
    lambda_store_buf_reset(&e);
    assert_int_equal(lambda_s3_uri_encode(&e, "a/b", 0), 0);
    assert_string_equal(e.data, "a%2Fb");
    /* appends to what the buffer holds */
    assert_int_equal(lambda_s3_uri_encode(&e, "\xC3\xA9", 1), 0);
    assert_string_equal(e.data, "a%2Fb%C3%A9");
    assert_int_equal(e.len, strlen("a%2Fb%C3%A9"));
    lambda_store_buf_free(&e);
}

/* ---- crypto shim: FIPS 180-2 and RFC 4231 vectors ---- */

static void test_crypto_vectors(void **state)
{
    (void)state;
    unsigned char d[32];
    char hex[65];
    lambda_store_sha256("abc", 3, d);
    lambda_store_hex(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    lambda_store_sha256("", 0, d);
    lambda_store_hex(d, 32, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* RFC 4231 test case 2 */
    lambda_store_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    lambda_store_hex(d, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* ---- S3 XML ---- */

typedef struct listed {
    char keys[8][64];
    uint64_t sizes[8];
    int n;
    int stop_after;
} listed;

static int on_key(const char *key, uint64_t size, void *ud)
{
    listed *l = ud;
    snprintf(l->keys[l->n], sizeof l->keys[0], "%s", key);
    l->sizes[l->n] = size;
    l->n++;
    return l->stop_after && l->n >= l->stop_after;
}

static void test_xml_list(void **state)
{
    (void)state;
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
        "<IsTruncated>true</IsTruncated>"
        "<Contents><Key>p/a&amp;b.ndjson</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
        "<ETag>&quot;x&quot;</ETag><Size>123</Size><StorageClass>STANDARD</StorageClass></Contents>"
        "<Contents><Key>p/\xC3\xA9t\xC3\xA9.ndjson</Key><Size>18446744073709551615</Size></"
        "Contents>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</"
        "NextContinuationToken>"
        "</ListBucketResult>";
    lambda_s3_list_page page;
    listed l = {0};
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_s3_parse_list(xml, strlen(xml), &page, on_key, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.keys[0], "p/a&b.ndjson");
    assert_int_equal(l.sizes[0], 123);
    assert_string_equal(l.keys[1], "p/\xC3\xA9t\xC3\xA9.ndjson");
    assert_true(l.sizes[1] == UINT64_MAX);
    assert_true(page.truncated);
    assert_string_equal(page.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");

    /* the callback may stop the listing */
    listed one = {.stop_after = 1};
    assert_int_equal(lambda_s3_parse_list(xml, strlen(xml), &page, on_key, &one, &err), 0);
    assert_int_equal(one.n, 1);
    assert_true(page.stopped);

    /* an empty last page */
    const char *empty = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
    listed none = {0};
    assert_int_equal(lambda_s3_parse_list(empty, strlen(empty), &page, on_key, &none, &err), 0);
    assert_int_equal(none.n, 0);
    assert_false(page.truncated);

    /* malformed: not XML, or an entry without its size */
    const char *broken[] = {
        "<ListBucketResult><Contents><Key>a</Key>", "not xml",
        "<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>", NULL};
    for (int i = 0; broken[i]; i++) {
        listed x = {0};
        memset(&err, 0, sizeof err);
        assert_int_equal(
            lambda_s3_parse_list(broken[i], strlen(broken[i]), &page, on_key, &x, &err),
            LAMBDA_STORE_UNAVAILABLE);
        assert_string_equal(err.type, "StoreUnavailable");
    }
}

static void test_xml_error_and_text(void **state)
{
    (void)state;
    const char *xml =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
        "<Message>Please reduce your request rate.</Message><RequestId>1</RequestId></Error>";
    char code[64], msg[128];
    assert_int_equal(lambda_s3_parse_error(xml, strlen(xml), code, sizeof code, msg, sizeof msg),
                     1);
    assert_string_equal(code, "SlowDown");
    assert_string_equal(msg, "Please reduce your request rate.");
    const char *ok = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                     "<UploadId>VXBsb2FkIElE&amp;x</UploadId></InitiateMultipartUploadResult>";
    assert_int_equal(lambda_s3_parse_error(ok, strlen(ok), code, sizeof code, msg, sizeof msg), 0);
    assert_int_equal(lambda_s3_parse_error("", 0, code, sizeof code, msg, sizeof msg), 0);
    char id[64];
    assert_int_equal(lambda_s3_parse_text(ok, strlen(ok), "UploadId", id, sizeof id), 0);
    assert_string_equal(id, "VXBsb2FkIElE&x");
    const char *copy = "<CopyPartResult><LastModified>x</LastModified><ETag>&quot;abc&quot;</"
                       "ETag></CopyPartResult>";
    assert_int_equal(lambda_s3_parse_text(copy, strlen(copy), "ETag", id, sizeof id), 0);
    assert_string_equal(id, "\"abc\"");
    assert_int_equal(lambda_s3_parse_text(copy, strlen(copy), "UploadId", id, sizeof id), -1);
    /* 200 OK with an <Error> inside (CompleteMultipartUpload can do that) */
    const char *late = "<Error><Code>InternalError</Code><Message>We encountered an internal "
                       "error.</Message></Error>";
    assert_int_equal(lambda_s3_parse_error(late, strlen(late), code, sizeof code, msg, sizeof msg),
                     1);
    assert_string_equal(code, "InternalError");
}

typedef struct delete_errors {
    char keys[4][64], codes[4][32], messages[4][64];
    int n;
} delete_errors;

static void on_delete_error(const char *key, const char *code, const char *message, void *ud)
{
    delete_errors *d = ud;
    snprintf(d->keys[d->n], sizeof d->keys[0], "%s", key);
    snprintf(d->codes[d->n], sizeof d->codes[0], "%s", code);
    snprintf(d->messages[d->n], sizeof d->messages[0], "%s", message);
    d->n++;
}

static void test_xml_delete_body(void **state)
{
    (void)state;
    const char *keys[] = {"p/a&b<c>d\"e'f.csv", "p/\xC3\xA9t\xC3\xA9 x+y=z", "p/part-000001.json"};
    lambda_store_buf xml = {0};
    assert_int_equal(lambda_s3_delete_body(keys, 3, &xml), 0);
    const char *want =
        "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
        "<Object><Key>p/a&amp;b&lt;c&gt;d&quot;e&apos;f.csv</Key></Object>"
        "<Object><Key>p/\xC3\xA9t\xC3\xA9 x+y=z</Key></Object>"
        "<Object><Key>p/part-000001.json</Key></Object></Delete>";
    assert_string_equal(xml.data, want);
    assert_int_equal(xml.len, strlen(want));
    /* no keys: still a well-formed document */
    lambda_store_buf_reset(&xml);
    assert_int_equal(lambda_s3_delete_body(keys, 0, &xml), 0);
    assert_string_equal(xml.data, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                  "<Quiet>true</Quiet></Delete>");
    lambda_store_buf_free(&xml);
}

/* The store's growable buffer: appends, printf, the cap, reset. */
static void test_store_buf(void **state)
{
    (void)state;
    lambda_store_buf b = {.max = 16};
    assert_int_equal(lambda_store_buf_adds(&b, "abc"), 0);
    assert_int_equal(lambda_store_buf_addf(&b, "-%d-%s", 42, "x"), 0);
    assert_string_equal(b.data, "abc-42-x");
    assert_int_equal(b.len, 8);
    /* reaching the cap fails and leaves the buffer as it was */
    assert_int_equal(lambda_store_buf_adds(&b, "12345678"), -1);
    assert_int_equal(lambda_store_buf_addf(&b, "%s", "12345678"), -1);
    assert_string_equal(b.data, "abc-42-x");
    assert_int_equal(lambda_store_buf_adds(&b, "1234567"), 0);
    assert_int_equal(b.len, 15);
    lambda_store_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    /* no cap: grows past its first allocation */
    b.max = 0;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(lambda_store_buf_add(&b, "0123456789", 10), 0);
    assert_int_equal(b.len, 10000);
    assert_int_equal(b.data[10000], '\0');
    lambda_store_buf_free(&b);
    assert_null(b.data);
}

static void test_xml_delete_result(void **state)
{
    (void)state;
    lambda_error err = {{0}, {0}};
    delete_errors d = {0};
    /* verbose reply: Deleted entries are not errors; <Error> entries are,
     * with their key unescaped */
    const char *mixed =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Deleted><Key>p/ok</Key></Deleted>"
        "<Error><Key>p/a&amp;b</Key><Code>AccessDenied</Code><Message>Access "
        "Denied</Message></Error>"
        "<Deleted><Key>p/ok2</Key><DeleteMarker>true</DeleteMarker></Deleted>"
        "<Error><Key>p/slow</Key><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>"
        "</DeleteResult>";
    assert_int_equal(lambda_s3_parse_delete_result(mixed, strlen(mixed), on_delete_error, &d, &err),
                     2);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.keys[0], "p/a&b");
    assert_string_equal(d.codes[0], "AccessDenied");
    assert_string_equal(d.messages[0], "Access Denied");
    assert_string_equal(d.keys[1], "p/slow");
    assert_string_equal(d.codes[1], "SlowDown");
    /* quiet mode, all deleted */
    const char *quiet = "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>";
    memset(&d, 0, sizeof d);
    assert_int_equal(lambda_s3_parse_delete_result(quiet, strlen(quiet), on_delete_error, &d, &err),
                     0);
    assert_int_equal(d.n, 0);
    /* an error without a code still counts, with a placeholder code */
    const char *nocode = "<DeleteResult><Error><Key>k</Key></Error></DeleteResult>";
    memset(&d, 0, sizeof d);
    assert_int_equal(
        lambda_s3_parse_delete_result(nocode, strlen(nocode), on_delete_error, &d, &err), 1);
    assert_string_equal(d.codes[0], "no error code");
    /* not a DeleteResult: a whole-request <Error>, garbage, nothing */
    const char *bad[] = {"<Error><Code>InternalError</Code></Error>", "<DeleteResult><Error>",
                         "not xml", "", NULL};
    for (int i = 0; bad[i]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(
            lambda_s3_parse_delete_result(bad[i], strlen(bad[i]), on_delete_error, &d, &err), -1);
        assert_string_equal(err.type, "StoreUnavailable");
    }
}

/* ---- the file backend ---- */

static char root[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s/functions-store-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static int collect(const char *data, size_t len, void *ud)
{
    return lambda_report_buf_add(ud, data, len);
}

static size_t curl_collect(char *data, size_t size, size_t n, void *ud)
{
    return lambda_report_buf_add(ud, data, size * n) == 0 ? size * n : 0;
}

/* A sink that stops a read: with its own error the call returns
 * LAMBDA_STORE_ABORTED and keeps it; without one, StoreUnavailable. */
static int refusing_sink(const char *data, size_t len, void *ud)
{
    (void)data;
    (void)len;
    lambda_error *err = ud;
    if (err)
        lambda_error_set(err, "MergeMismatch", "the sink said no");
    return -1;
}

/* A file store on the test's directory. */
static lambda_store *root_store(void)
{
    char url[300];
    snprintf(url, sizeof url, "file://%s", root);
    lambda_store *s;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_open(url, &s, &err), LAMBDA_STORE_OK);
    return s;
}

static void test_sink_abort_status(void **state)
{
    (void)state;
    lambda_store *s = root_store();
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_put_buffer(s, "abort/x", "data", 4, &err), LAMBDA_STORE_OK);
    assert_int_equal(lambda_store_get(s, "abort/x", 0, 0, refusing_sink, &err, &err),
                     LAMBDA_STORE_ABORTED);
    assert_string_equal(err.type, "MergeMismatch");
    assert_string_equal(err.message, "the sink said no");
    memset(&err, 0, sizeof err);
    assert_int_equal(lambda_store_get(s, "abort/x", 0, 0, refusing_sink, NULL, &err),
                     LAMBDA_STORE_UNAVAILABLE);
    assert_string_equal(err.type, "StoreUnavailable");
    assert_string_equal(err.message, "reading abort/x was aborted");
    lambda_store_close(s);
}

static void test_file_store(void **state)
{
    (void)state;
    lambda_store *s = root_store();
    lambda_error err = {{0}, {0}};
    assert_false(lambda_store_is_s3(s));

    /* a streaming put is invisible until commit */
    lambda_store_writer *w;
    assert_int_equal(lambda_store_put_begin(s, "d/date=2024-01-02/b.ndjson", &w, &err), 0);
    assert_int_equal(lambda_store_put_write(w, "hello ", 6, &err), 0);
    listed l = {0};
    assert_int_equal(lambda_store_list(s, "d/", NULL, on_key, &l, &err), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(lambda_store_put_write(w, "world", 5, &err), 0);
    assert_int_equal(lambda_store_put_bytes(w), 11);
    assert_int_equal(lambda_store_put_commit(w, &err), 0);
    assert_int_equal(lambda_store_put_buffer(s, "d/date=2024-01-01/a.ndjson", "x", 1, &err), 0);
    assert_int_equal(lambda_store_put_buffer(s, "d/date=2024-01-01-extra/c", "yy", 2, &err), 0);
    assert_int_equal(lambda_store_put_buffer(s, "d/date=2024-01-03/z", "", 0, &err), 0);
    /* an aborted put leaves nothing behind */
    assert_int_equal(lambda_store_put_begin(s, "d/date=2024-01-09/gone", &w, &err), 0);
    assert_int_equal(lambda_store_put_write(w, "zz", 2, &err), 0);
    lambda_store_put_abort(w);

    /* listing: S3's byte order ('-' 0x2d sorts before '/' 0x2f), sizes,
     * plain-string prefixes, start_after, early stop */
    memset(&l, 0, sizeof l);
    assert_int_equal(lambda_store_list(s, "d/date=", NULL, on_key, &l, &err), 0);
    assert_int_equal(l.n, 4);
    assert_string_equal(l.keys[0], "d/date=2024-01-01-extra/c");
    assert_string_equal(l.keys[1], "d/date=2024-01-01/a.ndjson");
    assert_string_equal(l.keys[2], "d/date=2024-01-02/b.ndjson");
    assert_int_equal(l.sizes[2], 11);
    assert_string_equal(l.keys[3], "d/date=2024-01-03/z");
    memset(&l, 0, sizeof l);
    assert_int_equal(lambda_store_list(s, "d/date=", "d/date=2024-01-02", on_key, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.keys[0], "d/date=2024-01-02/b.ndjson");
    memset(&l, 0, sizeof l);
    l.stop_after = 1;
    assert_int_equal(lambda_store_list(s, "", NULL, on_key, &l, &err), 0);
    assert_int_equal(l.n, 1);
    memset(&l, 0, sizeof l);
    assert_int_equal(lambda_store_list(s, "nothing/here/", NULL, on_key, &l, &err), 0);
    assert_int_equal(l.n, 0);

    /* ranged reads */
    lambda_report_buf b = {0};
    assert_int_equal(lambda_store_get(s, "d/date=2024-01-02/b.ndjson", 6, 0, collect, &b, &err), 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "world", 5);
    b.len = 0;
    assert_int_equal(lambda_store_get(s, "d/date=2024-01-02/b.ndjson", 2, 3, collect, &b, &err), 0);
    assert_memory_equal(b.data, "llo", 3);

    /* append + copy + stat + delete */
    assert_int_equal(lambda_store_put_begin(s, "out/r.csv", &w, &err), 0);
    assert_int_equal(lambda_store_put_write(w, "H\n", 2, &err), 0);
    assert_int_equal(lambda_store_put_append(w, "d/date=2024-01-02/b.ndjson", 11, &err), 0);
    assert_int_equal(lambda_store_put_append(w, "d/date=2024-01-01/a.ndjson", 1, &err), 0);
    assert_int_equal(lambda_store_put_commit(w, &err), 0);
    assert_int_equal(lambda_store_copy(s, "out/r.csv", "out/copy.csv", &err), 0);
    b.len = 0;
    assert_int_equal(lambda_store_get(s, "out/copy.csv", 0, 0, collect, &b, &err), 0);
    assert_int_equal(b.len, 14);
    assert_memory_equal(b.data, "H\nhello worldx", 14);
    uint64_t size;
    int exists;
    assert_int_equal(lambda_store_stat(s, "out/copy.csv", &size, &exists, &err), 0);
    assert_true(exists);
    assert_int_equal(size, 14);
    assert_int_equal(lambda_store_delete(s, "out/copy.csv", &err), 0);
    assert_int_equal(lambda_store_delete(s, "out/copy.csv", &err), 0); /* idempotent */
    assert_int_equal(lambda_store_stat(s, "out/copy.csv", &size, &exists, &err), 0);
    assert_false(exists);

    /* batch delete: present and missing keys alike; a bad key anywhere
     * fails the call before anything is deleted */
    assert_int_equal(lambda_store_put_buffer(s, "many/a", "1", 1, &err), 0);
    assert_int_equal(lambda_store_put_buffer(s, "many/b&c", "2", 1, &err), 0);
    const char *bad_batch[] = {"many/a", "many/../escape"};
    memset(&err, 0, sizeof err);
    assert_int_equal(lambda_store_delete_many(s, bad_batch, 2, &err), LAMBDA_STORE_INVALID);
    assert_string_equal(err.type, "InvalidInput");
    assert_int_equal(lambda_store_stat(s, "many/a", &size, &exists, &err), 0);
    assert_true(exists);
    const char *batch[] = {"many/a", "many/b&c", "many/never-there"};
    assert_int_equal(lambda_store_delete_many(s, batch, 3, &err), 0);
    assert_int_equal(lambda_store_delete_many(s, batch, 3, &err), 0); /* idempotent */
    assert_int_equal(lambda_store_delete_many(s, batch, 0, &err), 0);
    memset(&l, 0, sizeof l);
    assert_int_equal(lambda_store_list(s, "many/", NULL, on_key, &l, &err), 0);
    assert_int_equal(l.n, 0);

    /* errors */
    memset(&err, 0, sizeof err);
    assert_int_equal(lambda_store_get(s, "missing", 0, 0, collect, &b, &err),
                     LAMBDA_STORE_NOT_FOUND);
    assert_string_equal(err.type, "StoreNotFound");
    memset(&err, 0, sizeof err);
    assert_int_equal(lambda_store_get(s, "../etc/passwd", 0, 0, collect, &b, &err),
                     LAMBDA_STORE_INVALID);
    assert_string_equal(err.type, "InvalidInput");
    memset(&err, 0, sizeof err);
    assert_int_equal(lambda_store_copy(s, "missing", "x", &err), LAMBDA_STORE_NOT_FOUND);
    assert_string_equal(err.type, "StoreNotFound");
    /* a file store has no presigned URLs, and says so without an error */
    memset(&err, 0, sizeof err);
    assert_null(lambda_store_presign_get(s, "out/r.csv", 60, &err));
    assert_string_equal(err.type, "");
    free(b.data);
    lambda_store_close(s);

    memset(&err, 0, sizeof err);
    assert_int_equal(lambda_store_open("file:///nonexistent/dir/for/sure", &s, &err),
                     LAMBDA_STORE_NOT_FOUND);
    assert_string_equal(err.type, "StoreNotFound");
}

static void test_s3_needs_credentials(void **state)
{
    (void)state;
    char *ak = getenv("AWS_ACCESS_KEY_ID") ? strdup(getenv("AWS_ACCESS_KEY_ID")) : NULL;
    unsetenv("AWS_ACCESS_KEY_ID");
    lambda_store *s;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_open("s3://bucket-name/p", &s, &err), LAMBDA_STORE_ACCESS_DENIED);
    assert_string_equal(err.type, "StoreAccessDenied");
    if (ak) {
        setenv("AWS_ACCESS_KEY_ID", ak, 1);
        free(ak);
    }
}

static void test_presign_shape(void **state)
{
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_SESSION_TOKEN", "tok/en+=", 1);
    setenv("AWS_REGION", "eu-west-3", 1);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL");
    lambda_store *s;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_open("s3://my-reports/base", &s, &err), 0);
    char *url = lambda_store_presign_get(s, "reports/a b/report.csv", 900, &err);
    assert_non_null(url);
    const char *head =
        "https://my-reports.s3.eu-west-3.amazonaws.com/base/reports/a%20b/report.csv?"
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F";
    assert_memory_equal(url, head, strlen(head));
    assert_non_null(strstr(url, "%2Feu-west-3%2Fs3%2Faws4_request&X-Amz-Date="));
    assert_non_null(strstr(url, "&X-Amz-Expires=900&X-Amz-Security-Token=tok%2Fen%2B%3D"
                                "&X-Amz-SignedHeaders=host&X-Amz-Signature="));
    assert_null(strstr(url, "wJalr")); /* the secret never appears */
    assert_int_equal(strlen(strstr(url, "X-Amz-Signature=") + 16), 64);
    free(url);
    assert_null(lambda_store_presign_get(s, "k", 0, &err));
    assert_string_equal(err.type, "InvalidInput");
    lambda_store_close(s);
    unsetenv("AWS_SESSION_TOKEN");
}

/* ---- retry scenarios against fake_s3.py ---- */

static lambda_store *fake_store(void)
{
    lambda_store *s;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_open("s3://fake-bucket/pre", &s, &err), 0);
    return s;
}

static void expect_get(const char *key, lambda_store_status rc, const char *type, const char *body)
{
    lambda_store *s = fake_store();
    lambda_error err = {{0}, {0}};
    lambda_report_buf b = {0};
    lambda_store_status got = lambda_store_get(s, key, 0, 0, collect, &b, &err);
    if (got != rc)
        fail_msg("GET %s: rc %d (%s: %s)", key, got, err.type, err.message);
    if (type)
        assert_string_equal(err.type, type);
    if (body) {
        assert_int_equal(b.len, strlen(body));
        assert_memory_equal(b.data, body, b.len);
    }
    free(b.data);
    lambda_store_close(s);
}

static void test_retry_5xx_then_ok(void **state)
{
    (void)state;
    expect_get("flaky", 0, NULL, "hello after two 500s");
}

static void test_retry_reset_then_ok(void **state)
{
    (void)state;
    expect_get("reset", 0, NULL, "hello after a reset");
}

static void test_truncated_body_resumes_with_range(void **state)
{
    (void)state;
    /* 100 bytes promised, 40 sent, then the connection drops: the retry
     * asks for bytes=40- and the sink sees each byte exactly once. */
    char want[101];
    for (int i = 0; i < 100; i++)
        want[i] = (char)('a' + i % 26);
    want[100] = '\0';
    expect_get("truncated", 0, NULL, want);
}

static void test_throttled_and_unavailable(void **state)
{
    (void)state;
    expect_get("slowdown", LAMBDA_STORE_THROTTLED, "StoreThrottled", NULL);
    expect_get("always-500", LAMBDA_STORE_UNAVAILABLE, "StoreUnavailable", NULL);
}

static void test_denied_and_missing(void **state)
{
    (void)state;
    expect_get("denied", LAMBDA_STORE_ACCESS_DENIED, "StoreAccessDenied", NULL);
    expect_get("missing", LAMBDA_STORE_NOT_FOUND, "StoreNotFound", NULL);
}

static void test_paginated_listing(void **state)
{
    (void)state;
    lambda_store *s = fake_store();
    lambda_error err = {{0}, {0}};
    listed l = {0};
    assert_int_equal(lambda_store_list(s, "list/", NULL, on_key, &l, &err), 0);
    assert_int_equal(l.n, 5);
    const char *want[] = {"list/a", "list/b", "list/c", "list/d", "list/e"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(l.keys[i], want[i]);
    lambda_store_close(s);
}

/* Positional writes: two threads write the halves of an object's pieces,
 * last piece first, at their offsets; the object is the pieces in order and
 * the writer counts every byte. */
#define WA_PIECES 64
typedef struct write_at_job {
    lambda_store_writer *w;
    int from;
    lambda_store_status st;
} write_at_job;

static size_t piece_len(int i)
{
    return (size_t)(i * 37 % 300) + (i == 5 ? 0 : 1);
}

static void *write_pieces(void *arg)
{
    write_at_job *j = arg;
    char buf[400];
    for (int i = WA_PIECES - 1 - j->from; i >= 0 && j->st == LAMBDA_STORE_OK; i -= 2) {
        uint64_t off = 0;
        for (int k = 0; k < i; k++)
            off += piece_len(k);
        memset(buf, 'a' + i % 26, piece_len(i));
        lambda_error err = {{0}, {0}};
        j->st = lambda_store_put_write_at(j->w, off, buf, piece_len(i), &err);
    }
    return NULL;
}

static void test_put_write_at_file(void **state)
{
    (void)state;
    lambda_store *s = root_store();
    lambda_store_writer *w = NULL;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_put_begin(s, "wa/obj", &w, &err), LAMBDA_STORE_OK);
    assert_true(lambda_store_put_can_write_at(w));
    write_at_job jobs[2] = {{w, 0, LAMBDA_STORE_OK}, {w, 1, LAMBDA_STORE_OK}};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, write_pieces, &jobs[1]), 0);
    write_pieces(&jobs[0]);
    pthread_join(tid, NULL);
    assert_int_equal(jobs[0].st, LAMBDA_STORE_OK);
    assert_int_equal(jobs[1].st, LAMBDA_STORE_OK);
    size_t total = 0;
    for (int i = 0; i < WA_PIECES; i++)
        total += piece_len(i);
    assert_int_equal(lambda_store_put_bytes(w), total);
    assert_int_equal(lambda_store_put_commit(w, &err), LAMBDA_STORE_OK);
    lambda_report_buf got = {0};
    assert_int_equal(lambda_store_get(s, "wa/obj", 0, 0, collect, &got, &err), LAMBDA_STORE_OK);
    assert_int_equal(got.len, total);
    size_t at = 0;
    for (int i = 0; i < WA_PIECES; i++)
        for (size_t k = 0; k < piece_len(i); k++, at++)
            if (got.data[at] != 'a' + i % 26)
                fail_msg("byte %zu (piece %d): %c", at, i, got.data[at]);
    lambda_report_buf_free(&got);
    lambda_store_close(s);
}

/* S3's upload streams in order: no positional writes, and a clear error. */
static void test_put_write_at_s3_refused(void **state)
{
    (void)state;
    lambda_store *s = fake_store();
    lambda_store_writer *w = NULL;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_put_begin(s, "wa/s3", &w, &err), LAMBDA_STORE_OK);
    assert_false(lambda_store_put_can_write_at(w));
    assert_int_equal(lambda_store_put_write_at(w, 0, "x", 1, &err), LAMBDA_STORE_INVALID);
    assert_string_equal(err.type, "InvalidInput");
    assert_non_null(strstr(err.message, "in order only"));
    lambda_store_put_abort(w);
    lambda_store_close(s);
}

static void test_put_sends_payload_hash(void **state)
{
    (void)state;
    lambda_store *s = fake_store();
    lambda_error err = {{0}, {0}};
    /* fake_s3 checks x-amz-content-sha256 against the body it receives */
    if (lambda_store_put_buffer(s, "upload/x", "payload", 7, &err) != 0)
        fail_msg("PUT: %s: %s", err.type, err.message);
    lambda_store_close(s);
}

static lambda_store_status delete_keys(const char *const *keys, size_t n, lambda_error *err)
{
    lambda_store *s = fake_store();
    lambda_store_status rc = lambda_store_delete_many(s, keys, n, err);
    lambda_store_close(s);
    return rc;
}

static void test_delete_many_batches(void **state)
{
    (void)state;
    /* 2501 keys: DeleteObjects requests of 1000, 1000 and 501 keys (the
     * fake checks each key arrives once, escaped keys intact) */
    static char names[2501][24];
    const char *keys[2501];
    for (int i = 0; i < 2500; i++) {
        snprintf(names[i], sizeof names[i], "del/k%04d", i);
        keys[i] = names[i];
    }
    keys[2500] = "del/a&b<c>\"'";
    lambda_error err = {{0}, {0}};
    if (delete_keys(keys, 2501, &err) != 0)
        fail_msg("delete_many: %s: %s", err.type, err.message);
}

static void test_delete_many_key_errors(void **state)
{
    (void)state;
    lambda_error err = {{0}, {0}};
    /* a per-key AccessDenied fails the call, is not re-sent, and is named */
    const char *denied[] = {"del/ok1", "del/denied", "del/ok2"};
    assert_int_equal(delete_keys(denied, 3, &err), LAMBDA_STORE_ACCESS_DENIED);
    assert_string_equal(err.type, "StoreAccessDenied");
    assert_non_null(strstr(err.message, "pre/del/denied: AccessDenied"));
    /* a per-key InternalError: that key alone is re-sent and then deleted */
    const char *flaky[] = {"del/flaky", "del/ok3"};
    memset(&err, 0, sizeof err);
    if (delete_keys(flaky, 2, &err) != 0)
        fail_msg("flaky: %s: %s", err.type, err.message);
    /* NoSuchKey: already gone is success */
    const char *gone[] = {"del/gone"};
    assert_int_equal(delete_keys(gone, 1, &err), 0);
    /* a whole-request 500 is retried like any request */
    const char *once[] = {"del/500-once"};
    assert_int_equal(delete_keys(once, 1, &err), 0);
    /* SlowDown on every attempt: StoreThrottled after the attempts */
    const char *slow[] = {"del/slow"};
    memset(&err, 0, sizeof err);
    assert_int_equal(delete_keys(slow, 1, &err), LAMBDA_STORE_THROTTLED);
    assert_string_equal(err.type, "StoreThrottled");
    assert_non_null(strstr(err.message, "SlowDown"));
    assert_non_null(strstr(err.message, "after 3 attempts"));
}

/* lambda_store_read_into through the same faults: each read gives the
 * bytes a clean GET would (fake_s3.py checks the Range of every retry and
 * how often each key was asked for). */
static void expect_read_into(const char *key, uint64_t offset, uint64_t length, size_t cap,
                             lambda_store_status rc, const char *type, const char *body)
{
    lambda_store *s = fake_store();
    lambda_error err = {{0}, {0}};
    char buf[128];
    assert_true(cap <= sizeof buf);
    size_t got = 0;
    lambda_store_status st = lambda_store_read_into(s, key, offset, length, buf, cap, &got, &err);
    if (st != rc)
        fail_msg("read_into %s: rc %d (%s: %s)", key, st, err.type, err.message);
    if (type)
        assert_string_equal(err.type, type);
    if (body) {
        assert_int_equal(got, strlen(body));
        assert_memory_equal(buf, body, got);
    }
    lambda_store_close(s);
}

static void test_read_into_retried_and_resumed(void **state)
{
    (void)state;
    char abc[101];
    for (int i = 0; i < 100; i++)
        abc[i] = (char)('a' + i % 26);
    abc[100] = '\0';
    expect_read_into("into/flaky", 0, 0, 64, 0, NULL, "hello after two 500s");
    expect_read_into("into/reset", 0, 0, 64, 0, NULL, "hello after a reset");
    /* to the end, cut after 40 of 100 bytes: resumed with bytes=40- */
    expect_read_into("into/truncated", 0, 0, 101, 0, NULL, abc);
    /* a range cut after 30 of 80 bytes: resumed with bytes=40-89 */
    abc[90] = '\0';
    expect_read_into("into/cut-range", 10, 80, 80, 0, NULL, abc + 10);
    expect_read_into("into/slowdown", 0, 0, 64, LAMBDA_STORE_THROTTLED, "StoreThrottled", NULL);
    expect_read_into("into/denied", 0, 0, 64, LAMBDA_STORE_ACCESS_DENIED, "StoreAccessDenied",
                     NULL);
}

int lambda_store_test_retry_main(void);
int lambda_store_test_retry_main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_5xx_then_ok),
        cmocka_unit_test(test_retry_reset_then_ok),
        cmocka_unit_test(test_truncated_body_resumes_with_range),
        cmocka_unit_test(test_throttled_and_unavailable),
        cmocka_unit_test(test_denied_and_missing),
        cmocka_unit_test(test_paginated_listing),
        cmocka_unit_test(test_put_sends_payload_hash),
        cmocka_unit_test(test_put_write_at_s3_refused),
        cmocka_unit_test(test_delete_many_batches),
        cmocka_unit_test(test_delete_many_key_errors),
        cmocka_unit_test(test_read_into_retried_and_resumed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ---- the S3 backend against a real S3-compatible server (s3rver) ---- */

#define MIB (1024u * 1024u)

static unsigned char pattern(uint64_t i)
{
    return (unsigned char)(i ^ (i >> 8) ^ (i >> 16) ^ 0x5a);
}

static int write_pattern(lambda_store_writer *w, uint64_t from, uint64_t n, lambda_error *err)
{
    static unsigned char chunk[64 * 1024];
    while (n > 0) {
        size_t k = n < sizeof chunk ? (size_t)n : sizeof chunk;
        for (size_t i = 0; i < k; i++)
            chunk[i] = pattern(from + i);
        if (lambda_store_put_write(w, chunk, k, err) != 0)
            return -1;
        from += k;
        n -= k;
    }
    return 0;
}

/* Checks a stream against segments of the pattern: {start, length}... */
typedef struct expect_stream {
    const uint64_t (*segs)[2];
    size_t n_segs, seg;
    uint64_t off; /* within the current segment */
    uint64_t total;
    int bad;
} expect_stream;

static int check_sink(const char *data, size_t len, void *ud)
{
    expect_stream *e = ud;
    for (size_t i = 0; i < len; i++) {
        while (e->seg < e->n_segs && e->off == e->segs[e->seg][1]) {
            e->seg++;
            e->off = 0;
        }
        if (e->seg == e->n_segs || (unsigned char)data[i] != pattern(e->segs[e->seg][0] + e->off)) {
            e->bad = 1;
            return 0;
        }
        e->off++;
        e->total++;
    }
    return 0;
}

static lambda_store *s3_store(void)
{
    lambda_store *s;
    lambda_error err = {{0}, {0}};
    const char *u = getenv("S3_TEST_URL") ? getenv("S3_TEST_URL") : "s3://lambda-test/unit";
    if (lambda_store_open(u, &s, &err) != 0)
        fail_msg("open %s: %s", u, err.message);
    return s;
}

static void test_s3_small_objects_and_keys(void **state)
{
    (void)state;
    lambda_store *s = s3_store();
    lambda_error err = {{0}, {0}};
    /* keys that need encoding in paths and queries */
    const char *keys[] = {"k/a b+c=d.txt", "k/date=2024-01-01/x.ndjson",
                          "k/\xC3\xA9t\xC3\xA9~_.txt"};
    for (int i = 0; i < 3; i++)
        if (lambda_store_put_buffer(s, keys[i], keys[i], strlen(keys[i]), &err) != 0)
            fail_msg("put %s: %s", keys[i], err.message);
    listed l = {0};
    assert_int_equal(lambda_store_list(s, "k/", NULL, on_key, &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.keys[0], "k/a b+c=d.txt");
    assert_string_equal(l.keys[1], "k/date=2024-01-01/x.ndjson");
    assert_int_equal(l.sizes[1], strlen(keys[1]));
    memset(&l, 0, sizeof l);
    assert_int_equal(lambda_store_list(s, "k/", "k/a b+c=d.txt", on_key, &l, &err), 0);
    assert_int_equal(l.n, 2);
    lambda_report_buf b = {0};
    assert_int_equal(lambda_store_get(s, keys[2], 0, 0, collect, &b, &err), 0);
    assert_int_equal(b.len, strlen(keys[2]));
    assert_memory_equal(b.data, keys[2], b.len);
    /* zero-byte object, stat, copy, delete */
    assert_int_equal(lambda_store_put_buffer(s, "k/empty", "", 0, &err), 0);
    uint64_t size = 99;
    int exists = 0;
    assert_int_equal(lambda_store_stat(s, "k/empty", &size, &exists, &err), 0);
    assert_true(exists);
    assert_int_equal(size, 0);
    /* (s3rver decodes x-amz-copy-source with decodeURI, which leaves %3D
     * and %2B encoded, unlike S3: copy a key without '=' or '+'.) */
    assert_int_equal(lambda_store_copy(s, keys[2], "k/copied", &err), 0);
    b.len = 0;
    assert_int_equal(lambda_store_get(s, "k/copied", 0, 0, collect, &b, &err), 0);
    assert_memory_equal(b.data, keys[2], strlen(keys[2]));
    assert_int_equal(lambda_store_delete(s, "k/copied", &err), 0);
    assert_int_equal(lambda_store_delete(s, "k/copied", &err), 0);
    assert_int_equal(lambda_store_stat(s, "k/copied", &size, &exists, &err), 0);
    assert_false(exists);
    memset(&err, 0, sizeof err);
    assert_int_equal(lambda_store_get(s, "k/never", 0, 0, collect, &b, &err),
                     LAMBDA_STORE_NOT_FOUND);
    assert_string_equal(err.type, "StoreNotFound");
    /* presigned GET works without credentials */
    char *u = lambda_store_presign_get(s, keys[0], 60, &err);
    assert_non_null(u);
    CURL *c = curl_easy_init();
    lambda_report_buf got = {0};
    curl_easy_setopt(c, CURLOPT_URL, u);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    assert_int_equal(code, 200);
    assert_int_equal(got.len, strlen(keys[0]));
    curl_easy_cleanup(c);
    free(got.data);
    free(u);
    free(b.data);
    lambda_store_close(s);
}

static void test_s3_multipart_and_append(void **state)
{
    (void)state;
    setenv("LAMBDA_S3_PART_SIZE", "5242880", 1);
    lambda_store *s = s3_store();
    lambda_error err = {{0}, {0}};
    /* 12 MiB + 123 bytes streamed: three multipart parts */
    const uint64_t big = 12ull * MIB + 123;
    lambda_store_writer *w;
    assert_int_equal(lambda_store_put_begin(s, "m/big", &w, &err), 0);
    if (write_pattern(w, 0, big, &err) != 0 || lambda_store_put_commit(w, &err) != 0)
        fail_msg("multipart put: %s: %s", err.type, err.message);
    uint64_t size;
    int exists;
    assert_int_equal(lambda_store_stat(s, "m/big", &size, &exists, &err), 0);
    assert_int_equal(size, big);
    /* a small object made of the pattern's bytes 1000..1999 */
    assert_int_equal(lambda_store_put_begin(s, "m/small", &w, &err), 0);
    assert_int_equal(write_pattern(w, 1000, 1000, &err), 0);
    assert_int_equal(lambda_store_put_commit(w, &err), 0);

    /* header (pattern 0..9) + big + small + big: server-side copies for
     * the big ones, the small one through the buffer */
    assert_int_equal(lambda_store_put_begin(s, "m/merged", &w, &err), 0);
    assert_int_equal(write_pattern(w, 0, 10, &err), 0);
    if (lambda_store_put_append(w, "m/big", big, &err) != 0 ||
        lambda_store_put_append(w, "m/small", 1000, &err) != 0 ||
        lambda_store_put_append(w, "m/big", big, &err) != 0)
        fail_msg("append: %s: %s", err.type, err.message);
    assert_int_equal(lambda_store_put_bytes(w), 10 + 2 * big + 1000);
    if (lambda_store_put_commit(w, &err) != 0)
        fail_msg("commit: %s: %s", err.type, err.message);
    static const uint64_t segs[][2] = {
        {0, 10}, {0, 12ull * MIB + 123}, {1000, 1000}, {0, 12ull * MIB + 123}};
    expect_stream e = {.segs = segs, .n_segs = 4};
    assert_int_equal(lambda_store_get(s, "m/merged", 0, 0, check_sink, &e, &err), 0);
    assert_false(e.bad);
    assert_int_equal(e.total, 10 + 2 * big + 1000);
    /* a ranged read in the middle */
    static const uint64_t mid[][2] = {{5 * MIB, 100}};
    expect_stream e2 = {.segs = mid, .n_segs = 1};
    assert_int_equal(lambda_store_get(s, "m/big", 5 * MIB, 100, check_sink, &e2, &err), 0);
    assert_false(e2.bad);
    assert_int_equal(e2.total, 100);

    /* two puts at once (the process keeps one part buffer between puts: the
     * second makes its own), after the big ones: only their own bytes */
    lambda_store_writer *w2;
    assert_int_equal(lambda_store_put_begin(s, "m/two-a", &w, &err), 0);
    assert_int_equal(lambda_store_put_begin(s, "m/two-b", &w2, &err), 0);
    assert_int_equal(write_pattern(w2, 1000, 1000, &err), 0);
    assert_int_equal(write_pattern(w, 1000, 1000, &err), 0);
    assert_int_equal(lambda_store_put_commit(w, &err), 0);
    assert_int_equal(lambda_store_put_commit(w2, &err), 0);
    static const uint64_t two[][2] = {{1000, 1000}};
    for (int i = 0; i < 2; i++) {
        expect_stream e3 = {.segs = two, .n_segs = 1};
        assert_int_equal(
            lambda_store_get(s, i ? "m/two-b" : "m/two-a", 0, 0, check_sink, &e3, &err), 0);
        assert_false(e3.bad);
        assert_int_equal(e3.total, 1000);
    }

    /* an aborted multipart upload leaves no object */
    assert_int_equal(lambda_store_put_begin(s, "m/aborted", &w, &err), 0);
    assert_int_equal(write_pattern(w, 0, 6 * MIB, &err), 0);
    lambda_store_put_abort(w);
    assert_int_equal(lambda_store_stat(s, "m/aborted", &size, &exists, &err), 0);
    assert_false(exists);
    lambda_store_close(s);
    unsetenv("LAMBDA_S3_PART_SIZE");
}

static int count_key(const char *key, uint64_t size, void *ud)
{
    (void)key;
    (void)size;
    (*(size_t *)ud)++;
    return 0;
}

/* Objects under dm/ in two listings: s3rver 5.0.0 answers 500
 * (ERR_OSSL_EVP_UNSUPPORTED: its continuation-token cipher is gone from
 * Node 24's OpenSSL) to a listing longer than one page. */
static size_t count_dm(lambda_store *s)
{
    lambda_error err = {{0}, {0}};
    size_t n = 0;
    if (lambda_store_list(s, "dm/a/", NULL, count_key, &n, &err) != 0 ||
        lambda_store_list(s, "dm/b/", NULL, count_key, &n, &err) != 0)
        fail_msg("list: %s: %s", err.type, err.message);
    return n;
}

static void test_s3_delete_many(void **state)
{
    (void)state;
    lambda_store *s = s3_store();
    lambda_error err = {{0}, {0}};
    /* 1003 objects (two DeleteObjects batches), one key needing XML
     * escaping, one already gone */
    enum { N = 1003 };
    static char names[N][40];
    const char *keys[N + 2];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "dm/%c/part-%06d.csv", i < 600 ? 'a' : 'b', i);
        keys[i] = names[i];
        if (lambda_store_put_buffer(s, keys[i], "x", 1, &err) != 0)
            fail_msg("put %s: %s", keys[i], err.message);
    }
    keys[N] = "dm/b/a&b <c>'.csv";
    assert_int_equal(lambda_store_put_buffer(s, keys[N], "y", 1, &err), 0);
    keys[N + 1] = "dm/a/never-written";
    assert_int_equal(count_dm(s), N + 1);
    if (lambda_store_delete_many(s, keys, N + 2, &err) != 0)
        fail_msg("delete_many: %s: %s", err.type, err.message);
    assert_int_equal(count_dm(s), 0);
    /* idempotent: every key is gone now */
    assert_int_equal(lambda_store_delete_many(s, keys, N + 2, &err), 0);
    lambda_store_close(s);
}

static void test_s3_errors(void **state)
{
    (void)state;
    lambda_error err = {{0}, {0}};
    listed l = {0};
    lambda_store *s;
    assert_int_equal(lambda_store_open("s3://no-such-bucket-here/x", &s, &err), 0);
    assert_int_equal(lambda_store_list(s, "", NULL, on_key, &l, &err), LAMBDA_STORE_NOT_FOUND);
    assert_string_equal(err.type, "StoreNotFound");
    lambda_store_close(s);
    char *secret = strdup(getenv("AWS_SECRET_ACCESS_KEY"));
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    s = s3_store();
    memset(&err, 0, sizeof err);
    assert_int_equal(lambda_store_list(s, "", NULL, on_key, &l, &err), LAMBDA_STORE_ACCESS_DENIED);
    assert_string_equal(err.type, "StoreAccessDenied");
    assert_null(strstr(err.message, "not-the-secret"));
    memset(&err, 0, sizeof err);
    assert_int_equal(lambda_store_put_buffer(s, "x", "y", 1, &err), LAMBDA_STORE_ACCESS_DENIED);
    assert_string_equal(err.type, "StoreAccessDenied");
    lambda_store_close(s);
    setenv("AWS_SECRET_ACCESS_KEY", secret, 1);
    free(secret);
}

/* ---- lambda_store_read_into, the same assertions on every backend ---- */

#define RI_SIZE 200000u /* more than the file store's 64 KiB get buffer */

static void put_pattern(lambda_store *s, const char *key, uint64_t from, uint64_t n)
{
    lambda_error err = {{0}, {0}};
    lambda_store_writer *w;
    if (lambda_store_put_begin(s, key, &w, &err) != 0 || write_pattern(w, from, n, &err) != 0 ||
        lambda_store_put_commit(w, &err) != 0)
        fail_msg("put %s: %s: %s", key, err.type, err.message);
}

/* Reads [offset, +length) (cap bytes of room) and checks the status, the
 * count and that the bytes are the pattern's from `offset`. */
static void expect_read(lambda_store *s, const char *key, uint64_t offset, uint64_t length,
                        size_t cap, lambda_store_status want_rc, size_t want_got)
{
    unsigned char *buf = malloc(cap ? cap : 1);
    assert_non_null(buf);
    lambda_error err = {{0}, {0}};
    size_t got = 12345;
    lambda_store_status rc = lambda_store_read_into(s, key, offset, length, buf, cap, &got, &err);
    if (rc != want_rc || got != want_got)
        fail_msg("read_into %s at %" PRIu64 " length %" PRIu64 " cap %zu: rc %d got %zu (%s: %s); "
                 "expected rc %d got %zu",
                 key, offset, length, cap, rc, got, err.type, err.message, want_rc, want_got);
    if (rc != LAMBDA_STORE_OK)
        assert_string_equal(err.type, lambda_store_status_name(rc));
    for (size_t i = 0; i < got; i++)
        if (buf[i] != pattern(offset + i))
            fail_msg("read_into %s at %" PRIu64 ": byte %zu differs", key, offset, i);
    free(buf);
}

/* The same bytes as lambda_store_get with the same offset and length. */
static void expect_same_as_get(lambda_store *s, const char *key, uint64_t offset, uint64_t length)
{
    lambda_error err = {{0}, {0}};
    lambda_report_buf b = {0};
    assert_int_equal(lambda_store_get(s, key, offset, length, collect, &b, &err), 0);
    char *buf = malloc(b.len + 1);
    size_t got = 0;
    assert_int_equal(lambda_store_read_into(s, key, offset, length, buf, b.len + 1, &got, &err), 0);
    assert_int_equal(got, b.len);
    assert_memory_equal(buf, b.data, got);
    free(buf);
    free(b.data);
}

static void check_read_into(lambda_store *s)
{
    const uint64_t n = RI_SIZE;
    put_pattern(s, "ri/obj", 0, n);
    put_pattern(s, "ri/short", 0, 3);
    put_pattern(s, "ri/empty", 0, 0);
    /* to the end: the whole rest with room to spare; cap bytes and more */
    expect_read(s, "ri/obj", 0, 0, n + 1, LAMBDA_STORE_OK, n);
    expect_read(s, "ri/obj", 0, 0, n, LAMBDA_STORE_OK, n);
    expect_read(s, "ri/obj", 0, 0, 100, LAMBDA_STORE_OK, 100);
    expect_read(s, "ri/obj", n - 10, 0, 11, LAMBDA_STORE_OK, 10);
    expect_read(s, "ri/short", 0, 0, 100, LAMBDA_STORE_OK, 3);
    expect_read(s, "ri/short", 1, 0, 100, LAMBDA_STORE_OK, 2);
    expect_read(s, "ri/empty", 0, 0, 10, LAMBDA_STORE_OK, 0);
    /* ranges: in the middle, the last byte, the whole short object */
    expect_read(s, "ri/obj", 1000, 70000, 70000, LAMBDA_STORE_OK, 70000);
    expect_read(s, "ri/obj", n - 1, 1, 1, LAMBDA_STORE_OK, 1);
    expect_read(s, "ri/short", 0, 3, 8, LAMBDA_STORE_OK, 3);
    expect_same_as_get(s, "ri/obj", 0, 0);
    expect_same_as_get(s, "ri/obj", 65535, 65538);
    expect_same_as_get(s, "ri/obj", n - 7, 0);
    /* a range past the end: the bytes there were, and the get's error */
    expect_read(s, "ri/obj", n - 5, 10, 10, LAMBDA_STORE_UNAVAILABLE, 5);
    expect_read(s, "ri/short", 0, 4, 4, LAMBDA_STORE_UNAVAILABLE, 3);
    /* the caller's mistakes and missing objects */
    expect_read(s, "ri/obj", 0, 11, 10, LAMBDA_STORE_INVALID, 0);
    expect_read(s, "ri/../obj", 0, 0, 10, LAMBDA_STORE_INVALID, 0);
    expect_read(s, "ri/never", 0, 0, 10, LAMBDA_STORE_NOT_FOUND, 0);
    expect_read(s, "ri/never", 0, 5, 10, LAMBDA_STORE_NOT_FOUND, 0);

    /* The object changes between its listing (n bytes) and the read, as
     * GenerateSubReport asks (a range; to the end with one byte of room
     * more): truncated, the range fails and the rest comes short; grown,
     * the rest fills the room (more than listed). */
    uint64_t size = 0;
    int exists = 0;
    lambda_error err = {{0}, {0}};
    assert_int_equal(lambda_store_stat(s, "ri/obj", &size, &exists, &err), 0);
    assert_int_equal(size, n);
    put_pattern(s, "ri/obj", 0, n - 7);
    expect_read(s, "ri/obj", n - 100, 100, 100, LAMBDA_STORE_UNAVAILABLE, 93);
    expect_read(s, "ri/obj", n - 100, 0, 101, LAMBDA_STORE_OK, 93);
    put_pattern(s, "ri/obj", 0, n + 7);
    expect_read(s, "ri/obj", n - 100, 100, 100, LAMBDA_STORE_OK, 100);
    expect_read(s, "ri/obj", n - 100, 0, 101, LAMBDA_STORE_OK, 101);
}

static void test_read_into_file(void **state)
{
    (void)state;
    lambda_store *s = root_store();
    check_read_into(s);
    /* at the end: nothing left to the end; a range there is past it */
    expect_read(s, "ri/short", 3, 0, 10, LAMBDA_STORE_OK, 0);
    expect_read(s, "ri/short", 3, 1, 10, LAMBDA_STORE_UNAVAILABLE, 0);
    expect_read(s, "ri/empty", 0, 1, 1, LAMBDA_STORE_UNAVAILABLE, 0);
    lambda_store_close(s);
}

static void test_s3_read_into(void **state)
{
    (void)state;
    lambda_store *s = s3_store();
    check_read_into(s);
    /* at the end: S3 refuses a Range that starts there (416 InvalidRange),
     * as lambda_store_get does; a range there is past it */
    expect_read(s, "ri/short", 3, 0, 10, LAMBDA_STORE_REFUSED, 0);
    expect_read(s, "ri/short", 3, 1, 10, LAMBDA_STORE_REFUSED, 0);
    lambda_store_close(s);
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc;
    if (argc > 1 && strcmp(argv[1], "retry") == 0) {
        rc = lambda_store_test_retry_main();
    } else if (argc > 1 && strcmp(argv[1], "s3") == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_s3_small_objects_and_keys),
            cmocka_unit_test(test_s3_multipart_and_append),
            cmocka_unit_test(test_s3_delete_many),
            cmocka_unit_test(test_s3_errors),
            cmocka_unit_test(test_s3_read_into),
        };
        rc = cmocka_run_group_tests(tests, NULL, NULL);
    } else {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_url),
            cmocka_unit_test(test_check_key),
            cmocka_unit_test(test_status_names),
            cmocka_unit_test(test_uri_encode),
            cmocka_unit_test(test_crypto_vectors),
            cmocka_unit_test(test_xml_list),
            cmocka_unit_test(test_xml_error_and_text),
            cmocka_unit_test(test_xml_delete_body),
            cmocka_unit_test(test_store_buf),
            cmocka_unit_test(test_xml_delete_result),
            cmocka_unit_test_setup_teardown(test_file_store, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_sink_abort_status, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_read_into_file, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_put_write_at_file, setup_dir, teardown_dir),
            cmocka_unit_test(test_s3_needs_credentials),
            cmocka_unit_test(test_presign_shape),
        };
        rc = cmocka_run_group_tests(tests, NULL, NULL);
    }
    curl_global_cleanup();
    return rc;
}

/*
 * The clients' SigV4 signer (clients/src/sigv4.c) against AWS's published
 * SigV4 test suite (awslabs/aws-c-auth, tests/aws-signing-test-suite/v4/
 * <case>/header-signed-request.txt: AKIDEXAMPLE, us-east-1, service
 * "service", 20150830T123600Z; the "-normalized" cases, the ones for every
 * service but S3), and the double encoding of an escaped ARN in a path.
 * Built twice: on OpenSSL and, where its headers are installed, on mbedTLS
 * (the static musl build's crypto).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

#define MAX_HEADERS 8
#define SUITE_SCOPE \
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "

typedef struct vector {
    const char *name;
    const char *method;
    const char *target;
    lambda__sigv4_header headers[MAX_HEADERS]; /* besides Host and X-Amz-Date */
    const char *body;
    const char *signed_and_signature; /* the rest of the published Authorization */
} vector;

static const char sts_token[] =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPf"
    "IeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7W"
    "Z0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8"
    "FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

static const vector vectors[] = {
    {"get-vanilla",
     "GET",
     "/",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-vanilla-query-order-key-case",
     "GET",
     "/?Param2=value2&Param1=value1",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-query-order-encoded",
     "GET",
     "/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
    {"get-vanilla-empty-query-key",
     "GET",
     "/?Param1=value1",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
    {"get-vanilla-query-unreserved",
     "GET",
     "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
     "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
    {"get-vanilla-utf8-query",
     "GET",
     "/?\xe1\x88\xb4=bar",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
    {"get-unreserved",
     "GET",
     "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
    {"get-utf8",
     "GET",
     "/\xe1\x88\xb4",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-space-normalized",
     "GET",
     "/example space/",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {"get-slashes-normalized",
     "GET",
     "//example//",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
    {"get-relative-relative-normalized",
     "GET",
     "/example1/example2/../..",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-header-key-duplicate",
     "GET",
     "/",
     {{"My-Header1", "value2"}, {"My-Header1", "value2"}, {"My-Header1", "value1"}},
     NULL,
     "SignedHeaders=host;my-header1;x-amz-date, "
     "Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
    {"get-header-value-trim",
     "GET",
     "/",
     {{"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
     NULL,
     "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
     "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"get-vanilla-with-session-token",
     "GET",
     "/",
     {{"X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"}},
     NULL,
     "SignedHeaders=host;x-amz-date;x-amz-security-token, "
     "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"},
    {"post-vanilla",
     "POST",
     "/",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
    {"post-vanilla-query",
     "POST",
     "/?Param1=value1",
     {{0}},
     NULL,
     "SignedHeaders=host;x-amz-date, "
     "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"post-header-key-sort",
     "POST",
     "/",
     {{"My-Header1", "value1"}},
     NULL,
     "SignedHeaders=host;my-header1;x-amz-date, "
     "Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
    {"post-sts-header-before",
     "POST",
     "/",
     {{"X-Amz-Security-Token", sts_token}},
     NULL,
     "SignedHeaders=host;x-amz-date;x-amz-security-token, "
     "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
    {"post-x-www-form-urlencoded",
     "POST",
     "/",
     {{"Content-Type", "application/x-www-form-urlencoded"},
      {"Content-Length", "13"},
      {"x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"}},
     "Param1=value1",
     "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, "
     "Signature=d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"},
};

static const lambda__sigv4_scope suite_scope = {"AKIDEXAMPLE",
                                                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                "us-east-1", "service", "20150830T123600Z"};

/* The vector's request: its own headers, then Host and X-Amz-Date as the
 * suite's files send them. */
static size_t vector_request(const vector *v, lambda__sigv4_header *h, lambda__sigv4_request *rq)
{
    size_t n = 0;
    h[n++] = (lambda__sigv4_header){"Host", "example.amazonaws.com"};
    for (size_t i = 0; i < MAX_HEADERS && v->headers[i].name; i++)
        h[n++] = v->headers[i];
    h[n++] = (lambda__sigv4_header){"X-Amz-Date", "20150830T123600Z"};
    *rq =
        (lambda__sigv4_request){v->method, v->target, h, n, v->body, v->body ? strlen(v->body) : 0};
    return n;
}

static void test_suite_vectors(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const vector *v = &vectors[i];
        lambda__sigv4_header h[MAX_HEADERS + 2];
        lambda__sigv4_request rq;
        vector_request(v, h, &rq);
        char got[1024], want[1024];
        snprintf(want, sizeof want, "%s%s", SUITE_SCOPE, v->signed_and_signature);
        if (lambda__sigv4_authorization(&rq, &suite_scope, got, sizeof got) != 0 ||
            strcmp(got, want) != 0) {
            char *creq = lambda__sigv4_canonical_request(&rq);
            fprintf(stderr, "%s:\n  got  %s\n  want %s\n  canonical request:\n%s\n", v->name, got,
                    want, creq ? creq : "(none)");
            free(creq);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* What the double encoding does to a durable-execution path: the ARN is
 * sent escaped once (%3A, %2F), and signed escaped twice (%253A, %252F);
 * the query is sorted, its escapes kept, a name without '=' or a value
 * signed as "name=". */
static void test_durable_path_encoded_twice(void **state)
{
    (void)state;
    lambda__sigv4_header h[] = {{"Host", "lambda.us-east-1.amazonaws.com"},
                                {"X-Amz-Date", "20251201T000000Z"}};
    lambda__sigv4_request rq = {
        "GET",
        "/2025-12-01/durable-executions/"
        "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aorders%3A%24LATEST%2F"
        "durable-execution%2Frun-1%2Fe7b1/"
        "state?MaxItems=1000&Marker=m%2B1&CheckpointToken=t&Flag&Empty=",
        h,
        2,
        NULL,
        0};
    char *creq = lambda__sigv4_canonical_request(&rq);
    assert_non_null(creq);
    assert_string_equal(
        creq, "GET\n"
              "/2025-12-01/durable-executions/"
              "arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Aorders%253A"
              "%2524LATEST%252Fdurable-execution%252Frun-1%252Fe7b1/state\n"
              "CheckpointToken=t&Empty=&Flag=&Marker=m%2B1&MaxItems=1000\n"
              "host:lambda.us-east-1.amazonaws.com\n"
              "x-amz-date:20251201T000000Z\n"
              "\n"
              "host;x-amz-date\n"
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    free(creq);
}

/* A malformed date or a short buffer is refused, never half-written. */
static void test_refusals(void **state)
{
    (void)state;
    lambda__sigv4_header h[MAX_HEADERS + 2];
    lambda__sigv4_request rq;
    vector_request(&vectors[0], h, &rq);
    char out[300] = "x";
    lambda__sigv4_scope bad = suite_scope;
    bad.amz_date = "2015-08-30T12:36";
    assert_int_equal(lambda__sigv4_authorization(&rq, &bad, out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(lambda__sigv4_authorization(&rq, &suite_scope, out, 40), -1);
    assert_string_equal(out, "");
    assert_int_equal(lambda__sigv4_authorization(&rq, &suite_scope, out, sizeof out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite_vectors),
        cmocka_unit_test(test_durable_path_encoded_twice),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

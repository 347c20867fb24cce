/*
 * The crypto shim against published vectors (FIPS 180-2 SHA-256, RFC 4231
 * HMAC-SHA256, RFC 4648 base64). Built twice: against OpenSSL (the normal build) and, when
 * mbedTLS is installed, with LAMBDA_USE_MBEDTLS as the musl build uses it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store_internal.h"

static void hex_of_sha256(const char *in, size_t n, char out[65])
{
    unsigned char d[32];
    lambda_store_sha256(in, n, d);
    lambda_store_hex(d, 32, out);
}

static void test_sha256(void **state)
{
    (void)state;
    char hex[65];
    hex_of_sha256("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hex_of_sha256("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of_sha256(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_hmac_sha256(void **state)
{
    (void)state;
    unsigned char d[32];
    char hex[65];
    /* RFC 4231 test case 2 */
    lambda_store_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
    lambda_store_hex(d, 32, hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 6: a key longer than the block size */
    unsigned char key[131];
    memset(key, 0xaa, sizeof key);
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    lambda_store_hmac_sha256(key, sizeof key, msg, strlen(msg), d);
    lambda_store_hex(d, 32, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_base64(void **state)
{
    (void)state;
    /* RFC 4648 section 10 vectors */
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char out[16];
    for (int i = 0; i < 7; i++) {
        memset(out, 'x', sizeof out);
        lambda_store_base64((const unsigned char *)in[i], strlen(in[i]), out);
        assert_string_equal(out, want[i]);
    }
    /* what DeleteObjects sends as x-amz-checksum-sha256 for a body "abc" */
    unsigned char d[32];
    char b64[48];
    lambda_store_sha256("abc", 3, d);
    lambda_store_base64(d, 32, b64);
    assert_string_equal(b64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hmac_sha256),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * lambda-tls-probe: one HTTPS GET with the static musl libcurl + mbedTLS of
 * the packaging superbuild, to test what the static bootstrap's TLS stack
 * does with CA bundles.
 *
 *   lambda-tls-probe URL
 *
 * The CA bundle is chosen the way the functions' S3 client must choose it:
 * CURL_CA_BUNDLE, else SSL_CERT_FILE, else libcurl's compiled-in default
 * (/etc/pki/tls/certs/ca-bundle.crt, Amazon Linux's bundle). libcurl itself
 * reads neither variable (only the curl tool does), hence the getenv here.
 * The request is also SigV4-signed, which proves CURLOPT_AWS_SIGV4 is built
 * in (the HTTPS server ignores the signature).
 *
 * Prints "tls-probe: ok HTTP <code> (<TLS backend>)" and exits 0, or prints
 * "tls-probe: error <curl code>: <message>" and exits 1; 2 on usage errors.
 */
#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The body is not needed, only the fact that it arrived. */
static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
    (void)data;
    (void)userdata;
    return size * nmemb;
}

static const char *ca_bundle_from_env(void)
{
    const char *names[] = {"CURL_CA_BUNDLE", "SSL_CERT_FILE"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *value = getenv(names[i]);
        if (value && *value)
            return value;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s URL\n", argv[0]);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "tls-probe: curl_global_init failed\n");
        return 1;
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        fprintf(stderr, "tls-probe: curl_easy_init failed\n");
        curl_global_cleanup();
        return 1;
    }

    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, argv[1]);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    const char *ca = ca_bundle_from_env();
    if (ca)
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca);

    int status = 1;
    CURLcode rc = curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_USERPWD, "AKIDEXAMPLE:secret");
    if (rc == CURLE_OK)
        rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) {
        long code = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        printf("tls-probe: ok HTTP %ld (%s)\n", code,
               curl_version_info(CURLVERSION_NOW)->ssl_version);
        status = code == 200 ? 0 : 1;
    } else {
        fprintf(stderr, "tls-probe: error %d: %s: %s\n", (int)rc, curl_easy_strerror(rc),
                errbuf[0] ? errbuf : "(no detail)");
    }
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return status;
}

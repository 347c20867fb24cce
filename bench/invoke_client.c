/*
 * lambda-bench-invoke: warm round-trip latency through an Invoke API
 * (lambda-local's, or anything speaking POST /2015-03-31/functions/NAME/
 * invocations). It posts the same event --warmup times unmeasured (the first
 * invoke starts the runtime: that is a cold start, not what this measures),
 * then --n times measured, one request at a time on one reused connection,
 * and prints key=value lines: n, errors, median_us, p99_us, min_us, max_us.
 *
 *   lambda-bench-invoke --url URL [--event JSON] [--warmup W] [--n N]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    return size * nmemb;
}

/* Notes whether the reply carries X-Amz-Function-Error (a function error is
 * a 200 too, and must not be timed as a success). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    int *function_error = userdata;
    size_t n = size * nmemb;
    static const char name[] = "X-Amz-Function-Error:";
    if (n >= sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0)
        *function_error = 1;
    return n;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *sorted, long n, double p)
{
    long rank = (long)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

static int invoke(CURL *curl, int *function_error)
{
    *function_error = 0;
    if (curl_easy_perform(curl) != CURLE_OK)
        return -1;
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    return status == 200 && !*function_error ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    const char *event = "{\"hello\":\"world\"}";
    long warmup = 20, n = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--url") == 0)
            url = argv[i + 1];
        else if (strcmp(argv[i], "--event") == 0)
            event = argv[i + 1];
        else if (strcmp(argv[i], "--warmup") == 0)
            warmup = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--n") == 0)
            n = strtol(argv[i + 1], NULL, 10);
    }
    if (!url || n < 1 || n > 10000000 || warmup < 0 || warmup > 1000000) {
        fputs("usage: lambda-bench-invoke --url URL [--event JSON] [--warmup W] [--n N]\n", stderr);
        return 2;
    }
    double *samples = malloc(sizeof *samples * (size_t)n);
    if (!samples || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 2;
    CURL *curl = curl_easy_init();
    if (!curl)
        return 2;
    int function_error = 0;
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, event);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &function_error);

    long errors = 0;
    for (long i = 0; i < warmup; i++)
        if (invoke(curl, &function_error) != 0)
            errors++;
    long ok = 0;
    for (long i = 0; i < n; i++) {
        double t0 = now_us();
        int rc = invoke(curl, &function_error);
        double t1 = now_us();
        if (rc != 0)
            errors++;
        else
            samples[ok++] = t1 - t0;
    }
    int rc = 0;
    printf("n=%ld\nerrors=%ld\n", ok, errors);
    if (ok > 0) {
        qsort(samples, (size_t)ok, sizeof *samples, cmp_double);
        printf("median_us=%.1f\np99_us=%.1f\nmin_us=%.1f\nmax_us=%.1f\n",
               percentile(samples, ok, 50), percentile(samples, ok, 99), samples[0],
               samples[ok - 1]);
    } else {
        fputs("lambda-bench-invoke: no invoke succeeded\n", stderr);
        rc = 1;
    }
    free(samples);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    return rc;
}

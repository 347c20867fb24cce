/*
 * lambda-report-gen: writes deterministic, realistic prospect data to a
 * store in the report's layout,
 *   prospects/customer=<id>/date=<YYYY-MM-DD>/events-<k>.ndjson
 * so the tests, the benchmarks and local runs share one source of data.
 * Same arguments, same bytes: everything derives from --seed.
 *
 *   lambda-report-gen --store URL [--customers N] [--days D]
 *       [--from YYYY-MM-DD] [--events R] [--seed S] [--bad-per-mille M]
 *       [--customer-prefix P]
 *
 * Day sizes vary (quiet weekends, busy days, some empty days), a few lines
 * are malformed (bad JSON, missing fields, another customer, invalid
 * UTF-8, a truncated last line), some files use CRLF or start with a BOM,
 * and some values need CSV quoting or formula neutralisation. A JSON
 * summary goes to stdout.
 */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "store/store.h"

typedef struct rng {
    uint64_t s;
} rng;

/* splitmix64: tiny, seedable, the same on every platform. */
static uint64_t next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned below(rng *r, unsigned n)
{
    return (unsigned)(next(r) % n);
}

static const char *const types[] = {"page_view",           "signup",
                                    "brochure_request",    "call_booked",
                                    "application_started", "application_submitted",
                                    "email_open"};
static const char *const countries[] = {"FR", "DE", "ES", "IT", "GB", "US", "BR", "IN", "JP", "MA"};
static const char *const courses[] = {"MBA",     "Data Science",     "Design, UX & UI", "Law",
                                      "Nursing", "Computer Science", "Économie"};
static const char *const channels[] = {
    "seo",      "sea",   "social",  "email", "referral", "direct", "=HYPERLINK(\\\"http://x\\\")",
    "+33 1 23", "-dash", "@mention"};

typedef struct opts {
    const char *store;
    int customers, days, events, bad_per_mille;
    int64_t from;
    uint64_t seed;
    const char *customer_prefix;
} opts;

typedef struct totals {
    uint64_t objects, bytes, events, bad;
} totals;

static int put(lambda_store *st, const char *key, lambda_report_buf *b, totals *t)
{
    lambda_error err = {{0}, {0}};
    if (lambda_store_put_buffer(st, key, b->data ? b->data : "", b->len, &err) != 0) {
        fprintf(stderr, "lambda-report-gen: %s: %s\n", err.type, err.message);
        return -1;
    }
    t->objects++;
    t->bytes += b->len;
    b->len = 0;
    return 0;
}

/* One malformed line of a kind picked by the generator. */
static void bad_line(rng *r, lambda_report_buf *b, const char *date, const char *nl)
{
    char line[256];
    switch (below(r, 5)) {
    case 0:
        snprintf(line, sizeof line, "{\"eventId\":\"broken-%s\",\"customerId\":%s", date, nl);
        break;
    case 1:
        snprintf(line, sizeof line, "{\"customerId\":\"nobody\",\"type\":\"signup\"}%s", nl);
        break;
    case 2:
        snprintf(line, sizeof line,
                 "{\"eventId\":\"other-%s-%" PRIu64 "\",\"customerId\":\"someone-else\","
                 "\"prospectId\":\"p1\",\"type\":\"signup\",\"occurredAt\":\"%sT00:00:00Z\"}%s",
                 date, next(r) % 100000, date, nl);
        break;
    case 3:
        snprintf(line, sizeof line, "{\"eventId\":\"utf8-\xC3\x28\",\"type\":\"x\"}%s", nl);
        break;
    default:
        snprintf(line, sizeof line, "not json at all%s", nl);
        break;
    }
    lambda_report_buf_add(b, line, strlen(line));
}

static int generate(const opts *o, lambda_store *st, totals *t)
{
    rng r = {o->seed};
    lambda_report_buf b = {0};
    int rc = 0;
    for (int c = 0; c < o->customers && rc == 0; c++) {
        char customer[80];
        snprintf(customer, sizeof customer, "%s%04d", o->customer_prefix, c + 1);
        for (int d = 0; d < o->days && rc == 0; d++) {
            char date[11];
            lambda_report_format_date(o->from + d, date);
            /* Day weight: 5% empty, weekends quiet, 10% busy days. */
            unsigned roll = below(&r, 100);
            int weekday = (int)(((o->from + d) % 7 + 7 + 3) % 7); /* 0 = Monday */
            double w = roll < 5    ? 0.0
                       : roll < 15 ? 3.0 + below(&r, 300) / 100.0
                                   : 0.5 + below(&r, 100) / 100.0;
            if (weekday >= 5)
                w *= 0.3;
            int n = (int)(o->events * w);
            int files = n == 0 ? 0 : 1 + (int)below(&r, 3);
            for (int f = 0; f < files && rc == 0; f++) {
                int crlf = below(&r, 10) == 0, bom = below(&r, 20) == 0;
                const char *nl = crlf ? "\r\n" : "\n";
                if (bom)
                    lambda_report_buf_add(&b, "\xEF\xBB\xBF", 3);
                int count = n / files + (f < n % files);
                for (int i = 0; i < count; i++) {
                    if ((int)below(&r, 1000) < o->bad_per_mille) {
                        bad_line(&r, &b, date, nl);
                        t->bad++;
                        continue;
                    }
                    unsigned secs = below(&r, 86400);
                    char line[1024];
                    int len = snprintf(line, sizeof line,
                                       "{\"eventId\":\"%s-%s-%d-%d\",\"customerId\":\"%s\","
                                       "\"prospectId\":\"p-%05u\",\"type\":\"%s\","
                                       "\"occurredAt\":\"%sT%02u:%02u:%02uZ\",\"country\":\"%s\","
                                       "\"course\":\"%s\",\"channel\":\"%s\"",
                                       customer, date, f, i, customer, below(&r, 50000),
                                       types[below(&r, 7)], date, secs / 3600, secs / 60 % 60,
                                       secs % 60, countries[below(&r, 10)], courses[below(&r, 7)],
                                       channels[below(&r, 10)]);
                    unsigned extra = below(&r, 4);
                    if (extra == 0)
                        len += snprintf(line + len, sizeof line - (size_t)len,
                                        ",\"score\":%u,\"utm\":{\"campaign\":\"spring \\\"24\\\"\","
                                        "\"medium\":\"cpc\"}",
                                        below(&r, 100));
                    else if (extra == 1)
                        len += snprintf(line + len, sizeof line - (size_t)len,
                                        ",\"note\":\"line one\\nline two, with comma\"");
                    len += snprintf(line + len, sizeof line - (size_t)len, "}%s", nl);
                    lambda_report_buf_add(&b, line, (size_t)len);
                    t->events++;
                }
                /* Now and then the last line was cut mid-write. */
                if (o->bad_per_mille > 0 && below(&r, 50) == 0) {
                    const char *cut = "{\"eventId\":\"cut-off\",\"customerId\":\"";
                    lambda_report_buf_add(&b, cut, strlen(cut));
                    t->bad++;
                }
                char key[300];
                snprintf(key, sizeof key, "prospects/customer=%s/date=%s/events-%d.ndjson",
                         customer, date, f);
                rc = put(st, key, &b, t);
            }
        }
    }
    lambda_report_buf_free(&b);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: lambda-report-gen --store URL [--customers N] [--days D] "
                    "[--from YYYY-MM-DD] [--events R] [--seed S] [--bad-per-mille M] "
                    "[--customer-prefix P]\n");
}

int main(int argc, char **argv)
{
    opts o = {.customers = 1,
              .days = 30,
              .events = 100,
              .bad_per_mille = 5,
              .seed = 1,
              .customer_prefix = "cust"};
    const char *from = "2024-01-01";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (strcmp(a, "--store") == 0)
            o.store = v;
        else if (strcmp(a, "--customers") == 0)
            o.customers = atoi(v);
        else if (strcmp(a, "--days") == 0)
            o.days = atoi(v);
        else if (strcmp(a, "--events") == 0)
            o.events = atoi(v);
        else if (strcmp(a, "--from") == 0)
            from = v;
        else if (strcmp(a, "--seed") == 0)
            o.seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--bad-per-mille") == 0)
            o.bad_per_mille = atoi(v);
        else if (strcmp(a, "--customer-prefix") == 0)
            o.customer_prefix = v;
        else {
            usage();
            return 2;
        }
        i++;
    }
    if (!o.store || o.customers < 1 || o.days < 1 || o.events < 0 ||
        lambda_report_parse_date(from, &o.from) != 0 ||
        !lambda_report_valid_customer(o.customer_prefix)) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    lambda_store *st;
    lambda_error err = {{0}, {0}};
    int rc = 1;
    totals t = {0};
    if (lambda_store_open(o.store, &st, &err) != 0) {
        fprintf(stderr, "lambda-report-gen: %s: %s\n", err.type, err.message);
    } else {
        rc = generate(&o, st, &t) == 0 ? 0 : 1;
        lambda_store_close(st);
        if (rc == 0)
            printf("{\"objects\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"events\":%" PRIu64
                   ",\"malformed\":%" PRIu64 "}\n",
                   t.objects, t.bytes, t.events, t.bad);
    }
    curl_global_cleanup();
    return rc;
}

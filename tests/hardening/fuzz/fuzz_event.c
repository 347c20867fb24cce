/*
 * Event -> handler: arbitrary bytes go through lambda_dispatch() (the
 * runtime's JSON parse and error mapping) into the real report handlers,
 * over a file store in a private temporary directory holding a little data.
 *
 * Input: first byte picks the handler, the rest is the event payload.
 * Asserted beyond "no crash, no leak, no UB": every outcome is a success
 * whose payload is JSON, or a failure with one of the documented errorTypes
 * and a non-empty message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "handler.h"
#include "report.h"

static const lambda_handler handlers[] = {
    {.name = "SplitDateRange", .json = lambda_report_split_date_range},
    {.name = "GenerateSubReport", .json = lambda_report_generate_sub_report},
    {.name = "MergeSubReports", .json = lambda_report_merge_sub_reports},
};

static const char *const known_types[] = {
    "Runtime.InvalidEvent", "InvalidInput",      "StoreNotFound", "StoreUnavailable",
    "StoreThrottled",       "StoreAccessDenied", "StoreError",    "MergeMismatch",
};

static char root[256];

static void put(const char *rel, const char *text)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0755);
            *p = '/';
        }
    }
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static void remove_root(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/lambda-fuzz-event.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root))
        abort();
    atexit(remove_root);
    put("prospects/customer=acme/date=2024-01-01/a.ndjson",
        "{\"eventId\":\"e1\",\"customerId\":\"acme\",\"prospectId\":\"p1\",\"type\":\"visit\","
        "\"occurredAt\":\"2024-01-01T10:00:00Z\",\"country\":\"=cmd\"}\n"
        "not json\n");
    put("prospects/customer=acme/date=2024-02-29/a.ndjson",
        "{\"eventId\":\"e2\",\"customerId\":\"acme\",\"prospectId\":7,\"type\":\"apply\","
        "\"occurredAt\":\"2024-02-29T23:59:60+01:00\",\"x\":[1,{\"y\":null}]}\r\n");
    put("prospects/customer=acme/date=2024-03-01/b.ndjson",
        "\xEF\xBB\xBF{\"eventId\":\"e3\",\"customerId\":\"acme\",\"prospectId\":\"p\","
        "\"type\":\"t\",\"occurredAt\":\"2024-03-01T00:00:00Z\"}");
    char url[300];
    snprintf(url, sizeof url, "file://%s", root);
    setenv("DATA_STORE", url, 1);
    setenv("AWS_LAMBDA_LOG_LEVEL", "FATAL", 1);
    setenv("SPLIT_TARGET_BYTES", "100", 1);
    unsetenv("REPORT_TEST_FAULT");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const lambda_handler *h = &handlers[data[0] % 3];
    lambda_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.request_id = "fuzz";
    const lambda_request req = {(const char *)data + 1, size - 1, &ctx};
    lambda_response res;
    memset(&res, 0, sizeof res);
    lambda_dispatch(h, &req, &res, LAMBDA_RESPONSE_LIMIT);

    if (res.kind == LAMBDA_RESPONSE_SUCCESS) {
        cJSON *out = cJSON_ParseWithLength(res.payload.data, res.payload.len);
        if (!cJSON_IsObject(out)) {
            fprintf(stderr, "%s answered a non-object: %.*s\n", h->name, (int)res.payload.len,
                    res.payload.data);
            abort();
        }
        cJSON_Delete(out);
    } else if (res.kind == LAMBDA_RESPONSE_FAILURE) {
        int known = 0;
        for (size_t i = 0; i < sizeof known_types / sizeof known_types[0]; i++)
            known |= strcmp(res.error.type, known_types[i]) == 0;
        if (!known || !res.error.message[0]) {
            fprintf(stderr, "%s failed with an undocumented error: %s: %s\n", h->name,
                    res.error.type, res.error.message);
            abort();
        }
    } else {
        abort();
    }
    lambda_response_free(&res);
    return 0;
}

/*
 * The handlers' store handles and the small JSON objects they keep beside a
 * report (plan.json, part manifests, manifest.json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler_common.h"

static char data_url[LAMBDA_STORE_URL_MAX];
static char report_url[LAMBDA_STORE_URL_MAX];

int lambda_report_init_stores(lambda_error *err)
{
    const char *data = getenv("DATA_STORE");
    const char *report = getenv("REPORT_STORE");
    if (!data || !*data) {
        snprintf(err->type, sizeof err->type, "InvalidConfiguration");
        snprintf(err->message, sizeof err->message, "DATA_STORE is not set");
        return -1;
    }
    if (!report || !*report)
        report = data;
    snprintf(data_url, sizeof data_url, "%s", data);
    snprintf(report_url, sizeof report_url, "%s", report);
    /* Open both once now so that a bad URL fails init, not every invoke. */
    lambda_store *s;
    lambda_store_location loc;
    if (lambda_store_parse_url(data_url, &loc, err) != 0 ||
        lambda_store_parse_url(report_url, &loc, err) != 0)
        return -1;
    if (lambda_store_open(data_url, &s, err) != 0)
        return -1;
    lambda_store_close(s);
    if (lambda_store_open(report_url, &s, err) != 0)
        return -1;
    lambda_store_close(s);
    return 0;
}

int report_open_stores(lambda_store **data, lambda_store **report, lambda_error *err)
{
    *data = NULL;
    if (report)
        *report = NULL;
    if (!data_url[0] && lambda_report_init_stores(err) != 0)
        return -1;
    if (lambda_store_open(data_url, data, err) != 0)
        return -1;
    if (report && lambda_store_open(report_url, report, err) != 0) {
        lambda_store_close(*data);
        *data = NULL;
        return -1;
    }
    return 0;
}

static int collect_sink(const char *data, size_t len, void *ud)
{
    return lambda_report_buf_add(ud, data, len);
}

cJSON *report_read_json(lambda_store *s, const char *key, int *missing, lambda_error *err)
{
    lambda_report_buf b = {0};
    uint64_t size;
    int exists;
    if (missing)
        *missing = 0;
    if (lambda_store_stat(s, key, &size, &exists, err) != 0)
        return NULL;
    if (!exists || size > REPORT_MAX_JSON_OBJECT) {
        if (missing)
            *missing = 1;
        lambda_error_set(err, lambda_store_status_name(LAMBDA_STORE_NOT_FOUND), "%s is missing",
                         key);
        return NULL;
    }
    if (lambda_store_get(s, key, 0, 0, collect_sink, &b, err) != 0) {
        lambda_report_buf_free(&b);
        return NULL;
    }
    cJSON *j = b.data ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    lambda_report_buf_free(&b);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        lambda_error_set(err, "MergeMismatch", "%s is not a JSON object", key);
        return NULL;
    }
    return j;
}

int report_put_json(lambda_store *s, const char *key, const cJSON *obj, lambda_error *err)
{
    char *text = cJSON_PrintUnformatted(obj);
    if (!text) {
        store_error(err, LAMBDA_STORE_UNAVAILABLE, "out of memory");
        return -1;
    }
    int rc = lambda_store_put_buffer(s, key, text, strlen(text), err);
    free(text);
    return rc;
}

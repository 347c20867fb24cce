/*
 * The real bootstrap: the report handlers behind one executable, routed by
 * _HANDLER (SplitDateRange, GenerateSubReport, MergeSubReports,
 * SummarizeReport, RequestApproval, ApproveReport, the streaming
 * DownloadReport and the durable ReportDurable — also the SAM logical IDs).
 * The init hook checks DATA_STORE / REPORT_STORE once, so a misconfigured
 * function fails at init with a clear error instead of on every invocation.
 */
#include <curl/curl.h>
#include <lambda/durable.h>

#include "report/report.h"

static int init(const lambda_handler *selected, lambda_error *err)
{
    (void)selected;
    return lambda_report_init_stores(err);
}

int main(void)
{
    static const lambda_handler handlers[] = {
        {.name = "SplitDateRange", .json = lambda_report_split_date_range},
        {.name = "GenerateSubReport", .json = lambda_report_generate_sub_report},
        {.name = "MergeSubReports", .json = lambda_report_merge_sub_reports},
        {.name = "SummarizeReport", .json = lambda_report_summarize_report},
        {.name = "DownloadReport", .raw = lambda_report_download_report},
        {.name = "ApproveReport", .json = lambda_report_approve_report},
        {.name = "RequestApproval", .json = lambda_report_request_approval},
        LAMBDA_DURABLE_HANDLER("ReportDurable", &lambda_report_durable),
    };
    const lambda_runtime_config config = {
        .handlers = handlers,
        .handler_count = sizeof handlers / sizeof handlers[0],
        .init = init,
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = lambda_run(&config);
    curl_global_cleanup();
    return rc;
}

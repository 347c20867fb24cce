/* The report tests' reference reading (report_ref.h). */
#include "report_ref.h"

int report_ref_line(lambda_report_parser *p, const char *customer, const char *line, size_t len,
                    int too_long, lambda_report_buf *rows, uint64_t *nrows,
                    uint64_t skipped[LAMBDA_SKIP_COUNT])
{
    if (too_long) {
        skipped[LAMBDA_SKIP_TOO_LONG]++;
        return 0;
    }
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return 0;
    lambda_report_skip why;
    int rc = lambda_report_event_to_row_fast(p, line, len, customer, rows, &why);
    if (rc < 0)
        return -1;
    if (rc == 0)
        skipped[why]++;
    else
        (*nrows)++;
    return 0;
}

int report_ref_lines(const char *obj, size_t n, size_t max_line, lambda_report_line_fn on_line,
                     void *ud)
{
    lambda_report_lines r;
    if (lambda_report_lines_init(&r, max_line, on_line, ud) != 0)
        return -1;
    int rc =
        lambda_report_lines_feed(&r, obj, n) != 0 || lambda_report_lines_finish(&r) != 0 ? -1 : 0;
    lambda_report_lines_free(&r);
    return rc;
}

/* The reference the report tests compare GenerateSubReport's ranges
 * (test_report.c) and workers (test_gen_pool.c) with: an object read by the
 * line reader, each line through the rules a part applies before ranges. */
#ifndef LAMBDA_TESTS_REPORT_REF_H
#define LAMBDA_TESTS_REPORT_REF_H

#include <stddef.h>
#include <stdint.h>

#include "report.h"

/* One line as GenerateSubReport takes it: too long -> counted in
 * skipped[LAMBDA_SKIP_TOO_LONG]; blank (spaces, tabs, CR) -> nothing; else
 * a row of `customer` appended to `rows` (*nrows + 1) or its reason counted.
 * 0, or -1 when the parser fails (out of memory). */
int report_ref_line(lambda_report_parser *p, const char *customer, const char *line, size_t len,
                    int too_long, lambda_report_buf *rows, uint64_t *nrows,
                    uint64_t skipped[LAMBDA_SKIP_COUNT]);

/* The `n` bytes of `obj` through the line reader (lines of at most
 * `max_line` bytes), each line handed to `on_line(line, len, too_long, ud)`:
 * 0, or -1 if the reader fails. */
int report_ref_lines(const char *obj, size_t n, size_t max_line, lambda_report_line_fn on_line,
                     void *ud);

#endif

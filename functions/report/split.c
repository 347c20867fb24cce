/*
 * Byte-balanced splitting: consecutive days are grouped until a group
 * reaches the target size, so a busy month and a quiet year cost about the
 * same per part. A day is the unit (a part is a date range).
 */
#include "report.h"

size_t lambda_report_split(int64_t from, int64_t to, const lambda_report_day *days, size_t n_days,
                           uint64_t target, lambda_report_part *parts)
{
    size_t n = 0;
    uint64_t acc = 0;
    int64_t start = from;
    int open = 0;
    if (target == 0)
        target = 1;
    for (size_t i = 0; i < n_days; i++) {
        uint64_t b = days[i].bytes;
        if (b == 0 || days[i].day < from || days[i].day > to)
            continue;
        /* Close the current part before this day when adding it would
         * overshoot the target by more than the part falls short. */
        if (open && acc + b > target && acc + b - target > target - acc) {
            parts[n].from = start;
            parts[n].to = days[i].day - 1;
            parts[n].bytes = acc;
            n++;
            start = days[i].day;
            acc = 0;
        }
        acc += b;
        open = 1;
        if (acc >= target) {
            parts[n].from = start;
            parts[n].to = days[i].day;
            parts[n].bytes = acc;
            n++;
            start = days[i].day + 1;
            acc = 0;
            open = 0;
        }
    }
    if (open) {
        parts[n].from = start;
        parts[n].to = to;
        parts[n].bytes = acc;
        n++;
    } else if (n > 0) {
        parts[n - 1].to = to; /* the trailing empty days join the last part */
    }
    return n;
}

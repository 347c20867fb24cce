#!/usr/bin/env python3
"""Independent checker for the report functions (shares no code with them).

Reads the source NDJSON files of one customer straight from a directory in
the data contract's layout (a file store, or an S3 store synced to disk),
applies the contract's rules for a valid event, and compares the report CSV
against them: header, row count, the exact eventIds in order (by day, then
key order, then line order), skipped-line count, and that no text cell
starts with a formula character.

  check_report.py --source DIR --customer C --from D --to D --report FILE
                  [--expect-skipped]   (compare the 'skipped' of --result)
                  [--result merge-output.json]
Prints a JSON summary; exits 1 on any mismatch.
"""
import argparse
import csv
import datetime
import json
import os
import re
import sys

HEADER = ["event_id", "occurred_at", "prospect_id", "type", "country", "course",
          "channel", "extra"]
TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def valid_timestamp(s):
    m = TS.match(s)
    if not m:
        return False
    try:
        datetime.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return False
    return int(m.group(4)) <= 23 and int(m.group(5)) <= 59 and int(m.group(6)) <= 60


def nonempty_str(v):
    return isinstance(v, str) and v != ""


def holds_nul(v):
    """A U+0000 anywhere in the event: the contract skips such lines."""
    if isinstance(v, str):
        return "\x00" in v
    if isinstance(v, dict):
        return any(holds_nul(k) or holds_nul(x) for k, x in v.items())
    if isinstance(v, list):
        return any(holds_nul(x) for x in v)
    return False


def classify(raw, customer):
    """Returns the eventId of a valid event, None for a skipped line, '' for
    a blank line (not an event, not counted)."""
    if raw.strip(b" \t\r") == b"":
        return ""
    try:
        text = raw.decode("utf-8")
        ev = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(ev, dict):
        return None
    if holds_nul(ev):
        return None
    pid = ev.get("prospectId")
    pid_ok = nonempty_str(pid) or (isinstance(pid, (int, float)) and not isinstance(pid, bool))
    if not (nonempty_str(ev.get("eventId")) and nonempty_str(ev.get("type")) and pid_ok
            and nonempty_str(ev.get("occurredAt")) and valid_timestamp(ev["occurredAt"])
            and nonempty_str(ev.get("customerId"))):
        return None
    if ev["customerId"] != customer:
        return None
    return ev["eventId"]


def expected(source, customer, d_from, d_to):
    base = os.path.join(source, "prospects", "customer=" + customer)
    ids, skipped = [], 0
    if not os.path.isdir(base):
        return ids, skipped
    keys = []
    for day_dir in os.listdir(base):
        if not day_dir.startswith("date="):
            continue
        day = day_dir[5:]
        if not (d_from <= day <= d_to):
            continue
        for name in os.listdir(os.path.join(base, day_dir)):
            if name.endswith(".ndjson") and not name.startswith("."):
                keys.append(("date=" + day + "/" + name).encode())
    for key in sorted(keys):  # S3 order: bytewise
        with open(os.path.join(base, key.decode()), "rb") as f:
            data = f.read()
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for raw in lines:
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            r = classify(raw, customer)
            if r is None:
                skipped += 1
            elif r != "":
                ids.append(r)
    return ids, skipped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--customer", required=True)
    ap.add_argument("--from", dest="d_from", required=True)
    ap.add_argument("--to", dest="d_to", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--result")
    args = ap.parse_args()

    want, skipped = expected(args.source, args.customer, args.d_from, args.d_to)
    problems = []
    with open(args.report, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, strict=True))
    raw = open(args.report, "rb").read()
    if rows[:1] != [HEADER]:
        problems.append("bad header: %r" % (rows[:1],))
    body = rows[1:]
    got = [r[0] for r in body]
    for i, r in enumerate(body):
        if len(r) != len(HEADER):
            problems.append("row %d has %d fields" % (i + 1, len(r)))
            break
        for cell in (r[0], r[1], r[3], r[4], r[5], r[6]):
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                problems.append("row %d: unprotected formula cell %r" % (i + 1, cell))
                break
    if raw and not raw.endswith(b"\r\n"):
        problems.append("report does not end with CRLF")
    if len(got) != len(want):
        problems.append("row count %d, expected %d" % (len(got), len(want)))
    if set(got) != set(want):
        problems.append("eventId sets differ: %d missing, %d unexpected" % (
            len(set(want) - set(got)), len(set(got) - set(want))))
    elif got != want:
        problems.append("eventIds are not in day/source order")
    if args.result:
        res = json.load(open(args.result))
        if res.get("rows") != len(want):
            problems.append("result rows %r, expected %d" % (res.get("rows"), len(want)))
        if res.get("skipped") != skipped:
            problems.append("result skipped %r, expected %d" % (res.get("skipped"), skipped))
        if res.get("bytes") != len(raw):
            problems.append("result bytes %r, report has %d" % (res.get("bytes"), len(raw)))
    print(json.dumps({"rows": len(got), "expectedRows": len(want), "expectedSkipped": skipped,
                      "problems": problems}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

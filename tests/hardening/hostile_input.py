#!/usr/bin/env python3
"""Hostile input through the real bootstrap under lambda-local, file store.

Each case asserts a specific errorType or a safe output; the whole work
directory (the store, and a sibling directory standing for "outside") is
listed before and after: the only files written are under the reports/
prefix of the valid reports this test asked for.

usage: hostile_input.py LAMBDA_LOCAL BOOTSTRAP REPORT_GEN
"""
import csv
import io
import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import hlib  # noqa: E402
from hlib import check

lambda_local, bootstrap, report_gen = sys.argv[1:4]
work = hlib.workdir("hostile")
store = os.path.join(work, "store")
outside = os.path.join(work, "outside")
os.makedirs(outside)
os.makedirs(store)
with open(os.path.join(outside, "secret.txt"), "w") as f:
    f.write("not for the report\n")

import subprocess
subprocess.run([report_gen, "--store", "file://" + store, "--customers", "1", "--days", "3",
                "--from", "2024-02-27", "--events", "20", "--seed", "7"], check=True,
               stdout=subprocess.DEVNULL, timeout=60)

# A customer whose source data is hostile: formula prefixes, control
# characters, CR/LF and quotes in fields, invalid UTF-8, an escaped NUL,
# deep nesting, an over-long line, another customer's line, a BOM, CRLF.
day = os.path.join(store, "prospects", "customer=evil", "date=2024-02-28")
os.makedirs(day)
def ev(i, **extra):
    d = {"eventId": "e%d" % i, "customerId": "evil", "prospectId": "p%d" % i, "type": "visit",
         "occurredAt": "2024-02-28T10:00:00Z"}
    d.update(extra)
    return json.dumps(d).encode()
lines = [
    b"\xef\xbb\xbf" + ev(1, country="=HYPERLINK(\"http://x\",\"y\")"),
    ev(2, country="+1+2", course="-2+3", channel="@SUM(A1)"),
    ev(3, type="\tvisit", country="\rcmd", course="a,b\"c\"\r\nd"),
    ev(4, country="\u0007bell\u001b[31m"),
    ev(5, course="nul\u0000inside"),                                # escaped NUL: skipped (nulEscape)
    ev(6, nested=json.loads("[" * 200 + "]" * 200)),
    b'{"eventId":"e7","customerId":"evil","prospectId":"p","type":"t\xff\xfe",'
    b'"occurredAt":"2024-02-28T10:00:00Z"}',                      # invalid UTF-8
    ev(8, pad="x" * 8192),                                           # over REPORT_MAX_LINE
    ev(9, customerId="cust0001"),                                    # wrong customer
    ev(10, eventId="=1+1", prospectId=-42),
    b"[" * 5000 + b"]" * 5000,                                       # nested past cJSON's limit
]
with open(os.path.join(day, "a.ndjson"), "wb") as f:
    f.write(b"\r\n".join(lines) + b"\r\n")
EXPECT_ROWS = 6          # e1-e4, e6, e10; e5 (NUL), e7, e8, e9 and the nesting are skipped

env = {"DATA_STORE": "file://" + store, "REPORT_MAX_LINE": "4096", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}
# LAMBDA_VALGRIND=/usr/bin/valgrind: every bootstrap runs under valgrind
# (memcheck errors and definite/indirect leaks fail the test). The bootstraps
# end by lambda-local's SIGTERM, which LeakSanitizer would not see.
valgrind = os.environ.get("LAMBDA_VALGRIND")
vg_logs = hlib.workdir("hostile-valgrind")  # outside the listed work dir
if valgrind:
    env.update(VALGRIND=valgrind, REAL_BOOTSTRAP=os.path.abspath(bootstrap), VG_LOG_DIR=vg_logs)
    bootstrap = os.path.join(os.path.dirname(os.path.abspath(__file__)), "valgrind-bootstrap.sh")
before = hlib.snapshot(work)
valid_reports = set()

def expect(em, what, function, payload, want_type):
    status, headers, body = em.invoke(function, payload)
    etype, doc = hlib.result(status, headers, body)
    ok = etype == want_type
    if ok and etype and isinstance(doc, dict) and not etype.startswith("HTTP"):
        ok = bool(doc.get("errorMessage"))
    check("%s -> %s" % (what, want_type or "success"), ok,
          "(got %s: %s)" % (etype, body[:300]))
    return doc

def split(cust, frm, to, rid="r1"):
    return {"customerId": cust, "reportId": rid, "from": frm, "to": to}

fns = {"SplitDateRange": "SplitDateRange", "GenerateSubReport": "GenerateSubReport",
       "MergeSubReports": "MergeSubReports"}
with hlib.Emulator(lambda_local, bootstrap, fns, env, work) as em:
    # ---- the event itself ----
    pad = "x" * (6 * 1024 * 1024 - 200)
    big = dict(split("cust0001", "2024-02-27", "2024-02-29", "big"), padding=pad)
    raw = json.dumps(big).encode()
    check("6 MB event is %d bytes (over 6 MiB - 200)" % len(raw), len(raw) > 6 * 1024 * 1024 - 200)
    expect(em, "6 MB event under the 6291456-byte limit", "SplitDateRange", raw, None)
    valid_reports.add(("cust0001", "big"))
    over = dict(big, padding="x" * (6291456 + 10))
    expect(em, "event over 6291456 bytes", "SplitDateRange", json.dumps(over).encode(),
           "HTTP413:RequestTooLargeException")
    expect(em, "nesting past cJSON's limit", "SplitDateRange",
           b'{"customerId":' + b"[" * 100000 + b"]" * 100000 + b"}",
           "HTTP400:InvalidRequestContentException")
    expect(em, "deep but parseable nesting as customerId", "SplitDateRange",
           b'{"customerId":' + b"[" * 900 + b"]" * 900 + b',"reportId":"r","from":"2024-01-01","to":"2024-01-01"}',
           "InvalidInput")
    expect(em, "deep nesting in an ignored field", "SplitDateRange",
           json.dumps(dict(split("cust0001", "2024-02-27", "2024-02-27", "nest"),
                           n=json.loads("[" * 900 + "]" * 900))).encode(), None)
    valid_reports.add(("cust0001", "nest"))
    expect(em, "invalid UTF-8 payload (not JSON)", "SplitDateRange", b"\xff\xfe\x00{",
           "HTTP400:InvalidRequestContentException")
    expect(em, "empty payload (taken as {})", "SplitDateRange", b"", "InvalidInput")
    expect(em, "JSON array event", "SplitDateRange", b"[1,2]", "InvalidInput")
    expect(em, "invalid UTF-8 inside customerId", "SplitDateRange",
           b'{"customerId":"cust\xff0001","reportId":"r","from":"2024-01-01","to":"2024-01-01"}',
           "InvalidInput")
    expect(em, "control character in customerId", "SplitDateRange",
           split("cust\n0001", "2024-01-01", "2024-01-01"), "InvalidInput")
    expect(em, "formula prefix in customerId", "SplitDateRange",
           split("=cmd", "2024-01-01", "2024-01-01"), "InvalidInput")

    # ---- customerId / reportId that try to leave the prefix ----
    for cust in ["../x", "..", ".", "a/../../outside", "a%2Fb", "%2e%2e", "a\\b", "a b",
                 "c" * 65, "c" * 100000, "", "/abs"]:
        expect(em, "customerId %r" % cust[:40], "SplitDateRange",
               split(cust, "2024-01-01", "2024-01-01"), "InvalidInput")
        expect(em, "customerId %r (GenerateSubReport)" % cust[:40], "GenerateSubReport",
               {"customerId": cust, "reportId": "r",
                "part": {"index": 0, "from": "2024-01-01", "to": "2024-01-01"}}, "InvalidInput")
        expect(em, "customerId %r (MergeSubReports)" % cust[:40], "MergeSubReports",
               {"customerId": cust, "reportId": "r", "partCount": 0}, "InvalidInput")
    for rid in ["..", ".hidden", "../../outside", "r/x", "r%2F..", "r" * 81]:
        expect(em, "reportId %r" % rid[:40], "SplitDateRange",
               split("cust0001", "2024-01-01", "2024-01-01", rid), "InvalidInput")
    expect(em, "customerId not a string", "SplitDateRange",
           {"customerId": 5, "reportId": "r", "from": "2024-01-01", "to": "2024-01-01"}, "InvalidInput")

    # ---- dates and ranges ----
    for frm, to in [("2023-02-29", "2023-03-01"), ("2024-02-30", "2024-03-01"),
                    ("2024-13-01", "2024-12-31"), ("2024-1-1", "2024-01-02"),
                    (" 2024-01-01", "2024-01-02"), ("2024-01-01T00:00:00Z", "2024-01-02"),
                    ("0000-01-01", "0000-01-02"), ("10000-01-01", "10000-01-02"),
                    ("2024-03-02", "2024-02-27"),            # reversed
                    ("0001-01-01", "9999-12-31"),            # span far beyond the bound
                    ("2024-01-01", "2034-01-08")]:           # 3661 days: just over the bound
        expect(em, "range %s..%s" % (frm, to), "SplitDateRange", split("cust0001", frm, to), "InvalidInput")
        expect(em, "range %s..%s (GenerateSubReport)" % (frm, to), "GenerateSubReport",
               {"customerId": "cust0001", "reportId": "r", "part": {"index": 0, "from": frm, "to": to}},
               "InvalidInput")
    doc = expect(em, "9999-12-31 (last day there is) -> zero parts", "SplitDateRange",
                 split("cust0001", "9999-12-31", "9999-12-31", "end"), None)
    check("9999-12-31: zero parts", doc and doc.get("partCount") == 0 and doc.get("parts") == [], str(doc))
    valid_reports.add(("cust0001", "end"))
    doc = expect(em, "far-future range (no data) -> zero parts", "SplitDateRange",
                 split("cust0001", "3000-01-01", "3009-12-31", "future"), None)
    check("far future: zero parts", doc and doc.get("partCount") == 0, str(doc))
    doc = expect(em, "merge of a zero-part report -> header-only report", "MergeSubReports",
                 {"customerId": "cust0001", "reportId": "future", "partCount": 0}, None)
    valid_reports.add(("cust0001", "future"))
    path = os.path.join(store, "reports", "cust0001", "future", "report.csv")
    check("zero-part report is the header line only",
          os.path.exists(path) and open(path, "rb").read().count(b"\r\n") == 1)
    expect(em, "2024-02-29 is a day (leap year)", "SplitDateRange",
           split("cust0001", "2024-02-29", "2024-02-29", "leap"), None)
    valid_reports.add(("cust0001", "leap"))
    for idx in [-1, 1e300, 1000000, 0.5, "0", None]:
        expect(em, "part.index %r" % (idx,), "GenerateSubReport",
               {"customerId": "cust0001", "reportId": "r",
                "part": {"index": idx, "from": "2024-02-27", "to": "2024-02-27"}}, "InvalidInput")
    for field, val in [("targetBytes", 1e300), ("targetBytes", -1), ("maxParts", 1e19), ("maxParts", 0)]:
        expect(em, "%s %r" % (field, val), "SplitDateRange",
               dict(split("cust0001", "2024-02-27", "2024-02-27"), **{field: val}), "InvalidInput")
    expect(em, "urlExpiresIn 1e300", "MergeSubReports",
           {"customerId": "cust0001", "reportId": "r", "partCount": 0, "urlExpiresIn": 1e300}, "InvalidInput")
    expect(em, "partCount over the limit", "MergeSubReports",
           {"customerId": "cust0001", "reportId": "r", "partCount": 10001}, "InvalidInput")

    # ---- hostile source data -> a safe report ----
    doc = expect(em, "split over hostile data", "SplitDateRange", split("evil", "2024-02-28", "2024-02-28", "h1"), None)
    parts = (doc or {}).get("parts", [])
    gen = expect(em, "generate over hostile data", "GenerateSubReport",
                 {"customerId": "evil", "reportId": "h1", "part": parts[0] if parts else {}}, None)
    merged = expect(em, "merge over hostile data", "MergeSubReports",
                    {"customerId": "evil", "reportId": "h1", "partCount": len(parts)}, None)
    valid_reports.add(("evil", "h1"))
    check("hostile data: %d rows" % EXPECT_ROWS, gen and gen.get("rows") == EXPECT_ROWS, str(gen))
    check("hostile data: 5 lines skipped and counted", gen and gen.get("skipped") == 5, str(gen))
    manifest = os.path.join(store, "reports", "evil", "h1", "manifest.json")
    report = os.path.join(store, "reports", "evil", "h1", "report.csv")
    data = open(report, "rb").read() if os.path.exists(report) else b""
    check("report is valid UTF-8", data.decode("utf-8", "replace").encode() == data)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline="")))
    check("report parses as CSV: header + %d rows of 8 cells" % EXPECT_ROWS,
          len(rows) == EXPECT_ROWS + 1 and all(len(r) == 8 for r in rows), str(rows[:3]))
    bad = []
    for r in rows[1:]:
        for cell in r:
            if cell[:1] in ("=", "+", "@", "\t", "\r"):
                bad.append(cell)
            elif cell[:1] == "-":
                try:
                    float(cell)
                except ValueError:
                    bad.append(cell)
    check("no cell a spreadsheet would run as a formula", not bad, str(bad))
    ids = sorted(r[0] for r in rows[1:])
    check("event ids kept (formula one neutralised)",
          ids == sorted(["e1", "e2", "e3", "e4", "e6", "'=1+1"]), str(ids))
    e3 = [r for r in rows[1:] if r[0] == "e3"]
    check("quotes, comma and CRLF inside a cell survive the round trip",
          e3 and e3[0][5] == "a,b\"c\"\r\nd", str(e3))

if valgrind:
    logs = sorted(os.listdir(vg_logs))
    check("valgrind ran the bootstraps (%d processes)" % len(logs), len(logs) >= 3)
    dirty = []
    for name in logs:
        text = open(os.path.join(vg_logs, name), errors="replace").read()
        if "Invalid " in text or "uninitialised" in text or "definitely lost" in text or \
                "indirectly lost" in text:
            dirty.append(name + ":\n" + text[:3000])
    check("valgrind: no memory error and no leak in any bootstrap", not dirty, "\n".join(dirty[:2]))
hlib.rmtree(vg_logs)

after = hlib.snapshot(work)
allowed = tuple(os.path.join("store", "reports", c, r) + os.sep for c, r in valid_reports)
dirs = set(os.path.join("store", "reports", c) for c, _ in valid_reports) | \
       set(os.path.join("store", "reports", c, r) for c, r in valid_reports) | {os.path.join("store", "reports")}
stray = [p for p in hlib.changes(before, after)
         if p not in ("env-vars.json", "port", "lambda-local.out", "lambda-local.err")
         and not p.startswith(allowed) and p not in dirs]
check("nothing written outside reports/<customer>/<reportId>/ of the valid requests", not stray, str(stray))
check("no hidden temporary file left in the store",
      not [p for p in after if os.path.basename(p).startswith(".")], "")
if hlib.FAILURES:
    print(em.stderr()[-4000:], file=sys.stderr)
else:
    hlib.rmtree(work)
hlib.finish()

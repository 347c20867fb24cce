#!/usr/bin/env python3
"""S3 fault injection and secrets, through the real bootstrap under
lambda-local, against @20minutes/s3rver behind a fault-injecting proxy
(fault_proxy.mjs), everything on loopback with ports picked by the servers.

Phases (one s3rver, one proxy, one emulator):
  clean     the report with no fault: the reference bytes
  faults    500/503 bursts, SlowDown, a reset mid-body, a truncated body, a
            too-long Content-Length, on listings, GETs, PUTs, multipart
            parts, UploadPartCopy and CompleteMultipartUpload: every fault
            is consumed, retried, and the report is byte-identical with the
            same rows/bytes per part (no short part)
  threads   GET faults (cut, reset, 5xx, too-long Content-Length) with the
            part on 1 thread and on 4 threads in ranges of 200,000 bytes
            (ranged GETs resumed mid-range): byte-identical to clean
  persist   faults that outlast the retries -> StoreThrottled /
            StoreUnavailable, after exactly LAMBDA_STORE_MAX_ATTEMPTS tries
            spaced by growing backoff
  longlen   a Content-Length longer than the body (on a 1 MiB range of a
            larger object too: no empty resume range): retried to the same report
  short     a body shorter than the object with a consistent Content-Length
            (no HTTP client can see it; a range's GET counts its bytes, a
            whole object's are checked against the listing) -> retryable
            StoreUnavailable, and the
            retry gives the same report (rows were silently lost before
            functions fix a5cb738)
  secrets   with credentials + session token set and TRACE logging, and an
            auth failure with a wrong secret: the secret key, the token and
            every signature the proxy saw (headers and the presigned URL)
            never appear in stdout/stderr of lambda-local and the bootstrap

usage: s3_faults.py LAMBDA_LOCAL BOOTSTRAP REPORT_GEN NODE24 [phase ...]
"""
import json
import os
import re
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
import hlib  # noqa: E402
from hlib import check  # noqa: E402

lambda_local, bootstrap, report_gen, node = sys.argv[1:5]
phases = sys.argv[5:] or ["clean", "faults", "threads", "persist", "longlen", "short", "secrets"]
here = os.path.dirname(os.path.abspath(__file__))
work = hlib.workdir("s3")

ACCESS = "AKIAHARDENING0000001"
SECRET = "hardening/Secret+Key/0123456789abcdefXYZw"
TOKEN = "FwoGZXIvYXdzEHardeningSessionToken0123456789/abcdefghij+klmnopq=="
WRONG = "wrong/Secret+Key/zyxwvutsrqponmlkjihgf"
BUCKET = "hard"

base_env = dict(os.environ)
for k in list(base_env):
    if k.startswith("AWS_"):
        del base_env[k]

s3dir = os.path.join(work, "s3")
os.makedirs(s3dir)
s3 = hlib.Server([node, os.path.join(here, "s3rver.js"), ACCESS, SECRET, "-d", s3dir, "-a",
                  "127.0.0.1", "-p", "0", "--configure-bucket", BUCKET, "--silent"],
                 work, "s3rver", env=base_env)
proxy = hlib.Server([node, os.path.join(here, "fault_proxy.mjs"), str(s3.port)], work, "proxy",
                    env=base_env)
emulators = []


def faults(rules):
    status, _ = hlib.http_call(proxy.port, "PUT", "/__faults", json.dumps(rules).encode())
    assert status == 200


def proxy_log():
    return json.loads(hlib.http_call(proxy.port, "GET", "/__log")[1])


def aws_env(secret=SECRET):
    return {"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_SESSION_TOKEN": TOKEN, "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:%d" % proxy.port}


def emulator(secret=SECRET, **extra):
    # Credentials and region reach the functions the way Lambda gives them:
    # from the emulator's own environment (reserved names in env-vars are
    # ignored, as in SAM).
    env = dict(DATA_STORE="s3://%s/data" % BUCKET,
               REPORT_STORE="s3://%s/out" % BUCKET, AWS_LAMBDA_LOG_LEVEL="TRACE",
               LAMBDA_STORE_RETRY_BASE_MS="20", LAMBDA_S3_PART_SIZE=str(5 * 1024 * 1024),
               SPLIT_TARGET_BYTES=str(9 * 1024 * 1024))
    env.update(extra)
    d = os.path.join(work, "em%d" % len(emulators))
    os.makedirs(d)
    em = hlib.Emulator(lambda_local, bootstrap,
                       {"S": "SplitDateRange", "G": "GenerateSubReport", "M": "MergeSubReports"},
                       env, d, proc_env=dict(base_env, **aws_env(secret)))
    emulators.append(em)
    return em


def call(em, fn, payload):
    etype, doc = hlib.result(*em.invoke(fn, payload))
    return etype, doc


def run_report(em, rid):
    """split -> every part -> merge; (error, part outputs, merge output)."""
    etype, split = call(em, "S", {"customerId": "cust0001", "reportId": rid,
                                  "from": "2024-01-01", "to": "2024-01-06"})
    if etype:
        return "split: %s %s" % (etype, split), None, None
    outs = []
    for p in split["parts"]:
        etype, out = call(em, "G", {"customerId": "cust0001", "reportId": rid, "part": p})
        if etype:
            return "part %d: %s %s" % (p["index"], etype, out), None, None
        outs.append(out)
    etype, merged = call(em, "M", {"customerId": "cust0001", "reportId": rid, "parts": outs,
                                   "urlExpiresIn": 600})
    if etype:
        return "merge: %s %s" % (etype, merged), None, None
    return None, outs, merged


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.status, r.read()


try:
    # Source data straight into s3rver (no proxy): 6 days, ~2.4 MB a day.
    gen_env = dict(base_env, **aws_env())
    gen_env["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:%d" % s3.port
    import subprocess
    subprocess.run([report_gen, "--store", "s3://%s/data" % BUCKET, "--customers", "1",
                    "--days", "6", "--from", "2024-01-01", "--events", "12000", "--seed", "11"],
                   check=True, env=gen_env, stdout=subprocess.DEVNULL, timeout=180)

    em = emulator()
    clean = clean_outs = None
    if "clean" in phases or "faults" in phases or "short" in phases or "threads" in phases:
        faults([])
        err, clean_outs, merged = run_report(em, "clean")
        check("clean run", err is None, str(err))
        if not err:
            check("clean run has >= 2 parts, one >= 5 MiB (multipart + UploadPartCopy)",
                  len(clean_outs) >= 2 and max(o["bytes"] for o in clean_outs) >= 5 * 1024 * 1024,
                  str(clean_outs))
            status, clean = fetch(merged["url"])
            check("presigned URL downloads the report", status == 200 and
                  len(clean) == merged["bytes"], "(%d, %d bytes)" % (status, len(clean)))

    if "faults" in phases and clean is not None:
        # The generator (seed 11) writes objects for days 1, 2, 3, 5 and 6.
        def obj(d, i):
            return r"/%s/data/prospects/customer(=|%%3D)cust0001/date(=|%%3D)2024-01-0%d/events-%d\.ndjson" % (BUCKET, d, i)
        plan = [
            {"method": "GET", "path": r"^/%s/?\?(continuation-token=[^&]*&)?list-type=2" % BUCKET, "fault": "503", "times": 1},
            {"method": "GET", "path": obj(1, 0), "fault": "500", "times": 2},
            {"method": "GET", "path": obj(2, 0), "fault": "503", "times": 2},
            {"method": "GET", "path": obj(2, 1), "fault": "reset", "times": 1},
            {"method": "GET", "path": obj(3, 0), "fault": "truncate", "times": 1},
            {"method": "GET", "path": obj(3, 1), "fault": "500", "times": 1},
            {"method": "GET", "path": obj(3, 1), "fault": "reset", "times": 1},
            {"method": "GET", "path": obj(6, 2), "fault": "truncate", "times": 1},
            {"method": "GET", "path": obj(6, 2), "fault": "503", "times": 1},
            {"method": "PUT", "path": r"/out/reports/cust0001/faulty/part-000000\.csv\?partNumber=1&", "fault": "500", "times": 1},
            {"method": "PUT", "path": r"/out/reports/cust0001/faulty/part-00000\d\.json", "fault": "503", "times": 1},
            {"method": "POST", "path": r"/out/reports/cust0001/faulty/part-000000\.csv\?uploadId=", "fault": "500", "times": 1},
            {"method": "PUT", "path": r"/out/reports/cust0001/faulty/report\.csv\?partNumber=1&", "fault": "500", "times": 1},
            {"method": "GET", "path": r"/out/reports/cust0001/faulty/part-000001\.csv", "fault": "reset", "times": 1},
            {"method": "POST", "path": r"/out/reports/cust0001/faulty/report\.csv\?uploadId=", "fault": "503", "times": 1},
        ]
        faults(plan)
        before = len(proxy_log()["injected"])
        err, outs, merged = run_report(em, "faulty")
        log = proxy_log()
        check("report completes through every fault", err is None, str(err))
        check("every planned fault was injected", not log["pending"] and
              len(log["injected"]) - before == sum(r["times"] for r in plan),
              "pending: %s" % log["pending"])
        if not err:
            strip = [{k: v for k, v in o.items() if k != "key"} for o in outs]
            ref = [{k: v for k, v in o.items() if k != "key"} for o in clean_outs]
            check("same rows/bytes/skipped per part as the clean run (no short part)", strip == ref,
                  "%s vs %s" % (strip, ref))
            faults([])
            status, body = fetch(merged["url"])
            check("report byte-identical to the fault-free run", status == 200 and body == clean,
                  "(%d bytes vs %d)" % (len(body), len(clean)))

    if "threads" in phases and clean is not None:
        # The same report on 1 thread and on 4 threads in ranges of 200,000
        # bytes (ranged GETs, lines across range ends), through failed,
        # reset and cut GETs: every fault retried or resumed, same bytes.
        def day(d):
            return r"/%s/data/prospects/customer(=|%%3D)cust0001/date(=|%%3D)2024-01-0%d/" % (BUCKET, d)
        for threads, chunk in [("1", None), ("4", "200000")]:
            extra = {"REPORT_THREADS": threads}
            if chunk:
                extra["REPORT_CHUNK_BYTES"] = chunk
            em_t = emulator(**extra)
            plan = [{"method": "GET", "path": day(1), "fault": "truncate", "times": 2},
                    {"method": "GET", "path": day(2), "fault": "500", "times": 2},
                    {"method": "GET", "path": day(3), "fault": "reset", "times": 2},
                    {"method": "GET", "path": day(5), "fault": "truncate", "times": 1},
                    {"method": "GET", "path": day(5), "fault": "503", "times": 1},
                    {"method": "GET", "path": day(6), "fault": "long-length", "times": 1}]
            faults(plan)
            log0 = proxy_log()
            err, outs, merged = run_report(em_t, "threads-" + threads)
            log = proxy_log()
            what = "%s thread(s)%s" % (threads, ", ranges of %s bytes" % chunk if chunk else "")
            check("%s: report completes through GET faults" % what, err is None, str(err))
            check("%s: every planned fault was injected" % what, not log["pending"] and
                  len(log["injected"]) - len(log0["injected"]) == sum(r["times"] for r in plan),
                  "pending: %s" % log["pending"])
            if not err:
                strip = [{k: v for k, v in o.items() if k != "key"} for o in outs]
                ref = [{k: v for k, v in o.items() if k != "key"} for o in clean_outs]
                check("%s: same rows/bytes/skipped per part" % what, strip == ref,
                      "%s vs %s" % (strip, ref))
                faults([])
                check("%s: report byte-identical to the clean run" % what,
                      fetch(merged["url"])[1] == clean)
            logs = em_t.stdout() + em_t.stderr()
            ranges = sum(int(x) for x in re.findall(r"; (\d+) ranges, ", logs))
            check("%s: the parts' log lines count their ranges (%d)" % (what, ranges),
                  ranges > (30 if chunk else 0))

    if "persist" in phases:
        for kind, want in [("503", "StoreThrottled"), ("500", "StoreUnavailable"),
                           ("reset", "StoreUnavailable")]:
            faults([{"method": "GET", "path": "/%s/data/prospects/.*date(=|%%3D)2024-01-01/" % BUCKET,
                     "fault": kind, "times": 1000}])
            n0 = len(proxy_log()["injected"])
            etype, doc = call(em, "G", {"customerId": "cust0001", "reportId": "persist-" + kind,
                                        "part": {"index": 0, "from": "2024-01-01", "to": "2024-01-01"}})
            inj_all = proxy_log()["injected"][n0:]
            check("persistent %s -> %s" % (kind, want), etype == want, "(got %s %s)" % (etype, doc))
            # The part's fetchers may have started more than one range of the
            # day's objects at once: each range tried exactly 5 times (a range
            # is known by its last byte: a reset one resumes from later on).
            per_obj = {}
            for i in inj_all:
                last = re.match(r"(bytes=\d+-)?(\d*)$", i["range"]).group(2)
                per_obj.setdefault((i["url"].split("?")[0], last), []).append(i)
            check("persistent %s: exactly 5 attempts per range" % kind,
                  per_obj and all(len(v) == 5 for v in per_obj.values()),
                  str({k: len(v) for k, v in per_obj.items()}))
            inj = min(per_obj.values(), key=lambda v: v[0]["at"]) if per_obj else []
            if len(inj) == 5 and kind != "reset":  # a reset's timing is the transfer's
                gaps = [b["at"] - a["at"] for a, b in zip(inj, inj[1:])]
                # base 20 ms, full jitter in [cap/2, cap]: at least 20+40+80+160 ms
                check("persistent %s: retries back off (gaps %s ms)" % (kind, gaps),
                      sum(gaps) >= 250 and gaps[-1] >= gaps[0], str(gaps))
        faults([])
        out = os.path.join(work, "s3", BUCKET)
        etype, doc = call(em, "G", {"customerId": "cust0001", "reportId": "persist-500",
                                    "part": {"index": 0, "from": "2024-01-01", "to": "2024-01-01"}})
        check("after the faults clear, the retried part succeeds", etype is None, str(doc))

    if "longlen" in phases and clean is not None:
        # Every byte arrives, the connection closes short of the announced
        # length, the store resumes with "Range: bytes=<size>-": S3's 416
        # there means "complete" (it was a permanent StoreError before
        # functions fix f6d9c54).
        faults([{"method": "GET", "path": r"/%s/data/prospects/.*date(=|%%3D)2024-01-05/" % BUCKET,
                 "fault": "long-length", "times": 1}])
        err, outs, merged = run_report(em, "longlen")
        faults([])
        check("too-long Content-Length on a GET is retried to a complete report", err is None, str(err))
        if not err:
            check("too-long Content-Length: report byte-identical", fetch(merged["url"])[1] == clean)

    if "short" in phases and clean is not None:
        faults([{"method": "GET", "path": r"/%s/data/prospects/.*date(=|%%3D)2024-01-02/" % BUCKET,
                 "fault": "short-length", "times": 1}])
        err, outs, merged = run_report(em, "short")
        faults([])
        check("short body with a consistent Content-Length -> retryable StoreUnavailable",
              err is not None and "StoreUnavailable" in err and
              ("listing said" in err or "short read" in err),
              "(got %s; report rows %s vs %s)" % (err, merged and merged["rows"],
                                                 sum(o["rows"] for o in clean_outs)))
        if err:
            # What Step Functions does with StoreUnavailable: run it again.
            err, outs, merged = run_report(em, "short")
            check("the retry gives the byte-identical report", err is None and
                  fetch(merged["url"])[1] == clean, str(err))

    if "secrets" in phases:
        # A presigned URL tampered with, and a wrong secret: auth failures.
        faults([])
        etype, merged = call(em, "M", {"customerId": "cust0001", "reportId": "clean",
                                       "urlExpiresIn": 60})
        url = (merged or {}).get("url", "")
        check("merge re-run answers a presigned URL", etype is None and "X-Amz-Signature=" in url,
              str(merged))
        if url:
            bad = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
            try:
                status = fetch(bad)[0]
            except urllib.error.HTTPError as e:
                status = e.code
            check("tampered presigned URL is refused (403)", status == 403, str(status))
        wrong = emulator(secret=WRONG)
        etype, doc = call(wrong, "S", {"customerId": "cust0001", "reportId": "denied",
                                       "from": "2024-01-01", "to": "2024-01-06"})
        check("wrong secret -> StoreAccessDenied", etype == "StoreAccessDenied", "(%s %s)" % (etype, doc))
        check("auth failure message names the cause, not the secret",
              doc and WRONG not in json.dumps(doc) and TOKEN not in json.dumps(doc), str(doc))

    # Secrets never in any log of any emulator of this test.
    sigs = proxy_log()["signatures"]
    check("the proxy saw signatures to look for (%d)" % len(sigs), len(sigs) > 0)
    for em_ in emulators:
        em_.stop()
    logs = "".join(e.stdout() + e.stderr() for e in emulators)
    check("logs are not empty (TRACE on: %d bytes)" % len(logs), len(logs) > 1000)
    for what, needle in [("secret key", SECRET), ("wrong secret key", WRONG),
                         ("session token", TOKEN)] + [("signature %s…" % s[:8], s) for s in sigs]:
        if not check("%s never in the logs" % what, needle not in logs):
            break
    for part in [SECRET[:16], TOKEN[:24]]:
        check("no fragment of a secret in the logs", part not in logs)
finally:
    for e in emulators:
        e.stop()
    proxy.stop()
    s3.stop()

if hlib.FAILURES:
    print("work dir kept: " + work, file=sys.stderr)
    for e in emulators:
        print(e.stderr()[-3000:], file=sys.stderr)
else:
    hlib.rmtree(work)
hlib.finish()

#!/usr/bin/env python3
"""A part's process killed mid-write, then retried; and what a failed
execution leaves behind. Real bootstrap under lambda-local, on the file
store (the test hook REPORT_TEST_FAULT=stallcommit:0 holds part 0's first
attempt once its rows are written but not committed, since a part is built
in milliseconds) and on S3 (s3rver behind fault_proxy.mjs, whose `delay`
fault holds the second multipart UploadPart so the kill lands mid-upload).

Asserts, per store:
  - the killed GenerateSubReport answers Runtime.ExitError (what the state
    machine retries) and leaves no visible part (no short part-*.csv);
  - the retry succeeds and the merged report is byte-identical to a clean
    run of the same range;
  - after the merge nothing but report.csv, manifest.json and plan.json is
    left in the report's prefix (file store: no temporary file of the killed
    writer; S3: no object; an interrupted multipart upload is only ever under
    reports/, where the template's AbortIncompleteMultipartUpload rule
    removes it);
  - a failed execution (REPORT_TEST_FAULT=permanent:1, no merge) leaves
    objects only under reports/<customerId>/<reportId>/ (the lifecycle
    rule's prefix), nothing under prospects/ or elsewhere.

usage: kill_mid_write.py LAMBDA_LOCAL BOOTSTRAP REPORT_GEN NODE24 [file|s3 ...]
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True
import hlib  # noqa: E402
from hlib import check  # noqa: E402

lambda_local, bootstrap, report_gen, node = sys.argv[1:5]
stores = sys.argv[5:] or ["file", "s3"]
here = os.path.dirname(os.path.abspath(__file__))
work = hlib.workdir("kill")
ACCESS, SECRET = "AKIAHARDENING0000002", "kill/Secret+Key/0123456789abcdef"
BUCKET = "killb"
base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
servers = []
emulators = []
FUNCS = {"S": "SplitDateRange", "G": "GenerateSubReport", "M": "MergeSubReports"}
RANGE = ("2024-01-01", "2024-01-03")


def bootstraps(em, handler="GenerateSubReport"):
    """The bootstrap processes lambda-local runs for `handler`."""
    return hlib.bootstrap_pids(em.proc.pid, handler)


def call(em, fn, payload):
    return hlib.result(*em.invoke(fn, payload))


def split(em, rid):
    etype, doc = call(em, "S", {"customerId": "cust0001", "reportId": rid,
                                "from": RANGE[0], "to": RANGE[1]})
    assert etype is None, (etype, doc)
    return doc["parts"]


def generate(em, rid, part):
    return call(em, "G", {"customerId": "cust0001", "reportId": rid, "part": part})


def merge(em, rid):
    return call(em, "M", {"customerId": "cust0001", "reportId": rid})


def run_clean(em, rid):
    for p in split(em, rid):
        etype, doc = generate(em, rid, p)
        assert etype is None, (etype, doc)
    etype, doc = merge(em, rid)
    assert etype is None, (etype, doc)
    return doc


def killed_run(em, rid, in_write, read_report, listing):
    """Kills part 0's process once in_write() says it is mid-write."""
    parts = split(em, rid)
    result = {}
    t = threading.Thread(target=lambda: result.update(r=generate(em, rid, parts[0])))
    t.start()
    deadline = time.time() + 60
    killed = False
    while time.time() < deadline and t.is_alive():
        if in_write():
            for pid in bootstraps(em):
                os.kill(pid, signal.SIGKILL)
                killed = True
            break
        time.sleep(0.002)
    t.join(90)
    etype, doc = result.get("r", ("no answer", None))
    check("[%s] the process was killed mid-write" % kind, killed)
    check("[%s] killed part -> Runtime.ExitError" % kind, etype == "Runtime.ExitError",
          "(got %s %s)" % (etype, doc))
    keys = listing()
    check("[%s] no visible part after the kill (no short part)" % kind,
          not [k for k in keys if k.endswith("part-000000.csv")], str(keys))
    for p in parts:  # the state machine's Retry on Runtime.ExitError, then the rest
        etype, doc = generate(em, rid, p)
        check("[%s] part %d (retried) succeeds" % (kind, p["index"]), etype is None, str(doc))
    etype, doc = merge(em, rid)
    check("[%s] merge after the retry" % kind, etype is None, str(doc))
    return doc


for kind in stores:
    d = os.path.join(work, kind)
    os.makedirs(d)
    if kind == "file":
        root = os.path.join(d, "store")
        os.makedirs(root)
        url = "file://" + root
        gen_env = base_env
        env = {"DATA_STORE": url}
        proc_env = base_env
    else:
        s3dir = os.path.join(d, "s3")
        os.makedirs(s3dir)
        s3 = hlib.Server([node, os.path.join(here, "s3rver.js"), ACCESS, SECRET, "-d", s3dir,
                          "-a", "127.0.0.1", "-p", "0", "--configure-bucket", BUCKET, "--silent"],
                         d, "s3rver", env=base_env)
        servers.append(s3)
        proxy = hlib.Server([node, os.path.join(here, "fault_proxy.mjs"), str(s3.port)], d,
                            "proxy", env=base_env)
        servers.append(proxy)
        aws = {"AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET,
               "AWS_REGION": "us-east-1"}
        url = "s3://%s" % BUCKET
        gen_env = dict(base_env, AWS_ENDPOINT_URL_S3="http://127.0.0.1:%d" % s3.port, **aws)
        proc_env = dict(base_env, AWS_ENDPOINT_URL_S3="http://127.0.0.1:%d" % proxy.port, **aws)
        env = {"DATA_STORE": url, "LAMBDA_S3_PART_SIZE": str(5 * 1024 * 1024)}
    subprocess.run([report_gen, "--store", url, "--customers", "1", "--days", "3", "--from",
                    RANGE[0], "--events", "30000", "--seed", "5"], check=True, env=gen_env,
                   stdout=subprocess.DEVNULL, timeout=300)
    env["SPLIT_TARGET_BYTES"] = str(12 * 1024 * 1024)
    em = hlib.Emulator(lambda_local, bootstrap, FUNCS, env, d, proc_env=proc_env, timeout=120)
    emulators.append(em)

    if kind == "file":
        def prefix_keys(rid):
            p = os.path.join(root, "reports", "cust0001", rid)
            return sorted(os.listdir(p)) if os.path.isdir(p) else []

        def read_report(doc):
            return open(os.path.join(root, doc["key"]), "rb").read()

        def all_keys():
            out = []
            for dp, _, fs in os.walk(root):
                out += [os.path.relpath(os.path.join(dp, f), root) for f in fs]
            return out

        def in_write():
            """GenerateSubReport holds a non-empty file open in the report's
            prefix before part-000000.csv exists: the part is being written
            (a hidden temporary file or an O_TMPFILE one alike)."""
            pre = os.path.join(root, "reports", "cust0001", "killed")
            if os.path.exists(os.path.join(pre, "part-000000.csv")):
                return False
            marker = os.path.join(d, "stallcommit-killed-0")
            if not os.path.exists(marker) or os.path.getsize(marker) == 0:
                return False  # not yet held by the hook
            for pid in bootstraps(em):
                fd_dir = "/proc/%d/fd" % pid
                try:
                    fds = os.listdir(fd_dir)
                except OSError:
                    continue
                for fd in fds:
                    try:
                        if os.readlink(os.path.join(fd_dir, fd)).startswith(pre + "/") and \
                                os.stat(os.path.join(fd_dir, fd)).st_size > 0:
                            return True
                    except OSError:
                        continue
            return False
    else:
        def s3_keys():
            """Objects s3rver holds, from its directory (<key>._S3rver_object)."""
            out = []
            b = os.path.join(s3dir, BUCKET)
            for dp, _, fs in os.walk(b):
                out += [os.path.relpath(os.path.join(dp, f), b)[:-len("._S3rver_object")]
                        for f in fs if f.endswith("._S3rver_object")]
            return sorted(out)

        def prefix_keys(rid):
            pre = "reports/cust0001/%s/" % rid
            return sorted(k[len(pre):] for k in s3_keys() if k.startswith(pre))

        def read_report(doc):
            with urllib.request.urlopen(doc["url"], timeout=60) as r:
                return r.read()

        all_keys = s3_keys

        def pending_uploads():
            """Keys of the multipart uploads s3rver still holds open."""
            out = []
            for dp, _, fs in os.walk(os.path.join(s3dir, BUCKET)):
                if "_S3rver_uploads" in dp and "key" in fs:
                    out.append(open(os.path.join(dp, "key")).read())
            return out

        def in_write():
            return any(i["fault"] == "delay" for i in
                       json.loads(hlib.http_call(proxy.port, "GET", "/__log")[1])["injected"])

        hlib.http_call(proxy.port, "PUT", "/__faults", json.dumps([
            {"method": "PUT", "path": r"/reports/cust0001/killed/part-000000\.csv\?partNumber=2&",
             "fault": "delay", "ms": 3000, "times": 1}]).encode())

    clean = read_report(run_clean(em, "clean"))
    if kind == "file":
        em.stop()
        env["REPORT_TEST_FAULT"] = "stallcommit:0"
        env["REPORT_TEST_FAULT_STATE"] = d
        em = hlib.Emulator(lambda_local, bootstrap, FUNCS, env, d, proc_env=proc_env, timeout=120)
        emulators.append(em)
    doc = killed_run(em, "killed", in_write, read_report, lambda: prefix_keys("killed"))
    if doc:
        check("[%s] report after kill + retry is byte-identical to the clean run" % kind,
              read_report(doc) == clean)
    if kind == "s3":
        uploads = pending_uploads()
        check("[s3] the killed writer left an incomplete multipart upload, under reports/ "
              "(the AbortIncompleteMultipartUpload rule's prefix)",
              uploads and all(k.startswith("reports/") for k in uploads), str(uploads))
    left = prefix_keys("killed")
    check("[%s] only report.csv, manifest.json, plan.json left in the prefix" % kind,
          left == ["manifest.json", "plan.json", "report.csv"], str(left))

    # A failed execution: part 1 fails for good, no merge runs.
    em.stop()
    env["REPORT_TEST_FAULT"] = "permanent:1"
    em = hlib.Emulator(lambda_local, bootstrap, FUNCS, env, d, proc_env=proc_env, timeout=120)
    emulators.append(em)
    before = set(all_keys())
    parts = split(em, "failed")
    outcomes = [generate(em, "failed", p)[0] for p in parts]
    check("[%s] failed execution: part 1 -> InjectedFault" % kind,
          len(outcomes) > 1 and outcomes[1] == "InjectedFault", str(outcomes))
    new = sorted(set(all_keys()) - before)
    check("[%s] failed execution wrote only under reports/cust0001/failed/ (lifecycle prefix)" % kind,
          new and all(k.startswith("reports/cust0001/failed/") for k in new), str(new))
    em.stop()

for e in emulators:
    e.stop()
for s in servers:
    s.stop()
if hlib.FAILURES:
    print("work dir kept: " + work, file=sys.stderr)
    for e in emulators:
        print(e.stderr()[-2000:], file=sys.stderr)
else:
    hlib.rmtree(work)
hlib.finish()

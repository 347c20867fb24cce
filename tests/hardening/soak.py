#!/usr/bin/env python3
"""Soak: N invocations of the `echo` handler of lambda-test-bootstrap through
lambda-local, one warm environment, sequential over one keep-alive
connection. Asserts every answer is the event echoed back, the bootstrap is
the same process throughout (no restart), and its RSS and open file
descriptors do not grow between 10% and 100% of the run (sampled from
/proc/PID/status and /proc/PID/fd); the emulator's own fds do not grow
either.

usage: soak.py LAMBDA_LOCAL TEST_BOOTSTRAP [N]   (N default 20000; 100000 documented)
"""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
import hlib  # noqa: E402
from hlib import check  # noqa: E402

lambda_local, test_bootstrap = sys.argv[1:3]
n = int(sys.argv[3]) if len(sys.argv) > 3 else int(os.environ.get("LAMBDA_SOAK_INVOCATIONS", "20000"))
work = hlib.workdir("soak")


def sample(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss, len(os.listdir("/proc/%d/fd" % pid))


# One environment (--max-concurrency 1): the soak samples one process. (A
# back-to-back invoke reuses the warm environment anyway, see
# tests/local/warm_reuse.sh; the limit only pins that down.)
with hlib.Emulator(lambda_local, test_bootstrap, {"echo": "echo"}, {}, work,
                   extra_args=["--max-concurrency", "1"]) as em:
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", em.port, timeout=60)
    bad = 0
    marks = {}
    boot = None
    t0 = time.time()
    for i in range(1, n + 1):
        body = json.dumps({"i": i, "pad": "x" * (i % 512), "nested": {"k": [i, str(i)]}})
        conn.request("POST", "/2015-03-31/functions/echo/invocations", body=body)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200 or r.getheader("X-Amz-Function-Error") or json.loads(data) != json.loads(body):
            bad += 1
            if bad <= 3:
                print("bad answer %d: %d %s" % (i, r.status, data[:200]), file=sys.stderr)
        if i == 1:
            kids = hlib.bootstrap_pids(em.proc.pid)
            check("one bootstrap process under lambda-local", len(kids) == 1, str(kids))
            boot = kids[0] if kids else None
        if boot and i in (n // 10, n):
            marks[i] = (sample(boot), sample(em.proc.pid), hlib.bootstrap_pids(em.proc.pid))
    elapsed = time.time() - t0
    conn.close()
    print("%d invocations in %.1f s (%.0f/s)" % (n, elapsed, n / elapsed))
    check("every answer is the event echoed back", bad == 0, "%d bad" % bad)
    if boot and len(marks) == 2:
        (b10, l10, k10), (b100, l100, k100) = marks[n // 10], marks[n]
        print("bootstrap RSS %d kB -> %d kB, fds %d -> %d; lambda-local RSS %d kB -> %d kB, fds %d -> %d"
              % (b10[0], b100[0], b10[1], b100[1], l10[0], l100[0], l10[1], l100[1]))
        check("same bootstrap process at 10% and 100% (no restart)", k10 == k100 == [boot],
              "%s %s" % (k10, k100))
        check("bootstrap fds do not grow", b100[1] <= b10[1], "%d -> %d" % (b10[1], b100[1]))
        # Allocator noise is tens of kB; a leak of even 16 bytes per
        # invocation over 90% of 20,000 would be 288 kB.
        if os.environ.get("LAMBDA_SOAK_SANITIZED"):
            # ASan's quarantine holds freed memory by design, so RSS grows;
            # leaks are LeakSanitizer's job at exit in that build.
            print("skip: RSS bounds in a sanitizer build")
        else:
            check("bootstrap RSS does not grow (<= +256 kB)", b100[0] <= b10[0] + 256,
                  "%d -> %d kB" % (b10[0], b100[0]))
        check("lambda-local fds do not grow", l100[1] <= l10[1], "%d -> %d" % (l10[1], l100[1]))
        if not os.environ.get("LAMBDA_SOAK_SANITIZED"):
            check("lambda-local RSS does not grow (<= +1024 kB)", l100[0] <= l10[0] + 1024,
                  "%d -> %d kB" % (l10[0], l100[0]))
    else:
        check("samples taken at 10% and 100%", False, str(marks))
if hlib.FAILURES:
    print(em.stderr()[-3000:], file=sys.stderr)
hlib.rmtree(work)
hlib.finish()

#!/usr/bin/env python3
"""An escaped NUL in a JSON string ("cust0001\\u0000/../x") would reach the
handlers as a C string cut at the NUL (cJSON keeps no length), and the
request would be answered for an identity it did not name. The runtime
refuses such events before any handler runs: Runtime.InvalidEvent.

usage: nul_in_ids.py LAMBDA_LOCAL BOOTSTRAP REPORT_GEN
"""
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
import hlib  # noqa: E402
from hlib import check

lambda_local, bootstrap, report_gen = sys.argv[1:4]
work = hlib.workdir("nul")
store = os.path.join(work, "store")
os.makedirs(store)
subprocess.run([report_gen, "--store", "file://" + store, "--customers", "1", "--days", "1",
                "--from", "2024-02-27", "--seed", "7"], check=True, stdout=subprocess.DEVNULL,
               timeout=60)
env = {"DATA_STORE": "file://" + store}
with hlib.Emulator(lambda_local, bootstrap, {"S": "SplitDateRange", "G": "GenerateSubReport"},
                   env, work) as em:
    for fn, payload in [
        ("S", b'{"customerId":"cust0001\\u0000/../x","reportId":"r","from":"2024-02-27","to":"2024-02-27"}'),
        ("S", b'{"customerId":"cust0001","reportId":"nul\\u0000/../../etc","from":"2024-02-27","to":"2024-02-27"}'),
        ("G", b'{"customerId":"cust0001\\u0000x","reportId":"r","part":{"index":0,"from":"2024-02-27","to":"2024-02-27"}}'),
    ]:
        etype, doc = hlib.result(*em.invoke(fn, payload))
        check("NUL inside an id -> Runtime.InvalidEvent (%s)" % payload[:60].decode(),
              etype == "Runtime.InvalidEvent",
              "(got %s: %s)" % (etype, doc))
hlib.rmtree(work)
hlib.finish()

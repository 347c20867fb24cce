#!/usr/bin/env python3
"""Time from exec() of a bootstrap to its first Runtime API /next request.

Not a test (speed is measured, never asserted): packaging's figures for the
static zip and the glibc bundle. A loopback server (port 0) stands in for
the Runtime API; each run starts the bootstrap, waits for its first
GET .../runtime/invocation/next, then kills it.

    measure_startup.py [--runs 20] NAME=COMMAND_PATH [NAME=COMMAND_PATH ...]

Each bootstrap runs with a clean Lambda-like environment (_HANDLER=
SplitDateRange, DATA_STORE=file://<empty temp dir>, LAMBDA_TASK_ROOT = the
command's folder).
"""
import argparse
import http.server
import os
import statistics
import subprocess
import tempfile
import threading
import time

first_next = threading.Event()


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            first_next.stamp = time.perf_counter_ns()
            first_next.set()
        # Never answer: the bootstrap is killed once /next is seen.
        time.sleep(5)

    def log_message(self, *args):
        pass


def measure(cmd, port, data_dir, runs):
    env = {
        "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "_HANDLER": "SplitDateRange",
        "LAMBDA_TASK_ROOT": os.path.dirname(os.path.abspath(cmd)),
        "AWS_LAMBDA_FUNCTION_NAME": "SplitDateRange",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "us-east-1",
        "DATA_STORE": f"file://{data_dir}",
    }
    times = []
    for _ in range(runs):
        first_next.clear()
        start = time.perf_counter_ns()
        proc = subprocess.Popen([cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not first_next.wait(10):
            proc.kill()
            proc.wait()
            raise SystemExit(f"{cmd}: no /next within 10 s")
        times.append((first_next.stamp - start) / 1e6)
        proc.kill()
        proc.wait()
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("targets", nargs="+")
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    with tempfile.TemporaryDirectory() as data_dir:
        for target in args.targets:
            name, cmd = target.split("=", 1)
            t = measure(cmd, port, data_dir, args.runs)
            print(f"{name}: exec -> first /next over {len(t)} starts: "
                  f"median {statistics.median(t):.2f} ms, min {min(t):.2f} ms, max {max(t):.2f} ms")
    server.shutdown()


if __name__ == "__main__":
    main()

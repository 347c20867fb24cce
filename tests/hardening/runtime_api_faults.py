#!/usr/bin/env python3
"""Runtime API faults that tests/runtime does not already cover, against the
real lambda-test-bootstrap and a scriptable Runtime API (Python's
http.server on 127.0.0.1, port 0):

  - request ids holding path characters ("../../runtime/init/error",
    "a/b?c#d", "%2F..%2F") are escaped: the result goes to
    /invocation/<that id>/response and nowhere else;
  - an event cut short (Content-Length larger than the body, then close) is
    never handed to the handler: no result is posted for it, and the runtime
    goes back to /next and serves the following invocation;
  - a 64 KiB Client-Context header and a 1 MiB event pass through intact;
  - a /next answered 404 (the API refusing the runtime) ends the runtime
    with a non-zero exit and a message on stderr, promptly (no spin).

usage: runtime_api_faults.py TEST_BOOTSTRAP
"""
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

sys.dont_write_bytecode = True
import hlib  # noqa: E402
from hlib import check  # noqa: E402

bootstrap = sys.argv[1]
PREFIX = "/2018-06-01/runtime/invocation/"


class Api:
    """Serves a script of /next answers; records every other request."""

    def __init__(self, script):
        self.script = list(script)
        self.posts = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with api.lock:
                    step = api.script.pop(0) if api.script else None
                if step is None:
                    time.sleep(30)  # nothing more: long poll until stopped
                    return
                kind = step.get("kind", "event")
                if kind == "status":
                    body = b'{"errorType":"X","errorMessage":"refused"}'
                    self.send_response(step["status"])
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                body = step["body"]
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", step["id"])
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:1:function:f")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-0-0")
                for k, v in step.get("headers", {}).items():
                    self.send_header(k, v)
                if kind == "truncated":
                    self.send_header("Content-Length", str(len(body) + 100))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with api.lock:
                    api.posts.append((self.path, body))
                self.send_response(202)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_posts(self, n, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.posts) >= n:
                    return list(self.posts)
            time.sleep(0.02)
        return list(self.posts)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def run_bootstrap(api):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "_HANDLER"))}
    env.update(AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % api.server.server_address[1],
               _HANDLER="echo", AWS_LAMBDA_FUNCTION_NAME="f")
    return subprocess.Popen([bootstrap], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    out, err = proc.communicate(timeout=10)
    err = err.decode(errors="replace")
    hlib.sanitizer_clean("the bootstrap", err)
    return err


# ---- hostile request ids and large values ----
ids = ["../../runtime/init/error", "a/b?c#d", "%2F..%2F", "id with spaces", "ü-ñ"]
big_ctx = json.dumps({"custom": {"k": "v" * 65536}})
big_event = json.dumps({"pad": "y" * (1024 * 1024)}).encode()
script = [{"id": i, "body": json.dumps({"n": k}).encode()} for k, i in enumerate(ids)]
script += [{"id": "big", "body": big_event, "headers": {"Lambda-Runtime-Client-Context": big_ctx}}]
api = Api(script)
proc = run_bootstrap(api)
posts = api.wait_posts(len(script))
err = stop(proc)
api.stop()
# http.server sends header values as latin-1: decode the escapes the same way.
paths = [unquote(p, encoding="latin-1") for p, _ in posts]
for k, i in enumerate(ids):
    want = PREFIX + i + "/response"
    check("request id %r -> its own /response path" % i, want in paths, str(paths))
check("nothing posted outside /invocation/<id>/response",
      all(p.startswith(PREFIX) and p.endswith("/response") for p, _ in posts), str(paths))
check("no init error or stray path", not any("init/error" in p and not p.startswith(PREFIX) for p, _ in posts))
big = [b for p, b in posts if p == PREFIX + "big/response"]
check("1 MiB event with a 64 KiB Client-Context echoed intact",
      big and json.loads(big[0]) == json.loads(big_event))

# ---- an event cut short ----
api = Api([{"id": "cut", "kind": "truncated", "body": b'{"n": "truncated event, much shorter th'},
           {"id": "after", "body": b'{"n": "after"}'}])
proc = run_bootstrap(api)
posts = api.wait_posts(1)
time.sleep(0.3)  # a late post for "cut" would show up here
err = stop(proc)
api.stop()
paths = [p for p, _ in posts]
check("truncated event: no result posted for it", not [p for p in paths if "/cut/" in p], str(paths))
check("truncated event: the next invocation is served",
      PREFIX + "after/response" in paths and json.loads(dict(posts)[PREFIX + "after/response"]) == {"n": "after"},
      "%s %s" % (paths, err[-500:]))

# ---- /next refused with 404 ----
api = Api([{"kind": "status", "status": 404}] * 50)
proc = run_bootstrap(api)
t0 = time.time()
try:
    rc = proc.wait(timeout=20)
except subprocess.TimeoutExpired:
    rc = None
err = stop(proc)
left = len(api.script)
api.stop()
check("/next 404 -> exits non-zero within 20 s", rc not in (None, 0), "rc=%s" % rc)
check("/next 404 -> not retried in a loop (%d requests)" % (50 - left), 50 - left <= 11, str(50 - left))
check("/next 404 -> a message on stderr", "404" in err or "next" in err, err[-500:])
hlib.finish()

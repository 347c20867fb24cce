#!/usr/bin/env python3
"""A scripted fake S3 for the store's retry tests: it fails on purpose.

  fake_s3.py --run COMMAND [ARGS...]

Binds 127.0.0.1 port 0, runs COMMAND with AWS_ENDPOINT_URL_S3 pointing at
itself (3 attempts, 1 ms backoff base), stops, then checks how often each
scenario was requested (e.g. an access-denied GET must not be retried).
Exit status: the command's, or 1 if the request counts are wrong.

Scenarios (path /fake-bucket/pre/<name>, or .../pre/<dir>/<name>: the
same answers, counted apart):
  flaky       500, 500, then 200
  reset       connection closed without an answer, then 200
  truncated   Content-Length 100 with 40 bytes then a close; the retry
              must ask Range: bytes=40- and gets 206 with the rest
  cut-range   Range bytes=10-89: 206 with Content-Length 80, 30 bytes, a
              close; the retry must ask bytes=40-89 and gets the rest
  slowdown    always 503 SlowDown
  always-500  always 500
  denied      403 AccessDenied     missing   404 NoSuchKey
  ListObjectsV2 on prefix pre/list/: three pages joined by continuation
  tokens (one with '/' and '=' to exercise query encoding)
  PUT upload/x: x-amz-content-sha256 must be the body's SHA-256
  POST /fake-bucket?delete= (DeleteObjects): at most 1000 keys, Quiet,
  x-amz-checksum-sha256 = base64 SHA-256 of the body with
  x-amz-sdk-checksum-algorithm SHA256; per-key answers by key name:
  del/denied AccessDenied, del/flaky InternalError once, del/gone NoSuchKey,
  del/slow always SlowDown, del/500-once fails the whole request once
Every request must carry Authorization (SigV4) and x-amz-content-sha256.
"""
import base64
import hashlib
import http.server
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape
from collections import Counter

counts = Counter()
requests_log = []  # every request line and status, in arrival order
started = time.monotonic()
deleted = Counter()  # key -> DeleteObjects requests that named it
problems = []
TRUNC = "".join(chr(ord("a") + i % 26) for i in range(100)).encode()
PAGES = {None: (["a", "b"], "tok/1="), "tok/1=": (["c", "d"], "tok2"), "tok2": (["e"], None)}


def error_xml(code, msg):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>%s"
            "</Message></Error>" % (code, msg)).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        # Kept, not printed: shown only when the run fails, so that a failure
        # seen once says which request went how.
        requests_log.append("%.3f %s %s" % (time.monotonic() - started, self.address_string(),
                                            fmt % args))

    def send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def check_signed(self):
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            problems.append("unsigned request " + self.path)
        if not self.headers.get("x-amz-content-sha256"):
            problems.append("no x-amz-content-sha256 on " + self.path)

    def do_GET(self):
        self.check_signed()
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/fake-bucket" and q.get("list-type") == ["2"]:
            return self.list_page(url.query, q)
        # Counted by key under pre/ ("flaky", "into/flaky"), answered by the
        # scenario (the key's last segment).
        key = url.path.split("/fake-bucket/pre/", 1)[-1]
        name = key.rsplit("/", 1)[-1]
        counts[key] += 1
        n = counts[key]
        if name == "flaky":
            if n <= 2:
                return self.send(500, error_xml("InternalError", "try again"))
            return self.send(200, b"hello after two 500s")
        if name == "reset":
            if n == 1:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            return self.send(200, b"hello after a reset")
        if name == "truncated":
            if n == 1:
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(TRUNC[:40])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if self.headers.get("Range") != "bytes=40-":
                problems.append("truncated retry sent Range %r" % self.headers.get("Range"))
                return self.send(500, error_xml("InternalError", "bad range"))
            return self.send(206, TRUNC[40:], {"Content-Range": "bytes 40-99/100"})
        if name == "cut-range":
            # bytes 10-89 asked; 30 sent of 80, then a close: the retry must
            # ask for bytes=40-89 and gets the rest
            want = "bytes=10-89" if n == 1 else "bytes=40-89"
            if self.headers.get("Range") != want:
                problems.append("cut-range request %d sent Range %r" % (n, self.headers.get("Range")))
                return self.send(500, error_xml("InternalError", "bad range"))
            if n == 1:
                self.send_response(206)
                self.send_header("Content-Range", "bytes 10-89/100")
                self.send_header("Content-Length", "80")
                self.end_headers()
                self.wfile.write(TRUNC[10:40])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            return self.send(206, TRUNC[40:90], {"Content-Range": "bytes 40-89/100"})
        if name == "slowdown":
            return self.send(503, error_xml("SlowDown", "Please reduce your request rate."))
        if name == "always-500":
            return self.send(500, error_xml("InternalError", "We encountered an internal error."))
        if name == "denied":
            return self.send(403, error_xml("AccessDenied", "Access Denied"))
        return self.send(404, error_xml("NoSuchKey", "The specified key does not exist."))

    def list_page(self, raw_query, q):
        keys = [p.split("=", 1)[0] for p in raw_query.split("&")]
        if keys != sorted(keys):
            problems.append("unsorted query " + raw_query)
        if q.get("prefix") != ["pre/list/"]:
            problems.append("listing prefix %r" % q.get("prefix"))
        token = q.get("continuation-token", [None])[0]
        counts["list"] += 1
        if token not in PAGES:
            return self.send(400, error_xml("InvalidArgument", "bad token %r" % token))
        names, nxt = PAGES[token]
        body = "<ListBucketResult><IsTruncated>%s</IsTruncated>" % ("true" if nxt else "false")
        for k in names:
            body += "<Contents><Key>pre/list/%s</Key><Size>%d</Size></Contents>" % (k, len(k))
        if nxt:
            body += "<NextContinuationToken>%s</NextContinuationToken>" % nxt
        body += "</ListBucketResult>"
        return self.send(200, body.encode(), {"Content-Type": "application/xml"})

    def do_PUT(self):
        self.check_signed()
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        counts["put"] += 1
        if self.headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            problems.append("PUT payload hash does not match the body")
        return self.send(200, b"", {"ETag": '"%s"' % hashlib.md5(body).hexdigest()})


    def do_POST(self):
        self.check_signed()
        url = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if url.path != "/fake-bucket" or url.query != "delete=":
            problems.append("unexpected POST " + self.path)
            return self.send(400, error_xml("InvalidRequest", "unexpected POST"))
        counts["delete"] += 1
        if self.headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
            problems.append("DeleteObjects payload hash does not match the body")
        want = base64.b64encode(hashlib.sha256(body).digest()).decode()
        if (self.headers.get("x-amz-checksum-sha256") != want
                or self.headers.get("x-amz-sdk-checksum-algorithm") != "SHA256"):
            problems.append("DeleteObjects without a correct x-amz-checksum-sha256")
            return self.send(400, error_xml("InvalidRequest", "Missing required header"))
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        root = ET.fromstring(body)
        if root.tag != ns + "Delete" or root.findtext(ns + "Quiet") != "true":
            problems.append("DeleteObjects body is not a quiet <Delete>")
        keys = [o.findtext(ns + "Key") for o in root.findall(ns + "Object")]
        if not keys or len(keys) > 1000:
            problems.append("DeleteObjects with %d keys" % len(keys))
        if "pre/del/500-once" in keys and counts["del-500"] == 0:
            counts["del-500"] += 1
            return self.send(500, error_xml("InternalError", "try again"))
        out = "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for k in keys:
            deleted[k] += 1
            code = {"pre/del/denied": "AccessDenied", "pre/del/gone": "NoSuchKey",
                    "pre/del/slow": "SlowDown"}.get(k)
            if k == "pre/del/flaky":
                counts["del-flaky"] += 1
                if counts["del-flaky"] == 1:
                    code = "InternalError"
                elif len(keys) != 1:
                    problems.append("the flaky key was re-sent with %d others" % (len(keys) - 1))
            if code:
                out += "<Error><Key>%s</Key><Code>%s</Code><Message>m</Message></Error>" % (
                    escape(k), code)
        out += "</DeleteResult>"
        return self.send(200, out.encode(), {"Content-Type": "application/xml"})


def main():
    if len(sys.argv) < 3 or sys.argv[1] != "--run":
        print(__doc__, file=sys.stderr)
        return 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ)
    for k in ("AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(k, None)
    env.update({
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:%d" % server.server_address[1],
        "AWS_ACCESS_KEY_ID": "FAKEKEY", "AWS_SECRET_ACCESS_KEY": "FAKESECRET",
        "AWS_REGION": "us-east-1", "LAMBDA_STORE_MAX_ATTEMPTS": "3",
        "LAMBDA_STORE_RETRY_BASE_MS": "1",
    })
    try:
        rc = subprocess.run(sys.argv[2:], env=env, timeout=120).returncode
    except subprocess.TimeoutExpired:
        problems.append("%s did not finish within 120 s" % sys.argv[2])
        rc = 1
    finally:
        server.shutdown()
    want = {"flaky": 3, "reset": 2, "truncated": 2, "slowdown": 3, "always-500": 3,
            "denied": 1, "missing": 1, "list": 3, "put": 1,
            # lambda_store_read_into: the same retries and resumptions as a get
            "into/flaky": 3, "into/reset": 2, "into/truncated": 2, "into/cut-range": 2,
            "into/slowdown": 3, "into/denied": 1,
            # 2501 keys in 3 batches; denied 1; flaky 2; gone 1; 500-once 2;
            # slow 3 (every attempt)
            "delete": 12, "del-flaky": 2}
    for k, v in want.items():
        if counts[k] != v:
            problems.append("%s requested %d times, expected %d" % (k, counts[k], v))
    batch = ["pre/del/k%04d" % i for i in range(2500)] + ["pre/del/a&b<c>\"'"]
    if any(deleted[k] != 1 for k in batch):
        problems.append("batch keys not each deleted exactly once")
    if deleted["pre/del/slow"] != 3 or deleted["pre/del/denied"] != 1:
        problems.append("slow sent %d times (want 3), denied %d (want 1)"
                        % (deleted["pre/del/slow"], deleted["pre/del/denied"]))
    for p in problems:
        print("fake_s3: " + p, file=sys.stderr)
    print("fake_s3: requests %s" % dict(counts))
    if rc or problems:
        print("fake_s3: the requests (seconds since start, client, request, status):\n  " +
              "\n  ".join(requests_log), file=sys.stderr)
    return rc if rc else (1 if problems else 0)


if __name__ == "__main__":
    sys.exit(main())

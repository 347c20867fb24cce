#!/usr/bin/env python3
"""The durable SDK's real requests, signed by lambda-c's SigV4 signer
(clients/src/sigv4.c), checked against botocore's SigV4Auth, the signer of
awscli and boto3: an independent implementation of what AWS verifies.

A loopback server (port 0) records what sigv4_durable_request sends
(CheckpointDurableExecution and GetDurableExecutionState for an ARN whose
':' and '/' are escaped in the path, with a session token); for each request
botocore signs the same method, path, query, body and signed headers at the
same X-Amz-Date, and the two Authorization headers must be equal. The check
can fail: the signature of the path encoded only once (what libcurl 7.88's
CURLOPT_AWS_SIGV4 signs) must differ from ours.

Usage: sigv4_botocore.py SIGV4_DURABLE_REQUEST
Exit 0 on success, 1 on a mismatch, 77 (skipped) when botocore is absent.
"""
import contextlib
import datetime
import http.server
import json
import re
import subprocess
import sys
import threading
from unittest import mock

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("SKIP: python3 botocore is not installed (Debian: awscli or python3-botocore; "
          "local/setup.sh installs awscli)")
    sys.exit(77)

ARN = ("arn:aws:lambda:us-west-2:123456789012:function:orders:$LATEST/"
       "durable-execution/run-1/7f3c2a9e")
KEY, SECRET, REGION = "AKIDLAMBDAC", "lambda-c/secret+KEY", "us-west-2"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLXdlc3QtMiJHMEUCIQ+sess/token=="

requests = []


class Recorder(http.server.BaseHTTPRequestHandler):
    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        requests.append((self.command, self.path, self.headers, body))
        if self.path.split("?")[0].endswith("/checkpoint"):
            answer = {"CheckpointToken": "token-2", "NewExecutionState": {"Operations": []}}
        else:
            answer = {"Operations": []}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve

    def log_message(self, *args):
        pass


def botocore_authorization(method, host, path, headers, body, signed, amz_date,
                           encode_path=True):
    """botocore's Authorization for the request as received."""
    to_sign = {name: headers[name] for name in signed}
    request = AWSRequest(method=method, url=f"http://{host}{path}", data=body, headers=to_sign)
    auth = botocore.auth.SigV4Auth(Credentials(KEY, SECRET, TOKEN), "lambda", REGION)
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    with contextlib.ExitStack() as patches:
        patches.enter_context(mock.patch("botocore.auth.get_current_datetime", return_value=when))
        if not encode_path:
            # What a signer that signs the path as sent produces.
            patches.enter_context(mock.patch.object(botocore.auth.SigV4Auth,
                                                    "_normalize_url_path", lambda self, p: p))
        auth.add_auth(request)
        authorization = request.headers["Authorization"]
        del request.headers["Authorization"]  # the canonical request as signed, for messages
        return authorization, auth.canonical_request(request)


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        run = subprocess.run([sys.argv[1], endpoint, ARN, KEY, SECRET, TOKEN, REGION],
                             capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
    if run.returncode != 0:
        print(f"FAIL: sigv4_durable_request exited {run.returncode}: {run.stderr}")
        return 1
    kinds = [(m, p.split("?")[0].rsplit("/", 1)[-1]) for m, p, _, _ in requests]
    if kinds != [("POST", "checkpoint"), ("GET", "state")]:
        print(f"FAIL: expected a checkpoint POST then a state GET, got {kinds}")
        return 1
    failures = 0
    for method, path, headers, body in requests:
        ours = headers.get("Authorization", "")
        m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/"
                         r"aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})", ours)
        if not m:
            print(f"FAIL: {method} {path}: Authorization {ours!r} is not SigV4")
            failures += 1
            continue
        signed = m.group(5).split(";")
        needed = {"content-type", "host", "x-amz-date", "x-amz-security-token"}
        if m.group(1) != KEY or m.group(3) != REGION or m.group(4) != "lambda" \
                or not needed <= set(signed):
            print(f"FAIL: {method} {path}: scope or signed headers wrong in {ours!r}")
            failures += 1
            continue
        if "%3A" not in path or "%2F" not in path:
            print(f"FAIL: {method} {path}: the ARN is not escaped in the path")
            failures += 1
            continue
        amz_date = headers["X-Amz-Date"]
        theirs, canonical = botocore_authorization(method, headers["Host"], path, headers, body,
                                                   signed, amz_date)
        once, _ = botocore_authorization(method, headers["Host"], path, headers, body, signed,
                                         amz_date, encode_path=False)
        if ours != theirs:
            print(f"FAIL: {method} {path}\n  ours     {ours}\n  botocore {theirs}\n"
                  f"  botocore's canonical request:\n{canonical}")
            failures += 1
        elif "%253A" not in canonical.split("\n")[1] or once == ours:
            print(f"FAIL: {method} {path}: the check does not see the path's double encoding")
            failures += 1
        else:
            print(f"ok: {method} {path.split('?')[0][:60]}... signed as botocore signs "
                  f"({m.group(5)})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

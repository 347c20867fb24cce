#!/usr/bin/env python3
"""Runs AWS's durable-execution conformance cases (expected.json, ported from
aws/aws-durable-execution-conformance-tests) against lambda::durable under
lambda-local's durable service, and compares each execution's status,
result, error, history and durable log lines with the expected ones, with
the suite's matching rules (see match()).

usage: run.py LAMBDA_LOCAL BOOTSTRAP EXPECTED_JSON [CASE...]

Under the sanitizer build (CONFORMANCE_LEAK_CHECKS=1, set by CMake), a report
of AddressSanitizer, UndefinedBehaviorSanitizer or LeakSanitizer in the
functions' output fails the run even if every case matched. LeakSanitizer's
check at exit never runs (lambda-local stops environments with SIGTERM), so
the bootstrap checks after each invocation and says so once per
environment: with none of these lines the run fails too.

Every wait is bounded and names what it waited for; the servers are stopped
whatever happens. Exit status 0 when every case matched.
"""

import json
import os
import random
import re
import signal
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

CASE_DEADLINE_S = 60  # one execution, start to end, on a loaded machine


# ---- the suite's matcher ----------------------------------------------------------------
# Expected values: "${NAME}" binds NAME to the actual value on first sight and
# must equal it after; "${/re/}" searches the regex in the actual value;
# "*" and {} accept anything; {"${JSON}": spec} decodes the actual string as
# JSON and matches spec; a mapping value "${ABSENT}" requires the key to be
# missing; objects match on the expected keys only, lists element by element;
# anything else must be equal. Events are paired by EventId; extra actual
# events are ignored.

PLACEHOLDER = re.compile(r"^\$\{(.+)\}$")
REGEX = re.compile(r"^\$\{/(.+)/\}$")


def match(expected, actual, path, bindings, errors):
    if expected == "*" or (isinstance(expected, dict) and not expected):
        return
    if isinstance(expected, str):
        rx = REGEX.match(expected)
        if rx:
            if not re.search(rx.group(1), str(actual)):
                errors.append(f"{path}: {actual!r} does not match /{rx.group(1)}/")
            return
        ph = PLACEHOLDER.match(expected)
        if ph:
            name = ph.group(1)
            if name in bindings and bindings[name] != actual:
                errors.append(f"{path}: ${{{name}}} was {bindings[name]!r}, here {actual!r}")
            bindings.setdefault(name, actual)
            return
    if isinstance(expected, dict) and list(expected) == ["${JSON}"]:
        try:
            decoded = json.loads(actual)
        except (TypeError, ValueError):
            errors.append(f"{path}: not a JSON text: {actual!r}")
            return
        match(expected["${JSON}"], decoded, path + "<json>", bindings, errors)
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            if value == "${ABSENT}":
                if key in actual:
                    errors.append(f"{path}.{key}: should be absent, is {actual[key]!r}")
            elif key not in actual:
                errors.append(f"{path}.{key}: missing")
            else:
                match(value, actual[key], f"{path}.{key}", bindings, errors)
        return
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            errors.append(f"{path}: {len(actual)} elements, expected {len(expected)}")
            return
        for i, (e, a) in enumerate(zip(expected, actual)):
            match(e, a, f"{path}[{i}]", bindings, errors)
        return
    if expected != actual:
        errors.append(f"{path}: expected {expected!r}, got {actual!r}")


def substitute(value, variables):
    """The case's generated variables put into its expectations."""
    if isinstance(value, str):
        for name, v in variables.items():
            value = value.replace("${" + name + "}", v)
        return value
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


# ---- lambda-local ------------------------------------------------------------------------


class Server:
    def __init__(self, lambda_local, bootstrap, functions, scale, work):
        self.out = open(os.path.join(work, f"server-{scale}.out"), "w+")
        self.err = open(os.path.join(work, f"server-{scale}.err"), "w+")
        port_file = os.path.join(work, f"port-{scale}")
        args = [lambda_local, "start-lambda", "--port", "0", "--port-file", port_file,
                "--bootstrap", bootstrap, "--timeout", "30",
                "--durable-time-scale", str(scale)]
        for f in functions:
            args += ["--function", f"{f}={f}"]
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err)
        deadline = time.monotonic() + 30
        self.port = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            self.out.seek(0)
            m = re.search(r"^lambda-local: listening on http://127\.0\.0\.1:(\d+)$",
                          self.out.read(), re.M)
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.1)
        if not self.port:
            self.stop()
            self.err.seek(0)
            raise RuntimeError("lambda-local did not start: " + self.err.read())

    def call(self, method, path, body=None, headers=None):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body,
                                     method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def logs(self):
        """What the functions and lambda-local wrote so far."""
        text = ""
        for f in (self.out, self.err):
            f.flush()
            f.seek(0)
            text += f.read()
        return text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def arn_path(arn, suffix=""):
    return "/2025-12-01/durable-executions/" + urllib.parse.quote(arn, safe="") + suffix


def history(server, arn):
    events, marker = [], None
    while True:
        q = "?MaxItems=1000" + ("&Marker=" + urllib.parse.quote(marker) if marker else "")
        status, _, body = server.call("GET", arn_path(arn, "/history") + q)
        if status != 200:
            raise RuntimeError(f"GetDurableExecutionHistory answered {status}: {body!r}")
        page = json.loads(body)
        events += page.get("Events", [])
        marker = page.get("NextMarker")
        if not marker:
            return events


def wait_until(what, predicate, deadline):
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def answer_callback(server, arn, action, deadline):
    """Finds the callback by name in the history and answers it once the
    invocation that created it is over (the suite's runner waits a second
    instead: the answer must not land between the callback's start and the
    end of that invocation, or the history's order would depend on timing).
    With "after_invocations": N, also once N invocations are over (where the
    suite answers a callback created earlier seconds later, so that the
    invocations between come first: 4.18)."""
    after = action.get("after_invocations", 0)

    def started():
        cid, ended = None, 0
        for e in history(server, arn):
            if e.get("EventType") == "CallbackStarted" and e.get("Name") == action["name"]:
                cid = e["CallbackStartedDetails"]["CallbackId"]
            elif e.get("EventType") == "InvocationCompleted":
                ended += 1
                if cid and ended >= after:
                    return cid
        return None

    cid = wait_until(f"callback {action['name']} to start and its invocation to end"
                     + (f" ({after} invocations over)" if after else ""), started, deadline)
    verb = {"success": "succeed", "failure": "fail", "heartbeat": "heartbeat"}[action["operation"]]
    body = json.dumps(action["payload"]).encode() if "payload" in action else b""
    status, _, text = server.call(
        "POST", "/2025-12-01/durable-execution-callbacks/" + urllib.parse.quote(cid, safe="")
        + "/" + verb, body, {"Content-Type": "application/json"})
    if status != 200:
        raise RuntimeError(f"callback {verb} answered {status}: {text!r}")


# ---- one case ----------------------------------------------------------------------------


def run_case(server, case, n):
    variables = {name: "".join(random.choices(string.ascii_letters, k=length))
                 for name, length in case.get("variables", {}).items()}
    c = substitute(case, variables)
    payload = json.dumps(c.get("input")).encode()
    status, headers, body = server.call(
        "POST", f"/2015-03-31/functions/{c['handler']}/invocations", payload,
        {"X-Amz-Invocation-Type": "Event",
         "X-Amz-Durable-Execution-Name": f"case-{c['id'].replace('.', '-')}-{n}"})
    arn = {k.lower(): v for k, v in headers.items()}.get("x-amz-durable-execution-arn")
    if status != 202 or not arn:
        return [f"the execution did not start: {status} {body!r}"]
    deadline = time.monotonic() + CASE_DEADLINE_S
    for action in c.get("callbacks", []):
        answer_callback(server, arn, action, deadline)

    def ended():
        s, _, b = server.call("GET", arn_path(arn))
        d = json.loads(b) if s == 200 else {}
        return d if d.get("Status") not in (None, "RUNNING") else None

    execution = wait_until(f"{c['id']} to end", ended, deadline)
    errors, bindings = [], {}
    want = c["expected"]
    match(want["status"], execution["Status"], "Status", bindings, errors)
    if "result" in want:
        raw = execution.get("Result")
        try:
            actual = json.loads(raw) if raw not in (None, "") else None
        except ValueError:
            actual = raw
        match(want["result"], actual, "Result", bindings, errors)
    if "error" in want:
        match(want["error"], execution.get("Error", {}), "Error", bindings, errors)
    events = {e.get("EventId"): e for e in history(server, arn)}
    for e in c["history"]:
        actual = events.get(e["EventId"])
        if actual is None:
            errors.append(f"no event {e['EventId']} ({e.get('EventType')})")
        else:
            match(e, actual, f"Event[{e['EventId']}]", bindings, errors)
    # The durable loggers' lines of this execution (tagged with its ARN).
    # lambda-local copies a function's output from a pipe on its own thread:
    # the lines expected may arrive after the execution ended, so they are
    # waited for (bounded) before the counts are compared.
    def counts():
        lines = [line for line in server.logs().splitlines() if f"[executionArn={arn}" in line]
        return [sum(1 for line in lines if re.search(w["pattern"], line)) for w in c.get("logs", [])]

    def all_there():
        got = counts()
        return (got,) if all(n >= w["count"] for n, w in zip(got, c.get("logs", []))) else None

    try:
        (got,) = wait_until("the expected log lines", all_there, time.monotonic() + 15)
    except RuntimeError:
        got = counts()
    for want_log, count in zip(c.get("logs", []), got):
        if count != want_log["count"]:
            errors.append(f"log /{want_log['pattern']}/: {count} lines, expected "
                          f"{want_log['count']}")
    if errors:
        errors.append("history: " + json.dumps(list(events.values()))[:4000])
    return errors


def sanitizer_failures(logs):
    """1 when the functions' output holds a sanitizer's report (a memory error,
    undefined behaviour or a leak fails the run even if its case matched), or
    when leak checks were expected and none ran; else 0."""
    reports = re.findall(r"^.*(?:ERROR: (?:AddressSanitizer|LeakSanitizer)|: runtime error:).*$",
                         logs, re.M)
    if reports:
        print("FAIL: sanitizer reports in the functions' output:\n" + "\n".join(reports[:10]))
        return 1
    if os.environ.get("CONFORMANCE_LEAK_CHECKS") == "1" and not re.search(
            r"^.*conformance: LeakSanitizer checks after each invocation$", logs, re.M):
        print("FAIL: CONFORMANCE_LEAK_CHECKS=1 but no function said it checked for leaks "
              "(a bootstrap built without ASan?)")
        return 1
    return 0


def main():
    # CTest's timeout sends SIGTERM: end through the finally clauses, which
    # stop lambda-local (and its functions) instead of orphaning them.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("run.py: terminated"))
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    lambda_local, bootstrap, expected_path = sys.argv[1:4]
    # Dummy credentials: the SDK signs its calls, nothing leaves 127.0.0.1.
    os.environ.update(AWS_ACCESS_KEY_ID="AKIDLOCALTEST", AWS_SECRET_ACCESS_KEY="local-test-secret",
                      AWS_REGION="us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
        os.environ.pop(name, None)
    with open(expected_path) as f:
        cases = json.load(f)["cases"]
    only = set(sys.argv[4:])
    cases = [c for c in cases if not only or c["id"] in only]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="durable-conformance.") as work:
        for scale in sorted({c.get("time_scale", 0.01) for c in cases}):
            group = [c for c in cases if c.get("time_scale", 0.01) == scale]
            server = Server(lambda_local, bootstrap, sorted({c["handler"] for c in group}),
                            scale, work)
            try:
                for n, case in enumerate(group):
                    try:
                        errors = run_case(server, case, n)
                    except RuntimeError as e:
                        errors = [str(e)]
                    if errors:
                        failures += 1
                        print(f"FAIL: {case['id']} ({case['title']})")
                        for e in errors:
                            print("    " + e)
                    else:
                        print(f"ok: {case['id']} ({case['title']})")
            finally:
                server.stop()
                # Once stopped, all of the functions' output is in.
                failures += sanitizer_failures(server.logs())
                if failures:
                    tail = server.logs()[-3000:]
                    print("lambda-local's output (end):\n" + tail)
    print(f"{len(cases) - failures} of {len(cases)} conformance cases matched")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

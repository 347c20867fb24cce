"""Shared helpers for the hardening tests (Python 3 standard library only:
python3 comes with Debian's awscli, which the project installs).

Every server a test starts is stopped by the test, also on failure (use
`with Emulator(...)`); every wait is bounded; ports are picked by the
servers (port 0) and read back.
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

FAILURES = []


def check(what, ok, detail=""):
    """Records one asserted outcome; the test fails at the end if any failed."""
    if ok:
        print("ok: " + what)
    else:
        print("FAIL: %s %s" % (what, detail), file=sys.stderr)
        FAILURES.append(what)
    return ok


def finish():
    if FAILURES:
        print("%d check(s) failed: %s" % (len(FAILURES), "; ".join(FAILURES)), file=sys.stderr)
        sys.exit(1)
    print("all checks passed")


def _ppid_environ(pid):
    with open("/proc/%s/stat" % pid) as f:
        stat = f.read()
    ppid = int(stat.rsplit(")", 1)[1].split()[1])
    with open("/proc/%s/environ" % pid, "rb") as f:
        return ppid, f.read().split(b"\0")


def bootstrap_pids(emulator_pid, handler=None):
    """The bootstrap processes under lambda-local: its children, or in its
    sandbox (a PID namespace) the children of the namespace's init, which is
    a fork of lambda-local without the Runtime API variable. Host pids."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                procs[int(d)] = _ppid_environ(d)
            except (OSError, ValueError, IndexError):
                continue
    def is_bootstrap(env):
        return any(v.startswith(b"AWS_LAMBDA_RUNTIME_API=") for v in env) and (
            handler is None or ("_HANDLER=" + handler).encode() in env)
    out = []
    for pid, (ppid, env) in procs.items():
        if ppid == emulator_pid and is_bootstrap(env):
            out.append(pid)
        elif ppid in procs and procs[ppid][0] == emulator_pid and is_bootstrap(env):
            out.append(pid)
    return sorted(out)


def workdir(name):
    base = os.environ.get("TMPDIR") or "/tmp"
    return tempfile.mkdtemp(prefix="lambda-hardening-%s." % name, dir=base)


def snapshot(root):
    """{relative path: (size, mtime_ns)} for every file and dir under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def changes(before, after):
    """Paths created, removed or modified between two snapshots (dirs whose
    only change is their mtime are ignored: their entries are reported)."""
    out = set()
    for p in set(before) | set(after):
        a, b = before.get(p), after.get(p)
        if a is None or b is None:
            out.add(p)
        elif (a[0], a[1]) != (b[0], b[1]) and not (b[2] & 0o40000):
            out.add(p)
    return sorted(out)


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ERROR: UndefinedBehaviorSanitizer")


def sanitizer_clean(what, text):
    """In a sanitizer build a report may only reach a process's stderr: any
    such line fails the test."""
    hits = [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKS)]
    return check("no sanitizer report from %s" % what, not hits, "\n".join(hits[:5]))


class Emulator:
    """lambda-local start-lambda in direct mode on port 0 with the given
    functions (name -> handler) and environment for the functions."""

    def __init__(self, lambda_local, bootstrap, functions, env, work, timeout=60,
                 extra_args=(), proc_env=None):
        self.work = work
        env_file = os.path.join(work, "env-vars.json")
        with open(env_file, "w") as f:
            json.dump({"Parameters": env}, f)
        self.port_file = os.path.join(work, "port")
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        args = [lambda_local, "start-lambda", "--port", "0", "--port-file", self.port_file,
                "--bootstrap", bootstrap, "--env-vars", env_file, "--timeout", str(timeout)]
        for name, handler in functions.items():
            args += ["--function", "%s=%s" % (name, handler)]
        args += list(extra_args)
        self.out = open(os.path.join(work, "lambda-local.out"), "w+")
        self.err = open(os.path.join(work, "lambda-local.err"), "w+")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err,
                                     env=proc_env if proc_env is not None else os.environ,
                                     start_new_session=True)
        self.port = None
        deadline = time.time() + 20
        while time.time() < deadline:
            if os.path.exists(self.port_file):
                text = open(self.port_file).read().strip()
                if text.isdigit():
                    self.port = int(text)
                    break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise RuntimeError("lambda-local did not start: " + self.stderr())

    def stderr(self):
        self.err.flush()
        with open(self.err.name, errors="replace") as f:
            return f.read()

    def stdout(self):
        self.out.flush()
        with open(self.out.name, errors="replace") as f:
            return f.read()

    def invoke(self, function, payload, timeout=90):
        """POST the payload (bytes or a JSON-able object); returns
        (status, headers dict lower-cased, body bytes)."""
        if not isinstance(payload, (bytes, bytearray)):
            payload = json.dumps(payload).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("POST", "/2015-03-31/functions/%s/invocations" % function,
                         body=payload, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            sanitizer_clean("lambda-local and its bootstraps", self.stderr() + self.stdout())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def result(status, headers, body):
    """(errorType or None, parsed body or None)."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if headers.get("x-amz-function-error"):
        return (doc or {}).get("errorType", "?"), doc
    if status != 200:
        return "HTTP%d:%s" % (status, headers.get("x-amzn-errortype", "?")), doc
    return None, doc


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


class Server:
    """A helper server (s3rver, the fault proxy) that prints
    '... listening on 127.0.0.1:PORT' once bound; stopped on exit."""

    def __init__(self, args, work, name, env=None):
        import re
        self.log = open(os.path.join(work, name + ".log"), "w+")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline and self.port is None:
            self.log.flush()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(self.log.name).read())
            if m:
                self.port = int(m.group(1))
            elif self.proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise RuntimeError("%s did not start: %s" % (name, open(self.log.name).read()[-2000:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def http_call(port, method, path, body=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()

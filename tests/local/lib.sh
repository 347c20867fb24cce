# Shared helpers for lambda-local's integration tests (sourced by each test).
# Environment (set by CTest): LAMBDA_LOCAL, TEST_BOOTSTRAP, AWS_CLI, NODE.
# Every server a test starts is stopped by the EXIT trap, even on failure;
# every wait is bounded.
set -euo pipefail

: "${LAMBDA_LOCAL:?path to lambda-local}"
: "${TEST_BOOTSTRAP:?path to lambda-test-bootstrap}"
AWS_CLI=${AWS_CLI:-/usr/bin/aws}
FIXTURES=$(cd "$(dirname "${BASH_SOURCE[0]}")/fixtures" && pwd)

# Dummy credentials and region: the CLI signs requests, nothing leaves 127.0.0.1.
export AWS_ACCESS_KEY_ID=AKIDLOCALTEST AWS_SECRET_ACCESS_KEY=local-test-secret
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_LAMBDA || true

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lambda-local-test.XXXXXX")
SERVER_PID=""
PORT=""
FAILURES=0

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }

# check DESCRIPTION COMMAND...: runs the command, records the verdict.
check() {
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# start_server ARGS...: lambda-local start-lambda on port 0; sets PORT. It
# is waited for up to 60 s (an ASan build on a loaded machine can take more
# than the 10 s this once allowed), or until it exits. Without --timeout or
# --template the functions get 30 s, not lambda-local's default 3 s: init
# counts against the timeout, and a cold ASan bootstrap took 3.2 s to init
# on a loaded machine; tests of timeouts say theirs (KEEP_DEFAULT_TIMEOUT=1:
# lambda-local's default).
start_server() {
  local timeout=(--timeout 30) a
  [ -z "${KEEP_DEFAULT_TIMEOUT:-}" ] || timeout=()
  for a in "$@"; do case "$a" in --timeout|--template) timeout=() ;; esac; done
  : > "$WORK/server.out"
  "$LAMBDA_LOCAL" start-lambda --port 0 --port-file "$WORK/port" ${timeout[@]+"${timeout[@]}"} "$@" \
    > "$WORK/server.out" 2> "$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 600); do
    if grep -q '^lambda-local: listening on http://127.0.0.1:[0-9]*$' "$WORK/server.out" 2>/dev/null; then
      PORT=$(sed -n 's|^lambda-local: listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$WORK/server.out")
      [ "$PORT" = "$(tr -d '\n' < "$WORK/port")" ] || { echo "port file disagrees" >&2; exit 1; }
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "lambda-local did not start:" >&2; cat "$WORK/server.err" >&2
  exit 1
}

# stop_server: SIGTERM, and it must exit 0 within 5 s.
stop_server() {
  kill -TERM "$SERVER_PID"
  local rc=0
  for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$SERVER_PID" 2>/dev/null; then fail "lambda-local did not stop on SIGTERM"; return 1; fi
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=""
  [ "$rc" -eq 0 ] || { fail "lambda-local exited $rc on SIGTERM"; return 1; }
}

# invoke NAME PAYLOAD [extra aws args]: AWS CLI invoke; the CLI's JSON
# metadata goes to $WORK/meta.json, the response payload to $WORK/out.json,
# the CLI's stderr to $WORK/cli.err. Returns the CLI's exit status.
invoke() {
  local name=$1 payload=$2; shift 2
  rm -f "$WORK/out.json"
  timeout 60 "$AWS_CLI" lambda invoke --endpoint-url "http://127.0.0.1:$PORT" \
    --cli-read-timeout 60 --function-name "$name" \
    --cli-binary-format raw-in-base64-out --payload "$payload" "$@" \
    "$WORK/out.json" > "$WORK/meta.json" 2> "$WORK/cli.err"
}

# gone PID: true once PID has exited (a zombie awaiting its reaper counts
# as exited), waiting up to 5 s.
gone() {
  local st
  for _ in $(seq 50); do
    st=$(ps -o stat= -p "$1" 2>/dev/null || true)
    case "$st" in ""|Z*) return 0 ;; esac
    sleep 0.1
  done
  return 1
}

# connected N: waits (up to 30 s) until N TCP connections to lambda-local's
# port are established (/proc/net/tcp: the clients' ends, remote port =
# PORT), e.g. to know an invoke has reached it without a fixed delay.
connected() {
  local hex _
  hex=$(printf '%04X' "$PORT")
  for _ in $(seq 300); do
    [ "$(awk -v p=":$hex" '$3 ~ p"$" && $4 == "01"' /proc/net/tcp | wc -l)" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

# jget FILE EXPR: a value out of a JSON file (jq, -r).
jget() { jq -r "$2" "$1"; }

finish() {
  if [ "$FAILURES" -ne 0 ]; then
    echo "---- lambda-local stderr (last 60 lines) ----" >&2
    tail -60 "$WORK/server.err" >&2 2>/dev/null || true
    echo "$FAILURES check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
}

#!/usr/bin/env bash
# Warm reuse, as Lambda does it: an environment that has answered is busy
# only until its runtime asks for the next event, so back-to-back invokes
# go to it instead of starting another environment.
#  1. 200 strictly sequential invokes (AWS SDK for JavaScript v3) of the
#     test bootstrap's echo, default concurrency limit (10): exactly one
#     environment is started (one "Init Duration"), all answers right.
#  2. A runtime that exits 1 s after answering instead of calling /next:
#     each next invoke arrives while it lingers, is queued for it, and is
#     served by a fresh environment once it is gone - none is lost, and no
#     second environment runs beside the lingering one. The 3 s timeout
#     leaves 2 s between the linger's end and its invocation's deadline:
#     with 1 s, a loaded machine (slow fork of the curl runtime) saw the
#     deadline pass first and rightly served the queued invoke elsewhere.
#  3. A runtime that stays busy for 5 s after answering (past its 3 s
#     timeout): the queued invoke does not wait for it; a fresh environment
#     serves it while the old one still lingers.
source "$(dirname "$0")/lib.sh"
: "${NODE:?path to node 24}"
client="$(dirname "$0")/sdk_client.mjs"
LOCAL_NODE_MODULES=$(cd "$(dirname "$0")/../../local/node_modules" && pwd)
export LOCAL_NODE_MODULES
run_node() { timeout 300 "$NODE" "$client" "$@"; }

# --- 1. sequential invokes reuse the one warm environment ---
start_server --bootstrap "$TEST_BOOTSTRAP" --timeout 30 --function Echo=echo
if run_node "$PORT" sequential 200 Echo > "$WORK/seq.out" 2>&1; then
  pass "200 sequential invokes answered"
else
  fail "200 sequential invokes"; cat "$WORK/seq.out" >&2
fi
inits=$(grep -c 'Init Duration' "$WORK/server.err" || true)
reports=$(grep -c '^REPORT RequestId: ' "$WORK/server.err" || true)
check "one environment started for 200 sequential invokes (saw $inits)" [ "$inits" = 1 ]
check "200 REPORT lines (saw $reports)" [ "$reports" = 200 ]
stop_server

# --- 2 and 3. runtimes that do not come back to /next after answering ---
mkdir -p "$WORK/mark"
cat > "$WORK/env.json" <<JSON
{"Parameters": {"MARK_DIR": "$WORK/mark"},
 "Exit": {"LINGER_S": "1"}, "Linger": {"LINGER_S": "5"}}
JSON
start_server --bootstrap "$FIXTURES/answer-then-exit-bootstrap.sh" --env-vars "$WORK/env.json" \
  --timeout 3 --function Exit=exit --function Linger=linger

if run_node "$PORT" sequential 3 Exit > "$WORK/exit.out" 2>&1; then
  pass "3 back-to-back invokes of a runtime that exits after answering: all served"
else
  fail "invokes of a runtime that exits after answering"; cat "$WORK/exit.out" >&2
fi
# Each invoke waited for the previous environment to go, then got a fresh one.
check "environments strictly one after another: $(tr '\n' ' ' < "$WORK/mark/exit.marks")" \
  [ "$(cut -d' ' -f1 "$WORK/mark/exit.marks" | tr '\n' ' ')" = "start exit start exit start " ]
check "lambda-local noticed the exits" grep -q 'function Exit: execution environment [0-9]* exited (exit status 0)' "$WORK/server.err"

if run_node "$PORT" sequential 2 Linger > "$WORK/linger.out" 2>&1; then
  pass "a runtime busy after answering: the queued invoke is served elsewhere"
else
  fail "invokes of a runtime busy after answering"; cat "$WORK/linger.out" >&2
fi
check "second environment started while the first still lingered: $(tr '\n' ' ' < "$WORK/mark/linger.marks")" \
  [ "$(cut -d' ' -f1 "$WORK/mark/linger.marks" | head -2 | tr '\n' ' ')" = "start start " ]
stop_server
finish

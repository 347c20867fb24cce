#!/usr/bin/env bash
# Faithful failures through the AWS CLI: timeout (process group killed,
# Sandbox.Timedout, fresh environment next), crash by signal and by exit
# (Runtime.ExitError), init error (to the invoker; next invoke starts a fresh
# process, which recovers), oversized response (Function.ResponseSizeTooLarge).
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/mark"
cat > "$WORK/env.json" <<JSON
{"Parameters": {"REAL_BOOTSTRAP": "$(realpath "$TEST_BOOTSTRAP")", "MARK_DIR": "$WORK/mark"},
 "Sleep": {"WRAP_CHILD": "1"},
 "Flaky": {"WRAP_FAIL_INIT_ONCE": "1"},
 "InitFail": {"LAMBDA_TEST_INIT_FAIL": "1"}}
JSON
# The timeout case alone with a short timeout (init time counts against it,
# so the other cases get a long one: a loaded machine must not time them out).
start_server --bootstrap "$FIXTURES/wrapper-bootstrap.sh" --env-vars "$WORK/env.json" \
  --timeout 3 --function Sleep=sleep

# --- timeout ---
start=$(date +%s%N)
invoke Sleep '{"ms":20000}'
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "timeout: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "timeout: errorType Sandbox.Timedout" [ "$(jget "$WORK/out.json" .errorType)" = Sandbox.Timedout ]
check "timeout: Lambda's message" \
  grep -Eq '"RequestId: [0-9a-f-]{36} Error: Task timed out after 3.00 seconds"' "$WORK/out.json"
# Server side (the CLI's own start-up can take seconds on a loaded machine):
# the emulator acted at the 3 s deadline, not at the end of the 20 s sleep.
dur=$(grep 'Status: timeout' "$WORK/server.err" | sed 's/.*	Duration: \([0-9]*\)\..*/\1/')
check "timeout: acted at the deadline (REPORT Duration $dur ms, CLI round trip $took_ms ms)" \
  [ -n "$dur" ] && [ "$dur" -lt 10000 ]
check "timeout: logged like CloudWatch" grep -Eq 'Z [0-9a-f-]{36} Task timed out after 3.00 seconds$' "$WORK/server.err"
check "timeout: REPORT Status: timeout" grep -q 'Status: timeout' "$WORK/server.err"
child=$(cat "$WORK"/mark/child.* | head -1)
check "timeout: the whole process group was killed (child $child)" gone "$child"
invoke Sleep '{"ms":10}'
check "timeout: the next invoke works" [ "$(jq -c . "$WORK/out.json")" = '{"ms":10}' ]
check "timeout: ...in a fresh environment" [ "$(ls "$WORK"/mark/child.* | wc -l)" = 2 ]
stop_server

start_server --bootstrap "$FIXTURES/wrapper-bootstrap.sh" --env-vars "$WORK/env.json" \
  --timeout 60 --function Crash=crash --function Flaky=echo --function InitFail=echo --function Big=big

# --- crash ---
invoke Crash '{"signal":"SEGV"}'
check "crash by SIGSEGV: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "crash by SIGSEGV: Runtime.ExitError" [ "$(jget "$WORK/out.json" .errorType)" = Runtime.ExitError ]
check "crash by SIGSEGV: Lambda's message" \
  grep -Eq '"RequestId: [0-9a-f-]{36} Error: Runtime exited with error: signal: segmentation fault"' "$WORK/out.json"
invoke Crash '{"exit":3}'
check "exit mid-invoke: Runtime.ExitError exit status 3" \
  grep -Eq '"RequestId: [0-9a-f-]{36} Error: Runtime exited with error: exit status 3".*"Runtime.ExitError"' "$WORK/out.json"
invoke Crash '{}'
check "after crashes a fresh environment answers" [ "$(jget "$WORK/out.json" .errorType)" = InvalidInput ]

# --- init error, then recovery ---
invoke Flaky '{"try":1}'
check "init error: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "init error: the runtime's errorType reaches the invoker" [ "$(jget "$WORK/out.json" .errorType)" = Test.InitFailed ]
check "init error: INIT_REPORT logged" grep -q 'INIT_REPORT Init Duration: .*Status: error	Error Type: Test.InitFailed' "$WORK/server.err"
invoke Flaky '{"try":2}'
check "init error: the next invoke starts a fresh process and succeeds" [ "$(jq -c . "$WORK/out.json")" = '{"try":2}' ]
invoke InitFail '{}'
check "init always failing: first invoke" [ "$(jget "$WORK/out.json" .errorType)" = Test.InitFailed ]
invoke InitFail '{}'
check "init always failing: second invoke too" [ "$(jget "$WORK/out.json" .errorType)" = Test.InitFailed ]

# --- oversized response ---
invoke Big '{"bytes":7000000}'
check "oversized response: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "oversized response: Function.ResponseSizeTooLarge" [ "$(jget "$WORK/out.json" .errorType)" = Function.ResponseSizeTooLarge ]
invoke Big '{"bytes":1000000}'
check "a 1 MB response passes" [ "$(wc -c < "$WORK/out.json")" -ge 1000000 ]

stop_server

# A bootstrap that cannot be started: Lambda's Runtime.InvalidEntrypoint.
cp "$TEST_BOOTSTRAP" "$WORK/doomed-bootstrap"
start_server --bootstrap "$WORK/doomed-bootstrap" --function Doomed=echo
rm "$WORK/doomed-bootstrap"
invoke Doomed '{}'
check "bootstrap missing at start: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "bootstrap missing at start: Runtime.InvalidEntrypoint" [ "$(jget "$WORK/out.json" .errorType)" = Runtime.InvalidEntrypoint ]
check "bootstrap missing at start: says why" grep -q 'No such file or directory' "$WORK/out.json"
stop_server

alive=0
for pid in $(cat "$WORK"/mark/child.*); do gone "$pid" || alive=$((alive + 1)); done
check "no process-group child outlives lambda-local ($alive alive)" [ "$alive" = 0 ]
finish

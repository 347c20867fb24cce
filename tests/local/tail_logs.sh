#!/usr/bin/env bash
# X-Amz-Log-Type: Tail through the AWS CLI (aws lambda invoke --log-type
# Tail): X-Amz-Log-Result is base64 of the last 4 KB of that invocation's
# log — the function's stdout and stderr between START and END, then the
# END and REPORT lines — and only that invocation's.
source "$(dirname "$0")/lib.sh"

# decoded FILE: the CLI's LogResult, decoded.
decoded() { jq -r '.LogResult' "$1" | base64 -d; }
# raw NAME PAYLOAD [curl args]: curl's invoke (cheaper than the CLI's start
# on a loaded machine); headers in $WORK/h, body in $WORK/b.
raw() {
  local name=$1 payload=$2; shift 2
  curl -sS -D "$WORK/h" -o "$WORK/b" --max-time 60 "$@" \
    "http://127.0.0.1:$PORT/2015-03-31/functions/$name/invocations" -d "$payload"
}
# raw_tail: the X-Amz-Log-Result header of the last raw invoke, decoded.
raw_tail() { tr -d '\r' < "$WORK/h" | sed -n 's/^X-Amz-Log-Result: //p' | base64 -d; }

# --timeout 30, not lambda-local's default 3 s: init counts against the
# timeout, and the chatty bash runtime below (curl and jq per invocation,
# 300 lines) took 2.4 s of its 3 s cold at load 15, so a loaded machine timed
# it out; nothing here is about timeouts.
start_server --bootstrap "$TEST_BOOTSTRAP" --function Log=log --function Crash=crash --timeout 30
raw Log '{}' # warm up: the tail below is a warm invocation's
check "Tail: invoke" invoke Log '{"n":2}' --log-type Tail
decoded "$WORK/meta.json" > "$WORK/tail"
echo "---- decoded X-Amz-Log-Result ----"; cat "$WORK/tail"; echo "----"
id=$(sed -n '1s/^START RequestId: \([0-9a-f-]*\) Version: \$LATEST$/\1/p' "$WORK/tail")
check "Tail: starts with START RequestId ($id)" [ -n "$id" ]
check "Tail: the handler's four records of that request (stderr)" \
  [ "$(grep -c "	$id	\(INFO\|WARN\|ERROR\|FATAL\)	test record at" "$WORK/tail")" = 4 ]
check "Tail: END of that request" grep -qx "END RequestId: $id" "$WORK/tail"
check "Tail: ends with its REPORT line" \
  grep -q "^REPORT RequestId: $id	Duration: [0-9.]* ms	Billed Duration: " <(tail -1 "$WORK/tail")
check "Tail: nothing of the warm-up invocation" [ "$(grep -c '^START ' "$WORK/tail")" = 1 ]
check "Tail: the same records on lambda-local's stderr" \
  [ "$(grep -c "	$id	.*test record at" "$WORK/server.err")" = 4 ]

raw Log '{}'
check "no X-Amz-Log-Type: no X-Amz-Log-Result" [ -z "$(grep -i '^X-Amz-Log-Result' "$WORK/h")" ]
raw Log '{}' -H 'X-Amz-Log-Type: None'
check "X-Amz-Log-Type: None: no X-Amz-Log-Result" [ -z "$(grep -i '^X-Amz-Log-Result' "$WORK/h")" ]
code=$(raw Log '{}' -w '%{http_code}' -H 'X-Amz-Log-Type: Everything')
check "X-Amz-Log-Type: Everything -> 400 InvalidParameterValueException ($code)" \
  [ "$code" = 400 ] && grep -q 'None or Tail' "$WORK/b"

# A crash: the runtime's last words and Lambda's error lines are in the tail.
invoke Crash '{"signal":"ABRT"}' --log-type Tail
decoded "$WORK/meta.json" > "$WORK/tail"
check "crash: X-Amz-Function-Error" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "crash: the runtime's fatal-signal line" grep -q 'SIGABRT' "$WORK/tail"
check "crash: Runtime.ExitError in the tail" grep -q 'Runtime exited with error: signal: aborted' "$WORK/tail"
check "crash: END/REPORT in the tail" grep -q '^REPORT RequestId: .*Status: error' "$WORK/tail"
stop_server

# More than 4 KB of log: the last 4,096 bytes, cut at the front.
start_server --bootstrap "$FIXTURES/chatty-bootstrap.sh" --function Chatty=chatty --timeout 30
raw Chatty '{"lines":300}' -H 'X-Amz-Log-Type: Tail'
raw_tail > "$WORK/tail"
size=$(stat -c %s "$WORK/tail")
check "chatty: the tail is 4096 bytes ($size)" [ "$size" = 4096 ]
check "chatty: ends with REPORT" grep -q '^REPORT RequestId: ' <(tail -1 "$WORK/tail")
check "chatty: the last lines are there, stdout and stderr" \
  grep -qx 'chatty line 300 of 300' "$WORK/tail" && grep -qx 'chatty line 299 of 300' "$WORK/tail"
check "chatty: the first lines are not" [ -z "$(grep -x 'chatty line 1 of 300' "$WORK/tail")" ]
check "chatty: all 300 lines on stderr" \
  [ "$(grep -c '^chatty line [0-9]* of 300$' "$WORK/server.err")" = 300 ]
raw Chatty '{"lines":3,"fail":true}' -H 'X-Amz-Log-Type: Tail'
raw_tail > "$WORK/tail"
check "chatty, function error: its three lines, in order, then END" \
  [ "$(grep -o '^chatty line . of 3\|^END' "$WORK/tail" | tr '\n' ' ')" = "chatty line 1 of 3 chatty line 2 of 3 chatty line 3 of 3 END " ]
stop_server
finish

#!/usr/bin/env bash
# `lambda-local invoke` of a durable function drives the whole execution, as
# `sam local invoke --durable-execution-name` does: steps and a one-hour wait
# (time-scaled) give the result start-lambda's synchronous invoke gives, with
# the same history; a failing and a timed-out execution exit 1 with the
# error; a name run twice with --durable-state-dir is one execution (and
# without one, two); a callback is announced on stderr and answered through
# the invoke's own Lambda API, also after Ctrl-C and the same command again;
# a function without DurableConfig is still one plain invocation.
source "$(dirname "$0")/lib.sh"
: "${DURABLE_SDK_HANDLER:?path to lambda-test-durable-sdk-handler}"
: "${E2E_HANDLER:?path to lambda-test-durable-e2e}"
: "${DURABLE_EXAMPLE:?path to durable-example (examples/durable/order.c)}"
SCALE=0.0005 # the one-hour wait: 1.8 s

cat > "$WORK/template.yaml" <<'YAML'
Globals:
  Function:
    Handler: steps
    Runtime: provided.al2023
    Timeout: 30
Resources:
  Steps:
    Type: AWS::Serverless::Function
    Properties:
      DurableConfig:
        ExecutionTimeout: 86400
  Short:
    Type: AWS::Serverless::Function
    Properties:
      DurableConfig:
        ExecutionTimeout: 600
  Plain:
    Type: AWS::Serverless::Function
    Properties: {}
YAML

# one_shot TAG FUNCTION EVENT [ARGS...]: lambda-local invoke with the
# template; stdout in $WORK/TAG.out, stderr in $WORK/TAG.err, the exit
# status in $WORK/TAG.rc. Bounded: 120 s.
one_shot() {
  local tag=$1 fn=$2 event=$3 rc=0; shift 3
  printf '%s' "$event" > "$WORK/$tag.json"
  timeout 120 "$LAMBDA_LOCAL" invoke "$fn" -e "$WORK/$tag.json" --template "$WORK/template.yaml" \
    --bootstrap "$DURABLE_SDK_HANDLER" --durable-time-scale "$SCALE" "$@" \
    > "$WORK/$tag.out" 2> "$WORK/$tag.err" || rc=$?
  echo "$rc" > "$WORK/$tag.rc"
}
rc_of() { cat "$WORK/$1.rc"; }
arn_of() { sed -n 's/^ARN:      //p' "$WORK/$1.err"; }
steps_of() { tr '\n' ' ' < "$WORK/$1"; }
# events FILE: "Type:Name" of each history event, in order (an execution's
# events are named after it: generated names differ).
events() {
  jq -c '[.Events[] | .EventType + ":" + (if .EventType | startswith("Execution") then "" else .Name // "" end)]' "$1"
}
RESULT='{"a":"A","b":"B","flaky":1}'

# 1. DurableConfig, no name: the whole execution, replays included.
t0=$(date +%s%N)
one_shot steps Steps "{\"count\":\"$WORK/count1\",\"wait\":3600}" --durable-state-dir "$WORK/state1"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "DurableConfig: exit 0" [ "$(rc_of steps)" = 0 ]
check "DurableConfig: the execution's result alone on stdout" [ "$(cat "$WORK/steps.out")" = "$RESULT" ]
check "DurableConfig: each step body ran once" [ "$(steps_of count1)" = "a b flaky " ]
check "DurableConfig: the one-hour wait took $ms ms (1.8 s scaled)" \
  sh -c "[ $ms -ge 1700 ] && [ $ms -lt 100000 ]"
check "stderr: the started banner, then the summary (ARN, SUCCEEDED)" sh -c "
  grep -q '^Durable execution started\$' '$WORK/steps.err' &&
  grep -q '^ARN: arn:aws:lambda:us-east-1:123456789012:function:Steps:\$LATEST/durable-execution/' '$WORK/steps.err' &&
  grep -q '^Status:   SUCCEEDED\$' '$WORK/steps.err'"
check "stderr: replays happened (two invocations: before and after the wait)" \
  [ "$(grep -c '^START RequestId' "$WORK/steps.err")" = 2 ]
check "stderr: the Lambda API it served was on a port picked for it" \
  grep -Eq "^lambda-local: its Lambda API .* is at http://127\.0\.0\.1:[0-9]+ until it ends\$" "$WORK/steps.err"

# The same through start-lambda and a synchronous Invoke: the same result
# and the same history (the one-shot's from its state file).
start_server --template "$WORK/template.yaml" --bootstrap "$DURABLE_SDK_HANDLER" \
  --durable-time-scale "$SCALE"
curl -s -m 120 -D "$WORK/sync.h" -o "$WORK/sync.json" -X POST \
  "http://127.0.0.1:$PORT/2015-03-31/functions/Steps/invocations" \
  -d "{\"count\":\"$WORK/count1s\",\"wait\":3600}"
sync_arn=$(tr -d '\r' < "$WORK/sync.h" | sed -n 's/^X-Amz-Durable-Execution-Arn: //p')
curl -s "http://127.0.0.1:$PORT/2025-12-01/durable-executions/$(jq -rn --arg a "$sync_arn" '$a|@uri')/history" \
  > "$WORK/sync-history.json"
stop_server
check "start-lambda's synchronous invoke gives the same result" \
  [ "$(cat "$WORK/sync.json")" = "$(cat "$WORK/steps.out")" ]
state_file=$(ls "$WORK/state1"/*.json 2>/dev/null | head -1 || true)
check "... and the same history (the one-shot's from its state file): $(events "$WORK/sync-history.json")" \
  sh -c "[ -f '$state_file' ] && [ '$(events "$state_file" 2>/dev/null)' = '$(events "$WORK/sync-history.json")' ]"

# 2. The same name twice with a state directory: one execution.
one_shot named1 Steps "{\"count\":\"$WORK/count2\",\"wait\":0}" \
  --durable-execution-name order-42 --durable-state-dir "$WORK/state2"
one_shot named2 Steps "{\"count\":\"$WORK/count2\",\"wait\":0}" \
  --durable-execution-name order-42 --durable-state-dir "$WORK/state2"
check "a name run twice with a state dir: both exit 0 with the result" \
  sh -c "[ $(rc_of named1) = 0 ] && [ $(rc_of named2) = 0 ] && [ '$(cat "$WORK/named2.out")' = '$RESULT' ]"
check "... the same execution (ARN $(arn_of named1))" \
  sh -c "[ -n '$(arn_of named1)' ] && [ '$(arn_of named1)' = '$(arn_of named2)' ]"
check "... and nothing ran the second time" [ "$(steps_of count2)" = "a b flaky " ]
check "... not invoked again" [ "$(grep -c '^START RequestId' "$WORK/named2.err")" = 0 ]
one_shot named3 Steps "{\"count\":\"$WORK/other\"}" \
  --durable-execution-name order-42 --durable-state-dir "$WORK/state2"
check "the name with another input: exit 1, DurableExecutionAlreadyStartedException" sh -c "
  [ $(rc_of named3) = 1 ] && grep -q '^lambda-local: DurableExecutionAlreadyStartedException: ' '$WORK/named3.err'"
# Without a state directory each invoke has its own service in memory.
one_shot mem1 Steps "{\"count\":\"$WORK/count3\"}" --durable-execution-name again
one_shot mem2 Steps "{\"count\":\"$WORK/count3\"}" --durable-execution-name again
check "the same name without a state dir: two executions, each ran its steps" sh -c "
  [ '$(arn_of mem1)' != '$(arn_of mem2)' ] && [ '$(steps_of count3)' = 'a b flaky a b flaky ' ]"

# 3. A failing execution: the step fails its 6 attempts.
one_shot failing Steps "{\"count\":\"$WORK/count4\",\"failures\":6}"
check "FAILED: exit 1" [ "$(rc_of failing)" = 1 ]
check "FAILED: the error on stdout: $(cat "$WORK/failing.out")" \
  [ "$(jq -r '.errorType + ": " + .errorMessage' "$WORK/failing.out")" = "Flaky: attempt 6 fails" ]
check "FAILED: status and error in the summary" sh -c "
  grep -q '^Status:   FAILED\$' '$WORK/failing.err' && grep -q '^Error:    Flaky: attempt 6 fails\$' '$WORK/failing.err'"
check "FAILED: after its 6 attempts" [ "$(steps_of count4)" = "a b flaky flaky flaky flaky flaky flaky " ]
# A timed-out one: a 600 s ExecutionTimeout (0.3 s scaled) before the hour.
one_shot short Short "{\"count\":\"$WORK/count5\",\"wait\":3600}"
check "TIMED_OUT: exit 1 with Execution.Timeout" sh -c "
  [ $(rc_of short) = 1 ] && [ \"\$(jq -r .errorType '$WORK/short.out')\" = Execution.Timeout ] &&
  grep -q '^Status:   TIMED_OUT\$' '$WORK/short.err'"
one_shot badname Steps '{}' --durable-execution-name 'not a name!'
check "an invalid name: exit 1, InvalidParameterValueException" sh -c "
  [ $(rc_of badname) = 1 ] && grep -q '^lambda-local: InvalidParameterValueException: DurableExecutionName' '$WORK/badname.err'"
one_shot notjson Steps 'not json'
check "input that is not JSON: exit 1, InvalidRequestContentException" sh -c "
  [ $(rc_of notjson) = 1 ] && grep -q 'InvalidRequestContentException' '$WORK/notjson.err'"

# 4. Without DurableConfig: one plain invocation, as before (the durable
# handler refuses the bare event); with --durable-execution-name: durable.
one_shot plain Plain "{\"count\":\"$WORK/count6\"}"
check "no DurableConfig: one plain invocation, the handler refuses the bare event" sh -c "
  [ $(rc_of plain) = 1 ] && [ \"\$(jq -r .errorType '$WORK/plain.out')\" = Durable.InvalidEvent ] &&
  ! grep -q 'Durable execution started' '$WORK/plain.err'"
one_shot plain2 Plain "{\"count\":\"$WORK/count7\"}" --durable-execution-name plain-1
check "no DurableConfig, --durable-execution-name: a durable execution" \
  sh -c "[ $(rc_of plain2) = 0 ] && [ '$(cat "$WORK/plain2.out")' = '$RESULT' ]"

# 5. A callback: announced on stderr, answered through the invoke's Lambda
# API; Ctrl-C leaves the execution RUNNING in the state directory and the
# same command resumes it (the callback still waits; no map item runs again).
# callback_invoke TAG: in the background (SERVER_PID: the EXIT trap stops it).
callback_invoke() {
  printf '%s' "{\"count\":\"$WORK/count8\",\"cbfile\":\"$WORK/cbid\"}" > "$WORK/cb.json"
  "$LAMBDA_LOCAL" invoke Batch -e "$WORK/cb.json" --bootstrap "$E2E_HANDLER" --function Batch=batch \
    --timeout 30 --durable-time-scale 0.001 --durable-execution-name cb-1 \
    --durable-state-dir "$WORK/state8" --port-file "$WORK/$1.port" > "$WORK/$1.out" 2> "$WORK/$1.err" &
  SERVER_PID=$!
}
# announced TAG: the callback id it announces, waiting up to 60 s.
announced() {
  for _ in $(seq 600); do
    grep -q '^Waiting for callback: ' "$WORK/$1.err" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  sed -n 's/^Waiting for callback: //p' "$WORK/$1.err"
}
# ended: lambda-local's exit status in $RC, waiting up to 60 s (then 124).
ended() {
  for _ in $(seq 600); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  RC=124
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then RC=0; wait "$SERVER_PID" || RC=$?; SERVER_PID=""; fi
}
callback_invoke cb1
id1=$(announced cb1)
check "the callback is announced on stderr ($id1)" \
  sh -c "[ -n '$id1' ] && [ '$id1' = '$(cat "$WORK/cbid" 2>/dev/null)' ]"
kill -INT "$SERVER_PID"
ended
check "Ctrl-C: exit 1, the execution still RUNNING" sh -c "
  [ $RC = 1 ] && grep -q 'is still RUNNING; the same command resumes it' '$WORK/cb1.err'"
# Another one-shot invoke on that state directory drives its own execution
# only: cb-1 (of a function its template does not have) stays RUNNING.
one_shot other Steps "{\"count\":\"$WORK/count9\"}" --durable-state-dir "$WORK/state8"
check "another invoke on the state dir: its own execution only" sh -c "
  [ $(rc_of other) = 0 ] && [ \"\$(jq -r .Status '$WORK/state8/'*'.json' | sort | tr '\n' ' ')\" = 'RUNNING SUCCEEDED ' ]"
callback_invoke cb2
id2=$(announced cb2)
check "the same command resumes it: the same callback announced ($id2)" [ "$id2" = "$id1" ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -m 30 \
  "http://127.0.0.1:$(cat "$WORK/cb2.port")/2025-12-01/durable-execution-callbacks/$id2/succeed" \
  -d '{"approved":true}')
check "SendDurableExecutionCallbackSuccess on the invoke's port: $code" [ "$code" = 200 ]
ended
check "answered: exit 0 with the result" sh -c "[ $RC = 0 ] &&
  [ '$(cat "$WORK/cb2.out")' = '{\"map\":[10,20,30],\"poll\":3,\"answer\":{\"approved\":true}}' ]"
check "each map item ran once over both runs" [ "$(steps_of count8)" = "1 2 3 " ]
# 6. The README's example (local/lambda-local/README.md), as written.
(cd "$WORK" && echo '{"order_id":"A1","items":3}' > order.json &&
  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x timeout 120 "$LAMBDA_LOCAL" invoke Order -e order.json \
    --bootstrap "$DURABLE_EXAMPLE" --function Order=order \
    --durable-execution-name order-42 --durable-time-scale 0.001 > readme.out 2> readme.err) || true
check "the README's example: $(cat "$WORK/readme.out")" \
  [ "$(cat "$WORK/readme.out")" = '{"order_id":"A1","charged":30,"shipped":true}' ]
finish

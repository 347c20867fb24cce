#!/usr/bin/env bash
# End to end: a C durable function on the SDK (lambda/durable.h,
# durable_sdk_handler.c) under lambda-local's durable service, driven with
# curl as any client would: steps, a one-hour wait time-scaled to 1.8 s, a
# crash after the first step resumed without running that step again, a
# reused execution name (same input: the same execution; another input:
# 409), and a step retried twice with the policy's delays.
source "$(dirname "$0")/lib.sh"
: "${DURABLE_SDK_HANDLER:?path to lambda-test-durable-sdk-handler}"
api() { echo "http://127.0.0.1:$PORT$1"; }

# start NAME INPUT: a synchronous Invoke with X-Amz-Durable-Execution-Name;
# the answer in $WORK/out.json, the headers in $WORK/out.h.
start() {
  curl -s -m 120 -D "$WORK/out.h" -o "$WORK/out.json" -X POST \
    -H "X-Amz-Durable-Execution-Name: $1" "$(api /2015-03-31/functions/Steps/invocations)" -d "$2"
}
arn() { tr -d '\r' < "$WORK/out.h" | sed -n 's/^X-Amz-Durable-Execution-Arn: //p'; }
enc() { jq -rn --arg a "$1" '$a|@uri'; }
history() { curl -s "$(api "/2025-12-01/durable-executions/$(enc "$1")/history")"; }

start_server --bootstrap "$DURABLE_SDK_HANDLER" --function Steps=steps --timeout 30 \
  --durable-time-scale 0.0005

# Steps and a one-hour wait.
t0=$(date +%s%N)
start first "{\"count\":\"$WORK/count1\",\"wait\":3600}"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "steps + 1-hour wait: the result" \
  [ "$(jq -c . "$WORK/out.json")" = '{"a":"A","b":"B","flaky":1}' ]
check "steps + 1-hour wait: took $ms ms (1.8 s scaled), not an hour" \
  sh -c "[ $ms -ge 1700 ] && [ $ms -lt 60000 ]"
check "each step body ran once" [ "$(tr '\n' ' ' < "$WORK/count1")" = "a b flaky " ]
first_arn=$(arn)
history "$first_arn" > "$WORK/h1.json"
check "history: WaitStarted (3600 s) then WaitSucceeded, two invocations" sh -c "
  [ \"\$(jq -r '[.Events[] | select(.EventType == \"WaitStarted\")][0].WaitStartedDetails.Duration' '$WORK/h1.json')\" = 3600 ] &&
  [ \"\$(jq '[.Events[] | select(.EventType == \"WaitSucceeded\")] | length' '$WORK/h1.json')\" = 1 ] &&
  [ \"\$(jq '[.Events[] | select(.EventType == \"InvocationCompleted\")] | length' '$WORK/h1.json')\" = 2 ]"

# The same name and input: the same execution, nothing runs again; another
# input: DurableExecutionAlreadyStartedException.
start first "{\"count\":\"$WORK/count1\",\"wait\":3600}"
check "a reused name with the same input: the same ARN and result" \
  sh -c "[ '$(arn)' = '$first_arn' ] && [ \"\$(jq -c . '$WORK/out.json')\" = '{\"a\":\"A\",\"b\":\"B\",\"flaky\":1}' ]"
check "... and no step ran again" [ "$(tr '\n' ' ' < "$WORK/count1")" = "a b flaky " ]
code=$(curl -s -o "$WORK/dup.json" -D "$WORK/dup.h" -w '%{http_code}' -X POST \
  -H 'X-Amz-Durable-Execution-Name: first' "$(api /2015-03-31/functions/Steps/invocations)" \
  -d "{\"count\":\"$WORK/other\"}")
check "a reused name with another input: 409 DurableExecutionAlreadyStartedException" \
  sh -c "[ $code = 409 ] && grep -qi 'x-amzn-ErrorType: DurableExecutionAlreadyStartedException' '$WORK/dup.h'"

# A crash after step a: invoked again, a comes from its checkpoint.
start crash "{\"count\":\"$WORK/count2\",\"crash\":\"$WORK/crashed\"}"
check "crash mid-execution: the execution still succeeds" \
  [ "$(jq -c . "$WORK/out.json")" = '{"a":"A","b":"B","flaky":1}' ]
check "crash mid-execution: step a ran once, not again after the crash" \
  [ "$(tr '\n' ' ' < "$WORK/count2")" = "a b flaky " ]
history "$(arn)" > "$WORK/h2.json"
check "crash mid-execution: the crashed invocation is in the history (Runtime.ExitError)" \
  sh -c "jq -e '[.Events[] | select(.EventType == \"InvocationCompleted\") | .InvocationCompletedDetails.Error.Payload.ErrorType] | index(\"Runtime.ExitError\")' '$WORK/h2.json' >/dev/null"

# Step retries: two failures, retried after 10 s then 20 s (scaled).
start retries "{\"count\":\"$WORK/count3\",\"failures\":2}"
check "step retries: succeeds on the third attempt" \
  [ "$(jq -c .flaky "$WORK/out.json")" = 3 ]
history "$(arn)" > "$WORK/h3.json"
check "step retries: StepFailed with the policy's delays (10 s, 20 s)" \
  [ "$(jq -c '[.Events[] | select(.EventType == "StepFailed") | .StepFailedDetails.RetryDetails.NextAttemptDelaySeconds]' "$WORK/h3.json")" = '[10,20]' ]
check "step retries: the flaky body ran 3 times, a and b once" \
  [ "$(tr '\n' ' ' < "$WORK/count3")" = "a b flaky flaky flaky " ]
stop_server
finish

#!/usr/bin/env bash
# End to end: lambda::durable's map, wait_for_condition and
# wait_for_callback (e2e_handler.c) under lambda-local's durable service:
# the execution runs over several invocations (three polls a minute apart,
# time-scaled), the callback is answered with
# SendDurableExecutionCallbackSuccess (curl, as any client), the result is
# whole and no map item ran twice.
source "$(dirname "$0")/../local/lib.sh"
: "${E2E_HANDLER:?path to the durable e2e handler}"
api() { echo "http://127.0.0.1:$PORT$1"; }
enc() { jq -rn --arg a "$1" '$a|@uri'; }

start_server --bootstrap "$E2E_HANDLER" --function Batch=batch --timeout 30 \
  --durable-time-scale 0.001
curl -s -D "$WORK/h" -o /dev/null -X POST -H 'X-Amz-Invocation-Type: Event' \
  -H 'X-Amz-Durable-Execution-Name: batch-1' "$(api /2015-03-31/functions/Batch/invocations)" \
  -d "{\"count\":\"$WORK/count\",\"cbfile\":\"$WORK/cbid\"}"
arn=$(tr -d '\r' < "$WORK/h" | sed -n 's/^X-Amz-Durable-Execution-Arn: //p')
check "the execution started ($arn)" [ -n "$arn" ]
for _ in $(seq 300); do [ -s "$WORK/cbid" ] && break; sleep 0.1; done
check "the submitter handed out the callback id" [ -s "$WORK/cbid" ]
status() { curl -s "$(api "/2025-12-01/durable-executions/$(enc "$arn")")" | jq -r .Status; }
check "it waits for the callback (RUNNING)" [ "$(status)" = RUNNING ]
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
  "$(api "/2025-12-01/durable-execution-callbacks/$(enc "$(cat "$WORK/cbid")")/succeed")" \
  -d '{"approved":true}')
check "SendDurableExecutionCallbackSuccess answered ($code)" [ "$code" = 200 ]
for _ in $(seq 300); do [ "$(status)" = RUNNING ] || break; sleep 0.1; done
curl -s "$(api "/2025-12-01/durable-executions/$(enc "$arn")")" > "$WORK/exec.json"
check "SUCCEEDED" [ "$(jq -r .Status "$WORK/exec.json")" = SUCCEEDED ]
check "the result: $(jq -r .Result "$WORK/exec.json")" \
  [ "$(jq -r .Result "$WORK/exec.json" | jq -c .)" = '{"map":[10,20,30],"poll":3,"answer":{"approved":true}}' ]
check "each map item ran once over all the invocations" \
  [ "$(tr '\n' ' ' < "$WORK/count")" = "1 2 3 " ]
curl -s "$(api "/2025-12-01/durable-executions/$(enc "$arn")/history")" > "$WORK/history.json"
n=$(jq '[.Events[] | select(.EventType == "InvocationCompleted")] | length' "$WORK/history.json")
check "several invocations ($n): replay did the rest" [ "$n" -ge 4 ]
check "history: the callback succeeded" \
  jq -e '[.Events[] | select(.EventType == "CallbackSucceeded")] | length == 1' "$WORK/history.json"
stop_server
finish

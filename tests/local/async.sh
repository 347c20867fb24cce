#!/usr/bin/env bash
# Asynchronous (Event) invokes through the AWS CLI (--invocation-type
# Event): 202 at once; a function error is retried twice, keeping the
# request id, after Lambda's delays of 1 then 2 minutes (scaled here by
# --async-time-scale 0.002: 120 ms, 240 ms); then Lambda's on-failure
# destination record lands in --async-failure-dir. EventInvokeConfig
# MaximumRetryAttempts 0 means one attempt. A retry still waiting at
# shutdown is dropped and lambda-local stops at once (the ASan pass checks
# that nothing of it leaks).
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/marks" "$WORK/failed"
printf '{"Parameters": {"MARK_DIR": "%s"}}' "$WORK/marks" > "$WORK/env.json"
start_server --template "$FIXTURES/async-template.yaml" --bootstrap "$FIXTURES/chatty-bootstrap.sh" \
  --env-vars "$WORK/env.json" --async-time-scale 0.002 --async-failure-dir "$WORK/failed"

# wait_for GLOB: up to 30 s for a file to appear.
wait_for() {
  for _ in $(seq 300); do
    compgen -G "$1" > /dev/null && return 0
    sleep 0.1
  done
  return 1
}

invoke Chatty '{"lines":1,"fail":true,"n":1}' --invocation-type Event
check "Event: 202" [ "$(jget "$WORK/meta.json" .StatusCode)" = 202 ]
check "the on-failure record is written" wait_for "$WORK/failed/Chatty/*.json"
record=$(ls "$WORK/failed/Chatty/"*.json | head -1)
echo "---- $record ----"; cat "$record"; echo "----"
mapfile -t attempts < <(grep '"n":1' "$WORK/marks/attempts")
check "three attempts (${#attempts[@]})" [ "${#attempts[@]}" = 3 ]
read -r id0 t0 _ <<< "${attempts[0]}"
read -r id1 t1 _ <<< "${attempts[1]}"
read -r id2 t2 _ <<< "${attempts[2]}"
echo "attempts at +0, +$((t1 - t0)), +$((t2 - t0)) ms"
check "one request id for every attempt ($id0)" [ "$id0" = "$id1" -a "$id1" = "$id2" ]
check "first retry at least 120 ms later ($((t1 - t0)) ms)" [ $((t1 - t0)) -ge 120 ]
check "second retry at least 240 ms after the first ($((t2 - t1)) ms)" [ $((t2 - t1)) -ge 240 ]
check "record: version, condition, count" \
  [ "$(jget "$record" '"\(.version) \(.requestContext.condition) \(.requestContext.approximateInvokeCount)"')" = "1.0 RetriesExhausted 3" ]
check "record: requestId" [ "$(jget "$record" .requestContext.requestId)" = "$id0" ]
check "record: functionArn" \
  [ "$(jget "$record" .requestContext.functionArn)" = 'arn:aws:lambda:us-east-1:123456789012:function:Chatty:$LATEST' ]
check "record: timestamp" \
  [ "$(jq -r '.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' "$record")" = true ]
check "record: requestPayload is the event" [ "$(jq -c .requestPayload "$record")" = '{"lines":1,"fail":true,"n":1}' ]
check "record: responseContext" \
  [ "$(jq -c .responseContext "$record")" = '{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"}' ]
check "record: responsePayload is the error" \
  [ "$(jget "$record" .responsePayload.errorType)" = Chatty.Failed ]

# A success: one attempt, no record.
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Amz-Invocation-Type: Event' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/Chatty/invocations" -d '{"lines":1,"n":2}')
check "Event (curl): 202 ($code)" [ "$code" = 202 ]
# MaximumRetryAttempts: 0: one attempt, then the record.
curl -sS -o /dev/null -H 'X-Amz-Invocation-Type: Event' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/NoRetry/invocations" -d '{"fail":true,"n":3}'
check "MaximumRetryAttempts 0: the record" wait_for "$WORK/failed/NoRetry/*.json"
check "MaximumRetryAttempts 0: approximateInvokeCount 1" \
  [ "$(jget "$(ls "$WORK/failed/NoRetry/"*.json | head -1)" .requestContext.approximateInvokeCount)" = 1 ]
sleep 0.5 # a wrong retry would come within 120 ms
check "MaximumRetryAttempts 0: one attempt" [ "$(grep -c '"n":3' "$WORK/marks/attempts")" = 1 ]
check "the success: one attempt" [ "$(grep -c '"n":2' "$WORK/marks/attempts")" = 1 ]
check "only the two failures left records" [ "$(find "$WORK/failed" -name '*.json' | wc -l)" = 2 ]
stop_server

# Lambda's real delays: the retry waits a minute; SIGTERM must not.
start_server --template "$FIXTURES/async-template.yaml" --bootstrap "$FIXTURES/chatty-bootstrap.sh" \
  --env-vars "$WORK/env.json" --async-failure-dir "$WORK/failed"
curl -sS -o /dev/null -H 'X-Amz-Invocation-Type: Event' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/Chatty/invocations" -d '{"fail":true,"n":4}'
# Up to 60 s: the chatty bash runtime's cold start alone took 2.4 s at load 15.
for _ in $(seq 600); do grep -q 'retry in 60.000 s' "$WORK/server.err" && break; sleep 0.1; done
check "the first retry is due in 60 s" grep -q 'failed (attempt 1): retry in 60.000 s' "$WORK/server.err"
check "shutdown does not wait for a pending retry" stop_server
check "the pending retry is dropped at shutdown" grep -q 'retry 1 dropped at shutdown' "$WORK/server.err"
finish

#!/usr/bin/env bash
# lambda-local's durable-execution service (Lambda API 2025-12-01) through
# the AWS SDK for JavaScript v3 and curl, against durable_handler.mjs, a
# function that speaks the durable protocol by hand: executions started by
# Invoke, steps, a time-scaled one-hour wait, a crash resumed without
# re-running steps, reused names, retries, checkpoint rules and errors,
# state paging, history, callbacks, stop, listing, and a restart that
# resumes an execution from --durable-state-dir.
source "$(dirname "$0")/lib.sh"
: "${NODE:?path to node 24}"
here=$(cd "$(dirname "$0")" && pwd)
LOCAL_NODE_MODULES=$(cd "$here/../../local/node_modules" && pwd)
export LOCAL_NODE_MODULES
client() { timeout 180 "$NODE" "$here/durable_client.mjs" "$PORT" "$WORK" "$1"; }

# The function: node running the handler (lambda-local gives it Lambda's
# environment, so the paths are written in).
printf '#!/bin/sh\nexec %s %s\n' "$NODE" "$here/durable_handler.mjs" > "$WORK/bootstrap"
chmod +x "$WORK/bootstrap"
serve() { start_server --bootstrap "$WORK/bootstrap" --function Durable=handler --timeout 60 "$@"; }

# An hour is 3.6 s at this scale: long enough to see that it waits.
serve --durable-time-scale 0.001
for mode in run checkpoint callback stop; do
  if client "$mode" > "$WORK/$mode.out" 2>&1; then pass "durable $mode"; else fail "durable $mode"; fi
  cat "$WORK/$mode.out"
done

# The raw protocol with curl: the ARN's '/' percent-encoded in the path, a
# body that is not JSON, an unknown operation.
arn=$(curl -s -D - -o /dev/null -X POST -H 'X-Amz-Durable-Execution-Name: curl-run' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/Durable/invocations" -d '{"program":[]}' |
  tr -d '\r' | sed -n 's/^X-Amz-Durable-Execution-Arn: //p')
enc=$(jq -rn --arg a "$arn" '$a|@uri')
status=$(curl -s "http://127.0.0.1:$PORT/2025-12-01/durable-executions/$enc" | jq -r .Status)
check "curl: GetDurableExecution with the percent-encoded ARN ($status)" [ "$status" = SUCCEEDED ]
code=$(curl -s -o "$WORK/bad.json" -w '%{http_code}' -X POST -D "$WORK/bad.h" \
  "http://127.0.0.1:$PORT/2025-12-01/durable-executions/$enc/checkpoint" -d 'not json')
check "curl: a checkpoint body that is not JSON is 400 InvalidParameterValueException" \
  sh -c "[ $code = 400 ] && grep -qi 'x-amzn-ErrorType: InvalidParameterValueException' '$WORK/bad.h'"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/2025-12-01/nothing-here")
check "curl: an unknown /2025-12-01/ path is 404" [ "$code" = 404 ]
stop_server

# Restart: an execution in a wait when lambda-local stops goes on from the
# state directory when it starts again.
mkdir -p "$WORK/state"
serve --durable-time-scale 0.001 --durable-state-dir "$WORK/state"
if client restart-begin > "$WORK/rb.out" 2>&1; then pass "durable restart (before)"; else fail "durable restart (before)"; fi
cat "$WORK/rb.out"
stop_server
check "the state directory holds the execution" sh -c "ls '$WORK/state'/*.json >/dev/null"
serve --durable-time-scale 0.001 --durable-state-dir "$WORK/state"
check "lambda-local says it resumed it" grep -q '1 running, resumed' "$WORK/server.err"
if client restart-end > "$WORK/re.out" 2>&1; then pass "durable restart (after)"; else fail "durable restart (after)"; fi
cat "$WORK/re.out"
stop_server

# kill -9 of lambda-local mid-invocation, after the first step's
# checkpoint: the next lambda-local resumes the execution from the state
# directory, and the step does not run again.
mkdir -p "$WORK/state9"
serve --durable-time-scale 0.001 --durable-state-dir "$WORK/state9"
curl -s -o /dev/null -X POST -H 'X-Amz-Invocation-Type: Event' -H 'X-Amz-Durable-Execution-Name: killed' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/Durable/invocations" \
  -d "{\"program\":[{\"step\":\"a\",\"count\":\"$WORK/count9\"},{\"hold\":\"$WORK/hold9\"},{\"step\":\"b\",\"count\":\"$WORK/count9\"}]}"
for _ in $(seq 600); do [ -f "$WORK/hold9.envelope" ] && break; sleep 0.1; done
kill -KILL "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
touch "$WORK/hold9.release" # lets the orphaned handler go
serve --durable-time-scale 0.001 --durable-state-dir "$WORK/state9"
arn9=$(curl -s "http://127.0.0.1:$PORT/2025-12-01/functions/Durable/durable-executions" | jq -r '.DurableExecutions[0].DurableExecutionArn')
for _ in $(seq 600); do
  st=$(curl -s "http://127.0.0.1:$PORT/2025-12-01/durable-executions/$(jq -rn --arg a "$arn9" '$a|@uri')" | jq -r .Status)
  [ "$st" = RUNNING ] || break; sleep 0.1
done
check "after kill -9 and a restart: the execution succeeded ($st)" [ "$st" = SUCCEEDED ]
# (The killed lambda-local's handler process outlives it, released above:
# it may record a "b" of its own, but never an "a".)
check "after kill -9 and a restart: step a ran once (its checkpoint survived)" \
  [ "$(grep -c '^a$' "$WORK/count9")" = 1 ]
stop_server

# A state directory that cannot be written: the checkpoint is not
# acknowledged (500 ServiceException), rather than acknowledged and lost.
mkdir -p "$WORK/state5"
serve --durable-time-scale 0.001 --durable-state-dir "$WORK/state5"
curl -s -o /dev/null -X POST -H 'X-Amz-Invocation-Type: Event' -H 'X-Amz-Durable-Execution-Name: unwritable' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/Durable/invocations" -d "{\"program\":[{\"hold\":\"$WORK/hold5\"}]}"
for _ in $(seq 600); do [ -f "$WORK/hold5.envelope" ] && break; sleep 0.1; done
rm -rf "$WORK/state5" && touch "$WORK/state5" # even root cannot write under a file
arn5=$(jq -r .DurableExecutionArn "$WORK/hold5.envelope")
code=$(curl -s -o /dev/null -D "$WORK/h5" -w '%{http_code}' -X POST \
  "http://127.0.0.1:$PORT/2025-12-01/durable-executions/$(jq -rn --arg a "$arn5" '$a|@uri')/checkpoint" \
  -d "{\"CheckpointToken\":\"$(jq -r .CheckpointToken "$WORK/hold5.envelope")\",\"Updates\":[{\"Id\":\"s\",\"Type\":\"STEP\",\"Action\":\"SUCCEED\"}]}")
check "an unwritable state directory: the checkpoint is 500 ServiceException, not acknowledged" \
  sh -c "[ $code = 500 ] && grep -qi 'x-amzn-ErrorType: ServiceException' '$WORK/h5'"
check "... and lambda-local says why" grep -q "durable: cannot write $WORK/state5/" "$WORK/server.err"
rm -f "$WORK/state5" && mkdir "$WORK/state5" && touch "$WORK/hold5.release"
stop_server

# Template functions with DurableConfig.
cat > "$WORK/template.yaml" <<'YAML'
Resources:
  Durable:
    Type: AWS::Serverless::Function
    Properties:
      Handler: handler
      Runtime: provided.al2023
      Timeout: 60
      DurableConfig: {}
  Limited:
    Type: AWS::Serverless::Function
    Properties:
      Handler: handler
      Runtime: provided.al2023
      Timeout: 60
      DurableConfig:
        ExecutionTimeout: 10000
YAML
start_server --template "$WORK/template.yaml" --bootstrap "$WORK/bootstrap" --durable-time-scale 0.001
if client config > "$WORK/config.out" 2>&1; then pass "durable config"; else fail "durable config"; fi
cat "$WORK/config.out"
stop_server

# Bad flags are refused.
if "$LAMBDA_LOCAL" start-lambda --durable-time-scale -1 --function X=x --bootstrap /bin/true 2>/dev/null; then
  fail "--durable-time-scale -1 accepted"
else
  pass "--durable-time-scale -1 refused"
fi
finish

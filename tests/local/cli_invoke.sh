#!/usr/bin/env bash
# The Invoke API through the AWS CLI: success, function error, unknown
# function, full/partial/qualified ARNs (the CLI URL-encodes them), Event,
# DryRun, payload validation, warm reuse, START/END/REPORT lines, and the
# RIE single-function path.
source "$(dirname "$0")/lib.sh"

# lambda-local's own default timeout (3 s): the context case checks it.
KEEP_DEFAULT_TIMEOUT=1 start_server --bootstrap "$TEST_BOOTSTRAP" --function Echo=echo --function Fail=fail \
  --function Ctx=context --function Sleep=sleep

invoke Echo '{"hello":"world","n":[1,2,3]}'
check "success: CLI exits 0" [ $? -eq 0 ]
check "success: StatusCode 200" [ "$(jget "$WORK/meta.json" .StatusCode)" = 200 ]
check "success: no FunctionError" [ "$(jget "$WORK/meta.json" '.FunctionError // "none"')" = none ]
check "success: payload echoed" [ "$(jq -c . "$WORK/out.json")" = '{"hello":"world","n":[1,2,3]}' ]

invoke Fail '{"errorType":"Report.Broken","errorMessage":"it broke"}'
check "function error: StatusCode 200" [ "$(jget "$WORK/meta.json" .StatusCode)" = 200 ]
check "function error: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "function error: errorType in body" [ "$(jget "$WORK/out.json" .errorType)" = Report.Broken ]
check "function error: errorMessage in body" [ "$(jget "$WORK/out.json" .errorMessage)" = "it broke" ]

rc=0; invoke NoSuchFunction '{}' || rc=$?
check "unknown function: CLI fails" [ "$rc" -ne 0 ]
check "unknown function: ResourceNotFoundException" grep -q 'ResourceNotFoundException' "$WORK/cli.err"
check "unknown function: message names the ARN" \
  grep -q 'Function not found: arn:aws:lambda:us-east-1:123456789012:function:NoSuchFunction' "$WORK/cli.err"

# The raw HTTP answer for an unknown function, as the real service gives it.
code=$(curl -s -o "$WORK/404.json" -D "$WORK/404.h" -w '%{http_code}' -X POST \
  --data '{}' "http://127.0.0.1:$PORT/2015-03-31/functions/Nope/invocations")
check "unknown function: HTTP 404" [ "$code" = 404 ]
check "unknown function: x-amzn-ErrorType header" grep -qi '^x-amzn-ErrorType: ResourceNotFoundException' "$WORK/404.h"
check "unknown function: JSON body" [ "$(jget "$WORK/404.json" .Type)" = User ]

invoke arn:aws:lambda:us-east-1:123456789012:function:Ctx '{}'
check "full ARN: invoked" [ "$(jget "$WORK/out.json" .function_name)" = Ctx ]
check "full ARN: runtime sees the ARN" \
  [ "$(jget "$WORK/out.json" .invoked_function_arn)" = arn:aws:lambda:us-east-1:123456789012:function:Ctx ]
stream1=$(jget "$WORK/out.json" .log_stream_name)
invoke 123456789012:function:Ctx '{}'
check "partial ARN: invoked" [ "$(jget "$WORK/out.json" .function_name)" = Ctx ]
stream2=$(jget "$WORK/out.json" .log_stream_name)
check "warm: the second invoke reuses the environment" [ "$stream1" = "$stream2" ]
invoke 'Ctx:$LATEST' '{}'
check "qualified name: ARN carries the qualifier" \
  [ "$(jget "$WORK/out.json" .invoked_function_arn)" = 'arn:aws:lambda:us-east-1:123456789012:function:Ctx:$LATEST' ]
rid=$(jget "$WORK/out.json" .request_id)
check "START line with the request id" grep -q "^START RequestId: $rid Version: \$LATEST" "$WORK/server.err"
check "END line" grep -q "^END RequestId: $rid\$" "$WORK/server.err"
check "REPORT line with duration and max memory" \
  grep -Eq "^REPORT RequestId: $rid	Duration: [0-9]+\.[0-9]{2} ms	Billed Duration: [0-9]+ ms	Memory Size: 128 MB	Max Memory Used: [1-9][0-9]* MB\$" "$WORK/server.err"
check "environment: Lambda's variables" [ "$(jq -r '.env | "\(.AWS_LAMBDA_FUNCTION_NAME) \(.AWS_LAMBDA_FUNCTION_VERSION) \(.AWS_LAMBDA_FUNCTION_MEMORY_SIZE) \(.AWS_REGION) \(._HANDLER) \(.AWS_LAMBDA_LOG_GROUP_NAME)"' "$WORK/out.json")" = 'Ctx $LATEST 128 us-east-1 context /aws/lambda/Ctx' ]
check "environment: LAMBDA_TASK_ROOT is the bootstrap's folder" \
  [ "$(jget "$WORK/out.json" .env.LAMBDA_TASK_ROOT)" = "$(dirname "$(realpath "$TEST_BOOTSTRAP")")" ]
check "environment: deadline about 3 s ahead" \
  [ "$(jget "$WORK/out.json" .remaining_ms)" -gt 1000 ] && [ "$(jget "$WORK/out.json" .remaining_ms)" -le 3000 ]

# Event: 202 at once, the function runs in the background and only its
# REPORT (about 1.5 s long) shows that it ran.
before=$(grep -c '^REPORT RequestId' "$WORK/server.err")
start=$(date +%s%N)
invoke Sleep '{"ms":1500}' --invocation-type Event
took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "Event: StatusCode 202" [ "$(jget "$WORK/meta.json" .StatusCode)" = 202 ]
ok=0
for _ in $(seq 150); do
  if [ "$(grep -c '^REPORT RequestId' "$WORK/server.err")" -gt "$before" ]; then ok=1; break; fi
  sleep 0.1
done
check "Event: the background invocation ran to its REPORT" [ "$ok" = 1 ]
dur=$(grep '^REPORT RequestId' "$WORK/server.err" | tail -1 | sed 's/.*Duration: \([0-9]*\)\..*Billed.*/\1/')
check "Event: it ran the 1.5 s sleep (REPORT says $dur ms, the CLI returned after $took_ms ms)" \
  [ "$dur" -ge 1450 ]

invoke Echo '{}' --invocation-type DryRun
check "DryRun: StatusCode 204" [ "$(jget "$WORK/meta.json" .StatusCode)" = 204 ]

code=$(curl -s -o "$WORK/bad.json" -D "$WORK/bad.h" -w '%{http_code}' -X POST --data 'not json' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/Echo/invocations")
check "payload that is not JSON: HTTP 400" [ "$code" = 400 ]
check "payload that is not JSON: InvalidRequestContentException" grep -qi 'x-amzn-ErrorType: InvalidRequestContentException' "$WORK/bad.h"

stop_server

# The RIE path serves the only function.
start_server --bootstrap "$TEST_BOOTSTRAP" --function Solo=echo
code=$(curl -s -o "$WORK/rie.json" -w '%{http_code}' -X POST --data '{"rie":true}' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/function/invocations")
check "RIE path: 200" [ "$code" = 200 ]
check "RIE path: payload echoed" [ "$(jq -c . "$WORK/rie.json")" = '{"rie":true}' ]
invoke function '{"via":"cli"}'
check "RIE path through the CLI" [ "$(jq -c . "$WORK/out.json")" = '{"via":"cli"}' ]
stop_server
finish

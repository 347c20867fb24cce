#!/usr/bin/env bash
# lambda-c's runtime behaviours, run against this emulator instead of the
# runtime tests' fake server: success, raw handler, handler errors (typed
# and untyped), an event that is not JSON (Runtime.InvalidEvent, sent with
# `lambda-local invoke` as the Invoke API only takes JSON), an unknown
# handler (init error Runtime.HandlerNotFound, every time in a fresh
# process), log records tagged with the request id (text and JSON), and the
# shutdown hook running on lambda-local's SIGTERM (its internal extension
# registering through the Extensions API).
source "$(dirname "$0")/lib.sh"

echo '{"Parameters": {"LAMBDA_TEST_SHUTDOWN_HOOK": "1"}}' > "$WORK/env.json"
start_server --bootstrap "$TEST_BOOTSTRAP" --env-vars "$WORK/env.json" \
  --function Echo=echo --function Raw=echo_raw --function Fail=fail \
  --function Ghost=no_such_handler --function Log=log

invoke Echo '{"deep":{"list":[1,"two",null,true]}}'
check "success: the JSON handler's result" [ "$(jq -c . "$WORK/out.json")" = '{"deep":{"list":[1,"two",null,true]}}' ]

invoke Raw '"exact bytes \u00e9"'
check "raw handler: the bytes come back unchanged" [ "$(cat "$WORK/out.json")" = '"exact bytes \u00e9"' ]

invoke Fail '{"errorType":"InvalidInput","errorMessage":"bad date 2024-13-01"}'
check "handler error: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "handler error: errorType/errorMessage" \
  [ "$(jq -r '"\(.errorType): \(.errorMessage)"' "$WORK/out.json")" = "InvalidInput: bad date 2024-13-01" ]
invoke Fail '{"errorType":"","errorMessage":"no type"}'
check "handler error without a type: Runtime.HandlerError" [ "$(jget "$WORK/out.json" .errorType)" = Runtime.HandlerError ]

invoke Ghost '{}'
check "unknown handler: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "unknown handler: init error Runtime.HandlerNotFound" [ "$(jget "$WORK/out.json" .errorType)" = Runtime.HandlerNotFound ]
invoke Ghost '{}'
check "unknown handler: again on the next invoke" [ "$(jget "$WORK/out.json" .errorType)" = Runtime.HandlerNotFound ]
check "unknown handler: two init failures logged" [ "$(grep -c 'INIT_REPORT.*Runtime.HandlerNotFound' "$WORK/server.err")" = 2 ]

invoke Log '{}'
rid=$(grep -o 'START RequestId: [0-9a-f-]*' "$WORK/server.err" | tail -1 | awk '{print $3}')
check "log records carry the request id" grep -Eq "	$rid	ERROR	test record at ERROR\$" "$WORK/server.err"

stop_server
check "shutdown hook ran on lambda-local's SIGTERM" grep -q 'lambda-test-bootstrap: shutdown hook ran' "$WORK/server.err"
check "the runtime's internal extension registered (Extensions API)" \
  bash -c "! grep -q 'could not register the internal extension' '$WORK/server.err'"

# An event that is not JSON reaches the runtime through `lambda-local invoke`.
printf 'this is not json' > "$WORK/bad-event"
rc=0
out=$(timeout 60 "$LAMBDA_LOCAL" invoke Echo -e "$WORK/bad-event" --bootstrap "$TEST_BOOTSTRAP" \
  --function Echo=echo 2> "$WORK/invoke.err") || rc=$?
check "invalid event: exit 1" [ "$rc" = 1 ]
check "invalid event: Runtime.InvalidEvent" [ "$(jq -r .errorType <<<"$out")" = Runtime.InvalidEvent ]

# JSON log format, as Lambda's LoggingConfig sets it.
echo '{"Parameters": {"AWS_LAMBDA_LOG_FORMAT": "JSON"}}' > "$WORK/json.env"
out=$(timeout 60 "$LAMBDA_LOCAL" invoke Log --bootstrap "$TEST_BOOTSTRAP" --function Log=log \
  --env-vars "$WORK/json.env" 2> "$WORK/json.err")
rid=$(grep -o 'START RequestId: [0-9a-f-]*' "$WORK/json.err" | awk '{print $3}')
check "JSON logs: one object per record with the request id" \
  [ "$(grep '^{' "$WORK/json.err" | jq -r "select(.level == \"WARN\") | .requestId")" = "$rid" ]
finish

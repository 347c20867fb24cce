#!/usr/bin/env bash
# The Runtime API's status codes and headers, driven by a curl-based
# runtime (fixtures/raw-bootstrap.sh) that sends what lambda-c's runtime
# never would: a wrong request id (400), a second answer (403), an init
# error after init (403), a response over 6291556 bytes (413, and the
# invoker gets Function.ResponseSizeTooLarge), and /runtime/init/error
# (202, the invoker gets the posted error).
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/mark"
echo "{\"Parameters\": {\"MARK_DIR\": \"$WORK/mark\"}}" > "$WORK/env.json"
start_server --bootstrap "$FIXTURES/raw-bootstrap.sh" --env-vars "$WORK/env.json" \
  --function Protocol=protocol --function Oversize=oversize --function InitError=initerror

cc=$(printf '{"custom":{"who":"test"}}' | base64 -w0)
invoke Protocol '{"x":1}' --client-context "$cc"
check "protocol: the right answer reaches the invoker" [ "$(jq -c . "$WORK/out.json")" = '{"x":1}' ]
read -r wrong right again init < "$WORK/mark/protocol.status"
check "wrong request id: 400 (got $wrong)" [ "$wrong" = 400 ]
check "right request id: 202 (got $right)" [ "$right" = 202 ]
check "second answer: 403 (got $again)" [ "$again" = 403 ]
check "init error after init: 403 (got $init)" [ "$init" = 403 ]
h=$(tr -d '\r' < "$WORK/mark/next.1.headers")
check "/next: 200" grep -q '^HTTP/1.1 200' <<<"$h"
check "/next: Lambda-Runtime-Aws-Request-Id" grep -Eqi '^Lambda-Runtime-Aws-Request-Id: [0-9a-f-]{36}$' <<<"$h"
check "/next: Lambda-Runtime-Deadline-Ms" grep -Eqi '^Lambda-Runtime-Deadline-Ms: [0-9]{13}$' <<<"$h"
check "/next: Lambda-Runtime-Invoked-Function-Arn" \
  grep -qi '^Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:Protocol$' <<<"$h"
check "/next: Lambda-Runtime-Trace-Id" grep -Eqi '^Lambda-Runtime-Trace-Id: Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$' <<<"$h"
check "/next: Lambda-Runtime-Client-Context (decoded)" \
  grep -qi '^Lambda-Runtime-Client-Context: {"custom":{"who":"test"}}$' <<<"$h"

invoke Oversize '{}'
check "oversized response: the runtime got 413" [ "$(cat "$WORK/mark/oversize.status")" = 413 ]
check "oversized response: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]
check "oversized response: Function.ResponseSizeTooLarge" [ "$(jget "$WORK/out.json" .errorType)" = Function.ResponseSizeTooLarge ]
invoke Oversize '{}'
check "after a 413 the environment serves the next invoke" [ "$(jget "$WORK/out.json" .errorType)" = Function.ResponseSizeTooLarge ]
check "...in the same environment" [ "$(ls "$WORK"/mark/next.*.headers | wc -l)" -ge 2 ]

invoke InitError '{}'
check "/runtime/init/error: 202" [ "$(cat "$WORK/mark/initerror.status")" = 202 ]
check "/runtime/init/error: the invoker gets the posted error" [ "$(jget "$WORK/out.json" .errorType)" = Raw.InitBroken ]
check "/runtime/init/error: FunctionError Unhandled" [ "$(jget "$WORK/meta.json" .FunctionError)" = Unhandled ]

stop_server
finish

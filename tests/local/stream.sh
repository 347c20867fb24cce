#!/usr/bin/env bash
# Response streaming through lambda-local with real clients: the AWS SDK for
# JavaScript v3 (InvokeWithResponseStreamCommand: event stream frames whose
# CRCs the SDK checks; InvokeCommand of a streaming function) and curl
# against Function URLs (chunked, status/headers/cookies from the prelude,
# a mid-stream error, the 200 MiB limit, AWS_IAM, BUFFERED, the 2.0 event).
# The function is lambda-test-stream-bootstrap (tests/runtime).
source "$(dirname "$0")/lib.sh"
: "${NODE:?path to node 24}"
: "${STREAM_BOOTSTRAP:?path to lambda-test-stream-bootstrap}"
client="$(dirname "$0")/stream_client.mjs"
LOCAL_NODE_MODULES=$(cd "$(dirname "$0")/../../local/node_modules" && pwd)
export LOCAL_NODE_MODULES
sdk() {
  if timeout 120 "$NODE" "$client" "$PORT" "$1" > "$WORK/sdk.out" 2>&1; then
    pass "SDK $1: $(tail -1 "$WORK/sdk.out")"
  else
    fail "SDK $1"; cat "$WORK/sdk.out" >&2
  fi
}

start_server --template "$FIXTURES/stream-template.yaml" --bootstrap "$STREAM_BOOTSTRAP"

# ---- InvokeWithResponseStream ----
for mode in chunks midstream before buffered tail limit disconnect; do sdk "$mode"; done
check "the disconnected stream's writer got an error" \
  grep -q 'stream write failed after' "$WORK/server.err"
sdk chunks # the environment is still usable after the disconnect
check "one environment served every invoke (no leak, no replacement)" \
  [ "$(grep -c 'Init Duration' "$WORK/server.err")" = 1 ]

# ---- Function URLs (curl) ----
url="http://127.0.0.1:$PORT/lambda-url"
curl -sS -N -D "$WORK/h" -o "$WORK/b" -w '%{time_starttransfer} %{time_total}' \
  -H 'Content-Type: application/json' --max-time 30 "$url/Stream/" \
  -d '{"chunks":3,"size":10,"sleep_ms":600,"http":{"statusCode":201,"headers":{"Content-Type":"text/csv","X-Test":"1"},"cookies":["a=b; Path=/","c=d"]}}' \
  > "$WORK/t"
tr -d '\r' < "$WORK/h" > "$WORK/headers"
check "status from the prelude" grep -q '^HTTP/1.1 201' "$WORK/headers"
check "headers from the prelude" grep -q '^Content-Type: text/csv$' "$WORK/headers"
check "X-Test from the prelude" grep -q '^X-Test: 1$' "$WORK/headers"
check "cookies as Set-Cookie" \
  [ "$(grep -c '^Set-Cookie: ' "$WORK/headers")" = 2 -a -n "$(grep '^Set-Cookie: a=b; Path=/$' "$WORK/headers")" ]
check "chunked" grep -qi '^Transfer-Encoding: chunked$' "$WORK/headers"
check "the body, byte for byte" [ "$(cat "$WORK/b")" = "abcdefghijklmnopqrstuvwxyzabcd" ]
read -r first total < "$WORK/t" || true # no newline at the end
check "first byte (${first}s) well before the end (${total}s)" \
  awk -v f="$first" -v t="$total" 'BEGIN { exit !(t - f >= 0.9) }'

rc=0
curl -sS -N -o "$WORK/b" -H 'Content-Type: application/json' --max-time 30 "$url/Stream/" \
  -d '{"chunks":3,"size":10,"fail_after":2,"content_type":"text/plain"}' 2> "$WORK/curl.err" || rc=$?
check "mid-stream error: the response is cut off (curl exit $rc = 18)" [ "$rc" = 18 ]
check "mid-stream error: the bytes before it arrived" [ "$(cat "$WORK/b")" = "abcdefghijklmnopqrst" ]
code=$(curl -sS -o "$WORK/b" -w '%{http_code}' -H 'Content-Type: application/json' \
  --max-time 30 "$url/Stream/" -d '{"fail_before":true}')
check "error before the first byte: 502 ($code)" [ "$code" = 502 ]
rc=0
bytes=$(curl -sS -N -H 'Content-Type: application/json' --max-time 60 "$url/Stream/" \
  -d '{"chunks":201,"size":1048576}' 2> "$WORK/curl.err" | wc -c) || true
grep -q '(18)' "$WORK/curl.err" || rc=1
check "over 200 MiB: $bytes bytes, then cut off" [ "$bytes" = 209715200 -a "$rc" = 0 ]

code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$url/StreamIam/" -d '{}')
check "AWS_IAM without a signature: 403 ($code)" [ "$code" = 403 ]
code=$(curl -sS -o "$WORK/b" -w '%{http_code}' --max-time 30 --aws-sigv4 "aws:amz:us-east-1:lambda" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H 'Content-Type: application/json' \
  "$url/StreamIam/" -d '{"chunks":1,"size":3}')
check "AWS_IAM, SigV4-signed: 200 ($code)" [ "$code" = 200 -a "$(cat "$WORK/b")" = abc ]
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$url/NoUrl/")
check "a function without FunctionUrlConfig: 404 ($code)" [ "$code" = 404 ]

curl -sS -D "$WORK/h" -o "$WORK/b" -H 'Content-Type: application/json' --max-time 30 \
  "$url/Buffered/x" -d '{"chunks":2,"size":3,"http":{"statusCode":202,"headers":{"X-B":"2"},"cookies":["q=1"]}}'
tr -d '\r' < "$WORK/h" > "$WORK/headers"
check "BUFFERED URL of a streaming function: status, headers, cookie, body" \
  grep -q '^HTTP/1.1 202' "$WORK/headers"
check "BUFFERED: not chunked, X-B, Set-Cookie, body" \
  [ -z "$(grep -i '^Transfer-Encoding' "$WORK/headers")" -a -n "$(grep '^X-B: 2$' "$WORK/headers")" \
    -a -n "$(grep '^Set-Cookie: q=1$' "$WORK/headers")" -a "$(cat "$WORK/b")" = abcdef ]

# The payload format 2.0 event the function gets.
curl -sS -o "$WORK/event.json" -H 'Content-Type: application/json' -H 'Cookie: k=v; k2=v2' \
  -H 'X-Multi: 1' -H 'X-Multi: 2' --max-time 30 "$url/Stream/some/path?b=2&a=x%20y&b=3" \
  -d '{"echo_event":true}'
ev="$WORK/event.json"
check "2.0: version, routeKey" [ "$(jget "$ev" '.version + " " + .routeKey')" = '2.0 $default' ]
check "2.0: rawPath" [ "$(jget "$ev" .rawPath)" = /some/path ]
check "2.0: rawQueryString" [ "$(jget "$ev" .rawQueryString)" = 'b=2&a=x%20y&b=3' ]
check "2.0: queryStringParameters (repeats joined)" \
  [ "$(jget "$ev" '.queryStringParameters | "\(.a)|\(.b)"')" = 'x y|2,3' ]
check "2.0: cookies apart" [ "$(jget "$ev" '.cookies | join(",")')" = 'k=v,k2=v2' ]
check "2.0: lower-case headers, repeats joined" [ "$(jget "$ev" '.headers["x-multi"]')" = '1,2' ]
check "2.0: requestContext.http" \
  [ "$(jget "$ev" '.requestContext.http | "\(.method) \(.path) \(.sourceIp)"')" = 'POST /some/path 127.0.0.1' ]
check "2.0: body as text" [ "$(jget "$ev" '"\(.body) \(.isBase64Encoded)"')" = '{"echo_event":true} false' ]
printf '\x00\x01\xff' > "$WORK/bin"
curl -sS -o "$ev" -H 'Content-Type: application/octet-stream' --max-time 30 \
  --data-binary @"$WORK/bin" "$url/Stream/echo"
check "2.0: a binary body is base64 ($(jget "$ev" .body))" \
  [ "$(jget "$ev" '"\(.body) \(.isBase64Encoded)"')" = 'AAH/ true' ]

stop_server
finish

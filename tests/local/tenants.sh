#!/usr/bin/env bash
# Tenant isolation end to end: X-Amz-Tenant-Id on Invoke reaches the handler
# as ctx->tenant_id (lambda-test-bootstrap's context handler, through the
# runtime's Lambda-Runtime-Aws-Tenant-Id); an environment serves one tenant
# only — two tenants never share one, an invoke without a tenant never
# reuses a tenant's, a tenant's next invoke reuses its own warm one; when
# every slot is taken an idle environment of another tenant is stopped to
# make room; TenancyConfig PER_TENANT requires the id, a function without
# TenancyConfig refuses it (400 InvalidParameterValueException).
source "$(dirname "$0")/lib.sh"

# ctx [TENANT]: invokes Ctx (curl), the context JSON in $WORK/b.
ctx() {
  local name=${FN:-Ctx}
  curl -sS -o "$WORK/b" -w '%{http_code}' --max-time 60 ${1:+-H "X-Amz-Tenant-Id: $1"} \
    "http://127.0.0.1:$PORT/2015-03-31/functions/$name/invocations" -d '{}'
}
# The environment that ran the last invoke: its log stream is unique per
# environment; the host pid of its bootstrap comes from /proc.
stream() { jget "$WORK/b" .log_stream_name; }
# pid STREAM: the host pid of the bootstrap with that log stream (from its
# environment, in /proc; the kernel's name for it is cut to 15 characters).
pid() {
  local p
  for p in $(pgrep -x "$(basename "$TEST_BOOTSTRAP" | cut -c1-15)"); do
    if grep -qzxF "AWS_LAMBDA_LOG_STREAM_NAME=$1" "/proc/$p/environ" 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
}

start_server --bootstrap "$TEST_BOOTSTRAP" --function Ctx=context --max-concurrency 3
ctx blue > /dev/null
check "blue: ctx->tenant_id is blue" [ "$(jget "$WORK/b" .tenant_id)" = blue ]
blue=$(stream)
ctx green > /dev/null
check "green: ctx->tenant_id is green" [ "$(jget "$WORK/b" .tenant_id)" = green ]
green=$(stream)
check "blue and green: different environments" [ "$blue" != "$green" ]
ctx > /dev/null
check "no tenant: ctx->tenant_id is null" [ "$(jget "$WORK/b" .tenant_id)" = null ]
none=$(stream)
check "no tenant: an environment of its own" [ "$none" != "$blue" -a "$none" != "$green" ]
ctx blue > /dev/null
check "blue again: blue's warm environment" [ "$(stream)" = "$blue" ]
ctx > /dev/null
check "no tenant again: the tenant-less environment" [ "$(stream)" = "$none" ]
pids="$(pid "$blue") $(pid "$green") $(pid "$none")"
echo "bootstrap pids: blue $(pid "$blue"), green $(pid "$green"), none $(pid "$none")"
check "three environments, three bootstrap processes ($pids)" \
  [ "$(grep -c 'Init Duration' "$WORK/server.err")" = 3 -a \
    "$(echo "$pids" | tr ' ' '\n' | grep -c .)" = 3 -a "$(echo "$pids" | tr ' ' '\n' | sort -u | grep -c .)" = 3 ]

# Every slot (3) is taken by an idle environment: a fourth tenant gets one
# (an idle one is stopped for it) instead of waiting forever.
code=$(ctx 'red:tenant/1=a+b@c d')
check "a fourth tenant at the limit is served ($code)" \
  [ "$code" = 200 -a "$(jget "$WORK/b" .tenant_id)" = 'red:tenant/1=a+b@c d' ]
red=$(stream)
check "red: a new environment" [ "$red" != "$blue" -a "$red" != "$green" -a "$red" != "$none" ]
check "an idle environment was stopped to make room" grep -q 'stopped to make room' "$WORK/server.err"

# Two tenants at once: each in its own environment, both served.
curl -sS -o "$WORK/p1" --max-time 60 -H 'X-Amz-Tenant-Id: blue' \
  "http://127.0.0.1:$PORT/2015-03-31/functions/Ctx/invocations" -d '{}' &
p1=$!
ctx green > /dev/null
wait "$p1"
check "overlapping blue and green: each got its own tenant" \
  [ "$(jget "$WORK/p1" .tenant_id)" = blue -a "$(jget "$WORK/b" .tenant_id)" = green ]
check "overlapping blue and green: different environments" \
  [ "$(jget "$WORK/p1" .log_stream_name)" != "$(jget "$WORK/b" .log_stream_name)" ]

curl -sS -o "$WORK/es" --max-time 60 -H 'X-Amz-Tenant-Id: blue' \
  "http://127.0.0.1:$PORT/2021-11-15/functions/Ctx/response-streaming-invocations" -d '{}'
check "InvokeWithResponseStream with X-Amz-Tenant-Id: ctx->tenant_id" \
  grep -aq '"tenant_id":"blue"' "$WORK/es"
code=$(ctx "$(printf 'x%.0s' $(seq 257))")
check "a 257-character tenant id: 400 ($code)" [ "$code" = 400 ]
code=$(ctx 'semi;colon')
check "a tenant id with ';': 400 InvalidParameterValueException ($code)" \
  [ "$code" = 400 ] && grep -q 'X-Amz-Tenant-Id must be' "$WORK/b"
stop_server

# TenancyConfig from the template, as Lambda enforces it.
start_server --template "$FIXTURES/tenant-template.yaml" --bootstrap "$TEST_BOOTSTRAP"
code=$(FN=Tenanted ctx acme)
check "PER_TENANT with a tenant: 200 and ctx->tenant_id ($code)" \
  [ "$code" = 200 -a "$(jget "$WORK/b" .tenant_id)" = acme ]
code=$(FN=Tenanted ctx)
check "PER_TENANT without a tenant: 400 ($code)" [ "$code" = 400 ] && grep -q 'is required' "$WORK/b"
code=$(FN=Plain ctx acme)
check "no TenancyConfig, with a tenant: 400 ($code)" [ "$code" = 400 ] && grep -q 'not allowed' "$WORK/b"
code=$(FN=Plain ctx)
check "no TenancyConfig, no tenant: 200 ($code)" [ "$code" = 200 ]
stop_server
finish

#!/usr/bin/env bash
# The AWS SDK for JavaScript v3 against lambda-local: the basic contract,
# then concurrency: 4 overlapping 1 s invokes run in parallel environments
# (finish in well under 4 s), and with --max-concurrency 2 the extra ones
# queue (take at least 2 s) and still all succeed.
source "$(dirname "$0")/lib.sh"
: "${NODE:?path to node 24}"
client="$(dirname "$0")/sdk_client.mjs"
LOCAL_NODE_MODULES=$(cd "$(dirname "$0")/../../local/node_modules" && pwd)
export LOCAL_NODE_MODULES
run_node() { timeout 120 "$NODE" "$client" "$@"; }

start_server --bootstrap "$TEST_BOOTSTRAP" --timeout 2 \
  --function Echo=echo --function Fail=fail --function Sleep=sleep --function Crash=crash
if run_node "$PORT" basics > "$WORK/basics.out" 2>&1; then pass "SDK basics"; else fail "SDK basics"; fi
cat "$WORK/basics.out"
stop_server

# Long timeouts from here: 4 cold starts at once on a busy 2-core machine
# must not time out (init time counts against the timeout).
start_server --bootstrap "$TEST_BOOTSTRAP" --timeout 30 --max-concurrency 4 --function Sleep=sleep

cold_before=$(grep -c 'Init Duration' "$WORK/server.err" || true)
ms=$(run_node "$PORT" overlap 4) || { fail "overlap run failed"; ms=99999; }
check "4 overlapping 1 s invokes in parallel: $ms ms < 3000 ms" [ "$ms" -lt 3000 ]
cold_after=$(grep -c 'Init Duration' "$WORK/server.err")
check "4 environments were started for them ($((cold_after - cold_before)))" \
  [ "$((cold_after - cold_before))" = 4 ]
ms=$(run_node "$PORT" overlap 4) || { fail "warm overlap run failed"; ms=99999; }
check "again, warm: $ms ms < 3000 ms" [ "$ms" -lt 3000 ]
stop_server

start_server --bootstrap "$TEST_BOOTSTRAP" --timeout 30 --max-concurrency 2 --function Sleep=sleep
ms=$(run_node "$PORT" overlap 4) || { fail "queued run failed"; ms=0; }
check "--max-concurrency 2: 4 invokes queue ($ms ms >= 1900 ms) and all succeed" [ "$ms" -ge 1900 ]
check "--max-concurrency 2: only 2 environments" [ "$(grep -c 'Init Duration' "$WORK/server.err")" = 2 ]
stop_server
finish

#!/usr/bin/env bash
# The AWS SDK for JavaScript v3 against lambda-local: the basic contract,
# then concurrency: 4 overlapping invokes run at once in 4 environments
# (proved by the rendezvous handler, which succeeds only when all 4 ran at
# the same time: no wall-clock total, which a loaded machine stretches), and
# with --max-concurrency 2 four 1 s invokes queue (take at least 2 s) and
# still all succeed.
source "$(dirname "$0")/lib.sh"
: "${NODE:?path to node 24}"
client="$(dirname "$0")/sdk_client.mjs"
LOCAL_NODE_MODULES=$(cd "$(dirname "$0")/../../local/node_modules" && pwd)
export LOCAL_NODE_MODULES
run_node() { timeout 120 "$NODE" "$client" "$@"; }

start_server --bootstrap "$TEST_BOOTSTRAP" --function Echo=echo --function Fail=fail --function Crash=crash
if run_node "$PORT" basics > "$WORK/basics.out" 2>&1; then pass "SDK basics"; else fail "SDK basics"; fi
cat "$WORK/basics.out"
stop_server
# The timeout on a server of its own: under a 2 s timeout, which init counts
# against, the other functions' cold starts timed out under ASan on a loaded
# machine (3.2 s of init seen).
start_server --bootstrap "$TEST_BOOTSTRAP" --timeout 2 --function Sleep=sleep
if run_node "$PORT" timeout; then pass "SDK timeout"; else fail "SDK timeout"; fi
stop_server

# Long timeouts from here: 4 cold starts at once on a busy 2-core machine
# must not time out (init time counts against the timeout), and the
# rendezvous waits up to the timeout for the others to arrive.
start_server --bootstrap "$TEST_BOOTSTRAP" --timeout 30 --max-concurrency 4 --function Meet=rendezvous

mkdir "$WORK/meet.cold" "$WORK/meet.warm"
if run_node "$PORT" meet 4 "$WORK/meet.cold"; then pass "4 overlapping invokes ran at once"
else fail "4 overlapping invokes did not all run at once"; fi
cold=$(grep -c 'Init Duration' "$WORK/server.err" || true)
check "4 environments were started for them ($cold)" [ "$cold" = 4 ]
if run_node "$PORT" meet 4 "$WORK/meet.warm"; then pass "again, warm: ran at once"
else fail "warm: 4 overlapping invokes did not all run at once"; fi
check "the 4 warm environments served them (no new cold start)" \
  [ "$(grep -c 'Init Duration' "$WORK/server.err")" = 4 ]
stop_server

start_server --bootstrap "$TEST_BOOTSTRAP" --timeout 30 --max-concurrency 2 --function Sleep=sleep
ms=$(run_node "$PORT" overlap 4) || { fail "queued run failed"; ms=0; }
check "--max-concurrency 2: 4 invokes queue ($ms ms >= 1900 ms) and all succeed" [ "$ms" -ge 1900 ]
check "--max-concurrency 2: only 2 environments" [ "$(grep -c 'Init Duration' "$WORK/server.err")" = 2 ]
stop_server
finish

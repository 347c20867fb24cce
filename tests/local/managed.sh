#!/usr/bin/env bash
# Lambda Managed Instances mode: an environment whose
# AWS_LAMBDA_MAX_CONCURRENCY is N (--per-environment-concurrency, or the
# template's PerExecutionEnvironmentMaxConcurrency) gets up to N invocations
# at once, in one process: lambda-c's runtime polls /next from N worker
# threads. With --max-concurrency 1 (one environment), N overlapping invokes
# all start before any ends; the N+1th waits for a free worker (no second
# environment). A timeout resets the environment: what else ran there fails.
source "$(dirname "$0")/lib.sh"

url() { echo "http://127.0.0.1:$PORT/2015-03-31/functions/$1/invocations"; }
# overlap COUNT MS: COUNT invokes of Slow at once; bodies in $WORK/o.<i>,
# statuses in $WORK/s.<i>; the START/END lines they caused in $WORK/events.
overlap() {
  local n=$1 ms=$2 pids=() i
  local before; before=$(wc -l < "$WORK/server.err")
  for i in $(seq "$n"); do
    curl -sS -o "$WORK/o.$i" -w '%{http_code}' --max-time 60 "$(url Slow)" \
      -d "{\"ms\":$ms,\"k\":$i}" > "$WORK/s.$i" &
    pids+=($!)
  done
  wait "${pids[@]}"
  tail -n +"$((before + 1))" "$WORK/server.err" | grep -o '^\(START\|END\) ' | tr -d ' ' \
    | tr '\n' ' ' > "$WORK/events"
}
# all_ok COUNT: every invoke answered 200 with its own event back.
all_ok() {
  local i
  for i in $(seq "$1"); do
    [ "$(cat "$WORK/s.$i")" = 200 ] && [ "$(jget "$WORK/o.$i" .k)" = "$i" ] || return 1
  done
}

start_server --bootstrap "$TEST_BOOTSTRAP" --function Slow=sleep --function Ctx=context \
  --per-environment-concurrency 4 --max-concurrency 1 --timeout 4
curl -sS -o "$WORK/b" --max-time 60 "$(url Ctx)" -d '{}'
check "AWS_LAMBDA_MAX_CONCURRENCY=4 in the environment" \
  [ "$(jget "$WORK/b" '.env.AWS_LAMBDA_MAX_CONCURRENCY')" = 4 ]
curl -sS -o /dev/null --max-time 60 "$(url Slow)" -d '{"ms":0}' # cold start

overlap 4 2500
echo "4 overlapping invokes: $(cat "$WORK/events")"
check "4 overlapping invokes: all answered" all_ok 4
check "4 overlapping invokes: all four started before any ended" \
  [ "$(cat "$WORK/events")" = "START START START START END END END END " ]
check "one environment for Slow (two cold starts in all)" \
  [ "$(grep -c 'Init Duration' "$WORK/server.err")" = 2 ]

overlap 5 2500
echo "5 overlapping invokes: $(cat "$WORK/events")"
check "5 overlapping invokes: all answered" all_ok 5
check "the fifth waited for a free worker (4 STARTs, then an END before the fifth START)" \
  [ "$(cut -d' ' -f1-5 "$WORK/events")" = "START START START START END" ]
check "still one environment for Slow" [ "$(grep -c 'Init Duration' "$WORK/server.err")" = 2 ]

# A timeout resets the environment: the invocation running beside it fails.
curl -sS -o "$WORK/t1" --max-time 60 "$(url Slow)" -d '{"ms":10000}' &
t1=$!
sleep 1
curl -sS -o "$WORK/t2" --max-time 60 "$(url Slow)" -d '{"ms":3500}'
wait "$t1"
check "the slow one: Sandbox.Timedout" [ "$(jget "$WORK/t1" .errorType)" = Sandbox.Timedout ]
check "the one beside it: Runtime.ExitError" [ "$(jget "$WORK/t2" .errorType)" = Runtime.ExitError ]
curl -sS -o "$WORK/b" --max-time 60 "$(url Slow)" -d '{"ms":1,"k":9}'
check "then a fresh environment serves" [ "$(jget "$WORK/b" .k)" = 9 ]
stop_server

start_server --template "$FIXTURES/managed-template.yaml" --bootstrap "$TEST_BOOTSTRAP"
curl -sS -o "$WORK/b" --max-time 60 "$(url Managed)" -d '{}'
check "PerExecutionEnvironmentMaxConcurrency 3: AWS_LAMBDA_MAX_CONCURRENCY=3" \
  [ "$(jget "$WORK/b" '.env.AWS_LAMBDA_MAX_CONCURRENCY')" = 3 ]
stop_server
finish

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
# overlap COUNT: COUNT invokes of Meet at once, each waiting until 4 have
# arrived (the rendezvous handler: no timing, so a loaded machine that starts
# the curls late changes nothing); bodies in $WORK/o.<i>, statuses in
# $WORK/s.<i>; the START/END lines they caused in $WORK/events.
overlap() {
  local n=$1 pids=() i dir
  dir=$(mktemp -d "$WORK/meet.XXXXXX")
  local before; before=$(wc -l < "$WORK/server.err")
  for i in $(seq "$n"); do
    curl -sS -o "$WORK/o.$i" -w '%{http_code}' --max-time 60 "$(url Meet)" \
      -d "{\"dir\":\"$dir\",\"n\":4,\"k\":$i}" > "$WORK/s.$i" &
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
# started N: waits (up to 30 s) until lambda-local has logged N START lines.
started() {
  local _
  for _ in $(seq 300); do
    [ "$(grep -c '^START ' "$WORK/server.err")" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

# A long timeout here: the rendezvous waits for all four, however late the
# curls start.
start_server --bootstrap "$TEST_BOOTSTRAP" --function Meet=rendezvous --function Ctx=context \
  --per-environment-concurrency 4 --max-concurrency 1 --timeout 60
curl -sS -o "$WORK/b" --max-time 60 "$(url Ctx)" -d '{}'
check "AWS_LAMBDA_MAX_CONCURRENCY=4 in the environment" \
  [ "$(jget "$WORK/b" '.env.AWS_LAMBDA_MAX_CONCURRENCY')" = 4 ]
mkdir "$WORK/cold"
curl -sS -o /dev/null --max-time 60 "$(url Meet)" -d "{\"dir\":\"$WORK/cold\",\"n\":1}" # cold start

overlap 4
echo "4 overlapping invokes: $(cat "$WORK/events")"
check "4 overlapping invokes: all answered (so all four ran at once)" all_ok 4
check "4 overlapping invokes: all four started before any ended" \
  [ "$(cat "$WORK/events")" = "START START START START END END END END " ]
check "one environment for Meet (two cold starts in all)" \
  [ "$(grep -c 'Init Duration' "$WORK/server.err")" = 2 ]

overlap 5
echo "5 overlapping invokes: $(cat "$WORK/events")"
check "5 overlapping invokes: all answered" all_ok 5
check "the fifth waited for a free worker (4 STARTs, then an END before the fifth START)" \
  [ "$(cut -d' ' -f1-5 "$WORK/events")" = "START START START START END" ]
check "still one environment for Meet" [ "$(grep -c 'Init Duration' "$WORK/server.err")" = 2 ]
stop_server

# A timeout resets the environment: the invocation running beside it fails.
# The second starts once lambda-local has logged the first's START (not
# after a fixed delay, which a loaded machine can outlast): both then run
# until the first's 4 s timeout resets the environment.
start_server --bootstrap "$TEST_BOOTSTRAP" --function Slow=sleep \
  --per-environment-concurrency 4 --max-concurrency 1 --timeout 4
curl -sS -o /dev/null --max-time 60 "$(url Slow)" -d '{"ms":0}' # cold start
curl -sS -o "$WORK/t1" --max-time 60 "$(url Slow)" -d '{"ms":10000}' &
t1=$!
started 2 || fail "the first slow invoke did not start within 30 s"
curl -sS -o "$WORK/t2" --max-time 60 "$(url Slow)" -d '{"ms":10000}'
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

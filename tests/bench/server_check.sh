#!/usr/bin/env bash
# The benchmark's own instruments, through their real interfaces: the bench
# Runtime API server counts what a runtime does and refuses to report a
# figure when the runtime misbehaves; the bare client and the invoke client
# do their loop. No timing is checked.
#   server_check.sh BENCH_DIR [TEST_BOOTSTRAP]
set -uo pipefail
dir=$1 echo_bootstrap=${2:-}
bs="$dir/lambda-bench-server" bare="$dir/lambda-bench-bare-client"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail() { echo "server_check: FAIL: $*" >&2; exit 1; }
kv() { sed -n "s/^$1=//p" "$2" | head -1; }

# 1. A full loop: exactly N responses counted, each equal to the event.
"$bs" --timeout 60 --invocations 50 --expect '{"hello":"world"}' -- "$bare" >"$work/a" \
  || fail "bare loop of 50 failed"
[ "$(kv invocations "$work/a")" = 50 ] || fail "expected invocations=50: $(cat "$work/a")"
[ "$(kv mismatches "$work/a")" = 0 ] || fail "the bare client echoes the event: mismatches must be 0"
[ "$(kv errors "$work/a")" = 0 ] || fail "errors must be 0"
for k in rate wall_s server_cpu_pct child_cpu_s hwm_kb; do
  [ -n "$(kv $k "$work/a")" ] || fail "no $k in the output"
done

# 2. A different expected body is counted as a mismatch (the check is real).
"$bs" --timeout 60 --invocations 5 --expect '{"other":1}' -- "$bare" >"$work/b" \
  || fail "bare loop of 5 failed"
[ "$(kv mismatches "$work/b")" = 5 ] || fail "expected 5 mismatches: $(cat "$work/b")"

# 3. A runtime that stops early is a failure, with the reason, not a figure.
if "$bs" --timeout 60 --invocations 20 -- "$bare" --max 3 >"$work/c" 2>"$work/c.err"; then
  fail "a client that stops after 3 of 20 must fail the run"
fi
grep -q "stopped after 3 of 20 responses (exit status 0)" "$work/c.err" \
  || fail "unclear reason: $(cat "$work/c.err")"

# 4. Two clients share the count; the server's own event file is served.
printf '{"big":"%s"}\n' "$(head -c 3000 /dev/zero | tr '\0' x)" >"$work/ev.json"
"$bs" --timeout 60 --invocations 40 --clients 2 --event-file "$work/ev.json" \
  --save-response "$work/resp" -- "$bare" >"$work/d" || fail "two clients failed"
[ "$(kv clients "$work/d")" = 2 ] && [ "$(kv invocations "$work/d")" = 40 ] \
  || fail "two clients: $(cat "$work/d")"
cmp -s <(head -c -1 "$work/ev.json" ) "$work/resp" || fail "saved response differs from the event file"

# 4b. --event-seq: every TOKEN in the event becomes the invocation's number,
#     zero-padded to TOKEN's width (bench/run.sh: a report part under a key
#     no earlier invocation wrote). The bare client echoes its event: of 3
#     invocations only the first equals the first event, and the last
#     response is the third event, every TOKEN replaced.
printf '{"reportId":"r-@@@","part":"x@@@y","keep":"@@"}\n' >"$work/seq.json"
"$bs" --timeout 60 --invocations 3 --event-file "$work/seq.json" --event-seq @@@ \
  --expect '{"reportId":"r-001","part":"x001y","keep":"@@"}' --save-response "$work/seq.out" \
  -- "$bare" >"$work/sq" || fail "--event-seq run failed"
[ "$(kv mismatches "$work/sq")" = 2 ] || fail "--event-seq: invocations 2 and 3 must differ from 1: $(cat "$work/sq")"
[ "$(cat "$work/seq.out")" = '{"reportId":"r-003","part":"x003y","keep":"@@"}' ] ||
  fail "--event-seq: the third event: $(cat "$work/seq.out")"
# A TOKEN the event does not hold, or too short to number the invocations,
# is refused before anything runs (every event the same, or a cut number).
if "$bs" --timeout 60 --invocations 3 --event-file "$work/seq.json" --event-seq '#SEQ#' \
     -- "$bare" >/dev/null 2>"$work/sq.err"; then
  fail "--event-seq with a TOKEN absent from the event must fail"
fi
grep -q "does not contain it" "$work/sq.err" || fail "unclear refusal: $(cat "$work/sq.err")"
if "$bs" --timeout 60 --invocations 9 --event-file "$work/seq.json" --event-seq @ \
     -- "$bare" >/dev/null 2>"$work/sq.err"; then
  fail "--event-seq with a one-digit TOKEN for 9 invocations must fail"
fi
grep -q "1 character(s) cannot number 10 events" "$work/sq.err" || fail "unclear refusal: $(cat "$work/sq.err")"

# 5. Cold-start mode gives one sample per start, with the page faults, CPU
#    time and RSS the runtime had used by its first /next (read while it
#    waits for the answer: a live process has faulted at least its first
#    page, and its RSS is not 0); a program that never polls /next times out
#    cleanly within the bound.
"$bs" --timeout 30 --cold-start 3 -- "$bare" >"$work/e" || fail "cold start of the bare client failed"
[ "$(grep -c '^sample_us=' "$work/e")" = 3 ] || fail "expected 3 samples: $(cat "$work/e")"
for key in sample_minflt sample_cpu_us sample_rss_kb sample_pte_kb; do
  [ "$(grep -cE "^$key=[1-9][0-9.]*$" "$work/e")" = 3 ] \
    || fail "expected 3 positive $key figures: $(cat "$work/e")"
done
if "$bs" --timeout 1 --cold-start 1 -- sleep 5 >/dev/null 2>"$work/f.err"; then
  fail "a program that never calls /next must fail"
fi
grep -q "timeout after 1 s" "$work/f.err" || fail "no timeout reason: $(cat "$work/f.err")"
if [ -x "$dir/lambda-bench-floor" ]; then
  "$bs" --floor 3 -- "$dir/lambda-bench-floor" >"$work/g" || fail "floor runs failed"
  [ "$(grep -c '^sample_us=' "$work/g")" = 3 ] || fail "expected 3 floor samples"
  [ "$(grep -cE '^sample_minflt=[1-9][0-9]*$' "$work/g")" = 3 ] \
    || fail "expected 3 floor page-fault figures: $(cat "$work/g")"
fi

# 6. The real echo runtime: memory checkpoint read, no errors, no mismatch;
#    an init error (no _HANDLER) is reported as such.
if [ -n "$echo_bootstrap" ] && [ -x "$echo_bootstrap" ]; then
  _HANDLER=echo "$bs" --timeout 60 --invocations 30 --checkpoint 10 --expect '{"hello":"world"}' \
    -- "$echo_bootstrap" >"$work/h" 2>/dev/null || fail "echo runtime run failed"
  [ "$(kv mismatches "$work/h")" = 0 ] || fail "echo mismatches: $(cat "$work/h")"
  [ "$(kv rss_kb_at_checkpoint "$work/h")" -gt 0 ] || fail "no RSS at the checkpoint"
  # The steady window (checkpoint -> last response): 20 invocations, a CPU
  # time per invocation above 0 and within the whole process's, figures for
  # faults and context switches.
  [ "$(kv steady_invocations "$work/h")" = 20 ] || fail "steady window: $(cat "$work/h")"
  for k in steady_cpu_us steady_user_us steady_sys_us steady_minflt steady_nvcsw steady_nivcsw; do
    [[ "$(kv $k "$work/h")" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "$k is not a figure: $(cat "$work/h")"
  done
  awk -v s="$(kv steady_cpu_us "$work/h")" -v c="$(kv child_cpu_s "$work/h")" 'BEGIN {
    if (s <= 0 || s * 20 / 1e6 > c + 1e-4) { print "steady CPU " s " us x 20 vs process " c " s"; exit 1 }
  }' >"$work/h.why" || fail "$(cat "$work/h.why")"
  if env -u _HANDLER "$bs" --timeout 30 --invocations 5 -- "$echo_bootstrap" \
       >/dev/null 2>"$work/i.err"; then
    fail "a runtime without _HANDLER must fail the run"
  fi
  grep -q "(init error)" "$work/i.err" || fail "init error not reported: $(cat "$work/i.err")"
fi

# 7. Per-invocation figures (bench/run.sh's warm runs): one value per
#    invocation for each figure; the walls and the server's bookkeeping left
#    out of them (book_s) add up to the run's wall (they run from one answer
#    to the next response), and the invocations' CPU is a part of the whole
#    process's; only one client can be watched.
"$bs" --timeout 60 --invocations 6 --per-invocation -- "$bare" >"$work/p" \
  || fail "per-invocation run failed"
for k in inv_wall_s inv_cpu_s inv_sys_s inv_minflt inv_majflt inv_hwm_kb inv_csw inv_nvcsw \
  inv_nivcsw; do
  read -ra v <<<"$(kv $k "$work/p")"
  [ "${#v[@]}" = 6 ] || fail "$k: expected 6 values: $(cat "$work/p")"
  for x in "${v[@]}"; do
    [[ "$x" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "$k: '$x' is not a figure: $(cat "$work/p")"
  done
done
read -ra hwm <<<"$(kv inv_hwm_kb "$work/p")"
for x in "${hwm[@]}"; do [ "$x" -gt 0 ] || fail "inv_hwm_kb: a peak RSS of 0: $(cat "$work/p")"; done
[[ "$(kv hwm_per_invocation "$work/p")" =~ ^[01]$ ]] || fail "no hwm_per_invocation"
awk -v w="$(kv wall_s "$work/p")" -v c="$(kv child_cpu_s "$work/p")" \
    -v ws="$(kv inv_wall_s "$work/p")" -v cs="$(kv inv_cpu_s "$work/p")" \
    -v bk="$(kv book_s "$work/p")" 'BEGIN {
  n = split(ws, a, " "); split(cs, b, " "); sw = 0; sc = 0
  for (i = 1; i <= n; i++) { sw += a[i]; sc += b[i] }
  if (bk == "" || bk <= 0 || bk >= w) { print "book_s " bk " s: not within the run (" w " s)"; exit 1 }
  d = sw + bk - w; if (d < 0) d = -d
  if (d > 1e-5) { print "invocation walls " sw " s and bookkeeping " bk " s, the run took " w " s"; exit 1 }
  if (sc > c + 1e-4) { print "invocation CPU " sc " s exceeds the process CPU " c " s"; exit 1 }
}' >"$work/p.why" || fail "$(cat "$work/p.why")"
s=$(kv start_ns "$work/p") e=$(kv end_ns "$work/p")
[ -n "$s" ] && [ -n "$e" ] && [ "$e" -ge "$s" ] || fail "start_ns/end_ns: $(cat "$work/p")"
if "$bs" --timeout 60 --invocations 6 --clients 2 --per-invocation -- "$bare" >/dev/null \
     2>"$work/p.err"; then
  fail "--per-invocation with two clients must be refused"
fi
grep -q "one client" "$work/p.err" || fail "unclear refusal: $(cat "$work/p.err")"

# 7b. Context switches per invocation, in threads that exit within it: the
#     bare client with 3 threads that each sleep 1 ms 4 times per invocation
#     (each sleep is at least one voluntary switch). With perf counters
#     (csw_every_thread=1; refused by perf_event_paranoid or seccomp, e.g. in
#     a container) every invocation shows >= 12 and the live threads' share
#     is a part of it; the invocations add up to no more than the whole
#     life's count, which agrees with the kernel's own (wait4: voluntary +
#     involuntary). Without perf (--csw-from-tasks forces it), only wait4's
#     totals see the exited threads: the invocations count the live ones.
check_switches() { # KV-FILE INVOCATIONS
  awk -v every="$(kv csw_every_thread "$1")" -v n="$2" -v cs="$(kv inv_csw "$1")" \
      -v nv="$(kv inv_nvcsw "$1")" -v niv="$(kv inv_nivcsw "$1")" -v mig="$(kv inv_migrations "$1")" \
      -v total="$(kv child_csw "$1")" -v tnv="$(kv child_nvcsw "$1")" \
      -v tniv="$(kv child_nivcsw "$1")" -v tmig="$(kv child_migrations "$1")" 'BEGIN {
    if (every != "0" && every != "1") { print "csw_every_thread=" every; exit 1 }
    if (split(cs, c, " ") != n || split(nv, v, " ") != n || split(niv, w, " ") != n ||
        split(mig, m, " ") != n) { print "expected " n " values of each"; exit 1 }
    if (tnv < 12 * n) { print "wait4: " tnv " voluntary switches, expected >= " 12 * n; exit 1 }
    sum = 0
    for (i = 1; i <= n; i++) {
      if (v[i] < 0 || w[i] < 0) { print "invocation " i ": a negative count"; exit 1 }
      if (every == 1) {
        if (c[i] < 12) { print "invocation " i ": " c[i] " switches, expected >= 12"; exit 1 }
        if (v[i] + w[i] > c[i]) { print "invocation " i ": live threads " v[i] "+" w[i] " > all " c[i]; exit 1 }
        if (m[i] < 0) { print "invocation " i ": no migrations figure"; exit 1 }
      } else {
        if (c[i] != v[i] + w[i]) { print "invocation " i ": " c[i] " != " v[i] "+" w[i]; exit 1 }
        if (m[i] != -1 || total != -1 || tmig != -1) { print "perf figures without perf"; exit 1 }
      }
      sum += c[i]
    }
    if (every == 1) {
      if (sum > total) { print "invocations " sum " > the whole life " total; exit 1 }
      # The kernel counts the child from fork (its wait for the counters
      # before exec), perf from exec: a handful apart (3 when written).
      d = tnv + tniv - total
      if (d < 0 || d > 20) { print "perf " total " vs wait4 " tnv "+" tniv; exit 1 }
    }
  }' >"$1.why" || fail "context switches: $(cat "$1.why"): $(cat "$1")"
}
"$bs" --timeout 60 --invocations 5 --per-invocation -- "$bare" --sleep-threads 3 >"$work/s" \
  || fail "per-invocation run with sleeping threads failed"
check_switches "$work/s" 5
"$bs" --timeout 60 --invocations 5 --per-invocation --csw-from-tasks -- "$bare" --sleep-threads 3 \
  >"$work/t" || fail "per-invocation run without perf counters failed"
[ "$(kv csw_every_thread "$work/t")" = 0 ] || fail "--csw-from-tasks: $(cat "$work/t")"
check_switches "$work/t" 5
if "$bs" --timeout 60 --invocations 2 --per-invocation -- "$bare" --sleep-threads 99 >/dev/null \
     2>&1; then
  fail "the bare client must refuse 99 sleeping threads"
fi
# The runtime is started by fork and exec there (the counters open in
# between): a program that cannot start is still refused with its reason.
if "$bs" --timeout 10 --invocations 2 --per-invocation -- "$work/no-such-runtime" >/dev/null \
     2>"$work/u.err"; then
  fail "a runtime that cannot start must fail the run"
fi
grep -q "cannot start .*no-such-runtime: No such file" "$work/u.err" \
  || fail "unclear start failure: $(cat "$work/u.err")"

# 8. --start-at-ms holds the first /next until then (bench/run.sh starts its
#    ceiling copies together with it): a run can only end after that moment.
t0=${EPOCHREALTIME/./}
"$bs" --timeout 60 --invocations 2 --start-at-ms $((t0 / 1000 + 400)) -- "$bare" >"$work/q" \
  || fail "--start-at-ms run failed"
t1=${EPOCHREALTIME/./}
[ $((t1 - t0)) -ge 390000 ] || fail "--start-at-ms 0.4 s ahead, but the run ended after $((t1 - t0)) us"

# 9. The invoke client fails clearly when nothing answers (port 1 is closed
#    to us on loopback: connection refused at once).
if "$dir/lambda-bench-invoke" --url http://127.0.0.1:1/x --n 2 --warmup 0 >/dev/null 2>&1; then
  fail "the invoke client must fail when nothing answers"
fi
echo "server_check: OK"

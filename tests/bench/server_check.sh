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

# 5. Cold-start mode gives one sample per start; a program that never
#    polls /next times out cleanly within the bound.
"$bs" --timeout 30 --cold-start 3 -- "$bare" >"$work/e" || fail "cold start of the bare client failed"
[ "$(grep -c '^sample_us=' "$work/e")" = 3 ] || fail "expected 3 samples: $(cat "$work/e")"
if "$bs" --timeout 1 --cold-start 1 -- sleep 5 >/dev/null 2>"$work/f.err"; then
  fail "a program that never calls /next must fail"
fi
grep -q "timeout after 1 s" "$work/f.err" || fail "no timeout reason: $(cat "$work/f.err")"
if [ -x "$dir/lambda-bench-floor" ]; then
  "$bs" --floor 3 -- "$dir/lambda-bench-floor" >"$work/g" || fail "floor runs failed"
  [ "$(grep -c '^sample_us=' "$work/g")" = 3 ] || fail "expected 3 floor samples"
fi

# 6. The real echo runtime: memory checkpoint read, no errors, no mismatch;
#    an init error (no _HANDLER) is reported as such.
if [ -n "$echo_bootstrap" ] && [ -x "$echo_bootstrap" ]; then
  _HANDLER=echo "$bs" --timeout 60 --invocations 30 --checkpoint 10 --expect '{"hello":"world"}' \
    -- "$echo_bootstrap" >"$work/h" 2>/dev/null || fail "echo runtime run failed"
  [ "$(kv mismatches "$work/h")" = 0 ] || fail "echo mismatches: $(cat "$work/h")"
  [ "$(kv rss_kb_at_checkpoint "$work/h")" -gt 0 ] || fail "no RSS at the checkpoint"
  if env -u _HANDLER "$bs" --timeout 30 --invocations 5 -- "$echo_bootstrap" \
       >/dev/null 2>"$work/i.err"; then
    fail "a runtime without _HANDLER must fail the run"
  fi
  grep -q "(init error)" "$work/i.err" || fail "init error not reported: $(cat "$work/i.err")"
fi

# 7. The invoke client fails clearly when nothing answers (port 1 is closed
#    to us on loopback: connection refused at once).
if "$dir/lambda-bench-invoke" --url http://127.0.0.1:1/x --n 2 --warmup 0 >/dev/null 2>&1; then
  fail "the invoke client must fail when nothing answers"
fi
echo "server_check: OK"

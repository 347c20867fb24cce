#!/usr/bin/env bash
# README.md's ReportDurable block ("## Step Functions or a durable
# function?") runs as written: the commands are read from the README and
# executed in a scratch copy of the repository (every top-level entry
# symlinked, `build` -> the build tree under test, `.local-data` a fresh
# directory holding the sample data run-report.sh writes, made by the same
# generator call). The only rewrites: the fixed port 3001 becomes port 0,
# read back from --port-file, and the first curl waits for that file (tests
# never depend on a free fixed port).
#   readme_report_durable.sh REPO BUILD_DIR
set -euo pipefail
repo=$1 build=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/readme-report-durable.XXXXXX")
bg=""
cleanup() {
  # The block ends with `kill %1`; a block that failed before may have left
  # its lambda-local running: the block runs as its own process group.
  if [ -n "$bg" ]; then kill -TERM -- "-$bg" 2>/dev/null || true; wait "$bg" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

root="$work/repo"
mkdir "$root" "$root/.local-data"
for entry in "$repo"/* "$repo"/.clang-format; do
  name=$(basename "$entry")
  case "$name" in build*|.local-data) continue ;; esac
  ln -s "$entry" "$root/$name"
done
ln -s "$build" "$root/build"
"$build/functions/lambda-report-gen" --store "file://$root/.local-data" --customers 3 \
  --from 2024-01-01 --days 366 --events 400 --seed 42 >/dev/null

block=$(awk '/^## Step Functions or a durable function\?/ { inside = 1 } inside && /^```sh/ { take = 1; next }
             take && /^```/ { exit } take { print }' "$repo/README.md")
[ -n "$block" ] || fail "no sh block under '## Step Functions or a durable function?' in README.md"
grep -q 'functions/ReportDurable/invocations' <<<"$block" || fail "the block does not invoke ReportDurable"
port_file="$work/port"
script=$(sed -e "s|--port 3001|--port 0 --port-file $port_file|" \
             -e "0,/^curl /s|^curl |while [ ! -s $port_file ]; do sleep 0.1; done; curl |" \
             -e "s|http://127.0.0.1:3001|http://127.0.0.1:\$(cat $port_file)|" <<<"$block")
printf '%s\n' "--- the README block, as run:" "$script" "---"

cd "$root"
setsid timeout 240 bash -e -c "$script" >"$work/out.log" 2>"$work/err.log" &
bg=$!
wait "$bg" || { cat "$work/out.log" "$work/err.log"; fail "the README block failed"; }
bg=""
cat "$work/out.log"; echo
grep -q '"errorType"' "$work/out.log" && fail "the execution failed"
grep -q '"key":"reports/cust0001/durable-example/report.csv"' "$work/out.log" || fail "no merge result printed"
grep -q '"summary":{' "$work/out.log" || fail "no summary in the result"
grep -q '"DurableExecutionName":"durable-example"' "$work/out.log" || fail "the execution is not listed"
report="$root/.local-data/reports/cust0001/durable-example/report.csv"
[ "$(wc -l <"$report")" -gt 1000 ] || fail "$report has too few rows"
echo "PASS: README's ReportDurable block ran as written"

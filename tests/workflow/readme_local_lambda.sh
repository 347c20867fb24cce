#!/usr/bin/env bash
# README.md's "Running Lambda locally" block runs as written: the commands
# are read from the README and executed, in a scratch copy of the repository
# (every top-level entry symlinked, `build` -> the build tree under test,
# `.local-data` a fresh directory, so the real embedded store is untouched).
# The only rewrite: the fixed port 3001 becomes port 0, read back from
# --port-file (tests never depend on a free fixed port).
#   readme_local_lambda.sh REPO BUILD_DIR
set -euo pipefail
repo=$1 build=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/readme-local-lambda.XXXXXX")
bg=""
cleanup() {
  if [ -n "$bg" ]; then kill "$bg" 2>/dev/null || true; wait "$bg" 2>/dev/null || true; fi
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

# The block: the first ```sh fence after the section heading.
block=$(awk '/^## Running Lambda locally/ { inside = 1 } inside && /^```sh/ { take = 1; next }
             take && /^```/ { exit } take { print }' "$repo/README.md")
[ -n "$block" ] || fail "no sh block under '## Running Lambda locally' in README.md"
grep -q 'invoke SplitDateRange' <<<"$block" || fail "the block does not invoke SplitDateRange"
port_file="$work/port"
script=$(sed -e "s|--port 3001|--port 0 --port-file $port_file|" \
             -e "s|^\(AWS_ACCESS_KEY_ID=.*\)$|while [ ! -s $port_file ]; do sleep 0.1; done; \1|" \
             -e "s|http://127.0.0.1:3001|http://127.0.0.1:\$(cat $port_file)|" <<<"$block")
printf '%s\n' "--- the README block, as run:" "$script" "---"

cd "$root"
# The block's prerequisite, as the README says: run-report.sh once (builds
# are given here, so no set-up), which writes the sample data.
bash local/run-report.sh --no-setup --from 2024-01-01 --to 2024-01-31 -- --quiet >"$work/run-report.log" 2>&1 ||
  { cat "$work/run-report.log"; fail "run-report.sh"; }
PATH="/usr/bin:$PATH" bash -e -c "$script" >"$work/out.log" 2>"$work/err.log" ||
  { cat "$work/out.log" "$work/err.log"; fail "the README block failed"; }
cat "$work/out.log"
grep -q '"errorType"' "$work/out.log" && fail "a handler answered an error"
grep -q '"partCount":1' "$work/out.log" || fail "SplitDateRange's output (partCount 1) not printed"
grep -q '"key":"reports/cust0001/readme-example/part-000000.csv"' "$work/out.log" || fail "GenerateSubReport's output"
grep -q '"key":"reports/cust0001/readme-example/report.csv"' "$work/out.log" || fail "MergeSubReports' output"
report="$root/.local-data/reports/cust0001/readme-example/report.csv"
[ "$(wc -l <"$report")" -gt 100 ] || fail "$report has too few rows"
grep -q '"partCount": *1' "$root/out.json" || fail "aws lambda invoke's out.json: $(cat "$root/out.json")"
echo "PASS: README's local Lambda block ran as written"

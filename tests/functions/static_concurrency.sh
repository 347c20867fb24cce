#!/usr/bin/env bash
# The static bootstrap runs GenerateSubReport with AWS_LAMBDA_MAX_CONCURRENCY=2:
# two invocations at once on the runtime's threads, whose stacks are musl's
# 128 KiB (too small to parse on: every worker is then a thread of its own).
# Each answers, and the part's bytes equal one invocation's at a time.
#   static_concurrency.sh BOOTSTRAP LAMBDA_REPORT_GEN LAMBDA_BENCH_SERVER
set -euo pipefail
boot=$(realpath "$1") gen=$(realpath "$2") server=$(realpath "$3")
work=$(mktemp -d "${TMPDIR:-/tmp}/static-concurrency.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mkdir -p "$work/data" "$work/reports"
"$gen" --store "file://$work/data" --customers 1 --days 2 --from 2024-01-01 --events 3000 \
  --seed 7 >/dev/null
printf '{"customerId":"cust0001","reportId":"c","part":{"index":0,"from":"2024-01-01","to":"2024-01-02"}}' \
  >"$work/ev.json"
part="$work/reports/reports/cust0001/c/part-000000.csv"
# run NAME INVOCATIONS CLIENTS [ENV...]: the part's bytes after the runs.
run() {
  local name=$1 n=$2 clients=$3
  shift 3
  (cd "$work" && env _HANDLER=GenerateSubReport DATA_STORE="file://$work/data" \
    REPORT_STORE="file://$work/reports" LAMBDA_TASK_ROOT="$(dirname "$boot")" REPORT_THREADS=2 \
    REPORT_CHUNK_BYTES=65536 "$@" "$server" --timeout 120 --event-file ev.json \
    --invocations "$n" --clients "$clients" -- "$boot" >"$work/$name.out" 2>"$work/$name.err") ||
    { tail -5 "$work/$name.err" >&2; fail "$name: the bench server failed"; }
  sha256sum <"$part"
}
one=$(run one 1 1)
rm -f "$part"
two=$(run two 6 2 AWS_LAMBDA_MAX_CONCURRENCY=2)
[ "$one" = "$two" ] || fail "concurrent parts differ from one at a time"
grep -q 'SIG' "$work/two.err" && fail "$(grep SIG "$work/two.err")"
logs=$(grep -c 'threads started' "$work/two.err") || true
[ "$logs" -ge 6 ] || fail "expected 6 part log lines, got $logs"
# On the runtime's small stacks every worker is a thread: started = parsers.
bad=$(grep -o '[0-9]* parser threads, [0-9]* fetchers; [0-9]* threads started' "$work/two.err" |
  awk '$1 != $6' | head -1)
[ -z "$bad" ] || fail "a concurrent part parsed on the runtime's thread: $bad"
echo "ok: 6 concurrent parts, same bytes, workers on threads of their own"

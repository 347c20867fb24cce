#!/usr/bin/env bash
# Measures GenerateSubReport on the file store through the real bootstrap
# (lambda-local invoke): throughput (source MB/s, rows/s) and peak RSS for
# a small part and a part about 10x larger (memory must stay flat).
#   measure_generate.sh BUILD_DIR [events-per-day]
# Not a CTest test (timing is not asserted); the numbers go to reports.
set -euo pipefail
build=$(cd "$1" && pwd)
events=${2:-6000}
work=$(mktemp -d "${TMPDIR:-/tmp}/functions-measure.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/store"
store="file://$work/store"
"$build/functions/lambda-report-gen" --store "$store" --customers 1 --days 40 \
  --from 2024-01-01 --events "$events" --seed 3 >"$work/gen.json"
echo "data: $(cat "$work/gen.json")"
printf '{"GenerateSubReport":{"DATA_STORE":"%s"}}' "$store" >"$work/env.json"
run() { # label from to
  local src_bytes
  src_bytes=$(find "$work/store/prospects" -path "*date=*" -name '*.ndjson' | awk -F'date=' '{print $2" "$0}' \
    | awk -v f="$2" -v t="$3" '{d=substr($1,1,10); if (d>=f && d<=t) print $2}' | xargs stat -c %s | awk '{s+=$1} END {print s}')
  local start end out
  start=$(date +%s.%N)
  out=$("$build/local/lambda-local" invoke GenerateSubReport -e - --bootstrap "$build/functions/bootstrap" \
    --env-vars "$work/env.json" --function GenerateSubReport=GenerateSubReport --timeout 900 \
    <<<"{\"customerId\":\"cust0001\",\"reportId\":\"m\",\"part\":{\"index\":0,\"from\":\"$2\",\"to\":\"$3\"}}" \
    2>"$work/log")
  end=$(date +%s.%N)
  local dur rows mem
  dur=$(grep -o 'Duration: [0-9.]* ms' "$work/log" | head -1 | awk '{print $2/1000}')
  rows=$(jq .rows <<<"$out")
  mem=$(grep -o 'Max Memory Used: [0-9]* MB' "$work/log" | awk '{print $4}')
  awk -v l="$1" -v b="$src_bytes" -v d="$dur" -v r="$rows" -v m="$mem" -v o="$(jq .bytes <<<"$out")" \
    'BEGIN {printf "%-6s source %7.1f MB -> csv %6.1f MB, %8d rows in %6.2f s: %6.1f MB/s, %8.0f rows/s, peak RSS %s MB\n", l, b/1e6, o/1e6, r, d, b/1e6/d, r/d, m}'
}
run small 2024-01-01 2024-01-02
run large 2024-01-01 2024-02-09

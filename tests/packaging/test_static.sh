#!/usr/bin/env bash
# The static musl programs are fully static (no PT_INTERP, no dynamic
# section, hence no NEEDED), the bootstrap is stripped, and the zip holds
# exactly that bootstrap.
#
#   test_static.sh ZIP PROGRAM...
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -ge 2 ] || fail "usage: $0 ZIP PROGRAM..."
zip=$1
shift
[ -f "$zip" ] || fail "$zip is missing (build the package-static target)"
unzip -q "$zip" bootstrap -d "$work/unzipped"

for prog in "$work/unzipped/bootstrap" "$@"; do
  [ -x "$prog" ] || fail "$prog is missing"
  # Whole outputs in variables: `cmd | grep -q` can fail on SIGPIPE.
  headers=$(readelf -lW "$prog")
  dynamic=$(readelf -dW "$prog")
  kind=$(file -b "$prog")
  if grep -q 'INTERP' <<<"$headers"; then fail "$prog has a program interpreter"; fi
  if grep -q 'NEEDED' <<<"$dynamic"; then fail "$prog needs shared libraries"; fi
  grep -q 'statically linked' <<<"$kind" || fail "file(1) says: $kind"
  note "static: $prog ($(stat -c %s "$prog") bytes)"
done
sections=$(readelf -SW "$work/unzipped/bootstrap")
if grep -q '\.symtab' <<<"$sections"; then
  fail "the zip's bootstrap is not stripped"
fi
echo "ok: static, no interpreter, no NEEDED; bootstrap stripped ($(stat -c %s "$work/unzipped/bootstrap") bytes)"

#!/usr/bin/env bash
# The static musl programs allocate with mimalloc (packaging/sources.txt),
# not with musl's own malloc: the zip's bootstrap and the static test
# bootstrap both answer mimalloc's MIMALLOC_VERBOSE=1 with its option list
# (printed when mimalloc starts). (The other packaging tests run the static
# bootstrap's handlers, with mimalloc, end to end.)
#
#   test_allocator.sh ZIP STATIC_TEST_BOOTSTRAP
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -eq 2 ] || fail "usage: $0 ZIP STATIC_TEST_BOOTSTRAP"
zip=$1 test_bootstrap=$2
[ -f "$zip" ] || fail "$zip is missing (build the package-static target)"
unzip -q "$zip" bootstrap -d "$work/unzipped"
for prog in "$work/unzipped/bootstrap" "$test_bootstrap"; do
  [ -x "$prog" ] || fail "$prog is missing"
  # Without AWS_LAMBDA_RUNTIME_API a bootstrap exits at once (status 1),
  # after its first allocation: mimalloc has started by then.
  set +e
  err=$(env -i MIMALLOC_VERBOSE=1 "$prog" 2>&1 >/dev/null)
  status=$?
  set -e
  [ "$status" -ne 0 ] || fail "$prog ran without a Runtime API"
  grep -q "^mimalloc: option 'verbose': 1" <<<"$err" \
    || fail "$prog did not start mimalloc (MIMALLOC_VERBOSE=1 printed: $(head -c 300 <<<"$err"))"
  grep -q 'AWS_LAMBDA_RUNTIME_API is not set' <<<"$err" || fail "$prog: $(tail -c 300 <<<"$err")"
  note "mimalloc: $prog"
done
echo "ok: the static bootstrap and the static test bootstrap allocate with mimalloc"

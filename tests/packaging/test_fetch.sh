#!/usr/bin/env bash
# fetch-sources.sh uses a tarball only when its SHA256 is the pinned one:
# a download with other bytes is refused (and not left in the cache), a
# cached tarball with other bytes is replaced, never used. Runs offline:
# the "upstream" URLs are file:// copies of the pinned cJSON tarball.
#
#   test_fetch.sh FETCH_SOURCES_SH CACHE_DIR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -eq 2 ] || fail "usage: $0 FETCH_SOURCES_SH CACHE_DIR"
fetch=$1 real_cache=$2
good=$real_cache/cjson-1.7.15.tar.gz
[ -f "$good" ] || fail "$good is missing (run packaging/fetch-sources.sh)"
pin=$(sed -n 's/^cjson  *1\.7\.15  *\([0-9a-f]\{64\}\) .*/\1/p' "$(dirname "$fetch")/sources.txt")
[ "$(sha256_of "$good")" = "$pin" ] || fail "the cached cJSON tarball does not match its pin"

cp "$good" "$work/good.tar.gz"
cp "$good" "$work/bad.tar.gz"
printf 'x' >>"$work/bad.tar.gz"
pins() { # url
  printf 'cjson 1.7.15 %s cjson cjson_1.7.15.orig.tar.gz %s\n' "$pin" "$1" >"$work/sources.txt"
}
run_fetch() {
  set +e
  LAMBDA_SOURCES_LIST=$work/sources.txt bash "$fetch" --cache "$work/cache" --from upstream \
    >"$work/fetch.log" 2>&1
  status=$?
  set -e
  note "  fetch exit $status: $(tr '\n' ' ' <"$work/fetch.log")"
}

pins "file://$work/bad.tar.gz"
run_fetch
[ "$status" -ne 0 ] || fail "a tarball with the wrong SHA256 was accepted"
grep -q 'SHA256 mismatch' "$work/fetch.log" || fail "no SHA256 mismatch message"
[ -z "$(ls -A "$work/cache" | grep -v '^\.lock$')" ] || fail "the refused tarball was left in the cache"

pins "file://$work/good.tar.gz"
cp "$work/bad.tar.gz" "$work/cache/cjson-1.7.15.tar.gz"
run_fetch
[ "$status" -eq 0 ] || fail "fetching the pinned tarball failed"
[ "$(sha256_of "$work/cache/cjson-1.7.15.tar.gz")" = "$pin" ] || fail "the bad cached tarball was kept"
echo "ok: wrong SHA256 refused, bad cache entry replaced by the pinned tarball"

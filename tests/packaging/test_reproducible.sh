#!/usr/bin/env bash
# Building the zips twice gives the same bytes: the static zip after the
# lambda-c part of the superbuild is compiled again from a clean tree, the
# glibc bundle after its inputs get new mtimes, each time with another time
# zone and umask. Also checks the layout Lambda expects.
#
#   test_reproducible.sh BUILD_DIR STATIC_ZIP GLIBC_ZIP
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -eq 3 ] || fail "usage: $0 BUILD_DIR STATIC_ZIP GLIBC_ZIP"
build=$1 static_zip=$2 glibc_zip=$3
musl=$build/musl
# Bring both zips up to date first, so the two builds compared below see
# the same sources.
cmake --build "$build" --target package-static package-glibc >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; fail "build failed"; }
for z in "$static_zip" "$glibc_zip"; do [ -f "$z" ] || fail "$z is missing"; done

# Layout: bootstrap at the root, mode 0755, fixed 1980 timestamps, sorted.
listing=$(zipinfo "$static_zip")
note "$listing"
[ "$(zipinfo -1 "$static_zip")" = bootstrap ] || fail "the static zip must hold only bootstrap"
grep -q '^-rwxr-xr-x .* 80-Jan-01 00:00 bootstrap$' <<<"$listing" || fail "bootstrap must be 0755, dated 1980-01-01"
zipinfo -1 "$glibc_zip" | grep -x bootstrap >/dev/null || fail "no bootstrap at the glibc zip's root"
zipinfo -1 "$glibc_zip" | LC_ALL=C sort -c || fail "glibc zip entries are not sorted"
zipinfo "$glibc_zip" | grep "^-rwxr-xr-x .* bootstrap$" >/dev/null || fail "glibc bootstrap must be 0755"

static1=$(sha256_of "$static_zip")
glibc1=$(sha256_of "$glibc_zip")

# Second build: clean lambda-c's nested build (the third-party libraries
# stay: they are pinned tarballs built the same way), new mtimes everywhere.
cmake --build "$musl/lambda-c" --target clean >/dev/null
rm -f "$static_zip" "$glibc_zip" "$musl/out/bootstrap"
touch "$build/functions/bootstrap"
(umask 077 && TZ=Pacific/Kiritimati cmake --build "$build" --target package-static package-glibc) \
  >"$work/rebuild.log" 2>&1 || { tail -40 "$work/rebuild.log" >&2; fail "rebuild failed"; }

static2=$(sha256_of "$static_zip")
glibc2=$(sha256_of "$glibc_zip")
note "static: $static1 / $static2"
note "glibc:  $glibc1 / $glibc2"
[ "$static1" = "$static2" ] || fail "the static zip differs between two builds"
[ "$glibc1" = "$glibc2" ] || fail "the glibc zip differs between two builds"
echo "ok: identical SHA256 across two builds (static $static1, glibc $glibc1)"

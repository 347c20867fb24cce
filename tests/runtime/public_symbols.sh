#!/usr/bin/env bash
# The static library exports its header's API and nothing else:
#   public_symbols.sh LIB.a HEADER.h MACRO CC [LINK_ARGS...]
# 1. `nm` of LIB.a: the global symbols it defines are exactly the functions
#    HEADER.h declares with MACRO (e.g. LAMBDA_API). Sanitizer bookkeeping
#    (__asan*, __odr_asan*, __ubsan*) is the compiler's, not the API's.
# 2. A program that defines every internal function name of the library
#    itself (as a user's code might) links against LIB.a and runs: the
#    internals are local, so they cannot clash.
set -euo pipefail
lib=$1 header=$2 macro=$3 cc=$4
shift 4
work=$(mktemp -d "${TMPDIR:-/tmp}/public-symbols.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

nm -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' |
  grep -Ev '^(__asan|__odr_asan|__ubsan|__sanitizer)' | LC_ALL=C sort -u >"$work/exported"
# Declarations may wrap: join the header, then take "MACRO <type> name(".
tr '\n' ' ' <"$header" | grep -oE "$macro [^;(]*[ *]([a-z_][a-z0-9_]*)\(" |
  sed -E 's/.*[ *]([a-z_][a-z0-9_]*)\($/\1/' | LC_ALL=C sort -u >"$work/declared"
[ -s "$work/declared" ] || fail "no $macro declarations found in $header"
if ! diff -u "$work/declared" "$work/exported" >"$work/diff"; then
  cat "$work/diff" >&2
  fail "$(basename "$lib") exports differ from $(basename "$header") (- declared only, + exported only)"
fi
echo "ok: $(wc -l <"$work/exported") symbols, exactly the $macro declarations of $(basename "$header")"

# Every local (internal) function name of the library, defined again by a
# program that also calls the API.
nm --defined-only "$lib" | awk '$2 == "t" && $3 ~ /^lambda_[a-z0-9_]+$/ { print $3 }' | LC_ALL=C sort -u \
  >"$work/internal"
[ -s "$work/internal" ] || fail "no internal lambda_ functions found (is the archive localized?)"
{
  echo '#include <stdio.h>'
  while read -r f; do echo "int $f(void); int $f(void) { return 7; }"; done <"$work/internal"
  # Taking the API's addresses pulls the library's object into the link.
  while read -r f; do echo "extern void $f(void);"; done <"$work/exported"
  echo "void (*volatile api[])(void) = {"
  sed 's/$/,/' "$work/exported"
  echo "};"
  echo "int main(void) { int n = 0;"
  while read -r f; do echo "n += $f();"; done <"$work/internal"
  echo "printf(\"%d\\n\", n); return 0; }"
} >"$work/clash.c"
"$cc" -o "$work/clash" "$work/clash.c" "$lib" "$@" 2>"$work/link.err" ||
  { cat "$work/link.err" >&2; fail "a program defining the internal names does not link"; }
expect=$((7 * $(wc -l <"$work/internal")))
[ "$("$work/clash")" = "$expect" ] || fail "the program's own definitions were not the ones called"
echo "ok: $(wc -l <"$work/internal") internal names redefined by a program without a clash"

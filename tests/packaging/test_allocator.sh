#!/usr/bin/env bash
# The static musl programs allocate with mimalloc (packaging/sources.txt),
# not with musl's own malloc: the zip's bootstrap and the static test
# bootstrap both answer mimalloc's MIMALLOC_VERBOSE=1 with its option list
# (printed when mimalloc starts). lambda-alloc-check, linked the same way,
# checks packaging/patches/mimalloc-2.0.9-extend-one-os-page.patch: a fresh
# size class touches only the OS page of its first block (mincore), and the
# free lists hand out disjoint blocks under 40,000 random allocations; and
# the aligned_alloc patches: every public allocation entry point of musl
# (malloc ... aligned_alloc, posix_memalign, memalign, valloc) gives an
# aligned block of mimalloc's heap that free() takes. Nor is musl's own
# malloc (mallocng) linked into it or into the unstripped static bootstrap:
# musl's internal allocations use its bump allocator, never freed.
# (The other packaging tests run the static bootstrap's handlers, with
# mimalloc, end to end.)
#
#   test_allocator.sh ZIP STATIC_TEST_BOOTSTRAP ALLOC_CHECK UNSTRIPPED_BOOTSTRAP
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -eq 4 ] || fail "usage: $0 ZIP STATIC_TEST_BOOTSTRAP ALLOC_CHECK UNSTRIPPED_BOOTSTRAP"
zip=$1 test_bootstrap=$2 alloc_check=$3 unstripped=$4
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
[ -x "$alloc_check" ] || fail "$alloc_check is missing"
out=$("$alloc_check") || fail "the static allocator: $out"
note "$out"
# musl's mallocng defines these; a program that links it has a second heap.
for prog in "$alloc_check" "$unstripped"; do
  [ -x "$prog" ] || fail "$prog is missing"
  syms=$(nm "$prog") || fail "nm $prog failed"
  if grep -qE ' (__malloc_context|__malloc_alloc_meta)$' <<<"$syms"; then
    fail "$prog links musl's own malloc (mallocng, __malloc_context) beside mimalloc: a second heap, whose blocks free() cannot take"
  fi
done
note "no musl malloc (mallocng) in $(basename "$alloc_check") nor in $unstripped"
echo "ok: the static bootstrap and the static test bootstrap allocate with mimalloc, patched"

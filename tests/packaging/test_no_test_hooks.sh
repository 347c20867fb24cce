#!/usr/bin/env bash
# The packaged bootstraps carry no test hook: neither the static zip's
# bootstrap nor the glibc zip's holds the REPORT_TEST_FAULT switch (its
# variable names, its errorType, its marker files). The test-only
# bootstrap-test-hooks, built from the same sources with the hooks on, must
# hold them -- so the check can fail.
#   test_no_test_hooks.sh STATIC_ZIP GLIBC_ZIP [BOOTSTRAP_TEST_HOOKS]
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
static_zip=$1 glibc_zip=$2 hooks=${3:-}
markers='REPORT_TEST_FAULT|InjectedFault|injected (transient|permanent) fault'

for z in "$static_zip" "$glibc_zip"; do
  [ -f "$z" ] || fail "$z is missing"
  dir="$work/$(basename "$z" .zip)"
  mkdir -p "$dir"
  unzip -q "$z" bootstrap -d "$dir"
  found=$(strings -a "$dir/bootstrap" | grep -E "$markers" || true)
  [ -z "$found" ] || fail "$(basename "$z")'s bootstrap holds a test hook: $found"
  note "ok: $(basename "$z")'s bootstrap holds no test hook"
done
if [ -n "$hooks" ]; then
  [ -x "$hooks" ] || fail "$hooks is missing"
  # (grep -q would close the pipe early: strings then dies of SIGPIPE and
  # pipefail calls the whole check failed.)
  found=$(strings -a "$hooks" | grep -E "$markers" || true)
  [ -n "$found" ] || fail "the hooks build lacks the markers: the check is blind"
  note "ok: bootstrap-test-hooks holds them (the check can see them)"
fi

#!/usr/bin/env bash
# The one test command (README and CI run exactly this):
#   1. installs what is missing and builds with warnings as errors (build/),
#      with the packaging targets (static musl zip, glibc bundle) when it
#      runs the whole suite;
#   2. runs the whole CTest suite: unit, integration, end-to-end, packaging;
#   3. rebuilds with ASan+UBSan (build-asan/) and runs the suite again,
#      less what cannot run under sanitizers (labels packaging, valgrind,
#      bench-smoke);
#   4. builds the threaded code's test (GenerateSubReport's workers) with
#      ThreadSanitizer (build-tsan/, that one target) and runs it.
# Options are passed to ctest, e.g. `bash tests/run.sh -L unit`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc)

bash local/setup.sh --build-dir "$root/build"
# The whole suite (no ctest options, as CI runs it): the static musl
# superbuild and the glibc bundle are built here, before the tests, rather
# than inside packaging.build, where they competed with the tests running
# beside them and ran over its timeout on a loaded machine; packaging.build
# then finds them built (and still fails if they do not build).
if [ $# -eq 0 ] && cmake --build "$root/build" --target help | grep -w package-static >/dev/null; then
  echo "== packaging builds (build/) =="
  cmake --build "$root/build" -j "$jobs" --target package-static package-glibc
fi
echo "== tests (build/) =="
ctest --test-dir "$root/build" --output-on-failure -j "$jobs" "$@"

echo "== tests under ASan+UBSan (build-asan/) =="
bash local/setup.sh --build-dir "$root/build-asan" \
  -DCMAKE_BUILD_TYPE=Debug -DLAMBDA_SANITIZE=address,undefined -DLAMBDA_PACKAGING=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j "$jobs" \
    -LE 'packaging|valgrind|bench-smoke|style' "$@"

echo "== threaded code under ThreadSanitizer (build-tsan/, one test) =="
cmake -S "$root" -B "$root/build-tsan" -DCMAKE_BUILD_TYPE=Debug -DLAMBDA_SANITIZE=thread \
  -DLAMBDA_PACKAGING=OFF -DLAMBDA_WERROR=ON >/dev/null
cmake --build "$root/build-tsan" -j "$jobs" --target functions_test_gen_pool
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  "$root/build-tsan/tests/functions/functions_test_gen_pool"

#!/usr/bin/env bash
# `cmake --install` of this build into PREFIX (the fixture the other SDK
# tests use), then what the installed CMake package promises:
# find_package(lambda-c 0.2 CONFIG) succeeds, 0.3 and 1.0 are refused, the
# imported target is lambda::runtime, lambda_package() exists.
#
#   test_install.sh BUILD_DIR PREFIX
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../packaging/lib.sh"
[ $# -eq 2 ] || fail "usage: $0 BUILD_DIR PREFIX"
build=$1 prefix=$2

rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "cmake --install failed"; }
for f in lib/liblambda_runtime.a include/lambda/runtime.h bin/lambda-local \
         lib/cmake/lambda-c/lambda-c-config.cmake lib/cmake/lambda-c/lambda-c-config-version.cmake \
         lib/cmake/lambda-c/LambdaPackage.cmake; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done

probe() { # version -> configure a project asking for that version
  mkdir -p "$work/probe-$1"
  cat >"$work/probe-$1/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(probe LANGUAGES C)
find_package(lambda-c $1 CONFIG REQUIRED)
get_target_property(type lambda::runtime TYPE)
if(NOT type STREQUAL "STATIC_LIBRARY" OR NOT COMMAND lambda_package)
  message(FATAL_ERROR "lambda::runtime is \${type}; lambda_package missing?")
endif()
message(STATUS "lambda-c \${lambda-c_VERSION} for \${lambda-c_ARCHITECTURE}")
CMAKE
  cmake -S "$work/probe-$1" -B "$work/probe-$1/b" -DCMAKE_PREFIX_PATH="$prefix" >"$work/probe-$1.log" 2>&1
}
probe 0.2 || { cat "$work/probe-0.2.log" >&2; fail "find_package(lambda-c 0.2) failed"; }
grep -q "lambda-c 0.2.[0-9]* for $(uname -m | sed 's/aarch64/arm64/')" "$work/probe-0.2.log" \
  || { cat "$work/probe-0.2.log" >&2; fail "version/architecture not reported"; }
for v in 0.3 1.0; do
  if probe $v; then fail "find_package(lambda-c $v) accepted version 0.2"; fi
done
note "installed into $prefix; find_package(lambda-c 0.2) works, 0.3 and 1.0 refused"

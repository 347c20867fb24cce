#!/usr/bin/env bash
# examples/hello built OUT of this tree, the way a user builds their own
# function, then its zip unpacked into an empty folder and invoked through
# lambda-local:
#   find-package  against the installed SDK (find_package(lambda-c 0.2), glibc)
#   subdirectory  add_subdirectory() of this source tree
#   static-ARCH   with P/share/lambda-c/toolchain-musl-ARCH.cmake (x86_64, aarch64):
#                 a fully static bootstrap, aarch64 run through qemu-aarch64;
#                 its link traced (libc, start files and mimalloc from the
#                 sysroot, nothing from the host's musl), mimalloc running
#                 (MIMALLOC_VERBOSE=1); x86_64 also with LAMBDA_C_ALLOCATOR=musl
#
#   test_example.sh MODE PREFIX SOURCE_DIR LAMBDA_LOCAL
# PREFIX is the installed SDK (the packaging.sdk_install fixture).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../packaging/lib.sh"
[ $# -eq 4 ] || fail "usage: $0 MODE PREFIX SOURCE_DIR LAMBDA_LOCAL"
mode=$1 prefix=$2 src=$3 LAMBDA_LOCAL=$4
example=$src/examples/hello

# The example is copied: a user's project lives anywhere.
cp -R "$example" "$work/hello"
args=()
case "$mode" in
  find-package) args=(-DCMAKE_PREFIX_PATH="$prefix"); arch=$(uname -m); zip_suffix=-glibc ;;
  subdirectory) args=(-DLAMBDA_C_SOURCE_DIR="$src"); arch=$(uname -m); zip_suffix=-glibc ;;
  static-x86_64|static-aarch64)
    arch=${mode#static-}
    zip_suffix=""
    args=(-DCMAKE_PREFIX_PATH="$prefix"
          -DCMAKE_TOOLCHAIN_FILE="$prefix/share/lambda-c/toolchain-musl-$arch.cmake") ;;
  *) fail "unknown mode $mode" ;;
esac
case "$arch" in aarch64) lambda_arch=arm64 ;; *) lambda_arch=$arch ;; esac

# The static links are traced (ld --trace, through LDFLAGS, which CMake adds
# to the toolchain's flags): every input file is listed.
ldflags=""
[ -n "$zip_suffix" ] || ldflags=-Wl,--trace
LDFLAGS=$ldflags cmake -S "$work/hello" -B "$work/build" "${args[@]}" >"$work/configure.log" 2>&1 \
  || { cat "$work/configure.log" >&2; fail "$mode: configure failed"; }
cmake --build "$work/build" --target hello-package >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; fail "$mode: build failed"; }
zip="$work/build/dist/hello-$lambda_arch$zip_suffix.zip"
[ -f "$zip" ] || { ls -l "$work/build/dist" >&2; fail "$mode: no $zip"; }
note "$mode: $(basename "$zip"), $(stat -c %s "$zip") bytes"

mkdir "$work/task"
(cd "$work/task" && unzip -q "$zip")
[ -x "$work/task/bootstrap" ] || fail "$mode: the zip has no executable bootstrap"
if [ -z "$zip_suffix" ]; then
  desc=$(file -b "$work/task/bootstrap")
  case "$arch" in
    x86_64) want="ELF 64-bit LSB executable, x86-64" ;;
    aarch64) want="ELF 64-bit LSB executable, ARM aarch64" ;;
  esac
  grep -qF "$want" <<<"$desc" || fail "$mode: bootstrap is '$desc', not $want"
  grep -q "statically linked" <<<"$desc" || fail "$mode: bootstrap is not statically linked: $desc"
  [ "$(ls "$work/task")" = bootstrap ] || fail "$mode: the static zip holds more than bootstrap"

  # libc, start files and allocator are the sysroot's (musl and mimalloc
  # built from lambda-c's pinned sources), nothing is the host's musl
  # (Debian's musl-tools: /usr/lib/musl, /usr/lib/x86_64-linux-musl) or glibc.
  sysroot=$prefix/lib/lambda-c/musl-$arch
  trace=$(grep -E '\.(a|o)\b' "$work/build.log" | grep -v '^\[' || true)
  grep -qxF "$sysroot/lib/libc.a" <<<"$trace" || fail "$mode: libc.a not from $sysroot"
  grep -qxF "$sysroot/lib/Scrt1.o" <<<"$trace" || fail "$mode: start files not from $sysroot"
  grep -qxF "$sysroot/lib/mimalloc-2.0/mimalloc.o" <<<"$trace" || fail "$mode: mimalloc not linked"
  foreign=$(grep -E 'musl|libc\.(a|so)|crt1\.o|crti\.o' <<<"$trace" | grep -vF "$sysroot/" || true)
  [ -z "$foreign" ] || fail "$mode: linked from outside the sysroot: $foreign"
  note "$mode: libc.a, Scrt1.o, crti.o, crtn.o and mimalloc.o from $sysroot"
  # mimalloc is the allocator running: MIMALLOC_VERBOSE=1 makes it print its
  # options at start (the bootstrap then stops: no Runtime API).
  run=()
  [ "$arch" = x86_64 ] || run=(qemu-aarch64)
  err=$(env -i MIMALLOC_VERBOSE=1 "${run[@]}" "$work/task/bootstrap" 2>&1 >/dev/null) \
    && fail "$mode: bootstrap ran without a Runtime API"
  grep -q "^mimalloc: option 'verbose': 1" <<<"$err" \
    || fail "$mode: mimalloc did not start: $(head -c 300 <<<"$err")"
  if [ "$arch" = x86_64 ]; then
    # The opt-out: -DLAMBDA_C_ALLOCATOR=musl links musl's own malloc.
    cmake -S "$work/hello" -B "$work/build-musl" "${args[@]}" -DLAMBDA_C_ALLOCATOR=musl \
      >"$work/configure-musl.log" 2>&1 \
      || { cat "$work/configure-musl.log" >&2; fail "$mode: LAMBDA_C_ALLOCATOR=musl: configure failed"; }
    cmake --build "$work/build-musl" --target hello >"$work/build-musl.log" 2>&1 \
      || { cat "$work/build-musl.log" >&2; fail "$mode: LAMBDA_C_ALLOCATOR=musl: build failed"; }
    err=$(env -i MIMALLOC_VERBOSE=1 "$work/build-musl/hello" 2>&1 >/dev/null) || true
    if grep -q "^mimalloc:" <<<"$err"; then fail "$mode: LAMBDA_C_ALLOCATOR=musl still has mimalloc"; fi
    grep -q 'AWS_LAMBDA_RUNTIME_API' <<<"$err" || fail "$mode: LAMBDA_C_ALLOCATOR=musl: $err"
    note "$mode: LAMBDA_C_ALLOCATOR=musl: $(stat -c %s "$work/build-musl/hello") bytes unstripped," \
         "mimalloc: $(stat -c %s "$work/build/hello") bytes"
  fi
fi

cat >"$work/template.yaml" <<YAML
Transform: AWS::Serverless-2016-10-31
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: $work/task
      Handler: hello
      Runtime: provided.al2023
      Architectures: [$lambda_arch]
YAML
out=$("$LAMBDA_LOCAL" invoke Hello -e "$example/events/hello.json" --template "$work/template.yaml" \
  2>"$work/invoke.err") || { cat "$work/invoke.err" >&2; fail "$mode: invoke failed"; }
[ "$out" = '{"message":"Hello, Ada!"}' ] || fail "$mode: answered '$out'"
# Bad input: the function's own error, not a crash.
out=$(echo '{"name":3}' | "$LAMBDA_LOCAL" invoke Hello -e - --template "$work/template.yaml" \
  2>"$work/invoke.err") && fail "$mode: a non-string name was not an error"
grep -q '"errorType":"InvalidInput"' <<<"$out" || fail "$mode: bad input answered '$out'"
# A literal Architectures that contradicts the executable is refused, as
# Lambda would (exec format error): here [x86_64] for the aarch64 one.
if [ "$arch" = aarch64 ]; then
  sed -i 's/Architectures: \[arm64\]/Architectures: [x86_64]/' "$work/template.yaml"
  if out=$("$LAMBDA_LOCAL" invoke Hello -e "$example/events/hello.json" \
             --template "$work/template.yaml" 2>"$work/invoke.err"); then
    fail "$mode: an aarch64 bootstrap ran as Architectures [x86_64]"
  fi
  grep -q 'Architectures \[x86_64\] but .* is an arm64 (aarch64) executable' <<<"$out" \
    || fail "$mode: mismatch answered '$out'"
fi
note "$mode: OK"

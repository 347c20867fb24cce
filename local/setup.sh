#!/usr/bin/env bash
# Installs what lambda-c needs on a Debian/Ubuntu machine, then builds it.
# Idempotent: packages already present are not reinstalled, npm ci runs only
# when local/node_modules is missing or older than the lock file.
#
#   bash local/setup.sh [--build-dir DIR] [--no-build] [cmake options...]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
do_build=1
cmake_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    *) cmake_args+=("$1"); shift ;;
  esac
done

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# Debian packages: compilers and the real libraries lambda-c builds on, the
# tools its tests drive (awscli, openssl, valgrind, strace, clang for fuzzing,
# chromium for the execution view's screenshot test and zopfli's zopflipng
# for the README's screenshot (lossless, a quarter smaller), python3-yaml for
# packaging/sam-architecture.py), the aarch64 cross compiler and qemu
# user-mode emulation for the arm64 build and its local runs. The static
# packaging build makes its own musl from the pinned source; musl-tools
# (Debian's musl-gcc) is only for bench/'s cold-start floor program.
pkgs=(build-essential cmake pkg-config git ca-certificates
      libcurl4-openssl-dev libssl-dev libcjson-dev libexpat1-dev
      libmicrohttpd-dev libyaml-dev libcmocka-dev zlib1g-dev
      musl-tools dpkg-dev zip unzip file jq valgrind strace openssl awscli
      clang-14 libclang-rt-14-dev util-linux procps time python3 python3-yaml
      curl busybox-static libmbedtls-dev clang-format-14
      gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu qemu-user chromium zopfli)
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node tools (pinned in local/package-lock.json): the state-machine
# interpreter, the ASL validator, the loopback S3 server and the Node 24
# binary that runs them (Debian's Node is too old for them).
if [ ! -d "$root/local/node_modules" ] || [ "$root/local/package-lock.json" -nt "$root/local/node_modules" ]; then
  log "installing Node tools (npm ci in local/)"
  (cd "$root/local" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$root/local/node_modules"
fi

if [ "$do_build" -eq 1 ]; then
  log "building in $build_dir"
  cmake -S "$root" -B "$build_dir" -DLAMBDA_WERROR=ON ${cmake_args[@]+"${cmake_args[@]}"} >/dev/null
  cmake --build "$build_dir" -j "$(nproc)"
fi

#!/usr/bin/env bash
# Writes a reproducible zip: the same input files give the same bytes.
#
#   make-zip.sh OUT.zip DIR
#
# The zip holds DIR's content at its root. Everything that could differ
# between two builds is normalised: entries are sorted (C locale), every
# mtime is SOURCE_DATE_EPOCH (default 1980-01-01, the zip format's epoch),
# modes are 0755 for executables and 0644 for other files, and `zip -X`
# leaves out uid/gid and extended timestamps. Prints the zip's size.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OUT.zip DIR" >&2; exit 2; }
out=$1
dir=$2
[ -d "$dir" ] || { echo "make-zip: $dir is not a directory" >&2; exit 1; }
command -v zip >/dev/null || { echo "make-zip: zip is not installed" >&2; exit 1; }

epoch=${SOURCE_DATE_EPOCH:-315532800}
stage=$(mktemp -d "${TMPDIR:-/tmp}/lambda-zip.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# A private copy, so the caller's files keep their own modes and times.
cp -RL "$dir/." "$stage/"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -perm /0111 -exec chmod 0755 {} +
find "$stage" -type f ! -perm /0111 -exec chmod 0644 {} +
find "$stage" -exec touch -h -d "@$epoch" {} +

mkdir -p "$(dirname "$out")"
out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
rm -f "$out_abs"
# zip records local time: fix the time zone so the host's does not leak in.
(cd "$stage" && find . -type f -printf '%P\n' | LC_ALL=C sort \
  | TZ=UTC zip -X -D -q -9 "$out_abs" -@)
printf '%s: %s bytes\n' "$out" "$(stat -c %s "$out_abs")"

#!/usr/bin/env bash
# Puts the pinned third-party tarballs of the static musl build (sources.txt)
# in the cache directory and checks each against its pinned SHA256.
#
#   fetch-sources.sh [--cache DIR] [--from debian|upstream] [--only NAME]
#
# --from debian (the default: build machines have no internet, only the
#   Debian mirror) takes Debian's "orig" tarball, which is upstream's tarball,
#   with `apt-get source --download-only`. It adds a deb-src entry for
#   bookworm itself (idempotent; as root or through sudo) because CI starts
#   from a fresh machine. A source only in a later release is named
#   PACKAGE@SUITE in sources.txt (yyjson@trixie): that suite gets a deb-src
#   entry of its own, in its own file. deb-src entries hold source packages
#   only, so no binary package of that release can ever be installed.
# --from upstream downloads the pinned upstream URL with curl instead.
# --only NAME fetches just that source (the glibc build needs yyjson's).
#
# LAMBDA_SOURCES_LIST names another pin list (the tests use it).
#
# A tarball already in the cache with the right SHA256 is kept. Anything that
# does not match its pin is deleted and the script fails: it never falls back
# to an unpinned source.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${LAMBDA_SOURCES_CACHE:-$here/cache}
from=debian
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: $0 [--cache DIR] [--from debian|upstream] [--only NAME]" >&2; exit 2 ;;
  esac
done
case "$from" in debian|upstream) ;; *) echo "fetch-sources: --from debian|upstream" >&2; exit 2 ;; esac

log() { printf '[fetch-sources] %s\n' "$*" >&2; }
die() { printf '[fetch-sources] error: %s\n' "$*" >&2; exit 1; }

src_list=/etc/apt/sources.list.d/lambda-c-deb-src.sources

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root or sudo to run: $*"
  fi
}

# apt can only fetch source packages with a deb-src entry. Debian 12 images
# ship only binary entries, so add the same mirrors as deb-src once.
# Several Debian releases may offer a source package (a deb-src entry for a
# newer release, added for another pin, makes its version apt's candidate):
# pick the version whose files include the pinned orig tarball.
orig_version() { # package orig-file -> the Debian version that ships it
  apt-cache showsrc "$1" 2>/dev/null | awk -v f="$2" '
    /^Package: / { ver = "" }
    /^Version: / { ver = $2 }
    index($0, " " f) && ver != "" && found == "" { found = ver }
    END { if (found != "") print found }'   # no early exit: SIGPIPE + pipefail
}

has_orig() { # package orig-file: does apt know the source package's orig tarball?
  [ -n "$(orig_version "$1" "$2")" ]
}

# A deb-src entry for a later Debian release (SUITE), in its own file.
add_suite_src() {
  local list=/etc/apt/sources.list.d/lambda-c-deb-src-$1.sources
  [ -f "$list" ] && return 0
  log "adding a deb-src entry for $1 ($list)"
  as_root tee "$list" >/dev/null <<EOF
# Added by lambda-c packaging/fetch-sources.sh: source packages of Debian $1
# for sources bookworm lacks (checked against pinned SHA256). deb-src only:
# no binary package comes from here.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $1
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
}

ensure_deb_src() { # package orig-file [suite]
  if has_orig "$1" "$2"; then
    return 0
  fi
  [ -n "${3:-}" ] && add_suite_src "$3"
  if [ ! -f "$src_list" ]; then
    log "adding deb-src entries for bookworm ($src_list)"
    as_root tee "$src_list" >/dev/null <<'EOF'
# Added by lambda-c packaging/fetch-sources.sh: Debian source packages for
# the static musl build (the orig tarballs are checked against pinned SHA256).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  log "apt-get update (source indexes)"
  as_root apt-get update -qq
  has_orig "$1" "$2" \
    || die "Debian has no source package '$1' with $2 (apt-get source --print-uris $1)"
}

fetch_debian() { # package[@suite] orig-file dest
  local pkg=${1%@*} suite=""
  [ "$pkg" != "$1" ] && suite=${1#*@}
  set -- "$pkg" "$2" "$3"
  ensure_deb_src "$1" "$2" "$suite"
  local tmp
  tmp=$(mktemp -d "$cache/.apt.XXXXXX")
  # apt's sandbox user must be able to write there when we run as root.
  chmod 0777 "$tmp"
  # The .dsc/.debian.tar.xz of a newer security upload can be missing from a
  # mirror while the orig tarball (shared by every Debian revision) is there:
  # what matters is the orig tarball and its SHA256, checked by the caller.
  local ver
  ver=$(orig_version "$1" "$2")
  (cd "$tmp" && apt-get source --download-only -qq "$1=$ver" >/dev/null 2>"$tmp/.err") || true
  if [ ! -f "$tmp/$2" ]; then
    cat "$tmp/.err" >&2
    rm -rf "$tmp"
    die "apt-get source $1 did not provide $2"
  fi
  mv "$tmp/$2" "$3"
  rm -rf "$tmp"
}

fetch_upstream() { # url dest
  curl -fsSL --retry 3 -o "$2" "$1" || die "download failed: $1"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

mkdir -p "$cache"
# Several builds (or ctest jobs) may fetch at once: one at a time.
exec 9>"$cache/.lock"
flock -w 600 9 || die "timed out waiting for $cache/.lock"

while read -r name version sha256 deb_pkg deb_file url; do
  case "$name" in ''|'#'*) continue ;; esac
  [ -n "$only" ] && [ "$name" != "$only" ] && continue
  # Cached under the orig's own compression: NAME-VERSION.tar.gz or .tar.xz.
  ext=tar.gz
  case "$deb_file" in *.tar.xz) ext=tar.xz ;; esac
  dest="$cache/$name-$version.$ext"
  if [ -f "$dest" ] && [ "$(sha256_of "$dest")" = "$sha256" ]; then
    continue
  fi
  rm -f "$dest" "$dest.part"
  if [ "$from" = debian ]; then
    log "$name $version: Debian source package $deb_pkg ($deb_file)"
    fetch_debian "$deb_pkg" "$deb_file" "$dest.part"
  else
    log "$name $version: $url"
    fetch_upstream "$url" "$dest.part"
  fi
  got=$(sha256_of "$dest.part")
  if [ "$got" != "$sha256" ]; then
    rm -f "$dest.part"
    die "$name $version: SHA256 mismatch (pinned $sha256, got $got); refusing to use it"
  fi
  mv "$dest.part" "$dest"
  log "$name $version: SHA256 verified"
done <"${LAMBDA_SOURCES_LIST:-$here/sources.txt}"

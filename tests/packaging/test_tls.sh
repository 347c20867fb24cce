#!/usr/bin/env bash
# HTTPS from the static musl build (libcurl + mbedTLS of the superbuild) to
# a loopback `openssl s_server` whose certificate a throw-away test CA signs.
# The probe runs in an empty root with `env -i`, so only the CA bundle the
# case names can be used:
#   SSL_CERT_FILE = the test CA               -> succeeds
#   SSL_CERT_FILE = another CA                -> fails cleanly (not trusted)
#   CURL_CA_BUNDLE = test CA wins over SSL_CERT_FILE = another CA
#   no variable, no /etc/pki/tls/certs/ca-bundle.crt -> fails cleanly, naming it
#   no variable, test CA at /etc/pki/tls/certs/ca-bundle.crt (Amazon Linux's
#   path, libcurl's compiled-in default)      -> succeeds
#
#   test_tls.sh TLS_PROBE
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -eq 1 ] || fail "usage: $0 TLS_PROBE"
probe=$1
[ -x "$probe" ] || fail "$probe is missing (build the musl-superbuild target)"

# The test CA, the server's certificate (for "localhost": mbedTLS 2.28 does
# not match IP addresses in subjectAltName) and an unrelated CA.
pki=$work/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lambda-c test CA" \
  -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated CA" \
  -keyout "$pki/other.key" -out "$pki/other.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf '%s\n' 'subjectAltName=DNS:localhost' 'basicConstraints=CA:FALSE' \
  'extendedKeyUsage=serverAuth' >"$pki/ext"
openssl x509 -req -days 2 -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
  -CAcreateserial -extfile "$pki/ext" -out "$pki/server.pem" 2>/dev/null

# Port 0: the kernel picks a free port, s_server prints it.
openssl s_server -accept 127.0.0.1:0 -cert "$pki/server.pem" -key "$pki/server.key" \
  -www >"$work/s_server.out" 2>&1 </dev/null &
pids+=($!)
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' "$work/s_server.out")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/s_server.out" >&2; fail "s_server did not start"; }
url="https://localhost:$port/"

root=$work/root
mkdir -p "$root/var/task" "$root/tmp" "$root/etc/pki/tls/certs"
cp "$probe" "$root/var/task/bootstrap"
cp "$pki/ca.pem" "$pki/other.pem" "$root/tmp/"
mapfile -t enter < <(enter_root_cmd "$root")

run_probe() { # VAR=value... -> sets $out and $status
  set +e
  out=$(/usr/bin/env -i "$@" "${enter[@]}" /var/task/bootstrap "$url" 2>&1)
  status=$?
  set -e
  note "  [$*] exit $status: $out"
}
expect_ok() {
  [ "$status" -eq 0 ] && grep -q 'ok HTTP 200 (mbedTLS/' <<<"$out" || fail "expected success: $out"
}
expect_clean_failure() { # pattern
  [ "$status" -eq 1 ] || fail "expected exit 1 (a clean failure), got $status: $out"
  grep -q "$1" <<<"$out" || fail "expected '$1' in: $out"
}

run_probe SSL_CERT_FILE=/tmp/ca.pem
expect_ok
run_probe SSL_CERT_FILE=/tmp/other.pem
expect_clean_failure 'error 60: .*NOT_TRUSTED'
run_probe CURL_CA_BUNDLE=/tmp/ca.pem SSL_CERT_FILE=/tmp/other.pem
expect_ok
run_probe
expect_clean_failure 'error 77: .*/etc/pki/tls/certs/ca-bundle.crt'
cp "$pki/ca.pem" "$root/etc/pki/tls/certs/ca-bundle.crt"
run_probe
expect_ok
echo "ok: static libcurl+mbedTLS honours SSL_CERT_FILE/CURL_CA_BUNDLE, defaults to Amazon Linux's bundle, rejects a wrong CA"

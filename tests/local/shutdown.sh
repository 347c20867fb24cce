#!/usr/bin/env bash
# Clean shutdown on SIGINT and SIGTERM with work in flight: every waiting
# invoker gets an answer (the running one Runtime.ExitError, the queued one
# a ServiceException), lambda-local exits 0 promptly, no bootstrap process
# and no temp dir is left behind.
source "$(dirname "$0")/lib.sh"

for sig in INT TERM; do
  mkdir -p "$WORK/tmp.$sig" "$WORK/mark.$sig"
  (cd "$WORK" && cp "$FIXTURES/wrapper-bootstrap.sh" bootstrap && rm -f code.zip && zip -q code.zip bootstrap)
  cat > "$WORK/template.yaml" <<YAML
Resources:
  Sleepy:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code.zip
      Handler: sleep
      Timeout: 60
      Environment:
        Variables:
          REAL_BOOTSTRAP: $(realpath "$TEST_BOOTSTRAP")
          WRAP_CHILD: "1"
          MARK_DIR: $WORK/mark.$sig
YAML
  TMPDIR="$WORK/tmp.$sig" start_server --template "$WORK/template.yaml" --max-concurrency 1
  url="http://127.0.0.1:$PORT/2015-03-31/functions/Sleepy/invocations"
  curl -s -m 60 -o "$WORK/running.$sig" -X POST --data '{"ms":30000}' "$url" &
  c1=$!
  for _ in $(seq 600); do grep -q '^START' "$WORK/server.err" && break; sleep 0.1; done
  curl -s -m 60 -o "$WORK/queued.$sig" -X POST --data '{"ms":1}' "$url" &
  c2=$!
  # The queued invoke has reached lambda-local (not a fixed delay, which a
  # loaded machine can outlast: the curl would then find it gone).
  connected 2 || fail "SIG$sig: the queued invoke did not connect within 30 s"
  start=$(date +%s%N)
  kill -"$sig" "$SERVER_PID"
  rc=0
  for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$SERVER_PID" || rc=$?
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  SERVER_PID=""
  wait "$c1" "$c2" || true
  check "SIG$sig: exit 0 in ${took} ms (< 5000)" [ "$rc" = 0 ] && [ "$took" -lt 5000 ]
  check "SIG$sig: the running invoke got Runtime.ExitError" [ "$(jget "$WORK/running.$sig" .errorType)" = Runtime.ExitError ]
  check "SIG$sig: the queued invoke got ServiceException" [ "$(jget "$WORK/queued.$sig" .errorType)" = ServiceException ]
  child=$(cat "$WORK"/mark.$sig/child.*)
  check "SIG$sig: the bootstrap's process group is gone" gone "$child"
  check "SIG$sig: the unpacked zip is removed" [ -z "$(ls -A "$WORK/tmp.$sig")" ]
  mv "$WORK/server.err" "$WORK/server.err.$sig"
done
finish

#!/usr/bin/env bash
# A sandbox per execution environment: a process the function started and
# that left the process group with setsid() dies with its environment on a
# timeout, a crash and lambda-local's shutdown (PID namespace; CI runs as
# root). With LAMBDA_LOCAL_SANDBOX=pgroup (the fallback where namespaces are
# not allowed) the fallback is logged once and such a process survives,
# which is why the namespace is used wherever it can be.
source "$(dirname "$0")/lib.sh"

if ! unshare --pid --fork true 2>/dev/null; then
  echo "PID namespaces are not allowed here (not root?): only the fallback is checked"
  no_ns=1
fi

cp "$FIXTURES/wrapper-bootstrap.sh" "$WORK/bootstrap"
cat > "$WORK/template.yaml" <<YAML
Globals:
  Function:
    CodeUri: .
    Timeout: 30
    Environment:
      Variables:
        REAL_BOOTSTRAP: $(realpath "$TEST_BOOTSTRAP")
        WRAP_SETSID: "1"
        MARK_DIR: $WORK/mark
Resources:
  Sleepy:
    Type: AWS::Serverless::Function
    Properties:
      Handler: sleep
      # Only the one meant to time out has a short timeout: init counts
      # against it, and a cold bash wrapper on a loaded machine can take 1 s.
      Timeout: 1
  Crashy:
    Type: AWS::Serverless::Function
    Properties:
      Handler: crash
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: echo
YAML
escaped() { cat "$WORK"/mark/escaped.* 2>/dev/null | tr -s ' \n' ' '; }
not_logged() { ! grep -q "$1" "$WORK/server.err"; }
all_gone() { local p; for p in $1; do gone "$p" || return 1; done; }

run_case() { # NAME FUNCTION PAYLOAD EXPECTED_ERROR
  rm -rf "$WORK/mark"; mkdir -p "$WORK/mark"
  invoke "$2" "$3" || true
  check "$1: $4" [ "$(jget "$WORK/out.json" .errorType)" = "$4" ]
  local pids; pids=$(escaped)
  check "$1: the function started a setsid() process ($pids)" [ -n "$pids" ]
  check "$1: it died with its environment" all_gone "$pids"
}

if [ -z "${no_ns:-}" ]; then
  start_server --template "$WORK/template.yaml"
  run_case timeout Sleepy '{"ms":5000}' Sandbox.Timedout
  run_case crash Crashy '{"signal":"SEGV"}' Runtime.ExitError
  rm -rf "$WORK/mark"; mkdir -p "$WORK/mark"
  invoke Echo '{"a":1}'
  pids=$(escaped)
  check "shutdown: a warm environment with a setsid() process ($pids)" [ -n "$pids" ]
  stop_server
  check "shutdown: it died with lambda-local" all_gone "$pids"
  check "no fallback logged" not_logged 'no PID namespace'
fi

# The fallback: logged once, and a setsid() process is out of its reach.
LAMBDA_LOCAL_SANDBOX=pgroup start_server --template "$WORK/template.yaml"
rm -rf "$WORK/mark"; mkdir -p "$WORK/mark"
invoke Sleepy '{"ms":5000}' || true
invoke Crashy '{"signal":"SEGV"}' || true
check "fallback: logged once" [ "$(grep -c 'no PID namespace for execution environments' "$WORK/server.err")" = 1 ]
pids=$(escaped)
survivors=0
for p in $pids; do gone "$p" || { survivors=$((survivors + 1)); kill -KILL "$p"; }; done
check "fallback: the process group alone lets setsid() processes escape ($survivors of 2)" [ "$survivors" = 2 ]
stop_server
finish

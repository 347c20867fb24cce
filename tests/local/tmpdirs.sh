#!/usr/bin/env bash
# Nothing left behind: lambda-local names its temporary folders
# lambda-local-<pid>-XXXXXX; a folder of a lambda-local killed outright
# (SIGKILL: no handler runs) is removed by the next start, a folder of a
# live process never is; the one-shot `invoke` removes its own on exit.
source "$(dirname "$0")/lib.sh"

export TMPDIR="$WORK/tmp"
mkdir -p "$TMPDIR"
(cd "$WORK" && cp "$FIXTURES/env-dump-bootstrap.sh" bootstrap && zip -q code.zip bootstrap)
cat > "$WORK/template.yaml" <<YAML
Resources:
  Zipped:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: code.zip
      Handler: echo
      Environment:
        Variables:
          REAL_BOOTSTRAP: $(realpath "$TEST_BOOTSTRAP")
YAML
dirs_of() { ls -d "$TMPDIR"/lambda-local-"$1"-* 2>/dev/null || true; }

start_server --template "$WORK/template.yaml"
first=$SERVER_PID
check "the unpacked zip's folder carries the owner's pid" [ -n "$(dirs_of "$first")" ]
kill -KILL "$first"; wait "$first" 2>/dev/null || true; SERVER_PID=""
check "SIGKILL leaves the folder (no handler runs)" [ -n "$(dirs_of "$first")" ]

# A folder of a live process (this shell) and a non-matching name stay.
mkdir "$TMPDIR/lambda-local-$$-abcdef" "$TMPDIR/lambda-local-keep-me"
start_server --template "$WORK/template.yaml"
check "the next start sweeps the dead process's folder" [ -z "$(dirs_of "$first")" ]
check "a live process's folder is kept" [ -d "$TMPDIR/lambda-local-$$-abcdef" ]
check "other names are kept" [ -d "$TMPDIR/lambda-local-keep-me" ]
grep -q 'removed 1 temporary folder' "$WORK/server.err" || fail "the sweep is logged"
second=$SERVER_PID
stop_server
check "SIGTERM removes its own folder" [ -z "$(dirs_of "$second")" ]

echo '{}' > "$WORK/event.json"
"$LAMBDA_LOCAL" invoke Zipped -e "$WORK/event.json" --template "$WORK/template.yaml" \
  > "$WORK/invoke.out" 2> "$WORK/invoke.err" || fail "invoke: $(tail -3 "$WORK/invoke.err")"
left=$(ls "$TMPDIR" | grep -v -e "lambda-local-$$-abcdef" -e lambda-local-keep-me || true)
check "the one-shot invoke leaves nothing ($left)" [ -z "$left" ]
finish

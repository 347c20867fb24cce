#!/usr/bin/env bash
# template.yaml configuration: Globals merged under each function, tags and
# long-form intrinsics tolerated (resolved when possible, else the variable
# is unset unless --env-vars gives it), a zip CodeUri unpacked into a
# private temp dir (removed at shutdown), a folder CodeUri, Timeout and
# MemorySize, SAM --env-vars; `lambda-local invoke`; clear template errors.
source "$(dirname "$0")/lib.sh"

# The project: template + code.zip (bootstrap = env dump wrapper) + dircode/.
proj="$WORK/proj"
mkdir -p "$proj/dircode" "$WORK/dump" "$WORK/tmp"
cp "$FIXTURES/template.yaml" "$proj/"
cp "$FIXTURES/env-dump-bootstrap.sh" "$WORK/bootstrap"
(cd "$WORK" && zip -q "$proj/code.zip" bootstrap)
cp "$TEST_BOOTSTRAP" "$proj/dircode/bootstrap"
cat > "$WORK/env.json" <<JSON
{"Parameters": {"REAL_BOOTSTRAP": "$(realpath "$TEST_BOOTSTRAP")", "DUMP_ENV_TO": "$WORK/dump",
                "NOT_DECLARED": "ignored"},
 "ContextFn": {"OVERRIDDEN": "from-env-vars", "ALSO_NOT_DECLARED": "ignored"}}
JSON

export TMPDIR="$WORK/tmp"  # where the zip is unpacked
start_server --template "$proj/template.yaml" --env-vars "$WORK/env.json"

invoke ContextFn '{}'
check "zip CodeUri: invoked" [ "$(jget "$WORK/out.json" .function_name)" = ContextFn ]
check "Globals: Handler" [ "$(jget "$WORK/out.json" .env._HANDLER)" = context ]
check "Globals: MemorySize 256" [ "$(jget "$WORK/out.json" .memory_limit_mb)" = 256 ]
rem=$(jget "$WORK/out.json" .remaining_ms)
check "Globals: Timeout 7 s (remaining $rem ms)" [ "$rem" -gt 3000 ] && [ "$rem" -le 7000 ]
check "LoggingConfig: AWS_LAMBDA_LOG_FORMAT/LEVEL" \
  [ "$(jq -r '"\(.env.AWS_LAMBDA_LOG_FORMAT) \(.env.AWS_LAMBDA_LOG_LEVEL)"' "$WORK/out.json")" = "JSON WARN" ]
root=$(jget "$WORK/out.json" .env.LAMBDA_TASK_ROOT)
check "zip CodeUri: unpacked into a private temp dir ($root)" [ "${root#"$WORK/tmp/lambda-local-"}" != "$root" ]
check "zip CodeUri: bootstrap unpacked executable" [ -x "$root/bootstrap" ]

envf="$WORK/dump/ContextFn.env"
var() { sed -n "s/^$1=//p" "$envf"; }
has() { grep -q "^$1=" "$envf"; }
check "env: Globals variable" [ "$(var GLOBAL_VAR)" = from-globals ]
check "env: function overrides Globals" [ "$(var SHARED)" = function ]
check "env: !Ref to a parameter's Default" [ "$(var STAGE)" = test ]
check "env: !Ref AWS::Region" [ "$(var REGION_VAR)" = us-east-1 ]
check "env: !Sub without substitutions" [ "$(var PLAIN_SUB)" = plain-text ]
check "env: number as string" [ "$(var NUMBER)" = 42 ]
check "env: unresolved !Ref is unset" bash -c "! grep -q '^BUCKET=' '$envf'"
check "env: unresolved !Sub is unset" bash -c "! grep -q '^SUBST=' '$envf'"
check "env: !GetAtt is unset" bash -c "! grep -q '^ATT=' '$envf'"
check "env: long-form Fn::Join is unset" bash -c "! grep -q '^LONGFORM=' '$envf'"
check "env: !Select on a sequence is unset" bash -c "! grep -q '^SELECTED=' '$envf'"
check "env-vars: a function entry overrides an unresolved intrinsic" [ "$(var OVERRIDDEN)" = from-env-vars ]
check "env-vars: Parameters give an unresolved !Ref parameter" [ "$(var REAL_BOOTSTRAP)" = "$(realpath "$TEST_BOOTSTRAP")" ]
check "env-vars: undeclared variables are not added (as SAM)" bash -c "! grep -q 'NOT_DECLARED=' '$envf'"
check "env: credentials passed through" [ "$(var AWS_ACCESS_KEY_ID)" = AKIDLOCALTEST ]
check "env: AWS_LAMBDA_LOG_STREAM_NAME" grep -Eq '^AWS_LAMBDA_LOG_STREAM_NAME=[0-9]{4}/[0-9]{2}/[0-9]{2}/\[\$LATEST\][0-9a-f]{32}$' "$envf"

invoke DirFn '{"ms":50}'
check "folder CodeUri: invoked" [ "$(jq -c . "$WORK/out.json")" = '{"ms":50}' ]
invoke DirFn '{"ms":6000}'
check "function Timeout 2 s overrides Globals" grep -q 'Task timed out after 2.00 seconds' "$WORK/out.json"
check "function MemorySize 512 in REPORT" grep -q 'Memory Size: 512 MB' "$WORK/server.err"

rc=0; invoke Queue '{}' || rc=$?
check "a non-function resource is not invocable" grep -q ResourceNotFoundException "$WORK/cli.err"
rc=0; invoke Machine '{}' || rc=$?
check "a state machine is not invocable" grep -q ResourceNotFoundException "$WORK/cli.err"

stop_server
check "shutdown removes the unpacked zip" [ ! -e "$root" ]
check "shutdown leaves no lambda-local temp dir" [ -z "$(ls -A "$WORK/tmp")" ]

# `lambda-local invoke`, like `sam local invoke`: payload on stdout.
echo '{"ms":1,"via":"invoke"}' > "$WORK/event.json"
out=$("$LAMBDA_LOCAL" invoke DirFn -e "$WORK/event.json" --template "$proj/template.yaml" \
  --env-vars "$WORK/env.json" 2> "$WORK/invoke.err")
check "invoke subcommand: exit 0 and the payload" [ "$(jq -c . <<<"$out")" = '{"ms":1,"via":"invoke"}' ]
check "invoke subcommand: REPORT on stderr" grep -q '^REPORT RequestId' "$WORK/invoke.err"
rc=0
out=$(echo '{"ms":6000}' | timeout 30 "$LAMBDA_LOCAL" invoke DirFn -e - --template "$proj/template.yaml" 2>/dev/null) || rc=$?
check "invoke subcommand: a function error exits 1" [ "$rc" = 1 ]
check "invoke subcommand: ...and prints the error" [ "$(jq -r .errorType <<<"$out")" = Sandbox.Timedout ]
rc=0
out=$("$LAMBDA_LOCAL" invoke ContextFn --template "$proj/template.yaml" \
  --bootstrap "$TEST_BOOTSTRAP" 2>/dev/null) || rc=$?
check "--bootstrap overrides CodeUri for template functions" \
  [ "$rc" = 0 ] && [ "$(jq -r .env.LAMBDA_TASK_ROOT <<<"$out")" = "$(dirname "$(realpath "$TEST_BOOTSTRAP")")" ]
check "invoke subcommand removed its temp dir too" [ -z "$(ls -A "$WORK/tmp")" ]

# Clear errors for bad templates.
printf 'Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: [unclosed\n' > "$WORK/bad.yaml"
rc=0; "$LAMBDA_LOCAL" start-lambda --template "$WORK/bad.yaml" --bootstrap "$TEST_BOOTSTRAP" \
  > /dev/null 2> "$WORK/bad.err" || rc=$?
check "bad YAML: exit status 1 ($rc)" [ "$rc" = 1 ]
check "bad YAML: message with file and line" grep -Eq "bad.yaml:[0-9]+:[0-9]+: YAML error" "$WORK/bad.err"
printf 'Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: x\n      Timeout: soon\n' > "$WORK/bad2.yaml"
rc=0; "$LAMBDA_LOCAL" start-lambda --template "$WORK/bad2.yaml" --bootstrap "$TEST_BOOTSTRAP" \
  > /dev/null 2> "$WORK/bad2.err" || rc=$?
check "bad Timeout: clear message" grep -q "function Fn: Timeout must be a number" "$WORK/bad2.err"
printf 'Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: x\n      CodeUri: nowhere/\n' > "$WORK/bad3.yaml"
rc=0; "$LAMBDA_LOCAL" start-lambda --template "$WORK/bad3.yaml" > /dev/null 2> "$WORK/bad3.err" || rc=$?
check "missing CodeUri folder: clear message" grep -q "function Fn: CodeUri .*nowhere.*No such file" "$WORK/bad3.err"
finish

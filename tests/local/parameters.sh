#!/usr/bin/env bash
# !Sub in environment values resolved from the template's parameters, and
# --parameter-overrides as `sam local` takes it ("K=V K2=V2", repeatable, or
# "ParameterKey=K,ParameterValue=V"): an override wins over a Default, a
# parameter without a value or a !Sub of a resource attribute leaves the
# variable unset, ${!Literal} stays literal.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/dump"
cat > "$WORK/template.yaml" <<YAML
Parameters:
  DataBucketName:
    Type: String
  DataPrefix:
    Type: String
    Default: datalake
  Stage:
    Type: String
    Default: dev
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: echo
      Environment:
        Variables:
          REAL_BOOTSTRAP: $(realpath "$TEST_BOOTSTRAP")
          DUMP_ENV_TO: $WORK/dump
          DATA_STORE: !Sub "s3://\${DataBucketName}/\${DataPrefix}"
          REGIONAL: !Sub "\${Stage}-\${AWS::Region}"
          LITERAL: !Sub "\${!NotAParameter}-x"
          FROM_RESOURCE: !Sub "\${Fn.Arn}"
          PLAIN_REF: !Ref Stage
YAML
echo '{}' > "$WORK/event.json"
run() {
  rm -f "$WORK/dump/Fn.env"
  "$LAMBDA_LOCAL" invoke Fn -e "$WORK/event.json" --template "$WORK/template.yaml" \
    --bootstrap "$FIXTURES/env-dump-bootstrap.sh" "$@" > "$WORK/invoke.out" 2> "$WORK/invoke.err" ||
    fail "invoke $*: $(tail -3 "$WORK/invoke.err")"
}
var() { sed -n "s/^$1=//p" "$WORK/dump/Fn.env"; }
lacks() { ! grep -q "^$1=" "$WORK/dump/Fn.env"; }

run
check "no value for DataBucketName: DATA_STORE unset" lacks DATA_STORE
check "!Sub of Defaults and a pseudo parameter" [ "$(var REGIONAL)" = "dev-us-east-1" ]
check "\${!Literal} stays literal" [ "$(var LITERAL)" = '${NotAParameter}-x' ]
check "!Sub of a resource attribute: unset" lacks FROM_RESOURCE

run --parameter-overrides "DataBucketName=my-bucket Stage=prod" --parameter-overrides DataPrefix=raw
check "overrides: !Sub resolved" [ "$(var DATA_STORE)" = "s3://my-bucket/raw" ]
check "overrides win over Defaults, in !Sub and !Ref" [ "$(var REGIONAL) $(var PLAIN_REF)" = "prod-us-east-1 prod" ]

run --parameter-overrides "ParameterKey=DataBucketName,ParameterValue=b2"
check "CloudFormation form" [ "$(var DATA_STORE)" = "s3://b2/datalake" ]

if "$LAMBDA_LOCAL" invoke Fn --template "$WORK/template.yaml" --parameter-overrides "oops" \
     > /dev/null 2> "$WORK/bad.err"; then fail "a malformed override is refused"; fi
check "a malformed override names the expected form" grep -q "parameter-overrides wants 'Key=Value" "$WORK/bad.err"
finish

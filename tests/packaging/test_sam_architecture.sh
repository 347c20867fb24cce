#!/usr/bin/env bash
# packaging/sam-architecture.py: the architecture a SAM function deploys as,
# read the way SAM reads it (SAM passes a makefile build no architecture):
# a literal Architectures, a Ref to a parameter valued by samconfig.toml /
# samconfig.yaml (build, deploy, global tables; both override forms) or by
# its Default; disagreeing values and bad ones are refused with a message
# naming the file. No build: seconds.
#
#   test_sam_architecture.sh SCRIPT REPO_TEMPLATE
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
[ $# -eq 2 ] || fail "usage: $0 SCRIPT REPO_TEMPLATE"
script=$1 repo_template=$2

expect() { # want dir [function]
  local want=$1 dir=$2 got
  shift 2
  got=$(python3 "$script" "$dir/template.yaml" "$@" 2>"$work/err") \
    || { cat "$work/err" >&2; fail "$dir: failed, expected $want"; }
  [ "$got" = "$want" ] || fail "$dir: got '$got', expected $want ($(cat "$work/err"))"
}
refuse() { # needle dir [function]
  local needle=$1 dir=$2
  shift 2
  if python3 "$script" "$dir/template.yaml" "$@" >"$work/out" 2>"$work/err"; then
    fail "$dir: accepted ($(cat "$work/out")), expected an error with '$needle'"
  fi
  [ ! -s "$work/out" ] || fail "$dir: printed '$(cat "$work/out")' on stdout with an error"
  grep -qF -- "$needle" "$work/err" || fail "$dir: error '$(cat "$work/err")' lacks '$needle'"
}
project() { # dir default -> a starter-like template with an Architecture parameter
  mkdir -p "$work/$1"
  cat >"$work/$1/template.yaml" <<YAML
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Architecture:
    Type: String
    Default: $2
    AllowedValues: [x86_64, arm64]
Globals:
  Function:
    Timeout: !Ref Timeout
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: .
      Handler: hello
      Runtime: provided.al2023
      Architectures: [!Ref Architecture]
    Metadata:
      BuildMethod: makefile
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "\${AWS::StackName}-data"
YAML
}

# This repository's template: Globals' Architectures, parameter Default.
mkdir -p "$work/repo" && cp "$repo_template" "$work/repo/template.yaml"
expect x86_64 "$work/repo" GenerateSubReport
expect x86_64 "$work/repo"
refuse "has no AWS::Serverless::Function named NoSuchFunction" "$work/repo" NoSuchFunction

# The parameter's Default, then samconfig.toml's global table.
project p x86_64
expect x86_64 "$work/p" Hello
printf 'version = 0.1\n[default.global.parameters]\nstack_name = "p"\nparameter_overrides = "Timeout=3 Architecture=arm64"\n' \
  >"$work/p/samconfig.toml"
expect arm64 "$work/p" Hello
# sam deploy --guided saves its answers in the deploy table: it wins over
# the Default (what is deployed is what counts).
printf 'version = 0.1\n[default.deploy.parameters]\nparameter_overrides = ["ParameterKey=Architecture,ParameterValue=arm64"]\n' \
  >"$work/p/samconfig.toml"
expect arm64 "$work/p" Hello
# Another config environment (SAM_CONFIG_ENV) and samconfig.yaml.
rm "$work/p/samconfig.toml"
printf 'version: 0.1\nprod:\n  global:\n    parameters:\n      parameter_overrides: Architecture=arm64\n' \
  >"$work/p/samconfig.yaml"
expect x86_64 "$work/p" Hello
SAM_CONFIG_ENV=prod expect arm64 "$work/p" Hello
rm "$work/p/samconfig.yaml"
# Build and deploy disagree, or only the build says arm64: refused.
printf 'version = 0.1\n[default.build.parameters]\nparameter_overrides = "Architecture=arm64"\n[default.deploy.parameters]\nparameter_overrides = "Architecture=x86_64"\n' \
  >"$work/p/samconfig.toml"
refuse "for sam build but Architecture=x86_64 for sam deploy" "$work/p" Hello
printf 'version = 0.1\n[default.build.parameters]\nparameter_overrides = "Architecture=arm64"\n' \
  >"$work/p/samconfig.toml"
refuse "for sam build only" "$work/p" Hello
# Not an architecture; not TOML.
printf 'version = 0.1\n[default.global.parameters]\nparameter_overrides = "Architecture=mips"\n' \
  >"$work/p/samconfig.toml"
refuse "architecture 'mips' is not x86_64 or arm64" "$work/p" Hello
printf 'version = 0.1\n[default.global.parameters\n' >"$work/p/samconfig.toml"
refuse "cannot read $work/p/samconfig.toml" "$work/p" Hello

# A literal Architectures needs no parameter; no Architectures is x86_64.
project l x86_64
sed -i 's/Architectures: \[!Ref Architecture\]/Architectures: [arm64]/' "$work/l/template.yaml"
expect arm64 "$work/l" Hello
sed -i '/Architectures:/d' "$work/l/template.yaml"
expect x86_64 "$work/l" Hello
echo "ok: sam-architecture.py"

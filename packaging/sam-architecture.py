#!/usr/bin/env python3
"""Print the Lambda architecture (x86_64 or arm64) a SAM function deploys as.

`sam build` runs a makefile build (BuildMethod: makefile) as
`make --makefile <CodeUri>/Makefile build-<LogicalId>` with ARTIFACTS_DIR
added to its own environment, and nothing else: not the function's
Architectures, not the template's parameters (aws-lambda-builders,
workflows/custom_make/actions.py). So the Makefile asks this script, which
reads what SAM reads:

  1. the function's Architectures (Properties, else Globals.Function, else
     Lambda's default x86_64); when it is a Ref to a template parameter,
  2. that parameter's value in the project's SAM configuration file
     (samconfig.toml, else samconfig.yaml / .yml, beside the template:
     parameter_overrides of the [<env>.build.parameters] and
     [<env>.deploy.parameters] tables, each falling back to
     [<env>.global.parameters], as SAM does), else
  3. the parameter's Default.

What counts is what `sam deploy` deploys: a value set for sam deploy only
(as `sam deploy --guided` saves it) is used; one set for sam build only,
or different values for the two, is an error (the binary built would not
be the one deployed). A value given only on SAM's command line
(`sam build --parameter-overrides ...`) never reaches make: put it in
samconfig.toml, or give ARCH to make as well.

  sam-architecture.py TEMPLATE [FUNCTION]    (env: SAM_CONFIG_ENV, default "default")
"""
import os
import shlex
import sys
import tomllib

import yaml

ARCHITECTURES = ("x86_64", "arm64")


class Error(Exception):
    pass


class TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref X -> {"Ref": X})."""


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = suffix if suffix == "Ref" else "Fn::" + suffix
    return {name: value}


TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path):
    try:
        with open(path, encoding="utf-8") as f:
            template = yaml.load(f, Loader=TemplateLoader)  # noqa: S506 (SafeLoader subclass)
    except OSError as e:
        raise Error(f"cannot read the template: {e}") from e
    except yaml.YAMLError as e:
        raise Error(f"{path} is not valid YAML: {e}") from e
    if not isinstance(template, dict):
        raise Error(f"{path} is not a SAM template")
    return template


def function_architectures(template, function, path):
    """The function's Architectures value (possibly a Ref), or None."""
    resources = template.get("Resources") or {}
    functions = {k: v for k, v in resources.items()
                 if isinstance(v, dict) and v.get("Type") == "AWS::Serverless::Function"}
    if function:
        if function not in functions:
            raise Error(f"{path} has no AWS::Serverless::Function named {function}")
        chosen = [function]
    else:
        chosen = sorted(functions)
    values = []
    for name in chosen:
        props = functions[name].get("Properties") or {}
        if "Architectures" in props:
            values.append(props["Architectures"])
    globals_fn = ((template.get("Globals") or {}).get("Function")) or {}
    if len(values) < len(chosen) and "Architectures" in globals_fn:
        values.append(globals_fn["Architectures"])
    if not values:
        return None
    distinct = []
    for v in values:
        if v not in distinct:
            distinct.append(v)
    if len(distinct) > 1:
        raise Error(f"{path}: the functions have different Architectures; "
                    "name the function (build-<LogicalId> does)")
    return distinct[0]


def parse_overrides(value, config):
    """parameter_overrides: "K=V K2=V2", the ParameterKey=K,ParameterValue=V
    form, or a list of either."""
    items = value if isinstance(value, list) else [value]
    result = {}
    for item in items:
        if not isinstance(item, str):
            raise Error(f"{config}: parameter_overrides must be a string or a list of strings")
        for token in shlex.split(item):
            if token.startswith("ParameterKey="):
                fields = dict(part.split("=", 1) for part in token.split(",") if "=" in part)
                if "ParameterKey" in fields and "ParameterValue" in fields:
                    result[fields["ParameterKey"]] = fields["ParameterValue"]
                    continue
            if "=" not in token:
                raise Error(f"{config}: parameter_overrides entry '{token}' is not KEY=VALUE")
            key, val = token.split("=", 1)
            result[key] = val
    return result


def load_config(directory):
    """The SAM configuration beside the template: (path, dict) or (None, {})."""
    for name in ("samconfig.toml", "samconfig.yaml", "samconfig.yml"):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            continue
        try:
            with open(path, "rb") as f:
                if name.endswith(".toml"):
                    return path, tomllib.load(f)
                data = yaml.safe_load(f)
                return path, data if isinstance(data, dict) else {}
        except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError) as e:
            raise Error(f"cannot read {path}: {e}") from e
    return None, {}


def config_overrides(config_path, config, env, command):
    """The parameter_overrides `sam <command>` uses, or None."""
    section = config.get(env) or {}
    for table in (command, "global"):
        params = ((section.get(table) or {}).get("parameters")) or {}
        if "parameter_overrides" in params:
            return parse_overrides(params["parameter_overrides"], config_path)
    return None


def resolve(template_path, function=None, env="default"):
    template = load_template(template_path)
    value = function_architectures(template, function, template_path)
    if value is None:
        return "x86_64", "Lambda's default (no Architectures in the template)"
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        source = f"{template_path} (Architectures)"
        arch = value
    elif isinstance(value, dict) and set(value) == {"Ref"}:
        param = value["Ref"]
        spec = (template.get("Parameters") or {}).get(param)
        if not isinstance(spec, dict):
            raise Error(f"{template_path}: Architectures refers to {param}, "
                        "which is not a template parameter")
        config_path, config = load_config(os.path.dirname(os.path.abspath(template_path)))
        per_command = {}
        for command in ("build", "deploy"):
            overrides = config_overrides(config_path, config, env, command) or {}
            if param in overrides:
                per_command[command] = overrides[param]
        if per_command:
            if len(set(per_command.values())) > 1:
                raise Error(f"{config_path} sets {param}={per_command['build']} for sam build but "
                            f"{param}={per_command['deploy']} for sam deploy: the binary built "
                            "must be the one deployed; make them agree")
            # What runs on Lambda is what sam deploy sets.
            arch = per_command.get("deploy", per_command.get("build"))
            source = f"{config_path} ({param}, [{env}])"
            if "deploy" not in per_command and spec.get("Default", arch) != arch:
                raise Error(f"{config_path} sets {param}={arch} for sam build only: sam deploy "
                            f"would deploy the template's Default {spec['Default']}; set it in "
                            f"[{env}.global.parameters]")
        elif "Default" in spec:
            arch = spec["Default"]
            source = f"{template_path} (parameter {param}'s Default)"
        else:
            raise Error(f"{template_path}: parameter {param} has no Default and "
                        f"{config_path or 'no samconfig.toml'} gives no value for it")
    else:
        raise Error(f"{template_path}: Architectures must be [x86_64], [arm64] or "
                    f"[!Ref <parameter>], not {value!r}")
    if arch not in ARCHITECTURES:
        raise Error(f"{source}: architecture '{arch}' is not x86_64 or arm64")
    return arch, source


def main(argv):
    if len(argv) not in (2, 3) or argv[1].startswith("-"):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    try:
        arch, source = resolve(argv[1], argv[2] if len(argv) == 3 else None,
                               os.environ.get("SAM_CONFIG_ENV") or "default")
    except Error as e:
        print(f"sam-architecture: {e}", file=sys.stderr)
        return 1
    print(arch, flush=True)
    print(f"sam-architecture: {arch} from {source}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

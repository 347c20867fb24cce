// Reads template.yaml the way CloudFormation would for the parts the local run
// needs: parameters (defaults + overrides), conditions, the intrinsic
// functions (!Ref, !GetAtt, !Sub, !Join, !If, ...), the functions' merged
// Globals, and a state machine's definition with its DefinitionSubstitutions
// applied. Resources that only exist in AWS get stable fake identifiers for
// one fake account and region (as `sam local` does).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

export const LOCAL_ACCOUNT = '123456789012';
export const LOCAL_REGION = 'us-east-1';

// CloudFormation's short-form tags, each in its scalar, sequence and mapping
// form, turned into their long form ({"Fn::Sub": ...}).
const SHORT_FORMS = ['Ref', 'Condition', 'GetAtt', 'Sub', 'Join', 'If', 'Equals', 'Not', 'And',
  'Or', 'Select', 'Split', 'FindInMap', 'Base64', 'GetAZs', 'ImportValue', 'Cidr', 'Length',
  'ToJsonString'];

function longName(tag) {
  return tag === 'Ref' || tag === 'Condition' ? tag : `Fn::${tag}`;
}

const cfnTags = SHORT_FORMS.flatMap((tag) => [
  {
    tag: `!${tag}`,
    resolve: (str) => ({ [longName(tag)]: tag === 'GetAtt' ? str.split('.') : str }),
  },
  { tag: `!${tag}`, collection: 'seq', resolve: (seq) => ({ [longName(tag)]: seq.toJSON() }) },
  { tag: `!${tag}`, collection: 'map', resolve: (map) => ({ [longName(tag)]: map.toJSON() }) },
]);

export function parseTemplate(text) {
  return parse(text, { customTags: cfnTags, uniqueKeys: true });
}

export class TemplateError extends Error {}

// A parameter value the template refuses: names the parameter and the
// problem apart, so that a caller can word it with its own option's name.
export class ParameterError extends TemplateError {
  constructor(name, value, problem) {
    super(`parameter ${name}=${value}${problem.startsWith(':') ? '' : ' '}${problem}`);
    this.parameter = name;
    this.value = value;
    this.problem = problem.replace(/^: /, '');
  }
}

// A loaded template plus the values of its parameters for one local run.
export class LocalStack {
  constructor(templatePath, { parameters = {}, region = LOCAL_REGION, account = LOCAL_ACCOUNT,
    stackName = 'lambda-c-local', bucketNames = {} } = {}) {
    this.path = resolve(templatePath);
    this.dir = dirname(this.path);
    this.template = parseTemplate(readFileSync(this.path, 'utf8'));
    this.region = region;
    this.account = account;
    this.stackName = stackName;
    this.bucketNames = bucketNames;
    this.resources = this.template.Resources ?? {};
    this.parameters = this.#resolveParameters(parameters);
    this.conditionCache = new Map();
  }

  #resolveParameters(overrides) {
    const declared = this.template.Parameters ?? {};
    for (const name of Object.keys(overrides)) {
      if (!(name in declared)) throw new TemplateError(`unknown template parameter ${name}`);
    }
    const values = {};
    for (const [name, decl] of Object.entries(declared)) {
      const value = name in overrides ? overrides[name] : decl.Default;
      if (value === undefined) continue; // only an error if something uses it
      const str = String(value);
      if (decl.AllowedValues && !decl.AllowedValues.map(String).includes(str)) {
        throw new ParameterError(name, str, `: allowed values are ${decl.AllowedValues.join(', ')}`);
      }
      if (decl.Type === 'Number') {
        const n = Number(str);
        if (str.trim() === '' || !Number.isFinite(n)) throw new ParameterError(name, str, 'is not a number');
        if (decl.MinValue !== undefined && n < decl.MinValue) throw new ParameterError(name, str, `is below ${decl.MinValue}`);
        if (decl.MaxValue !== undefined && n > decl.MaxValue) throw new ParameterError(name, str, `is above ${decl.MaxValue}`);
      }
      values[name] = str;
    }
    return values;
  }

  pseudo(name) {
    const table = {
      'AWS::Region': this.region,
      'AWS::AccountId': this.account,
      'AWS::Partition': 'aws',
      'AWS::StackName': this.stackName,
      'AWS::StackId': `arn:aws:cloudformation:${this.region}:${this.account}:stack/${this.stackName}/local`,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::NoValue': undefined,
    };
    if (!(name in table)) throw new TemplateError(`unsupported pseudo parameter ${name}`);
    return table[name];
  }

  // What !Ref gives for a resource, locally.
  refOf(logicalId) {
    const res = this.resources[logicalId];
    switch (res.Type) {
      case 'AWS::Serverless::Function':
      case 'AWS::Lambda::Function':
        return logicalId; // the emulator knows functions by logical ID, like sam local
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${this.region}:${this.account}:${logicalId}`;
      case 'AWS::S3::Bucket':
        return this.bucketNames[logicalId] ?? logicalId.toLowerCase();
      case 'AWS::Serverless::StateMachine':
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${this.region}:${this.account}:stateMachine:${logicalId}`;
      default:
        return logicalId;
    }
  }

  getAtt(logicalId, attribute) {
    const res = this.resources[logicalId];
    if (!res) throw new TemplateError(`!GetAtt ${logicalId}.${attribute}: no such resource`);
    const key = `${res.Type}.${attribute}`;
    switch (key) {
      case 'AWS::Serverless::Function.Arn':
      case 'AWS::Lambda::Function.Arn':
        return `arn:aws:lambda:${this.region}:${this.account}:function:${logicalId}`;
      case 'AWS::SNS::Topic.TopicArn':
        return this.refOf(logicalId);
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${this.refOf(logicalId)}`;
      case 'AWS::Serverless::StateMachine.Arn':
      case 'AWS::StepFunctions::StateMachine.Arn':
        return this.refOf(logicalId);
      default:
        throw new TemplateError(`!GetAtt ${logicalId}.${attribute} has no local value`);
    }
  }

  ref(name) {
    if (name.startsWith('AWS::')) return this.pseudo(name);
    if (name in (this.template.Parameters ?? {})) {
      if (!(name in this.parameters)) throw new TemplateError(`parameter ${name} has no value (no Default): pass it with --param ${name}=VALUE`);
      return this.parameters[name];
    }
    if (name in this.resources) return this.refOf(name);
    throw new TemplateError(`!Ref ${name}: no such parameter or resource`);
  }

  condition(name) {
    if (!this.conditionCache.has(name)) {
      const def = this.template.Conditions?.[name];
      if (def === undefined) throw new TemplateError(`no such condition ${name}`);
      this.conditionCache.set(name, Boolean(this.evaluate(def)));
    }
    return this.conditionCache.get(name);
  }

  // ${Name}, ${Resource.Attribute} and ${!Literal}, as Fn::Sub reads them.
  sub(text, vars = {}) {
    return text.replace(/\$\{([^}]*)\}/g, (whole, body) => {
      if (body.startsWith('!')) return `\${${body.slice(1)}}`;
      if (body in vars) return String(this.evaluate(vars[body]));
      const dot = body.indexOf('.');
      if (dot > 0 && !body.startsWith('AWS::')) return this.getAtt(body.slice(0, dot), body.slice(dot + 1));
      return String(this.ref(body));
    });
  }

  evaluate(node) {
    if (Array.isArray(node)) return node.map((v) => this.evaluate(v)).filter((v) => v !== undefined);
    if (node === null || typeof node !== 'object') return node;
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const [fn] = keys;
      const arg = node[fn];
      switch (fn) {
        case 'Ref': return this.ref(arg);
        case 'Condition': return this.condition(arg);
        case 'Fn::GetAtt': {
          const [id, ...attr] = Array.isArray(arg) ? arg : String(arg).split('.');
          return this.getAtt(this.evaluate(id), attr.join('.'));
        }
        case 'Fn::Sub': return Array.isArray(arg) ? this.sub(arg[0], arg[1]) : this.sub(arg);
        case 'Fn::Join': return this.evaluate(arg[1]).join(arg[0]);
        case 'Fn::Select': return this.evaluate(arg[1])[Number(this.evaluate(arg[0]))];
        case 'Fn::Split': return String(this.evaluate(arg[1])).split(arg[0]);
        case 'Fn::If': return this.condition(arg[0]) ? this.evaluate(arg[1]) : this.evaluate(arg[2]);
        case 'Fn::Equals': return String(this.evaluate(arg[0])) === String(this.evaluate(arg[1]));
        case 'Fn::Not': return !this.evaluate(arg[0]);
        case 'Fn::And': return arg.every((c) => this.evaluate(c));
        case 'Fn::Or': return arg.some((c) => this.evaluate(c));
        default:
          if (fn.startsWith('Fn::')) throw new TemplateError(`${fn} is not supported locally`);
      }
    }
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      const value = this.evaluate(v);
      if (value !== undefined) out[k] = value;
    }
    return out;
  }

  isCreated(logicalId) {
    const cond = this.resources[logicalId]?.Condition;
    return cond === undefined || this.condition(cond);
  }

  resourcesOfType(...types) {
    return Object.entries(this.resources)
      .filter(([id, r]) => types.includes(r.Type) && this.isCreated(id))
      .map(([id]) => id);
  }

  // A function's properties with Globals.Function merged in (Environment
  // variables merged key by key, as SAM does), intrinsics evaluated.
  functionProperties(logicalId) {
    const globals = this.template.Globals?.Function ?? {};
    const own = this.resources[logicalId].Properties ?? {};
    const merged = { ...globals, ...own };
    const env = { ...(globals.Environment?.Variables ?? {}), ...(own.Environment?.Variables ?? {}) };
    merged.Environment = { Variables: env };
    return this.evaluate(merged);
  }

  functions() {
    return this.resourcesOfType('AWS::Serverless::Function', 'AWS::Lambda::Function');
  }

  // The state machine that this set of parameters creates (exactly one).
  stateMachineId() {
    const ids = this.resourcesOfType('AWS::Serverless::StateMachine');
    if (ids.length !== 1) throw new TemplateError(`expected one state machine for these parameters, found ${ids.length}: ${ids.join(', ')}`);
    return ids[0];
  }

  // The definition as deployed: DefinitionUri's text with every ${key} of
  // DefinitionSubstitutions replaced verbatim (CloudFormation substitutes
  // text, it does not re-encode), then parsed.
  definition(logicalId = this.stateMachineId()) {
    const props = this.resources[logicalId].Properties;
    if (typeof props.DefinitionUri !== 'string') throw new TemplateError(`${logicalId}: DefinitionUri must be a local file path`);
    const path = resolve(this.dir, props.DefinitionUri);
    const text = readFileSync(path, 'utf8');
    const subs = this.evaluate(props.DefinitionSubstitutions ?? {});
    const missing = new Set();
    const resolved = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (whole, key) => {
      if (key in subs) return String(subs[key]);
      missing.add(key);
      return whole;
    });
    if (missing.size) throw new TemplateError(`${props.DefinitionUri}: no DefinitionSubstitutions for ${[...missing].join(', ')}`);
    return { path, definition: JSON.parse(resolved), substitutions: subs, logicalId };
  }
}

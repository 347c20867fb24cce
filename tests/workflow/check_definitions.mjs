// Static checks of template.yaml and the state machine definitions:
//   - asl-validator (the real CLI) accepts both definitions, raw and with
//     their DefinitionSubstitutions applied, and rejects a broken copy;
//   - the template is what issue 6 asks for: the three functions with their
//     handler names, Globals, the bucket's protections, least-privilege
//     policies, substitutions that match the placeholders exactly;
//   - every Lambda task uses the optimized lambda:invoke integration
//     (FunctionName + Payload, a ResultSelector reading $.Payload), and its
//     retries and catches follow the error contract (errorTypes of the
//     functions); the Choice sends "no data" around the Map; large ranges
//     wait for an approval (a waitForTaskToken task), rejection and
//     timeouts are notified and fail the execution;
//   - the inline and distributed definitions differ only in the Map's mode.
// Usage: node check_definitions.mjs <repo root>
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const root = process.argv[2];
const { LocalStack } = await import(join(root, 'local/workflow/template.mjs'));
const validatorBin = join(root, 'local/node_modules/asl-validator/dist/bin/asl-validator.js');
const work = mkdtempSync(join(tmpdir(), 'workflow-defs-'));
let failures = 0;

function check(name, fn) {
  try {
    fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}\n     ${err.message.split('\n').join('\n     ')}`);
  }
}

function aslValidator(path) {
  return spawnSync(process.execPath, [validatorBin, '--json-path', path], { encoding: 'utf8', timeout: 30000 });
}

const HANDLERS = ['SplitDateRange', 'GenerateSubReport', 'MergeSubReports', 'SummarizeReport'];
const AWS_LAMBDA_TRANSIENT = ['Lambda.ClientExecutionTimeoutException', 'Lambda.ServiceException',
  'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];
const OUR_RETRYABLE = ['StoreUnavailable', 'StoreThrottled'];
const NEVER_RETRIED = ['InvalidInput', 'StoreAccessDenied', 'StoreNotFound', 'MergeMismatch', 'SummaryMismatch', 'SummaryTooLarge', 'InjectedFault', 'States.ALL', 'States.TaskFailed'];

const stacks = {
  INLINE: new LocalStack(join(root, 'template.yaml'), { parameters: { DataBucketName: 'data-bucket', MapMode: 'INLINE' } }),
  DISTRIBUTED: new LocalStack(join(root, 'template.yaml'), { parameters: { DataBucketName: 'data-bucket', MapMode: 'DISTRIBUTED' } }),
};
const t = stacks.INLINE.template;

// ---- asl-validator ----
for (const [mode, stack] of Object.entries(stacks)) {
  const id = stack.stateMachineId();
  const file = join(root, t.Resources[id].Properties.DefinitionUri);
  check(`asl-validator accepts ${t.Resources[id].Properties.DefinitionUri} as written`, () => {
    const r = aslValidator(file);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
  check(`asl-validator accepts the ${mode} definition with its substitutions`, () => {
    const resolved = join(work, `${mode}.json`);
    writeFileSync(resolved, JSON.stringify(stack.definition().definition));
    const r = aslValidator(resolved);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
}
check('asl-validator rejects a definition whose Catch leads nowhere (the check can fail)', () => {
  const def = stacks.INLINE.definition().definition;
  def.States.MergeSubReports.Catch[0].Next = 'NoSuchState';
  const broken = join(work, 'broken.json');
  writeFileSync(broken, JSON.stringify(def));
  const r = aslValidator(broken);
  assert.notEqual(r.status, 0, 'a broken definition was accepted');
});

// ---- template ----
check('SAM transform and Globals: provided.al2023, Architecture parameter, Timeout, MemorySize, DATA_STORE/REPORT_STORE', () => {
  assert.equal(t.Transform, 'AWS::Serverless-2016-10-31');
  const g = t.Globals.Function;
  assert.equal(g.Runtime, 'provided.al2023');
  assert.deepEqual(g.Architectures, [{ Ref: 'Architecture' }]);
  assert.deepEqual(t.Parameters.Architecture.AllowedValues, ['x86_64', 'arm64']);
  assert.equal(t.Parameters.Architecture.Default, 'x86_64');
  assert.ok(g.Timeout && g.MemorySize, 'Timeout and MemorySize set');
  for (const v of ['DATA_STORE', 'REPORT_STORE', 'SPLIT_TARGET_BYTES', 'REPORT_URL_EXPIRES']) assert.ok(g.Environment.Variables[v], v);
  for (const p of ['MaxConcurrency', 'PartSizeBytes', 'DataBucketName', 'DataPrefix', 'MapMode']) assert.ok(t.Parameters[p], `parameter ${p}`);
});

check('the four task functions, DownloadReport, RequestApproval, ApproveReport and ReportDurable, Handler = logical ID = handler name', () => {
  const fns = stacks.INLINE.functions();
  assert.deepEqual([...fns].sort(), [...HANDLERS, 'DownloadReport', 'ApproveReport', 'RequestApproval', 'ReportDurable'].sort());
  for (const fn of fns) assert.equal(stacks.INLINE.functionProperties(fn).Handler, fn);
});

check('DownloadReport: a streaming Function URL with IAM auth, reads reports/* and nothing else', () => {
  const p = stacks.INLINE.functionProperties('DownloadReport');
  assert.deepEqual(p.FunctionUrlConfig, { AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' });
  const actions = p.Policies.flatMap((x) => x.Statement).flatMap((s) => [].concat(s.Action));
  assert.deepEqual(actions.sort(), ['s3:GetObject', 's3:ListBucket']);
  const get = p.Policies.flatMap((x) => x.Statement).find((s) => s.Action === 's3:GetObject');
  assert.match(JSON.stringify(get.Resource), /reports\/\*/);
});

check('reports bucket: SSE, all public access blocked, TLS only, lifecycle for uploads/parts/old reports', () => {
  const b = t.Resources.ReportsBucket.Properties;
  assert.ok(b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm);
  for (const k of ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets']) {
    assert.equal(b.PublicAccessBlockConfiguration[k], true, k);
  }
  const rules = b.LifecycleConfiguration.Rules;
  assert.ok(rules.some((r) => r.AbortIncompleteMultipartUpload && r.Prefix === 'reports/'));
  assert.ok(rules.some((r) => r.ExpirationInDays && r.Prefix === 'reports/'));
  const deny = t.Resources.ReportsBucketPolicy.Properties.PolicyDocument.Statement[0];
  assert.equal(deny.Effect, 'Deny');
  assert.equal(deny.Condition.Bool['aws:SecureTransport'], 'false');
});

function statements(stack, id) {
  const props = stack.evaluate(stack.resources[id].Properties);
  return props.Policies.flatMap((p) => {
    assert.ok(typeof p === 'object' && p.Statement, `${id}: only inline statements (no broad managed policies): ${JSON.stringify(p)}`);
    return p.Statement;
  });
}
const list = (v) => (Array.isArray(v) ? v : [v]);

check('function policies: read only the data prefix, write only reports/, listings conditioned on a prefix', () => {
  const stack = stacks.INLINE;
  const dataObjects = 'arn:aws:s3:::data-bucket/datalake/prospects/*';
  const reportObjects = 'arn:aws:s3:::reportsbucket/reports/*';
  const writes = new Set(['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']);
  for (const fn of HANDLERS) {
    for (const st of statements(stack, fn)) {
      assert.equal(st.Effect, 'Allow');
      for (const action of list(st.Action)) {
        assert.ok(!action.includes('*'), `${fn}: wildcard action ${action}`);
        for (const res of list(st.Resource)) {
          assert.ok(!/^\*$|:::\*|\/\*\*?$/.test(res) || res.endsWith('/prospects/*') || res.endsWith('/reports/*'), `${fn}: broad resource ${res}`);
          if (action === 's3:ListBucket') {
            assert.ok(!res.includes('/'), `${fn}: ListBucket is a bucket action`);
            const prefix = st.Condition?.StringLike?.['s3:prefix'];
            // The data bucket is shared: listings stay inside the data
            // prefix. Only the merge may list the template's own reports
            // bucket unconditioned (404 rather than 403 on HEAD of a missing
            // key; see template.yaml).
            if (res === 'arn:aws:s3:::data-bucket') assert.equal(prefix, 'datalake/prospects/*', `${fn}: data listing without the prefix condition`);
            else assert.ok(fn === 'MergeSubReports' && res === 'arn:aws:s3:::reportsbucket', `${fn}: ListBucket on ${res}`);
          } else if (writes.has(action)) {
            assert.equal(res, reportObjects, `${fn}: ${action} outside reports/`);
          } else if (action === 's3:GetObject') {
            assert.ok(res === dataObjects || res === reportObjects, `${fn}: GetObject on ${res}`);
          }
        }
      }
    }
  }
  // ApproveReport only answers waiting tasks (Resource "*": IAM cannot scope
  // the tokens of service-integration tasks).
  const approve = statements(stack, 'ApproveReport');
  assert.deepEqual(approve.flatMap((s) => list(s.Action)).sort(), ['states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess']);
  // RequestApproval writes approval.json under reports/, publishes to the
  // approvers' topic only and heartbeats.
  const request = statements(stack, 'RequestApproval');
  assert.deepEqual(request.flatMap((s) => list(s.Action)).sort(), ['s3:PutObject', 'sns:Publish', 'states:SendTaskHeartbeat']);
  assert.deepEqual(request.find((s) => s.Action === 's3:PutObject').Resource, reportObjects);
  assert.deepEqual(request.find((s) => s.Action === 'sns:Publish').Resource, 'arn:aws:sns:us-east-1:123456789012:ApprovalTopic');
  assert.equal(stack.functionProperties('RequestApproval').Environment.Variables.APPROVAL_TOPIC_ARN, 'arn:aws:sns:us-east-1:123456789012:ApprovalTopic');
  // SplitDateRange lists the data and writes its plan; GenerateSubReport
  // never deletes.
  const split = statements(stack, 'SplitDateRange').flatMap((s) => list(s.Action));
  assert.deepEqual([...new Set(split)].sort(), ['s3:ListBucket', 's3:PutObject']);
  const gen = statements(stack, 'GenerateSubReport').flatMap((s) => list(s.Action));
  assert.ok(!gen.includes('s3:DeleteObject'));
});

check('ReportDurable: DurableConfig, least privilege (the data prefix, reports/, its topic, checkpoints of its own executions)', () => {
  const stack = stacks.INLINE;
  const p = stack.evaluate(stack.resources.ReportDurable.Properties);
  assert.ok(Number.isInteger(p.DurableConfig.ExecutionTimeout) && p.DurableConfig.ExecutionTimeout >= 1
    && p.DurableConfig.ExecutionTimeout <= 31622400, 'DurableConfig.ExecutionTimeout in 1..31622400');
  assert.ok(p.DurableConfig.RetentionPeriodInDays >= 1 && p.DurableConfig.RetentionPeriodInDays <= 90, 'RetentionPeriodInDays in 1..90');
  assert.equal(p.Environment.Variables.REPORT_TOPIC_ARN, 'arn:aws:sns:us-east-1:123456789012:ReportTopic');
  const sts = statements(stack, 'ReportDurable');
  const byAction = (a) => sts.filter((st) => list(st.Action).includes(a)).flatMap((st) => list(st.Resource));
  assert.deepEqual(byAction('sns:Publish'), ['arn:aws:sns:us-east-1:123456789012:ReportTopic', 'arn:aws:sns:us-east-1:123456789012:ApprovalTopic']);
  assert.equal(p.Environment.Variables.APPROVAL_TOPIC_ARN, 'arn:aws:sns:us-east-1:123456789012:ApprovalTopic');
  assert.ok(p.DurableConfig.ExecutionTimeout > Number(t.Parameters.ApprovalTimeoutSeconds.Default), 'the execution outlives the approval wait');
  // The durable SDK's calls, on this function's executions only: their ARNs
  // are the function's qualified ARN + /durable-execution/... (AWS's durable
  // security page), so NAME:* and not an unqualified ARN.
  for (const a of ['lambda:CheckpointDurableExecution', 'lambda:GetDurableExecutionState']) {
    assert.deepEqual(byAction(a), [`arn:aws:lambda:us-east-1:123456789012:function:${p.FunctionName}:*`], a);
  }
  const actions = new Set(sts.flatMap((st) => list(st.Action)));
  assert.deepEqual([...actions].sort(), ['lambda:CheckpointDurableExecution', 'lambda:GetDurableExecutionState',
    's3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:ListMultipartUploadParts',
    's3:PutObject', 'sns:Publish']);
  for (const st of sts) for (const r of list(st.Resource)) assert.ok(r !== '*', 'Resource *');
  const listings = sts.filter((st) => list(st.Action).includes('s3:ListBucket'));
  for (const st of listings) {
    for (const r of list(st.Resource)) {
      if (r === 'arn:aws:s3:::data-bucket') assert.equal(st.Condition?.StringLike?.['s3:prefix'], 'datalake/prospects/*');
      else assert.equal(r, 'arn:aws:s3:::reportsbucket', `ListBucket on ${r}`);
    }
  }
  assert.deepEqual(byAction('s3:GetObject').sort(), ['arn:aws:s3:::data-bucket/datalake/prospects/*', 'arn:aws:s3:::reportsbucket/reports/*']);
  for (const a of ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload']) assert.deepEqual(byAction(a), ['arn:aws:s3:::reportsbucket/reports/*'], a);
});


for (const [mode, stack] of Object.entries(stacks)) {
  const id = stack.stateMachineId();
  const fnArns = [...HANDLERS, 'RequestApproval'].map((h) => `arn:aws:lambda:us-east-1:123456789012:function:${h}`);
  check(`${mode} state machine role: invoke exactly the four functions and RequestApproval, publish only to the topic`, () => {
    const sts = statements(stack, id);
    const invoke = sts.filter((s) => list(s.Action).includes('lambda:InvokeFunction'));
    assert.equal(invoke.length, 1);
    assert.deepEqual([...list(invoke[0].Resource)].sort(), [...fnArns].sort());
    const publish = sts.filter((s) => list(s.Action).includes('sns:Publish'));
    assert.equal(publish.length, 1);
    assert.deepEqual(list(publish[0].Resource), ['arn:aws:sns:us-east-1:123456789012:ReportTopic']);
    for (const s of sts) {
      for (const a of list(s.Action)) assert.ok(!a.includes('*'), `wildcard action ${a}`);
      for (const r of list(s.Resource)) assert.ok(r !== '*', 'Resource *');
    }
  });

  check(`${mode}: DefinitionSubstitutions match the file's placeholders exactly`, () => {
    const props = t.Resources[id].Properties;
    const text = readFileSync(join(root, props.DefinitionUri), 'utf8');
    const placeholders = new Set([...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]));
    assert.deepEqual([...placeholders].sort(), Object.keys(props.DefinitionSubstitutions).sort());
  });

  check(`${mode}: Lambda tasks use lambda:invoke with Payload and a ResultSelector on $.Payload, retry the transient errors with FULL jitter, never retry InvalidInput, catch to the failure path`, () => {
    const { definition } = stack.definition();
    const tasks = [];
    const walk = (states) => {
      for (const [name, s] of Object.entries(states)) {
        if (s.Type === 'Task') tasks.push([name, s]);
        if (s.ItemProcessor) walk(s.ItemProcessor.States);
        for (const b of s.Branches ?? []) walk(b.States);
      }
    };
    walk(definition.States);
    const lambdaTasks = tasks.filter(([, s]) => s.Resource === 'arn:aws:states:::lambda:invoke');
    assert.deepEqual(lambdaTasks.map(([n]) => n).sort(), [...HANDLERS].sort());
    assert.ok(!tasks.some(([, s]) => s.Resource.startsWith('arn:aws:lambda:')), 'no plain function ARN left as a Resource');
    for (const [name, s] of lambdaTasks) {
      assert.equal(s.Parameters.FunctionName, `arn:aws:lambda:us-east-1:123456789012:function:${name}`);
      assert.ok(s.Parameters.Payload || s.Parameters['Payload.$'], `${name}: Payload`);
      const leaves = (o) => Object.values(o).flatMap((v) => (v && typeof v === 'object' ? leaves(v) : [v]));
      const selected = leaves(s.ResultSelector ?? {});
      assert.ok(selected.length > 0 && selected.every((v) => /^\$\.Payload(\.|$)|^States\./.test(v)), `${name}: ResultSelector reads $.Payload: ${JSON.stringify(s.ResultSelector)}`);
      const retried = s.Retry.flatMap((r) => r.ErrorEquals);
      for (const e of [...AWS_LAMBDA_TRANSIENT, ...OUR_RETRYABLE, 'Runtime.ExitError']) assert.ok(retried.includes(e), `${name} does not retry ${e}`);
      for (const e of NEVER_RETRIED) assert.ok(!retried.includes(e), `${name} retries ${e}`);
      for (const r of s.Retry) {
        assert.equal(r.JitterStrategy, 'FULL', `${name}: ${r.ErrorEquals[0]} retrier without full jitter`);
        assert.ok(r.BackoffRate > 1 && r.MaxAttempts >= 1 && r.IntervalSeconds >= 1);
      }
      assert.ok(s.TimeoutSeconds, `${name}: TimeoutSeconds (the local default of 60 s would be too short)`);
    }
    for (const name of ['SplitDateRange', 'GenerateSubReports', 'MergeSubReports']) {
      assert.deepEqual(definition.States[name].Catch, [{ ErrorEquals: ['States.ALL'], Next: 'DescribeFailure' }], name);
    }
    assert.equal(definition.States.SplitDateRange.Parameters.Payload['reportId.$'], '$$.Execution.Name');
    // No data: the Choice after the split goes around the Map to a
    // notification and a Succeed state.
    assert.equal(definition.States.SplitDateRange.Next, 'CheckData');
    const choice = definition.States.CheckData;
    assert.equal(choice.Type, 'Choice');
    assert.deepEqual(choice.Choices[0], { Variable: '$.partCount', NumericEquals: 0, Next: 'DescribeNoData' });
    assert.equal(choice.Default, 'CheckApproval');
    assert.equal(definition.States.DescribeNoData.Next, 'NotifyNoData');
    // More source bytes than ApprovalThresholdBytes: a callback task waits
    // for the approval; rejection and timeouts are notified and fail the
    // execution with a documented error.
    const approval = definition.States.SplitDateRange.ResultSelector.approval;
    assert.deepEqual(approval, { 'thresholdBytes.$': "States.StringToJson('10737418240')", 'timeoutSeconds.$': "States.StringToJson('604800')", 'heartbeatSeconds.$': "States.StringToJson('86400')" });
    assert.deepEqual(definition.States.CheckApproval.Choices, [{ Variable: '$.bytes', NumericGreaterThanPath: '$.approval.thresholdBytes', Next: 'RequestApproval' }]);
    assert.equal(definition.States.CheckApproval.Default, 'GenerateSubReports');
    const ask = definition.States.RequestApproval;
    assert.equal(ask.Resource, 'arn:aws:states:::lambda:invoke.waitForTaskToken');
    assert.equal(ask.Parameters.FunctionName, 'arn:aws:lambda:us-east-1:123456789012:function:RequestApproval');
    assert.equal(ask.Parameters.Payload['taskToken.$'], '$$.Task.Token');
    assert.equal(ask.TimeoutSecondsPath, '$.approval.timeoutSeconds');
    assert.equal(ask.HeartbeatSecondsPath, '$.approval.heartbeatSeconds');
    assert.equal(ask.Parameters.Payload['timeoutSeconds.$'], ask.TimeoutSecondsPath, 'the function records the same expiry');
    assert.equal(ask.Parameters.Payload['heartbeatSeconds.$'], ask.HeartbeatSecondsPath);
    assert.equal(ask.Next, 'GenerateSubReports');
    assert.deepEqual(ask.Catch.map((c) => [c.ErrorEquals, c.Next]), [[['ReportRejected'], 'DescribeRejected'],
      [['States.Timeout', 'States.HeartbeatTimeout'], 'DescribeApprovalTimedOut'], [['States.ALL'], 'DescribeFailure']]);
    const askRetried = ask.Retry.flatMap((r) => r.ErrorEquals);
    for (const e of [...AWS_LAMBDA_TRANSIENT, ...OUR_RETRYABLE]) assert.ok(askRetried.includes(e), `RequestApproval does not retry ${e}`);
    for (const e of ['ReportRejected', 'States.Timeout', 'States.HeartbeatTimeout', 'InvalidInput']) assert.ok(!askRetried.includes(e), `RequestApproval retries ${e}`);
    assert.equal(definition.States.DescribeRejected.Next, 'NotifyNotApproved');
    assert.equal(definition.States.DescribeApprovalTimedOut.Parameters.error, 'ApprovalTimedOut');
    assert.equal(definition.States.NotifyNotApproved.Next, 'NotApproved');
    assert.deepEqual(definition.States.NotApproved, { ...definition.States.NotApproved, Type: 'Fail', ErrorPath: '$.error', CausePath: '$.cause' });
    assert.equal(definition.States.NotifyNoData.Next, 'NoData');
    assert.equal(definition.States.NoData.Type, 'Succeed');
    // After the merge, a Parallel: one branch notifies, the other
    // summarizes; a failed summary is caught in its branch, any other branch
    // failure by the Parallel's Catch.
    assert.equal(definition.States.MergeSubReports.Next, 'PublishReport');
    const par = definition.States.PublishReport;
    assert.equal(par.Type, 'Parallel');
    assert.deepEqual(par.Branches.map((b) => b.StartAt), ['NotifySuccess', 'SummarizeReport']);
    assert.deepEqual(par.Catch, [{ ErrorEquals: ['States.ALL'], Next: 'DescribeFailure' }]);
    const summarize = par.Branches[1].States.SummarizeReport;
    assert.deepEqual(summarize.Catch, [{ ErrorEquals: ['States.ALL'], Next: 'SummaryFailed' }]);
    assert.equal(par.Branches[1].States.SummaryFailed.Type, 'Pass');
    assert.equal(par.End, true);
    const map = definition.States.GenerateSubReports;
    assert.equal(map.ItemProcessor.ProcessorConfig.Mode, mode);
    assert.ok(map.ItemsPath && map.ItemSelector && map.MaxConcurrencyPath);
    assert.ok(map.ItemProcessor.States.GenerateSubReport.ResultSelector, 'iterations trim their results');
    assert.equal(definition.States.ReportFailed.Type, 'Fail');
    for (const [, s] of tasks.filter(([, s]) => !s.Resource.startsWith('arn:aws:states:::lambda:invoke'))) {
      assert.equal(s.Resource, 'arn:aws:states:::sns:publish');
      assert.equal(s.Parameters.TopicArn, 'arn:aws:sns:us-east-1:123456789012:ReportTopic');
    }
  });
}

check('inline and distributed definitions differ only in the Map processor and how results reach the merge', () => {
  // Inline: the trimmed Map results go to MergeSubReports, which checks them
  // against the stored parts. Distributed: results are dropped and the merge
  // lists the parts itself, checking their number against partCount.
  const strip = (def) => {
    const copy = structuredClone(def);
    delete copy.Comment;
    const map = copy.States.GenerateSubReports;
    for (const k of ['Comment', 'Label', 'ToleratedFailurePercentage', 'ResultSelector', 'ResultPath']) delete map[k];
    delete map.ItemProcessor.ProcessorConfig;
    delete map.ItemProcessor.States.GenerateSubReport.ResultSelector;
    delete copy.States.MergeSubReports.Comment;
    delete copy.States.MergeSubReports.Parameters.Payload['parts.$'];
    delete copy.States.MergeSubReports.Parameters.Payload['partCount.$'];
    return copy;
  };
  const dist = stacks.DISTRIBUTED.definition().definition;
  assert.equal(dist.States.GenerateSubReports.ResultPath, null);
  assert.equal(dist.States.MergeSubReports.Parameters.Payload['partCount.$'], '$.partCount');
  const inl = stacks.INLINE.definition().definition;
  assert.deepEqual(inl.States.GenerateSubReports.ResultSelector, { 'parts.$': '$' });
  assert.equal(inl.States.MergeSubReports.Parameters.Payload['parts.$'], '$.parts');
  assert.deepEqual(strip(stacks.DISTRIBUTED.definition().definition), strip(stacks.INLINE.definition().definition));
});

rmSync(work, { recursive: true, force: true });
if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');

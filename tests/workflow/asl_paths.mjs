// The state machine's control flow, run by the real interpreter
// (aws-local-stepfunctions) on both definitions, with the Lambda and SNS
// tasks replaced by recording stand-ins that raise the functions' documented
// errorTypes. The Lambda stand-ins answer as the lambda:invoke integration
// does (the function's output under Payload; a function error named by its
// errorType with the error JSON as Cause). This isolates the ASL's own logic (retry, catch, failure path,
// what each state passes on); e2e.mjs runs the same definitions against the
// real functions under lambda-local.
// Usage: node asl_paths.mjs <repo root>
import assert from 'node:assert/strict';
import { join } from 'node:path';

const root = process.argv[2];
const { LocalStack } = await import(join(root, 'local/workflow/template.mjs'));
const { StateMachine } = await import(join(root, 'local/node_modules/aws-local-stepfunctions/build/main.node.esm.js'));
// As run.mjs does: the SNS messages serialised outside the interpreter
// (whose intrinsic functions strip backslashes; see sns_publish.mjs).
const { messageText, withLocalJsonMessages } = await import(join(root, 'local/workflow/sns_publish.mjs'));

function lambdaError(errorType, message) {
  const err = new Error(JSON.stringify({ errorMessage: message, errorType, stackTrace: [] }));
  err.name = errorType;
  return err;
}

// A function as lambda:invoke calls it: Parameters {FunctionName, Payload}
// in, the Invoke response (Payload = the function's output) out.
function viaLambdaInvoke(name, fn) {
  return (params) => {
    assert.equal(params.FunctionName, `arn:aws:lambda:us-east-1:123456789012:function:${name}`);
    return { ExecutedVersion: '$LATEST', Payload: fn(params.Payload), StatusCode: 200,
      SdkHttpMetadata: { HttpStatusCode: 200 }, SdkResponseMetadata: { RequestId: 'r' } };
  };
}

// Stand-ins that behave like the functions' contract: `faults` maps a step
// ("split", "gen:<index>", "merge") to an errorType raised on every attempt
// (a string) or to the errorTypes of its first attempts (an array), after
// which the step succeeds.
const sns = (input) => ({ ...input, Message: messageText(input.Message) });

function world(faults = {}, { partCount = 4 } = {}) {
  const calls = [];
  const fail = (step) => {
    const f = faults[step];
    if (typeof f === 'string') throw lambdaError(f, `stand-in ${step} fault`);
    if (f?.length) throw lambdaError(f.shift(), `stand-in ${step} fault`);
  };
  const handlers = {
    SplitDateRange: (input) => {
      calls.push(['SplitDateRange', input]);
      fail('split');
      const parts = [...Array(partCount).keys()].map((i) => ({ index: i, from: `2024-01-0${i + 1}`, to: `2024-01-0${i + 1}` }));
      return { parts, partCount, bytes: partCount * 1000, reportId: input.reportId, planKey: 'plan.json' };
    },
    GenerateSubReport: (input) => {
      calls.push(['GenerateSubReport', input]);
      fail(`gen:${input.part.index}`);
      return { index: input.part.index, key: `reports/${input.customerId}/${input.reportId}/part-${input.part.index}.csv`, rows: 10 + input.part.index, bytes: 1000, skipped: 1 };
    },
    MergeSubReports: (input) => {
      calls.push(['MergeSubReports', input]);
      fail('merge');
      const parts = input.parts ?? [0, 1, 2, 3].map((i) => ({ rows: 10 + i }));
      return { customerId: input.customerId, reportId: input.reportId, uri: `file:///store/reports/${input.customerId}/${input.reportId}/report.csv`, rows: parts.reduce((a, p) => a + p.rows, 0), parts: parts.length, bytes: 4000, skipped: 4 };
    },
    SummarizeReport: (input) => {
      calls.push(['SummarizeReport', input]);
      fail('summary');
      return { customerId: input.customerId, reportId: input.reportId, key: `reports/${input.customerId}/${input.reportId}/summary.json`, rows: 46, days: 4, types: 2 };
    },
    NotifySuccess: (input) => { calls.push(['NotifySuccess', sns(input)]); return { MessageId: 'm1' }; },
    NotifyNoData: (input) => { calls.push(['NotifyNoData', sns(input)]); return { MessageId: 'm3' }; },
    NotifyFailure: (input) => { calls.push(['NotifyFailure', sns(input)]); return { MessageId: 'm2' }; },
  };
  for (const name of ['SplitDateRange', 'GenerateSubReport', 'MergeSubReports', 'SummarizeReport']) handlers[name] = viaLambdaInvoke(name, handlers[name]);
  return { calls, handlers };
}

async function run(definition, w, name = 'rep-1') {
  const execution = new StateMachine(withLocalJsonMessages(definition)).run(
    { customerId: 'c-1', from: '2024-01-01', to: '2024-01-04' },
    { overrides: { taskResourceLocalHandlers: w.handlers }, context: { Execution: { Name: name } } },
  );
  try {
    return { output: await execution.result };
  } catch (err) {
    return { error: err.cause?.name, cause: err.cause?.message };
  }
}

const count = (calls, step) => calls.filter(([s]) => s === step).length;
let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}\n     ${err.stack.split('\n').slice(0, 4).join('\n     ')}`);
  }
}

for (const mode of ['INLINE', 'DISTRIBUTED']) {
  const stack = new LocalStack(join(root, 'template.yaml'), { parameters: { DataBucketName: 'b', MapMode: mode, MaxConcurrency: '2' } });
  const { definition } = stack.definition();

  await check(`${mode}: success passes reportId = execution name, trims Map results, notifies with the merge output`, async () => {
    const w = world();
    const r = await run(definition, w, 'exec-name-42');
    assert.equal(r.error, undefined, r.cause);
    assert.deepEqual(w.calls[0], ['SplitDateRange', { customerId: 'c-1', from: '2024-01-01', to: '2024-01-04', reportId: 'exec-name-42' }]);
    const gens = w.calls.filter(([s]) => s === 'GenerateSubReport').map(([, i]) => i);
    assert.equal(gens.length, 4);
    for (const g of gens) assert.deepEqual(Object.keys(g).sort(), ['customerId', 'part', 'reportId'], JSON.stringify(g));
    assert.ok(gens.every((g) => g.reportId === 'exec-name-42' && g.customerId === 'c-1'));
    const merge = w.calls.find(([s]) => s === 'MergeSubReports')[1];
    if (mode === 'INLINE') {
      assert.deepEqual(merge.parts.map((p) => Object.keys(p).sort()), Array(4).fill(['bytes', 'index', 'rows', 'skipped']));
      assert.deepEqual(merge.parts.map((p) => p.index), [0, 1, 2, 3], 'Map keeps the item order');
    } else {
      assert.deepEqual(merge, { customerId: 'c-1', reportId: 'exec-name-42', partCount: 4 }, 'the merge lists the parts itself');
    }
    const note = w.calls.find(([s]) => s === 'NotifySuccess')[1];
    assert.equal(note.TopicArn, 'arn:aws:sns:us-east-1:123456789012:ReportTopic');
    assert.equal(JSON.parse(note.Message).uri, 'file:///store/reports/c-1/exec-name-42/report.csv');
    const { summary, ...report } = r.output;
    assert.deepEqual(report, JSON.parse(note.Message), 'the execution output is the merge result…');
    assert.deepEqual(summary.key, 'reports/c-1/exec-name-42/summary.json', '…plus the summary');
    assert.deepEqual(w.calls.find(([s]) => s === 'SummarizeReport')[1], { customerId: 'c-1', reportId: 'exec-name-42' });
    assert.equal(count(w.calls, 'NotifyFailure'), 0);
  });

  await check(`${mode}: no source data in the range: the Choice skips the Map, notifies NO_DATA and succeeds`, async () => {
    const w = world({}, { partCount: 0 });
    const r = await run(definition, w, 'empty-1');
    assert.equal(r.error, undefined, r.cause);
    assert.equal(count(w.calls, 'GenerateSubReport'), 0);
    assert.equal(count(w.calls, 'MergeSubReports'), 0);
    assert.equal(count(w.calls, 'NotifySuccess') + count(w.calls, 'NotifyFailure'), 0);
    const note = w.calls.find(([s]) => s === 'NotifyNoData')[1];
    const msg = JSON.parse(note.Message);
    assert.deepEqual({ ...msg, message: undefined }, { status: 'NO_DATA', reportId: 'empty-1', customerId: 'c-1', from: '2024-01-01', to: '2024-01-04', message: undefined });
    assert.deepEqual(r.output, msg, 'the execution output is the NO_DATA description');
  });

  await check(`${mode}: a failing SummarizeReport branch is caught in its branch: report notified, execution succeeds, output says why`, async () => {
    const w = world({ summary: 'SummaryMismatch' });
    const r = await run(definition, w);
    assert.equal(r.error, undefined, r.cause);
    assert.equal(count(w.calls, 'SummarizeReport'), 1, 'SummaryMismatch is not retried');
    assert.equal(count(w.calls, 'NotifySuccess'), 1);
    assert.equal(count(w.calls, 'NotifyFailure'), 0);
    assert.equal(r.output.summary.status, 'FAILED');
    assert.equal(r.output.summary.error, 'SummaryMismatch');
    assert.equal(JSON.parse(r.output.summary.cause).errorType, 'SummaryMismatch');
    assert.equal(r.output.rows, 46, 'the merge result is still the output');
  });

  await check(`${mode}: StoreUnavailable on SummarizeReport is retried inside the Parallel`, async () => {
    const w = world({ summary: ['StoreUnavailable'] });
    const r = await run(definition, w);
    assert.equal(r.error, undefined, r.cause);
    assert.equal(count(w.calls, 'SummarizeReport'), 2);
    assert.equal(r.output.summary.rows, 46);
  });

  await check(`${mode}: a notification branch that keeps failing fails the Parallel, whose Catch takes the failure path`, async () => {
    const w = world();
    let attempts = 0;
    w.handlers.NotifySuccess = () => { attempts++; throw lambdaError('SNS.InternalErrorException', 'down'); };
    const r = await run(definition, w);
    assert.equal(r.error, 'SNS.InternalErrorException');
    assert.equal(attempts, 4, 'publish tried 1 + 3 times');
    assert.equal(count(w.calls, 'NotifyFailure'), 1);
    assert.equal(JSON.parse(w.calls.find(([s]) => s === 'NotifyFailure')[1].Message).error, 'SNS.InternalErrorException');
  });

  await check(`${mode}: StoreUnavailable / StoreThrottled / Runtime.ExitError on a part are retried and the run succeeds`, async () => {
    const once = world({ 'gen:1': ['StoreUnavailable'], 'gen:2': ['StoreThrottled'], 'gen:3': ['Runtime.ExitError'] });
    const r = await run(definition, once);
    assert.equal(r.error, undefined, r.cause);
    assert.equal(count(once.calls, 'GenerateSubReport'), 7, 'four parts, three of them twice');
    assert.equal(r.output.rows, 10 + 11 + 12 + 13);
    assert.equal(count(once.calls, 'NotifySuccess'), 1);
  });

  await check(`${mode}: InvalidInput fails fast at SplitDateRange: one attempt, failure notified, execution fails with the cause`, async () => {
    const w = world({ split: 'InvalidInput' });
    const r = await run(definition, w);
    assert.equal(r.error, 'InvalidInput');
    assert.equal(JSON.parse(r.cause).errorMessage, 'stand-in split fault', 'the Cause is the error JSON, as lambda:invoke gives it');
    assert.equal(count(w.calls, 'SplitDateRange'), 1, 'no retry');
    assert.equal(count(w.calls, 'GenerateSubReport'), 0);
    const msg = JSON.parse(w.calls.find(([s]) => s === 'NotifyFailure')[1].Message);
    assert.equal(msg.status, 'FAILED');
    assert.equal(msg.error, 'InvalidInput');
    assert.equal(JSON.parse(msg.cause).errorType, 'InvalidInput', 'the published cause is the error JSON, intact');
    assert.deepEqual(msg.input, { customerId: 'c-1', from: '2024-01-01', to: '2024-01-04' });
  });

  await check(`${mode}: a permanent fault in one part (InjectedFault) is caught: no merge, failure notified with the cause`, async () => {
    const w = world({ 'gen:2': 'InjectedFault' });
    const r = await run(definition, w);
    assert.equal(r.error, 'InjectedFault');
    assert.equal(w.calls.filter(([s, i]) => s === 'GenerateSubReport' && i.part.index === 2).length, 1, 'not retried');
    assert.equal(count(w.calls, 'MergeSubReports'), 0);
    assert.equal(JSON.parse(w.calls.find(([s]) => s === 'NotifyFailure')[1].Message).error, 'InjectedFault');
  });

  await check(`${mode}: MergeMismatch is not retried and fails the execution`, async () => {
    const w = world({ merge: 'MergeMismatch' });
    const r = await run(definition, w);
    assert.equal(r.error, 'MergeMismatch');
    assert.equal(count(w.calls, 'MergeSubReports'), 1);
    assert.equal(count(w.calls, 'NotifySuccess'), 0);
    assert.equal(count(w.calls, 'NotifyFailure'), 1);
  });

  await check(`${mode}: the execution still fails with the original cause when the failure notification cannot be sent`, async () => {
    const w = world({ split: 'StoreAccessDenied' });
    let attempts = 0;
    w.handlers.NotifyFailure = () => { attempts++; throw lambdaError('SNS.InternalErrorException', 'down'); };
    const r = await run(definition, w);
    assert.equal(r.error, 'StoreAccessDenied');
    assert.equal(attempts, 4, 'publish tried 1 + 3 times');
  });
}

if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');

// The local execution history (local/workflow/history.mjs) against the
// service's model, and the local Step Functions API's DescribeExecution /
// GetExecutionHistory / StartExecution through awscli.
//
// A state machine with every pattern the report workflow uses (Map with
// concurrent iterations, Parallel, Retry, Catch, Choice, Pass, Fail) runs
// under the real interpreter (aws-local-stepfunctions) with local task
// handlers; its history must:
//   - validate against botocore's stepfunctions model (the one Debian's
//     awscli ships): every member of every event and details object is in
//     the model, required members are there, enums and types match;
//   - have the event sequence Step Functions writes (checked event by event
//     for the sequential parts: retries, a caught failure, Choice, Fail),
//     with previousEventId chains as the service links them;
//   - tie each Map iteration's TaskScheduled to its own item.
// Then the same executions are served by sfn_api.mjs and read with awscli.
//
// usage: node history.mjs <repo root>
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.argv[2];
if (!root) {
  console.error('usage: history.mjs <repo root>');
  process.exit(2);
}
const local = (p) => pathToFileURL(join(root, 'local', p)).href;
const { StateMachine } = await import(local('node_modules/aws-local-stepfunctions/build/main.node.esm.js'));
const { LocalExecution, Executions } = await import(local('workflow/executions.mjs'));
const { startSfnApi, TaskTokens } = await import(local('workflow/sfn_api.mjs'));

const MODEL = '/usr/lib/python3/dist-packages/awscli/botocore/data/stepfunctions/2016-11-23/service-2.json';
const AWS = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
const REGION = 'us-east-1';
const SM_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:HistoryTest';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const INVOKE = 'arn:aws:states:::lambda:invoke';

const definition = {
  StartAt: 'Split',
  States: {
    Split: {
      Type: 'Task', Resource: INVOKE, Parameters: { FunctionName: 'split', 'Payload.$': '$' },
      ResultSelector: { 'items.$': '$.Payload.items' }, TimeoutSeconds: 30,
      Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 1, MaxAttempts: 2 }], Next: 'Check',
    },
    Check: { Type: 'Choice', Choices: [{ Variable: '$.items[0]', NumericEquals: 0, Next: 'Nothing' }], Default: 'Each' },
    Nothing: { Type: 'Succeed' },
    Each: {
      Type: 'Map', ItemsPath: '$.items', MaxConcurrency: 3,
      ItemSelector: { 'value.$': '$$.Map.Item.Value', 'index.$': '$$.Map.Item.Index' },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: 'Square',
        States: {
          Square: {
            Type: 'Task', Resource: INVOKE, Parameters: { FunctionName: 'square', 'Payload.$': '$' },
            ResultSelector: { 'v.$': '$.Payload' }, End: true,
          },
        },
      },
      Next: 'Both',
    },
    Both: {
      Type: 'Parallel',
      Parameters: { 'squares.$': '$' },
      Branches: [
        { StartAt: 'Notify', States: { Notify: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', 'Message.$': 'States.JsonToString($)' }, End: true } } },
        {
          StartAt: 'Summarize',
          States: {
            Summarize: {
              Type: 'Task', Resource: INVOKE, Parameters: { FunctionName: 'summarize', 'Payload.$': '$' },
              Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'SummaryFailed' }], End: true,
            },
            SummaryFailed: { Type: 'Pass', Result: 'no summary', End: true },
          },
        },
      ],
      Next: 'Decide',
    },
    Decide: { Type: 'Choice', Choices: [{ Variable: '$[1]', StringEquals: 'no summary', Next: 'Fail' }], Default: 'Done' },
    Done: { Type: 'Succeed' },
    Fail: { Type: 'Fail', Error: 'Report.NoSummary', Cause: 'the summary branch failed' },
  },
};

class TaskError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

function handlers(state) {
  const lambdaResult = (payload) => ({ ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 });
  return {
    Split: async (p) => {
      state.splitCalls++;
      if (state.splitCalls === 1) throw new TaskError('Flaky', '{"errorType":"Flaky","errorMessage":"try again"}');
      return lambdaResult({ items: p.Payload.items });
    },
    // Iterations finish out of order: the item decides the delay.
    Square: async (p) => {
      await sleep(5 * ((7 - p.Payload.value) % 4));
      return lambdaResult(p.Payload.value * p.Payload.value);
    },
    Notify: async () => ({ MessageId: 'm-1' }),
    Summarize: async () => { throw new TaskError('SummaryTooLarge', '{"errorType":"SummaryTooLarge","errorMessage":"too many cells"}'); },
  };
}

// Runs `definition` once as execution `name`; resolves with the
// LocalExecution once its history is complete.
function runExecution(name, input, { def = definition, taskHandlers = handlers({ splitCalls: 0 }) } = {}) {
  const record = new LocalExecution({ stateMachineArn: SM_ARN, name, definition: def, region: REGION });
  const execution = new StateMachine(def).run(input, {
    overrides: { taskResourceLocalHandlers: record.history.wrapHandlers(taskHandlers), retryIntervalOverrides: { Split: 0 } },
    context: { Execution: { Id: record.executionArn, Name: name } },
  });
  record.abort = execution.abort;
  const consumed = (async () => { for await (const ev of record.history.observe(execution.eventLogs)) void ev; })();
  record.done = execution.result.then((output) => ({ status: 'SUCCEEDED', output }), (err) => ({
    status: 'FAILED', error: (err.cause ?? err).name, cause: (err.cause ?? err).message,
  })).then(async (end) => {
    await Promise.race([consumed, sleep(2000)]);
    record.history.finish(end);
    return record;
  });
  return record;
}

// ---- the service model ----

const model = JSON.parse(readFileSync(MODEL, 'utf8'));

function checkShape(value, shapeName, where) {
  const shape = model.shapes[shapeName];
  assert.ok(shape, `${where}: no shape ${shapeName} in the model`);
  switch (shape.type) {
    case 'structure': {
      assert.equal(typeof value, 'object', `${where}: ${shapeName} must be an object`);
      for (const req of shape.required ?? []) assert.ok(value[req] !== undefined, `${where}: ${shapeName}.${req} is required`);
      for (const [k, v] of Object.entries(value)) {
        const member = shape.members[k];
        assert.ok(member, `${where}: ${k} is not a member of ${shapeName}`);
        checkShape(v, member.shape, `${where}.${k}`);
      }
      break;
    }
    case 'list':
      assert.ok(Array.isArray(value), `${where}: a list`);
      value.forEach((v, i) => checkShape(v, shape.member.shape, `${where}[${i}]`));
      break;
    case 'string':
      assert.equal(typeof value, 'string', `${where}: a string`);
      if (shape.enum) assert.ok(shape.enum.includes(value), `${where}: ${value} is not one of ${shapeName}`);
      if (shape.max !== undefined) assert.ok(value.length <= shape.max, `${where}: longer than ${shape.max}`);
      break;
    case 'long':
    case 'integer':
      assert.ok(Number.isInteger(value), `${where}: an integer`);
      break;
    case 'boolean':
      assert.equal(typeof value, 'boolean', `${where}: a boolean`);
      break;
    case 'timestamp':
      // The JSON protocol sends epoch seconds.
      assert.equal(typeof value, 'number', `${where}: epoch seconds`);
      assert.ok(value > 1.5e9 && value < 4e9, `${where}: ${value} is not epoch seconds`);
      break;
    default:
      assert.fail(`${where}: unexpected shape type ${shape.type}`);
  }
}

// The details member an event of `type` carries (HistoryEvent's naming).
function detailsKeys(event) {
  return Object.keys(event).filter((k) => k.endsWith('EventDetails'));
}

// ---- the recorded history ----

const failing = runExecution('hist-1', { items: [1, 2, 3, 4, 5, 6] });
await failing.done;
const events = failing.history.events;
checkShape({ events }, 'GetExecutionHistoryOutput', 'history');
events.forEach((e, i) => {
  assert.equal(e.id, i + 1, 'ids count from 1');
  assert.ok(e.previousEventId < e.id, `event ${e.id}: previousEventId ${e.previousEventId} points forward`);
  if (i > 0) assert.ok(e.timestamp >= events[i - 1].timestamp, `event ${e.id}: timestamps ascend`);
  for (const k of detailsKeys(e)) {
    const expected = `${e.type[0].toLowerCase()}${e.type.slice(1)}EventDetails`;
    const stateDetail = /StateEntered$/.test(e.type) ? 'stateEnteredEventDetails' : /StateExited$/.test(e.type) ? 'stateExitedEventDetails'
      : /^MapIteration/.test(e.type) ? `mapIteration${e.type.slice(12)}EventDetails` : expected;
    assert.equal(k, stateDetail, `event ${e.id} ${e.type} carries ${k}`);
  }
});
const byId = (id) => events[id - 1];
const seq = (list) => list.map((e) => e.type);

// The top level, event by event: retry (TaskFailed then a new
// TaskScheduled), Choice, the Map, the Parallel, Choice, Fail.
const top = events.filter((e) => {
  const name = e.stateEnteredEventDetails?.name ?? e.stateExitedEventDetails?.name;
  return !['Square', 'Notify', 'Summarize', 'SummaryFailed'].includes(name);
});
const split = top.slice(0, 10);
assert.deepEqual(seq(split), ['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskFailed',
  'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited', 'ChoiceStateEntered']);
assert.deepEqual(split.map((e) => e.previousEventId), [0, 0, 2, 3, 4, 5, 6, 7, 8, 9], 'the retried task chains its events');
assert.deepEqual(JSON.parse(split[2].taskScheduledEventDetails.parameters), { FunctionName: 'split', Payload: { items: [1, 2, 3, 4, 5, 6] } });
assert.equal(split[2].taskScheduledEventDetails.timeoutInSeconds, 30);
assert.deepEqual({ ...split[4].taskFailedEventDetails }, { resourceType: 'lambda', resource: 'invoke', error: 'Flaky', cause: '{"errorType":"Flaky","errorMessage":"try again"}' });
assert.deepEqual(JSON.parse(split[7].taskSucceededEventDetails.output), { ExecutedVersion: '$LATEST', Payload: { items: [1, 2, 3, 4, 5, 6] }, StatusCode: 200 },
  'TaskSucceeded holds the raw result, before ResultSelector');
assert.deepEqual(JSON.parse(split[8].stateExitedEventDetails.output), { items: [1, 2, 3, 4, 5, 6] });

// The Map: one MapStateStarted with the length, each iteration linked to
// MapStateStarted, its Task linked to its iteration, then
// MapStateSucceeded, MapStateExited.
const mapStarted = events.find((e) => e.type === 'MapStateStarted');
assert.equal(mapStarted.mapStateStartedEventDetails.length, 6);
assert.equal(byId(mapStarted.previousEventId).type, 'MapStateEntered');
const iterations = events.filter((e) => e.type === 'MapIterationStarted');
assert.deepEqual(iterations.map((e) => e.mapIterationStartedEventDetails.index).sort(), [0, 1, 2, 3, 4, 5]);
for (const it of iterations) {
  assert.equal(it.previousEventId, mapStarted.id);
  const { index } = it.mapIterationStartedEventDetails;
  const entered = events.find((e) => e.type === 'TaskStateEntered' && e.previousEventId === it.id);
  assert.ok(entered, `iteration ${index}: its first state points at MapIterationStarted`);
  assert.deepEqual(JSON.parse(entered.stateEnteredEventDetails.input), { value: index + 1, index });
  const scheduled = events.find((e) => e.type === 'TaskScheduled' && e.previousEventId === entered.id);
  assert.deepEqual(JSON.parse(scheduled.taskScheduledEventDetails.parameters).Payload, { value: index + 1, index },
    `iteration ${index}: TaskScheduled has its own item's Parameters`);
  const started = events.find((e) => e.previousEventId === scheduled.id);
  const succeeded = events.find((e) => e.previousEventId === started.id);
  assert.equal(JSON.parse(succeeded.taskSucceededEventDetails.output).Payload, (index + 1) ** 2);
  const exited = events.find((e) => e.previousEventId === succeeded.id);
  assert.deepEqual(JSON.parse(exited.stateExitedEventDetails.output), { v: (index + 1) ** 2 });
  const end = events.find((e) => e.type === 'MapIterationSucceeded' && e.previousEventId === exited.id);
  assert.deepEqual(end.mapIterationSucceededEventDetails, { name: 'Each', index });
}
const mapSucceeded = events.find((e) => e.type === 'MapStateSucceeded');
assert.ok(events.filter((e) => e.type === 'MapIterationSucceeded').every((e) => e.id < mapSucceeded.id), 'all iterations end before the Map');
assert.equal(byId(mapSucceeded.id + 1).type, 'MapStateExited');

// The Parallel: the caught branch is TaskFailed, TaskStateExited (the error
// output), then the Catch's state; both branches start at
// ParallelStateStarted.
const parStarted = events.find((e) => e.type === 'ParallelStateStarted');
const branchFirsts = events.filter((e) => e.type === 'TaskStateEntered' && e.previousEventId === parStarted.id);
assert.deepEqual(branchFirsts.map((e) => e.stateEnteredEventDetails.name).sort(), ['Notify', 'Summarize']);
const summarize = branchFirsts.find((e) => e.stateEnteredEventDetails.name === 'Summarize');
const chain = [summarize];
for (let next = events.find((e) => e.previousEventId === summarize.id); next; next = events.find((e) => e.previousEventId === chain.at(-1).id && e.type !== 'ParallelStateSucceeded')) {
  chain.push(next);
}
assert.deepEqual(seq(chain), ['TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskFailed', 'TaskStateExited', 'PassStateEntered', 'PassStateExited']);
assert.equal(chain[3].taskFailedEventDetails.error, 'SummaryTooLarge');
assert.equal(JSON.parse(chain[4].stateExitedEventDetails.output).error.Error, 'SummaryTooLarge', 'the caught error goes to ResultPath');
const notifyScheduled = events.find((e) => e.type === 'TaskScheduled' && e.taskScheduledEventDetails.resourceType === 'sns');
assert.equal(notifyScheduled.taskScheduledEventDetails.resource, 'publish');
const parSucceeded = events.find((e) => e.type === 'ParallelStateSucceeded');
assert.ok(parSucceeded.previousEventId >= chain.at(-1).id || parSucceeded.previousEventId > notifyScheduled.id);

// The end: Choice, Fail, ExecutionFailed with the Fail state's error.
assert.deepEqual(seq(events.slice(-5)), ['ParallelStateExited', 'ChoiceStateEntered', 'ChoiceStateExited', 'FailStateEntered', 'ExecutionFailed']);
assert.deepEqual(events.at(-1).executionFailedEventDetails, { error: 'Report.NoSummary', cause: 'the summary branch failed' });
assert.equal(events.at(-1).previousEventId, events.at(-2).id);

const described = failing.describe();
checkShape(described, 'DescribeExecutionOutput', 'describe');
assert.equal(described.status, 'FAILED');
assert.equal(described.error, 'Report.NoSummary');
assert.equal(described.executionArn, 'arn:aws:states:us-east-1:123456789012:execution:HistoryTest:hist-1');
console.log(`history: ${events.length} events, valid against ${MODEL}`);

// ---- the execution view of it (view.mjs), as markup ----
const { checkStatic } = await import(pathToFileURL(join(root, 'tests/workflow/view_check.mjs')).href);
const page = failing.view();
checkStatic(page);
const outcomeOf = (name) => new RegExp(`data-state="${name}" data-outcome="([a-z-]+)"`).exec(page)?.[1];
assert.deepEqual(Object.fromEntries(['Split', 'Check', 'Nothing', 'Each', 'Square', 'Both', 'Notify', 'Summarize', 'SummaryFailed', 'Decide', 'Done', 'Fail']
  .map((n) => [n, outcomeOf(n)])), {
  Split: 'retried', Check: 'succeeded', Nothing: 'not-run', Each: 'succeeded', Square: 'succeeded', Both: 'succeeded', Notify: 'succeeded',
  Summarize: 'caught', SummaryFailed: 'succeeded', Decide: 'succeeded', Done: 'not-run', Fail: 'failed',
});
assert.match(page, /<text class="badge"[^>]*>retried 1×<\/text>/, 'the retried state says how often');
assert.match(page, /<text class="badge"[^>]*>6\/6 succeeded<\/text>/, 'the Map\'s inner state counts its iterations');
assert.match(page, /<path class="edge catch taken"[^>]*data-from="Summarize" data-to="SummaryFailed"/, 'the taken Catch');
assert.match(page, /<path class="edge default taken"[^>]*data-from="Check" data-to="Each"/, 'the Choice went by its Default');
assert.match(page, /<path class="edge choice"[^>]*data-from="Check" data-to="Nothing"/, 'the rule not taken');
const data = JSON.parse(/<script type="application\/json" id="execution-data">([\s\S]*?)<\/script>/.exec(page)[1]);
assert.equal(data.initial, 'Fail', 'the page opens where it failed');
assert.equal(data.states.Square.runs.length, 6);
assert.deepEqual(data.states.Square.runs.map((r) => r.iteration).sort(), [0, 1, 2, 3, 4, 5]);
assert.equal(data.states.Summarize.runs[0].failures[0].error, 'SummaryTooLarge');
// The data block cannot end its script element early.
const hostile = new LocalExecution({ stateMachineArn: SM_ARN, name: 'x', definition: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } } });
hostile.history.record({ type: 'ExecutionStarted', timestamp: Date.now(), input: { s: '</script><script>alert(1)</script>' } });
hostile.history.record({ type: 'StateEntered', timestamp: Date.now(), state: { name: 'P', type: 'Pass', input: { s: '</script><img src=x>' } } });
const hostilePage = hostile.view();
assert.equal(hostilePage.match(/<script/g).length, 2, 'no script element from the data');
checkStatic(hostilePage);
console.log('view: outcomes, badges, taken transitions, data block: ok');

// ---- a task waiting for its token, then the execution aborted ----
{
  const approvalDef = {
    StartAt: 'Prepare',
    States: {
      Prepare: { Type: 'Pass', Next: 'Approve' },
      Approve: {
        Type: 'Task', Resource: `${INVOKE}.waitForTaskToken`, HeartbeatSeconds: 60, TimeoutSeconds: 600,
        Parameters: { FunctionName: 'approve', Payload: { 'token.$': '$$.Execution.Name' } }, End: true,
      },
    },
  };
  let called;
  const waiting = new Promise((resolve) => { called = resolve; });
  let record;
  let endWait;
  record = runExecution('hist-wait', { n: 1 }, {
    def: approvalDef,
    taskHandlers: {
      Approve: (params) => {
        setImmediate(() => { record.history.submitted('Approve', params); called(); });
        return new Promise((_, reject) => { endWait = reject; });
      },
    },
  });
  await waiting;
  // The interpreter's events reach the history through an async iteration:
  // wait until the submission is recorded (not a fixed 20 ms a loaded
  // machine may not give), then check the order.
  for (const end = Date.now() + 10000; Date.now() < end && !record.history.events.some((e) => e.type === 'TaskSubmitted');) await sleep(10);
  const live = record.history.events;
  assert.deepEqual(live.slice(-4).map((e) => e.type), ['TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSubmitted']);
  const scheduled = live.at(-3).taskScheduledEventDetails;
  assert.deepEqual([scheduled.resourceType, scheduled.resource, scheduled.heartbeatInSeconds, scheduled.timeoutInSeconds], ['lambda', 'invoke.waitForTaskToken', 60, 600]);
  assert.equal(record.describe().status, 'RUNNING');
  assert.equal(record.describe().stopDate, undefined);
  const waitingPage = record.view();
  assert.match(waitingPage, /data-state="Approve" data-outcome="waiting"/, 'a task waiting for its token is drawn waiting');
  assert.match(waitingPage, /data-state="Prepare" data-outcome="succeeded"/);
  assert.match(waitingPage, /"initial":"Approve"/, 'the page opens on the waiting state');
  record.abort();
  // The interpreter keeps the task's TimeoutSeconds timer until the task
  // settles: end it, as the runner's token registry does on abort.
  endWait(new Error('aborted'));
  await record.done;
  const ended = record.history.events;
  assert.deepEqual(ended.slice(-2).map((e) => e.type), ['TaskStateAborted', 'ExecutionAborted']);
  assert.equal(ended.at(-2).previousEventId, ended.at(-3).id);
  assert.equal(record.describe().status, 'ABORTED');
  assert.match(record.view(), /data-state="Approve" data-outcome="cancelled"/);
  checkShape({ events: ended }, 'GetExecutionHistoryOutput', 'aborted history');
}

// ---- a task over its TimeoutSeconds ----
{
  const timeoutDef = { StartAt: 'Slow', States: { Slow: { Type: 'Task', Resource: INVOKE, TimeoutSeconds: 1, Parameters: { FunctionName: 'slow' }, End: true } } };
  const record = runExecution('hist-timeout', {}, { def: timeoutDef, taskHandlers: { Slow: () => sleep(1500).then(() => ({ Payload: 'late' })) } });
  await record.done;
  const ev = record.history.events;
  assert.deepEqual(ev.map((e) => e.type), ['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskTimedOut', 'ExecutionFailed']);
  assert.equal(ev[4].taskTimedOutEventDetails.error, 'States.Timeout');
  assert.equal(record.describe().error, 'States.Timeout');
  assert.match(record.view(), /data-state="Slow" data-outcome="failed"/);
  checkShape({ events: ev }, 'GetExecutionHistoryOutput', 'timed-out history');
}
console.log('waiting (TaskSubmitted, RUNNING, drawn waiting), aborted, timed out: ok');

// ---- the API through awscli ----

function aws(args, { endpoint, secret = 'local-secret' }) {
  return new Promise((resolve) => {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: secret, AWS_DEFAULT_REGION: REGION, AWS_PAGER: '' };
    for (const k of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_SFN']) delete env[k];
    const child = spawn(AWS, ['--endpoint-url', endpoint, '--output', 'json', 'stepfunctions', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (status) => resolve({ status, out, err }));
  });
}

const executions = new Executions();
executions.add(failing);
const started = [];
const api = await startSfnApi({
  tasks: new TaskTokens(), credentials: { local: 'local-secret' }, region: REGION,
  operations: executions.operations({
    stateMachineArn: SM_ARN,
    start: async ({ name, input }) => {
      const record = executions.add(runExecution(name, input));
      started.push(record);
      return record;
    },
  }),
});
try {
  const at = { endpoint: api.url };
  const arn = failing.executionArn;

  // describe-execution: the same answer, awscli renders dates as ISO text.
  let r = await aws(['describe-execution', '--execution-arn', arn], at);
  assert.equal(r.status, 0, r.err);
  const d = JSON.parse(r.out);
  assert.equal(d.status, 'FAILED');
  assert.equal(d.error, 'Report.NoSummary');
  assert.equal(d.name, 'hist-1');
  assert.deepEqual(JSON.parse(d.input), { items: [1, 2, 3, 4, 5, 6] });
  assert.equal(Date.parse(d.startDate), Math.round(described.startDate * 1000));

  // get-execution-history: awscli pages through it (5 a page here).
  r = await aws(['get-execution-history', '--execution-arn', arn, '--page-size', '5'], at);
  assert.equal(r.status, 0, r.err);
  const got = JSON.parse(r.out).events;
  assert.equal(got.length, events.length, 'every page read');
  assert.deepEqual(got.map((e) => [e.id, e.previousEventId, e.type]), events.map((e) => [e.id, e.previousEventId, e.type]));
  assert.deepEqual(got.map((e) => Date.parse(e.timestamp)), events.map((e) => Math.round(e.timestamp * 1000)));
  assert.deepEqual(got[2].taskScheduledEventDetails, events[2].taskScheduledEventDetails);

  r = await aws(['get-execution-history', '--execution-arn', arn, '--reverse-order', '--max-items', '3', '--no-include-execution-data'], at);
  assert.equal(r.status, 0, r.err);
  const last = JSON.parse(r.out);
  assert.deepEqual(last.events.map((e) => e.id), [events.length, events.length - 1, events.length - 2]);
  assert.ok(last.NextToken, 'awscli hands out a token for the rest');
  const exited = last.events.find((e) => e.type === 'ChoiceStateExited');
  assert.deepEqual(exited.stateExitedEventDetails, { name: 'Decide' }, 'no execution data');

  // Errors are the service's.
  r = await aws(['describe-execution', '--execution-arn', `${arn}-nope`], at);
  assert.notEqual(r.status, 0);
  assert.match(r.err, /ExecutionDoesNotExist/);
  r = await aws(['describe-execution', '--execution-arn', arn], { ...at, secret: 'wrong' });
  assert.match(r.err, /InvalidSignatureException/, 'SigV4 checked');

  // start-execution: a new execution runs; its history is read back.
  r = await aws(['start-execution', '--state-machine-arn', SM_ARN, '--name', 'hist-2', '--input', '{"items":[0]}'], at);
  assert.equal(r.status, 0, r.err);
  const s = JSON.parse(r.out);
  assert.equal(s.executionArn, `${SM_ARN.replace(':stateMachine:', ':execution:')}:hist-2`);
  await started[0].done;
  r = await aws(['describe-execution', '--execution-arn', s.executionArn], at);
  const d2 = JSON.parse(r.out);
  assert.equal(d2.status, 'SUCCEEDED', r.out);
  assert.deepEqual(JSON.parse(d2.output), { items: [0] });
  assert.deepEqual(executions.history({ executionArn: s.executionArn }).events.slice(-3).map((e) => e.type),
    ['SucceedStateEntered', 'SucceedStateExited', 'ExecutionSucceeded']);

  // The other errors, from the operations themselves (each awscli start
  // costs a second of CPU).
  const ops = executions.operations({ stateMachineArn: SM_ARN, start: () => assert.fail('not started') });
  const rejects = async (fn, type) => {
    await assert.rejects(async () => fn(), (err) => err.type === type, type);
  };
  await rejects(() => ops.GetExecutionHistory({ executionArn: 'not-an-arn' }), 'InvalidArn');
  await rejects(() => ops.GetExecutionHistory({ executionArn: arn, nextToken: 'Zm9v' }), 'InvalidToken');
  const page = ops.GetExecutionHistory({ executionArn: arn, maxResults: 2 });
  await rejects(() => ops.GetExecutionHistory({ executionArn: arn, maxResults: 2, reverseOrder: true, nextToken: page.nextToken }), 'InvalidToken');
  await rejects(() => ops.GetExecutionHistory({ executionArn: arn, maxResults: 1001 }), 'ValidationException');
  await rejects(() => ops.StartExecution({ stateMachineArn: SM_ARN, name: 'hist-2', input: '{"items":[0]}' }), 'ExecutionAlreadyExists');
  await rejects(() => ops.StartExecution({ stateMachineArn: `${SM_ARN}x`, input: '{}' }), 'StateMachineDoesNotExist');
  await rejects(() => ops.StartExecution({ stateMachineArn: SM_ARN, input: '{nope' }), 'InvalidExecutionInput');
  await rejects(() => ops.StartExecution({ stateMachineArn: SM_ARN, name: 'a b', input: '{}' }), 'InvalidName');
  console.log('awscli: describe-execution, get-execution-history (paged, reversed, no data), start-execution, errors: ok');
} finally {
  await api.close();
}

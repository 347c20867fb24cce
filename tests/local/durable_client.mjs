// lambda-local's durable service through the AWS SDK for JavaScript v3
// (@aws-sdk/client-lambda, pinned in local/package-lock.json): every
// /2025-12-01/ operation, its answers and its errors, against a function
// running durable_handler.mjs.
//   node durable_client.mjs PORT DIR MODE
// MODE: run | checkpoint | callback | stop | restart-begin | restart-end.
// DIR is the test's scratch folder (count files, held envelopes).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.LOCAL_NODE_MODULES}/`);
const L = require('@aws-sdk/client-lambda');

const [port, dir, mode] = process.argv.slice(2);
const client = new L.LambdaClient({
  endpoint: `http://127.0.0.1:${port}`,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
  maxAttempts: 1,
});
const send = (Command, input) => client.send(new L[Command](input));
const enc = (o) => new TextEncoder().encode(JSON.stringify(o));
const dec = (u8) => JSON.parse(new TextDecoder().decode(u8));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ok = (what) => console.log(`ok: ${what}`);
const lines = (f) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : []);

const start = (name, program, extra = {}) =>
  send('InvokeCommand', { FunctionName: 'Durable', DurableExecutionName: name, Payload: enc({ program }), ...extra });

async function rejects(promise, name, status, pattern) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.name, name, `${e.name}: ${e.message}`);
    assert.equal(e.$metadata.httpStatusCode, status);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

async function until(what, fn, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const history = async (arn) => (await send('GetDurableExecutionHistoryCommand', { DurableExecutionArn: arn, MaxItems: 1000 })).Events;
const types = (events) => events.map((e) => e.EventType);

async function run() {
  const count = `${dir}/count-run`;
  // Steps, then a one-hour wait (the server runs with --durable-time-scale
  // 0.001: 3.6 s), then a step: two invocations, each step body once.
  const t0 = Date.now();
  let r = await start('steps-and-wait', [{ step: 'a', count }, { wait: 3600 }, { step: 'b', count }]);
  const elapsed = Date.now() - t0;
  assert.equal(r.StatusCode, 200);
  assert.equal(r.FunctionError, undefined);
  const result = dec(r.Payload);
  assert.deepEqual(result.results, ['a', 'b']);
  assert.equal(result.endpoint, `http://127.0.0.1:${port}`);
  ok('AWS_ENDPOINT_URL_LAMBDA in the function is lambda-local');
  const arn = r.DurableExecutionArn;
  assert.match(arn, /^arn:aws:lambda:us-east-1:123456789012:function:Durable:\$LATEST\/durable-execution\/steps-and-wait\/[0-9a-f-]{36}$/);
  ok('Invoke with DurableExecutionName answers DurableExecutionArn');
  assert.deepEqual(lines(count), ['a', 'b']);
  assert.ok(elapsed >= 3000 && elapsed < 120000, `a 3600 s wait took ${elapsed} ms at scale 0.001`);
  ok(`steps + 1-hour wait time-scaled (${elapsed} ms), each step ran once`);

  const d = await send('GetDurableExecutionCommand', { DurableExecutionArn: arn });
  assert.equal(d.Status, 'SUCCEEDED');
  assert.equal(d.DurableExecutionName, 'steps-and-wait');
  assert.equal(d.FunctionArn, 'arn:aws:lambda:us-east-1:123456789012:function:Durable');
  assert.deepEqual(JSON.parse(d.InputPayload).program.length, 3);
  assert.deepEqual(JSON.parse(d.Result).results, ['a', 'b']);
  assert.ok(d.StartTimestamp instanceof Date && d.EndTimestamp >= d.StartTimestamp);
  const dNoData = await send('GetDurableExecutionCommand', { DurableExecutionArn: arn, IncludeExecutionData: false });
  assert.equal(dNoData.InputPayload, undefined);
  assert.equal(dNoData.Result, undefined);
  ok('GetDurableExecution (with and without execution data)');

  let ev = await history(arn);
  // Where the first InvocationCompleted falls depends on the machine's
  // speed (the wait may end before the first invocation answers).
  assert.deepEqual(types(ev).filter((t) => t !== 'InvocationCompleted'), ['ExecutionStarted',
    'StepSucceeded', 'WaitStarted', 'WaitSucceeded', 'StepSucceeded', 'ExecutionSucceeded']);
  assert.equal(types(ev).filter((t) => t === 'InvocationCompleted').length, 2);
  assert.deepEqual(ev.map((e) => e.EventId), [1, 2, 3, 4, 5, 6, 7, 8]);
  const ws = ev.find((e) => e.EventType === 'WaitStarted');
  assert.equal(ws.Id, 'wait-1');
  assert.equal(ws.WaitStartedDetails.Duration, 3600);
  assert.equal(ev[1].StepSucceededDetails.Result.Payload, '"a"');
  assert.equal(ev.find((e) => e.EventType === 'WaitSucceeded').WaitSucceededDetails.Duration, 3600);
  const page1 = await send('GetDurableExecutionHistoryCommand', { DurableExecutionArn: arn, MaxItems: 3 });
  assert.equal(page1.Events.length, 3);
  const page2 = await send('GetDurableExecutionHistoryCommand', { DurableExecutionArn: arn, MaxItems: 10, Marker: page1.NextMarker });
  assert.deepEqual(types([...page1.Events, ...page2.Events]), types(ev));
  assert.equal(page2.NextMarker, undefined);
  const rev = await send('GetDurableExecutionHistoryCommand', { DurableExecutionArn: arn, ReverseOrder: true, IncludeExecutionData: false });
  assert.equal(rev.Events[0].EventType, 'ExecutionSucceeded');
  assert.equal(rev.Events[0].ExecutionSucceededDetails.Result.Payload, undefined);
  ok('GetDurableExecutionHistory: events in order, paging, ReverseOrder, without data');

  // The same name and input: the same execution, nothing runs again.
  r = await start('steps-and-wait', [{ step: 'a', count }, { wait: 3600 }, { step: 'b', count }]);
  assert.equal(r.DurableExecutionArn, arn);
  assert.deepEqual(dec(r.Payload).results, ['a', 'b']);
  assert.deepEqual(lines(count), ['a', 'b']);
  ok('a reused name with the same input returns the existing execution');
  await rejects(start('steps-and-wait', [{ step: 'other' }]), 'DurableExecutionAlreadyStartedException', 409,
    /already started/);
  ok('a reused name with another input: DurableExecutionAlreadyStartedException (409)');
  await rejects(start('bad name!', []), 'InvalidParameterValueException', 400, /DurableExecutionName/);
  ok('an invalid execution name: InvalidParameterValueException');

  // A crash after the first step: the service invokes again; the first
  // step is not run again.
  const crashCount = `${dir}/count-crash`;
  r = await start('crash', [{ step: 'a', count: crashCount }, { crash: `${dir}/crash-mark` }, { step: 'b', count: crashCount }]);
  assert.equal(r.FunctionError, undefined, new TextDecoder().decode(r.Payload));
  assert.deepEqual(dec(r.Payload).results, ['a', 'b']);
  assert.deepEqual(lines(crashCount), ['a', 'b']);
  ev = await history(r.DurableExecutionArn);
  const failedInvocation = ev.find((e) => e.EventType === 'InvocationCompleted' && e.InvocationCompletedDetails.Error);
  assert.equal(failedInvocation.InvocationCompletedDetails.Error.Payload.ErrorType, 'Runtime.ExitError');
  ok('a crash mid-execution: re-invoked, completed steps not run again');

  // Step retries: two failed attempts, retried after 10 s (10 ms scaled).
  r = await start('retries', [{ retry: 'flaky', failures: 2, delay: 10 }]);
  assert.deepEqual(dec(r.Payload).results, [{ attempts: 3 }]);
  ev = await history(r.DurableExecutionArn);
  const failed = ev.filter((e) => e.EventType === 'StepFailed');
  assert.equal(failed.length, 2);
  assert.deepEqual(failed.map((e) => e.StepFailedDetails.RetryDetails), [
    { CurrentAttempt: 1, NextAttemptDelaySeconds: 10 }, { CurrentAttempt: 2, NextAttemptDelaySeconds: 10 }]);
  assert.equal(failed[0].StepFailedDetails.Error.Payload.ErrorType, 'Flaky');
  ok('STEP RETRY: PENDING, READY after NextAttemptDelaySeconds, attempts counted');

  // A FAILED answer fails the execution; a sync invoke reports it as a
  // function error.
  r = await start('fails', [{ fail: 'no luck' }]);
  assert.equal(r.FunctionError, 'Unhandled');
  assert.deepEqual(dec(r.Payload), { errorType: 'ProgramFailed', errorMessage: 'no luck' });
  const f = await send('GetDurableExecutionCommand', { DurableExecutionArn: r.DurableExecutionArn });
  assert.equal(f.Status, 'FAILED');
  assert.deepEqual(f.Error, { ErrorType: 'ProgramFailed', ErrorMessage: 'no luck' });
  ok('FAILED answer: execution FAILED with its Error');

  // Event invocation: 202 with the ARN, the execution runs on.
  r = await start('async', [{ step: 'x' }], { InvocationType: 'Event' });
  assert.equal(r.StatusCode, 202);
  const asyncArn = r.DurableExecutionArn;
  assert.match(asyncArn, /durable-execution\/async\//);
  await until('async execution', async () => (await send('GetDurableExecutionCommand', { DurableExecutionArn: asyncArn })).Status === 'SUCCEEDED');
  ok('Event invocation: 202 + DurableExecutionArn, runs to the end');

  // ListDurableExecutionsByFunction with filters and paging.
  let list = await send('ListDurableExecutionsByFunctionCommand', { FunctionName: 'Durable' });
  const names = list.DurableExecutions.map((x) => x.DurableExecutionName);
  assert.deepEqual(names, ['steps-and-wait', 'crash', 'retries', 'fails', 'async']);
  list = await send('ListDurableExecutionsByFunctionCommand', { FunctionName: 'Durable', Statuses: ['FAILED'] });
  assert.deepEqual(list.DurableExecutions.map((x) => x.DurableExecutionName), ['fails']);
  assert.equal(list.DurableExecutions[0].Status, 'FAILED');
  list = await send('ListDurableExecutionsByFunctionCommand', { FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:Durable', MaxItems: 2, ReverseOrder: true });
  assert.deepEqual(list.DurableExecutions.map((x) => x.DurableExecutionName), ['async', 'fails']);
  const more = await send('ListDurableExecutionsByFunctionCommand', { FunctionName: 'Durable', MaxItems: 2, ReverseOrder: true, Marker: list.NextMarker });
  assert.deepEqual(more.DurableExecutions.map((x) => x.DurableExecutionName), ['retries', 'crash']);
  list = await send('ListDurableExecutionsByFunctionCommand', { FunctionName: 'Durable', DurableExecutionName: 'ret' });
  assert.deepEqual(list.DurableExecutions.map((x) => x.DurableExecutionName), ['retries']);
  await rejects(send('ListDurableExecutionsByFunctionCommand', { FunctionName: 'Nope' }), 'ResourceNotFoundException', 404);
  ok('ListDurableExecutionsByFunction: all, Statuses, ARN + paging + ReverseOrder, name filter, 404');

  const unknown = `${arn.slice(0, -36)}00000000-0000-4000-8000-000000000000`;
  await rejects(send('GetDurableExecutionCommand', { DurableExecutionArn: unknown }), 'ResourceNotFoundException', 404);
  await rejects(send('GetDurableExecutionHistoryCommand', { DurableExecutionArn: unknown }), 'ResourceNotFoundException', 404);
  await rejects(send('CheckpointDurableExecutionCommand', { DurableExecutionArn: unknown, CheckpointToken: 'x' }), 'InvalidParameterValueException', 400);
  await rejects(send('CheckpointDurableExecutionCommand', { DurableExecutionArn: arn, CheckpointToken: 'x' }), 'InvalidParameterValueException', 400, /SUCCEEDED/);
  await rejects(send('StopDurableExecutionCommand', { DurableExecutionArn: arn }), 'InvalidParameterValueException', 400, /ended/);
  ok('unknown ARN and ended executions: the errors the model lists');
}

// A held invocation (the handler waits for a file) gives this client a live
// checkpoint token: CheckpointDurableExecution's rules, one by one.
async function checkpoint() {
  const hold = `${dir}/hold`;
  const running = start('held', [{ hold }]);
  const envelope = JSON.parse(await until('the envelope', () => fs.existsSync(`${hold}.envelope`) && fs.readFileSync(`${hold}.envelope`, 'utf8')));
  const arn = envelope.DurableExecutionArn;
  assert.equal(envelope.InitialExecutionState.Operations.length, 1);
  const exec = envelope.InitialExecutionState.Operations[0];
  assert.equal(exec.Type, 'EXECUTION');
  assert.equal(exec.Status, 'STARTED');
  assert.deepEqual(JSON.parse(exec.ExecutionDetails.InputPayload), { program: [{ hold }] });
  ok('the envelope: DurableExecutionArn, CheckpointToken, InitialExecutionState');

  let token = envelope.CheckpointToken;
  const cp = (Updates, extra = {}) => send('CheckpointDurableExecutionCommand', { DurableExecutionArn: arn, CheckpointToken: token, Updates, ...extra });
  const invalid = (Updates, pattern) => rejects(cp(Updates), 'InvalidParameterValueException', 400, pattern);

  let r = await cp([{ Id: 's1', Type: 'STEP', Action: 'START', Name: 'first' }]);
  assert.notEqual(r.CheckpointToken, token);
  assert.deepEqual(r.NewExecutionState.Operations.map((o) => [o.Id, o.Status]), [['s1', 'STARTED']]);
  const spent = token;
  token = r.CheckpointToken;
  await rejects(send('CheckpointDurableExecutionCommand', { DurableExecutionArn: arn, CheckpointToken: spent, Updates: [] }),
    'InvalidParameterValueException', 400, /checkpoint token/);
  ok('checkpoint tokens are single-use');

  r = await cp([{ Id: 's1', Type: 'STEP', Action: 'SUCCEED', Payload: '42' }, { Id: 'w1', Type: 'WAIT', Action: 'START', WaitOptions: { WaitSeconds: 31622400 } }]);
  token = r.CheckpointToken;
  const byId = Object.fromEntries(r.NewExecutionState.Operations.map((o) => [o.Id, o]));
  assert.equal(byId.s1.Status, 'SUCCEEDED');
  assert.equal(byId.s1.StepDetails.Result, '42');
  assert.equal(byId.s1.Name, 'first');
  assert.ok(byId.s1.EndTimestamp instanceof Date);
  assert.equal(byId.w1.Status, 'STARTED');
  assert.ok(byId.w1.WaitDetails.ScheduledEndTimestamp instanceof Date);
  ok('updates applied in order, NewExecutionState has what changed');

  await invalid([{ Id: 'bad id', Type: 'STEP', Action: 'START' }], /Id/);
  await invalid([{ Id: 'x'.repeat(65), Type: 'STEP', Action: 'START' }], /Id/);
  await invalid([{ Id: 'n1', Type: 'STEP', Action: 'START', Name: 'tab\there' }], /Name/);
  await invalid([{ Id: 'n1', Type: 'STEP', Action: 'START', ParentId: 's1' }], /parent/);
  await invalid([{ Id: 'n1', Type: 'STEP', Action: 'CANCEL' }], /Invalid action/);
  await invalid([{ Id: 'n1', Type: 'WAIT', Action: 'SUCCEED' }], /Invalid action/);
  await invalid([{ Id: 'n1', Type: 'CHAINED_INVOKE', Action: 'START' }], /not supported/);
  ok('Id / Name / ParentId patterns and the actions each type takes');

  await invalid([{ Id: 's1', Type: 'STEP', Action: 'START' }], /state to start \(SUCCEEDED\)/);
  await invalid([{ Id: 's1', Type: 'STEP', Action: 'SUCCEED' }], /state to close/);
  await invalid([{ Id: 's1', Type: 'WAIT', Action: 'CANCEL' }], /is a STEP/);
  await invalid([{ Id: 'w1', Type: 'WAIT', Action: 'START', WaitOptions: { WaitSeconds: 1 } }], /already exists/);
  await invalid([{ Id: 'w2', Type: 'WAIT', Action: 'START' }], /WaitOptions/);
  await invalid([{ Id: 'w2', Type: 'WAIT', Action: 'START', WaitOptions: { WaitSeconds: 0 } }], /WaitSeconds/);
  await invalid([{ Id: 'w2', Type: 'WAIT', Action: 'START', WaitOptions: { WaitSeconds: 31622401 } }], /WaitSeconds/);
  await invalid([{ Id: 'r1', Type: 'STEP', Action: 'RETRY' }], /StepOptions/);
  await invalid([{ Id: 'r1', Type: 'STEP', Action: 'RETRY', StepOptions: { NextAttemptDelaySeconds: 0 } }], /NextAttemptDelaySeconds/);
  await invalid([{ Id: 'n1', Type: 'STEP', Action: 'SUCCEED', Error: { ErrorType: 'x' } }], /Error for SUCCEED/);
  await invalid([{ Id: 'n1', Type: 'STEP', Action: 'FAIL', Payload: '1' }], /Payload for FAIL/);
  await invalid([{ Id: 'n1', Type: 'STEP', Action: 'START' }, { Id: 'n1', Type: 'STEP', Action: 'START' }], /state to start \(STARTED\)/);
  await invalid([{ Id: 'n1', Type: 'WAIT', Action: 'START', WaitOptions: { WaitSeconds: 9 } }, { Id: 'n1', Type: 'STEP', Action: 'SUCCEED' }], /is a WAIT/);
  await invalid([{ Id: exec.Id, Type: 'EXECUTION', Action: 'SUCCEED' }, { Id: 'n1', Type: 'STEP', Action: 'START' }], /must be the last/);
  await invalid([{ Id: 'n1', Type: 'STEP', Action: 'SUCCEED', Payload: 'x'.repeat(262145) }], /over the limit/);
  await invalid([{ Id: 'n1', Type: 'STEP', Action: 'FAIL', Error: { ErrorMessage: 'x'.repeat(40000) } }], /Error object size/);
  await invalid([{ Id: 'c1', Type: 'CALLBACK', Action: 'CANCEL' }], /does not exist/);
  ok('status transitions, options, payload and error sizes');

  // Several updates of one operation in a request are checked in order, as
  // SDKs batch a step's START with its SUCCEED.
  r = await cp([{ Id: 'both', Type: 'STEP', Action: 'START', Name: 'batched' }, { Id: 'both', Type: 'STEP', Action: 'SUCCEED', Payload: '7' }]);
  token = r.CheckpointToken;
  assert.deepEqual(r.NewExecutionState.Operations.map((o) => [o.Id, o.Status, o.StepDetails.Result]), [['both', 'SUCCEEDED', '7']]);
  ok('START and SUCCEED of one step in one request');

  // A rejected request changes nothing, and leaves the token valid.
  await invalid([{ Id: 'ok1', Type: 'STEP', Action: 'START' }, { Id: 'bad!', Type: 'STEP', Action: 'START' }], /Id/);
  r = await cp([{ Id: 'ctx', Type: 'CONTEXT', Action: 'START', SubType: 'RunInChildContext' }, { Id: 'child', ParentId: 'ctx', Type: 'STEP', Action: 'SUCCEED', Payload: '"c"' }]);
  assert.deepEqual(r.NewExecutionState.Operations.map((o) => o.Id), ['ctx', 'child']);
  token = r.CheckpointToken;
  ok('a rejected request applies nothing; a CONTEXT parents a step in the same request');

  // ClientToken: a retried request gets the first answer, not an error.
  const first = await cp([{ Id: 'idem', Type: 'STEP', Action: 'START' }], { ClientToken: 'retry-1' });
  const again = await cp([{ Id: 'idem', Type: 'STEP', Action: 'START' }], { ClientToken: 'retry-1' });
  assert.equal(again.CheckpointToken, first.CheckpointToken);
  token = first.CheckpointToken;
  ok('ClientToken makes a retried checkpoint idempotent');

  // GetDurableExecutionState pages with Marker / NextMarker.
  const all = [];
  let marker;
  do {
    const page = await send('GetDurableExecutionStateCommand', { DurableExecutionArn: arn, CheckpointToken: token, MaxItems: 2, Marker: marker });
    assert.ok(page.Operations.length <= 2);
    all.push(...page.Operations.map((o) => o.Id));
    marker = page.NextMarker;
  } while (marker);
  assert.deepEqual(all, [exec.Id, 's1', 'w1', 'both', 'ctx', 'child', 'idem']);
  await rejects(send('GetDurableExecutionStateCommand', { DurableExecutionArn: arn, CheckpointToken: 'forged' }), 'InvalidParameterValueException', 400, /token/);
  await rejects(send('GetDurableExecutionStateCommand', { DurableExecutionArn: arn, CheckpointToken: token, Marker: 'zz' }), 'InvalidParameterValueException', 400, /Marker/);
  ok('GetDurableExecutionState: paging with Marker/NextMarker, token and marker checked');

  // A wait that fires (5 s at scale 0.001) while the invocation runs: the
  // next checkpoint reports it.
  r = await cp([{ Id: 'w3', Type: 'WAIT', Action: 'START', WaitOptions: { WaitSeconds: 5 } }]);
  token = r.CheckpointToken;
  // (polled: on a loaded machine the timer thread may take a while)
  const fired = await until('the wait to end', async () => {
    r = await cp([]);
    token = r.CheckpointToken;
    return r.NewExecutionState.Operations.length ? r.NewExecutionState.Operations : null;
  });
  assert.deepEqual(fired.map((o) => [o.Id, o.Status]), [['w3', 'SUCCEEDED']]);
  ok('a timer that fires during an invocation shows in the next NewExecutionState');

  // EXECUTION SUCCEED ends the execution; the invocation's own answer no
  // longer matters.
  r = await cp([{ Id: exec.Id, Type: 'EXECUTION', Action: 'SUCCEED', Payload: '"by checkpoint"' }]);
  fs.writeFileSync(`${hold}.release`, '');
  const done = await running;
  assert.equal(new TextDecoder().decode(done.Payload), '"by checkpoint"');
  await rejects(cp([]), 'InvalidParameterValueException', 400, /SUCCEEDED/);
  ok('EXECUTION SUCCEED ends the execution with its Payload');
}

async function callback() {
  const record = `${dir}/callback-id`;
  const running = start('callback', [{ step: 'before' }, { callback: 'approve', record }, { step: 'after' }]);
  const id = await until('the callback id', () => fs.existsSync(record) && fs.readFileSync(record, 'utf8'));
  assert.match(id, /^[A-Za-z0-9+/]+={0,2}$/);
  await rejects(send('SendDurableExecutionCallbackSuccessCommand', { CallbackId: 'NoSuchCallback' }), 'ResourceNotFoundException', 404);
  await send('SendDurableExecutionCallbackHeartbeatCommand', { CallbackId: id });
  await send('SendDurableExecutionCallbackSuccessCommand', { CallbackId: id, Result: enc({ approved: true }) });
  const r = await running;
  assert.deepEqual(dec(r.Payload).results, ['before', JSON.stringify({ approved: true }), 'after']);
  await rejects(send('SendDurableExecutionCallbackSuccessCommand', { CallbackId: id }), 'InvalidParameterValueException', 400, /SUCCEEDED/);
  const ev = await history(r.DurableExecutionArn);
  assert.ok(types(ev).includes('CallbackStarted') && types(ev).includes('CallbackSucceeded'));
  ok('callback: created, heartbeat, SendDurableExecutionCallbackSuccess resumes the execution');

  const record2 = `${dir}/callback-id-2`;
  const failing = start('callback-fail', [{ callback: 'approve', record: record2 }]);
  const id2 = await until('the second callback id', () => fs.existsSync(record2) && fs.readFileSync(record2, 'utf8'));
  await send('SendDurableExecutionCallbackFailureCommand', { CallbackId: id2, Error: { ErrorType: 'Rejected', ErrorMessage: 'no' } });
  const f = await failing;
  assert.equal(f.FunctionError, 'Unhandled');
  assert.match(dec(f.Payload).errorMessage, /FAILED: .*Rejected/);
  ok('SendDurableExecutionCallbackFailure reaches the function as the callback error');

  const record3 = `${dir}/callback-id-3`;
  const timing = start('callback-timeout', [{ callback: 'approve', record: record3, options: { TimeoutSeconds: 30 } }]);
  const id3 = await until('the third callback id', () => fs.existsSync(record3) && fs.readFileSync(record3, 'utf8'));
  const t = await timing;
  assert.match(dec(t.Payload).errorMessage, /TIMED_OUT/);
  await rejects(send('SendDurableExecutionCallbackSuccessCommand', { CallbackId: id3 }), 'CallbackTimeoutException', 400);
  ok('a callback that times out: TIMED_OUT, then CallbackTimeoutException');
}

async function stop() {
  const r = await start('stoppable', [{ wait: 86400 }], { InvocationType: 'Event' });
  const arn = r.DurableExecutionArn;
  await until('the wait', async () => types(await history(arn)).includes('InvocationCompleted'));
  const s = await send('StopDurableExecutionCommand', { DurableExecutionArn: arn, Error: { ErrorType: 'Cancelled', ErrorMessage: 'by the test' } });
  assert.ok(s.StopTimestamp instanceof Date);
  const d = await send('GetDurableExecutionCommand', { DurableExecutionArn: arn });
  assert.equal(d.Status, 'STOPPED');
  assert.deepEqual(d.Error, { ErrorType: 'Cancelled', ErrorMessage: 'by the test' });
  assert.equal(types(await history(arn)).at(-1), 'ExecutionStopped');
  ok('StopDurableExecution: STOPPED with the given error');
}

// restart-begin: an execution past its first step, in an 8000 s wait (8 s
// scaled: room for lambda-local to stop on a loaded machine); lambda-local
// is then restarted with the same state directory and restart-end sees it
// finish without running the first step again.
async function restartBegin() {
  const count = `${dir}/count-restart`;
  const r = await start('survivor', [{ step: 'a', count }, { wait: 8000 }, { step: 'b', count }], { InvocationType: 'Event' });
  fs.writeFileSync(`${dir}/survivor-arn`, r.DurableExecutionArn);
  await until('the wait', async () => types(await history(r.DurableExecutionArn)).includes('WaitStarted'));
  ok('execution waiting before the restart');
}

async function restartEnd() {
  const arn = fs.readFileSync(`${dir}/survivor-arn`, 'utf8');
  await until('the execution to end', async () => (await send('GetDurableExecutionCommand', { DurableExecutionArn: arn })).Status !== 'RUNNING');
  const d = await send('GetDurableExecutionCommand', { DurableExecutionArn: arn });
  assert.equal(d.Status, 'SUCCEEDED', JSON.stringify(d.Error));
  assert.deepEqual(JSON.parse(d.Result).results, ['a', 'b']);
  assert.deepEqual(lines(`${dir}/count-restart`), ['a', 'b']);
  ok('after a restart: the execution resumed from the state directory, step a not run again');
}

// Template functions with DurableConfig: every invoke is a durable
// execution (a generated name without DurableExecutionName), and
// ExecutionTimeout (10000 s, 10 s scaled) ends one that waits longer.
async function config() {
  let r = await send('InvokeCommand', { FunctionName: 'Durable', Payload: enc({ program: [{ step: 'a' }] }) });
  assert.match(r.DurableExecutionArn, /\/durable-execution\/[0-9a-f-]{36}\/[0-9a-f-]{36}$/);
  assert.deepEqual(dec(r.Payload).results, ['a']);
  ok('DurableConfig: an invoke without a name starts an execution with a generated name');
  r = await send('InvokeCommand', { FunctionName: 'Limited', Payload: enc({ program: [{ wait: 86400 }] }) });
  assert.equal(r.FunctionError, 'Unhandled');
  assert.equal(dec(r.Payload).errorType, 'Execution.Timeout');
  const d = await send('GetDurableExecutionCommand', { DurableExecutionArn: r.DurableExecutionArn });
  assert.equal(d.Status, 'TIMED_OUT');
  const ev = await history(r.DurableExecutionArn);
  assert.equal(ev[0].ExecutionStartedDetails.ExecutionTimeout, 10000);
  assert.ok(types(ev).includes('ExecutionTimedOut'));
  ok('DurableConfig.ExecutionTimeout: TIMED_OUT, ExecutionTimedOut');
}

const modes = { config, run, checkpoint, callback, stop, 'restart-begin': restartBegin, 'restart-end': restartEnd };
await modes[mode]();

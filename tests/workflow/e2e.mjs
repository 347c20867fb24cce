// End-to-end cases of the report workflow: local/workflow/run.mjs (the real
// ASL under aws-local-stepfunctions) invoking the real `bootstrap` through
// `lambda-local`, on generated data, checked against an independent
// computation from the source files.
//
//   node e2e.mjs --case NAME --root REPO --lambda-local PATH --bootstrap PATH --gen PATH
//
// Cases: usage, handlers, file, s3, transient, permanent, invalid, distributed, nodata, summaryfail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AWS, exec, parseArgs, runCase, S3_ENV, startS3 as startS3Server } from './lib.mjs';

const args = parseArgs();
const root = args.root;
const work = mkdtempSync(join(tmpdir(), `workflow-${args.case}-`));
const cleanups = [];
const CUSTOMER = 'cust0001';
const FROM = '2024-01-01';
const TO = '2024-01-31';

function log(msg) { console.log(`[e2e ${args.case}] ${msg}`); }

// ---- data ----

// Seeded sample data in a file store: two customers over a bit more than the
// tested range, so that the range filter and the customer filter matter.
function generate(storeDir) {
  mkdirSync(storeDir, { recursive: true });
  const r = spawnSync(args.gen, ['--store', `file://${storeDir}`, '--customers', '2', '--from', '2023-12-25',
    '--days', '42', '--events', '400', '--seed', '7', '--bad-per-mille', '20'], { encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, `generator failed: ${r.stdout}${r.stderr}`);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

// The expected report, computed from the source files without any of the
// functions' code: every line of the customer's day files in [from, to]
// (days in order, files by name) that is a valid event of that customer.
function expectedEvents(storeDir, customer, from, to) {
  const base = join(storeDir, 'prospects', `customer=${customer}`);
  const ids = [];
  let invalid = 0;
  const days = existsSync(base) ? readdirSync(base).filter((d) => d.startsWith('date=')).sort() : [];
  for (const dayDir of days) {
    const day = dayDir.slice(5);
    if (day < from || day > to) continue;
    for (const file of readdirSync(join(base, dayDir)).filter((f) => f.endsWith('.ndjson')).sort()) {
      const buf = readFileSync(join(base, dayDir, file));
      for (const raw of buf.toString('latin1').split('\n')) {
        const line = Buffer.from(raw.replace(/\r$/, ''), 'latin1');
        if (line.length === 0) continue;
        let ev;
        try {
          ev = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(line).replace(/^\uFEFF/, ''));
        } catch { invalid++; continue; }
        const ok = ev && typeof ev === 'object' && !Array.isArray(ev)
          && typeof ev.eventId === 'string' && ev.eventId !== ''
          && ev.customerId === customer
          && typeof ev.prospectId === 'string' && ev.prospectId !== ''
          && typeof ev.type === 'string' && ev.type !== ''
          && typeof ev.occurredAt === 'string' && RFC3339.test(ev.occurredAt);
        if (ok) ids.push(ev.eventId); else invalid++;
      }
    }
  }
  return { ids, invalid };
}

// RFC 4180 records of a CSV text.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === '') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { i++; continue; }
    if (c === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; continue; }
    field += c; i++;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

// The report's event ids, formula protection (a leading ') undone.
function reportEventIds(csvText) {
  const rows = parseCsv(csvText);
  assert.deepEqual(rows[0].slice(0, 4), ['event_id', 'occurred_at', 'prospect_id', 'type'], 'report header');
  return rows.slice(1).map((r) => (/^'[=+\-@\t\r]/.test(r[0]) ? r[0].slice(1) : r[0]));
}

function assertSameEvents(csvText, expected) {
  const got = reportEventIds(csvText);
  assert.equal(got.length, expected.ids.length, `report rows ${got.length} != ${expected.ids.length} expected`);
  assert.equal(new Set(got).size, got.length, 'duplicate eventIds in the report');
  const want = new Set(expected.ids);
  const missing = got.filter((id) => !want.has(id));
  assert.deepEqual(missing, [], 'eventIds in the report that should not be there');
  assert.deepEqual([...want].filter((id) => !got.includes(id)), [], 'eventIds missing from the report');
}

// ---- running the workflow ----

async function runWorkflow(name, { customer = CUSTOMER, from = FROM, to = TO, dataStore, reportStore, endpoint, env = {}, extra = [], childEnv = {}, onChild }) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const files = { result: join(dir, 'result.json'), events: join(dir, 'events.jsonl'), notifications: join(dir, 'notifications.jsonl'), log: join(dir, 'lambda-local.log') };
  const cli = [join(root, 'local/workflow/run.mjs'), '--customer', customer, '--from', from, '--to', to,
    '--data-store', dataStore, '--lambda-local', args['lambda-local'], '--bootstrap', args.bootstrap,
    '--report-id', `e2e-${name}`, '--concurrency', '3', '--param', 'PartSizeBytes=1048576', '--timeout', '240',
    '--result', files.result, '--events', files.events, '--notifications', files.notifications, '--log', files.log,
    '--execution-dir', join(dir, 'executions'), ...extra];
  if (reportStore) cli.push('--report-store', reportStore);
  if (endpoint) cli.push('--endpoint', endpoint);
  for (const [k, v] of Object.entries(env)) cli.push('--env', `${k}=${v}`);
  const r = await exec(process.execPath, cli, { env: { ...process.env, ...childEnv }, onChild });
  log(`run ${name}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  const result = existsSync(files.result) ? JSON.parse(readFileSync(files.result, 'utf8')) : null;
  const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  const executionDir = join(dir, 'executions', `e2e-${name}`);
  const readJson = (f) => (existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : null);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, result, events: read(files.events), notifications: read(files.notifications), logText: existsSync(files.log) ? readFileSync(files.log, 'utf8') : '',
    executionDir, history: readJson(join(executionDir, 'history.json')), describe: readJson(join(executionDir, 'describe.json')) };
}

// The run's history.json (GetExecutionHistory's shape) and describe.json:
// one ExecutionStarted, the end matching the run, each Map iteration's
// GenerateSubReport scheduled with its own part and succeeded once.
function assertHistory(run, status) {
  assert.ok(run.history, `no history.json in ${run.executionDir}`);
  const events = run.history.events;
  events.forEach((e, i) => assert.equal(e.id, i + 1));
  assert.equal(events[0].type, 'ExecutionStarted');
  assert.equal(events.at(-1).type, status === 'SUCCEEDED' ? 'ExecutionSucceeded' : 'ExecutionFailed');
  assert.equal(run.describe.status, status);
  assert.match(run.stdout, /History\s+\S+history\.json/);
  const iterations = events.filter((e) => e.type === 'MapIterationStarted');
  const parts = run.events.find((e) => e.type === 'StateExited' && e.state.name === 'SplitDateRange')?.state.output.parts ?? [];
  assert.equal(iterations.length, parts.length, 'one MapIterationStarted per part');
  for (const it of iterations) {
    const { index } = it.mapIterationStartedEventDetails;
    const entered = events.find((e) => e.previousEventId === it.id);
    const scheduled = events.find((e) => e.previousEventId === entered.id);
    assert.equal(scheduled.type, 'TaskScheduled');
    assert.deepEqual(JSON.parse(scheduled.taskScheduledEventDetails.parameters).Payload.part, parts[index], `iteration ${index} scheduled with its own part`);
  }
}

function partsFromEvents(events) {
  const split = events.find((e) => e.type === 'StateExited' && e.state.name === 'SplitDateRange');
  return split.state.output.parts.length;
}

function assertSucceeded(run, expected, reportText) {
  assert.equal(run.status, 0, `workflow failed: ${run.result?.error}: ${run.result?.cause}`);
  assert.equal(run.result.status, 'SUCCEEDED');
  const out = run.result.output;
  assert.equal(out.rows, expected.ids.length, 'rows in the merge output');
  assert.equal(out.skipped, expected.invalid, 'skipped lines counted, not silently dropped');
  assert.ok(partsFromEvents(run.events) >= 2, `the range should be cut into several parts (got ${partsFromEvents(run.events)})`);
  assert.equal(out.parts, partsFromEvents(run.events), 'parts merged = parts split');
  assertSameEvents(reportText, expected);
  const notes = run.notifications;
  assert.equal(notes.length, 1, 'one notification');
  assert.equal(notes[0].state, 'NotifySuccess');
  const message = JSON.parse(notes[0].Message);
  assert.equal(message.uri, out.uri, 'the notification carries the report location');
  assert.match(run.stdout, /Report\s+\S+report\.csv/);
  assert.match(run.stdout, /Rows\s+[\d,]+/);
  return message;
}

// After a verified merge only the report, its summary and the functions'
// small bookkeeping documents (plan.json from the split, manifest.json from
// the merge) stay: every part-NNNNNN.csv / .json is gone.
function assertPartsRemoved(names) {
  assert.ok(names.includes('report.csv'), `report.csv among ${names}`);
  assert.deepEqual(names.filter((n) => n.startsWith('part-')), [], 'parts removed after the merge');
  assert.deepEqual(names.filter((n) => !['report.csv', 'summary.json', 'plan.json', 'manifest.json'].includes(n)), [], 'nothing else left');
}

const SKIP_REASONS = ['badUtf8', 'badJson', 'missingField', 'wrongCustomer', 'tooLong', 'nulEscape'];

// summary.json against an independent count over the report's CSV records:
// rows per event type per day (the date of occurred_at), totals per type,
// bytes = the report's size, skipped lines by reason adding up to the
// independently counted invalid lines.
function assertSummary(run, summaryText, reportText, expected) {
  const summary = JSON.parse(summaryText);
  const out = run.result.output;
  const days = {};
  const types = {};
  for (const r of parseCsv(reportText).slice(1)) {
    const day = r[1].slice(0, 10);
    const type = /^'[=+\-@\t\r]/.test(r[3]) ? r[3].slice(1) : r[3];
    days[day] ??= {};
    days[day][type] = (days[day][type] ?? 0) + 1;
    types[type] = (types[type] ?? 0) + 1;
  }
  assert.deepEqual(summary.days, days, 'rows per event type per day');
  assert.deepEqual(summary.types, types, 'rows per event type');
  assert.ok(Object.keys(days).length > 5 && Object.keys(types).length > 1, 'several days and types');
  assert.equal(summary.rows, expected.ids.length);
  assert.equal(summary.bytes, Buffer.byteLength(reportText));
  assert.equal(summary.skipped, expected.invalid);
  assert.deepEqual(Object.keys(summary.skippedBy).filter((k) => !SKIP_REASONS.includes(k)), [], 'known reasons only');
  assert.equal(Object.values(summary.skippedBy).reduce((a, b) => a + b, 0), expected.invalid, 'skipped lines by reason add up');
  assert.ok(Object.values(summary.skippedBy).filter((n) => n > 0).length >= 2, 'the generated data has several kinds of bad lines');
  assert.equal(out.summary.rows, summary.rows, 'the execution output carries the summary');
  assert.equal(out.summary.days, Object.keys(days).length);
  assert.equal(out.summary.types, Object.keys(types).length);
  assert.match(out.summary.uri, /\/summary\.json$/);
  assert.match(run.stdout, /Summary\s+\S+summary\.json/);
}

// The functions helper's own independent checker (tests/functions), when
// present, as a second oracle: it also checks the row order (day, key, line),
// the skipped-line count and formula neutralisation.
async function crossCheck(storeDir, reportFile, mergeOutput) {
  const checker = join(root, 'tests/functions/check_report.py');
  if (!existsSync(checker)) { log('tests/functions/check_report.py absent: cross-check skipped'); return; }
  const resultFile = join(work, 'merge-output.json');
  writeFileSync(resultFile, JSON.stringify(mergeOutput));
  const r = await exec('python3', [checker, '--source', storeDir, '--customer', CUSTOMER, '--from', FROM, '--to', TO,
    '--report', reportFile, '--result', resultFile], { timeoutMs: 120000 });
  log(`check_report.py: exit ${r.status} ${r.stdout.trim()}`);
  assert.equal(r.status, 0, `check_report.py: ${r.stdout}${r.stderr}`);
}

function listFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath ?? d.path, d.name));
}

// ---- loopback S3 ----

const startS3 = (dir) => startS3Server(root, dir, ['lambda-c-data', 'lambda-c-reports'], cleanups);

async function aws(endpoint, ...cli) {
  const r = await exec(AWS, ['--endpoint-url', endpoint, '--region', 'us-east-1', ...cli], {
    timeoutMs: 120000,
    env: { ...process.env, ...S3_ENV },
  });
  assert.equal(r.status, 0, `aws ${cli.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// ---- cases ----

async function rerunWithAnotherPartSize(mapMode) {
  const store = join(work, 'store');
  generate(store);
  const expected = expectedEvents(store, CUSTOMER, FROM, TO);
  const name = `rerun-${mapMode.toLowerCase()}`;
  const dir = join(store, 'reports', CUSTOMER, `e2e-${name}`);
  const mode = ['--map-mode', mapMode];
  const first = await runWorkflow(name, { dataStore: `file://${store}`, env: { REPORT_TEST_FAULT: 'permanent:2' },
    extra: [...mode, '--concurrency', '1'] });
  assert.equal(first.status, 1, 'the first run fails at part 2');
  const left = listFiles(dir).map((f) => f.slice(dir.length + 1)).sort();
  log(`left by the failed run: ${left.join(' ')}`);
  assert.ok(left.includes('part-000001.csv'), `the failed run left parts behind: ${left}`);
  const again = await runWorkflow(name, { dataStore: `file://${store}`, extra: [...mode, '--param', 'PartSizeBytes=67108864'] });
  assert.equal(again.status, 0, `re-run: ${again.result?.error}: ${again.result?.cause}`);
  assert.equal(partsFromEvents(again.events), 1, 'the re-run has one part');
  assert.equal(again.result.output.rows, expected.ids.length);
  assertSameEvents(readFileSync(join(dir, 'report.csv'), 'utf8'), expected);
  assertPartsRemoved(listFiles(dir).map((f) => f.slice(dir.length + 1)));
}

const cases = {
  // Bad usage and a broken setup end with status 2 and a message that names
  // the problem, and never leave the emulator running.
  async usage() {
    const runner = join(root, 'local/workflow/run.mjs');
    const base = ['--customer', CUSTOMER, '--from', FROM, '--to', TO, '--lambda-local', args['lambda-local'], '--bootstrap', args.bootstrap];
    const expectations = [
      [['--from', FROM], /--customer is required/],
      [[...base, '--data-store', 'ftp://x'], /expected file:\/\/\/abs\/dir or s3:\/\/bucket/],
      [[...base, '--param', 'NoSuchParameter=1'], /unknown template parameter NoSuchParameter/],
      [[...base, '--map-mode', 'SIDEWAYS'], /--map-mode SIDEWAYS: allowed values are INLINE, DISTRIBUTED/],
      [[...base, '--concurrency', 'lots'], /--concurrency lots: is not a number/],
      [[...base, '--param', 'MaxConcurrency=lots'], /parameter MaxConcurrency=lots is not a number/],
      [[...base, '--lambda-local', join(work, 'missing')], /lambda-local not found at .*missing: build it/],
      [[...base, '--template', join(work, 'no-template.yaml')], /no-template\.yaml/],
    ];
    for (const [argv, pattern] of expectations) {
      const r = await exec(process.execPath, [runner, ...argv], { timeoutMs: 60000 });
      log(`run.mjs ${argv.slice(-2).join(' ')}: exit ${r.status}: ${r.stderr.split('\n')[0]}`);
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  },

  // Every Handler of template.yaml is routed by the real bootstrap: an empty
  // event reaches the handler and comes back as its own InvalidInput (an
  // unknown handler would fail differently).
  async handlers() {
    const { LocalStack } = await import(join(root, 'local/workflow/template.mjs'));
    const stack = new LocalStack(join(root, 'template.yaml'), { parameters: { DataBucketName: 'b' } });
    const store = join(work, 'store');
    mkdirSync(store);
    const envFile = join(work, 'env.json');
    writeFileSync(envFile, JSON.stringify({ Parameters: { DATA_STORE: `file://${store}`, REPORT_STORE: `file://${store}` } }));
    const eventFile = join(work, 'event.json');
    writeFileSync(eventFile, '{}');
    for (const fn of stack.functions()) {
      const handler = stack.functionProperties(fn).Handler;
      const r = spawnSync(args['lambda-local'], ['invoke', fn, '-e', eventFile, '--template', join(root, 'template.yaml'),
        '--bootstrap', args.bootstrap, '--env-vars', envFile],
        // Dummy credentials: a durable function's SDK signs its calls to the
        // invoke's own durable service (loopback) and refuses to run without.
        { encoding: 'utf8', timeout: 60000,
          env: { ...process.env, AWS_ACCESS_KEY_ID: 'lambda-c-test', AWS_SECRET_ACCESS_KEY: 'lambda-c-test' } });
      log(`invoke ${fn} (Handler ${handler}): exit ${r.status}\n${r.stdout}${r.stderr.split('\n').slice(-5).join('\n')}`);
      const body = JSON.parse(r.stdout.trim().split('\n').pop());
      // A DurableConfig function (ReportDurable) runs as a whole durable
      // execution under `lambda-local invoke` (as under `sam local invoke
      // --durable-execution-name`): the empty input reaches the report code in
      // the durable envelope and the execution FAILS with its InvalidInput.
      assert.equal(body.errorType, 'InvalidInput', `${handler}: ${r.stdout}`);
      assert.notEqual(r.status, 0, `${handler}: exit ${r.status}`);
    }
  },

  async file() {
    const store = join(work, 'store');
    generate(store);
    const expected = expectedEvents(store, CUSTOMER, FROM, TO);
    assert.ok(expected.ids.length > 100, 'generated data has events in range');
    const run = await runWorkflow('file', { dataStore: `file://${store}` });
    const dir = join(store, 'reports', CUSTOMER, 'e2e-file');
    const report = join(dir, 'report.csv');
    assert.ok(existsSync(report), `${report} exists`);
    assertSucceeded(run, expected, readFileSync(report, 'utf8'));
    assertPartsRemoved(listFiles(dir).map((f) => f.slice(dir.length + 1)));
    assert.equal(run.result.output.uri, `file://${report}`);
    assertSummary(run, readFileSync(join(dir, 'summary.json'), 'utf8'), readFileSync(report, 'utf8'), expected);
    assert.equal(run.result.output.summary.uri, `file://${join(dir, 'summary.json')}`);
    assertHistory(run, 'SUCCEEDED');
    await crossCheck(store, report, run.result.output);
  },

  // SummarizeReport fails (a report with more distinct (day, type) pairs than
  // SUMMARY_MAX_CELLS allows): the Parallel's summary branch catches it, the
  // report is delivered and notified, the execution succeeds and its output
  // says why there is no summary.
  async summaryfail() {
    const store = join(work, 'store');
    generate(store);
    const expected = expectedEvents(store, CUSTOMER, FROM, TO);
    const run = await runWorkflow('summaryfail', { dataStore: `file://${store}`, env: { SUMMARY_MAX_CELLS: '1' } });
    const dir = join(store, 'reports', CUSTOMER, 'e2e-summaryfail');
    assertSucceeded(run, expected, readFileSync(join(dir, 'report.csv'), 'utf8'));
    const failed = run.events.filter((e) => e.type === 'StateFailed' && e.state.type === 'Task');
    assert.deepEqual(failed.map((e) => [e.state.name, e.Error]), [['SummarizeReport', 'SummaryTooLarge']], 'one failed attempt, not retried');
    assert.ok(run.events.some((e) => e.type === 'StateCaught' && e.state.name === 'SummarizeReport'), 'caught in its branch');
    assert.ok(run.events.some((e) => e.type === 'StateEntered' && e.state.name === 'SummaryFailed'));
    assert.ok(!run.events.some((e) => e.type === 'StateEntered' && e.state.name === 'DescribeFailure'), 'not the failure path');
    const summary = run.result.output.summary;
    assert.equal(summary.status, 'FAILED');
    assert.equal(summary.error, 'SummaryTooLarge');
    assert.match(JSON.parse(summary.cause).errorMessage, /SUMMARY_MAX_CELLS/);
    assert.ok(!existsSync(join(dir, 'summary.json')), 'no summary.json');
    assert.match(run.stdout, /Summary\s+not written: SummaryTooLarge/);
    assertHistory(run, 'SUCCEEDED');
    // The history shows the caught failure as Step Functions does: TaskFailed,
    // then TaskStateExited with the error output, then the Catch's state.
    const events = run.history.events;
    const failedTask = events.find((e) => e.type === 'TaskFailed');
    assert.equal(failedTask.taskFailedEventDetails.error, 'SummaryTooLarge');
    assert.match(JSON.parse(failedTask.taskFailedEventDetails.cause).errorMessage, /SUMMARY_MAX_CELLS/);
    const exited = events.find((e) => e.previousEventId === failedTask.id);
    assert.equal(exited.type, 'TaskStateExited');
    assert.equal(exited.stateExitedEventDetails.name, 'SummarizeReport');
    assert.equal(events.find((e) => e.previousEventId === exited.id)?.stateEnteredEventDetails?.name, 'SummaryFailed');
    // The execution view, rendered by headless Chromium: the caught state
    // orange with its error on click, the others by outcome, no network.
    const view = join(run.executionDir, 'view.html');
    assert.match(run.stdout, new RegExp(`View\\s+${view.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const { COLOURS } = await import(pathToFileURL(join(root, 'local/workflow/view.mjs')).href);
    const { checkInChromium } = await import(pathToFileURL(join(root, 'tests/workflow/view_check.mjs')).href);
    await checkInChromium(view, {
      colours: COLOURS,
      expect: { SplitDateRange: 'succeeded', GenerateSubReport: 'succeeded', MergeSubReports: 'succeeded', NotifySuccess: 'succeeded',
        SummarizeReport: 'caught', SummaryFailed: 'succeeded', DescribeNoData: 'not-run', DescribeFailure: 'not-run', NotifyFailure: 'not-run' },
      select: 'SummarizeReport',
      selectText: /SummaryTooLarge[\s\S]*SUMMARY_MAX_CELLS/,
      screenshot: join(run.executionDir, 'view.png'),
      minPixels: { [COLOURS.caught[1]]: 200, [COLOURS.succeeded[1]]: 200 },
    });
    log(`view ${view}: checked in chromium, screenshot ${join(run.executionDir, 'view.png')}`);
  },

  // Ctrl-C while a task waits for its approval token: the runner ends the
  // execution (ABORTED), writes its history and view, and exits at once
  // (the interpreter's timer for the task's TimeoutSeconds, days long, does
  // not hold it).
  async abort() {
    const store = join(work, 'store');
    generate(store);
    const sent = {};
    const run = await runWorkflow('abort', {
      dataStore: `file://${store}`,
      extra: ['--approval-threshold', '1'],
      onChild: (child) => {
        child.stdout.on('data', (d) => {
          if (sent.at === undefined && /Approval needed/.test(String(d))) {
            sent.at = Date.now();
            setTimeout(() => child.kill('SIGINT'), 500);
          }
        });
      },
    });
    assert.ok(sent.at, 'the run reached the approval wait');
    const took = Date.now() - sent.at;
    assert.ok(took < 60000, `the runner exits after Ctrl-C (took ${took} ms)`);
    assert.equal(run.status, 1);
    assert.equal(run.result.status, 'ABORTED');
    assert.deepEqual(run.history.events.slice(-3).map((e) => e.type), ['TaskSubmitted', 'TaskStateAborted', 'ExecutionAborted']);
    assert.equal(run.describe.status, 'ABORTED');
    const view = readFileSync(join(run.executionDir, 'view.html'), 'utf8');
    assert.match(view, /data-state="RequestApproval" data-outcome="cancelled"/);
    assert.match(view, /data-state="SplitDateRange" data-outcome="succeeded"/);
  },

  async distributed() {
    const store = join(work, 'store');
    generate(store);
    const expected = expectedEvents(store, CUSTOMER, FROM, TO);
    const run = await runWorkflow('distributed', { dataStore: `file://${store}`, extra: ['--map-mode', 'DISTRIBUTED'] });
    assert.match(run.stdout, /report-distributed\.asl\.json/);
    const dir = join(store, 'reports', CUSTOMER, 'e2e-distributed');
    assertSucceeded(run, expected, readFileSync(join(dir, 'report.csv'), 'utf8'));
    assertHistory(run, 'SUCCEEDED');
    const mapRun = run.history.events.find((e) => e.type === 'MapRunStarted');
    assert.match(mapRun.mapRunStartedEventDetails.mapRunArn, /^arn:aws:states:us-east-1:123456789012:mapRun:[^/]+\/GenerateSubReports:[0-9a-f-]{36}$/);
    assert.equal(run.history.events.find((e) => e.type === 'MapRunSucceeded').previousEventId > mapRun.id, true);
    assertSummary(run, readFileSync(join(dir, 'summary.json'), 'utf8'), readFileSync(join(dir, 'report.csv'), 'utf8'), expected);
    assertPartsRemoved(listFiles(dir).map((f) => f.slice(dir.length + 1)));
  },

  async s3() {
    const store = join(work, 'store');
    generate(store);
    const expected = expectedEvents(store, CUSTOMER, FROM, TO);
    const endpoint = await startS3(join(work, 's3rver'));
    // The customer's partitions only: uploads are what makes this case slow.
    const t0 = Date.now();
    await aws(endpoint, 's3', 'cp', '--recursive', '--quiet', join(store, 'prospects', `customer=${CUSTOMER}`), `s3://lambda-c-data/datalake/prospects/customer=${CUSTOMER}`);
    log(`uploaded the source data with awscli in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const run = await runWorkflow('s3', { dataStore: 's3://lambda-c-data/datalake', reportStore: 's3://lambda-c-reports', endpoint,
      childEnv: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } });
    const key = `reports/${CUSTOMER}/e2e-s3/report.csv`;
    const local = join(work, 'report.csv');
    await aws(endpoint, 's3', 'cp', '--quiet', `s3://lambda-c-reports/${key}`, local);
    const message = assertSucceeded(run, expected, readFileSync(local, 'utf8'));
    await crossCheck(store, local, run.result.output);
    assert.equal(run.result.output.uri, `s3://lambda-c-reports/${key}`);
    const listing = await aws(endpoint, 's3api', 'list-objects-v2', '--bucket', 'lambda-c-reports', '--prefix', `reports/${CUSTOMER}/e2e-s3/`);
    assertPartsRemoved(JSON.parse(listing).Contents.map((o) => o.Key.slice(`reports/${CUSTOMER}/e2e-s3/`.length)));
    const summaryFile = join(work, 'summary.json');
    await aws(endpoint, 's3', 'cp', '--quiet', `s3://lambda-c-reports/reports/${CUSTOMER}/e2e-s3/summary.json`, summaryFile);
    assertSummary(run, readFileSync(summaryFile, 'utf8'), readFileSync(local, 'utf8'), expected);
    // The link in the notification downloads the very report.
    const link = Object.values(message).find((v) => typeof v === 'string' && v.startsWith('http'));
    assert.ok(link, `a download link in ${JSON.stringify(message)}`);
    const res = await fetch(link, { signal: AbortSignal.timeout(30000) });
    assert.equal(res.status, 200, `GET ${link}`);
    assert.equal(await res.text(), readFileSync(local, 'utf8'), 'the link serves the report');
  },

  async transient() {
    const store = join(work, 'store');
    generate(store);
    const expected = expectedEvents(store, CUSTOMER, FROM, TO);
    const clean = await runWorkflow('clean', { dataStore: `file://${store}` });
    assert.equal(clean.status, 0, clean.result?.cause);
    const state = join(work, 'fault-state');
    mkdirSync(state);
    const faulty = await runWorkflow('faulty', { dataStore: `file://${store}`, env: { REPORT_TEST_FAULT: 'transient:1', REPORT_TEST_FAULT_STATE: state } });
    const report = (id) => readFileSync(join(store, 'reports', CUSTOMER, id, 'report.csv'), 'utf8');
    assertSucceeded(faulty, expected, report('e2e-faulty'));
    assert.equal(report('e2e-faulty'), report('e2e-clean'), 'same report, byte for byte, as without the fault');
    const failed = faulty.events.filter((e) => e.type === 'StateFailed' && e.state.type === 'Task');
    assert.equal(failed.length, 1, `exactly one failed attempt: ${JSON.stringify(failed)}`);
    assert.equal(failed[0].state.name, 'GenerateSubReport');
    assert.equal(failed[0].index, 1);
    assert.equal(failed[0].Error, 'StoreUnavailable');
    assert.match(JSON.stringify(failed[0].Cause), /injected transient fault/);
    const retried = faulty.events.filter((e) => e.type === 'StateRetried');
    assert.equal(retried.length, 1);
    assert.ok(retried[0].retry.retrier.ErrorEquals.includes('StoreUnavailable'));
    assert.equal(faulty.result.attempts['GenerateSubReport[1]'], 2);
  },

  async permanent() {
    const store = join(work, 'store');
    generate(store);
    const run = await runWorkflow('permanent', { dataStore: `file://${store}`, env: { REPORT_TEST_FAULT: 'permanent:0' } });
    assert.equal(run.status, 1, 'the execution fails');
    assert.equal(run.result.status, 'FAILED');
    assert.equal(run.result.error, 'InjectedFault');
    assert.match(run.result.cause, /InjectedFault/);
    assert.match(run.stderr, /Execution FAILED: InjectedFault/);
    assert.equal(run.result.attempts['GenerateSubReport[0]'], 1, 'a permanent fault is not retried');
    assert.ok(!run.events.some((e) => e.type === 'StateEntered' && e.state.name === 'MergeSubReports'), 'no merge');
    assert.equal(run.notifications.length, 1);
    assert.equal(run.notifications[0].state, 'NotifyFailure');
    const msg = JSON.parse(run.notifications[0].Message);
    assert.equal(msg.status, 'FAILED');
    assert.equal(msg.error, 'InjectedFault');
    assert.match(msg.cause, /InjectedFault/);
    assert.equal(msg.reportId, 'e2e-permanent');
    assert.ok(!existsSync(join(store, 'reports', CUSTOMER, 'e2e-permanent', 'report.csv')), 'no report');
    // The history: the iteration's TaskFailed, the Map failed (the other
    // iterations aborted), caught into the failure path, ExecutionFailed.
    const events = run.history.events;
    assert.ok(events.some((e) => e.type === 'TaskFailed' && e.taskFailedEventDetails.error === 'InjectedFault'));
    const mapFailed = events.find((e) => e.type === 'MapStateFailed');
    assert.ok(mapFailed, 'MapStateFailed');
    assert.ok(events.filter((e) => e.type.startsWith('MapIteration') && e.type !== 'MapIterationStarted').every((e) => e.id < mapFailed.id));
    assert.equal(events.at(-1).type, 'ExecutionFailed');
    assert.equal(events.at(-1).executionFailedEventDetails.error, 'InjectedFault');
    assert.equal(run.describe.status, 'FAILED');
    assert.equal(run.describe.error, 'InjectedFault');
  },

  // A range without source data: the Choice after the split sends the
  // execution around the Map to a NO_DATA notification, and it succeeds.
  async nodata() {
    const store = join(work, 'store');
    generate(store);
    const run = await runWorkflow('nodata', { dataStore: `file://${store}`, from: '2023-06-01', to: '2023-06-30' });
    assert.equal(run.status, 3, `no data: exit status 3 (${run.result?.error}: ${run.result?.cause})`);
    assert.match(run.stderr, /customer cust0001 has no source objects between 2023-06-01 and 2023-06-30 .*\nCustomers present: cust0001, cust0002/);
    assert.equal(run.result.status, 'SUCCEEDED');
    assert.equal(run.result.output.status, 'NO_DATA');
    assert.deepEqual([run.result.output.customerId, run.result.output.from, run.result.output.to], [CUSTOMER, '2023-06-01', '2023-06-30']);
    const entered = run.events.filter((e) => e.type === 'StateEntered').map((e) => e.state.name);
    assert.deepEqual(entered, ['SplitDateRange', 'CheckData', 'DescribeNoData', 'NotifyNoData', 'NoData']);
    assert.deepEqual(run.notifications.map((n) => n.state), ['NotifyNoData']);
    assert.equal(JSON.parse(run.notifications[0].Message).status, 'NO_DATA');
    assert.match(run.stdout, /No data\s+cust0001, 2023-06-01 \.\. 2023-06-30/);
    assert.ok(!existsSync(join(store, 'reports', CUSTOMER, 'e2e-nodata', 'report.csv')), 'no report');
  },

  // A report id has one plan: a first run with 1 MiB parts fails at part 2
  // (concurrency 1, so parts 0 and 1 are stored), the re-run of the same
  // report id with 64 MiB parts makes one part; its merge removes the old
  // run's part 1 (beyond its plan) with its own: only report.csv,
  // plan.json and manifest.json stay.
  async rerun() { await rerunWithAnotherPartSize('INLINE'); },
  async rerun_distributed() { await rerunWithAnotherPartSize('DISTRIBUTED'); },

  async invalid() {
    const store = join(work, 'store');
    generate(store);
    const inputs = {
      reversed: { from: '2024-01-31', to: '2024-01-01' },
      baddate: { from: '2024-02-30', to: '2024-03-01' },
      badcustomer: { customer: '../cust0001' },
    };
    for (const [name, input] of Object.entries(inputs)) {
      const run = await runWorkflow(name, { dataStore: `file://${store}`, ...input });
      assert.equal(run.status, 1, `${name}: the execution fails`);
      assert.equal(run.result.error, 'InvalidInput', `${name}: ${run.result.error}: ${run.result.cause}`);
      const failed = run.events.filter((e) => e.type === 'StateFailed' && e.state.type === 'Task');
      assert.deepEqual(failed.map((e) => e.state.name), ['SplitDateRange'], `${name}: fails at SplitDateRange, once`);
      assert.ok(!run.events.some((e) => e.type === 'StateRetried'), `${name}: no retries`);
      assert.equal(run.result.attempts.SplitDateRange, 1);
      assert.ok(!run.events.some((e) => e.type === 'StateEntered' && e.state.name === 'GenerateSubReports'), `${name}: no Map`);
      assert.equal(JSON.parse(run.notifications[0].Message).error, 'InvalidInput');
    }
    assert.deepEqual(listFiles(join(store, 'reports')), [], 'no objects written');
  },
};

await runCase(cases, args.case, { log, work, cleanups });

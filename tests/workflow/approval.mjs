// The approval branch of the report workflow end to end: local/workflow/run.mjs
// (the real ASL under aws-local-stepfunctions, the local Step Functions API
// and SNS endpoint) with the real bootstrap under lambda-local; answers go
// through real clients, using the commands run.mjs prints.
//
//   node approval.mjs --case NAME --root REPO --build BUILD
//
// Cases:
//   small      source bytes below ApprovalThresholdBytes: no approval, report made
//   approve    above it: RequestApproval records approval.json and notifies the
//              approvers' topic; the printed `aws stepfunctions send-task-success`
//              command (awscli) approves -> report + summary.json
//   reject     (Distributed definition) the printed lambda-sfn send-task-failure
//              (the C client) rejects -> "not approved" notification with the
//              cause, execution failed with ReportRejected, no Map, no report
//   timeout    nobody answers: ApprovalTimeoutSeconds -> ApprovalTimedOut
//              (States.Timeout), notified
//   heartbeat  HeartbeatSeconds 6: RequestApproval's heartbeats keep the wait
//              alive for as long as the function runs (FunctionTimeoutSeconds
//              16), then the wait lapses (States.HeartbeatTimeout)
// In both, the heartbeat clock starts with the task, before RequestApproval's
// cold start; its first heartbeat comes right after its SNS publish, so
// HeartbeatSeconds 6 leaves 6 s for that start, and 4 s for each later
// heartbeat's 2 s sleep and request.
//   slowstart  HeartbeatSeconds 15 and a RequestApproval cold start delayed on
//              purpose by 10.5 s (a wrapper bootstrap sleeps before exec):
//              only a heartbeat sent at once after the publish comes within
//              15 s (one a third of HeartbeatSeconds later would come after
//              10.5 + 5 s: the wait would lapse with 0 heartbeats sent); the
//              function then heartbeats until its deadline. 4.5 s are left
//              for the real start, the record and the publish.
//   notfound   the approvers' topic does not exist: lambda::sns reads SNS.NotFound
//              from the endpoint's XML error, not retried, the failure path
//   run_report local/run-report.sh --approval-threshold with --approve and
//              --reject (answered through ApproveReport)
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, parseArgs, runCase } from './lib.mjs';

const args = parseArgs();
const root = args.root;
const build = args.build;
const work = mkdtempSync(join(tmpdir(), `workflow-approval-${args.case}-`));
const CUSTOMER = 'cust0001';
const APPROVAL_TOPIC = 'arn:aws:sns:us-east-1:123456789012:ApprovalTopic';
const REPORT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:ReportTopic';
const clientEnv = { ...process.env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '',
  PATH: `/usr/bin:${process.env.PATH}` };

function log(msg) { console.log(`[approval ${args.case}] ${msg}`); }

// Seeded data: one month of one customer is ~3 MB of source (a few parts of 1 MiB).
function generate(store) {
  mkdirSync(store, { recursive: true });
  const r = spawnSync(join(build, 'functions/lambda-report-gen'), ['--store', `file://${store}`, '--customers', '1',
    '--from', '2024-01-01', '--days', '31', '--events', '400', '--seed', '7', '--bad-per-mille', '20'], { encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, `generator: ${r.stdout}${r.stderr}`);
}

// Runs a command, streaming its stdout lines to `onLine`; kills it after
// `timeoutMs`.
const runLive = (cmd, argv, opts = {}) => exec(cmd, argv, { timeoutMs: 240000, ...opts });

// Runs a printed command line as a user would paste it.
function shell(command) {
  return new Promise((resolveRun) => {
    const child = spawn('bash', ['-c', command], { env: clientEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (status) => resolveRun({ status, out }));
  });
}

// Resolves once the approvers' notification is in run.mjs's notifications
// file (or after 60 s, when the assertions will say what is missing).
async function approvalNotified(file) {
  for (const end = Date.now() + 60000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (existsSync(file) && readFileSync(file, 'utf8').split('\n').some((l) => l.includes('"state":"RequestApproval"'))) return;
  }
}

async function runWorkflow(name, { extra = [], from = '2024-01-01', to = '2024-01-31', answer } = {}) {
  const store = join(work, 'store');
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const files = { result: join(dir, 'result.json'), events: join(dir, 'events.jsonl'), notifications: join(dir, 'notifications.jsonl'), log: join(dir, 'lambda-local.log') };
  const cli = [join(root, 'local/workflow/run.mjs'), '--customer', CUSTOMER, '--from', from, '--to', to,
    '--data-store', `file://${store}`, '--build', build, '--report-id', `approval-${name}`, '--concurrency', '3',
    '--part-size', '1048576', '--timeout', '200', '--result', files.result, '--events', files.events,
    '--notifications', files.notifications, '--log', files.log, ...extra];
  const started = Date.now();
  const answers = [];
  let prompted = null;
  const r = await runLive(process.execPath, cli, {
    onLine: (line) => {
      if (line.startsWith('Approval needed:')) prompted = Date.now();
      const m = /^ {2}(approve|reject): {1,2}(.*)$/.exec(line);
      const command = m && answer ? answer(m[1], m[2]) : null;
      if (command) {
        // An approver answers the approvers' notification, which RequestApproval
        // publishes after run.mjs prints the commands: answering on the printed
        // line alone races that publish (the "not approved" notification could
        // come first, as it would on AWS).
        answers.push(approvalNotified(files.notifications).then(() => {
          log(`answering: ${command}`);
          return shell(command);
        }).then((a) => { log(`answer exit ${a.status}: ${a.out.trim()}`); return a; }));
      }
    },
  });
  const seconds = (Date.now() - started) / 1000;
  log(`run ${name}: exit ${r.status} in ${seconds.toFixed(1)} s\n${r.stdout}${r.stderr}`);
  const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);
  return { ...r, seconds, promptedAfter: prompted && (prompted - started) / 1000, answers: await Promise.all(answers),
    result: existsSync(files.result) ? JSON.parse(readFileSync(files.result, 'utf8')) : null,
    events: read(files.events), notifications: read(files.notifications), logText: existsSync(files.log) ? readFileSync(files.log, 'utf8') : '',
    reportDir: join(store, 'reports', CUSTOMER, `approval-${name}`) };
}

const entered = (run) => run.events.filter((e) => e.type === 'StateEntered').map((e) => e.state.name);

// The approval request: approval.json in the report store and the approvers'
// notification, both with the token the printed commands use.
function assertApprovalRequested(run, { timeoutSeconds, heartbeatSeconds }) {
  const note = run.notifications.find((n) => n.state === 'RequestApproval');
  assert.ok(note, `an approval request among ${run.notifications.map((n) => n.state)}`);
  assert.equal(note.TopicArn, APPROVAL_TOPIC, 'sent to the approvers, not to the requesters');
  assert.equal(note.Subject, 'lambda-c report: approval needed');
  const message = JSON.parse(note.Message);
  assert.equal(message.status, 'APPROVAL_REQUESTED');
  assert.deepEqual(message.request, { customerId: CUSTOMER, reportId: run.result.reportId, from: '2024-01-01', to: '2024-01-31' });
  assert.equal(run.result.approvals.length, 1, 'one approval waited for');
  const { token, bytes, thresholdBytes } = run.result.approvals[0];
  assert.equal(message.taskToken, token);
  assert.ok(bytes > thresholdBytes, `${bytes} > ${thresholdBytes}`);
  const record = JSON.parse(readFileSync(join(run.reportDir, 'approval.json'), 'utf8'));
  assert.equal(record.status, 'PENDING');
  assert.equal(record.taskToken, token);
  assert.deepEqual(record.request, message.request);
  assert.equal(record.bytes, bytes);
  assert.equal(record.thresholdBytes, thresholdBytes);
  assert.equal(record.timeoutSeconds, timeoutSeconds);
  assert.equal(record.heartbeatSeconds, heartbeatSeconds);
  assert.equal((Date.parse(record.expiresAt) - Date.parse(record.requestedAt)) / 1000, timeoutSeconds, 'expiry = request + timeout');
  assert.equal(message.expiresAt, record.expiresAt);
  assert.match(message.approval, /approval\.json$/);
  return record;
}

function assertNotApproved(run, { status, error, cause }) {
  assert.equal(run.status, 1, 'the execution fails');
  assert.equal(run.result.status, 'FAILED');
  assert.equal(run.result.error, error);
  assert.match(run.result.cause, cause);
  assert.match(run.stderr, new RegExp(`Execution FAILED: ${error}`));
  const names = entered(run);
  assert.ok(!names.includes('GenerateSubReports') && !names.includes('DescribeFailure'), `not the Map, not the failure path: ${names}`);
  assert.deepEqual(names.slice(-2), ['NotifyNotApproved', 'NotApproved'], 'ends at NotApproved');
  assert.equal(names.at(-1), 'NotApproved');
  // Which comes first is not guaranteed when nobody answers (a slow
  // RequestApproval may publish after the wait is over, on AWS as here).
  assert.deepEqual(run.notifications.map((n) => n.state).sort(), ['NotifyNotApproved', 'RequestApproval']);
  const told = run.notifications.find((n) => n.state === 'NotifyNotApproved');
  assert.equal(told.TopicArn, REPORT_TOPIC, 'the requester is told');
  const msg = JSON.parse(told.Message);
  assert.equal(msg.status, status);
  assert.equal(msg.error, error);
  assert.match(msg.cause, cause);
  assert.equal(msg.reportId, run.result.reportId);
  assert.ok(!existsSync(join(run.reportDir, 'report.csv')), 'no report');
}

const cases = {
  async small() {
    generate(join(work, 'store'));
    const run = await runWorkflow('small', { extra: ['--approval-threshold', '100000000'] });
    assert.equal(run.status, 0, `${run.result?.error}: ${run.result?.cause}`);
    const names = entered(run);
    assert.ok(names.includes('CheckApproval') && names.includes('GenerateSubReports'), names.join(' '));
    assert.ok(!names.includes('RequestApproval'), 'no approval asked');
    assert.doesNotMatch(run.stdout, /Approval needed/);
    assert.deepEqual(run.notifications.map((n) => n.state), ['NotifySuccess']);
    assert.ok(existsSync(join(run.reportDir, 'report.csv')) && existsSync(join(run.reportDir, 'summary.json')));
    assert.ok(!existsSync(join(run.reportDir, 'approval.json')));
  },

  async approve() {
    generate(join(work, 'store'));
    // While it waits, DescribeExecution (awscli, the same endpoint) says
    // RUNNING; then the printed command approves.
    const arn = 'arn:aws:states:us-east-1:123456789012:execution:ReportStateMachine:approval-approve';
    const describe = (cmd) => `AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws stepfunctions describe-execution --region us-east-1 ${/--endpoint-url \S+/.exec(cmd)[0]} --execution-arn ${arn} --query status --output text`;
    const run = await runWorkflow('approve', { extra: ['--approval-threshold', '1000'],
      answer: (what, cmd) => (what === 'approve' && / aws stepfunctions send-task-success /.test(cmd) ? `${describe(cmd)} && ${cmd}` : null) });
    assert.equal(run.answers.length, 1, 'the awscli command was printed and run');
    assert.equal(run.answers[0].status, 0, run.answers[0].out);
    assert.match(run.answers[0].out, /^RUNNING$/m, 'DescribeExecution while the approval waits');
    assert.equal(run.status, 0, `${run.result?.error}: ${run.result?.cause}`);
    assertApprovalRequested(run, { timeoutSeconds: 604800, heartbeatSeconds: 86400 });
    const names = entered(run);
    assert.deepEqual(names.slice(0, 4), ['SplitDateRange', 'CheckData', 'CheckApproval', 'RequestApproval']);
    assert.ok(names.includes('GenerateSubReports') && names.includes('SummarizeReport'));
    const exited = run.events.find((e) => e.type === 'StateExited' && e.state.name === 'RequestApproval');
    assert.deepEqual(exited.state.output.approval.answer, { approved: true, approver: process.env.USER || 'me' }, 'the answer is kept');
    assert.deepEqual(run.notifications.map((n) => n.state), ['RequestApproval', 'NotifySuccess']);
    const out = run.result.output;
    assert.ok(out.rows > 1000 && out.parts >= 2, JSON.stringify(out));
    assert.equal(out.uri, `file://${join(run.reportDir, 'report.csv')}`);
    assert.equal(JSON.parse(readFileSync(join(run.reportDir, 'summary.json'), 'utf8')).rows, out.rows);
    assert.match(run.stdout, /RequestApproval: approved by/);
    assert.match(run.logText, /heartbeat\(s\) sent; stopped:/);
    // lambda::sns read the MessageId from the endpoint's XML answer.
    assert.match(run.logText, /approval of reports\/cust0001\/approval-approve\/ requested \(\d+ bytes\), expires \S+, SNS message [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n/);
  },

  async reject() {
    generate(join(work, 'store'));
    const run = await runWorkflow('reject', { extra: ['--approval-threshold', '1000', '--map-mode', 'DISTRIBUTED'],
      answer: (what, cmd) => (what === 'reject' && /\/lambda-sfn send-task-failure /.test(cmd) ? cmd : null) });
    assert.match(run.stdout, /report-distributed\.asl\.json/);
    assert.equal(run.answers.length, 1, 'the lambda-sfn command was printed and run');
    assert.equal(run.answers[0].status, 0, run.answers[0].out);
    assertApprovalRequested(run, { timeoutSeconds: 604800, heartbeatSeconds: 86400 });
    assertNotApproved(run, { status: 'REJECTED', error: 'ReportRejected', cause: /^rejected by .+: too large$/ });
  },

  async timeout() {
    generate(join(work, 'store'));
    const run = await runWorkflow('timeout', { extra: ['--approval-threshold', '1000', '--approval-timeout', '8', '--approval-heartbeat', '6'] });
    assertApprovalRequested(run, { timeoutSeconds: 8, heartbeatSeconds: 6 });
    assertNotApproved(run, { status: 'APPROVAL_TIMED_OUT', error: 'ApprovalTimedOut', cause: /^No approval in time \(States\.Timeout\)/ });
    // The function heartbeated until Step Functions said the task was over.
    assert.match(run.logText, /\d+ heartbeat\(s\) sent; stopped: StepFunctions\.TaskTimedOut/);
  },

  async heartbeat() {
    generate(join(work, 'store'));
    const run = await runWorkflow('heartbeat', { extra: ['--approval-threshold', '1000', '--approval-timeout', '120',
      '--approval-heartbeat', '6', '--param', 'FunctionTimeoutSeconds=16'] });
    assertApprovalRequested(run, { timeoutSeconds: 120, heartbeatSeconds: 6 });
    assertNotApproved(run, { status: 'APPROVAL_TIMED_OUT', error: 'ApprovalTimedOut', cause: /^No approval in time \(States\.HeartbeatTimeout\)/ });
    const beats = Number(/(\d+) heartbeat\(s\) sent; stopped: the function's deadline/.exec(run.logText)?.[1]);
    assert.ok(beats >= 4, `RequestApproval sent heartbeats for as long as it ran (${beats})`);
    // Alive well past HeartbeatSeconds while they came: the wait lasted more
    // than twice HeartbeatSeconds before it lapsed.
    const waited = run.seconds - run.promptedAfter;
    assert.ok(waited > 12, `the wait lasted ${waited.toFixed(1)} s`);
  },

  async slowstart() {
    generate(join(work, 'store'));
    const wrapper = join(work, 'bootstrap');
    writeFileSync(wrapper, `#!/bin/sh\n[ "$_HANDLER" = RequestApproval ] && sleep 10.5\nexec ${join(build, 'functions/bootstrap')} "$@"\n`,
      { mode: 0o755 });
    const run = await runWorkflow('slowstart', { extra: ['--approval-threshold', '1000', '--approval-timeout', '120',
      '--approval-heartbeat', '15', '--param', 'FunctionTimeoutSeconds=24', '--bootstrap', wrapper] });
    assertApprovalRequested(run, { timeoutSeconds: 120, heartbeatSeconds: 15 });
    assertNotApproved(run, { status: 'APPROVAL_TIMED_OUT', error: 'ApprovalTimedOut', cause: /^No approval in time \(States\.HeartbeatTimeout\)/ });
    const m = /(\d+) heartbeat\(s\) sent; stopped: (.*)/.exec(run.logText);
    assert.ok(m, 'RequestApproval logged its heartbeats');
    // The first heartbeat came in time and reset the clock: the function
    // heartbeated until its own deadline, not until the wait had lapsed.
    assert.equal(m[2], "the function's deadline", `${m[1]} heartbeat(s), then: ${m[2]}`);
    assert.ok(Number(m[1]) >= 2, `the first heartbeat at once, then more until the deadline (${m[1]})`);
  },

  async notfound() {
    generate(join(work, 'store'));
    const run = await runWorkflow('notfound', { extra: ['--approval-threshold', '1000',
      '--env', 'APPROVAL_TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:NoSuchTopic'] });
    assert.equal(run.status, 1);
    assert.equal(run.result.error, 'SNS.NotFound', run.result.cause);
    const cause = JSON.parse(run.result.cause);
    assert.equal(cause.errorType, 'SNS.NotFound');
    assert.match(cause.errorMessage, /^Topic does not exist \(HTTP 404, NotFound\)$/);
    assert.equal(run.result.attempts.RequestApproval, 1, 'a refusal is not retried');
    const names = entered(run);
    assert.ok(!names.includes('GenerateSubReports') && !names.includes('NotifyNotApproved'), names.join(' '));
    assert.deepEqual(run.notifications.map((n) => n.state), ['NotifyFailure']);
    assert.equal(JSON.parse(run.notifications[0].Message).error, 'SNS.NotFound');
  },

  async run_report() {
    const store = join(work, 'store');
    mkdirSync(store);
    const base = [join(root, 'local/run-report.sh'), '--no-setup', '--build-dir', build, '--store', `file://${store}`,
      '--sample-data', '--from', '2024-01-01', '--to', '2024-01-03', '--approval-threshold', '1'];
    const approved = await runLive('bash', [...base, '--approve', '--approver', 'carol', '--', '--report-id', 'rr-approve']);
    log(`run-report.sh --approve: exit ${approved.status}\n${approved.stdout}${approved.stderr}`);
    assert.equal(approved.status, 0, approved.stderr);
    assert.match(approved.stdout, /Approval needed: report rr-approve/);
    assert.match(approved.stdout, /approve: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws stepfunctions send-task-success --endpoint-url http:\/\/127\.0\.0\.1:\d+ /);
    assert.match(approved.stdout, /reject: {2}AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \S+\/lambda-sfn send-task-failure /);
    assert.match(approved.stdout, /ApproveReport: \{"decision":"approve","approver":"carol","sent":"SendTaskSuccess"\}/);
    assert.match(approved.stdout, /RequestApproval: approved by carol/);
    assert.ok(existsSync(join(store, 'reports', CUSTOMER, 'rr-approve', 'report.csv')));
    const rejected = await runLive('bash', [...base, '--reject', 'too big', '--approver', 'dave', '--', '--report-id', 'rr-reject']);
    log(`run-report.sh --reject: exit ${rejected.status}\n${rejected.stdout}${rejected.stderr}`);
    assert.equal(rejected.status, 1);
    assert.match(rejected.stderr, /Execution FAILED: ReportRejected\nCause: rejected by dave: too big/);
    assert.ok(!existsSync(join(store, 'reports', CUSTOMER, 'rr-reject', 'report.csv')));
    const bad = spawnSync('bash', [...base, '--approval-threshold', 'lots'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--approval-threshold 'lots': expected an integer number of bytes >= 0/);
  },
};

await runCase(cases, args.case, { log, work });

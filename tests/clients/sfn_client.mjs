// lambda::sfn (through lambda-sfn, its CLI) and awscli against the local
// Step Functions API, whose task tokens are real waits (TaskTokens):
//   - SendTaskSuccess from C resolves the wait with the output;
//     SendTaskFailure from awscli rejects it with error and cause;
//   - heartbeats from C keep a wait with HeartbeatSeconds alive past that
//     time; without them it ends with States.HeartbeatTimeout and a late
//     answer gets TaskTimedOut;
//   - SigV4 is checked: a wrong secret is refused (C and awscli), and not
//     retried; an unknown token is TaskDoesNotExist;
//   - behind tests/hardening/fault_proxy.mjs: 503s then success is retried to
//     success; endless 500 / 429 / connection resets are retried
//     LAMBDA_SFN_MAX_ATTEMPTS times, then StepFunctions.Unavailable /
//     StepFunctions.Throttled.
// Usage: node sfn_client.mjs <repo root> <lambda-sfn>
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [root, cli] = process.argv.slice(2);
const { startSfnApi, TaskTokens } = await import(join(root, 'local/workflow/sfn_api.mjs'));
const AWSCLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : null;
const tasks = new TaskTokens();
const api = await startSfnApi({ tasks, credentials: { AKIDLOCALTEST: 'local-secret' } });
const baseEnv = {
  PATH: process.env.PATH, HOME: process.env.HOME ?? '/tmp', AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST', AWS_SECRET_ACCESS_KEY: 'local-secret',
  AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_SFN: api.url, LAMBDA_SFN_RETRY_BASE_MS: '10',
  AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '',
};

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (status) => resolve({ status, out }));
  });
}
const sfn = (args, env) => run(cli, args, env);
const errorOf = (r) => JSON.parse(r.out.trim().split('\n').pop());
const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }));

let failures = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}\n     ${err.stack.split('\n').slice(0, 6).join('\n     ')}`);
  }
}

await check('SendTaskSuccess from C resolves the waiting task with its output', async () => {
  const token = tasks.newToken();
  const wait = settle(tasks.wait(token, { timeoutSeconds: 60 }));
  const r = await sfn(['send-task-success', '--task-token', token, '--task-output', '{"approved":true,"by":"c-client"}']);
  assert.equal(r.status, 0, r.out);
  assert.deepEqual((await wait).value, { approved: true, by: 'c-client' });
  const again = await sfn(['send-task-success', '--task-token', token, '--task-output', '{}']);
  assert.equal(errorOf(again).errorType, 'StepFunctions.TaskTimedOut', 'a second answer is refused, not applied');
});

await check('SendTaskFailure from awscli rejects the waiting task with its error and cause', async () => {
  if (!AWSCLI) { console.log('     (awscli not installed: skipped)'); return; }
  const token = tasks.newToken();
  const wait = settle(tasks.wait(token, { timeoutSeconds: 60 }));
  const r = await run(AWSCLI, ['stepfunctions', 'send-task-failure', '--endpoint-url', api.url, '--region', 'us-east-1',
    '--task-token', token, '--error', 'ReportRejected', '--cause', 'too large for this month']);
  assert.equal(r.status, 0, r.out);
  const { error } = await wait;
  assert.equal(error.name, 'ReportRejected');
  assert.equal(error.message, 'too large for this month');
});

await check('heartbeats from C keep a wait alive past HeartbeatSeconds; without them it times out', async () => {
  const kept = tasks.newToken();
  const lapsed = tasks.newToken();
  const lapsedWait = settle(tasks.wait(lapsed, { heartbeatSeconds: 1, timeoutSeconds: 60 }));
  // Each heartbeat is a lambda-sfn process. One after the other, the gap
  // between two arrivals was a whole process's life (exec, the ASan runtime's
  // start, signing, connecting): over the 3 s HeartbeatSeconds once under
  // ASan at load 17-20. So senders overlap: one starts every 250 ms (at most
  // 4 alive), and heartbeats arrive about as often as they start, unless the
  // whole machine stalls: under ASan at load 15 each sender lived ~4 s and
  // arrivals still came 3.5 s apart once. HeartbeatSeconds is therefore 10,
  // well above such a gap. The wait starts with the first C heartbeat's
  // arrival, so its clock too runs from a heartbeat, not from a process
  // start; the answer goes out 11 s later while heartbeats still flow, and
  // is accepted only if they kept the wait alive past HeartbeatSeconds.
  let keptWait = null;
  const arrivals = [];
  const heartbeat = tasks.heartbeat.bind(tasks);
  tasks.heartbeat = (token) => {
    if (token === kept) {
      keptWait ??= settle(tasks.wait(kept, { heartbeatSeconds: 10, timeoutSeconds: 120 }));
      arrivals.push(Date.now());
    }
    return heartbeat(token);
  };
  const alive = new Set();
  const beats = [];
  let answer = null;
  let answered = null;
  try {
    for (const t0 = Date.now(); answered === null; await new Promise((res) => setTimeout(res, 250))) {
      assert.ok(Date.now() - t0 < 90000, `no answer within 90 s (${arrivals.length} heartbeats arrived)`);
      if (alive.size < 4) {
        const p = sfn(['send-task-heartbeat', '--task-token', kept]).finally(() => alive.delete(p));
        alive.add(p);
        beats.push(p);
      }
      if (!answer && arrivals.length && Date.now() - arrivals[0] > 11000) {
        answer = sfn(['send-task-success', '--task-token', kept, '--task-output', '{"kept":1}']).then((r) => { answered = r; });
      }
    }
  } finally {
    tasks.heartbeat = heartbeat;
  }
  const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]);
  const seen = `${arrivals.length} heartbeats over ${((arrivals.at(-1) - arrivals[0]) / 1000).toFixed(1)} s, longest gap ${Math.max(...gaps)} ms`;
  assert.equal(answered.status, 0, `the answer after 11 s (${seen}): ${answered.out}`);
  assert.deepEqual((await keptWait).value, { kept: 1 });
  // Heartbeats that arrived after the answer are told the task is over.
  for (const r of await Promise.all(beats)) {
    if (r.status !== 0) assert.equal(errorOf(r).errorType, 'StepFunctions.TaskTimedOut', r.out);
  }
  assert.ok(arrivals.length >= 3, seen);
  const { error } = await lapsedWait;
  assert.equal(error.name, 'States.HeartbeatTimeout');
  const late = await sfn(['send-task-success', '--task-token', lapsed, '--task-output', '{}']);
  assert.equal(errorOf(late).errorType, 'StepFunctions.TaskTimedOut');
});

await check('a wrong secret is refused (InvalidSignatureException), once, from C and from awscli', async () => {
  const token = tasks.newToken();
  const wait = settle(tasks.wait(token, { timeoutSeconds: 60 }));
  const r = await sfn(['send-task-success', '--task-token', token, '--task-output', '{}'], { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
  assert.equal(r.status, 1);
  assert.equal(errorOf(r).errorType, 'StepFunctions.InvalidSignatureException');
  assert.doesNotMatch(errorOf(r).errorMessage, /gave up/, 'a refusal is not retried');
  if (AWSCLI) {
    const a = await run(AWSCLI, ['stepfunctions', 'send-task-success', '--endpoint-url', api.url, '--region', 'us-east-1',
      '--task-token', token, '--task-output', '{}'], { AWS_SECRET_ACCESS_KEY: 'not-the-secret' });
    assert.notEqual(a.status, 0);
    assert.match(a.out, /InvalidSignatureException/);
  }
  const unknownKey = await sfn(['send-task-heartbeat', '--task-token', token], { AWS_ACCESS_KEY_ID: 'AKIDSOMEONEELSE' });
  assert.equal(errorOf(unknownKey).errorType, 'StepFunctions.UnrecognizedClientException');
  assert.equal(tasks.list().some((t) => t.token === token), true, 'the task still waits');
  tasks.failure(token, 'Test.Cleanup', '');
  await wait;
});

await check('unknown token: TaskDoesNotExist; bad output: refused before any request', async () => {
  const r = await sfn(['send-task-heartbeat', '--task-token', 'no-such-token']);
  assert.equal(errorOf(r).errorType, 'StepFunctions.TaskDoesNotExist');
  const bad = await sfn(['send-task-success', '--task-token', 'x', '--task-output', '{not json']);
  assert.equal(errorOf(bad).errorType, 'InvalidInput');
  const usage = await sfn(['send-task-success', '--task-token']);
  assert.equal(usage.status, 2);
});

// ---- behind the fault-injecting proxy ----
const proxy = spawn(process.execPath, [join(root, 'tests/hardening/fault_proxy.mjs'), String(new URL(api.url).port)], { stdio: ['ignore', 'pipe', 'inherit'] });
const proxyUrl = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('fault proxy did not start')), 30000);
  createInterface({ input: proxy.stdout }).on('line', (line) => {
    const m = /listening on (\S+)/.exec(line);
    if (m) { clearTimeout(timer); resolve(`http://${m[1]}`); }
  });
});
async function faults(rules) {
  const res = await fetch(`${proxyUrl}/__faults`, { method: 'PUT', body: JSON.stringify(rules) });
  assert.equal(res.status, 200);
}
async function injected() {
  return (await (await fetch(`${proxyUrl}/__log`)).json()).injected.length;
}
const viaProxy = { AWS_ENDPOINT_URL_SFN: proxyUrl, LAMBDA_SFN_MAX_ATTEMPTS: '4' };

await check('503 twice, then the request goes through: retried to success', async () => {
  const token = tasks.newToken();
  const wait = settle(tasks.wait(token, { timeoutSeconds: 60 }));
  const before = await injected();
  await faults([{ method: 'POST', path: '^/$', fault: '503', times: 2 }]);
  const r = await sfn(['send-task-success', '--task-token', token, '--task-output', '{"through":"proxy"}'], viaProxy);
  assert.equal(r.status, 0, r.out);
  assert.equal(await injected() - before, 2);
  assert.deepEqual((await wait).value, { through: 'proxy' });
});

for (const [fault, errorType] of [['500', 'StepFunctions.Unavailable'], ['429', 'StepFunctions.Throttled'], ['reset', 'StepFunctions.Unavailable']]) {
  await check(`endless ${fault}: ${4} attempts with backoff, then ${errorType}`, async () => {
    const token = tasks.newToken();
    const wait = settle(tasks.wait(token, { timeoutSeconds: 60 }));
    const before = await injected();
    await faults([{ method: 'POST', path: '^/$', fault, times: 100 }]);
    const r = await sfn(['send-task-heartbeat', '--task-token', token], viaProxy);
    assert.equal(r.status, 1, r.out);
    const e = errorOf(r);
    assert.equal(e.errorType, errorType);
    assert.match(e.errorMessage, /gave up after 4 attempts/);
    assert.equal(await injected() - before, 4, 'exactly LAMBDA_SFN_MAX_ATTEMPTS requests');
    await faults([]);
    tasks.failure(token, 'Test.Cleanup', '');
    await wait;
  });
}

proxy.kill('SIGTERM');
await api.close();
if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');

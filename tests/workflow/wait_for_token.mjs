// The local callback pattern (local/workflow/wait_for_token.mjs) under the
// real interpreter, with the real bootstrap under lambda-local and the local
// Step Functions API:
//   - a lambda:invoke.waitForTaskToken task hands its function $$.Task.Token;
//     ApproveReport answers its own token through lambda::sfn: approve ->
//     the task's result is the approval; reject -> ReportRejected, caught;
//   - awscli answers a waiting task (send-task-success) -> its output;
//   - no answer: TimeoutSeconds -> States.Timeout; HeartbeatSeconds without
//     heartbeats -> States.HeartbeatTimeout;
//   - a function error fails the task at once, nothing left waiting;
//   - task tokens are safe to pass on awscli's command line.
// Usage: node wait_for_token.mjs <repo root> <lambda-local> <bootstrap>
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLambdaLocal as start } from './lib.mjs';

const [root, lambdaLocal, bootstrap] = process.argv.slice(2);
const { createLambdaInvoker } = await import(join(root, 'local/workflow/lambda_invoke.mjs'));
const { startSfnApi, TaskTokens } = await import(join(root, 'local/workflow/sfn_api.mjs'));
const { waitForTokenSupport } = await import(join(root, 'local/workflow/wait_for_token.mjs'));
const { StateMachine } = await import(join(root, 'local/node_modules/aws-local-stepfunctions/build/main.node.esm.js'));
const AWSCLI = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : null;
const work = mkdtempSync(join(tmpdir(), 'wait-for-token-'));
const tasks = new TaskTokens();
const creds = { AWS_ACCESS_KEY_ID: 'AKIDRUNNER', AWS_SECRET_ACCESS_KEY: 'runner-secret' };
const api = await startSfnApi({ tasks, credentials: { AKIDRUNNER: 'runner-secret' } });

const { child, endpoint } = await start({ root, lambdaLocal, bootstrap, work, stderr: 'ignore',
  env: { ...process.env, ...creds, AWS_ENDPOINT_URL_SFN: api.url, AWS_REGION: 'us-east-1' } });
const invoke = createLambdaInvoker({ endpoint, region: 'us-east-1' });
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:';

// One waitForTaskToken state, its Catch keeping the error next to the input.
function definition(fn, payload, timing) {
  return {
    StartAt: 'Wait',
    States: {
      Wait: {
        Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: `${ARN}${fn}`, Payload: { 'taskToken.$': '$$.Task.Token', ...payload } },
        ...timing,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', End: true },
    },
  };
}

async function run(def, input = {}, onWait) {
  const support = waitForTokenSupport(def, { invoke, tasks, onWait });
  const started = Date.now();
  const output = await new StateMachine(def).run(input, { overrides: { taskResourceLocalHandlers: support.handlers }, context: support.context }).result;
  return { output, seconds: (Date.now() - started) / 1000 };
}

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

await check('task tokens never start with "-" (awscli would read `--task-token -Ab…` as an option)', async () => {
  // 1 base64url token in 64 used to start with '-': 4,000 of them all pass
  // only if no token can.
  for (let i = 0; i < 4000; i++) assert.match(tasks.newToken(), /^[A-Za-z0-9]/);
});

await check('the function gets $$.Task.Token; ApproveReport approves its own token: the result is the approval', async () => {
  const { output } = await run(definition('ApproveReport', { decision: 'approve', approver: 'self', reason: 'fine' }, { TimeoutSeconds: 60 }));
  assert.deepEqual(output, { approved: true, approver: 'self', reason: 'fine' });
  assert.equal(tasks.list().length, 0, 'nothing left waiting');
});

await check('reject: the task fails with ReportRejected, which the Catch sees', async () => {
  const { output } = await run(definition('ApproveReport', { decision: 'reject', approver: 'self', reason: 'no' }, { TimeoutSeconds: 60 }));
  assert.equal(output.error.Error, 'ReportRejected');
  assert.equal(output.error.Cause, 'rejected by self: no');
});

await check('awscli send-task-success answers a waiting task with its output', async () => {
  if (!AWSCLI) { console.log('     (awscli not installed: skipped)'); return; }
  // SplitDateRange on a customer without data answers at once and leaves
  // the task waiting for someone else's answer.
  const def = definition('SplitDateRange', { customerId: 'nobody', from: '2024-01-01', to: '2024-01-02', reportId: 'w1' }, { TimeoutSeconds: 60 });
  const { output } = await run(def, {}, ({ token }) => {
    spawn(AWSCLI, ['stepfunctions', 'send-task-success', '--endpoint-url', api.url, '--region', 'us-east-1', '--task-token', token,
      '--task-output', '{"approvedBy":"awscli"}'], { env: { ...process.env, ...creds, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_PAGER: '' }, stdio: 'ignore' });
  });
  assert.deepEqual(output, { approvedBy: 'awscli' });
});

await check('no answer: TimeoutSeconds ends the wait with States.Timeout', async () => {
  const def = definition('SplitDateRange', { customerId: 'nobody', from: '2024-01-01', to: '2024-01-02', reportId: 'w2' }, { TimeoutSeconds: 2 });
  const { output, seconds } = await run(def);
  assert.equal(output.error.Error, 'States.Timeout');
  assert.ok(seconds >= 1.9, `waited ${seconds} s`);
});

await check('no heartbeat: HeartbeatSeconds ends the wait with States.HeartbeatTimeout', async () => {
  const def = definition('SplitDateRange', { customerId: 'nobody', from: '2024-01-01', to: '2024-01-02', reportId: 'w3' }, { HeartbeatSeconds: 1, TimeoutSeconds: 60 });
  const { output } = await run(def);
  assert.equal(output.error.Error, 'States.HeartbeatTimeout');
});

await check('a function error fails the task at once, nothing left waiting', async () => {
  const { output, seconds } = await run(definition('ApproveReport', { decision: 'maybe' }, { TimeoutSeconds: 60 }));
  assert.equal(output.error.Error, 'InvalidInput');
  assert.ok(seconds < 30);
  assert.equal(tasks.list().length, 0);
});

child.kill('SIGTERM');
await api.close();
rmSync(work, { recursive: true, force: true });
if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');

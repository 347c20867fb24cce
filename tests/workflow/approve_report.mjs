// ApproveReport through its real interface: lambda-local runs the real
// bootstrap, whose handler answers Step Functions with lambda::sfn
// (clients/) at the local Step Functions API (local/workflow/sfn_api.mjs,
// SigV4 checked) where a task waits on its token:
//   - approve: the wait resolves with {"approved":true,"approver","reason"};
//   - reject: it fails with ReportRejected and "rejected by <approver>: …";
//   - a second answer for the same token: StepFunctions.TaskTimedOut, from
//     the function, with nothing applied twice;
//   - bad events are InvalidInput and send nothing;
//   - the function's credentials are checked: a wrong secret is
//     StepFunctions.InvalidSignatureException.
// Usage: node approve_report.mjs <repo root> <lambda-local> <bootstrap>
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLambdaLocal as start } from './lib.mjs';

const [root, lambdaLocal, bootstrap] = process.argv.slice(2);
const { createLambdaInvoker } = await import(join(root, 'local/workflow/lambda_invoke.mjs'));
const { startSfnApi, TaskTokens } = await import(join(root, 'local/workflow/sfn_api.mjs'));
const work = mkdtempSync(join(tmpdir(), 'approve-report-'));
const tasks = new TaskTokens();
const api = await startSfnApi({ tasks, credentials: { AKIDAPPROVER: 'approver-secret' } });

// lambda-local hands its own AWS_* credentials and endpoints to functions,
// as Lambda hands a function its role's credentials.
async function startLambdaLocal(secret) {
  const { child, endpoint } = await start({ root, lambdaLocal, bootstrap, work,
    env: { ...process.env, AWS_ENDPOINT_URL_SFN: api.url, AWS_ACCESS_KEY_ID: 'AKIDAPPROVER', AWS_SECRET_ACCESS_KEY: secret,
      AWS_REGION: 'us-east-1', LAMBDA_SFN_RETRY_BASE_MS: '10' } });
  return { child, invoke: createLambdaInvoker({ endpoint, region: 'us-east-1' }) };
}

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:ApproveReport';
const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }));
async function rejection(promise) {
  try { await promise; } catch (err) { return err; }
  throw new Error('expected the invoke to fail');
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

const good = await startLambdaLocal('approver-secret');

await check('approve: the waiting task succeeds with the approval as its output', async () => {
  const token = tasks.newToken();
  const wait = settle(tasks.wait(token, { timeoutSeconds: 120 }));
  const r = await good.invoke({ FunctionName: FN, Payload: { taskToken: token, decision: 'approve', approver: 'alice', reason: 'budget ok' } });
  assert.deepEqual(r.Payload, { decision: 'approve', approver: 'alice', sent: 'SendTaskSuccess' });
  assert.deepEqual((await wait).value, { approved: true, approver: 'alice', reason: 'budget ok' });
  const again = await rejection(good.invoke({ FunctionName: FN, Payload: { taskToken: token, decision: 'reject' } }));
  assert.equal(again.name, 'StepFunctions.TaskTimedOut', 'a second answer is refused');
});

await check('reject: the waiting task fails with ReportRejected and who and why', async () => {
  const token = tasks.newToken();
  const wait = settle(tasks.wait(token, { timeoutSeconds: 120 }));
  const r = await good.invoke({ FunctionName: FN, Payload: { taskToken: token, decision: 'reject', approver: 'bob', reason: 'too large' } });
  assert.equal(r.Payload.sent, 'SendTaskFailure');
  const { error } = await wait;
  assert.equal(error.name, 'ReportRejected');
  assert.equal(error.message, 'rejected by bob: too large');
});

await check('bad events are InvalidInput and send nothing', async () => {
  const token = tasks.newToken();
  const wait = settle(tasks.wait(token, { timeoutSeconds: 120 }));
  for (const payload of [{}, { taskToken: token }, { taskToken: token, decision: 'maybe' }, { taskToken: '', decision: 'approve' },
    { taskToken: token, decision: 'approve', reason: 'x'.repeat(1001) }, { taskToken: token, decision: 'approve', approver: 7 }]) {
    const err = await rejection(good.invoke({ FunctionName: FN, Payload: payload }));
    assert.equal(err.name, 'InvalidInput', JSON.stringify(payload).slice(0, 80));
  }
  assert.ok(tasks.list().some((t) => t.token === token), 'the task still waits');
  tasks.failure(token, 'Test.Cleanup', '');
  await wait;
});

good.child.kill('SIGTERM');
const wrong = await startLambdaLocal('not-the-secret');
await check('a function with the wrong secret is refused: StepFunctions.InvalidSignatureException', async () => {
  const token = tasks.newToken();
  const wait = settle(tasks.wait(token, { timeoutSeconds: 120 }));
  const err = await rejection(wrong.invoke({ FunctionName: FN, Payload: { taskToken: token, decision: 'approve' } }));
  assert.equal(err.name, 'StepFunctions.InvalidSignatureException');
  assert.ok(tasks.list().some((t) => t.token === token), 'the task still waits');
  tasks.failure(token, 'Test.Cleanup', '');
  await wait;
});
wrong.child.kill('SIGTERM');

await api.close();
rmSync(work, { recursive: true, force: true });
if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');

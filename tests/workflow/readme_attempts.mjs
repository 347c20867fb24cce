// statemachine/README.md's retry counts are what Step Functions does:
// MaxAttempts counts the retries after the first attempt, so a retrier with
// MaxAttempts N runs the task N + 1 times. Checked twice: the interpreter
// (aws-local-stepfunctions) runs a task that always fails under a
// MaxAttempts 5 retrier and must call it 6 times; and every "R retries = A
// attempts" of the README must match a retrier of report.asl.json with
// MaxAttempts R, and A = R + 1.
//
//   node readme_attempts.mjs REPO
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = process.argv[2];
const require = createRequire(join(root, 'local/package.json'));
const { StateMachine } = await import(require.resolve('aws-local-stepfunctions'));

let calls = 0;
const definition = {
  StartAt: 'Flaky',
  States: {
    Flaky: {
      Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:Flaky', End: true,
      Retry: [{ ErrorEquals: ['StoreUnavailable'], IntervalSeconds: 0, MaxAttempts: 5 }],
    },
  },
};
const fail = async () => { calls++; const e = new Error('always'); e.name = 'StoreUnavailable'; throw e; };
const execution = new StateMachine(definition).run({}, { overrides: { taskResourceLocalHandlers: { Flaky: fail } } });
await assert.rejects(execution.result);
assert.equal(calls, 6, `MaxAttempts 5: the task ran ${calls} times`);
console.log(`interpreter: MaxAttempts 5 -> ${calls} attempts`);

const asl = JSON.parse(readFileSync(join(root, 'statemachine/report.asl.json'), 'utf8'));
const retriers = [];
const walk = (states) => {
  for (const s of Object.values(states)) {
    for (const r of s.Retry ?? []) retriers.push(r);
    if (s.ItemProcessor) walk(s.ItemProcessor.States);
    for (const b of s.Branches ?? []) walk(b.States);
  }
};
walk(asl.States);
const readme = readFileSync(join(root, 'statemachine/README.md'), 'utf8').replace(/\s+/g, ' ');
const claims = [...readme.matchAll(/(\d+) retries = (\d+) attempts/g)].map((m) => [Number(m[1]), Number(m[2])]);
assert.ok(claims.length >= 3, `the README states the retry counts (${claims.length} found)`);
for (const [retries, attempts] of claims) {
  assert.equal(attempts, retries + 1, `"${retries} retries = ${attempts} attempts"`);
  assert.ok(retriers.some((r) => r.MaxAttempts === retries), `a retrier with MaxAttempts ${retries} in report.asl.json`);
}
assert.doesNotMatch(readme, /[;,(] ?\d+ attempts[,)]/, 'no bare "N attempts" that could be read as MaxAttempts');
console.log(`README: ${claims.map(([r, a]) => `${r} retries = ${a} attempts`).join(', ')}: PASS`);

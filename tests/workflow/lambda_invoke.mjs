// The local lambda:invoke integration (local/workflow/lambda_invoke.mjs)
// against the real lambda-local and bootstrap:
//   - a success has the integration's result shape, field for field the
//     example of AWS's "Invoke Lambda with Step Functions" page
//     (fixtures/lambda-invoke-result.json: ExecutedVersion, Payload,
//     SdkHttpMetadata{AllHttpHeaders, HttpHeaders, HttpStatusCode},
//     SdkResponseMetadata{RequestId}, StatusCode), with consistent values;
//   - a function error is named by its errorType, its Cause the error JSON;
//   - an unknown function is Lambda.ResourceNotFoundException, a refused
//     connection Lambda.SdkClientException (both in or next to the
//     recommended Retry set), bad Parameters States.Runtime.
// Usage: node lambda_invoke.mjs <repo root> <lambda-local> <bootstrap>
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLambdaLocal } from './lib.mjs';

const [root, lambdaLocal, bootstrap] = process.argv.slice(2);
const { createLambdaInvoker } = await import(join(root, 'local/workflow/lambda_invoke.mjs'));
const documented = JSON.parse(readFileSync(join(root, 'tests/workflow/fixtures/lambda-invoke-result.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'lambda-invoke-'));
const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:';

const { child, endpoint } = await startLambdaLocal({ root, lambdaLocal, bootstrap, work });

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

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the task to fail');
}

const keys = (o) => Object.keys(o).map((k) => k.toLowerCase()).sort();
const invoke = createLambdaInvoker({ endpoint, region: 'us-east-1' });

await check('a successful invoke has the documented result shape, field for field', async () => {
  // An empty range of a customer without data: SplitDateRange answers
  // without touching anything but the listing.
  const payload = { customerId: 'nobody', from: '2024-01-01', to: '2024-01-02', reportId: 'shape-1' };
  const r = await invoke({ FunctionName: `${ARN}SplitDateRange`, Payload: payload });
  assert.deepEqual(Object.keys(r).sort(), Object.keys(documented).sort());
  assert.deepEqual(Object.keys(r.SdkHttpMetadata).sort(), Object.keys(documented.SdkHttpMetadata).sort());
  assert.deepEqual(keys(r.SdkHttpMetadata.HttpHeaders), keys(documented.SdkHttpMetadata.HttpHeaders));
  assert.deepEqual(keys(r.SdkHttpMetadata.AllHttpHeaders), keys(documented.SdkHttpMetadata.AllHttpHeaders));
  assert.deepEqual(Object.keys(r.SdkResponseMetadata), Object.keys(documented.SdkResponseMetadata));
  // Header names spelt as in the example.
  assert.deepEqual(Object.keys(r.SdkHttpMetadata.HttpHeaders).sort(), Object.keys(documented.SdkHttpMetadata.HttpHeaders).sort());
  for (const [name, values] of Object.entries(r.SdkHttpMetadata.AllHttpHeaders)) {
    assert.deepEqual(values, [r.SdkHttpMetadata.HttpHeaders[name]], name);
  }
  assert.equal(r.StatusCode, 200);
  assert.equal(r.SdkHttpMetadata.HttpStatusCode, 200);
  assert.equal(r.ExecutedVersion, '$LATEST');
  assert.equal(r.SdkHttpMetadata.HttpHeaders['X-Amz-Executed-Version'], '$LATEST');
  assert.equal(r.SdkHttpMetadata.HttpHeaders['x-amzn-RequestId'], r.SdkResponseMetadata.RequestId);
  assert.match(r.SdkResponseMetadata.RequestId, /^[0-9a-f-]{36}$/);
  assert.equal(Number(r.SdkHttpMetadata.HttpHeaders['Content-Length']), Buffer.byteLength(JSON.stringify(r.Payload)));
  assert.match(r.SdkHttpMetadata.HttpHeaders['X-Amzn-Trace-Id'], /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}/i);
  // The Payload is the function's output, parsed.
  assert.equal(typeof r.Payload, 'object');
  assert.equal(r.Payload.reportId, 'shape-1');
  assert.equal(r.Payload.partCount, 0);
  assert.deepEqual(r.Payload.parts, []);
});

await check('a function error fails the task: Error = errorType, Cause = the error JSON', async () => {
  const err = await rejection(invoke({ FunctionName: `${ARN}SplitDateRange`, Payload: { customerId: 'c', from: '2024-02-30', to: '2024-03-01', reportId: 'e' } }));
  assert.equal(err.name, 'InvalidInput');
  const cause = JSON.parse(err.message);
  assert.equal(cause.errorType, 'InvalidInput');
  assert.match(cause.errorMessage, /2024-02-30/);
});

await check('an unknown function is Lambda.ResourceNotFoundException', async () => {
  const err = await rejection(invoke({ FunctionName: `${ARN}NoSuchFunction`, Payload: {} }));
  assert.equal(err.name, 'Lambda.ResourceNotFoundException');
  assert.match(err.message, /Status Code: 404/);
});

await check('a refused connection is Lambda.SdkClientException (retried by the recommended set)', async () => {
  // A port that was just free: bound on port 0, then closed.
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  const closed = createLambdaInvoker({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1' });
  const err = await rejection(closed({ FunctionName: `${ARN}SplitDateRange`, Payload: {} }));
  assert.equal(err.name, 'Lambda.SdkClientException');
});

await check('Parameters without FunctionName fail with States.Runtime before any call', async () => {
  const err = await rejection(invoke({ Payload: {} }));
  assert.equal(err.name, 'States.Runtime');
});

child.kill('SIGTERM');
rmSync(work, { recursive: true, force: true });
if (failures) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');

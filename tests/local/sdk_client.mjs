// lambda-local through the AWS SDK for JavaScript v3 (@aws-sdk/client-lambda)
// with a custom endpoint, as Step Functions emulators and user code call it.
//   node sdk_client.mjs PORT basics     success, FunctionError, 404, ARN, Event, crash
//   node sdk_client.mjs PORT timeout    a 3 s sleep under a shorter timeout
//   node sdk_client.mjs PORT overlap N  N overlapping 1 s sleeps; prints the
//                                       wall time in ms on stdout
//   node sdk_client.mjs PORT meet N DIR  N invokes of Meet (the rendezvous
//                                       handler) at once: they all succeed
//                                       only if all N ran at the same time
//   node sdk_client.mjs PORT sequential N [NAME]
//                                       N strictly sequential invokes of NAME
//                                       (default Echo), each answer checked
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

// The SDK is installed in local/node_modules (pinned in local/package-lock.json).
const require = createRequire(`${process.env.LOCAL_NODE_MODULES}/`);
const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');

const [port, mode, countArg] = process.argv.slice(2);
const client = new LambdaClient({
  endpoint: `http://127.0.0.1:${port}`,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
  maxAttempts: 1,
});

const enc = (o) => new TextEncoder().encode(JSON.stringify(o));
const dec = (u8) => JSON.parse(new TextDecoder().decode(u8));
const invoke = (FunctionName, event, extra = {}) =>
  client.send(new InvokeCommand({ FunctionName, Payload: enc(event), ...extra }));

async function basics() {
  let r = await invoke('Echo', { a: 1 });
  assert.equal(r.StatusCode, 200);
  assert.equal(r.FunctionError, undefined);
  assert.deepEqual(dec(r.Payload), { a: 1 });
  console.log('ok: success');

  r = await invoke('Fail', { errorType: 'StoreUnavailable', errorMessage: 'try again' });
  assert.equal(r.StatusCode, 200);
  assert.equal(r.FunctionError, 'Unhandled');
  assert.equal(dec(r.Payload).errorType, 'StoreUnavailable');
  assert.equal(dec(r.Payload).errorMessage, 'try again');
  console.log('ok: FunctionError and errorType');

  r = await invoke('arn:aws:lambda:us-east-1:123456789012:function:Echo', { arn: true });
  assert.deepEqual(dec(r.Payload), { arn: true });
  console.log('ok: full ARN');

  await assert.rejects(invoke('Missing', {}), (e) => {
    assert.equal(e.name, 'ResourceNotFoundException');
    assert.equal(e.$metadata.httpStatusCode, 404);
    assert.match(e.message, /Function not found: arn:aws:lambda:us-east-1:123456789012:function:Missing/);
    return true;
  });
  console.log('ok: ResourceNotFoundException');

  r = await invoke('Echo', { bg: 1 }, { InvocationType: 'Event' });
  assert.equal(r.StatusCode, 202);
  console.log('ok: Event 202');

  r = await invoke('Crash', { signal: 'ABRT' });
  assert.equal(r.FunctionError, 'Unhandled');
  assert.equal(dec(r.Payload).errorType, 'Runtime.ExitError');
  assert.match(dec(r.Payload).errorMessage, /Runtime exited with error: signal: abort/);
  console.log('ok: crash seen by the SDK');
}

async function timedOut() {
  const r = await invoke('Sleep', { ms: 3000 });
  assert.equal(r.FunctionError, 'Unhandled');
  assert.equal(dec(r.Payload).errorType, 'Sandbox.Timedout');
  console.log('ok: timeout seen by the SDK');
}

async function overlap(n) {
  const start = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => invoke('Sleep', { ms: 1000, i })));
  const ms = Math.round(performance.now() - start);
  results.forEach((r, i) => {
    assert.equal(r.FunctionError, undefined, `invoke ${i}: ${new TextDecoder().decode(r.Payload)}`);
    assert.deepEqual(dec(r.Payload), { ms: 1000, i });
  });
  console.log(ms);
}

async function meet(n, dir) {
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => invoke('Meet', { dir, n, i })));
  results.forEach((r, i) => {
    assert.equal(r.FunctionError, undefined, `invoke ${i}: ${new TextDecoder().decode(r.Payload)}`);
    assert.deepEqual(dec(r.Payload), { dir, n, i });
  });
  console.log(`ok: ${n} invokes of Meet ran at the same time`);
}

async function sequential(n, name) {
  for (let i = 0; i < n; i++) {
    const event = { i, pad: 'x'.repeat(i % 64) };
    const r = await invoke(name, event);
    assert.equal(r.StatusCode, 200, `invoke ${i}`);
    assert.equal(r.FunctionError, undefined, `invoke ${i}: ${new TextDecoder().decode(r.Payload)}`);
    assert.deepEqual(dec(r.Payload), event, `invoke ${i}`);
  }
  console.log(`ok: ${n} sequential invokes of ${name}`);
}

try {
  if (mode === 'basics') await basics();
  else if (mode === 'timeout') await timedOut();
  else if (mode === 'meet') await meet(Number(countArg), process.argv[5]);
  else if (mode === 'sequential') await sequential(Number(countArg), process.argv[5] || 'Echo');
  else await overlap(Number(countArg));
} catch (e) {
  console.error('FAIL:', e);
  process.exit(1);
}

// lambda-local's streaming invoke through the AWS SDK for JavaScript v3:
// InvokeWithResponseStreamCommand (event stream frames, CRCs checked by the
// SDK) and, for a streaming function invoked the buffered way, InvokeCommand.
//   node stream_client.mjs PORT MODE
// Modes: chunks, midstream, before, limit, disconnect, buffered, tail. Prints
// "ok: ..." lines; any failed assertion exits non-zero.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.LOCAL_NODE_MODULES}/`);
const { LambdaClient, InvokeCommand, InvokeWithResponseStreamCommand } =
  require('@aws-sdk/client-lambda');

const [port, mode] = process.argv.slice(2);
const client = new LambdaClient({
  endpoint: `http://127.0.0.1:${port}`,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
  maxAttempts: 1,
});
const enc = (o) => new TextEncoder().encode(JSON.stringify(o));

// Byte i of every test stream is 'a' + i % 26 (stream_bootstrap.c).
function checkPattern(bytes, offset = 0) {
  for (let i = 0; i < bytes.length; i++)
    if (bytes[i] !== 97 + ((offset + i) % 26)) throw new Error(`byte ${offset + i} wrong`);
}

// Reads the whole event stream: chunk arrival times, bytes, InvokeComplete.
async function stream(event, options = {}, params = {}) {
  const t0 = Date.now();
  const r = await client.send(
    new InvokeWithResponseStreamCommand({ FunctionName: 'Stream', Payload: enc(event), ...params }),
    options);
  const out = { status: r.StatusCode, type: r.ResponseStreamContentType, chunks: [], bytes: 0 };
  for await (const ev of r.EventStream) {
    if (ev.PayloadChunk) {
      const p = ev.PayloadChunk.Payload;
      checkPattern(p, out.bytes);
      out.bytes += p.length;
      out.chunks.push(Date.now() - t0);
    } else if (ev.InvokeComplete) {
      out.complete = ev.InvokeComplete;
      out.completeAt = Date.now() - t0;
    }
  }
  return out;
}

const modes = {
  async chunks() {
    const r = await stream({ chunks: 3, size: 16, sleep_ms: 600, content_type: 'text/plain' });
    assert.equal(r.status, 200);
    assert.equal(r.type, 'text/plain');
    assert.equal(r.bytes, 48);
    assert.equal(r.complete.ErrorCode, undefined);
    assert.ok(r.chunks.length >= 2, `${r.chunks.length} PayloadChunk events`);
    // The first chunk arrived while the handler was still sleeping.
    assert.ok(r.completeAt - r.chunks[0] >= 900,
      `first chunk at ${r.chunks[0]} ms, complete at ${r.completeAt} ms`);
    console.log(`ok: 3 writes 600 ms apart: chunks at ${r.chunks.join(', ')} ms, ` +
      `InvokeComplete at ${r.completeAt} ms`);
  },
  async midstream() {
    const r = await stream({ chunks: 3, size: 16, fail_after: 1 });
    assert.equal(r.bytes, 16);
    assert.equal(r.complete.ErrorCode, 'Test.MidStream');
    assert.equal(r.complete.ErrorDetails, 'failed after 16 bytes');
    console.log('ok: error after the first byte: 16 bytes, then InvokeComplete ' +
      JSON.stringify(r.complete));
  },
  async before() {
    const r = await stream({ fail_before: true });
    assert.equal(r.bytes, 0);
    assert.equal(r.complete.ErrorCode, 'Test.BeforeStream');
    assert.equal(r.complete.ErrorDetails, 'failed before the first byte');
    console.log('ok: error before the first byte: InvokeComplete ' + JSON.stringify(r.complete));
  },
  async limit() {
    const r = await stream({ chunks: 201, size: 1048576 });
    assert.equal(r.bytes, 209715200);
    assert.equal(r.complete.ErrorCode, 'Function.ResponseSizeTooLarge');
    console.log(`ok: over 200 MiB: ${r.bytes} bytes, then ${r.complete.ErrorCode}`);
  },
  async disconnect() {
    // Read one chunk of an endless stream, then go away.
    const abort = new AbortController();
    const r = await client.send(new InvokeWithResponseStreamCommand({
      FunctionName: 'Stream', Payload: enc({ chunks: 100000, size: 65536 }),
    }), { abortSignal: abort.signal });
    let got = 0;
    try {
      for await (const ev of r.EventStream) {
        if (ev.PayloadChunk) got += ev.PayloadChunk.Payload.length;
        if (got > 0) abort.abort();
      }
    } catch (e) {
      assert.ok(abort.signal.aborted, `${e.name}: ${e.message}`);
    }
    assert.ok(got > 0);
    console.log(`ok: disconnected after ${got} bytes`);
  },
  async tail() {
    // LogType Tail: InvokeComplete carries the log's last 4 KB, base64.
    let r = await stream({ chunks: 2, size: 8 }, {}, { LogType: 'Tail' });
    assert.equal(r.bytes, 16);
    const log = Buffer.from(r.complete.LogResult, 'base64').toString();
    const id = /^START RequestId: (\S+) Version: \$LATEST$/m.exec(log)?.[1];
    assert.ok(id, log);
    assert.match(log, new RegExp(`^END RequestId: ${id}$`, 'm'));
    assert.match(log, new RegExp(`^REPORT RequestId: ${id}\tDuration: `, 'm'));
    r = await stream({ chunks: 3, size: 8, fail_after: 1 }, {}, { LogType: 'Tail' });
    assert.equal(r.complete.ErrorCode, 'Test.MidStream');
    assert.match(Buffer.from(r.complete.LogResult, 'base64').toString(), /^END RequestId: /m);
    r = await stream({ chunks: 1, size: 8 });
    assert.equal(r.complete.LogResult, undefined);
    console.log(`ok: LogType Tail: InvokeComplete.LogResult = ${log.split('\n')[0]} ... ` +
      '(also after a mid-stream error; absent without Tail)');
  },
  async buffered() {
    let r = await client.send(new InvokeCommand({
      FunctionName: 'Stream', Payload: enc({ chunks: 3, size: 16 }) }));
    assert.equal(r.FunctionError, undefined);
    checkPattern(r.Payload);
    assert.equal(r.Payload.length, 48);
    r = await client.send(new InvokeCommand({
      FunctionName: 'Stream', Payload: enc({ chunks: 3, size: 16, fail_after: 2 }) }));
    assert.equal(r.FunctionError, 'Unhandled');
    const doc = JSON.parse(new TextDecoder().decode(r.Payload));
    assert.equal(doc.errorType, 'Test.MidStream');
    assert.equal(doc.errorMessage, 'failed after 32 bytes');
    console.log('ok: Invoke (buffered) of a streaming function: the bytes; a mid-stream ' +
      'error is a FunctionError with its errorType');
  },
};

await modes[mode]();

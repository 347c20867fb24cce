// A durable function that speaks the durable-execution protocol by hand, as
// an SDK would, for lambda-local's durable service tests (until the C SDK
// drives them): the Runtime API loop, the invocation envelope, replay from
// InitialExecutionState (paged through GetDurableExecutionState), raw
// CheckpointDurableExecution calls to AWS_ENDPOINT_URL_LAMBDA, and the
// SUCCEEDED / FAILED / PENDING answers.
//
// The execution's input is a program: {"program": [action, ...]}, each
// action with a deterministic operation id from its index:
//   {"step": NAME, "value": V, "count": FILE}  a step (appends NAME to FILE
//                                              each time its body runs)
//   {"wait": SECONDS}                          a wait
//   {"retry": NAME, "failures": N, "delay": S} a step failing N times, each
//                                              retried after S seconds
//   {"callback": NAME, "record": FILE}         a callback; its id is written
//                                              to FILE
//   {"crash": FILE}                            exits the process (status 3)
//                                              the first time (FILE marks it)
//   {"hold": FILE}                             writes the envelope to
//                                              FILE.envelope, then waits for
//                                              FILE.release to exist
//   {"fail": MESSAGE}                          answers FAILED
// The result is {"results": [...], "endpoint": AWS_ENDPOINT_URL_LAMBDA}.
import fs from 'node:fs';

const runtime = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const endpoint = process.env.AWS_ENDPOINT_URL_LAMBDA;
const api = `${endpoint}/2025-12-01`;

class Pending extends Error {}

async function call(method, url, body) {
  const r = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${r.headers.get('x-amzn-errortype')} ${text}`);
  return JSON.parse(text);
}

async function run(event) {
  const arn = encodeURIComponent(event.DurableExecutionArn);
  let token = event.CheckpointToken;
  const ops = new Map();
  for (const op of event.InitialExecutionState.Operations) ops.set(op.Id, op);
  let marker = event.InitialExecutionState.NextMarker;
  while (marker) {
    const page = await call('GET', `${api}/durable-executions/${arn}/state?CheckpointToken=${encodeURIComponent(token)}&Marker=${marker}`);
    for (const op of page.Operations) ops.set(op.Id, op);
    marker = page.NextMarker;
  }
  const checkpoint = async (updates) => {
    const r = await call('POST', `${api}/durable-executions/${arn}/checkpoint`, { CheckpointToken: token, Updates: updates });
    token = r.CheckpointToken;
    for (const op of r.NewExecutionState.Operations) ops.set(op.Id, op);
  };
  const execution = [...ops.values()].find((o) => o.Type === 'EXECUTION');
  const input = JSON.parse(execution.ExecutionDetails.InputPayload);
  const results = [];
  for (const [i, a] of (input.program || []).entries()) {
    if (a.step !== undefined) {
      const id = `step-${i}`;
      const op = ops.get(id);
      if (op && op.Status === 'SUCCEEDED') { results.push(JSON.parse(op.StepDetails.Result)); continue; }
      if (a.count) fs.appendFileSync(a.count, `${a.step}\n`);
      await checkpoint([{ Id: id, Type: 'STEP', Action: 'SUCCEED', Name: a.step, SubType: 'Step', Payload: JSON.stringify(a.value ?? a.step) }]);
      results.push(a.value ?? a.step);
    } else if (a.wait !== undefined) {
      const id = `wait-${i}`;
      const op = ops.get(id);
      if (op && op.Status === 'SUCCEEDED') continue;
      if (!op) await checkpoint([{ Id: id, Type: 'WAIT', Action: 'START', SubType: 'Wait', WaitOptions: { WaitSeconds: a.wait } }]);
      throw new Pending();
    } else if (a.retry !== undefined) {
      const id = `retry-${i}`;
      const op = ops.get(id);
      if (op && op.Status === 'SUCCEEDED') { results.push(JSON.parse(op.StepDetails.Result)); continue; }
      if (op && op.Status === 'PENDING') throw new Pending();
      const attempt = op?.StepDetails?.Attempt ?? 0;
      if (attempt < a.failures) {
        await checkpoint([{ Id: id, Type: 'STEP', Action: 'RETRY', Name: a.retry, Error: { ErrorType: 'Flaky', ErrorMessage: `attempt ${attempt}` }, StepOptions: { NextAttemptDelaySeconds: a.delay } }]);
        throw new Pending();
      }
      await checkpoint([{ Id: id, Type: 'STEP', Action: 'SUCCEED', Name: a.retry, Payload: JSON.stringify({ attempts: attempt + 1 }) }]);
      results.push({ attempts: attempt + 1 });
    } else if (a.callback !== undefined) {
      const id = `callback-${i}`;
      let op = ops.get(id);
      if (!op) {
        await checkpoint([{ Id: id, Type: 'CALLBACK', Action: 'START', Name: a.callback, CallbackOptions: a.options || {} }]);
        op = ops.get(id);
        if (a.record) fs.writeFileSync(a.record, op.CallbackDetails.CallbackId);
      }
      if (op.Status === 'STARTED') throw new Pending();
      if (op.Status !== 'SUCCEEDED')
        return { Status: 'FAILED', Error: { ErrorType: 'CallbackFailed', ErrorMessage: `${op.Status}: ${JSON.stringify(op.CallbackDetails.Error ?? null)}` } };
      results.push(op.CallbackDetails.Result);
    } else if (a.crash !== undefined) {
      if (!fs.existsSync(a.crash)) { fs.writeFileSync(a.crash, 'crashed'); process.exit(3); }
    } else if (a.hold !== undefined) {
      fs.writeFileSync(`${a.hold}.envelope.tmp`, JSON.stringify(event));
      fs.renameSync(`${a.hold}.envelope.tmp`, `${a.hold}.envelope`);
      while (!fs.existsSync(`${a.hold}.release`)) await new Promise((r) => setTimeout(r, 50));
    } else if (a.fail !== undefined) {
      return { Status: 'FAILED', Error: { ErrorType: 'ProgramFailed', ErrorMessage: a.fail } };
    }
  }
  return { Status: 'SUCCEEDED', Result: JSON.stringify({ results, endpoint }) };
}

for (;;) {
  const next = await fetch(`${runtime}/invocation/next`);
  const id = next.headers.get('lambda-runtime-aws-request-id');
  const event = await next.json();
  let answer;
  try {
    answer = await run(event);
  } catch (e) {
    if (!(e instanceof Pending)) {
      await fetch(`${runtime}/invocation/${id}/error`, {
        method: 'POST',
        body: JSON.stringify({ errorType: 'HandlerError', errorMessage: String(e.message || e) }),
      });
      continue;
    }
    answer = { Status: 'PENDING' };
  }
  await fetch(`${runtime}/invocation/${id}/response`, { method: 'POST', body: JSON.stringify(answer) });
}

// A local Step Functions API endpoint: the `AWSStepFunctions.*` JSON protocol
// (POST /, X-Amz-Target: AWSStepFunctions.<Operation>, Content-Type
// application/x-amz-json-1.0), SigV4 checked, for the task-token calls of a
// local run: SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat. Real
// clients work against it unchanged: `aws stepfunctions send-task-success
// --endpoint-url …` (awscli) and lambda::sfn (AWS_ENDPOINT_URL_SFN).
//
// Task tokens live in a TaskTokens registry: the local `.waitForTaskToken`
// integration registers a token and waits; the API answers it. Errors are
// the service's: TaskDoesNotExist (unknown token), TaskTimedOut (the task is
// over: answered, timed out, or its heartbeat missed), InvalidToken,
// InvalidOutput, InvalidSignatureException / UnrecognizedClientException
// (SigV4), UnknownOperationException.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

export class TaskError extends Error {
  constructor(name, cause) {
    super(cause);
    this.name = name;
  }
}

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

// Node's own SHA-256 and HMAC in the shape @smithy/signature-v4 expects.
class NodeSha256 {
  constructor(secret) {
    this.hash = secret ? createHmac('sha256', secret) : createHash('sha256');
  }

  update(data) { this.hash.update(data); }

  digest() { return Promise.resolve(new Uint8Array(this.hash.digest())); }
}

// The tasks waiting for a token, with their HeartbeatSeconds and
// TimeoutSeconds clocks.
export class TaskTokens {
  constructor() {
    this.pending = new Map();
    this.finished = new Map(); // token -> how it ended, for TaskTimedOut
  }

  // A fresh token for a task; `wait(token, …)` then waits for its answer.
  // It starts with "AQ", as the service's tokens do: a base64url token
  // starting with '-' (1 in 64) reads as an option to awscli
  // (`--task-token -Ab…`: "expected one argument").
  newToken() {
    return `AQ${randomBytes(48).toString('base64url')}`;
  }

  // Resolves with the output JSON value (SendTaskSuccess) or rejects with a
  // TaskError (SendTaskFailure's error and cause; States.HeartbeatTimeout;
  // States.Timeout).
  wait(token, { heartbeatSeconds, timeoutSeconds, info = {} } = {}) {
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject, info, heartbeatSeconds, heartbeats: 0, timers: [] };
      const end = (how, fn) => {
        for (const t of entry.timers) clearTimeout(t);
        this.pending.delete(token);
        this.finished.set(token, how);
        fn();
      };
      entry.end = end;
      entry.armHeartbeat = () => {
        if (!heartbeatSeconds) return;
        clearTimeout(entry.heartbeatTimer);
        entry.heartbeatTimer = setTimeout(() => end('heartbeat timed out', () => reject(new TaskError('States.HeartbeatTimeout',
          `no heartbeat within ${heartbeatSeconds} s`))), heartbeatSeconds * 1000);
        entry.timers.push(entry.heartbeatTimer);
      };
      if (timeoutSeconds) {
        entry.timers.push(setTimeout(() => end('timed out', () => reject(new TaskError('States.Timeout',
          `the task did not answer within ${timeoutSeconds} s`))), timeoutSeconds * 1000));
      }
      entry.armHeartbeat();
      this.pending.set(token, entry);
    });
  }

  #entry(token) {
    if (typeof token !== 'string' || token.length < 1 || token.length > 2048) {
      throw new ApiError(400, 'InvalidToken', 'Invalid token: the task token must hold 1..2048 characters');
    }
    const entry = this.pending.get(token);
    if (entry) return entry;
    if (this.finished.has(token)) throw new ApiError(400, 'TaskTimedOut', `Task Timed Out: the task is over (${this.finished.get(token)})`);
    throw new ApiError(400, 'TaskDoesNotExist', 'Task does not exist anymore');
  }

  success(token, outputText) {
    const entry = this.#entry(token);
    let output;
    try {
      output = JSON.parse(outputText);
    } catch {
      throw new ApiError(400, 'InvalidOutput', 'Invalid Output: the output must be JSON');
    }
    entry.end('succeeded', () => entry.resolve(output));
  }

  failure(token, error, cause) {
    const entry = this.#entry(token);
    entry.end('failed', () => entry.reject(new TaskError(error ?? '', cause ?? '')));
  }

  heartbeat(token) {
    const entry = this.#entry(token);
    entry.heartbeats++;
    entry.armHeartbeat();
  }

  // For run-report.sh's hints: the pending tokens and what they wait for.
  list() {
    return [...this.pending.entries()].map(([token, e]) => ({ token, ...e.info }));
  }
}

export function readBody(req, limit = 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) reject(new ApiError(413, 'ValidationException', 'request too large'));
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

// Checks the request's SigV4 signature by signing the same canonical request
// (the headers it says it signed, its date, the body) with the secret of its
// access key, then comparing. `service` is the SigV4 service name ("states";
// "sns" for the local SNS endpoint of sns_publish.mjs).
export async function verifySigV4(req, body, credentials, region, service = 'states') {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) throw new ApiError(400, 'MissingAuthenticationToken', 'Request is missing a valid SigV4 Authorization header');
  const [, accessKeyId, , signedRegion, signedService, signedHeaders, signature] = m;
  const secretAccessKey = credentials[accessKeyId];
  if (secretAccessKey === undefined) throw new ApiError(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (signedService !== service || signedRegion !== region) {
    throw new ApiError(400, 'InvalidSignatureException', `Credential should be scoped to region '${region}' and service '${service}'.`);
  }
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate) throw new ApiError(400, 'IncompleteSignatureException', 'X-Amz-Date is missing');
  const headers = {};
  for (const name of signedHeaders.split(';')) headers[name] = req.headers[name] ?? '';
  const url = new URL(req.url, 'http://local');
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey, sessionToken: req.headers['x-amz-security-token'] },
    region, service, sha256: NodeSha256, uriEscapePath: true, applyChecksum: false,
  });
  const signingDate = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  const signed = await signer.sign({
    method: req.method, protocol: 'http:', hostname: (req.headers.host ?? '').split(':')[0], path: url.pathname,
    query: Object.fromEntries(url.searchParams), headers, body,
  }, { signingDate, unsignableHeaders: new Set(), signableHeaders: new Set(Object.keys(headers)) });
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization ?? '')?.[1];
  if (expected !== signature) {
    throw new ApiError(400, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
  }
}

// Starts the endpoint on 127.0.0.1 (port 0 = any free port). `credentials`
// maps access key ids to their secrets. `operations` may add handlers
// (e.g. StartExecution) as { Name: async (request) => response }.
export async function startSfnApi({ tasks, credentials, region = 'us-east-1', port = 0, operations = {}, log = () => {} }) {
  const handlers = {
    SendTaskSuccess: (r) => { tasks.success(r.taskToken, r.output); return {}; },
    SendTaskFailure: (r) => { tasks.failure(r.taskToken, r.error, r.cause); return {}; },
    SendTaskHeartbeat: (r) => { tasks.heartbeat(r.taskToken); return {}; },
    ...operations,
  };
  const server = createServer(async (req, res) => {
    const answer = (status, obj) => {
      const text = JSON.stringify(obj);
      res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0', 'Content-Length': Buffer.byteLength(text), 'x-amzn-RequestId': randomBytes(16).toString('hex') });
      res.end(text);
    };
    let operation = '?';
    try {
      const body = await readBody(req);
      const target = req.headers['x-amz-target'] ?? '';
      operation = target.replace(/^AWSStepFunctions\./, '');
      if (req.method !== 'POST' || !target.startsWith('AWSStepFunctions.') || !handlers[operation]) {
        throw new ApiError(400, 'UnknownOperationException', `unknown operation ${target || '(no X-Amz-Target)'}`);
      }
      await verifySigV4(req, body, credentials, region);
      let request;
      try {
        request = JSON.parse(body.toString('utf8') || '{}');
      } catch {
        throw new ApiError(400, 'SerializationException', 'the body is not JSON');
      }
      const result = await handlers[operation](request);
      log(`${operation}: 200`);
      answer(200, result ?? {});
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalFailure', err.message);
      log(`${operation}: ${e.status} ${e.type}: ${e.message}`);
      answer(e.status, { __type: e.type, message: e.message });
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

// The executions of a local run and the Step Functions API operations that
// read them: DescribeExecution, GetExecutionHistory (and StartExecution when
// the runner can start one), for sfn_api.mjs's `operations`. Answers follow
// the service's model (botocore's stepfunctions 2016-11-23): timestamps in
// epoch seconds, input/output as JSON text, the service's error types
// (InvalidArn, ExecutionDoesNotExist, InvalidToken, InvalidName,
// InvalidExecutionInput, ExecutionAlreadyExists, StateMachineDoesNotExist,
// ValidationException).
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from './sfn_api.mjs';
import { ExecutionHistory } from './history.mjs';
import { renderExecutionView } from './view.mjs';

const ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(stateMachine|execution):[^:\s]+(?::[^:\s]+)?$/;

// One execution: its identity, its history, and what DescribeExecution says
// of it.
export class LocalExecution {
  constructor({ stateMachineArn, name, definition, region, roleArn }) {
    this.stateMachineArn = stateMachineArn;
    this.name = name;
    this.executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    this.definition = definition;
    this.history = new ExecutionHistory({ definition, region, roleArn, executionArn: this.executionArn });
  }

  // The DescribeExecution response.
  describe() {
    const h = this.history;
    const out = {
      executionArn: this.executionArn,
      stateMachineArn: this.stateMachineArn,
      name: this.name,
      status: h.status,
      startDate: (h.startDate ?? Date.now()) / 1000,
    };
    if (h.stopDate !== undefined) out.stopDate = h.stopDate / 1000;
    out.input = JSON.stringify(h.input ?? {});
    out.inputDetails = { included: true };
    if (h.status === 'SUCCEEDED') {
      out.output = JSON.stringify(h.output ?? null);
      out.outputDetails = { included: true };
    }
    if (h.error !== undefined && h.status !== 'SUCCEEDED') out.error = h.error;
    if (h.cause !== undefined && h.status !== 'SUCCEEDED') out.cause = h.cause;
    return out;
  }

  // The execution view: a self-contained HTML page (view.mjs).
  view() {
    return renderExecutionView({ definition: this.definition, events: this.history.events, describe: this.describe() });
  }

  // Writes history.json (the GetExecutionHistory response), describe.json
  // (DescribeExecution) and view.html into `dir`; returns their paths.
  write(dir) {
    mkdirSync(dir, { recursive: true });
    const files = { history: join(dir, 'history.json'), describe: join(dir, 'describe.json'), view: join(dir, 'view.html') };
    writeFileSync(files.history, `${JSON.stringify(this.history.toJSON(), null, 2)}\n`);
    writeFileSync(files.describe, `${JSON.stringify(this.describe(), null, 2)}\n`);
    writeFileSync(files.view, this.view());
    return files;
  }
}

function tokenFor(arn, offset, reverse) {
  const body = JSON.stringify({ arn, offset, reverse });
  const mac = createHash('sha256').update(`lambda-c-local:${body}`).digest('base64url').slice(0, 16);
  return Buffer.from(JSON.stringify({ b: body, m: mac })).toString('base64url');
}

function readToken(token, arn, reverse) {
  try {
    const { b, m } = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const body = JSON.parse(b);
    const mac = createHash('sha256').update(`lambda-c-local:${b}`).digest('base64url').slice(0, 16);
    if (m === mac && body.arn === arn && body.reverse === reverse && Number.isInteger(body.offset) && body.offset >= 0) return body.offset;
  } catch { /* not one of ours */ }
  throw new ApiError(400, 'InvalidToken', `Invalid Token: '${String(token).slice(0, 64)}'`);
}

// Drops input/output from events (includeExecutionData: false).
function withoutData(event) {
  const copy = { ...event };
  for (const [k, v] of Object.entries(event)) {
    if (!k.endsWith('EventDetails') || !v || typeof v !== 'object') continue;
    const d = { ...v };
    for (const f of ['input', 'inputDetails', 'output', 'outputDetails']) delete d[f];
    copy[k] = d;
  }
  return copy;
}

// The executions a runner holds, by ARN.
export class Executions {
  constructor() {
    this.byArn = new Map();
  }

  add(execution) {
    this.byArn.set(execution.executionArn, execution);
    return execution;
  }

  #get(arn) {
    if (typeof arn !== 'string' || !ARN.test(arn) || !arn.includes(':execution:')) {
      throw new ApiError(400, 'InvalidArn', `Invalid Arn: '${arn}'`);
    }
    const execution = this.byArn.get(arn);
    if (!execution) throw new ApiError(400, 'ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  describe({ executionArn }) {
    return this.#get(executionArn).describe();
  }

  history({ executionArn, maxResults, reverseOrder, nextToken, includeExecutionData }) {
    const execution = this.#get(executionArn);
    if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 0 || maxResults > 1000)) {
      throw new ApiError(400, 'ValidationException', `1 validation error detected: Value '${maxResults}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`);
    }
    const reverse = reverseOrder === true;
    const size = maxResults || 100;
    const offset = nextToken === undefined || nextToken === null ? 0 : readToken(nextToken, executionArn, reverse);
    const all = execution.history.events;
    const ordered = reverse ? [...all].reverse() : all;
    let page = ordered.slice(offset, offset + size);
    if (includeExecutionData === false) page = page.map(withoutData);
    const out = { events: page };
    // A running execution's history grows: the token stays valid and the
    // next page picks up what came since.
    if (offset + size < ordered.length) out.nextToken = tokenFor(executionArn, offset + size, reverse);
    return out;
  }

  // StartExecution through `start({ name, input })` (the runner's), which
  // returns the new LocalExecution.
  async start({ stateMachineArn, name, input }, { stateMachineArn: ours, start }) {
    if (typeof stateMachineArn !== 'string' || !ARN.test(stateMachineArn) || !stateMachineArn.includes(':stateMachine:')) {
      throw new ApiError(400, 'InvalidArn', `Invalid Arn: '${stateMachineArn}'`);
    }
    if (stateMachineArn !== ours) throw new ApiError(400, 'StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const executionName = name ?? randomUUID();
    if (typeof executionName !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(executionName)) {
      throw new ApiError(400, 'InvalidName', `Invalid Name: '${executionName}' (1 to 80 letters, digits, '-' or '_')`);
    }
    const inputText = input ?? '{}';
    let parsed;
    try {
      parsed = JSON.parse(inputText);
    } catch (err) {
      throw new ApiError(400, 'InvalidExecutionInput', `Invalid State Machine Execution Input: '${err.message}'`);
    }
    const arn = `${ours.replace(':stateMachine:', ':execution:')}:${executionName}`;
    const existing = this.byArn.get(arn);
    if (existing) {
      // Idempotent while it runs with the same input, as the service is.
      if (existing.history.status === 'RUNNING' && JSON.stringify(existing.history.input) === JSON.stringify(parsed)) {
        return { executionArn: arn, startDate: existing.history.startDate / 1000 };
      }
      throw new ApiError(400, 'ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    if (!start) throw new ApiError(400, 'UnsupportedOperation', 'this local runner does not start executions');
    const execution = await start({ name: executionName, input: parsed });
    return { executionArn: execution.executionArn, startDate: (execution.history.startDate ?? Date.now()) / 1000 };
  }

  // The handlers for startSfnApi's `operations`. `start` is optional.
  operations({ stateMachineArn, start } = {}) {
    return {
      DescribeExecution: (r) => this.describe(r),
      GetExecutionHistory: (r) => this.history(r),
      StartExecution: (r) => this.start(r, { stateMachineArn, start }),
    };
  }
}

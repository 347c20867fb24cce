// The execution history of a local run, in the shape Step Functions'
// GetExecutionHistory returns (the `HistoryEvent` of the API reference and
// of botocore's stepfunctions model): events numbered from 1, each with its
// `timestamp` (epoch seconds, as the JSON protocol sends it), `type`, `id`,
// `previousEventId` and the details object of its type
// (`stateEnteredEventDetails`, `taskScheduledEventDetails`, ...).
//
// Where it comes from: aws-local-stepfunctions 3.0.0 exposes an event log
// per execution (`run().eventLogs`: StateEntered/Exited/Failed/Retried/
// Caught, MapIteration*, ParallelBranch*, Execution*; events of nested Map
// iterations and Parallel branches are forwarded into the root log, Map ones
// with their `index`). It has no task-level events, so the Task handlers the
// runner installs (`taskResourceLocalHandlers`) are wrapped here: each call
// gives the task's effective Parameters (TaskScheduled), its result
// (TaskSucceeded) or error (TaskFailed / TaskTimedOut), timed when they
// happen. A call is tied to the StateEntered / StateRetried event that
// precedes it: the interpreter calls the handler synchronously right after
// dispatching that event, so per state name the calls come in the order of
// those events; among concurrent Map iterations the call whose Parameters
// contain the state's input is preferred.
//
// previousEventId follows the service: a state's first event points at the
// event before it in the same execution path (0 for the first state), its
// own events chain one to the next, a Map iteration's or Parallel branch's
// first state points at MapIterationStarted / ParallelStateStarted.
//
// Local differences (documented in statemachine/README.md): a DISTRIBUTED Map
// runs inline, so its iterations stay in this history (AWS puts them in the
// Map Run's child executions) besides MapRunStarted/MapRunSucceeded; input
// and output over 256 KiB (which AWS refuses with States.DataLimitExceeded)
// are cut, with `truncated: true`.

import { randomUUID } from 'node:crypto';

export const DATA_LIMIT = 262144;

const STATE_TYPES = ['Task', 'Choice', 'Pass', 'Wait', 'Succeed', 'Fail', 'Map', 'Parallel'];

// The states of a definition by name, each with its container (the Map or
// Parallel branch it runs in; null at the top). State names are unique in a
// whole state machine, nested ones included.
export function indexStates(definition) {
  const index = new Map();
  const walk = (states, container) => {
    for (const [name, state] of Object.entries(states ?? {})) {
      if (!index.has(name)) index.set(name, { name, state, container });
      const inner = state.ItemProcessor ?? state.Iterator;
      if (state.Type === 'Map' && inner) walk(inner.States, { kind: 'map', name, container });
      (state.Branches ?? []).forEach((b, branch) => walk(b.States, { kind: 'branch', name, branch, container }));
    }
  };
  walk(definition.States, null);
  return index;
}

// `arn:aws:states:::lambda:invoke.waitForTaskToken` -> lambda /
// invoke.waitForTaskToken; `arn:aws:states:::aws-sdk:s3:getObject` ->
// aws-sdk:s3 / getObject; a Lambda function ARN -> the legacy
// LambdaFunction* events.
export function taskResource(resource) {
  const m = /^arn:[^:]+:states:::(.+):([^:]+)$/.exec(resource ?? '');
  if (m) return { kind: 'task', resourceType: m[1], resource: m[2] };
  if (/^arn:[^:]+:lambda:/.test(resource ?? '')) return { kind: 'lambda', resource };
  return { kind: 'task', resourceType: 'unknown', resource: String(resource) };
}

function jsonText(value) {
  return value === undefined ? 'null' : JSON.stringify(value);
}

// `{ input: "...", inputDetails: { truncated } }` (or output).
function data(field, value) {
  let text = jsonText(value);
  const truncated = Buffer.byteLength(text) > DATA_LIMIT;
  if (truncated) text = Buffer.from(text).subarray(0, DATA_LIMIT).toString('utf8').replace(/\uFFFD$/, '');
  return { [field]: text, [`${field}Details`]: { truncated } };
}

function causeText(cause) {
  if (cause === undefined || cause === null) return '';
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}

// Whether `needle` equals `hay` or one of its nested values.
function containsValue(hay, needle) {
  const target = JSON.stringify(needle);
  const seen = [hay];
  while (seen.length > 0) {
    const v = seen.pop();
    if (JSON.stringify(v) === target) return true;
    if (v && typeof v === 'object') seen.push(...Object.values(v));
  }
  return false;
}

function errorOf(err) {
  // The interpreter reports a handler's error with its name as Error and its
  // `cause` (else message) as Cause; the same here.
  return { error: err?.name ?? 'Error', cause: causeText(err?.cause ?? err?.message) };
}

export class ExecutionHistory {
  // `definition`: the ASL object that runs; `region` for TaskScheduled;
  // `roleArn` for ExecutionStarted (the template's role, or a local one).
  constructor({ definition, region = 'us-east-1', roleArn, executionArn, distributedMaps } = {}) {
    this.definition = definition;
    this.executionArn = executionArn;
    this.region = region;
    this.roleArn = roleArn;
    this.states = indexStates(definition);
    this.distributed = distributedMaps ?? new Set([...this.states.values()]
      .filter((s) => s.state.Type === 'Map' && (s.state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED'))
      .map((s) => s.name));
    this.events = [];
    this.calls = new Map(); // state name -> task handler calls not yet tied to an attempt
    this.scopes = new Map(); // execution path -> { lastId }
    this.active = new Map(); // execution path + state name -> the state's record
    this.queue = []; // interpreter events not yet converted (see #barrier)
    this.barrier = null;
    this.status = 'RUNNING';
    this.listeners = new Set();
  }

  // The Task handlers, wrapped to record each call. `handlers` is the
  // `taskResourceLocalHandlers` object given to the interpreter.
  wrapHandlers(handlers) {
    const wrapped = {};
    for (const [name, handler] of Object.entries(handlers)) {
      wrapped[name] = (params) => {
        const call = { params: structuredClone(params), at: Date.now() };
        if (!this.calls.has(name)) this.calls.set(name, []);
        this.calls.get(name).push(call);
        let promise;
        try {
          promise = Promise.resolve(handler(params));
        } catch (err) {
          promise = Promise.reject(err);
        }
        return promise.then((result) => {
          Object.assign(call, { settled: true, ok: true, result, endAt: Date.now() });
          return result;
        }, (err) => {
          Object.assign(call, { settled: true, ok: false, error: err, endAt: Date.now() });
          throw err;
        });
      };
    }
    return wrapped;
  }

  // Passes the interpreter's event log through, recording each event.
  async *observe(eventLogs) {
    for await (const ev of eventLogs) {
      this.record(ev);
      yield ev;
    }
  }

  // A `.waitForTaskToken` task handed out its token and now waits
  // (TaskSubmitted). `params`: the Parameters it was called with.
  submitted(stateName, params) {
    const text = JSON.stringify(params);
    for (const rec of this.active.values()) {
      if (rec.name === stateName && rec.call && JSON.stringify(rec.call.params) === text && !rec.submitted) {
        this.#submit(rec, Date.now());
        return;
      }
    }
    for (const call of this.calls.get(stateName) ?? []) {
      if (JSON.stringify(call.params) === text) call.submittedAt = Date.now();
    }
  }

  // Called when an event is added: (event) => void.
  onEvent(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  record(ev) {
    this.queue.push(ev);
    this.#drain();
  }

  // Ends the history when the execution is over: events the interpreter
  // dropped (it closes its log at ExecutionSucceeded/Failed, and nested
  // events forwarded later are lost) are completed from what is known, and
  // an abort or timeout that produced no event is recorded.
  finish({ status, error, cause, output } = {}) {
    for (let guard = 0; (this.queue.length > 0 || this.barrier) && guard < 10000; guard++) this.#release();
    if (this.status === 'RUNNING' && status) {
      const terminal = { SUCCEEDED: 'ExecutionSucceeded', FAILED: 'ExecutionFailed', ABORTED: 'ExecutionAborted', TIMED_OUT: 'ExecutionTimeout' }[status];
      if (terminal) this.#convert({ type: terminal, timestamp: Date.now(), output, Error: error, Cause: cause });
    }
  }

  // The GetExecutionHistory response body (all events).
  toJSON() {
    return { events: this.events };
  }

  // Events are numbered in the order they are recorded, which can trail the
  // interpreter by a few milliseconds (a task's result is timed when its
  // call ended): timestamps are kept ascending, as the service lists them.
  #add(type, previousEventId, details = {}, timestamp = Date.now()) {
    const id = this.events.length + 1;
    const ms = Math.max(timestamp, this.lastTimestamp ?? 0);
    this.lastTimestamp = ms;
    const event = { timestamp: ms / 1000, type, id, previousEventId, ...details };
    this.events.push(event);
    for (const l of this.listeners) l(event);
    return id;
  }

  // The execution path an event runs in: '' at the top, the Map iteration
  // or Parallel branch otherwise (from the definition: nested events carry
  // their Map index, not their branch).
  #pathOf(stateName, index) {
    const c = this.states.get(stateName)?.container;
    if (!c) return '';
    return c.kind === 'map' ? `${c.name}[${index ?? 0}]` : `${c.name}/${c.branch}`;
  }

  #scope(path) {
    if (!this.scopes.has(path)) this.scopes.set(path, { lastId: 0 });
    return this.scopes.get(path);
  }

  // A Map or Parallel whose exit arrived before all its iterations' or
  // branches' events (the interpreter forwards nested events through
  // separate loops) holds back the events after it until they are in: all
  // forwarding happens in microtasks, so a macrotask later they are.
  #drain() {
    while (this.queue.length > 0) {
      if (this.barrier && !this.#barrierDone()) {
        const i = this.queue.findIndex((ev) => this.#isChildOf(ev, this.barrier.rec));
        if (i < 0) return;
        this.#convert(this.queue.splice(i, 1)[0]);
        continue;
      }
      this.barrier = null;
      const ev = this.queue.shift();
      const rec = this.#containerExit(ev);
      if (rec && rec.open.size > 0 && !this.#barrierDone(rec)) {
        this.queue.unshift(ev);
        this.barrier = { rec, ev };
        setImmediate(() => { if (this.barrier?.rec === rec) this.#release(); });
        continue;
      }
      this.#convert(ev);
    }
  }

  #release() {
    if (this.barrier) {
      const { rec, ev } = this.barrier;
      this.barrier = null;
      // Children still open now are never coming: on success they
      // succeeded (a Map or Parallel only succeeds when all did), on
      // failure the interpreter aborted them.
      for (const child of [...rec.open]) this.#closeChild(rec, child, ev.type === 'StateFailed' ? 'Aborted' : 'Succeeded');
      rec.open.clear();
    }
    this.#drain();
  }

  #barrierDone(rec = this.barrier?.rec) {
    return !rec || rec.open.size === 0;
  }

  #containerExit(ev) {
    if ((ev.type !== 'StateExited' && ev.type !== 'StateFailed') || !['Map', 'Parallel'].includes(ev.state?.type)) return null;
    return this.active.get(this.#pathOf(ev.state.name, ev.index) + '\0' + ev.state.name) ?? null;
  }

  #isChildOf(ev, rec) {
    if (ev.type.startsWith('MapIteration') || ev.type.startsWith('ParallelBranch')) return ev.parentState?.name === rec.name;
    let c = this.states.get(ev.state?.name)?.container;
    while (c) {
      if (c.name === rec.name) return true;
      c = c.container;
    }
    return false;
  }

  #convert(ev) {
    switch (ev.type) {
      case 'ExecutionStarted':
        this.startDate = ev.timestamp;
        this.input = ev.input;
        this.#add('ExecutionStarted', 0, { executionStartedEventDetails: { ...data('input', ev.input), ...(this.roleArn ? { roleArn: this.roleArn } : {}) } }, ev.timestamp);
        break;
      case 'StateEntered':
        this.#entered(ev);
        break;
      case 'StateRetried': {
        const rec = this.#rec(ev);
        if (rec) {
          rec.retries++;
          rec.failed = false;
          if (rec.type === 'Task') this.#schedule(rec, ev);
        }
        break;
      }
      case 'StateFailed':
        this.#failed(ev);
        break;
      case 'StateCaught': {
        const rec = this.#rec(ev);
        if (rec) rec.caught = true;
        break;
      }
      case 'StateExited':
        this.#exited(ev);
        break;
      case 'MapIterationStarted':
        this.#iterationStarted(ev);
        break;
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const rec = this.#containerRec(ev.parentState.name);
        if (rec) this.#closeChild(rec, ev.index, ev.type === 'MapIterationSucceeded' ? 'Succeeded' : 'Failed', ev.timestamp);
        break;
      }
      case 'ParallelBranchStarted':
      case 'ParallelBranchSucceeded':
      case 'ParallelBranchFailed': {
        // No history events of their own on AWS; counted to know when a
        // Parallel's branches are all in.
        const rec = this.#containerRec(ev.parentState.name);
        if (rec && ev.type === 'ParallelBranchStarted') rec.open.add(rec.branchesStarted++);
        else if (rec) rec.open.delete(Math.min(...rec.open));
        break;
      }
      case 'ExecutionSucceeded':
        this.#end('SUCCEEDED', ev);
        this.output = ev.output;
        this.#add('ExecutionSucceeded', this.#scope('').lastId, { executionSucceededEventDetails: data('output', ev.output) }, ev.timestamp);
        break;
      case 'ExecutionFailed':
        this.#end('FAILED', ev);
        this.error = ev.Error ?? '';
        this.cause = causeText(ev.Cause);
        this.#add('ExecutionFailed', this.events.length, { executionFailedEventDetails: { error: this.error, cause: this.cause } }, ev.timestamp);
        break;
      case 'ExecutionAborted':
        this.#abortOpen(ev.timestamp);
        this.#end('ABORTED', ev);
        this.error = ev.Error;
        this.cause = ev.Cause === undefined ? undefined : causeText(ev.Cause);
        this.#add('ExecutionAborted', this.events.length, { executionAbortedEventDetails: this.error ? { error: this.error, cause: this.cause ?? '' } : {} }, ev.timestamp);
        break;
      case 'ExecutionTimeout':
        this.#abortOpen(ev.timestamp);
        this.#end('TIMED_OUT', ev);
        this.error = 'States.Timeout';
        this.cause = ev.Cause === undefined ? 'The execution exceeded its TimeoutSeconds.' : causeText(ev.Cause);
        this.#add('ExecutionTimedOut', this.events.length, { executionTimedOutEventDetails: { error: this.error, cause: this.cause } }, ev.timestamp);
        break;
      default:
        break;
    }
  }

  #end(status, ev) {
    this.status = status;
    this.stopDate = ev.timestamp;
  }

  #key(name, index) {
    return this.#pathOf(name, index) + '\0' + name;
  }

  #rec(ev) {
    return this.active.get(this.#key(ev.state.name, ev.index));
  }

  #containerRec(name) {
    for (const rec of this.active.values()) if (rec.name === name) return rec;
    return null;
  }

  #entered(ev) {
    const { name, type, input } = ev.state;
    const path = this.#pathOf(name, ev.index);
    const scope = this.#scope(path);
    const state = this.states.get(name)?.state ?? { Type: type };
    const id = this.#add(`${STATE_TYPES.includes(type) ? type : 'Pass'}StateEntered`, scope.lastId,
      { stateEnteredEventDetails: { name, ...data('input', input) } }, ev.timestamp);
    const rec = { name, type, state, path, scope, lastId: id, retries: 0, open: new Set(), branchesStarted: 0, index: ev.index };
    this.active.set(this.#key(name, ev.index), rec);
    if (type === 'Task') {
      rec.resource = taskResource(state.Resource);
      this.#schedule(rec, ev);
    } else if (type === 'Map') {
      const length = this.#mapLength(state, input);
      rec.lastId = this.#add('MapStateStarted', rec.lastId, { mapStateStartedEventDetails: length === undefined ? {} : { length } }, ev.timestamp);
      if (this.distributed.has(name)) {
        // arn:aws:states:R:A:mapRun:<state machine>/<Map state>:<id>
        const [prefix, machine = 'local'] = (this.executionArn ?? 'arn:aws:states:us-east-1:000000000000:execution:local:x').split(':execution:');
        rec.mapRunArn = `${prefix}:mapRun:${machine.split(':')[0]}/${name}:${randomUUID()}`;
        rec.lastId = this.#add('MapRunStarted', rec.lastId, { mapRunStartedEventDetails: { mapRunArn: rec.mapRunArn } }, ev.timestamp);
      }
      rec.startedId = rec.lastId;
    } else if (type === 'Parallel') {
      rec.lastId = this.#add('ParallelStateStarted', rec.lastId, {}, ev.timestamp);
      rec.startedId = rec.lastId;
      (state.Branches ?? []).forEach((_, b) => { this.scopes.set(`${name}/${b}`, { lastId: rec.startedId }); });
    }
  }

  // The number of items a Map iterates over, for MapStateStarted: its
  // ItemsPath when it is a plain path ($, $.a.b), applied to the input after
  // InputPath.
  #mapLength(state, input) {
    const plain = (path, value) => {
      if (path === undefined || path === '$') return value;
      const m = /^\$((?:\.[A-Za-z_][\w-]*)+)$/.exec(path);
      if (!m) return undefined;
      return m[1].slice(1).split('.').reduce((v, k) => (v && typeof v === 'object' ? v[k] : undefined), value);
    };
    if (state.ItemReader) return undefined;
    const items = plain(state.ItemsPath, plain(state.InputPath, input));
    return Array.isArray(items) ? items.length : undefined;
  }

  // TaskScheduled + TaskStarted (or LambdaFunctionScheduled + Started) for
  // one attempt, from the handler call it made.
  #schedule(rec, ev) {
    const queue = this.calls.get(rec.name) ?? [];
    let at = queue.findIndex((c) => containsValue(c.params, ev.state.input));
    if (at < 0) at = queue.length > 0 ? 0 : -1;
    const call = at >= 0 ? queue.splice(at, 1)[0] : null;
    rec.call = call;
    rec.attemptCalled = Boolean(call);
    rec.submitted = false;
    // No call: the task failed before its resource was called (its
    // Parameters could not be evaluated), as AWS shows it: no TaskScheduled.
    if (!call) return;
    const t = call.at;
    const { state } = rec;
    if (rec.resource.kind === 'lambda') {
      const details = { resource: rec.resource.resource, ...data('input', call.params) };
      if (state.TimeoutSeconds !== undefined) details.timeoutInSeconds = state.TimeoutSeconds;
      rec.lastId = this.#add('LambdaFunctionScheduled', rec.lastId, { lambdaFunctionScheduledEventDetails: details }, t);
      rec.lastId = this.#add('LambdaFunctionStarted', rec.lastId, {}, t);
      return;
    }
    const { resourceType, resource } = rec.resource;
    const details = { resourceType, resource, region: this.region, parameters: jsonText(call.params) };
    if (state.TimeoutSeconds !== undefined) details.timeoutInSeconds = state.TimeoutSeconds;
    if (state.HeartbeatSeconds !== undefined) details.heartbeatInSeconds = state.HeartbeatSeconds;
    rec.lastId = this.#add('TaskScheduled', rec.lastId, { taskScheduledEventDetails: details }, t);
    rec.lastId = this.#add('TaskStarted', rec.lastId, { taskStartedEventDetails: { resourceType, resource } }, t);
    if (call.submittedAt) this.#submit(rec, call.submittedAt);
  }

  #submit(rec, t) {
    if (rec.submitted || rec.resource?.kind !== 'task') return;
    rec.submitted = true;
    const { resourceType, resource } = rec.resource;
    rec.lastId = this.#add('TaskSubmitted', rec.lastId, { taskSubmittedEventDetails: { resourceType, resource } }, t);
  }

  // TaskSucceeded from the attempt's call (the raw result, before
  // ResultSelector / ResultPath: what AWS records).
  #taskSucceeded(rec, fallbackOutput, t) {
    if (!rec.call) return;
    const output = rec.call.ok ? rec.call.result : fallbackOutput;
    const at = rec.call.endAt ?? t;
    if (rec.resource.kind === 'lambda') {
      rec.lastId = this.#add('LambdaFunctionSucceeded', rec.lastId, { lambdaFunctionSucceededEventDetails: data('output', output) }, at);
    } else {
      const { resourceType, resource } = rec.resource;
      rec.lastId = this.#add('TaskSucceeded', rec.lastId, { taskSucceededEventDetails: { resourceType, resource, ...data('output', output) } }, at);
    }
    rec.call = null;
  }

  #failed(ev) {
    const rec = this.#rec(ev);
    if (!rec) return;
    rec.failedError = ev.Error ?? '';
    rec.failedCause = causeText(ev.Cause);
    if (rec.type === 'Task') {
      if (rec.call?.ok) {
        // The resource answered; the state failed afterwards (ResultSelector,
        // ResultPath, OutputPath): the task itself succeeded.
        this.#taskSucceeded(rec, undefined, ev.timestamp);
        return;
      }
      if (!rec.attemptCalled) return;
      const timedOut = rec.failedError === 'States.Timeout' || rec.failedError === 'States.HeartbeatTimeout';
      const t = ev.timestamp;
      const details = { error: rec.failedError, cause: rec.failedCause };
      if (rec.resource.kind === 'lambda') {
        rec.lastId = this.#add(timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed', rec.lastId,
          { [timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails']: details }, t);
      } else {
        const { resourceType, resource } = rec.resource;
        rec.lastId = this.#add(timedOut ? 'TaskTimedOut' : 'TaskFailed', rec.lastId,
          { [timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails']: { resourceType, resource, ...details } }, t);
      }
      rec.call = null;
    } else if (rec.type === 'Map') {
      for (const child of [...rec.open]) this.#closeChild(rec, child, 'Aborted', ev.timestamp);
      if (rec.mapRunArn) rec.lastId = this.#add('MapRunFailed', rec.lastId, { mapRunFailedEventDetails: { error: rec.failedError, cause: rec.failedCause } }, ev.timestamp);
      rec.lastId = this.#add('MapStateFailed', rec.lastId, {}, ev.timestamp);
    } else if (rec.type === 'Parallel') {
      rec.open.clear();
      rec.lastId = this.#add('ParallelStateFailed', Math.max(rec.lastId, this.#branchesLastId(rec)), {}, ev.timestamp);
    }
    rec.failed = true;
    // Not caught and not retried: the execution's failure follows; a
    // nested one fails its iteration or branch.
  }

  #branchesLastId(rec) {
    let last = 0;
    (rec.state.Branches ?? []).forEach((_, b) => { last = Math.max(last, this.scopes.get(`${rec.name}/${b}`)?.lastId ?? 0); });
    return last;
  }

  #exited(ev) {
    const rec = this.#rec(ev);
    if (!rec) return;
    const { name, output } = ev.state;
    if (!rec.failed) {
      if (rec.type === 'Task') this.#taskSucceeded(rec, output, ev.timestamp);
      if (rec.type === 'Map') {
        if (rec.mapRunArn) rec.lastId = this.#add('MapRunSucceeded', Math.max(rec.lastId, rec.childrenLastId ?? 0), {}, ev.timestamp);
        rec.lastId = this.#add('MapStateSucceeded', Math.max(rec.lastId, rec.childrenLastId ?? 0), {}, ev.timestamp);
      }
      if (rec.type === 'Parallel') {
        rec.lastId = this.#add('ParallelStateSucceeded', Math.max(rec.lastId, this.#branchesLastId(rec)), {}, ev.timestamp);
      }
    }
    const id = this.#add(`${rec.type}StateExited`, rec.lastId, { stateExitedEventDetails: { name, ...data('output', output) } }, ev.timestamp);
    rec.scope.lastId = id;
    this.active.delete(this.#key(name, ev.index));
  }

  #iterationStarted(ev) {
    const rec = this.#containerRec(ev.parentState.name);
    const prev = rec?.startedId ?? 0;
    const id = this.#add('MapIterationStarted', prev, { mapIterationStartedEventDetails: { name: ev.parentState.name, index: ev.index } }, ev.timestamp);
    this.scopes.set(`${ev.parentState.name}[${ev.index}]`, { lastId: id });
    rec?.open.add(ev.index);
  }

  // MapIterationSucceeded / Failed / Aborted.
  #closeChild(rec, index, how, t = Date.now()) {
    if (!rec.open.has(index)) return;
    rec.open.delete(index);
    if (rec.type !== 'Map') return;
    const scope = this.scopes.get(`${rec.name}[${index}]`);
    const id = this.#add(`MapIteration${how}`, scope?.lastId ?? rec.startedId,
      { [`mapIteration${how}EventDetails`]: { name: rec.name, index } }, t);
    rec.childrenLastId = Math.max(rec.childrenLastId ?? 0, id);
    // Iterations' states that never ended (aborted with the Map).
    for (const [k, r] of this.active) {
      if (r.path === `${rec.name}[${index}]`) this.active.delete(k);
    }
  }

  // States still running when the execution is aborted or times out.
  #abortOpen(t) {
    for (const rec of [...this.active.values()].reverse()) {
      if (['Task', 'Map', 'Parallel', 'Wait'].includes(rec.type) && rec.path === '') {
        rec.lastId = this.#add(`${rec.type}StateAborted`, rec.lastId, {}, t);
      }
    }
    this.active.clear();
  }
}

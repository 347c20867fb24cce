// The callback pattern `arn:aws:states:::lambda:invoke.waitForTaskToken`,
// run locally. aws-local-stepfunctions knows neither the integration nor
// `$$.Task.Token`; this module supplies both through the interpreter's
// documented options:
//   - `context`: a Context Object whose `Task.Token` is a fresh token each
//     time a state's Parameters read it (as Step Functions gives each task
//     its own token);
//   - `taskResourceLocalHandlers`: for each such Task state, a handler that
//     invokes the function with the Parameters (lambda_invoke.mjs: the
//     function gets the token in its Payload), then waits in a TaskTokens
//     registry (sfn_api.mjs) until SendTaskSuccess / SendTaskFailure arrive
//     through the local Step Functions API, with the state's
//     HeartbeatSeconds (States.HeartbeatTimeout) and TimeoutSeconds
//     (States.Timeout) clocks. The task's result is the SendTaskSuccess
//     output; SendTaskFailure's error and cause fail it, as on AWS.
// The wait starts with the invoke, not after it: the function may keep
// running (RequestApproval sends heartbeats until the task is answered).
// A failed invoke fails the task at once.
//
// TimeoutSecondsPath / HeartbeatSecondsPath: on AWS they are read from the
// state's input; the interpreter reads TimeoutSecondsPath from the
// Parameters' result instead, and hands a task override nothing but that
// result. Locally such a path must therefore also be passed to the function
// in Parameters.Payload (`"x.$": <the same path>`, as a function that
// records the expiry needs anyway): the value is read from there, and
// withLocalTaskTimeouts() points the interpreter's own TimeoutSecondsPath at
// it.
import { LAMBDA_INVOKE } from './lambda_invoke.mjs';

export const LAMBDA_INVOKE_WAIT = `${LAMBDA_INVOKE}.waitForTaskToken`;

// Name -> definition of every waitForTaskToken Task state, at any depth.
export function waitForTokenStates(states, found = {}) {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task' && state.Resource === LAMBDA_INVOKE_WAIT) found[name] = state;
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) waitForTokenStates(inner.States, found);
    for (const branch of state.Branches ?? []) waitForTokenStates(branch.States, found);
  }
  return found;
}

// Tokens handed out by the context but not yet claimed by a task.
class TokenSource {
  constructor(tasks) {
    this.tasks = tasks;
    this.issued = new Set();
  }

  next() {
    const token = this.tasks.newToken();
    this.issued.add(token);
    return token;
  }

  // The issued token that appears in the task's Parameters (the state put
  // it there from $$.Task.Token), claimed once.
  claim(params) {
    const text = JSON.stringify(params);
    for (const token of this.issued) {
      if (text.includes(token)) {
        this.issued.delete(token);
        return token;
      }
    }
    return null;
  }
}

// The Payload key that carries `path` (a *SecondsPath) to the function.
function payloadKeyOf(state, path) {
  const payload = state.Parameters?.Payload ?? {};
  const entry = Object.entries(payload).find(([k, v]) => k.endsWith('.$') && v === path);
  if (!entry) {
    throw new Error(`${path}: locally a TimeoutSecondsPath/HeartbeatSecondsPath must also be passed in Parameters.Payload (see wait_for_token.mjs)`);
  }
  return entry[0].slice(0, -2);
}

// The seconds a state's clock runs: its *Seconds, or the value its
// *SecondsPath took in the Payload.
function seconds(state, name, params) {
  if (state[name] !== undefined) return state[name];
  const path = state[`${name}Path`];
  if (path === undefined) return undefined;
  const value = params.Payload?.[payloadKeyOf(state, path)];
  if (!Number.isInteger(value) || value < 1) {
    const err = new Error(`${name}Path ${path} must select a positive integer (got ${JSON.stringify(value)})`);
    err.name = 'States.Runtime';
    throw err;
  }
  return value;
}

// A copy of the definition whose callback tasks' TimeoutSecondsPath reads
// the value where the interpreter looks (the Parameters' result); the
// definition itself is left as written.
export function withLocalTaskTimeouts(definition) {
  const copy = structuredClone(definition);
  for (const state of Object.values(waitForTokenStates(copy.States))) {
    if (state.TimeoutSecondsPath) state.TimeoutSecondsPath = `$.Payload.${payloadKeyOf(state, state.TimeoutSecondsPath)}`;
  }
  return copy;
}

// Returns { context, handlers } to merge into a run's options:
// `invoke` is a lambda_invoke.mjs invoker, `tasks` the TaskTokens registry
// the local API answers, `onWait({state, token, params})` is told when a task
// starts waiting (e.g. to print the approve/reject commands).
export function waitForTokenSupport(definition, { invoke, tasks, onWait = () => {} }) {
  const source = new TokenSource(tasks);
  const context = { Task: { get Token() { return source.next(); } } };
  const handlers = {};
  for (const [name, state] of Object.entries(waitForTokenStates(definition.States))) {
    handlers[name] = async (params) => {
      const token = source.claim(params);
      if (!token) {
        const err = new Error('a .waitForTaskToken task must pass $$.Task.Token in its Parameters');
        err.name = 'States.Runtime';
        throw err;
      }
      const heartbeatSeconds = seconds(state, 'HeartbeatSeconds', params);
      const timeoutSeconds = seconds(state, 'TimeoutSeconds', params);
      // Registered before the invoke: the function may answer at once.
      const waiting = tasks.wait(token, { heartbeatSeconds, timeoutSeconds, info: { state: name, params } });
      // The function's own result does not matter; its failure fails the
      // task (with the function's error), unless the task is over already.
      const invoked = invoke(params).catch((err) => {
        try { tasks.failure(token, err.name, err.message); } catch { /* already answered */ }
      });
      onWait({ state: name, token, params, heartbeatSeconds, timeoutSeconds, invoked });
      return waiting;
    };
  }
  return { context, handlers };
}

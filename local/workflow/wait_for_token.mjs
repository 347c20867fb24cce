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
// A failed invoke fails the task at once (nothing waits for a token that
// was never handed out).
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
      // Registered before the invoke: the function may answer at once.
      const waiting = tasks.wait(token, { heartbeatSeconds: state.HeartbeatSeconds, timeoutSeconds: state.TimeoutSeconds,
        info: { state: name, params } });
      waiting.catch(() => {}); // observed below, or dropped with a failed invoke
      try {
        await invoke(params);
      } catch (err) {
        try { tasks.failure(token, err.name, err.message); } catch { /* already answered */ }
        throw err;
      }
      onWait({ state: name, token, params });
      return waiting;
    };
  }
  return { context, handlers };
}

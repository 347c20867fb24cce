// The `arn:aws:states:::sns:publish` states of a definition, run locally.
// There is no local SNS: run.mjs overrides these states with a recorder.
//
// aws-local-stepfunctions 3.0.0 removes every backslash from the string an
// intrinsic function returns, so `States.JsonToString($)` of a value that
// holds a JSON string (a lambda:invoke Cause is the error JSON) comes out as
// broken JSON. For the local run only, a Message written as
// `States.JsonToString(<path>)` is therefore rewritten to the bare path and
// serialised by the recorder with JSON.stringify, which is what
// States.JsonToString does on AWS.
const SNS_PUBLISH = 'arn:aws:states:::sns:publish';
const JSON_TO_STRING = /^States\.JsonToString\((\$[^()]*)\)$/;

// Names of the SNS publish Task states, at any depth (Map, Parallel).
export function snsStates(states, found = []) {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task' && state.Resource.startsWith(SNS_PUBLISH)) found.push(name);
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) snsStates(inner.States, found);
    for (const branch of state.Branches ?? []) snsStates(branch.States, found);
  }
  return found;
}

// A copy of the definition whose SNS states pass the JSON value itself
// (see above); the definition itself is left as written.
export function withLocalJsonMessages(definition) {
  const copy = structuredClone(definition);
  const visit = (states) => {
    for (const state of Object.values(states)) {
      const m = state.Type === 'Task' && state.Resource.startsWith(SNS_PUBLISH)
        ? JSON_TO_STRING.exec(state.Parameters?.['Message.$'] ?? '') : null;
      if (m) state.Parameters['Message.$'] = m[1];
      const inner = state.ItemProcessor ?? state.Iterator;
      if (inner) visit(inner.States);
      for (const branch of state.Branches ?? []) visit(branch.States);
    }
  };
  visit(copy.States);
  return copy;
}

// SNS Publish takes a string Message.
export function messageText(message) {
  return typeof message === 'string' ? message : JSON.stringify(message);
}

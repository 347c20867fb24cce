// The `arn:aws:states:::sns:publish` states of a definition, run locally.
// There is no local SNS: run.mjs overrides these states with a recorder, and
// serves the functions that publish themselves a local SNS endpoint
// (startSnsApi, below) that records into the same place.
//
// aws-local-stepfunctions 3.0.0 removes every backslash from the string an
// intrinsic function returns, so `States.JsonToString($)` of a value that
// holds a JSON string (a lambda:invoke Cause is the error JSON) comes out as
// broken JSON. For the local run only, a Message written as
// `States.JsonToString(<path>)` is therefore rewritten to the bare path and
// serialised by the recorder with JSON.stringify, which is what
// States.JsonToString does on AWS.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { ApiError, readBody, verifySigV4 } from './sfn_api.mjs';

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

// A local SNS endpoint for the functions that publish themselves
// (RequestApproval, through lambda::sns): the query protocol (POST /,
// form-encoded Action=Publish&TopicArn=…&Message=…[&Subject=…]), SigV4
// checked for service "sns", XML answers as SNS gives them. Each message goes
// to `onPublish({ TopicArn, Subject, Message })`, which returns nothing or
// throws. Unknown topics (not in `topics`) are NotFound; anything but Publish
// is InvalidAction.

const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

function xmlEscape(text) {
  return String(text).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }[c]));
}

export async function startSnsApi({ credentials, topics, onPublish, region = 'us-east-1', port = 0, log = () => {} }) {
  const server = createServer(async (req, res) => {
    const requestId = randomUUID();
    const answer = (status, xml) => {
      res.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(xml), 'x-amzn-RequestId': requestId });
      res.end(xml);
    };
    try {
      const body = await readBody(req);
      if (req.method !== 'POST') throw new ApiError(400, 'InvalidAction', 'only POST is served');
      await verifySigV4(req, body, credentials, region, 'sns');
      const form = new URLSearchParams(body.toString('utf8'));
      const action = form.get('Action');
      if (action !== 'Publish') throw new ApiError(400, 'InvalidAction', `unsupported action ${action ?? '(none)'}: the local SNS endpoint serves Publish`);
      const TopicArn = form.get('TopicArn');
      const Message = form.get('Message');
      const Subject = form.get('Subject') ?? undefined;
      if (!Message) throw new ApiError(400, 'InvalidParameter', 'Invalid parameter: Empty message');
      if (!topics.includes(TopicArn)) throw new ApiError(404, 'NotFound', 'Topic does not exist');
      await onPublish({ TopicArn, Subject, Message });
      const messageId = randomUUID();
      log(`Publish ${TopicArn}: 200`);
      answer(200, `<PublishResponse xmlns="${SNS_XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult>`
        + `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', err.message);
      log(`Publish: ${e.status} ${e.type}: ${e.message}`);
      answer(e.status, `<ErrorResponse xmlns="${SNS_XMLNS}"><Error><Type>${e.status >= 500 ? 'Receiver' : 'Sender'}</Type>`
        + `<Code>${xmlEscape(e.type)}</Code><Message>${xmlEscape(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`);
    }
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

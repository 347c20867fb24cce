// The optimized Step Functions integration `arn:aws:states:::lambda:invoke`,
// run locally. aws-local-stepfunctions does not emulate it (it would invoke a
// function literally named after that ARN), so run.mjs overrides each such
// Task state (the interpreter's documented `taskResourceLocalHandlers`) with
// the handler made here. It behaves as Step Functions does:
//   - the state's effective Parameters are the Lambda Invoke request
//     (FunctionName, Payload, Qualifier, InvocationType, ClientContext), sent
//     through the AWS SDK (SigV4) to a Lambda Invoke API (lambda-local);
//   - the task result is the Invoke response in the integration's shape:
//     ExecutedVersion, Payload (parsed from JSON), SdkHttpMetadata
//     (AllHttpHeaders, HttpHeaders, HttpStatusCode), SdkResponseMetadata
//     (RequestId), StatusCode;
//   - a function error fails the task with Error = the errorType and Cause =
//     the error payload as a JSON string; Lambda service errors become
//     `Lambda.<Exception>` and transport failures `Lambda.SdkClientException`,
//     the names the recommended Retry set matches. The SDK itself does not
//     retry (one attempt): retrying is the state's Retry field's job, as on
//     AWS.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

export const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';

// The header names as Step Functions writes them in SdkHttpMetadata (the
// documented example); Node hands them over lower-cased.
const HEADER_CASE = Object.fromEntries([
  'Connection', 'Content-Length', 'Content-Type', 'Date', 'X-Amz-Executed-Version',
  'x-amzn-Remapped-Content-Length', 'x-amzn-RequestId', 'X-Amzn-Trace-Id', 'X-Amz-Function-Error',
  'X-Amz-Log-Result',
].map((h) => [h.toLowerCase(), h]));

// Every Task state, at any depth (Map, Parallel), whose resource is the
// request-response lambda:invoke integration.
export function lambdaInvokeStates(states, found = []) {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task' && state.Resource === LAMBDA_INVOKE) found.push(name);
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) lambdaInvokeStates(inner.States, found);
    for (const branch of state.Branches ?? []) lambdaInvokeStates(branch.States, found);
  }
  return found;
}

export class TaskError extends Error {
  constructor(name, cause) {
    super(cause);
    this.name = name;
  }
}

function sdkHttpMetadata(status, headers) {
  const all = {};
  const single = {};
  for (const [name, value] of Object.entries(headers)) {
    const cased = HEADER_CASE[name.toLowerCase()] ?? name;
    all[cased] = [value];
    single[cased] = value;
  }
  const sorted = (o) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  return { AllHttpHeaders: all, HttpHeaders: sorted(single), HttpStatusCode: status };
}

function parsePayload(text) {
  if (text === '') return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

// Builds the Invoke request from the task's effective parameters, with the
// checks Step Functions makes before calling Lambda.
function invokeRequest(params) {
  if (params === null || typeof params !== 'object' || typeof params.FunctionName !== 'string' || params.FunctionName === '') {
    throw new TaskError('States.Runtime', 'lambda:invoke needs Parameters.FunctionName (a function name or ARN)');
  }
  const request = { FunctionName: params.FunctionName };
  if (params.Payload !== undefined) {
    // A JSON value is sent as its JSON text, a string as itself (Lambda
    // then requires it to be JSON), as the integration does.
    const text = typeof params.Payload === 'string' ? params.Payload : JSON.stringify(params.Payload);
    request.Payload = new TextEncoder().encode(text);
  }
  for (const k of ['Qualifier', 'InvocationType', 'ClientContext', 'LogType']) {
    if (params[k] !== undefined) request[k] = params[k];
  }
  return request;
}

// Returns `invoke(params)`: one lambda:invoke task attempt against the
// Invoke API at `endpoint`.
export function createLambdaInvoker({ endpoint, region, credentials = { accessKeyId: 'local', secretAccessKey: 'local' } }) {
  const client = new LambdaClient({ endpoint, region, credentials, maxAttempts: 1 });
  return async function invoke(params) {
    const command = new InvokeCommand(invokeRequest(params));
    // The raw response, for SdkHttpMetadata: the SDK's output keeps only
    // the modelled fields.
    let raw;
    command.middlewareStack.add((next) => async (args) => {
      const out = await next(args);
      raw = out.response;
      return out;
    }, { step: 'deserialize', name: 'lambdaCKeepRawResponse' });
    let res;
    try {
      res = await client.send(command);
    } catch (err) {
      const status = err.$metadata?.httpStatusCode;
      if (status === undefined || err.$fault === undefined) {
        throw new TaskError('Lambda.SdkClientException', `Unable to execute HTTP request: ${err.message}`);
      }
      const code = err.name && err.name !== 'Error' ? err.name : 'AWSLambdaException';
      throw new TaskError(`Lambda.${code}`, `${err.message} (Service: AWSLambda; Status Code: ${status}; Error Code: ${code}; Request ID: ${err.$metadata.requestId ?? ''}; Proxy: null)`);
    }
    const text = res.Payload ? new TextDecoder().decode(res.Payload) : '';
    if (res.FunctionError) {
      const payload = parsePayload(text);
      const errorType = typeof payload?.errorType === 'string' && payload.errorType !== '' ? payload.errorType : 'Lambda.Unknown';
      throw new TaskError(errorType, text);
    }
    return {
      ExecutedVersion: res.ExecutedVersion,
      Payload: parsePayload(text),
      SdkHttpMetadata: sdkHttpMetadata(raw?.statusCode ?? res.StatusCode, raw?.headers ?? {}),
      SdkResponseMetadata: { RequestId: res.$metadata.requestId },
      StatusCode: res.StatusCode,
    };
  };
}

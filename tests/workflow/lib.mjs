// What the workflow tests share: their arguments, child processes,
// lambda-local started on port 0, the loopback S3 server, and the case runner
// (approval, e2e, run_report, approve_report, lambda_invoke, wait_for_token).
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// `--name value` pairs as { name: value }.
export function parseArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(argv.reduce((acc, v, i, a) => (i % 2 === 0 ? [...acc, [v.replace(/^--/, ''), a[i + 1]]] : acc), []));
}

// Runs a program without blocking this process's event loop (servers the
// test runs live in it), killing it after `timeoutMs`; `onLine` sees each
// stdout line as it comes, `onChild` the child process.
export function exec(cmd, argv, { env = process.env, timeoutMs = 300000, onChild, onLine } = {}) {
  return new Promise((done) => {
    const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    onChild?.(child);
    let stdout = '', stderr = '';
    if (onLine) createInterface({ input: child.stdout }).on('line', (line) => { stdout += `${line}\n`; onLine(line); });
    else child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { stderr += `\n(killed after ${timeoutMs} ms)`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); done({ status: null, stdout, stderr: `${stderr}${err.message}` }); });
    child.on('close', (status) => { clearTimeout(timer); done({ status, stdout, stderr }); });
  });
}

// The AWS CLI, Debian's first (another `aws` on PATH may shadow it).
export const AWS = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

// `lambda-local start-lambda` with the template's functions on the real
// bootstrap, both stores in `work`, on 127.0.0.1 port 0: resolves with
// { child, endpoint } once it says where it listens (rejects if it exits
// first or is silent for a minute). The caller kills `child`.
export async function startLambdaLocal({ root, lambdaLocal, bootstrap, work, env = process.env, stderr = 'inherit' }) {
  const envFile = join(work, 'env.json');
  writeFileSync(envFile, JSON.stringify({ Parameters: { DATA_STORE: `file://${work}`, REPORT_STORE: `file://${work}` } }));
  const child = spawn(lambdaLocal, ['start-lambda', '--template', join(root, 'template.yaml'), '--host', '127.0.0.1', '--port', '0',
    '--bootstrap', bootstrap, '--env-vars', envFile], { stdio: ['ignore', 'pipe', stderr], env });
  const endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('lambda-local did not listen within 60 s')), 60000);
    child.on('exit', (code) => reject(new Error(`lambda-local exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  return { child, endpoint };
}

// The environment of awscli calls against the loopback S3 server.
export const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_PAGER: '',
  AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };

// @20minutes/s3rver (local/node_modules) in this process on 127.0.0.1 port
// 0, storing in `dir`, with `buckets`: its endpoint URL; closed by `cleanups`.
export async function startS3(root, dir, buckets, cleanups) {
  const require = createRequire(join(root, 'local/package.json'));
  const S3rver = require('@20minutes/s3rver');
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir,
    configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  cleanups.push(() => server.close());
  return `http://127.0.0.1:${port}`;
}

// Runs cases[name], logs PASS or FAIL, runs the cleanups (last first) and
// exits: the work dir is removed on success, kept (and named) on failure.
export async function runCase(cases, name, { log, work, cleanups = [] }) {
  let exitCode = 0;
  try {
    if (!cases[name]) throw new Error(`unknown case ${name}`);
    await cases[name]();
    log('PASS');
  } catch (err) {
    exitCode = 1;
    log(`FAIL: ${err.stack}`);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
    if (exitCode === 0) rmSync(work, { recursive: true, force: true });
    else log(`work dir kept: ${work}`);
  }
  process.exit(exitCode);
}

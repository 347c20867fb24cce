// local/run-report.sh never touches a user's store uninvited: sample data
// only into the embedded store (or with --sample-data, never over objects
// already there), every option checked before anything is written, a refused
// listing reported as the workflow's StoreAccessDenied, an unknown customer
// answered with exit status 3 and the customers present. Each case lists the
// store before and after (every object with its size and checksum) and
// requires them equal.
//
//   node run_report.mjs --case file|s3|usage|cleanup --root REPO --build DIR
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AWS, exec as run, parseArgs, runCase, S3_ENV, startS3 as startS3Server } from './lib.mjs';

const args = parseArgs();
const root = args.root;
const work = mkdtempSync(join(tmpdir(), `run-report-${args.case}-`));
const cleanups = [];

function log(msg) { console.log(`[run_report ${args.case}] ${msg}`); }
const exec = (cmd, argv, opts = {}) => run(cmd, argv, { timeoutMs: 240000, ...opts });

// run-report.sh without set-up (the build is given), quiet progress.
async function runReport(argv, env = {}) {
  const r = await exec('bash', [join(root, 'local/run-report.sh'), '--no-setup', '--build-dir', args.build, ...argv],
    { env: { ...process.env, ...env } });
  log(`run-report.sh ${argv.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return r;
}

// A user's store: their own objects, one of them where the sample generator
// would write (customer=cust0001), with contents the generator never makes.
function userObjects() {
  return {
    'prospects/customer=cust0001/date=2024-01-01/events-0.ndjson':
      '{"eventId":"mine-1","customerId":"cust0001","prospectId":"p","type":"visit","occurredAt":"2024-01-01T00:00:00Z"}\n',
    'prospects/customer=acme/date=2024-03-01/a.ndjson':
      '{"eventId":"acme-1","customerId":"acme","prospectId":"p","type":"visit","occurredAt":"2024-03-01T00:00:00Z"}\n',
    'notes/readme.txt': 'not report data\n',
  };
}

function fileListing(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? d.path, d.name))
    .map((f) => { const b = readFileSync(f); return `${relative(dir, f)} ${b.length} ${createHash('sha256').update(b).digest('hex').slice(0, 16)}`; })
    .sort();
}

function assertUnchanged(before, after, what) {
  log(`${what}: listing before (${before.length} objects):\n  ${before.join('\n  ')}\n${what}: listing after (${after.length} objects):\n  ${after.join('\n  ')}`);
  assert.deepEqual(after, before, `${what}: the store changed`);
}

// ---- loopback S3 ----

const startS3 = (dir) => startS3Server(root, dir, ['user-bucket'], cleanups);

async function aws(endpoint, ...cli) {
  const r = await exec(AWS, ['--endpoint-url', endpoint, ...cli], { env: { ...process.env, ...S3_ENV }, timeoutMs: 60000 });
  assert.equal(r.status, 0, `aws ${cli.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

// The bucket's objects (key, size, ETag) by ListObjectsV2 through curl's
// SigV4: five listings with awscli took half a minute on a loaded machine
// (seconds to start each), which put this test near its timeout.
async function s3Listing(endpoint) {
  const r = await exec('curl', ['-sS', '--fail', '--max-time', '60', '--aws-sigv4', 'aws:amz:us-east-1:s3',
    '--user', `${S3_ENV.AWS_ACCESS_KEY_ID}:${S3_ENV.AWS_SECRET_ACCESS_KEY}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD',
    `${endpoint}/user-bucket?list-type=2`], { timeoutMs: 60000 });
  assert.equal(r.status, 0, `ListObjectsV2: ${r.stderr}`);
  assert.match(r.stdout, /<IsTruncated>false<\/IsTruncated>/, 'one page of listing');
  const field = (xml, name) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1].replaceAll('&quot;', '"');
  return [...r.stdout.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)]
    .map(([, c]) => `${field(c, 'Key')} ${field(c, 'Size')} ${field(c, 'ETag')}`).sort();
}

// ---- cases ----

const cases = {
  async file() {
    const store = join(work, 'user-store');
    for (const [key, body] of Object.entries(userObjects())) {
      mkdirSync(join(store, key, '..'), { recursive: true });
      writeFileSync(join(store, key), body);
    }
    const before = fileListing(store);

    // The customer has no object: exit 3, the customers present, nothing written.
    let r = await runReport(['--customer', 'nobody', '--store', `file://${store}`]);
    assert.equal(r.status, 3, 'no data: exit status 3');
    assert.match(r.stderr, /customer nobody has no source objects in file:\/\//);
    assert.match(r.stderr, /Customers present: acme, cust0001 \(listed with: ls /);
    assertUnchanged(before, fileListing(store), 'run-report.sh --customer nobody --store <non-default file store>');

    // --sample-data where the generator's customers already have objects: skipped.
    r = await runReport(['--customer', 'nobody', '--store', `file://${store}`, '--sample-data']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /already holds prospects\/customer=cust0001: no sample data written/);
    assertUnchanged(before, fileListing(store), '--sample-data over existing objects');

    // A hostile customer id is refused before anything, even with --sample-data.
    const empty = join(work, 'empty-store');
    mkdirSync(empty);
    r = await runReport(['--customer', '../x', '--store', `file://${empty}`, '--sample-data']);
    assert.equal(r.status, 2, 'bad usage: exit status 2');
    assert.match(r.stderr, /--customer '\.\.\/x': expected 1 to 64 characters/);
    assert.deepEqual(fileListing(empty), [], 'nothing written for a rejected customer id');
    assert.deepEqual(readdirSync(empty), [], 'not even a directory');

    // The user's own customer runs, and only reports/ is added.
    r = await runReport(['--customer', 'acme', '--from', '2024-03-01', '--to', '2024-03-31', '--store', `file://${store}`,
      '--part-size', '1048576', '--', '--report-id', 'rr-acme', '--quiet']);
    assert.equal(r.status, 0, 'the user\'s own customer runs');
    const added = fileListing(store).filter((l) => !before.includes(l));
    assert.ok(added.every((l) => l.startsWith('reports/acme/rr-acme/')), `only the report was added: ${added}`);
    assert.deepEqual(fileListing(store).filter((l) => !l.startsWith('reports/')), before, 'source objects untouched');

    // A customer present but without data in the range: the workflow runs,
    // says so, exit 3.
    r = await runReport(['--customer', 'acme', '--from', '2024-05-01', '--to', '2024-05-31', '--store', `file://${store}`,
      '--', '--report-id', 'rr-empty-range', '--quiet']);
    assert.equal(r.status, 3, 'no data in the range: exit status 3');
    assert.match(r.stderr, /customer acme has no source objects between 2024-05-01 and 2024-05-31/);
    assert.match(r.stderr, /Customers present: acme, cust0001/);
  },

  async s3() {
    const endpoint = await startS3(join(work, 's3rver'));
    const src = join(work, 'objects');
    for (const [key, body] of Object.entries(userObjects())) {
      mkdirSync(join(src, key, '..'), { recursive: true });
      writeFileSync(join(src, key), body);
    }
    await aws(endpoint, 's3', 'cp', '--recursive', '--quiet', src, 's3://user-bucket/data');
    const before = await s3Listing(endpoint);
    assert.equal(before.length, 3);
    const s3 = ['--store', 's3://user-bucket/data', '--endpoint', endpoint];

    let r = await runReport(['--customer', 'nobody', ...s3], S3_ENV);
    assert.equal(r.status, 3, 'no data: exit status 3');
    assert.match(r.stderr, /customer nobody has no source objects in s3:\/\/user-bucket\/data/);
    assert.match(r.stderr, /Customers present: acme, cust0001 \(listed with: aws --endpoint-url/);
    assertUnchanged(before, await s3Listing(endpoint), 'run-report.sh --customer nobody --store s3://user-bucket/data (s3rver)');

    r = await runReport(['--customer', 'nobody', ...s3, '--sample-data'], S3_ENV);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /already holds prospects\/customer=cust0001: no sample data written/);
    assertUnchanged(before, await s3Listing(endpoint), '--sample-data over existing S3 objects');

    r = await runReport(['--customer', '../x', '--store', 's3://user-bucket/fresh', '--endpoint', endpoint, '--sample-data'], S3_ENV);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--customer '\.\.\/x'/);
    assertUnchanged(before, await s3Listing(endpoint), 'hostile --customer on S3');

    // Wrong credentials: the listing fails, no sample data is attempted, and
    // the workflow reports its own StoreAccessDenied (not "no data", not a
    // PutObject error from the generator).
    r = await runReport(['--customer', 'cust0001', '--store', 's3://user-bucket/fresh', '--endpoint', endpoint, '--sample-data',
      '--', '--quiet', '--report-id', 'rr-denied'], { ...S3_ENV, AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    assert.equal(r.status, 1, 'the execution fails');
    assert.match(r.stderr, /cannot list s3:\/\/user-bucket\/fresh .*no sample data written/);
    assert.match(r.stderr, /Execution FAILED: StoreAccessDenied/);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /No data|generating sample data/);
    assertUnchanged(before, await s3Listing(endpoint), 'a refused listing');
  },

  // Nothing left behind: the runner's work dir (lambda-c-run-<pid>-*) is
  // removed on success, on failure and on SIGTERM; one of a runner killed
  // outright is swept by the next run; a live process's dir is kept.
  async cleanup() {
    const tmp = join(work, 'tmp');
    mkdirSync(tmp);
    const store = join(work, 'user-store');
    for (const [key, body] of Object.entries(userObjects())) {
      mkdirSync(join(store, key, '..'), { recursive: true });
      writeFileSync(join(store, key), body);
    }
    const runner = join(root, 'local/workflow/run.mjs');
    const argv = ['--customer', 'acme', '--from', '2024-03-01', '--to', '2024-03-31', '--data-store', `file://${store}`,
      '--build', args.build, '--quiet', '--log', join(work, 'll.log'), '--notifications', join(work, 'n.jsonl')];
    const env = { ...process.env, TMPDIR: tmp };
    const workDirs = () => readdirSync(tmp).filter((n) => n.startsWith('lambda-c-run-') || n.startsWith('lambda-local-')).sort();

    let r = await exec(process.execPath, [runner, ...argv], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(workDirs(), [], 'success: nothing left');
    r = await exec(process.execPath, [runner, ...argv, '--from', '2024-03-31', '--to', '2024-03-01'], { env });
    assert.equal(r.status, 1, 'a failed execution');
    assert.deepEqual(workDirs(), [], 'failure: nothing left');

    // Killed at once after the emulator is up: SIGTERM cleans up, SIGKILL cannot.
    const startAndKill = (sig) => new Promise((done) => {
      const child = spawn(process.execPath, [runner, ...argv.filter((a) => a !== '--quiet')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (/lambda-local http/.test(out)) child.kill(sig);
      });
      child.stderr.resume();
      child.on('close', (status, signal) => done({ pid: child.pid, status, signal }));
    });
    const term = await startAndKill('SIGTERM');
    log(`SIGTERM: exit ${term.status} ${term.signal ?? ''}`);
    assert.deepEqual(workDirs(), [], 'SIGTERM: the work dir is removed');
    const killed = await startAndKill('SIGKILL');
    const left = workDirs();
    assert.ok(left.some((n) => n.startsWith(`lambda-c-run-${killed.pid}-`)), `SIGKILL leaves its dir: ${left}`);
    const live = `lambda-c-run-${process.pid}-abcdef`;
    mkdirSync(join(tmp, live));
    r = await exec(process.execPath, [runner, ...argv], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(workDirs(), [live], 'the dead runner\'s dir swept, the live one kept');
  },

  // Errors name the option the user typed; --help states the limits.
  async usage() {
    const help = await runReport(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--part-size .*>= 1048576 \(1 MiB\)/);
    assert.match(help.stdout, /--concurrency .*1 to 10000/);
    assert.match(help.stdout, /Exit status: 0 report written; 1 .*\n.*; 2 bad usage.*\n3 the customer has no data/);
    const bad = [
      [['--part-size', '1000'], /--part-size '1000': expected an integer number of bytes >= 1048576/],
      [['--concurrency', 'lots'], /--concurrency 'lots': expected an integer from 1 to 10000/],
      [['--map-mode', 'sideways'], /--map-mode 'sideways': expected INLINE or DISTRIBUTED/],
      [['--from', '2024-02-30'], /--from '2024-02-30': expected an existing date/],
      [['--from', '2024-03-01', '--to', '2024-02-01'], /--from 2024-03-01 is after --to 2024-02-01/],
      [['--store', 'ftp://x'], /--store 'ftp:\/\/x': expected file:\/\/\/abs\/dir or s3:\/\/bucket\/prefix/],
    ];
    for (const [argv, pattern] of bad) {
      const r = await runReport(argv);
      assert.equal(r.status, 2, argv.join(' '));
      assert.match(r.stderr, pattern);
      assert.doesNotMatch(r.stderr, /MaxConcurrency|PartSizeBytes|MapMode/, 'no template parameter names');
    }
    // The runner itself words template limits with its own options.
    const runner = join(root, 'local/workflow/run.mjs');
    const base = ['--customer', 'c', '--from', '2024-01-01', '--to', '2024-01-02', '--build', args.build];
    for (const [argv, pattern] of [
      [['--concurrency', 'lots'], /--concurrency lots: is not a number/],
      [['--concurrency', '0'], /--concurrency 0: is below 1/],
      [['--part-size', '4096'], /--part-size 4096: is below 1048576/],
      [['--map-mode', 'sideways'], /--map-mode SIDEWAYS: allowed values are INLINE, DISTRIBUTED/],
    ]) {
      const r = await exec(process.execPath, [runner, ...base, ...argv], { timeoutMs: 60000 });
      log(`run.mjs ${argv.join(' ')}: exit ${r.status}: ${r.stderr.split('\n')[0]}`);
      assert.equal(r.status, 2);
      assert.match(r.stderr, pattern);
    }
    const runnerHelp = await exec(process.execPath, [runner, '--help']);
    assert.match(runnerHelp.stdout, /--part-size BYTES .*>= 1048576 \(1 MiB\)/);
  },
};

await runCase(cases, args.case, { log, work, cleanups });

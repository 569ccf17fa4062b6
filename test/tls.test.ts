/**
 * TLS between every process: `start --tls` (a generated self-signed certificate) and `--tls-cert`/`--tls-key` (the
 * operator's). Clients reach IAM and the regions over HTTPS only when they trust the certificate, and the processes
 * call each other over HTTPS: tokens are checked against IAM, replicas travel between regions, readiness sees IAM.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePortRange, signRequest, type Credentials, type SignedParts } from './helpers/deployment.js';

const root = mkdtempSync(join(tmpdir(), 'strongroom-tls-'));
after(() => rmSync(root, { recursive: true, force: true }));
const N = 'cn-north-4';
const S = 'cn-south-1';

interface Run {
  child: ChildProcess;
  output: () => string;
}

async function start(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', ...args], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  for (const deadline = Date.now() + 90_000; !out.includes('Press Ctrl-C to stop.'); await sleep(100)) {
    assert.ok(child.exitCode === null && Date.now() < deadline, `did not start:\n${out}`);
  }
  return { child, output: () => out };
}

async function stop(run: Run): Promise<void> {
  run.child.kill('SIGINT');
  if (run.child.exitCode === null) await new Promise((r) => run.child.once('exit', r));
}

/** Sends a request over HTTPS trusting `ca` only. */
function https(parts: { url: string; method: string; headers: Record<string, string>; body?: string }, ca: Buffer): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    // A connection of its own each time: a kept-alive one could have been closed by the server while execFileSync held
    // this process's event loop.
    const req = request(parts.url, { method: parts.method, headers: parts.headers, ca, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(parts.body);
  });
}

const signed = (parts: SignedParts, ca: Buffer) => https({ ...parts, body: parts.body }, ca);

test('start --tls: HTTPS everywhere with a generated certificate, trusted between the processes', async () => {
  const dir = join(root, 'generated');
  const base = await freePortRange(3);
  // A seed file applied at start, over HTTPS too.
  const seedKey = '6f1d2c3b-4a59-4e8f-9a0b-1c2d3e4f5a6b';
  const seedFile = join(root, 'seed.yaml');
  writeFileSync(seedFile, `keys:\n  - region: ${N}\n    key_id: ${seedKey}\n    key_alias: seeded-over-tls\n    key_spec: AES_256\n    material: base64:${Buffer.alloc(32, 7).toString('base64')}\n`);
  const run = await start(['--data-dir', dir, '--port', String(base), '--regions', `${N},${S}`, '--tls', '--seed', seedFile]);
  try {
    const certPath = join(dir, 'tls', 'cert.pem');
    const cert = readFileSync(certPath);
    assert.equal(statSync(join(dir, 'tls', 'key.pem')).mode & 0o777, 0o600);
    const x509 = new X509Certificate(cert);
    assert.ok(run.output().includes(x509.fingerprint256), 'the banner prints the fingerprint');
    assert.match(x509.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    const boot = JSON.parse(readFileSync(join(dir, 'bootstrap.json'), 'utf8'));
    assert.equal(boot.iam_endpoint, `https://127.0.0.1:${base}`);
    assert.deepEqual(boot.regions.map((r: { endpoint: string }) => r.endpoint), [`https://127.0.0.1:${base + 1}`, `https://127.0.0.1:${base + 2}`]);

    // Plain HTTP is not served; HTTPS without trusting the certificate fails; with it, every process answers.
    await assert.rejects(fetch(`http://127.0.0.1:${base + 1}/healthz`));
    await assert.rejects(fetch(`https://127.0.0.1:${base + 1}/healthz`), 'a client that does not trust the certificate is refused');
    for (const url of [boot.iam_endpoint, ...boot.regions.map((r: { endpoint: string }) => r.endpoint)]) {
      const ready = await https({ url: url + '/readyz', method: 'GET', headers: {} }, cert);
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      if (url !== boot.iam_endpoint) assert.equal(ready.body.checks.iam, 'ok', 'the region reaches IAM over HTTPS');
    }

    // The banner's example, with --cacert, pasted twice.
    const tryIt = run.output().split('Try it:\n')[1]!.split('\n\nPress Ctrl-C')[0]!.split('\n');
    const snippet = tryIt.filter((l) => !l.includes('npx strongroom')).join('\n');
    // The client CLI line: it trusts the deployment's certificate by itself.
    const cliLine = tryIt.find((l) => l.includes('npx strongroom'))!.split('(')[0]!.trim();
    const listed = JSON.parse(execFileSync('bash', ['-c', cliLine], { encoding: 'utf8' }));
    assert.ok(Array.isArray(listed.keys), JSON.stringify(listed));
    assert.match(snippet, /--cacert /);
    for (let i = 0; i < 2; i++) assert.match(JSON.parse(execFileSync('bash', ['-c', snippet], { encoding: 'utf8' })).key_info.key_id, /^[0-9a-f-]{36}$/);

    // Region to region over HTTPS: a key replicated from the north decrypts in the south.
    const creds: Credentials = { ak: boot.access_key, sk: boot.secret_key };
    const [north, south] = boot.regions as { endpoint: string; project_id: string }[];
    const kms = (r: { endpoint: string; project_id: string }, method: string, path: string, body: object) => signed(signRequest(r.endpoint, creds, r.project_id, method, path, body), cert);
    const created = await kms(north!, 'POST', `/v1.0/${north!.project_id}/kms/create-key`, { key_alias: `tls-${Date.now()}` });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const keyId = created.body.key_info.key_id;
    assert.match(run.output(), /seed .*seed\.yaml: 1 created, 0 updated, 0 unchanged/);
    const seeded = await kms(north!, 'POST', `/v1.0/${north!.project_id}/kms/describe-key`, { key_id: seedKey });
    assert.equal(seeded.status, 200, JSON.stringify(seeded.body));
    assert.equal(seeded.body.key_info.key_alias, 'seeded-over-tls');
    const replicated = await kms(north!, 'POST', `/v2/${north!.project_id}/kms/keys/${keyId}/replicate`, { key_id: keyId, replica_region: S, key_alias: `tls-replica-${Date.now()}`, replica_project_id: south!.project_id });
    assert.equal(replicated.status, 200, JSON.stringify(replicated.body));
    const cipher = (await kms(north!, 'POST', `/v1.0/${north!.project_id}/kms/encrypt-data`, { key_id: keyId, plain_text: 'over TLS' })).body.cipher_text;
    let decrypted: { status: number; body: any } | undefined;
    for (const deadline = Date.now() + 20_000; decrypted?.status !== 200; await sleep(200)) {
      assert.ok(Date.now() < deadline, `the replica did not arrive: ${JSON.stringify(decrypted?.body)}`);
      decrypted = await kms(south!, 'POST', `/v1.0/${south!.project_id}/kms/decrypt-data`, { cipher_text: cipher });
    }
    assert.equal(decrypted.body.plain_text, 'over TLS');
  } finally {
    await stop(run);
  }

  // A restart keeps TLS without the option.
  const again = await start(['--data-dir', dir]);
  try {
    assert.match(again.output(), new RegExp(`https://127\\.0\\.0\\.1:${base}`));
  } finally {
    await stop(again);
  }
});

test('--tls-cert and --tls-key: the operator\'s certificate is served; a key that is not the certificate\'s is refused before anything is written', async () => {
  const certs = join(root, 'operator');
  execFileSync('mkdir', ['-p', certs]);
  const make = (name: string) => execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(certs, `${name}.key`), '-out', join(certs, `${name}.crt`), '-days', '2', '-subj', '/CN=operator', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  make('a');
  make('b');

  const refusedDir = join(root, 'mismatch');
  const r = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--data-dir', refusedDir, '--port', String(await freePortRange(2)), '--regions', N,
    '--tls-cert', join(certs, 'a.crt'), '--tls-key', join(certs, 'b.key')], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  r.stderr!.on('data', (b) => (out += b));
  const code = await new Promise((resolve) => r.once('exit', resolve));
  assert.equal(code, 1);
  assert.match(out, /b\.key is not the private key of .*a\.crt/);
  assert.equal(existsSync(refusedDir), false);

  const dir = join(root, 'given');
  const base = await freePortRange(2);
  const run = await start(['--data-dir', dir, '--port', String(base), '--regions', N, '--tls-cert', join(certs, 'a.crt'), '--tls-key', join(certs, 'a.key')]);
  try {
    const cert = readFileSync(join(certs, 'a.crt'));
    const health = await https({ url: `https://127.0.0.1:${base + 1}/readyz`, method: 'GET', headers: {} }, cert);
    assert.equal(health.status, 200, JSON.stringify(health.body));
    assert.equal(health.body.checks.iam, 'ok');
    assert.ok(run.output().includes(new X509Certificate(cert).fingerprint256));
    assert.equal(existsSync(join(dir, 'tls')), false, 'nothing generated');
  } finally {
    await stop(run);
  }
});

/**
 * The local deployment as a user runs it (`strongroom start`, what `npm start` runs): separate processes for IAM
 * and each region, bootstrap.json, a clean Ctrl-C, a restart that keeps keys and ciphertexts, and a scan of every
 * file under the data directory for the plaintext of every key, data key and secret made in the test.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyMaterial } from '../src/core/key-material.js';
import { LocalFileRootKey } from '../src/keystore/local-file.js';
import { SqliteKmsStore } from '../src/storage/sqlite/kms-sqlite-store.js';
import { freePortRange, passwordToken, signedRequest, tokenRequest } from './helpers/deployment.js';

const dir = mkdtempSync(join(tmpdir(), 'strongroom-deploy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  output: () => string;
}

async function startDeployment(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--data-dir', dir, ...args], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Press Ctrl-C to stop.')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`deployment did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => out };
}

async function stopDeployment(s: Started): Promise<number | null> {
  s.child.kill('SIGINT');
  return new Promise((resolve) => s.child.once('exit', (code) => resolve(code)));
}

function filesUnder(root: string): string[] {
  return readdirSync(root, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(root, e.name)) : [join(root, e.name)]));
}

const mode = (path: string) => statSync(path).mode & 0o777;

test('start, use, stop, restart and scan the data for plaintext', async () => {
  const base = await freePortRange(5);
  const regions = ['cn-north-4', 'cn-south-1', 'cn-east-3', 'ap-southeast-3'];
  const first = await startDeployment(['--port', String(base), '--regions', regions.join(',')]);
  assert.match(first.output(), /new deployment/);

  const boot = JSON.parse(readFileSync(join(dir, 'bootstrap.json'), 'utf8'));
  assert.deepEqual(Object.keys(boot).sort(), ['access_key', 'domain_id', 'domain_name', 'iam_endpoint', 'password', 'regions', 'secret_key', 'user_name'].sort());
  assert.equal(boot.iam_endpoint, `http://127.0.0.1:${base}`);
  assert.deepEqual(boot.regions.map((r: { id: string }) => r.id), regions);
  boot.regions.forEach((r: { endpoint: string; project_id: string }, i: number) => {
    assert.equal(r.endpoint, `http://127.0.0.1:${base + 1 + i}`);
    assert.match(r.project_id, /^[0-9a-f]{32}$/);
  });
  assert.equal(mode(join(dir, 'bootstrap.json')), 0o600);
  for (const r of regions) assert.equal(mode(join(dir, 'regions', r, 'master.key')), 0o600);
  assert.equal(mode(join(dir, 'iam', 'master.key')), 0o600);
  assert.match(first.output(), new RegExp(boot.password.replace(/[#]/g, '\\#')));

  // Every endpoint answers GET / without credentials; each region is its own process.
  for (const url of [boot.iam_endpoint, ...boot.regions.map((r: { endpoint: string }) => r.endpoint)]) {
    assert.equal((await fetch(url + '/')).status, 200, url);
  }

  const creds = { ak: boot.access_key, sk: boot.secret_key };
  const r0 = boot.regions[0];
  const kms = (op: string, body: object) => signedRequest(r0.endpoint, creds, r0.project_id, 'POST', `/v1.0/${r0.project_id}/kms/${op}`, body);
  const secretsToFind: Buffer[] = [Buffer.from(boot.secret_key), Buffer.from(boot.password)];
  const made: { keyId: string; cipher: string; plain: string }[] = [];
  for (const spec of ['AES_256', 'SM4']) {
    const created = await kms('create-key', { key_alias: `deploy-${spec}`, key_spec: spec });
    assert.equal(created.status, 200);
    const keyId = created.body.key_info.key_id;
    const plain = `the plaintext of ${spec} ${'x'.repeat(20)}`;
    const enc = await kms('encrypt-data', { key_id: keyId, plain_text: plain });
    made.push({ keyId, cipher: enc.body.cipher_text, plain });
    secretsToFind.push(Buffer.from(plain));
    const dk = await kms('create-datakey', { key_id: keyId });
    secretsToFind.push(Buffer.from(dk.body.plain_text, 'hex'), Buffer.from(dk.body.plain_text));
  }
  // Private keys of key pairs and HMAC keys are scanned for too.
  const pairKeys: string[] = [];
  for (const [spec, usage] of [['EC_P256', 'SIGN_VERIFY'], ['SM2', 'ENCRYPT_DECRYPT'], ['HMAC_256', 'GENERATE_VERIFY_MAC']]) {
    const created = await kms('create-key', { key_alias: `deploy-${spec}`, key_spec: spec, key_usage: usage });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    pairKeys.push(created.body.key_info.key_id);
  }
  // A token works in the region too (the region checks it with IAM's public key).
  const tok = await passwordToken(boot.iam_endpoint, { domain: boot.domain_name, name: boot.user_name, password: boot.password }, { project: { id: r0.project_id } });
  assert.equal(tok.status, 201);
  const viaToken = await tokenRequest(r0.endpoint, tok.headers.get('x-subject-token')!, 'POST', `/v1.0/${r0.project_id}/kms/describe-key`, { key_id: made[0]!.keyId });
  assert.equal(viaToken.status, 200);

  assert.equal(await stopDeployment(first), 0, 'Ctrl-C stops cleanly');
  for (const r of boot.regions) await assert.rejects(fetch(r.endpoint + '/'), 'every region process is gone');

  // Restart: nothing regenerated, keys and ciphertexts survive, old tokens still valid.
  const second = await startDeployment(['--port', String(base), '--regions', regions.join(',')]);
  assert.match(second.output(), /existing data/);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'bootstrap.json'), 'utf8')), boot);
  for (const m of made) {
    const dec = await kms('decrypt-data', { cipher_text: m.cipher });
    assert.equal(dec.status, 200);
    assert.equal(dec.body.plain_text, m.plain);
    assert.equal(dec.body.key_id, m.keyId);
  }
  const again = await tokenRequest(r0.endpoint, tok.headers.get('x-subject-token')!, 'POST', `/v1.0/${r0.project_id}/kms/describe-key`, { key_id: made[1]!.keyId });
  assert.equal(again.status, 200);
  assert.equal(await stopDeployment(second), 0);

  // The key material of every version, recovered with the region's root key, appears in no file on disk.
  const store = new SqliteKmsStore(join(dir, 'regions', r0.id, 'kms.db'));
  const rootKey = new LocalFileRootKey(join(dir, 'regions', r0.id, 'master.key'));
  const material = new KeyMaterial(store, rootKey);
  for (const m of [...made, ...pairKeys.map((keyId) => ({ keyId }))]) {
    const key = (await material.unwrapped(m.keyId, 1))!;
    assert.ok(key.length >= 16);
    secretsToFind.push(Buffer.from(key), Buffer.from(key.toString('hex')), Buffer.from(key.toString('hex').toUpperCase()), Buffer.from(key.toString('base64')));
  }
  await store.close();
  const files = filesUnder(dir).filter((f) => !f.endsWith('master.key') && !f.endsWith('bootstrap.json'));
  assert.ok(files.some((f) => f.endsWith('kms.db')) && files.some((f) => f.endsWith('iam.db')));
  for (const file of files) {
    const bytes = readFileSync(file);
    for (const secret of secretsToFind) assert.equal(bytes.indexOf(secret), -1, `${file} contains a plaintext secret`);
  }
});

test('a region process killed with SIGKILL is started again; IAM and the other regions answer meanwhile', async () => {
  const base = await freePortRange(3);
  const own = mkdtempSync(join(tmpdir(), 'strongroom-restart-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--data-dir', own, '--port', String(base), '--regions', 'cn-north-4,cn-south-1'], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  try {
    for (const deadline = Date.now() + 60_000; !out.includes('Press Ctrl-C to stop.'); await sleep(100)) assert.ok(child.exitCode === null && Date.now() < deadline, out);
    const north = `http://127.0.0.1:${base + 1}`;
    const pid = processesWith(['serve-region', '--region', 'cn-north-4', own])[0];
    assert.ok(pid, 'the cn-north-4 process is found');
    process.kill(pid, 'SIGKILL');
    await sleep(300);
    // The rest of the deployment goes on.
    for (const url of [`http://127.0.0.1:${base}`, `http://127.0.0.1:${base + 2}`]) assert.equal((await fetch(url + '/')).status, 200, url);
    // The killed region comes back on its port, and the launcher said why it restarted it.
    for (const deadline = Date.now() + 20_000; !(await fetch(north + '/').then((r) => r.ok, () => false)); await sleep(200)) assert.ok(Date.now() < deadline, out);
    assert.match(out, /region-cn-north-4 stopped unexpectedly \(signal SIGKILL\)[^\n]*starting it again in 1 s/);
    assert.notEqual(processesWith(['serve-region', '--region', 'cn-north-4', own])[0], pid);
    assert.equal(child.exitCode, null, 'the launcher is still running');
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(own, { recursive: true, force: true });
  }
});

/** Process ids whose command line has every one of `parts` (from /proc). */
function processesWith(parts: string[]): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      return parts.every((p) => cmd.includes(p));
    } catch {
      return false;
    }
  }).map(Number);
}

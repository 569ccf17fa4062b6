/**
 * Moving a region's root key while it serves (src/root-rotation.ts, `strongroom root-key rotate`): from the key
 * file into a SoftHSM2 token under load, and a rotation killed in the middle then resumed. Every ciphertext made
 * before, during and after decrypts; the calls made meanwhile all succeed; after the rotation the region starts and
 * decrypts everything without its old key file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readDeployment, regionDir } from '../src/deployment.js';
import { signedRequest, startTestDeployment, type TestDeployment } from './helpers/deployment.js';
import { softHsm } from './helpers/softhsm.js';

const R = 'cn-north-4';
const hsm = softHsm('rotation');
const root = mkdtempSync(join(tmpdir(), 'strongroom-rotation-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
  hsm.remove();
});

interface Cli {
  done: Promise<number | null>;
  stderr: () => string;
  stdout: () => string;
  kill(): void;
}

function cli(args: string[]): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...hsm.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (err += b));
  return { done: new Promise((r) => child.once('exit', (code) => r(code))), stdout: () => out, stderr: () => err, kill: () => child.kill('SIGKILL') };
}

const ok = async (reply: Promise<{ status: number; body: unknown }>): Promise<Record<string, any>> => {
  const r = await reply;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as Record<string, any>;
};

/** Keys of several kinds with ciphertexts or signatures, and keys with several versions. */
async function populate(d: TestDeployment, aesKeys: number): Promise<{ cipher: string; plain: string }[]> {
  const made: { cipher: string; plain: string }[] = [];
  for (let i = 0; i < aesKeys; i++) {
    const key = (await ok(d.kms(R, 'create-key', { key_alias: `k-${i}`, key_spec: i % 7 === 0 ? 'SM4' : 'AES_256' }))).key_info.key_id as string;
    if (i % 5 === 0) await ok(d.kms(R, 'rotate-on-demand', { key_id: key }));
    const plain = Buffer.from(`secret ${i}`).toString('base64');
    made.push({ cipher: (await ok(d.kms(R, 'encrypt-data', { key_id: key, plain_text: plain }))).cipher_text, plain });
  }
  // A key pair and an import in progress (its wrapping key is wrapped by the root key too).
  await ok(d.kms(R, 'create-key', { key_alias: 'rsa', key_spec: 'RSA_2048', key_usage: 'ENCRYPT_DECRYPT' }));
  const external = (await ok(d.kms(R, 'create-key', { key_alias: 'byok', origin: 'external' }))).key_info.key_id;
  await ok(d.kms(R, 'get-parameters-for-import', { key_id: external, wrapping_algorithm: 'RSAES_OAEP_SHA_256' }));
  // A Custom access point: its private key is wrapped by the root key too.
  const P = d.projectId(R);
  const ap = await signedRequest(d.endpoint(R), d.admin, P, 'POST', `/v1.0/${P}/kms/access-points`, { keyspace_id: '7d1c0a52-3f6e-4b8e-9a41-0c2b5d6e7f80', access_point_name: 'rotation', type: 3 });
  assert.equal(ap.status, 201, JSON.stringify(ap.body));
  accessPoints.set(d, [...(accessPoints.get(d) ?? []), ap.body.access_point_id]);
  return made;
}

/** The Custom access points each deployment's populate made. */
const accessPoints = new Map<TestDeployment, string[]>();

async function decryptsAll(d: TestDeployment, made: { cipher: string; plain: string }[]): Promise<void> {
  for (const m of made) assert.equal((await ok(d.kms(R, 'decrypt-data', { cipher_text: m.cipher }))).plain_text, m.plain);
  const P = d.projectId(R);
  for (const id of accessPoints.get(d) ?? []) {
    const key = await signedRequest(d.endpoint(R), d.admin, P, 'POST', `/v1.0/${P}/kms/access-points/${id}/get-privatekey`);
    assert.equal(key.status, 200, `the private key of access point ${id} unwraps: ${JSON.stringify(key.body)}`);
  }
}

/** Creates keys and encrypts and decrypts with them until stopped: every call must succeed. */
function load(d: TestDeployment) {
  let running = true;
  let calls = 0;
  const failures: string[] = [];
  const made: { cipher: string; plain: string }[] = [];
  const loop = (async () => {
    for (let i = 0; running; i++) {
      try {
        const key = (await ok(d.kms(R, 'create-key', { key_alias: `load-${i}` }))).key_info.key_id;
        const plain = Buffer.from(`during ${i}`).toString('base64');
        const cipher = (await ok(d.kms(R, 'encrypt-data', { key_id: key, plain_text: plain }))).cipher_text;
        made.push({ cipher, plain });
        const old = made[Math.floor(Math.random() * made.length)]!;
        assert.equal((await ok(d.kms(R, 'decrypt-data', { cipher_text: old.cipher }))).plain_text, old.plain);
        calls += 3;
      } catch (err) {
        failures.push(String(err));
      }
    }
  })();
  return { made, failures, calls: () => calls, stop: async () => ((running = false), await loop) };
}

const pkcs11Args = ['--pkcs11-module', hsm.module, '--pkcs11-token', 'rotation', '--pkcs11-pin-file', hsm.pinFile];

test('a region moves from its key file into an HSM token while it serves, and needs the file no more', { timeout: 300_000 }, async () => {
  const dir = join(root, 'to-hsm');
  const d = await startTestDeployment({ regions: [R], dir, rootKey: 'file' });
  try {
    const before = await populate(d, 60);
    const traffic = load(d);
    const run = cli(['root-key', 'rotate', '--region', R, '--data-dir', dir, '--to', 'pkcs11', ...pkcs11Args]);
    const code = await run.done;
    const during = await traffic.stop();
    void during;
    assert.equal(code, 0, run.stderr());
    assert.deepEqual(traffic.failures, [], 'every call made during the rotation succeeded');
    assert.ok(traffic.calls() > 0, 'calls ran during the rotation');
    const result = JSON.parse(run.stdout());
    assert.match(result.to, /^pkcs11:[0-9a-f]{32}$/);
    assert.match(result.from, /^file:/);
    assert.equal(result.resumed, false);
    assert.match(run.stderr(), /pass 1: \d+ of \d+ key versions looked at/);

    const entry = readDeployment(dir).regions.find((r) => r.id === R)!;
    assert.equal(entry.root_key_next, undefined, 'the rotation is over');
    assert.deepEqual({ ...entry.root_key, key_label: undefined }, { type: 'pkcs11', module: hsm.module, token: 'rotation', pin_file: hsm.pinFile, key_label: undefined });
    assert.match((entry.root_key as { key_label: string }).key_label, new RegExp(`^strongroom-root-${R}-\\d{8}T\\d{6}Z-[0-9a-f]{4}$`), 'a new label: never a key already in the token');
    const status = cli(['root-key', 'status', '--region', R, '--data-dir', dir]);
    assert.equal(await status.done, 0, status.stderr());
    const s = JSON.parse(status.stdout());
    assert.equal(s.root_key_id, result.to);
    assert.equal(s.rotation, null);

    await decryptsAll(d, [...before, ...traffic.made]);
    // From its next start the region needs only the token: its old key file is put away.
    await d.stopRegion(R);
    renameSync(join(regionDir(dir, R), 'master.key'), join(root, 'old-master.key'));
    await d.startRegion(R);
    await decryptsAll(d, [...before, ...traffic.made]);
    const key = (await ok(d.kms(R, 'create-key', { key_alias: 'after' }))).key_info.key_id;
    const c = (await ok(d.kms(R, 'encrypt-data', { key_id: key, plain_text: 'YWZ0ZXI=' }))).cipher_text;
    assert.equal((await ok(d.kms(R, 'decrypt-data', { cipher_text: c }))).plain_text, 'YWZ0ZXI=');
    // The audit trail's key moved too: the trail still verifies.
    await d.stopRegion(R);
    const verify = cli(['audit', 'verify', '--region', R, '--data-dir', dir]);
    assert.equal(await verify.done, 0, verify.stderr() + verify.stdout());
    await d.startRegion(R);
  } finally {
    await d.stop();
  }
});

test('a rotation killed in the middle leaves every key readable, and the next run resumes and finishes it', { timeout: 300_000 }, async () => {
  const dir = join(root, 'resume');
  const d = await startTestDeployment({ regions: [R], dir, rootKey: 'file' });
  try {
    const before = await populate(d, 500);
    const first = cli(['root-key', 'rotate', '--region', R, '--data-dir', dir]);
    // Killed once the first page of versions has moved, long before the last.
    for (const deadline = Date.now() + 120_000; !/pass 1: 200 of/.test(first.stderr()); await new Promise((r) => setTimeout(r, 5))) {
      assert.ok(Date.now() < deadline, `no progress: ${first.stderr()}`);
    }
    first.kill();
    await first.done;
    const status = cli(['root-key', 'status', '--region', R, '--data-dir', dir]);
    assert.equal(await status.done, 0, status.stderr());
    const midway = JSON.parse(status.stdout());
    assert.equal(midway.rotation?.state, 'rewrapping', 'the rotation was interrupted before its end');
    assert.match(midway.root_key_id, /^file:/);
    assert.equal(readDeployment(dir).regions[0]!.root_key, undefined, 'deployment.json still names the old key');
    // Half moved: the region serves every key, old and new, and makes new ones.
    await decryptsAll(d, before);
    const key = (await ok(d.kms(R, 'create-key', { key_alias: 'midway' }))).key_info.key_id;
    const mid = { plain: 'bWlk', cipher: (await ok(d.kms(R, 'encrypt-data', { key_id: key, plain_text: 'bWlk' }))).cipher_text };

    const second = cli(['root-key', 'rotate', '--region', R, '--data-dir', dir]);
    assert.equal(await second.done, 0, second.stderr());
    assert.match(second.stderr(), /resuming the rotation/);
    const result = JSON.parse(second.stdout());
    assert.equal(result.resumed, true);
    assert.match(result.to, /^file:/);
    assert.notEqual(result.to, result.from);
    const entry = readDeployment(dir).regions[0]!;
    assert.equal(entry.root_key?.type, 'file');
    assert.match((entry.root_key as { file: string }).file, /^master-\d{8}T\d{6}Z\.key$/);
    assert.ok(existsSync(join(regionDir(dir, R), (entry.root_key as { file: string }).file)));

    await d.stopRegion(R);
    const old = join(regionDir(dir, R), 'master.key');
    const oldBytes = readFileSync(old);
    rmSync(old);
    await d.startRegion(R);
    await decryptsAll(d, [...before, mid]);
    assert.equal(oldBytes.length, 32);
  } finally {
    await d.stop();
  }
});

test('rotate refuses what would lose keys: the current key as target, options that contradict a rotation under way', { timeout: 120_000 }, async () => {
  const dir = join(root, 'refusals');
  const d = await startTestDeployment({ regions: [R], dir, rootKey: 'file' });
  try {
    await populate(d, 3);
    await d.stopRegion(R);
    const same = cli(['root-key', 'rotate', '--region', R, '--data-dir', dir, '--to', 'file', '--pkcs11-token', 'x']);
    assert.equal(await same.done, 1);
    assert.match(same.stderr(), /--pkcs11-\* options go with --root-key pkcs11, not file/);
    const noRegion = cli(['root-key', 'rotate', '--region', 'cn-nowhere-1', '--data-dir', dir]);
    assert.equal(await noRegion.done, 1);
    assert.match(noRegion.stderr(), /has no region cn-nowhere-1/);
    const wrongPin = cli(['root-key', 'rotate', '--region', R, '--data-dir', dir, '--to', 'pkcs11', '--pkcs11-module', hsm.module, '--pkcs11-token', 'rotation', '--pkcs11-pin-env', 'NO_SUCH_PIN_VARIABLE']);
    assert.equal(await wrongPin.done, 1);
    assert.match(wrongPin.stderr(), /NO_SUCH_PIN_VARIABLE .* is not set/);
    const status = cli(['root-key', 'status', '--region', R, '--data-dir', dir]);
    assert.equal(await status.done, 0);
    assert.equal(JSON.parse(status.stdout()).rotation, null, 'a refused rotation announces nothing');
    await d.startRegion(R);
  } finally {
    await d.stop();
  }
});

test('two nodes of a region on PostgreSQL: both follow the rotation, each serving the other\'s keys throughout', { timeout: 300_000 }, async () => {
  const dir = join(root, 'postgres');
  const d = await startTestDeployment({ regions: [R], dir, rootKey: 'file', store: 'postgres', nodes: 2 });
  const viaSecond = (op: string, body: object) => signedRequest(d.nodeEndpoint(R, 1), d.admin, d.projectId(R), 'POST', `/v1.0/${d.projectId(R)}/kms/${op}`, body);
  try {
    const before = await populate(d, 40);
    const traffic = load(d); // on the first node
    const run = cli(['root-key', 'rotate', '--region', R, '--data-dir', dir, '--to', 'pkcs11', ...pkcs11Args, '--pkcs11-key-label', 'pg-root']);
    let checked = 0;
    while (await Promise.race([run.done.then(() => true), new Promise((r) => setTimeout(() => r(false), 0))]) === false) {
      // Meanwhile the second node decrypts what the first made before and during the rotation.
      const m = [...before, ...traffic.made][checked++ % (before.length + traffic.made.length)]!;
      assert.equal((await ok(viaSecond('decrypt-data', { cipher_text: m.cipher }))).plain_text, m.plain);
    }
    await traffic.stop();
    assert.equal(await run.done, 0, run.stderr());
    assert.deepEqual(traffic.failures, []);
    assert.ok(checked > 0);
    for (const m of [...before, ...traffic.made]) assert.equal((await ok(viaSecond('decrypt-data', { cipher_text: m.cipher }))).plain_text, m.plain);
    assert.equal(readDeployment(dir).regions[0]!.root_key?.type, 'pkcs11');
  } finally {
    await d.stop();
  }
});

test('a node that cannot open the key a rotation moves to wraps nothing until it can, so no material is left under the old key', { timeout: 300_000 }, async () => {
  const dir = join(root, 'unreachable');
  const d = await startTestDeployment({ regions: [R], dir, rootKey: 'file' });
  try {
    const before = await populate(d, 5);
    delete process.env.ROTATION_TEST_PIN; // the region (this process) lacks the PIN variable; the command has it
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'root-key', 'rotate', '--region', R, '--data-dir', dir, '--to', 'pkcs11',
      '--pkcs11-module', hsm.module, '--pkcs11-token', 'rotation', '--pkcs11-pin-env', 'ROTATION_TEST_PIN', '--pkcs11-key-label', 'needs-pin'],
    { env: { ...process.env, ...hsm.env, ROTATION_TEST_PIN: hsm.pin }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b) => (err += b));
    assert.equal(await new Promise((r) => child.once('exit', r)), 0, err);
    // The node could not adopt the rotation: it refuses to make material rather than wrap it under the old key.
    const refused = await d.kms(R, 'create-key', { key_alias: 'while-blind' });
    assert.equal(refused.status, 500, JSON.stringify(refused.body));
    // Given the PIN, it adopts the new key within a second and serves everything.
    process.env.ROTATION_TEST_PIN = hsm.pin;
    let created: { status: number; body: unknown } | undefined;
    for (let i = 0; i < 50 && created?.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      created = await d.kms(R, 'create-key', { key_alias: `after-${i}` });
    }
    assert.equal(created?.status, 200, JSON.stringify(created?.body));
    await decryptsAll(d, before);
    await d.stopRegion(R);
    await d.startRegion(R);
    await decryptsAll(d, before);
  } finally {
    delete process.env.ROTATION_TEST_PIN;
    await d.stop();
  }
});

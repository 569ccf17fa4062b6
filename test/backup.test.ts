/**
 * Backup and restore of a region (issue #13; README "Backup and restore"): `strongroom backup` taken by another
 * process while the region serves a load of encryptions and key creations, `strongroom restore` into a fresh data
 * directory, the restored deployment started with `strongroom start`, and every ciphertext made before the backup
 * decrypted there with the same credentials; the audit trails verify. A wrong root key (region's or IAM's), a file
 * changed by one byte, a header changed with its hash recomputed, and a wrapped blob that does not unwrap are each
 * refused with exit code 1 and nothing written. On SQLite, and on PostgreSQL when STRONGROOM_TEST_POSTGRES_URL is set.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID, createPublicKey, publicEncrypt, constants } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { backupContent, readBackupFile, writeBackupFile, type BackupHeader } from '../src/backup/backup-file.js';
import { LocalFileRootKey } from '../src/keystore/local-file.js';
import { seal, verifyChain } from '../src/audit/audit-chain.js';
import type { AuditEntry } from '../src/audit/audit-store.js';
import { PgKmsStore } from '../src/storage/postgres/kms-pg-store.js';
import { SqliteKmsStore } from '../src/storage/sqlite/kms-sqlite-store.js';
import type { StoreSnapshot } from '../src/storage/snapshot.js';
import { keyRecord, versionOf } from './contracts/kms-store-contract.js';
import { iamDir, readDeployment, regionDir } from '../src/deployment.js';
import { openKmsStore } from '../src/composition.js';
import { createTestDatabase, skipPostgres } from './helpers/postgres.js';
import { softHsm } from './helpers/softhsm.js';
import { Pkcs11RootKey } from '../src/keystore/pkcs11-root-key.js';
import { freePortRange, signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';

const root = mkdtempSync(join(tmpdir(), 'strongroom-backup-'));
after(() => rmSync(root, { recursive: true, force: true }));
const MAIN = ['--import', 'tsx', 'src/cli/main.ts'];
const R = 'cn-north-4';
const OTHER = 'cn-south-1';

/** Runs the CLI without blocking the event loop (the in-process deployment keeps serving). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...MAIN, ...args], { cwd: process.cwd(), env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function ok<T = any>(r: Reply<T>): T {
  assert.ok(r.status >= 200 && r.status < 300, `${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A ciphertext to decrypt after the restore. */
interface Made {
  keyId: string;
  plain: string;
  cipher: string;
  algorithm?: string;
}

let aliasN = 0;
const alias = () => `bk-${process.pid}-${++aliasN}`;

/** Keys of several kinds in region R (AES, SM4, RSA, imported AES, a replica of a key of OTHER, a rotated key). */
async function makeKeys(d: TestDeployment): Promise<{ keyId: string; algorithm?: string }[]> {
  const create = async (region: string, body: object) => ok(await d.kms(region, 'create-key', { key_alias: alias(), ...body })).key_info.key_id as string;
  const aes = await create(R, {});
  const sm4 = await create(R, { key_spec: 'SM4' });
  const rsa = await create(R, { key_spec: 'RSA_2048', key_usage: 'ENCRYPT_DECRYPT' });
  const rotated = await create(R, {});
  ok(await d.kms(R, 'rotate-on-demand', { key_id: rotated }));
  // Imported material (BYOK): parameters, RSA-OAEP wrap, import.
  const imported = await create(R, { origin: 'external' });
  const p = ok(await d.kms(R, 'get-parameters-for-import', { key_id: imported, wrapping_algorithm: 'RSAES_OAEP_SHA_256' }));
  const key = createPublicKey({ key: Buffer.from(p.public_key, 'base64'), format: 'der', type: 'spki' });
  const wrapped = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32)).toString('base64');
  ok(await d.kms(R, 'import-key-material', { key_id: imported, import_token: p.import_token, encrypted_key_material: wrapped }));
  // Parameters left pending on another external key (import_parameters in the snapshot, checked on restore).
  const pending = await create(R, { origin: 'external' });
  ok(await d.kms(R, 'get-parameters-for-import', { key_id: pending, wrapping_algorithm: 'RSAES_OAEP_SHA_256' }));
  // A replica in R of a key whose primary is OTHER.
  const primary = await create(OTHER, {});
  const projectR = d.projectId(R);
  ok(await signedRequest(d.endpoint(OTHER), d.admin, d.projectId(OTHER), 'POST', `/v2/${d.projectId(OTHER)}/kms/keys/${primary}/replicate`,
    { key_id: primary, replica_region: R, key_alias: alias(), replica_project_id: projectR }));
  for (let i = 0; ; i++) {
    if ((await d.kms(R, 'describe-key', { key_id: primary })).status === 200) break;
    assert.ok(i < 100, 'the replica appears in R');
    await sleep(100);
  }
  return [{ keyId: aes }, { keyId: sm4 }, { keyId: rsa, algorithm: 'RSAES_OAEP_SHA_256' }, { keyId: rotated }, { keyId: imported }, { keyId: primary }];
}

async function encrypt(d: TestDeployment, k: { keyId: string; algorithm?: string }, region = R): Promise<Made> {
  const plain = `secret ${randomBytes(6).toString('hex')}`;
  const body = ok(await d.kms(region, 'encrypt-data', { key_id: k.keyId, plain_text: plain, ...(k.algorithm ? { encryption_algorithm: k.algorithm } : {}) }));
  return { keyId: k.keyId, plain, cipher: body.cipher_text, algorithm: k.algorithm };
}

/**
 * A load on R until stopped: encryptions with every key and new keys, four at a time. Each result carries the time
 * it was answered, so the test knows which were made before the backup started.
 */
function startLoad(d: TestDeployment, keys: { keyId: string; algorithm?: string }[]) {
  let stopping = false;
  const made: (Made & { at: number })[] = [];
  const failures: string[] = [];
  const worker = async (w: number) => {
    for (let i = 0; !stopping; i++) {
      try {
        if ((i + w) % 5 === 0) {
          const keyId = ok(await d.kms(R, 'create-key', { key_alias: alias() })).key_info.key_id as string;
          keys.push({ keyId });
        }
        const m = await encrypt(d, keys[(i * 7 + w) % keys.length]!);
        made.push({ ...m, at: performance.now() });
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const workers = [0, 1, 2, 3].map(worker);
  return { made, failures, stop: async () => ((stopping = true), await Promise.all(workers)) };
}

/** Runs `strongroom start` on a data directory until it prints that it is up. */
async function launch(dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; output: () => string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...MAIN, 'start', '--data-dir', dir], { cwd: process.cwd(), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  for (const deadline = Date.now() + 90_000; !out.includes('Press Ctrl-C to stop.'); await sleep(100)) {
    assert.ok(child.exitCode === null && Date.now() < deadline, `the restored deployment did not start:\n${out}`);
  }
  return {
    child, output: () => out,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Asserts a refused restore: exit 1, the message, and NEWDIR not created. */
async function refused(args: string[], newDir: string, message: RegExp, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await cli(['restore', ...args], env);
  assert.equal(r.status, 1, `exit code 1:\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(existsSync(newDir), false, 'nothing written');
  return r.stderr;
}

/** The bytes a header's hash covers (backup-file.ts), to forge a file as someone without the root key could. */
function rehash(file: Buffer, change: (h: BackupHeader) => void): Buffer {
  const nl = file.indexOf(0x0a);
  const header = JSON.parse(file.subarray(0, nl).toString()) as BackupHeader;
  change(header);
  const { mac_key, content_sha256: _s, content_mac, ...rest } = header;
  const body = file.subarray(nl + 1);
  const sha = createHash('sha256').update(Buffer.concat([Buffer.from(JSON.stringify(rest) + '\n'), body])).digest('hex');
  return Buffer.concat([Buffer.from(JSON.stringify({ ...rest, mac_key, content_sha256: sha, content_mac }) + '\n'), body]);
}

async function scenario(kind: 'sqlite' | 'postgres'): Promise<void> {
  const work = mkdtempSync(join(root, `${kind}-`));
  // The old deployment's directory is kept after it stops: its key files are what the operator copies.
  const d = await startTestDeployment({ regions: [R, OTHER], store: kind, dir: join(work, 'old') });
  const out = join(work, 'cn-north-4.backup');
  let restored: Awaited<ReturnType<typeof launch>> | null = null;
  let target: Awaited<ReturnType<typeof createTestDatabase>> | null = null;
  try {
    const keys = await makeKeys(d);
    // A Custom access point: its private key is wrapped by the root key too (checked by the restore, served after it).
    const projectR = d.projectId(R);
    const accessPoint = ok(await signedRequest(d.endpoint(R), d.admin, projectR, 'POST', `/v1.0/${projectR}/kms/access-points`,
      { keyspace_id: randomUUID(), access_point_name: 'backed-up', type: 3 })).access_point_id as string;
    const apKey = ok(await signedRequest(d.endpoint(R), d.admin, projectR, 'POST', `/v1.0/${projectR}/kms/access-points/${accessPoint}/get-privatekey`)).private_key as string;
    const before: Made[] = [];
    for (const k of keys) for (let i = 0; i < 10; i++) before.push(await encrypt(d, k));

    // The backup, by another process, while the load runs.
    const load = startLoad(d, keys);
    while (load.made.length < 20) await sleep(10);
    const backupStarted = performance.now();
    const done = await cli(['backup', '--region', R, '--out', out, '--data-dir', d.dir]);
    const backupEnded = performance.now();
    await sleep(100);
    await load.stop();
    assert.equal(done.status, 0, done.stderr);
    assert.deepEqual(load.failures, []);
    assert.ok(load.made.some((m) => m.at > backupStarted && m.at < backupEnded), 'the region answered while the backup was taken');
    const madeBefore = [...before, ...load.made.filter((m) => m.at < backupStarted)];
    const report = JSON.parse(done.stdout) as { counts: { region: Record<string, number>; iam: Record<string, number> }; root_key: string };
    assert.ok(report.counts.region.key_versions! >= 7, 'the versions of the keys made before the load at least');
    assert.ok(report.counts.iam.access_keys! >= 1);
    assert.equal((statSync(out).mode & 0o777).toString(8), '600');
    assert.deepEqual(readdirSync(work).sort(), ['cn-north-4.backup', 'old'], 'no temporary file left');
    const header = JSON.parse(readFileSync(out).subarray(0, readFileSync(out).indexOf(0x0a)).toString()) as BackupHeader;
    assert.equal(header.region, R);
    assert.equal(header.deployment_id, d.deployment.deployment_id);
    assert.equal(header.root_key.kind, 'file');
    assert.equal(header.root_key.id, report.root_key);
    assert.equal(header.store, kind);
    const text = JSON.stringify(header) + JSON.stringify(backupContent(readBackupFile(out)));
    assert.doesNotMatch(text, /postgres:\/\/|internal_secret|\/tmp\//, 'no store URL, no secret, no path');
    assert.ok(!text.includes(d.deployment.internal_secret));

    // A backup of the other region too, with a ciphertext of its own key (the primary of R's replica).
    const otherMade = await encrypt(d, keys[5]!, OTHER);
    const otherOut = join(work, 'cn-south-1.backup');
    const otherDone = await cli(['backup', '--region', OTHER, '--out', otherOut, '--data-dir', d.dir, '--without-iam']);
    assert.equal(otherDone.status, 0, otherDone.stderr);
    assert.equal(JSON.parse(otherDone.stdout).iam_root_key, null);

    await d.stop();
    // A region whose root key rotation is under way has keys under two root keys: no backup then.
    {
      const s = await openKmsStore(R, { dataDir: regionDir(d.dir, R), store: d.deployment.store });
      await s.putSettingIfAbsent('root_key_migration', Buffer.from(JSON.stringify({ state: 'rewrapping' })));
      await s.close();
      const during = await cli(['backup', '--region', R, '--out', join(work, 'during.backup'), '--data-dir', d.dir]);
      assert.equal(during.status, 1);
      assert.match(during.stderr, /a root key rotation of region cn-north-4 is in progress/);
      assert.equal(existsSync(join(work, 'during.backup')), false);
    }
    const oldRegionKey = join(regionDir(d.dir, R), 'master.key');
    const oldIamKey = join(iamDir(d.dir), 'master.key');
    target = kind === 'postgres' ? await createTestDatabase() : null;
    const storeArgs = target ? ['--store', target.url] : [];
    const newDir = join(work, 'restored');
    const base = await freePortRange(3);
    const args = ['--region', R, '--in', out, '--data-dir', newDir, '--port', String(base), ...storeArgs];

    // Refusals, each before anything is written.
    const wrongKey = join(work, 'wrong.key');
    writeFileSync(wrongKey, randomBytes(32), { mode: 0o600 });
    const msg = await refused([...args, '--root-key-file', wrongKey, '--iam-root-key-file', oldIamKey], newDir, /wrong root key for region cn-north-4/);
    assert.ok(msg.includes(header.root_key.id), 'names the root key the backup needs');
    await refused([...args, '--root-key-file', oldRegionKey, '--iam-root-key-file', wrongKey], newDir, /wrong root key for IAM/);
    await refused([...args, '--iam-root-key-file', oldIamKey], newDir, /give --root-key-file/);
    const bytes = readFileSync(out);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 40]! ^= 1;
    writeFileSync(join(work, 'flipped.backup'), flipped);
    await refused(['--region', R, '--in', join(work, 'flipped.backup'), '--data-dir', newDir, '--root-key-file', oldRegionKey, '--iam-root-key-file', oldIamKey], newDir, /damaged or was changed/);
    writeFileSync(join(work, 'forged.backup'), rehash(bytes, (h) => (h.deployment.key_quota = 1)));
    await refused(['--region', R, '--in', join(work, 'forged.backup'), '--data-dir', newDir, '--root-key-file', oldRegionKey, '--iam-root-key-file', oldIamKey], newDir, /MAC does not match/);
    await refused([...args.map((a) => (a === R ? OTHER : a)), '--root-key-file', oldRegionKey], newDir, /a backup of region cn-north-4, not cn-south-1/);
    // A blob that does not unwrap, in a file otherwise authentic (made with the right root key).
    {
      const read = readBackupFile(out);
      const content = backupContent(read);
      const versions = content.region.tables.find((t) => t.name === 'key_versions')!;
      const at = versions.columns.indexOf('wrapped');
      const cell = versions.rows[0]![at] as { b64: string };
      const blob = Buffer.from(cell.b64, 'base64');
      blob[blob.length - 1]! ^= 1;
      versions.rows[0]![at] = { b64: blob.toString('base64') };
      const { mac_key: _m, content_sha256: _s, content_mac: _c, ...unsealed } = read.header;
      const rootKey = new LocalFileRootKey(oldRegionKey);
      await writeBackupFile(join(work, 'bad-blob.backup'), unsealed, content, rootKey);
      await rootKey.close();
      const e = await refused(['--region', R, '--in', join(work, 'bad-blob.backup'), '--data-dir', newDir, '--root-key-file', oldRegionKey, '--iam-root-key-file', oldIamKey, ...storeArgs], newDir, /key [0-9a-f-]+ version \d+ does not unwrap under root key/);
      assert.ok(e.includes(header.root_key.id));
    }

    // The restore.
    const r = await cli(['restore', ...args, '--root-key-file', oldRegionKey, '--iam-root-key-file', oldIamKey, '--bootstrap-file', join(d.dir, 'bootstrap.json')]);
    assert.equal(r.status, 0, r.stderr);
    const rep = JSON.parse(r.stdout) as { iam: string; deployment_json: string; checked: { region: number; iam: number } };
    assert.equal(rep.iam, 'restored');
    assert.equal(rep.deployment_json, 'written');
    assert.equal(rep.checked.region, report.counts.region.key_versions! + report.counts.region.import_parameters! + report.counts.region.access_points! + 3, 'every version, import parameters, the access point\'s key and three wrapped settings');
    assert.ok(rep.checked.iam >= 3);
    const deployment = readDeployment(newDir);
    assert.equal(deployment.iam.port, base);
    assert.deepEqual(deployment.regions.map((x) => x.id), [R, OTHER]);
    assert.notEqual(deployment.internal_secret, d.deployment.internal_secret);
    assert.equal((statSync(join(regionDir(newDir, R), 'master.key')).mode & 0o777).toString(8), '600');
    // Restoring again into it is refused: the region is there.
    const again = await cli(['restore', ...args, '--root-key-file', oldRegionKey]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds/);

    // The other region into the same directory: its deployment.json and IAM are kept.
    const second = await cli(['restore', '--region', OTHER, '--in', otherOut, '--data-dir', newDir, '--root-key-file', join(regionDir(d.dir, OTHER), 'master.key')]);
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual([JSON.parse(second.stdout).iam, JSON.parse(second.stdout).deployment_json], ['not in the backup', 'kept']);

    // The restored deployment, started as an operator would, serves every ciphertext made before the backup.
    restored = await launch(newDir);
    const endpoint = deployment.regions.find((x) => x.id === R)!.endpoint;
    const project = d.projectId(R);
    for (const m of madeBefore) {
      const body = ok(await signedRequest(endpoint, d.admin, project, 'POST', `/v1.0/${project}/kms/decrypt-data`,
        { cipher_text: m.cipher, ...(m.algorithm ? { key_id: m.keyId, encryption_algorithm: m.algorithm } : {}) }));
      assert.equal(body.plain_text, m.plain, `a ciphertext of key ${m.keyId}`);
    }
    const otherEndpoint = deployment.regions.find((x) => x.id === OTHER)!.endpoint;
    const otherProject = d.projectId(OTHER);
    assert.equal(ok(await signedRequest(otherEndpoint, d.admin, otherProject, 'POST', `/v1.0/${otherProject}/kms/decrypt-data`, { cipher_text: otherMade.cipher })).plain_text, otherMade.plain);
    assert.equal(ok(await signedRequest(endpoint, d.admin, project, 'POST', `/v1.0/${project}/kms/access-points/${accessPoint}/get-privatekey`)).private_key, apKey);
    // And goes on working: a new key, a new ciphertext.
    const fresh = ok(await signedRequest(endpoint, d.admin, project, 'POST', `/v1.0/${project}/kms/create-key`, { key_alias: alias() })).key_info.key_id as string;
    const c = ok(await signedRequest(endpoint, d.admin, project, 'POST', `/v1.0/${project}/kms/encrypt-data`, { key_id: fresh, plain_text: 'after' }));
    assert.equal(ok(await signedRequest(endpoint, d.admin, project, 'POST', `/v1.0/${project}/kms/decrypt-data`, { cipher_text: c.cipher_text })).plain_text, 'after');
    for (const component of [R, 'iam']) {
      const v = await cli(['audit', 'verify', '--region', component, '--data-dir', newDir]);
      assert.equal(v.status, 0, `${component}: ${v.stdout}${v.stderr}`);
      assert.equal(JSON.parse(v.stdout).ok, true);
    }
  } finally {
    await restored?.stop();
    await d.stop().catch(() => {});
    await target?.drop().catch(() => {});
  }
}

test('SQLite: backup during load by another process, restore into a fresh directory, start it, decrypt everything; wrong keys and changed files refused, nothing written', { timeout: 600_000 }, async () => {
  await scenario('sqlite');
});

describe('PostgreSQL', { skip: skipPostgres }, () => {
  test('a snapshot moves between the stores: SQLite into PostgreSQL (the audit head follows the trail) and back', async () => {
    const db = await createTestDatabase();
    const dir = mkdtempSync(join(root, 'cross-'));
    const auditKey = randomBytes(32);
    const sealer = (e: AuditEntry, seq: number, prev: string) => seal(auditKey, e, seq, prev);
    const entry = (operation: string): AuditEntry => ({
      time: new Date().toISOString(), request_id: randomBytes(8).toString('hex'), service: 'kms', region: R, caller: null,
      source_ip: '127.0.0.1', operation, action: null, key_ids: [], status: 200, error_code: null, duration_ms: 1,
    });
    const sqlite = new SqliteKmsStore(join(dir, 'a.db'));
    const pgStore = await PgKmsStore.open(db.url, 'region_cross');
    const back = new SqliteKmsStore(join(dir, 'b.db'));
    try {
      const k = keyRecord();
      await sqlite.insertKey(k, versionOf(k));
      await sqlite.enqueue({ target: OTHER, kind: 'sync', keyId: k.id, payload: {}, nextAttemptAt: 0 });
      await sqlite.appendAudit([entry('Pending')], [entry('One'), entry('Two')], sealer);
      const fromSqlite = await sqlite.exportSnapshot();
      await pgStore.importSnapshot(JSON.parse(JSON.stringify(fromSqlite)) as StoreSnapshot);
      assert.deepEqual(await pgStore.getKey(k.projectId, k.id), await sqlite.getKey(k.projectId, k.id));
      assert.deepEqual((await pgStore.pendingAudit()).map((e) => e.operation), ['Pending']);
      await pgStore.appendAudit([], [entry('Three')], sealer);
      const trail = await pgStore.auditRecords({ limit: 10 });
      assert.deepEqual(trail.map((r) => r.seq), [1, 2, 3]);
      assert.equal(verifyChain(auditKey, trail, { seq: 0 }).ok, true, 'the chain goes on from the loaded head');
      const fromPg = await pgStore.exportSnapshot();
      await back.importSnapshot(fromPg);
      assert.equal(verifyChain(auditKey, await back.auditRecords({ limit: 10 }), { seq: 0 }).ok, true);
      assert.equal(await back.countKeys(k.projectId), 1);
      const ids = [...(await back.dueMessages(1, 10)).map((m) => m.id)];
      await back.enqueue({ target: OTHER, kind: 'sync', keyId: k.id, payload: {}, nextAttemptAt: 0 });
      assert.equal((await back.dueMessages(1, 10)).length, ids.length + 1);
    } finally {
      await sqlite.close();
      await pgStore.close();
      await back.close();
      await db.drop().catch(() => {});
    }
  });

  test('PostgreSQL: the same, the backup read in one REPEATABLE READ transaction and restored into another database', { timeout: 600_000 }, async () => {
    await scenario('postgres');
  });
});

test('root keys in an HSM (SoftHSM2): the header names token and labels; restore with --root-key pkcs11 into a fresh directory, start it, decrypt; another token\'s key under the same label is refused, nothing written', { timeout: 600_000 }, async () => {
  // Every token this process will use, before the module is first loaded (test/helpers/softhsm.ts).
  const hsm = softHsm('strongroom-test', 'strongroom-other');
  const work = mkdtempSync(join(root, 'hsm-'));
  const d = await startTestDeployment({ regions: [R, OTHER], rootKey: 'softhsm', dir: join(work, 'old') });
  const out = join(work, 'cn-north-4.backup');
  let restored: Awaited<ReturnType<typeof launch>> | null = null;
  try {
    const made: Made[] = [];
    for (const body of [{}, { key_spec: 'RSA_2048', key_usage: 'ENCRYPT_DECRYPT' }]) {
      const keyId = ok(await d.kms(R, 'create-key', { key_alias: alias(), ...body })).key_info.key_id as string;
      for (let i = 0; i < 5; i++) made.push(await encrypt(d, { keyId, algorithm: 'key_spec' in body ? 'RSAES_OAEP_SHA_256' : undefined }));
    }
    const done = await cli(['backup', '--region', R, '--out', out, '--data-dir', d.dir]);
    assert.equal(done.status, 0, done.stderr);
    await d.stop();
    const header = JSON.parse(readFileSync(out).subarray(0, readFileSync(out).indexOf(0x0a)).toString()) as BackupHeader;
    assert.equal(header.root_key.kind, 'pkcs11');
    assert.match(header.root_key.id, /^pkcs11:[0-9a-f]+$/);
    assert.equal(header.root_key.token, 'strongroom-test');
    assert.equal(header.root_key.key_label, `strongroom-root-${R}`);
    assert.equal(header.iam!.root_key.key_label, 'strongroom-root-iam');
    const text = readFileSync(out).subarray(0, readFileSync(out).indexOf(0x0a)).toString() + JSON.stringify(backupContent(readBackupFile(out)));
    assert.doesNotMatch(text, new RegExp(hsm.pin), 'no PIN');

    const newDir = join(work, 'restored');
    const base = await freePortRange(3);
    const token = (label: string) => ['--root-key', 'pkcs11', '--pkcs11-module', hsm.module, '--pkcs11-token', label, '--pkcs11-pin-file', hsm.pinFile];
    const args = ['restore', '--region', R, '--in', out, '--data-dir', newDir, '--port', String(base)];
    // Another token holding a key under the same label: another root key.
    const impostor = Pkcs11RootKey.open({ module: hsm.module, token: 'strongroom-other', pin: hsm.pin, keyLabel: `strongroom-root-${R}`, create: true });
    await impostor.close();
    const wrong = await cli([...args, ...token('strongroom-other')], hsm.env);
    assert.equal(wrong.status, 1, wrong.stdout + wrong.stderr);
    assert.match(wrong.stderr, /wrong root key for region cn-north-4: the backup needs root key pkcs11:[0-9a-f]+, but the PKCS#11 token "strongroom-other"/);
    assert.equal(existsSync(newDir), false, 'nothing written');

    const r = await cli([...args, ...token('strongroom-test'), '--bootstrap-file', join(d.dir, 'bootstrap.json')], hsm.env);
    assert.equal(r.status, 0, r.stderr);
    const deployment = readDeployment(newDir);
    assert.deepEqual(deployment.root_key, { type: 'pkcs11', module: hsm.module, token: 'strongroom-test', pin_file: hsm.pinFile });
    assert.equal(existsSync(join(regionDir(newDir, R), 'master.key')), false, 'no key file: the key stays in the token');
    restored = await launch(newDir, hsm.env);
    const endpoint = deployment.regions.find((x) => x.id === R)!.endpoint;
    const project = d.projectId(R);
    for (const m of made) {
      const body = ok(await signedRequest(endpoint, d.admin, project, 'POST', `/v1.0/${project}/kms/decrypt-data`,
        { cipher_text: m.cipher, ...(m.algorithm ? { key_id: m.keyId, encryption_algorithm: m.algorithm } : {}) }));
      assert.equal(body.plain_text, m.plain);
    }
  } finally {
    await restored?.stop();
    await d.stop().catch(() => {});
  }
});

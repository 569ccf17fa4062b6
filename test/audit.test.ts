/**
 * The audit trail (issue: one record per call, chained, fail closed): every KMS and IAM call, allowed or refused,
 * writes one record with the right fields and no secret; `strongroom audit verify` passes on the stored trail and on
 * an export, and fails naming the first bad record when a record is changed, removed, inserted or reordered; a
 * pruned trail verifies from its anchor; a store that refuses the write fails the call and changes nothing; a call
 * interrupted before its record is recorded at the next start.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { AuditRecord } from '../src/audit/audit-store.js';
import { AuditLog } from '../src/audit/audit-log.js';
import { deploymentPath, iamDir, regionDir } from '../src/deployment.js';
import { LocalFileRootKey } from '../src/keystore/local-file.js';
import { newRequestId } from '../src/request-id.js';
import { SqliteKmsStore } from '../src/storage/sqlite/kms-sqlite-store.js';
import { expectError, passwordToken, signedRequest, signRequest, sendSigned, startTestDeployment, tokenRequest, type Reply, type TestDeployment } from './helpers/deployment.js';
import { iamApi } from './helpers/iam.js';

const N = 'cn-north-4';
const REPO = process.cwd();
let d: TestDeployment;
const scratch = mkdtempSync(join(tmpdir(), 'strongroom-audit-'));

before(async () => (d = await startTestDeployment({ regions: [N] })));
after(async () => {
  await d.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const P = () => d.projectId(N);
const kms = (op: string, body: object) => d.kms(N, op, body);
const rid = (r: Reply) => r.headers.get('x-request-id')!;

function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', ...args], { cwd: REPO, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The whole trail of a region (or `iam`) as exported by the CLI: header, then records. */
function exported(region: string, dataDir = d.dir, ...extra: string[]): { header: Record<string, unknown>; records: AuditRecord[] } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'export', '--region', region, '--data-dir', dataDir, ...extra], { cwd: REPO, encoding: 'utf8' });
  const [header, ...lines] = out.trim().split('\n').map((l) => JSON.parse(l));
  return { header, records: lines };
}

/** A consistent copy of a region's data directory (database and root key) under a new data dir. */
async function copyRegion(region: string, name: string): Promise<{ dir: string; db: string }> {
  const dir = join(scratch, name);
  const target = region === 'iam' ? iamDir(dir) : regionDir(dir, region);
  const source = region === 'iam' ? iamDir(d.dir) : regionDir(d.dir, region);
  mkdirSync(target, { recursive: true });
  const file = region === 'iam' ? 'iam.db' : 'kms.db';
  const live = new Database(join(source, file), { readonly: true });
  await live.backup(join(target, file));
  live.close();
  copyFileSync(join(source, 'master.key'), join(target, 'master.key'));
  copyFileSync(deploymentPath(d.dir), deploymentPath(dir)); // the CLI acts on a deployment's data only
  return { dir, db: join(target, file) };
}

function verify(region: string, dataDir: string, ...extra: string[]) {
  const r = cli('verify', '--region', region, '--data-dir', dataDir, ...extra);
  return { status: r.status, report: JSON.parse(r.stdout || '{}') as Record<string, unknown>, stderr: r.stderr };
}

describe('one record per call', () => {
  const secrets: string[] = [];
  const calls: Record<string, Reply> = {};
  let keyId: string;

  before(async () => {
    const plaintext = 'audit-plaintext-Qx7';
    calls.create = await kms('create-key', { key_alias: 'audited' });
    keyId = calls.create.body.key_info.key_id;
    calls.encrypt = await kms('encrypt-data', { key_id: keyId, plain_text: plaintext, additional_authenticated_data: 'aad-secret-Zq' });
    calls.dataKey = await kms('create-datakey', { key_id: keyId });
    calls.unknown = await kms('describe-key', { key_id: '00000000-0000-4000-8000-000000000000' });
    calls.anonymous = await tokenRequest(d.endpoint(N), undefined, 'POST', `/v1.0/${P()}/kms/list-keys`, {});
    const api = iamApi(d);
    const plain = await api.createUser('audit-nobody', 'Nobody-passw0rd');
    calls.refused = await signedRequest(d.endpoint(N), plain.creds, P(), 'POST', `/v1.0/${P()}/kms/list-keys`, {});
    const token = await d.token(N);
    calls.byToken = await tokenRequest(d.endpoint(N), token, 'POST', `/v1.0/${P()}/kms/decrypt-data`, { cipher_text: calls.encrypt.body.cipher_text });
    const signed = signRequest(d.endpoint(N), d.admin, P(), 'POST', `/v1.0/${P()}/kms/gen-random`, { random_data_length: '64' });
    calls.random = await sendSigned(signed);
    secrets.push(
      plaintext, 'aad-secret-Zq', calls.encrypt.body.cipher_text, calls.dataKey.body.plain_text, calls.dataKey.body.cipher_text,
      calls.random.body.random_data, token, d.admin.sk, d.boot.password, plain.password, plain.creds.sk,
      /Signature=([0-9a-f]+)/.exec(Object.entries(signed.headers).find(([k]) => k.toLowerCase() === 'authorization')![1])![1]!, Buffer.from(plaintext).toString('base64'),
    );
  });

  test('each call has exactly one record, with its request id, caller, operation, action, keys and result', () => {
    assert.equal(calls.create!.status, 200);
    const { records } = exported(N);
    const byId = (r: Reply) => records.filter((x) => x.request_id === rid(r));
    for (const [name, reply] of Object.entries(calls)) assert.equal(byId(reply).length, 1, `${name}: one record`);

    const [create] = byId(calls.create!);
    assert.equal(create!.service, 'kms');
    assert.equal(create!.region, N);
    assert.equal(create!.operation, 'CreateKey');
    assert.equal(create!.action, 'kms:cmk:create');
    assert.equal(create!.status, 200);
    assert.equal(create!.error_code, null);
    assert.deepEqual(create!.caller, {
      user_id: create!.caller!.user_id, user_name: 'admin', domain_id: d.boot.domain_id, domain_name: d.boot.domain_name,
      project_id: P(), project_name: N, auth_method: 'access-key', access_key_id: d.admin.ak,
    });
    assert.match(create!.source_ip, /127\.0\.0\.1/);
    assert.ok(create!.duration_ms >= 0 && create!.duration_ms < 10_000);
    assert.ok(Math.abs(Date.parse(create!.time) - Date.now()) < 120_000);

    const [encrypt] = byId(calls.encrypt!);
    assert.deepEqual([encrypt!.operation, encrypt!.action, encrypt!.key_ids], ['EncryptData', 'kms:cmk:crypto', [keyId]]);
    const [decrypt] = byId(calls.byToken!);
    assert.deepEqual([decrypt!.operation, decrypt!.key_ids, decrypt!.caller!.auth_method], ['DecryptData', [keyId], 'token'], 'the key id read from the ciphertext');
    assert.equal(decrypt!.caller!.access_key_id, null);
    const [unknown] = byId(calls.unknown!);
    assert.deepEqual([unknown!.status, unknown!.error_code], [404, 'KMS.0207']);
    const [anonymous] = byId(calls.anonymous!);
    assert.deepEqual([anonymous!.status, anonymous!.error_code, anonymous!.caller], [401, 'APIGW.0301', null]);
    const [refused] = byId(calls.refused!);
    assert.deepEqual([refused!.status, refused!.error_code, refused!.caller!.user_name], [403, 'KMS.0306', 'audit-nobody']);
  });

  test('no plaintext, key material, token, password, secret key, signature or ciphertext in the trail or its file', () => {
    // The database files are read by another process: closing a descriptor of a file SQLite has open in this
    // process would drop SQLite's POSIX locks on it (fcntl locks belong to the process), and corrupt it later.
    const files = readdirSync(regionDir(d.dir, N)).filter((f) => f.startsWith('kms.db')).map((f) => join(regionDir(d.dir, N), f));
    const raw = execFileSync(process.execPath, ['-e', 'for (const f of process.argv.slice(1)) process.stdout.write(require("fs").readFileSync(f).toString("base64") + "\\n")', ...files], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const texts = [JSON.stringify(exported(N).records), ...raw.trim().split('\n').map((b) => Buffer.from(b, 'base64').toString('latin1'))];
    const iamTexts = [JSON.stringify(exported('iam').records)];
    for (const secret of secrets) {
      for (const t of [...texts, ...iamTexts]) assert.ok(!t.includes(secret), `the trail holds a secret: ${secret.slice(0, 12)}…`);
    }
  });

  test('IAM calls are in IAM\'s trail, with the user who logged in', async () => {
    // The test before held the event loop (execFileSync) long enough for the server to close idle kept-alive
    // connections; a moment lets the client see those closes before it sends on one of them.
    await new Promise((r) => setTimeout(r, 100));
    const login = await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: d.boot.user_name, password: d.boot.password });
    const bad = await passwordToken(d.iamUrl, { domain: d.boot.domain_name, name: d.boot.user_name, password: 'wrong-password-1' });
    const { records } = exported('iam');
    const [ok] = records.filter((r) => r.request_id === rid(login));
    assert.deepEqual([ok!.operation, ok!.status, ok!.caller!.user_name, ok!.region, ok!.service, ok!.caller!.auth_method], ['KeystoneCreateUserTokenByPassword', 201, 'admin', 'global', 'iam', 'password']);
    const [refused] = records.filter((r) => r.request_id === rid(bad));
    assert.deepEqual([refused!.status, refused!.error_code], [401, 'IAM.0002']);
    assert.deepEqual([refused!.caller!.user_name, refused!.caller!.domain_name, refused!.caller!.user_id], ['admin', d.boot.domain_name, ''], 'the name a failed login tried');
    assert.ok(records.some((r) => r.operation === 'CreateUser' && r.action === 'iam:users:createUser' && r.status === 201));
    assert.equal(verify('iam', d.dir).status, 0);
  });
});

describe('verify', () => {
  before(async () => {
    for (let i = 0; i < 6; i++) await kms('gen-random', { random_data_length: '64' });
  });

  test('the stored trail verifies', () => {
    const v = verify(N, d.dir);
    assert.equal(v.status, 0, JSON.stringify(v.report));
    assert.equal(v.report.ok, true);
    assert.ok((v.report.records as number) >= 6);
  });

  /** Tampers with a copy of the region's database and checks that verify fails at `badSeq`. */
  async function tampered(name: string, change: (db: Database.Database, seqs: number[]) => number): Promise<void> {
    const copy = await copyRegion(N, name);
    const db = new Database(copy.db);
    db.pragma('foreign_keys = OFF'); // an attacker edits the file as they like
    const seqs = (db.prepare('SELECT seq FROM audit_records ORDER BY seq').all() as { seq: number }[]).map((r) => r.seq);
    const badSeq = change(db, seqs);
    db.close();
    const v = verify(N, copy.dir);
    assert.equal(v.status, 1, `${name}: verify should fail: ${JSON.stringify(v.report)}`);
    assert.equal(v.report.ok, false);
    assert.equal(v.report.first_bad_record, badSeq, `${name}: ${JSON.stringify(v.report)}`);
  }

  test('a changed record fails at that record', async () => {
    await tampered('changed', (db, seqs) => {
      const seq = seqs[3]!;
      const r = JSON.parse((db.prepare('SELECT record FROM audit_records WHERE seq = ?').get(seq) as { record: string }).record);
      r.status = r.status === 200 ? 403 : 200;
      db.prepare('UPDATE audit_records SET record = ? WHERE seq = ?').run(JSON.stringify(r), seq);
      return seq;
    });
  });

  test('a removed record fails where it is missing', async () => {
    await tampered('removed', (db, seqs) => {
      db.prepare('DELETE FROM audit_records WHERE seq = ?').run(seqs[4]!);
      return seqs[4]!;
    });
  });

  test('an inserted record fails at the insertion', async () => {
    await tampered('inserted', (db, seqs) => {
      // A copy of a genuine record (a valid MAC) moved to the end: it does not follow the last one.
      const last = seqs.at(-1)!;
      const r = JSON.parse((db.prepare('SELECT record FROM audit_records WHERE seq = ?').get(seqs[2]) as { record: string }).record);
      r.seq = last + 1;
      db.prepare('INSERT INTO audit_records (seq, time_ms, record) VALUES (?, ?, ?)').run(last + 1, Date.now(), JSON.stringify(r));
      return last + 1;
    });
  });

  test('reordered records fail at the first of them', async () => {
    await tampered('reordered', (db, seqs) => {
      const [a, b] = [seqs[2]!, seqs[3]!];
      const ra = (db.prepare('SELECT record FROM audit_records WHERE seq = ?').get(a) as { record: string }).record;
      const rb = (db.prepare('SELECT record FROM audit_records WHERE seq = ?').get(b) as { record: string }).record;
      db.prepare('UPDATE audit_records SET seq = -1 WHERE seq = ?').run(a);
      db.prepare('UPDATE audit_records SET seq = ?, record = ? WHERE seq = ?').run(a, rb, b);
      db.prepare('UPDATE audit_records SET seq = ?, record = ? WHERE seq = -1').run(b, ra);
      return a;
    });
  });

  test('an exported file verifies; a changed, removed, inserted or reordered line fails', () => {
    const file = join(scratch, 'export.jsonl');
    const out = cli('export', '--region', N, '--data-dir', d.dir, '--out', file);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(verify(N, d.dir, '--file', file).status, 0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const variants: Record<string, string[]> = {
      changed: lines.map((l, i) => (i === 3 ? l.replace('"gen-random"', '"x"').replace(/"status":(\d+)/, (_m, s) => `"status":${s === '200' ? 500 : 200}`) : l)),
      removed: lines.filter((_l, i) => i !== 3),
      inserted: [...lines.slice(0, 3), lines[5]!, ...lines.slice(3)],
      reordered: [...lines.slice(0, 3), lines[4]!, lines[3]!, ...lines.slice(5)],
    };
    for (const [name, content] of Object.entries(variants)) {
      const f = join(scratch, `export-${name}.jsonl`);
      writeFileSync(f, content.join('\n') + '\n');
      const v = verify(N, d.dir, '--file', f);
      assert.equal(v.status, 1, `${name}: ${JSON.stringify(v.report)}`);
      assert.equal(typeof v.report.first_bad_record, 'number', name);
    }
  });

  test('an export filtered by key checks each record on its own; one from a later time checks from its first record', () => {
    const keyId = (exported(N).records.find((r) => r.key_ids.length > 0) as AuditRecord).key_ids[0]!;
    const byKey = exported(N, d.dir, '--key-id', keyId);
    assert.ok(byKey.records.length > 0 && byKey.records.every((r) => r.key_ids.includes(keyId)));
    assert.equal(byKey.header.filtered, true);
    const since = exported(N, d.dir, '--since', exported(N).records[2]!.time);
    assert.ok(since.records.length >= 1 && since.records.every((r) => Date.parse(r.time) >= Date.parse(exported(N).records[2]!.time)));
    for (const [name, e] of Object.entries({ byKey, since })) {
      const f = join(scratch, `partial-${name}.jsonl`);
      writeFileSync(f, [JSON.stringify(e.header), ...e.records.map((r) => JSON.stringify(r))].join('\n') + '\n');
      assert.equal(verify(N, d.dir, '--file', f).status, 0, name);
      // A header claiming a whole, unfiltered trail is not authentic.
      writeFileSync(f, [JSON.stringify({ ...e.header, filtered: false, start: { seq: 0 } }), ...e.records.map((r) => JSON.stringify(r))].join('\n') + '\n');
      assert.equal(verify(N, d.dir, '--file', f).status, 1, `${name}: forged header`);
    }
  });

  test('pruning refuses a trail that does not verify up to the pruning point (it would hide the tampering)', async () => {
    const copy = await copyRegion(N, 'prune-tampered');
    const db = new Database(copy.db);
    db.pragma('foreign_keys = OFF');
    const second = (db.prepare('SELECT seq FROM audit_records ORDER BY seq LIMIT 1 OFFSET 1').get() as { seq: number }).seq;
    db.prepare('DELETE FROM audit_records WHERE seq = ?').run(second);
    db.close();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'prune', '--region', N, '--data-dir', copy.dir, '--before', new Date(Date.now() + 60_000).toISOString()], { cwd: REPO, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout);
    assert.equal(JSON.parse(r.stdout).first_bad_record, second);
    assert.equal(verify(N, copy.dir).status, 1, 'still reported');
  });

  test('pruning keeps the rest verifiable from its anchor; a forged anchor fails', async () => {
    const copy = await copyRegion(N, 'pruned');
    const { records } = exported(N, copy.dir);
    const cut = records[5]!;
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'prune', '--region', N, '--data-dir', copy.dir, '--before', cut.time], { cwd: REPO, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const pruned = JSON.parse(r.stdout) as { pruned: number };
    assert.ok(pruned.pruned >= 1);
    const v = verify(N, copy.dir);
    assert.equal(v.status, 0, JSON.stringify(v.report));
    assert.equal(v.report.records, records.length - pruned.pruned);
    const db = new Database(copy.db);
    db.prepare('UPDATE audit_anchor SET seq = seq + 1').run();
    db.close();
    assert.equal(verify(N, copy.dir).status, 1, 'a moved anchor');
  });
});

describe('fail closed', () => {
  test('an admin CLI command beside the running IAM leaves its calls in flight alone, and records itself', () => {
    const db = new Database(join(iamDir(d.dir), 'iam.db'));
    const entry = {
      time: new Date().toISOString(), request_id: 'e'.repeat(32), service: 'iam', region: 'global', caller: null, source_ip: '127.0.0.1',
      operation: 'KeystoneDeleteUser', action: 'iam:users:deleteUser', key_ids: [], status: 0, error_code: null, duration_ms: 0,
    };
    db.prepare('INSERT INTO audit_pending (request_id, entry) VALUES (?, ?)').run(entry.request_id, JSON.stringify(entry));
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'iam', 'list-users', '--domain', d.boot.domain_name, '--data-dir', d.dir], { cwd: REPO, encoding: 'utf8' });
    assert.ok(Array.isArray(JSON.parse(out)));
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM audit_pending WHERE request_id = ?').get(entry.request_id) as { n: number }).n, 1, 'still in flight');
    db.prepare('DELETE FROM audit_pending WHERE request_id = ?').run(entry.request_id);
    db.close();
    const records = exported('iam').records;
    assert.equal(records.filter((r) => r.request_id === entry.request_id).length, 0);
    assert.ok(records.some((r) => r.operation === 'cli:iam list-users' && r.status === 200 && r.source_ip === 'cli'));
  });

  test('a store that refuses audit writes fails the call with 500 and changes nothing', async () => {
    const before = (await kms('list-keys', { key_spec: 'ALL' })).body.total as number;
    const keyId = (await kms('create-key', { key_alias: 'audit-refusal' })).body.key_info.key_id as string;
    const db = new Database(join(regionDir(d.dir, N), 'kms.db'));
    db.exec(`CREATE TRIGGER refuse_records BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'audit refused'); END;
             CREATE TRIGGER refuse_pending BEFORE INSERT ON audit_pending BEGIN SELECT RAISE(ABORT, 'audit refused'); END;`);
    try {
      expectError(await kms('create-key', { key_alias: 'never-created' }), 500, 'KMS.0103');
      expectError(await kms('disable-key', { key_id: keyId }), 500, 'KMS.0103');
      const enc = await kms('encrypt-data', { key_id: keyId, plain_text: 'never answered' });
      expectError(enc, 500, 'KMS.0103');
      assert.ok(!JSON.stringify(enc.body).includes('cipher_text'), 'no ciphertext leaves');
    } finally {
      db.exec('DROP TRIGGER refuse_records; DROP TRIGGER refuse_pending;');
      db.close();
    }
    const list = await kms('list-keys', { key_spec: 'ALL' });
    assert.equal(list.body.total, before + 1, 'only the key made before the refusal');
    assert.ok(!list.body.key_details.some((k: { key_alias: string }) => k.key_alias === 'never-created'));
    assert.equal((await kms('describe-key', { key_id: keyId })).body.key_info.key_state, '2', 'the refused disable-key did not run');
    assert.equal(verify(N, d.dir).status, 0, 'the trail is intact');
  });

  test('records appended by another writer between the region\'s appends (its writer thread seals again on the new head) keep one chain', async () => {
    const keyId = (await kms('create-key', { key_alias: 'two-writers' })).body.key_info.key_id as string;
    const db = new Database(join(regionDir(d.dir, N), 'kms.db'));
    const last = JSON.parse((db.prepare('SELECT record FROM audit_records ORDER BY seq DESC LIMIT 1').get() as { record: string }).record) as AuditRecord;
    db.close();
    // Another writer (as an admin tool would) appends to the region's trail between the region's calls.
    const store = new SqliteKmsStore(join(regionDir(d.dir, N), 'kms.db'));
    const rootKey = new LocalFileRootKey(join(regionDir(d.dir, N), 'master.key'));
    try {
      const other = await AuditLog.attach(store, rootKey);
      for (let i = 0; i < 3; i++) {
        await other.record({
          time: new Date().toISOString(), request_id: newRequestId(), service: 'kms', region: N, caller: null, source_ip: 'cli',
          operation: 'cli:test', action: null, key_ids: [], status: 200, error_code: null, duration_ms: 0,
        });
        assert.equal((await kms('encrypt-data', { key_id: keyId, plain_text: `after the other writer ${i}` })).status, 200);
      }
    } finally {
      await store.close();
      await rootKey.close();
    }
    const after = exported(N).records.filter((r) => r.seq > last.seq);
    assert.equal(after.filter((r) => r.operation === 'cli:test').length, 3);
    assert.equal(after.filter((r) => r.operation === 'EncryptData').length, 3);
    assert.deepEqual(after.map((r) => r.seq), after.map((_r, i) => last.seq + 1 + i), 'no gap, no duplicate');
    assert.equal(verify(N, d.dir).status, 0, 'the chain verifies');
  });

  test('a call interrupted before its record is recorded (status 0) at the next start', async () => {
    const db = new Database(join(regionDir(d.dir, N), 'kms.db'));
    const entry = {
      time: new Date().toISOString(), request_id: 'f'.repeat(32), service: 'kms', region: N, caller: null, source_ip: '127.0.0.1',
      operation: 'DisableKey', action: 'kms:cmk:disable', key_ids: [], status: 0, error_code: null, duration_ms: 0,
    };
    db.prepare('INSERT INTO audit_pending (request_id, entry) VALUES (?, ?)').run(entry.request_id, JSON.stringify(entry));
    db.close();
    await d.stopRegion(N);
    await d.startRegion(N);
    const found = exported(N).records.filter((r) => r.request_id === entry.request_id);
    assert.equal(found.length, 1);
    assert.equal(found[0]!.status, 0);
    assert.equal(verify(N, d.dir).status, 0);
  });
});

describe('calls between regions and a region\'s own work', () => {
  let now = Date.now();
  let two: TestDeployment;
  before(async () => (two = await startTestDeployment({ regions: [N, 'cn-south-1'], clock: () => now })));
  after(() => two.stop());

  test('a replica\'s arrival is in the target region\'s trail, with the calling region; a key destroyed by the sweep is in its region\'s', async () => {
    const S = 'cn-south-1';
    const keyId = (await two.kms(N, 'create-key', { key_alias: 'traveller' })).body.key_info.key_id as string;
    const P = two.projectId(N);
    const rep = await signedRequest(two.endpoint(N), two.admin, P, 'POST', `/v2/${P}/kms/keys/${keyId}/replicate`, {
      key_id: keyId, replica_region: S, key_alias: 'traveller', replica_project_id: two.projectId(S),
    });
    assert.equal(rep.status, 200, JSON.stringify(rep.body));
    const south = exported(S, two.dir).records;
    const prepared = south.filter((r) => r.operation === 'internal:replicas/prepare' && r.key_ids.includes(keyId));
    assert.equal(prepared.length, 1);
    assert.deepEqual([prepared[0]!.peer, prepared[0]!.status, prepared[0]!.caller], [N, 200, null]);
    assert.ok(south.some((r) => r.operation === 'internal:replicas/commit' && r.key_ids.includes(keyId)));

    const doomed = (await two.kms(S, 'create-key', { key_alias: 'doomed' })).body.key_info.key_id as string;
    assert.equal((await two.kms(S, 'schedule-key-deletion', { key_id: doomed, pending_days: '7' })).status, 200);
    now += 8 * 86_400_000;
    await two.stopRegion(S);
    await two.startRegion(S); // the sweep runs at start
    const destroyed = exported(S, two.dir).records.filter((r) => r.operation === 'system:DestroyKey');
    assert.deepEqual(destroyed.map((r) => r.key_ids), [[doomed]]);
    assert.equal(verify(S, two.dir).status, 0);
  });
});

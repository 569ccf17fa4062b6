/**
 * Several nodes of one region on one PostgreSQL database (issue: stateless nodes per region). Two nodes of each of
 * two regions race conflicting operations on one key, and the final state, the answers and the region's audit
 * trail must agree; a change made through one node is in force through the other within one second; background
 * work runs once per due item across the nodes. Skipped without STRONGROOM_TEST_POSTGRES_URL.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord } from '../src/audit/audit-store.js';
import { openRootKey } from '../src/composition.js';
import { regionDir } from '../src/deployment.js';
import { schemaName } from '../src/storage/postgres/database.js';
import { PgKmsStore } from '../src/storage/postgres/kms-pg-store.js';
import { expectError, errorCodeOf, sendSigned, signedRequest, signRequest, startTestDeployment, tokenRequest, type Reply, type SignedParts, type TestDeployment } from './helpers/deployment.js';
import { iamApi } from './helpers/iam.js';
import { verifiedTrail } from './helpers/audit-trail.js';
import { skipPostgres } from './helpers/postgres.js';

const N = 'cn-north-4';
const S = 'cn-south-1';
const DAY = 86_400_000;
let d: TestDeployment;
let offset = 0;
const clock = () => Date.now() + offset;

/** A KMS call through node `n` of a region, signed by the admin. */
let nonce = 0;
/** A KMS call through node `n`, signed afresh (a signed nonce header makes racing copies distinct requests, not replays). */
function via(region: string, n: number, method: string, path: string, body?: object): Promise<Reply> {
  const p = d.projectId(region);
  return signedRequest(d.nodeEndpoint(region, n), d.admin, p, method, path.startsWith('/') ? path.replace('{p}', p) : `/v1.0/${p}/kms/${path}`, body, undefined, { 'X-Test-Nonce': String(++nonce) });
}

/** Sends signed parts to another node with the signed Host (as a load balancer in front of both would). */
function sendTo(parts: SignedParts, endpoint: string): Promise<Reply> {
  const signedFor = new URL(parts.url);
  const target = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, method: parts.method, path: signedFor.pathname + signedFor.search, headers: { ...parts.headers, host: signedFor.host } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: new Headers(res.headers as Record<string, string>), body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(parts.body);
  });
}
const kms = (n: number, op: string, body: object) => via(N, n, 'POST', op, body);

async function newKey(extra: object = {}): Promise<string> {
  const r = await kms(0, 'create-key', { key_alias: `mn-${Math.random().toString(36).slice(2)}`, ...extra });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.key_info.key_id as string;
}

/** Fires `count` copies of a call through each node at once; the answers in order (node 0's, then node 1's). */
async function race(count: number, call: (node: number, i: number) => Promise<Reply>): Promise<Reply[]> {
  const calls: Promise<Reply>[] = [];
  for (let i = 0; i < count; i++) for (const n of [0, 1]) calls.push(call(n, i));
  return Promise.all(calls);
}

/** The region's whole audit trail, read from its schema, after checking it is one valid chain. */
async function trail(region: string): Promise<AuditRecord[]> {
  const store = await PgKmsStore.open(d.deployment.store!, schemaName('region', region));
  const rootKey = openRootKey({ dataDir: regionDir(d.dir, region) });
  try {
    return await verifiedTrail(store, rootKey);
  } finally {
    await store.close();
    await rootKey.close();
  }
}

/** Waits (polling every 20 ms, at most `ms`) until `check` holds; returns the milliseconds it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) assert.fail(`not within ${ms} ms`);
    await sleep(20);
  }
  return Date.now() - started;
}

describe('two nodes per region on one PostgreSQL database', { skip: skipPostgres }, () => {
  before(async () => {
    d = await startTestDeployment({ regions: [N, S], store: 'postgres', nodes: 2, clock, grantQuota: 3 });
  });
  after(async () => {
    await d?.stop();
  });

  test('a key disabled through one node is refused through the other within one second', async () => {
    const keyId = await newKey();
    const encrypt = (n: number) => kms(n, 'encrypt-data', { key_id: keyId, plain_text: 'aGVsbG8=' });
    for (let i = 0; i < 3; i++) assert.equal((await encrypt(1)).status, 200); // node 1 holds the key in its cache
    assert.equal((await kms(0, 'disable-key', { key_id: keyId })).status, 200);
    const refusedAfter = await within(1000, async () => (await encrypt(1)).status !== 200);
    const r = await encrypt(1);
    expectError(r, 400, 'KMS.0209');
    console.log(`# node 1 refused the key ${refusedAfter} ms after node 0 disabled it`);
    // ... and a deletion scheduled through node 1 is in force through node 0.
    const other = await newKey();
    assert.equal((await kms(0, 'encrypt-data', { key_id: other, plain_text: 'aGVsbG8=' })).status, 200);
    assert.equal((await kms(1, 'schedule-key-deletion', { key_id: other, pending_days: '7' })).status, 200);
    await within(1000, async () => (await kms(0, 'encrypt-data', { key_id: other, plain_text: 'aGVsbG8=' })).status !== 200);
  });

  test('a revoked token and a removed permission are refused through every node within one second', async () => {
    const token = await d.token(N);
    const list = (n: number, t = token) => tokenRequest(d.nodeEndpoint(N, n), t, 'POST', `/v1.0/${d.projectId(N)}/kms/list-keys`, {});
    for (const n of [0, 1]) assert.equal((await list(n)).status, 200);
    assert.equal((await tokenRequest(d.iamUrl, token, 'DELETE', '/v3/auth/tokens', undefined, { 'X-Subject-Token': token })).status, 204);
    for (const n of [0, 1]) await within(1000, async () => (await list(n)).status === 401);

    const api = iamApi(d);
    const user = await api.userWith(`mn-user-${Date.now()}`, [await api.roleId('KMS Administrator')], { project: d.projectId(N) });
    const asUser = (n: number) => signedRequest(d.nodeEndpoint(N, n), user.creds, d.projectId(N), 'POST', `/v1.0/${d.projectId(N)}/kms/list-keys`, {});
    for (const n of [0, 1]) await within(1000, async () => (await asUser(n)).status === 200);
    await api.removeMember(user.groupId, user.id);
    for (const n of [0, 1]) await within(1000, async () => (await asUser(n)).status === 403);
  });

  test('a signed write applied through one node is refused as a replay through the other', async () => {
    const keyId = await newKey();
    const disable = signRequest(d.nodeEndpoint(N, 0), d.admin, d.projectId(N), 'POST', `/v1.0/${d.projectId(N)}/kms/disable-key`, { key_id: keyId });
    assert.equal((await sendSigned(disable)).status, 200);
    assert.equal((await kms(1, 'enable-key', { key_id: keyId })).status, 200);
    const replay = await sendTo(disable, d.nodeEndpoint(N, 1));
    expectError(replay, 401, 'APIGW.0301');
    assert.match(replay.body.error_msg, /replay/, 'refused as a replay, not for its signature');
    assert.equal((await kms(1, 'describe-key', { key_id: keyId })).body.key_info.key_state, '2');
  });

  test('racing enable and disable through both nodes loses no update: answers, state and audit agree', async () => {
    const keyId = await newKey();
    const answers = await race(10, (n, i) => kms(n, (i + n) % 2 === 0 ? 'disable-key' : 'enable-key', { key_id: keyId }));
    const ok = (op: string) => answers.filter((r, i) => r.status === 200 && ((Math.floor(i / 2) + (i % 2)) % 2 === 0 ? 'disable-key' : 'enable-key') === op).length;
    for (const r of answers) if (r.status !== 200) assert.ok(['KMS.1201', 'KMS.1301'].includes(errorCodeOf(r)!), JSON.stringify(r.body));
    const disabled = ok('disable-key');
    const enabled = ok('enable-key');
    // Starting enabled, each successful disable needs a successful enable before the next: they alternate.
    assert.ok(disabled - enabled === 0 || disabled - enabled === 1, `${disabled} disables, ${enabled} enables`);
    const state = (await kms(1, 'describe-key', { key_id: keyId })).body.key_info.key_state;
    assert.equal(state, disabled > enabled ? '3' : '2');
    const records = (await trail(N)).filter((r) => r.key_ids.includes(keyId) && r.status === 200);
    assert.equal(records.filter((r) => r.operation === 'DisableKey').length, disabled);
    assert.equal(records.filter((r) => r.operation === 'EnableKey').length, enabled);
  });

  test('one of racing schedule-key-deletion, create-alias and update-primary-region wins; grants stop at the quota', async () => {
    const keyId = await newKey();
    const alias = `alias/race-${Date.now()}`;
    const aliases = await race(5, (n) => via(N, n, 'POST', 'aliases', { key_id: keyId, alias }));
    assert.equal(aliases.filter((r) => r.status === 201).length, 1);
    for (const r of aliases.filter((x) => x.status !== 201)) expectError(r, 400, 'KMS.1104');

    const grantee = (await iamApi(d).createUser(`mng${Date.now() % 1e6}`)).id;
    const grants = await race(5, (n) => kms(n, 'create-grant', { key_id: keyId, grantee_principal: grantee, operations: ['encrypt-data'] }));
    for (const r of grants.filter((x) => x.status !== 200)) expectError(r, 400, 'KMS.2404');
    assert.equal(grants.filter((r) => r.status === 200).length, 3, 'the grant quota (3) holds across nodes');
    assert.equal((await kms(1, 'list-grants', { key_id: keyId })).body.total, 3);

    const replicas = await race(3, (n) => via(N, n, 'POST', `/v2/{p}/kms/keys/${keyId}/replicate`, { key_id: keyId, replica_region: S, key_alias: `r-${n}-${Math.random().toString(36).slice(2)}`, replica_project_id: d.projectId(S) }));
    assert.equal(replicas.filter((r) => r.status === 200).length, 1, JSON.stringify(replicas.map((r) => r.body)));
    assert.equal((await kms(0, 'describe-key', { key_id: keyId })).body.key_info.multi_region_key_type, 'PRIMARY');
    assert.equal((await via(S, 1, 'POST', 'describe-key', { key_id: keyId })).body.key_info.multi_region_key_type, 'REPLICA');

    const moves = await race(3, (n) => via(N, n, 'PUT', `/v2/{p}/kms/keys/${keyId}/update-primary-region`, { key_id: keyId, primary_region: S }));
    assert.equal(moves.filter((r) => r.status === 200).length, 1, JSON.stringify(moves.map((r) => r.body)));

    const doomed = await newKey();
    const scheduled = await race(5, (n) => kms(n, 'schedule-key-deletion', { key_id: doomed, pending_days: '7' }));
    assert.equal(scheduled.filter((r) => r.status === 200).length, 1);
    for (const r of scheduled.filter((x) => x.status !== 200)) expectError(r, 400, 'KMS.1402');

    const records = await trail(N);
    assert.equal(records.filter((r) => r.operation === 'CreateAlias' && r.status === 201 && r.key_ids.includes(keyId)).length, 1);
    assert.equal(records.filter((r) => r.operation === 'CreateGrant' && r.status === 200 && r.key_ids.includes(keyId)).length, 3);
    assert.equal(records.filter((r) => r.operation === 'ReplicateKey' && r.status === 200 && r.key_ids.includes(keyId)).length, 1);
    assert.equal(records.filter((r) => r.operation === 'UpdatePrimaryRegion' && r.status === 200 && r.key_ids.includes(keyId)).length, 1);
    assert.equal(records.filter((r) => r.operation === 'DeleteKey' && r.status === 200 && r.key_ids.includes(doomed)).length, 1);
  });

  test('rotations on demand through both nodes: each answered rotation is one new version', async () => {
    const keyId = await newKey();
    const answers = await race(5, (n) => kms(n, 'rotate-on-demand', { key_id: keyId }));
    const rotated = answers.filter((r) => r.status === 200).length;
    assert.ok(rotated >= 1);
    const status = (await kms(1, 'get-key-rotation-status', { key_id: keyId })).body;
    assert.equal(status.number_of_rotations, rotated, JSON.stringify(status));
    const records = (await trail(N)).filter((r) => r.operation === 'RotateOnDemand' && r.status === 200 && r.key_ids.includes(keyId));
    assert.equal(records.length, rotated);
  });

  test('due deletions and rotations run once across the nodes, each recorded once', async () => {
    const doomed: string[] = [];
    for (let i = 0; i < 10; i++) {
      const keyId = await newKey();
      assert.equal((await kms(i % 2, 'schedule-key-deletion', { key_id: keyId, pending_days: '7' })).status, 200);
      doomed.push(keyId);
    }
    const rotating = await newKey();
    assert.equal((await kms(0, 'enable-key-rotation', { key_id: rotating })).status, 200);
    offset += 400 * DAY; // past the deletion dates and the rotation interval
    // The sweeps run while both nodes answer calls (each call's audit record competes for the chain's head).
    const busy = await newKey();
    const traffic = race(40, (n) => kms(n, 'encrypt-data', { key_id: busy, plain_text: 'aGVsbG8=' }));
    const ran = await Promise.all([0, 1].flatMap((n) => [d.node(N, n).scheduler.runNow('deletion'), d.node(N, n).scheduler.runNow('rotation')]));
    assert.ok((await traffic).every((r) => r.status === 200));
    assert.equal(ran.filter(Boolean).length, 2, 'one node runs each job');
    for (const keyId of doomed) expectError(await kms(1, 'describe-key', { key_id: keyId }), 404, 'KMS.0207');
    const records = await trail(N);
    for (const keyId of doomed) {
      assert.equal(records.filter((r) => r.operation === 'system:DestroyKey' && r.key_ids.includes(keyId)).length, 1, keyId);
    }
    assert.equal(records.filter((r) => r.operation === 'system:RotateKey' && r.key_ids.includes(rotating)).length, 1);
    // Another round finds nothing left to do, whichever node holds the leases.
    await Promise.all([0, 1].map((n) => d.node(N, n).scheduler.runNow('deletion')));
    assert.equal((await trail(N)).filter((r) => r.operation === 'system:DestroyKey').length, records.filter((r) => r.operation === 'system:DestroyKey').length);
  });

  test('the job leases move to the other node when the one holding them stops', async () => {
    const holder = [0, 1].find((n) => d.node(N, n).scheduler.holds('deletion'));
    assert.ok(holder !== undefined, 'one node holds the deletion lease');
    const other = 1 - holder;
    await d.stopNode(N, holder);
    assert.equal(await d.node(N, other).scheduler.runNow('deletion'), true);
    await d.startNode(N, holder);
    assert.equal(await d.node(N, holder).scheduler.runNow('deletion'), false, 'the restarted node waits for the lease');
  });
});

/**
 * Aliases (docs/reference/huawei-kms-api.md §2 B, §4 B 11–14; issue #8): create (201, AliasEntity with alias_urn), list
 * (by key or the whole project, paged by limit and marker with page_info), associate (move an alias to another key),
 * delete (204, all or none), and the rules: the `alias/` prefix and characters, uniqueness in the account and region,
 * 50 per key, keys pending deletion. Every error case asserts the exact status and code.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { expectError, signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';
import { iamDir } from '../src/deployment.js';
import { openIam } from '../src/iam-server.js';

const R = 'cn-north-4';
/** Only the paging test creates aliases here, so its listing is exact. */
const PAGING_R = 'cn-east-3';
const UNKNOWN_KEY = '00000000-0000-4000-8000-000000000000';

let d: TestDeployment;
before(async () => (d = await startTestDeployment()));
after(() => d.stop());

let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${randomUUID().slice(0, 8)}`;

function call(region: string, method: string, path: string, body?: object, query?: Record<string, string>): Promise<Reply> {
  return signedRequest(d.endpoint(region), d.admin, d.projectId(region), method, `/v1.0/${d.projectId(region)}/kms/${path}`, body, query);
}

async function newKey(region = R): Promise<string> {
  const r = await d.kms(region, 'create-key', { key_alias: unique('ak') });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.key_info.key_id;
}

async function createAlias(keyId: string, alias: string, region = R): Promise<any> {
  const r = await call(region, 'POST', 'aliases', { key_id: keyId, alias });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function aliasesOf(keyId: string, region = R): Promise<string[]> {
  const r = await call(region, 'GET', 'aliases', undefined, { key_id: keyId });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.aliases.map((a: { alias: string }) => a.alias);
}

test('create-alias answers 201 with the AliasEntity: alias_urn kms:<region>:<domain_id>:alias:<alias>, ISO-8601 times', async () => {
  const key = await newKey();
  const alias = `alias/${unique('orders')}`;
  const before = Date.now();
  const body = await createAlias(key, alias);
  assert.deepEqual(Object.keys(body).sort(), ['alias', 'alias_urn', 'create_time', 'domain_id', 'key_id', 'update_time']);
  assert.equal(body.alias, alias);
  assert.equal(body.key_id, key);
  assert.equal(body.domain_id, d.boot.domain_id);
  assert.equal(body.alias_urn, `kms:${R}:${d.boot.domain_id}:alias:${alias}`);
  assert.match(body.create_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.ok(Math.abs(Date.parse(body.create_time) - before) < 5000);
  assert.equal(body.update_time, body.create_time);
  // The key's own key_alias is another thing: unchanged.
  const described = await d.kms(R, 'describe-key', { key_id: key });
  assert.notEqual(described.body.key_info.key_alias, alias);
});

test('alias rules: the alias/ prefix and its characters (KMS.1101), the /default suffix (KMS.1101), a missing field (KMS.0204), a bad key id (KMS.0205), an unknown key (404 KMS.0207)', async () => {
  const key = await newKey();
  for (const bad of ['orders', 'alias/', 'alias/has space', 'alias/star*', `alias/${'a'.repeat(250)}`, 'ALIAS/x', 'alias/x/default']) {
    expectError(await call(R, 'POST', 'aliases', { key_id: key, alias: bad }), 400, 'KMS.1101');
  }
  await createAlias(key, `alias/${'a'.repeat(249)}`); // 255 characters in all
  await createAlias(key, `alias/a:b/c_d-${counter}`);
  expectError(await call(R, 'POST', 'aliases', { key_id: key }), 400, 'KMS.0204');
  expectError(await call(R, 'POST', 'aliases', { key_id: 'nope', alias: 'alias/x' }), 400, 'KMS.0205');
  expectError(await call(R, 'POST', 'aliases', { key_id: UNKNOWN_KEY, alias: `alias/${unique('x')}` }), 404, 'KMS.0207');
  assert.equal((await aliasesOf(key)).length, 2);
});

test('an alias is unique in the account and region (KMS.1104), and the same alias may exist in another region', async () => {
  const a = await newKey();
  const b = await newKey();
  const alias = `alias/${unique('shared')}`;
  await createAlias(a, alias);
  expectError(await call(R, 'POST', 'aliases', { key_id: b, alias }), 400, 'KMS.1104');
  expectError(await call(R, 'POST', 'aliases', { key_id: a, alias }), 400, 'KMS.1104');
  const other = await newKey('cn-south-1');
  assert.equal((await createAlias(other, alias, 'cn-south-1')).alias_urn, `kms:cn-south-1:${d.boot.domain_id}:alias:${alias}`);
  assert.deepEqual(await aliasesOf(b), []);
});

test('a key has at most 50 aliases: the 51st is refused with KMS.0308', async () => {
  const key = await newKey();
  const base = unique('many');
  for (let i = 0; i < 50; i++) await createAlias(key, `alias/${base}-${String(i).padStart(2, '0')}`);
  expectError(await call(R, 'POST', 'aliases', { key_id: key, alias: `alias/${base}-50` }), 400, 'KMS.0308');
  assert.equal((await aliasesOf(key)).length, 50);
});

test('a key pending deletion takes no alias (KMS.0210), and a key\'s aliases go with the key', async () => {
  const key = await newKey();
  const kept = `alias/${unique('pending')}`;
  await createAlias(key, kept);
  assert.equal((await d.kms(R, 'schedule-key-deletion', { key_id: key, pending_days: '7' })).status, 200);
  expectError(await call(R, 'POST', 'aliases', { key_id: key, alias: `alias/${unique('late')}` }), 400, 'KMS.0210');
  const target = await newKey();
  expectError(await call(R, 'POST', 'alias/associate', { alias: `alias/${unique('x')}`, target_key_id: key }), 400, 'KMS.0210');
  // Still listed while pending, and deletable.
  assert.deepEqual(await aliasesOf(key), [kept]);
  // Moving it away from the pending key is allowed.
  const moved = await call(R, 'POST', 'alias/associate', { alias: kept, target_key_id: target });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.deepEqual(await aliasesOf(target), [kept]);
});

test('list-aliases pages by limit and marker with page_info {next_marker, current_count}, by name, and filters by key', async () => {
  const a = await newKey(PAGING_R);
  const b = await newKey(PAGING_R);
  const names: string[] = [];
  for (let i = 0; i < 7; i++) names.push((await createAlias(i % 2 ? b : a, `alias/p-${i}-${randomUUID().slice(0, 4)}`, PAGING_R)).alias);
  const all: string[] = [];
  let marker: string | undefined;
  const counts: number[] = [];
  for (;;) {
    const r = await call(PAGING_R, 'GET', 'aliases', undefined, { limit: '3', ...(marker ? { marker } : {}) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ['aliases', 'page_info']);
    counts.push(r.body.page_info.current_count);
    assert.equal(r.body.page_info.current_count, r.body.aliases.length);
    all.push(...r.body.aliases.map((x: { alias: string }) => x.alias));
    marker = r.body.page_info.next_marker;
    if (marker === '') break;
  }
  assert.deepEqual(counts, [3, 3, 1]);
  assert.deepEqual(all, [...names].sort());
  // A new alias after the first page does not shift the pages already read.
  assert.deepEqual(await aliasesOf(a, PAGING_R), names.filter((_, i) => i % 2 === 0).sort());
  assert.deepEqual(await aliasesOf(b, PAGING_R), names.filter((_, i) => i % 2 === 1).sort());
  const empty = await call(PAGING_R, 'GET', 'aliases', undefined, { limit: '' });
  assert.equal(empty.status, 200, 'an empty limit is no limit');
  expectError(await call(PAGING_R, 'GET', 'aliases', undefined, { limit: '0' }), 400, 'KMS.1601');
  expectError(await call(PAGING_R, 'GET', 'aliases', undefined, { limit: 'x' }), 400, 'KMS.1601');
  expectError(await call(PAGING_R, 'GET', 'aliases', undefined, { key_id: UNKNOWN_KEY }), 404, 'KMS.0207');
  expectError(await call(PAGING_R, 'GET', 'aliases', undefined, { key_id: 'bad' }), 400, 'KMS.0205');
});

test('associate-alias moves an alias to another key (200, AliasEntity with the new key_id); errors: unknown alias KMS.0308, unknown target 404 KMS.0207', async () => {
  const from = await newKey();
  const to = await newKey();
  const alias = `alias/${unique('move')}`;
  const created = await createAlias(from, alias);
  const r = await call(R, 'POST', 'alias/associate', { alias, target_key_id: to });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.key_id, to);
  assert.equal(r.body.alias_urn, created.alias_urn);
  assert.equal(r.body.create_time, created.create_time);
  assert.deepEqual(await aliasesOf(from), []);
  assert.deepEqual(await aliasesOf(to), [alias]);
  // Again to the same key: nothing changes.
  assert.equal((await call(R, 'POST', 'alias/associate', { alias, target_key_id: to })).status, 200);
  expectError(await call(R, 'POST', 'alias/associate', { alias: `alias/${unique('none')}`, target_key_id: to }), 400, 'KMS.0308');
  expectError(await call(R, 'POST', 'alias/associate', { alias, target_key_id: UNKNOWN_KEY }), 404, 'KMS.0207');
  expectError(await call(R, 'POST', 'alias/associate', { alias: 'nope', target_key_id: to }), 400, 'KMS.1101');
  assert.deepEqual(await aliasesOf(to), [alias]);
});

test('an alias of another project of the account is neither listed nor moved from here', async () => {
  const { iam, close } = await openIam(iamDir(d.dir), { store: d.deployment.store });
  const otherProject = await iam.createProject(d.boot.domain_id, `${R}_aliases`, R).then((p) => p.id).finally(close);
  const inOther = (method: string, path: string, body?: object, query?: Record<string, string>) =>
    signedRequest(d.endpoint(R), d.admin, otherProject, method, `/v1.0/${otherProject}/kms/${path}`, body, query);
  const k = await inOther('POST', 'create-key', { key_alias: unique('op') });
  assert.equal(k.status, 200, JSON.stringify(k.body));
  const alias = `alias/${unique('theirs')}`;
  assert.equal((await inOther('POST', 'aliases', { key_id: k.body.key_info.key_id, alias })).status, 201);
  const mine = await newKey();
  // Unique in the account: the name is taken, though this project cannot see it.
  expectError(await call(R, 'POST', 'aliases', { key_id: mine, alias }), 400, 'KMS.1104');
  expectError(await call(R, 'POST', 'alias/associate', { alias, target_key_id: mine }), 400, 'KMS.0308');
  const listed = await call(R, 'GET', 'aliases', undefined, { limit: '1000' });
  assert.ok(!listed.body.aliases.some((a: { alias: string }) => a.alias === alias));
});

test('delete-alias removes aliases of a key (204, JSON body); all or none when one is not that key\'s (KMS.0308)', async () => {
  const key = await newKey();
  const other = await newKey();
  const a1 = `alias/${unique('d1')}`;
  const a2 = `alias/${unique('d2')}`;
  const a3 = `alias/${unique('d3')}`;
  await createAlias(key, a1);
  await createAlias(key, a2);
  await createAlias(other, a3);
  expectError(await call(R, 'DELETE', 'aliases', { key_id: key, aliases: [a1, a3] }), 400, 'KMS.0308');
  expectError(await call(R, 'DELETE', 'aliases', { key_id: key, aliases: [a1, `alias/${unique('never')}`] }), 400, 'KMS.0308');
  expectError(await call(R, 'DELETE', 'aliases', { key_id: key, aliases: [] }), 400, 'KMS.0308');
  expectError(await call(R, 'DELETE', 'aliases', { key_id: UNKNOWN_KEY, aliases: [a1] }), 404, 'KMS.0207');
  expectError(await call(R, 'DELETE', 'aliases', { aliases: [a1] }), 400, 'KMS.0204');
  assert.deepEqual(await aliasesOf(key), [a1, a2].sort());
  const r = await call(R, 'DELETE', 'aliases', { key_id: key, aliases: [a1, a2] });
  assert.equal(r.status, 204, JSON.stringify(r.body));
  assert.deepEqual(await aliasesOf(key), []);
  assert.deepEqual(await aliasesOf(other), [a3]);
  // The name is free again.
  await createAlias(other, a1);
});

test('an alias, or its URN, stands for the key_id it points at (DEW guide: "use the alias as the key ID"); an unknown alias is 404 KMS.0207', async () => {
  const key = await newKey();
  const alias = `alias/${unique('use')}`;
  const urn = (await createAlias(key, alias)).alias_urn as string;
  const enc = await d.kms(R, 'encrypt-data', { key_id: alias, plain_text: 'by alias' });
  assert.equal(enc.status, 200, JSON.stringify(enc.body));
  assert.equal(enc.body.key_id, key, 'the answer names the key itself');
  const described = await d.kms(R, 'describe-key', { key_id: urn });
  assert.equal(described.status, 200, JSON.stringify(described.body));
  assert.equal(described.body.key_info.key_id, key);
  assert.equal((await d.kms(R, 'create-datakey', { key_id: alias, datakey_length: '256' })).status, 200);
  // Moving the alias moves what it names.
  const other = await newKey();
  assert.equal((await call(R, 'POST', 'alias/associate', { alias, target_key_id: other })).status, 200);
  assert.equal((await d.kms(R, 'encrypt-data', { key_id: alias, plain_text: 'x' })).body.key_id, other);
  expectError(await d.kms(R, 'encrypt-data', { key_id: `alias/${unique('none')}`, plain_text: 'x' }), 404, 'KMS.0207');
  expectError(await d.kms(R, 'encrypt-data', { key_id: urn.replace(`kms:${R}:`, 'kms:cn-south-1:'), plain_text: 'x' }), 404, 'KMS.0207');
  expectError(await d.kms(R, 'encrypt-data', { key_id: urn.replace(d.boot.domain_id, 'f'.repeat(32)), plain_text: 'x' }), 404, 'KMS.0207');
  expectError(await d.kms(R, 'encrypt-data', { key_id: 'not-an-alias', plain_text: 'x' }), 400, 'KMS.0205');
  // Another region's alias of the same name is that region's.
  expectError(await d.kms('cn-south-1', 'encrypt-data', { key_id: alias, plain_text: 'x' }), 404, 'KMS.0207');
});

test('moving an alias needs the action on the key losing it too, and its audit record names both keys', async () => {
  const { iamApi } = await import('./helpers/iam.js');
  const api = iamApi(d);
  const mine = await newKey();
  const theirs = await newKey();
  const alias = `alias/${unique('guarded')}`;
  await createAlias(theirs, alias);
  const onlyMine = await api.createPolicy('associate-on-mine', {
    Version: '1.1',
    Statement: [{ Effect: 'Allow', Action: ['kms:alias:associate'], Resource: [`kms:${R}:${d.boot.domain_id}:KeyId:${mine}`] }],
  });
  const user = await api.userWith('alias-mover', [onlyMine], { project: d.projectId(R) });
  const move = () => signedRequest(d.endpoint(R), user.creds, d.projectId(R), 'POST', `/v1.0/${d.projectId(R)}/kms/alias/associate`, { alias, target_key_id: mine });
  let r = await move();
  for (let i = 0; i < 40 && r.status !== 403; i++) {
    await new Promise((res) => setTimeout(res, 50));
    r = await move();
  }
  expectError(r, 403, 'KMS.0306');
  assert.deepEqual(await aliasesOf(theirs), [alias], 'the alias stayed');
  // Allowed on both keys, it moves.
  await api.updatePolicy(onlyMine, 'associate-on-mine', {
    Version: '1.1',
    Statement: [{ Effect: 'Allow', Action: ['kms:alias:associate'], Resource: [`kms:${R}:${d.boot.domain_id}:KeyId:${mine}`, `kms:${R}:${d.boot.domain_id}:KeyId:${theirs}`] }],
  });
  for (let i = 0; i < 40 && r.status !== 200; i++) {
    await new Promise((res) => setTimeout(res, 50));
    r = await move();
  }
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(await aliasesOf(mine), [alias]);
  // The key that lost the alias has the call in its part of the trail (read by the CLI, in its own process).
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'export', '--region', R, '--data-dir', d.dir, '--key-id', theirs], { encoding: 'utf8' });
  const records = out.trim().split('\n').slice(1).map((l) => JSON.parse(l) as { operation: string; status: number; key_ids: string[] });
  const moved = records.filter((x) => x.operation === 'AssociateAlias');
  assert.ok(moved.length >= 2 && moved.slice(0, -1).every((x) => x.status === 403) && moved.at(-1)!.status === 200, JSON.stringify(moved));
  assert.deepEqual([...moved.at(-1)!.key_ids].sort(), [mine, theirs].sort());
});

/**
 * ListKeyAuditTrail (`GET /v2/{project_id}/kms/keys/{key_id}/audit-trail`, Strongroom's own): the records of the
 * region's trail that name a key, oldest first, paged; only for a key of the caller's project (KMS.0207), only for a
 * caller allowed kms:cmk:getAuditTrail (KMS CMKReadOnlyAccess is not); limit and marker validated.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { expectError, signedRequest, startTestDeployment, type Credentials, type Reply, type TestDeployment } from './helpers/deployment.js';
import { iamApi } from './helpers/iam.js';

const N = 'cn-north-4';
let d: TestDeployment;

before(async () => (d = await startTestDeployment({ regions: [N] })));
after(async () => d.stop());

const trail = (keyId: string, query: Record<string, string> = {}, creds: Credentials = d.admin): Promise<Reply> =>
  signedRequest(d.endpoint(N), creds, d.projectId(N), 'GET', `/v2/${d.projectId(N)}/kms/keys/${keyId}/audit-trail`, undefined, query);

test('the records naming a key, oldest first, with caller, status and error code, and nothing of other keys', async () => {
  const key = (await d.kms(N, 'create-key', { key_alias: `trail-${randomUUID().slice(0, 8)}` })).body.key_info.key_id as string;
  const other = (await d.kms(N, 'create-key', { key_alias: `trail-other-${randomUUID().slice(0, 8)}` })).body.key_info.key_id as string;
  const ct = (await d.kms(N, 'encrypt-data', { key_id: key, plain_text: 'x' })).body.cipher_text as string;
  assert.equal((await d.kms(N, 'disable-key', { key_id: key })).status, 200);
  const refused = await d.kms(N, 'decrypt-data', { cipher_text: ct }); // the key is disabled
  assert.equal(refused.status, 400);
  await d.kms(N, 'disable-key', { key_id: other });
  const r = await trail(key);
  assert.equal(r.status, 200);
  const records = r.body.records as { seq: number; operation: string; status: number; error_code: string | null; key_ids: string[]; caller: { user_name: string } }[];
  // create-key names no key (key_ids are the keys a call named): a key's trail starts with the first call naming it.
  assert.deepEqual(records.map((x) => x.operation), ['EncryptData', 'DisableKey', 'DecryptData']);
  assert.deepEqual(records.map((x) => x.status), [200, 200, 400]);
  assert.deepEqual(records.map((x) => x.error_code), [null, null, refused.body.error.error_code]);
  assert.ok(records.every((x) => x.key_ids.includes(key) && x.caller.user_name === d.boot.user_name));
  assert.ok(records.every((x, i) => i === 0 || x.seq > records[i - 1]!.seq));
  assert.equal(r.body.next_marker, '');
  assert.equal(r.body.truncated, 'false');
  // The read itself is recorded too, in the next answer.
  const again = await trail(key);
  assert.equal(again.body.records.at(-1).operation, 'ListKeyAuditTrail');
});

test('pages by limit and marker', async () => {
  const key = (await d.kms(N, 'create-key', { key_alias: `trail-pages-${randomUUID().slice(0, 8)}` })).body.key_info.key_id as string;
  await d.kms(N, 'update-key-description', { key_id: key, key_description: 'paged' });
  for (let i = 0; i < 3; i++) await d.kms(N, 'describe-key', { key_id: key });
  const first = await trail(key, { limit: '2' });
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.records.map((x: { operation: string }) => x.operation), ['UpdateKeyDescription', 'ListKeyDetail']);
  assert.equal(first.body.truncated, 'true');
  assert.equal(first.body.next_marker, String(first.body.records[1].seq));
  const second = await trail(key, { limit: '2', marker: first.body.next_marker });
  assert.deepEqual(second.body.records.map((x: { operation: string }) => x.operation), ['ListKeyDetail', 'ListKeyDetail']);
  const third = await trail(key, { limit: '2', marker: second.body.next_marker });
  // The reads of the first two pages; this read is recorded after its answer.
  assert.deepEqual(third.body.records.map((x: { operation: string }) => x.operation), ['ListKeyAuditTrail', 'ListKeyAuditTrail']);
  assert.equal(third.body.truncated, 'false');
  assert.equal(third.body.next_marker, '');
  expectError(await trail(key, { limit: '0' }), 400, 'KMS.1601');
  expectError(await trail(key, { limit: '101' }), 400, 'KMS.1601');
  expectError(await trail(key, { marker: '-1' }), 400, 'KMS.1602');
});

test('a key that is not in the caller\'s project is 404 KMS.0207', async () => {
  expectError(await trail(randomUUID()), 404, 'KMS.0207');
});

test('needs kms:cmk:getAuditTrail: a read-only user is refused, a full-access user allowed', async () => {
  const key = (await d.kms(N, 'create-key', { key_alias: `trail-perm-${randomUUID().slice(0, 8)}` })).body.key_info.key_id as string;
  const admin = iamApi(d);
  const reader = await admin.userWith(`trail-reader-${randomUUID().slice(0, 6)}`, [await admin.roleId('KMS CMKReadOnlyAccess')], { project: d.projectId(N) });
  const full = await admin.userWith(`trail-full-${randomUUID().slice(0, 6)}`, [await admin.roleId('KMS CMKFullAccess')], { project: d.projectId(N) });
  expectError(await trail(key, {}, reader.creds), 403, 'KMS.0306');
  assert.equal((await trail(key, {}, full.creds)).status, 200);
});

/**
 * Quotas and counts (docs/reference/huawei-kms-api.md §2 L, §4 L 50–51; issue #8): user-quotas and user-instances from
 * real counts, and the limits enforced with Huawei's codes (KMS.1105 keys per project, KMS.2404 grants per key), set
 * per deployment (`key_quota`, `grant_quota` in deployment.json; here 3 keys and 2 grants).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { readDeployment } from '../src/deployment.js';
import { expectError, signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';
import { iamApi } from './helpers/iam.js';

const N = 'cn-north-4';
const S = 'cn-south-1';

let d: TestDeployment;
before(async () => (d = await startTestDeployment({ regions: [N, S], keyQuota: 3, grantQuota: 2 })));
after(() => d.stop());

const get = (region: string, path: string): Promise<Reply> =>
  signedRequest(d.endpoint(region), d.admin, d.projectId(region), 'GET', `/v1.0/${d.projectId(region)}/kms/${path}`);

async function quotas(region: string): Promise<Record<string, { used: number; quota: number }>> {
  const r = await get(region, 'user-quotas');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body), ['quotas']);
  assert.deepEqual(r.body.quotas.resources.map((x: { type: string }) => x.type), ['CMK', 'grant_per_CMK']);
  return Object.fromEntries(r.body.quotas.resources.map((x: { type: string; used: number; quota: number }) => [x.type, { used: x.used, quota: x.quota }]));
}

async function instances(region: string): Promise<number> {
  const r = await get(region, 'user-instances');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body), ['instance_num']);
  return r.body.instance_num;
}

test('the quotas are the deployment\'s, kept in deployment.json', () => {
  const file = readDeployment(d.dir);
  assert.equal(file.key_quota, 3);
  assert.equal(file.grant_quota, 2);
});

test('user-quotas and user-instances count keys in any state; the fourth key is refused with KMS.1105, and a replica counts where it lives', async () => {
  assert.deepEqual(await quotas(N), { CMK: { used: 0, quota: 3 }, grant_per_CMK: { used: 0, quota: 2 } });
  assert.equal(await instances(N), 0);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await d.kms(N, 'create-key', { key_alias: `q-${i}` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    ids.push(r.body.key_info.key_id);
  }
  assert.equal((await d.kms(N, 'disable-key', { key_id: ids[1] })).status, 200);
  assert.equal((await d.kms(N, 'schedule-key-deletion', { key_id: ids[2], pending_days: '7' })).status, 200);
  assert.deepEqual((await quotas(N)).CMK, { used: 3, quota: 3 });
  assert.equal(await instances(N), 3, 'disabled and pending keys are instances too');
  expectError(await d.kms(N, 'create-key', { key_alias: 'q-over' }), 400, 'KMS.1105');
  assert.equal(await instances(N), 3, 'nothing was created');
  // A replica takes a place in its region's quota.
  const rep = await signedRequest(d.endpoint(N), d.admin, d.projectId(N), 'POST', `/v2/${d.projectId(N)}/kms/keys/${ids[0]}/replicate`, {
    replica_region: S, key_alias: 'q-replica', replica_project_id: d.projectId(S),
  });
  assert.equal(rep.status, 200, JSON.stringify(rep.body));
  assert.deepEqual((await quotas(S)).CMK, { used: 1, quota: 3 });
  assert.equal(await instances(S), 1);
});

test('grant_per_CMK: used is the most grants one key holds; the third grant on a key is refused with KMS.2404', async () => {
  const user = await iamApi(d).createUser('quota-grantee');
  const key = (await d.kms(S, 'create-key', { key_alias: 'q-grants' })).body.key_info.key_id as string;
  const grant = () => d.kms(S, 'create-grant', { key_id: key, grantee_principal: user.id, operations: ['encrypt-data'] });
  assert.equal((await grant()).status, 200);
  assert.deepEqual((await quotas(S)).grant_per_CMK, { used: 1, quota: 2 });
  assert.equal((await grant()).status, 200);
  expectError(await grant(), 400, 'KMS.2404');
  assert.deepEqual((await quotas(S)).grant_per_CMK, { used: 2, quota: 2 });
  assert.equal((await d.kms(S, 'list-grants', { key_id: key })).body.total, 2);
});

test('quota reads need kms:cmk:getQuota / getInstance (KMS.0306 without)', async () => {
  const user = await iamApi(d).createUser('quota-nobody');
  const r = await signedRequest(d.endpoint(N), user.creds, d.projectId(N), 'GET', `/v1.0/${d.projectId(N)}/kms/user-quotas`);
  expectError(r, 403, 'KMS.0306');
  expectError(await signedRequest(d.endpoint(N), user.creds, d.projectId(N), 'GET', `/v1.0/${d.projectId(N)}/kms/user-instances`), 403, 'KMS.0306');
});

/** IAM edge cases: expired tokens can still be revoked, scopes must name something, non-JSON bodies are IAM.0001. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { IamService } from '../src/iam/iam-service.js';
import { LocalFileRootKey } from '../src/keystore/local-file.js';
import { SqliteIamStore } from '../src/storage/sqlite/iam-sqlite-store.js';
import { expectError, passwordToken, startTestDeployment, tokenRequest, type TestDeployment } from './helpers/deployment.js';

let d: TestDeployment;
before(async () => (d = await startTestDeployment({ regions: ['cn-north-4'] })));
after(() => d.stop());

const user = () => ({ domain: d.boot.domain_name, name: d.boot.user_name, password: d.boot.password });

test('an expired token can be revoked (204), then is gone (404)', async () => {
  const store = new SqliteIamStore(join(d.dir, 'iam', 'iam.db'));
  const rootKey = new LocalFileRootKey(join(d.dir, 'iam', 'master.key'));
  let expired: string;
  try {
    const past = new IamService(store, rootKey, () => Date.now() - 25 * 3_600_000);
    await past.init();
    expired = (await past.passwordToken({ domainName: user().domain, userName: user().name, password: user().password })).token;
  } finally {
    await store.close();
    await rootKey.close();
  }
  const caller = (await passwordToken(d.iamUrl, user())).headers.get('x-subject-token')!;
  const del = await tokenRequest(d.iamUrl, caller, 'DELETE', '/v3/auth/tokens', undefined, { 'X-Subject-Token': expired });
  assert.equal(del.status, 204, JSON.stringify(del.body));
  expectError(await tokenRequest(d.iamUrl, caller, 'DELETE', '/v3/auth/tokens', undefined, { 'X-Subject-Token': expired }), 404, 'IAM.0003');
});

test('a scope that names nothing is refused', async () => {
  expectError(await passwordToken(d.iamUrl, user(), { project: {} }), 400, 'IAM.0001');
  expectError(await passwordToken(d.iamUrl, user(), { domain: {} }), 400, 'IAM.0001');
});

test('a body that is not JSON is IAM.0001 on IAM (KMS.0202 stays the KMS code)', async () => {
  expectError(await tokenRequest(d.iamUrl, undefined, 'POST', '/v3/auth/tokens', '{"auth":'), 400, 'IAM.0001');
  const token = await d.token('cn-north-4');
  const p = d.projectId('cn-north-4');
  expectError(await tokenRequest(d.endpoint('cn-north-4'), token, 'POST', `/v1.0/${p}/kms/create-key`, '{"auth":'), 400, 'KMS.0202');
});

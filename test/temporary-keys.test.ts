/** Temporary access keys are bound to the token they were issued for: its project, its lifetime, its revocation. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { expectError, signedRequest, startTestDeployment, tokenRequest, type TestDeployment } from './helpers/deployment.js';
import { eventually } from './helpers/processes.js';

const N = 'cn-north-4';
const S = 'cn-south-1';
let d: TestDeployment;
before(async () => (d = await startTestDeployment({ regions: [N, S] })));
after(() => d.stop());

async function temporaryKey(token: string, seconds = 86400) {
  const r = await tokenRequest(d.iamUrl, token, 'POST', '/v3.0/OS-CREDENTIAL/securitytokens', { auth: { identity: { methods: ['token'], token: { duration_seconds: seconds } } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const c = r.body.credential;
  return { creds: { ak: c.access, sk: c.secret, securityToken: c.securitytoken }, expiresAt: Date.parse(c.expires_at) };
}
const listKeys = (region: string, creds: { ak: string; sk: string; securityToken?: string }) =>
  signedRequest(d.endpoint(region), creds, d.projectId(region), 'POST', `/v1.0/${d.projectId(region)}/kms/list-keys`, {});

test('a temporary key acts only on its token\'s project and never outlives the token', async () => {
  const token = await d.token(N);
  const claims = (await tokenRequest(d.iamUrl, token, 'GET', '/v3/auth/tokens', undefined, { 'X-Subject-Token': token })).body.token;
  const { creds, expiresAt } = await temporaryKey(token);
  assert.ok(expiresAt <= Date.parse(claims.expires_at), 'capped at the token\'s expiry');
  assert.equal((await listKeys(N, creds)).status, 200);
  expectError(await listKeys(S, creds), 403, 'KMS.0306');
});

test('revoking the token revokes the temporary keys issued for it', async () => {
  const token = await d.token(N);
  const { creds } = await temporaryKey(token);
  assert.equal((await listKeys(N, creds)).status, 200);
  const del = await tokenRequest(d.iamUrl, token, 'DELETE', '/v3/auth/tokens', undefined, { 'X-Subject-Token': token });
  assert.equal(del.status, 204);
  await eventually('the temporary key stops working', async () => (await listKeys(N, creds)).status === 401);
  expectError(await listKeys(N, creds), 401, 'APIGW.0301');
});

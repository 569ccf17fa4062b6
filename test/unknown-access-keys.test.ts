/**
 * Made-up access keys (issue: security review): a region asks IAM about an access key once, then refuses it by
 * itself for a while (regions/iam-client.ts UNKNOWN_KEY_MS), so requests with invented keys do not cost an IAM
 * round trip each; a disabled key enabled again is accepted as soon as IAM's change feed says so.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectError, signedRequest, startTestDeployment, type TestDeployment } from './helpers/deployment.js';
import { iamApi } from './helpers/iam.js';
import { FAILED_AUTH_LIMITS } from '../src/api/kms/pipeline.js';

const R = 'cn-north-4';
let d: TestDeployment;
before(async () => {
  // The rate limits' clock stands still: the failed-authentication limit is reached by count, however slow the machine.
  d = await startTestDeployment({ regions: [R], throttleClock: () => 0 });
});
after(async () => {
  await d?.stop();
});

const listKeys = (creds: { ak: string; sk: string }) => signedRequest(d.endpoint(R), creds, d.projectId(R), 'POST', `/v1.0/${d.projectId(R)}/kms/list-keys`, {});

test('a disabled access key enabled again works within a second; made-up keys are refused without asking IAM again', async () => {
  const api = iamApi(d);
  const user = await api.userWith(`ak${Date.now() % 1e6}`, [await api.roleId('KMS Administrator')], { project: d.projectId(R) });
  assert.equal((await listKeys(user.creds)).status, 200);
  const set = async (status: string) => assert.equal((await api.call('PUT', `/v3.0/OS-CREDENTIAL/credentials/${user.creds.ak}`, { credential: { status } })).status, 200);
  await set('inactive');
  for (const deadline = Date.now() + 2000; (await listKeys(user.creds)).status !== 401; await sleep(50)) assert.ok(Date.now() < deadline);
  expectError(await listKeys(user.creds), 401, 'APIGW.0301'); // now remembered as refused
  await set('active');
  for (const deadline = Date.now() + 1000; (await listKeys(user.creds)).status !== 200; await sleep(50)) assert.ok(Date.now() < deadline, 'enabled again within a second');

  const madeUp = { ak: 'ZZZZZZZZZZZZZZZZZZZZ', sk: 'x'.repeat(40) };
  expectError(await listKeys(madeUp), 401, 'APIGW.0301');
  await d.stopIam();
  // IAM is gone: the key IAM refused is still refused (401, from the region's memory), another unknown one cannot be
  // checked (IAM unreachable).
  expectError(await listKeys(madeUp), 401, 'APIGW.0301');
  expectError(await listKeys({ ak: 'YYYYYYYYYYYYYYYYYYYY', sk: 'x'.repeat(40) }), 503, 'KMS.0104');
});

test('a source that keeps failing authentication is refused for a while without its calls being checked (429 APIGW.0308)', async () => {
  // IAM is stopped by the test above; the region refuses the key it remembers as unknown by itself (401).
  const bogus = { ak: 'ZZZZZZZZZZZZZZZZZZZZ', sk: 'x'.repeat(40) };
  const answers = [];
  for (let i = 0; i < FAILED_AUTH_LIMITS.burst + 20; i++) answers.push(await listKeys(bogus));
  const codes = answers.map((r) => r.body?.error_code);
  assert.ok(codes.includes('APIGW.0308'), 'refused once over the limit');
  const refused = answers.find((r) => r.body?.error_code === 'APIGW.0308')!;
  expectError(refused, 429, 'APIGW.0308');
  assert.ok(Number(refused.headers.get('retry-after')) >= 1);
});

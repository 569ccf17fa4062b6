/**
 * Replays of signed requests (issue: proven under faults). The same bytes of a signed request that changed state,
 * sent again within the signature's validity window, are refused (401 APIGW.0301) and change nothing; reads repeat
 * freely; a request that was refused may be sent again with the same signature; copies sent at the same moment
 * apply once. Requests are signed by the official signer (@huaweicloud/huaweicloud-sdk-core).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { internalAuthorization } from '../src/internal-auth.js';
import { expectError, sendSigned, signRequest, startTestDeployment, type SignedParts, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
let d: TestDeployment;

before(async () => {
  d = await startTestDeployment({ regions: [R] });
});
after(async () => {
  await d?.stop();
});

const signed = (op: string, body: object): SignedParts => signRequest(d.endpoint(R), d.admin, d.projectId(R), 'POST', `/v1.0/${d.projectId(R)}/kms/${op}`, body);
const state = async (keyId: string) => (await d.kms(R, 'describe-key', { key_id: keyId })).body.key_info.key_state as string;

async function newKey(): Promise<string> {
  const r = await d.kms(R, 'create-key', { key_alias: `replay-${Math.random().toString(36).slice(2)}` });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.key_info.key_id;
}

test('a replayed disable-key after the owner enabled the key again is refused and changes nothing', async () => {
  const keyId = await newKey();
  const disable = signed('disable-key', { key_id: keyId });
  assert.equal((await sendSigned(disable)).status, 200);
  assert.equal((await d.kms(R, 'enable-key', { key_id: keyId })).status, 200);
  const replay = await sendSigned(disable);
  expectError(replay, 401, 'APIGW.0301');
  assert.match(replay.body.error_msg, /applied already \(a replay\)/);
  assert.equal(await state(keyId), '2');
});

test('a replayed schedule-key-deletion after a cancel is refused: the key stays enabled', async () => {
  const keyId = await newKey();
  const schedule = signed('schedule-key-deletion', { key_id: keyId, pending_days: '7' });
  assert.equal((await sendSigned(schedule)).status, 200);
  assert.equal((await d.kms(R, 'cancel-key-deletion', { key_id: keyId })).status, 200);
  expectError(await sendSigned(schedule), 401, 'APIGW.0301');
  assert.equal(await state(keyId), '3'); // a cancelled deletion leaves the key disabled (Huawei)
});

test('reads repeat: the same signed encrypt-data and describe-key are answered every time', async () => {
  const keyId = await newKey();
  const encrypt = signed('encrypt-data', { key_id: keyId, plain_text: 'hello' });
  const describe = signed('describe-key', { key_id: keyId });
  for (let i = 0; i < 3; i++) {
    assert.equal((await sendSigned(encrypt)).status, 200);
    assert.equal((await sendSigned(describe)).status, 200);
  }
});

test('a refused write may be sent again with the same signature (it was not applied)', async () => {
  const keyId = await newKey();
  assert.equal((await d.kms(R, 'disable-key', { key_id: keyId })).status, 200);
  const enableTwice = signed('disable-key', { key_id: keyId });
  expectError(await sendSigned(enableTwice), 400, 'KMS.1301');
  expectError(await sendSigned(enableTwice), 400, 'KMS.1301'); // refused again for the same reason, not as a replay
  assert.equal((await d.kms(R, 'enable-key', { key_id: keyId })).status, 200);
  assert.equal((await sendSigned(enableTwice)).status, 200, 'now it applies, once');
  expectError(await sendSigned(enableTwice), 401, 'APIGW.0301');
});

test('copies of one signed create-key sent at the same moment create one key', async () => {
  const before = (await d.kms(R, 'list-keys', { key_spec: 'ALL' })).body.total;
  const create = signed('create-key', { key_alias: `burst-${Math.random().toString(36).slice(2)}` });
  const answers = await Promise.all(Array.from({ length: 6 }, () => sendSigned(create)));
  assert.equal(answers.filter((r) => r.status === 200).length, 1, JSON.stringify(answers.map((r) => r.body)));
  for (const r of answers.filter((x) => x.status !== 200)) expectError(r, 401, 'APIGW.0301');
  assert.equal((await d.kms(R, 'list-keys', { key_spec: 'ALL' })).body.total, Number(before) + 1);
});

test('a copy of a signed call between regions that changes state is refused (an older sync cannot be replayed)', async () => {
  const secret = Buffer.from(d.deployment.internal_secret, 'hex');
  const body = Buffer.from(JSON.stringify({ key_id: '00000000-0000-4000-8000-000000000000' }));
  const url = '/internal/v1/keys/detach';
  const headers = { authorization: internalAuthorization(secret, R, 'POST', url, body), 'content-type': 'application/json' };
  const first = await fetch(d.endpoint(R) + url, { method: 'POST', headers, body });
  assert.equal(first.status, 200, await first.text());
  const copy = await fetch(d.endpoint(R) + url, { method: 'POST', headers, body });
  assert.equal(copy.status, 403);
  assert.match(await copy.text(), /"error_code":"KMS\.0306".*a replay/);
  // Signed afresh, the same call is taken again.
  const fresh = await fetch(d.endpoint(R) + url, { method: 'POST', headers: { ...headers, authorization: internalAuthorization(secret, R, 'POST', url, body, Date.now() + 1) }, body });
  assert.equal(fresh.status, 200);
});

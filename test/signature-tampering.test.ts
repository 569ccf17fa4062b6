/** A signed request cannot be bent: the body hash header must match the body, and KMS bodies must be signed. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { expectError, sendSigned, signRequest, startTestDeployment, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
let d: TestDeployment;
let a: string;
let b: string;
before(async () => {
  d = await startTestDeployment({ regions: [R] });
  a = (await d.kms(R, 'create-key', { key_alias: 'tamper-a' })).body.key_info.key_id;
  b = (await d.kms(R, 'create-key', { key_alias: 'tamper-b' })).body.key_info.key_id;
});
after(() => d.stop());

const path = () => `/v1.0/${d.projectId(R)}/kms/disable-key`;
const state = async (keyId: string) => (await d.kms(R, 'describe-key', { key_id: keyId })).body.key_info.key_state;

test('an unsigned X-Sdk-Content-Sha256 carrying the old body hash does not let the body be swapped', async () => {
  const parts = signRequest(d.endpoint(R), d.admin, d.projectId(R), 'POST', path(), { key_id: a });
  const swapped = { ...parts, headers: { ...parts.headers, 'X-Sdk-Content-Sha256': createHash('sha256').update(parts.body!).digest('hex') }, body: JSON.stringify({ key_id: b }) };
  expectError(await sendSigned(swapped), 401, 'APIGW.0301');
  assert.equal(await state(b), '2');
  assert.equal(await state(a), '2');
});

test('a signed X-Sdk-Content-Sha256 must be the hash of the body; UNSIGNED-PAYLOAD is refused for a KMS body', async () => {
  const original = { key_id: a };
  const hash = createHash('sha256').update(JSON.stringify(original)).digest('hex');
  const signed = signRequest(d.endpoint(R), d.admin, d.projectId(R), 'POST', path(), original, undefined, { 'X-Sdk-Content-Sha256': hash });
  expectError(await sendSigned({ ...signed, body: JSON.stringify({ key_id: b }) }), 401, 'APIGW.0301');
  assert.equal(await state(b), '2');
  const unsigned = signRequest(d.endpoint(R), d.admin, d.projectId(R), 'POST', path(), original, undefined, { 'X-Sdk-Content-Sha256': 'UNSIGNED-PAYLOAD' });
  expectError(await sendSigned({ ...unsigned, body: JSON.stringify({ key_id: b }) }), 401, 'APIGW.0301');
  assert.equal(await state(b), '2');
  // The honest request, with its hash signed, works.
  const honest = await sendSigned(signed);
  assert.equal(honest.status, 200, JSON.stringify(honest.body));
  assert.equal(await state(a), '3');
});

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { expectError, startTestDeployment, type TestDeployment } from './helpers/deployment.js';

let d: TestDeployment;
before(async () => (d = await startTestDeployment()));
after(() => d.stop());

test('signed create-key and encrypt/decrypt round trip', async () => {
  const created = await d.kms('cn-north-4', 'create-key', { key_alias: 'smoke' });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const keyId = created.body.key_info.key_id;
  const enc = await d.kms('cn-north-4', 'encrypt-data', { key_id: keyId, plain_text: 'hi' });
  assert.equal(enc.status, 200);
  const dec = await d.kms('cn-north-4', 'decrypt-data', { cipher_text: enc.body.cipher_text });
  assert.equal(dec.body.plain_text, 'hi');
  expectError(await d.kms('cn-north-4', 'describe-key', { key_id: '00000000-0000-4000-8000-000000000000' }), 404, 'KMS.0207');
});

/**
 * re-encrypt (docs/reference/huawei-kms-api.md §4 C 17): data and data-key ciphertexts move between keys inside the
 * server.
 */
import assert from 'node:assert/strict';
import { createPublicKey, publicEncrypt, constants } from 'node:crypto';
import { after, before, test } from 'node:test';
import { expectError, startTestDeployment, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
let d: TestDeployment;
let aes: string;
let sm4: string;
let rsa: string;
let signer: string;
before(async () => {
  d = await startTestDeployment({ regions: [R] });
  const create = async (alias: string, extra: object = {}) => (await d.kms(R, 'create-key', { key_alias: alias, ...extra })).body.key_info.key_id as string;
  aes = await create('re-aes');
  sm4 = await create('re-sm4', { key_spec: 'SM4' });
  rsa = await create('re-rsa', { key_spec: 'RSA_2048', key_usage: 'ENCRYPT_DECRYPT' });
  signer = await create('re-signer', { key_spec: 'EC_P256' });
});
after(() => d.stop());

const encrypt = async (keyId: string, text: string, aad?: string) =>
  (await d.kms(R, 'encrypt-data', { key_id: keyId, plain_text: text, ...(aad ? { additional_authenticated_data: aad } : {}) })).body.cipher_text as string;

test('an encrypt-data ciphertext moves from AES to SM4 and back, with source and destination AAD', async () => {
  const first = await encrypt(aes, 'moving data', 'src-aad');
  const r = await d.kms(R, 're-encrypt', {
    cipher_text: first, destination_key_id: sm4, source_additional_authenticated_data: 'src-aad', destination_additional_authenticated_data: 'dst-aad',
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['cipher_text', 'destination_encryption_algorithm', 'key_id', 'source_encryption_algorithm', 'source_key_id']);
  assert.equal(r.body.key_id, sm4);
  assert.equal(r.body.source_key_id, aes);
  assert.equal(r.body.source_encryption_algorithm, 'SYMMETRIC_DEFAULT');
  assert.equal(r.body.destination_encryption_algorithm, 'SYMMETRIC_DEFAULT');
  expectError(await d.kms(R, 'decrypt-data', { cipher_text: r.body.cipher_text }), 400, 'KMS.2201'); // the destination AAD is bound
  const dec = await d.kms(R, 'decrypt-data', { cipher_text: r.body.cipher_text, additional_authenticated_data: 'dst-aad' });
  assert.equal(dec.body.plain_text, 'moving data');
  assert.equal(dec.body.key_id, sm4);
  const back = await d.kms(R, 're-encrypt', { cipher_text: r.body.cipher_text, destination_key_id: aes, source_key_id: sm4, source_additional_authenticated_data: 'dst-aad' });
  assert.equal((await d.kms(R, 'decrypt-data', { cipher_text: back.body.cipher_text })).body.plain_text, 'moving data');
});

test('a data key ciphertext becomes a data key ciphertext of the destination', async () => {
  const dk = (await d.kms(R, 'create-datakey', { key_id: aes, datakey_length: '256' })).body;
  const r = await d.kms(R, 're-encrypt', { cipher_text: dk.cipher_text, destination_key_id: sm4, datakey_cipher_length: '32' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.cipher_text, /^[0-9A-F]+$/);
  const opened = await d.kms(R, 'decrypt-datakey', { key_id: sm4, cipher_text: r.body.cipher_text, datakey_cipher_length: '32' });
  assert.equal(opened.body.data_key, dk.plain_text);
  expectError(await d.kms(R, 're-encrypt', { cipher_text: dk.cipher_text, destination_key_id: sm4, datakey_cipher_length: '16' }), 400, 'KMS.2204');
  expectError(await d.kms(R, 're-encrypt', { cipher_text: dk.cipher_text, destination_key_id: rsa, datakey_cipher_length: '32', destination_encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.2105');
  expectError(await d.kms(R, 're-encrypt', { cipher_text: dk.cipher_text, destination_key_id: rsa, datakey_cipher_length: '32' }), 400, 'KMS.0325');
  expectError(await d.kms(R, 're-encrypt', { cipher_text: 'XYZ', destination_key_id: sm4, datakey_cipher_length: '32' }), 400, 'KMS.2201');
});

test('asymmetric source and destination', async () => {
  const pem = (await d.kms(R, 'get-publickey', { key_id: rsa })).body.public_key;
  const outside = publicEncrypt({ key: createPublicKey(pem), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from('sealed outside'));
  const toAes = await d.kms(R, 're-encrypt', {
    cipher_text: outside.toString('base64'), source_key_id: rsa, source_encryption_algorithm: 'RSAES_OAEP_SHA_256', destination_key_id: aes,
  });
  assert.equal(toAes.status, 200, JSON.stringify(toAes.body));
  assert.equal(toAes.body.source_encryption_algorithm, 'RSAES_OAEP_SHA_256');
  assert.equal((await d.kms(R, 'decrypt-data', { cipher_text: toAes.body.cipher_text })).body.plain_text, 'sealed outside');

  const toRsa = await d.kms(R, 're-encrypt', { cipher_text: toAes.body.cipher_text, destination_key_id: rsa, destination_encryption_algorithm: 'RSAES_OAEP_SHA_1' });
  assert.equal(toRsa.status, 200, JSON.stringify(toRsa.body));
  const dec = await d.kms(R, 'decrypt-data', { cipher_text: toRsa.body.cipher_text, key_id: rsa, encryption_algorithm: 'RSAES_OAEP_SHA_1' });
  assert.equal(dec.body.plain_text, 'sealed outside');
  // Without source_key_id an asymmetric ciphertext cannot be found.
  expectError(await d.kms(R, 're-encrypt', { cipher_text: outside.toString('base64'), source_encryption_algorithm: 'RSAES_OAEP_SHA_256', destination_key_id: aes }), 400, 'KMS.0204');
});

test('refusals, each with its code', async () => {
  const c = await encrypt(aes, 'x', 'bound');
  expectError(await d.kms(R, 're-encrypt', { cipher_text: c, destination_key_id: sm4 }), 400, 'KMS.2201'); // source AAD missing
  expectError(await d.kms(R, 're-encrypt', { cipher_text: c, source_additional_authenticated_data: 'bound' }), 400, 'KMS.0204');
  expectError(await d.kms(R, 're-encrypt', { cipher_text: c, source_additional_authenticated_data: 'bound', destination_key_id: 'nope' }), 400, 'KMS.0205');
  expectError(await d.kms(R, 're-encrypt', { cipher_text: c, source_additional_authenticated_data: 'bound', destination_key_id: '00000000-0000-4000-8000-000000000000' }), 404, 'KMS.0207');
  expectError(await d.kms(R, 're-encrypt', { cipher_text: c, source_additional_authenticated_data: 'bound', destination_key_id: sm4, source_key_id: sm4 }), 400, 'KMS.2201');
  expectError(await d.kms(R, 're-encrypt', { cipher_text: c, source_additional_authenticated_data: 'bound', destination_key_id: signer }), 400, 'KMS.1114');
  expectError(await d.kms(R, 're-encrypt', { cipher_text: c, source_additional_authenticated_data: 'bound', destination_key_id: sm4, destination_encryption_algorithm: 'AES' }), 400, 'KMS.0308');
  assert.equal((await d.kms(R, 'disable-key', { key_id: sm4 })).status, 200);
  expectError(await d.kms(R, 're-encrypt', { cipher_text: c, source_additional_authenticated_data: 'bound', destination_key_id: sm4 }), 400, 'KMS.0209');
  assert.equal((await d.kms(R, 'enable-key', { key_id: sm4 })).status, 200);
  expectError(await d.kms(R, 're-encrypt', { cipher_text: 'short', destination_key_id: sm4 }), 400, 'KMS.2201');
});

test('create-pin: there is no HSM card cluster in a self-hosted deployment', async () => {
  expectError(await d.kms(R, 'create-pin', { pin_type: 'PlainText' }), 400, 'KMS.0340');
  expectError(await d.kms(R, 'create-pin', {}), 400, 'KMS.0340');
  expectError(await d.kms(R, 'create-pin', { pin_type: 'plain' }), 400, 'KMS.0308');
});

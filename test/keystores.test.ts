/**
 * Dedicated keystores on SoftHSM2 (docs/reference/huawei-kms-api.md §2 O, §4 O 57–62, §4 G 30; core/keystores.ts):
 * the six keystore operations with their error codes, keys whose material is made in the token (checked there:
 * sensitive, non-extractable), encryption, data keys, signing and public keys through the API, Huawei's rules for
 * keystore keys (no rotation, no import, no replication), a disabled keystore, deletion of keys and keystores, and
 * create-pin as the keystore's access PIN. A region with its clusters in deployment.json, over the official signer.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, createPublicKey, randomBytes, randomUUID, verify as nodeVerify, constants } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pkcs11js from 'pkcs11js';
import { Pkcs11Token } from '../src/keystore/pkcs11.js';
import { checkHsmClusterConfig, type HsmClusterConfig } from '../src/keystore/hsm-cluster-config.js';
import { expectError, KEY_ID, signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';
import { softHsm } from './helpers/softhsm.js';

const R = 'cn-north-4';
const DAY_MS = 86_400_000;
const TOKENS = ['ks-one', 'ks-two', 'ks-three', 'ks-four'];

let d: TestDeployment;
let token: Pkcs11Token;
let now = Date.now();
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${randomUUID().slice(0, 8)}`;

/** Asserts a 2xx and returns the body. */
function ok(reply: Reply, status = 200): any {
  assert.equal(reply.status, status, `expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

const call = (method: string, path: string, body?: object, query?: Record<string, string>) =>
  signedRequest(d.endpoint(R), d.admin, d.projectId(R), method, `/v1.0/${d.projectId(R)}${path}`, body, query);
const createKeystore = (body: object) => call('POST', '/keystores', body);
const kms = (op: string, body: object) => d.kms(R, op, body);

async function newKeystore(cluster: string): Promise<string> {
  return ok(await createKeystore({ keystore_alias: unique('ks'), hsm_cluster_id: cluster, keystore_type: 'DHSM' })).keystore.keystore_id;
}

async function createKey(keystoreId: string, body: object = {}): Promise<string> {
  const id = ok(await kms('create-key', { key_alias: unique('k'), keystore_id: keystoreId, ...body })).key_info.key_id as string;
  assert.match(id, KEY_ID);
  return id;
}

/** The token objects labelled for a key (core/keystores.ts keyLabel). */
const objectsOf = (keyId: string) => token.findByLabel(`strongroom:key:${keyId}`);
const allObjects = () => token.findObjects([{ type: pkcs11js.CKA_TOKEN, value: true }]).length;

before(async () => {
  const hsm = softHsm(...TOKENS, 'ks-spare'); // ks-spare: registered by the CLI test
  const clusters = Object.fromEntries(TOKENS.map((t, i) => [`hsm-${i + 1}`, { module: hsm.module, token: t, pin_file: hsm.pinFile }]));
  clusters['hsm-broken'] = { module: hsm.module, token: 'not-initialised', pin_file: hsm.pinFile };
  d = await startTestDeployment({ regions: [R], clock: () => now, hsmClusters: clusters });
  token = Pkcs11Token.open({ module: hsm.module, token: 'ks-one', pin: hsm.pin });
});
after(async () => {
  token?.close();
  await d?.stop();
});

describe('keystore operations', () => {
  let keystoreId: string;

  test('CreateKeyStore: DHSM on a registered cluster; show, list with total, the string form of keystore_type', async () => {
    const alias = unique('main');
    const created = ok(await createKeystore({ keystore_alias: alias, hsm_cluster_id: 'hsm-1', cluster_id: 'hsm-1', keystore_type: '1' }));
    assert.deepEqual(Object.keys(created), ['keystore']);
    assert.deepEqual(Object.keys(created.keystore).sort(), ['domain_id', 'keystore_id']);
    assert.equal(created.keystore.domain_id, d.boot.domain_id);
    keystoreId = created.keystore.keystore_id;
    assert.match(keystoreId, KEY_ID);

    const shown = ok(await call('GET', `/keystores/${keystoreId}`)).keystore;
    assert.deepEqual(shown, {
      keystore_id: keystoreId, domain_id: d.boot.domain_id, keystore_alias: alias, keystore_type: 'DHSM', hsm_cluster_id: 'hsm-1',
      cluster_id: 'hsm-1', create_time: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    });
    const listed = ok(await call('GET', '/keystores', undefined, { limit: '10', offset: '0' }));
    assert.equal(listed.total, 1);
    assert.deepEqual(listed.keystores, [shown]);
    // Its keys' material lives in hsm-1 (token ks-one), which the test opened.
  });

  test('CreateKeyStore refusals: CDMS, DEFAULT, unknown or used cluster, duplicate alias, missing cluster, bad fields', async () => {
    expectError(await createKeystore({ keystore_alias: unique('c'), hsm_cluster_id: 'hsm-2', keystore_type: 'CDMS' }), 400, 'KMS.0340');
    expectError(await createKeystore({ keystore_alias: unique('c'), hsm_cluster_id: 'hsm-2', keystore_type: '2' }), 400, 'KMS.0340');
    expectError(await createKeystore({ keystore_alias: unique('c'), hsm_cluster_id: 'hsm-2', keystore_type: 'DEFAULT' }), 400, 'KMS.0308');
    expectError(await createKeystore({ keystore_alias: unique('c'), hsm_cluster_id: 'hsm-2', keystore_type: 'HSM' }), 400, 'KMS.0308');
    expectError(await createKeystore({ keystore_alias: unique('c'), hsm_cluster_id: 'no-such-cluster' }), 400, 'KMS.0308');
    expectError(await createKeystore({ keystore_alias: unique('c'), hsm_cluster_id: 'hsm-broken' }), 503, 'KMS.0104'); // its token does not open
    expectError(await createKeystore({ keystore_alias: unique('c'), hsm_cluster_id: 'hsm-1' }), 400, 'KMS.0308'); // used by the first keystore
    expectError(await createKeystore({ keystore_alias: unique('c'), hsm_cluster_id: 'hsm-2', cluster_id: 'hsm-3' }), 400, 'KMS.0308');
    expectError(await createKeystore({ keystore_alias: unique('c') }), 400, 'KMS.0204');
    expectError(await createKeystore({ hsm_cluster_id: 'hsm-2' }), 400, 'KMS.0204');
    expectError(await createKeystore({ keystore_alias: 'bad alias!', hsm_cluster_id: 'hsm-2' }), 400, 'KMS.0308');
    const alias = unique('dup');
    ok(await createKeystore({ keystore_alias: alias, hsm_cluster_id: 'hsm-2' }));
    expectError(await createKeystore({ keystore_alias: alias, hsm_cluster_id: 'hsm-3' }), 400, 'KMS.0308');
    // A refused create changed nothing: hsm-3 is still free.
    const third = ok(await createKeystore({ keystore_alias: unique('third'), hsm_cluster_id: 'hsm-3' })).keystore.keystore_id;
    assert.equal(ok(await call('GET', '/keystores')).total, 3);
    ok(await call('DELETE', `/keystores/${third}`));
  });

  test('ListKeyStores pages by limit and offset; Show/Enable/Disable/Delete of an unknown keystore is KMS.0340', async () => {
    const all = ok(await call('GET', '/keystores'));
    assert.equal(all.total, 2);
    assert.ok(all.keystores.some((k: { keystore_id: string }) => k.keystore_id === keystoreId));
    const page = ok(await call('GET', '/keystores', undefined, { limit: '1', offset: '1' }));
    assert.equal(page.total, 2);
    assert.deepEqual(page.keystores, [all.keystores[1]]);
    assert.deepEqual(ok(await call('GET', '/keystores', undefined, { offset: '5' })).keystores, []);
    expectError(await call('GET', '/keystores', undefined, { limit: '0' }), 400, 'KMS.1601');
    expectError(await call('GET', '/keystores', undefined, { offset: '-1' }), 400, 'KMS.1603');
    const unknown = '00000000-0000-4000-8000-000000000000';
    expectError(await call('GET', `/keystores/${unknown}`), 400, 'KMS.0340');
    expectError(await call('POST', `/keystores/${unknown}/enable`), 400, 'KMS.0340');
    expectError(await call('POST', `/keystores/${unknown}/disable`), 400, 'KMS.0340');
    expectError(await call('DELETE', `/keystores/${unknown}`), 400, 'KMS.0340');
    expectError(await call('GET', '/keystores/not_an_id'), 400, 'KMS.0201');
  });

  test('an AES_256 key of the keystore: made in the token (sensitive, non-extractable), KeyDetails name the keystore', async () => {
    const keyId = await createKey(keystoreId);
    const info = ok(await kms('describe-key', { key_id: keyId })).key_info;
    assert.equal(info.keystore_id, keystoreId);
    assert.equal(info.keystore_type, 'DHSM');
    assert.equal(info.key_spec, 'AES_256');
    const objects = objectsOf(keyId);
    assert.equal(objects.length, 1);
    const [extractable, sensitive, isToken] = token.booleanAttributes(objects[0]!, [pkcs11js.CKA_EXTRACTABLE, pkcs11js.CKA_SENSITIVE, pkcs11js.CKA_TOKEN]);
    assert.equal(extractable, false);
    assert.equal(sensitive, true);
    assert.equal(isToken, true);
    assert.throws(() => token.lib.C_GetAttributeValue(token.session, objects[0]!, [{ type: pkcs11js.CKA_VALUE }]), /CKR_ATTRIBUTE_SENSITIVE/);
    // A key of the default keystore still says so.
    const plain = ok(await kms('create-key', { key_alias: unique('plain') })).key_info.key_id;
    const plainInfo = ok(await kms('describe-key', { key_id: plain })).key_info;
    assert.equal(plainInfo.keystore_id, '0');
    assert.equal(plainInfo.keystore_type, 'DEFAULT');
    // list-keys' keystore_type filter (either form).
    const dedicated = ok(await kms('list-keys', { key_spec: 'ALL', keystore_type: 'DHSM' }));
    assert.ok(dedicated.keys.includes(keyId) && !dedicated.keys.includes(plain));
    assert.ok(dedicated.key_details.every((k: { keystore_type: string }) => k.keystore_type === 'DHSM'));
    assert.equal(dedicated.total, dedicated.keys.length);
    const byNumber = ok(await kms('list-keys', { key_spec: 'ALL', keystore_type: '0' }));
    assert.ok(byNumber.keys.includes(plain) && !byNumber.keys.includes(keyId));
    const paged = ok(await kms('list-keys', { key_spec: 'ALL', keystore_type: 'DEFAULT', limit: '1' }));
    assert.deepEqual(paged.keys, [plain], 'newest first');
    assert.equal(paged.truncated, String(byNumber.total > 1));
    assert.deepEqual(ok(await kms('list-keys', { keystore_type: 'CDMS' })).keys, []);
    expectError(await kms('list-keys', { keystore_type: 'HSM' }), 400, 'KMS.0308');
  });

  test('encrypt-data / decrypt-data and data keys with a keystore key run in the token', async () => {
    const keyId = await createKey(keystoreId);
    const enc = ok(await kms('encrypt-data', { key_id: keyId, plain_text: 'hello HSM', additional_authenticated_data: 'ctx' }));
    const dec = ok(await kms('decrypt-data', { cipher_text: enc.cipher_text, additional_authenticated_data: 'ctx' }));
    assert.equal(dec.plain_text, 'hello HSM');
    assert.equal(dec.key_id, keyId);
    expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, additional_authenticated_data: 'other' }), 400, 'KMS.2201');
    const blob = Buffer.from(enc.cipher_text, 'base64');
    blob[blob.length - 1]! ^= 1;
    expectError(await kms('decrypt-data', { cipher_text: blob.toString('base64'), additional_authenticated_data: 'ctx' }), 400, 'KMS.2201');

    const dk = ok(await kms('create-datakey', { key_id: keyId, datakey_length: '256' }));
    const opened = ok(await kms('decrypt-datakey', { key_id: keyId, cipher_text: dk.cipher_text, datakey_cipher_length: '32' }));
    assert.equal(opened.data_key, dk.plain_text);
    assert.equal(opened.datakey_dgst, createHash('sha256').update(Buffer.from(dk.plain_text, 'hex')).digest('hex').toUpperCase());
    const without = ok(await kms('create-datakey-without-plaintext', { key_id: keyId }));
    assert.equal(ok(await kms('decrypt-datakey', { key_id: keyId, cipher_text: without.cipher_text, datakey_cipher_length: '32' })).data_key.length, 64);
    const mine = randomBytes(24);
    const sealed = ok(await kms('encrypt-datakey', { key_id: keyId, plain_text: Buffer.concat([mine, createHash('sha256').update(mine).digest()]).toString('hex'), datakey_plain_length: '24' }));
    assert.equal(ok(await kms('decrypt-datakey', { key_id: keyId, cipher_text: sealed.cipher_text, datakey_cipher_length: '24' })).data_key, mine.toString('hex').toUpperCase());
  });

  for (const [spec, algorithms] of [
    ['RSA_2048', ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_512']],
    ['EC_P256', ['ECDSA_SHA_256']],
    ['EC_P384', ['ECDSA_SHA_384']],
  ] as const) {
    test(`${spec} in the keystore: the private half is non-extractable in the token; sign, verify and get-publickey`, async () => {
      const keyId = await createKey(keystoreId, { key_spec: spec, key_usage: 'SIGN_VERIFY' });
      const objects = objectsOf(keyId);
      assert.equal(objects.length, 2, 'a private and a public half');
      const [priv] = token.findObjects([{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: `strongroom:key:${keyId}` }]);
      assert.deepEqual(token.booleanAttributes(priv!, [pkcs11js.CKA_EXTRACTABLE, pkcs11js.CKA_SENSITIVE]), [false, true]);
      const pem = ok(await kms('get-publickey', { key_id: keyId })).public_key as string;
      const publicKey = createPublicKey(pem);
      const message = Buffer.from(`to be signed by ${spec}`);
      for (const signing_algorithm of algorithms) {
        const hash = signing_algorithm.endsWith('512') ? 'sha512' : signing_algorithm.endsWith('384') ? 'sha384' : 'sha256';
        const raw = ok(await kms('sign', { key_id: keyId, signing_algorithm, message_type: 'RAW', message: message.toString('base64') })).signature;
        const digest = createHash(hash).update(message).digest();
        const byDigest = ok(await kms('sign', { key_id: keyId, signing_algorithm, message: digest.toString('base64') })).signature;
        for (const signature of [raw, byDigest]) {
          assert.equal(ok(await kms('verify', { key_id: keyId, signing_algorithm, message_type: 'RAW', message: message.toString('base64'), signature })).signature_valid, 'true');
          const padding = signing_algorithm.startsWith('RSASSA_PSS') ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digest.length } : signing_algorithm.startsWith('RSASSA') ? { padding: constants.RSA_PKCS1_PADDING } : {};
          assert.ok(nodeVerify(hash, message, { key: publicKey, ...padding }, Buffer.from(signature, 'base64')), `${signing_algorithm} verifies with OpenSSL`);
        }
        const other = Buffer.from('another message').toString('base64');
        assert.equal(ok(await kms('verify', { key_id: keyId, signing_algorithm, message_type: 'RAW', message: other, signature: raw })).signature_valid, 'false');
      }
    });
  }

  test('specs and origins a keystore refuses: SM4, HMAC, SM2, RSA encryption, key agreement (KMS.0340), imported material (KMS.0339), unknown keystore (KMS.0340)', async () => {
    const before = allObjects();
    expectError(await kms('create-key', { key_alias: unique('x'), keystore_id: keystoreId, key_spec: 'SM4' }), 400, 'KMS.0340');
    expectError(await kms('create-key', { key_alias: unique('x'), keystore_id: keystoreId, key_spec: 'HMAC_256' }), 400, 'KMS.0340');
    expectError(await kms('create-key', { key_alias: unique('x'), keystore_id: keystoreId, key_spec: 'SM2' }), 400, 'KMS.0340');
    expectError(await kms('create-key', { key_alias: unique('x'), keystore_id: keystoreId, key_spec: 'RSA_2048', key_usage: 'ENCRYPT_DECRYPT' }), 400, 'KMS.0340');
    expectError(await kms('create-key', { key_alias: unique('x'), keystore_id: keystoreId, key_spec: 'EC_P256', key_usage: 'KEY_AGREEMENT' }), 400, 'KMS.0340');
    expectError(await kms('create-key', { key_alias: unique('x'), keystore_id: keystoreId, origin: 'external' }), 400, 'KMS.0339');
    expectError(await kms('create-key', { key_alias: unique('x'), keystore_id: randomUUID() }), 400, 'KMS.0340');
    expectError(await kms('create-key', { key_alias: unique('x'), keystore_id: '1' }), 400, 'KMS.0340');
    // A create-key that fails after the token made the material leaves nothing in the token.
    const alias = unique('taken');
    await createKey(keystoreId, { key_alias: alias });
    const afterFirst = allObjects();
    expectError(await kms('create-key', { key_alias: alias, keystore_id: keystoreId }), 400, 'KMS.1104');
    assert.equal(allObjects(), afterFirst);
    assert.equal(afterFirst, before + 1);
  });

  test('keystore keys do not rotate (KMS.0338) and are not replicated (KMS.0340)', async () => {
    const keyId = await createKey(keystoreId);
    expectError(await kms('enable-key-rotation', { key_id: keyId }), 400, 'KMS.0338');
    expectError(await kms('rotate-on-demand', { key_id: keyId }), 400, 'KMS.0338');
    expectError(await kms('update-key-rotation-interval', { key_id: keyId, rotation_interval: 100 }), 400, 'KMS.0338');
    const pid = d.projectId(R);
    const r = await signedRequest(d.endpoint(R), d.admin, pid, 'POST', `/v2/${pid}/kms/keys/${keyId}/replicate`, { replica_region: 'cn-south-1', key_alias: unique('rep'), replica_project_id: pid });
    expectError(r, 400, 'KMS.0340');
  });

  test('a disabled keystore refuses its keys (KMS.0340) and new keys; enabled again, they work', async () => {
    const ks = await newKeystore('hsm-4');
    const aes = await createKey(ks);
    const ec = await createKey(ks, { key_spec: 'EC_P256', key_usage: 'SIGN_VERIFY' });
    const enc = ok(await kms('encrypt-data', { key_id: aes, plain_text: 'before' }));
    const digest = createHash('sha256').update('m').digest().toString('base64');
    const sig = ok(await kms('sign', { key_id: ec, signing_algorithm: 'ECDSA_SHA_256', message: digest })).signature;

    assert.deepEqual(ok(await call('POST', `/keystores/${ks}/disable`)), { keystore: { keystore_id: ks, keystore_state: '3' } });
    expectError(await kms('encrypt-data', { key_id: aes, plain_text: 'x' }), 400, 'KMS.0340');
    expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text }), 400, 'KMS.0340');
    expectError(await kms('create-datakey', { key_id: aes }), 400, 'KMS.0340');
    expectError(await kms('sign', { key_id: ec, signing_algorithm: 'ECDSA_SHA_256', message: digest }), 400, 'KMS.0340');
    expectError(await kms('verify', { key_id: ec, signing_algorithm: 'ECDSA_SHA_256', message: digest, signature: sig }), 400, 'KMS.0340');
    expectError(await kms('get-publickey', { key_id: ec }), 400, 'KMS.0340');
    expectError(await kms('create-key', { key_alias: unique('x'), keystore_id: ks }), 400, 'KMS.0340');
    // Describe still works: the keystore's keys are there, unusable.
    assert.equal(ok(await kms('describe-key', { key_id: aes })).key_info.keystore_id, ks);

    assert.deepEqual(ok(await call('POST', `/keystores/${ks}/enable`)), { keystore: { keystore_id: ks, keystore_state: '2' } });
    assert.equal(ok(await kms('decrypt-data', { cipher_text: enc.cipher_text })).plain_text, 'before');
    assert.equal(ok(await kms('verify', { key_id: ec, signing_algorithm: 'ECDSA_SHA_256', message: digest, signature: sig })).signature_valid, 'true');
  });

  test('a keystore holding keys is not deleted (KMS.0308); destroyed keys leave the token, then the keystore goes', async () => {
    const ks = await newKeystore('hsm-3');
    const keyId = await createKey(ks);
    const hsm = softHsm();
    const three = Pkcs11Token.open({ module: hsm.module, token: 'ks-three', pin: hsm.pin });
    try {
      assert.equal(three.findByLabel(`strongroom:key:${keyId}`).length, 1);
      expectError(await call('DELETE', `/keystores/${ks}`), 400, 'KMS.0308');
      ok(await kms('schedule-key-deletion', { key_id: keyId, pending_days: '7' }));
      expectError(await call('DELETE', `/keystores/${ks}`), 400, 'KMS.0308'); // pending deletion is not destroyed
      now += 8 * DAY_MS;
      assert.deepEqual(await d.regions.get(R)!.api.keys.destroyDueKeys(), [keyId]);
      assert.equal(three.findByLabel(`strongroom:key:${keyId}`).length, 0, 'the key\'s token object is destroyed');
      assert.equal(three.findByLabel(`strongroom:keystore-pin:${ks}`).length, 1);
      ok(await call('DELETE', `/keystores/${ks}`));
      assert.equal(three.findByLabel(`strongroom:keystore-pin:${ks}`).length, 0, 'the keystore\'s own key goes with it');
      expectError(await call('GET', `/keystores/${ks}`), 400, 'KMS.0340');
      // The cluster is free again.
      const again = await newKeystore('hsm-3');
      ok(await call('DELETE', `/keystores/${again}`));
    } finally {
      three.close();
    }
  });

  test('create-pin: the keystore\'s access PIN guards its data key operations (PlainText and CipherText)', async () => {
    const keyId = await createKey(keystoreId);
    const before = ok(await kms('create-datakey', { key_id: keyId })); // no PIN issued yet: no PIN needed
    const plain = ok(await kms('create-pin', { keystore_id: keystoreId, pin_type: 'PlainText' })).pin as string;
    assert.match(plain, /^[0-9a-f]{32}$/);
    expectError(await kms('create-datakey', { key_id: keyId }), 403, 'KMS.0306');
    expectError(await kms('create-datakey', { key_id: keyId, pin: 'f'.repeat(32), pin_type: 'PlainText' }), 403, 'KMS.0306');
    expectError(await kms('decrypt-datakey', { key_id: keyId, cipher_text: before.cipher_text, datakey_cipher_length: '32' }), 403, 'KMS.0306');
    const withPin = ok(await kms('create-datakey', { key_id: keyId, pin: plain, pin_type: 'PlainText' }));
    assert.equal(ok(await kms('decrypt-datakey', { key_id: keyId, cipher_text: withPin.cipher_text, datakey_cipher_length: '32', pin: plain, pin_type: 'PlainText' })).data_key, withPin.plain_text);
    // The plaintext PIN is not a CipherText PIN.
    expectError(await kms('create-datakey', { key_id: keyId, pin: plain }), 403, 'KMS.0306');
    // re-encrypt of a data key cannot carry the PIN: refused.
    expectError(await kms('re-encrypt', { cipher_text: withPin.cipher_text, destination_key_id: keyId, datakey_cipher_length: '32' }), 403, 'KMS.0306');
    // encrypt-data has no PIN field (Huawei's): not guarded.
    ok(await kms('encrypt-data', { key_id: keyId, plain_text: 'x' }));

    const cipher = ok(await kms('create-pin', { keystore_id: keystoreId })).pin as string;
    assert.ok(!cipher.includes(plain));
    assert.ok(Buffer.from(cipher, 'base64').length >= 28 + 32);
    expectError(await kms('create-datakey', { key_id: keyId, pin: plain, pin_type: 'PlainText' }), 403, 'KMS.0306'); // replaced
    const dk = ok(await kms('create-datakey-without-plaintext', { key_id: keyId, pin: cipher, pin_type: 'CipherText' }));
    ok(await kms('decrypt-datakey', { key_id: keyId, cipher_text: dk.cipher_text, datakey_cipher_length: '32', pin: cipher }));
    const altered = Buffer.from(cipher, 'base64');
    altered[20]! ^= 1;
    expectError(await kms('create-datakey', { key_id: keyId, pin: altered.toString('base64') }), 403, 'KMS.0306');

    expectError(await kms('create-pin', { pin_type: 'PlainText' }), 400, 'KMS.0340');
    expectError(await kms('create-pin', { keystore_id: '0' }), 400, 'KMS.0340');
    expectError(await kms('create-pin', { keystore_id: randomUUID() }), 400, 'KMS.0340');
    expectError(await kms('create-pin', { keystore_id: keystoreId, pin_type: 'plain' }), 400, 'KMS.0308');
  });

  test('strongroom hsm register checks the token and its PIN before writing deployment.json; hsm list shows no PIN', async () => {
    const hsm = softHsm();
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'hsm', ...args, '--data-dir', d.dir], {
      encoding: 'utf8', env: { ...process.env, ...hsm.env },
    });
    const file = () => JSON.parse(readFileSync(join(d.dir, 'deployment.json'), 'utf8'));
    const wrongPin = join(hsm.dir, 'wrong-pin');
    writeFileSync(wrongPin, '0000\n', { mode: 0o600 });
    let r = cli('register', 'extra', '--module', hsm.module, '--token', 'ks-spare', '--pin-file', wrongPin);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /CKR_PIN_INCORRECT/);
    r = cli('register', 'extra', '--module', hsm.module, '--token', 'no-such-token', '--pin-file', hsm.pinFile);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no PKCS#11 token labelled "no-such-token"/);
    r = cli('register', 'bad id!', '--module', hsm.module, '--token', 'ks-spare', '--pin-file', hsm.pinFile);
    assert.equal(r.status, 1);
    assert.equal(file().hsm_clusters.extra, undefined, 'nothing written by a refused registration');
    r = cli('register', 'hsm-1', '--module', hsm.module, '--token', 'ks-spare', '--pin-file', hsm.pinFile);
    assert.equal(r.status, 1, 'an id in use keeps its token');
    r = cli('register', 'twin', '--module', hsm.module, '--token', 'ks-four', '--pin-file', hsm.pinFile);
    assert.equal(r.status, 1, 'a token registered under another id');
    assert.match(r.stderr, /registered already as HSM cluster hsm-4/);
    r = cli('register', 'extra', '--module', hsm.module, '--token', 'ks-spare', '--pin-file', hsm.pinFile);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(file().hsm_clusters.extra, { module: hsm.module, token: 'ks-spare', pin_file: hsm.pinFile });
    r = cli('list');
    assert.equal(r.status, 0, r.stderr);
    const listed = JSON.parse(r.stdout) as { id: string }[];
    assert.deepEqual(listed.map((c) => c.id).sort(), ['extra', 'hsm-1', 'hsm-2', 'hsm-3', 'hsm-4', 'hsm-broken']);
    assert.ok(!r.stdout.includes(hsm.pin + '"'), 'no PIN');
  });

  test('a region process (serve-region) reads hsm_clusters from deployment.json and SOFTHSM2_CONF from its environment', async () => {
    await d.stopRegion(R);
    const hsm = softHsm();
    const log = join(d.dir, 'serve-region.log');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve-region', '--region', R, '--data-dir', d.dir], {
      stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')], env: { ...process.env, ...hsm.env },
    });
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve-region did not come up:\n${readFileSync(log, 'utf8')}`);
        if (await fetch(d.endpoint(R) + '/').then((x) => x.ok, () => false)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const ks = await newKeystore('extra'); // registered by the CLI after the deployment started
      const keyId = await createKey(ks);
      const ct = ok(await kms('encrypt-data', { key_id: keyId, plain_text: 'from a region process' })).cipher_text;
      assert.equal(ok(await kms('decrypt-data', { cipher_text: ct })).plain_text, 'from a region process');
      assert.equal(ok(await kms('describe-key', { key_id: keyId })).key_info.keystore_type, 'DHSM');
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      await d.startRegion(R);
    }
  });

  test('keystore operations are in the audit trail', async () => {
    const records = await d.regions.get(R)!.api.auditTrail.auditRecords({ limit: 10_000 });
    const ops = new Set(records.map((r) => r.operation));
    for (const op of ['CreateKeyStore', 'ListKeyStores', 'ShowKeyStore', 'DeleteKeyStore', 'EnableKeyStore', 'DisableKeyStore', 'CreatePin']) assert.ok(ops.has(op), op);
  });
});

test('deployment.json hsm_clusters: a module, a token and exactly one of pin_file and pin_env; never the PIN itself', () => {
  const good: HsmClusterConfig = { module: '/usr/lib/softhsm/libsofthsm2.so', token: 't', pin_file: '/etc/pin' };
  checkHsmClusterConfig('hsm-a', good);
  checkHsmClusterConfig('hsm-b', { module: good.module, token: 't', pin_env: 'HSM_PIN' });
  assert.throws(() => checkHsmClusterConfig('hsm-c', { ...good, pin: '1234' } as HsmClusterConfig), /must not be written/);
  assert.throws(() => checkHsmClusterConfig('hsm-c', { ...good, pin_env: 'X' }), /exactly one/);
  assert.throws(() => checkHsmClusterConfig('hsm-c', { module: good.module, token: 't' }), /exactly one/);
  assert.throws(() => checkHsmClusterConfig('hsm-c', { ...good, module: '' }), /module/);
  assert.throws(() => checkHsmClusterConfig('hsm-c', { ...good, token: '' }), /token/);
  assert.throws(() => checkHsmClusterConfig('bad id', good), /cluster id/);
});

/**
 * Imported key material, BYOK (docs/reference/huawei-kms-api.md §4 I 36–38, §5.2, §8.2): get-parameters-for-import,
 * import-key-material and delete-imported-key-material through the API, signed with the official Huawei signer.
 * Material is wrapped the way a client does it: node:crypto publicEncrypt (RSA-OAEP), the openssl command, and for
 * private keys a temporary AES key with AES key wrap with padding (RFC 5649). Each import is checked by using the
 * key (ciphertexts opened with our own copy of the material, MACs and signatures checked with node:crypto), and
 * every refusal by its exact status and code.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  constants,
  createCipheriv,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  randomUUID,
  verify as verifySignature,
} from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseBlob, unframe } from '../src/core/ciphertext.js';
import type { KeyImportService } from '../src/core/key-import.js';
import { aesKeyUnwrapPad, aesKeyWrapPad, UnwrapFailed } from '../src/crypto/key-wrap.js';
import { readEcSpki } from '../src/crypto/der.js';
import { SM2_CURVE_OID, sm2Encrypt, sm2Verify } from '../src/crypto/sm2.js';
import { SYMMETRIC_ENGINES } from '../src/crypto/symmetric.js';
import { hasOpenssl, hex, openssl, pem } from './helpers/asym.js';
import { expectError, signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
const S = 'cn-south-1';
const HOUR = 3_600_000;
const UNKNOWN_KEY = '00000000-0000-4000-8000-000000000000';
const AIV = Buffer.from('a65959a6', 'hex');

let d: TestDeployment;
before(async () => (d = await startTestDeployment({ regions: [R, S] })));
after(() => d.stop());

function ok(reply: Reply): any {
  assert.equal(reply.status, 200, `expected 200, got ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

let counter = 0;
async function createKey(c: TestDeployment, body: Record<string, unknown>, region = R): Promise<string> {
  return ok(await c.kms(region, 'create-key', { key_alias: `imp-${++counter}-${randomUUID().slice(0, 8)}`, ...body })).key_info.key_id;
}
const externalKey = (spec = 'AES_256', extra: Record<string, unknown> = {}, c = d) => createKey(c, { key_spec: spec, origin: 'external', ...extra });
const state = async (keyId: string, c = d, region = R): Promise<string> => ok(await c.kms(region, 'describe-key', { key_id: keyId })).key_info.key_state;

interface Params {
  key_id: string;
  import_token: string;
  expiration_time: number;
  public_key: string;
}
const parameters = async (keyId: string, wrapping = 'RSAES_OAEP_SHA_256', c = d): Promise<Params> =>
  ok(await c.kms(R, 'get-parameters-for-import', { key_id: keyId, wrapping_algorithm: wrapping }));

/** RSA-OAEP with the returned public key, as a client does it with node:crypto. */
function oaep(p: Params, plaintext: Buffer, hash = 'sha256'): string {
  const key = createPublicKey({ key: Buffer.from(p.public_key, 'base64'), format: 'der', type: 'spki' });
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext).toString('base64');
}

/** RFC 5649 with node's id-aesN-wrap-pad cipher, as a client does it. */
function wrapPad(kek: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv(`id-aes${kek.length * 8}-wrap-pad`, kek, AIV);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

const importBody = (keyId: string, p: Params, encrypted: string, extra: Record<string, unknown> = {}) => ({
  key_id: keyId, import_token: p.import_token, encrypted_key_material: encrypted, ...extra,
});

/** Parameters, OAEP-SHA-256 wrap and import of symmetric material. */
async function importSymmetric(keyId: string, material: Buffer, extra: Record<string, unknown> = {}, c = d): Promise<Reply> {
  const p = await parameters(keyId, 'RSAES_OAEP_SHA_256', c);
  return c.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, material), extra));
}

/** An asymmetric import body: temporary AES key under OAEP, the PKCS#8 key wrapped under the temporary key. */
async function asymmetricBody(keyId: string, pkcs8: Buffer, temporaryKey = randomBytes(32)): Promise<Record<string, unknown>> {
  const p = await parameters(keyId);
  return importBody(keyId, p, oaep(p, temporaryKey), { encrypted_privatekey: wrapPad(temporaryKey, pkcs8).toString('base64') });
}

/** Opens an encrypt-data ciphertext with our own copy of the material: proof the key uses exactly that material. */
function openWithMaterial(cipherText: string, material: Buffer): string {
  const parsed = parseBlob(Buffer.from(cipherText, 'base64'), 'data');
  assert.ok(parsed, 'an encrypt-data ciphertext');
  const framed = SYMMETRIC_ENGINES[parsed.algorithm].open(material, parsed.payload, parsed.boundHeader);
  return unframe(framed)!.toString('utf8');
}

const encrypt = async (keyId: string, text: string, c = d): Promise<string> => ok(await c.kms(R, 'encrypt-data', { key_id: keyId, plain_text: text })).cipher_text;
const decrypt = async (cipherText: string, c = d): Promise<string> => ok(await c.kms(R, 'decrypt-data', { cipher_text: cipherText })).plain_text;

// ---------------------------------------------------------------------------------------------------------------

describe('AES key wrap with padding (RFC 5649) engine', () => {
  test('the RFC 5649 §6 vectors, both ways', () => {
    const kek = hex('5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8');
    const vectors = [
      { key: hex('c37b7e6492584340 bed1220780894115 5068f738'), wrapped: hex('138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a') },
      { key: hex('466f7250617369'), wrapped: hex('afbeb0f07dfbf541 9200f2ccb50bb24f') },
    ];
    for (const v of vectors) {
      assert.deepEqual(aesKeyWrapPad(kek, v.key), v.wrapped);
      assert.deepEqual(aesKeyUnwrapPad(kek, v.wrapped), v.key);
    }
  });

  test('a wrong key, altered, short or empty input is UnwrapFailed', () => {
    const kek = randomBytes(32);
    const wrapped = aesKeyWrapPad(kek, randomBytes(138));
    assert.throws(() => aesKeyUnwrapPad(randomBytes(32), wrapped), UnwrapFailed);
    const altered = Buffer.from(wrapped);
    altered[20]! ^= 1;
    assert.throws(() => aesKeyUnwrapPad(kek, altered), UnwrapFailed);
    for (const bad of [Buffer.alloc(0), wrapped.subarray(0, 8), wrapped.subarray(0, wrapped.length - 3)]) {
      assert.throws(() => aesKeyUnwrapPad(kek, bad), UnwrapFailed);
    }
    assert.throws(() => aesKeyUnwrapPad(randomBytes(20), wrapped), RangeError);
  });
});

describe('get-parameters-for-import', () => {
  test('answers key_id, a Base64 import_token of 200–6144 characters, expiration_time in epoch seconds 24 h ahead, an RSA-2048 SPKI public_key', async () => {
    const keyId = await externalKey();
    const before = Math.floor(Date.now() / 1000);
    const p = await parameters(keyId);
    assert.deepEqual(Object.keys(p).sort(), ['expiration_time', 'import_token', 'key_id', 'public_key']);
    assert.equal(p.key_id, keyId);
    assert.ok(Number.isInteger(p.expiration_time), 'expiration_time is a JSON integer');
    assert.ok(p.expiration_time >= before + 86_400 - 1 && p.expiration_time <= Math.floor(Date.now() / 1000) + 86_400, String(p.expiration_time));
    assert.match(p.import_token, /^[A-Za-z0-9+/]+={0,2}$/);
    assert.ok(p.import_token.length >= 200 && p.import_token.length <= 6144, `token length ${p.import_token.length}`);
    const key = createPublicKey({ key: Buffer.from(p.public_key, 'base64'), format: 'der', type: 'spki' });
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
    assert.equal(await state(keyId), '5', 'asking for parameters does not change the key');
    // each call makes a new wrapping key and token
    const again = await parameters(keyId, 'RSAES_OAEP_SHA_1');
    assert.notEqual(again.import_token, p.import_token);
    assert.notEqual(again.public_key, p.public_key);
  });

  test('refusals: KMS.0309 for a KMS key, KMS.0310 once imported, PKCS#1 v1.5 and unknown algorithms, SM2_ENCRYPT for AES, missing fields, unknown key', async () => {
    const kmsKey = await createKey(d, {});
    expectError(await d.kms(R, 'get-parameters-for-import', { key_id: kmsKey, wrapping_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0309');
    const keyId = await externalKey();
    for (const wrapping of ['RSAES_PKCS1_V1_5', 'RSAES_OAEP_SHA_512', 'rsaes_oaep_sha_256', 'SM2_ENCRYPT']) {
      const r = await d.kms(R, 'get-parameters-for-import', { key_id: keyId, wrapping_algorithm: wrapping });
      expectError(r, 400, 'KMS.0308');
      if (wrapping === 'RSAES_PKCS1_V1_5') assert.match(r.body.error.error_msg, /PKCS#1 v1\.5/);
    }
    expectError(await d.kms(R, 'get-parameters-for-import', { key_id: keyId }), 400, 'KMS.0204');
    expectError(await d.kms(R, 'get-parameters-for-import', { wrapping_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0204');
    expectError(await d.kms(R, 'get-parameters-for-import', { key_id: 'not-a-key', wrapping_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0205');
    expectError(await d.kms(R, 'get-parameters-for-import', { key_id: UNKNOWN_KEY, wrapping_algorithm: 'RSAES_OAEP_SHA_256' }), 404, 'KMS.0207');
    ok(await importSymmetric(keyId, randomBytes(32)));
    expectError(await d.kms(R, 'get-parameters-for-import', { key_id: keyId, wrapping_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0310');
  });
});

describe('symmetric BYOK', () => {
  test('AES_256: state 5 → 2 → 5 → 2; the key encrypts with exactly the imported material; a ciphertext made before deletion decrypts after re-import', async () => {
    const keyId = await externalKey('AES_256');
    const info = ok(await d.kms(R, 'describe-key', { key_id: keyId })).key_info;
    assert.equal(info.origin, 'external');
    assert.equal(info.key_state, '5');
    expectError(await d.kms(R, 'encrypt-data', { key_id: keyId, plain_text: 'no material yet' }), 400, 'KMS.0310');

    const material = randomBytes(32);
    const imported = await importSymmetric(keyId, material);
    assert.deepEqual(ok(imported), {});
    const enabled = ok(await d.kms(R, 'describe-key', { key_id: keyId })).key_info;
    assert.equal(enabled.key_state, '2');
    assert.equal(enabled.expiration_time, '');

    const cipher = await encrypt(keyId, 'bring your own key');
    assert.equal(await decrypt(cipher), 'bring your own key');
    assert.equal(openWithMaterial(cipher, material), 'bring your own key');

    assert.deepEqual(ok(await d.kms(R, 'delete-imported-key-material', { key_id: keyId })), {});
    assert.equal(await state(keyId), '5');
    expectError(await d.kms(R, 'decrypt-data', { cipher_text: cipher }), 400, 'KMS.0310');
    expectError(await d.kms(R, 'encrypt-data', { key_id: keyId, plain_text: 'x' }), 400, 'KMS.0310');

    ok(await importSymmetric(keyId, material));
    assert.equal(await state(keyId), '2');
    assert.equal(await decrypt(cipher), 'bring your own key');
    assert.equal(openWithMaterial(await encrypt(keyId, 'again'), material), 'again');
  });

  test('SM4: 16 bytes of material, wrapped with RSAES_OAEP_SHA_1, then re-imported with SM2_ENCRYPT', async () => {
    const keyId = await externalKey('SM4');
    const material = randomBytes(16);
    const p = await parameters(keyId, 'RSAES_OAEP_SHA_1');
    ok(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, material, 'sha1'))));
    assert.equal(await state(keyId), '2');
    const cipher = await encrypt(keyId, '国密 SM4 material');
    assert.equal(openWithMaterial(cipher, material), '国密 SM4 material');

    ok(await d.kms(R, 'delete-imported-key-material', { key_id: keyId }));
    const sm2 = await parameters(keyId, 'SM2_ENCRYPT');
    const spki = Buffer.from(sm2.public_key, 'base64');
    assert.equal(readEcSpki(spki).curve, SM2_CURVE_OID, 'an SM2 wrapping public key');
    ok(await d.kms(R, 'import-key-material', importBody(keyId, sm2, sm2Encrypt(spki, material).toString('base64'))));
    assert.equal(await decrypt(cipher), '国密 SM4 material');
  });

  test('HMAC_256: the imported material is the MAC key', async () => {
    const keyId = await externalKey('HMAC_256', { key_usage: 'GENERATE_VERIFY_MAC' });
    const material = randomBytes(32);
    ok(await importSymmetric(keyId, material));
    const message = Buffer.from('mac me');
    const mac = ok(await d.kms(R, 'generate-mac', { key_id: keyId, mac_algorithm: 'HMAC_SHA_256', message: message.toString('base64') })).mac;
    // Lowercase hex, as Huawei answers it, equal to an independent HMAC (node:crypto) with the imported material.
    assert.equal(mac, createHmac('sha256', material).update(message).digest('hex'));
    const independent = createHmac('sha256', material).update(Buffer.from('another')).digest('hex');
    assert.equal(ok(await d.kms(R, 'verify-mac', { key_id: keyId, mac_algorithm: 'HMAC_SHA_256', message: Buffer.from('another').toString('base64'), mac: independent })).mac_valid, true);
  });

  test('a disabled key may lose its material; the re-imported key is enabled', async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    ok(await importSymmetric(keyId, material));
    ok(await d.kms(R, 'disable-key', { key_id: keyId }));
    ok(await d.kms(R, 'delete-imported-key-material', { key_id: keyId }));
    assert.equal(await state(keyId), '5');
    ok(await importSymmetric(keyId, material));
    assert.equal(await state(keyId), '2');
  });

  test('two imports racing with one token: exactly one succeeds', async () => {
    const keyId = await externalKey();
    const p = await parameters(keyId);
    const body = importBody(keyId, p, oaep(p, randomBytes(32)));
    const replies = await Promise.all([d.kms(R, 'import-key-material', body), d.kms(R, 'import-key-material', body)]);
    assert.equal(replies.filter((r) => r.status === 200).length, 1, JSON.stringify(replies.map((r) => r.body)));
    const loser = replies.find((r) => r.status !== 200)!;
    assert.ok(['KMS.0310', 'KMS.2605'].includes(loser.body.error.error_code), JSON.stringify(loser.body));
  });
});

describe('openssl interop', { skip: !hasOpenssl && 'the openssl command is not installed' }, () => {
  test('material wrapped by `openssl pkeyutl -encrypt` with OAEP-SHA-256 imports', async () => {
    const keyId = await externalKey();
    const p = await parameters(keyId);
    const material = randomBytes(32);
    const wrapped = openssl(
      ['pkeyutl', '-encrypt', '-pubin', '-inkey', '{in:pub.pem}', '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-in', '{in:m.bin}', '-out', '{out}'],
      { 'pub.pem': pem(Buffer.from(p.public_key, 'base64'), 'PUBLIC KEY'), 'm.bin': material },
    ).out;
    ok(await d.kms(R, 'import-key-material', importBody(keyId, p, wrapped.toString('base64'))));
    assert.equal(openWithMaterial(await encrypt(keyId, 'wrapped by openssl'), material), 'wrapped by openssl');
  });

  test('SM4 material wrapped by `openssl pkeyutl -encrypt` with the SM2 public key imports', async () => {
    const keyId = await externalKey('SM4');
    const p = await parameters(keyId, 'SM2_ENCRYPT');
    const material = randomBytes(16);
    const wrapped = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', '{in:pub.pem}', '-in', '{in:m.bin}', '-out', '{out}'], {
      'pub.pem': pem(Buffer.from(p.public_key, 'base64'), 'PUBLIC KEY'),
      'm.bin': material,
    }).out;
    ok(await d.kms(R, 'import-key-material', importBody(keyId, p, wrapped.toString('base64'))));
    assert.equal(openWithMaterial(await encrypt(keyId, 'SM2 wrapped by openssl'), material), 'SM2 wrapped by openssl');
  });

  test('an EC P-256 key made by `openssl genpkey`, wrapped by `openssl enc -id-aes256-wrap-pad`, imports and signs', async () => {
    const keyId = await externalKey('EC_P256');
    const pemKey = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', '{out}']).out;
    const pkcs8 = openssl(['pkcs8', '-topk8', '-nocrypt', '-in', '{in:k.pem}', '-outform', 'DER', '-out', '{out}'], { 'k.pem': pemKey }).out;
    const publicKey = openssl(['pkey', '-in', '{in:k.pem}', '-pubout', '-outform', 'DER', '-out', '{out}'], { 'k.pem': pemKey }).out;
    const temporaryKey = randomBytes(32);
    const wrappedKey = openssl(['enc', '-id-aes256-wrap-pad', '-K', temporaryKey.toString('hex'), '-iv', 'A65959A6', '-in', '{in:k.der}', '-out', '{out}'], { 'k.der': pkcs8 }).out;
    const p = await parameters(keyId);
    ok(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, temporaryKey), { encrypted_privatekey: wrappedKey.toString('base64') })));
    const message = Buffer.from('signed by an openssl-made key');
    const signature = ok(await d.kms(R, 'sign', { key_id: keyId, signing_algorithm: 'ECDSA_SHA_256', message_type: 'RAW', message: message.toString('base64') })).signature;
    assert.ok(verifySignature('sha256', message, { key: publicKey, format: 'der', type: 'spki' }, Buffer.from(signature, 'base64')));
  });
});

describe('asymmetric BYOK', () => {
  test('EC_P256: a node-made key pair imports; the API signs, node verifies with our own public key; get-publickey is ours', async () => {
    const keyId = await externalKey('EC_P256');
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pkcs8 = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
    const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
    ok(await d.kms(R, 'import-key-material', await asymmetricBody(keyId, pkcs8)));
    assert.equal(await state(keyId), '2');
    const message = Buffer.from('bring your own key pair');
    const signature = ok(await d.kms(R, 'sign', { key_id: keyId, signing_algorithm: 'ECDSA_SHA_256', message_type: 'RAW', message: message.toString('base64') })).signature;
    assert.ok(verifySignature('sha256', message, pair.publicKey, Buffer.from(signature, 'base64')));
    const publicPem = ok(await d.kms(R, 'get-publickey', { key_id: keyId })).public_key as string;
    assert.deepEqual(createPublicKey(publicPem).export({ format: 'der', type: 'spki' }), spki);
    // imported private keys stay (KMS.2702)
    expectError(await d.kms(R, 'delete-imported-key-material', { key_id: keyId }), 400, 'KMS.2702');
    assert.equal(await state(keyId), '2');
  });

  test('RSA_2048 with a 16-byte temporary key (id-aes128-wrap-pad): the API signs with PSS, node verifies', async () => {
    const keyId = await externalKey('RSA_2048');
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    ok(await d.kms(R, 'import-key-material', await asymmetricBody(keyId, pair.privateKey.export({ format: 'der', type: 'pkcs8' }), randomBytes(16))));
    const message = Buffer.from('RSA BYOK');
    const signature = ok(await d.kms(R, 'sign', { key_id: keyId, signing_algorithm: 'RSASSA_PSS_SHA_256', message_type: 'RAW', message: message.toString('base64') })).signature;
    assert.ok(verifySignature('sha256', message, { key: pair.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, Buffer.from(signature, 'base64')));
  });

  test('SM2: a node-made SM2 key imports; the API signs with SM2DSA_SM3 and the signature verifies with our public key', async () => {
    const keyId = await externalKey('SM2');
    const pair = generateKeyPairSync('ec', { namedCurve: 'SM2' });
    ok(await d.kms(R, 'import-key-material', await asymmetricBody(keyId, pair.privateKey.export({ format: 'der', type: 'pkcs8' }))));
    const message = Buffer.from('SM2 BYOK');
    const signature = ok(await d.kms(R, 'sign', { key_id: keyId, signing_algorithm: 'SM2DSA_SM3', message_type: 'RAW', message: message.toString('base64') })).signature;
    assert.ok(sm2Verify(pair.publicKey.export({ format: 'der', type: 'spki' }), message, Buffer.from(signature, 'base64')));
  });

  test('refusals: KMS.2608 without encrypted_privatekey, KMS.2610 for a temporary key of another length, KMS.2609 for what is not a private key of the spec, KMS.0308 for an expiration', async () => {
    const keyId = await externalKey('EC_P256');
    const pkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const p = await parameters(keyId);
    const temporaryKey = randomBytes(32);
    expectError(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, temporaryKey))), 400, 'KMS.2608');
    expectError(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, temporaryKey), { encrypted_privatekey: '' })), 400, 'KMS.2608');
    for (const length of [8, 24, 48]) {
      const other = randomBytes(length);
      const wrapped = wrapPad(length === 24 ? other : randomBytes(32), pkcs8).toString('base64');
      expectError(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, other), { encrypted_privatekey: wrapped })), 400, 'KMS.2610');
    }
    const wrongSpec = [
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'der', type: 'pkcs8' }),
      generateKeyPairSync('ec', { namedCurve: 'SM2' }).privateKey.export({ format: 'der', type: 'pkcs8' }),
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' }),
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'der', type: 'sec1' }),
      randomBytes(138),
    ];
    for (const der of wrongSpec) {
      expectError(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, temporaryKey), { encrypted_privatekey: wrapPad(temporaryKey, der).toString('base64') })), 400, 'KMS.2609');
    }
    // wrapped under another key, or altered
    const wrapped = wrapPad(randomBytes(32), pkcs8);
    expectError(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, temporaryKey), { encrypted_privatekey: wrapped.toString('base64') })), 400, 'KMS.2609');
    expectError(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, temporaryKey), { encrypted_privatekey: randomBytes(64).toString('base64') })), 400, 'KMS.2609');
    expectError(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, temporaryKey), { encrypted_privatekey: wrapPad(temporaryKey, pkcs8).toString('base64'), expiration_time: Math.floor(Date.now() / 1000) + 3600 })), 400, 'KMS.0308');
    // an RSA_2048 key refuses a 3072-bit private key
    const rsaKey = await externalKey('RSA_2048');
    const rsa3072 = generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export({ format: 'der', type: 'pkcs8' });
    expectError(await d.kms(R, 'import-key-material', await asymmetricBody(rsaKey, rsa3072)), 400, 'KMS.2609');
    // none of the refusals used the token up or changed the key
    assert.equal(await state(keyId), '5');
    ok(await d.kms(R, 'import-key-material', importBody(keyId, p, oaep(p, temporaryKey), { encrypted_privatekey: wrapPad(temporaryKey, pkcs8).toString('base64') })));
  });
});

describe('import-key-material refusals', () => {
  test('KMS.0309 for a KMS key, KMS.0310 for a key that has material, KMS.0207 / 0205 / 0204', async () => {
    const kmsKey = await createKey(d, {});
    const external = await externalKey();
    const p = await parameters(external);
    const encrypted = oaep(p, randomBytes(32));
    expectError(await d.kms(R, 'import-key-material', importBody(kmsKey, p, encrypted)), 400, 'KMS.0309');
    expectError(await d.kms(R, 'import-key-material', importBody(UNKNOWN_KEY, p, encrypted)), 404, 'KMS.0207');
    expectError(await d.kms(R, 'import-key-material', importBody('nope', p, encrypted)), 400, 'KMS.0205');
    expectError(await d.kms(R, 'import-key-material', { key_id: external, encrypted_key_material: encrypted }), 400, 'KMS.0204');
    expectError(await d.kms(R, 'import-key-material', { key_id: external, import_token: p.import_token }), 400, 'KMS.0204');
    expectError(await d.kms(R, 'import-key-material', importBody(external, p, '%%not base64%%')), 400, 'KMS.0308');
    ok(await d.kms(R, 'import-key-material', importBody(external, p, encrypted)));
    const next = await externalKey();
    const p2 = await parameters(next);
    expectError(await d.kms(R, 'import-key-material', importBody(external, p2, oaep(p2, randomBytes(32)))), 400, 'KMS.0310');
  });

  test('KMS.2605 for a forged, altered or non-Base64 token and for a token replaced by newer parameters; KMS.2603 for the token of another key', async () => {
    const keyId = await externalKey();
    const other = await externalKey();
    const p = await parameters(keyId);
    const otherParams = await parameters(other);
    const encrypted = oaep(p, randomBytes(32));
    const token = Buffer.from(p.import_token, 'base64');
    const altered = Buffer.from(token);
    altered[10]! ^= 0x01; // inside the key id
    const extended = Buffer.from(token);
    extended[45]! ^= 0x01; // inside the expiry
    for (const forged of [randomBytes(token.length).toString('base64'), altered.toString('base64'), extended.toString('base64'), 'A'.repeat(216), 'not a token!', p.import_token.slice(0, -4)]) {
      expectError(await d.kms(R, 'import-key-material', { ...importBody(keyId, p, encrypted), import_token: forged }), 400, 'KMS.2605');
    }
    expectError(await d.kms(R, 'import-key-material', { ...importBody(keyId, p, encrypted), import_token: otherParams.import_token }), 400, 'KMS.2603');
    // a second get-parameters-for-import replaces the first: its token and wrapping key are gone
    const newer = await parameters(keyId);
    expectError(await d.kms(R, 'import-key-material', importBody(keyId, p, encrypted)), 400, 'KMS.2605');
    ok(await d.kms(R, 'import-key-material', importBody(keyId, newer, oaep(newer, randomBytes(32)))));
  });

  test('a token is single-use: after import and deletion the old token is refused (KMS.2605)', async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    const p = await parameters(keyId);
    const body = importBody(keyId, p, oaep(p, material));
    ok(await d.kms(R, 'import-key-material', body));
    ok(await d.kms(R, 'delete-imported-key-material', { key_id: keyId }));
    expectError(await d.kms(R, 'import-key-material', body), 400, 'KMS.2605');
  });

  test('KMS.0311 when encrypted_key_material does not decrypt with the wrapping key (garbage, another hash, another key)', async () => {
    const keyId = await externalKey();
    const p = await parameters(keyId);
    const otherKey = await externalKey();
    const otherParams = await parameters(otherKey);
    const material = randomBytes(32);
    for (const encrypted of [randomBytes(256).toString('base64'), oaep(p, material, 'sha1'), oaep(otherParams, material), randomBytes(16).toString('base64')]) {
      expectError(await d.kms(R, 'import-key-material', importBody(keyId, p, encrypted)), 400, 'KMS.0311');
    }
    // SM2_ENCRYPT parameters: an undecryptable ciphertext is KMS.0308
    const sm4 = await externalKey('SM4');
    const sm2 = await parameters(sm4, 'SM2_ENCRYPT');
    expectError(await d.kms(R, 'import-key-material', importBody(sm4, sm2, randomBytes(120).toString('base64'))), 400, 'KMS.0308');
    assert.equal(await state(keyId), '5');
  });

  test('KMS.2604 for material of the wrong length; KMS.0308 for encrypted_privatekey with a symmetric key', async () => {
    const cases: [string, number, Record<string, unknown>?][] = [['AES_256', 31], ['AES_256', 16], ['SM4', 32], ['HMAC_384', 32, { key_usage: 'GENERATE_VERIFY_MAC' }], ['HMAC_512', 48, { key_usage: 'GENERATE_VERIFY_MAC' }]];
    for (const [spec, length, extra] of cases) {
      const keyId = await externalKey(spec, extra);
      expectError(await importSymmetric(keyId, randomBytes(length)), 400, 'KMS.2604');
    }
    const keyId = await externalKey();
    expectError(await importSymmetric(keyId, randomBytes(32), { encrypted_privatekey: randomBytes(48).toString('base64') }), 400, 'KMS.0308');
  });

  test('KMS.2602 for an expiration_time not in the future (number or string); KMS.0308 for one in milliseconds or not a number', async () => {
    const keyId = await externalKey();
    const nowSeconds = Math.floor(Date.now() / 1000);
    for (const expiration of [nowSeconds - 10, String(nowSeconds - 3600), 0, '1']) {
      expectError(await importSymmetric(keyId, randomBytes(32), { expiration_time: expiration }), 400, 'KMS.2602');
    }
    for (const expiration of [Date.now() + HOUR, String(Date.now() + HOUR), 'tomorrow', 1.5, -5, true]) {
      expectError(await importSymmetric(keyId, randomBytes(32), { expiration_time: expiration }), 400, 'KMS.0308');
    }
    // accepted as a number and as a numeric string; describe-key shows it in milliseconds
    const seconds = nowSeconds + 7200;
    ok(await importSymmetric(keyId, randomBytes(32), { expiration_time: String(seconds) }));
    assert.equal(ok(await d.kms(R, 'describe-key', { key_id: keyId })).key_info.expiration_time, String(seconds * 1000));
    const another = await externalKey();
    ok(await importSymmetric(another, randomBytes(32), { expiration_time: seconds }));
    assert.equal(ok(await d.kms(R, 'describe-key', { key_id: another })).key_info.expiration_time, String(seconds * 1000));
  });

  test('KMS.2606 when material deleted from a key is re-imported as different material', async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    ok(await importSymmetric(keyId, material));
    const cipher = await encrypt(keyId, 'first material');
    ok(await d.kms(R, 'delete-imported-key-material', { key_id: keyId }));
    expectError(await importSymmetric(keyId, randomBytes(32)), 400, 'KMS.2606');
    assert.equal(await state(keyId), '5');
    // the same material as another key's is not "the same" for this key
    const twin = await externalKey();
    ok(await importSymmetric(twin, material));
    ok(await importSymmetric(keyId, material));
    assert.equal(await decrypt(cipher), 'first material');
  });
});

describe('delete-imported-key-material refusals', () => {
  test('KMS.0309 for a KMS key; KMS.2701 in state 5 and in state 4; KMS.0207 / 0205', async () => {
    const kmsKey = await createKey(d, {});
    expectError(await d.kms(R, 'delete-imported-key-material', { key_id: kmsKey }), 400, 'KMS.0309');
    const keyId = await externalKey();
    expectError(await d.kms(R, 'delete-imported-key-material', { key_id: keyId }), 400, 'KMS.2701');
    ok(await importSymmetric(keyId, randomBytes(32)));
    ok(await d.kms(R, 'schedule-key-deletion', { key_id: keyId, pending_days: '7' }));
    expectError(await d.kms(R, 'delete-imported-key-material', { key_id: keyId }), 400, 'KMS.2701');
    expectError(await d.kms(R, 'delete-imported-key-material', { key_id: UNKNOWN_KEY }), 404, 'KMS.0207');
    expectError(await d.kms(R, 'delete-imported-key-material', { key_id: 'x' }), 400, 'KMS.0205');
    expectError(await d.kms(R, 'delete-imported-key-material', {}), 400, 'KMS.0204');
  });
});

describe('cross-region keys', () => {
  test('only the primary region imports (KMS.1404 on a replica); a replica cannot delete (KMS.0106); a primary with replicas keeps its material (KMS.0308)', async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    ok(await importSymmetric(keyId, material));
    const replicate = await signedRequest(d.endpoint(R), d.admin, d.projectId(R), 'POST', `/v2/${d.projectId(R)}/kms/keys/${keyId}/replicate`, {
      key_id: keyId, replica_region: S, key_alias: `imp-replica-${randomUUID().slice(0, 8)}`, replica_project_id: d.projectId(S),
    });
    ok(replicate);
    const cipher = await encrypt(keyId, 'shared material');
    assert.equal(ok(await d.kms(S, 'decrypt-data', { cipher_text: cipher })).plain_text, 'shared material');

    const p = await parameters(await externalKey()); // a valid token (of another key): the region check comes first
    expectError(await d.kms(S, 'import-key-material', importBody(keyId, p, oaep(p, material))), 400, 'KMS.1404');
    expectError(await d.kms(S, 'get-parameters-for-import', { key_id: keyId, wrapping_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.1404');
    expectError(await d.kms(S, 'delete-imported-key-material', { key_id: keyId }), 400, 'KMS.0106');
    expectError(await d.kms(R, 'delete-imported-key-material', { key_id: keyId }), 400, 'KMS.0308');
    assert.equal(await state(keyId), '2');
  });
});

describe('with a clock the test moves', () => {
  let now = Date.UTC(2031, 5, 1, 12, 0, 0);
  let c: TestDeployment;
  let imports: KeyImportService;
  before(async () => {
    c = await startTestDeployment({ regions: [R], clock: () => now });
    imports = (c.regions.get(R)!.api as unknown as { imports: KeyImportService }).imports;
  });
  after(() => c.stop());

  test('get-parameters-for-import: expiration_time is the clock plus 24 h, in seconds', async () => {
    const keyId = await externalKey('AES_256', {}, c);
    const p = await parameters(keyId, 'RSAES_OAEP_SHA_256', c);
    assert.equal(p.expiration_time, (now + 24 * HOUR) / 1000);
  });

  test('an import token 25 h old is refused with KMS.2601; fresh parameters work', async () => {
    const keyId = await externalKey('AES_256', {}, c);
    const p = await parameters(keyId, 'RSAES_OAEP_SHA_256', c);
    const body = importBody(keyId, p, oaep(p, randomBytes(32)));
    now += 24 * HOUR - 1;
    const stillValid = await parameters(await externalKey('AES_256', {}, c), 'RSAES_OAEP_SHA_256', c); // unrelated, for the bound below
    assert.ok(stillValid.expiration_time > now / 1000);
    now += 1 + HOUR; // 25 h after the parameters
    expectError(await c.kms(R, 'import-key-material', body), 400, 'KMS.2601');
    // the sweep drops the lapsed parameters; the token stays expired (not "unknown")
    await imports.expireMaterial();
    expectError(await c.kms(R, 'import-key-material', body), 400, 'KMS.2601');
    const material = randomBytes(32);
    ok(await importSymmetric(keyId, material, {}, c));
    assert.equal(await state(keyId, c), '2');
  });

  test('material with an expiration_time: usable until then, the sweep takes it away after (state 2 → 5, encrypt refused with KMS.0310), the same material imports again', async () => {
    const keyId = await externalKey('AES_256', {}, c);
    const untouched = await externalKey('AES_256', {}, c);
    const material = randomBytes(32);
    const expiresSeconds = Math.floor(now / 1000) + 3600;
    ok(await importSymmetric(keyId, material, { expiration_time: expiresSeconds }, c));
    ok(await importSymmetric(untouched, randomBytes(32), {}, c));
    const info = ok(await c.kms(R, 'describe-key', { key_id: keyId })).key_info;
    assert.equal(info.key_state, '2');
    assert.equal(info.expiration_time, String(expiresSeconds * 1000));
    const cipher = await encrypt(keyId, 'expiring', c);

    now += 30 * 60_000;
    assert.deepEqual(await imports.expireMaterial(), []);
    assert.equal(await decrypt(cipher, c), 'expiring');

    now = expiresSeconds * 1000; // exactly the expiry: due
    // Refused at once, before the sweep has run.
    expectError(await c.kms(R, 'encrypt-data', { key_id: keyId, plain_text: 'x' }), 400, 'KMS.0310');
    expectError(await c.kms(R, 'decrypt-data', { cipher_text: cipher }), 400, 'KMS.0310');
    assert.deepEqual(await imports.expireMaterial(), [keyId]);
    const expired = ok(await c.kms(R, 'describe-key', { key_id: keyId })).key_info;
    assert.equal(expired.key_state, '5');
    assert.equal(expired.expiration_time, '');
    expectError(await c.kms(R, 'encrypt-data', { key_id: keyId, plain_text: 'x' }), 400, 'KMS.0310');
    expectError(await c.kms(R, 'decrypt-data', { cipher_text: cipher }), 400, 'KMS.0310');
    assert.equal(await state(untouched, c), '2');
    assert.deepEqual(await imports.expireMaterial(), [], 'a second sweep has nothing to do');

    expectError(await importSymmetric(keyId, randomBytes(32), {}, c), 400, 'KMS.2606');
    ok(await importSymmetric(keyId, material, {}, c));
    assert.equal(await decrypt(cipher, c), 'expiring');
  });

  test('a disabled key\'s material expires too; KMS.2602 for an expiration_time equal to the clock', async () => {
    const keyId = await externalKey('AES_256', {}, c);
    expectError(await importSymmetric(keyId, randomBytes(32), { expiration_time: Math.floor(now / 1000) }, c), 400, 'KMS.2602');
    ok(await importSymmetric(keyId, randomBytes(32), { expiration_time: Math.floor(now / 1000) + 60 }, c));
    ok(await c.kms(R, 'disable-key', { key_id: keyId }));
    now += 61_000;
    assert.deepEqual(await imports.expireMaterial(), [keyId]);
    assert.equal(await state(keyId, c), '5');
  });
});

describe('interop: keys made by openssl, imported, then openssl signs and Strongroom verifies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-byok-openssl-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir });
  const cases = [
    { spec: 'EC_P256', genpkey: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], algorithm: 'ECDSA_SHA_256', sign: ['dgst', '-sha256', '-sign', 'key.pem', '-out', 'sig.bin', 'msg.bin'] },
    { spec: 'RSA_2048', genpkey: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], algorithm: 'RSASSA_PKCS1_V1_5_SHA_256', sign: ['dgst', '-sha256', '-sign', 'key.pem', '-out', 'sig.bin', 'msg.bin'] },
    {
      spec: 'SM2', genpkey: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2'], algorithm: 'SM2DSA_SM3',
      sign: ['pkeyutl', '-sign', '-inkey', 'key.pem', '-rawin', '-digest', 'sm3', '-pkeyopt', 'distid:1234567812345678', '-in', 'msg.bin', '-out', 'sig.bin'],
    },
  ];
  for (const c of cases) {
    test(`${c.spec}: ${c.algorithm} signatures made by openssl verify through the API`, async () => {
      run('genpkey', ...c.genpkey, '-out', 'key.pem');
      const pkcs8 = run('pkcs8', '-topk8', '-nocrypt', '-in', 'key.pem', '-outform', 'DER');
      const keyId = await externalKey(c.spec, { key_usage: 'SIGN_VERIFY' });
      ok(await d.kms(R, 'import-key-material', await asymmetricBody(keyId, pkcs8)));
      const message = Buffer.from(`signed by openssl with ${c.spec}`);
      writeFileSync(join(dir, 'msg.bin'), message);
      run(...c.sign);
      const signature = readFileSync(join(dir, 'sig.bin')).toString('base64');
      const body = { key_id: keyId, signing_algorithm: c.algorithm, message_type: 'RAW', message: message.toString('base64') };
      assert.equal(ok(await d.kms(R, 'verify', { ...body, signature })).signature_valid, 'true');
      const other = { ...body, message: Buffer.from('another message').toString('base64') };
      assert.equal(ok(await d.kms(R, 'verify', { ...other, signature })).signature_valid, 'false');
      // The public key Strongroom derived is openssl's.
      const pem = ok(await d.kms(R, 'get-publickey', { key_id: keyId })).public_key as string;
      const fromOpenssl = run('pkey', '-in', 'key.pem', '-pubout', '-outform', 'DER');
      assert.deepEqual(createPublicKey(pem).export({ type: 'spki', format: 'der' }), fromOpenssl);
    });
  }
});

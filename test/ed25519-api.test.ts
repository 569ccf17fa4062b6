/**
 * ED25519 keys, P-521 data key pairs and ECDSA_SHA_512 over the wire (issue #15; docs/reference/huawei-kms-api.md
 * §3.2 key_spec, §3.3 signing_algorithm and message_type, §4 D 23, E 24–25, I 36–38; §5.2 codes):
 * - ED25519 keys (SIGN_VERIFY only) are created, give their public key, sign and verify with ED25519_SHA_512 (pure
 *   Ed25519 over a RAW message, checked by the openssl command) and ED25519_PH_SHA_512 (Ed25519ph over a SHA-512
 *   DIGEST or a RAW message, checked by libsodium and by noble's own ed25519ph, neither of them the server's path);
 * - keys made by `openssl genpkey -algorithm ed25519` are imported, and their signatures verify through `verify`;
 * - an Ed25519 key replicates to another region and keeps signing there with the same key;
 * - ECC_NIST_P521 data key pairs hold a private key whose public key (derived by openssl) is the one answered;
 * - every refusal with its code: a usage other than SIGN_VERIFY (KMS.0308), ED25519_SHA_512 with a DIGEST (KMS.0308),
 *   a digest of the wrong length (KMS.0329), an algorithm of another spec (KMS.0332).
 */
import assert from 'node:assert/strict';
import { constants, createCipheriv, createHash, createPrivateKey, createPublicKey, publicEncrypt, randomBytes, randomUUID, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { ed25519ph } from '@noble/curves/ed25519.js';
import sodium from 'libsodium-wrappers';
import { hasOpenssl, openssl, opensslStatus, pem } from './helpers/asym.js';
import { expectError, KEY_ID, signedRequest, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';

const R = 'cn-north-4';
const S = 'cn-south-1';
const skipOpenssl = !hasOpenssl && 'the openssl command is not installed';
/** RFC 8410: the SPKI of an Ed25519 key is this prefix and the 32-byte point. */
const ED25519_SPKI_PREFIX = '302a300506032b6570032100';
/** RFC 5649's alternative initial value, for node's id-aesN-wrap-pad. */
const AIV = Buffer.from('a65959a6', 'hex');

let d: TestDeployment;
let seq = 0;
const kms = (op: string, body: object, region = R): Promise<Reply> => d.kms(region, op, body);
const b64 = (b: Buffer): string => b.toString('base64');
const sha512 = (m: Buffer): Buffer => createHash('sha512').update(m).digest();

async function ok(reply: Promise<Reply>): Promise<any> {
  const r = await reply;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function createKey(spec: string, extra: Record<string, unknown> = {}): Promise<string> {
  const body = await ok(kms('create-key', { key_alias: `ed-${++seq}-${randomUUID().slice(0, 8)}`, key_spec: spec, ...extra }));
  assert.match(body.key_info.key_id, KEY_ID);
  return body.key_info.key_id;
}

async function publicKeyOf(keyId: string, region = R): Promise<{ pem: string; der: Buffer }> {
  const body = await ok(kms('get-publickey', { key_id: keyId }, region));
  const pemText = body.public_key as string;
  return { pem: pemText, der: Buffer.from(pemText.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, ''), 'base64') };
}

async function signed(keyId: string, algorithm: string, message: Buffer, messageType?: 'RAW' | 'DIGEST', region = R): Promise<Buffer> {
  const body = await ok(kms('sign', { key_id: keyId, signing_algorithm: algorithm, message: b64(message), ...(messageType ? { message_type: messageType } : {}) }, region));
  assert.deepEqual(Object.keys(body).sort(), ['key_id', 'signature']);
  return Buffer.from(body.signature, 'base64');
}

async function verified(keyId: string, algorithm: string, message: Buffer, signature: Buffer, messageType?: 'RAW' | 'DIGEST', region = R): Promise<string> {
  const body = await ok(kms('verify', { key_id: keyId, signing_algorithm: algorithm, message: b64(message), signature: b64(signature), ...(messageType ? { message_type: messageType } : {}) }, region));
  assert.equal(typeof body.signature_valid, 'string');
  return body.signature_valid;
}

/** The openssl command's pure Ed25519 verification (`pkeyutl -verify -rawin`), exactly as a client runs it. */
function opensslVerifies(publicKeyDer: Buffer, message: Buffer, signature: Buffer): boolean {
  return opensslStatus(['pkeyutl', '-verify', '-rawin', '-pubin', '-inkey', '{in:pub.pem}', '-in', '{in:msg}', '-sigfile', '{in:sig}'], {
    'pub.pem': pem(publicKeyDer, 'PUBLIC KEY'), msg: message, sig: signature,
  }) === 0;
}

/** libsodium's Ed25519ph verification over the message (its multi-part API hashes the message with SHA-512). */
function sodiumPhVerifies(publicKeyDer: Buffer, message: Buffer, signature: Buffer): boolean {
  const state = sodium.crypto_sign_init();
  sodium.crypto_sign_update(state, message);
  return sodium.crypto_sign_final_verify(state, signature, publicKeyDer.subarray(12));
}

before(async () => {
  await sodium.ready;
  d = await startTestDeployment({ regions: [R, S] });
});
after(() => d.stop());

describe('ED25519 keys: create, describe, public key', () => {
  test('created with the default usage SIGN_VERIFY (or naming it), enabled; the PEM is an RFC 8410 Ed25519 SPKI with CRLF lines', async () => {
    for (const extra of [{}, { key_usage: 'SIGN_VERIFY' }]) {
      const id = await createKey('ED25519', extra);
      const info = (await ok(kms('describe-key', { key_id: id }))).key_info;
      assert.deepEqual([info.key_spec, info.key_usage, info.key_state, info.origin], ['ED25519', 'SIGN_VERIFY', '2', 'kms']);
      const { pem: text, der } = await publicKeyOf(id);
      assert.match(text, /^-----BEGIN PUBLIC KEY-----\r\n[A-Za-z0-9+/=]{60}\r\n-----END PUBLIC KEY-----$/);
      assert.equal(der.length, 44);
      assert.equal(der.subarray(0, 12).toString('hex'), ED25519_SPKI_PREFIX);
      assert.equal(createPublicKey({ key: der, format: 'der', type: 'spki' }).asymmetricKeyType, 'ed25519');
    }
  });

  test('a usage other than SIGN_VERIFY is KMS.0308 and leaves nothing behind', async () => {
    for (const usage of ['ENCRYPT_DECRYPT', 'KEY_AGREEMENT', 'GENERATE_VERIFY_MAC']) {
      const alias = `ed-refused-${++seq}`;
      expectError(await kms('create-key', { key_alias: alias, key_spec: 'ED25519', key_usage: usage }), 400, 'KMS.0308');
      assert.match((await ok(kms('create-key', { key_alias: alias, key_spec: 'AES_256' }))).key_info.key_id, KEY_ID);
    }
  });

  test('an ED25519 key neither encrypts (KMS.1114, as EC keys) nor agrees on keys nor makes MACs (KMS.0325)', async () => {
    const id = await createKey('ED25519');
    expectError(await kms('encrypt-data', { key_id: id, plain_text: 'x', encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.1114');
    expectError(await kms('derive-shared-secret', { key_id: id, key_agreement_algorithm: 'ECDH', public_key: b64((await publicKeyOf(id)).der) }), 400, 'KMS.0325');
    expectError(await kms('generate-mac', { key_id: id, mac_algorithm: 'HMAC_SHA_512', message: b64(Buffer.from('m')) }), 400, 'KMS.0325');
  });
});

describe('ED25519_SHA_512: pure Ed25519 over RAW messages', () => {
  test('signatures of 64 bytes that the openssl command verifies (pkeyutl -verify -rawin), and only for their message', { skip: skipOpenssl }, async () => {
    const id = await createKey('ED25519');
    const { der } = await publicKeyOf(id);
    for (const message of [Buffer.from('a'), Buffer.from('pure Ed25519 through the API\n'), randomBytes(4094)]) {
      const signature = await signed(id, 'ED25519_SHA_512', message, 'RAW');
      assert.equal(signature.length, 64);
      assert.equal(opensslVerifies(der, message, signature), true);
      assert.equal(await verified(id, 'ED25519_SHA_512', message, signature, 'RAW'), 'true');
      const other = Buffer.concat([message, Buffer.from('!')]);
      assert.equal(opensslVerifies(der, other, signature), false);
      assert.equal(await verified(id, 'ED25519_SHA_512', other, signature, 'RAW'), 'false');
      // Ed25519 is deterministic (RFC 8032 §5.1.6): the same message gives the same signature
      assert.deepEqual(await signed(id, 'ED25519_SHA_512', message, 'RAW'), signature);
    }
  });

  test('a signature openssl makes with another key, or a malformed one, is "false"', async () => {
    const id = await createKey('ED25519');
    const message = Buffer.from('x');
    const signature = await signed(id, 'ED25519_SHA_512', message, 'RAW');
    const otherKey = await createKey('ED25519');
    assert.equal(await verified(otherKey, 'ED25519_SHA_512', message, signature, 'RAW'), 'false');
    for (const junk of [signature.subarray(0, 63), Buffer.concat([signature, Buffer.alloc(1)]), randomBytes(64), randomBytes(72)]) {
      assert.equal(await verified(id, 'ED25519_SHA_512', message, junk, 'RAW'), 'false');
    }
  });

  test('a DIGEST (explicit, or message_type left to its default) is KMS.0308: pure Ed25519 signs the message itself', async () => {
    const id = await createKey('ED25519');
    const digest = sha512(Buffer.from('m'));
    for (const type of ['DIGEST', undefined] as const) {
      const base = { key_id: id, signing_algorithm: 'ED25519_SHA_512', message: b64(digest), ...(type ? { message_type: type } : {}) };
      expectError(await kms('sign', base), 400, 'KMS.0308');
      expectError(await kms('verify', { ...base, signature: b64(randomBytes(64)) }), 400, 'KMS.0308');
    }
  });
});

describe('ED25519_PH_SHA_512: Ed25519ph over a SHA-512 digest', () => {
  test('DIGEST and RAW give the same signature; libsodium and noble verify it over the message; the API verifies it', async () => {
    const id = await createKey('ED25519');
    const { der } = await publicKeyOf(id);
    for (const message of [Buffer.alloc(0), Buffer.from('prehashed Ed25519'), randomBytes(100_000)]) {
      const digest = sha512(message);
      const byDigest = await signed(id, 'ED25519_PH_SHA_512', digest, 'DIGEST');
      assert.equal(byDigest.length, 64);
      assert.deepEqual(await signed(id, 'ED25519_PH_SHA_512', digest), byDigest, 'message_type defaults to DIGEST');
      if (message.length > 0 && message.length < 4096) assert.deepEqual(await signed(id, 'ED25519_PH_SHA_512', message, 'RAW'), byDigest);
      assert.equal(sodiumPhVerifies(der, message, byDigest), true);
      assert.equal(ed25519ph.verify(byDigest, message, der.subarray(12), { zip215: false }), true);
      assert.equal(await verified(id, 'ED25519_PH_SHA_512', digest, byDigest, 'DIGEST'), 'true');
      const otherDigest = sha512(Buffer.concat([message, Buffer.from([0])]));
      assert.equal(await verified(id, 'ED25519_PH_SHA_512', otherDigest, byDigest, 'DIGEST'), 'false');
      assert.equal(sodiumPhVerifies(der, Buffer.concat([message, Buffer.from([0])]), byDigest), false);
    }
  });

  test('a signature made by libsodium with another key is "false"; pure and prehashed signatures never pass for each other', async () => {
    const id = await createKey('ED25519');
    const message = Buffer.from('which scheme?');
    const pure = await signed(id, 'ED25519_SHA_512', message, 'RAW');
    const ph = await signed(id, 'ED25519_PH_SHA_512', message, 'RAW');
    assert.notDeepEqual(pure, ph);
    assert.equal(await verified(id, 'ED25519_PH_SHA_512', message, pure, 'RAW'), 'false');
    assert.equal(await verified(id, 'ED25519_SHA_512', message, ph, 'RAW'), 'false');
    const stranger = sodium.crypto_sign_keypair();
    const state = sodium.crypto_sign_init();
    sodium.crypto_sign_update(state, message);
    const theirs = Buffer.from(sodium.crypto_sign_final_create(state, stranger.privateKey));
    assert.equal(await verified(id, 'ED25519_PH_SHA_512', sha512(message), theirs, 'DIGEST'), 'false');
  });

  test('a digest of another length than 64 bytes is KMS.0329 (sign and verify, with message_type DIGEST or by default)', async () => {
    const id = await createKey('ED25519');
    for (const length of [1, 32, 48, 63, 65, 128]) {
      for (const type of ['DIGEST', undefined] as const) {
        const base = { key_id: id, signing_algorithm: 'ED25519_PH_SHA_512', message: b64(randomBytes(length)), ...(type ? { message_type: type } : {}) };
        expectError(await kms('sign', base), 400, 'KMS.0329');
        expectError(await kms('verify', { ...base, signature: b64(randomBytes(64)) }), 400, 'KMS.0329');
      }
    }
  });
});

describe('algorithms of another spec: KMS.0332', () => {
  test('an ED25519 key with ECDSA, RSA or SM2 algorithms; other keys with the Ed25519 algorithms', async () => {
    const ed = await createKey('ED25519');
    const ec = await createKey('EC_P256');
    const ec384 = await createKey('EC_P384');
    const cases: [string, string, number][] = [
      [ed, 'ECDSA_SHA_256', 32],
      [ed, 'ECDSA_SHA_512', 64],
      [ed, 'RSASSA_PSS_SHA_512', 64],
      [ed, 'SM2DSA_SM3', 32],
      [ec, 'ED25519_SHA_512', 64],
      [ec, 'ED25519_PH_SHA_512', 64],
      // ECDSA_SHA_512 pairs with no key spec: Huawei's key specs have no P-521 curve
      [ec, 'ECDSA_SHA_512', 64],
      [ec384, 'ECDSA_SHA_512', 64],
    ];
    for (const [id, alg, length] of cases) {
      for (const type of ['DIGEST', 'RAW'] as const) {
        const base = { key_id: id, signing_algorithm: alg, message: b64(randomBytes(length)), message_type: type };
        expectError(await kms('sign', base), 400, 'KMS.0332');
        expectError(await kms('verify', { ...base, signature: b64(randomBytes(64)) }), 400, 'KMS.0332');
      }
    }
  });

  test('a disabled ED25519 key is KMS.0209; enabled again, it signs', async () => {
    const id = await createKey('ED25519');
    await ok(kms('disable-key', { key_id: id }));
    expectError(await kms('sign', { key_id: id, signing_algorithm: 'ED25519_SHA_512', message: b64(Buffer.from('m')), message_type: 'RAW' }), 400, 'KMS.0209');
    await ok(kms('enable-key', { key_id: id }));
    assert.equal((await signed(id, 'ED25519_SHA_512', Buffer.from('m'), 'RAW')).length, 64);
  });
});

describe('imported Ed25519 keys (BYOK)', () => {
  interface Params { import_token: string; public_key: string }

  async function importPrivateKey(keyId: string, pkcs8: Buffer): Promise<Reply> {
    const p: Params = await ok(kms('get-parameters-for-import', { key_id: keyId, wrapping_algorithm: 'RSAES_OAEP_SHA_256' }));
    const temporaryKey = randomBytes(32);
    const wrappingKey = createPublicKey({ key: Buffer.from(p.public_key, 'base64'), format: 'der', type: 'spki' });
    const cipher = createCipheriv('id-aes256-wrap-pad', temporaryKey, AIV);
    return kms('import-key-material', {
      key_id: keyId,
      import_token: p.import_token,
      encrypted_key_material: b64(publicEncrypt({ key: wrappingKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, temporaryKey)),
      encrypted_privatekey: b64(Buffer.concat([cipher.update(pkcs8), cipher.final()])),
    });
  }

  test('a key made by `openssl genpkey -algorithm ed25519` imports; openssl\'s signatures verify through `verify`, the API\'s with openssl', { skip: skipOpenssl }, async () => {
    const keyId = await createKey('ED25519', { origin: 'external' });
    assert.equal((await ok(kms('describe-key', { key_id: keyId }))).key_info.key_state, '5');
    const keyPem = openssl(['genpkey', '-algorithm', 'ed25519', '-out', '{out}']).out;
    const pkcs8 = openssl(['pkey', '-in', '{in:k.pem}', '-outform', 'DER', '-out', '{out}'], { 'k.pem': keyPem }).out;
    const spki = openssl(['pkey', '-in', '{in:k.pem}', '-pubout', '-outform', 'DER', '-out', '{out}'], { 'k.pem': keyPem }).out;
    await ok(importPrivateKey(keyId, pkcs8));
    assert.equal((await ok(kms('describe-key', { key_id: keyId }))).key_info.key_state, '2');
    assert.deepEqual((await publicKeyOf(keyId)).der, spki, 'get-publickey answers the imported key\'s public key');

    for (const message of [Buffer.from('signed by openssl'), randomBytes(3000)]) {
      const theirs = openssl(['pkeyutl', '-sign', '-rawin', '-inkey', '{in:k.pem}', '-in', '{in:msg}', '-out', '{out}'], { 'k.pem': keyPem, msg: message }).out;
      assert.equal(await verified(keyId, 'ED25519_SHA_512', message, theirs, 'RAW'), 'true');
      assert.equal(await verified(keyId, 'ED25519_SHA_512', Buffer.concat([message, Buffer.from('x')]), theirs, 'RAW'), 'false');
      const ours = await signed(keyId, 'ED25519_SHA_512', message, 'RAW');
      assert.deepEqual(ours, theirs, 'the same key signs the same message into the same bytes');
      assert.equal(opensslVerifies(spki, message, ours), true);
      const ph = await signed(keyId, 'ED25519_PH_SHA_512', sha512(message), 'DIGEST');
      assert.equal(sodiumPhVerifies(spki, message, ph), true);
    }
  });

  test('what is not an Ed25519 private key is KMS.2609; the key stays pending import', { skip: skipOpenssl }, async () => {
    const keyId = await createKey('ED25519', { origin: 'external' });
    const ecPem = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', '{out}']).out;
    const ecPkcs8 = openssl(['pkcs8', '-topk8', '-nocrypt', '-in', '{in:k.pem}', '-outform', 'DER', '-out', '{out}'], { 'k.pem': ecPem }).out;
    const x25519 = openssl(['genpkey', '-algorithm', 'x25519', '-outform', 'DER', '-out', '{out}']).out;
    for (const wrong of [ecPkcs8, x25519, randomBytes(48)]) expectError(await importPrivateKey(keyId, wrong), 400, 'KMS.2609');
    assert.equal((await ok(kms('describe-key', { key_id: keyId }))).key_info.key_state, '5');
  });
});

describe('replicated Ed25519 keys', () => {
  test('a replica has the same public key and signs with the same private key; each region verifies the other\'s signatures', async () => {
    const keyId = await createKey('ED25519');
    await ok(signedRequest(d.endpoint(R), d.admin, d.projectId(R), 'POST', `/v2/${d.projectId(R)}/kms/keys/${keyId}/replicate`, {
      key_id: keyId, replica_region: S, key_alias: `ed-replica-${++seq}`, replica_project_id: d.projectId(S),
    }));
    const info = (await ok(kms('describe-key', { key_id: keyId }, S))).key_info;
    assert.deepEqual([info.key_spec, info.key_usage, info.key_state], ['ED25519', 'SIGN_VERIFY', '2']);
    assert.deepEqual((await publicKeyOf(keyId, S)).der, (await publicKeyOf(keyId)).der);
    const message = Buffer.from('signed in the other region');
    const there = await signed(keyId, 'ED25519_SHA_512', message, 'RAW', S);
    assert.deepEqual(there, await signed(keyId, 'ED25519_SHA_512', message, 'RAW'), 'deterministic: the same private key');
    assert.equal(await verified(keyId, 'ED25519_SHA_512', message, there, 'RAW'), 'true');
    const ph = await signed(keyId, 'ED25519_PH_SHA_512', sha512(message), 'DIGEST');
    assert.equal(await verified(keyId, 'ED25519_PH_SHA_512', sha512(message), ph, 'DIGEST', S), 'true');
  });
});

describe('create-ec-datakey-pair ECC_NIST_P521', () => {
  test('the private key is a P-521 key whose public key (derived by openssl) is the answered one; it signs with ECDSA SHA-512', async () => {
    const wrapping = await createKey('AES_256');
    for (const withPlainText of [true, false]) {
      const body = await ok(kms('create-ec-datakey-pair', { key_id: wrapping, key_spec: 'ECC_NIST_P521', with_plain_text: withPlainText }));
      assert.equal(body.key_spec, 'ECC_NIST_P521');
      assert.equal('private_key_plain_text' in body, withPlainText);
      const publicKey = Buffer.from(body.public_key, 'base64');
      const opened = Buffer.from((await ok(kms('decrypt-data', { cipher_text: body.private_key_cipher_text }))).plain_text_base64, 'base64');
      if (withPlainText) assert.deepEqual(Buffer.from(body.private_key_plain_text, 'base64'), opened);
      const priv = createPrivateKey({ key: opened, format: 'der', type: 'pkcs8' });
      assert.equal(priv.asymmetricKeyDetails?.namedCurve, 'secp521r1');
      assert.deepEqual(createPublicKey(priv).export({ format: 'der', type: 'spki' }), publicKey);
      if (hasOpenssl) {
        const derived = openssl(['pkey', '-inform', 'DER', '-in', '{in:k.der}', '-pubout', '-outform', 'DER', '-out', '{out}'], { 'k.der': opened }).out;
        assert.deepEqual(derived, publicKey);
      }
      const message = randomBytes(200);
      const signature = nodeSign('sha512', message, priv);
      assert.equal(nodeVerify('sha512', message, { key: publicKey, format: 'der', type: 'spki' }, signature), true);
      assert.equal(nodeVerify('sha512', Buffer.concat([message, Buffer.from([1])]), { key: publicKey, format: 'der', type: 'spki' }, signature), false);
    }
  });
});

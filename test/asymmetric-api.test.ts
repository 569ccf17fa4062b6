/**
 * Key pairs and HMAC keys over the wire (docs/reference/huawei-kms-api.md §3.2–3.3 specs and algorithms; §4 A 4
 * get-publickey, C 15–16 encrypt/decrypt-data with RSA and SM2 keys, D 22–23 data key pairs, E 24–26 sign / verify /
 * derive-shared-secret, F 27–28 MAC; §5.2 codes; §8.4 usage rules; §9 rows 7 and 18): every asymmetric and HMAC
 * spec with every key_usage it allows, every signing algorithm with RAW and DIGEST messages, interoperability with
 * the openssl command (its verifier checks Strongroom's signatures; its encryptor makes ciphertexts Strongroom
 * decrypts), ECDH against node's own computation, data key pairs and the error code of every refusal.
 */
import assert from 'node:assert/strict';
import { constants, createECDH, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { readEcSpki, EC_PUBLIC_KEY_OID } from '../src/crypto/der.js';
import { SM2_CURVE_OID, sm2DeriveSharedSecret, sm2MessageDigest, sm2Sign, sm2Verify } from '../src/crypto/sm2.js';
import { expectError, KEY_ID, startTestDeployment, type Reply, type TestDeployment } from './helpers/deployment.js';
import { hasOpenssl, openssl, opensslStatus, sm2Spki } from './helpers/asym.js';

const R = 'cn-north-4';
const skipOpenssl = !hasOpenssl && 'the openssl command is not installed';

type AsymSpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096' | 'EC_P256' | 'EC_P384' | 'SECP256K1' | 'SM2';
type HmacSpec = 'HMAC_256' | 'HMAC_384' | 'HMAC_512' | 'HMAC_SM3';
type Usage = 'SIGN_VERIFY' | 'ENCRYPT_DECRYPT' | 'KEY_AGREEMENT';

/** §3.3 and §9 row 18: the key_usage values each key-pair spec accepts. */
const ASYM_USAGES: Record<AsymSpec, Usage[]> = {
  RSA_2048: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
  RSA_3072: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
  RSA_4096: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'],
  EC_P256: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  EC_P384: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  SECP256K1: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  SM2: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'KEY_AGREEMENT'],
};
const ASYM_SPECS = Object.keys(ASYM_USAGES) as AsymSpec[];
const RSA_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
const EC_SPECS = ['EC_P256', 'EC_P384', 'SECP256K1'] as const;
const RSA_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;
/** node / OpenSSL names of the EC curves. */
const CURVE = { EC_P256: 'prime256v1', EC_P384: 'secp384r1', SECP256K1: 'secp256k1' } as const;

const HMAC: Record<HmacSpec, { alg: string; bytes: number }> = {
  HMAC_256: { alg: 'HMAC_SHA_256', bytes: 32 },
  HMAC_384: { alg: 'HMAC_SHA_384', bytes: 48 },
  HMAC_512: { alg: 'HMAC_SHA_512', bytes: 64 },
  HMAC_SM3: { alg: 'HMAC_SM3', bytes: 32 },
};
const HMAC_SPECS = Object.keys(HMAC) as HmacSpec[];

interface SigningAlg {
  name: string;
  /** node / openssl digest name. */
  hash: 'sha256' | 'sha384' | 'sha512' | 'sm3';
  pss?: boolean;
}
const RSA_ALGS: SigningAlg[] = [
  { name: 'RSASSA_PSS_SHA_256', hash: 'sha256', pss: true },
  { name: 'RSASSA_PSS_SHA_384', hash: 'sha384', pss: true },
  { name: 'RSASSA_PSS_SHA_512', hash: 'sha512', pss: true },
  { name: 'RSASSA_PKCS1_V1_5_SHA_256', hash: 'sha256' },
  { name: 'RSASSA_PKCS1_V1_5_SHA_384', hash: 'sha384' },
  { name: 'RSASSA_PKCS1_V1_5_SHA_512', hash: 'sha512' },
];
/** The signing algorithms each spec allows (src/core/key-specs.ts, from §3.3). */
const SIGNING: Record<AsymSpec, SigningAlg[]> = {
  RSA_2048: RSA_ALGS,
  RSA_3072: RSA_ALGS,
  RSA_4096: RSA_ALGS,
  EC_P256: [{ name: 'ECDSA_SHA_256', hash: 'sha256' }],
  EC_P384: [{ name: 'ECDSA_SHA_384', hash: 'sha384' }],
  SECP256K1: [{ name: 'ECDSA_SHA_256', hash: 'sha256' }],
  SM2: [{ name: 'SM2DSA_SM3', hash: 'sm3' }],
};

let d: TestDeployment;
let aliasSeq = 0;
/** Key ids by `${spec}/${usage}`, plus 'AES_256' and 'SM4' symmetric keys. */
const K: Record<string, string> = {};
/** Keys created without key_usage, by spec. */
const DEFAULTS: Record<string, string> = {};
const pemCache = new Map<string, string>();

const kms = (op: string, body: object): Promise<Reply> => d.kms(R, op, body);

async function ok(reply: Promise<Reply>): Promise<any> {
  const r = await reply;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function createKey(spec: string, usage?: string): Promise<string> {
  const body = await ok(kms('create-key', { key_alias: `asym-${spec.toLowerCase()}-${++aliasSeq}`, key_spec: spec, ...(usage ? { key_usage: usage } : {}) }));
  assert.match(body.key_info.key_id, KEY_ID);
  return body.key_info.key_id;
}

const key = (spec: string, usage: string): string => {
  const id = K[`${spec}/${usage}`];
  assert.ok(id, `no ${spec}/${usage} key`);
  return id;
};

const b64 = (b: Buffer): string => b.toString('base64');
const digestOf = (hash: string, m: Buffer): Buffer => createHash(hash).update(m).digest();

/** The SPKI DER inside a PEM (either line ending). */
const pemToDer = (pem: string): Buffer => Buffer.from(pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, ''), 'base64');

async function publicPem(keyId: string): Promise<string> {
  let pem = pemCache.get(keyId);
  if (pem === undefined) {
    const body = await ok(kms('get-publickey', { key_id: keyId }));
    assert.equal(body.key_id, keyId);
    pem = body.public_key as string;
    pemCache.set(keyId, pem);
  }
  return pem;
}
const publicDer = async (keyId: string): Promise<Buffer> => pemToDer(await publicPem(keyId));

/** The DIGEST a client sends for `alg`: the hash of the message, or for SM2DSA_SM3 e = SM3(Z ‖ M). */
async function clientDigest(keyId: string, alg: SigningAlg, message: Buffer): Promise<Buffer> {
  return alg.hash === 'sm3' ? sm2MessageDigest(await publicDer(keyId), message) : digestOf(alg.hash, message);
}

async function signB64(keyId: string, algorithm: string, message: Buffer, messageType?: 'RAW' | 'DIGEST'): Promise<string> {
  const body = await ok(kms('sign', { key_id: keyId, signing_algorithm: algorithm, message: b64(message), ...(messageType ? { message_type: messageType } : {}) }));
  assert.deepEqual(Object.keys(body).sort(), ['key_id', 'signature']);
  assert.equal(body.key_id, keyId);
  assert.match(body.signature, /^[A-Za-z0-9+/]+={0,2}$/);
  return body.signature;
}

async function verifies(keyId: string, algorithm: string, message: Buffer, signature: string | Buffer, messageType?: 'RAW' | 'DIGEST'): Promise<string> {
  const body = await ok(kms('verify', {
    key_id: keyId, signing_algorithm: algorithm, message: b64(message), signature: typeof signature === 'string' ? signature : b64(signature),
    ...(messageType ? { message_type: messageType } : {}),
  }));
  assert.equal(body.key_id, keyId);
  assert.equal(typeof body.signature_valid, 'string', 'signature_valid is a string');
  return body.signature_valid;
}

function flipBit(b: Buffer, index: number): Buffer {
  const out = Buffer.from(b);
  out[index < 0 ? out.length + index : index]! ^= 0x01;
  return out;
}

before(async () => {
  d = await startTestDeployment({ regions: [R] });
  for (const spec of ASYM_SPECS) for (const usage of ASYM_USAGES[spec]) K[`${spec}/${usage}`] = await createKey(spec, usage);
  for (const spec of HMAC_SPECS) K[`${spec}/GENERATE_VERIFY_MAC`] = await createKey(spec, 'GENERATE_VERIFY_MAC');
  for (const spec of [...ASYM_SPECS, ...HMAC_SPECS]) DEFAULTS[spec] = await createKey(spec);
  K.AES_256 = await createKey('AES_256');
  K.SM4 = await createKey('SM4');
});
after(() => d.stop());

describe('create-key: asymmetric and HMAC specs and their key_usage', () => {
  test('every implemented spec with every allowed key_usage is created enabled, and describe-key shows spec and usage', async () => {
    const combos = [
      ...ASYM_SPECS.flatMap((spec) => ASYM_USAGES[spec].map((usage) => [spec, usage] as const)),
      ...HMAC_SPECS.map((spec) => [spec, 'GENERATE_VERIFY_MAC'] as const),
    ];
    assert.equal(combos.length, 19);
    for (const [spec, usage] of combos) {
      const info = (await ok(kms('describe-key', { key_id: key(spec, usage) }))).key_info;
      assert.equal(info.key_spec, spec);
      assert.equal(info.key_usage, usage, `${spec}/${usage}`);
      assert.equal(info.key_state, '2', `${spec}/${usage}`);
      assert.equal(info.origin, 'kms');
    }
  });

  test('without key_usage, key pairs default to SIGN_VERIFY and HMAC keys to GENERATE_VERIFY_MAC (§3.3, §9 row 7)', async () => {
    for (const spec of ASYM_SPECS) {
      const info = (await ok(kms('describe-key', { key_id: DEFAULTS[spec]! }))).key_info;
      assert.deepEqual([info.key_spec, info.key_usage], [spec, 'SIGN_VERIFY']);
    }
    for (const spec of HMAC_SPECS) {
      const info = (await ok(kms('describe-key', { key_id: DEFAULTS[spec]! }))).key_info;
      assert.deepEqual([info.key_spec, info.key_usage], [spec, 'GENERATE_VERIFY_MAC']);
    }
    // the default-usage keys really behave as such
    const msg = digestOf('sha256', Buffer.from('default usage'));
    const sig = await signB64(DEFAULTS.EC_P256!, 'ECDSA_SHA_256', msg);
    assert.equal(await verifies(DEFAULTS.EC_P256!, 'ECDSA_SHA_256', msg, sig), 'true');
    const mac = await ok(kms('generate-mac', { key_id: DEFAULTS.HMAC_256!, mac_algorithm: 'HMAC_SHA_256', message: b64(Buffer.from('x')) }));
    assert.equal(Buffer.from(mac.mac, 'hex').length, 32);
  });

  test('combinations a spec does not allow are KMS.0308, and the alias stays free', async () => {
    const refused: [string, string][] = [
      ['EC_P256', 'ENCRYPT_DECRYPT'],
      ['EC_P384', 'ENCRYPT_DECRYPT'],
      ['SECP256K1', 'ENCRYPT_DECRYPT'],
      ['HMAC_256', 'ENCRYPT_DECRYPT'],
      ['HMAC_384', 'SIGN_VERIFY'],
      ['HMAC_SM3', 'KEY_AGREEMENT'],
      ['RSA_2048', 'KEY_AGREEMENT'],
      ['RSA_3072', 'GENERATE_VERIFY_MAC'],
      ['SM2', 'GENERATE_VERIFY_MAC'],
      ['AES_256', 'SIGN_VERIFY'],
      ['SM4', 'KEY_AGREEMENT'],
      ['EC_P256', 'NOT_A_USAGE'],
    ];
    for (const [spec, usage] of refused) {
      const alias = `asym-refused-${++aliasSeq}`;
      expectError(await kms('create-key', { key_alias: alias, key_spec: spec, key_usage: usage }), 400, 'KMS.0308');
      // nothing was left behind under the alias
      const again = await ok(kms('create-key', { key_alias: alias, key_spec: 'AES_256' }));
      assert.match(again.key_info.key_id, KEY_ID);
    }
  });

  test('unknown specs are KMS.0308 (EC_P521 too: Huawei has P-521 data key pairs only; ED25519 is in ed25519-api.test.ts)', async () => {
    expectError(await kms('create-key', { key_alias: `asym-rsa1024-${++aliasSeq}`, key_spec: 'RSA_1024' }), 400, 'KMS.0308');
    expectError(await kms('create-key', { key_alias: `asym-p521-${++aliasSeq}`, key_spec: 'EC_P521' }), 400, 'KMS.0308');
  });
});

describe('get-publickey', () => {
  test('every key pair (every usage) has a CRLF PEM SubjectPublicKeyInfo of its own size or curve', async () => {
    for (const spec of ASYM_SPECS) {
      for (const usage of ASYM_USAGES[spec]) {
        const id = key(spec, usage);
        const body = await ok(kms('get-publickey', { key_id: id }));
        assert.deepEqual(Object.keys(body).sort(), ['key_id', 'public_key']);
        const pem: string = body.public_key;
        // Huawei's example: CRLF line ends, 64-character Base64 lines, no bare LF
        assert.match(pem, /^-----BEGIN PUBLIC KEY-----\r\n(?:[A-Za-z0-9+/=]{64}\r\n)*[A-Za-z0-9+/=]{1,64}\r\n-----END PUBLIC KEY-----(?:\r\n)?$/);
        assert.doesNotMatch(pem.replace(/\r\n/g, ''), /\n/);
        const der = pemToDer(pem);
        if (spec.startsWith('RSA_')) {
          const k = createPublicKey(pem);
          assert.equal(k.asymmetricKeyType, 'rsa');
          assert.equal(k.asymmetricKeyDetails?.modulusLength, RSA_BITS[spec as keyof typeof RSA_BITS]);
        } else if (spec === 'SM2') {
          const { algorithm, curve, point } = readEcSpki(der);
          assert.deepEqual([algorithm, curve, point.length, point[0]], [EC_PUBLIC_KEY_OID, SM2_CURVE_OID, 65, 0x04]);
        } else {
          const k = createPublicKey(pem);
          assert.equal(k.asymmetricKeyType, 'ec');
          assert.equal(k.asymmetricKeyDetails?.namedCurve, CURVE[spec as keyof typeof CURVE]);
        }
      }
    }
  });

  test('different keys of one spec have different public keys; the same key always the same one', async () => {
    const a = (await ok(kms('get-publickey', { key_id: key('EC_P256', 'SIGN_VERIFY') }))).public_key;
    const b = (await ok(kms('get-publickey', { key_id: key('EC_P256', 'SIGN_VERIFY') }))).public_key;
    const c = (await ok(kms('get-publickey', { key_id: DEFAULTS.EC_P256! }))).public_key;
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  test('symmetric keys are KMS.0331, HMAC keys KMS.0341, unknown keys KMS.0207, a missing key_id KMS.0204', async () => {
    expectError(await kms('get-publickey', { key_id: K.AES_256! }), 400, 'KMS.0331');
    expectError(await kms('get-publickey', { key_id: K.SM4! }), 400, 'KMS.0331');
    for (const spec of HMAC_SPECS) expectError(await kms('get-publickey', { key_id: key(spec, 'GENERATE_VERIFY_MAC') }), 400, 'KMS.0341');
    expectError(await kms('get-publickey', { key_id: '00000000-0000-0000-0000-000000000000' }), 404, 'KMS.0207');
    expectError(await kms('get-publickey', {}), 400, 'KMS.0204');
  });
});

describe('sign / verify', () => {
  const message = Buffer.from('Strongroom signs this message. ✓\n');

  for (const spec of ASYM_SPECS) {
    for (const alg of SIGNING[spec]) {
      test(`${spec} ${alg.name}: RAW and DIGEST signatures verify both ways; DIGEST is the default message_type`, async () => {
        const id = key(spec, 'SIGN_VERIFY');
        const digest = await clientDigest(id, alg, message);
        const rawSig = await signB64(id, alg.name, message, 'RAW');
        const digestSig = await signB64(id, alg.name, digest, 'DIGEST');
        const defaultSig = await signB64(id, alg.name, digest); // message_type omitted: a digest
        for (const sig of [rawSig, digestSig, defaultSig]) {
          assert.equal(await verifies(id, alg.name, message, sig, 'RAW'), 'true');
          assert.equal(await verifies(id, alg.name, digest, sig, 'DIGEST'), 'true');
          assert.equal(await verifies(id, alg.name, digest, sig), 'true');
        }
        if (spec.startsWith('RSA_') && !alg.pss) {
          // PKCS#1 v1.5 is deterministic: signing the message or its digest is the same signature
          assert.equal(rawSig, digestSig);
          assert.equal(defaultSig, digestSig);
        }
        // the signature checks out with node's own verifier as well
        if (spec !== 'SM2') {
          const pub = createPublicKey(await publicPem(id));
          const opts = alg.pss ? { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO } : { key: pub, dsaEncoding: 'der' as const };
          assert.equal(nodeVerify(alg.hash, message, opts, Buffer.from(rawSig, 'base64')), true);
        } else {
          assert.equal(sm2Verify(await publicDer(id), message, Buffer.from(digestSig, 'base64')), true);
        }
      });

      test(`${spec} ${alg.name}: a tampered message or signature verifies as "false"`, async () => {
        const id = key(spec, 'SIGN_VERIFY');
        const digest = await clientDigest(id, alg, message);
        const sig = Buffer.from(await signB64(id, alg.name, message, 'RAW'), 'base64');
        const other = Buffer.from(message);
        other[0]! ^= 0x20;
        assert.equal(await verifies(id, alg.name, other, sig, 'RAW'), 'false');
        assert.equal(await verifies(id, alg.name, flipBit(digest, 5), sig, 'DIGEST'), 'false');
        assert.equal(await verifies(id, alg.name, message, flipBit(sig, sig.length >> 1), 'RAW'), 'false');
        assert.equal(await verifies(id, alg.name, message, flipBit(sig, -1), 'RAW'), 'false');
        // a signature by another key of the same spec does not verify
        const foreign = await signB64(DEFAULTS[spec]!, alg.name, message, 'RAW');
        assert.equal(await verifies(id, alg.name, message, foreign, 'RAW'), 'false');
        // malformed signatures are "false", not errors
        for (const bad of [Buffer.alloc(0), Buffer.from([0]), randomBytes(64), sig.subarray(0, sig.length - 1), Buffer.concat([sig, Buffer.from([0])]), randomBytes(1024)]) {
          assert.equal(await verifies(id, alg.name, message, bad, 'RAW'), 'false', `RAW, ${bad.length}-byte signature`);
          assert.equal(await verifies(id, alg.name, digest, bad, 'DIGEST'), 'false', `DIGEST, ${bad.length}-byte signature`);
        }
      });
    }
  }

  test('SM2DSA_SM3 DIGEST means e = SM3(Z ‖ M): a signature over plain SM3(M) does not verify the message', async () => {
    const id = key('SM2', 'SIGN_VERIFY');
    const plainSm3 = digestOf('sm3', message);
    const sig = await signB64(id, 'SM2DSA_SM3', plainSm3, 'DIGEST');
    assert.equal(await verifies(id, 'SM2DSA_SM3', plainSm3, sig, 'DIGEST'), 'true');
    assert.equal(await verifies(id, 'SM2DSA_SM3', message, sig, 'RAW'), 'false');
    assert.equal(sm2Verify(await publicDer(id), message, Buffer.from(sig, 'base64')), false);
  });

  test('a RAW message of 4095 bytes signs; 4096 bytes and an empty message are KMS.0308', async () => {
    const id = key('EC_P256', 'SIGN_VERIFY');
    const big = randomBytes(4095);
    const sig = await signB64(id, 'ECDSA_SHA_256', big, 'RAW');
    assert.equal(await verifies(id, 'ECDSA_SHA_256', big, sig, 'RAW'), 'true');
    expectError(await kms('sign', { key_id: id, signing_algorithm: 'ECDSA_SHA_256', message_type: 'RAW', message: b64(randomBytes(4096)) }), 400, 'KMS.0308');
    expectError(await kms('verify', { key_id: id, signing_algorithm: 'ECDSA_SHA_256', message_type: 'RAW', message: b64(randomBytes(4096)), signature: sig }), 400, 'KMS.0308');
    expectError(await kms('sign', { key_id: id, signing_algorithm: 'ECDSA_SHA_256', message_type: 'RAW', message: '' }), 400, 'KMS.0308');
  });

  test('keys that do not sign: symmetric KMS.1115, HMAC KMS.0341, ENCRYPT_DECRYPT KMS.0334, KEY_AGREEMENT KMS.0308', async () => {
    const digest = b64(digestOf('sha256', message));
    const sign = (id: string, alg: string) => kms('sign', { key_id: id, signing_algorithm: alg, message: digest });
    const verify = (id: string, alg: string) => kms('verify', { key_id: id, signing_algorithm: alg, message: digest, signature: b64(randomBytes(64)) });
    for (const call of [sign, verify]) {
      expectError(await call(K.AES_256!, 'RSASSA_PSS_SHA_256'), 400, 'KMS.1115');
      expectError(await call(K.SM4!, 'SM2DSA_SM3'), 400, 'KMS.1115');
      expectError(await call(key('HMAC_256', 'GENERATE_VERIFY_MAC'), 'ECDSA_SHA_256'), 400, 'KMS.0341');
      expectError(await call(key('RSA_2048', 'ENCRYPT_DECRYPT'), 'RSASSA_PSS_SHA_256'), 400, 'KMS.0334');
      expectError(await call(key('SM2', 'ENCRYPT_DECRYPT'), 'SM2DSA_SM3'), 400, 'KMS.0334');
      expectError(await call(key('EC_P256', 'KEY_AGREEMENT'), 'ECDSA_SHA_256'), 400, 'KMS.0308');
      expectError(await call(key('SM2', 'KEY_AGREEMENT'), 'SM2DSA_SM3'), 400, 'KMS.0308');
    }
  });

  test('an algorithm the key does not allow is KMS.0332', async () => {
    const cases: [string, string, number][] = [
      ['EC_P256', 'ECDSA_SHA_384', 48],
      ['EC_P256', 'ECDSA_SHA_512', 64],
      // ECDSA_SHA_512 pairs with no key spec (Huawei has no P-521 keys); the Ed25519 algorithms with Ed25519 keys only
      ['EC_P384', 'ECDSA_SHA_512', 64],
      ['SECP256K1', 'ECDSA_SHA_512', 64],
      ['EC_P256', 'ED25519_SHA_512', 64],
      ['RSA_2048', 'ED25519_PH_SHA_512', 64],
      ['SM2', 'ED25519_PH_SHA_512', 64],
      ['EC_P384', 'ECDSA_SHA_256', 32],
      ['SECP256K1', 'ECDSA_SHA_384', 48],
      ['SM2', 'RSASSA_PSS_SHA_256', 32],
      ['SM2', 'ECDSA_SHA_256', 32],
      ['RSA_2048', 'ECDSA_SHA_256', 32],
      ['RSA_3072', 'SM2DSA_SM3', 32],
      ['EC_P256', 'SM2DSA_SM3', 32],
      ['EC_P384', 'RSASSA_PKCS1_V1_5_SHA_384', 48],
    ];
    for (const [spec, alg, len] of cases) {
      const body = { key_id: key(spec, 'SIGN_VERIFY'), signing_algorithm: alg, message: b64(randomBytes(len)) };
      expectError(await kms('sign', body), 400, 'KMS.0332');
      expectError(await kms('verify', { ...body, signature: b64(randomBytes(64)) }), 400, 'KMS.0332');
    }
  });

  test('a DIGEST whose length does not match the hash is KMS.0329 (also when message_type is left to default)', async () => {
    const cases: [string, string, number][] = [
      ['RSA_2048', 'RSASSA_PSS_SHA_256', 48],
      ['RSA_2048', 'RSASSA_PKCS1_V1_5_SHA_512', 32],
      ['RSA_3072', 'RSASSA_PSS_SHA_384', 64],
      ['EC_P256', 'ECDSA_SHA_256', 31],
      ['EC_P384', 'ECDSA_SHA_384', 32],
      ['SECP256K1', 'ECDSA_SHA_256', 33],
      ['SM2', 'SM2DSA_SM3', 20],
    ];
    for (const [spec, alg, len] of cases) {
      const base = { key_id: key(spec, 'SIGN_VERIFY'), signing_algorithm: alg, message: b64(randomBytes(len)) };
      expectError(await kms('sign', { ...base, message_type: 'DIGEST' }), 400, 'KMS.0329');
      expectError(await kms('sign', base), 400, 'KMS.0329');
      expectError(await kms('verify', { ...base, signature: b64(randomBytes(64)) }), 400, 'KMS.0329');
    }
    // a raw message signed without message_type is taken for a digest
    expectError(await kms('sign', { key_id: key('EC_P256', 'SIGN_VERIFY'), signing_algorithm: 'ECDSA_SHA_256', message: b64(message) }), 400, 'KMS.0329');
  });

  test('malformed requests: unknown algorithm, bad message_type, non-Base64 message or signature → KMS.0308; missing fields → KMS.0204', async () => {
    const id = key('RSA_2048', 'SIGN_VERIFY');
    const digest = b64(digestOf('sha256', message));
    const sig = await signB64(id, 'RSASSA_PSS_SHA_256', digestOf('sha256', message));
    for (const op of ['sign', 'verify']) {
      const base = { key_id: id, signing_algorithm: 'RSASSA_PSS_SHA_256', message: digest, ...(op === 'verify' ? { signature: sig } : {}) };
      assert.equal((await kms(op, base)).status, 200);
      expectError(await kms(op, { ...base, signing_algorithm: 'RSASSA_PSS_SHA_1' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, signing_algorithm: 'rsassa_pss_sha_256' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, signing_algorithm: 'ED25519' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, signing_algorithm: 'ED448_SHAKE_256' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, message_type: 'raw' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, message_type: 'HASH' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, message: 'not base64!' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, message: digest.slice(0, -1) }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, message: 12345 }), 400, 'KMS.0308');
      const { signing_algorithm: _a, ...noAlg } = base;
      expectError(await kms(op, noAlg), 400, 'KMS.0204');
      const { message: _m, ...noMessage } = base;
      expectError(await kms(op, noMessage), 400, 'KMS.0204');
      const { key_id: _k, ...noKey } = base;
      expectError(await kms(op, noKey), 400, 'KMS.0204');
      expectError(await kms(op, { ...base, key_id: 'not-a-key-id' }), 400, 'KMS.0205');
      expectError(await kms(op, { ...base, key_id: '00000000-0000-0000-0000-000000000000' }), 404, 'KMS.0207');
    }
    expectError(await kms('verify', { key_id: id, signing_algorithm: 'RSASSA_PSS_SHA_256', message: digest }), 400, 'KMS.0204');
    expectError(await kms('verify', { key_id: id, signing_algorithm: 'RSASSA_PSS_SHA_256', message: digest, signature: 'sig%%' }), 400, 'KMS.0308');
  });

  test('a disabled key is KMS.0209 and signs again once enabled; a key pending deletion is KMS.0210', async () => {
    const id = await createKey('EC_P256', 'SIGN_VERIFY');
    const digest = digestOf('sha256', message);
    const sig = await signB64(id, 'ECDSA_SHA_256', digest);
    await ok(kms('disable-key', { key_id: id }));
    expectError(await kms('sign', { key_id: id, signing_algorithm: 'ECDSA_SHA_256', message: b64(digest) }), 400, 'KMS.0209');
    expectError(await kms('verify', { key_id: id, signing_algorithm: 'ECDSA_SHA_256', message: b64(digest), signature: sig }), 400, 'KMS.0209');
    await ok(kms('enable-key', { key_id: id }));
    assert.equal(await verifies(id, 'ECDSA_SHA_256', digest, sig), 'true');
    await ok(kms('schedule-key-deletion', { key_id: id, pending_days: '7' }));
    expectError(await kms('sign', { key_id: id, signing_algorithm: 'ECDSA_SHA_256', message: b64(digest) }), 400, 'KMS.0210');
  });
});

describe('interoperability with the openssl command', { skip: skipOpenssl }, () => {
  const message = Buffer.from('Verify me with openssl.\r\nSecond line, bytes as they are: \u00e9\u4e2d\n');

  test('every public key PEM (CRLF) parses with openssl as the right key type', async () => {
    const expected: Record<AsymSpec, RegExp> = {
      RSA_2048: /Public-Key: \(2048 bit\)/,
      RSA_3072: /Public-Key: \(3072 bit\)/,
      RSA_4096: /Public-Key: \(4096 bit\)/,
      EC_P256: /ASN1 OID: prime256v1/,
      EC_P384: /ASN1 OID: secp384r1/,
      SECP256K1: /ASN1 OID: secp256k1/,
      SM2: /ASN1 OID: SM2/,
    };
    for (const spec of ASYM_SPECS) {
      for (const usage of ASYM_USAGES[spec]) {
        const pem = await publicPem(key(spec, usage));
        assert.ok(pem.includes('\r\n'), `${spec}/${usage}: the PEM has CRLF line ends`);
        const text = openssl(['pkey', '-pubin', '-in', '{in:pub.pem}', '-noout', '-text'], { 'pub.pem': Buffer.from(pem) }).stdout;
        assert.match(text, expected[spec], `${spec}/${usage}`);
        // openssl reads the same key bytes
        const der = openssl(['pkey', '-pubin', '-in', '{in:pub.pem}', '-outform', 'DER', '-out', '{out}'], { 'pub.pem': Buffer.from(pem) }).out;
        assert.deepEqual(der, pemToDer(pem));
      }
    }
  });

  for (const spec of [...RSA_SPECS, ...EC_SPECS]) {
    for (const alg of SIGNING[spec]) {
      test(`openssl dgst -${alg.hash} -verify accepts ${spec} ${alg.name} signatures (RAW and DIGEST)`, async () => {
        const id = key(spec, 'SIGN_VERIFY');
        const pem = Buffer.from(await publicPem(id));
        const pss = alg.pss ? ['-sigopt', 'rsa_padding_mode:pss'] : [];
        const verifyArgs = ['dgst', `-${alg.hash}`, '-verify', '{in:pub.pem}', '-signature', '{in:sig}', ...pss, '{in:msg}'];
        for (const sig of [await signB64(id, alg.name, message, 'RAW'), await signB64(id, alg.name, digestOf(alg.hash, message))]) {
          const files = { 'pub.pem': pem, sig: Buffer.from(sig, 'base64'), msg: message };
          assert.match(openssl(verifyArgs, files).stdout, /Verified OK/);
          assert.equal(opensslStatus(verifyArgs, { ...files, msg: Buffer.concat([message, Buffer.from('!')]) }), 1);
          if (alg.pss) {
            // the salt is as long as the hash (what strict verifiers expect by default)
            assert.equal(opensslStatus([...verifyArgs.slice(0, -1), '-sigopt', 'rsa_pss_saltlen:digest', '{in:msg}'], files), 0);
          }
        }
      });
    }
  }

  test('openssl pkeyutl -verify (SM3, distid 1234567812345678) accepts SM2DSA_SM3 signatures (RAW and DIGEST)', async () => {
    const id = key('SM2', 'SIGN_VERIFY');
    const pem = Buffer.from(await publicPem(id));
    const verifyArgs = (distid: string) => ['pkeyutl', '-verify', '-pubin', '-inkey', '{in:pub.pem}', '-rawin', '-digest', 'sm3', '-pkeyopt', `distid:${distid}`, '-in', '{in:msg}', '-sigfile', '{in:sig}'];
    const e = sm2MessageDigest(await publicDer(id), message);
    for (const sig of [await signB64(id, 'SM2DSA_SM3', message, 'RAW'), await signB64(id, 'SM2DSA_SM3', e, 'DIGEST')]) {
      const files = { 'pub.pem': pem, sig: Buffer.from(sig, 'base64'), msg: message };
      assert.match(openssl(verifyArgs('1234567812345678'), files).stdout, /Signature Verified Successfully/);
      assert.equal(opensslStatus(verifyArgs('1234567812345678'), { ...files, msg: Buffer.from('another message') }), 1);
      assert.equal(opensslStatus(verifyArgs('8765432187654321'), files), 1, 'another distinguishing ID changes Z');
    }
  });

  for (const [md, alg] of [['sha256', 'RSAES_OAEP_SHA_256'], ['sha1', 'RSAES_OAEP_SHA_1']] as const) {
    test(`openssl pkeyutl -encrypt (OAEP, ${md}) to an RSA ENCRYPT_DECRYPT public key decrypts through decrypt-data ${alg}`, async () => {
      for (const spec of RSA_SPECS) {
        const id = key(spec, 'ENCRYPT_DECRYPT');
        const plain = randomBytes(64);
        const cipher = openssl(
          ['pkeyutl', '-encrypt', '-pubin', '-inkey', '{in:pub.pem}', '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${md}`, '-in', '{in:plain}', '-out', '{out}'],
          { 'pub.pem': Buffer.from(await publicPem(id)), plain },
        ).out;
        assert.equal(cipher.length, RSA_BITS[spec] / 8);
        const dec = await ok(kms('decrypt-data', { key_id: id, encryption_algorithm: alg, cipher_text: b64(cipher) }));
        assert.equal(dec.key_id, id);
        assert.equal(dec.plain_text_base64, b64(plain));
        // the other OAEP hash does not open it
        expectError(await kms('decrypt-data', { key_id: id, encryption_algorithm: alg === 'RSAES_OAEP_SHA_256' ? 'RSAES_OAEP_SHA_1' : 'RSAES_OAEP_SHA_256', cipher_text: b64(cipher) }), 400, 'KMS.0311');
      }
    });
  }

  test('openssl pkeyutl -encrypt to an SM2 ENCRYPT_DECRYPT public key writes GM/T 0009 ASN.1, which decrypt-data SM2_ENCRYPT opens', async () => {
    const id = key('SM2', 'ENCRYPT_DECRYPT');
    const plain = Buffer.from('SM2 plaintext from openssl: 国密');
    const cipher = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', '{in:sm2pub.pem}', '-in', '{in:plain}', '-out', '{out}'], { 'sm2pub.pem': Buffer.from(await publicPem(id)), plain }).out;
    // SEQUENCE { x INTEGER, y INTEGER, C3 OCTET STRING (32 bytes SM3), C2 OCTET STRING (as long as the plaintext) }
    const parsed = openssl(['asn1parse', '-inform', 'DER', '-in', '{in:c}'], { c: cipher }).stdout.trim().split('\n');
    assert.equal(parsed.length, 5, parsed.join('\n'));
    assert.match(parsed[0]!, /d=0 .* cons: SEQUENCE/);
    assert.match(parsed[1]!, /d=1 .* prim: INTEGER/);
    assert.match(parsed[2]!, /d=1 .* prim: INTEGER/);
    assert.match(parsed[3]!, /d=1 .* l= {2}32 prim: OCTET STRING/);
    assert.match(parsed[4]!, new RegExp(`d=1 .* l= *${plain.length} prim: OCTET STRING`));
    const dec = await ok(kms('decrypt-data', { key_id: id, encryption_algorithm: 'SM2_ENCRYPT', cipher_text: b64(cipher) }));
    assert.equal(dec.plain_text, plain.toString('utf8'));
    assert.equal(dec.plain_text_base64, b64(plain));
    // and Strongroom's own SM2 ciphertext has the same ASN.1 shape
    const ours = Buffer.from((await ok(kms('encrypt-data', { key_id: id, encryption_algorithm: 'SM2_ENCRYPT', plain_text: 'abc' }))).cipher_text, 'base64');
    const oursParsed = openssl(['asn1parse', '-inform', 'DER', '-in', '{in:c}'], { c: ours }).stdout.trim().split('\n');
    assert.equal(oursParsed.length, 5);
    assert.match(oursParsed[3]!, /l= {2}32 prim: OCTET STRING/);
    assert.match(oursParsed[4]!, /l= {3}3 prim: OCTET STRING/);
  });
});

describe('encrypt-data / decrypt-data with RSA and SM2 keys', () => {
  test('RSA keys round trip with RSAES_OAEP_SHA_1 and RSAES_OAEP_SHA_256; the ciphertext is one modulus long', async () => {
    for (const spec of RSA_SPECS) {
      const id = key(spec, 'ENCRYPT_DECRYPT');
      for (const alg of ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256']) {
        const plain = `secret for ${spec} ${alg}: ünïcødé`;
        const enc = await ok(kms('encrypt-data', { key_id: id, encryption_algorithm: alg, plain_text: plain }));
        assert.deepEqual(Object.keys(enc).sort(), ['cipher_text', 'key_id']);
        assert.equal(enc.key_id, id);
        assert.equal(Buffer.from(enc.cipher_text, 'base64').length, RSA_BITS[spec] / 8);
        const again = await ok(kms('encrypt-data', { key_id: id, encryption_algorithm: alg, plain_text: plain }));
        assert.notEqual(again.cipher_text, enc.cipher_text, 'OAEP is randomised');
        const dec = await ok(kms('decrypt-data', { key_id: id, encryption_algorithm: alg, cipher_text: enc.cipher_text }));
        assert.deepEqual(dec, { key_id: id, plain_text: plain, plain_text_base64: b64(Buffer.from(plain)) });
      }
    }
  });

  test('SM2 keys round trip with SM2_ENCRYPT, from 1 byte to 4096 bytes', async () => {
    const id = key('SM2', 'ENCRYPT_DECRYPT');
    for (const plain of ['x', 'SM2 加密 round trip', 'z'.repeat(4096)]) {
      const enc = await ok(kms('encrypt-data', { key_id: id, encryption_algorithm: 'SM2_ENCRYPT', plain_text: plain }));
      assert.equal(enc.key_id, id);
      const dec = await ok(kms('decrypt-data', { key_id: id, encryption_algorithm: 'SM2_ENCRYPT', cipher_text: enc.cipher_text }));
      assert.equal(dec.plain_text, plain);
      assert.equal(dec.plain_text_base64, b64(Buffer.from(plain)));
    }
  });

  test('plaintext over the OAEP limit is KMS.2108 (RSA_2048: 190 bytes with SHA-256, 214 with SHA-1; RSA_4096: 446 with SHA-256)', async () => {
    const limits: [string, string, number][] = [
      ['RSA_2048', 'RSAES_OAEP_SHA_256', 190],
      ['RSA_2048', 'RSAES_OAEP_SHA_1', 214],
      ['RSA_3072', 'RSAES_OAEP_SHA_256', 318],
      ['RSA_4096', 'RSAES_OAEP_SHA_256', 446],
    ];
    for (const [spec, alg, max] of limits) {
      const id = key(spec, 'ENCRYPT_DECRYPT');
      const enc = await ok(kms('encrypt-data', { key_id: id, encryption_algorithm: alg, plain_text: 'a'.repeat(max) }));
      assert.equal((await ok(kms('decrypt-data', { key_id: id, encryption_algorithm: alg, cipher_text: enc.cipher_text }))).plain_text, 'a'.repeat(max));
      expectError(await kms('encrypt-data', { key_id: id, encryption_algorithm: alg, plain_text: 'a'.repeat(max + 1) }), 400, 'KMS.2108');
    }
    // counted in UTF-8 bytes: 95 two-byte characters are 190 bytes, 96 are too many
    const id = key('RSA_2048', 'ENCRYPT_DECRYPT');
    assert.equal((await kms('encrypt-data', { key_id: id, encryption_algorithm: 'RSAES_OAEP_SHA_256', plain_text: 'é'.repeat(95) })).status, 200);
    expectError(await kms('encrypt-data', { key_id: id, encryption_algorithm: 'RSAES_OAEP_SHA_256', plain_text: 'é'.repeat(96) }), 400, 'KMS.2108');
  });

  test('an algorithm the key does not use: KMS.2106 for key pairs, KMS.2105 for symmetric keys, KMS.0308 for unknown names', async () => {
    const rsa = key('RSA_2048', 'ENCRYPT_DECRYPT');
    const sm2 = key('SM2', 'ENCRYPT_DECRYPT');
    expectError(await kms('encrypt-data', { key_id: rsa, plain_text: 'x' }), 400, 'KMS.2106'); // SYMMETRIC_DEFAULT by default
    expectError(await kms('encrypt-data', { key_id: rsa, plain_text: 'x', encryption_algorithm: 'SYMMETRIC_DEFAULT' }), 400, 'KMS.2106');
    expectError(await kms('encrypt-data', { key_id: rsa, plain_text: 'x', encryption_algorithm: 'SM2_ENCRYPT' }), 400, 'KMS.2106');
    expectError(await kms('encrypt-data', { key_id: sm2, plain_text: 'x', encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.2106');
    expectError(await kms('encrypt-data', { key_id: sm2, plain_text: 'x' }), 400, 'KMS.2106');
    expectError(await kms('encrypt-data', { key_id: K.AES_256!, plain_text: 'x', encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.2105');
    expectError(await kms('encrypt-data', { key_id: rsa, plain_text: 'x', encryption_algorithm: 'RSAES_OAEP_SHA_512' }), 400, 'KMS.0308');
    const enc = await ok(kms('encrypt-data', { key_id: rsa, plain_text: 'x', encryption_algorithm: 'RSAES_OAEP_SHA_256' }));
    expectError(await kms('decrypt-data', { key_id: rsa, cipher_text: enc.cipher_text }), 400, 'KMS.2106');
    expectError(await kms('decrypt-data', { key_id: rsa, cipher_text: enc.cipher_text, encryption_algorithm: 'SM2_ENCRYPT' }), 400, 'KMS.2106');
  });

  test('keys that do not encrypt: EC KMS.1114, SIGN_VERIFY KMS.0335, SM2 KEY_AGREEMENT KMS.0308, HMAC KMS.0341', async () => {
    const cipher = (await ok(kms('encrypt-data', { key_id: key('RSA_2048', 'ENCRYPT_DECRYPT'), plain_text: 'x', encryption_algorithm: 'RSAES_OAEP_SHA_256' }))).cipher_text;
    const cases: [string, string, string][] = [
      [key('EC_P256', 'SIGN_VERIFY'), 'RSAES_OAEP_SHA_256', 'KMS.1114'],
      [key('EC_P384', 'KEY_AGREEMENT'), 'SM2_ENCRYPT', 'KMS.1114'],
      [key('SECP256K1', 'SIGN_VERIFY'), 'RSAES_OAEP_SHA_256', 'KMS.1114'],
      [key('RSA_2048', 'SIGN_VERIFY'), 'RSAES_OAEP_SHA_256', 'KMS.0335'],
      [key('RSA_4096', 'SIGN_VERIFY'), 'RSAES_OAEP_SHA_1', 'KMS.0335'],
      [key('SM2', 'SIGN_VERIFY'), 'SM2_ENCRYPT', 'KMS.0335'],
      [key('SM2', 'KEY_AGREEMENT'), 'SM2_ENCRYPT', 'KMS.0308'],
    ];
    for (const [id, alg, code] of cases) {
      expectError(await kms('encrypt-data', { key_id: id, plain_text: 'x', encryption_algorithm: alg }), 400, code);
      expectError(await kms('decrypt-data', { key_id: id, cipher_text: cipher, encryption_algorithm: alg }), 400, code);
    }
    expectError(await kms('encrypt-data', { key_id: key('HMAC_256', 'GENERATE_VERIFY_MAC'), plain_text: 'x' }), 400, 'KMS.0341');
    expectError(await kms('encrypt-data', { key_id: key('HMAC_SM3', 'GENERATE_VERIFY_MAC'), plain_text: 'x', encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0341');
  });

  test('decrypting an asymmetric ciphertext: key_id is required (KMS.0204); without it and an algorithm, it is not a KMS blob (KMS.2201)', async () => {
    const id = key('RSA_2048', 'ENCRYPT_DECRYPT');
    const enc = await ok(kms('encrypt-data', { key_id: id, plain_text: 'needs the key id', encryption_algorithm: 'RSAES_OAEP_SHA_256' }));
    expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0204');
    expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text, encryption_algorithm: 'SM2_ENCRYPT' }), 400, 'KMS.0204');
    expectError(await kms('decrypt-data', { cipher_text: enc.cipher_text }), 400, 'KMS.2201');
  });

  test('a tampered RSA ciphertext, or one for another key, is KMS.0311; a tampered SM2 ciphertext is KMS.2201', async () => {
    const id = key('RSA_2048', 'ENCRYPT_DECRYPT');
    const enc = Buffer.from((await ok(kms('encrypt-data', { key_id: id, plain_text: 'tamper me', encryption_algorithm: 'RSAES_OAEP_SHA_256' }))).cipher_text, 'base64');
    for (const at of [0, 100, enc.length - 1]) {
      expectError(await kms('decrypt-data', { key_id: id, cipher_text: b64(flipBit(enc, at)), encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0311');
    }
    expectError(await kms('decrypt-data', { key_id: id, cipher_text: b64(randomBytes(512)), encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0311');
    expectError(await kms('decrypt-data', { key_id: id, cipher_text: b64(randomBytes(100)), encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0311');
    // an RSA_2048 ENCRYPT_DECRYPT key of another alias cannot open it either
    const other = await createKey('RSA_2048', 'ENCRYPT_DECRYPT');
    expectError(await kms('decrypt-data', { key_id: other, cipher_text: b64(enc), encryption_algorithm: 'RSAES_OAEP_SHA_256' }), 400, 'KMS.0311');

    const sm2 = key('SM2', 'ENCRYPT_DECRYPT');
    const sm2Enc = Buffer.from((await ok(kms('encrypt-data', { key_id: sm2, plain_text: 'tamper me too', encryption_algorithm: 'SM2_ENCRYPT' }))).cipher_text, 'base64');
    for (const at of [10, sm2Enc.length - 20, sm2Enc.length - 1]) {
      expectError(await kms('decrypt-data', { key_id: sm2, cipher_text: b64(flipBit(sm2Enc, at)), encryption_algorithm: 'SM2_ENCRYPT' }), 400, 'KMS.2201');
    }
    expectError(await kms('decrypt-data', { key_id: sm2, cipher_text: b64(randomBytes(200)), encryption_algorithm: 'SM2_ENCRYPT' }), 400, 'KMS.2201');
  });

  test('additional_authenticated_data with a key pair is KMS.0308 (encrypt and decrypt)', async () => {
    for (const [id, alg] of [[key('RSA_2048', 'ENCRYPT_DECRYPT'), 'RSAES_OAEP_SHA_256'], [key('SM2', 'ENCRYPT_DECRYPT'), 'SM2_ENCRYPT']] as const) {
      expectError(await kms('encrypt-data', { key_id: id, plain_text: 'x', encryption_algorithm: alg, additional_authenticated_data: 'aad' }), 400, 'KMS.0308');
      const enc = await ok(kms('encrypt-data', { key_id: id, plain_text: 'x', encryption_algorithm: alg }));
      expectError(await kms('decrypt-data', { key_id: id, cipher_text: enc.cipher_text, encryption_algorithm: alg, additional_authenticated_data: 'aad' }), 400, 'KMS.0308');
      assert.equal((await ok(kms('decrypt-data', { key_id: id, cipher_text: enc.cipher_text, encryption_algorithm: alg }))).plain_text, 'x');
    }
  });

  test('a disabled RSA or SM2 key is KMS.0209 for encrypt and decrypt', async () => {
    const id = await createKey('SM2', 'ENCRYPT_DECRYPT');
    const enc = await ok(kms('encrypt-data', { key_id: id, plain_text: 'x', encryption_algorithm: 'SM2_ENCRYPT' }));
    await ok(kms('disable-key', { key_id: id }));
    expectError(await kms('encrypt-data', { key_id: id, plain_text: 'x', encryption_algorithm: 'SM2_ENCRYPT' }), 400, 'KMS.0209');
    expectError(await kms('decrypt-data', { key_id: id, cipher_text: enc.cipher_text, encryption_algorithm: 'SM2_ENCRYPT' }), 400, 'KMS.0209');
    await ok(kms('enable-key', { key_id: id }));
    assert.equal((await ok(kms('decrypt-data', { key_id: id, cipher_text: enc.cipher_text, encryption_algorithm: 'SM2_ENCRYPT' }))).plain_text, 'x');
  });
});

describe('generate-mac / verify-mac', () => {
  for (const spec of HMAC_SPECS) {
    const { alg, bytes } = HMAC[spec];
    test(`${spec} (${alg}): ${bytes}-byte MACs that are deterministic, verify, and fail for another message or MAC`, async () => {
      const id = key(spec, 'GENERATE_VERIFY_MAC');
      const message = b64(Buffer.from(`MAC me with ${alg}`));
      const gen = await ok(kms('generate-mac', { key_id: id, mac_algorithm: alg, message }));
      assert.deepEqual(Object.keys(gen).sort(), ['key_id', 'mac', 'mac_algorithm']);
      assert.deepEqual([gen.key_id, gen.mac_algorithm], [id, alg]);
      const mac = Buffer.from(gen.mac, 'hex');
      assert.match(gen.mac, /^[0-9a-f]+$/, 'the MAC is lowercase hex, as Huawei answers it');
      assert.equal(mac.toString('hex'), gen.mac);
      assert.equal(mac.length, bytes);
      assert.equal((await ok(kms('generate-mac', { key_id: id, mac_algorithm: alg, message }))).mac, gen.mac);

      const check = async (m: string, macHex: string) => {
        const body = await ok(kms('verify-mac', { key_id: id, mac_algorithm: alg, message: m, mac: macHex }));
        assert.deepEqual([body.key_id, body.mac_algorithm], [id, alg]);
        assert.equal(typeof body.mac_valid, 'boolean');
        return body.mac_valid as boolean;
      };
      assert.equal(await check(message, gen.mac), true);
      assert.equal(await check(b64(Buffer.from(`MAC me with ${alg}!`)), gen.mac), false);
      assert.equal(await check(message, gen.mac.toUpperCase()), true, 'hex of either case');
      assert.equal(await check(message, flipBit(mac, 0).toString('hex')), false);
      assert.equal(await check(message, flipBit(mac, -1).toString('hex')), false);
      assert.equal(await check(message, mac.subarray(0, bytes - 1).toString('hex')), false);
      assert.equal(await check(message, Buffer.concat([mac, Buffer.from([0])]).toString('hex')), false);
      assert.equal(await check(message, ''), false);

      // another key of the same spec makes another MAC; 1 and 4096 bytes are accepted
      const other = await ok(kms('generate-mac', { key_id: DEFAULTS[spec]!, mac_algorithm: alg, message }));
      assert.notEqual(other.mac, gen.mac);
      assert.equal(await check(message, other.mac), false);
      for (const m of [randomBytes(1), randomBytes(4096)]) {
        const g = await ok(kms('generate-mac', { key_id: id, mac_algorithm: alg, message: b64(m) }));
        assert.equal(await check(b64(m), g.mac), true);
      }
    });
  }

  test('a mac_algorithm that does not match the key is KMS.0332', async () => {
    const cases: [HmacSpec, string][] = [['HMAC_256', 'HMAC_SHA_384'], ['HMAC_256', 'HMAC_SM3'], ['HMAC_384', 'HMAC_SHA_512'], ['HMAC_512', 'HMAC_SHA_256'], ['HMAC_SM3', 'HMAC_SHA_256']];
    for (const [spec, alg] of cases) {
      const body = { key_id: key(spec, 'GENERATE_VERIFY_MAC'), mac_algorithm: alg, message: b64(Buffer.from('m')) };
      expectError(await kms('generate-mac', body), 400, 'KMS.0332');
      expectError(await kms('verify-mac', { ...body, mac: randomBytes(32).toString('hex') }), 400, 'KMS.0332');
    }
  });

  test('keys that are not HMAC keys: symmetric KMS.0331, key pairs KMS.0325', async () => {
    for (const op of ['generate-mac', 'verify-mac']) {
      const body = (id: string) => ({ key_id: id, mac_algorithm: 'HMAC_SHA_256', message: b64(Buffer.from('m')), ...(op === 'verify-mac' ? { mac: randomBytes(32).toString('hex') } : {}) });
      expectError(await kms(op, body(K.AES_256!)), 400, 'KMS.0331');
      expectError(await kms(op, body(K.SM4!)), 400, 'KMS.0331');
      expectError(await kms(op, body(key('RSA_2048', 'SIGN_VERIFY'))), 400, 'KMS.0325');
      expectError(await kms(op, body(key('EC_P256', 'KEY_AGREEMENT'))), 400, 'KMS.0325');
      expectError(await kms(op, body(key('SM2', 'ENCRYPT_DECRYPT'))), 400, 'KMS.0325');
    }
  });

  test('malformed requests: empty or over-4096-byte message, non-Base64, unknown algorithm → KMS.0308; missing fields → KMS.0204', async () => {
    const id = key('HMAC_256', 'GENERATE_VERIFY_MAC');
    const message = b64(Buffer.from('m'));
    const mac = (await ok(kms('generate-mac', { key_id: id, mac_algorithm: 'HMAC_SHA_256', message }))).mac;
    for (const op of ['generate-mac', 'verify-mac']) {
      const base = { key_id: id, mac_algorithm: 'HMAC_SHA_256', message, ...(op === 'verify-mac' ? { mac } : {}) };
      assert.equal((await kms(op, base)).status, 200);
      expectError(await kms(op, { ...base, message: '' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, message: b64(randomBytes(4097)) }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, message: 'm!' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, mac_algorithm: 'HMAC_SHA_1' }), 400, 'KMS.0308');
      expectError(await kms(op, { ...base, mac_algorithm: 'hmac_sha_256' }), 400, 'KMS.0308');
      const { mac_algorithm: _a, ...noAlg } = base;
      expectError(await kms(op, noAlg), 400, 'KMS.0204');
      const { message: _m, ...noMessage } = base;
      expectError(await kms(op, noMessage), 400, 'KMS.0204');
    }
    expectError(await kms('verify-mac', { key_id: id, mac_algorithm: 'HMAC_SHA_256', message }), 400, 'KMS.0204');
    expectError(await kms('verify-mac', { key_id: id, mac_algorithm: 'HMAC_SHA_256', message, mac: 'not base64' }), 400, 'KMS.0308');
  });

  test('a disabled HMAC key is KMS.0209', async () => {
    const id = await createKey('HMAC_512');
    const body = { key_id: id, mac_algorithm: 'HMAC_SHA_512', message: b64(Buffer.from('m')) };
    const mac = (await ok(kms('generate-mac', body))).mac;
    await ok(kms('disable-key', { key_id: id }));
    expectError(await kms('generate-mac', body), 400, 'KMS.0209');
    expectError(await kms('verify-mac', { ...body, mac }), 400, 'KMS.0209');
    await ok(kms('enable-key', { key_id: id }));
    assert.equal((await ok(kms('verify-mac', { ...body, mac }))).mac_valid, true);
  });
});

describe('derive-shared-secret (ECDH)', () => {
  const derive = (keyId: string, peerSpki: Buffer, extra: object = {}) =>
    kms('derive-shared-secret', { key_id: keyId, key_agreement_algorithm: 'ECDH', public_key: b64(peerSpki), ...extra });

  for (const [spec, curve, bytes] of [['EC_P256', 'prime256v1', 32], ['EC_P384', 'secp384r1', 48], ['SECP256K1', 'secp256k1', 32]] as const) {
    test(`${spec}: the shared secret equals node's ECDH of a peer private key with the KMS public key`, async () => {
      const id = key(spec, 'KEY_AGREEMENT');
      const kmsPublic = createPublicKey(await publicPem(id));
      for (let i = 0; i < 2; i++) {
        const peer = generateKeyPairSync('ec', { namedCurve: curve });
        const body = await ok(derive(id, peer.publicKey.export({ format: 'der', type: 'spki' })));
        assert.deepEqual(Object.keys(body).sort(), ['key_agreement_algorithm', 'key_id', 'shared_secret']);
        assert.deepEqual([body.key_id, body.key_agreement_algorithm], [id, 'ECDH']);
        const secret = Buffer.from(body.shared_secret, 'base64');
        assert.equal(secret.length, bytes);
        assert.deepEqual(secret, diffieHellman({ privateKey: peer.privateKey, publicKey: kmsPublic }));
      }
    });
  }

  test('SM2: the shared secret equals node\'s ECDH on curve SM2 from the peer side, and sm2DeriveSharedSecret', async () => {
    const id = key('SM2', 'KEY_AGREEMENT');
    const kmsDer = await publicDer(id);
    const kmsPoint = readEcSpki(kmsDer).point;
    // node's ECDH on the SM2 curve, peer side
    const peer = createECDH('SM2');
    peer.generateKeys();
    const body = await ok(derive(id, sm2Spki(peer.getPublicKey())));
    const secret = Buffer.from(body.shared_secret, 'base64');
    assert.equal(secret.length, 32);
    assert.deepEqual(secret, peer.computeSecret(kmsPoint));
    // a peer made by generateKeyPairSync, checked with the engine from the peer's private key
    const pair = generateKeyPairSync('ec', { namedCurve: 'SM2' });
    const second = Buffer.from((await ok(derive(id, pair.publicKey.export({ format: 'der', type: 'spki' })))).shared_secret, 'base64');
    assert.deepEqual(second, sm2DeriveSharedSecret(pair.privateKey.export({ format: 'der', type: 'pkcs8' }), kmsDer));
    assert.notDeepEqual(second, secret);
  });

  test('a peer SubjectPublicKeyInfo with a compressed point agrees on the same secret', async () => {
    const derTlv = (tag: number, value: Buffer) => Buffer.concat([Buffer.from([tag, value.length]), value]);
    const p256Algorithm = Buffer.from('301306072a8648ce3d020106082a8648ce3d030107', 'hex');
    for (const [spec, curve] of [['EC_P256', 'prime256v1'], ['SM2', 'SM2']] as const) {
      const id = key(spec, 'KEY_AGREEMENT');
      const peer = createECDH(curve);
      peer.generateKeys();
      const compressed = peer.getPublicKey(undefined, 'compressed');
      assert.equal(compressed.length, 33);
      const spki = spec === 'SM2' ? sm2Spki(compressed) : derTlv(0x30, Buffer.concat([p256Algorithm, derTlv(0x03, Buffer.concat([Buffer.from([0]), compressed]))]));
      const body = await ok(derive(id, spki));
      assert.deepEqual(Buffer.from(body.shared_secret, 'base64'), peer.computeSecret(readEcSpki(await publicDer(id)).point));
    }
  });

  test('a peer key on another curve, or not an EC key, is KMS.0308', async () => {
    const spki = (curve: string) => generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ format: 'der', type: 'spki' });
    const rsaSpki = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' });
    const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' });
    const cases: [string, Buffer][] = [
      [key('EC_P256', 'KEY_AGREEMENT'), spki('secp384r1')],
      [key('EC_P256', 'KEY_AGREEMENT'), spki('secp256k1')],
      [key('EC_P256', 'KEY_AGREEMENT'), spki('SM2')],
      [key('EC_P384', 'KEY_AGREEMENT'), spki('prime256v1')],
      [key('SECP256K1', 'KEY_AGREEMENT'), spki('prime256v1')],
      [key('SM2', 'KEY_AGREEMENT'), spki('prime256v1')],
      [key('SM2', 'KEY_AGREEMENT'), spki('secp256k1')],
      [key('EC_P256', 'KEY_AGREEMENT'), rsaSpki],
      [key('SM2', 'KEY_AGREEMENT'), rsaSpki],
      [key('EC_P256', 'KEY_AGREEMENT'), x25519],
      [key('SM2', 'KEY_AGREEMENT'), x25519],
    ];
    for (const [id, peer] of cases) expectError(await derive(id, peer), 400, 'KMS.0308');
  });

  test('a public_key that is not a DER SubjectPublicKeyInfo (or not a point on the curve) is KMS.0308', async () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
    const sm2 = generateKeyPairSync('ec', { namedCurve: 'SM2' }).publicKey.export({ format: 'der', type: 'spki' });
    for (const [spec, good] of [['EC_P256', p256], ['SM2', sm2]] as const) {
      const id = key(spec, 'KEY_AGREEMENT');
      assert.equal((await derive(id, good)).status, 200);
      expectError(await derive(id, randomBytes(91)), 400, 'KMS.0308');
      expectError(await derive(id, good.subarray(0, good.length - 1)), 400, 'KMS.0308');
      expectError(await derive(id, Buffer.concat([good, Buffer.from([0])])), 400, 'KMS.0308');
      expectError(await derive(id, flipBit(good, -1)), 400, 'KMS.0308'); // y no longer on the curve
      expectError(await derive(id, good.subarray(-65)), 400, 'KMS.0308'); // a bare point, not an SPKI
      expectError(await kms('derive-shared-secret', { key_id: id, key_agreement_algorithm: 'ECDH', public_key: 'not base64!' }), 400, 'KMS.0308');
      expectError(await kms('derive-shared-secret', { key_id: id, key_agreement_algorithm: 'ECDH', public_key: '' }), 400, 'KMS.0308');
      const pemText = createPublicKey({ key: good, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }).toString();
      expectError(await kms('derive-shared-secret', { key_id: id, key_agreement_algorithm: 'ECDH', public_key: pemText }), 400, 'KMS.0308');
    }
  });

  test('keys that do not agree: non-KEY_AGREEMENT KMS.0308, symmetric KMS.0331, HMAC KMS.0341, RSA KMS.0325', async () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
    const sm2 = generateKeyPairSync('ec', { namedCurve: 'SM2' }).publicKey.export({ format: 'der', type: 'spki' });
    expectError(await derive(key('EC_P256', 'SIGN_VERIFY'), p256), 400, 'KMS.0308');
    expectError(await derive(DEFAULTS.EC_P256!, p256), 400, 'KMS.0308');
    expectError(await derive(key('SM2', 'SIGN_VERIFY'), sm2), 400, 'KMS.0308');
    expectError(await derive(key('SM2', 'ENCRYPT_DECRYPT'), sm2), 400, 'KMS.0308');
    expectError(await derive(K.AES_256!, p256), 400, 'KMS.0331');
    expectError(await derive(K.SM4!, sm2), 400, 'KMS.0331');
    expectError(await derive(key('HMAC_256', 'GENERATE_VERIFY_MAC'), p256), 400, 'KMS.0341');
    expectError(await derive(key('RSA_2048', 'SIGN_VERIFY'), p256), 400, 'KMS.0325');
    expectError(await derive(key('RSA_3072', 'ENCRYPT_DECRYPT'), p256), 400, 'KMS.0325');
  });

  test('key_agreement_algorithm other than ECDH, a recipient, or missing fields are refused', async () => {
    const id = key('EC_P256', 'KEY_AGREEMENT');
    const peer = b64(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }));
    const base = { key_id: id, key_agreement_algorithm: 'ECDH', public_key: peer };
    assert.equal((await kms('derive-shared-secret', base)).status, 200);
    for (const alg of ['ECDHE', 'ecdh', 'SM2_KEY_EXCHANGE', 'DH']) {
      expectError(await kms('derive-shared-secret', { ...base, key_agreement_algorithm: alg }), 400, 'KMS.0308');
    }
    expectError(await kms('derive-shared-secret', { ...base, recipient: { attestation_document: b64(randomBytes(64)), key_encryption_algorithm: 'RSAES_OAEP_SHA_256' } }), 400, 'KMS.0308');
    const { key_agreement_algorithm: _a, ...noAlg } = base;
    expectError(await kms('derive-shared-secret', noAlg), 400, 'KMS.0204');
    const { public_key: _p, ...noPeer } = base;
    expectError(await kms('derive-shared-secret', noPeer), 400, 'KMS.0204');
  });

  test('a disabled KEY_AGREEMENT key is KMS.0209', async () => {
    const id = await createKey('EC_P384', 'KEY_AGREEMENT');
    const peer = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' });
    await ok(kms('disable-key', { key_id: id }));
    expectError(await derive(id, peer), 400, 'KMS.0209');
    await ok(kms('enable-key', { key_id: id }));
    assert.equal((await derive(id, peer)).status, 200);
  });
});

describe('create-rsa-datakey-pair / create-ec-datakey-pair', () => {
  type PairSpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096' | 'ECC_NIST_P256' | 'ECC_NIST_P384' | 'ECC_NIST_P521' | 'ECC_SECG_P256K1' | 'SM2';
  const PAIRS: [PairSpec, 'create-rsa-datakey-pair' | 'create-ec-datakey-pair'][] = [
    ['RSA_2048', 'create-rsa-datakey-pair'],
    ['RSA_3072', 'create-rsa-datakey-pair'],
    ['RSA_4096', 'create-rsa-datakey-pair'],
    ['ECC_NIST_P256', 'create-ec-datakey-pair'],
    ['ECC_NIST_P384', 'create-ec-datakey-pair'],
    ['ECC_NIST_P521', 'create-ec-datakey-pair'],
    ['ECC_SECG_P256K1', 'create-ec-datakey-pair'],
    ['SM2', 'create-ec-datakey-pair'],
  ];
  const NODE_CURVE: Partial<Record<PairSpec, string>> = { ECC_NIST_P256: 'prime256v1', ECC_NIST_P384: 'secp384r1', ECC_NIST_P521: 'secp521r1', ECC_SECG_P256K1: 'secp256k1' };

  /** Checks that the PKCS#8 private key and the SPKI public key are one pair of the spec's size or curve. */
  function assertPair(spec: PairSpec, privateDer: Buffer, publicDer: Buffer): void {
    const msg = randomBytes(100);
    if (spec === 'SM2') {
      const { curve } = readEcSpki(publicDer);
      assert.equal(curve, SM2_CURVE_OID);
      const sig = sm2Sign(privateDer, msg);
      assert.equal(sm2Verify(publicDer, msg, sig), true);
      assert.equal(sm2Verify(publicDer, Buffer.concat([msg, Buffer.from([1])]), sig), false);
      return;
    }
    const priv = createPrivateKey({ key: privateDer, format: 'der', type: 'pkcs8' });
    const pub = createPublicKey({ key: publicDer, format: 'der', type: 'spki' });
    if (spec.startsWith('RSA_')) {
      assert.equal(pub.asymmetricKeyDetails?.modulusLength, RSA_BITS[spec as keyof typeof RSA_BITS]);
    } else {
      assert.equal(pub.asymmetricKeyDetails?.namedCurve, NODE_CURVE[spec]);
    }
    const sig = nodeSign('sha256', msg, priv);
    assert.equal(nodeVerify('sha256', msg, pub, sig), true);
    assert.equal(nodeVerify('sha256', Buffer.concat([msg, Buffer.from([1])]), pub, sig), false);
    assert.deepEqual(createPublicKey(priv).export({ format: 'der', type: 'spki' }), publicDer);
  }

  for (const [spec, op] of PAIRS) {
    test(`${op} ${spec}: a matching pair; the private key ciphertext decrypts to the same PKCS#8 DER`, async () => {
      const body = await ok(kms(op, { key_id: K.AES_256!, key_spec: spec }));
      assert.equal(body.key_id, K.AES_256);
      assert.equal(body.key_spec, spec);
      for (const f of ['public_key', 'private_key_cipher_text', 'private_key_plain_text']) assert.match(body[f], /^[A-Za-z0-9+/]+={0,2}$/, f);
      const publicKey = Buffer.from(body.public_key, 'base64');
      const privateKey = Buffer.from(body.private_key_plain_text, 'base64');
      assertPair(spec, privateKey, publicKey);
      const dec = await ok(kms('decrypt-data', { cipher_text: body.private_key_cipher_text }));
      assert.equal(dec.key_id, K.AES_256);
      assert.equal(dec.plain_text_base64, body.private_key_plain_text);

      // with_plain_text false: no plaintext private key, but the ciphertext still holds the matching one
      const sealed = await ok(kms(op, { key_id: K.AES_256!, key_spec: spec, with_plain_text: false }));
      assert.equal('private_key_plain_text' in sealed, false);
      const recovered = Buffer.from((await ok(kms('decrypt-data', { cipher_text: sealed.private_key_cipher_text }))).plain_text_base64, 'base64');
      assertPair(spec, recovered, Buffer.from(sealed.public_key, 'base64'));
      assert.notEqual(sealed.public_key, body.public_key, 'every call makes a new pair');
    });
  }

  test('with_plain_text true explicitly returns the plaintext; an SM4 wrapping key works too', async () => {
    const body = await ok(kms('create-ec-datakey-pair', { key_id: K.SM4!, key_spec: 'ECC_NIST_P256', with_plain_text: true }));
    assertPair('ECC_NIST_P256', Buffer.from(body.private_key_plain_text, 'base64'), Buffer.from(body.public_key, 'base64'));
    const dec = await ok(kms('decrypt-data', { cipher_text: body.private_key_cipher_text }));
    assert.equal(dec.key_id, K.SM4);
    assert.equal(dec.plain_text_base64, body.private_key_plain_text);
  });

  test('additional_authenticated_data binds the private key ciphertext', async () => {
    const aad = 'pair-owner=42';
    const body = await ok(kms('create-ec-datakey-pair', { key_id: K.AES_256!, key_spec: 'SM2', additional_authenticated_data: aad }));
    expectError(await kms('decrypt-data', { cipher_text: body.private_key_cipher_text }), 400, 'KMS.2201');
    expectError(await kms('decrypt-data', { cipher_text: body.private_key_cipher_text, additional_authenticated_data: 'pair-owner=43' }), 400, 'KMS.2201');
    const dec = await ok(kms('decrypt-data', { cipher_text: body.private_key_cipher_text, additional_authenticated_data: aad }));
    assert.equal(dec.plain_text_base64, body.private_key_plain_text);
  });

  test('wrapping keys that are not symmetric ENCRYPT_DECRYPT keys: key pairs KMS.0325, HMAC KMS.0341', async () => {
    for (const op of ['create-rsa-datakey-pair', 'create-ec-datakey-pair'] as const) {
      const spec = op === 'create-rsa-datakey-pair' ? 'RSA_2048' : 'ECC_NIST_P256';
      expectError(await kms(op, { key_id: key('RSA_2048', 'ENCRYPT_DECRYPT'), key_spec: spec }), 400, 'KMS.0325');
      expectError(await kms(op, { key_id: key('SM2', 'ENCRYPT_DECRYPT'), key_spec: spec }), 400, 'KMS.0325');
      expectError(await kms(op, { key_id: key('EC_P256', 'SIGN_VERIFY'), key_spec: spec }), 400, 'KMS.0325');
      expectError(await kms(op, { key_id: key('HMAC_256', 'GENERATE_VERIFY_MAC'), key_spec: spec }), 400, 'KMS.0341');
    }
  });

  test('key_spec: missing KMS.0204; a spec of the other operation or an unknown one KMS.0308', async () => {
    expectError(await kms('create-rsa-datakey-pair', { key_id: K.AES_256! }), 400, 'KMS.0204');
    expectError(await kms('create-ec-datakey-pair', { key_id: K.AES_256! }), 400, 'KMS.0204');
    expectError(await kms('create-ec-datakey-pair', { key_id: K.AES_256!, key_spec: 'ECC_NIST_P512' }), 400, 'KMS.0308');
    expectError(await kms('create-ec-datakey-pair', { key_id: K.AES_256!, key_spec: 'RSA_2048' }), 400, 'KMS.0308');
    expectError(await kms('create-ec-datakey-pair', { key_id: K.AES_256!, key_spec: 'EC_P256' }), 400, 'KMS.0308');
    expectError(await kms('create-rsa-datakey-pair', { key_id: K.AES_256!, key_spec: 'ECC_NIST_P256' }), 400, 'KMS.0308');
    expectError(await kms('create-rsa-datakey-pair', { key_id: K.AES_256!, key_spec: 'RSA_1024' }), 400, 'KMS.0308');
    expectError(await kms('create-rsa-datakey-pair', { key_spec: 'RSA_2048' }), 400, 'KMS.0204');
  });

  test('a disabled wrapping key is KMS.0209', async () => {
    const id = await createKey('AES_256');
    await ok(kms('disable-key', { key_id: id }));
    expectError(await kms('create-ec-datakey-pair', { key_id: id, key_spec: 'ECC_NIST_P256' }), 400, 'KMS.0209');
    await ok(kms('enable-key', { key_id: id }));
    assert.equal((await kms('create-ec-datakey-pair', { key_id: id, key_spec: 'ECC_NIST_P256' })).status, 200);
  });
});

// Known answers for the Ed25519 engines (src/crypto/ed25519.ts, through the engine table src/crypto/algorithms.ts):
// RFC 8032 §7.1 (Ed25519, TEST 1, 2, 3 and SHA(abc)) and §7.3 (Ed25519ph, "abc"). Then Ed25519ph against two
// implementations that are not the engine's code path: @noble/curves' stock ed25519ph, which takes the message and
// hashes it itself, and libsodium's multi-part signatures (crypto_sign_init/update/final_*), which are Ed25519ph.
// Pure Ed25519 against the openssl command is in openssl-interop.test.ts and ed25519-api.test.ts.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { ed25519, ed25519ph } from '@noble/curves/ed25519.js';
import sodium from 'libsodium-wrappers';
import { KEY_PAIR_SPECS, SIGNING_ALGORITHMS } from '../src/crypto/algorithms.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const PURE = SIGNING_ALGORITHMS.ED25519_SHA_512;
const PH = SIGNING_ALGORITHMS.ED25519_PH_SHA_512;

/** PKCS#8 and SPKI DER of an Ed25519 key given as RFC 8032's 32-byte secret key and 32-byte public key. */
function derKey(secret: Buffer, publicKey: Buffer): { privateKey: Buffer; publicKey: Buffer } {
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: secret.toString('base64url'), x: publicKey.toString('base64url') }, format: 'jwk' });
  return { privateKey: key.export({ format: 'der', type: 'pkcs8' }), publicKey: createPublicKey(key).export({ format: 'der', type: 'spki' }) };
}

/** RFC 8032 §7.1: SECRET KEY, PUBLIC KEY, MESSAGE, SIGNATURE. */
const RFC8032_ED25519 = [
  {
    name: 'TEST 1 (empty message)',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    name: 'TEST SHA(abc) (a 64-byte message)',
    secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    public: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    message: createHash('sha512').update('abc').digest('hex'),
    signature: 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

/** RFC 8032 §7.3: Ed25519ph, TEST abc. */
const RFC8032_ED25519PH = {
  secret: '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
  public: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
  message: '616263',
  signature: '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406',
};

/** The group order L of RFC 8032 §5.1, to make a non-canonical S (S + L). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
function withNonCanonicalS(signature: Buffer): Buffer {
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`) + L;
  const le = Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse();
  return Buffer.concat([signature.subarray(0, 32), le]);
}

describe('Ed25519 (ED25519_SHA_512): RFC 8032 §7.1', () => {
  for (const v of RFC8032_ED25519) {
    test(v.name, () => {
      const key = derKey(hex(v.secret), hex(v.public));
      // the public key the engine derives from the private key alone is the RFC's
      assert.deepEqual(KEY_PAIR_SPECS.ED25519.fromPrivateKey(key.privateKey).publicKey, key.publicKey);
      assert.equal(key.publicKey.subarray(12).toString('hex'), v.public);
      const message = hex(v.message);
      const signature = PURE.sign(key.privateKey, message, 'RAW');
      assert.equal(signature.toString('hex'), v.signature);
      assert.equal(PURE.verify(key.publicKey, message, 'RAW', hex(v.signature)), true);
      const flipped = Buffer.from(message.length ? message : Buffer.from([0]));
      flipped[0]! ^= 1;
      assert.equal(PURE.verify(key.publicKey, flipped, 'RAW', hex(v.signature)), false);
      assert.equal(PURE.verify(key.publicKey, message, 'RAW', withNonCanonicalS(hex(v.signature))), false, 'S ≥ L is refused (RFC 8032 §5.1.7)');
      // the same key signs the same message differently under Ed25519ph: the schemes are domain-separated
      assert.equal(PH.verify(key.publicKey, message, 'RAW', hex(v.signature)), false);
    });
  }
});

describe('Ed25519ph (ED25519_PH_SHA_512): RFC 8032 §7.3', () => {
  const v = RFC8032_ED25519PH;
  const key = derKey(hex(v.secret), hex(v.public));
  const message = hex(v.message);
  const digest = createHash('sha512').update(message).digest();

  test('TEST abc: RAW (the engine hashes) and DIGEST (SHA-512 given) give the RFC signature', () => {
    assert.equal(PH.sign(key.privateKey, message, 'RAW').toString('hex'), v.signature);
    assert.equal(PH.sign(key.privateKey, digest, 'DIGEST').toString('hex'), v.signature);
    assert.equal(PH.verify(key.publicKey, message, 'RAW', hex(v.signature)), true);
    assert.equal(PH.verify(key.publicKey, digest, 'DIGEST', hex(v.signature)), true);
  });

  test('TEST abc: a wrong message, digest, signature or key does not verify; pure Ed25519 does not accept it', () => {
    const sig = hex(v.signature);
    assert.equal(PH.verify(key.publicKey, Buffer.from('abd'), 'RAW', sig), false);
    const otherDigest = Buffer.from(digest);
    otherDigest[63]! ^= 0x80;
    assert.equal(PH.verify(key.publicKey, otherDigest, 'DIGEST', sig), false);
    const tampered = Buffer.from(sig);
    tampered[5]! ^= 1;
    assert.equal(PH.verify(key.publicKey, digest, 'DIGEST', tampered), false);
    assert.equal(PH.verify(key.publicKey, digest, 'DIGEST', withNonCanonicalS(sig)), false, 'S ≥ L is refused');
    assert.equal(PH.verify(KEY_PAIR_SPECS.ED25519.generate().publicKey, digest, 'DIGEST', sig), false);
    assert.equal(PURE.verify(key.publicKey, message, 'RAW', sig), false);
    assert.equal(PH.verify(key.publicKey, digest, 'DIGEST', sig.subarray(0, 63)), false);
  });

  test('a DIGEST of another length than SHA-512 is RangeError', () => {
    for (const length of [0, 32, 48, 63, 65]) {
      assert.throws(() => PH.sign(key.privateKey, Buffer.alloc(length), 'DIGEST'), RangeError);
      assert.throws(() => PH.verify(key.publicKey, Buffer.alloc(length), 'DIGEST', hex(v.signature)), RangeError);
    }
  });
});

describe('Ed25519ph: the engine against implementations that are not its code path', () => {
  before(async () => {
    await sodium.ready;
  });

  /** libsodium's Ed25519ph verification of `signature` over `message` (it hashes the message itself). */
  function sodiumVerifies(signature: Buffer, message: Buffer, rawPublicKey: Buffer): boolean {
    const state = sodium.crypto_sign_init();
    sodium.crypto_sign_update(state, message);
    return sodium.crypto_sign_final_verify(state, signature, rawPublicKey);
  }

  test('libsodium and noble verify RFC 8032 §7.3 (so they are Ed25519ph), and refuse pure Ed25519', () => {
    const v = RFC8032_ED25519PH;
    assert.equal(sodiumVerifies(hex(v.signature), hex(v.message), hex(v.public)), true);
    assert.equal(ed25519ph.verify(hex(v.signature), hex(v.message), hex(v.public)), true);
    const pure = RFC8032_ED25519[3]!;
    assert.equal(sodiumVerifies(hex(pure.signature), hex(pure.message), hex(pure.public)), false);
  });

  test('fresh keys and messages: DIGEST signatures by the engine equal noble’s and verify with libsodium; theirs verify here', () => {
    for (let i = 0; i < 24; i++) {
      const pair = KEY_PAIR_SPECS.ED25519.generate();
      const seed = Buffer.from(createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' }).d!, 'base64url');
      const rawPublic = pair.publicKey.subarray(12);
      assert.deepEqual(Buffer.from(ed25519.getPublicKey(seed)), rawPublic);
      const message = randomBytes(i * 37);
      const digest = createHash('sha512').update(message).digest();
      const ours = PH.sign(pair.privateKey, digest, 'DIGEST');
      assert.deepEqual(ours, PH.sign(pair.privateKey, message, 'RAW'));
      // Ed25519ph is deterministic: the independent signer must produce the same bytes
      assert.deepEqual(ours, Buffer.from(ed25519ph.sign(message, seed)));
      assert.equal(sodiumVerifies(ours, message, rawPublic), true);
      assert.equal(ed25519ph.verify(ours, message, rawPublic, { zip215: false }), true);
      // and the other way round: libsodium's signature verifies with the engine, over the digest
      const state = sodium.crypto_sign_init();
      sodium.crypto_sign_update(state, message);
      const theirs = Buffer.from(sodium.crypto_sign_final_create(state, Buffer.concat([seed, rawPublic])));
      assert.equal(PH.verify(pair.publicKey, digest, 'DIGEST', theirs), true);
      seed.fill(0);
    }
  });
});

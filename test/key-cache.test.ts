// The parsed-key caches of the public-key engines (src/crypto/key-cache.ts, used by pkey.ts and native.ts): the
// LRU itself, and that a cached key never answers for another one — two keys with the same operation give their
// own results, a public key's entry never satisfies a private-key load (nor the reverse), a key type's entry
// never another type's, and bytes changed after caching are parsed afresh.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  ASYMMETRIC_ENCRYPTION_ALGORITHMS,
  DecryptionFailed,
  KEY_PAIR_SPECS,
  SIGNING_ALGORITHMS,
  type KeyPairDer,
  type MessageType,
  type SigningAlgorithm,
} from '../src/crypto/algorithms.js';
import { clearParsedKeys, forgetParsedKeys, ParsedKeyCache } from '../src/crypto/key-cache.js';
import { nativeAddon } from '../src/crypto/native.js';
import { loadPrivateKey, loadPublicKey } from '../src/crypto/pkey.js';
import { sm2MessageDigest } from '../src/crypto/sm2.js';

/** Enough uses to be past the cache's admission (a key is kept from its second use on). */
const WARM = 3;
const message = Buffer.from('message for the parsed-key cache');

const pairs = {
  EC: [KEY_PAIR_SPECS.EC_P256.generate(), KEY_PAIR_SPECS.EC_P256.generate()],
  RSA: [KEY_PAIR_SPECS.RSA_2048.generate(), KEY_PAIR_SPECS.RSA_2048.generate()],
  SM2: [KEY_PAIR_SPECS.SM2.generate(), KEY_PAIR_SPECS.SM2.generate()],
} satisfies Record<string, [KeyPairDer, KeyPairDer]>;

const SIGNERS: [SigningAlgorithm, [KeyPairDer, KeyPairDer]][] = [
  ['ECDSA_SHA_256', pairs.EC],
  ['RSASSA_PKCS1_V1_5_SHA_256', pairs.RSA],
  ['RSASSA_PSS_SHA_256', pairs.RSA],
  ['SM2DSA_SM3', pairs.SM2],
];

function digestFor(algorithm: SigningAlgorithm, pair: KeyPairDer): Buffer {
  return algorithm === 'SM2DSA_SM3' ? sm2MessageDigest(pair.publicKey, message) : createHash('sha256').update(message).digest();
}

describe('ParsedKeyCache', () => {
  const der = (n: number) => Buffer.from(`key ${n}`);
  function counting() {
    let parses = 0;
    return { parse: (value: string) => () => (parses++, value), parses: () => parses };
  }

  test('keeps a key from its second use on, then serves it without parsing', () => {
    const cache = new ParsedKeyCache<string>(4);
    const c = counting();
    assert.equal(cache.get(der(1), 't', c.parse('one')), 'one');
    assert.equal(cache.size, 0, 'a key used once is not kept');
    assert.equal(cache.get(der(1), 't', c.parse('one')), 'one');
    assert.equal(cache.size, 1);
    for (let i = 0; i < 5; i++) assert.equal(cache.get(der(1), 't', c.parse('other')), 'one');
    assert.equal(c.parses(), 2);
  });

  test('is bounded and evicts the least recently used entry', () => {
    const cache = new ParsedKeyCache<number>(2);
    const use = (n: number) => cache.get(der(n), 't', () => n);
    for (const n of [1, 1, 2, 2]) use(n);
    use(1); // 1 is now the most recently used
    use(3);
    use(3); // admits 3, evicts 2
    assert.equal(cache.size, 2);
    let parsed = false;
    assert.equal(cache.get(der(1), 't', () => ((parsed = true), -1)), 1);
    assert.equal(parsed, false, '1 stayed');
    assert.equal(cache.get(der(2), 't', () => -2), -2, '2 was evicted');
  });

  test('tells tags apart, caches no failure, and forgets a key under every tag', () => {
    const cache = new ParsedKeyCache<string>(8);
    for (let i = 0; i < WARM; i++) {
      cache.get(der(1), 'public', () => 'pub');
      cache.get(der(1), 'private', () => 'priv');
    }
    assert.equal(cache.get(der(1), 'public', () => 'x'), 'pub');
    assert.equal(cache.get(der(1), 'private', () => 'x'), 'priv');
    for (let i = 0; i < WARM; i++) {
      assert.throws(() => cache.get(der(2), 't', () => { throw new TypeError('bad'); }), TypeError);
    }
    assert.equal(cache.size, 2);
    cache.forget(der(1));
    assert.equal(cache.size, 0);
    assert.equal(cache.get(der(1), 'public', () => 'fresh'), 'fresh');
  });

  test('finds entries by content: bytes changed after caching are parsed afresh', () => {
    const cache = new ParsedKeyCache<string>(8);
    const bytes = Buffer.from('secret key bytes');
    for (let i = 0; i < WARM; i++) cache.get(bytes, 't', () => 'parsed');
    bytes.fill(0);
    assert.equal(cache.get(bytes, 't', () => 'zeroes'), 'zeroes');
    assert.equal(cache.get(Buffer.from('secret key bytes'), 't', () => 'x'), 'parsed', 'equal bytes in another Buffer hit');
  });
});

describe('engines with cached keys', () => {
  for (const [name, [a, b]] of SIGNERS) {
    for (const type of ['RAW', 'DIGEST'] as MessageType[]) {
      test(`${name} ${type}: two keys give their own signatures`, () => {
        const entry = SIGNING_ALGORITHMS[name];
        const input = (pair: KeyPairDer) => (type === 'RAW' ? message : digestFor(name, pair));
        let sigA!: Buffer, sigB!: Buffer;
        for (let i = 0; i < WARM; i++) {
          sigA = entry.sign(a.privateKey, input(a), type);
          sigB = entry.sign(b.privateKey, input(b), type);
          assert.equal(entry.verify(a.publicKey, input(a), type, sigA), true);
          assert.equal(entry.verify(b.publicKey, input(b), type, sigB), true);
        }
        assert.notDeepEqual(sigA, sigB);
        assert.equal(entry.verify(b.publicKey, input(a), type, sigA), false, 'A’s signature under B’s cached key');
        assert.equal(entry.verify(a.publicKey, input(b), type, sigB), false, 'B’s signature under A’s cached key');
        if (name.startsWith('RSASSA_PKCS1')) {
          // deterministic: the cached key gives exactly what a fresh parse gives
          clearParsedKeys();
          assert.deepEqual(entry.sign(a.privateKey, input(a), type), sigA);
        }
      });

      test(`${name} ${type}: a cached public key is never taken as a private key, nor the reverse`, () => {
        const entry = SIGNING_ALGORITHMS[name];
        const input = type === 'RAW' ? message : digestFor(name, a);
        const sig = entry.sign(a.privateKey, input, type);
        for (let i = 0; i < WARM; i++) {
          assert.equal(entry.verify(a.publicKey, input, type, sig), true);
          entry.sign(a.privateKey, input, type);
        }
        for (let i = 0; i < WARM; i++) {
          assert.throws(() => entry.sign(a.publicKey, input, type), TypeError);
          assert.throws(() => entry.verify(a.privateKey, input, type, sig), TypeError);
        }
      });
    }
  }

  for (const [name, [a, b]] of [
    ['RSAES_OAEP_SHA_256', pairs.RSA],
    ['SM2_ENCRYPT', pairs.SM2],
  ] as const) {
    test(`${name}: each cached private key decrypts only its own ciphertexts`, () => {
      const entry = ASYMMETRIC_ENCRYPTION_ALGORITHMS[name];
      const secretA = randomBytes(32);
      const secretB = randomBytes(32);
      for (let i = 0; i < WARM; i++) {
        assert.deepEqual(entry.decrypt(a.privateKey, entry.encrypt(a.publicKey, secretA)), secretA);
        assert.deepEqual(entry.decrypt(b.privateKey, entry.encrypt(b.publicKey, secretB)), secretB);
      }
      assert.throws(() => entry.decrypt(b.privateKey, entry.encrypt(a.publicKey, secretA)), DecryptionFailed);
      assert.throws(() => entry.decrypt(a.privateKey, entry.encrypt(b.publicKey, secretB)), DecryptionFailed);
      for (let i = 0; i < WARM; i++) {
        assert.throws(() => entry.decrypt(a.publicKey, entry.encrypt(a.publicKey, secretA)), TypeError);
        assert.throws(() => entry.encrypt(a.privateKey, secretA), TypeError);
      }
    });
  }

  test('loadPrivateKey/loadPublicKey: entries answer only their own kind and type', () => {
    const ec = pairs.EC[0];
    for (let i = 0; i < WARM; i++) {
      loadPublicKey(ec.publicKey, 'ec');
      loadPrivateKey(ec.privateKey, 'ec');
      loadPrivateKey(pairs.RSA[0].privateKey, 'rsa');
    }
    assert.equal(loadPrivateKey(ec.privateKey, 'ec').type, 'private');
    assert.equal(loadPublicKey(ec.publicKey, 'ec').type, 'public');
    assert.throws(() => loadPrivateKey(ec.publicKey, 'ec'), /not a PKCS#8 DER private key/);
    assert.throws(() => loadPublicKey(ec.privateKey, 'ec'), /not an SPKI DER public key/);
    assert.throws(() => loadPrivateKey(pairs.RSA[0].privateKey, 'ec'), /not an EC key/);
    assert.throws(() => loadPrivateKey(ec.privateKey, 'rsa'), /not an RSA key/);
    assert.notEqual(loadPrivateKey(pairs.EC[1].privateKey, 'ec'), loadPrivateKey(ec.privateKey, 'ec'));
  });

  test('a private key zeroed by its caller after use is not served from the cache', () => {
    const entry = SIGNING_ALGORITHMS.ECDSA_SHA_256;
    const copy = Buffer.from(pairs.EC[0].privateKey);
    const digest = createHash('sha256').update(message).digest();
    for (let i = 0; i < WARM; i++) {
      entry.sign(copy, message, 'RAW');
      entry.sign(copy, digest, 'DIGEST');
    }
    copy.fill(0);
    assert.throws(() => entry.sign(copy, message, 'RAW'), TypeError);
    assert.throws(() => entry.sign(copy, digest, 'DIGEST'), TypeError);
  });

  test('forgetParsedKeys drops a key; it still works afterwards', () => {
    const entry = SIGNING_ALGORITHMS.SM2DSA_SM3;
    const [a] = pairs.SM2;
    for (let i = 0; i < WARM; i++) entry.sign(a.privateKey, message, 'RAW');
    forgetParsedKeys(a.privateKey);
    assert.equal(entry.verify(a.publicKey, message, 'RAW', entry.sign(a.privateKey, message, 'RAW')), true);
  });
});

describe('addon key handles', () => {
  test('sign, verify, encrypt and decrypt take handles as they take DER', () => {
    const addon = nativeAddon();
    const id = Buffer.from('1234567812345678');
    for (const [a, b] of [pairs.SM2]) {
      const privA = addon.loadPrivateKey(a.privateKey, 'SM2');
      const pubA = addon.loadPublicKey(a.publicKey, 'SM2');
      const privB = addon.loadPrivateKey(b.privateKey, 'SM2');
      const sig = addon.sm2Sign(privA, message, id);
      assert.equal(addon.sm2Verify(a.publicKey, message, id, sig), true);
      assert.equal(addon.sm2Verify(pubA, message, id, addon.sm2Sign(a.privateKey, message, id)), true);
      assert.equal(addon.sm2Verify(addon.loadPublicKey(b.publicKey, 'SM2'), message, id, sig), false);
      const ciphertext = addon.sm2Encrypt(pubA, Buffer.from('secret'));
      assert.equal(addon.sm2Decrypt(privA, ciphertext).toString(), 'secret');
      assert.throws(() => addon.sm2Decrypt(privB, ciphertext), { code: 'ERR_STRONGROOM_DECRYPT' });
    }
    const rsa = addon.loadPrivateKey(pairs.RSA[0].privateKey, 'RSA');
    const digest = createHash('sha256').update(message).digest();
    assert.deepEqual(
      addon.signDigest(rsa, 'RSA', 'SHA256', 1, -1, digest),
      addon.signDigest(pairs.RSA[0].privateKey, 'RSA', 'SHA256', 1, -1, digest),
    );
  });

  test('a handle is refused as the other kind, as another key type, and anything else is refused', () => {
    const addon = nativeAddon();
    const id = Buffer.from('1234567812345678');
    const { privateKey, publicKey } = pairs.SM2[0];
    const priv = addon.loadPrivateKey(privateKey, 'SM2');
    const pub = addon.loadPublicKey(publicKey, 'SM2');
    const digest = Buffer.alloc(32, 7);
    const sig = addon.sm2Sign(priv, message, id);
    assert.throws(() => addon.sm2Sign(pub, message, id), { name: 'TypeError', message: /holds a public key/ });
    assert.throws(() => addon.signDigest(pub, 'SM2', 'SM3', 0, 0, digest), /holds a public key/);
    assert.throws(() => addon.sm2Decrypt(pub, Buffer.alloc(120)), TypeError);
    assert.throws(() => addon.sm2Verify(priv, message, id, sig), { name: 'TypeError', message: /holds a private key/ });
    assert.throws(() => addon.sm2Encrypt(priv, Buffer.from('x')), /holds a private key/);
    assert.throws(() => addon.signDigest(priv, 'EC', 'SHA256', 0, 0, Buffer.alloc(32)), /not an EC key/);
    assert.throws(() => addon.loadPrivateKey(publicKey, 'SM2'), TypeError);
    assert.throws(() => addon.loadPublicKey(privateKey, 'SM2'), TypeError);
    assert.throws(() => addon.loadPrivateKey(pairs.EC[0].privateKey, 'SM2'), /not an SM2 key/);
    assert.throws(() => addon.loadPrivateKey(priv as unknown as Buffer, 'SM2'), TypeError, 'a loader takes DER only');
    assert.throws(() => addon.sm2Sign({} as unknown as Buffer, message, id), TypeError);
  });
});

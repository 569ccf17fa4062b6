// Behaviour of the engine table (src/crypto/algorithms.ts) and the engines behind it: round trips for every
// Huawei algorithm name, RAW/DIGEST equivalence, tamper checks, misuse errors (TypeError/RangeError) and the
// DecryptionFailed contract. Known-answer vectors are in asymmetric-vectors.test.ts, openssl interop in
// openssl-interop.test.ts.
import assert from 'node:assert/strict';
import { createHash, ECDH, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  ASYMMETRIC_ENCRYPTION_ALGORITHMS,
  DecryptionFailed,
  isAsymmetricEncryptionAlgorithm,
  isMacAlgorithm,
  isSigningAlgorithm,
  KEY_PAIR_SPECS,
  MAC_ALGORITHMS,
  SIGNING_ALGORITHMS,
  type KeyFamily,
  type KeyPairDer,
  type KeyPairSpec,
  type MessageType,
} from '../src/crypto/algorithms.js';
import { readEcPkcs8, readEcSpki } from '../src/crypto/der.js';
import { nativeAddon } from '../src/crypto/native.js';
import { rsaOaepMaxPlaintextBytes } from '../src/crypto/rsa.js';
import { sm2MessageDigest, sm2Sign, sm2Verify, sm2VerifyDigest, sm2Z } from '../src/crypto/sm2.js';
import { sm2Spki } from './helpers/asym.js';

const keys = new Map<KeyPairSpec, KeyPairDer>();
function keyFor(spec: KeyPairSpec): KeyPairDer {
  let pair = keys.get(spec);
  if (pair === undefined) {
    pair = KEY_PAIR_SPECS[spec].generate();
    keys.set(spec, pair);
  }
  return pair;
}
/** A second, unrelated key pair of the same spec (cached: RSA key generation is slow). */
const strangers = new Map<KeyPairSpec, KeyPairDer>();
function strangerFor(spec: KeyPairSpec): KeyPairDer {
  let pair = strangers.get(spec);
  if (pair === undefined) {
    pair = KEY_PAIR_SPECS[spec].generate();
    strangers.set(spec, pair);
  }
  return pair;
}
const SPEC_FOR_FAMILY: Record<KeyFamily, KeyPairSpec[]> = {
  RSA: ['RSA_2048'],
  EC: ['EC_P256', 'EC_P384', 'EC_P521', 'SECP256K1'],
  SM2: ['SM2'],
  ED25519: ['ED25519'],
};
const OTHER_FAMILY: Record<KeyFamily, KeyPairSpec> = { RSA: 'EC_P256', EC: 'SM2', SM2: 'RSA_2048', ED25519: 'EC_P256' };
const message = Buffer.from('message for the engine table');

describe('SIGNING_ALGORITHMS', () => {
  test('lists exactly the twelve Huawei signing algorithms (§3.3)', () => {
    assert.deepEqual(Object.keys(SIGNING_ALGORITHMS).sort(), [
      'ECDSA_SHA_256',
      'ECDSA_SHA_384',
      'ECDSA_SHA_512',
      'ED25519_PH_SHA_512',
      'ED25519_SHA_512',
      'RSASSA_PKCS1_V1_5_SHA_256',
      'RSASSA_PKCS1_V1_5_SHA_384',
      'RSASSA_PKCS1_V1_5_SHA_512',
      'RSASSA_PSS_SHA_256',
      'RSASSA_PSS_SHA_384',
      'RSASSA_PSS_SHA_512',
      'SM2DSA_SM3',
    ]);
    assert.equal(isSigningAlgorithm('ECDSA_SHA_256'), true);
    assert.equal(isSigningAlgorithm('ED25519_SHA_512'), true);
    assert.equal(isSigningAlgorithm('ED448_SHAKE_256'), false);
    assert.deepEqual(SIGNING_ALGORITHMS.ED25519_SHA_512.messageTypes, ['RAW'], 'pure Ed25519 has no DIGEST form');
    assert.equal(isSigningAlgorithm('toString'), false);
  });

  for (const [name, entry] of Object.entries(SIGNING_ALGORITHMS)) {
    for (const spec of SPEC_FOR_FAMILY[entry.family]) {
      test(`${name} on ${spec}: RAW and DIGEST sign/verify, each verifies as the other, tampering is rejected`, () => {
        const pair = keyFor(spec);
        // DIGEST for SM2DSA_SM3 is e = SM3(Z || M) with the default ID; for the others the plain hash
        const digest =
          entry.family === 'SM2'
            ? sm2MessageDigest(pair.publicKey, message)
            : createHash(entry.digest).update(message).digest();
        assert.equal(digest.length, entry.digestBytes);
        const raw = entry.sign(pair.privateKey, message, 'RAW');
        const withDigest = entry.messageTypes.includes('DIGEST');
        if (!withDigest) {
          assert.throws(() => entry.sign(pair.privateKey, digest, 'DIGEST'), TypeError);
          assert.throws(() => entry.verify(pair.publicKey, digest, 'DIGEST', raw), TypeError);
        }
        const dig = withDigest ? entry.sign(pair.privateKey, digest, 'DIGEST') : raw;
        for (const sig of [raw, dig]) {
          assert.equal(entry.verify(pair.publicKey, message, 'RAW', sig), true);
          if (withDigest) assert.equal(entry.verify(pair.publicKey, digest, 'DIGEST', sig), true);
        }
        assert.equal(entry.verify(pair.publicKey, Buffer.from('another message'), 'RAW', raw), false);
        const otherDigest = Buffer.from(digest);
        otherDigest[0]! ^= 1;
        if (withDigest) assert.equal(entry.verify(pair.publicKey, otherDigest, 'DIGEST', dig), false);
        const tampered = Buffer.from(raw);
        tampered[tampered.length - 3]! ^= 0x10;
        assert.equal(entry.verify(pair.publicKey, message, 'RAW', tampered), false);
        for (const junk of [Buffer.alloc(0), Buffer.from('not a signature'), randomBytes(raw.length)]) {
          assert.equal(entry.verify(pair.publicKey, message, 'RAW', junk), false);
          if (withDigest) assert.equal(entry.verify(pair.publicKey, digest, 'DIGEST', junk), false);
        }
        const stranger = strangerFor(spec);
        assert.equal(entry.verify(stranger.publicKey, message, 'RAW', raw), false);
      });
    }

    test(`${name}: misuse throws (digest length, message type, key family)`, () => {
      const pair = keyFor(SPEC_FOR_FAMILY[entry.family][0]!);
      // a digest of the wrong length is RangeError; for an algorithm without a DIGEST form any digest is TypeError
      const wrongLength = entry.messageTypes.includes('DIGEST') ? RangeError : TypeError;
      assert.throws(() => entry.sign(pair.privateKey, Buffer.alloc(entry.digestBytes + 1), 'DIGEST'), wrongLength);
      assert.throws(() => entry.sign(pair.privateKey, Buffer.alloc(20), 'DIGEST'), wrongLength);
      assert.throws(() => entry.verify(pair.publicKey, Buffer.alloc(entry.digestBytes - 1), 'DIGEST', Buffer.alloc(8)), wrongLength);
      assert.throws(() => entry.sign(pair.privateKey, message, 'HASH' as MessageType), TypeError);
      const other = keyFor(OTHER_FAMILY[entry.family]);
      assert.throws(() => entry.sign(other.privateKey, message, 'RAW'), TypeError);
      assert.throws(() => entry.sign(other.privateKey, Buffer.alloc(entry.digestBytes), 'DIGEST'), TypeError);
      assert.throws(() => entry.verify(other.publicKey, message, 'RAW', Buffer.alloc(64)), TypeError);
      assert.throws(() => entry.sign(pair.publicKey, message, 'RAW'), TypeError, 'a public key is not a private key');
      assert.throws(() => entry.sign(Buffer.from('garbage'), message, 'RAW'), TypeError);
      assert.throws(() => entry.sign('key' as unknown as Buffer, message, 'RAW'), TypeError);
    });
  }
});

describe('ASYMMETRIC_ENCRYPTION_ALGORITHMS', () => {
  test('lists RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256 and SM2_ENCRYPT', () => {
    assert.deepEqual(Object.keys(ASYMMETRIC_ENCRYPTION_ALGORITHMS).sort(), ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2_ENCRYPT']);
    assert.equal(isAsymmetricEncryptionAlgorithm('SYMMETRIC_DEFAULT'), false);
  });

  for (const [name, entry] of Object.entries(ASYMMETRIC_ENCRYPTION_ALGORITHMS)) {
    test(`${name}: round trip, largest plaintext, tampering and wrong keys give DecryptionFailed`, () => {
      const pair = keyFor(SPEC_FOR_FAMILY[entry.family][0]!);
      for (const size of [1, 32, 190]) {
        const plaintext = randomBytes(size);
        const ciphertext = entry.encrypt(pair.publicKey, plaintext);
        assert.deepEqual(entry.decrypt(pair.privateKey, ciphertext), plaintext);
        assert.notDeepEqual(entry.encrypt(pair.publicKey, plaintext), ciphertext, 'randomised');
      }
      const ciphertext = entry.encrypt(pair.publicKey, Buffer.from('secret'));
      for (const at of [0, 5, Math.floor(ciphertext.length / 2), ciphertext.length - 1]) {
        const tampered = Buffer.from(ciphertext);
        tampered[at]! ^= 0x01;
        assert.throws(() => entry.decrypt(pair.privateKey, tampered), DecryptionFailed, `byte ${at}`);
      }
      assert.throws(() => entry.decrypt(pair.privateKey, ciphertext.subarray(0, ciphertext.length - 1)), DecryptionFailed);
      assert.throws(() => entry.decrypt(pair.privateKey, Buffer.alloc(0)), DecryptionFailed);
      const stranger = strangerFor(SPEC_FOR_FAMILY[entry.family][0]!);
      assert.throws(() => entry.decrypt(stranger.privateKey, ciphertext), DecryptionFailed);
      const other = keyFor(OTHER_FAMILY[entry.family]);
      assert.throws(() => entry.encrypt(other.publicKey, Buffer.from('x')), TypeError);
      assert.throws(() => entry.decrypt(other.privateKey, ciphertext), TypeError, 'a key of the wrong family is misuse');
    });
  }

  test('RSA-OAEP plaintext limits are k − 2·hLen − 2 (RFC 8017 §7.1.1); SM2 refuses an empty plaintext', () => {
    const rsa = keyFor('RSA_2048');
    assert.equal(rsaOaepMaxPlaintextBytes('sha256', rsa.publicKey), 190);
    assert.equal(rsaOaepMaxPlaintextBytes('sha1', rsa.publicKey), 214);
    for (const [name, max] of [['RSAES_OAEP_SHA_256', 190], ['RSAES_OAEP_SHA_1', 214]] as const) {
      const entry = ASYMMETRIC_ENCRYPTION_ALGORITHMS[name];
      assert.equal(entry.maxPlaintextBytes(rsa.publicKey), max);
      const full = randomBytes(max);
      assert.deepEqual(entry.decrypt(rsa.privateKey, entry.encrypt(rsa.publicKey, full)), full);
      assert.throws(() => entry.encrypt(rsa.publicKey, randomBytes(max + 1)), RangeError);
    }
    const sm2 = ASYMMETRIC_ENCRYPTION_ALGORITHMS.SM2_ENCRYPT;
    assert.equal(sm2.maxPlaintextBytes(keyFor('SM2').publicKey), Number.POSITIVE_INFINITY);
    assert.throws(() => sm2.encrypt(keyFor('SM2').publicKey, Buffer.alloc(0)), RangeError);
    const big = randomBytes(4096);
    assert.deepEqual(sm2.decrypt(keyFor('SM2').privateKey, sm2.encrypt(keyFor('SM2').publicKey, big)), big);
  });
});

describe('MAC_ALGORITHMS', () => {
  test('maps each HMAC algorithm to its key spec and digest length', () => {
    const expected = {
      HMAC_SHA_256: ['HMAC_256', 32],
      HMAC_SHA_384: ['HMAC_384', 48],
      HMAC_SHA_512: ['HMAC_512', 64],
      HMAC_SM3: ['HMAC_SM3', 32],
    } as const;
    assert.deepEqual(Object.keys(MAC_ALGORITHMS).sort(), Object.keys(expected).sort());
    for (const [name, [spec, bytes]] of Object.entries(expected)) {
      assert.equal(isMacAlgorithm(name), true);
      const { keySpec, engine } = MAC_ALGORITHMS[name as keyof typeof expected];
      assert.equal(keySpec, spec);
      assert.equal(engine.macBytes, bytes);
      const key = engine.generateKey();
      assert.equal(key.length, bytes);
      const mac = engine.mac(key, message);
      assert.equal(mac.length, bytes);
      assert.equal(engine.verify(key, message, mac), true);
      assert.equal(engine.verify(engine.generateKey(), message, mac), false, 'another key');
      const tampered = Buffer.from(mac);
      tampered[bytes - 1]! ^= 1;
      assert.equal(engine.verify(key, message, tampered), false);
      assert.equal(engine.verify(key, message, Buffer.concat([mac, Buffer.from([0])])), false, 'too long');
      assert.equal(engine.verify(key, message, Buffer.alloc(0)), false);
      assert.throws(() => engine.mac(Buffer.alloc(0), message), RangeError);
      assert.throws(() => engine.mac('key' as unknown as Buffer, message), TypeError);
    }
    assert.equal(isMacAlgorithm('HMAC_SHA_1'), false);
  });
});

describe('KEY_PAIR_SPECS', () => {
  const expectations: Record<KeyPairSpec, { curve?: string; bits: number }> = {
    RSA_2048: { bits: 2048 },
    RSA_3072: { bits: 3072 },
    RSA_4096: { bits: 4096 },
    EC_P256: { curve: '1.2.840.10045.3.1.7', bits: 256 },
    EC_P384: { curve: '1.3.132.0.34', bits: 384 },
    EC_P521: { curve: '1.3.132.0.35', bits: 521 },
    SECP256K1: { curve: '1.3.132.0.10', bits: 256 },
    SM2: { curve: '1.2.156.10197.1.301', bits: 256 },
    ED25519: { bits: 255 },
  };
  for (const [spec, want] of Object.entries(expectations) as [KeyPairSpec, (typeof expectations)[KeyPairSpec]][]) {
    test(`${spec} generates PKCS#8 + SPKI DER of the right kind${want.curve ? ', and ECDH agrees both ways' : ''}`, () => {
      const entry = KEY_PAIR_SPECS[spec];
      assert.equal(entry.bits, want.bits);
      const pair = keyFor(spec);
      if (spec === 'ED25519') {
        // RFC 8410: SPKI 30 2a 30 05 06 03 2b 65 70 03 21 00 ‖ A (32 bytes); no key agreement (that is X25519)
        assert.equal(entry.family, 'ED25519');
        assert.equal(entry.deriveSharedSecret, undefined);
        assert.equal(pair.publicKey.length, 44);
        assert.equal(pair.publicKey.subarray(0, 12).toString('hex'), '302a300506032b6570032100');
        assert.deepEqual(entry.fromPrivateKey(pair.privateKey).publicKey, pair.publicKey);
        assert.throws(() => entry.fromPrivateKey(keyFor('EC_P256').privateKey), TypeError);
        return;
      }
      if (want.curve === undefined) {
        assert.equal(entry.family, 'RSA');
        assert.equal(entry.deriveSharedSecret, undefined);
        const ct = ASYMMETRIC_ENCRYPTION_ALGORITHMS.RSAES_OAEP_SHA_256.encrypt(pair.publicKey, Buffer.from('k'));
        assert.equal(ct.length, want.bits / 8);
        return;
      }
      assert.equal(readEcSpki(pair.publicKey).curve, want.curve);
      assert.equal(readEcPkcs8(pair.privateKey).curve, want.curve);
      const peer = entry.generate();
      const derive = entry.deriveSharedSecret!;
      const secret = derive(pair.privateKey, peer.publicKey);
      assert.equal(secret.length, Math.ceil(want.bits / 8));
      assert.deepEqual(derive(peer.privateKey, pair.publicKey), secret);
      assert.notDeepEqual(derive(pair.privateKey, entry.generate().publicKey), secret);
      // a peer on another curve, an RSA key, or garbage is misuse
      const otherCurve = spec === 'EC_P384' ? 'EC_P256' : 'EC_P384';
      assert.throws(() => derive(pair.privateKey, keyFor(otherCurve).publicKey), TypeError);
      assert.throws(() => derive(pair.privateKey, keyFor('RSA_2048').publicKey), TypeError);
      assert.throws(() => derive(pair.privateKey, Buffer.from('not a key')), TypeError);
    });
  }

  test('SM2 ECDH rejects a peer point that is not on the curve', () => {
    const bad = sm2Spki(Buffer.concat([Buffer.from([4]), Buffer.alloc(32, 1), Buffer.alloc(32, 2)]));
    assert.throws(() => KEY_PAIR_SPECS.SM2.deriveSharedSecret!(keyFor('SM2').privateKey, bad), TypeError);
  });
});

describe('SM2 details', () => {
  test('Z computed here matches the Z OpenSSL uses, for the default ID and others', () => {
    for (let i = 0; i < 5; i++) {
      const pair = KEY_PAIR_SPECS.SM2.generate();
      const msg = randomBytes(1 + i * 50);
      for (const id of ['1234567812345678', 'alice@example.com', '']) {
        const sig = sm2Sign(pair.privateKey, msg, id); // OpenSSL computes Z internally
        assert.equal(sm2Verify(pair.publicKey, msg, sig, id), true);
        const e = createHash('sm3').update(sm2Z(pair.publicKey, id)).update(msg).digest();
        assert.equal(sm2VerifyDigest(pair.publicKey, e, sig), true, `id ${JSON.stringify(id)}`);
        if (id !== '1234567812345678') assert.equal(sm2Verify(pair.publicKey, msg, sig), false, 'default ID differs');
      }
    }
  });

  test('Z accepts a compressed-point SPKI and rejects non-SM2 keys and oversized IDs', () => {
    const pair = keyFor('SM2');
    const point = readEcSpki(pair.publicKey).point;
    const compressed = sm2Spki(ECDH.convertKey(point, 'SM2', undefined, undefined, 'compressed') as Buffer);
    assert.equal(compressed.length, 91 - 32);
    assert.deepEqual(sm2Z(compressed), sm2Z(pair.publicKey));
    assert.throws(() => sm2Z(keyFor('EC_P256').publicKey), TypeError);
    assert.throws(() => sm2Z(pair.publicKey, Buffer.alloc(8192)), RangeError);
    assert.equal(sm2Z(pair.publicKey, Buffer.alloc(8191)).length, 32);
  });
});

describe('native addon and DER reader edge cases', () => {
  test('the addon runs on node’s own OpenSSL and rejects bad arguments with TypeError', () => {
    const addon = nativeAddon();
    assert.ok(addon.opensslVersion().includes(process.versions.openssl.split('+')[0]!));
    const pair = keyFor('SM2');
    assert.throws(() => addon.sm2Sign(pair.privateKey, 'text' as unknown as Buffer, Buffer.alloc(0)), TypeError);
    assert.throws(() => (addon.sm2Sign as (...a: unknown[]) => Buffer)(pair.privateKey, message), TypeError);
    assert.throws(() => addon.sm2Sign(Buffer.concat([pair.privateKey, Buffer.from([0])]), message, Buffer.alloc(0)), TypeError, 'trailing bytes');
    assert.throws(() => addon.signDigest(pair.privateKey, 'SM2', 'NO-SUCH-DIGEST', 0, 0, Buffer.alloc(32)), TypeError);
    assert.throws(() => addon.signDigest(keyFor('EC_P256').privateKey, 'SM2', 'SM3', 0, 0, Buffer.alloc(32)), /not an SM2 key/);
    // a Uint8Array that is not a Buffer works too
    const sig = addon.sm2Sign(new Uint8Array(pair.privateKey) as Buffer, new Uint8Array(message) as Buffer, Buffer.from('1234567812345678'));
    assert.equal(sm2Verify(pair.publicKey, message, sig), true);
  });

  test('readEcSpki / readEcPkcs8 reject truncated, trailing and non-EC input', () => {
    const spki = keyFor('EC_P256').publicKey;
    assert.throws(() => readEcSpki(spki.subarray(0, spki.length - 1)), TypeError);
    assert.throws(() => readEcSpki(Buffer.concat([spki, Buffer.from([0])])), TypeError);
    assert.throws(() => readEcSpki(keyFor('RSA_2048').publicKey), TypeError);
    assert.throws(() => readEcPkcs8(Buffer.alloc(0)), TypeError);
    assert.throws(() => readEcPkcs8(keyFor('EC_P256').publicKey), TypeError);
  });
});

// Interoperability of the public-key engines with the openssl command (Debian's OpenSSL 3.0 CLI, a separate
// libcrypto from the copy inside node): signatures made by our engines verify with `openssl dgst` / `pkeyutl`,
// signatures made by openssl verify with our engines, ciphertexts cross in both directions (RSA-OAEP, SM2), and
// ECDH agrees. SM2 ECDH is not checked here: OpenSSL 3.0's CLI has no key exchange for SM2 keys (see the
// GM/T 0003.5 check in asymmetric-vectors.test.ts instead).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  ecdhDeriveSharedSecret,
  ecdsaSign,
  ecdsaSignDigest,
  ecdsaVerify,
  ecdsaVerifyDigest,
  generateEcKeyPair,
  type EcCurve,
  type EcdsaHash,
} from '../src/crypto/ec.js';
import { DecryptionFailed } from '../src/crypto/pkey.js';
import {
  generateRsaKeyPair,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  rsaSign,
  rsaSignDigest,
  rsaVerify,
  rsaVerifyDigest,
  type RsaOaepHash,
  type RsaSignatureHash,
} from '../src/crypto/rsa.js';
import {
  generateSm2KeyPair,
  sm2Decrypt,
  sm2Encrypt,
  sm2MessageDigest,
  sm2Sign,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
} from '../src/crypto/sm2.js';
import { hasOpenssl, openssl, opensslStatus, pem } from './helpers/asym.js';

const skip = !hasOpenssl && 'the openssl command is not installed';
const message = Buffer.from('Strongroom interop message: the quick brown fox jumps over the lazy dog\n');

/** Key files for openssl: key.pem (PKCS#8) and pub.pem (SPKI). */
const keyFiles = (pair: { privateKey: Buffer; publicKey: Buffer }) => ({
  'key.pem': pem(pair.privateKey, 'PRIVATE KEY'),
  'pub.pem': pem(pair.publicKey, 'PUBLIC KEY'),
});

/** SPKI DER of an openssl-made key, and its PKCS#8 DER. */
function opensslKey(genpkeyArgs: string[]): { privateKey: Buffer; publicKey: Buffer } {
  const pemKey = openssl(['genpkey', ...genpkeyArgs, '-out', '{out}']).out;
  return {
    // `pkey -outform DER` writes the traditional (SEC1/PKCS#1) form; the engines take PKCS#8 only
    privateKey: openssl(['pkcs8', '-topk8', '-nocrypt', '-in', '{in:k.pem}', '-outform', 'DER', '-out', '{out}'], { 'k.pem': pemKey }).out,
    publicKey: openssl(['pkey', '-in', '{in:k.pem}', '-pubout', '-outform', 'DER', '-out', '{out}'], { 'k.pem': pemKey }).out,
  };
}

describe('RSA with the openssl command', { skip }, () => {
  const pair = generateRsaKeyPair(2048);
  const files = keyFiles(pair);
  const hashes: RsaSignatureHash[] = ['sha256', 'sha384', 'sha512'];

  for (const hash of hashes) {
    test(`PKCS#1 v1.5 ${hash}: our RAW and DIGEST signatures equal openssl's byte for byte, and verify there`, () => {
      const ours = rsaSign('pkcs1', hash, pair.privateKey, message);
      const digest = createHash(hash).update(message).digest();
      assert.deepEqual(rsaSignDigest('pkcs1', hash, pair.privateKey, digest), ours);
      const theirs = openssl([`dgst`, `-${hash}`, '-sign', '{in:key.pem}', '-out', '{out}', '{in:msg}'], { ...files, msg: message }).out;
      assert.deepEqual(ours, theirs, 'PKCS#1 v1.5 is deterministic');
      openssl(['dgst', `-${hash}`, '-verify', '{in:pub.pem}', '-signature', '{in:sig}', '{in:msg}'], { ...files, msg: message, sig: ours });
      openssl(
        ['pkeyutl', '-verify', '-pubin', '-inkey', '{in:pub.pem}', '-in', '{in:dgst}', '-sigfile', '{in:sig}', '-pkeyopt', `digest:${hash}`],
        { ...files, dgst: digest, sig: ours },
      );
      assert.equal(rsaVerifyDigest('pkcs1', hash, pair.publicKey, digest, theirs), true);
    });

    test(`PSS ${hash}: ours verify with openssl (salt = hash length); openssl's (max and digest salt) verify with ours`, () => {
      const digest = createHash(hash).update(message).digest();
      const pss = ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest', '-sigopt', `rsa_mgf1_md:${hash}`];
      const oursRaw = rsaSign('pss', hash, pair.privateKey, message);
      openssl(['dgst', `-${hash}`, '-verify', '{in:pub.pem}', ...pss, '-signature', '{in:sig}', '{in:msg}'], { ...files, msg: message, sig: oursRaw });
      const oursDigest = rsaSignDigest('pss', hash, pair.privateKey, digest);
      openssl(
        ['pkeyutl', '-verify', '-pubin', '-inkey', '{in:pub.pem}', '-in', '{in:dgst}', '-sigfile', '{in:sig}',
          '-pkeyopt', `digest:${hash}`, '-pkeyopt', 'rsa_padding_mode:pss', '-pkeyopt', 'rsa_pss_saltlen:digest'],
        { ...files, dgst: digest, sig: oursDigest },
      );
      for (const salt of ['max', 'digest']) {
        const theirs = openssl(
          ['dgst', `-${hash}`, '-sign', '{in:key.pem}', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', `rsa_pss_saltlen:${salt}`, '-out', '{out}', '{in:msg}'],
          { ...files, msg: message },
        ).out;
        assert.equal(rsaVerify('pss', hash, pair.publicKey, message, theirs), true, `salt ${salt}`);
        assert.equal(rsaVerifyDigest('pss', hash, pair.publicKey, digest, theirs), true, `salt ${salt}`);
        assert.equal(rsaVerify('pss', hash, pair.publicKey, Buffer.concat([message, Buffer.from('x')]), theirs), false);
        assert.equal(rsaVerify('pkcs1', hash, pair.publicKey, message, theirs), false);
      }
      const tampered = Buffer.from(oursRaw);
      tampered[10]! ^= 0x40;
      assert.equal(
        opensslStatus(['dgst', `-${hash}`, '-verify', '{in:pub.pem}', ...pss, '-signature', '{in:sig}', '{in:msg}'], { ...files, msg: message, sig: tampered }),
        1,
        'openssl rejects the tampered signature too',
      );
    });
  }

  const oaepHashes: RsaOaepHash[] = ['sha1', 'sha256'];
  for (const hash of oaepHashes) {
    const oaep = ['-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', `rsa_oaep_md:${hash}`, '-pkeyopt', `rsa_mgf1_md:${hash}`];
    test(`OAEP ${hash}: openssl encrypts to our key and we decrypt; we encrypt and openssl decrypts; tampering fails`, () => {
      const plaintext = randomBytes(32);
      const theirs = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', '{in:pub.pem}', ...oaep, '-in', '{in:pt}', '-out', '{out}'], {
        ...files,
        pt: plaintext,
      }).out;
      assert.deepEqual(rsaOaepDecrypt(hash, pair.privateKey, theirs), plaintext);
      const ours = rsaOaepEncrypt(hash, pair.publicKey, plaintext);
      const decrypted = openssl(['pkeyutl', '-decrypt', '-inkey', '{in:key.pem}', ...oaep, '-in', '{in:ct}', '-out', '{out}'], {
        ...files,
        ct: ours,
      }).out;
      assert.deepEqual(decrypted, plaintext);
      const tampered = Buffer.from(theirs);
      tampered[tampered.length - 1]! ^= 1;
      assert.throws(() => rsaOaepDecrypt(hash, pair.privateKey, tampered), DecryptionFailed);
      const other: RsaOaepHash = hash === 'sha1' ? 'sha256' : 'sha1';
      assert.throws(() => rsaOaepDecrypt(other, pair.privateKey, theirs), DecryptionFailed, 'wrong OAEP hash');
    });
  }

  test('a key made by openssl genpkey signs and decrypts with our engines', () => {
    const theirs = opensslKey(['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']);
    const sig = rsaSign('pss', 'sha256', theirs.privateKey, message);
    assert.equal(rsaVerify('pss', 'sha256', theirs.publicKey, message, sig), true);
    const ct = rsaOaepEncrypt('sha256', theirs.publicKey, Buffer.from('hello'));
    assert.equal(rsaOaepDecrypt('sha256', theirs.privateKey, ct).toString(), 'hello');
  });
});

describe('ECDSA and ECDH with the openssl command', { skip }, () => {
  const cases: [EcCurve, string, EcdsaHash[]][] = [
    ['P-256', 'P-256', ['sha256', 'sha384', 'sha512']],
    ['P-384', 'P-384', ['sha256', 'sha384', 'sha512']],
    ['secp256k1', 'secp256k1', ['sha256', 'sha512']],
  ];
  for (const [curve, opensslCurve, hashes] of cases) {
    const pair = generateEcKeyPair(curve);
    const files = keyFiles(pair);
    for (const hash of hashes) {
      test(`${curve} ${hash}: signatures cross in both directions, RAW and DIGEST`, () => {
        const digest = createHash(hash).update(message).digest();
        const oursRaw = ecdsaSign(hash, pair.privateKey, message);
        openssl(['dgst', `-${hash}`, '-verify', '{in:pub.pem}', '-signature', '{in:sig}', '{in:msg}'], { ...files, msg: message, sig: oursRaw });
        const oursDigest = ecdsaSignDigest(hash, pair.privateKey, digest);
        openssl(['pkeyutl', '-verify', '-pubin', '-inkey', '{in:pub.pem}', '-in', '{in:dgst}', '-sigfile', '{in:sig}'], {
          ...files,
          dgst: digest,
          sig: oursDigest,
        });
        const theirsRaw = openssl(['dgst', `-${hash}`, '-sign', '{in:key.pem}', '-out', '{out}', '{in:msg}'], { ...files, msg: message }).out;
        const theirsDigest = openssl(['pkeyutl', '-sign', '-inkey', '{in:key.pem}', '-in', '{in:dgst}', '-out', '{out}'], { ...files, dgst: digest }).out;
        for (const sig of [theirsRaw, theirsDigest]) {
          assert.equal(ecdsaVerify(hash, pair.publicKey, message, sig), true);
          assert.equal(ecdsaVerifyDigest(hash, pair.publicKey, digest, sig), true);
        }
        assert.equal(ecdsaVerify(hash, pair.publicKey, Buffer.from('another message'), theirsRaw), false);
        assert.equal(
          opensslStatus(['dgst', `-${hash}`, '-verify', '{in:pub.pem}', '-signature', '{in:sig}', '{in:msg}'], {
            ...files,
            msg: Buffer.from('another message'),
            sig: oursRaw,
          }),
          1,
        );
      });
    }

    test(`${curve} ECDH: our shared secret equals openssl pkeyutl -derive, both ways`, () => {
      const theirs = opensslKey(['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${opensslCurve}`]);
      const ours = ecdhDeriveSharedSecret(pair.privateKey, theirs.publicKey);
      const viaOpenssl = openssl(['pkeyutl', '-derive', '-inkey', '{in:key.pem}', '-peerkey', '{in:peer.pem}', '-out', '{out}'], {
        ...files,
        'peer.pem': pem(theirs.publicKey, 'PUBLIC KEY'),
      }).out;
      assert.deepEqual(ours, viaOpenssl);
      assert.deepEqual(ecdhDeriveSharedSecret(theirs.privateKey, pair.publicKey), ours);
    });
  }
});

describe('SM2 with the openssl command (distinguishing ID 1234567812345678)', { skip }, () => {
  const pair = generateSm2KeyPair();
  const files = keyFiles(pair);
  const distid = ['-pkeyopt', 'distid:1234567812345678'];

  test('our RAW signature verifies with pkeyutl -rawin -digest sm3 and the default ID, not with the empty ID', () => {
    const sig = sm2Sign(pair.privateKey, message);
    const verify = ['pkeyutl', '-verify', '-pubin', '-inkey', '{in:pub.pem}', '-rawin', '-digest', 'sm3', '-in', '{in:msg}', '-sigfile', '{in:sig}'];
    openssl([...verify, ...distid], { ...files, msg: message, sig });
    assert.equal(opensslStatus(verify, { ...files, msg: message, sig }), 1, 'OpenSSL 3.0 defaults to an empty ID');
    assert.equal(opensslStatus([...verify, ...distid], { ...files, msg: Buffer.from('other'), sig }), 1);
  });

  test("openssl's RAW signature with the default ID verifies with ours; with another ID it does not", () => {
    const sig = openssl(
      ['pkeyutl', '-sign', '-inkey', '{in:key.pem}', '-rawin', '-digest', 'sm3', ...distid, '-in', '{in:msg}', '-out', '{out}'],
      { ...files, msg: message },
    ).out;
    assert.equal(sm2Verify(pair.publicKey, message, sig), true);
    assert.equal(sm2VerifyDigest(pair.publicKey, sm2MessageDigest(pair.publicKey, message), sig), true);
    assert.equal(sm2Verify(pair.publicKey, message, sig, 'another-id'), false);
    assert.equal(sm2Verify(pair.publicKey, Buffer.from('other'), sig), false);
  });

  test('DIGEST signatures over e = SM3(Z || M) cross in both directions', () => {
    const e = sm2MessageDigest(pair.publicKey, message);
    const ours = sm2SignDigest(pair.privateKey, e);
    openssl(['pkeyutl', '-verify', '-pubin', '-inkey', '{in:pub.pem}', '-in', '{in:e}', '-sigfile', '{in:sig}'], { ...files, e, sig: ours });
    // ...and because e includes Z with the default ID, the same signature is a RAW signature of the message
    openssl(
      ['pkeyutl', '-verify', '-pubin', '-inkey', '{in:pub.pem}', '-rawin', '-digest', 'sm3', ...distid, '-in', '{in:msg}', '-sigfile', '{in:sig}'],
      { ...files, msg: message, sig: ours },
    );
    const theirs = openssl(['pkeyutl', '-sign', '-inkey', '{in:key.pem}', '-in', '{in:e}', '-out', '{out}'], { ...files, e }).out;
    assert.equal(sm2VerifyDigest(pair.publicKey, e, theirs), true);
    assert.equal(sm2Verify(pair.publicKey, message, theirs), true);
  });

  test('encryption crosses in both directions (GM/T 0009 ASN.1); a flipped byte fails to decrypt', () => {
    const plaintext = Buffer.from('a 32-byte data key for SM2 test!');
    const theirs = openssl(['pkeyutl', '-encrypt', '-pubin', '-inkey', '{in:pub.pem}', '-in', '{in:pt}', '-out', '{out}'], {
      ...files,
      pt: plaintext,
    }).out;
    assert.deepEqual(sm2Decrypt(pair.privateKey, theirs), plaintext);
    const ours = sm2Encrypt(pair.publicKey, plaintext);
    assert.equal(ours[0], 0x30, 'an ASN.1 SEQUENCE');
    const decrypted = openssl(['pkeyutl', '-decrypt', '-inkey', '{in:key.pem}', '-in', '{in:ct}', '-out', '{out}'], { ...files, ct: ours }).out;
    assert.deepEqual(decrypted, plaintext);
    for (const at of [theirs.length - 1, theirs.length - 40, 10]) {
      const tampered = Buffer.from(theirs);
      tampered[at]! ^= 0x01;
      assert.throws(() => sm2Decrypt(pair.privateKey, tampered), DecryptionFailed, `byte ${at}`);
    }
  });

  test('a key made by openssl genpkey -algorithm SM2 works with our engines', () => {
    const theirs = opensslKey(['-algorithm', 'SM2']);
    const sig = sm2Sign(theirs.privateKey, message);
    assert.equal(sm2Verify(theirs.publicKey, message, sig), true);
    assert.equal(sm2Decrypt(theirs.privateKey, sm2Encrypt(theirs.publicKey, Buffer.from('x'))).toString(), 'x');
  });
});

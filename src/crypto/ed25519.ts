/**
 * Ed25519 engines (RFC 8032 §5.1): bytes in, bytes out. Keys cross the boundary as DER like every other engine's:
 * PKCS#8 PrivateKeyInfo and SubjectPublicKeyInfo with the id-Ed25519 algorithm (RFC 8410). Signatures are the raw
 * 64 bytes R ‖ S of RFC 8032 §5.1.6.
 *
 * - Pure Ed25519 (RFC 8032 §5.1.6/§5.1.7) over the message itself: OpenSSL's, through node:crypto. There is no DIGEST
 *   form of pure Ed25519: the message is hashed together with the key's prefix, so it cannot be hashed beforehand.
 * - Ed25519ph (RFC 8032 §5.1, PH = SHA-512, empty context) over a 64-byte SHA-512 digest PH(M), or over a message
 *   whose digest is taken here: node 20's OpenSSL 3.0 has no Ed25519ph, so the signature is @noble/curves' generic
 *   EdDSA (`eddsa`) on its own ed25519 curve, given the digest as the prehashed input. noble builds its ed25519ph the
 *   same way, with a prehash that hashes the message; here the prehash is the identity because the caller's bytes
 *   already are PH(M). What this file supplies are RFC 8032's parameters of Ed25519ph, not arithmetic: dom2(1, "")
 *   (§2, §5.1) and the clamping of the secret scalar (§5.1.5 step 2). test/ed25519-vectors.test.ts checks the result
 *   against RFC 8032 §7.3, against noble's own ed25519ph, and against libsodium's Ed25519ph.
 * Verification is RFC 8032's (non-canonical encodings refused), never ZIP-215's laxer rules.
 */
import { createHash, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { eddsa } from '@noble/curves/abstract/edwards.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { checkBytes, exportKeyPair, generateKeyPairOffLoop, keyPairOf, loadPrivateKey, loadPublicKey, type KeyPairDer } from './pkey.js';

/** Bytes of an Ed25519 signature (R ‖ S) and of an Ed25519ph prehash (SHA-512). */
export const ED25519_SIGNATURE_BYTES = 64;
export const ED25519PH_DIGEST_BYTES = 64;

/** RFC 8032 §2: dom2's fixed prefix, then octet(phflag), octet(length of the context), the context. */
const DOM2_PREFIX = Buffer.from('SigEd25519 no Ed25519 collisions', 'ascii');

function sha512(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(data).digest());
}

/**
 * Ed25519ph whose "message" is already PH(M) = SHA-512(M): noble's EdDSA on its ed25519 point group with RFC 8032's
 * Ed25519ph parameters and the identity as prehash.
 */
const ed25519phOverDigest = eddsa(ed25519.Point, sha512, {
  // RFC 8032 §5.1.5 step 2: prune the buffer: clear the lowest three bits of the first octet, clear the highest bit
  // of the last octet and set its second highest bit.
  adjustScalarBytes: (bytes: Uint8Array) => {
    const out = Uint8Array.from(bytes);
    out[0]! &= 0xf8;
    out[31]! &= 0x7f;
    out[31]! |= 0x40;
    return out;
  },
  // RFC 8032 §5.1: Ed25519ph is dom2(1, context); Strongroom signs with the empty context.
  domain: (data: Uint8Array, context: Uint8Array, phflag: boolean) => {
    if (!phflag || context.length > 255) throw new TypeError('Ed25519ph takes phflag 1 and a context of at most 255 bytes');
    return Buffer.concat([DOM2_PREFIX, Buffer.from([1, context.length]), context, data]);
  },
  prehash: (digest: Uint8Array) => Uint8Array.from(digest),
  zip215: false,
});

function edPrivate(der: Buffer): KeyObject {
  return loadPrivateKey(der, 'ed25519');
}

function edPublic(der: Buffer, name = 'publicKeyDer'): KeyObject {
  return loadPublicKey(der, 'ed25519', name);
}

/** The 32-byte seed (RFC 8032 §5.1.5's private key) of a PKCS#8 Ed25519 key; the caller zeroes it after use. */
function seedOf(privateKeyDer: Buffer): Buffer {
  const jwk = edPrivate(privateKeyDer).export({ format: 'jwk' });
  return Buffer.from(jwk.d!, 'base64url');
}

/** The 32-byte encoded point A of an SPKI Ed25519 public key. */
function pointOf(publicKeyDer: Buffer): Buffer {
  const jwk = edPublic(publicKeyDer).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

export function generateEd25519KeyPair(): KeyPairDer {
  return exportKeyPair(generateKeyPairSync('ed25519'));
}

/** As generateEd25519KeyPair, on the thread pool (pkey.ts generateKeyPairOffLoop). */
export function generateEd25519KeyPairAsync(): Promise<KeyPairDer> {
  return generateKeyPairOffLoop({ type: 'ed25519' });
}

/** An existing PKCS#8 DER Ed25519 private key (imported), re-encoded, with its public key; TypeError otherwise. */
export function ed25519KeyPairFromPrivate(privateKeyDer: Buffer): KeyPairDer {
  return keyPairOf(edPrivate(privateKeyDer));
}

/** Pure Ed25519 (RFC 8032 §5.1.6) over `message`; 64-byte signature. TypeError for a key that is not Ed25519. */
export function ed25519Sign(privateKeyDer: Buffer, message: Buffer): Buffer {
  checkBytes(message, 'message');
  return sign(null, message, edPrivate(privateKeyDer));
}

/** Pure Ed25519 verification (RFC 8032 §5.1.7); false for any signature that does not verify, malformed included. */
export function ed25519Verify(publicKeyDer: Buffer, message: Buffer, signature: Buffer): boolean {
  checkBytes(message, 'message');
  checkBytes(signature, 'signature');
  const key = edPublic(publicKeyDer);
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

function checkDigest(digest: Buffer): void {
  checkBytes(digest, 'digest');
  if (digest.length !== ED25519PH_DIGEST_BYTES) {
    throw new RangeError(`an Ed25519ph digest is ${ED25519PH_DIGEST_BYTES} bytes (SHA-512), got ${digest.length}`);
  }
}

/** Ed25519ph (RFC 8032 §5.1.6 with PH = SHA-512) over a precomputed digest PH(M); 64-byte signature. */
export function ed25519phSignDigest(privateKeyDer: Buffer, digest: Buffer): Buffer {
  checkDigest(digest);
  const seed = seedOf(privateKeyDer);
  try {
    return Buffer.from(ed25519phOverDigest.sign(digest, seed));
  } finally {
    seed.fill(0);
  }
}

/** Ed25519ph verification (RFC 8032 §5.1.7) of a signature over the digest PH(M); false when it does not verify. */
export function ed25519phVerifyDigest(publicKeyDer: Buffer, digest: Buffer, signature: Buffer): boolean {
  checkDigest(digest);
  checkBytes(signature, 'signature');
  const point = pointOf(publicKeyDer);
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return ed25519phOverDigest.verify(signature, digest, point);
  } catch {
    return false;
  }
}

/** Ed25519ph over a RAW message: PH(M) = SHA-512(M) taken here, then ed25519phSignDigest. */
export function ed25519phSign(privateKeyDer: Buffer, message: Buffer): Buffer {
  checkBytes(message, 'message');
  return ed25519phSignDigest(privateKeyDer, Buffer.from(sha512(message)));
}

export function ed25519phVerify(publicKeyDer: Buffer, message: Buffer, signature: Buffer): boolean {
  checkBytes(message, 'message');
  return ed25519phVerifyDigest(publicKeyDer, Buffer.from(sha512(message)), signature);
}

/**
 * Elliptic-curve engines on NIST P-256, P-384, P-521 (FIPS 186-5, SP 800-186) and secp256k1 (SEC 2): bytes in, bytes out.
 * - ECDSA (FIPS 186-5 §6) with SHA-256/384/512; signatures are DER `SEQUENCE { r INTEGER, s INTEGER }`
 *   (RFC 3279 §2.2.3). RAW messages are hashed by node:crypto; a precomputed DIGEST goes through the native addon
 *   (EVP_PKEY_sign), because node:crypto always hashes its input. A digest longer than the curve order is
 *   truncated to its leftmost bits, as FIPS 186-5 specifies.
 * - ECDH (SP 800-56A §5.7.1.2, cofactor 1): the shared secret is the x-coordinate, with a peer SPKI public key on
 *   the same curve.
 * Every primitive is OpenSSL's.
 */
import { diffieHellman, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { nativeAddon, nativePrivateKey, nativePublicKey, PADDING } from './native.js';
import { checkBytes, exportKeyPair, generateKeyPairOffLoop, keyPairOf, loadPrivateKey, loadPublicKey, type KeyPairDer } from './pkey.js';

export type EcCurve = 'P-256' | 'P-384' | 'P-521' | 'secp256k1';
export type EcdsaHash = 'sha256' | 'sha384' | 'sha512';

/** node/OpenSSL curve names, as asymmetricKeyDetails.namedCurve reports them. */
const OPENSSL_CURVE: Readonly<Record<EcCurve, string>> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
  secp256k1: 'secp256k1',
};
const HASH_BYTES: Readonly<Record<EcdsaHash, number>> = { sha256: 32, sha384: 48, sha512: 64 };
const OPENSSL_DIGEST: Readonly<Record<EcdsaHash, string>> = { sha256: 'SHA256', sha384: 'SHA384', sha512: 'SHA512' };

function checkHash(hash: string): asserts hash is EcdsaHash {
  if (hash !== 'sha256' && hash !== 'sha384' && hash !== 'sha512') throw new TypeError(`unsupported hash ${hash}`);
}

/** The curve of an EC key; TypeError for curves this engine does not serve. */
export function ecCurveOf(key: KeyObject): EcCurve {
  const named = key.asymmetricKeyDetails?.namedCurve;
  const curve = (Object.keys(OPENSSL_CURVE) as EcCurve[]).find((c) => OPENSSL_CURVE[c] === named);
  if (curve === undefined) throw new TypeError(`unsupported EC curve ${named ?? '(none)'}`);
  return curve;
}

function ecPrivate(der: Buffer): KeyObject {
  const key = loadPrivateKey(der, 'ec');
  ecCurveOf(key);
  return key;
}

function ecPublic(der: Buffer, name = 'publicKeyDer'): KeyObject {
  const key = loadPublicKey(der, 'ec', name);
  ecCurveOf(key);
  return key;
}

/** As generateEcKeyPair, on the thread pool (pkey.ts generateKeyPairOffLoop). */
export function generateEcKeyPairAsync(curve: EcCurve): Promise<KeyPairDer> {
  const named = OPENSSL_CURVE[curve];
  if (named === undefined) throw new TypeError(`unsupported EC curve ${String(curve)}`);
  return generateKeyPairOffLoop({ namedCurve: named });
}

export function generateEcKeyPair(curve: EcCurve): KeyPairDer {
  const named = OPENSSL_CURVE[curve];
  if (named === undefined) throw new TypeError(`unsupported EC curve ${String(curve)}`);
  return exportKeyPair(generateKeyPairSync('ec', { namedCurve: named }));
}

/**
 * An existing PKCS#8 DER private key on `curve` (an imported one), re-encoded, with its public key; TypeError when
 * it is not an EC key on that curve.
 */
export function ecKeyPairFromPrivate(curve: EcCurve, privateKeyDer: Buffer): KeyPairDer {
  const key = ecPrivate(privateKeyDer);
  if (ecCurveOf(key) !== curve) throw new TypeError(`privateKeyDer is not a ${curve} key`);
  return keyPairOf(key);
}

/** ECDSA over a RAW message, hashed with `hash`; DER signature. */
export function ecdsaSign(hash: EcdsaHash, privateKeyDer: Buffer, message: Buffer): Buffer {
  checkHash(hash);
  checkBytes(message, 'message');
  return sign(hash, message, { key: ecPrivate(privateKeyDer), dsaEncoding: 'der' });
}

export function ecdsaVerify(hash: EcdsaHash, publicKeyDer: Buffer, message: Buffer, signature: Buffer): boolean {
  checkHash(hash);
  checkBytes(message, 'message');
  checkBytes(signature, 'signature');
  const key = ecPublic(publicKeyDer);
  try {
    return verify(hash, message, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}

function checkDigest(hash: EcdsaHash, digest: Buffer): void {
  checkBytes(digest, 'digest');
  if (digest.length !== HASH_BYTES[hash]) {
    throw new RangeError(`a ${hash} digest is ${HASH_BYTES[hash]} bytes, got ${digest.length}`);
  }
}

/** ECDSA over a precomputed DIGEST of `hash` (native addon); DER signature. */
export function ecdsaSignDigest(hash: EcdsaHash, privateKeyDer: Buffer, digest: Buffer): Buffer {
  checkHash(hash);
  checkDigest(hash, digest);
  checkBytes(privateKeyDer, 'privateKeyDer');
  // the RAW path's key checks run before the addon parses the key; a cached handle passed them for these bytes
  const key = nativePrivateKey(privateKeyDer, 'EC', () => ecPrivate(privateKeyDer));
  return nativeAddon().signDigest(key, 'EC', OPENSSL_DIGEST[hash], PADDING.none, 0, digest);
}

export function ecdsaVerifyDigest(hash: EcdsaHash, publicKeyDer: Buffer, digest: Buffer, signature: Buffer): boolean {
  checkHash(hash);
  checkDigest(hash, digest);
  checkBytes(signature, 'signature');
  checkBytes(publicKeyDer, 'publicKeyDer');
  const key = nativePublicKey(publicKeyDer, 'EC', () => ecPublic(publicKeyDer));
  return nativeAddon().verifyDigest(key, 'EC', OPENSSL_DIGEST[hash], PADDING.none, 0, digest, signature);
}

/**
 * ECDH: the x-coordinate of d·Q for our private key d and the peer's SPKI public key Q, which must be on the same
 * curve (TypeError otherwise). OpenSSL checks that Q is a valid point when the key is parsed.
 */
export function ecdhDeriveSharedSecret(privateKeyDer: Buffer, peerPublicKeyDer: Buffer): Buffer {
  const privateKey = ecPrivate(privateKeyDer);
  const publicKey = ecPublic(peerPublicKeyDer, 'peerPublicKeyDer');
  if (ecCurveOf(publicKey) !== ecCurveOf(privateKey)) {
    throw new TypeError(`peer public key is on ${ecCurveOf(publicKey)}, the private key on ${ecCurveOf(privateKey)}`);
  }
  return diffieHellman({ privateKey, publicKey });
}

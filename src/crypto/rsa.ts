/**
 * RSA engines (RFC 8017 / PKCS #1 v2.2): bytes in, bytes out.
 * - RSASSA-PSS (§8.1) with SHA-256/384/512, MGF1 with the same hash, salt as long as the hash when signing (the
 *   usual KMS choice); verification accepts any salt length (RSA_PSS_SALTLEN_AUTO), so signatures made with a
 *   maximal salt verify too.
 * - RSASSA-PKCS1-v1_5 (§8.2) with SHA-256/384/512.
 *   Both over a RAW message (node:crypto hashes it) or a precomputed DIGEST (node:crypto cannot sign a digest, so
 *   that goes through the native addon: EVP_PKEY_sign with EVP_PKEY_CTX_set_signature_md, which adds the DigestInfo
 *   or the PSS encoding).
 * - RSAES-OAEP (§7.1) with SHA-1 or SHA-256 and MGF1 with the same hash, empty label.
 * Key generation: 2048, 3072 or 4096 bits, e = 65537. Every primitive is OpenSSL's.
 */
import {
  constants,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { nativeAddon, nativePrivateKey, nativePublicKey, PADDING, PSS_SALT } from './native.js';
import { checkBytes, DecryptionFailed, exportKeyPair, generateKeyPairOffLoop, keyPairOf, loadPrivateKey, loadPublicKey, type KeyPairDer } from './pkey.js';

export type RsaSignatureHash = 'sha256' | 'sha384' | 'sha512';
export type RsaOaepHash = 'sha1' | 'sha256';
export type RsaSignaturePadding = 'pss' | 'pkcs1';

export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;
export type RsaKeySize = (typeof RSA_KEY_SIZES)[number];

const HASH_BYTES: Readonly<Record<RsaSignatureHash | RsaOaepHash, number>> = {
  sha1: 20,
  sha256: 32,
  sha384: 48,
  sha512: 64,
};
const OPENSSL_DIGEST: Readonly<Record<RsaSignatureHash, string>> = {
  sha256: 'SHA256',
  sha384: 'SHA384',
  sha512: 'SHA512',
};

function checkHash(hash: string): asserts hash is RsaSignatureHash {
  if (hash !== 'sha256' && hash !== 'sha384' && hash !== 'sha512') throw new TypeError(`unsupported hash ${hash}`);
}

function checkDigest(hash: RsaSignatureHash, digest: Buffer): void {
  checkBytes(digest, 'digest');
  if (digest.length !== HASH_BYTES[hash]) {
    throw new RangeError(`a ${hash} digest is ${HASH_BYTES[hash]} bytes, got ${digest.length}`);
  }
}

/** As generateRsaKeyPair, on the thread pool (pkey.ts generateKeyPairOffLoop). */
export function generateRsaKeyPairAsync(bits: RsaKeySize): Promise<KeyPairDer> {
  if (!RSA_KEY_SIZES.includes(bits)) throw new RangeError(`RSA key size must be 2048, 3072 or 4096, got ${bits}`);
  return generateKeyPairOffLoop({ modulusLength: bits });
}

export function generateRsaKeyPair(bits: RsaKeySize): KeyPairDer {
  if (!RSA_KEY_SIZES.includes(bits)) throw new RangeError(`RSA key size must be 2048, 3072 or 4096, got ${bits}`);
  return exportKeyPair(generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 65537 }));
}

/**
 * An existing PKCS#8 DER RSA private key of `bits` (an imported one), re-encoded, with its public key; TypeError
 * when it is not an RSA key of that size.
 */
export function rsaKeyPairFromPrivate(bits: RsaKeySize, privateKeyDer: Buffer): KeyPairDer {
  const key = loadPrivateKey(privateKeyDer, 'rsa');
  if (rsaModulusBits(key) !== bits) throw new TypeError(`privateKeyDer is not a ${bits}-bit RSA key`);
  return keyPairOf(key);
}

/** Modulus size in bits of an RSA public or private key. */
export function rsaModulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new TypeError('not an RSA key');
  return bits;
}

function padOptions(padding: RsaSignaturePadding, forVerify: boolean) {
  return padding === 'pss'
    ? {
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: forVerify ? constants.RSA_PSS_SALTLEN_AUTO : constants.RSA_PSS_SALTLEN_DIGEST,
      }
    : { padding: constants.RSA_PKCS1_PADDING };
}

/** Signs a RAW message: the engine hashes it with `hash`. */
export function rsaSign(
  padding: RsaSignaturePadding,
  hash: RsaSignatureHash,
  privateKeyDer: Buffer,
  message: Buffer,
): Buffer {
  checkHash(hash);
  checkBytes(message, 'message');
  const key = loadPrivateKey(privateKeyDer, 'rsa');
  return sign(hash, message, { key, ...padOptions(padding, false) });
}

export function rsaVerify(
  padding: RsaSignaturePadding,
  hash: RsaSignatureHash,
  publicKeyDer: Buffer,
  message: Buffer,
  signature: Buffer,
): boolean {
  checkHash(hash);
  checkBytes(message, 'message');
  checkBytes(signature, 'signature');
  const key = loadPublicKey(publicKeyDer, 'rsa');
  try {
    return verify(hash, message, { key, ...padOptions(padding, true) }, signature);
  } catch {
    return false; // e.g. a signature longer than the modulus
  }
}

/** Signs a precomputed DIGEST of `hash` (through the native addon). */
export function rsaSignDigest(
  padding: RsaSignaturePadding,
  hash: RsaSignatureHash,
  privateKeyDer: Buffer,
  digest: Buffer,
): Buffer {
  checkHash(hash);
  checkDigest(hash, digest);
  checkBytes(privateKeyDer, 'privateKeyDer');
  // same key checks and messages as the RAW path, made before the addon parses the key (a cached handle passed them)
  const key = nativePrivateKey(privateKeyDer, 'RSA', () => loadPrivateKey(privateKeyDer, 'rsa'));
  const mode = padding === 'pss' ? PADDING.pss : PADDING.pkcs1;
  return nativeAddon().signDigest(key, 'RSA', OPENSSL_DIGEST[hash], mode, PSS_SALT.digest, digest);
}

export function rsaVerifyDigest(
  padding: RsaSignaturePadding,
  hash: RsaSignatureHash,
  publicKeyDer: Buffer,
  digest: Buffer,
  signature: Buffer,
): boolean {
  checkHash(hash);
  checkDigest(hash, digest);
  checkBytes(signature, 'signature');
  checkBytes(publicKeyDer, 'publicKeyDer');
  const key = nativePublicKey(publicKeyDer, 'RSA', () => loadPublicKey(publicKeyDer, 'rsa'));
  const mode = padding === 'pss' ? PADDING.pss : PADDING.pkcs1;
  return nativeAddon().verifyDigest(key, 'RSA', OPENSSL_DIGEST[hash], mode, PSS_SALT.auto, digest, signature);
}

function checkOaepHash(hash: string): asserts hash is RsaOaepHash {
  if (hash !== 'sha1' && hash !== 'sha256') throw new TypeError(`unsupported OAEP hash ${hash}`);
}

/** Largest plaintext RSAES-OAEP can take under this public key: k - 2·hLen - 2 bytes (RFC 8017 §7.1.1). */
export function rsaOaepMaxPlaintextBytes(hash: RsaOaepHash, publicKeyDer: Buffer): number {
  checkOaepHash(hash);
  const bits = rsaModulusBits(loadPublicKey(publicKeyDer, 'rsa'));
  return Math.ceil(bits / 8) - 2 * HASH_BYTES[hash] - 2;
}

export function rsaOaepEncrypt(hash: RsaOaepHash, publicKeyDer: Buffer, plaintext: Buffer): Buffer {
  checkOaepHash(hash);
  checkBytes(plaintext, 'plaintext');
  const key = loadPublicKey(publicKeyDer, 'rsa');
  const max = Math.ceil(rsaModulusBits(key) / 8) - 2 * HASH_BYTES[hash] - 2;
  if (plaintext.length > max) {
    throw new RangeError(`plaintext is ${plaintext.length} bytes; this key takes at most ${max}`);
  }
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext);
}

/** Decrypts; throws DecryptionFailed for a wrong key or altered ciphertext (one error, whatever the cause). */
export function rsaOaepDecrypt(hash: RsaOaepHash, privateKeyDer: Buffer, ciphertext: Buffer): Buffer {
  checkOaepHash(hash);
  checkBytes(ciphertext, 'ciphertext');
  const key = loadPrivateKey(privateKeyDer, 'rsa');
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, ciphertext);
  } catch {
    throw new DecryptionFailed();
  }
}

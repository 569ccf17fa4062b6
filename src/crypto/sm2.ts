/**
 * SM2 engines (GB/T 32918 / GM/T 0003, curve sm2p256v1 from GM/T 0003.5), bytes in, bytes out, through the
 * native addon over node's OpenSSL (node:crypto can only sign with an empty ID and cannot encrypt with SM2).
 * - Signature (GB/T 32918.2 §6) with SM3 and the distinguishing ID, default "1234567812345678" (GM/T 0009 §10):
 *   RAW signs e = SM3(Z || M); DIGEST takes that e already computed. DER `SEQUENCE { r, s }` (GM/T 0009).
 * - Public-key encryption (GB/T 32918.4) with SM3; ciphertext is GM/T 0009's ASN.1
 *   `SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING (C3), ciphertext OCTET STRING (C2) }`.
 * - ECDH on the SM2 curve (plain Diffie-Hellman, the x-coordinate; not the GB/T 32918.3 key-exchange protocol).
 * Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) is also computed here, from the standard's constants, so
 * callers can produce the DIGEST form themselves. Every primitive is OpenSSL's.
 */
import { createECDH, createHash, createPrivateKey, ECDH, generateKeyPairSync } from 'node:crypto';
import { EC_PUBLIC_KEY_OID, readEcPkcs8, readEcSpki } from './der.js';
import { NATIVE_DECRYPT_ERROR, nativeAddon, nativePrivateKey, nativePublicKey, PADDING } from './native.js';
import { checkBytes, DecryptionFailed, exportKeyPair, generateKeyPairOffLoop, keyPairOf, type KeyPairDer } from './pkey.js';

/** The default distinguishing ID of GM/T 0009-2012 §10. */
export const SM2_DEFAULT_ID = '1234567812345678';

/** OID of the SM2 curve, 1.2.156.10197.1.301 (GM/T 0006). */
export const SM2_CURVE_OID = '1.2.156.10197.1.301';

/** Curve sm2p256v1 (GM/T 0003.5 §5 / GB/T 32918.5): the values Z hashes. */
const CURVE = {
  a: 'FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC',
  b: '28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93',
  xG: '32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7',
  yG: 'BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0',
} as const;
const CURVE_BYTES = Buffer.from(CURVE.a + CURVE.b + CURVE.xG + CURVE.yG, 'hex');

/** ENTL is two bytes of bit length, so an ID has at most 8191 bytes. */
const MAX_ID_BYTES = 8191;

function idBytes(id: Buffer | string): Buffer {
  const bytes = typeof id === 'string' ? Buffer.from(id, 'utf8') : id;
  checkBytes(bytes, 'id');
  if (bytes.length > MAX_ID_BYTES) throw new RangeError(`an SM2 ID is at most ${MAX_ID_BYTES} bytes`);
  return bytes;
}

function checkE(e: Buffer): void {
  checkBytes(e, 'digest');
  if (e.length !== 32) throw new RangeError(`an SM3 digest is 32 bytes, got ${e.length}`);
}

/** The uncompressed public point (04 || x || y) of an SM2 SPKI; TypeError if it is not an SM2-curve key. */
function sm2Point(publicKeyDer: Buffer, name: string): Buffer {
  checkBytes(publicKeyDer, name);
  const { algorithm, curve, point } = readEcSpki(publicKeyDer);
  if (algorithm !== EC_PUBLIC_KEY_OID || curve !== SM2_CURVE_OID) throw new TypeError(`${name} is not an SM2 key`);
  if (point[0] === 0x04 && point.length === 65) return point;
  try {
    return ECDH.convertKey(point, 'SM2', undefined, undefined, 'uncompressed') as Buffer;
  } catch {
    throw new TypeError(`${name} does not hold a point on the SM2 curve`);
  }
}

function mapDecryptError(err: unknown): never {
  if ((err as { code?: unknown }).code === NATIVE_DECRYPT_ERROR) throw new DecryptionFailed();
  throw err;
}

/** As generateSm2KeyPair, on the thread pool (pkey.ts generateKeyPairOffLoop). */
export function generateSm2KeyPairAsync(): Promise<KeyPairDer> {
  return generateKeyPairOffLoop({ namedCurve: 'SM2' });
}

export function generateSm2KeyPair(): KeyPairDer {
  // node makes an 'ec' key on the SM2 curve; its PKCS#8/SPKI DER (id-ecPublicKey + the SM2 curve OID) is what
  // OpenSSL, the openssl command and other SM2 implementations read as an SM2 key.
  return exportKeyPair(generateKeyPairSync('ec', { namedCurve: 'SM2' }));
}

/**
 * An existing PKCS#8 DER SM2 private key (id-ecPublicKey on the SM2 curve, an imported one), re-encoded, with its
 * public key; TypeError when it is not one.
 */
export function sm2KeyPairFromPrivate(privateKeyDer: Buffer): KeyPairDer {
  checkBytes(privateKeyDer, 'privateKeyDer');
  let pair: KeyPairDer;
  try {
    const parsed = readEcPkcs8(privateKeyDer);
    if (parsed.algorithm !== EC_PUBLIC_KEY_OID || parsed.curve !== SM2_CURVE_OID) throw new TypeError('not SM2');
    pair = keyPairOf(createPrivateKey({ key: privateKeyDer, format: 'der', type: 'pkcs8' }));
  } catch {
    throw new TypeError('privateKeyDer is not a PKCS#8 DER SM2 private key');
  }
  sm2Point(pair.publicKey, 'publicKeyDer'); // the derived public key is on the SM2 curve
  return pair;
}

/** Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) (GB/T 32918.2 §5.5). */
export function sm2Z(publicKeyDer: Buffer, id: Buffer | string = SM2_DEFAULT_ID): Buffer {
  const ident = idBytes(id);
  const point = sm2Point(publicKeyDer, 'publicKeyDer');
  const entl = Buffer.alloc(2);
  entl.writeUInt16BE(ident.length * 8);
  return createHash('sm3').update(entl).update(ident).update(CURVE_BYTES).update(point.subarray(1)).digest();
}

/** e = SM3(Z || M): what a client passes as a DIGEST message for SM2DSA_SM3. */
export function sm2MessageDigest(publicKeyDer: Buffer, message: Buffer, id: Buffer | string = SM2_DEFAULT_ID): Buffer {
  checkBytes(message, 'message');
  return createHash('sm3').update(sm2Z(publicKeyDer, id)).update(message).digest();
}

/** SM2 signature over a RAW message with the given distinguishing ID. */
export function sm2Sign(privateKeyDer: Buffer, message: Buffer, id: Buffer | string = SM2_DEFAULT_ID): Buffer {
  checkBytes(message, 'message');
  const ident = idBytes(id);
  return nativeAddon().sm2Sign(nativePrivateKey(privateKeyDer, 'SM2'), message, ident);
}

export function sm2Verify(
  publicKeyDer: Buffer,
  message: Buffer,
  signature: Buffer,
  id: Buffer | string = SM2_DEFAULT_ID,
): boolean {
  checkBytes(message, 'message');
  checkBytes(signature, 'signature');
  const ident = idBytes(id);
  return nativeAddon().sm2Verify(nativePublicKey(publicKeyDer, 'SM2'), message, ident, signature);
}

/** SM2 signature over e = SM3(Z || M) computed by the caller (32 bytes). */
export function sm2SignDigest(privateKeyDer: Buffer, e: Buffer): Buffer {
  checkE(e);
  return nativeAddon().signDigest(nativePrivateKey(privateKeyDer, 'SM2'), 'SM2', 'SM3', PADDING.none, 0, e);
}

export function sm2VerifyDigest(publicKeyDer: Buffer, e: Buffer, signature: Buffer): boolean {
  checkE(e);
  checkBytes(signature, 'signature');
  return nativeAddon().verifyDigest(nativePublicKey(publicKeyDer, 'SM2'), 'SM2', 'SM3', PADDING.none, 0, e, signature);
}

/** SM2 encryption; the plaintext must not be empty (GB/T 32918.4 needs klen > 0). */
export function sm2Encrypt(publicKeyDer: Buffer, plaintext: Buffer): Buffer {
  checkBytes(plaintext, 'plaintext');
  if (plaintext.length === 0) throw new RangeError('SM2 cannot encrypt an empty plaintext');
  return nativeAddon().sm2Encrypt(nativePublicKey(publicKeyDer, 'SM2'), plaintext);
}

/** SM2 decryption; throws DecryptionFailed for a wrong key, a failed C3 check or malformed ASN.1. */
export function sm2Decrypt(privateKeyDer: Buffer, ciphertext: Buffer): Buffer {
  checkBytes(ciphertext, 'ciphertext');
  const key = nativePrivateKey(privateKeyDer, 'SM2'); // a key that does not load is misuse (TypeError), not a failed decryption
  try {
    return nativeAddon().sm2Decrypt(key, ciphertext);
  } catch (err) {
    mapDecryptError(err);
  }
}

/**
 * ECDH on the SM2 curve: the x-coordinate of d·Q. node's KeyObjects cannot do this for keys parsed from DER (they
 * become OpenSSL "SM2" keys, which have no key exchange), so the scalar and the point are read from the DER and
 * handed to node's ECDH on curve 'SM2'; OpenSSL rejects a peer point that is not on the curve.
 */
export function sm2DeriveSharedSecret(privateKeyDer: Buffer, peerPublicKeyDer: Buffer): Buffer {
  checkBytes(privateKeyDer, 'privateKeyDer');
  let scalar: Buffer;
  try {
    const parsed = readEcPkcs8(privateKeyDer);
    if (parsed.algorithm !== EC_PUBLIC_KEY_OID || parsed.curve !== SM2_CURVE_OID) throw new TypeError('not SM2');
    scalar = parsed.scalar;
  } catch {
    throw new TypeError('privateKeyDer is not a PKCS#8 DER SM2 private key');
  }
  const point = sm2Point(peerPublicKeyDer, 'peerPublicKeyDer');
  const ecdh = createECDH('SM2');
  try {
    ecdh.setPrivateKey(scalar);
  } catch {
    throw new TypeError('privateKeyDer does not hold a valid SM2 private scalar');
  }
  try {
    return ecdh.computeSecret(point);
  } catch {
    throw new TypeError('peerPublicKeyDer does not hold a point on the SM2 curve');
  }
}

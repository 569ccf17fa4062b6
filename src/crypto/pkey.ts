/**
 * Shared pieces of the public-key engines (rsa.ts, ec.ts, sm2.ts): the key-pair shape they return, the error a
 * failed decryption raises, and key loading that refuses keys of the wrong kind. Keys cross the engine boundary
 * as DER bytes: private keys as PKCS#8 PrivateKeyInfo (RFC 5208), public keys as SubjectPublicKeyInfo (RFC 5280).
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { ParsedKeyCache } from './key-cache.js';

/** A freshly generated key pair: PKCS#8 DER private key, SPKI DER public key. */
export interface KeyPairDer {
  privateKey: Buffer;
  publicKey: Buffer;
}

/** RAW: the message itself is given and hashed by the engine. DIGEST: the caller already hashed it. */
export type MessageType = 'RAW' | 'DIGEST';

/** Thrown when a ciphertext does not decrypt under the given private key: wrong key, altered or malformed bytes. */
export class DecryptionFailed extends Error {
  constructor() {
    super('ciphertext could not be decrypted with this key');
    this.name = 'DecryptionFailed';
  }
}

export function exportKeyPair(pair: { privateKey: KeyObject; publicKey: KeyObject }): KeyPairDer {
  return {
    privateKey: pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
    publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }),
  };
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * A fresh key pair made on libuv's thread pool, as DER: RSA with `modulusLength` bits (public exponent 65537),
 * EC on an OpenSSL curve name, or Ed25519. RSA-4096 takes 0.3–3 s of CPU; made here, it never holds up the event loop.
 */
export async function generateKeyPairOffLoop(params: { modulusLength: number } | { namedCurve: string } | { type: 'ed25519' }): Promise<KeyPairDer> {
  const pair = 'modulusLength' in params
    ? await generateKeyPairAsync('rsa', { modulusLength: params.modulusLength, publicExponent: 65537 })
    : 'namedCurve' in params
      ? await generateKeyPairAsync('ec', { namedCurve: params.namedCurve })
      : await generateKeyPairAsync('ed25519');
  return exportKeyPair(pair);
}

/** The DER pair of a private key: itself as PKCS#8 and its public half, derived from it, as SPKI. */
export function keyPairOf(privateKey: KeyObject): KeyPairDer {
  return exportKeyPair({ privateKey, publicKey: createPublicKey(privateKey) });
}

export function checkBytes(value: unknown, name: string): asserts value is Buffer {
  if (!Buffer.isBuffer(value)) throw new TypeError(`${name} must be a Buffer`);
}

/** KeyObjects parsed by loadPrivateKey/loadPublicKey, by SHA-256 of the DER and what was checked (key-cache.ts). */
const keyObjects = new ParsedKeyCache<KeyObject>();

/** node's asymmetricKeyType of the keys the engines load. */
export type PkeyType = 'rsa' | 'ec' | 'ed25519';

/**
 * Loads a PKCS#8 DER private key and checks node's key type ('rsa', 'ec' or 'ed25519'). An SM2-curve key loaded from DER has
 * no node type at all (OpenSSL 3 makes it an "SM2" key), so it never passes for 'ec'. Keys used more than once are
 * served from a bounded in-memory cache of parsed keys; only keys that passed these checks are cached.
 */
export function loadPrivateKey(der: Buffer, type: PkeyType): KeyObject {
  checkBytes(der, 'privateKeyDer');
  return keyObjects.get(der, `private ${type}`, () => {
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch {
      throw new TypeError('privateKeyDer is not a PKCS#8 DER private key');
    }
    if (key.asymmetricKeyType !== type) throw new TypeError(`privateKeyDer is not an ${type.toUpperCase()} key`);
    return key;
  });
}

/** Loads an SPKI DER public key and checks node's key type, as loadPrivateKey does (and cached the same way). */
export function loadPublicKey(der: Buffer, type: PkeyType, name = 'publicKeyDer'): KeyObject {
  checkBytes(der, name);
  return keyObjects.get(der, `public ${type}`, () => {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch {
      throw new TypeError(`${name} is not an SPKI DER public key`);
    }
    if (key.asymmetricKeyType !== type) throw new TypeError(`${name} is not an ${type.toUpperCase()} key`);
    return key;
  });
}

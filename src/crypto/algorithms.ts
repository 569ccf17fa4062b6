/**
 * The one table from Huawei KMS algorithm names to engine calls (docs/reference/huawei-kms-api.md §3.2 key_spec, §3.3
 * signing_algorithm / encryption_algorithm / mac_algorithm / key_agreement_algorithm, §4 E and F). Huawei's
 * names appear only as keys here; the engines behind them know nothing of Huawei. Policy (which key spec may use
 * which algorithm, key usage, KMS error codes) stays in core; this table only says what each name computes, which
 * key family it needs and, for DIGEST messages, how long the digest must be (KMS.0329 otherwise).
 */
import {
  ecdhDeriveSharedSecret,
  ecKeyPairFromPrivate,
  ecdsaSign,
  ecdsaSignDigest,
  ecdsaVerify,
  ecdsaVerifyDigest,
  generateEcKeyPair,
  generateEcKeyPairAsync,
  type EcdsaHash,
} from './ec.js';
import {
  ed25519KeyPairFromPrivate,
  ed25519phSign,
  ed25519phSignDigest,
  ed25519phVerify,
  ed25519phVerifyDigest,
  ed25519Sign,
  ed25519Verify,
  generateEd25519KeyPair,
  generateEd25519KeyPairAsync,
} from './ed25519.js';
import { hmacSha256, hmacSha384, hmacSha512, hmacSm3, type MacEngine } from './hmac.js';
import type { KeyPairDer, MessageType } from './pkey.js';
import {
  generateRsaKeyPair,
  generateRsaKeyPairAsync,
  rsaKeyPairFromPrivate,
  rsaOaepDecrypt,
  rsaOaepEncrypt,
  rsaOaepMaxPlaintextBytes,
  rsaSign,
  rsaSignDigest,
  rsaVerify,
  rsaVerifyDigest,
  type RsaSignatureHash,
  type RsaSignaturePadding,
} from './rsa.js';
import {
  generateSm2KeyPair,
  generateSm2KeyPairAsync,
  sm2Decrypt,
  sm2KeyPairFromPrivate,
  sm2DeriveSharedSecret,
  sm2Encrypt,
  sm2Sign,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
} from './sm2.js';

export type { KeyPairDer, MessageType } from './pkey.js';
export { DecryptionFailed } from './pkey.js';

/** Which kind of key pair an algorithm needs. */
export type KeyFamily = 'RSA' | 'EC' | 'SM2' | 'ED25519';

export type SigningAlgorithm =
  | 'RSASSA_PSS_SHA_256'
  | 'RSASSA_PSS_SHA_384'
  | 'RSASSA_PSS_SHA_512'
  | 'RSASSA_PKCS1_V1_5_SHA_256'
  | 'RSASSA_PKCS1_V1_5_SHA_384'
  | 'RSASSA_PKCS1_V1_5_SHA_512'
  | 'ECDSA_SHA_256'
  | 'ECDSA_SHA_384'
  | 'ECDSA_SHA_512'
  | 'SM2DSA_SM3'
  | 'ED25519_SHA_512'
  | 'ED25519_PH_SHA_512';

export interface SigningAlgorithmEntry {
  readonly family: KeyFamily;
  readonly digest: 'sha256' | 'sha384' | 'sha512' | 'sm3';
  /** Length a DIGEST message must have. For SM2DSA_SM3 the digest is e = SM3(Z || M) with the default ID. */
  readonly digestBytes: number;
  /**
   * The message types the algorithm takes. Pure Ed25519 (ED25519_SHA_512) has no DIGEST form: it hashes the message
   * with the key's prefix (RFC 8032 §5.1.6), so only RAW; every other algorithm takes both.
   */
  readonly messageTypes: readonly MessageType[];
  /**
   * Signs; RangeError if a DIGEST message has the wrong length, TypeError if the key is of the wrong family or the
   * message type is not one of messageTypes.
   */
  sign(privateKeyDer: Buffer, message: Buffer, messageType: MessageType): Buffer;
  /** False for a signature that does not verify (including malformed signatures); throws only on misuse. */
  verify(publicKeyDer: Buffer, message: Buffer, messageType: MessageType, signature: Buffer): boolean;
}

const BOTH_TYPES: readonly MessageType[] = ['RAW', 'DIGEST'];

function rsaEntry(padding: RsaSignaturePadding, hash: RsaSignatureHash, digestBytes: number): SigningAlgorithmEntry {
  return {
    family: 'RSA',
    messageTypes: BOTH_TYPES,
    digest: hash,
    digestBytes,
    sign: (key, message, type) =>
      type === 'DIGEST' ? rsaSignDigest(padding, hash, key, message) : rsaSign(padding, hash, key, message),
    verify: (key, message, type, signature) =>
      type === 'DIGEST'
        ? rsaVerifyDigest(padding, hash, key, message, signature)
        : rsaVerify(padding, hash, key, message, signature),
  };
}

function ecdsaEntry(hash: EcdsaHash, digestBytes: number): SigningAlgorithmEntry {
  return {
    family: 'EC',
    messageTypes: BOTH_TYPES,
    digest: hash,
    digestBytes,
    sign: (key, message, type) =>
      type === 'DIGEST' ? ecdsaSignDigest(hash, key, message) : ecdsaSign(hash, key, message),
    verify: (key, message, type, signature) =>
      type === 'DIGEST' ? ecdsaVerifyDigest(hash, key, message, signature) : ecdsaVerify(hash, key, message, signature),
  };
}

function checkMessageType(entry: SigningAlgorithmEntry, type: MessageType): void {
  if (!entry.messageTypes.includes(type)) {
    throw new TypeError(`message type must be ${entry.messageTypes.join(' or ')}, got ${String(type)}`);
  }
}

function guarded(entry: SigningAlgorithmEntry): SigningAlgorithmEntry {
  return {
    ...entry,
    sign(key, message, type) {
      checkMessageType(entry, type);
      return entry.sign(key, message, type);
    },
    verify(key, message, type, signature) {
      checkMessageType(entry, type);
      return entry.verify(key, message, type, signature);
    },
  };
}

export const SIGNING_ALGORITHMS: Readonly<Record<SigningAlgorithm, SigningAlgorithmEntry>> = {
  RSASSA_PSS_SHA_256: guarded(rsaEntry('pss', 'sha256', 32)),
  RSASSA_PSS_SHA_384: guarded(rsaEntry('pss', 'sha384', 48)),
  RSASSA_PSS_SHA_512: guarded(rsaEntry('pss', 'sha512', 64)),
  RSASSA_PKCS1_V1_5_SHA_256: guarded(rsaEntry('pkcs1', 'sha256', 32)),
  RSASSA_PKCS1_V1_5_SHA_384: guarded(rsaEntry('pkcs1', 'sha384', 48)),
  RSASSA_PKCS1_V1_5_SHA_512: guarded(rsaEntry('pkcs1', 'sha512', 64)),
  ECDSA_SHA_256: guarded(ecdsaEntry('sha256', 32)),
  ECDSA_SHA_384: guarded(ecdsaEntry('sha384', 48)),
  ECDSA_SHA_512: guarded(ecdsaEntry('sha512', 64)),
  SM2DSA_SM3: guarded({
    family: 'SM2',
    messageTypes: BOTH_TYPES,
    digest: 'sm3',
    digestBytes: 32,
    sign: (key, message, type) => (type === 'DIGEST' ? sm2SignDigest(key, message) : sm2Sign(key, message)),
    verify: (key, message, type, signature) =>
      type === 'DIGEST' ? sm2VerifyDigest(key, message, signature) : sm2Verify(key, message, signature),
  }),
  // Pure Ed25519 (RFC 8032 §5.1): SHA-512 is inside the scheme, over the message itself.
  ED25519_SHA_512: guarded({
    family: 'ED25519',
    messageTypes: ['RAW'],
    digest: 'sha512',
    digestBytes: 64,
    sign: (key, message) => ed25519Sign(key, message),
    verify: (key, message, _type, signature) => ed25519Verify(key, message, signature),
  }),
  // Ed25519ph (RFC 8032 §5.1, PH = SHA-512): a DIGEST is PH(M) itself; a RAW message is hashed first.
  ED25519_PH_SHA_512: guarded({
    family: 'ED25519',
    messageTypes: BOTH_TYPES,
    digest: 'sha512',
    digestBytes: 64,
    sign: (key, message, type) => (type === 'DIGEST' ? ed25519phSignDigest(key, message) : ed25519phSign(key, message)),
    verify: (key, message, type, signature) =>
      type === 'DIGEST' ? ed25519phVerifyDigest(key, message, signature) : ed25519phVerify(key, message, signature),
  }),
};

export type AsymmetricEncryptionAlgorithm = 'RSAES_OAEP_SHA_1' | 'RSAES_OAEP_SHA_256' | 'SM2_ENCRYPT';

export interface AsymmetricEncryptionEntry {
  readonly family: KeyFamily;
  /** Largest plaintext the public key can take (RSA: k − 2·hLen − 2; SM2: no limit of its own). */
  maxPlaintextBytes(publicKeyDer: Buffer): number;
  /** RangeError for a plaintext that is too long (or empty for SM2). */
  encrypt(publicKeyDer: Buffer, plaintext: Buffer): Buffer;
  /** Throws DecryptionFailed when the ciphertext does not decrypt. */
  decrypt(privateKeyDer: Buffer, ciphertext: Buffer): Buffer;
}

export const ASYMMETRIC_ENCRYPTION_ALGORITHMS: Readonly<
  Record<AsymmetricEncryptionAlgorithm, AsymmetricEncryptionEntry>
> = {
  RSAES_OAEP_SHA_1: {
    family: 'RSA',
    maxPlaintextBytes: (key) => rsaOaepMaxPlaintextBytes('sha1', key),
    encrypt: (key, plaintext) => rsaOaepEncrypt('sha1', key, plaintext),
    decrypt: (key, ciphertext) => rsaOaepDecrypt('sha1', key, ciphertext),
  },
  RSAES_OAEP_SHA_256: {
    family: 'RSA',
    maxPlaintextBytes: (key) => rsaOaepMaxPlaintextBytes('sha256', key),
    encrypt: (key, plaintext) => rsaOaepEncrypt('sha256', key, plaintext),
    decrypt: (key, ciphertext) => rsaOaepDecrypt('sha256', key, ciphertext),
  },
  SM2_ENCRYPT: {
    family: 'SM2',
    maxPlaintextBytes: () => Number.POSITIVE_INFINITY,
    encrypt: sm2Encrypt,
    decrypt: sm2Decrypt,
  },
};

export type MacAlgorithm = 'HMAC_SHA_256' | 'HMAC_SHA_384' | 'HMAC_SHA_512' | 'HMAC_SM3';

export interface MacAlgorithmEntry {
  /** The HMAC key spec whose material this algorithm takes. */
  readonly keySpec: 'HMAC_256' | 'HMAC_384' | 'HMAC_512' | 'HMAC_SM3';
  readonly engine: MacEngine;
}

export const MAC_ALGORITHMS: Readonly<Record<MacAlgorithm, MacAlgorithmEntry>> = {
  HMAC_SHA_256: { keySpec: 'HMAC_256', engine: hmacSha256 },
  HMAC_SHA_384: { keySpec: 'HMAC_384', engine: hmacSha384 },
  HMAC_SHA_512: { keySpec: 'HMAC_512', engine: hmacSha512 },
  HMAC_SM3: { keySpec: 'HMAC_SM3', engine: hmacSm3 },
};

/**
 * Key-pair specs (CreateKey key_spec, §3.2, and the data key pairs of §4 D 22–23): how to generate each and, for the
 * Weierstrass curves, its ECDH ("ECDH" in §4 E 26). EC_P521 backs only `ECC_NIST_P521` data key pairs: Huawei has no
 * P-521 key spec for keys.
 */
export type KeyPairSpec = 'RSA_2048' | 'RSA_3072' | 'RSA_4096' | 'EC_P256' | 'EC_P384' | 'EC_P521' | 'SECP256K1' | 'SM2' | 'ED25519';

export interface KeyPairSpecEntry {
  readonly family: KeyFamily;
  /** Modulus length (RSA) or field size (curves; 255 for Ed25519) in bits. */
  readonly bits: number;
  /** A fresh pair, made synchronously (tests, benchmarks). */
  generate(): KeyPairDer;
  /** A fresh pair made on the thread pool: what the service uses, so no request waits behind RSA key generation. */
  generateAsync(): Promise<KeyPairDer>;
  /**
   * An existing PKCS#8 DER private key of this spec (imported key material), re-encoded, with its SPKI public key;
   * TypeError when it is not a private key of this spec.
   */
  fromPrivateKey(privateKeyDer: Buffer): KeyPairDer;
  /** ECDH with a peer SPKI public key on the same curve; absent for RSA. TypeError for a peer key that does not fit. */
  readonly deriveSharedSecret?: (privateKeyDer: Buffer, peerPublicKeyDer: Buffer) => Buffer;
}

const ecdh = ecdhDeriveSharedSecret;

export const KEY_PAIR_SPECS: Readonly<Record<KeyPairSpec, KeyPairSpecEntry>> = {
  RSA_2048: { family: 'RSA', bits: 2048, generate: () => generateRsaKeyPair(2048), generateAsync: () => generateRsaKeyPairAsync(2048), fromPrivateKey: (der) => rsaKeyPairFromPrivate(2048, der) },
  RSA_3072: { family: 'RSA', bits: 3072, generate: () => generateRsaKeyPair(3072), generateAsync: () => generateRsaKeyPairAsync(3072), fromPrivateKey: (der) => rsaKeyPairFromPrivate(3072, der) },
  RSA_4096: { family: 'RSA', bits: 4096, generate: () => generateRsaKeyPair(4096), generateAsync: () => generateRsaKeyPairAsync(4096), fromPrivateKey: (der) => rsaKeyPairFromPrivate(4096, der) },
  EC_P256: { family: 'EC', bits: 256, generate: () => generateEcKeyPair('P-256'), generateAsync: () => generateEcKeyPairAsync('P-256'), fromPrivateKey: (der) => ecKeyPairFromPrivate('P-256', der), deriveSharedSecret: ecdh },
  EC_P384: { family: 'EC', bits: 384, generate: () => generateEcKeyPair('P-384'), generateAsync: () => generateEcKeyPairAsync('P-384'), fromPrivateKey: (der) => ecKeyPairFromPrivate('P-384', der), deriveSharedSecret: ecdh },
  EC_P521: { family: 'EC', bits: 521, generate: () => generateEcKeyPair('P-521'), generateAsync: () => generateEcKeyPairAsync('P-521'), fromPrivateKey: (der) => ecKeyPairFromPrivate('P-521', der), deriveSharedSecret: ecdh },
  SECP256K1: { family: 'EC', bits: 256, generate: () => generateEcKeyPair('secp256k1'), generateAsync: () => generateEcKeyPairAsync('secp256k1'), fromPrivateKey: (der) => ecKeyPairFromPrivate('secp256k1', der), deriveSharedSecret: ecdh },
  SM2: { family: 'SM2', bits: 256, generate: generateSm2KeyPair, generateAsync: generateSm2KeyPairAsync, fromPrivateKey: sm2KeyPairFromPrivate, deriveSharedSecret: sm2DeriveSharedSecret },
  ED25519: { family: 'ED25519', bits: 255, generate: generateEd25519KeyPair, generateAsync: generateEd25519KeyPairAsync, fromPrivateKey: ed25519KeyPairFromPrivate },
};

export function isSigningAlgorithm(name: string): name is SigningAlgorithm {
  return Object.hasOwn(SIGNING_ALGORITHMS, name);
}

export function isAsymmetricEncryptionAlgorithm(name: string): name is AsymmetricEncryptionAlgorithm {
  return Object.hasOwn(ASYMMETRIC_ENCRYPTION_ALGORITHMS, name);
}

export function isMacAlgorithm(name: string): name is MacAlgorithm {
  return Object.hasOwn(MAC_ALGORITHMS, name);
}

/**
 * The one table of key specs: what each `key_spec` Huawei defines is, which `key_usage` values it accepts,
 * which engine holds its material, and whether Strongroom implements it yet. Every operation asks this table.
 * (docs/reference/huawei-kms-api.md §3.2, §3.3, §8.4.)
 */
import type { AsymmetricEncryptionAlgorithm, KeyPairSpec, MacAlgorithm, SigningAlgorithm } from '../crypto/algorithms.js';

export type KeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' | 'KEY_AGREEMENT';

/** Symmetric engines that can seal ciphertext blobs (see crypto/symmetric.ts). */
export type SymmetricAlgorithm = 'AES_256_GCM' | 'SM4_CTR_HMAC_SM3';

export interface KeySpecInfo {
  /** 'symmetric' keys encrypt blobs, 'asymmetric' keys sign/encrypt with a key pair, 'hmac' keys only MAC. */
  kind: 'symmetric' | 'asymmetric' | 'hmac';
  usages: readonly KeyUsage[];
  defaultUsage: KeyUsage;
  /** Bytes of secret material for symmetric and HMAC keys. */
  materialBytes?: number;
  /** The engine that seals data under a symmetric key. */
  algorithm?: SymmetricAlgorithm;
  /** Digest used for data-key integrity values (encrypt-datakey, decrypt-datakey). */
  dekDigest?: 'sha256' | 'sm3';
  /** Huawei's undocumented `key_type` field in KeyDetails. */
  keyType: string;
  /** Asymmetric keys: the key-pair engine (crypto/algorithms.ts) that generates and uses them. */
  pair?: KeyPairSpec;
  /** Signing algorithms the spec allows (SIGN_VERIFY keys). */
  signing?: readonly SigningAlgorithm[];
  /** Encryption algorithms the spec allows (ENCRYPT_DECRYPT asymmetric keys). */
  encryption?: readonly AsymmetricEncryptionAlgorithm[];
  /** The one MAC algorithm of an HMAC key. */
  mac?: MacAlgorithm;
  /** False for specs the API names but Strongroom does not implement yet (answered with a clear KMS.0308). */
  implemented: boolean;
}

const RSA_SIGNING = ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'] as const;
const RSA_ENCRYPTION = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] as const;
const rsa = (pair: KeyPairSpec) =>
  ({ kind: 'asymmetric', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: true, pair, signing: RSA_SIGNING, encryption: RSA_ENCRYPTION }) as const;
// One ECDSA hash per curve, as the SDK pairs them. ECDSA_SHA_512 (SHA-512 with P-521, FIPS 186-5) is in the engine
// table but pairs with no key spec: Huawei's key specs have no P-521 curve (§3.2; P-521 exists only as a data key pair).
const ec = (pair: KeyPairSpec, signing: SigningAlgorithm) =>
  ({ kind: 'asymmetric', usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: true, pair, signing: [signing] }) as const;
const hmac = (materialBytes: number, mac: MacAlgorithm) =>
  ({ kind: 'hmac', usages: ['GENERATE_VERIFY_MAC'], defaultUsage: 'GENERATE_VERIFY_MAC', materialBytes, keyType: '3', implemented: true, mac }) as const;

const SPEC_TABLE = {
  AES_256: { kind: 'symmetric', usages: ['ENCRYPT_DECRYPT'], defaultUsage: 'ENCRYPT_DECRYPT', materialBytes: 32, algorithm: 'AES_256_GCM', dekDigest: 'sha256', keyType: '1', implemented: true },
  SM4: { kind: 'symmetric', usages: ['ENCRYPT_DECRYPT'], defaultUsage: 'ENCRYPT_DECRYPT', materialBytes: 16, algorithm: 'SM4_CTR_HMAC_SM3', dekDigest: 'sm3', keyType: '1', implemented: true },
  RSA_2048: rsa('RSA_2048'),
  RSA_3072: rsa('RSA_3072'),
  RSA_4096: rsa('RSA_4096'),
  EC_P256: ec('EC_P256', 'ECDSA_SHA_256'),
  EC_P384: ec('EC_P384', 'ECDSA_SHA_384'),
  SECP256K1: ec('SECP256K1', 'ECDSA_SHA_256'),
  SM2: { kind: 'asymmetric', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'KEY_AGREEMENT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: true, pair: 'SM2', signing: ['SM2DSA_SM3'], encryption: ['SM2_ENCRYPT'] },
  // Pure Ed25519 over RAW messages and Ed25519ph over SHA-512 digests (RFC 8032 §5.1); sign-only (§3.3 key_usage).
  ED25519: { kind: 'asymmetric', usages: ['SIGN_VERIFY'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: true, pair: 'ED25519', signing: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] },
  HMAC_256: hmac(32, 'HMAC_SHA_256'),
  HMAC_384: hmac(48, 'HMAC_SHA_384'),
  HMAC_512: hmac(64, 'HMAC_SHA_512'),
  HMAC_SM3: hmac(32, 'HMAC_SM3'),
} as const satisfies Record<string, KeySpecInfo>;

export type KeySpec = keyof typeof SPEC_TABLE;

export const KEY_SPECS: Readonly<Record<KeySpec, KeySpecInfo>> = SPEC_TABLE;

export function isKeySpec(value: string): value is KeySpec {
  return Object.hasOwn(KEY_SPECS, value);
}

export function specInfo(spec: KeySpec): KeySpecInfo {
  return KEY_SPECS[spec];
}

/** Data-key specs accepted by create-datakey and the number of bits each means (§4 D). */
export const DATAKEY_SPECS: Readonly<Record<string, number>> = {
  AES_256: 256,
  AES_128: 128,
  SM4: 128,
  HMAC_256: 256,
  HMAC_384: 384,
  HMAC_512: 512,
  HMAC_SM3: 256,
};

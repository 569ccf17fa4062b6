/**
 * The one table of key specs: what each `key_spec` Huawei defines is, which `key_usage` values it accepts,
 * which engine holds its material, and whether Strongroom implements it yet. Every operation asks this table.
 * (huawei-kms-api.md §3.2, §3.3, §8.4.)
 */
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
  /** False for specs the API names but Strongroom does not implement yet (answered with a clear KMS.0308). */
  implemented: boolean;
}

const SPEC_TABLE = {
  AES_256: { kind: 'symmetric', usages: ['ENCRYPT_DECRYPT'], defaultUsage: 'ENCRYPT_DECRYPT', materialBytes: 32, algorithm: 'AES_256_GCM', dekDigest: 'sha256', keyType: '1', implemented: true },
  SM4: { kind: 'symmetric', usages: ['ENCRYPT_DECRYPT'], defaultUsage: 'ENCRYPT_DECRYPT', materialBytes: 16, algorithm: 'SM4_CTR_HMAC_SM3', dekDigest: 'sm3', keyType: '1', implemented: true },
  RSA_2048: { kind: 'asymmetric', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: false },
  RSA_3072: { kind: 'asymmetric', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: false },
  RSA_4096: { kind: 'asymmetric', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: false },
  EC_P256: { kind: 'asymmetric', usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: false },
  EC_P384: { kind: 'asymmetric', usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: false },
  SECP256K1: { kind: 'asymmetric', usages: ['SIGN_VERIFY', 'KEY_AGREEMENT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: false },
  SM2: { kind: 'asymmetric', usages: ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'KEY_AGREEMENT'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: false },
  ED25519: { kind: 'asymmetric', usages: ['SIGN_VERIFY'], defaultUsage: 'SIGN_VERIFY', keyType: '2', implemented: false },
  HMAC_256: { kind: 'hmac', usages: ['GENERATE_VERIFY_MAC'], defaultUsage: 'GENERATE_VERIFY_MAC', materialBytes: 32, keyType: '3', implemented: false },
  HMAC_384: { kind: 'hmac', usages: ['GENERATE_VERIFY_MAC'], defaultUsage: 'GENERATE_VERIFY_MAC', materialBytes: 48, keyType: '3', implemented: false },
  HMAC_512: { kind: 'hmac', usages: ['GENERATE_VERIFY_MAC'], defaultUsage: 'GENERATE_VERIFY_MAC', materialBytes: 64, keyType: '3', implemented: false },
  HMAC_SM3: { kind: 'hmac', usages: ['GENERATE_VERIFY_MAC'], defaultUsage: 'GENERATE_VERIFY_MAC', materialBytes: 32, keyType: '3', implemented: false },
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

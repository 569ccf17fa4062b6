/**
 * Loader for Strongroom's small N-API addon (native/sm2/sm2.c), which calls the OpenSSL inside node for what
 * node:crypto does not expose: SM2 signatures with the GM/T 0009 distinguishing ID, SM2 encryption, and signing or
 * verifying a precomputed digest (SM2, ECDSA, RSASSA-PSS, RSASSA-PKCS1-v1_5). Build it with `npm run build:native`.
 * The addon is loaded on first use, so modules that never touch these operations work without it.
 * Every operation takes its key as DER bytes (parsed on that call) or as a key handle from loadPrivateKey /
 * loadPublicKey (parsed once); nativePrivateKey / nativePublicKey give the engines cached handles.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ParsedKeyCache } from './key-cache.js';

/** Error code the addon gives a ciphertext that does not decrypt. */
export const NATIVE_DECRYPT_ERROR = 'ERR_STRONGROOM_DECRYPT';

/** RSA padding numbers as OpenSSL defines them (RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING); 0 for EC and SM2. */
export const PADDING = { none: 0, pkcs1: 1, pss: 6 } as const;
/** OpenSSL's RSA_PSS_SALTLEN_DIGEST (salt as long as the hash) and RSA_PSS_SALTLEN_AUTO (verify: any length). */
export const PSS_SALT = { digest: -1, auto: -2 } as const;

/** OpenSSL key types the addon serves. */
export type NativeKeyType = 'RSA' | 'EC' | 'SM2';

declare const keyHandleBrand: unique symbol;
/**
 * A key parsed by the addon (a napi external owning the OpenSSL key, freed when it is garbage-collected). It
 * remembers whether it is private or public; every operation checks that and the key type again.
 */
export interface NativeKeyHandle {
  readonly [keyHandleBrand]: 'NativeKeyHandle';
}

/** A key argument: PKCS#8 (private) or SPKI (public) DER, or a handle of the same kind. */
export type NativeKey = Buffer | NativeKeyHandle;

export interface NativeAddon {
  /** SM2 signature (DER) over SM3(Z || message), Z computed with `id`. */
  sm2Sign(privateKey: NativeKey, message: Buffer, id: Buffer): Buffer;
  sm2Verify(publicKey: NativeKey, message: Buffer, id: Buffer, signature: Buffer): boolean;
  /** EVP_PKEY_sign over a digest of `digestName` ('SHA256', 'SM3', ...); keyType is 'RSA', 'EC' or 'SM2'. */
  signDigest(
    privateKey: NativeKey,
    keyType: NativeKeyType,
    digestName: string,
    padding: number,
    saltLength: number,
    digest: Buffer,
  ): Buffer;
  verifyDigest(
    publicKey: NativeKey,
    keyType: NativeKeyType,
    digestName: string,
    padding: number,
    saltLength: number,
    digest: Buffer,
    signature: Buffer,
  ): boolean;
  /** GM/T 0009 ASN.1 SM2 ciphertext. */
  sm2Encrypt(publicKey: NativeKey, plaintext: Buffer): Buffer;
  sm2Decrypt(privateKey: NativeKey, ciphertext: Buffer): Buffer;
  /** Parses a PKCS#8 DER private key of keyType once; TypeError as the operations give for bad DER or type. */
  loadPrivateKey(privateKeyDer: Buffer, keyType: NativeKeyType): NativeKeyHandle;
  /** Parses an SPKI DER public key of keyType once. */
  loadPublicKey(publicKeyDer: Buffer, keyType: NativeKeyType): NativeKeyHandle;
  opensslVersion(): string;
}

const ADDON_PATH = fileURLToPath(new URL('../../native/sm2/build/Release/sm2.node', import.meta.url));

let addon: NativeAddon | undefined;

/** The loaded addon; throws an Error naming the build command when it has not been built. */
export function nativeAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  let loaded: NativeAddon;
  try {
    loaded = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
  } catch (err) {
    throw new Error(`the native crypto addon could not be loaded from ${ADDON_PATH}; run \`npm run build:native\``, {
      cause: err,
    });
  }
  // The addon's OpenSSL symbols must resolve to node's own copy, never a second libcrypto.
  const version = loaded.opensslVersion();
  const nodeOpenssl = process.versions.openssl.split('+')[0]!; // some builds report e.g. "3.0.13+quic"
  if (!version.includes(nodeOpenssl)) {
    throw new Error(`native crypto addon runs on ${version}, node on OpenSSL ${process.versions.openssl}`);
  }
  addon = loaded;
  return addon;
}

/** Handles made by nativePrivateKey/nativePublicKey, by SHA-256 of the DER and what was checked (key-cache.ts). */
const handles = new ParsedKeyCache<NativeKeyHandle>();

/**
 * A handle for a PKCS#8 DER private key of `type`, from a bounded in-memory cache when the key was used before.
 * `check`, the calling engine's own key checks (which throw), runs before the key is parsed; a cached handle has
 * passed them for these very bytes, so each key type must always come with the same checks (one engine per type).
 * Anything but bytes is handed back as it is, for the addon to refuse with its usual TypeError.
 */
export function nativePrivateKey(der: Buffer, type: NativeKeyType, check?: () => void): NativeKey {
  if (!(der instanceof Uint8Array)) return der;
  return handles.get(der, `private ${type}`, () => {
    check?.();
    return nativeAddon().loadPrivateKey(der, type);
  });
}

/** A handle for an SPKI DER public key of `type`, cached and checked as nativePrivateKey does. */
export function nativePublicKey(der: Buffer, type: NativeKeyType, check?: () => void): NativeKey {
  if (!(der instanceof Uint8Array)) return der;
  return handles.get(der, `public ${type}`, () => {
    check?.();
    return nativeAddon().loadPublicKey(der, type);
  });
}

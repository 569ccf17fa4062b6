/**
 * Loader for Strongroom's small N-API addon (native/sm2/sm2.c), which calls the OpenSSL inside node for what
 * node:crypto does not expose: SM2 signatures with the GM/T 0009 distinguishing ID, SM2 encryption, and signing or
 * verifying a precomputed digest (SM2, ECDSA, RSASSA-PSS, RSASSA-PKCS1-v1_5). Build it with `npm run build:native`.
 * The addon is loaded on first use, so modules that never touch these operations work without it.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Error code the addon gives a ciphertext that does not decrypt. */
export const NATIVE_DECRYPT_ERROR = 'ERR_STRONGROOM_DECRYPT';

/** RSA padding numbers as OpenSSL defines them (RSA_PKCS1_PADDING, RSA_PKCS1_PSS_PADDING); 0 for EC and SM2. */
export const PADDING = { none: 0, pkcs1: 1, pss: 6 } as const;
/** OpenSSL's RSA_PSS_SALTLEN_DIGEST (salt as long as the hash) and RSA_PSS_SALTLEN_AUTO (verify: any length). */
export const PSS_SALT = { digest: -1, auto: -2 } as const;

export interface NativeAddon {
  /** SM2 signature (DER) over SM3(Z || message), Z computed with `id`. */
  sm2Sign(privateKeyDer: Buffer, message: Buffer, id: Buffer): Buffer;
  sm2Verify(publicKeyDer: Buffer, message: Buffer, id: Buffer, signature: Buffer): boolean;
  /** EVP_PKEY_sign over a digest of `digestName` ('SHA256', 'SM3', ...); keyType is 'RSA', 'EC' or 'SM2'. */
  signDigest(
    privateKeyDer: Buffer,
    keyType: 'RSA' | 'EC' | 'SM2',
    digestName: string,
    padding: number,
    saltLength: number,
    digest: Buffer,
  ): Buffer;
  verifyDigest(
    publicKeyDer: Buffer,
    keyType: 'RSA' | 'EC' | 'SM2',
    digestName: string,
    padding: number,
    saltLength: number,
    digest: Buffer,
    signature: Buffer,
  ): boolean;
  /** GM/T 0009 ASN.1 SM2 ciphertext. */
  sm2Encrypt(publicKeyDer: Buffer, plaintext: Buffer): Buffer;
  sm2Decrypt(privateKeyDer: Buffer, ciphertext: Buffer): Buffer;
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

/**
 * HMAC engines (RFC 2104, FIPS 198-1) with SHA-256/384/512 (FIPS 180-4) and SM3 (GB/T 32905): bytes in, bytes out.
 * Verification recomputes the MAC and compares in constant time; a MAC of the wrong length is simply false.
 * Every primitive is OpenSSL's, through node:crypto.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { checkBytes } from './pkey.js';

export type HmacDigest = 'sha256' | 'sha384' | 'sha512' | 'sm3';

export interface MacEngine {
  readonly digest: HmacDigest;
  /** Length of the MAC (the digest length). */
  readonly macBytes: number;
  /** Length of keys this engine generates (the digest length, as RFC 2104 §3 recommends). */
  readonly keyBytes: number;
  generateKey(): Buffer;
  mac(key: Buffer, message: Buffer): Buffer;
  verify(key: Buffer, message: Buffer, mac: Buffer): boolean;
}

function hmacEngine(digest: HmacDigest, bytes: number): MacEngine {
  const compute = (key: Buffer, message: Buffer): Buffer => {
    checkBytes(key, 'key');
    checkBytes(message, 'message');
    if (key.length === 0) throw new RangeError('HMAC key must not be empty');
    return createHmac(digest, key).update(message).digest();
  };
  return {
    digest,
    macBytes: bytes,
    keyBytes: bytes,
    generateKey: () => randomBytes(bytes),
    mac: compute,
    verify(key, message, mac) {
      checkBytes(mac, 'mac');
      const expected = compute(key, message);
      return mac.length === expected.length && timingSafeEqual(mac, expected);
    },
  };
}

export const hmacSha256: MacEngine = hmacEngine('sha256', 32);
export const hmacSha384: MacEngine = hmacEngine('sha384', 48);
export const hmacSha512: MacEngine = hmacEngine('sha512', 64);
export const hmacSm3: MacEngine = hmacEngine('sm3', 32);

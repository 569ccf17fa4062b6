/**
 * Authenticated symmetric engines: bytes in, bytes out. They know nothing of Huawei names or storage.
 * - AES-256-GCM (NIST SP 800-38D): payload = iv(12) ‖ ciphertext ‖ tag(16).
 * - SM4-CTR + HMAC-SM3, encrypt-then-MAC (GB/T 32907 SM4, GB/T 32905 SM3), because Node 20's OpenSSL 3.0 has no
 *   SM4-GCM: two sub-keys from HKDF-SM3 (RFC 5869) of the 16-byte key; payload = iv(16) ‖ ciphertext ‖ tag(32),
 *   tag = HMAC-SM3(macKey, u64be(len(aad)) ‖ aad ‖ iv ‖ ciphertext).
 * Every primitive is OpenSSL's, through node:crypto.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SymmetricAlgorithm } from '../core/key-specs.js';

/** Thrown when a payload does not authenticate: wrong key, wrong AAD or altered bytes. */
export class AuthenticationFailed extends Error {
  constructor() {
    super('ciphertext did not authenticate');
    this.name = 'AuthenticationFailed';
  }
}

export interface SymmetricEngine {
  readonly keyBytes: number;
  /** Encrypts with a fresh random IV; the result carries the IV and the tag. */
  seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer;
  /** Decrypts and authenticates; throws AuthenticationFailed on any mismatch. */
  open(key: Buffer, payload: Buffer, aad: Buffer): Buffer;
}

function checkKey(key: Buffer, bytes: number): void {
  if (key.length !== bytes) throw new RangeError(`key must be ${bytes} bytes, got ${key.length}`);
}

export const aes256Gcm: SymmetricEngine = {
  keyBytes: 32,
  seal(key, plaintext, aad) {
    checkKey(key, 32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, body, cipher.getAuthTag()]);
  },
  open(key, payload, aad) {
    checkKey(key, 32);
    if (payload.length < 12 + 16) throw new AuthenticationFailed();
    const iv = payload.subarray(0, 12);
    const tag = payload.subarray(payload.length - 16);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(payload.subarray(12, payload.length - 16)), decipher.final()]);
    } catch {
      throw new AuthenticationFailed();
    }
  },
};

function sm4SubKeys(key: Buffer): { enc: Buffer; mac: Buffer } {
  checkKey(key, 16);
  return {
    enc: Buffer.from(hkdfSync('sm3', key, Buffer.alloc(0), 'strongroom sm4-ctr encryption', 16)),
    mac: Buffer.from(hkdfSync('sm3', key, Buffer.alloc(0), 'strongroom hmac-sm3 authentication', 32)),
  };
}

function sm4Tag(macKey: Buffer, aad: Buffer, iv: Buffer, body: Buffer): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(aad.length));
  return createHmac('sm3', macKey).update(len).update(aad).update(iv).update(body).digest();
}

export const sm4CtrHmacSm3: SymmetricEngine = {
  keyBytes: 16,
  seal(key, plaintext, aad) {
    const { enc, mac } = sm4SubKeys(key);
    const iv = randomBytes(16);
    const cipher = createCipheriv('sm4-ctr', enc, iv);
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([iv, body, sm4Tag(mac, aad, iv, body)]);
  },
  open(key, payload, aad) {
    const { enc, mac } = sm4SubKeys(key);
    if (payload.length < 16 + 32) throw new AuthenticationFailed();
    const iv = payload.subarray(0, 16);
    const body = payload.subarray(16, payload.length - 32);
    const tag = payload.subarray(payload.length - 32);
    if (!timingSafeEqual(tag, sm4Tag(mac, aad, iv, body))) throw new AuthenticationFailed();
    const decipher = createDecipheriv('sm4-ctr', enc, iv);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  },
};

export const SYMMETRIC_ENGINES: Readonly<Record<SymmetricAlgorithm, SymmetricEngine>> = {
  AES_256_GCM: aes256Gcm,
  SM4_CTR_HMAC_SM3: sm4CtrHmacSm3,
};

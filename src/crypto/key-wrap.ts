/**
 * AES key wrap with padding (RFC 5649, NIST SP 800-38F KWP): bytes in, bytes out, through OpenSSL's
 * `id-aes128-wrap-pad` / `id-aes192-wrap-pad` / `id-aes256-wrap-pad` ciphers (the same bytes as PKCS#11's
 * CKM_AES_KEY_WRAP_PAD). The key-encryption key's length picks the AES variant. Used to receive imported private
 * keys wrapped under a temporary AES key (docs/reference/huawei-kms-api.md §4 I 37).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { checkBytes } from './pkey.js';

/** The alternative initial value of RFC 5649 §3. */
const AIV = Buffer.from('a65959a6', 'hex');

/** Thrown when a wrapped key does not unwrap: wrong key-encryption key, altered or malformed bytes. */
export class UnwrapFailed extends Error {
  constructor() {
    super('the wrapped key could not be unwrapped with this key-encryption key');
    this.name = 'UnwrapFailed';
  }
}

function cipherName(kek: Buffer): string {
  checkBytes(kek, 'kek');
  if (kek.length !== 16 && kek.length !== 24 && kek.length !== 32) {
    throw new RangeError(`an AES key-encryption key is 16, 24 or 32 bytes, got ${kek.length}`);
  }
  return `id-aes${kek.length * 8}-wrap-pad`;
}

/** Wraps 1 byte or more; the result is 8 bytes longer than the plaintext rounded up to a multiple of 8. */
export function aesKeyWrapPad(kek: Buffer, plaintext: Buffer): Buffer {
  const name = cipherName(kek);
  checkBytes(plaintext, 'plaintext');
  if (plaintext.length === 0) throw new RangeError('cannot wrap an empty key');
  const cipher = createCipheriv(name, kek, AIV);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

/** Unwraps and checks the integrity value; throws UnwrapFailed on any mismatch. */
export function aesKeyUnwrapPad(kek: Buffer, wrapped: Buffer): Buffer {
  const name = cipherName(kek);
  checkBytes(wrapped, 'wrapped');
  // A KWP output is at least 16 bytes and a multiple of 8 (OpenSSL returns nothing, without error, for empty input).
  if (wrapped.length < 16 || wrapped.length % 8 !== 0) throw new UnwrapFailed();
  try {
    const decipher = createDecipheriv(name, kek, AIV);
    const plaintext = Buffer.concat([decipher.update(wrapped), decipher.final()]);
    if (plaintext.length === 0) throw new UnwrapFailed();
    return plaintext;
  } catch {
    throw new UnwrapFailed();
  }
}

/**
 * The import token of get-parameters-for-import / import-key-material (docs/reference/huawei-kms-api.md §4 I 36–37): an
 * opaque Base64 value that names the parameters it belongs to and binds the key id and the expiry, authenticated with
 * HMAC-SHA-512 under a secret of this region (KeyImportService derives it from a root-key-wrapped secret), so a
 * token cannot be forged, moved to another key or extended.
 *
 * Layout, 161 bytes (216 Base64 characters, within the 200–6144 the SDKs accept):
 *   "SRIT" ‖ 0x01 ‖ key id (36 ASCII) ‖ expiry (u64 BE, epoch ms) ‖ token id (48 random bytes) ‖ HMAC-SHA-512 (64)
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ImportTokenClaims {
  keyId: string;
  /** Hex of the token's 48 random bytes; the stored parameters carry the same id. */
  tokenId: string;
  /** Epoch milliseconds from which the token is refused (KMS.2601). */
  expiresAt: number;
}

const MAGIC = Buffer.from('SRIT');
const VERSION = 0x01;
const KEY_ID_BYTES = 36;
const TOKEN_ID_BYTES = 48;
const TAG_BYTES = 64;
const BODY_BYTES = MAGIC.length + 1 + KEY_ID_BYTES + 8 + TOKEN_ID_BYTES;

function tag(secret: Buffer, body: Buffer): Buffer {
  return createHmac('sha512', secret).update(body).digest();
}

/** A fresh token id (hex). */
export function newTokenId(): string {
  return randomBytes(TOKEN_ID_BYTES).toString('hex');
}

export function issueImportToken(secret: Buffer, claims: ImportTokenClaims): string {
  const keyId = Buffer.from(claims.keyId, 'ascii');
  const tokenId = Buffer.from(claims.tokenId, 'hex');
  if (keyId.length !== KEY_ID_BYTES || tokenId.length !== TOKEN_ID_BYTES) throw new RangeError('malformed import token claims');
  const expiry = Buffer.alloc(8);
  expiry.writeBigUInt64BE(BigInt(claims.expiresAt));
  const body = Buffer.concat([MAGIC, Buffer.from([VERSION]), keyId, expiry, tokenId]);
  return Buffer.concat([body, tag(secret, body)]).toString('base64');
}

/** The claims of an authentic token, or null for anything malformed or not made with `secret`. */
export function readImportToken(secret: Buffer, token: string): ImportTokenClaims | null {
  if (token.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(token)) return null;
  const bytes = Buffer.from(token, 'base64');
  if (bytes.length !== BODY_BYTES + TAG_BYTES) return null;
  const body = bytes.subarray(0, BODY_BYTES);
  if (!timingSafeEqual(bytes.subarray(BODY_BYTES), tag(secret, body))) return null;
  if (!body.subarray(0, MAGIC.length).equals(MAGIC) || body[MAGIC.length] !== VERSION) return null;
  let at = MAGIC.length + 1;
  const keyId = body.subarray(at, (at += KEY_ID_BYTES)).toString('ascii');
  const expiresAt = Number(body.readBigUInt64BE(at));
  at += 8;
  const tokenId = body.subarray(at, at + TOKEN_ID_BYTES).toString('hex');
  return { keyId, tokenId, expiresAt };
}

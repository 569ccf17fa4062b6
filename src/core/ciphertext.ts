/**
 * The self-describing ciphertext blob of symmetric keys. It carries the key id and the key version, so decryption
 * needs no key id and survives rotation and replication. The header follows the shape of Huawei's own blobs
 * (docs/reference/huawei-kms-api.md §8.1: format bytes, then uint16 LE "total length − 36", then the 36-character
 * key id):
 *
 *   0   1  0x02             format family
 *   1   1  kind             0x01 encrypt-data, 0x02 data key, 0x03 data-key capsule (core/key-space.ts)
 *   2   2  uint16 LE        total length − 36
 *   4  36  key id           ASCII UUID
 *  40   4  key version      uint32 BE
 *  44   1  algorithm        1 AES-256-GCM, 2 SM4-CTR + HMAC-SM3
 *  45   …  engine payload   (IV, ciphertext, tag), see crypto/symmetric.ts
 *
 * The sealed plaintext is framed as uint16 BE length ‖ bytes ‖ zero padding up to 32 bytes, so that even one byte
 * of encrypt-data output is at least the 128 Base64 characters Huawei's decrypt-data pattern requires.
 * The engine's associated data is the header (without the length field) followed by the caller's AAD, so a
 * blob cannot be moved to another key, version or kind.
 */
import type { SymmetricAlgorithm } from './key-specs.js';

export type BlobKind = 'data' | 'datakey' | 'capsule';

const KIND_BYTE: Record<BlobKind, number> = { data: 0x01, datakey: 0x02, capsule: 0x03 };
const ALGORITHM_BYTE: Record<SymmetricAlgorithm, number> = { AES_256_GCM: 1, SM4_CTR_HMAC_SM3: 2 };
const HEADER_BYTES = 45;
const MIN_FRAME = 32;

export interface BlobHeader {
  kind: BlobKind;
  keyId: string;
  version: number;
  algorithm: SymmetricAlgorithm;
}

export interface ParsedBlob extends BlobHeader {
  /** Associated data the engine must authenticate, before the caller's AAD. */
  boundHeader: Buffer;
  payload: Buffer;
}

function headerBytes(h: BlobHeader): Buffer {
  const out = Buffer.alloc(HEADER_BYTES);
  out[0] = 0x02;
  out[1] = KIND_BYTE[h.kind];
  out.write(h.keyId, 4, 36, 'latin1');
  out.writeUInt32BE(h.version, 40);
  out[44] = ALGORITHM_BYTE[h.algorithm];
  return out;
}

/** The header as authenticated data: every header byte except the length field. */
function bound(header: Buffer): Buffer {
  return Buffer.concat([header.subarray(0, 2), header.subarray(4, HEADER_BYTES)]);
}

export function frame(plaintext: Buffer): Buffer {
  const out = Buffer.alloc(Math.max(MIN_FRAME, 2 + plaintext.length));
  out.writeUInt16BE(plaintext.length, 0);
  plaintext.copy(out, 2);
  return out;
}

/** Returns null when the frame is malformed (the caller reports an invalid ciphertext). */
export function unframe(framed: Buffer): Buffer | null {
  if (framed.length < 2) return null;
  const n = framed.readUInt16BE(0);
  if (2 + n > framed.length) return null;
  for (let i = 2 + n; i < framed.length; i++) if (framed[i] !== 0) return null;
  return framed.subarray(2, 2 + n);
}

/** Lays out a blob around an engine payload; `seal` receives the bytes to authenticate. */
export function buildBlob(h: BlobHeader, seal: (boundHeader: Buffer) => Buffer): Buffer {
  if (!/^[0-9a-z-]{36}$/.test(h.keyId)) throw new RangeError('key id must be a 36-character UUID');
  const header = headerBytes(h);
  const payload = seal(bound(header));
  const blob = Buffer.concat([header, payload]);
  blob.writeUInt16LE(blob.length - 36, 2);
  return blob;
}

/** Parses a blob; returns null for anything that is not a well-formed Strongroom blob of the expected kind. */
export function parseBlob(blob: Buffer, kind: BlobKind): ParsedBlob | null {
  if (blob.length <= HEADER_BYTES || blob[0] !== 0x02 || blob[1] !== KIND_BYTE[kind]) return null;
  if (blob.readUInt16LE(2) !== blob.length - 36) return null;
  const keyId = blob.toString('latin1', 4, 40);
  if (!/^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$/.test(keyId)) return null;
  const algorithm = (Object.keys(ALGORITHM_BYTE) as SymmetricAlgorithm[]).find((a) => ALGORITHM_BYTE[a] === blob[44]);
  if (!algorithm) return null;
  const header = blob.subarray(0, HEADER_BYTES);
  return { kind, keyId, version: blob.readUInt32BE(40), algorithm, boundHeader: bound(header), payload: blob.subarray(HEADER_BYTES) };
}

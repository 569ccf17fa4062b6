/**
 * Sealing key material for another region (ECIES over X25519): an ephemeral X25519 key pair, the shared secret
 * with the recipient's static transport key (RFC 7748), a key-encryption key from HKDF-SHA256 (RFC 5869) over the
 * shared secret with both public keys as salt, and AES-256-GCM with the caller's context as associated data.
 * Sealed = ephemeral public key (32, raw) ‖ AES-256-GCM payload.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { aes256Gcm } from './symmetric.js';

const INFO = 'strongroom replication transport v1';
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex'); // X25519 SubjectPublicKeyInfo header

export function generateTransportKey(): { privateDer: Buffer; publicRaw: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return { privateDer: privateKey.export({ type: 'pkcs8', format: 'der' }), publicRaw: rawPublic(publicKey) };
}

function rawPublic(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' }).subarray(SPKI_PREFIX.length);
}

function publicFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new RangeError('an X25519 public key has 32 bytes');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function kek(shared: Buffer, ephemeralRaw: Buffer, recipientRaw: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephemeralRaw, recipientRaw]), INFO, 32));
}

/** Seals `plaintext` so that only the holder of the recipient's transport private key can open it. */
export function sealFor(recipientPublicRaw: Buffer, plaintext: Buffer, context: Buffer): Buffer {
  const recipient = publicFromRaw(recipientPublicRaw);
  const eph = generateKeyPairSync('x25519');
  const ephRaw = rawPublic(eph.publicKey);
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: recipient });
  const key = kek(shared, ephRaw, recipientPublicRaw);
  try {
    return Buffer.concat([ephRaw, aes256Gcm.seal(key, plaintext, context)]);
  } finally {
    shared.fill(0);
    key.fill(0);
  }
}

/** Opens what `sealFor` sealed; throws AuthenticationFailed for a wrong key, context or altered bytes. */
export function openSealed(privateDer: Buffer, sealed: Buffer, context: Buffer): Buffer {
  const priv = createPrivateKey({ key: privateDer, format: 'der', type: 'pkcs8' });
  const ownRaw = rawPublic(createPublicKey(priv));
  const ephRaw = sealed.subarray(0, 32);
  const shared = diffieHellman({ privateKey: priv, publicKey: publicFromRaw(ephRaw) });
  const key = kek(shared, ephRaw, ownRaw);
  try {
    return aes256Gcm.open(key, sealed.subarray(32), context);
  } finally {
    shared.fill(0);
    key.fill(0);
  }
}

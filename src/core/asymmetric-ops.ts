/**
 * Operations with key pairs and HMAC keys (docs/reference/huawei-kms-api.md §4 A 4, E 24–26, F 27–28): sign and verify
 * (RAW or DIGEST messages), the public key, ECDH key agreement, MAC generation and verification. Which spec may do what
 * comes from key-specs.ts; the primitives from crypto/algorithms.ts.
 *
 * Sign/verify refusals, in this order (§4 E 24, §8.4): symmetric key KMS.1115, HMAC key KMS.0341, ENCRYPT_DECRYPT key
 * KMS.0334, another usage KMS.0308, an algorithm the spec does not list KMS.0332, the key's state (KMS.0209/0210), a
 * message type the algorithm has no form for KMS.0308 (ED25519_SHA_512 is pure Ed25519, RFC 8032 §5.1: RAW only), a
 * DIGEST of another length than the algorithm's hash KMS.0329.
 */
import { createPublicKey } from 'node:crypto';
import { KmsError } from '../errors.js';
import { KEY_PAIR_SPECS, MAC_ALGORITHMS, SIGNING_ALGORITHMS, type MacAlgorithm, type MessageType, type SigningAlgorithm } from '../crypto/algorithms.js';
import { readEcSpki } from '../crypto/der.js';
import type { KmsStore } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import { assertUsable, isDestroyed, type KeyRecord } from './key.js';
import type { KeyMaterial } from './key-material.js';
import { KEY_SPECS } from './key-specs.js';
import { hsmCall, inKeystore, type KeystoreService } from './keystores.js';

/** Huawei's PEM form: 64-character lines joined by CRLF. */
export function publicKeyPem(spki: Buffer): string {
  const lines = spki.toString('base64').match(/.{1,64}/g) ?? [];
  return ['-----BEGIN PUBLIC KEY-----', ...lines, '-----END PUBLIC KEY-----'].join('\r\n');
}

export class AsymmetricOps {
  constructor(
    private readonly store: KmsStore,
    private readonly material: KeyMaterial,
    private readonly clock: Clock,
    /** Dedicated keystores: their keys sign in their HSM cluster (keystores.ts). */
    private readonly keystores?: KeystoreService,
  ) {}

  async sign(ctx: CallerContext, keyId: string, algorithm: SigningAlgorithm, message: Buffer, type: MessageType): Promise<Buffer> {
    const key = await this.#signingKey(ctx, keyId, algorithm, message, type);
    if (inKeystore(key)) {
      const { cluster, label } = await this.#keystores().use(key);
      return hsmCall(() => cluster.sign(label, algorithm, message, type));
    }
    return SIGNING_ALGORITHMS[algorithm].sign(await this.#secret(key), message, type);
  }

  /** Verification needs only the public key (kept on the key record for keystore keys too); a disabled keystore refuses it. */
  async verify(ctx: CallerContext, keyId: string, algorithm: SigningAlgorithm, message: Buffer, type: MessageType, signature: Buffer): Promise<boolean> {
    const key = await this.#signingKey(ctx, keyId, algorithm, message, type);
    if (inKeystore(key)) await this.#keystores().use(key);
    return SIGNING_ALGORITHMS[algorithm].verify(key.publicKey!, message, type, signature);
  }

  async publicKey(ctx: CallerContext, keyId: string): Promise<{ keyId: string; spki: Buffer }> {
    const key = await this.#key(ctx, keyId);
    const kind = KEY_SPECS[key.spec].kind;
    if (kind === 'symmetric') throw new KmsError('KMS.0331', 'Symmetric keys have no public key.');
    if (kind === 'hmac') throw new KmsError('KMS.0341', 'HMAC keys have no public key.');
    assertUsable(key, this.clock());
    if (inKeystore(key)) await this.#keystores().use(key);
    return { keyId: key.id, spki: key.publicKey! };
  }

  /** ECDH with the key's private half and a peer's SubjectPublicKeyInfo; the raw shared secret (x coordinate). */
  async deriveSharedSecret(ctx: CallerContext, keyId: string, peerSpki: Buffer): Promise<Buffer> {
    const key = await this.#key(ctx, keyId);
    const info = KEY_SPECS[key.spec];
    if (info.kind === 'symmetric') throw new KmsError('KMS.0331', 'Symmetric keys cannot agree on keys.');
    if (info.kind === 'hmac') throw new KmsError('KMS.0341');
    const derive = info.pair && KEY_PAIR_SPECS[info.pair].deriveSharedSecret;
    if (!derive) throw new KmsError('KMS.0325', `${key.spec} keys cannot agree on keys.`);
    if (key.usage !== 'KEY_AGREEMENT') throw new KmsError('KMS.0308', 'Only keys created with key_usage KEY_AGREEMENT derive shared secrets.');
    assertUsable(key, this.clock());
    try {
      createPublicKey({ key: peerSpki, format: 'der', type: 'spki' });
      readEcSpki(peerSpki); // the whole value is one EC SubjectPublicKeyInfo: OpenSSL alone ignores trailing bytes
    } catch {
      throw new KmsError('KMS.0308', 'public_key must be the Base64 of a DER SubjectPublicKeyInfo.');
    }
    try {
      return derive(await this.#secret(key), peerSpki);
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError) throw new KmsError('KMS.0308', `public_key is not a ${key.spec} public key.`);
      throw err;
    }
  }

  async generateMac(ctx: CallerContext, keyId: string, algorithm: MacAlgorithm, message: Buffer): Promise<Buffer> {
    const key = await this.#macKey(ctx, keyId, algorithm);
    return MAC_ALGORITHMS[algorithm].engine.mac(await this.#secret(key), message);
  }

  async verifyMac(ctx: CallerContext, keyId: string, algorithm: MacAlgorithm, message: Buffer, mac: Buffer): Promise<boolean> {
    const key = await this.#macKey(ctx, keyId, algorithm);
    return MAC_ALGORITHMS[algorithm].engine.verify(await this.#secret(key), message, mac);
  }

  async #key(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    const key = await this.store.getKey(ctx.projectId, keyId);
    if (!key || key.pendingAttempt !== null || isDestroyed(key, this.clock())) throw new KmsError('KMS.0207');
    return key;
  }

  async #signingKey(ctx: CallerContext, keyId: string, algorithm: SigningAlgorithm, message: Buffer, type: MessageType): Promise<KeyRecord> {
    const key = await this.#key(ctx, keyId);
    const info = KEY_SPECS[key.spec];
    if (info.kind === 'symmetric') throw new KmsError('KMS.1115');
    if (info.kind === 'hmac') throw new KmsError('KMS.0341', 'HMAC keys make MACs (generate-mac), not signatures.');
    if (key.usage === 'ENCRYPT_DECRYPT') throw new KmsError('KMS.0334');
    if (key.usage !== 'SIGN_VERIFY') throw new KmsError('KMS.0308', `Keys with key_usage ${key.usage} do not sign.`);
    if (!info.signing?.includes(algorithm)) throw new KmsError('KMS.0332', `${key.spec} keys sign with ${info.signing?.join(', ')}.`);
    assertUsable(key, this.clock());
    const entry = SIGNING_ALGORITHMS[algorithm];
    if (!entry.messageTypes.includes(type)) {
      throw new KmsError('KMS.0308', `${algorithm} signs the message itself: message_type must be ${entry.messageTypes.join(' or ')}.`);
    }
    const digestBytes = entry.digestBytes;
    if (type === 'DIGEST' && message.length !== digestBytes) {
      throw new KmsError('KMS.0329', `A ${algorithm} digest has ${digestBytes} bytes, not ${message.length}.`);
    }
    return key;
  }

  async #macKey(ctx: CallerContext, keyId: string, algorithm: MacAlgorithm): Promise<KeyRecord> {
    const key = await this.#key(ctx, keyId);
    const info = KEY_SPECS[key.spec];
    if (info.kind === 'symmetric') throw new KmsError('KMS.0331', 'Only HMAC keys make MACs.');
    if (info.kind === 'asymmetric') throw new KmsError('KMS.0325', 'Only HMAC keys make MACs.');
    if (info.mac !== algorithm) throw new KmsError('KMS.0332', `${key.spec} keys use ${info.mac}, not ${algorithm}.`);
    assertUsable(key, this.clock());
    return key;
  }

  #keystores(): KeystoreService {
    if (!this.keystores) throw new KmsError('KMS.0340', 'This region serves no dedicated keystores.');
    return this.keystores;
  }

  async #secret(key: KeyRecord): Promise<Buffer> {
    if (inKeystore(key)) throw new KmsError('KMS.0340', 'The material of a keystore key never leaves its HSM.');
    const material = await this.material.unwrapped(key.id, key.currentVersion);
    if (!material) throw new KmsError('KMS.0103', 'The key material is missing.');
    return material;
  }
}

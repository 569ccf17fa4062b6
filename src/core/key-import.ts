/**
 * Imported key material, "bring your own key" (docs/reference/huawei-kms-api.md §4 I 36–38, §5.2 KMS.0309/0310,
 * 2601–2610, 2701/2702, 1404, §8.2): get-parameters-for-import hands out a one-off wrapping public key and an import
 * token; import-key-material unwraps the caller's material with the private half, stores it as version 1 wrapped by the
 * root key and enables the key (state 5 → 2); delete-imported-key-material and the expiry sweep take the material
 * away again (→ 5). Only keys created with origin `external` take part.
 *
 * - Symmetric and HMAC keys: `encrypted_key_material` is the material itself, encrypted with the wrapping key.
 * - Asymmetric keys: `encrypted_key_material` is a temporary AES key (16 or 32 bytes) encrypted with the wrapping
 *   key, and `encrypted_privatekey` the PKCS#8 DER private key wrapped under it by AES key wrap with padding
 *   (RFC 5649). Huawei does not let imported private keys be deleted (KMS.2702), so they cannot expire either.
 * - The wrapping private key is stored wrapped by the root key and is used once: a successful import deletes it,
 *   a new get-parameters-for-import replaces it, and it lapses after 24 hours.
 * - Re-importing after a deletion or expiry must bring the same material (KMS.2606): each import keeps a keyed
 *   fingerprint (HMAC-SHA-256 under a secret wrapped by the root key, bound to the key id), never a bare hash.
 * - A failed RSA-OAEP unwrap of `encrypted_key_material` is KMS.0311 (Huawei's own text: "Failed to decrypt data
 *   using the RSA private key"); a failed SM2 unwrap is KMS.0308, since that text names RSA. KMS.2605 is kept for
 *   the token itself: malformed, forged, superseded by newer parameters, or already used.
 */
import { forgetParsedKeys } from '../crypto/key-cache.js';
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { KmsError } from '../errors.js';
import {
  ASYMMETRIC_ENCRYPTION_ALGORITHMS,
  KEY_PAIR_SPECS,
  SIGNING_ALGORITHMS,
  type AsymmetricEncryptionAlgorithm,
  type KeyPairDer,
  type KeyPairSpec,
} from '../crypto/algorithms.js';
import { aesKeyUnwrapPad } from '../crypto/key-wrap.js';
import type { RootKey } from '../keystore/root-key.js';
import type { KmsStore } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import { issueImportToken, newTokenId, readImportToken } from './import-token.js';
import { isDestroyed, isPrimaryIn, type KeyRecord } from './key.js';
import type { KeyMaterial } from './key-material.js';
import type { WorkRecorder } from './scheduler.js';
import { KEY_SPECS, type KeySpec } from './key-specs.js';

/** How long import parameters (token and wrapping key) stay valid: Huawei's 24 hours. */
export const IMPORT_PARAMETERS_TTL_MS = 24 * 3_600_000;

/** Wrapping algorithms accepted, each with the key pair it hands out and the engine that unwraps. */
const WRAPPING = {
  RSAES_OAEP_SHA_256: { pair: 'RSA_2048', decrypt: 'RSAES_OAEP_SHA_256' },
  RSAES_OAEP_SHA_1: { pair: 'RSA_2048', decrypt: 'RSAES_OAEP_SHA_1' },
  SM2_ENCRYPT: { pair: 'SM2', decrypt: 'SM2_ENCRYPT' },
} as const satisfies Record<string, { pair: KeyPairSpec; decrypt: AsymmetricEncryptionAlgorithm }>;
type WrappingAlgorithm = keyof typeof WRAPPING;

/** SM2_ENCRYPT wraps material of the Chinese (GM) key specs only. */
const SM2_WRAPPED_SPECS: readonly KeySpec[] = ['SM4', 'SM2', 'HMAC_SM3'];

/** Lengths of the temporary AES key that wraps an imported private key (KMS.2610). */
const TEMPORARY_KEY_BYTES = [16, 32];

export const SECRET_SETTING = 'import_secret';
export const SECRET_CONTEXT = Buffer.from('strongroom import secret');
export const wrappingKeyContext = (keyId: string, tokenId: string) => Buffer.from(`strongroom import wrapping key\0${keyId}\0${tokenId}`);

export interface ImportParameters {
  keyId: string;
  /** Base64 import token. */
  importToken: string;
  /** Epoch milliseconds at which the token and the wrapping key lapse. */
  expiresAt: number;
  /** SPKI DER of the wrapping public key. */
  publicKey: Buffer;
}

export interface ImportKeyMaterialInput {
  keyId: string;
  importToken: string;
  encryptedKeyMaterial: Buffer;
  /** Asymmetric keys only: the PKCS#8 private key wrapped (RFC 5649) under the temporary key. */
  encryptedPrivateKey?: Buffer;
  /** Epoch SECONDS after which the material expires; undefined for never. */
  expirationTime?: number;
}

export class KeyImportService {
  #tokenKey?: Buffer;
  #fingerprintKey?: Buffer;

  constructor(
    private readonly store: KmsStore,
    private readonly material: KeyMaterial,
    private readonly rootKey: RootKey,
    private readonly clock: Clock,
    /** Queues the new material for the key's replicas (in the import's own transaction). */
    private readonly syncReplicas: (tx: KmsStore, key: KeyRecord) => Promise<void> = async () => undefined,
  ) {}

  /** Loads this region's import secret, creating it (wrapped by the root key) at first start. */
  async init(): Promise<void> {
    let stored = await this.store.getSetting(SECRET_SETTING);
    if (!stored) stored = await this.store.putSettingIfAbsent(SECRET_SETTING, await this.rootKey.wrap(randomBytes(32), SECRET_CONTEXT));
    const secret = await this.rootKey.unwrap(stored, SECRET_CONTEXT);
    try {
      this.#tokenKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'strongroom import token', 64));
      this.#fingerprintKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'strongroom material fingerprint', 32));
    } finally {
      secret.fill(0);
    }
  }

  /** get-parameters-for-import: a fresh wrapping key pair and token, replacing any earlier ones of the key. */
  async getParametersForImport(ctx: CallerContext, keyId: string, wrappingAlgorithm: string): Promise<ImportParameters> {
    const algorithm = checkWrappingAlgorithm(wrappingAlgorithm);
    const key = await this.#pendingImport(ctx, keyId);
    if (algorithm === 'SM2_ENCRYPT' && !SM2_WRAPPED_SPECS.includes(key.spec)) {
      throw new KmsError('KMS.0308', `SM2_ENCRYPT wraps ${SM2_WRAPPED_SPECS.join(', ')} key material; use RSAES_OAEP_SHA_256 for ${key.spec} keys.`);
    }
    const pair = await KEY_PAIR_SPECS[WRAPPING[algorithm].pair].generateAsync();
    const tokenId = newTokenId();
    const expiresAt = this.clock() + IMPORT_PARAMETERS_TTL_MS;
    try {
      const wrappingKey = await this.rootKey.wrap(pair.privateKey, wrappingKeyContext(key.id, tokenId));
      await this.store.putImportParameters({ keyId: key.id, tokenId, wrappingAlgorithm: algorithm, wrappingKey, expiresAt });
    } finally {
      pair.privateKey.fill(0);
    }
    return { keyId: key.id, importToken: issueImportToken(this.#keys().token, { keyId: key.id, tokenId, expiresAt }), expiresAt, publicKey: pair.publicKey };
  }

  /** import-key-material: version 1 from the caller's wrapped material; the key becomes enabled (state 2). */
  async importKeyMaterial(ctx: CallerContext, input: ImportKeyMaterialInput): Promise<KeyRecord> {
    for (;;) {
      const key = await this.#pendingImport(ctx, input.keyId);
      const info = KEY_SPECS[key.spec];
      const now = this.clock();
      let materialExpiresAt: number | null = null;
      if (input.expirationTime !== undefined) {
        if (info.kind === 'asymmetric') {
          throw new KmsError('KMS.0308', 'Imported private keys cannot be deleted (KMS.2702), so they take no expiration_time.');
        }
        materialExpiresAt = input.expirationTime * 1000;
        if (materialExpiresAt <= now) throw new KmsError('KMS.2602', 'expiration_time is in epoch seconds and must be in the future.');
      }
      const tokenId = this.#checkToken(key, input.importToken, now);
      const params = await this.store.getImportParameters(key.id);
      if (!params || params.tokenId !== tokenId) {
        throw new KmsError('KMS.2605', 'The import token was replaced by a newer get-parameters-for-import, or was used already.');
      }
      if (info.kind === 'asymmetric' && input.encryptedPrivateKey === undefined) throw new KmsError('KMS.2608');
      if (info.kind !== 'asymmetric' && input.encryptedPrivateKey !== undefined) {
        throw new KmsError('KMS.0308', 'encrypted_privatekey applies to asymmetric keys only.');
      }

      const unwrapped = await this.#unwrapMaterial(key, params.wrappingAlgorithm as WrappingAlgorithm, params.wrappingKey, tokenId, input.encryptedKeyMaterial);
      let secret: Buffer;
      let publicKey: Buffer | null = null;
      if (info.kind === 'asymmetric') {
        try {
          const pair = importedKeyPair(key.spec, info.pair!, unwrapped, input.encryptedPrivateKey!);
          secret = pair.privateKey;
          publicKey = pair.publicKey;
        } finally {
          unwrapped.fill(0);
        }
      } else {
        secret = unwrapped;
        if (secret.length !== info.materialBytes) {
          secret.fill(0);
          throw new KmsError('KMS.2604', `${key.spec} key material is ${info.materialBytes} bytes, not ${secret.length}.`);
        }
      }

      try {
        // Asymmetric keys are identified by their public key; symmetric ones by the material itself.
        const fingerprint = this.#fingerprint(key.id, publicKey ?? secret, publicKey ? 'public key' : 'material');
        if (key.materialFingerprint !== null && !sameHex(key.materialFingerprint, fingerprint)) {
          throw new KmsError('KMS.2606', 'This key had other material before; import exactly that material again.');
        }
        const version = { ...(await this.material.wrap(key.id, 1, secret)), createdAt: now };
        const next: KeyRecord = {
          ...key, state: '2', currentVersion: 1, materialExpiresAt, publicKey, materialFingerprint: fingerprint,
        };
        const saved = await this.store.transaction(async (tx) => {
          const current = await tx.getImportParameters(key.id);
          if (!current || current.tokenId !== tokenId) {
            throw new KmsError('KMS.2605', 'The import token was replaced by a newer get-parameters-for-import, or was used already.');
          }
          if (!(await tx.updateKey(next, key.revision))) return null;
          if (!(await tx.insertVersion(version))) throw new Error(`key ${key.id} already has a version 1`);
          await tx.deleteImportParameters(key.id); // the token is single-use
          await this.syncReplicas(tx, next); // a re-import after expiry reaches replicas as well
          return { ...next, revision: key.revision + 1 };
        });
        if (!saved) continue; // the key changed meanwhile: check it again
        this.material.forget(key.id);
        return saved;
      } finally {
        secret.fill(0);
      }
    }
  }

  /** delete-imported-key-material: every version goes, the key waits for an import again (state 5). */
  async deleteImportedKeyMaterial(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    for (;;) {
      const key = await this.#key(ctx, keyId);
      if (key.origin !== 'external') throw new KmsError('KMS.0309');
      if (!isPrimaryIn(key, ctx.region)) throw new KmsError('KMS.0106', `The primary of this key is in ${key.primaryRegion}.`);
      if (key.state !== '2' && key.state !== '3') throw new KmsError('KMS.2701');
      if (KEY_SPECS[key.spec].kind === 'asymmetric') throw new KmsError('KMS.2702');
      if (key.replicas.length > 0) {
        throw new KmsError('KMS.0308', `The key has replicas in ${key.replicas.map((r) => r.region).join(', ')}: their material would stay; delete them first.`);
      }
      const saved = await this.store.transaction((tx) => this.#dropMaterial(tx, key));
      if (saved) {
        this.material.forget(key.id);
        return saved;
      }
    }
  }

  /**
   * Takes the material away from every key whose imported material has expired (in this region, replicas too:
   * they share the expiry) and drops lapsed import parameters. Returns the ids of the keys expired.
   */
  async expireMaterial(within?: WorkRecorder): Promise<string[]> {
    const now = this.clock();
    const expired: string[] = [];
    for (const key of await this.store.keysWithExpiredMaterial(now)) {
      // Re-check inside a transaction: a change that landed after the query above must be seen.
      const done = await this.store.transaction(async (tx) => {
        const current = await tx.getKeyById(key.id);
        if (!current || current.origin !== 'external' || (current.state !== '2' && current.state !== '3')) return false;
        if (current.materialExpiresAt === null || current.materialExpiresAt > now) return false;
        if ((await this.#dropMaterial(tx, current)) === null) return false;
        await within?.inTransaction(tx, key.id);
        return true;
      });
      if (!done) continue;
      await within?.committed(key.id);
      this.material.forget(key.id);
      expired.push(key.id);
    }
    await this.store.deleteExpiredImportParameters(now);
    return expired;
  }

  /** In `tx`: state 5, no versions, no expiry; the fingerprint stays so a re-import must bring the same material. */
  async #dropMaterial(tx: KmsStore, key: KeyRecord): Promise<KeyRecord | null> {
    const next: KeyRecord = { ...key, state: '5', currentVersion: 0, materialExpiresAt: null };
    if (!(await tx.updateKey(next, key.revision))) return null;
    await tx.deleteVersions(key.id);
    await tx.deleteImportParameters(key.id);
    return { ...next, revision: key.revision + 1 };
  }

  async #key(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    const key = await this.store.getKey(ctx.projectId, keyId);
    if (!key || key.pendingAttempt !== null || isDestroyed(key, this.clock())) throw new KmsError('KMS.0207');
    return key;
  }

  /** A key that may receive material here: origin external, this region its primary, state 5. */
  async #pendingImport(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    const key = await this.#key(ctx, keyId);
    if (key.origin !== 'external') throw new KmsError('KMS.0309', 'Only keys created with origin external take imported material.');
    if (!isPrimaryIn(key, ctx.region)) throw new KmsError('KMS.1404', `Import into ${key.primaryRegion}, the key's primary region.`);
    if (key.state !== '5') throw new KmsError('KMS.0310');
    return key;
  }

  /** The token's id when it is authentic, of this key and not expired. */
  #checkToken(key: KeyRecord, token: string, now: number): string {
    const claims = readImportToken(this.#keys().token, token);
    if (!claims) throw new KmsError('KMS.2605', 'The import token is malformed or was not issued by this region.');
    if (claims.keyId !== key.id) throw new KmsError('KMS.2603');
    if (now >= claims.expiresAt) throw new KmsError('KMS.2601', 'Call get-parameters-for-import again for a new token.');
    return claims.tokenId;
  }

  /** Decrypts encrypted_key_material with the stored wrapping private key. */
  async #unwrapMaterial(key: KeyRecord, algorithm: WrappingAlgorithm, wrappingKey: Buffer, tokenId: string, encrypted: Buffer): Promise<Buffer> {
    const privateKey = await this.rootKey.unwrap(wrappingKey, wrappingKeyContext(key.id, tokenId));
    try {
      return ASYMMETRIC_ENCRYPTION_ALGORITHMS[WRAPPING[algorithm].decrypt].decrypt(privateKey, encrypted);
    } catch {
      if (algorithm === 'SM2_ENCRYPT') throw new KmsError('KMS.0308', 'encrypted_key_material does not decrypt with the SM2 wrapping key of this import token.');
      throw new KmsError('KMS.0311', `encrypted_key_material does not decrypt with the wrapping key of this import token (${algorithm}).`);
    } finally {
      privateKey.fill(0);
    }
  }

  #fingerprint(keyId: string, bytes: Buffer, kind: string): string {
    return createHmac('sha256', this.#keys().fingerprint).update(`${keyId}\0${kind}\0`).update(bytes).digest('hex');
  }

  #keys(): { token: Buffer; fingerprint: Buffer } {
    if (!this.#tokenKey || !this.#fingerprintKey) throw new Error('KeyImportService.init() was not called');
    return { token: this.#tokenKey, fingerprint: this.#fingerprintKey };
  }
}

function checkWrappingAlgorithm(name: string): WrappingAlgorithm {
  if (Object.hasOwn(WRAPPING, name)) return name as WrappingAlgorithm;
  if (name === 'RSAES_PKCS1_V1_5') {
    throw new KmsError('KMS.0308', 'RSAES_PKCS1_V1_5 wrapping is not supported: PKCS#1 v1.5 decryption is unsafe (Marvin attack, CVE-2023-46809) and refused by node 20. Use RSAES_OAEP_SHA_256.');
  }
  throw new KmsError('KMS.0308', `wrapping_algorithm must be one of ${Object.keys(WRAPPING).join(', ')}.`);
}

/**
 * The private key unwrapped (RFC 5649) with the temporary key, checked to be a key pair of the key's spec whose
 * halves belong together (a signature made with the private half verifies with the public half).
 */
function importedKeyPair(spec: KeySpec, pairSpec: KeyPairSpec, temporaryKey: Buffer, wrappedPrivateKey: Buffer): KeyPairDer {
  if (!TEMPORARY_KEY_BYTES.includes(temporaryKey.length)) {
    throw new KmsError('KMS.2610', `encrypted_key_material holds a ${temporaryKey.length}-byte key.`);
  }
  let der: Buffer;
  try {
    der = aesKeyUnwrapPad(temporaryKey, wrappedPrivateKey);
  } catch {
    throw new KmsError('KMS.2609', 'encrypted_privatekey does not unwrap (AES key wrap with padding, RFC 5649) with the temporary key.');
  }
  try {
    const pair = KEY_PAIR_SPECS[pairSpec].fromPrivateKey(der);
    const algorithm = SIGNING_ALGORITHMS[KEY_SPECS[spec].signing![0]!];
    const probe = randomBytes(32);
    if (!algorithm.verify(pair.publicKey, probe, 'RAW', algorithm.sign(pair.privateKey, probe, 'RAW'))) throw new TypeError('inconsistent key pair');
    return pair;
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) {
      throw new KmsError('KMS.2609', `encrypted_privatekey must hold a PKCS#8 DER ${spec} private key.`);
    }
    throw err;
  } finally {
    forgetParsedKeys(der); // the probe signature parsed it; a refused import must leave no parsed copy behind
    der.fill(0);
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

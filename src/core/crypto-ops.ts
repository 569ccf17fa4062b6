/**
 * Cryptographic operations with symmetric keys: encrypt-data, decrypt-data, data keys and random bytes
 * (docs/reference/huawei-kms-api.md §4 C, D, G). Ciphertexts are self-describing blobs (ciphertext.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { KmsError } from '../errors.js';
import { AuthenticationFailed, SYMMETRIC_ENGINES } from '../crypto/symmetric.js';
import { ASYMMETRIC_ENCRYPTION_ALGORITHMS, DecryptionFailed, KEY_PAIR_SPECS, type AsymmetricEncryptionAlgorithm, type KeyPairSpec } from '../crypto/algorithms.js';
import type { KmsStore } from '../storage/kms-store.js';
import { buildBlob, frame, parseBlob, unframe, type BlobKind } from './ciphertext.js';
import type { CallerContext, Clock } from './context.js';
import { assertUsable, isDestroyed, type KeyRecord } from './key.js';
import type { KeyMaterial } from './key-material.js';
import { KEY_SPECS } from './key-specs.js';
import { hsmCall, inKeystore, type KeystoreService } from './keystores.js';

/** The PIN a data key operation presents (`pin`, `pin_type`), checked for keys of a keystore that has one (keystores.ts). */
export interface PresentedPin {
  pin?: string;
  pinType?: string;
}

export const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2_ENCRYPT'] as const;

export interface ReEncryptInput {
  blob: Buffer;
  sourceKeyId?: string;
  sourceAad: Buffer;
  sourceAlgorithm: string;
  destinationKeyId: string;
  destinationAad: Buffer;
  destinationAlgorithm: string;
  /** Set for data key ciphertexts: the byte length of the data key. */
  dataKeyBytes?: number;
}

export interface DecryptedDataKey {
  keyId: string;
  plaintext: Buffer;
  /** SHA-256 (AES keys) or SM3 (SM4 keys) of the plaintext. */
  digest: Buffer;
}

/**
 * Opens a sealed, framed plaintext (in the process or in an HSM token) and removes its frame; a blob that does not
 * authenticate, or whose frame is wrong, is KMS.2201.
 */
async function openFramed(open: () => Buffer | Promise<Buffer>): Promise<Buffer> {
  let framed: Buffer;
  try {
    framed = await open();
  } catch (err) {
    if (err instanceof AuthenticationFailed) {
      throw new KmsError('KMS.2201', 'The ciphertext did not authenticate: it was altered, or the additional authenticated data differs.');
    }
    throw err;
  }
  const plaintext = unframe(framed);
  if (!plaintext) throw new KmsError('KMS.2201');
  return plaintext;
}

export class CryptoOps {
  constructor(
    private readonly store: KmsStore,
    private readonly material: KeyMaterial,
    private readonly clock: Clock,
    /** Asks the primary for versions a replica does not hold yet; absent in single-region use. */
    private readonly fetchMissingVersions?: (key: KeyRecord) => Promise<void>,
    /** Dedicated keystores: their keys' AES-GCM runs in their HSM cluster (keystores.ts). */
    private readonly keystores?: KeystoreService,
  ) {}

  /** Symmetric keys seal a self-describing blob; RSA and SM2 keys return the raw OAEP / GM/T 0009 ciphertext. */
  async encryptData(ctx: CallerContext, keyId: string, plaintext: Buffer, aad: Buffer, algorithm = 'SYMMETRIC_DEFAULT'): Promise<{ keyId: string; blob: Buffer }> {
    const key = await this.#encryptionKey(ctx, keyId, algorithm, true);
    if (KEY_SPECS[key.spec].kind === 'symmetric') return { keyId: key.id, blob: await this.#seal('data', key, plaintext, aad) };
    if (aad.length > 0) throw new KmsError('KMS.0308', 'Additional authenticated data applies to symmetric keys only.');
    const entry = ASYMMETRIC_ENCRYPTION_ALGORITHMS[algorithm as AsymmetricEncryptionAlgorithm];
    const max = entry.maxPlaintextBytes(key.publicKey!);
    if (plaintext.length > max) throw new KmsError('KMS.2108', `${algorithm} with this key takes at most ${max} bytes.`);
    return { keyId: key.id, blob: entry.encrypt(key.publicKey!, plaintext) };
  }

  /** A symmetric blob names its key; an asymmetric ciphertext needs `expectedKeyId` and its algorithm. */
  async decryptData(ctx: CallerContext, blob: Buffer, aad: Buffer, expectedKeyId?: string, algorithm = 'SYMMETRIC_DEFAULT'): Promise<{ keyId: string; plaintext: Buffer }> {
    if (expectedKeyId !== undefined) {
      const key = await this.#key(ctx, expectedKeyId);
      if (KEY_SPECS[key.spec].kind === 'asymmetric') return this.#decryptAsymmetric(ctx, key, blob, aad, algorithm);
    } else if (algorithm !== 'SYMMETRIC_DEFAULT') {
      throw new KmsError('KMS.0204', 'key_id is required to decrypt an asymmetric ciphertext.');
    }
    return this.#open('data', ctx, blob, aad, expectedKeyId, algorithm);
  }

  async #decryptAsymmetric(ctx: CallerContext, key: KeyRecord, blob: Buffer, aad: Buffer, algorithm: string): Promise<{ keyId: string; plaintext: Buffer }> {
    await this.#encryptionKey(ctx, key.id, algorithm, true);
    if (aad.length > 0) throw new KmsError('KMS.0308', 'Additional authenticated data applies to symmetric keys only.');
    const privateKey = await this.material.unwrapped(key.id, key.currentVersion);
    if (!privateKey) throw new KmsError('KMS.0103', 'The key material is missing.');
    try {
      return { keyId: key.id, plaintext: ASYMMETRIC_ENCRYPTION_ALGORITHMS[algorithm as AsymmetricEncryptionAlgorithm].decrypt(privateKey, blob) };
    } catch (err) {
      if (err instanceof DecryptionFailed || err instanceof RangeError) {
        throw algorithm === 'SM2_ENCRYPT' ? new KmsError('KMS.2201', 'The ciphertext does not decrypt with this SM2 key.') : new KmsError('KMS.0311');
      }
      throw err;
    }
  }

  /**
   * A data key pair: a fresh RSA or EC/SM2 key pair, its private key sealed under a symmetric key (a Base64
   * encrypt-data ciphertext, so decrypt-data returns the PKCS#8 DER) and, if asked, also in plaintext.
   */
  async createDataKeyPair(ctx: CallerContext, keyId: string, pair: KeyPairSpec, withPlaintext: boolean, aad: Buffer) {
    const key = await this.#encryptionKey(ctx, keyId, 'SYMMETRIC_DEFAULT', false);
    await this.#checkPin(key, {}); // no PIN field in Huawei's request: a keystore with a PIN refuses it (KMS.0306)
    const generated = await KEY_PAIR_SPECS[pair].generateAsync();
    try {
      return {
        keyId: key.id,
        publicKey: generated.publicKey,
        privateKeyCiphertext: await this.#seal('data', key, generated.privateKey, aad),
        privateKeyPlaintext: withPlaintext ? Buffer.from(generated.privateKey) : undefined,
      };
    } finally {
      generated.privateKey.fill(0);
    }
  }

  /**
   * re-encrypt: decrypts under the source key and encrypts under the destination key inside the server, so the
   * plaintext never leaves it. An encrypt-data ciphertext becomes one again; a data key ciphertext (when
   * `dataKeyBytes` is given) becomes a data key ciphertext of a symmetric destination key.
   */
  async reEncrypt(ctx: CallerContext, input: ReEncryptInput): Promise<{ keyId: string; sourceKeyId: string; blob: Buffer }> {
    if (input.dataKeyBytes !== undefined) {
      if (input.destinationAlgorithm !== 'SYMMETRIC_DEFAULT') throw new KmsError('KMS.2105', 'A data key is re-encrypted under a symmetric key only.');
      const sourceKeyId = input.sourceKeyId ?? parseBlob(input.blob, 'datakey')?.keyId;
      if (sourceKeyId === undefined) throw new KmsError('KMS.2201', 'It is not a data key ciphertext.');
      const { plaintext } = await this.decryptDataKey(ctx, sourceKeyId, input.blob, input.dataKeyBytes, input.sourceAad);
      try {
        const destination = await this.#encryptionKey(ctx, input.destinationKeyId, 'SYMMETRIC_DEFAULT', false);
        await this.#checkPin(destination, {}); // re-encrypt carries no PIN: a PIN-guarded keystore's data keys are refused
        return { keyId: destination.id, sourceKeyId, blob: await this.#seal('datakey', destination, plaintext, input.destinationAad) };
      } finally {
        plaintext.fill(0);
      }
    }
    const { keyId: sourceKeyId, plaintext } = await this.decryptData(ctx, input.blob, input.sourceAad, input.sourceKeyId, input.sourceAlgorithm);
    try {
      const out = await this.encryptData(ctx, input.destinationKeyId, plaintext, input.destinationAad, input.destinationAlgorithm);
      return { keyId: out.keyId, sourceKeyId, blob: out.blob };
    } finally {
      plaintext.fill(0);
    }
  }

  /** A new data key of `bytes` random bytes, returned in plaintext and sealed under the key. */
  async createDataKey(ctx: CallerContext, keyId: string, bytes: number, aad: Buffer, pin: PresentedPin = {}): Promise<{ keyId: string; plaintext: Buffer; blob: Buffer }> {
    const key = await this.#encryptionKey(ctx, keyId, 'SYMMETRIC_DEFAULT', false);
    await this.#checkPin(key, pin);
    const plaintext = randomBytes(bytes);
    return { keyId: key.id, plaintext, blob: await this.#seal('datakey', key, plaintext, aad) };
  }

  /** Seals a caller's data key after checking the digest Huawei requires after it (KMS.2103). */
  async encryptDataKey(ctx: CallerContext, keyId: string, dataKey: Buffer, digest: Buffer, aad: Buffer, pin: PresentedPin = {}): Promise<{ keyId: string; blob: Buffer }> {
    const key = await this.#encryptionKey(ctx, keyId, 'SYMMETRIC_DEFAULT', false);
    await this.#checkPin(key, pin);
    const expected = dekDigest(key, dataKey);
    if (digest.length !== expected.length || !timingSafeEqual(digest, expected)) {
      throw new KmsError('KMS.2103', `The last 32 bytes of plain_text must be the ${KEY_SPECS[key.spec].dekDigest === 'sm3' ? 'SM3' : 'SHA-256'} digest of the data key.`);
    }
    return { keyId: key.id, blob: await this.#seal('datakey', key, dataKey, aad) };
  }

  async decryptDataKey(ctx: CallerContext, keyId: string, blob: Buffer, expectedBytes: number, aad: Buffer, pin: PresentedPin = {}): Promise<DecryptedDataKey> {
    const named = await this.#key(ctx, keyId); // a key that does not exist is KMS.0207, as for decrypt-data and create-datakey
    await this.#checkPin(named, pin);
    const { plaintext } = await this.#open('datakey', ctx, blob, aad, keyId);
    if (plaintext.length !== expectedBytes) {
      throw new KmsError('KMS.2204', `The data key is ${plaintext.length} bytes, not ${expectedBytes}.`);
    }
    const key = await this.#key(ctx, keyId);
    return { keyId, plaintext, digest: dekDigest(key, plaintext) };
  }

  /**
   * Seals a data key as the blob of a data-key capsule (core/key-space.ts): a blob of its own kind (0x03), so
   * decrypt-datakey and decrypt-data never open it, with `binding` (the capsule's key space and policy) as its
   * associated data.
   */
  async sealCapsule(ctx: CallerContext, keyId: string, dataKey: Buffer, binding: Buffer): Promise<{ keyId: string; blob: Buffer }> {
    const key = await this.#encryptionKey(ctx, keyId, 'SYMMETRIC_DEFAULT', false);
    await this.#checkPin(key, {}); // capsules carry no PIN: a keystore with a PIN refuses them (KMS.0306)
    return { keyId: key.id, blob: await this.#seal('capsule', key, dataKey, binding) };
  }

  /** Opens a capsule blob made under `keyId` with the same `binding`; KMS.2201 when it does not authenticate. */
  async openCapsule(ctx: CallerContext, keyId: string, blob: Buffer, binding: Buffer): Promise<Buffer> {
    await this.#checkPin(await this.#key(ctx, keyId), {});
    return (await this.#open('capsule', ctx, blob, binding, keyId)).plaintext;
  }

  /** At most one pull from the primary per key per second, so forged version numbers cannot flood the primary. */
  #mayPull(keyId: string): boolean {
    const now = Date.now();
    if (now - (this.#lastPull.get(keyId) ?? 0) < 1000) return false;
    this.#lastPull.set(keyId, now);
    if (this.#lastPull.size > 10_000) this.#lastPull.delete(this.#lastPull.keys().next().value as string);
    return true;
  }

  readonly #lastPull = new Map<string, number>();

  random(bytes: number): Buffer {
    return randomBytes(bytes);
  }

  async #key(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    const key = await this.store.getKey(ctx.projectId, keyId);
    if (!key || key.pendingAttempt !== null || isDestroyed(key, this.clock())) throw new KmsError('KMS.0207');
    return key;
  }

  /**
   * Loads a key for encryption and checks its kind, usage, algorithm and state. Data keys and data key pairs are
   * sealed under symmetric keys only (`asymmetricAllowed` false).
   */
  async #encryptionKey(ctx: CallerContext, keyId: string, algorithm: string, asymmetricAllowed: boolean): Promise<KeyRecord> {
    const key = await this.#key(ctx, keyId);
    const info = KEY_SPECS[key.spec];
    if (info.kind === 'hmac') throw new KmsError('KMS.0341');
    if (info.kind === 'asymmetric') {
      if (!asymmetricAllowed) throw new KmsError('KMS.0325', 'Data keys are protected by symmetric keys (AES_256 or SM4).');
      if (!info.encryption) throw new KmsError('KMS.1114', `${key.spec} keys do not encrypt.`);
    }
    if (key.usage === 'SIGN_VERIFY') throw new KmsError('KMS.0335');
    if (key.usage !== 'ENCRYPT_DECRYPT') throw new KmsError('KMS.0308', `Keys with key_usage ${key.usage} do not encrypt.`);
    if (info.kind === 'symmetric' && algorithm !== 'SYMMETRIC_DEFAULT') {
      throw new KmsError('KMS.2105', `Symmetric keys encrypt with SYMMETRIC_DEFAULT, not ${algorithm}.`);
    }
    if (info.kind === 'asymmetric' && !(info.encryption as readonly string[]).includes(algorithm)) {
      throw new KmsError('KMS.2106', `${key.spec} keys encrypt with ${info.encryption!.join(' or ')}, not ${algorithm}.`);
    }
    assertUsable(key, this.clock());
    return key;
  }

  async #seal(kind: BlobKind, key: KeyRecord, plaintext: Buffer, aad: Buffer): Promise<Buffer> {
    const algorithm = KEY_SPECS[key.spec].algorithm!;
    if (inKeystore(key)) {
      // AES-256-GCM in the keystore's HSM, the same blob and payload layout as a key of the default keystore.
      const { cluster, label } = await this.#keystores().use(key);
      return hsmCall(() => buildBlob({ kind, keyId: key.id, version: key.currentVersion, algorithm }, (bound) => cluster.seal(label, frame(plaintext), Buffer.concat([bound, aad]))));
    }
    const material = await this.material.unwrapped(key.id, key.currentVersion);
    if (!material) throw new KmsError('KMS.0103', 'The current key version is missing.');
    return buildBlob({ kind, keyId: key.id, version: key.currentVersion, algorithm }, (bound) =>
      SYMMETRIC_ENGINES[algorithm].seal(material, frame(plaintext), Buffer.concat([bound, aad])),
    );
  }

  async #open(kind: BlobKind, ctx: CallerContext, blob: Buffer, aad: Buffer, expectedKeyId: string | undefined, algorithm = 'SYMMETRIC_DEFAULT'): Promise<{ keyId: string; plaintext: Buffer }> {
    const parsed = parseBlob(blob, kind);
    if (!parsed) throw new KmsError('KMS.2201', kind === 'data' ? 'It is not a ciphertext made by encrypt-data.' : 'It is not a data key ciphertext.');
    if (expectedKeyId !== undefined && expectedKeyId !== parsed.keyId) {
      throw new KmsError('KMS.2201', 'The ciphertext was made with another key than key_id.');
    }
    const key = await this.#encryptionKey(ctx, parsed.keyId, algorithm, false);
    if (KEY_SPECS[key.spec].algorithm !== parsed.algorithm) throw new KmsError('KMS.2201', 'The ciphertext does not match the key type.');
    if (inKeystore(key)) return this.#openInKeystore(key, parsed.version, parsed.payload, Buffer.concat([parsed.boundHeader, aad]));
    let material = await this.material.unwrapped(key.id, parsed.version);
    if (!material && parsed.version > key.currentVersion && this.fetchMissingVersions && this.#mayPull(key.id)) {
      // A ciphertext made in another region after a rotation this replica has not heard of yet.
      await this.fetchMissingVersions(key);
      material = await this.material.unwrapped(key.id, parsed.version);
    }
    if (!material) throw new KmsError('KMS.2201', `The key has no version ${parsed.version}.`);
    return { keyId: key.id, plaintext: await openFramed(() => SYMMETRIC_ENGINES[parsed.algorithm].open(material, parsed.payload, Buffer.concat([parsed.boundHeader, aad]))) };
  }

  async #openInKeystore(key: KeyRecord, version: number, payload: Buffer, aad: Buffer): Promise<{ keyId: string; plaintext: Buffer }> {
    if (version !== key.currentVersion) throw new KmsError('KMS.2201', `The key has no version ${version}.`);
    const { cluster, label } = await this.#keystores().use(key);
    return { keyId: key.id, plaintext: await openFramed(() => hsmCall(() => cluster.open(label, payload, aad))) };
  }

  /** The data key operations' PIN rule for keys of a dedicated keystore that has a PIN (KMS.0306 when missing or wrong). */
  async #checkPin(key: KeyRecord, pin: PresentedPin): Promise<void> {
    if (!inKeystore(key)) return;
    const { cluster, keystore } = await this.#keystores().use(key);
    await hsmCall(() => this.#keystores().checkPin(keystore, cluster, pin.pin, pin.pinType));
  }

  #keystores(): KeystoreService {
    if (!this.keystores) throw new KmsError('KMS.0340', 'This region serves no dedicated keystores.');
    return this.keystores;
  }
}

function dekDigest(key: KeyRecord, dataKey: Buffer): Buffer {
  return createHash(KEY_SPECS[key.spec].dekDigest ?? 'sha256').update(dataKey).digest();
}

/**
 * The authenticated data a request binds: `additional_authenticated_data`, the older `encryption_context` object
 * (canonical JSON, keys sorted), or both, each length-prefixed so one cannot be confused with the other.
 */
export function associatedData(aad: string | undefined, encryptionContext: Record<string, unknown> | undefined): Buffer {
  const parts: Buffer[] = [];
  const add = (tag: string, bytes: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    parts.push(Buffer.from(tag), len, bytes);
  };
  if (aad !== undefined && aad !== '') add('A', Buffer.from(aad, 'utf8'));
  if (encryptionContext !== undefined && Object.keys(encryptionContext).length > 0) add('C', Buffer.from(canonicalJson(encryptionContext)));
  return Buffer.concat(parts);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort().map((k) => JSON.stringify(k) + ':' + canonicalJson((value as Record<string, unknown>)[k]));
    return '{' + entries.join(',') + '}';
  }
  return JSON.stringify(value);
}

/**
 * Dedicated keystores (docs/reference/huawei-kms-api.md §2 O, §4 O 57–62, §3.3 `keystore_type`): an account's keystore
 * is backed by one HSM cluster the operator registered (core/hsm.ts); keys created in it have their material made
 * and kept in that cluster's token, non-extractable, and every operation with them runs there. Keystores belong to
 * an account (domain) and live in one region (each region's store holds its own).
 *
 * Huawei's rules for keys of a custom keystore (§4 A 31, §5.2): no rotation (KMS.0338), no imported material
 * (KMS.0339); specs the cluster cannot make, replication, and a keystore that is unknown, disabled or of the card
 * (CDMS) kind answer KMS.0340 ("not support keystore").
 *
 * create-pin (§4 G 30) issues the keystore's access PIN: once one exists, the data key operations of the keystore's
 * keys (create-datakey, create-datakey-without-plaintext, encrypt-datakey, decrypt-datakey; re-encrypt of data keys
 * cannot carry a PIN and is refused) need it as `pin`, with `pin_type` saying how it is presented. Only its SHA-256
 * is stored; a `CipherText` PIN is the PIN sealed (AES-256-GCM) under a key of the keystore's own token, so it opens
 * only there. A new PIN replaces the previous one.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { AuthenticationFailed } from '../crypto/symmetric.js';
import { KmsError } from '../errors.js';
import { DuplicateKeystoreError, type KmsStore } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import { HsmKeyMissing, HsmUnavailable, type HsmCluster, type HsmClusters, type HsmKeyPairSpec } from './hsm.js';
import type { KeyRecord } from './key.js';
import type { KeySpec, KeyUsage } from './key-specs.js';

/** `2` enabled, `3` disabled: Huawei does not document keystore_state values; these are its key_state codes (inferred). */
export type KeystoreState = '2' | '3';

export interface KeystoreRecord {
  /** UUID. */
  id: string;
  domainId: string;
  /** `^[a-zA-Z0-9:/_-]{1,255}$`, unique in the account (within the region). */
  alias: string;
  /** Only dedicated HSM keystores exist here (no card clusters, no second DEFAULT). */
  type: 'DHSM';
  /** The registered cluster (deployment.json `hsm_clusters`) backing the keystore; one keystore per cluster. */
  hsmClusterId: string;
  /** `hsm_ca_cert` as given at creation ('' when none): kept and shown, not used (the cluster is reached by PKCS#11). */
  hsmCaCert: string;
  state: KeystoreState;
  /** Epoch milliseconds. */
  createdAt: number;
  /** SHA-256 (lowercase hex) of the access PIN create-pin issued last; null when none was issued. */
  pinHash: string | null;
}

/** Huawei's keystore_type names (§3.3); `0`/`1`/`2` are the English page's numbers for them. */
const KEYSTORE_TYPES: Readonly<Record<string, 'DEFAULT' | 'DHSM' | 'CDMS'>> = { DEFAULT: 'DEFAULT', DHSM: 'DHSM', CDMS: 'CDMS', '0': 'DEFAULT', '1': 'DHSM', '2': 'CDMS' };

/** The string form of a keystore_type given either way, or null for an unknown value. */
export const keystoreTypeName = (value: string): 'DEFAULT' | 'DHSM' | 'CDMS' | null => KEYSTORE_TYPES[value] ?? null;

/** What a key of a keystore may be: AES-256 encryption, RSA and NIST EC signing (SoftHSM2 and most HSMs make these). */
const HSM_SPECS: Readonly<Partial<Record<KeySpec, { usage: KeyUsage; pair?: HsmKeyPairSpec }>>> = {
  AES_256: { usage: 'ENCRYPT_DECRYPT' },
  RSA_2048: { usage: 'SIGN_VERIFY', pair: 'RSA_2048' },
  RSA_3072: { usage: 'SIGN_VERIFY', pair: 'RSA_3072' },
  RSA_4096: { usage: 'SIGN_VERIFY', pair: 'RSA_4096' },
  EC_P256: { usage: 'SIGN_VERIFY', pair: 'EC_P256' },
  EC_P384: { usage: 'SIGN_VERIFY', pair: 'EC_P384' },
};

/** The label of a key's objects in its cluster's token (secret key, or both halves of a key pair). */
export const keyLabel = (keyId: string): string => `strongroom:key:${keyId}`;
/** The label of the token key that seals a keystore's CipherText PINs. */
export const pinKeyLabel = (keystoreId: string): string => `strongroom:keystore-pin:${keystoreId}`;
const pinAad = (keystoreId: string): Buffer => Buffer.from(`strongroom keystore pin\0${keystoreId}`);
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** True for a key whose material is in a dedicated keystore ("0" is the default keystore). */
export const inKeystore = (key: Pick<KeyRecord, 'keystoreId'>): boolean => key.keystoreId !== '0';

export interface CreateKeystoreInput {
  alias: string;
  hsmClusterId?: string;
  hsmCaCert?: string;
  clusterId?: string;
  type?: string;
}

export class KeystoreService {
  constructor(
    private readonly store: KmsStore,
    private readonly clusters: HsmClusters,
    private readonly clock: Clock,
  ) {}

  /**
   * CreateKeyStore (§4 O 57): a DHSM keystore on a registered cluster that backs no keystore yet. KMS.0308 for a
   * DEFAULT type, an unknown cluster, a cluster already used, an alias already used in the account or a cluster_id
   * other than hsm_cluster_id; KMS.0340 for CDMS (no card clusters here); KMS.0204 without hsm_cluster_id.
   */
  async create(ctx: CallerContext, input: CreateKeystoreInput): Promise<KeystoreRecord> {
    const type = input.type === undefined ? 'DHSM' : keystoreTypeName(input.type);
    if (type === null) throw new KmsError('KMS.0308', `keystore_type must be DEFAULT, DHSM or CDMS (or 0, 1, 2), not ${input.type}.`);
    if (type === 'CDMS') throw new KmsError('KMS.0340', 'This deployment has no card (CDMS) clusters: create DHSM keystores on a registered HSM cluster.');
    if (type === 'DEFAULT') throw new KmsError('KMS.0308', 'The DEFAULT keystore "0" always exists; create DHSM keystores.');
    const clusterId = input.hsmClusterId ?? input.clusterId;
    if (clusterId === undefined) throw new KmsError('KMS.0204', 'hsm_cluster_id is required for a DHSM keystore.');
    if (input.clusterId !== undefined && input.clusterId !== clusterId) throw new KmsError('KMS.0308', 'cluster_id of a DHSM keystore must equal hsm_cluster_id.');
    const cluster = this.clusters.get(clusterId);
    if (!cluster) throw new KmsError('KMS.0308', `No HSM cluster ${clusterId} is registered in this deployment (registered: ${this.clusters.ids().join(', ') || 'none'}).`);
    const keystore: KeystoreRecord = {
      id: randomUUID(), domainId: ctx.domainId, alias: input.alias, type, hsmClusterId: clusterId, hsmCaCert: input.hsmCaCert ?? '',
      state: '2', createdAt: this.clock(), pinHash: null,
    };
    if (await this.store.keystoreOfCluster(clusterId)) throw new KmsError('KMS.0308', `The HSM cluster ${clusterId} already backs a keystore.`);
    // The token must answer before the keystore exists: its PIN-sealing key is made now.
    await hsmCall(() => cluster.generateSymmetric(pinKeyLabel(keystore.id)));
    try {
      await this.store.insertKeystore(keystore);
    } catch (err) {
      destroyQuietly(cluster, pinKeyLabel(keystore.id));
      if (err instanceof DuplicateKeystoreError) {
        throw (await this.store.keystoreOfCluster(clusterId))
          ? new KmsError('KMS.0308', `The HSM cluster ${clusterId} already backs a keystore.`)
          : new KmsError('KMS.0308', `The account already has a keystore with the alias ${input.alias}.`);
      }
      throw err;
    }
    return keystore;
  }

  /** A keystore of the caller's account; KMS.0340 when there is none with that id. */
  async get(ctx: CallerContext, keystoreId: string): Promise<KeystoreRecord> {
    const keystore = await this.store.getKeystore(ctx.domainId, keystoreId);
    if (!keystore) throw new KmsError('KMS.0340', `The account has no keystore ${keystoreId}.`);
    return keystore;
  }

  list(ctx: CallerContext, offset: number, limit: number) {
    return this.store.listKeystores(ctx.domainId, offset, limit);
  }

  enable(ctx: CallerContext, keystoreId: string): Promise<KeystoreRecord> {
    return this.#setState(ctx, keystoreId, '2');
  }

  /** The keystore's keys then refuse every operation (KMS.0340) until it is enabled again. */
  disable(ctx: CallerContext, keystoreId: string): Promise<KeystoreRecord> {
    return this.#setState(ctx, keystoreId, '3');
  }

  /**
   * DeleteKeyStore (§4 O 60): refused (KMS.0308) while any key of the keystore is not destroyed (a key past its
   * deletion date counts until the deletion sweep has destroyed its token objects). The PIN-sealing key goes too.
   */
  async delete(ctx: CallerContext, keystoreId: string): Promise<void> {
    const keystore = await this.store.transaction(async (tx) => {
      const found = await tx.getKeystore(ctx.domainId, keystoreId);
      if (!found) throw new KmsError('KMS.0340', `The account has no keystore ${keystoreId}.`);
      const keys = await tx.countKeystoreKeys(keystoreId);
      if (keys > 0) throw new KmsError('KMS.0308', `The keystore still holds ${keys} key(s): schedule their deletion and wait until they are destroyed.`);
      await tx.deleteKeystore(keystoreId);
      return found;
    });
    const cluster = this.clusters.get(keystore.hsmClusterId);
    if (cluster) destroyQuietly(cluster, pinKeyLabel(keystore.id));
  }

  /**
   * create-pin (§4 G 30): a fresh random PIN (32 hex characters) for a keystore of the caller's account, replacing
   * any earlier one. `PlainText` answers it as it is; `CipherText` (the default) answers it sealed in the keystore's
   * token (Base64), which is how the caller then presents it. KMS.0340 without keystore_id, for the default or card
   * keystores ("0", "1", "2": none here) and for unknown or disabled keystores.
   */
  async createPin(ctx: CallerContext, keystoreId: string | undefined, pinType: 'CipherText' | 'PlainText' = 'CipherText'): Promise<string> {
    if (keystoreId === undefined) throw new KmsError('KMS.0340', 'A PIN guards the data keys of one dedicated keystore: give keystore_id (Strongroom has no card clusters).');
    if (keystoreId === '0' || keystoreId === '1' || keystoreId === '2') throw new KmsError('KMS.0340', 'PINs belong to dedicated keystores; the default keystore and card clusters have none here.');
    const keystore = await this.get(ctx, keystoreId);
    if (keystore.state !== '2') throw new KmsError('KMS.0340', `The keystore ${keystoreId} is disabled.`);
    const cluster = this.#cluster(keystore);
    const pin = randomBytes(16).toString('hex');
    const answer = pinType === 'PlainText' ? pin : await hsmCall(() => this.#sealPin(cluster, keystore, pin));
    if (!(await this.store.setKeystorePin(keystoreId, sha256(pin)))) throw new KmsError('KMS.0340', `The account has no keystore ${keystoreId}.`);
    return answer;
  }

  // ---- keys of keystores ----

  /**
   * Makes the material of a new key in its keystore's token, before the key's row exists (create-key). Returns the
   * public key of a key pair (SPKI DER), null for an AES key. KMS.0340 for an unknown or disabled keystore or a spec
   * the cluster does not make; KMS.0339 for imported material (origin external); KMS.0308 for another usage.
   */
  async makeMaterial(ctx: CallerContext, keystoreId: string, keyId: string, spec: KeySpec, usage: KeyUsage, origin: string): Promise<Buffer | null> {
    const keystore = await this.get(ctx, keystoreId);
    if (origin === 'external') throw new KmsError('KMS.0339', 'Keys of a dedicated keystore have their material made in its HSM.');
    const allowed = HSM_SPECS[spec];
    if (!allowed) throw new KmsError('KMS.0340', `A dedicated keystore makes ${Object.keys(HSM_SPECS).join(', ')} keys, not ${spec}.`);
    if (usage !== allowed.usage) throw new KmsError('KMS.0340', `${spec} keys of a dedicated keystore are ${allowed.usage} keys.`);
    if (keystore.state !== '2') throw new KmsError('KMS.0340', `The keystore ${keystoreId} is disabled.`);
    const cluster = this.#cluster(keystore);
    if (allowed.pair) return hsmCall(() => cluster.generateKeyPair(keyLabel(keyId), allowed.pair!));
    await hsmCall(() => cluster.generateSymmetric(keyLabel(keyId)));
    return null;
  }

  /** Destroys what makeMaterial made (a create-key that failed after it). */
  async discardMaterial(ctx: CallerContext, keystoreId: string, keyId: string): Promise<void> {
    const keystore = await this.store.getKeystore(ctx.domainId, keystoreId);
    const cluster = keystore && this.clusters.get(keystore.hsmClusterId);
    if (cluster) destroyQuietly(cluster, keyLabel(keyId));
  }

  /** Inside create-key's transaction: the keystore still exists and is enabled (a delete or disable may have raced). */
  async assertStillUsable(tx: KmsStore, domainId: string, keystoreId: string): Promise<void> {
    const keystore = await tx.getKeystore(domainId, keystoreId);
    if (!keystore || keystore.state !== '2') throw new KmsError('KMS.0340', `The keystore ${keystoreId} is disabled or was deleted.`);
  }

  /**
   * The cluster and label of a keystore key, for an operation with it: KMS.0340 while its keystore is disabled (or
   * gone), KMS.0104 when its cluster is not registered any more.
   */
  async use(key: KeyRecord): Promise<{ cluster: HsmCluster; label: string; keystore: KeystoreRecord }> {
    const keystore = await this.store.getKeystore(key.domainId, key.keystoreId);
    if (!keystore) throw new KmsError('KMS.0340', `The keystore ${key.keystoreId} of the key does not exist.`);
    if (keystore.state !== '2') throw new KmsError('KMS.0340', `The keystore ${key.keystoreId} is disabled: its keys cannot be used.`);
    return { cluster: this.#cluster(keystore), label: keyLabel(key.id), keystore };
  }

  /**
   * The PIN rule of a data key operation with a keystore key: when its keystore has a PIN, `pin` must be it, as
   * `pin_type` says (`CipherText`, the default, or `PlainText`); compared by SHA-256 in constant time. KMS.0306
   * when it is missing or wrong.
   */
  async checkPin(keystore: KeystoreRecord, cluster: HsmCluster, pin: string | undefined, pinType: string | undefined): Promise<void> {
    if (keystore.pinHash === null) return;
    if (pin === undefined) throw new KmsError('KMS.0306', 'The keystore of this key requires its PIN (pin, pin_type) for data key operations.');
    let clear: string;
    if ((pinType ?? 'CipherText') === 'PlainText') {
      clear = pin;
    } else {
      try {
        clear = cluster.open(pinKeyLabel(keystore.id), Buffer.from(pin, 'base64'), pinAad(keystore.id)).toString('utf8');
      } catch (err) {
        if (err instanceof AuthenticationFailed || err instanceof HsmKeyMissing) throw new KmsError('KMS.0306', 'The PIN is wrong.');
        throw err;
      }
    }
    const given = Buffer.from(sha256(clear), 'hex');
    const expected = Buffer.from(keystore.pinHash, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new KmsError('KMS.0306', 'The PIN is wrong.');
  }

  /**
   * Destroys the token objects of a key whose deletion date has passed (the deletion sweep, before its row goes).
   * Throws when the cluster cannot be reached: the row stays and the next sweep tries again.
   */
  async destroyMaterial(key: KeyRecord): Promise<void> {
    const keystore = await this.store.getKeystore(key.domainId, key.keystoreId);
    if (!keystore) return;
    const cluster = this.clusters.get(keystore.hsmClusterId);
    if (!cluster) throw new Error(`the HSM cluster ${keystore.hsmClusterId} of keystore ${keystore.id} is not registered: key ${key.id} cannot be destroyed`);
    cluster.destroy(keyLabel(key.id));
  }

  async #sealPin(cluster: HsmCluster, keystore: KeystoreRecord, pin: string): Promise<string> {
    try {
      return cluster.seal(pinKeyLabel(keystore.id), Buffer.from(pin, 'utf8'), pinAad(keystore.id)).toString('base64');
    } catch (err) {
      if (!(err instanceof HsmKeyMissing)) throw err;
      // A keystore whose token lost its PIN key (the token was re-initialised): a new one seals from now on.
      await hsmCall(() => cluster.generateSymmetric(pinKeyLabel(keystore.id)));
      return cluster.seal(pinKeyLabel(keystore.id), Buffer.from(pin, 'utf8'), pinAad(keystore.id)).toString('base64');
    }
  }

  #cluster(keystore: KeystoreRecord): HsmCluster {
    const cluster = this.clusters.get(keystore.hsmClusterId);
    if (!cluster) throw new KmsError('KMS.0104', `The HSM cluster ${keystore.hsmClusterId} of keystore ${keystore.id} is not registered in this deployment.`);
    return cluster;
  }

  async #setState(ctx: CallerContext, keystoreId: string, state: KeystoreState): Promise<KeystoreRecord> {
    const keystore = await this.get(ctx, keystoreId);
    if (!(await this.store.setKeystoreState(keystoreId, state))) throw new KmsError('KMS.0340', `The account has no keystore ${keystoreId}.`);
    return { ...keystore, state };
  }
}

/** Runs a cluster call, answering KMS.0104 (503) when its token cannot be reached. */
export async function hsmCall<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof HsmUnavailable) throw new KmsError('KMS.0104', err.message);
    throw err;
  }
}

function destroyQuietly(cluster: HsmCluster, label: string): void {
  try {
    cluster.destroy(label);
  } catch {
    /* the objects stay in the token under a label nothing uses */
  }
}

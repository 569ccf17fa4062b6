/**
 * Key lifecycle: create, describe, list, enable, disable, schedule and cancel deletion, alias and description,
 * and destruction of keys whose deletion date has passed (docs/reference/huawei-kms-api.md §4 A, §8.2).
 */
import { randomUUID } from 'node:crypto';
import { KmsError } from '../errors.js';
import { DuplicateAliasError, type KmsStore } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import { assertNotPendingDeletion, isDefaultKey, isDestroyed, type KeyRecord, type KeyState } from './key.js';
import type { KeyMaterial } from './key-material.js';
import { inKeystore, type KeystoreService } from './keystores.js';
import type { WorkRecorder } from './scheduler.js';
import { KEY_SPECS, isKeySpec, type KeySpec, type KeyUsage } from './key-specs.js';
import { KEY_PAIR_SPECS as KEY_PAIRS } from '../crypto/algorithms.js';

const DAY_MS = 86_400_000;

export interface CreateKeyInput {
  alias: string;
  spec?: string;
  usage?: string;
  description?: string;
  origin?: string;
  enterpriseProjectId?: string;
  keystoreId?: string;
}

/** A list-keys page: the newest `limit` keys among the `before` oldest (all when undefined) matching the filter. */
export interface ListKeysInput {
  before?: number;
  limit: number;
  state?: KeyState;
  /** A spec, or undefined for every spec. */
  spec?: string;
  /** Only keys of the default keystore (`DEFAULT`) or of dedicated ones (`DHSM`; `CDMS` matches none here). */
  keystoreType?: 'DEFAULT' | 'DHSM' | 'CDMS';
}

export interface KeyServiceOptions {
  /** Keys a project may hold (Huawei's CMK quota). */
  keyQuota: number;
}

export class KeyService {
  constructor(
    private readonly store: KmsStore,
    private readonly material: KeyMaterial,
    private readonly clock: Clock,
    private readonly options: KeyServiceOptions,
    /** Dedicated keystores (keystores.ts); without them only the default keystore "0" exists. */
    private readonly keystores?: KeystoreService,
  ) {}

  async create(ctx: CallerContext, input: CreateKeyInput): Promise<KeyRecord> {
    const specName = input.spec ?? 'AES_256';
    if (!isKeySpec(specName)) throw new KmsError('KMS.0308', `Unknown key_spec ${specName}.`);
    const spec: KeySpec = specName;
    const info = KEY_SPECS[spec];
    if (!info.implemented) throw new KmsError('KMS.0308', `key_spec ${spec} is not supported by this Strongroom version yet.`);
    const usage = (input.usage ?? info.defaultUsage) as KeyUsage;
    if (!(info.usages as readonly string[]).includes(usage)) {
      throw new KmsError('KMS.0308', `key_usage ${input.usage} is not allowed for key_spec ${spec} (allowed: ${info.usages.join(', ')}).`);
    }
    const origin = input.origin ?? 'kms';
    if (origin !== 'kms' && origin !== 'external') throw new KmsError('KMS.0308', 'origin must be kms or external.');
    const keystoreId = input.keystoreId ?? '0';
    if (keystoreId !== '0' && !this.keystores) throw new KmsError('KMS.0340', 'Only the default keystore "0" exists in this deployment.');
    if (input.alias.endsWith('/default')) throw new KmsError('KMS.1101', 'Aliases ending in /default are reserved for default keys.');

    const now = this.clock();
    const id = randomUUID();
    const key: KeyRecord = {
      id, projectId: ctx.projectId, domainId: ctx.domainId, region: ctx.region, alias: input.alias,
      description: input.description ?? '', spec, usage, origin, state: origin === 'kms' ? '2' : '5', createdAt: now,
      deletionDate: null, enterpriseProjectId: input.enterpriseProjectId ?? '0', keystoreId,
      currentVersion: origin === 'kms' ? 1 : 0, rotationEnabled: false, rotationIntervalDays: 365, lastRotationAt: null,
      rotationCount: 0, materialExpiresAt: null, primaryRegion: null, revision: 0,
      replicas: [], handoverTo: null, term: 0, pendingAttempt: null, publicKey: null, materialFingerprint: null,
    };
    let firstVersion = null;
    if (keystoreId !== '0') {
      // The material is made in the keystore's HSM and stays there: the key has no stored version.
      key.publicKey = await this.keystores!.makeMaterial(ctx, keystoreId, id, spec, usage, origin);
    } else if (origin === 'kms' && info.pair) {
      const pair = await KEY_PAIRS[info.pair].generateAsync();
      key.publicKey = pair.publicKey;
      try {
        firstVersion = { ...(await this.material.wrap(id, 1, pair.privateKey)), createdAt: now };
      } finally {
        pair.privateKey.fill(0);
      }
    } else if (origin === 'kms') {
      firstVersion = await this.material.newVersion(id, 1, info.materialBytes!, now);
    }
    try {
      await this.store.transaction(async (tx) => {
        if ((await tx.countKeys(ctx.projectId)) >= this.options.keyQuota) {
          throw new KmsError('KMS.1105', `The project already holds its quota of ${this.options.keyQuota} keys.`);
        }
        if (keystoreId !== '0') await this.keystores!.assertStillUsable(tx, ctx.domainId, keystoreId);
        try {
          await tx.insertKey(key, firstVersion);
        } catch (err) {
          if (err instanceof DuplicateAliasError) throw new KmsError('KMS.1104', `The alias ${input.alias} is already in use.`);
          throw err;
        }
      });
    } catch (err) {
      if (keystoreId !== '0') await this.keystores!.discardMaterial(ctx, keystoreId, id);
      throw err;
    }
    return key;
  }

  /** Keys a project may hold (ShowUserQuotas `CMK` quota). */
  get quota(): number {
    return this.options.keyQuota;
  }

  /**
   * ShowUserQuotas' `CMK` used (every key the quota counts: any state, replicas, pending deletion) and
   * ShowUserInstances' `instance_num` (the keys clients see, default keys left out;
   * docs/reference/huawei-kms-api.md §4 L).
   */
  async usage(ctx: CallerContext): Promise<{ used: number; instances: number }> {
    const now = this.clock();
    const alive = await this.store.listKeys(ctx.projectId, { aliveAt: now }, 0, Number.MAX_SAFE_INTEGER);
    return { used: await this.store.countKeys(ctx.projectId), instances: alive.keys.filter((k) => !isDefaultKey(k)).length };
  }

  /** A key of the caller's project; KMS.0207 when it does not exist there. */
  async get(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    const key = await this.store.getKey(ctx.projectId, keyId);
    if (!key || key.pendingAttempt !== null || isDestroyed(key, this.clock())) throw new KmsError('KMS.0207');
    return key;
  }

  /** A key of the caller's project, or null (what `get` would refuse with KMS.0207). */
  async find(ctx: CallerContext, keyId: string): Promise<KeyRecord | null> {
    const key = await this.store.getKey(ctx.projectId, keyId);
    return !key || key.pendingAttempt !== null || isDestroyed(key, this.clock()) ? null : key;
  }

  /** list-keys: newest first (KmsStore.listNewestKeys); keys past their deletion date are left out. */
  async listNewest(ctx: CallerContext, input: ListKeysInput) {
    const filter = { state: input.state, spec: input.spec, aliveAt: this.clock() };
    if (input.keystoreType === undefined) return this.store.listNewestKeys(ctx.projectId, filter, input.before, input.limit);
    // The keystore_type filter (docs/reference/huawei-kms-api.md §9 #15) reads the project's matching keys and pages
    // them here, the same way listNewestKeys does: the listing's index does not hold keystore_id.
    const all = (await this.store.listKeys(ctx.projectId, filter, 0, Number.MAX_SAFE_INTEGER)).keys;
    const keys = all.filter((k) => (k.keystoreId === '0' ? 'DEFAULT' : 'DHSM') === input.keystoreType);
    const end = Math.min(input.before ?? keys.length, keys.length);
    const start = Math.max(0, end - input.limit);
    return { keys: keys.slice(start, end).reverse(), total: keys.length, start };
  }

  enable(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    return this.#mutate(ctx, keyId, (key) => {
      if (key.state !== '3') throw new KmsError('KMS.1201');
      return { ...key, state: '2' };
    });
  }

  disable(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    return this.#mutate(ctx, keyId, (key) => {
      if (key.state !== '2') throw new KmsError('KMS.1301');
      return { ...key, state: '3' };
    });
  }

  scheduleDeletion(ctx: CallerContext, keyId: string, pendingDays: number): Promise<KeyRecord> {
    if (!Number.isInteger(pendingDays) || pendingDays < 7 || pendingDays > 1096) throw new KmsError('KMS.1401');
    return this.#mutate(ctx, keyId, (key) => {
      if (key.state === '4') throw new KmsError('KMS.1402');
      if (isDefaultKey(key)) throw new KmsError('KMS.0211');
      if (key.replicas.length > 0) {
        throw new KmsError('KMS.0308', `The key has replicas in ${key.replicas.map((r) => r.region).join(', ')}: schedule their deletion first, or move the primary.`);
      }
      return { ...key, state: '4', deletionDate: this.clock() + pendingDays * DAY_MS };
    });
  }

  /** Huawei brings a key back from pending deletion as disabled (state 3). */
  cancelDeletion(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    return this.#mutate(ctx, keyId, (key) => {
      if (key.state !== '4') throw new KmsError('KMS.1501');
      return { ...key, state: key.currentVersion === 0 ? '5' : '3', deletionDate: null };
    });
  }

  updateAlias(ctx: CallerContext, keyId: string, alias: string): Promise<KeyRecord> {
    if (alias.endsWith('/default')) throw new KmsError('KMS.1101', 'Aliases ending in /default are reserved for default keys.');
    return this.#mutate(ctx, keyId, (key) => {
      assertNotPendingDeletion(key);
      if (isDefaultKey(key)) throw new KmsError('KMS.0211');
      return { ...key, alias };
    });
  }

  updateDescription(ctx: CallerContext, keyId: string, description: string): Promise<KeyRecord> {
    return this.#mutate(ctx, keyId, (key) => {
      assertNotPendingDeletion(key);
      if (isDefaultKey(key)) throw new KmsError('KMS.0211');
      return { ...key, description };
    });
  }

  /**
   * Destroys every key whose deletion date has passed, with all its versions, each in a transaction that `within`
   * joins (the audit record of the destruction). Returns the ids this call destroyed.
   */
  async destroyDueKeys(within?: WorkRecorder): Promise<string[]> {
    const now = this.clock();
    const due = await this.store.keysDueForDeletion(now);
    const destroyed: string[] = [];
    const failures: string[] = [];
    for (const key of due) {
      if (inKeystore(key) && this.keystores) {
        // The token objects go first (a cluster that cannot be reached leaves the row for the next sweep), but only
        // once the key is claimed: the write bumps its revision, so a cancel-key-deletion that read the key before
        // its deletion date loses its compare-and-set, reads again, and finds the key destroyed.
        const claimed = await this.store.transaction(async (tx) => {
          const current = await tx.getKey(key.projectId, key.id);
          if (!current || current.state !== '4' || current.deletionDate === null || current.deletionDate > now) return false;
          return tx.updateKey(current, current.revision);
        });
        if (!claimed) continue;
        try {
          await this.keystores.destroyMaterial(key);
        } catch (err) {
          failures.push(`${key.id}: ${(err as Error).message}`);
          continue;
        }
      }
      // Re-check inside a transaction: a cancel-key-deletion that landed after the query above must win.
      const gone = await this.store.transaction(async (tx) => {
        const current = await tx.getKey(key.projectId, key.id);
        if (!current || current.state !== '4' || current.deletionDate === null || current.deletionDate > now) return false;
        await tx.deleteKey(key.id);
        await within?.inTransaction(tx, key.id);
        if (current.primaryRegion !== null && current.primaryRegion !== current.region) {
          // A destroyed replica leaves its primary's replica list.
          await tx.enqueue({ target: current.primaryRegion, kind: 'detach', keyId: key.id, payload: {}, nextAttemptAt: now });
        }
        return true;
      });
      if (!gone) continue;
      await within?.committed(key.id);
      this.material.forget(key.id);
      destroyed.push(key.id);
    }
    if (failures.length > 0) throw new Error(`keys of dedicated keystores not destroyed yet (their HSM could not be reached; the next sweep tries again): ${failures.join('; ')}`);
    return destroyed;
  }

  /** Read, apply a rule, write back if nobody changed the key meanwhile; retries on a concurrent change. */
  async #mutate(ctx: CallerContext, keyId: string, change: (key: KeyRecord) => KeyRecord): Promise<KeyRecord> {
    for (;;) {
      const key = await this.get(ctx, keyId);
      const next = change(key);
      try {
        if (await this.store.updateKey(next, key.revision)) return { ...next, revision: key.revision + 1 };
      } catch (err) {
        if (err instanceof DuplicateAliasError) throw new KmsError('KMS.1104', `The alias ${next.alias} is already in use.`);
        throw err;
      }
    }
  }
}

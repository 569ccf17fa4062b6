/**
 * Key rotation (docs/reference/huawei-kms-api.md §4 H): on demand and on a schedule, only on the primary, only for
 * symmetric keys with KMS-generated material. A rotation adds a version; every older version stays so that ciphertexts
 * made before any number of rotations still decrypt, and the new version reaches every replica via the outbox.
 */
import { KmsError } from '../errors.js';
import type { KmsStore } from '../storage/kms-store.js';
import type { CallerContext, Clock } from './context.js';
import { assertUsable, isDefaultKey, isDestroyed, type KeyRecord } from './key.js';
import type { KeyMaterial } from './key-material.js';
import type { WorkRecorder } from './scheduler.js';
import { KEY_SPECS } from './key-specs.js';
import type { ReplicationService } from './replication.js';

export interface RotationStatus {
  enabled: boolean;
  intervalDays: number;
  lastRotationAt: number | null;
  rotations: number;
}

function assertRotatable(key: KeyRecord): void {
  if (isDefaultKey(key)) throw new KmsError('KMS.0211');
  // Huawei: keys of a custom keystore do not rotate (docs/reference/huawei-kms-api.md §4 A 31, KMS.0338).
  if (key.keystoreId !== '0') throw new KmsError('KMS.0338');
  if (key.origin === 'external') throw new KmsError('KMS.0312');
  if (KEY_SPECS[key.spec].kind !== 'symmetric') throw new KmsError('KMS.0324', `${key.spec} keys cannot be rotated.`);
  if (key.state === '4') throw new KmsError('KMS.0210');
}

export class RotationService {
  constructor(
    private readonly store: KmsStore,
    private readonly material: KeyMaterial,
    private readonly replication: ReplicationService,
    private readonly clock: Clock,
  ) {}

  enable(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    return this.#change(ctx, keyId, (key) => {
      if (key.rotationEnabled) throw new KmsError('KMS.2901');
      return { ...key, rotationEnabled: true, lastRotationAt: key.lastRotationAt ?? this.clock() };
    });
  }

  disable(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    return this.#change(ctx, keyId, (key) => {
      if (!key.rotationEnabled) throw new KmsError('KMS.0313');
      return { ...key, rotationEnabled: false };
    });
  }

  updateInterval(ctx: CallerContext, keyId: string, days: number): Promise<KeyRecord> {
    if (!Number.isInteger(days) || days < 30 || days > 365) throw new KmsError('KMS.3001');
    return this.#change(ctx, keyId, (key) => {
      if (!key.rotationEnabled) throw new KmsError('KMS.0313');
      return { ...key, rotationIntervalDays: days };
    });
  }

  async status(ctx: CallerContext, keyId: string): Promise<RotationStatus> {
    const key = await this.store.getKey(ctx.projectId, keyId);
    if (!key || key.pendingAttempt !== null || isDestroyed(key, this.clock())) throw new KmsError('KMS.0207');
    return { enabled: key.rotationEnabled, intervalDays: key.rotationIntervalDays, lastRotationAt: key.lastRotationAt, rotations: key.rotationCount };
  }

  /** rotate-on-demand: a new version now. */
  async rotateNow(ctx: CallerContext, keyId: string): Promise<KeyRecord> {
    for (;;) {
      const key = await this.replication.assertPrimary(ctx, keyId);
      assertRotatable(key);
      assertUsable(key, this.clock());
      const rotated = await this.#rotate(key);
      if (rotated) return rotated;
    }
  }

  /** Rotates every key whose interval has passed, each in a transaction that `within` joins; returns their ids. */
  async rotateDue(within?: WorkRecorder): Promise<string[]> {
    const done: string[] = [];
    for (const key of await this.store.keysDueForRotation(this.clock())) {
      if (key.origin !== 'kms' || KEY_SPECS[key.spec].kind !== 'symmetric') continue;
      if (!(await this.#rotate(key, within))) continue;
      await within?.committed(key.id);
      done.push(key.id);
    }
    return done;
  }

  /** Adds version n+1 and queues it for the replicas, in one transaction; null if the key changed meanwhile. */
  async #rotate(key: KeyRecord, within?: WorkRecorder): Promise<KeyRecord | null> {
    const now = this.clock();
    const version = await this.material.newVersion(key.id, key.currentVersion + 1, KEY_SPECS[key.spec].materialBytes!, now);
    const next: KeyRecord = { ...key, currentVersion: version.version, lastRotationAt: now, rotationCount: key.rotationCount + 1 };
    return this.store.transaction(async (tx) => {
      if (!(await tx.updateKey(next, key.revision))) return null;
      if (!(await tx.insertVersion(version))) throw new Error(`version ${version.version} of ${key.id} exists already`);
      await this.replication.syncReplicas(tx, next);
      await within?.inTransaction(tx, key.id);
      return { ...next, revision: key.revision + 1 };
    });
  }

  /** A change of rotation settings on the primary, shared with the replicas. */
  async #change(ctx: CallerContext, keyId: string, change: (key: KeyRecord) => KeyRecord): Promise<KeyRecord> {
    for (;;) {
      const key = await this.replication.assertPrimary(ctx, keyId);
      assertRotatable(key);
      const next = change(key);
      const saved = await this.store.transaction(async (tx) => {
        if (!(await tx.updateKey(next, key.revision))) return null;
        await this.replication.syncReplicas(tx, next);
        return { ...next, revision: key.revision + 1 };
      });
      if (saved) return saved;
    }
  }
}
